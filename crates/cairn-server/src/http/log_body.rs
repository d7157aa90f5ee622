//! What every HTTP log (and trace) push does before decoding: a write slot (else 429), the tenant, the
//! store (else 503), the body read with the compressed-size cap (413) and its
//! `Content-Encoding` undone with the decoded-size cap (413, 415 for unknown encodings), off
//! the reactor when large.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use cairn_model::TenantId;
use cairn_wire::WireError;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::error::{ApiError, Style};
use super::params::{BodyError, read_body};
use crate::backend::LogsStore;

/// Bodies larger than this are decompressed on the blocking pool.
const BLOCKING_BYTES: usize = 256 << 10;

/// A push body read and decoded, for any signal.
pub(crate) struct RawPush {
    pub(crate) tenant: TenantId,
    /// The decoded body.
    pub(crate) body: Vec<u8>,
    /// Held for the whole request.
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// A log push ready to decode.
pub(crate) struct LogPush {
    pub(crate) tenant: TenantId,
    pub(crate) store: Arc<dyn LogsStore>,
    /// The decoded body.
    pub(crate) body: Vec<u8>,
    /// Held for the whole request.
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// A header's value as text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A decoder error as an answer: its status, its message.
pub(crate) fn wire_error(e: &WireError, style: Style) -> ApiError {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, "bad_data", e.to_string(), style)
}

/// Takes a slot, resolves the tenant and the store, reads and decodes the body.
pub(crate) async fn read(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    style: Style,
) -> Result<LogPush, ApiError> {
    let store = Arc::clone(state.logs_store(style)?);
    let p = read_raw(state, headers, body, style).await?;
    Ok(LogPush {
        tenant: p.tenant,
        store,
        body: p.body,
        _permit: p._permit,
    })
}

/// Takes a slot, resolves the tenant, reads and decodes the body (the caller has checked
/// that its store is open).
pub(crate) async fn read_raw(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    style: Style,
) -> Result<RawPush, ApiError> {
    let tenant = state.tenant(headers, style)?;
    let Ok(permit) = Arc::clone(&state.write_slots).try_acquire_owned() else {
        state.metrics.shed.inc();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "unavailable",
            "too many write requests in flight, retry later",
            style,
        )
        .retry());
    };
    let limits = state.config.limits_for(&tenant);
    let cap = usize::try_from(limits.max_request_body_size).unwrap_or(usize::MAX);
    let too_large = |len: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_data",
            format!(
                "request body too large: {len} bytes, limit: {} bytes",
                limits.max_request_body_size
            ),
            style,
        )
    };
    if let Some(len) =
        header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok())
        && len > limits.max_request_body_size
    {
        return Err(too_large(len.to_string()));
    }
    let raw = read_body(body, cap).await.map_err(|e| match e {
        BodyError::TooLarge { .. } => too_large(format!("more than {cap}")),
        BodyError::Read(m) => ApiError::bad_data(format!("cannot read request body: {m}"), style),
    })?;
    let encoding = header_str(headers, header::CONTENT_ENCODING.as_str()).map(str::to_string);
    let max = usize::try_from(limits.max_decoded_size).unwrap_or(usize::MAX);
    let decode = move || {
        match cairn_wire::decode_content_encoding(encoding.as_deref(), &raw, max) {
            Ok(Cow::Owned(v)) => Ok(v),
            // Not compressed (or a snappy push, undone by its decoder): the body as read.
            Ok(Cow::Borrowed(_)) => Ok(raw),
            Err(e) => Err(wire_error(&e, style)),
        }
    };
    let body = if raw_len_is_large(headers) {
        tokio::task::spawn_blocking(decode)
            .await
            .map_err(|e| ApiError::internal(format!("decompression task failed: {e}"), style))??
    } else {
        decode()?
    };
    Ok(RawPush {
        tenant,
        body,
        _permit: permit,
    })
}

fn raw_len_is_large(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<usize>().ok())
        .is_none_or(|n| n > BLOCKING_BYTES)
}

/// Decodes on the blocking pool when the body is large (the CPU work of a big push would
/// stall the reactor otherwise).
pub(crate) async fn off_reactor<T: Send + 'static>(
    len: usize,
    style: Style,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if len > BLOCKING_BYTES {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError::internal(format!("decoding task failed: {e}"), style))
    } else {
        Ok(f())
    }
}
