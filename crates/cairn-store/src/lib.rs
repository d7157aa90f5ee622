//! Cairn's storage engine.
//!
//! Write path ([`Storage`]): an append is validated against the in-memory head (per sample:
//! duplicate, out of order, out of bounds), logged to one write-ahead log for all tenants and
//! fsynced (group commit: one `fdatasync` for every append queued meanwhile), and only then
//! applied to the head and acknowledged. The head keeps recent samples in XOR chunks and is
//! cut into blocks on aligned time boundaries in the background; on open the WAL is replayed.
//!
//! Invariants of the write path: an acknowledged sample is in an fsynced WAL segment until a
//! block holding it is named by the catalog; WAL segments are deleted only after a checkpoint
//! of the remaining head is fsynced; queries read the head before the blocks, so a sample
//! being moved into a block is seen at least once, and duplicates are removed by the merge.
//!
//! Persistent half: immutable blocks of Parquet files on an object store (local directory or
//! S3), a per-tenant catalog of live blocks changed only by create-if-absent writes of new
//! versions, compaction into larger time ranges, retention, and a bounded cache of footers,
//! decoded series tables, label indexes and column chunk ranges.
//!
//! Invariants: a block is immutable once its `meta.json` exists; the catalog is the only
//! authority on which blocks are live; queries run against one catalog snapshot, so a
//! concurrent compaction is seen entirely or not at all; a block's objects are deleted only
//! after the catalog stopped naming it and no query holds it.

mod block;
mod blocks;
mod cache;
mod catalog;
mod compact;
mod config;
mod error;
mod head;
mod label_order;
mod metrics;
mod objstore;
mod storage;
mod wal;

pub use block::{BlockMeta, SCHEMA_VERSION, read_block_meta, write_block};
pub use blocks::TenantBlocks;
pub use cache::BlockCache;
pub use catalog::{Catalog, load_catalog};
pub use compact::CompactionOutcome;
pub use config::StoreConfig;
pub use error::{Error, Result, StorageErrorKind};
pub use head::RejectReason;
pub use metrics::{
    BLOCK_UPLOAD_FAILURES_TOTAL, BLOCK_UPLOADS_TOTAL, COMPACTION_FAILURES_TOTAL, COMPACTIONS_TOTAL,
    HEAD_CUTS_TOTAL, HEAD_SAMPLES, HEAD_SERIES, INGEST_SAMPLES_REJECTED_TOTAL,
    INGEST_SAMPLES_TOTAL, RETENTION_BLOCKS_DELETED_TOTAL, WAL_BYTES_WRITTEN_TOTAL,
    WAL_FSYNC_DURATION_SECONDS, WAL_SEGMENTS,
};
pub use objstore::{ObjectStoreConfig, build_object_store};
pub use storage::{AppendOutcome, FlushOutcome, SampleRejection, Storage};
