//! The built-in alert manager as a running service: the Alertmanager configuration loaded
//! (and reloaded), the dispatcher ticking on the system clock, alerts taken from the API and
//! from the rule engine, and silences and the notification log persisted.
//!
//! Persistence: the state is one JSON snapshot at `<data_dir>/alertmanager/state.json`,
//! written (temp file, fsync, rename, fsync of the directory) right after anything changed
//! and at least every [`MAINTENANCE_INTERVAL`], then copied to the object store at
//! `<tenant>/state/alertmanager.json`; at start the local file is loaded, or the object
//! store's copy when the local disk was lost. Silences that ended and log entries last
//! written more than `data_retention` ago are dropped. Alerts are not
//! persisted: senders re-post firing alerts, and the notification log keeps a re-posted
//! alert from paging twice while a later resolve still goes out.

mod metrics;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use cairn_alerting::{
    Dispatcher, HttpNotifier, NotificationLog, Notifier, NotifierOptions, PostableAlert,
    ReceiverMetrics, Silences, StateSnapshot,
};
use chrono::{DateTime, Utc};
use object_store::{ObjectStore, ObjectStoreExt};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{AlertmanagerConfig, AlertmanagerSource, Config};
use crate::error::{Error, Result};
pub(crate) use metrics::AlertmanagerMetrics;

/// How often the dispatcher looks for groups to flush; the granularity of `group_wait` and
/// `group_interval`.
const TICK: Duration = Duration::from_millis(200);
/// How often expired state is dropped and the snapshot rewritten even without a change
/// (Alertmanager's `--data.maintenance-interval` default).
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// How often the alert and silence gauges are recomputed.
const OBSERVE_INTERVAL: Duration = Duration::from_secs(5);
/// The snapshot's file name inside `<data_dir>/alertmanager/`.
const STATE_FILE: &str = "state.json";

/// How long the start waits for the object store's copy when there is no local state.
const REMOTE_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The object store copy of the snapshot.
struct Remote {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
}

impl Remote {
    /// The bucket the storage engine uses; the copy lives under the default tenant's
    /// `state/` prefix. `None` (with a warning) when the store cannot be set up.
    fn for_config(config: &Config) -> Option<Remote> {
        let cfg = crate::storage::store_config(config).object_store;
        match cairn_store::build_object_store(&cfg) {
            Ok(store) => Some(Remote {
                store,
                path: object_store::path::Path::from(format!(
                    "{}/state/alertmanager.json",
                    config.multitenancy.default_tenant.as_str()
                )),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "alertmanager state is kept on the local disk only");
                None
            }
        }
    }

    /// The copy, if any; bounded by [`REMOTE_READ_TIMEOUT`] because it runs before the
    /// listener is up.
    async fn get(&self) -> std::result::Result<Option<Bytes>, String> {
        let read = async {
            match self.store.get(&self.path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        match tokio::time::timeout(REMOTE_READ_TIMEOUT, read).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {REMOTE_READ_TIMEOUT:?}")),
        }
    }
}

/// Builds the notifier for a configuration; called again on every reload, so that
/// receivers follow the file. An error (a template that does not parse, a bad TLS file)
/// fails the load or reload like a bad config would.
pub(crate) type NotifierFactory = Arc<
    dyn Fn(&cairn_alerting::Config) -> std::result::Result<Arc<dyn Notifier>, String> + Send + Sync,
>;

/// Slack, PagerDuty and webhook delivery over HTTP. The delivery metrics are registered
/// once here and shared by the notifiers of every reload; relative `templates:` globs are
/// resolved against the directory of the Alertmanager config file.
pub(crate) fn http_notifiers(
    config: &AlertmanagerConfig,
    registry: &mut Registry,
) -> NotifierFactory {
    let metrics = ReceiverMetrics::new(registry);
    let template_dir = match &config.source {
        AlertmanagerSource::File(p) => p.parent().map(Path::to_path_buf),
        _ => None,
    };
    Arc::new(move |c: &cairn_alerting::Config| {
        let options = NotifierOptions {
            template_dir: template_dir.clone(),
            ..NotifierOptions::default()
        };
        HttpNotifier::new(c, options, metrics.clone())
            .map(|n| Arc::new(n) as Arc<dyn Notifier>)
            .map_err(|e| e.to_string())
    })
}

struct Current {
    dispatcher: Arc<Dispatcher>,
    /// The configuration text as loaded, for `GET /api/v2/status`.
    original: String,
}

/// The alert manager of the default tenant.
pub(crate) struct AlertmanagerService {
    settings: AlertmanagerConfig,
    state_dir: PathBuf,
    external_url: String,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
    make_notifier: NotifierFactory,
    remote: Option<Remote>,
    current: RwLock<Current>,
    started: DateTime<Utc>,
    pub(crate) metrics: AlertmanagerMetrics,
    /// Versions of the silences and notification log last written; held while writing so
    /// that snapshots never race each other.
    persisted: tokio::sync::Mutex<Option<(u64, u64)>>,
}

impl AlertmanagerService {
    /// Loads the configuration and the persisted state; without `alertmanager.external_url`
    /// notifications link to `http://<hostname>:<server.listen port>/alertmanager`.
    pub(crate) async fn open(
        config: &Config,
        make_notifier: NotifierFactory,
        registry: &mut Registry,
    ) -> Result<Arc<Self>> {
        let settings = config.alertmanager.clone();
        let (original, am) = settings.load().map_err(Error::Alertmanager)?;
        let external_url = settings.external_url.clone().unwrap_or_else(|| {
            let host = hostname().unwrap_or_else(|| config.server.listen.ip().to_string());
            format!("http://{host}:{}/alertmanager", config.server.listen.port())
        });
        let state_dir = config.storage.data_dir.join("alertmanager");
        std::fs::create_dir_all(&state_dir).map_err(|e| {
            Error::Alertmanager(format!("cannot create {}: {e}", state_dir.display()))
        })?;
        let silences = Arc::new(Silences::new());
        let nflog = Arc::new(NotificationLog::new());
        let now = Utc::now();
        let cutoff = now - chrono::TimeDelta::from_std(settings.data_retention).unwrap_or_default();
        let remote = Remote::for_config(config);
        load_state(&state_dir, remote.as_ref(), &silences, &nflog, cutoff).await?;
        let notifier = make_notifier(&am).map_err(Error::Alertmanager)?;
        let dispatcher = Arc::new(Dispatcher::new(
            am,
            notifier,
            Arc::clone(&silences),
            Arc::clone(&nflog),
            &external_url,
        ));
        let metrics = AlertmanagerMetrics::register(registry);
        Ok(Arc::new(AlertmanagerService {
            persisted: tokio::sync::Mutex::new(Some((silences.version(), nflog.version()))),
            settings,
            state_dir,
            external_url,
            silences,
            nflog,
            make_notifier,
            remote,
            current: RwLock::new(Current {
                dispatcher,
                original,
            }),
            started: now,
            metrics,
        }))
    }

    /// The dispatcher in force (it changes on reload).
    pub(crate) fn dispatcher(&self) -> Arc<Dispatcher> {
        let g = self.current.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&g.dispatcher)
    }

    /// The configuration text in force.
    pub(crate) fn original_config(&self) -> String {
        let g = self.current.read().unwrap_or_else(|p| p.into_inner());
        g.original.clone()
    }

    /// The silences, shared by the API and the pipeline.
    pub(crate) fn silences(&self) -> &Arc<Silences> {
        &self.silences
    }

    /// When the service started.
    pub(crate) fn started(&self) -> DateTime<Utc> {
        self.started
    }

    /// Takes alerts from the API or the rule engine; the invalid ones are returned with
    /// their reasons and the rest kept.
    pub(crate) fn put_alerts(&self, alerts: Vec<PostableAlert>) -> Vec<cairn_alerting::Error> {
        let now = Utc::now();
        for a in &alerts {
            let firing = a.ends_at.is_none_or(|e| e > now);
            self.metrics.received(firing);
        }
        let errors = self.dispatcher().put_alerts(alerts, now);
        for _ in &errors {
            self.metrics.invalid.inc();
        }
        errors
    }

    /// Re-reads the Alertmanager configuration and swaps in a dispatcher over it, keeping
    /// every alert (groups start over; the notification log keeps them from re-notifying).
    /// A broken configuration leaves the running one in force.
    pub(crate) fn reload(&self) -> std::result::Result<(), String> {
        let (original, am) = self.settings.load().inspect_err(|e| {
            self.metrics.reload_failure(true);
            tracing::error!(error = %e, "alertmanager config reload failed; keeping the old one");
        })?;
        let notifier = (self.make_notifier)(&am).inspect_err(|e| {
            self.metrics.reload_failure(true);
            tracing::error!(error = %e, "alertmanager receivers reload failed; keeping the old ones");
        })?;
        let fresh = Arc::new(Dispatcher::new(
            am,
            notifier,
            Arc::clone(&self.silences),
            Arc::clone(&self.nflog),
            &self.external_url,
        ));
        let mut g = self.current.write().unwrap_or_else(|p| p.into_inner());
        let now = Utc::now();
        for a in g.dispatcher.alerts() {
            fresh.insert(a, now);
        }
        *g = Current {
            dispatcher: fresh,
            original,
        };
        drop(g);
        self.metrics.reload_failure(false);
        tracing::info!("alertmanager config reloaded");
        Ok(())
    }

    /// Starts the dispatcher loop (it persists once more when `stop` fires) and, on Unix,
    /// reloads the configuration on SIGHUP.
    pub(crate) fn start(self: &Arc<Self>, stop: CancellationToken, tracker: &TaskTracker) {
        let svc = Arc::clone(self);
        let s = stop.clone();
        tracker.spawn(async move { svc.run(s).await });
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let svc = Arc::clone(self);
            match signal(SignalKind::hangup()) {
                Ok(mut hup) => {
                    tracker.spawn(async move {
                        loop {
                            tokio::select! {
                                () = stop.cancelled() => break,
                                got = hup.recv() => {
                                    if got.is_none() {
                                        break;
                                    }
                                    tracing::info!("SIGHUP received, reloading the alertmanager config");
                                    let _ = svc.reload();
                                }
                            }
                        }
                    });
                }
                Err(e) => tracing::error!(error = %e, "cannot listen for SIGHUP"),
            }
        }
    }

    async fn run(&self, stop: CancellationToken) {
        let mut last_maintenance = tokio::time::Instant::now();
        let mut last_observe: Option<tokio::time::Instant> = None;
        // Flushes run in their own tasks: a receiver retrying for minutes must not stop
        // other groups from flushing on time, nor the state from being persisted.
        let mut flushes = tokio::task::JoinSet::<cairn_alerting::TickReport>::new();
        loop {
            while let Some(done) = flushes.try_join_next() {
                if let Ok(report) = done
                    && report.failed > 0
                {
                    tracing::debug!(
                        failed = report.failed,
                        "notifications failed; retried at the next flush"
                    );
                }
            }
            let now = Utc::now();
            let dispatcher = self.dispatcher();
            if dispatcher.next_due().is_some_and(|t| t <= now) {
                let d = Arc::clone(&dispatcher);
                flushes.spawn(async move { d.tick(now).await });
            }
            if last_observe.is_none_or(|t| t.elapsed() >= OBSERVE_INTERVAL) {
                last_observe = Some(tokio::time::Instant::now());
                self.metrics.observe(&dispatcher, &self.silences, now);
            }
            if last_maintenance.elapsed() >= MAINTENANCE_INTERVAL {
                last_maintenance = tokio::time::Instant::now();
                self.maintenance(now);
                self.force_persist().await;
            }
            if let Err(e) = self.persist().await {
                tracing::error!(error = %e, "cannot persist alertmanager state");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(TICK) => {}
            }
        }
        // A send cut short here was not logged, so it is sent again after the restart:
        // at least once, as Alertmanager delivers.
        flushes.shutdown().await;
        if let Err(e) = self.persist().await {
            tracing::error!(error = %e, "cannot persist alertmanager state at shutdown");
        }
    }

    /// Drops silences and log entries past the data retention.
    fn maintenance(&self, now: DateTime<Utc>) {
        let cutoff =
            now - chrono::TimeDelta::from_std(self.settings.data_retention).unwrap_or_default();
        let s = self.silences.gc(cutoff);
        let n = self.nflog.gc(cutoff);
        if s + n > 0 {
            tracing::info!(
                silences = s,
                nflog_entries = n,
                "dropped expired alertmanager state"
            );
        }
    }

    async fn force_persist(&self) {
        *self.persisted.lock().await = None;
        if let Err(e) = self.persist().await {
            tracing::error!(error = %e, "cannot persist alertmanager state");
        }
    }

    /// Writes the snapshot when the silences or the notification log changed since the
    /// last write.
    pub(crate) async fn persist(&self) -> std::io::Result<()> {
        let mut last = self.persisted.lock().await;
        let versions = (self.silences.version(), self.nflog.version());
        if *last == Some(versions) {
            return Ok(());
        }
        let bytes = Bytes::from(StateSnapshot::capture(&self.silences, &self.nflog).encode());
        let path = self.state_dir.join(STATE_FILE);
        let size = bytes.len();
        let local = bytes.clone();
        let result = tokio::task::spawn_blocking(move || write_durably(&path, &local))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        self.metrics.snapshot(result.is_ok(), size);
        result?;
        *last = Some(versions);
        // The copy in the bucket is what survives the loss of the local disk; failing to
        // write it is not fatal, the next change or maintenance writes it again.
        if let Some(r) = &self.remote
            && let Err(e) = r.store.put(&r.path, bytes.into()).await
        {
            self.metrics.snapshot(false, size);
            *last = None;
            tracing::warn!(path = %r.path, error = %e, "cannot copy alertmanager state to the object store");
        }
        Ok(())
    }
}

/// Loads `<dir>/state.json`, or the object store's copy when there is no local file. An
/// unreadable local snapshot is moved aside (and the service starts empty) rather than
/// keeping alerting down.
async fn load_state(
    dir: &Path,
    remote: Option<&Remote>,
    silences: &Silences,
    nflog: &NotificationLog,
    cutoff: DateTime<Utc>,
) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(r) = remote else { return Ok(()) };
            match r.get().await {
                Ok(Some(b)) => {
                    tracing::info!(path = %r.path, "no local alertmanager state; using the object store's copy");
                    b.to_vec()
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    // Starting empty would forget silences and page again: refuse, like the
                    // storage engine refuses to start without its bucket.
                    return Err(Error::Alertmanager(format!(
                        "no local state and cannot read {} from the object store: {e}",
                        r.path
                    )));
                }
            }
        }
        Err(e) => {
            return Err(Error::Alertmanager(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    match StateSnapshot::decode(&bytes) {
        Ok(snap) => {
            let (s, n) = (snap.silences.len(), snap.nflog.len());
            snap.restore(silences, nflog, cutoff);
            tracing::info!(path = %path.display(), silences = s, nflog_entries = n, "alertmanager state loaded");
        }
        Err(e) => {
            let aside = dir.join(format!("{STATE_FILE}.corrupt-{}", Utc::now().timestamp()));
            tracing::error!(path = %path.display(), error = %e, moved_to = %aside.display(), "unreadable alertmanager state; starting without silences and notification log");
            std::fs::rename(&path, &aside).map_err(|e| {
                Error::Alertmanager(format!("cannot move {} aside: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new file: a
/// temporary file is written and fsynced, renamed over `path`, and the directory fsynced.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("state path has no directory"))?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Hands the rule engine's alerts to the built-in alert manager, as a Prometheus would post
/// them to `/api/v2/alerts`: Cairn's own rules page without a separate Alertmanager.
pub(crate) struct BuiltinAlertSink(pub(crate) Arc<AlertmanagerService>);

impl cairn_rules::AlertSink for BuiltinAlertSink {
    fn send(&self, alerts: Vec<cairn_rules::OutgoingAlert>) {
        let mut postable = Vec::with_capacity(alerts.len());
        for a in alerts {
            let labels = match cairn_model::Labels::from_pairs(
                a.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            ) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "alert with invalid labels not handed to the alert manager");
                    continue;
                }
            };
            postable.push(PostableAlert {
                labels,
                annotations: a.annotations,
                starts_at: Some(a.starts_at),
                ends_at: Some(a.ends_at),
                generator_url: a.generator_url,
            });
        }
        for e in self.0.put_alerts(postable) {
            tracing::warn!(error = %e, "alert refused by the built-in alert manager");
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests;
