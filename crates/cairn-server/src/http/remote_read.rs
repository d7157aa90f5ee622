//! `POST /api/v1/read`: Prometheus remote read, answered with the SAMPLES response type.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::SelectRequest;
use cairn_wire::ResponseType;

use super::AppState;
use super::error::{ApiError, Style};
use super::params::{BodyError, read_body};

/// The remote read handler.
pub(crate) async fn read(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = state.tenant(&headers, Style::Text)?;
    let limits = state.config.limits_for(&tenant).clone();
    let cap = usize::try_from(limits.max_request_body_size).unwrap_or(usize::MAX);
    let compressed = read_body(body, cap).await.map_err(|e| match e {
        BodyError::TooLarge { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_data",
            format!("request body exceeds the limit of {limit} bytes"),
            Style::Text,
        ),
        BodyError::Read(m) => {
            ApiError::bad_data(format!("cannot read request body: {m}"), Style::Text)
        }
    })?;
    let max_decoded = usize::try_from(limits.max_decoded_size).unwrap_or(usize::MAX);
    let mut decoded = Vec::new();
    cairn_wire::decompress_snappy(&compressed, max_decoded, &mut decoded).map_err(|e| {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, "bad_data", e.to_string(), Style::Text)
    })?;
    let req = cairn_wire::decode_read_request(&decoded)
        .map_err(|e| ApiError::bad_data(e.to_string(), Style::Text))?;
    // Only SAMPLES can be produced; a reader accepting nothing else gets a clear 400.
    let accepts_samples = req.accepted_response_types.is_empty()
        || req.accepted_response_types.contains(&ResponseType::Samples);
    if !accepts_samples {
        return Err(ApiError::bad_data(
            "only the SAMPLES response type is supported, the request accepts only STREAMED_XOR_CHUNKS",
            Style::Text,
        ));
    }
    let store = state.store(Style::Text)?;
    let mut results = Vec::with_capacity(req.queries.len());
    for q in req.queries {
        let sel = SelectRequest {
            matchers: q.matchers,
            start_ms: q.start_ms,
            end_ms: q.end_ms,
            max_series: 0,
            max_samples: 0,
        };
        let series = store
            .select(&tenant, &sel)
            .await
            .map_err(|e| ApiError::from_query(e, Style::Text))?;
        results.push(series);
    }
    let encoded = cairn_wire::encode_read_response(&results);
    let body = cairn_wire::snappy_compress(&encoded);
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"));
    Ok(resp)
}
