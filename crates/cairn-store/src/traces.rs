//! The trace side of the storage engine, on the machinery of the other signals (WAL writer
//! and replay, catalog with create-if-absent versions, the generic block set, object store
//! layer, block cache, compaction planning, retention), with what differs here: a head of
//! traces keyed by trace id, the span-per-row block schema (see `block`), lookups by id and
//! scans by time.
//!
//! Write path ([`TraceStore::append`]): a batch is logged to the trace WAL as sent (each
//! resource once; `<data_dir>/wal-traces`, its own instance so trace cuts truncate it on
//! their own schedule) and fsynced with the other appends queued meanwhile, and only then
//! split by trace id, joined to the head and acknowledged. Spans of one trace arriving in many requests, in any order,
//! are one trace in the head; a repeated span (same trace, span id and kind) is dropped.
//!
//! Cuts take the whole head (on size, on age, on flush): the traces are frozen and the WAL
//! rotated with appends held off, each tenant's frozen traces are written as one block, the
//! catalog names it, and only then are the frozen traces dropped and the older WAL segments
//! deleted. A trace whose spans keep coming after a cut is in several blocks until
//! compaction joins it; lookups merge every part they find.
//!
//! Invariants: an acknowledged span is in an fsynced WAL segment until a block holding it is
//! named by the catalog; lookups and scans read the head (live and frozen) and the blocks of
//! one catalog snapshot, so a trace being cut or compacted is seen, possibly twice, never
//! not at all; [`Trace`] merging drops the repeats.

mod block;
mod config;
mod cut;
mod filter;
mod head;
mod metrics;
mod query;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_model::{TenantId, TraceBatch};
use object_store::ObjectStore;
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use ulid::Ulid;

pub use block::{RowGroupMeta, TRACE_SCHEMA_VERSION, TagNames, TraceBlockMeta};
pub use config::TraceStoreConfig;
pub use cut::{TraceCompaction, TraceFlushOutcome};
pub use filter::{SpanField, SpanFilter, TraceFilter, ValueTest};
pub use metrics::{
    TRACES_BLOCK_UPLOAD_FAILURES_TOTAL, TRACES_BLOCKS_CUT_TOTAL, TRACES_BYTES_UPLOADED_TOTAL,
    TRACES_COMPACTION_FAILURES_TOTAL, TRACES_COMPACTIONS_TOTAL, TRACES_HEAD_BYTES,
    TRACES_HEAD_CUTS_TOTAL, TRACES_HEAD_FULL_REFUSALS_TOTAL, TRACES_HEAD_SPANS, TRACES_HEAD_TRACES,
    TRACES_RETENTION_BLOCKS_DELETED_TOTAL, TRACES_ROW_GROUPS_READ_TOTAL,
    TRACES_SPANS_APPENDED_TOTAL, TRACES_SPANS_DUPLICATE_TOTAL, TRACES_WAL_BYTES_WRITTEN_TOTAL,
    TRACES_WAL_FSYNC_DURATION_SECONDS, TRACES_WAL_SEGMENTS,
};
pub use query::{ScanStats, TagScope};

use crate::cache::BlockCache;
use crate::catalog::Signal;
use crate::error::{Error, Result};
use crate::signal_blocks::{SignalBlock, SignalBlocks, SignalMeta};
use crate::wal::{self, Record, WalHandle, WalOptions, record};
use block::{TraceBlockReader, delete_block};
use head::TraceHead;
use metrics::TraceMetrics;

/// How often the background task checks whether the head should be cut.
/// Past this many times `head_max_bytes`, appends are refused until a cut catches up.
const HEAD_FULL_FACTOR: u64 = 2;
const CUT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Requests queued for the WAL writer before appenders wait.
const WAL_QUEUE: usize = 1024;

/// The live trace blocks of one tenant.
type TraceBlocks = SignalBlocks<TraceBlockReader>;

impl SignalMeta for TraceBlockMeta {
    fn ulid(&self) -> Ulid {
        self.ulid
    }

    fn min_time(&self) -> i64 {
        self.min_time
    }

    fn max_time(&self) -> i64 {
        self.max_time
    }
}

impl SignalBlock for TraceBlockReader {
    type Meta = TraceBlockMeta;
    const SIGNAL: Signal = Signal::Traces;

    fn open(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: TraceBlockMeta,
    ) -> Self {
        TraceBlockReader::new(store, cache, tenant, meta)
    }

    fn meta(&self) -> &TraceBlockMeta {
        &self.meta
    }

    async fn delete(store: &Arc<dyn ObjectStore>, tenant: &TenantId, ulid: Ulid) -> Result<()> {
        delete_block(store, tenant, ulid).await
    }
}

/// What an append did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceAppendOutcome {
    /// Spans made durable and new to their trace.
    pub spans: u64,
    /// Spans already stored (same trace, span id and kind), accepted and dropped.
    pub duplicates: u64,
    /// Distinct trace ids in the batch.
    pub traces: u64,
}

/// The trace store, shared as `Arc<TraceStore>`.
pub struct TraceStore {
    cfg: TraceStoreConfig,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    head: TraceHead,
    wal: WalHandle,
    metrics: TraceMetrics,
    blocks: Mutex<HashMap<TenantId, Arc<OnceCell<Arc<TraceBlocks>>>>>,
    tenants: Mutex<BTreeSet<TenantId>>,
    /// Appends hold it shared from the WAL write to the head; a cut takes it exclusively to
    /// freeze the head and rotate the WAL between appends.
    gate: tokio::sync::RwLock<()>,
    /// One cut at a time; shutdown takes it to wait for the running one.
    cut_lock: tokio::sync::Mutex<()>,
    /// Wakes the cut task before its next check when an append fills the head.
    cut_wanted: tokio::sync::Notify,
    /// When the oldest span still in the head was appended.
    oldest_append: Mutex<Option<Instant>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStore")
            .field("data_dir", &self.cfg.data_dir)
            .finish()
    }
}

impl TraceStore {
    /// Opens the trace store over `store` (shared with the other signals), replaying the
    /// trace WAL.
    pub async fn open(
        cfg: TraceStoreConfig,
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        registry: &mut Registry,
    ) -> Result<Arc<TraceStore>> {
        cfg.validate()?;
        let metrics = TraceMetrics::new(registry);
        let dir = cfg.data_dir.join("wal-traces");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        wal::sync_dir(&cfg.data_dir)?;
        let started = Instant::now();
        let (head, stats, segments) = {
            let d = dir.clone();
            tokio::task::spawn_blocking(move || {
                let head = TraceHead::default();
                let stats = replay_into(&head, &d)?;
                let segments = wal::list_segments(&d)?.len();
                Ok::<_, Error>((head, stats, segments))
            })
            .await
            .map_err(|e| Error::Internal(format!("trace wal replay panicked: {e}")))??
        };
        tracing::info!(
            segments = stats.segments,
            records = stats.records,
            torn_bytes = stats.torn_bytes,
            bytes = head.bytes(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "trace wal replayed"
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
        let replayed = head.bytes() > 0;
        let s = Arc::new(TraceStore {
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
            cut_wanted: tokio::sync::Notify::new(),
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
                    () = s.cut_wanted.notified() => {}
                }
                if let Err(e) = s.maybe_cut().await {
                    tracing::warn!(error = %e, "trace head cut failed; will retry");
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

    /// Durable append: every span of `batch` is in the WAL when this returns `Ok`, and in
    /// the head, joined to the rest of its trace. `Err` means nothing of the batch was
    /// acknowledged (WAL trouble is retryable).
    pub async fn append(&self, tenant: &TenantId, batch: TraceBatch) -> Result<TraceAppendOutcome> {
        if batch.span_count() == 0 {
            return Ok(TraceAppendOutcome::default());
        }
        // The record holds the request's groups as sent (each resource once), not the
        // per-trace parts that repeat a resource for every trace it has spans in: replay
        // splits it again.
        let mut payload = Vec::new();
        record::encode_trace_spans(&mut payload, tenant, batch.resources.iter());
        // Ingest faster than cuts write blocks would grow the head without end: past twice
        // its size bound, writes are refused (retryable) until a cut catches up.
        let limit = self.cfg.head_max_bytes.saturating_mul(HEAD_FULL_FACTOR);
        let held = self.head.bytes();
        if held >= limit {
            self.metrics.head_full.inc();
            self.cut_wanted.notify_one();
            return Err(Error::HeadFull {
                signal: "trace",
                held,
                limit,
            });
        }
        let parts = batch.split_by_trace();
        let traces = parts.len() as u64;
        let _gate = self.gate.read().await;
        if self.is_closed() {
            return Err(Error::Shutdown);
        }
        self.wal.append(tenant.clone(), Vec::new(), payload).await?;
        let added = self.head.tenant(tenant).add(parts);
        if held + added.bytes >= self.cfg.head_max_bytes {
            self.cut_wanted.notify_one();
        }
        self.note_append();
        self.tenants.lock().insert(tenant.clone());
        self.metrics.appended.inc_by(added.spans);
        self.metrics.duplicates.inc_by(added.duplicates);
        Ok(TraceAppendOutcome {
            spans: added.spans,
            duplicates: added.duplicates,
            traces,
        })
    }

    /// Cuts everything in the head into blocks now.
    pub async fn flush(&self) -> Result<TraceFlushOutcome> {
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
                    tracing::warn!(tenant = %tenant, error = %e, "cannot load trace blocks for compaction");
                    continue;
                }
            };
            for _ in 0..16 {
                match self.compact_once(&tb).await {
                    Ok(o) if o.output.is_none() => break,
                    Ok(_) => {}
                    Err(e) => {
                        self.metrics.compaction_failures.inc();
                        tracing::warn!(tenant = %tenant, error = %e, "trace compaction failed");
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
                    tracing::info!(tenant = %tenant, blocks = n, "trace blocks deleted by retention");
                }
                Err(e) => tracing::warn!(tenant = %tenant, error = %e, "trace retention failed"),
            }
        }
    }

    /// One compaction step for `tenant` (see [`TraceStore::compact_and_retain`]).
    pub async fn compact_tenant_once(&self, tenant: &TenantId) -> Result<TraceCompaction> {
        let tb = self.tenant_blocks(tenant).await?;
        self.compact_once(&tb).await
    }

    /// Ordered shutdown: wait for a running cut, hold appends off, fsync and close the WAL.
    /// The head stays in the WAL for the next open.
    pub async fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let _cut = self.cut_lock.lock().await;
        let _gate = self.gate.write().await;
        self.wal.close().await?;
        tracing::info!("trace store shut down");
        Ok(())
    }

    /// Metas of the tenant's live trace blocks, sorted by (min_time, ulid).
    pub async fn blocks_of(&self, tenant: &TenantId) -> Result<Vec<TraceBlockMeta>> {
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
    async fn tenant_blocks(&self, tenant: &TenantId) -> Result<Arc<TraceBlocks>> {
        let cell = Arc::clone(self.blocks.lock().entry(tenant.clone()).or_default());
        let tb = cell
            .get_or_try_init(|| async {
                let tb = TraceBlocks::open(
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
    async fn known_tenant_blocks(&self, tenant: &TenantId) -> Result<Option<Arc<TraceBlocks>>> {
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
        let (mut traces, mut spans) = (0, 0);
        for th in self.head.tenants() {
            let (t, s) = th.counts();
            traces += t;
            spans += s;
        }
        self.metrics.head_traces.set(traces as i64);
        self.metrics.head_spans.set(spans as i64);
        self.metrics.head_bytes.set(self.head.bytes() as i64);
    }
}

/// Nanoseconds since the Unix epoch, now.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Rebuilds the head from the trace WAL in `dir`.
fn replay_into(head: &TraceHead, dir: &std::path::Path) -> Result<wal::ReplayStats> {
    let mut unknown = 0u64;
    let stats = wal::replay(dir, |rec| {
        match rec {
            Record::TraceSpans { tenant, resources } => {
                let batch = TraceBatch { resources };
                head.tenant(&tenant).add(batch.split_by_trace());
            }
            // Other signals' records belong to their own WALs.
            _ => unknown += 1,
        }
        Ok(())
    })?;
    if unknown > 0 {
        tracing::warn!(
            records = unknown,
            "records of other signals in the trace wal skipped"
        );
    }
    Ok(stats)
}

#[cfg(test)]
mod tests;
