//! Health, readiness, self-metrics, build information and the flush trigger.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, Style};

/// `GET /-/healthy`: the process answers.
pub(crate) async fn healthy() -> &'static str {
    "cairn is healthy\n"
}

/// `GET /-/ready`: 200 once both WALs (metrics and logs) are replayed and writes are
/// accepted, 503 before.
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.store.get().is_some() && state.logs.get().is_some() {
        (StatusCode::OK, "cairn is ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "cairn is starting: replaying the WAL\n",
        )
            .into_response()
    }
}

/// `GET /metrics`: the server's and the storage engine's metrics, OpenMetrics text.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    use prometheus_client::encoding::text::{encode_eof, encode_registry};
    let mut out = String::new();
    let fail =
        |e: std::fmt::Error| ApiError::internal(format!("cannot encode metrics: {e}"), Style::Text);
    encode_registry(&mut out, &state.registry).map_err(fail)?;
    if let Some(r) = state.store_registry.get() {
        encode_registry(&mut out, r).map_err(fail)?;
    }
    encode_eof(&mut out).map_err(fail)?;
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(resp)
}

/// `POST /api/v1/admin/flush`: cut the metrics, log and trace heads into blocks and upload
/// them now. `data` is the metrics summary with the log summary under `logs` and the trace
/// summary under `traces`.
pub(crate) async fn flush(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let store = state.store(Style::Json)?;
    let logs = state.logs_store(Style::Json)?;
    let fail = |f: crate::backend::StoreFailure| {
        if f.transient {
            ApiError::unavailable(format!("flush failed: {}", f.message), Style::Json)
        } else {
            ApiError::internal(format!("flush failed: {}", f.message), Style::Json)
        }
    };
    let mut summary = store.flush().await.map_err(fail)?;
    let log_summary = logs.flush_logs().await.map_err(fail)?;
    let trace_summary = match state.traces.get() {
        Some(t) => Some(t.flush_traces().await.map_err(fail)?),
        None => None,
    };
    if let Some(m) = summary.as_object_mut() {
        m.insert("logs".into(), log_summary);
        if let Some(t) = trace_summary {
            m.insert("traces".into(), t);
        }
    }
    Ok(axum::Json(json!({"status": "success", "data": summary})).into_response())
}

/// `GET /api/v1/status/buildinfo`; no `features` field, so Grafana treats Cairn as Prometheus.
pub(crate) async fn buildinfo() -> Response {
    let mut j = super::json::Json::new();
    j.raw("{");
    for (i, (k, v)) in [
        ("version", env!("CARGO_PKG_VERSION")),
        (
            "revision",
            option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
        ),
        (
            "branch",
            option_env!("CAIRN_GIT_BRANCH").unwrap_or("unknown"),
        ),
        ("buildUser", ""),
        (
            "buildDate",
            option_env!("CAIRN_BUILD_DATE").unwrap_or("unknown"),
        ),
        ("goVersion", ""),
    ]
    .into_iter()
    .enumerate()
    {
        j.sep(i).key(k).str(v);
    }
    j.raw("}");
    super::json::success(&j.finish(), &[], &[])
}
