//! OTLP metrics: `POST /v1/metrics` (on the OTLP/HTTP port and the main port) and
//! `POST /otlp/v1/metrics` (the path Prometheus and Mimir serve OTLP on), protobuf or JSON,
//! compressed or not, and the append path the gRPC `MetricsService/Export` shares.
//!
//! The body is read as the other OTLP pushes read theirs (write slot, tenant, size caps,
//! `Content-Encoding`); series are mapped as Prometheus' OTLP receiver maps them
//! (`cairn_wire::map_otlp_metrics`, configured by `otlp:`), checked against the tenant's
//! series limits as remote write series are, and appended through the same store call (WAL
//! fsync before the answer, out-of-order and duplicate rules). The answer is 200 with an
//! `ExportMetricsServiceResponse` whose `partial_success` counts the data points refused
//! (delta temporality, exponential histograms, limits, samples the store refused) with their
//! messages; 400 when the body cannot be read, 413 over a size cap, 415 for other content
//! types, 429 and 503 (with `Retry-After`) for what the client should retry.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use cairn_model::{TenantId, WriteBatch};
use cairn_wire::{DecodeLimits, MappedMetrics, OtlpMetricsReport};

use super::AppState;
use super::error::{ApiError, Style};
use super::log_body::{self, header_str, off_reactor};
use super::otlp::{encoding_of, status_response, with_type};
use crate::backend::MetricsStore;

/// The `reason` of `cairn_ingest_rejected_samples` for data points the mapping refused.
const MAPPING_REASON: &str = "otlp_unsupported";

/// The handler.
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = encoding_of(&headers);
    let resp = match handle(&state, &headers, body).await {
        Ok(report) => with_type(
            StatusCode::OK,
            cairn_wire::encode_metrics_response(&report, enc.format()),
            enc,
        ),
        Err(e) => status_response(e.status, &e.message, enc, e.retry_after),
    };
    count_request(&state, "otlp-http", resp.status());
    resp
}

/// Counts one OTLP metrics request in `cairn_ingest_requests{version}`.
pub(crate) fn count_request(state: &AppState, version: &str, code: StatusCode) {
    state
        .metrics
        .requests
        .get_or_create(&vec![
            ("version", version.to_string()),
            ("code", code.as_u16().to_string()),
        ])
        .inc();
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<OtlpMetricsReport, ApiError> {
    let store = Arc::clone(state.store(Style::Text)?);
    let p = log_body::read_raw(state, headers, body, Style::Text).await?;
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    let mapping = state.config.otlp.metrics.clone();
    let body = p.body;
    let mapped = off_reactor(body.len(), Style::Text, move || {
        cairn_wire::decode_otlp_metrics(content_type.as_deref(), &body, &mapping)
    })
    .await?
    .map_err(|e| log_body::wire_error(&e, Style::Text))?;
    ingest(state, &*store, &p.tenant, mapped).await
}

/// Checks mapped series against `tenant`'s limits and appends them; the report gathers every
/// refusal, from the mapping, the limits and the store.
pub(crate) async fn ingest(
    state: &AppState,
    store: &dyn MetricsStore,
    tenant: &TenantId,
    mapped: MappedMetrics,
) -> Result<OtlpMetricsReport, ApiError> {
    let limits = state.config.limits_for(tenant);
    let decode_limits = DecodeLimits {
        max_labels_per_series: limits.max_labels_per_series,
        max_label_name_len: limits.max_label_name_length,
        max_label_value_len: limits.max_label_value_length,
        max_series_per_request: limits.max_series_per_request,
    };
    let mut report = mapped.report.clone();
    let m = &state.metrics;
    if report.rejected_data_points > 0 {
        m.rejected
            .get_or_create(&vec![("reason", MAPPING_REASON.to_string())])
            .inc_by(report.rejected_data_points);
    }
    let mut batch = WriteBatch::default();
    let checked = mapped.fill_batch(&decode_limits, &mut batch);
    for r in &checked.rejected {
        m.rejected
            .get_or_create(&vec![("reason", r.reason.as_str().to_string())])
            .inc_by(r.samples as u64);
    }
    report.add_rejections(&checked);
    if batch.series.is_empty() {
        return Ok(report);
    }
    let appended = store.append(tenant, &batch).await.map_err(|f| {
        if f.transient {
            ApiError::unavailable(format!("storage unavailable: {}", f.message), Style::Text)
        } else {
            ApiError::internal(format!("storage failed: {}", f.message), Style::Text)
        }
    })?;
    let refused: usize = appended.rejected_by_reason.iter().map(|(_, n)| n).sum();
    if refused > 0 {
        let mut messages = appended.messages.clone();
        if messages.is_empty() {
            messages.push(format!("{refused} samples refused by the store"));
        }
        report.refuse_samples(refused, messages);
    }
    Ok(report)
}
