//! `POST /api/v1/write`: Prometheus remote write 1.0 and 2.0.
//!
//! Status rules (protocols.md sections 1-3): 415 for encodings and content types we do not
//! speak, 413 over the compressed or decoded size cap, 400 for unreadable bodies and for any
//! rejected series or sample (the valid rest is still written), 429 when every write slot is
//! busy, 503 for transient store failures, 204 when everything was written. Remote write 2.0
//! answers always carry the `X-Prometheus-Remote-Write-*-Written` counts of what was written.
//!
//! Exemplars are stored as Prometheus stores them (see `cairn_store`'s exemplar buffers): a
//! refused exemplar (out of order, label set too long, series unknown to the head) is counted
//! in `cairn_exemplars_*` and does not fail the write, and remote write 2.0 answers report
//! the exemplars actually stored in `X-Prometheus-Remote-Write-Exemplars-Written`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::WriteBatch;
use cairn_wire::{DecodeLimits, DecodeReport, Protocol, WireError};

use super::AppState;
use super::error::{ApiError, Style};
use super::params::{BodyError, read_body};
use crate::backend::Appended;
use crate::config::Limits;
use crate::metrics::NATIVE_HISTOGRAMS_REASON;

/// Bodies larger than this are decompressed off the async reactor.
const BLOCKING_DECOMPRESS_BYTES: usize = 256 << 10;
/// Decoded bodies larger than this are decoded with the worker thread handed off.
const BLOCKING_DECODE_BYTES: usize = 1 << 20;
/// Rejection messages listed in a 400 body; the rest are counted.
const MAX_LISTED: usize = 10;

/// What a 2.0 response reports as written.
#[derive(Clone, Copy, Debug, Default)]
struct Written {
    samples: usize,
    histograms: usize,
    exemplars: usize,
}

/// The remote write handler.
pub(crate) async fn write(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The version decides whether the answer carries the written counts, so it is looked at
    // before anything else; an unknown content type is answered 415 below like any refusal.
    let negotiated = cairn_wire::negotiate(
        header_str(&headers, header::CONTENT_TYPE.as_str()),
        header_str(&headers, header::CONTENT_ENCODING.as_str()),
    );
    let version = match &negotiated {
        Ok(Protocol::V2) => "2.0",
        Ok(Protocol::V1) => "1.0",
        Err(_) => "unknown",
    };
    let (mut resp, written) = handle(&state, &headers, body, negotiated).await;
    if version == "2.0" {
        set_written(resp.headers_mut(), written);
    }
    state
        .metrics
        .requests
        .get_or_create(&vec![
            ("version", version.to_string()),
            ("code", resp.status().as_u16().to_string()),
        ])
        .inc();
    resp
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    negotiated: Result<Protocol, WireError>,
) -> (Response, Written) {
    match handle_inner(state, headers, body, negotiated).await {
        Ok(r) => r,
        Err(e) => (e.into_response(), Written::default()),
    }
}

async fn handle_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    negotiated: Result<Protocol, WireError>,
) -> Result<(Response, Written), ApiError> {
    let tenant = state.tenant(headers, Style::Text)?;
    let Ok(_permit) = Arc::clone(&state.write_slots).try_acquire_owned() else {
        state.metrics.shed.inc();
        tracing::debug!(tenant = %tenant, "write shed: every write slot is busy");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "unavailable",
            "too many write requests in flight, retry later",
            Style::Text,
        )
        .retry());
    };
    let _inflight = GaugeGuard::enter(&state.metrics.inflight);
    let store = Arc::clone(state.store(Style::Text)?);
    let protocol = negotiated.map_err(wire_error)?;
    let limits = state.config.limits_for(&tenant).clone();

    let body_cap = usize::try_from(limits.max_request_body_size).unwrap_or(usize::MAX);
    if let Some(len) =
        header_str(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok())
        && len > limits.max_request_body_size
    {
        return Err(body_too_large(
            len.to_string(),
            limits.max_request_body_size,
        ));
    }
    let compressed = read_body(body, body_cap).await.map_err(|e| match e {
        BodyError::TooLarge { .. } => body_too_large(
            format!("more than {body_cap}"),
            limits.max_request_body_size,
        ),
        BodyError::Read(m) => {
            ApiError::bad_data(format!("cannot read request body: {m}"), Style::Text)
        }
    })?;
    let compressed_len = compressed.len();
    let decoded = decompress(compressed, &limits).await?;
    let m = &state.metrics;
    m.bytes
        .get_or_create(&vec![("encoding", "snappy".to_string())])
        .inc_by(compressed_len as u64);
    m.bytes
        .get_or_create(&vec![("encoding", "none".to_string())])
        .inc_by(decoded.len() as u64);

    let decode_limits = DecodeLimits {
        max_labels_per_series: limits.max_labels_per_series,
        max_label_name_len: limits.max_label_name_length,
        max_label_value_len: limits.max_label_value_length,
        max_series_per_request: limits.max_series_per_request,
    };
    let mut batch = WriteBatch::default();
    let mut decode = || match protocol {
        Protocol::V1 => cairn_wire::decode_v1(&decoded, &decode_limits, &mut batch),
        Protocol::V2 => cairn_wire::decode_v2(&decoded, &decode_limits, &mut batch),
    };
    // The batch borrows the decoded body, so a big decode cannot move to the blocking pool;
    // on a multi-threaded runtime this worker hands its other tasks away for the duration.
    let multi_thread = tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread;
    let report = if multi_thread && decoded.len() > BLOCKING_DECODE_BYTES {
        tokio::task::block_in_place(decode)
    } else {
        decode()
    }
    .map_err(wire_error)?;

    let mut rejections = Rejections::from_report(&report);
    let (histogram_series, histograms) = drop_histogram_series(&mut batch);
    if histogram_series > 0 {
        rejections.add(
            NATIVE_HISTOGRAMS_REASON,
            format!(
                "native histograms are not supported yet: {histogram_series} series with {histograms} histogram samples rejected"
            ),
            histograms,
        );
    }
    for (reason, n) in &rejections.samples_by_reason {
        m.rejected
            .get_or_create(&vec![("reason", reason.clone())])
            .inc_by(*n as u64);
    }
    let mut written = Written::default();
    if !batch.series.is_empty() {
        let appended = store.append(&tenant, &batch).await.map_err(|f| {
            if f.transient {
                ApiError::unavailable(format!("storage unavailable: {}", f.message), Style::Text)
            } else {
                ApiError::internal(format!("storage failed: {}", f.message), Style::Text)
            }
        })?;
        written.samples = appended.samples_written;
        written.exemplars = appended.exemplars_written;
        // The storage engine counts what it accepts and refuses; only the answer needs it here.
        rejections.add_store(&appended);
    }
    if rejections.is_empty() {
        return Ok((StatusCode::NO_CONTENT.into_response(), written));
    }
    tracing::debug!(tenant = %tenant, rejected = rejections.count, "remote write partially rejected");
    let body = rejections.text(written.samples);
    Ok((
        ApiError::bad_data(body, Style::Text).into_response(),
        written,
    ))
}

/// Decrements the in-flight gauge when the request ends, however it ends.
struct GaugeGuard<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> GaugeGuard<'a> {
    fn enter(g: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        g.inc();
        GaugeGuard(g)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn body_too_large(len: String, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "bad_data",
        format!("request body is {len} bytes, limit {limit}"),
        Style::Text,
    )
}

fn wire_error(e: WireError) -> ApiError {
    let (status, message) = match &e {
        WireError::TooLarge { decoded, limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("decoded body is {decoded} bytes, limit {limit}"),
        ),
        _ => (
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        ),
    };
    ApiError::new(status, "bad_data", message, Style::Text)
}

async fn decompress(compressed: Vec<u8>, limits: &Limits) -> Result<Vec<u8>, ApiError> {
    let max = usize::try_from(limits.max_decoded_size).unwrap_or(usize::MAX);
    let big = compressed.len() > BLOCKING_DECOMPRESS_BYTES;
    let run = move || {
        let mut out = Vec::new();
        cairn_wire::decompress_snappy(&compressed, max, &mut out).map(|()| out)
    };
    let result = if big {
        match tokio::task::spawn_blocking(run).await {
            Ok(r) => r,
            Err(e) => {
                return Err(ApiError::internal(
                    format!("decompression task failed: {e}"),
                    Style::Text,
                ));
            }
        }
    } else {
        run()
    };
    result.map_err(wire_error)
}

/// Removes the series carrying native histograms from the batch (storage for them does not
/// exist yet); returns how many series and histogram samples were removed.
fn drop_histogram_series(batch: &mut WriteBatch<'_>) -> (usize, usize) {
    let before = batch.series.len();
    let mut histograms = 0;
    batch.series.retain(|s| {
        if s.histograms.is_empty() {
            true
        } else {
            histograms += s.histograms.len();
            false
        }
    });
    (before - batch.series.len(), histograms)
}

/// Refusals gathered over decoding and appending.
#[derive(Default)]
struct Rejections {
    count: usize,
    listed: Vec<String>,
    samples_by_reason: Vec<(String, usize)>,
}

impl Rejections {
    fn from_report(report: &DecodeReport) -> Self {
        let mut r = Rejections::default();
        for rej in &report.rejected {
            r.add(
                rej.reason.as_str(),
                rej.message.clone(),
                rej.samples + rej.histograms,
            );
        }
        r
    }

    fn add(&mut self, reason: &str, message: String, samples: usize) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(message);
        }
        match self.samples_by_reason.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += samples,
            None => self.samples_by_reason.push((reason.to_string(), samples)),
        }
    }

    /// The store reports per-sample refusals: a few messages and counts by reason.
    fn add_store(&mut self, a: &Appended) {
        let total: usize = a.rejected_by_reason.iter().map(|(_, n)| n).sum();
        for m in &a.messages {
            if self.listed.len() < MAX_LISTED {
                self.listed.push(m.clone());
            }
        }
        self.count += total;
        for (reason, n) in &a.rejected_by_reason {
            if *n == 0 {
                continue;
            }
            match self.samples_by_reason.iter_mut().find(|(r, _)| r == reason) {
                Some((_, c)) => *c += n,
                None => self.samples_by_reason.push((reason.to_string(), *n)),
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn text(&self, written: usize) -> String {
        let mut s = String::new();
        for l in &self.listed {
            s.push_str(l.trim_end());
            s.push('\n');
        }
        if self.count > self.listed.len() {
            s.push_str(&format!(
                "... and {} more\n",
                self.count - self.listed.len()
            ));
        }
        let rejected: usize = self.samples_by_reason.iter().map(|(_, n)| n).sum();
        let by_reason: Vec<String> = self
            .samples_by_reason
            .iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        s.push_str(&format!(
            "{} rejections, {rejected} samples rejected ({}), {written} samples written",
            self.count,
            by_reason.join(", ")
        ));
        s
    }
}

fn set_written(h: &mut HeaderMap, w: Written) {
    for (name, n) in [
        ("x-prometheus-remote-write-samples-written", w.samples),
        ("x-prometheus-remote-write-histograms-written", w.histograms),
        ("x-prometheus-remote-write-exemplars-written", w.exemplars),
    ] {
        h.insert(name, HeaderValue::from(n));
    }
}
