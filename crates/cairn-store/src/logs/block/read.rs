//! Reading a log block: its streams and runs tables (decoded once, cached), and the rows of
//! selected runs of one row group, fetching only the pages that hold them.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{TimestampNanosecondType, UInt32Type, UInt64Type};
use bytes::Bytes;
use cairn_model::{Labels, TenantId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::ParquetMetaData;

use super::encode::Rows;
use super::{ENTRIES_FILE, LOG_SCHEMA_VERSION, LogBlockMeta, RUNS_FILE, STREAMS_FILE, block_file};
use crate::block::{CachedReader, SCHEMA_VERSION_KEY, footer};
use crate::cache::{BlockCache, CacheValue};
use crate::error::{Error, Result};
use crate::objstore::os_err;

/// Rows per decoded batch of the entries file.
const READ_BATCH_ROWS: usize = 8192;

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

fn check_version(path: &Path, md: &ParquetMetaData) -> Result<()> {
    let found = md
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == SCHEMA_VERSION_KEY))
        .and_then(|k| k.value.as_deref())
        .and_then(|v| v.parse::<u32>().ok());
    match found {
        Some(v) if v <= LOG_SCHEMA_VERSION => Ok(()),
        Some(v) => Err(corrupt(
            path,
            format!("log schema version {v} is newer than {LOG_SCHEMA_VERSION}"),
        )),
        None => Err(corrupt(path, "missing cairn.schema_version metadata")),
    }
}

fn decode_all(path: &Path, data: Bytes) -> Result<Vec<RecordBatch>> {
    let b = ParquetRecordBatchReaderBuilder::try_new(data).map_err(|e| corrupt(path, e))?;
    check_version(path, b.metadata())?;
    b.build()
        .map_err(|e| corrupt(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| corrupt(path, e))
}

fn u32_col<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow::array::PrimitiveArray<UInt32Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| corrupt(path, format!("no UInt32 {name} column")))
}

fn u64_col<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow::array::PrimitiveArray<UInt64Type>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| corrupt(path, format!("no UInt64 {name} column")))
}

fn ts_col<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow::array::PrimitiveArray<TimestampNanosecondType>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
        .ok_or_else(|| corrupt(path, format!("no nanosecond timestamp {name} column")))
}

/// A block's streams, sorted by id (and so by labels).
#[derive(Debug, Default)]
pub(crate) struct StreamsTable {
    pub(crate) ids: Vec<u32>,
    pub(crate) labels: Vec<Labels>,
    pub(crate) min: Vec<i64>,
    pub(crate) max: Vec<i64>,
}

impl StreamsTable {
    fn size(&self) -> usize {
        self.labels.iter().map(|l| l.heap_bytes() + 40).sum()
    }
}

/// A block's runs, sorted by (row group, first row).
#[derive(Debug, Default)]
pub(crate) struct RunsTable {
    pub(crate) stream: Vec<u32>,
    pub(crate) row_group: Vec<u32>,
    pub(crate) first_row: Vec<u32>,
    pub(crate) num_rows: Vec<u32>,
    pub(crate) min: Vec<i64>,
    pub(crate) max: Vec<i64>,
    pub(crate) bytes: Vec<u64>,
    pub(crate) filter: Vec<Bytes>,
}

impl RunsTable {
    fn size(&self) -> usize {
        self.stream.len() * 40 + self.filter.iter().map(Bytes::len).sum::<usize>()
    }

    /// Number of runs.
    pub(crate) fn len(&self) -> usize {
        self.stream.len()
    }
}

fn decode_streams(path: &Path, data: Bytes) -> Result<StreamsTable> {
    let mut t = StreamsTable::default();
    for b in decode_all(path, data)? {
        let ids = u32_col(path, &b, "stream_id")?;
        let min = ts_col(path, &b, "min_time")?;
        let max = ts_col(path, &b, "max_time")?;
        let labels = b
            .column_by_name("labels")
            .and_then(|c| c.as_map_opt())
            .ok_or_else(|| corrupt(path, "no map labels column"))?;
        let keys = labels
            .keys()
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(path, "label names are not strings"))?;
        let values = labels
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(path, "label values are not strings"))?;
        let offsets = labels.value_offsets();
        for row in 0..b.num_rows() {
            let (lo, hi) = (offsets[row] as usize, offsets[row + 1] as usize);
            let l = Labels::from_pairs((lo..hi).map(|i| (keys.value(i), values.value(i))))
                .map_err(|e| corrupt(path, e))?;
            t.ids.push(ids.value(row));
            t.labels.push(l);
            t.min.push(min.value(row));
            t.max.push(max.value(row));
        }
    }
    if !t.ids.is_sorted_by(|a, b| a < b) {
        return Err(corrupt(path, "stream ids are not strictly increasing"));
    }
    Ok(t)
}

fn decode_runs(path: &Path, data: Bytes) -> Result<RunsTable> {
    let mut t = RunsTable::default();
    for b in decode_all(path, data)? {
        t.stream
            .extend_from_slice(u32_col(path, &b, "stream_id")?.values());
        t.row_group
            .extend_from_slice(u32_col(path, &b, "row_group")?.values());
        t.first_row
            .extend_from_slice(u32_col(path, &b, "first_row")?.values());
        t.num_rows
            .extend_from_slice(u32_col(path, &b, "num_rows")?.values());
        t.min
            .extend_from_slice(ts_col(path, &b, "min_time")?.values());
        t.max
            .extend_from_slice(ts_col(path, &b, "max_time")?.values());
        t.bytes
            .extend_from_slice(u64_col(path, &b, "bytes")?.values());
        let f = b
            .column_by_name("filter")
            .and_then(|c| c.as_binary_opt::<i32>())
            .ok_or_else(|| corrupt(path, "no binary filter column"))?;
        for i in 0..f.len() {
            t.filter.push(Bytes::copy_from_slice(f.value(i)));
        }
    }
    Ok(t)
}

/// Which rows of a row group a read keeps, beyond its run selection.
#[derive(Clone)]
pub(crate) struct RowFilter {
    /// Inclusive time bounds.
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    /// Substrings every kept line holds.
    pub(crate) needles: Arc<Vec<memchr::memmem::Finder<'static>>>,
    /// Whether structured metadata is read.
    pub(crate) with_metadata: bool,
}

impl RowFilter {
    pub(crate) fn keeps(&self, ts: i64, line: &str) -> bool {
        ts >= self.lo
            && ts <= self.hi
            && self
                .needles
                .iter()
                .all(|f| f.find(line.as_bytes()).is_some())
    }
}

/// A filter keeping every row with its metadata (compaction).
pub(crate) fn read_filter_all() -> RowFilter {
    RowFilter {
        lo: i64::MIN,
        hi: i64::MAX,
        needles: Arc::new(Vec::new()),
        with_metadata: true,
    }
}

/// What a row group read decoded.
#[derive(Debug, Default)]
pub(crate) struct ReadOutcome {
    /// Rows decoded (before the row filter).
    pub(crate) lines: u64,
    /// Line bytes decoded.
    pub(crate) bytes: u64,
    /// Compressed bytes fetched.
    pub(crate) compressed: u64,
}

/// Read access to one log block through the shared cache.
pub(crate) struct LogBlockReader {
    pub(crate) meta: LogBlockMeta,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    tenant: TenantId,
}

impl std::fmt::Debug for LogBlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBlockReader")
            .field("meta", &self.meta)
            .finish()
    }
}

impl LogBlockReader {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: LogBlockMeta,
    ) -> Self {
        LogBlockReader {
            meta,
            store,
            cache,
            tenant,
        }
    }

    fn path(&self, file: &str) -> Path {
        block_file(&self.tenant, self.meta.ulid, file)
    }

    async fn table<T: Any + Send + Sync>(
        &self,
        file: &'static str,
        decode: fn(&Path, Bytes) -> Result<T>,
        size: fn(&T) -> usize,
    ) -> Result<Arc<T>> {
        let path = self.path(file);
        let key = format!("{path}#table");
        if let Some(CacheValue::Log(v)) = self.cache.get(&key)
            && let Ok(t) = v.downcast::<T>()
        {
            return Ok(t);
        }
        let data = self
            .store
            .get(&path)
            .await
            .map_err(os_err("get", &path))?
            .bytes()
            .await
            .map_err(os_err("get", &path))?;
        let p = path.clone();
        let t = tokio::task::spawn_blocking(move || decode(&p, data))
            .await
            .map_err(|e| Error::Internal(format!("log table decoder panicked: {e}")))??;
        let t = Arc::new(t);
        let n = size(&t);
        self.cache
            .insert(key, CacheValue::Log(Arc::clone(&t) as _), n);
        Ok(t)
    }

    /// The streams table.
    pub(crate) async fn streams(&self) -> Result<Arc<StreamsTable>> {
        self.table(STREAMS_FILE, decode_streams, StreamsTable::size)
            .await
    }

    /// The runs table.
    pub(crate) async fn runs(&self) -> Result<Arc<RunsTable>> {
        self.table(RUNS_FILE, decode_runs, RunsTable::size).await
    }

    /// Reads the rows `ranges` (sorted `(first_row, num_rows)` within the row group) of row
    /// group `rg`, and appends those `filter` keeps to `out` (streams are block stream ids).
    pub(crate) async fn read_rows(
        &self,
        rg: usize,
        ranges: &[(u32, u32)],
        filter: RowFilter,
        cache_ranges: bool,
        out: Rows,
    ) -> Result<(Rows, ReadOutcome)> {
        let path = self.path(ENTRIES_FILE);
        let mut reader = CachedReader::new(
            Arc::clone(&self.store),
            path.clone(),
            Arc::clone(&self.cache),
            cache_ranges,
        );
        let counter = reader.read_bytes();
        let meta = footer(&self.cache, &mut reader, &path).await?;
        check_version(&path, meta.metadata())?;
        let md = meta.metadata();
        if rg >= md.num_row_groups() {
            return Err(corrupt(&path, format!("no row group {rg}")));
        }
        let total = md.row_group(rg).num_rows() as u64;
        let mut sel: Vec<RowSelector> = Vec::new();
        let mut pos = 0u64;
        for &(first, n) in ranges {
            let (first, n) = (u64::from(first), u64::from(n));
            if first < pos || first + n > total {
                return Err(corrupt(
                    &path,
                    format!("run {first}+{n} outside row group {rg}"),
                ));
            }
            if first > pos {
                sel.push(RowSelector::skip((first - pos) as usize));
            }
            sel.push(RowSelector::select(n as usize));
            pos = first + n;
        }
        if pos < total {
            sel.push(RowSelector::skip((total - pos) as usize));
        }
        let roots: Vec<usize> = if filter.with_metadata {
            vec![0, 1, 2, 3]
        } else {
            vec![0, 1, 2]
        };
        let mask = ProjectionMask::roots(md.file_metadata().schema_descr(), roots);
        let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_row_groups(vec![rg])
            .with_row_selection(RowSelection::from(sel))
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&path, e))?;
        let mut out = out;
        let mut outcome = ReadOutcome::default();
        while let Some(batches) = stream
            .next_row_group()
            .await
            .map_err(|e| corrupt(&path, e))?
        {
            let (p, f, mut part) = (path.clone(), filter.clone(), std::mem::take(&mut out));
            let (part, o) = tokio::task::spawn_blocking(move || {
                let mut o = ReadOutcome::default();
                for b in batches {
                    let b = b.map_err(|e| corrupt(&p, e))?;
                    collect(&p, &b, &f, &mut part, &mut o)?;
                }
                Ok::<_, Error>((part, o))
            })
            .await
            .map_err(|e| Error::Internal(format!("log row decoder panicked: {e}")))??;
            out = part;
            outcome.lines += o.lines;
            outcome.bytes += o.bytes;
        }
        outcome.compressed = counter.load(Ordering::Relaxed);
        Ok((out, outcome))
    }
}

/// The rows whose line may hold `needle`: one pass of the substring search over the batch's
/// line buffer instead of one search per line. After a hit the search goes on at the next
/// row's start, so a false hit across two lines cannot hide a real one (callers check each
/// candidate line in full).
pub(super) fn candidates(
    lines: &arrow::array::StringArray,
    needle: &memchr::memmem::Finder<'_>,
) -> Vec<usize> {
    let data = lines.value_data();
    let offsets = lines.value_offsets();
    let base = offsets.first().copied().unwrap_or(0) as usize;
    let end = offsets.last().copied().unwrap_or(0) as usize;
    let mut out = Vec::new();
    let mut pos = base;
    while pos < end {
        let Some(hit) = needle.find(&data[pos..end]) else {
            break;
        };
        let at = (pos + hit) as i32;
        // The row whose line starts at or before the hit.
        let row = offsets.partition_point(|&o| o <= at).saturating_sub(1);
        if row >= lines.len() {
            break;
        }
        out.push(row);
        pos = offsets[row + 1] as usize;
    }
    out
}

fn collect(
    path: &Path,
    b: &RecordBatch,
    f: &RowFilter,
    out: &mut Rows,
    o: &mut ReadOutcome,
) -> Result<()> {
    let sid = u32_col(path, b, "stream_id")?;
    let ts = ts_col(path, b, "timestamp")?;
    let lines = b
        .column_by_name("line")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| corrupt(path, "no utf8 line column"))?;
    let meta = match f.with_metadata {
        true => Some(
            b.column_by_name("metadata")
                .and_then(|c| c.as_map_opt())
                .ok_or_else(|| corrupt(path, "no map metadata column"))?,
        ),
        false => None,
    };
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    o.lines += b.num_rows() as u64;
    o.bytes += lines.value_data().len() as u64;
    let rows: Vec<usize> = match f.needles.first() {
        Some(first) => candidates(lines, first),
        None => (0..b.num_rows()).collect(),
    };
    for i in rows {
        let (t, line) = (ts.value(i), lines.value(i));
        if !f.keeps(t, line) {
            continue;
        }
        pairs.clear();
        if let Some(m) = meta {
            let keys = m
                .keys()
                .as_string_opt::<i32>()
                .ok_or_else(|| corrupt(path, "metadata names are not strings"))?;
            let values = m
                .values()
                .as_string_opt::<i32>()
                .ok_or_else(|| corrupt(path, "metadata values are not strings"))?;
            let offs = m.value_offsets();
            for j in offs[i] as usize..offs[i + 1] as usize {
                pairs.push((keys.value(j), values.value(j)));
            }
        }
        out.push(sid.value(i), t, line, &pairs);
    }
    Ok(())
}
