//! Sends a corpus to a Loki push endpoint over `C` connections, like `C` node agents.
//!
//! Streams are shipped by the agent of their node (node index mod C), so each connection
//! carries the pods of a fixed set of nodes, and a stream's lines always travel on one
//! connection, in time order, one request after the other. Each agent has a generator thread
//! that merges its streams by timestamp and cuts batches by raw line bytes (Promtail's
//! `batchsize`), and an async sender that posts them, retrying 429, 5xx and connection errors
//! with backoff. Agents move through the window in slices and may run at most
//! `max_skew_slices` slices ahead of the slowest acknowledged one, so the data arrives
//! roughly in time order across streams too, as from live agents.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::sync::mpsc;

use super::corpus::{Corpus, LineCache};
use super::push::{PushBatch, PushFormat};
use crate::http::{Connection, Target};
use crate::{Error, Result};

/// How to send.
#[derive(Debug, Clone)]
pub struct LogLoadConfig {
    /// The push endpoint (`http://host:port/loki/api/v1/push`).
    pub target: Target,
    /// Concurrent connections (agents).
    pub connections: usize,
    /// A batch is sent when its raw line bytes would pass this.
    pub batch_bytes: u64,
    /// Body encoding.
    pub format: PushFormat,
    /// Retries of one request on 429, 5xx or a connection error before it counts as failed.
    pub max_retries: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Generate, encode and compress, but do not send (the loader's own cost).
    pub dry_run: bool,
    /// `X-Scope-OrgID`, when set.
    pub tenant: Option<String>,
    /// Length of a slice of the window; 0 picks one (about 16 batches per agent).
    pub slice_ns: i64,
    /// How many slices an agent may be ahead of the slowest.
    pub max_skew_slices: u64,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct LogLoadReport {
    /// Entries in requests answered 2xx.
    pub lines_ok: u64,
    /// Raw line bytes in requests answered 2xx.
    pub bytes_ok: u64,
    /// Entries in requests answered 4xx or given up on.
    pub lines_failed: u64,
    /// Raw line bytes of those.
    pub bytes_failed: u64,
    /// Requests answered 2xx.
    pub requests_ok: u64,
    /// Requests answered 4xx (other than 429).
    pub requests_4xx: u64,
    /// Requests given up on after `max_retries`.
    pub requests_given_up: u64,
    /// Retries done.
    pub retries: u64,
    /// Uncompressed body bytes.
    pub body_bytes: u64,
    /// Bytes on the wire (compressed bodies).
    pub wire_bytes: u64,
    /// The first error messages.
    pub errors: Vec<String>,
    /// Time the generator threads spent in snappy compression (wall time; it is CPU time
    /// when there are no more connections than cores).
    pub compress: Duration,
    /// Wall time from the start to the last answer.
    pub elapsed: Duration,
}

const MAX_ERRORS: usize = 20;
const SECOND: i64 = 1_000_000_000;

#[derive(Default)]
struct Counters {
    lines_ok: AtomicU64,
    bytes_ok: AtomicU64,
    lines_failed: AtomicU64,
    bytes_failed: AtomicU64,
    requests_ok: AtomicU64,
    requests_4xx: AtomicU64,
    given_up: AtomicU64,
    retries: AtomicU64,
    body_bytes: AtomicU64,
    wire_bytes: AtomicU64,
    compress_ns: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Counters {
    fn snapshot(&self, elapsed: Duration) -> LogLoadReport {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LogLoadReport {
            lines_ok: g(&self.lines_ok),
            bytes_ok: g(&self.bytes_ok),
            lines_failed: g(&self.lines_failed),
            bytes_failed: g(&self.bytes_failed),
            requests_ok: g(&self.requests_ok),
            requests_4xx: g(&self.requests_4xx),
            requests_given_up: g(&self.given_up),
            retries: g(&self.retries),
            body_bytes: g(&self.body_bytes),
            wire_bytes: g(&self.wire_bytes),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            compress: Duration::from_nanos(g(&self.compress_ns)),
            elapsed,
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

/// Keeps agents within `max_skew` slices of each other: an agent starts slice k only when
/// every agent has had slice k - max_skew acknowledged.
struct Gate {
    acked: Mutex<Vec<u64>>,
    changed: Condvar,
    max_skew: u64,
    abort: AtomicBool,
}

impl Gate {
    fn wait_for(&self, slice: u64) -> bool {
        let mut acked = match self.acked.lock() {
            Ok(a) => a,
            Err(_) => return false,
        };
        loop {
            if self.abort.load(Ordering::Relaxed) {
                return false;
            }
            let min = acked.iter().copied().min().unwrap_or(0);
            if min + self.max_skew >= slice {
                return true;
            }
            acked = match self.changed.wait_timeout(acked, Duration::from_millis(200)) {
                Ok((a, _)) => a,
                Err(_) => return false,
            };
        }
    }

    fn ack(&self, agent: usize, slices_done: u64) {
        if let Ok(mut acked) = self.acked.lock() {
            acked[agent] = slices_done;
        }
        self.changed.notify_all();
    }
}

enum Msg {
    Batch {
        body: Bytes,
        body_len: u64,
        lines: u64,
        line_bytes: u64,
    },
    SliceDone(u64),
}

/// The slice length: long enough that each agent fills about 16 batches per slice.
fn slice_ns(corpus: &Corpus, config: &LogLoadConfig) -> i64 {
    let spec = corpus.spec();
    let window = (spec.end_ns - spec.start_ns).max(1);
    if config.slice_ns > 0 {
        return config.slice_ns.min(window);
    }
    let bytes_per_ns = spec.target_bytes as f64 / window as f64;
    let want = 16.0 * config.batch_bytes as f64 * config.connections.max(1) as f64;
    let ns = if bytes_per_ns > 0.0 {
        want / bytes_per_ns
    } else {
        window as f64
    };
    (ns as i64).clamp(60_000_000_000, window)
}

/// Generates one agent's batches, slice by slice and within a slice second by second: each
/// second, every stream of the agent adds the lines it wrote in that second, as a tailing
/// agent ships what its files gained. A stream's lines stay in order; across streams a batch
/// is ordered to the second.
fn generate(
    corpus: &Corpus,
    streams: Vec<u32>,
    config: &LogLoadConfig,
    slice: i64,
    gate: &Gate,
    counters: &Counters,
    tx: mpsc::Sender<Msg>,
) {
    let spec = *corpus.spec();
    let mut cursors: Vec<_> = streams.iter().map(|&s| corpus.cursor(s as usize)).collect();
    // Next line's time per stream (i64::MAX when done), kept apart from the cursors so that
    // the per-second sweep reads one small array.
    let mut next: Vec<i64> = cursors
        .iter_mut()
        .map(|c| if corpus.advance(c) { c.ts_ns } else { i64::MAX })
        .collect();
    let mut batch = PushBatch::new(config.format, streams);
    let mut line = Vec::with_capacity(8192);
    let mut cache = LineCache::default();
    let mut body = Vec::with_capacity(config.batch_bytes as usize * 2);
    let slices = ((spec.end_ns - spec.start_ns) + slice - 1) / slice;
    // One encoder and one output buffer per agent: a fresh 1 MiB buffer per request would
    // cost page faults, not compression.
    let mut snappy = snap::raw::Encoder::new();
    let mut packed = Vec::new();
    let mut send = |batch: &mut PushBatch, body: &mut Vec<u8>| -> bool {
        let lines = batch.lines();
        let line_bytes = batch.line_bytes();
        batch.encode(corpus.streams(), body);
        let body_len = body.len() as u64;
        let wire = match config.format {
            PushFormat::Protobuf => {
                let t = Instant::now();
                packed.resize(snap::raw::max_compress_len(body.len()), 0);
                let z = match snappy.compress(body, &mut packed) {
                    Ok(n) => Bytes::copy_from_slice(&packed[..n]),
                    // Inputs here are a few MiB, far below snappy's 4 GiB block limit.
                    Err(_) => Bytes::from(cairn_wire::snappy_compress(body)),
                };
                counters
                    .compress_ns
                    .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                z
            }
            PushFormat::Json => Bytes::copy_from_slice(body),
        };
        tx.blocking_send(Msg::Batch {
            body: wire,
            body_len,
            lines,
            line_bytes,
        })
        .is_ok()
    };
    for k in 0..slices as u64 {
        if !gate.wait_for(k) {
            return;
        }
        let slice_end = (spec.start_ns + (k as i64 + 1) * slice).min(spec.end_ns);
        let mut tick = (spec.start_ns + k as i64 * slice).div_euclid(SECOND) * SECOND;
        while tick < slice_end {
            let tick_end = (tick + SECOND).min(slice_end);
            for slot in 0..next.len() {
                if next[slot] >= tick_end {
                    continue;
                }
                let c = &mut cursors[slot];
                while next[slot] < tick_end {
                    line.clear();
                    corpus.write(c, &mut cache, &mut line);
                    if !batch.is_empty()
                        && batch.line_bytes() + line.len() as u64 > config.batch_bytes
                        && !send(&mut batch, &mut body)
                    {
                        return;
                    }
                    batch.push(slot, c.ts_ns, &line);
                    next[slot] = if corpus.advance(c) { c.ts_ns } else { i64::MAX };
                }
            }
            tick = tick_end;
        }
        if !batch.is_empty() && !send(&mut batch, &mut body) {
            return;
        }
        if tx.blocking_send(Msg::SliceDone(k + 1)).is_err() {
            return;
        }
    }
}

async fn post(
    conn: &mut Connection,
    config: &LogLoadConfig,
    counters: &Counters,
    body: Bytes,
    lines: u64,
    line_bytes: u64,
) {
    let mut headers: Vec<(&str, &str)> = vec![("content-type", config.format.content_type())];
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
                body.clone(),
                config.request_timeout,
            )
            .await;
        let (reason, wait) = match res {
            Ok(r) if r.status.is_success() => {
                counters.lines_ok.fetch_add(lines, Ordering::Relaxed);
                counters.bytes_ok.fetch_add(line_bytes, Ordering::Relaxed);
                counters.requests_ok.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) if r.status == StatusCode::TOO_MANY_REQUESTS || r.status.is_server_error() => (
                format!("{}: {}", r.status, String::from_utf8_lossy(&r.body).trim()),
                r.retry_after,
            ),
            Ok(r) => {
                // Loki keeps the valid entries of a 400 and names the others; the whole
                // request is counted as failed here, so the figure is a bound.
                counters.lines_failed.fetch_add(lines, Ordering::Relaxed);
                counters
                    .bytes_failed
                    .fetch_add(line_bytes, Ordering::Relaxed);
                counters.requests_4xx.fetch_add(1, Ordering::Relaxed);
                let text: String = String::from_utf8_lossy(&r.body)
                    .trim()
                    .chars()
                    .take(300)
                    .collect();
                counters.error(format!("{}: {text}", r.status));
                return;
            }
            Err(e) => (e.to_string(), None),
        };
        if attempt >= config.max_retries {
            counters.lines_failed.fetch_add(lines, Ordering::Relaxed);
            counters
                .bytes_failed
                .fetch_add(line_bytes, Ordering::Relaxed);
            counters.given_up.fetch_add(1, Ordering::Relaxed);
            counters.error(format!("gave up after {attempt} retries: {reason}"));
            return;
        }
        attempt += 1;
        counters.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait.map_or(backoff, |w| w.min(Duration::from_secs(30)))).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Sends the whole corpus; `progress` is called about every `progress_every` with the
/// figures so far.
pub async fn run_logs(
    corpus: Arc<Corpus>,
    config: LogLoadConfig,
    progress_every: Duration,
    mut progress: impl FnMut(&LogLoadReport),
) -> Result<LogLoadReport> {
    let agents = config.connections.max(1);
    let config = Arc::new(config);
    let slice = slice_ns(&corpus, &config);
    let gate = Arc::new(Gate {
        acked: Mutex::new(vec![0; agents]),
        changed: Condvar::new(),
        max_skew: config.max_skew_slices.max(1),
        abort: AtomicBool::new(false),
    });
    let counters = Arc::new(Counters::default());
    let mut per_agent: Vec<Vec<u32>> = vec![Vec::new(); agents];
    for (i, s) in corpus.streams().iter().enumerate() {
        per_agent[s.node as usize % agents].push(i as u32);
    }
    let started = Instant::now();
    let mut threads = Vec::with_capacity(agents);
    let mut senders = Vec::with_capacity(agents);
    for (agent, streams) in per_agent.into_iter().enumerate() {
        // Two batches in flight per agent: one on the wire, one ready.
        let (tx, mut rx) = mpsc::channel::<Msg>(2);
        let (c, cfg, g) = (Arc::clone(&corpus), Arc::clone(&config), Arc::clone(&gate));
        let n = Arc::clone(&counters);
        threads.push(std::thread::spawn(move || {
            generate(&c, streams, &cfg, slice, &g, &n, tx);
        }));
        let (cfg, g, n) = (
            Arc::clone(&config),
            Arc::clone(&gate),
            Arc::clone(&counters),
        );
        senders.push(tokio::spawn(async move {
            let mut conn = Connection::new(cfg.target.clone());
            while let Some(msg) = rx.recv().await {
                match msg {
                    Msg::Batch {
                        body,
                        body_len,
                        lines,
                        line_bytes,
                    } => {
                        n.body_bytes.fetch_add(body_len, Ordering::Relaxed);
                        n.wire_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                        if cfg.dry_run {
                            n.lines_ok.fetch_add(lines, Ordering::Relaxed);
                            n.bytes_ok.fetch_add(line_bytes, Ordering::Relaxed);
                            n.requests_ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            post(&mut conn, &cfg, &n, body, lines, line_bytes).await;
                        }
                    }
                    Msg::SliceDone(done) => g.ack(agent, done),
                }
            }
            // An agent that finished counts as done for every slice.
            g.ack(agent, u64::MAX / 2);
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
                    gate.abort.store(true, Ordering::Relaxed);
                    return Err(Error::WorkerGone);
                }
            }
        }
    }
    for t in threads {
        t.join().map_err(|_| Error::WorkerGone)?;
    }
    Ok(counters.snapshot(started.elapsed()))
}

#[cfg(test)]
mod tests;
