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
//! Logs ([`LogStore`], module `logs`) run on the same machinery with their own WAL
//! instance, head of streams, block schema and line-filter index; see that module. Traces
//! ([`TraceStore`], module `traces`) likewise, with a head of traces keyed by trace id and
//! one span per Parquet row; the per-tenant block set both use is `signal_blocks`.
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
mod exemplars;
mod head;
mod label_order;
mod logs;
mod metrics;
mod objstore;
mod signal_blocks;
mod storage;
mod traces;
mod wal;

pub use block::{BlockMeta, SCHEMA_VERSION, read_block_meta, write_block};
pub use blocks::TenantBlocks;
pub use cache::BlockCache;
pub use catalog::{Catalog, load_catalog};
pub use compact::CompactionOutcome;
pub use config::StoreConfig;
pub use error::{Error, Result, StorageErrorKind};
pub use exemplars::{
    DEFAULT_MAX_EXEMPLARS, EXEMPLAR_MAX_LABEL_SET_LENGTH, EXEMPLARS_APPENDED_TOTAL,
    EXEMPLARS_IN_STORAGE, EXEMPLARS_MAX, EXEMPLARS_OUT_OF_ORDER_TOTAL, EXEMPLARS_REJECTED_TOTAL,
    EXEMPLARS_SERIES_IN_STORAGE, Exemplar, ExemplarRejectReason, ExemplarSeries,
};
pub use head::RejectReason;
pub use logs::{
    LOG_SCHEMA_VERSION, LOGS_BLOCK_UPLOAD_FAILURES_TOTAL, LOGS_BLOCKS_CUT_TOTAL,
    LOGS_BYTES_APPENDED_TOTAL, LOGS_BYTES_UPLOADED_TOTAL, LOGS_COMPACTION_FAILURES_TOTAL,
    LOGS_COMPACTIONS_TOTAL, LOGS_ENTRIES_APPENDED_TOTAL, LOGS_ENTRIES_DUPLICATE_TOTAL,
    LOGS_ENTRIES_REFUSED_TOTAL, LOGS_HEAD_BYTES, LOGS_HEAD_CUTS_TOTAL, LOGS_HEAD_MEMORY_BYTES,
    LOGS_HEAD_STREAMS, LOGS_RETENTION_BLOCKS_DELETED_TOTAL, LOGS_WAL_BYTES_WRITTEN_TOTAL,
    LOGS_WAL_FSYNC_DURATION_SECONDS, LOGS_WAL_SEGMENTS, LogAppendOutcome, LogBlockMeta,
    LogCompaction, LogFlushOutcome, LogRejectReason, LogRejection, LogStore, LogStoreConfig,
};
pub use metrics::{
    BLOCK_UPLOAD_FAILURES_TOTAL, BLOCK_UPLOADS_TOTAL, COMPACTION_FAILURES_TOTAL, COMPACTIONS_TOTAL,
    HEAD_CUTS_TOTAL, HEAD_SAMPLES, HEAD_SERIES, INGEST_SAMPLES_REJECTED_TOTAL,
    INGEST_SAMPLES_TOTAL, RETENTION_BLOCKS_DELETED_TOTAL, WAL_BYTES_WRITTEN_TOTAL,
    WAL_FSYNC_DURATION_SECONDS, WAL_SEGMENTS,
};
pub use objstore::{ObjectStoreConfig, build_object_store};
pub use storage::{AppendOutcome, FlushOutcome, SampleRejection, Storage};
pub use traces::{
    RowGroupMeta, ScanStats, SpanField, SpanFilter, TRACE_SCHEMA_VERSION,
    TRACES_BLOCK_UPLOAD_FAILURES_TOTAL, TRACES_BLOCKS_CUT_TOTAL, TRACES_BYTES_UPLOADED_TOTAL,
    TRACES_COMPACTION_FAILURES_TOTAL, TRACES_COMPACTIONS_TOTAL, TRACES_HEAD_BYTES,
    TRACES_HEAD_CUTS_TOTAL, TRACES_HEAD_FULL_REFUSALS_TOTAL, TRACES_HEAD_SPANS, TRACES_HEAD_TRACES,
    TRACES_RETENTION_BLOCKS_DELETED_TOTAL, TRACES_ROW_GROUPS_READ_TOTAL,
    TRACES_SPANS_APPENDED_TOTAL, TRACES_SPANS_DUPLICATE_TOTAL, TRACES_WAL_BYTES_WRITTEN_TOTAL,
    TRACES_WAL_FSYNC_DURATION_SECONDS, TRACES_WAL_SEGMENTS, TagNames, TagScope, TraceAppendOutcome,
    TraceBlockMeta, TraceCompaction, TraceFilter, TraceFlushOutcome, TraceStore, TraceStoreConfig,
    ValueTest,
};
