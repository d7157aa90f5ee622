//! Reading a trace block through the shared cache: the id filter, and the traces of one row
//! group.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use bytes::Bytes;
use cairn_model::{TenantId, Trace, TraceId};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, RowSelection, RowSelector};
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::ParquetMetaData;

use super::decode::decode_batch;
use super::encode::id_key;
use super::{DATA_FILE, FILTER_FILE, TRACE_SCHEMA_VERSION, TraceBlockMeta, block_file};
use crate::block::{CachedReader, SCHEMA_VERSION_KEY, footer};
use crate::cache::{BlockCache, CacheValue};
use crate::error::{Error, Result};
use crate::logs::filter::may_contain_all;
use crate::objstore::os_err;

/// Rows per decoded batch.
pub(super) const READ_BATCH_ROWS: usize = 4096;

pub(super) fn corrupt(path: &Path, reason: impl std::fmt::Display) -> Error {
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
        Some(v) if v <= TRACE_SCHEMA_VERSION => Ok(()),
        Some(v) => Err(corrupt(
            path,
            format!("trace schema version {v} is newer than {TRACE_SCHEMA_VERSION}"),
        )),
        None => Err(corrupt(path, "missing cairn.schema_version metadata")),
    }
}

/// Read access to one trace block.
pub(crate) struct TraceBlockReader {
    pub(crate) meta: TraceBlockMeta,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    tenant: TenantId,
}

impl std::fmt::Debug for TraceBlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceBlockReader")
            .field("meta", &self.meta)
            .finish()
    }
}

impl TraceBlockReader {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: TraceBlockMeta,
    ) -> Self {
        TraceBlockReader {
            meta,
            store,
            cache,
            tenant,
        }
    }

    fn path(&self, file: &str) -> Path {
        block_file(&self.tenant, self.meta.ulid, file)
    }

    /// The row group whose id range holds `id`, if any (row groups ascend by id).
    pub(crate) fn row_group_of(&self, id: &TraceId) -> Option<usize> {
        let hex = id.to_hex();
        let rgs = &self.meta.row_groups;
        let i = rgs.partition_point(|g| g.max_id.as_str() < hex.as_str());
        (i < rgs.len() && rgs[i].min_id.as_str() <= hex.as_str()).then_some(i)
    }

    /// Whether the block may hold `id`: its row group id ranges, then its id filter.
    pub(crate) async fn may_hold(&self, id: &TraceId) -> Result<Option<usize>> {
        let Some(rg) = self.row_group_of(id) else {
            return Ok(None);
        };
        let filter = self.filter().await?;
        Ok(may_contain_all(&filter, &[id_key(id)]).then_some(rg))
    }

    async fn filter(&self) -> Result<Bytes> {
        let path = self.path(FILTER_FILE);
        let key = format!("{path}#filter");
        if let Some(CacheValue::Bytes(b)) = self.cache.get(&key) {
            return Ok(b);
        }
        let data = self
            .store
            .get(&path)
            .await
            .map_err(os_err("get", &path))?
            .bytes()
            .await
            .map_err(os_err("get", &path))?;
        self.cache
            .insert(key, CacheValue::Bytes(data.clone()), data.len() + 64);
        Ok(data)
    }

    pub(super) async fn open_data(
        &self,
        rg: usize,
        cache_ranges: bool,
    ) -> Result<(Path, CachedReader, ArrowReaderMetadata)> {
        let path = self.path(DATA_FILE);
        let mut reader = CachedReader::new(
            Arc::clone(&self.store),
            path.clone(),
            Arc::clone(&self.cache),
            cache_ranges,
        );
        let meta = footer(&self.cache, &mut reader, &path).await?;
        check_version(&path, meta.metadata())?;
        if rg >= meta.metadata().num_row_groups() {
            return Err(corrupt(&path, format!("no row group {rg}")));
        }
        Ok((path, reader, meta))
    }

    /// The trace `id` from row group `rg`: the row group's `trace_id` column is read first,
    /// then only the rows of that trace (rows are sorted by trace id).
    pub(crate) async fn read_trace(&self, rg: usize, id: &TraceId) -> Result<Option<Trace>> {
        let (path, reader, meta) = self.open_data(rg, true).await?;
        let total = meta.metadata().row_group(rg).num_rows() as usize;
        let mask = ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), [0]);
        let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_row_groups(vec![rg])
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&path, e))?;
        let (mut first, mut count, mut row) = (None, 0usize, 0usize);
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| corrupt(&path, e))?;
            let ids = b
                .column(0)
                .as_fixed_size_binary_opt()
                .ok_or_else(|| corrupt(&path, "trace_id is not fixed-size binary"))?;
            for i in 0..ids.len() {
                if ids.value(i) == id.as_bytes() {
                    first.get_or_insert(row + i);
                    count += 1;
                }
            }
            row += ids.len();
        }
        let Some(first) = first else {
            return Ok(None);
        };
        let want = *id;
        let out = self
            .read_rows(
                rg,
                &[(first, count)],
                total,
                true,
                Arc::new(move |t: &TraceId| *t == want),
            )
            .await?;
        Ok(out.into_iter().next())
    }

    /// The traces in rows `ranges` (`(first, count)`, ascending, disjoint) of row group `rg`
    /// of `total` rows that `keep` accepts: only those rows' pages are read.
    pub(super) async fn read_rows(
        &self,
        rg: usize,
        ranges: &[(usize, usize)],
        total: usize,
        cache_ranges: bool,
        keep: Arc<dyn Fn(&TraceId) -> bool + Send + Sync>,
    ) -> Result<Vec<Trace>> {
        let mut sel = Vec::with_capacity(ranges.len() * 2 + 1);
        let mut at = 0usize;
        for &(first, n) in ranges {
            if first > at {
                sel.push(RowSelector::skip(first - at));
            }
            sel.push(RowSelector::select(n));
            at = first + n;
        }
        if at < total {
            sel.push(RowSelector::skip(total - at));
        }
        let (path, reader, meta) = self.open_data(rg, cache_ranges).await?;
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_row_groups(vec![rg])
            .with_row_selection(RowSelection::from(sel))
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&path, e))?;
        self.decode_stream(path, stream, keep).await
    }

    /// The traces of row group `rg` that `keep` accepts, in id order.
    pub(crate) async fn read_row_group(
        &self,
        rg: usize,
        keep: Arc<dyn Fn(&TraceId) -> bool + Send + Sync>,
        cache_ranges: bool,
    ) -> Result<Vec<Trace>> {
        let (path, reader, meta) = self.open_data(rg, cache_ranges).await?;
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_row_groups(vec![rg])
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&path, e))?;
        self.decode_stream(path, stream, keep).await
    }

    pub(super) async fn decode_stream(
        &self,
        path: Path,
        mut stream: ParquetRecordBatchStream<CachedReader>,
        keep: Arc<dyn Fn(&TraceId) -> bool + Send + Sync>,
    ) -> Result<Vec<Trace>> {
        let mut out: Vec<Trace> = Vec::new();
        while let Some(batches) = stream
            .next_row_group()
            .await
            .map_err(|e| corrupt(&path, e))?
        {
            let (p, k, mut part) = (path.clone(), Arc::clone(&keep), std::mem::take(&mut out));
            out = tokio::task::spawn_blocking(move || {
                for b in batches {
                    let b = b.map_err(|e| corrupt(&p, e))?;
                    decode_batch(&b, &*k, &mut part).map_err(|e| corrupt(&p, e))?;
                }
                Ok::<_, Error>(part)
            })
            .await
            .map_err(|e| Error::Internal(format!("trace row decoder panicked: {e}")))??;
        }
        Ok(out)
    }
}
