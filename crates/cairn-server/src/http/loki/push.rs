//! `POST /loki/api/v1/push`: Loki's push API, JSON or snappy protobuf, any Content-Encoding
//! (Promtail, Alloy, Fluent Bit's `loki` output, every Loki client); and
//! `POST /api/prom/push` with the legacy JSON format some old clients still send.
//!
//! Answers as Loki's distributor: 204 when everything was written; otherwise the status and
//! text of [`crate::logs::PushAnswer`], `Retry-After` on 429 and 503.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_wire::LogDecodeLimits;

use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::http::log_body::{self, header_str, off_reactor, wire_error};
use crate::logs::PushAnswer;

/// The metric label of this front door.
const FORMAT: &str = "loki";

/// The push handler.
pub(crate) async fn push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let resp = match handle(&state, &headers, body, false).await {
        Ok(a) => answer(&a),
        Err(e) => e.into_response(),
    };
    state.log_metrics.request(FORMAT, resp.status());
    resp
}

/// The legacy push handler (`/api/prom/push`).
pub(crate) async fn push_legacy(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let resp = match handle(&state, &headers, body, true).await {
        Ok(a) => answer(&a),
        Err(e) => e.into_response(),
    };
    state.log_metrics.request(FORMAT, resp.status());
    resp
}

/// A push answer as Loki's distributor writes it: empty 204, or its text.
pub(crate) fn answer(a: &PushAnswer) -> Response {
    if a.status == StatusCode::NO_CONTENT {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut e = ApiError::new(a.status, "bad_data", a.message.clone(), Style::Text);
    if a.retryable() {
        e = e.retry();
    }
    e.into_response()
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    legacy: bool,
) -> Result<PushAnswer, ApiError> {
    let p = log_body::read(state, headers, body, Style::Text).await?;
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    // The snappy block of a protobuf push decompresses to more than the body: the cap is
    // the configured decoded size, not the body's length.
    let max_decoded = state.config.limits_for(&p.tenant).max_decoded_size;
    let limits = LogDecodeLimits {
        max_decoded_bytes: usize::try_from(max_decoded).unwrap_or(usize::MAX).max(1),
        ..LogDecodeLimits::default()
    };
    let body = p.body;
    let decoded = off_reactor(body.len(), Style::Text, move || {
        if legacy {
            cairn_wire::decode_loki_push_legacy(&body, &limits)
        } else {
            cairn_wire::decode_loki_push(content_type.as_deref(), &body, &limits)
        }
    })
    .await?
    .map_err(|e| wire_error(&e, Style::Text))?;
    let bad: Vec<String> = decoded.errors.iter().map(|e| e.reason.clone()).collect();
    let ingest = state.log_ingest(&p.store, &p.tenant);
    let mut a = ingest.push(&p.tenant, decoded.batch).await;
    if !bad.is_empty() {
        // Streams whose labels could not be read join the validation errors (400); a 429 or
        // 5xx keeps its status, since the sender must retry the rest anyway.
        if a.status == StatusCode::NO_CONTENT || a.status == StatusCode::BAD_REQUEST {
            let mut all = bad;
            if a.status == StatusCode::BAD_REQUEST {
                all.push(a.message.clone());
            }
            a.status = StatusCode::BAD_REQUEST;
            a.message = crate::logs::group_errors(&all);
        }
    }
    Ok(a)
}
