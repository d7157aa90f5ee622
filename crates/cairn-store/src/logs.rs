//! The log side of the storage engine: the same machinery as the metrics (WAL writer and
//! replay, catalog with create-if-absent versions, object store layer, block cache,
//! compaction planning, retention), with what differs per signal here: the head of streams,
//! the block schema, the reader and the line-filter index.
//!
//! Write path ([`LogStore::append`]): entries are validated against their stream in the head
//! (out-of-order window, repeats, the tenant's stream limit), logged to the log WAL
//! (`<data_dir>/wal-logs`, its own instance of the WAL: log heads are large and are cut on
//! size as well as on time, so their WAL is truncated on their own schedule, never held back
//! by, nor holding back, the metrics' checkpoints) and fsynced with the other appends queued
//! meanwhile, and only then applied to the head and acknowledged.
//!
//! Invariants: an acknowledged entry is in an fsynced WAL segment until a block holding it
//! is named by the catalog; queries read the head before the blocks and drop repeated
//! entries (same stream, timestamp and line), so an entry being moved into a block is seen
//! exactly once; a query holds one catalog snapshot, so a concurrent compaction is seen
//! entirely or not at all.

mod append;
mod block;
mod blocks;
mod chunk;
mod config;
mod cut;
pub(crate) mod filter;
mod head;
mod metrics;
mod query;
mod scan;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_model::{LogBatch, TenantId};
use object_store::ObjectStore;
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use append::{LogAppendOutcome, LogRejectReason, LogRejection};
pub use block::{LOG_SCHEMA_VERSION, LogBlockMeta};
pub use blocks::LogCompaction;
pub use config::LogStoreConfig;
pub use cut::LogFlushOutcome;
pub use metrics::{
    LOGS_BLOCK_UPLOAD_FAILURES_TOTAL, LOGS_BLOCKS_CUT_TOTAL, LOGS_BYTES_APPENDED_TOTAL,
    LOGS_BYTES_UPLOADED_TOTAL, LOGS_COMPACTION_FAILURES_TOTAL, LOGS_COMPACTIONS_TOTAL,
    LOGS_ENTRIES_APPENDED_TOTAL, LOGS_ENTRIES_DUPLICATE_TOTAL, LOGS_ENTRIES_REFUSED_TOTAL,
    LOGS_HEAD_BYTES, LOGS_HEAD_CUTS_TOTAL, LOGS_HEAD_MEMORY_BYTES, LOGS_HEAD_STREAMS,
    LOGS_RETENTION_BLOCKS_DELETED_TOTAL, LOGS_WAL_BYTES_WRITTEN_TOTAL,
    LOGS_WAL_FSYNC_DURATION_SECONDS, LOGS_WAL_SEGMENTS,
};

use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::wal::{self, Record, WalHandle, WalOptions};
use blocks::LogBlocks;
use head::{LogHead, LogStream};
use metrics::LogMetrics;

/// How often the background task checks whether the head should be cut.
const CUT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Requests queued for the WAL writer before appenders wait.
const WAL_QUEUE: usize = 1024;

/// The log store, shared as `Arc<LogStore>`.
pub struct LogStore {
    cfg: LogStoreConfig,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    head: LogHead,
    wal: WalHandle<LogStream>,
    metrics: LogMetrics,
    blocks: Mutex<HashMap<TenantId, Arc<OnceCell<Arc<LogBlocks>>>>>,
    tenants: Mutex<BTreeSet<TenantId>>,
    /// Appends hold it shared from validation to apply; a cut takes it exclusively to freeze
    /// the head and rotate the WAL between appends.
    gate: tokio::sync::RwLock<()>,
    /// One cut at a time; shutdown takes it to wait for the running one.
    cut_lock: tokio::sync::Mutex<()>,
    /// When the oldest entry still in the head was appended.
    oldest_append: Mutex<Option<Instant>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("data_dir", &self.cfg.data_dir)
            .finish()
    }
}

impl LogStore {
    /// Opens the log store over `store` (shared with the metrics), replaying the log WAL.
    pub async fn open(
        cfg: LogStoreConfig,
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        registry: &mut Registry,
    ) -> Result<Arc<LogStore>> {
        cfg.validate()?;
        let metrics = LogMetrics::new(registry);
        let dir = cfg.data_dir.join("wal-logs");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        wal::sync_dir(&cfg.data_dir)?;
        let head = LogHead::new();
        let started = Instant::now();
        let (head, stats, segments) = {
            let d = dir.clone();
            let chunk_bytes = cfg.head_chunk_bytes;
            tokio::task::spawn_blocking(move || {
                let stats = replay_into(&head, &d, chunk_bytes)?;
                let segments = wal::list_segments(&d)?.len();
                Ok::<_, Error>((head, stats, segments))
            })
            .await
            .map_err(|e| Error::Internal(format!("log wal replay panicked: {e}")))??
        };
        tracing::info!(
            segments = stats.segments,
            records = stats.records,
            torn_bytes = stats.torn_bytes,
            streams = head.num_streams(),
            bytes = head.raw_bytes(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "log wal replayed"
        );
        let wal = WalHandle::start(
            WalOptions {
                dir,
                segment_bytes: cfg.wal_segment_bytes,
                queue: WAL_QUEUE,
            },
            stats.last_segment + 1,
            segments,
            metrics.wal.clone(),
        )?;
        let replayed = head.raw_bytes() > 0;
        let s = Arc::new(LogStore {
            cfg,
            store,
            cache,
            head,
            wal,
            metrics,
            blocks: Mutex::new(HashMap::new()),
            tenants: Mutex::new(BTreeSet::new()),
            gate: tokio::sync::RwLock::new(()),
            cut_lock: tokio::sync::Mutex::new(()),
            oldest_append: Mutex::new(replayed.then(Instant::now)),
            closed: AtomicBool::new(false),
        });
        for th in s.head.tenants() {
            s.tenants.lock().insert(th.tenant.clone());
        }
        s.discover_tenants().await;
        s.update_gauges();
        Ok(s)
    }

    /// Starts the background tasks (head cuts, compaction, retention) until `cancel`.
    pub fn start_background(self: &Arc<Self>, cancel: CancellationToken, tracker: &TaskTracker) {
        let s = Arc::clone(self);
        let c = cancel.clone();
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = c.cancelled() => break,
                    () = tokio::time::sleep(CUT_CHECK_INTERVAL) => {}
                }
                if let Err(e) = s.maybe_cut().await {
                    tracing::warn!(error = %e, "log head cut failed; will retry");
                }
            }
        });
        let s = Arc::clone(self);
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(s.cfg.compaction_interval) => {}
                }
                s.compact_and_retain(now_ns()).await;
            }
        });
    }

    /// Durable append: entries not refused are in the WAL when this returns `Ok`; new streams
    /// past `max_streams` (0: no limit) are refused whole. `Err` means nothing of the batch
    /// was acknowledged (WAL trouble is retryable).
    pub async fn append(
        &self,
        tenant: &TenantId,
        batch: &LogBatch,
        max_streams: usize,
    ) -> Result<LogAppendOutcome> {
        append::append(self, tenant, batch, max_streams).await
    }

    /// Cuts everything in the head into blocks now.
    pub async fn flush(&self) -> Result<LogFlushOutcome> {
        self.cut().await
    }

    /// One round of compaction and retention over every known tenant, at `now_ns`.
    pub async fn compact_and_retain(&self, now_ns: i64) {
        let tenants: Vec<TenantId> = self.tenants.lock().iter().cloned().collect();
        for tenant in tenants {
            if self.is_closed() {
                return;
            }
            let tb = match self.tenant_blocks(&tenant).await {
                Ok(tb) => tb,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "cannot load log blocks for compaction");
                    continue;
                }
            };
            for _ in 0..16 {
                match tb
                    .compact_once(
                        &self.cfg.compaction_ranges_ns,
                        self.cfg.zstd_level,
                        self.cfg.filter_bits_per_key,
                    )
                    .await
                {
                    Ok(o) if o.output.is_none() => break,
                    Ok(o) => {
                        self.metrics.compactions.inc();
                        if let Some(m) = &o.output {
                            self.metrics.uploaded_bytes.inc_by(m.bytes);
                        }
                    }
                    Err(e) => {
                        self.metrics.compaction_failures.inc();
                        tracing::warn!(tenant = %tenant, error = %e, "log compaction failed");
                        break;
                    }
                }
            }
            match tb
                .apply_retention(now_ns, self.cfg.retention_of(&tenant))
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    self.metrics.retention_deleted.inc_by(n as u64);
                    tracing::info!(tenant = %tenant, blocks = n, "log blocks deleted by retention");
                }
                Err(e) => tracing::warn!(tenant = %tenant, error = %e, "log retention failed"),
            }
        }
    }

    /// Ordered shutdown: wait for a running cut, hold appends off, fsync and close the WAL.
    /// The head stays in the WAL for the next open.
    pub async fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let _cut = self.cut_lock.lock().await;
        let _gate = self.gate.write().await;
        self.wal.close().await?;
        tracing::info!("log store shut down");
        Ok(())
    }

    /// Metas of the tenant's live log blocks, sorted by (min_time, ulid).
    pub async fn blocks_of(&self, tenant: &TenantId) -> Result<Vec<LogBlockMeta>> {
        Ok(self.tenant_blocks(tenant).await?.metas())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn note_append(&self) {
        let mut o = self.oldest_append.lock();
        if o.is_none() {
            *o = Some(Instant::now());
        }
    }

    /// The blocks of `tenant`, loading its catalog on first use.
    async fn tenant_blocks(&self, tenant: &TenantId) -> Result<Arc<LogBlocks>> {
        let cell = Arc::clone(self.blocks.lock().entry(tenant.clone()).or_default());
        let tb = cell
            .get_or_try_init(|| async {
                let tb = LogBlocks::open(
                    Arc::clone(&self.store),
                    tenant.clone(),
                    Arc::clone(&self.cache),
                )
                .await?;
                Ok::<_, Error>(Arc::new(tb))
            })
            .await?;
        Ok(Arc::clone(tb))
    }

    /// The blocks of `tenant` if it is known to have any.
    async fn known_tenant_blocks(&self, tenant: &TenantId) -> Result<Option<Arc<LogBlocks>>> {
        if !self.tenants.lock().contains(tenant) {
            return Ok(None);
        }
        self.tenant_blocks(tenant).await.map(Some)
    }

    /// Adds the tenants found as top-level prefixes of the object store.
    async fn discover_tenants(&self) {
        match self.store.list_with_delimiter(None).await {
            Ok(list) => {
                let mut t = self.tenants.lock();
                for p in list.common_prefixes {
                    if let Ok(id) = TenantId::new(p.as_ref().trim_end_matches('/')) {
                        t.insert(id);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list tenants in the object store; found again as they write")
            }
        }
    }

    fn update_gauges(&self) {
        self.metrics
            .head_streams
            .set(self.head.num_streams() as i64);
        self.metrics.head_bytes.set(self.head.raw_bytes() as i64);
        self.metrics
            .head_memory
            .set(self.head.memory_bytes() as i64);
    }
}

/// Nanoseconds since the Unix epoch, now.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Rebuilds the head from the log WAL in `dir`: every entry is applied (nothing refused;
/// repeats are dropped when chunks are sealed and when blocks are written).
fn replay_into(
    head: &LogHead,
    dir: &std::path::Path,
    chunk_bytes: usize,
) -> Result<wal::ReplayStats> {
    let mut refs: HashMap<u64, Arc<LogStream>> = HashMap::new();
    let mut unknown = 0u64;
    let stats = wal::replay(dir, |rec| {
        match rec {
            Record::Series { tenant, series } => {
                let th = head.tenant(&tenant);
                for (r, labels) in series {
                    if let Some((s, _)) = th.get_or_create(&labels, || r, |_| true) {
                        head.bump_ref(r);
                        refs.insert(r, s);
                    }
                }
            }
            Record::LogEntries { entries, .. } => {
                for (r, e) in entries {
                    let Some(s) = refs.get(&r) else {
                        unknown += 1;
                        continue;
                    };
                    head.add_raw_bytes(e.size() as u64);
                    let mut d = s.data.lock();
                    d.max_ts = d.max_ts.max(e.ts_ns);
                    if let Some(c) = d.push([&e], chunk_bytes)? {
                        c.compress();
                    }
                }
            }
            // Metrics records belong to the metrics WAL.
            Record::Samples { .. }
            | Record::Metadata { .. }
            | Record::TraceSpans { .. }
            | Record::Exemplars { .. } => unknown += 1,
        }
        Ok(())
    })?;
    if unknown > 0 {
        tracing::warn!(
            records = unknown,
            "log wal entries of unknown streams skipped"
        );
    }
    Ok(stats)
}

#[cfg(test)]
mod tests;
