//! One immutable block of log entries on the object store.
//!
//! Layout: `<tenant>/logs/blocks/<ULID>/{streams.parquet, entries.parquet, runs.parquet,
//! meta.json}`, `meta.json` written last (a block without it is incomplete and ignored; the
//! catalog names only complete blocks). Every file is zstd-compressed Parquet carrying
//! `cairn.schema_version` in its key-value metadata.
//!
//! - `entries.parquet`: one row per entry; row groups are aligned time slices (the width in
//!   `meta.json` and in the key `cairn.slice_ns`, from 1 minute to the block range, chosen so
//!   that a row group holds some tens of MB of lines), rows within a row group sorted by
//!   (`stream_id`, `timestamp`, `line`) without repeated entries. `stream_id` UInt32
//!   (dictionary/RLE), `timestamp` TIMESTAMP(NANOS, UTC) DELTA_BINARY_PACKED, `line` Utf8
//!   (plain, zstd), `metadata` Map<Utf8, Utf8> in the order given (empty when none).
//! - `streams.parquet`: one row per stream sorted by `stream_id`, the stream's ordinal in
//!   label order: `stream_id` UInt32, `labels` Map<Utf8, Utf8> in label-name order,
//!   `entries` UInt64, `bytes` UInt64 (lines and metadata), `min_time`, `max_time`.
//! - `runs.parquet`: where each stream's rows are: one row per run of at most
//!   [`RUN_MAX_ROWS`] rows of one stream in one row group, sorted by (`row_group`,
//!   `first_row`): `stream_id`, `row_group` UInt32, `first_row` UInt32 (within the row group),
//!   `num_rows` UInt32, `min_time`, `max_time`, `bytes` UInt64, `filter` Binary (the
//!   line-filter index of the run, see `filter.rs`; empty when off). A query reads the runs
//!   table, keeps the runs of its streams and time range whose filter may hold its needles,
//!   and fetches only the pages of the entries file those rows live in.

mod encode;
mod read;

use std::sync::Arc;

use bytes::Bytes;
use cairn_model::TenantId;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::{Error, Result};
use crate::objstore::os_err;

pub(crate) use encode::{EncodedLogBlock, LogBlockWriter, Rows, slice_width};
pub(crate) use read::{LogBlockReader, RowFilter, RunsTable, read_filter_all};

/// Version of the log block format, in `meta.json` and in each Parquet file.
pub const LOG_SCHEMA_VERSION: u32 = 1;

/// Most rows of one run (the unit of the line-filter index).
pub(crate) const RUN_MAX_ROWS: usize = 2048;

pub(crate) const STREAMS_FILE: &str = "streams.parquet";
pub(crate) const ENTRIES_FILE: &str = "entries.parquet";
pub(crate) const RUNS_FILE: &str = "runs.parquet";
pub(crate) const META_FILE: &str = "meta.json";

/// Key of the row group width in the entries file's key-value metadata.
pub(crate) const SLICE_KEY: &str = "cairn.slice_ns";

/// What `meta.json` says about a log block.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LogBlockMeta {
    /// The block's id, also its directory name.
    #[serde(with = "crate::block::ulid_str")]
    pub ulid: Ulid,
    /// First entry timestamp, ns.
    pub min_time: i64,
    /// Last entry timestamp, ns, inclusive.
    pub max_time: i64,
    /// Number of streams.
    pub num_streams: u64,
    /// Number of entries.
    pub num_entries: u64,
    /// Bytes of the entries' lines and structured metadata.
    pub raw_bytes: u64,
    /// Width of the row groups' time slices, ns.
    pub slice_ns: i64,
    /// Compaction level: 0 for blocks cut from the head.
    pub level: u32,
    /// The blocks this one was compacted from.
    #[serde(with = "crate::block::ulid_vec")]
    pub sources: Vec<Ulid>,
    /// [`LOG_SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Total bytes of the block's Parquet files.
    pub bytes: u64,
    /// Bytes of the line-filter index (inside `runs.parquet`, before compression).
    pub filter_bytes: u64,
}

impl LogBlockMeta {
    /// True when the block holds entries in `[start, end]` (both inclusive).
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_time <= end && self.max_time >= start
    }
}

/// The directory of a log block.
pub(crate) fn block_dir(tenant: &TenantId, ulid: Ulid) -> Path {
    Path::from_iter([tenant.as_str(), "logs", "blocks", ulid.to_string().as_str()])
}

/// One file of a log block.
pub(crate) fn block_file(tenant: &TenantId, ulid: Ulid, file: &str) -> Path {
    block_dir(tenant, ulid).join(file)
}

/// Uploads an encoded block (`meta.json` last) and returns its meta.
pub(crate) async fn put_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    encoded: EncodedLogBlock,
    level: u32,
    sources: Vec<Ulid>,
) -> Result<LogBlockMeta> {
    let ulid = Ulid::new();
    let files = [
        (STREAMS_FILE, encoded.streams),
        (ENTRIES_FILE, encoded.entries),
        (RUNS_FILE, encoded.runs),
    ];
    let bytes = files.iter().map(|(_, b)| b.len() as u64).sum();
    let puts = files.into_iter().map(|(name, data)| {
        let path = block_file(tenant, ulid, name);
        async move {
            store
                .put(&path, PutPayload::from(data))
                .await
                .map_err(os_err("put", &path))
        }
    });
    futures::future::try_join_all(puts).await?;
    let meta = LogBlockMeta {
        ulid,
        min_time: encoded.min_time,
        max_time: encoded.max_time,
        num_streams: encoded.num_streams,
        num_entries: encoded.num_entries,
        raw_bytes: encoded.raw_bytes,
        slice_ns: encoded.slice_ns,
        level,
        sources,
        schema_version: LOG_SCHEMA_VERSION,
        bytes,
        filter_bytes: encoded.filter_bytes,
    };
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| Error::Internal(format!("encoding meta.json: {e}")))?;
    let path = block_file(tenant, ulid, META_FILE);
    store
        .put(&path, PutPayload::from(Bytes::from(json)))
        .await
        .map_err(os_err("put", &path))?;
    Ok(meta)
}

/// Deletes every object of a log block, `meta.json` first.
pub(crate) async fn delete_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    ulid: Ulid,
) -> Result<()> {
    for name in [META_FILE, STREAMS_FILE, ENTRIES_FILE, RUNS_FILE] {
        let path = block_file(tenant, ulid, name);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(os_err("delete", &path)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
