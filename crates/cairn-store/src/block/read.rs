//! Reading a block: its series table and label index (cached decoded), and the samples of
//! selected series, fetching only the pages that can hold them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt64Array};
use arrow::datatypes::{Float64Type, Int64Type, UInt8Type, UInt64Type};
use bytes::Bytes;
use cairn_model::{Labels, Matcher, Sample, Series, TenantId};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use super::encode::DECIMAL_SCALES;
use super::{
    BlockMeta, INDEX_FILE, SAMPLES_FILE, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SERIES_FILE,
    block_file,
};
use crate::cache::{BlockCache, CacheValue};
use crate::error::{Error, Result};
use crate::objstore::os_err;

/// A block's series, sorted by block-local id.
#[derive(Debug)]
pub(crate) struct SeriesTable {
    pub(crate) ids: Vec<u64>,
    pub(crate) labels: Vec<Labels>,
}

impl SeriesTable {
    fn size(&self) -> usize {
        self.ids.len() * 8
            + self
                .labels
                .iter()
                .map(|l| l.heap_bytes() + 16)
                .sum::<usize>()
    }

    /// Labels of the series with block-local id `id`.
    pub(crate) fn labels_of(&self, id: u64) -> Option<&Labels> {
        self.ids.binary_search(&id).ok().map(|i| &self.labels[i])
    }
}

/// A block's postings: label name -> sorted (value, sorted series ids).
#[derive(Debug, Default)]
pub(crate) struct LabelIndex {
    pub(crate) names: BTreeMap<String, Vec<(String, Vec<u64>)>>,
}

impl LabelIndex {
    fn size(&self) -> usize {
        self.names
            .iter()
            .map(|(n, vs)| {
                n.len()
                    + vs.iter()
                        .map(|(v, ids)| v.len() + 48 + ids.len() * 8)
                        .sum::<usize>()
            })
            .sum()
    }

    /// Ids of series carrying label `m.name` with a non-empty value that `m` accepts.
    fn postings(&self, m: &Matcher, accept: bool) -> Vec<u64> {
        let Some(values) = self.names.get(&m.name) else {
            return Vec::new();
        };
        let mut out: Vec<u64> = Vec::new();
        let exact: Option<Vec<String>> = match m.op {
            cairn_model::MatchOp::Equal if accept => Some(vec![m.value.clone()]),
            _ if accept => m.set_matches(),
            _ => None,
        };
        match exact {
            Some(wanted) => {
                for w in wanted {
                    if let Ok(i) = values.binary_search_by(|(v, _)| v.as_str().cmp(&w)) {
                        out.extend_from_slice(&values[i].1);
                    }
                }
            }
            None => {
                for (v, ids) in values {
                    if m.matches(v) == accept {
                        out.extend_from_slice(ids);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Sorted ids (out of `all`) of the series matching every matcher.
    pub(crate) fn resolve(&self, all: &[u64], matchers: &[Matcher]) -> Vec<u64> {
        let mut acc: Option<Vec<u64>> = None;
        // Matchers that refuse the empty string need the label: answer them from postings.
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let p = self.postings(m, true);
            acc = Some(match acc {
                None => p,
                Some(a) => intersect(&a, &p),
            });
            if acc.as_ref().is_some_and(|a| a.is_empty()) {
                return Vec::new();
            }
        }
        // The others pass series lacking the label: remove those whose value is refused.
        for m in matchers.iter().filter(|m| m.matches_empty()) {
            let refused = self.postings(m, false);
            let base = acc.take().unwrap_or_else(|| all.to_vec());
            acc = Some(subtract(&base, &refused));
        }
        acc.unwrap_or_else(|| all.to_vec())
    }
}

fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter()
        .copied()
        .filter(|x| b.binary_search(x).is_err())
        .collect()
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

fn check_schema_version(path: &Path, md: &ParquetMetaData) -> Result<()> {
    let found = md
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == SCHEMA_VERSION_KEY))
        .and_then(|k| k.value.as_deref())
        .and_then(|v| v.parse::<u32>().ok());
    match found {
        Some(v) if v <= SCHEMA_VERSION => Ok(()),
        Some(v) => Err(corrupt(
            path,
            format!("schema version {v} is newer than {SCHEMA_VERSION}"),
        )),
        None => Err(corrupt(path, "missing cairn.schema_version metadata")),
    }
}

/// Decodes a whole small Parquet file into record batches.
fn decode_all(path: &Path, data: Bytes) -> Result<Vec<RecordBatch>> {
    let b = ParquetRecordBatchReaderBuilder::try_new(data).map_err(|e| corrupt(path, e))?;
    check_schema_version(path, b.metadata())?;
    b.build()
        .map_err(|e| corrupt(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| corrupt(path, e))
}

fn decode_series(path: &Path, data: Bytes) -> Result<SeriesTable> {
    let mut t = SeriesTable {
        ids: Vec::new(),
        labels: Vec::new(),
    };
    for batch in decode_all(path, data)? {
        let ids = batch
            .column_by_name("series_id")
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| corrupt(path, "no UInt64 series_id column"))?;
        let labels = batch
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
        for row in 0..batch.num_rows() {
            let (lo, hi) = (offsets[row] as usize, offsets[row + 1] as usize);
            let pairs = (lo..hi).map(|i| (keys.value(i), values.value(i)));
            let l = Labels::from_pairs(pairs).map_err(|e| corrupt(path, e))?;
            t.ids.push(ids.value(row));
            t.labels.push(l);
        }
    }
    if !t.ids.is_sorted_by(|a, b| a < b) {
        return Err(corrupt(path, "series ids are not strictly increasing"));
    }
    Ok(t)
}

fn decode_index(path: &Path, data: Bytes) -> Result<LabelIndex> {
    let mut idx = LabelIndex::default();
    for batch in decode_all(path, data)? {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| corrupt(path, format!("no {name} column")))
        };
        let names = col("name")?
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(path, "name is not a string column"))?;
        let values = col("value")?
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(path, "value is not a string column"))?;
        let lists = col("series_ids")?
            .as_list_opt::<i32>()
            .ok_or_else(|| corrupt(path, "series_ids is not a list column"))?;
        let ids = lists
            .values()
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt(path, "series_ids items are not UInt64"))?;
        let offsets = lists.value_offsets();
        for row in 0..batch.num_rows() {
            let (lo, hi) = (offsets[row] as usize, offsets[row + 1] as usize);
            let mut p: Vec<u64> = ids.values()[lo..hi].to_vec();
            p.sort_unstable();
            idx.names
                .entry(names.value(row).to_string())
                .or_default()
                .push((values.value(row).to_string(), p));
        }
    }
    for vs in idx.names.values_mut() {
        vs.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(idx)
}

/// A Parquet reader over the object store that serves byte ranges from the [`BlockCache`]
/// when it can.
pub(crate) struct CachedReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    cache: Arc<BlockCache>,
    key: String,
    /// False for one-off bulk reads (compaction) that would only push hot ranges out.
    cache_ranges: bool,
    /// Bytes of data ranges handed to the decoder (from the cache or the store).
    read_bytes: Arc<std::sync::atomic::AtomicU64>,
}

fn to_parquet_err(e: object_store::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

/// Rows per decoded batch of the samples file.
const READ_BATCH_ROWS: usize = 16 * 1024;

/// Bytes fetched from the end of the file on first open: footer and page index in one request
/// for typical blocks.
const FOOTER_PREFETCH: usize = 64 * 1024;

impl CachedReader {
    /// A reader of `path`; `cache_ranges` false for one-off bulk reads.
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        cache: Arc<BlockCache>,
        cache_ranges: bool,
    ) -> Self {
        CachedReader {
            key: path.to_string(),
            store,
            path,
            cache,
            cache_ranges,
            read_bytes: Arc::default(),
        }
    }

    /// The counter of data bytes read through this reader.
    pub(crate) fn read_bytes(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.read_bytes)
    }

    fn range_key(&self, r: &Range<u64>) -> String {
        format!("{}#{}-{}", self.key, r.start, r.end)
    }
}

impl AsyncFileReader for CachedReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let key = self.range_key(&range);
        self.read_bytes.fetch_add(
            range.end.saturating_sub(range.start),
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Some(CacheValue::Bytes(b)) = self.cache.get(&key) {
            return futures::future::ready(Ok(b)).boxed();
        }
        async move {
            let b = self
                .store
                .get_range(&self.path, range)
                .await
                .map_err(to_parquet_err)?;
            self.cache
                .insert(key, CacheValue::Bytes(b.clone()), b.len());
            Ok(b)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        let total: u64 = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        self.read_bytes
            .fetch_add(total, std::sync::atomic::Ordering::Relaxed);
        async move {
            let keys: Vec<String> = ranges.iter().map(|r| self.range_key(r)).collect();
            let mut out: Vec<Option<Bytes>> = keys
                .iter()
                .map(|k| match self.cache.get(k) {
                    Some(CacheValue::Bytes(b)) => Some(b),
                    _ => None,
                })
                .collect();
            let missing: Vec<usize> = (0..ranges.len()).filter(|&i| out[i].is_none()).collect();
            if !missing.is_empty() {
                let want: Vec<Range<u64>> = missing.iter().map(|&i| ranges[i].clone()).collect();
                let got = self
                    .store
                    .get_ranges(&self.path, &want)
                    .await
                    .map_err(to_parquet_err)?;
                for (&i, b) in missing.iter().zip(got) {
                    if self.cache_ranges {
                        self.cache
                            .insert(keys[i].clone(), CacheValue::Bytes(b.clone()), b.len());
                    }
                    out[i] = Some(b);
                }
            }
            Ok(out
                .into_iter()
                .map(|b| b.expect("every range was either cached or fetched"))
                .collect())
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let md = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(md))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut CachedReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(suffix as u64)),
            ..Default::default()
        };
        async move {
            let r = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(to_parquet_err)?;
            r.bytes().await.map_err(to_parquet_err)
        }
        .boxed()
    }
}

/// Read access to one block through the shared cache.
pub(crate) struct BlockReader {
    pub(crate) meta: BlockMeta,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    tenant: TenantId,
}

impl std::fmt::Debug for BlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("meta", &self.meta)
            .finish()
    }
}

impl BlockReader {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: BlockMeta,
    ) -> Self {
        BlockReader {
            meta,
            store,
            cache,
            tenant,
        }
    }

    fn path(&self, file: &str) -> Path {
        block_file(&self.tenant, self.meta.ulid, file)
    }

    async fn fetch(&self, path: &Path) -> Result<Bytes> {
        self.store
            .get(path)
            .await
            .map_err(os_err("get", path))?
            .bytes()
            .await
            .map_err(os_err("get", path))
    }

    /// The block's series table.
    pub(crate) async fn series_table(&self) -> Result<Arc<SeriesTable>> {
        let path = self.path(SERIES_FILE);
        let key = path.to_string();
        if let Some(CacheValue::Series(t)) = self.cache.get(&key) {
            return Ok(t);
        }
        let data = self.fetch(&path).await?;
        let p = path.clone();
        let t = tokio::task::spawn_blocking(move || decode_series(&p, data))
            .await
            .map_err(|e| Error::Internal(format!("series decoder panicked: {e}")))??;
        let t = Arc::new(t);
        self.cache
            .insert(key, CacheValue::Series(Arc::clone(&t)), t.size());
        Ok(t)
    }

    /// The block's label index.
    pub(crate) async fn label_index(&self) -> Result<Arc<LabelIndex>> {
        let path = self.path(INDEX_FILE);
        let key = path.to_string();
        if let Some(CacheValue::Index(t)) = self.cache.get(&key) {
            return Ok(t);
        }
        let data = self.fetch(&path).await?;
        let p = path.clone();
        let t = tokio::task::spawn_blocking(move || decode_index(&p, data))
            .await
            .map_err(|e| Error::Internal(format!("index decoder panicked: {e}")))??;
        let t = Arc::new(t);
        self.cache
            .insert(key, CacheValue::Index(Arc::clone(&t)), t.size());
        Ok(t)
    }

    /// Block-local ids of the series matching every matcher, sorted.
    pub(crate) async fn matching_ids(&self, matchers: &[Matcher]) -> Result<Vec<u64>> {
        let table = self.series_table().await?;
        if matchers.is_empty() {
            return Ok(table.ids.clone());
        }
        let index = self.label_index().await?;
        Ok(index.resolve(&table.ids, matchers))
    }

    /// Matching series with their samples in `[start, end]`, sorted by id; series without
    /// samples in the range are left out.
    pub(crate) async fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Series>> {
        self.select_opts(matchers, start, end, true).await
    }

    /// Every series with all its samples, without caching the sample pages: for compaction.
    pub(crate) async fn read_all(&self) -> Result<Vec<Series>> {
        self.select_opts(&[], i64::MIN, i64::MAX, false).await
    }

    async fn select_opts(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        cache_ranges: bool,
    ) -> Result<Vec<Series>> {
        if !self.meta.overlaps(start, end) {
            return Ok(Vec::new());
        }
        let ids = self.matching_ids(matchers).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let table = self.series_table().await?;
        let samples = self.read_samples(&ids, start, end, cache_ranges).await?;
        let mut out = Vec::new();
        for (id, samples) in ids.iter().zip(samples) {
            if samples.is_empty() {
                continue;
            }
            let labels = table
                .labels_of(*id)
                .ok_or_else(|| corrupt(&self.path(INDEX_FILE), format!("unknown series id {id}")))?
                .clone();
            out.push(Series { labels, samples });
        }
        Ok(out)
    }

    async fn footer(&self, reader: &mut CachedReader) -> Result<ArrowReaderMetadata> {
        let path = self.path(SAMPLES_FILE);
        let m = footer(&self.cache, reader, &path).await?;
        check_schema_version(&path, m.metadata())?;
        Ok(m)
    }

    /// The average number of samples a series of this block has in `[start, end]`, assuming
    /// samples spread evenly over the block's time range.
    fn expected_samples(&self, start: i64, end: i64) -> usize {
        let m = &self.meta;
        if m.num_series == 0 || m.max_time < m.min_time {
            return 0;
        }
        let lo = start.max(m.min_time) as i128;
        let hi = end.min(m.max_time) as i128;
        if hi < lo {
            return 0;
        }
        let span = (m.max_time as i128 - m.min_time as i128 + 1) as f64;
        let per_series = m.num_samples as f64 / m.num_series as f64;
        (per_series * ((hi - lo + 1) as f64 / span)).ceil() as usize + 1
    }

    /// Samples in `[start, end]` of the series with the given sorted ids, one vector per id.
    pub(crate) async fn read_samples(
        &self,
        ids: &[u64],
        start: i64,
        end: i64,
        cache_ranges: bool,
    ) -> Result<Vec<Vec<Sample>>> {
        let path = self.path(SAMPLES_FILE);
        let mut reader = CachedReader::new(
            Arc::clone(&self.store),
            path.clone(),
            Arc::clone(&self.cache),
            cache_ranges,
        );
        let meta = self.footer(&mut reader).await?;
        let (row_groups, selection) =
            plan_pages(&meta, ids, start, end).map_err(|e| corrupt(&path, e))?;
        if row_groups.is_empty() {
            return Ok(vec![Vec::new(); ids.len()]);
        }
        // Sized for the block's average series over the overlapping time: series vectors
        // that grow by doubling cost a copy and fresh pages each time, a large share of a
        // long range read.
        let cap = self.expected_samples(start, end);
        let mut out: Vec<Vec<Sample>> = (0..ids.len()).map(|_| Vec::with_capacity(cap)).collect();
        // Batches of several pages: per-batch costs (column lookups, array set-up) stay small
        // next to the rows.
        let mut b = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_row_groups(row_groups)
            .with_batch_size(READ_BATCH_ROWS);
        if let Some(sel) = selection {
            b = b.with_row_selection(sel);
        }
        let mut stream = b.build().map_err(|e| corrupt(&path, e))?;
        let ids: Arc<[u64]> = ids.into();
        // The stream fetches a row group's selected pages; decoding them is CPU work and
        // runs on a blocking thread.
        while let Some(rg) = stream
            .next_row_group()
            .await
            .map_err(|e| corrupt(&path, e))?
        {
            let (p, ids, mut part) = (path.clone(), Arc::clone(&ids), std::mem::take(&mut out));
            out = tokio::task::spawn_blocking(move || {
                for batch in rg {
                    let batch = batch.map_err(|e| corrupt(&p, e))?;
                    collect_batch(&p, &batch, &ids, start, end, &mut part)?;
                }
                Ok::<_, Error>(part)
            })
            .await
            .map_err(|e| Error::Internal(format!("sample decoder panicked: {e}")))??;
        }
        Ok(out)
    }
}

/// The footer and page index of `reader`'s file, through the cache.
pub(crate) async fn footer(
    cache: &BlockCache,
    reader: &mut CachedReader,
    path: &Path,
) -> Result<ArrowReaderMetadata> {
    let key = format!("{}#footer", reader.key);
    if let Some(CacheValue::Footer(m)) = cache.get(&key) {
        return Ok(m);
    }
    let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let m = ArrowReaderMetadata::load_async(reader, opts)
        .await
        .map_err(|e| corrupt(path, e))?;
    let size = m.metadata().memory_size();
    cache.insert(key, CacheValue::Footer(m.clone()), size);
    Ok(m)
}

fn collect_batch(
    path: &Path,
    batch: &RecordBatch,
    ids: &[u64],
    start: i64,
    end: i64,
    out: &mut [Vec<Sample>],
) -> Result<()> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| corrupt(path, format!("no {name} column")))
    };
    let sid = col("series_id")?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| corrupt(path, "series_id is not UInt64"))?;
    let ts = col("timestamp")?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| corrupt(path, "timestamp is not Int64"))?;
    let vs = col("value")?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| corrupt(path, "value is not Float64"))?;
    let ints = col("value_int")?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| corrupt(path, "value_int is not Int64"))?;
    let scales = col("value_scale")?
        .as_primitive_opt::<UInt8Type>()
        .ok_or_else(|| corrupt(path, "value_scale is not UInt8"))?;
    if sid.null_count() + ts.null_count() + scales.null_count() > 0 {
        return Err(corrupt(path, "null series_id, timestamp or value_scale"));
    }
    let (sid, ts, scales) = (sid.values(), ts.values(), scales.values());
    let (fvals, ivals) = (vs.values(), ints.values());
    // Rows come in runs of one series sorted by time: one id lookup and one time cut per
    // run, then a tight copy of the run's rows in range.
    let mut row = 0;
    while row < sid.len() {
        let id = sid[row];
        let run_end = row
            + sid[row..]
                .iter()
                .position(|&x| x != id)
                .unwrap_or(sid.len() - row);
        let Ok(p) = ids.binary_search(&id) else {
            row = run_end;
            continue;
        };
        let run_ts = &ts[row..run_end];
        let (lo, hi) = if run_ts.is_sorted() {
            (
                row + run_ts.partition_point(|&t| t < start),
                row + run_ts.partition_point(|&t| t <= end),
            )
        } else {
            (row, run_end)
        };
        let dst = &mut out[p];
        dst.reserve(hi.saturating_sub(lo));
        for r in lo..hi {
            let t = ts[r];
            if t < start || t > end {
                continue;
            }
            let v = if vs.is_valid(r) {
                fvals[r]
            } else if ints.is_valid(r) {
                let p10 = DECIMAL_SCALES
                    .get(usize::from(scales[r]))
                    .ok_or_else(|| corrupt(path, format!("value_scale {} too large", scales[r])))?;
                ivals[r] as f64 / p10
            } else {
                return Err(corrupt(path, format!("no value for series {id} at {t}")));
            };
            dst.push(Sample::new(t, v));
        }
        row = run_end;
    }
    Ok(())
}

/// Row groups, and rows within them, that may hold the wanted (sorted) series ids in
/// `[start, end]`, from the row-group statistics of `timestamp` and `series_id` (row groups
/// cover time slices) and the page index of `series_id`.
pub(super) fn plan_pages(
    meta: &ArrowReaderMetadata,
    ids: &[u64],
    start: i64,
    end: i64,
) -> parquet::errors::Result<(Vec<usize>, Option<RowSelection>)> {
    let md = meta.metadata();
    let rgs = md.row_groups();
    let conv = StatisticsConverter::try_new("series_id", meta.schema(), meta.parquet_schema())?;
    let tconv = StatisticsConverter::try_new("timestamp", meta.schema(), meta.parquet_schema())?;
    let tmins = tconv.row_group_mins(rgs.iter())?;
    let tmaxes = tconv.row_group_maxes(rgs.iter())?;
    let tmins = tmins.as_primitive_opt::<Int64Type>().cloned();
    let tmaxes = tmaxes.as_primitive_opt::<Int64Type>().cloned();
    let in_time = |i: usize| {
        let lo = tmins
            .as_ref()
            .and_then(|a| a.is_valid(i).then(|| a.value(i)));
        let hi = tmaxes
            .as_ref()
            .and_then(|a| a.is_valid(i).then(|| a.value(i)));
        lo.is_none_or(|lo| lo <= end) && hi.is_none_or(|hi| hi >= start)
    };
    let wanted = |lo: Option<u64>, hi: Option<u64>| {
        let lo = lo.unwrap_or(u64::MIN);
        let hi = hi.unwrap_or(u64::MAX);
        let i = ids.partition_point(|&x| x < lo);
        i < ids.len() && ids[i] <= hi
    };
    let mins = conv.row_group_mins(rgs.iter())?;
    let maxes = conv.row_group_maxes(rgs.iter())?;
    let mins = mins.as_primitive_opt::<UInt64Type>().cloned();
    let maxes = maxes.as_primitive_opt::<UInt64Type>().cloned();
    let get = |a: &Option<UInt64Array>, i: usize| {
        a.as_ref().and_then(|a| (a.is_valid(i)).then(|| a.value(i)))
    };
    let kept: Vec<usize> = (0..rgs.len())
        .filter(|&i| in_time(i) && wanted(get(&mins, i), get(&maxes, i)))
        .collect();
    let Some(pi) = md.page_index() else {
        return Ok((kept, None));
    };
    let mut selectors = Vec::new();
    for rg in &kept {
        let one = std::slice::from_ref(rg);
        let pmins = conv.data_page_mins(pi.as_ref(), one)?;
        let pmaxes = conv.data_page_maxes(pi.as_ref(), one)?;
        let counts = conv.data_page_row_counts(pi.as_ref(), rgs, one)?;
        let (Some(pmins), Some(pmaxes), Some(counts)) = (
            pmins.as_primitive_opt::<UInt64Type>().cloned(),
            pmaxes.as_primitive_opt::<UInt64Type>().cloned(),
            counts,
        ) else {
            selectors.push(RowSelector::select(rgs[*rg].num_rows() as usize));
            continue;
        };
        let (pmins, pmaxes) = (Some(pmins), Some(pmaxes));
        for p in 0..counts.len() {
            let n = counts.value(p) as usize;
            if wanted(get(&pmins, p), get(&pmaxes, p)) {
                selectors.push(RowSelector::select(n));
            } else {
                selectors.push(RowSelector::skip(n));
            }
        }
    }
    Ok((kept, Some(RowSelection::from(selectors))))
}
