//! OTLP/HTTP logs and traces: `POST /v1/logs` and `POST /v1/traces` (on the OTLP/HTTP port
//! and the main port), and `POST /otlp/v1/logs`, `POST /otlp/v1/traces` (the paths Loki
//! serves OTLP on, so a Collector's `otlphttp` exporter pointed at `http://cairn:9009/otlp`
//! works as it does with Loki).
//!
//! Answers follow the OTLP/HTTP specification: 200 with an `ExportLogsServiceResponse` in
//! the request's encoding (protobuf or JSON), carrying `partial_success` when some records
//! were refused; 400 with a `google.rpc.Status` when nothing could be taken from a bad
//! request; 429 and 503 with `Retry-After` for what the client should retry (OTLP clients
//! retry only 429, 502, 503 and 504: never 500 for a transient failure).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::{TenantId, TraceBatch};
use cairn_wire::{LogDecodeLimits, OtlpFormat, TraceDecodeLimits, TraceDecodeReport};

use super::AppState;
use super::error::{ApiError, Style};
use super::json::Json;
use super::log_body::{self, header_str, off_reactor};
use crate::backend::TracesStore;
use crate::logs::PushAnswer;

const FORMAT: &str = "otlp";

/// How the client speaks, and so how the answer is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The body format `cairn-wire` encodes answers in.
    pub(super) fn format(self) -> OtlpFormat {
        match self {
            Encoding::Protobuf => OtlpFormat::Protobuf,
            Encoding::Json => OtlpFormat::Json,
        }
    }
}

pub(super) fn encoding_of(headers: &HeaderMap) -> Encoding {
    let json = header_str(headers, header::CONTENT_TYPE.as_str())
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Encoding::Json
    } else {
        Encoding::Protobuf
    }
}

/// The handler.
pub(crate) async fn logs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = encoding_of(&headers);
    let resp = match handle(&state, &headers, body).await {
        Ok(a) => answer(&a, enc),
        Err(e) => status_response(e.status, &e.message, enc, e.retry_after),
    };
    state.log_metrics.request(FORMAT, resp.status());
    resp
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<PushAnswer, ApiError> {
    let p = log_body::read(state, headers, body, Style::Text).await?;
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    let mapping = state.config.logs.otlp.clone();
    let limits = LogDecodeLimits {
        max_decoded_bytes: p.body.len().max(1),
        ..LogDecodeLimits::default()
    };
    let now = crate::logs::now_ns();
    let body = p.body;
    let batch = off_reactor(body.len(), Style::Text, move || {
        cairn_wire::decode_otlp_logs(content_type.as_deref(), &body, &mapping, now, &limits)
    })
    .await?
    .map_err(|e| super::log_body::wire_error(&e, Style::Text))?;
    let ingest = state.log_ingest(&p.store, &p.tenant);
    Ok(ingest.push(&p.tenant, batch).await)
}

/// The traces handler: every valid span is stored, invalid ones are counted in
/// `partial_success`.
pub(crate) async fn traces(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = encoding_of(&headers);
    let resp = match handle_traces(&state, &headers, body).await {
        Ok(report) => with_type(
            StatusCode::OK,
            cairn_wire::encode_export_response(&report, enc.format()),
            enc,
        ),
        Err(e) => status_response(e.status, &e.message, enc, e.retry_after),
    };
    state.metrics.trace_request("http", resp.status().as_u16());
    resp
}

async fn handle_traces(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<TraceDecodeReport, ApiError> {
    let store = Arc::clone(state.traces_store(Style::Text)?);
    let p = log_body::read_raw(state, headers, body, Style::Text).await?;
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    let cfg = &state.config.traces;
    let limits = TraceDecodeLimits {
        max_decoded_bytes: p.body.len().max(1),
        max_spans: cfg.max_spans_per_request,
        max_attribute_bytes: cfg.max_attribute_bytes,
    };
    let body = p.body;
    let decoded = off_reactor(body.len(), Style::Text, move || {
        cairn_wire::decode_otlp_traces(content_type.as_deref(), &body, &limits)
    })
    .await?
    .map_err(|e| super::log_body::wire_error(&e, Style::Text))?;
    state.metrics.trace_report(&decoded.report);
    store_traces(state, &*store, &p.tenant, decoded.batch).await?;
    Ok(decoded.report)
}

/// Spans past which the metrics generators count a batch on the blocking pool.
const BLOCKING_OBSERVE_SPANS: usize = 2_000;

/// Feeds decoded spans to the metrics generators (when configured), then appends them;
/// store trouble is a 503 the client retries, a bug a 500.
pub(crate) async fn store_traces(
    state: &AppState,
    store: &dyn TracesStore,
    tenant: &TenantId,
    mut batch: TraceBatch,
) -> Result<(), ApiError> {
    if let Some(g) = &state.generators {
        let now = crate::logs::now_ns() / 1_000_000;
        if batch.span_count() > BLOCKING_OBSERVE_SPANS {
            let (g, t) = (Arc::clone(g), tenant.clone());
            batch = tokio::task::spawn_blocking(move || {
                g.observe(&t, &batch, now);
                batch
            })
            .await
            .map_err(|e| {
                ApiError::internal(format!("span metrics task failed: {e}"), Style::Text)
            })?;
        } else {
            g.observe(tenant, &batch, now);
        }
    }
    store.append_traces(tenant, batch).await.map_err(|f| {
        if f.transient {
            ApiError::unavailable(format!("cannot store spans: {}", f.message), Style::Text)
        } else {
            ApiError::internal(format!("cannot store spans: {}", f.message), Style::Text)
        }
    })?;
    Ok(())
}

/// A push answer in OTLP's terms (module docs).
fn answer(a: &PushAnswer, enc: Encoding) -> Response {
    match a.status {
        StatusCode::NO_CONTENT => success(None, enc),
        StatusCode::BAD_REQUEST if a.written > 0 => success(Some((a.rejected, &a.message)), enc),
        s => status_response(s, &a.message, enc, a.retryable()),
    }
}

/// 200 with an `ExportLogsServiceResponse`, with `partial_success` when given.
fn success(partial: Option<(u64, &str)>, enc: Encoding) -> Response {
    let body = match enc {
        Encoding::Protobuf => {
            let mut b = Vec::new();
            if let Some((rejected, message)) = partial {
                let mut ps = Vec::new();
                if rejected > 0 {
                    ps.push(0x08);
                    put_uvarint(&mut ps, rejected);
                }
                put_field_bytes(&mut ps, 2, message.as_bytes());
                put_field_bytes(&mut b, 1, &ps);
            }
            b
        }
        Encoding::Json => {
            let mut j = Json::new();
            j.raw("{");
            if let Some((rejected, message)) = partial {
                j.key("partialSuccess").raw("{").key("rejectedLogRecords");
                j.str(&rejected.to_string())
                    .raw(",")
                    .key("errorMessage")
                    .str(message);
                j.raw("}");
            }
            j.raw("}");
            j.finish().into_bytes()
        }
    };
    with_type(StatusCode::OK, body, enc)
}

/// The gRPC status code OTLP/HTTP puts in its `Status` body for an HTTP status.
fn grpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 => 3,  // INVALID_ARGUMENT
        401 => 16, // UNAUTHENTICATED
        403 => 7,  // PERMISSION_DENIED
        404 => 12, // UNIMPLEMENTED
        413 => 3,
        415 => 3,
        429 => 8,  // RESOURCE_EXHAUSTED
        503 => 14, // UNAVAILABLE
        _ => 13,   // INTERNAL
    }
}

/// An error answer with a `google.rpc.Status` body.
pub(super) fn status_response(
    status: StatusCode,
    message: &str,
    enc: Encoding,
    retry: bool,
) -> Response {
    let code = grpc_code(status);
    let body = match enc {
        Encoding::Protobuf => {
            let mut b = vec![0x08];
            put_uvarint(&mut b, code as u64);
            put_field_bytes(&mut b, 2, message.trim_end().as_bytes());
            b
        }
        Encoding::Json => {
            let mut j = Json::new();
            j.raw("{").key("code").int(i64::from(code));
            j.raw(",").key("message").str(message.trim_end()).raw("}");
            j.finish().into_bytes()
        }
    };
    let mut resp = with_type(status, body, enc);
    if retry {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

pub(super) fn with_type(status: StatusCode, body: Vec<u8>, enc: Encoding) -> Response {
    let ct = match enc {
        Encoding::Protobuf => "application/x-protobuf",
        Encoding::Json => "application/json",
    };
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}

fn put_uvarint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

fn put_field_bytes(b: &mut Vec<u8>, field: u32, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    put_uvarint(b, u64::from(field << 3 | 2));
    put_uvarint(b, data.len() as u64);
    b.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use prost::Message;

    use super::*;

    fn body(r: Response) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            use http_body_util::BodyExt;
            r.into_body().collect().await.unwrap().to_bytes().to_vec()
        })
    }

    #[test]
    fn partial_success_decodes_with_the_otlp_messages() {
        let r = success(Some((3, "3 errors like: x")), Encoding::Protobuf);
        assert_eq!(r.status(), 200);
        let m = ExportLogsServiceResponse::decode(body(r).as_slice()).unwrap();
        let ps = m.partial_success.unwrap();
        assert_eq!(
            (ps.rejected_log_records, ps.error_message.as_str()),
            (3, "3 errors like: x")
        );
        let r = success(None, Encoding::Protobuf);
        let m = ExportLogsServiceResponse::decode(body(r).as_slice()).unwrap();
        assert!(m.partial_success.is_none());
        let r = success(Some((1, "bad")), Encoding::Json);
        assert_eq!(
            String::from_utf8(body(r)).unwrap(),
            r#"{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"bad"}}"#
        );
    }

    #[test]
    fn errors_carry_a_status_and_retry_hints() {
        let r = status_response(
            StatusCode::TOO_MANY_REQUESTS,
            "slow down\n",
            Encoding::Json,
            true,
        );
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        assert_eq!(
            String::from_utf8(body(r)).unwrap(),
            r#"{"code":8,"message":"slow down"}"#
        );
        let r = status_response(StatusCode::BAD_REQUEST, "no", Encoding::Protobuf, false);
        // code 3, message "no".
        assert_eq!(body(r), vec![0x08, 0x03, 0x12, 0x02, b'n', b'o']);
    }
}
