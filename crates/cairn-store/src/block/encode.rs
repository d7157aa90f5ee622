//! Encoding a block's three Parquet files.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Builder, Int64Array, Int64Builder, ListBuilder, MapBuilder,
    RecordBatch, StringArray, StringBuilder, UInt8Array, UInt64Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use cairn_model::{Labels, Sample, Series, TenantId};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::error::{Error, Result};

/// Rows per data page of the samples file: small enough that one series' read touches few
/// pages, large enough that page headers and index entries stay negligible.
const SAMPLES_PAGE_ROWS: usize = 8192;
/// Rows per row group of the samples file.
const SAMPLES_ROW_GROUP_ROWS: usize = 1 << 20;
const ZSTD_LEVEL: i32 = 3;

/// The encoded files of a block and what `meta.json` needs to know about them.
pub(crate) struct EncodedBlock {
    pub(crate) series: Bytes,
    pub(crate) samples: Bytes,
    pub(crate) index: Bytes,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) num_series: u64,
    pub(crate) num_samples: u64,
    /// The most sample rows buffered before Parquet encoding at once.
    pub(crate) peak_buffered_rows: usize,
}

/// The series of a block, read slice by slice: the encoder asks for each series' samples in
/// one time slice after another, so that only one series' samples of one slice (plus the
/// current row batch) are decoded at once, and every row group of the samples file covers one
/// slice of time.
pub(crate) trait SeriesSource {
    /// Number of series.
    fn len(&self) -> usize;
    /// Labels of series `i`; ascending in `i` (block order), each label set once.
    fn labels(&self, i: usize) -> &Labels;
    /// Bounds (inclusive) of every timestamp the source may yield; `None` when it has none.
    fn time_range(&self) -> Option<(i64, i64)>;
    /// Appends the samples of series `i` in `[mint, maxt]` to `out`, in any order.
    fn samples(&mut self, i: usize, mint: i64, maxt: i64, out: &mut Vec<Sample>);
}

/// Series already in memory, sorted into block order with repeated label sets merged and
/// each series' samples sorted by time (the first of equal timestamps kept).
pub(crate) struct SortedSeries {
    series: Vec<Series>,
    range: Option<(i64, i64)>,
}

impl SortedSeries {
    /// Sorts `series` by labels.
    pub(crate) fn new(series: Vec<Series>) -> Self {
        let mut items: Vec<Series> = series
            .into_iter()
            .filter(|s| !s.samples.is_empty())
            .collect();
        // Stable, so the samples of a repeated label set keep their input order and the
        // first of equal timestamps wins.
        items.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut merged: Vec<Series> = Vec::with_capacity(items.len());
        for s in items {
            match merged.last_mut() {
                Some(last) if last.labels == s.labels => last.samples.extend(s.samples),
                _ => merged.push(s),
            }
        }
        let mut range: Option<(i64, i64)> = None;
        for s in &mut merged {
            if !s.samples.is_sorted_by_key(|x| x.t) {
                s.samples.sort_by_key(|x| x.t);
            }
            s.samples.dedup_by_key(|x| x.t);
            if let (Some(f), Some(l)) = (s.samples.first(), s.samples.last()) {
                range = Some(match range {
                    None => (f.t, l.t),
                    Some((lo, hi)) => (lo.min(f.t), hi.max(l.t)),
                });
            }
        }
        SortedSeries {
            series: merged,
            range,
        }
    }
}

impl SeriesSource for SortedSeries {
    fn len(&self) -> usize {
        self.series.len()
    }

    fn labels(&self, i: usize) -> &Labels {
        &self.series[i].labels
    }

    fn time_range(&self) -> Option<(i64, i64)> {
        self.range
    }

    fn samples(&mut self, i: usize, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let s = &self.series[i].samples;
        let lo = s.partition_point(|x| x.t < mint);
        let hi = s.partition_point(|x| x.t <= maxt);
        out.extend_from_slice(&s[lo..hi.max(lo)]);
    }
}

/// Time covered by one row group of the samples file (at most; a slice holding more than a
/// row group's worth of rows spans several): about one Prometheus chunk of 15 s scrapes, so
/// that a query over the last minutes decodes a quarter of a 2 h block, not all of it.
const SLICE_MS: i64 = 30 * 60 * 1000;
/// Most slices per block: sparse blocks spanning a long time get longer slices.
const MAX_SLICES: i64 = 64;

/// The time slices `[lo, hi]` (inclusive, aligned) that cover `[min, max]`.
fn slices(min: i64, max: i64) -> Vec<(i64, i64)> {
    let span = (max as i128 - min as i128 + 1).max(1) as u128;
    let n = span.div_ceil(SLICE_MS as u128);
    let len = if n > MAX_SLICES as u128 {
        let l = span.div_ceil(MAX_SLICES as u128);
        i64::try_from(l.div_ceil(SLICE_MS as u128) * SLICE_MS as u128).unwrap_or(i64::MAX)
    } else {
        SLICE_MS
    };
    let mut out = Vec::new();
    let mut lo = min.div_euclid(len).saturating_mul(len);
    while lo <= max {
        let hi = lo.saturating_add(len - 1);
        out.push((lo, hi));
        if hi >= max {
            break;
        }
        lo = hi + 1;
    }
    out
}

fn parquet_err(file: &str) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::Parquet(format!("encoding {file}: {e}"))
}

fn arrow_err(file: &str) -> impl Fn(arrow::error::ArrowError) -> Error + '_ {
    move |e| Error::Parquet(format!("building {file}: {e}"))
}

const SAMPLES_FILE: &str = "samples.parquet";

/// Encodes a block incrementally: series are pushed in block order, their samples appended
/// to column builders that are flushed into the samples writer every row group's worth of
/// rows. The series and index tables (one row per series / label pair) are built at the end
/// from the labels kept meanwhile.
pub(crate) struct BlockEncoder {
    tenant: TenantId,
    writer: ArrowWriter<Vec<u8>>,
    schema: Arc<Schema>,
    ids: Vec<u64>,
    ts: Vec<i64>,
    vs: Float64Builder,
    ints: Int64Builder,
    scales: Vec<u8>,
    min_time: i64,
    max_time: i64,
    num_samples: u64,
    peak_buffered_rows: usize,
}

impl BlockEncoder {
    /// An encoder for a block of `tenant`.
    pub(crate) fn new(tenant: &TenantId) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("series_id", DataType::UInt64, false),
            Field::new("timestamp", DataType::Int64, false),
            Field::new("value", DataType::Float64, true),
            Field::new("value_int", DataType::Int64, true),
            Field::new("value_scale", DataType::UInt8, false),
        ]));
        let writer = ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(samples_props()))
            .map_err(parquet_err(SAMPLES_FILE))?;
        Ok(BlockEncoder {
            tenant: tenant.clone(),
            writer,
            schema,
            ids: Vec::new(),
            ts: Vec::new(),
            vs: Float64Builder::new(),
            ints: Int64Builder::new(),
            scales: Vec::new(),
            min_time: i64::MAX,
            max_time: i64::MIN,
            num_samples: 0,
            peak_buffered_rows: 0,
        })
    }

    /// Adds rows of series `id` (ids ascend within a slice); sorts the samples by time
    /// keeping the first of equal timestamps.
    fn push(&mut self, id: u64, samples: &mut Vec<Sample>) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        // Stable sort keeps the first of equal timestamps first.
        if !samples.is_sorted_by_key(|x| x.t) {
            samples.sort_by_key(|x| x.t);
        }
        samples.dedup_by_key(|x| x.t);
        let first = samples.first().map_or(i64::MAX, |x| x.t);
        let last = samples.last().map_or(i64::MIN, |x| x.t);
        self.min_time = self.min_time.min(first);
        self.max_time = self.max_time.max(last);
        self.num_samples += samples.len() as u64;
        let scale = decimal_scale(samples);
        let p10 = DECIMAL_SCALES[usize::from(scale.unwrap_or(0))];
        for x in samples.iter() {
            self.ids.push(id);
            self.ts.push(x.t);
            self.scales.push(scale.unwrap_or(0));
            if scale.is_some() {
                self.vs.append_null();
                self.ints.append_value((x.v * p10).round() as i64);
            } else {
                self.vs.append_value(x.v);
                self.ints.append_null();
            }
        }
        self.peak_buffered_rows = self.peak_buffered_rows.max(self.ids.len());
        if self.ids.len() >= SAMPLES_ROW_GROUP_ROWS {
            self.flush_rows()?;
        }
        Ok(())
    }

    /// Closes the current row group, so that the next slice starts a new one.
    fn end_slice(&mut self) -> Result<()> {
        self.flush_rows()?;
        self.writer.flush().map_err(parquet_err(SAMPLES_FILE))
    }

    /// Hands the buffered rows to the samples writer.
    fn flush_rows(&mut self) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![
                Arc::new(UInt64Array::from(std::mem::take(&mut self.ids))) as ArrayRef,
                Arc::new(Int64Array::from(std::mem::take(&mut self.ts))),
                Arc::new(self.vs.finish()),
                Arc::new(self.ints.finish()),
                Arc::new(UInt8Array::from(std::mem::take(&mut self.scales))),
            ],
        )
        .map_err(arrow_err(SAMPLES_FILE))?;
        self.writer.write(&batch).map_err(parquet_err(SAMPLES_FILE))
    }

    /// Finishes the samples file and encodes the series and index tables of `series` (id and
    /// labels, ascending); refuses a block without samples.
    fn finish(mut self, series: &[(u64, Labels)]) -> Result<EncodedBlock> {
        if self.num_samples == 0 {
            return Err(Error::EmptyBlock {
                tenant: self.tenant.to_string(),
            });
        }
        self.flush_rows()?;
        let samples = self
            .writer
            .into_inner()
            .map_err(parquet_err(SAMPLES_FILE))?;
        Ok(EncodedBlock {
            series: encode_series(series)?,
            samples: Bytes::from(samples),
            index: encode_index(series)?,
            min_time: self.min_time,
            max_time: self.max_time,
            num_series: series.len() as u64,
            num_samples: self.num_samples,
            peak_buffered_rows: self.peak_buffered_rows,
        })
    }
}

fn base_props() -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("zstd level 3 is valid"),
        ))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            SCHEMA_VERSION_KEY.to_string(),
            SCHEMA_VERSION.to_string(),
        )]))
        .set_statistics_enabled(EnabledStatistics::Page)
}

fn write_parquet(file: &str, batch: RecordBatch, props: WriterProperties) -> Result<Bytes> {
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(parquet_err(file))?;
    w.write(&batch).map_err(parquet_err(file))?;
    w.close().map_err(parquet_err(file))?;
    Ok(Bytes::from(buf))
}

/// Encodes the block's files from `source`, one time slice after another: series `i` gets
/// id `i` (its ordinal in label order); series without samples are left out of the series
/// and index tables. CPU-bound: call from a blocking thread.
pub(crate) fn encode_block(
    tenant: &TenantId,
    mut source: impl SeriesSource,
) -> Result<EncodedBlock> {
    let n = source.len();
    for i in 1..n {
        if source.labels(i - 1) >= source.labels(i) {
            return Err(Error::Internal(format!(
                "series {} is not after series {} in block order",
                source.labels(i),
                source.labels(i - 1)
            )));
        }
    }
    let mut enc = BlockEncoder::new(tenant)?;
    let mut present = vec![false; n];
    let mut buf = Vec::new();
    if let Some((min, max)) = source.time_range() {
        for (lo, hi) in slices(min, max) {
            for (i, seen) in present.iter_mut().enumerate() {
                buf.clear();
                source.samples(i, lo, hi, &mut buf);
                if !buf.is_empty() {
                    *seen = true;
                    enc.push(i as u64, &mut buf)?;
                }
            }
            enc.end_slice()?;
        }
    }
    let series: Vec<(u64, Labels)> = present
        .iter()
        .enumerate()
        .filter(|(_, p)| **p)
        .map(|(i, _)| (i as u64, source.labels(i).clone()))
        .collect();
    enc.finish(&series)
}

fn encode_series(series: &[(u64, Labels)]) -> Result<Bytes> {
    const FILE: &str = "series.parquet";
    let ids = UInt64Array::from_iter_values(series.iter().map(|(id, _)| *id));
    let names = StringArray::from_iter(series.iter().map(|(_, l)| l.metric_name()));
    let mut labels = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for (_, ls) in series {
        for l in ls.iter() {
            labels.keys().append_value(l.name);
            labels.values().append_value(l.value);
        }
        labels.append(true).map_err(arrow_err(FILE))?;
    }
    let labels = labels.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("metric_name", DataType::Utf8, true),
        Field::new("labels", labels.data_type().clone(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(ids) as ArrayRef, Arc::new(names), Arc::new(labels)],
    )
    .map_err(arrow_err(FILE))?;
    let props = base_props()
        .set_column_dictionary_enabled(ColumnPath::from("series_id"), false)
        .build();
    write_parquet(FILE, batch, props)
}

/// Powers of ten a series' values may be scaled by to become integers; `value_scale` indexes
/// this table. Written out rather than computed so writer and readers divide by the same
/// exact doubles.
pub(crate) const DECIMAL_SCALES: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// The smallest `k` such that every value is `m / 10^k` for an integer `m` that an i64 and an
/// f64 both hold exactly, checked by doing the reader's computation: decimal counters and
/// gauges then go to the Int64 column, where delta encoding packs them far tighter than float
/// bytes. `None` when some value needs the float column (NaNs, -0.0, full-precision floats).
fn decimal_scale(samples: &[Sample]) -> Option<u8> {
    const LIMIT: f64 = (1u64 << 53) as f64;
    'scales: for (k, &p) in DECIMAL_SCALES.iter().enumerate() {
        for s in samples {
            if !s.v.is_finite() {
                return None;
            }
            let m = (s.v * p).round();
            if m.abs() > LIMIT || ((m as i64) as f64 / p).to_bits() != s.v.to_bits() {
                continue 'scales;
            }
        }
        return Some(k as u8);
    }
    None
}

fn samples_props() -> WriterProperties {
    let ts_col = ColumnPath::from("timestamp");
    let v_col = ColumnPath::from("value");
    let i_col = ColumnPath::from("value_int");
    base_props()
        .set_max_row_group_row_count(Some(SAMPLES_ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(SAMPLES_PAGE_ROWS)
        .set_column_dictionary_enabled(ts_col.clone(), false)
        .set_column_encoding(ts_col, Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(v_col.clone(), false)
        .set_column_encoding(v_col, Encoding::BYTE_STREAM_SPLIT)
        .set_column_dictionary_enabled(i_col.clone(), false)
        .set_column_encoding(i_col, Encoding::DELTA_BINARY_PACKED)
        .build()
}

fn encode_index(series: &[(u64, Labels)]) -> Result<Bytes> {
    const FILE: &str = "index.parquet";
    // Ids are appended in ascending order because `series` is sorted by id.
    let mut postings: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    for (id, ls) in series {
        for l in ls.iter() {
            postings.entry((l.name, l.value)).or_default().push(*id);
        }
    }
    let names = StringArray::from_iter_values(postings.keys().map(|(n, _)| *n));
    let values = StringArray::from_iter_values(postings.keys().map(|(_, v)| *v));
    let mut lists = ListBuilder::new(UInt64Builder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::UInt64,
        false,
    )));
    for ids in postings.values() {
        lists.values().append_slice(ids);
        lists.append(true);
    }
    let lists = lists.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("series_ids", lists.data_type().clone(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(names) as ArrayRef,
            Arc::new(values),
            Arc::new(lists),
        ],
    )
    .map_err(arrow_err(FILE))?;
    write_parquet(FILE, batch, base_props().build())
}

#[cfg(test)]
mod tests {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn series(name: &str, ts: &[i64]) -> Series {
        Series {
            labels: Labels::from_pairs([("__name__", name)]).expect("valid labels"),
            samples: ts.iter().map(|&t| Sample::new(t, t as f64)).collect(),
        }
    }

    /// (series_id, timestamp) of every row of an encoded samples file.
    fn sample_rows(samples: Bytes) -> Vec<(u64, i64)> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(samples)
            .expect("samples footer")
            .build()
            .expect("samples reader");
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.expect("samples batch");
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("series_id is UInt64");
            let ts = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("timestamp is Int64");
            rows.extend(
                ids.values()
                    .iter()
                    .copied()
                    .zip(ts.values().iter().copied()),
            );
        }
        rows
    }

    /// Series as given, in the given order.
    struct Listed(Vec<Series>);

    impl SeriesSource for Listed {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn labels(&self, i: usize) -> &Labels {
            &self.0[i].labels
        }
        fn time_range(&self) -> Option<(i64, i64)> {
            let ts = self.0.iter().flat_map(|s| s.samples.iter().map(|x| x.t));
            Some((ts.clone().min()?, ts.max()?))
        }
        fn samples(&mut self, i: usize, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
            out.extend(
                self.0[i]
                    .samples
                    .iter()
                    .filter(|x| x.t >= mint && x.t <= maxt),
            );
        }
    }

    fn tenant() -> TenantId {
        TenantId::new("t").expect("tenant")
    }

    /// (id, metric name) of every row of an encoded series file.
    fn series_rows(file: Bytes) -> Vec<(u64, String)> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("series footer")
            .build()
            .expect("series reader");
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.expect("series batch");
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("series_id is UInt64");
            let names = batch
                .column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("metric_name is a string");
            for r in 0..batch.num_rows() {
                rows.push((ids.value(r), names.value(r).to_string()));
            }
        }
        rows
    }

    #[test]
    fn ids_are_ordinals_in_label_order() {
        let input = vec![
            series("c", &[1]),
            series("a", &[2, 1, 2]),
            series("d", &[1]),
            series("b", &[1]),
            series("a", &[3]),
            series("e", &[]),
        ];
        let block = encode_block(&tenant(), SortedSeries::new(input)).expect("encoded");
        assert_eq!(
            series_rows(block.series.clone()),
            vec![
                (0, "a".into()),
                (1, "b".into()),
                (2, "c".into()),
                (3, "d".into()),
            ]
        );
        assert_eq!(
            sample_rows(block.samples),
            vec![(0, 1), (0, 2), (0, 3), (1, 1), (2, 1), (3, 1)]
        );
        assert_eq!(
            (block.min_time, block.max_time, block.num_samples),
            (1, 3, 6)
        );
    }

    #[test]
    fn series_without_samples_leave_a_gap_in_ids() {
        let input = vec![series("a", &[1]), series("b", &[]), series("c", &[2])];
        let block = encode_block(&tenant(), Listed(input)).expect("encoded");
        assert_eq!(
            series_rows(block.series.clone()),
            vec![(0, "a".into()), (2, "c".into())]
        );
        assert_eq!(sample_rows(block.samples), vec![(0, 1), (2, 2)]);
        assert_eq!(block.num_series, 2);
    }

    #[test]
    fn series_out_of_block_order_are_refused() {
        let unsorted = Listed(vec![series("b", &[1]), series("a", &[1])]);
        assert!(matches!(
            encode_block(&tenant(), unsorted),
            Err(Error::Internal(_))
        ));
        // The same label set twice is out of order too.
        let twice = Listed(vec![series("b", &[1]), series("b", &[2])]);
        assert!(matches!(
            encode_block(&tenant(), twice),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn row_groups_follow_time_slices() {
        // Two series over 2 h at 15 s: four 30 min slices, each its own row group, each row
        // group sorted by (series, time) and holding only its slice.
        let ts: Vec<i64> = (0..480).map(|k| 7_200_000 + k * 15_000).collect();
        let block = encode_block(
            &tenant(),
            SortedSeries::new(vec![series("x", &ts), series("y", &ts)]),
        )
        .expect("encoded");
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(block.samples.clone()).expect("footer");
        let meta = builder.metadata();
        assert_eq!(meta.num_row_groups(), 4);
        for g in meta.row_groups() {
            assert_eq!(g.num_rows(), 240);
        }
        let rows = sample_rows(block.samples);
        let first_group: Vec<(u64, i64)> = rows[..240].to_vec();
        assert!(
            first_group[..120]
                .iter()
                .all(|&(id, t)| id == 0 && t < 9_000_000)
        );
        assert!(
            first_group[120..]
                .iter()
                .all(|&(id, t)| id == 1 && t < 9_000_000)
        );
        assert_eq!(block.num_samples, 960);
        assert_eq!(slices(0, 0), vec![(0, SLICE_MS - 1)]);
        // A sparse block over a long time gets at most MAX_SLICES slices.
        assert!(slices(0, 1_000 * SLICE_MS).len() as i64 <= MAX_SLICES);
        assert_eq!(slices(-1, 0).len(), 2);
    }

    #[test]
    fn rows_are_flushed_per_row_group() {
        // 3 row groups' worth of samples over 1500 series: the builders never hold much
        // more than one row group.
        let per = 2100;
        let n = (3 * SAMPLES_ROW_GROUP_ROWS).div_ceil(per);
        let ts: Vec<i64> = (0..per as i64).collect();
        let input: Vec<Series> = (0..n).map(|i| series(&format!("m{i}"), &ts)).collect();
        let block = encode_block(
            &TenantId::new("t").expect("tenant"),
            SortedSeries::new(input),
        )
        .expect("encoded");
        println!(
            "peak buffered rows: {} of {} samples",
            block.peak_buffered_rows, block.num_samples
        );
        assert_eq!(block.num_samples, (n * per) as u64);
        assert!(block.peak_buffered_rows < SAMPLES_ROW_GROUP_ROWS + per);
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(block.samples).expect("samples footer");
        let meta = builder.metadata();
        assert_eq!(meta.num_row_groups(), 4);
        assert!(
            meta.row_groups()
                .iter()
                .all(|g| g.num_rows() as usize <= SAMPLES_ROW_GROUP_ROWS)
        );
    }
}
