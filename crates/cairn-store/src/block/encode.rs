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

/// A source of a block's series, pulled one at a time by the encoder so that only one
/// series' samples (plus the current row batch) are decoded at once.
pub(crate) trait SeriesSource {
    /// The next series in block order: ascending by (`Labels::id()`, labels), each label set
    /// at most once. Samples may be unsorted or empty (empty series are skipped).
    fn next_series(&mut self) -> Option<Series>;
}

/// Series already in memory, sorted into block order with repeated label sets merged.
pub(crate) struct SortedSeries {
    items: std::iter::Peekable<std::vec::IntoIter<(u64, Series)>>,
}

impl SortedSeries {
    /// Sorts `series` by (`Labels::id()`, labels).
    pub(crate) fn new(series: Vec<Series>) -> Self {
        Self::with_id_fn(series, |l| l.id().0)
    }

    fn with_id_fn(series: Vec<Series>, id_of: fn(&Labels) -> u64) -> Self {
        let mut items: Vec<(u64, Series)> = series
            .into_iter()
            .filter(|s| !s.samples.is_empty())
            .map(|s| (id_of(&s.labels), s))
            .collect();
        // Stable, so the samples of a repeated label set keep their input order and the
        // first of equal timestamps wins.
        items.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.labels.cmp(&b.1.labels)));
        SortedSeries {
            items: items.into_iter().peekable(),
        }
    }
}

impl SeriesSource for SortedSeries {
    fn next_series(&mut self) -> Option<Series> {
        let (_, mut s) = self.items.next()?;
        while let Some((_, more)) = self.items.next_if(|(_, n)| n.labels == s.labels) {
            s.samples.extend(more.samples);
        }
        Some(s)
    }
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
    id_of: fn(&Labels) -> u64,
    /// Block id and labels of every non-empty series pushed, ascending by id.
    series: Vec<(u64, Labels)>,
    /// `Labels::id()` (before collision probing) of the last series in `series`.
    last_hash: u64,
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
        Self::with_id_fn(tenant, |l| l.id().0)
    }

    fn with_id_fn(tenant: &TenantId, id_of: fn(&Labels) -> u64) -> Result<Self> {
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
            id_of,
            series: Vec::new(),
            last_hash: 0,
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

    /// Adds the next series in block order (see [`SeriesSource::next_series`]): sorts its
    /// samples by time keeping the first of equal timestamps, and gives it the next free id
    /// when its own collides with an earlier series'.
    pub(crate) fn push(&mut self, mut s: Series) -> Result<()> {
        if s.samples.is_empty() {
            return Ok(());
        }
        let hash = (self.id_of)(&s.labels);
        let id = match self.series.last() {
            None => hash,
            Some((last_id, last_labels)) => {
                let order = self
                    .last_hash
                    .cmp(&hash)
                    .then_with(|| last_labels.cmp(&s.labels));
                if order != std::cmp::Ordering::Less {
                    return Err(Error::Internal(format!(
                        "series {} is not after series {} in block order",
                        s.labels, last_labels
                    )));
                }
                if hash <= *last_id {
                    // A hash collision (or the run of ids bumped by one): probe the next id.
                    last_id.wrapping_add(1)
                } else {
                    hash
                }
            }
        };
        // Stable sort keeps the first of equal timestamps first.
        if !s.samples.is_sorted_by_key(|x| x.t) {
            s.samples.sort_by_key(|x| x.t);
        }
        s.samples.dedup_by_key(|x| x.t);
        let first = s.samples.first().map_or(i64::MAX, |x| x.t);
        let last = s.samples.last().map_or(i64::MIN, |x| x.t);
        self.min_time = self.min_time.min(first);
        self.max_time = self.max_time.max(last);
        self.num_samples += s.samples.len() as u64;
        let scale = decimal_scale(&s.samples);
        let p10 = DECIMAL_SCALES[usize::from(scale.unwrap_or(0))];
        for x in &s.samples {
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
        self.series.push((id, s.labels));
        self.last_hash = hash;
        self.peak_buffered_rows = self.peak_buffered_rows.max(self.ids.len());
        if self.ids.len() >= SAMPLES_ROW_GROUP_ROWS {
            self.flush_rows()?;
        }
        Ok(())
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

    /// Finishes the samples file and encodes the series and index tables; refuses a block
    /// without samples.
    pub(crate) fn finish(mut self) -> Result<EncodedBlock> {
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
            series: encode_series(&self.series)?,
            samples: Bytes::from(samples),
            index: encode_index(&self.series)?,
            min_time: self.min_time,
            max_time: self.max_time,
            num_series: self.series.len() as u64,
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

/// Encodes the block's files from `source`. CPU-bound: call from a blocking thread.
pub(crate) fn encode_block(
    tenant: &TenantId,
    mut source: impl SeriesSource,
) -> Result<EncodedBlock> {
    let mut enc = BlockEncoder::new(tenant)?;
    while let Some(s) = source.next_series() {
        enc.push(s)?;
    }
    enc.finish()
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

    #[test]
    fn colliding_ids_are_probed_and_stay_sorted() {
        // Every label set hashes to 7 except "d", which takes 8: probing must push it along.
        fn id_of(l: &Labels) -> u64 {
            if l.metric_name() == Some("d") { 8 } else { 7 }
        }
        let input = vec![
            series("c", &[1]),
            series("a", &[2, 1, 2]),
            series("d", &[1]),
            series("b", &[1]),
            series("a", &[3]),
            series("e", &[]),
        ];
        let mut source = SortedSeries::with_id_fn(input, id_of);
        let mut enc =
            BlockEncoder::with_id_fn(&TenantId::new("t").expect("tenant"), id_of).expect("encoder");
        while let Some(s) = source.next_series() {
            enc.push(s).expect("in block order");
        }
        let got: Vec<(u64, String)> = enc
            .series
            .iter()
            .map(|(id, l)| (*id, l.metric_name().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (7, "a".into()),
                (8, "b".into()),
                (9, "c".into()),
                (10, "d".into()),
            ]
        );
        let block = enc.finish().expect("encoded");
        assert_eq!(
            sample_rows(block.samples),
            vec![(7, 1), (7, 2), (7, 3), (8, 1), (9, 1), (10, 1)]
        );
        assert_eq!(
            (block.min_time, block.max_time, block.num_samples),
            (1, 3, 6)
        );
    }

    #[test]
    fn series_out_of_block_order_are_refused() {
        let mut enc = BlockEncoder::new(&TenantId::new("t").expect("tenant")).expect("encoder");
        let mut input = [series("a", &[1]), series("b", &[1])];
        input.sort_by_key(|s| std::cmp::Reverse(s.labels.id().0));
        enc.push(input[0].clone()).expect("first series");
        assert!(matches!(
            enc.push(input[1].clone()),
            Err(Error::Internal(_))
        ));
        // The same label set twice is out of order too.
        assert!(matches!(
            enc.push(input[0].clone()),
            Err(Error::Internal(_))
        ));
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
