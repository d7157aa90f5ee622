//! The Tempo API (Grafana's Tempo data source; its URL is the root or `/tempo`): trace by
//! id (`/api/traces/<id>`, `/api/v2/traces/<id>`), search and tags (`search`), TraceQL
//! metrics (`metrics`), `/api/echo` and `/api/status/buildinfo`.
//!
//! Ids are hex of up to 32 digits in any case, left-padded with zeros, as Tempo reads them;
//! anything else is a 400 with Tempo's message. `start` and `end` (Unix seconds) limit the
//! blocks read. `Accept: application/protobuf` gets protobuf (v1: an OTLP `TracesData`, v2:
//! `tempopb.TraceByIDResponse`), anything else JSON with base64 ids as Tempo writes them.
//! An unknown trace is a 404 `trace not found`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_model::{Trace, TraceId};
use cairn_wire::{
    JsonIds, PartialStatus, TraceByIdAnswer, TraceEncoding, encode_trace_v1, encode_trace_v2,
};

use super::AppState;
use super::error::{ApiError, Style};

mod metrics;
mod params;
mod pushdown;
mod scan;
mod search;

/// The Tempo routes, mounted at the root and under `/tempo`.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/traces/{id}", get(trace_v1))
        .route("/api/v2/traces/{id}", get(trace_v2))
        .route("/api/search", get(search::search))
        .route("/api/search/tags", get(search::search_tags))
        .route("/api/v2/search/tags", get(search::search_tags_v2))
        .route("/api/search/tag/{tag}/values", get(search::tag_values))
        .route(
            "/api/v2/search/tag/{tag}/values",
            get(search::tag_values_v2),
        )
        .route("/api/metrics/query_range", get(metrics::query_range))
        .route("/api/metrics/query", get(metrics::query_instant))
        .route("/api/echo", get(echo))
        .route("/api/status/buildinfo", get(buildinfo))
}

/// `GET /api/echo`: Grafana's health check.
async fn echo() -> &'static str {
    "echo"
}

/// `GET /api/status/buildinfo`, in the shape Tempo answers (Prometheus' version info).
async fn buildinfo() -> Response {
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
        "branch": option_env!("CAIRN_GIT_BRANCH").unwrap_or("unknown"),
        "buildUser": "",
        "buildDate": option_env!("CAIRN_BUILD_DATE").unwrap_or("unknown"),
        "goVersion": "",
    });
    axum::Json(body).into_response()
}

/// Whether the client asked for protobuf.
fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').any(|m| {
                m.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/protobuf"))
            })
        })
}

/// `start` and `end` (Unix seconds) as an inclusive nanosecond range, when both are given.
fn range_of(q: &HashMap<String, String>) -> Result<Option<(u64, u64)>, ApiError> {
    let secs = |name: &str| -> Result<Option<u64>, ApiError> {
        match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(Some)
                .map_err(|e| ApiError::bad_data(format!("invalid {name} {s:?}: {e}"), Style::Text)),
        }
    };
    let (start, end) = (secs("start")?, secs("end")?);
    match (start, end) {
        (Some(s), Some(e)) if s > e => Err(ApiError::bad_data(
            format!("invalid start {s}: after end {e}"),
            Style::Text,
        )),
        (Some(s), Some(e)) if e > 0 => Ok(Some((
            s.saturating_mul(1_000_000_000),
            e.saturating_mul(1_000_000_000).saturating_add(999_999_999),
        ))),
        _ => Ok(None),
    }
}

async fn find(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<Option<Trace>, ApiError> {
    let tenant = state.tenant(headers, Style::Text)?;
    let id = TraceId::from_hex(id).map_err(|e| ApiError::bad_data(e.to_string(), Style::Text))?;
    let range = range_of(q)?;
    let store = state.traces_store(Style::Text)?;
    store.trace_by_id(&tenant, &id, range).await.map_err(|f| {
        if f.transient {
            ApiError::unavailable(format!("cannot read trace: {}", f.message), Style::Text)
        } else {
            ApiError::internal(format!("cannot read trace: {}", f.message), Style::Text)
        }
    })
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "trace not found").into_response()
}

fn body(bytes: Vec<u8>, protobuf: bool) -> Response {
    let ct = if protobuf {
        "application/protobuf"
    } else {
        "application/json"
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn encoding(protobuf: bool) -> TraceEncoding {
    if protobuf {
        TraceEncoding::Protobuf
    } else {
        TraceEncoding::Json(JsonIds::Base64)
    }
}

/// `GET /api/traces/<id>`.
async fn trace_v1(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let pb = wants_protobuf(&headers);
    Ok(match find(&state, &headers, &id, &q).await? {
        Some(t) => body(encode_trace_v1(&t, encoding(pb)), pb),
        None => not_found(),
    })
}

/// `GET /api/v2/traces/<id>`.
async fn trace_v2(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let pb = wants_protobuf(&headers);
    Ok(match find(&state, &headers, &id, &q).await? {
        Some(t) => {
            let answer = TraceByIdAnswer {
                trace: &t,
                status: PartialStatus::Complete,
                message: "",
                inspected_bytes: 0,
            };
            body(encode_trace_v2(&answer, encoding(pb)), pb)
        }
        None => not_found(),
    })
}
