//! Sends the corpus to an OTLP/HTTP traces endpoint over `C` connections, like `C`
//! Collectors: trace `i` goes out on connection `i mod C`, each connection's traces in time
//! order, a generator thread per connection encoding (and gzipping) its requests and an async
//! sender posting them one after the other. Retries follow the OTLP/HTTP rules: 429, 502,
//! 503 and 504 and connection errors are retried with backoff (honouring `Retry-After`),
//! other statuses are not; spans a `partial_success` names as rejected count as failed.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tokio::sync::mpsc;

use super::batch::generate_part;
use super::expect::{Tally, TraceExpect};
use super::generate::Generator;
use super::plan::TracePlan;
use crate::http::{Connection, Target};
use crate::{Error, Result};

/// How to send.
#[derive(Debug, Clone)]
pub struct TraceLoadConfig {
    /// The endpoint (`http://host:port/v1/traces`).
    pub target: Target,
    /// Concurrent connections.
    pub connections: usize,
    /// Spans per request (the batch processor's `send_batch_size`).
    pub batch_spans: usize,
    /// gzip the bodies (`Content-Encoding: gzip`, the Collector's default; level 1, to keep the
    /// loader light on a machine it shares with the server).
    pub gzip: bool,
    /// Retries of one request before its spans count as failed.
    pub max_retries: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Generate and encode without sending (the loader's own cost).
    pub dry_run: bool,
    /// `X-Scope-OrgID`, when set.
    pub tenant: Option<String>,
    /// The service of the error search.
    pub error_service: String,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct TraceLoadReport {
    /// Spans in requests answered 2xx, less those reported rejected.
    pub spans_ok: u64,
    /// Spans refused (4xx, rejected in a partial success, or given up on).
    pub spans_failed: u64,
    /// Requests answered 2xx.
    pub requests_ok: u64,
    /// Requests answered with a status not retried.
    pub requests_refused: u64,
    /// Requests given up on after `max_retries`.
    pub requests_given_up: u64,
    /// Retries done.
    pub retries: u64,
    /// Protobuf body bytes.
    pub body_bytes: u64,
    /// Bytes on the wire (gzipped when enabled).
    pub wire_bytes: u64,
    /// Time the generator threads spent in gzip.
    pub gzip: Duration,
    /// Wall time from the start to the last answer.
    pub elapsed: Duration,
    /// The first error messages.
    pub errors: Vec<String>,
}

const MAX_ERRORS: usize = 20;

#[derive(Default)]
struct Counters {
    spans_ok: AtomicU64,
    spans_failed: AtomicU64,
    requests_ok: AtomicU64,
    refused: AtomicU64,
    given_up: AtomicU64,
    retries: AtomicU64,
    body_bytes: AtomicU64,
    wire_bytes: AtomicU64,
    gzip_ns: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Counters {
    fn snapshot(&self, elapsed: Duration) -> TraceLoadReport {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TraceLoadReport {
            spans_ok: g(&self.spans_ok),
            spans_failed: g(&self.spans_failed),
            requests_ok: g(&self.requests_ok),
            requests_refused: g(&self.refused),
            requests_given_up: g(&self.given_up),
            retries: g(&self.retries),
            body_bytes: g(&self.body_bytes),
            wire_bytes: g(&self.wire_bytes),
            gzip: Duration::from_nanos(g(&self.gzip_ns)),
            elapsed,
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
        }
    }

    fn error(&self, e: String) {
        if let Ok(mut errs) = self.errors.lock()
            && errs.len() < MAX_ERRORS
        {
            errs.push(e);
        }
    }
}

/// One encoded request.
struct Body {
    wire: Bytes,
    spans: u64,
}

async fn post(conn: &mut Connection, config: &TraceLoadConfig, n: &Counters, body: Body) {
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/x-protobuf")];
    if config.gzip {
        headers.push(("content-encoding", "gzip"));
    }
    if let Some(t) = &config.tenant {
        headers.push(("x-scope-orgid", t.as_str()));
    }
    let mut attempt = 0u32;
    let mut backoff = Duration::from_millis(100);
    loop {
        let res = conn
            .request(
                Method::POST,
                None,
                &headers,
                body.wire.clone(),
                config.request_timeout,
            )
            .await;
        let (reason, wait) = match res {
            Ok(r) if r.status.is_success() => {
                // An empty body or one without partial_success means all spans were taken.
                let rejected = ExportTraceServiceResponse::decode(r.body.as_ref())
                    .ok()
                    .and_then(|a| a.partial_success)
                    .map_or(0, |p| p.rejected_spans.max(0) as u64)
                    .min(body.spans);
                if rejected > 0 {
                    n.error(format!("{rejected} spans rejected in a partial success"));
                }
                n.spans_ok
                    .fetch_add(body.spans - rejected, Ordering::Relaxed);
                n.spans_failed.fetch_add(rejected, Ordering::Relaxed);
                n.requests_ok.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r)
                if matches!(
                    r.status,
                    StatusCode::TOO_MANY_REQUESTS
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ) =>
            {
                (
                    format!("{}: {}", r.status, String::from_utf8_lossy(&r.body).trim()),
                    r.retry_after,
                )
            }
            Ok(r) => {
                n.spans_failed.fetch_add(body.spans, Ordering::Relaxed);
                n.refused.fetch_add(1, Ordering::Relaxed);
                let text: String = String::from_utf8_lossy(&r.body)
                    .trim()
                    .chars()
                    .take(300)
                    .collect();
                n.error(format!("{}: {text}", r.status));
                return;
            }
            Err(e) => (e.to_string(), None),
        };
        if attempt >= config.max_retries {
            n.spans_failed.fetch_add(body.spans, Ordering::Relaxed);
            n.given_up.fetch_add(1, Ordering::Relaxed);
            n.error(format!("gave up after {attempt} retries: {reason}"));
            return;
        }
        attempt += 1;
        n.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait.map_or(backoff, |w| w.min(Duration::from_secs(30)))).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Sends the whole plan; `progress` is called about every `progress_every` with the figures
/// so far. Returns the report and the expectations of the traces generated.
pub async fn run_traces(
    plan: Arc<TracePlan>,
    config: TraceLoadConfig,
    progress_every: Duration,
    mut progress: impl FnMut(&TraceLoadReport),
) -> Result<(TraceLoadReport, TraceExpect)> {
    let parts = config.connections.max(1);
    let config = Arc::new(config);
    let generator = Arc::new(Generator::new(plan.spec.seed));
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let mut threads = Vec::with_capacity(parts);
    let mut senders = Vec::with_capacity(parts);
    for part in 0..parts {
        // Two requests in flight per connection: one on the wire, one ready.
        let (tx, mut rx) = mpsc::channel::<Body>(2);
        let (p, g, cfg, n) = (
            Arc::clone(&plan),
            Arc::clone(&generator),
            Arc::clone(&config),
            Arc::clone(&counters),
        );
        threads.push(std::thread::spawn(move || {
            let mut gz_buf = Vec::new();
            generate_part(
                &p,
                &g,
                &cfg.error_service,
                part as u64,
                parts as u64,
                cfg.batch_spans,
                |req, spans| {
                    let raw = req.encode_to_vec();
                    n.body_bytes.fetch_add(raw.len() as u64, Ordering::Relaxed);
                    let wire = if cfg.gzip {
                        let t = Instant::now();
                        gz_buf.clear();
                        let mut enc = flate2::write::GzEncoder::new(
                            std::mem::take(&mut gz_buf),
                            flate2::Compression::fast(),
                        );
                        // Writing into a Vec cannot fail.
                        let _ = enc.write_all(&raw);
                        gz_buf = enc.finish().unwrap_or_default();
                        n.gzip_ns
                            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        Bytes::copy_from_slice(&gz_buf)
                    } else {
                        Bytes::from(raw)
                    };
                    tx.blocking_send(Body {
                        wire,
                        spans: spans as u64,
                    })
                    .is_ok()
                },
            )
        }));
        let (cfg, n) = (Arc::clone(&config), Arc::clone(&counters));
        senders.push(tokio::spawn(async move {
            let mut conn = Connection::new(cfg.target.clone());
            while let Some(body) = rx.recv().await {
                n.wire_bytes
                    .fetch_add(body.wire.len() as u64, Ordering::Relaxed);
                if cfg.dry_run {
                    n.spans_ok.fetch_add(body.spans, Ordering::Relaxed);
                    n.requests_ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    post(&mut conn, &cfg, &n, body).await;
                }
            }
        }));
    }
    let mut ticker = tokio::time::interval(progress_every.max(Duration::from_millis(100)));
    ticker.tick().await;
    let mut pending = senders;
    while !pending.is_empty() {
        tokio::select! {
            _ = ticker.tick() => progress(&counters.snapshot(started.elapsed())),
            res = &mut pending[0] => {
                pending.remove(0);
                if res.is_err() {
                    return Err(Error::WorkerGone);
                }
            }
        }
    }
    let mut tally = Tally::new(&config.error_service);
    for t in threads {
        tally.merge(&t.join().map_err(|_| Error::WorkerGone)?);
    }
    Ok((counters.snapshot(started.elapsed()), tally.finish(&plan)))
}
