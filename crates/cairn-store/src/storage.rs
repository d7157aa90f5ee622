//! The storage facade: durable appends through the WAL into the head, cuts of the head into
//! blocks, compaction and retention in the background, and queries over head and blocks.

mod append;
mod cut;
mod query;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cairn_model::{Labels, TenantId, WriteBatch};
use object_store::ObjectStore;
use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use append::{AppendOutcome, SampleRejection};
pub use cut::FlushOutcome;
pub(crate) use query::to_query_error;

use crate::blocks::TenantBlocks;
use crate::cache::BlockCache;
use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::exemplars::{Exemplar, ExemplarStore};
use crate::head::{Head, TenantHead};
use crate::metrics::StoreMetrics;
use crate::objstore::build_object_store;
use crate::wal::{self, Record, WalHandle, WalOptions};

/// How often the background task checks whether the head should be cut.
const CUT_CHECK_INTERVAL: Duration = Duration::from_secs(15);
/// Requests queued for the WAL writer before appenders wait.
const WAL_QUEUE: usize = 1024;

/// The storage engine, shared as `Arc<Storage>`.
pub struct Storage {
    cfg: StoreConfig,
    store: Arc<dyn ObjectStore>,
    cache: Arc<BlockCache>,
    head: Arc<Head>,
    /// Exemplars by tenant; in memory and the WAL only, never in blocks.
    exemplars: ExemplarStore,
    wal: WalHandle,
    metrics: StoreMetrics,
    blocks: Mutex<HashMap<TenantId, Arc<OnceCell<Arc<TenantBlocks>>>>>,
    /// Tenants known to have blocks or head data.
    tenants: Mutex<BTreeSet<TenantId>>,
    /// Appends hold it shared from validation until their samples are applied; a cut takes
    /// it exclusively to move the head's bounds and rotate the WAL between appends.
    gate: tokio::sync::RwLock<()>,
    /// One cut at a time; shutdown takes it to wait for the running one.
    cut_lock: tokio::sync::Mutex<()>,
    ready: AtomicBool,
    closed: AtomicBool,
    /// Test hook: a cut stops after its blocks are in the catalog, before the checkpoint.
    #[cfg(test)]
    fail_before_checkpoint: AtomicBool,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("data_dir", &self.cfg.data_dir)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl Storage {
    /// Opens the object store, loads catalogs lazily per tenant, replays the WAL.
    pub async fn open(cfg: StoreConfig, registry: &mut Registry) -> Result<Arc<Storage>> {
        cfg.validate()?;
        let store = build_object_store(&cfg.object_store)?;
        let metrics = StoreMetrics::new(registry);
        let exemplars = ExemplarStore::new(cfg.max_exemplars, registry);
        let head = Arc::new(Head::new(cfg.out_of_order_window_ms));
        let dir = wal::wal_dir(&cfg.data_dir);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        // The WAL directory entry itself must survive a crash.
        wal::sync_dir(&cfg.data_dir)?;

        let replay_head = Arc::clone(&head);
        let replay_dir = dir.clone();
        let started = std::time::Instant::now();
        let (stats, segments, mut replayed) = tokio::task::spawn_blocking(move || {
            let (stats, replayed) = replay_into(&replay_head, &replay_dir)?;
            let segments = wal::list_segments(&replay_dir)?.len();
            Ok::<_, Error>((stats, segments, replayed))
        })
        .await
        .map_err(|e| Error::Internal(format!("wal replay panicked: {e}")))??;
        let replayed_exemplars = add_replayed_exemplars(&exemplars, &mut replayed);
        tracing::info!(
            segments = stats.segments,
            records = stats.records,
            torn_bytes = stats.torn_bytes,
            series = head.num_series(),
            exemplars = replayed_exemplars,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "wal replayed"
        );

        let wal = WalHandle::start(
            WalOptions {
                dir,
                segment_bytes: cfg.wal_segment_bytes,
                queue: WAL_QUEUE,
            },
            stats.last_segment + 1,
            segments,
            metrics.wal(),
        )?;
        let storage = Arc::new(Storage {
            cache: Arc::new(BlockCache::new(cfg.cache_bytes)),
            cfg,
            store,
            head,
            exemplars,
            wal,
            metrics,
            blocks: Mutex::new(HashMap::new()),
            tenants: Mutex::new(BTreeSet::new()),
            gate: tokio::sync::RwLock::new(()),
            cut_lock: tokio::sync::Mutex::new(()),
            ready: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            #[cfg(test)]
            fail_before_checkpoint: AtomicBool::new(false),
        });
        storage.discover_tenants().await;
        for th in storage.head.tenants() {
            storage.tenants.lock().insert(th.tenant.clone());
            th.bounds_loaded
                .get_or_init(|| storage.init_min_valid(&th))
                .await;
        }
        storage.update_head_gauges();
        storage.ready.store(true, Ordering::Release);
        Ok(storage)
    }

    /// Starts background tasks (head cutting, compaction, retention) until `cancel`.
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
                    tracing::warn!(error = %e, "head cut failed; will retry");
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
                s.compact_and_retain().await;
            }
        });
    }

    /// The object store, to share with the log store.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// The block cache, to share with the log store.
    pub fn block_cache(&self) -> Arc<BlockCache> {
        Arc::clone(&self.cache)
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// True once the WAL is replayed and appends and queries are served.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.closed.load(Ordering::Acquire)
    }

    /// Durable append (see the crate docs). Per-sample rejections are returned, not errors;
    /// `Err` means nothing of this batch was acknowledged (a WAL failure is retryable).
    pub async fn append(&self, tenant: &TenantId, batch: &WriteBatch<'_>) -> Result<AppendOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let th = self.tenant_head(tenant).await;
        append::append(self, &th, batch).await
    }

    /// Cuts everything in the head into blocks now. Afterwards the head is empty and keeps
    /// accepting samples newer than the flushed ones (older ones are out of bounds unless
    /// within the out-of-order window).
    pub async fn flush(&self) -> Result<FlushOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        match self.head.time_range() {
            Some((_, max)) => self.cut(max.saturating_add(1), false).await,
            None => Ok(FlushOutcome::default()),
        }
    }

    /// Ordered shutdown: stop cutting, wait for the running cut (its uploads), wait for
    /// in-flight appends, fsync and close the WAL. The head stays in the WAL for the next open.
    pub async fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let _cut = self.cut_lock.lock().await;
        let _gate = self.gate.write().await;
        self.wal.close().await?;
        tracing::info!("storage shut down");
        Ok(())
    }

    /// The head of `tenant`, created (with its bounds taken from its blocks) when new.
    async fn tenant_head(&self, tenant: &TenantId) -> Arc<TenantHead> {
        let th = match self.head.get(tenant) {
            Some(th) => th,
            None => {
                self.tenants.lock().insert(tenant.clone());
                self.head.tenant(tenant)
            }
        };
        // Every append of a new tenant waits for the first one's catalog read.
        th.bounds_loaded
            .get_or_init(|| self.init_min_valid(&th))
            .await;
        th
    }

    /// Samples at or before the newest block's last sample are out of bounds, as if that
    /// block had just been cut from this head.
    async fn init_min_valid(&self, th: &TenantHead) {
        match self.tenant_blocks(&th.tenant).await {
            Ok(b) => {
                if let Some(max) = b.max_time() {
                    let min_valid = max
                        .saturating_add(1)
                        .saturating_sub(self.cfg.out_of_order_window_ms);
                    th.min_valid_t.fetch_max(min_valid, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::warn!(tenant = %th.tenant, error = %e, "cannot load the tenant's blocks; its head accepts any timestamp until the next cut");
            }
        }
    }

    /// The blocks of `tenant`, loading its catalog on first use.
    pub(crate) async fn tenant_blocks(&self, tenant: &TenantId) -> Result<Arc<TenantBlocks>> {
        let cell = Arc::clone(self.blocks.lock().entry(tenant.clone()).or_default());
        let tb = cell
            .get_or_try_init(|| async {
                let tb = TenantBlocks::open(
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

    /// The blocks of `tenant` if it is known to have any (no catalog read for strangers).
    pub(crate) async fn known_tenant_blocks(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<TenantBlocks>>> {
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
                    let name = p.as_ref().trim_end_matches('/');
                    match TenantId::new(name) {
                        Ok(id) => {
                            t.insert(id);
                        }
                        Err(e) => {
                            tracing::debug!(prefix = name, error = %e, "not a tenant prefix")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list tenants in the object store; found again as they write")
            }
        }
    }

    /// One round of compaction and retention over every known tenant.
    async fn compact_and_retain(&self) {
        let tenants: Vec<TenantId> = self.tenants.lock().iter().cloned().collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        for tenant in tenants {
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let tb = match self.tenant_blocks(&tenant).await {
                Ok(tb) => tb,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "cannot load blocks for compaction");
                    continue;
                }
            };
            // Bounded, so one tenant's backlog cannot starve the others.
            for _ in 0..16 {
                match tb.compact_once(&self.cfg.compaction_ranges_ms).await {
                    Ok(o) if o.is_noop() => break,
                    Ok(o) => {
                        self.metrics.compactions.inc();
                        tracing::info!(tenant = %tenant, sources = o.sources.len(), "blocks compacted");
                    }
                    Err(e) => {
                        self.metrics.compaction_failures.inc();
                        tracing::warn!(tenant = %tenant, error = %e, "compaction failed");
                        break;
                    }
                }
            }
            match tb
                .apply_retention(now, self.cfg.retention_of(&tenant))
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    self.metrics.retention_deleted.inc_by(n as u64);
                    tracing::info!(tenant = %tenant, blocks = n, "blocks deleted by retention");
                }
                Err(e) => tracing::warn!(tenant = %tenant, error = %e, "retention failed"),
            }
        }
    }

    fn update_head_gauges(&self) {
        let tenants = self.head.tenants();
        self.metrics
            .head_series
            .set(tenants.iter().map(|t| t.num_series()).sum::<usize>() as i64);
        let samples: usize = tenants
            .iter()
            .flat_map(|t| t.all_series())
            .map(|s| s.data.lock().len())
            .sum();
        self.metrics.head_samples.set(samples as i64);
    }

    /// Number of WAL fsyncs so far.
    #[cfg(test)]
    pub(crate) fn wal_fsyncs(&self) -> u64 {
        self.wal.fsyncs()
    }
}

/// Exemplars read back from the WAL, to add once the whole WAL is read.
type ReplayedExemplars = Vec<(TenantId, Labels, Exemplar)>;

/// Adds the exemplars replayed from the WAL in time order: a checkpoint logs exemplars again
/// after appends that followed its rotation, and adding them in log order would refuse the
/// older ones as out of order. Returns how many were stored.
fn add_replayed_exemplars(store: &ExemplarStore, replayed: &mut ReplayedExemplars) -> u64 {
    replayed.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.timestamp_ms.cmp(&b.2.timestamp_ms)));
    let mut stored = 0;
    for group in replayed.chunk_by(|a, b| a.0 == b.0) {
        let tenant = &group[0].0;
        let (n, _) = store.add_all(tenant, group.iter().map(|(_, s, e)| (s, e.clone())));
        stored += n;
    }
    replayed.clear();
    stored
}

/// Rebuilds the head from the WAL in `dir`: every sample is applied (duplicates dropped,
/// nothing rejected); exemplars are returned to be added in order.
fn replay_into(
    head: &Head,
    dir: &std::path::Path,
) -> Result<(wal::ReplayStats, ReplayedExemplars)> {
    let mut replayed_exemplars = Vec::new();
    let mut refs: HashMap<u64, Arc<crate::head::MemSeries>> = HashMap::new();
    let mut unknown = 0u64;
    let stats = wal::replay(dir, |rec| {
        match rec {
            Record::Series { tenant, series } => {
                let th = head.tenant(&tenant);
                for (r, labels) in series {
                    let (s, _) = th.get_or_create(labels.encoded(), || r);
                    head.bump_ref(r);
                    refs.insert(r, s);
                }
            }
            Record::Samples { samples, .. } => {
                let mut i = 0;
                while i < samples.len() {
                    let r = samples[i].0;
                    let run = samples[i..].iter().take_while(|x| x.0 == r).count();
                    match refs.get(&r) {
                        Some(s) => {
                            let mut d = s.data.lock();
                            for &(_, t, v) in &samples[i..i + run] {
                                d.apply(t, v);
                            }
                        }
                        None => unknown += run as u64,
                    }
                    i += run;
                }
            }
            Record::Metadata { tenant, entries } => {
                let th = head.tenant(&tenant);
                for (family, m) in entries {
                    th.set_metadata(&family, m);
                }
            }
            // The log WAL is its own instance; a log record here is not ours to apply.
            Record::LogEntries { entries, .. } => unknown += entries.len() as u64,
            Record::TraceSpans { .. } => unknown += 1,
            Record::Exemplars { tenant, exemplars } => {
                replayed_exemplars
                    .extend(exemplars.into_iter().map(|(s, e)| (tenant.clone(), s, e)));
            }
        }
        Ok(())
    })?;
    if unknown > 0 {
        tracing::warn!(samples = unknown, "wal samples of unknown series skipped");
    }
    Ok((stats, replayed_exemplars))
}

#[cfg(test)]
mod exemplar_tests;
#[cfg(test)]
mod tests;
