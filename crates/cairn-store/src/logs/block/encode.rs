//! Encoding a log block: entries slice by slice (one row group each), then the streams and
//! runs tables.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, MapBuilder, MapFieldNames, RecordBatch, StringBuilder,
    TimestampNanosecondArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use cairn_model::Labels;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{LOG_SCHEMA_VERSION, RUN_MAX_ROWS, SLICE_KEY};
use crate::block::SCHEMA_VERSION_KEY;
use crate::error::{Error, Result};
use crate::logs::filter;

const MINUTE_NS: i64 = 60_000_000_000;
/// Row group widths: each divides the next, so a row group of one width lies inside one
/// aligned slice of any larger width.
const LADDER_NS: [i64; 9] = [
    MINUTE_NS,
    5 * MINUTE_NS,
    15 * MINUTE_NS,
    30 * MINUTE_NS,
    60 * MINUTE_NS,
    120 * MINUTE_NS,
    360 * MINUTE_NS,
    720 * MINUTE_NS,
    1440 * MINUTE_NS,
];
/// Raw bytes a row group stays within: large enough for few footer entries, small enough
/// that a query for the newest lines decodes little.
const ROW_GROUP_TARGET_BYTES: f64 = 64e6;

/// The row group width for `raw_bytes` spread over `span_ns`: the widest on the ladder whose
/// row groups stay within the target size, at least `min_ns` and at most `max_ns` (both
/// rounded to the ladder; `min_ns` wins).
pub(crate) fn slice_width(raw_bytes: u64, span_ns: i64, min_ns: i64, max_ns: i64) -> i64 {
    let per_ns = raw_bytes as f64 / span_ns.max(1) as f64;
    let mut pick = LADDER_NS[0];
    for &w in &LADDER_NS[1..] {
        if w > max_ns || per_ns * w as f64 > ROW_GROUP_TARGET_BYTES {
            break;
        }
        pick = w;
    }
    let floor = LADDER_NS
        .iter()
        .copied()
        .find(|&w| w >= min_ns)
        .unwrap_or(LADDER_NS[LADDER_NS.len() - 1]);
    pick.max(floor)
}

/// Entries in columns, as slices are gathered: streams are block stream ids. Lines and
/// metadata live in two text buffers, so that gathering allocates per batch, not per entry.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) stream: Vec<u32>,
    pub(crate) ts: Vec<i64>,
    line: Vec<(usize, usize)>,
    text: String,
    /// Range of each entry's pairs in `pairs`.
    meta: Vec<(u32, u32)>,
    /// (name start, name end, value start, value end) in `mtext`.
    pairs: Vec<(u32, u32, u32, u32)>,
    mtext: String,
}

impl Rows {
    /// Adds an entry.
    pub(crate) fn push(&mut self, stream: u32, ts: i64, line: &str, meta: &[(&str, &str)]) {
        let s = self.text.len();
        self.text.push_str(line);
        self.line.push((s, self.text.len()));
        let m = self.pairs.len() as u32;
        for (k, v) in meta {
            let k0 = self.mtext.len() as u32;
            self.mtext.push_str(k);
            let v0 = self.mtext.len() as u32;
            self.mtext.push_str(v);
            self.pairs.push((k0, v0, v0, self.mtext.len() as u32));
        }
        self.meta.push((m, self.pairs.len() as u32));
        self.stream.push(stream);
        self.ts.push(ts);
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The line of entry `i`.
    pub(crate) fn line(&self, i: usize) -> &str {
        let (s, e) = self.line[i];
        &self.text[s..e]
    }

    /// The structured metadata of entry `i`.
    pub(crate) fn meta(&self, i: usize) -> impl ExactSizeIterator<Item = (&str, &str)> {
        let (s, e) = self.meta[i];
        self.pairs[s as usize..e as usize]
            .iter()
            .map(|&(k0, k1, v0, v1)| {
                (
                    &self.mtext[k0 as usize..k1 as usize],
                    &self.mtext[v0 as usize..v1 as usize],
                )
            })
    }

    /// Bytes entry `i` counts for ([`cairn_model::LogEntry::size`]).
    pub(crate) fn size(&self, i: usize) -> usize {
        let (s, e) = self.line[i];
        let (m0, m1) = self.meta[i];
        (e - s)
            + self.pairs[m0 as usize..m1 as usize]
                .iter()
                .map(|&(k0, k1, v0, v1)| (k1 - k0 + v1 - v0) as usize)
                .sum::<usize>()
    }

    /// Bytes of the lines held.
    pub(crate) fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// Forgets every entry, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.stream.clear();
        self.ts.clear();
        self.line.clear();
        self.text.clear();
        self.meta.clear();
        self.pairs.clear();
        self.mtext.clear();
    }

    /// The entries' indexes sorted by (stream, timestamp, line), repeats of an entry (same
    /// stream, timestamp and line) left out but for the first; and how many were left out.
    pub(crate) fn order(&self) -> (Vec<u32>, usize) {
        let mut idx: Vec<u32> = (0..self.len() as u32).collect();
        let key = |i: u32| {
            let i = i as usize;
            (self.stream[i], self.ts[i])
        };
        let sorted = idx.windows(2).all(|w| {
            key(w[0]) < key(w[1])
                || (key(w[0]) == key(w[1]) && self.line(w[0] as usize) <= self.line(w[1] as usize))
        });
        if !sorted {
            idx.sort_by(|&a, &b| {
                key(a)
                    .cmp(&key(b))
                    .then_with(|| self.line(a as usize).cmp(self.line(b as usize)))
            });
        }
        let before = idx.len();
        idx.dedup_by(|b, a| key(*a) == key(*b) && self.line(*a as usize) == self.line(*b as usize));
        let removed = before - idx.len();
        (idx, removed)
    }
}

/// The encoded files of a log block and what `meta.json` needs.
pub(crate) struct EncodedLogBlock {
    pub(crate) streams: Bytes,
    pub(crate) entries: Bytes,
    pub(crate) runs: Bytes,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) num_streams: u64,
    pub(crate) num_entries: u64,
    pub(crate) raw_bytes: u64,
    pub(crate) slice_ns: i64,
    pub(crate) filter_bytes: u64,
    /// Repeated entries left out.
    pub(crate) duplicates: u64,
}

#[cfg(test)]
#[test]
fn widths_follow_the_volume() {
    const H: i64 = 60 * MINUTE_NS;
    // 1 GB a day: 2 h blocks of 83 MB get 1 h row groups of 42 MB.
    assert_eq!(slice_width(83_000_000, 2 * H, 1, 2 * H), H);
    // 10 GB a day: 5-minute row groups of 35 MB.
    assert_eq!(slice_width(830_000_000, 2 * H, 1, 2 * H), 5 * MINUTE_NS);
    // A trickle: the whole block range.
    assert_eq!(slice_width(1_000, 2 * H, 1, 2 * H), 2 * H);
    // A flood: never below a minute.
    assert_eq!(slice_width(u64::MAX / 2, 2 * H, 1, 2 * H), MINUTE_NS);
    // Compaction keeps its sources' widths.
    assert_eq!(
        slice_width(830_000_000, 2 * H, 15 * MINUTE_NS, 2 * H),
        15 * MINUTE_NS
    );
}

#[derive(Clone, Copy, Default)]
struct StreamStat {
    entries: u64,
    bytes: u64,
    min: i64,
    max: i64,
}

#[derive(Default)]
struct RunCols {
    stream: Vec<u32>,
    row_group: Vec<u32>,
    first_row: Vec<u32>,
    num_rows: Vec<u32>,
    min: Vec<i64>,
    max: Vec<i64>,
    bytes: Vec<u64>,
    filter: Vec<Vec<u8>>,
}

fn parquet_err(file: &'static str) -> impl Fn(parquet::errors::ParquetError) -> Error {
    move |e| Error::Parquet(format!("{file}: {e}"))
}

fn arrow_err(file: &'static str) -> impl Fn(arrow::error::ArrowError) -> Error {
    move |e| Error::Parquet(format!("{file}: {e}"))
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn ts_array(v: Vec<i64>) -> TimestampNanosecondArray {
    TimestampNanosecondArray::from(v).with_timezone("UTC")
}

fn props(
    level: i32,
    extra: Vec<KeyValue>,
) -> Result<parquet::file::properties::WriterPropertiesBuilder> {
    let zstd =
        ZstdLevel::try_new(level).map_err(|e| Error::Config(format!("zstd level {level}: {e}")))?;
    let mut kv = vec![KeyValue::new(
        SCHEMA_VERSION_KEY.to_string(),
        LOG_SCHEMA_VERSION.to_string(),
    )];
    kv.extend(extra);
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_key_value_metadata(Some(kv))
        .set_statistics_enabled(EnabledStatistics::Page))
}

/// A map builder with the Parquet spec's names (`key_value`, `key`, `value`), which every
/// reader recognises.
fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames {
        entry: "key_value".into(),
        key: "key".into(),
        value: "value".into(),
    };
    MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
}

fn metadata_type() -> DataType {
    map_builder().finish().data_type().clone()
}

/// Writes a block's entries slice by slice, then its streams and runs tables.
pub(crate) struct LogBlockWriter {
    streams: Vec<Labels>,
    stats: Vec<StreamStat>,
    writer: ArrowWriter<Vec<u8>>,
    schema: Arc<Schema>,
    bits_per_key: u32,
    zstd_level: i32,
    runs: RunCols,
    row_group: u32,
    slice_ns: i64,
    min: i64,
    max: i64,
    entries: u64,
    raw: u64,
    duplicates: u64,
    keys: filter::KeyCollector,
    filter: filter::FilterBuilder,
}

impl LogBlockWriter {
    /// A writer for a block of `streams` (sorted by labels, each once; an entry's stream id
    /// is its index) with row groups of `slice_ns`.
    pub(crate) fn new(
        streams: Vec<Labels>,
        slice_ns: i64,
        zstd_level: i32,
        bits_per_key: u32,
    ) -> Result<Self> {
        if !streams.is_sorted_by(|a, b| a < b) {
            return Err(Error::Internal(
                "log block streams are not sorted and unique".into(),
            ));
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("stream_id", DataType::UInt32, false),
            Field::new("timestamp", ts_type(), false),
            Field::new("line", DataType::Utf8, false),
            Field::new("metadata", metadata_type(), false),
        ]));
        let p = props(
            zstd_level,
            vec![KeyValue::new(SLICE_KEY.to_string(), slice_ns.to_string())],
        )?
        .set_max_row_group_row_count(None)
        .set_column_encoding(ColumnPath::from("timestamp"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from("timestamp"), false)
        .set_column_dictionary_enabled(ColumnPath::from("line"), false)
        .set_column_statistics_enabled(ColumnPath::from("line"), EnabledStatistics::None)
        .build();
        let writer = ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(p))
            .map_err(parquet_err(super::ENTRIES_FILE))?;
        Ok(LogBlockWriter {
            stats: vec![
                StreamStat {
                    min: i64::MAX,
                    max: i64::MIN,
                    ..StreamStat::default()
                };
                streams.len()
            ],
            streams,
            writer,
            schema,
            bits_per_key,
            zstd_level,
            runs: RunCols::default(),
            row_group: 0,
            slice_ns,
            min: i64::MAX,
            max: i64::MIN,
            entries: 0,
            raw: 0,
            duplicates: 0,
            keys: filter::KeyCollector::default(),
            filter: filter::FilterBuilder::default(),
        })
    }

    /// Writes one row group of `rows` (any order; sorted and deduplicated here), which must
    /// hold one aligned time slice. CPU work: call it off the reactor.
    pub(crate) fn write_slice(&mut self, rows: &Rows) -> Result<()> {
        const FILE: &str = super::ENTRIES_FILE;
        let (order, dups) = rows.order();
        self.duplicates += dups as u64;
        if order.is_empty() {
            return Ok(());
        }
        if let Some(&bad) = order
            .iter()
            .find(|&&i| rows.stream[i as usize] as usize >= self.streams.len())
        {
            return Err(Error::Internal(format!(
                "log row of unknown stream {}",
                rows.stream[bad as usize]
            )));
        }
        let n = order.len();
        let mut lines = StringBuilder::with_capacity(n, rows.text_bytes());
        let mut meta = map_builder();
        let mut ts = Vec::with_capacity(n);
        let mut sid = Vec::with_capacity(n);
        for &i in &order {
            let i = i as usize;
            lines.append_value(rows.line(i));
            for (k, v) in rows.meta(i) {
                meta.keys().append_value(k);
                meta.values().append_value(v);
            }
            meta.append(true).map_err(arrow_err(FILE))?;
            ts.push(rows.ts[i]);
            sid.push(rows.stream[i]);
        }
        // Runs: each stream's rows, cut every RUN_MAX_ROWS.
        let mut r = 0;
        while r < n {
            let s = sid[r];
            let mut end = r;
            while end < n && sid[end] == s && end - r < RUN_MAX_ROWS {
                end += 1;
            }
            let mut bytes = 0u64;
            self.keys.clear();
            for &i in &order[r..end] {
                let i = i as usize;
                bytes += rows.size(i) as u64;
                if self.bits_per_key > 0 {
                    self.keys.line(rows.line(i).as_bytes());
                }
            }
            let f = self.filter.build(&self.keys.keys, self.bits_per_key);
            let st = &mut self.stats[s as usize];
            st.entries += (end - r) as u64;
            st.bytes += bytes;
            st.min = st.min.min(ts[r]);
            st.max = st.max.max(ts[end - 1]);
            self.raw += bytes;
            self.runs.stream.push(s);
            self.runs.row_group.push(self.row_group);
            self.runs.first_row.push(r as u32);
            self.runs.num_rows.push((end - r) as u32);
            self.runs.min.push(ts[r]);
            self.runs.max.push(ts[end - 1]);
            self.runs.bytes.push(bytes);
            self.runs.filter.push(f);
            r = end;
        }
        self.min = self.min.min(ts.iter().copied().min().unwrap_or(i64::MAX));
        self.max = self.max.max(ts.iter().copied().max().unwrap_or(i64::MIN));
        self.entries += n as u64;
        let batch = RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![
                Arc::new(UInt32Array::from(sid)) as ArrayRef,
                Arc::new(ts_array(ts)),
                Arc::new(lines.finish()),
                Arc::new(meta.finish()),
            ],
        )
        .map_err(arrow_err(FILE))?;
        self.writer.write(&batch).map_err(parquet_err(FILE))?;
        self.writer.flush().map_err(parquet_err(FILE))?;
        self.row_group += 1;
        Ok(())
    }

    /// Entries written so far.
    pub(crate) fn num_entries(&self) -> u64 {
        self.entries
    }

    /// Finishes the three files; [`Error::EmptyBlock`]-like refusal when nothing was written.
    pub(crate) fn finish(self) -> Result<EncodedLogBlock> {
        if self.entries == 0 {
            return Err(Error::Internal(
                "refusing to write an empty log block".into(),
            ));
        }
        let entries = self
            .writer
            .into_inner()
            .map_err(parquet_err(super::ENTRIES_FILE))?;
        let streams = encode_streams(&self.streams, &self.stats, self.zstd_level)?;
        let filter_bytes = self.runs.filter.iter().map(|f| f.len() as u64).sum();
        let runs = encode_runs(self.runs, self.zstd_level)?;
        Ok(EncodedLogBlock {
            streams,
            entries: Bytes::from(entries),
            runs,
            min_time: self.min,
            max_time: self.max,
            num_streams: self.stats.iter().filter(|s| s.entries > 0).count() as u64,
            num_entries: self.entries,
            raw_bytes: self.raw,
            slice_ns: self.slice_ns,
            filter_bytes,
            duplicates: self.duplicates,
        })
    }
}

fn write_one(file: &'static str, batch: RecordBatch, p: WriterProperties) -> Result<Bytes> {
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(p)).map_err(parquet_err(file))?;
    w.write(&batch).map_err(parquet_err(file))?;
    w.close().map_err(parquet_err(file))?;
    Ok(Bytes::from(buf))
}

/// The streams table: streams without entries keep their id but are left out.
fn encode_streams(streams: &[Labels], stats: &[StreamStat], level: i32) -> Result<Bytes> {
    const FILE: &str = super::STREAMS_FILE;
    let mut ids = Vec::new();
    let mut labels = map_builder();
    let (mut entries, mut bytes, mut min, mut max) = (vec![], vec![], vec![], vec![]);
    for (i, (l, st)) in streams.iter().zip(stats).enumerate() {
        if st.entries == 0 {
            continue;
        }
        ids.push(i as u32);
        for x in l.iter() {
            labels.keys().append_value(x.name);
            labels.values().append_value(x.value);
        }
        labels.append(true).map_err(arrow_err(FILE))?;
        entries.push(st.entries);
        bytes.push(st.bytes);
        min.push(st.min);
        max.push(st.max);
    }
    let labels = labels.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("stream_id", DataType::UInt32, false),
        Field::new("labels", labels.data_type().clone(), false),
        Field::new("entries", DataType::UInt64, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("min_time", ts_type(), false),
        Field::new("max_time", ts_type(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt32Array::from(ids)) as ArrayRef,
            Arc::new(labels),
            Arc::new(UInt64Array::from(entries)),
            Arc::new(UInt64Array::from(bytes)),
            Arc::new(ts_array(min)),
            Arc::new(ts_array(max)),
        ],
    )
    .map_err(arrow_err(FILE))?;
    write_one(FILE, batch, props(level, Vec::new())?.build())
}

fn encode_runs(runs: RunCols, level: i32) -> Result<Bytes> {
    const FILE: &str = super::RUNS_FILE;
    let mut filter = BinaryBuilder::new();
    for f in &runs.filter {
        filter.append_value(f);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("stream_id", DataType::UInt32, false),
        Field::new("row_group", DataType::UInt32, false),
        Field::new("first_row", DataType::UInt32, false),
        Field::new("num_rows", DataType::UInt32, false),
        Field::new("min_time", ts_type(), false),
        Field::new("max_time", ts_type(), false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("filter", DataType::Binary, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt32Array::from(runs.stream)) as ArrayRef,
            Arc::new(UInt32Array::from(runs.row_group)),
            Arc::new(UInt32Array::from(runs.first_row)),
            Arc::new(UInt32Array::from(runs.num_rows)),
            Arc::new(ts_array(runs.min)),
            Arc::new(ts_array(runs.max)),
            Arc::new(UInt64Array::from(runs.bytes)),
            Arc::new(filter.finish()),
        ],
    )
    .map_err(arrow_err(FILE))?;
    // Bloom filters are random bits: compressing them only costs time.
    let p = props(level, Vec::new())?
        .set_column_compression(ColumnPath::from("filter"), Compression::UNCOMPRESSED)
        .set_column_dictionary_enabled(ColumnPath::from("filter"), false)
        .set_column_statistics_enabled(ColumnPath::from("filter"), EnabledStatistics::None)
        .build();
    write_one(FILE, batch, p)
}
