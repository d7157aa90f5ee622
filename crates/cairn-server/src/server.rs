//! Wiring and lifecycle: logging, bind, WAL replay behind a live listener, background tasks,
//! and the ordered shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use cairn_store::{LogStore, Storage, TraceStore};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, LogFormat, ServerConfig};

/// Time the storage engine always gets to close its WAL, even past the shutdown budget.
const MIN_STORAGE_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(2);
use crate::alertmanager::AlertmanagerService;
use crate::error::{Error, Result};
use crate::http::{self, AppState};
use crate::rules::RulesService;
use crate::storage::{
    LogsBackend, StorageBackend, TracesBackend, log_store_config, store_config, trace_store_config,
};

/// Sets up `tracing` output on stderr (text or JSON) with the configured level filter.
pub fn init_logging(cfg: &ServerConfig) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .map_err(|e| Error::Logging(format!("invalid log level {:?}: {e}", cfg.log_level)))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match cfg.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| Error::Logging(e.to_string()))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// The bound addresses of the listeners (the actual ports when `:0` was asked for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listeners {
    /// Every HTTP API.
    pub http: SocketAddr,
    /// The Fluentd forward protocol, when on.
    pub forward: Option<SocketAddr>,
    /// OTLP/gRPC, when on.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP, when on.
    pub otlp_http: Option<SocketAddr>,
}

/// Runs the server until SIGINT or SIGTERM; `ready` gets the bound addresses as soon as the
/// listeners exist (before the WAL is replayed).
pub async fn run(config: Config, ready: impl FnOnce(&Listeners)) -> Result<()> {
    run_until(config, ready, shutdown_signal()).await
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let local = l
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    Ok((l, local))
}

async fn bind_optional(addr: Option<SocketAddr>) -> Result<Option<(TcpListener, SocketAddr)>> {
    match addr {
        Some(a) => bind(a).await.map(Some),
        None => Ok(None),
    }
}

/// [`run`] with an explicit shutdown trigger.
pub async fn run_until(
    config: Config,
    ready: impl FnOnce(&Listeners),
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let config = Arc::new(config);
    let rule_files = load_rules(&config)?;
    let mut state = AppState::new(Arc::clone(&config));
    let alertmanager = open_alertmanager(&mut state).await?;
    let state = Arc::new(state);
    let (listener, addr) = bind(config.server.listen).await?;
    // Forward connections carry no tenant: without one configured under multi-tenancy the
    // listener stays off rather than guess.
    let forward_addr = match crate::forward::tenant(&state) {
        Ok(_) => config.server.forward_listen,
        Err(why) => {
            if config.server.forward_listen.is_some() {
                tracing::warn!("forward listener not started: {why}");
            }
            None
        }
    };
    let forward = bind_optional(forward_addr).await?;
    let grpc = bind_optional(config.server.otlp_grpc_listen).await?;
    let otlp_http = bind_optional(config.server.otlp_http_listen).await?;
    ready(&Listeners {
        http: addr,
        forward: forward.as_ref().map(|f| f.1),
        otlp_grpc: grpc.as_ref().map(|g| g.1),
        otlp_http: otlp_http.as_ref().map(|o| o.1),
    });

    let http_stop = CancellationToken::new();
    let background_stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    // Listeners besides the main one, and the forward connections, stop with it.
    let side = TaskTracker::new();
    let router = http::router(Arc::clone(&state));
    let stop = http_stop.clone();
    let mut server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    if let Some((l, a)) = otlp_http {
        let router = http::otlp_router(Arc::clone(&state));
        let stop = http_stop.clone();
        side.spawn(async move {
            if let Err(e) = axum::serve(l, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
            {
                tracing::error!(addr = %a, error = %e, "OTLP/HTTP listener failed");
            }
        });
    }
    if let Some((l, a)) = grpc {
        let st = Arc::clone(&state);
        let stop = http_stop.clone();
        side.spawn(async move {
            if let Err(e) = crate::grpc::serve(l, st, stop).await {
                tracing::error!(addr = %a, error = %e, "OTLP/gRPC listener failed");
            }
        });
    }
    if let Some((l, _)) = forward {
        let st = Arc::clone(&state);
        let stop = http_stop.clone();
        let connections = side.clone();
        side.spawn(crate::forward::serve(l, st, stop, connections));
    }
    side.close();

    tokio::pin!(shutdown);
    let stores = tokio::select! {
        opened = open_storage(&config, &state) => match opened {
            Ok(s) => s,
            Err(e) => {
                http_stop.cancel();
                let _ = server.await;
                return Err(e);
            }
        },
        () = &mut shutdown => {
            tracing::info!("shutdown requested during WAL replay");
            http_stop.cancel();
            let _ = server.await;
            return Ok(());
        }
    };
    stores.start_background(background_stop.clone(), &tracker);
    alertmanager.start(background_stop.clone(), &tracker);
    start_rules(&state, rule_files, background_stop.clone(), &tracker).await;
    start_generators(&state, background_stop.clone(), &tracker);
    tracing::info!(%addr, "cairn is ready");

    let server_failed = tokio::select! {
        () = &mut shutdown => None,
        r = &mut server => Some(match r {
            Ok(Ok(())) => Error::Serve(std::io::Error::other("http server stopped unexpectedly")),
            Ok(Err(e)) => Error::Serve(e),
            Err(e) => Error::Serve(std::io::Error::other(e.to_string())),
        }),
    };

    // Ordered: stop accepting and drain requests, stop background work, then let the store
    // fsync its WAL and finish uploads. Each step gets what is left of the budget, and the
    // store's shutdown runs even when draining used it all up, since it is what makes the
    // acknowledged data safe.
    let deadline = tokio::time::Instant::now() + config.server.shutdown_timeout;
    http_stop.cancel();
    if tokio::time::timeout_at(deadline, side.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "OTLP and forward connections did not finish within server.shutdown_timeout"
        );
    }
    if server_failed.is_none() {
        match tokio::time::timeout_at(deadline, &mut server).await {
            Ok(Ok(Ok(()))) => tracing::info!("http requests drained"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "http server ended with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "http server task failed"),
            Err(_) => {
                tracing::warn!(
                    "in-flight requests did not finish within server.shutdown_timeout; closing them"
                );
                server.abort();
            }
        }
    }
    background_stop.cancel();
    tracker.close();
    if tokio::time::timeout_at(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not stop within server.shutdown_timeout");
    }
    let left = deadline
        .saturating_duration_since(tokio::time::Instant::now())
        .max(MIN_STORAGE_SHUTDOWN);
    match tokio::time::timeout(left, stores.shutdown()).await {
        Ok(Ok(())) => tracing::info!("shutdown complete"),
        Ok(Err(e)) => tracing::error!(error = %e, "storage shutdown failed"),
        Err(_) => tracing::error!(
            timeout = %crate::config::format_duration(config.server.shutdown_timeout),
            "storage shutdown did not finish in time; exiting anyway"
        ),
    }
    match server_failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Reads and validates the rule files named by `rules.rule_files`: a bad file stops the
/// start, as it does Prometheus'.
fn load_rules(config: &Config) -> Result<Vec<cairn_rules::RuleFile>> {
    crate::rules::load_rules(config).map_err(Error::Rules)
}

/// Starts the rule engine over the opened store (evaluation, Alertmanager sink, SIGHUP).
/// Starts writing the span metrics generators' series into the metrics store.
fn start_generators(state: &AppState, stop: CancellationToken, tracker: &TaskTracker) {
    if let (Some(g), Some(store)) = (&state.generators, state.store.get()) {
        g.start(Arc::clone(store), stop, tracker);
    }
}

async fn start_rules(
    state: &AppState,
    files: Vec<cairn_rules::RuleFile>,
    stop: CancellationToken,
    tracker: &TaskTracker,
) {
    let Some(store) = state.store.get() else {
        return;
    };
    let svc = RulesService::open(
        &state.config,
        Arc::clone(store),
        state.logs.get().cloned(),
        state.rule_metrics.clone(),
        files,
    )
    .await;
    if let Some(am) = state.alertmanager.get() {
        svc.manager
            .add_sink(Arc::new(crate::alertmanager::BuiltinAlertSink(Arc::clone(
                am,
            ))));
    }
    svc.start(&state.config, stop, tracker);
    let _ = state.rules.set(svc);
}

/// Loads the built-in alert manager (its configuration and persisted state) into `state`.
async fn open_alertmanager(state: &mut AppState) -> Result<Arc<AlertmanagerService>> {
    let notifiers =
        crate::alertmanager::http_notifiers(&state.config.alertmanager, &mut state.registry);
    let svc = AlertmanagerService::open(&state.config, notifiers, &mut state.registry).await?;
    let _ = state.alertmanager.set(Arc::clone(&svc));
    Ok(svc)
}

/// The opened storage engine: the metrics, log and trace stores on the same object store
/// and cache, each with its own WAL (the trace store only when `traces.enabled`).
struct Stores {
    metrics: Arc<Storage>,
    logs: Arc<LogStore>,
    traces: Option<Arc<TraceStore>>,
}

impl Stores {
    fn start_background(&self, stop: CancellationToken, tracker: &TaskTracker) {
        self.metrics.start_background(stop.clone(), tracker);
        if let Some(t) = &self.traces {
            t.start_background(stop.clone(), tracker);
        }
        self.logs.start_background(stop, tracker);
    }

    /// Every WAL fsynced and closed, whatever the others did.
    async fn shutdown(&self) -> std::result::Result<(), cairn_store::Error> {
        let traces = async {
            match &self.traces {
                Some(t) => t.shutdown().await,
                None => Ok(()),
            }
        };
        let (m, l, t) = tokio::join!(self.metrics.shutdown(), self.logs.shutdown(), traces);
        m.and(l).and(t)
    }
}

/// Opens the storage engine (replaying both WALs) and hands it to the handlers; readiness
/// waits for both.
async fn open_storage(config: &Config, state: &AppState) -> Result<Stores> {
    let mut registry = Registry::default();
    let storage = Storage::open(store_config(config), &mut registry)
        .await
        .map_err(|e| Error::Storage(e.to_string()))?;
    let logs = LogStore::open(
        log_store_config(config, storage.config()),
        storage.object_store(),
        storage.block_cache(),
        &mut registry,
    )
    .await
    .map_err(|e| Error::Storage(e.to_string()))?;
    let traces = if config.traces.enabled {
        let t = TraceStore::open(
            trace_store_config(config, storage.config()),
            storage.object_store(),
            storage.block_cache(),
            &mut registry,
        )
        .await
        .map_err(|e| Error::Storage(e.to_string()))?;
        let _ = state.traces.set(Arc::new(TracesBackend(Arc::clone(&t))));
        Some(t)
    } else {
        None
    };
    let _ = state.store_registry.set(registry);
    let _ = state.logs.set(Arc::new(LogsBackend(Arc::clone(&logs))));
    let _ = state
        .store
        .set(Arc::new(StorageBackend(Arc::clone(&storage))));
    Ok(Stores {
        metrics: storage,
        logs,
        traces,
    })
}

/// The HTTP application over an opened storage engine, without a listener: for embedding
/// and for tests that drive the router directly.
pub struct App {
    state: Arc<AppState>,
    stores: Stores,
    background_stop: CancellationToken,
    tracker: TaskTracker,
}

impl App {
    /// Opens the storage engine for `config` (replaying its WAL) and starts its background
    /// tasks.
    pub async fn open(config: Config) -> Result<App> {
        let rule_files = load_rules(&config)?;
        let mut state = AppState::new(Arc::new(config));
        let alertmanager = open_alertmanager(&mut state).await?;
        let state = Arc::new(state);
        let stores = open_storage(&state.config, &state).await?;
        let background_stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        stores.start_background(background_stop.clone(), &tracker);
        alertmanager.start(background_stop.clone(), &tracker);
        start_rules(&state, rule_files, background_stop.clone(), &tracker).await;
        start_generators(&state, background_stop.clone(), &tracker);
        Ok(App {
            state,
            stores,
            background_stop,
            tracker,
        })
    }

    /// Evaluates every rule group at `ts_ms` now, outside the schedule (tests, backfills).
    pub async fn eval_rules_at(&self, ts_ms: i64) {
        if let Some(r) = self.state.rules.get() {
            r.manager.eval_all_at(ts_ms).await;
        }
    }

    /// The router serving every endpoint.
    pub fn router(&self) -> Router {
        http::router(Arc::clone(&self.state))
    }

    /// Stops background tasks and shuts the storage engine down (both WALs fsynced).
    pub async fn shutdown(self) -> Result<()> {
        self.background_stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        self.stores
            .shutdown()
            .await
            .map_err(|e| Error::Storage(e.to_string()))
    }
}
