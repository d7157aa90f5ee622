//! The HTTP front door: routes, shared state, tenancy and request metrics. Handlers live in
//! one file per concern beside this one.

mod admin;
mod alertmanager;
mod error;
mod fluentbit;
mod format_query;
mod json;
mod log_body;
mod loki;
mod otlp;
mod otlp_metrics;
mod params;
mod promql;
mod query;
mod remote_read;
mod rules;
mod slos;
mod slots;
mod tempo;
mod write;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use cairn_model::TenantId;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use crate::backend::{LogsStore, MetricsStore, TracesStore};
use crate::config::Config;
use crate::metrics::ServerMetrics;
pub(crate) use error::{ApiError, Style};
pub(crate) use otlp::store_traces;
pub(crate) use otlp_metrics::{
    count_request as count_otlp_metrics_request, ingest as ingest_otlp_metrics,
};

/// The header naming the tenant (Mimir, Loki, Tempo).
pub(crate) const ORG_ID_HEADER: &str = "x-scope-orgid";

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) config: Arc<Config>,
    /// Set once the storage engine has opened (WAL replayed); until then data endpoints
    /// answer 503 and `/-/ready` says not ready.
    pub(crate) store: OnceLock<Arc<dyn MetricsStore>>,
    pub(crate) metrics: ServerMetrics,
    /// The server's own metrics.
    pub(crate) registry: Registry,
    /// The storage engine's metrics, registered while it opens.
    pub(crate) store_registry: OnceLock<Registry>,
    /// One permit per write request in flight; none left means 429.
    pub(crate) write_slots: Arc<Semaphore>,
    /// The built-in alert manager, set once it has loaded its config and state.
    pub(crate) alertmanager: OnceLock<Arc<crate::alertmanager::AlertmanagerService>>,
    /// The rule engine, set once the store has opened and the rule files loaded.
    pub(crate) rules: OnceLock<Arc<crate::rules::RulesService>>,
    /// `cairn_rule_*` metrics.
    pub(crate) rule_metrics: cairn_rules::RuleMetrics,
    /// PromQL evaluation slots and their queue (`query.max_concurrent`, `query.max_queued`).
    pub(crate) query_slots: slots::QuerySlots,
    /// `cairn_query_*` metrics.
    pub(crate) query_metrics: slots::QueryMetrics,
    /// The log side of the store, set when the store has opened.
    pub(crate) logs: OnceLock<Arc<dyn LogsStore>>,
    /// Per-tenant log ingestion rate limits.
    pub(crate) log_rate: crate::logs::RateLimiter,
    /// `cairn_logs_*` front-door metrics.
    pub(crate) log_metrics: crate::logs::LogMetrics,
    /// Live tail subscribers.
    pub(crate) tail: crate::logs::TailHub,
    /// The trace side of the store, set when the store has opened (never when
    /// `traces.enabled` is off).
    pub(crate) traces: OnceLock<Arc<dyn TracesStore>>,
    /// Span metrics and service graph generators (`traces.metrics_generator`), when a
    /// processor is configured.
    pub(crate) generators: Option<Arc<crate::metrics_generator::MetricsGenerators>>,
}

impl AppState {
    /// State for `config`, with no storage yet.
    pub(crate) fn new(config: Arc<Config>) -> Self {
        let mut registry = Registry::default();
        let metrics = ServerMetrics::register(&mut registry);
        let slots = config.server.max_inflight_writes;
        let query_metrics = slots::QueryMetrics::register(&mut registry);
        let rule_metrics = cairn_rules::RuleMetrics::register(&mut registry);
        let log_metrics = crate::logs::LogMetrics::register(&mut registry);
        let query_slots =
            slots::QuerySlots::new(config.query.max_concurrent, config.query.max_queued);
        // The configuration was validated when loaded; a refusal here leaves spans without
        // metrics rather than the server without traces.
        let generators = crate::metrics_generator::MetricsGenerators::new(
            config.traces.metrics_generator.clone(),
            &mut registry,
        )
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "traces.metrics_generator refused");
            None
        });
        AppState {
            config,
            store: OnceLock::new(),
            metrics,
            registry,
            store_registry: OnceLock::new(),
            write_slots: Arc::new(Semaphore::new(slots)),
            alertmanager: OnceLock::new(),
            rules: OnceLock::new(),
            rule_metrics,
            query_slots,
            query_metrics,
            logs: OnceLock::new(),
            log_rate: crate::logs::RateLimiter::default(),
            log_metrics,
            tail: crate::logs::TailHub::default(),
            traces: OnceLock::new(),
            generators,
        }
    }

    /// The trace store: 404 when traces are off, 503 while it is still opening.
    pub(crate) fn traces_store(&self, style: Style) -> Result<&Arc<dyn TracesStore>, ApiError> {
        if !self.config.traces.enabled {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "bad_data",
                "traces are disabled (traces.enabled: false)",
                style,
            ));
        }
        self.traces.get().ok_or_else(|| {
            ApiError::unavailable(
                "storage is starting (replaying the WAL), retry shortly",
                style,
            )
        })
    }

    /// The log store, or 503 while it is still opening.
    pub(crate) fn logs_store(&self, style: Style) -> Result<&Arc<dyn LogsStore>, ApiError> {
        self.logs.get().ok_or_else(|| {
            ApiError::unavailable(
                "storage is starting (replaying the WAL), retry shortly",
                style,
            )
        })
    }

    /// The log ingestion pipeline for `tenant` over `store`.
    pub(crate) fn log_ingest<'a>(
        &'a self,
        store: &'a Arc<dyn LogsStore>,
        tenant: &TenantId,
    ) -> crate::logs::LogIngest<'a> {
        crate::logs::LogIngest {
            store,
            limits: &self.config.limits_for(tenant).logs,
            rate: &self.log_rate,
            metrics: &self.log_metrics,
            tail: &self.tail,
        }
    }

    /// The store, or 503 while it is still opening.
    pub(crate) fn store(&self, style: Style) -> Result<&Arc<dyn MetricsStore>, ApiError> {
        self.store.get().ok_or_else(|| {
            ApiError::unavailable(
                "storage is starting (replaying the WAL), retry shortly",
                style,
            )
        })
    }

    /// The request's tenant: from `X-Scope-OrgID` when multi-tenancy is on (401 when absent,
    /// 400 when invalid), the default tenant otherwise (the header is then ignored).
    pub(crate) fn tenant(&self, headers: &HeaderMap, style: Style) -> Result<TenantId, ApiError> {
        let mt = &self.config.multitenancy;
        if !mt.enabled {
            return Ok(mt.default_tenant.clone());
        }
        let Some(v) = headers.get(ORG_ID_HEADER) else {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "bad_data",
                "no org id",
                style,
            ));
        };
        let id = v
            .to_str()
            .map_err(|_| ApiError::bad_data("X-Scope-OrgID is not valid ASCII text", style))?;
        TenantId::new(id.trim())
            .map_err(|e| ApiError::bad_data(format!("invalid X-Scope-OrgID: {e}"), style))
    }
}

/// The full router over `state`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/v1/write", post(write::write))
        .route("/api/v1/push", post(write::write))
        .route("/api/v1/receive", post(write::write))
        .route("/api/v1/read", post(remote_read::read))
        .route("/api/v1/query", get(promql::query).post(promql::query))
        .route(
            "/api/v1/query_range",
            get(promql::query_range).post(promql::query_range),
        )
        .route("/api/v1/series", get(query::series).post(query::series))
        .route("/api/v1/labels", get(query::labels).post(query::labels))
        .route("/api/v1/label/{name}/values", get(query::label_values))
        .route("/api/v1/metadata", get(query::metadata))
        .route("/api/v1/status/buildinfo", get(admin::buildinfo))
        .route("/api/v1/rules", get(rules::rules).post(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/slos", get(slos::slos))
        .route(
            "/api/v1/format_query",
            get(format_query::format_query).post(format_query::format_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(format_query::query_exemplars).post(format_query::query_exemplars),
        );
    Router::new()
        .merge(api.clone())
        .merge(log_push_routes())
        .merge(loki_routes())
        .merge(tempo::routes())
        .nest("/tempo", tempo::routes())
        .nest("/prometheus", api)
        .route("/-/healthy", get(admin::healthy))
        .route("/-/ready", get(admin::ready))
        .route("/metrics", get(admin::metrics))
        .route("/api/v1/admin/flush", post(admin::flush))
        .route(
            "/-/reload",
            post(alertmanager::reload_all).put(alertmanager::reload_all),
        )
        .nest("/alertmanager/api/v2", alertmanager::api_routes())
        .nest("/api/v2", alertmanager::api_routes())
        .merge(alertmanager::prefix_routes())
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// The Loki query API (Grafana's Loki data source URL is the root).
fn loki_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/loki/api/v1/query", get(loki::query).post(loki::query))
        .route(
            "/loki/api/v1/query_range",
            get(loki::query_range).post(loki::query_range),
        )
        .route("/loki/api/v1/tail", get(loki::tail))
        .route("/loki/api/v1/labels", get(loki::labels).post(loki::labels))
        .route("/loki/api/v1/label/{name}/values", get(loki::label_values))
        .route("/loki/api/v1/series", get(loki::series).post(loki::series))
        .route(
            "/loki/api/v1/index/stats",
            get(loki::stats).post(loki::stats),
        )
        .route(
            "/loki/api/v1/index/volume",
            get(loki::volume).post(loki::volume),
        )
        .route(
            "/loki/api/v1/index/volume_range",
            get(loki::volume_range).post(loki::volume_range),
        )
        .route(
            "/loki/api/v1/patterns",
            get(loki::patterns).post(loki::patterns),
        )
        .route("/loki/api/v1/detected_labels", get(loki::detected_labels))
        .route("/loki/api/v1/detected_fields", get(loki::detected_fields))
        .route(
            "/loki/api/v1/detected_field/{name}/values",
            get(loki::detected_field_values),
        )
        .route("/loki/api/v1/status/buildinfo", get(loki::buildinfo))
        .route(
            "/loki/api/v1/format_query",
            get(loki::format_query).post(loki::format_query),
        )
        .route("/loki/api/v1/drilldown-limits", get(loki::drilldown_limits))
}

/// The log push endpoints of the main port.
fn log_push_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/loki/api/v1/push", post(loki::push))
        .route("/api/prom/push", post(loki::push_legacy))
        .route("/fluentbit/api/v1/push", post(fluentbit::push))
        .route("/v1/logs", post(otlp::logs))
        .route("/otlp/v1/logs", post(otlp::logs))
        .route("/v1/traces", post(otlp::traces))
        .route("/otlp/v1/traces", post(otlp::traces))
        .route("/v1/metrics", post(otlp_metrics::metrics))
        .route("/otlp/v1/metrics", post(otlp_metrics::metrics))
}

/// The router of the OTLP/HTTP port (`server.otlp_http_listen`): the OTLP paths only.
pub(crate) fn otlp_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/logs", post(otlp::logs))
        .route("/v1/traces", post(otlp::traces))
        .route("/v1/metrics", post(otlp_metrics::metrics))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// Records `cairn_http_request_duration_seconds{handler,code}` for every request.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .http_duration
        .get_or_create(&vec![
            ("handler", handler),
            ("code", resp.status().as_u16().to_string()),
        ])
        .observe(start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    /// Before the storage engine has opened, the listener already answers: healthy, not
    /// ready, and data endpoints 503 with Retry-After.
    #[tokio::test]
    async fn before_replay_only_health_answers() {
        let state = Arc::new(AppState::new(Arc::new(Config::default())));
        let app = router(state);
        let call = |req: Request<Body>| {
            let app = app.clone();
            async move { app.oneshot(req).await.expect("infallible") }
        };
        let get = |p: &str| Request::get(p).body(Body::empty()).expect("valid request");
        assert_eq!(call(get("/-/healthy")).await.status(), StatusCode::OK);
        assert_eq!(
            call(get("/-/ready")).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(call(get("/metrics")).await.status(), StatusCode::OK);
        let r = call(get("/api/v1/labels")).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = call(
            Request::post("/api/v1/write")
                .body(Body::from(vec![0u8; 4]))
                .expect("valid request"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
