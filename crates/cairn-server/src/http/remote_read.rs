//! `POST /api/v1/read`: Prometheus remote read.
//!
//! The response type is the first of the request's accepted types that Cairn speaks (both
//! do: SAMPLES, a snappy-compressed `ReadResponse`, and STREAMED_XOR_CHUNKS, framed
//! `ChunkedReadResponse` messages); none listed means SAMPLES, as in Prometheus. Like
//! Prometheus' `--storage.remote.read-sample-limit`, a request loading more than
//! [`SAMPLE_LIMIT`] samples is refused with 400 instead of exhausting memory.

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

/// Most samples one remote read request may load (Prometheus' default read sample limit).
pub(crate) const SAMPLE_LIMIT: usize = 50_000_000;

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
    let response_type = req
        .accepted_response_types
        .first()
        .copied()
        .unwrap_or(ResponseType::Samples);
    let store = state.store(Style::Text)?;
    let mut results = Vec::with_capacity(req.queries.len());
    for q in req.queries {
        let sel = SelectRequest {
            matchers: q.matchers,
            start_ms: q.start_ms,
            end_ms: q.end_ms,
            max_series: 0,
            max_samples: SAMPLE_LIMIT,
        };
        let series = store
            .select(&tenant, &sel)
            .await
            .map_err(|e| ApiError::from_query(e, Style::Text))?;
        results.push(series);
    }
    if response_type == ResponseType::StreamedXorChunks {
        let mut body = Vec::new();
        for (i, series) in results.iter().enumerate() {
            let index = i64::try_from(i).expect("query count fits in i64");
            cairn_wire::encode_chunked_read_response(
                index,
                series,
                cairn_wire::DEFAULT_MAX_FRAME_BYTES,
                &mut body,
            );
        }
        let mut resp = body.into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(cairn_wire::CHUNKED_READ_CONTENT_TYPE),
        );
        return Ok(resp);
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
