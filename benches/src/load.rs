//! Sends a workload in time order over `C` connections.
//!
//! Rounds of `steps_per_request` scrape steps go out one after the other: every chunk of a
//! round is acknowledged (or given up on) before any chunk of the next round is sent, so
//! every series' samples arrive in time order and all series at time t precede t + interval,
//! whatever the connection a chunk travels on. Chunk j always travels on connection j mod C.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::sync::mpsc;

use crate::http::{Connection, Target};
use crate::workload::{Chunk, Round, Workload, WorkloadSpec};
use crate::{Error, Result};

/// Remote write protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `prometheus.WriteRequest`.
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// How to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Where remote write requests go.
    pub target: Target,
    /// Concurrent connections.
    pub connections: usize,
    /// Series per request.
    pub batch_series: usize,
    /// Scrape steps per request (per series).
    pub steps_per_request: usize,
    /// Total scrape steps.
    pub steps: u64,
    /// Protocol version.
    pub protocol: Protocol,
    /// Retries of one request on 5xx, 429 or a connection error before it counts as failed.
    pub max_retries: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Encode and compress but do not send (measures the generator alone).
    pub dry_run: bool,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Samples in requests answered 2xx.
    pub samples_ok: u64,
    /// Samples in requests answered 4xx or given up on.
    pub samples_failed: u64,
    /// Requests answered 2xx.
    pub requests_ok: u64,
    /// Requests answered 4xx (other than 429).
    pub requests_4xx: u64,
    /// Requests given up on after `max_retries`.
    pub requests_given_up: u64,
    /// Retries done (5xx, 429, connection errors).
    pub retries: u64,
    /// Uncompressed protobuf bytes.
    pub bytes_raw: u64,
    /// Snappy-compressed bytes sent.
    pub bytes_sent: u64,
    /// The first few error messages, for the operator.
    pub errors: Vec<String>,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
}

impl LoadReport {
    fn merge(&mut self, o: LoadReport) {
        self.samples_ok += o.samples_ok;
        self.samples_failed += o.samples_failed;
        self.requests_ok += o.requests_ok;
        self.requests_4xx += o.requests_4xx;
        self.requests_given_up += o.requests_given_up;
        self.retries += o.retries;
        self.bytes_raw += o.bytes_raw;
        self.bytes_sent += o.bytes_sent;
        for e in o.errors {
            if self.errors.len() < MAX_ERRORS {
                self.errors.push(e);
            }
        }
    }
}

const MAX_ERRORS: usize = 20;

/// Encodes and compresses one chunk as a request body.
pub fn encode_chunk(chunk: &Chunk, protocol: Protocol) -> (usize, Bytes) {
    let raw = match protocol {
        Protocol::V1 => cairn_wire::encode::encode_v1(&chunk.series, &[]),
        Protocol::V2 => cairn_wire::encode::encode_v2(&chunk.series, &[]),
    };
    (raw.len(), Bytes::from(cairn_wire::snappy_compress(&raw)))
}

struct Worker {
    conn: Connection,
    chunks: Vec<Chunk>,
    spec: WorkloadSpec,
    config: Arc<LoadConfig>,
}

impl Worker {
    async fn round(&mut self, round: &Round) -> LoadReport {
        let mut report = LoadReport::default();
        let headers: &[(&str, &str)] = match self.config.protocol {
            Protocol::V1 => &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "0.1.0"),
            ],
            Protocol::V2 => &[
                (
                    "content-type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                ),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "2.0.0"),
            ],
        };
        for chunk in &mut self.chunks {
            let samples = chunk.fill(round, &self.spec) as u64;
            let (raw, body) = encode_chunk(chunk, self.config.protocol);
            report.bytes_raw += raw as u64;
            report.bytes_sent += body.len() as u64;
            if self.config.dry_run {
                report.samples_ok += samples;
                report.requests_ok += 1;
                continue;
            }
            let mut attempt = 0u32;
            let mut backoff = Duration::from_millis(50);
            loop {
                let res = self
                    .conn
                    .request(
                        Method::POST,
                        None,
                        headers,
                        body.clone(),
                        self.config.request_timeout,
                    )
                    .await;
                let retry_reason = match res {
                    Ok(r) if r.status.is_success() => {
                        report.samples_ok += samples;
                        report.requests_ok += 1;
                        break;
                    }
                    Ok(r)
                        if r.status == StatusCode::TOO_MANY_REQUESTS
                            || r.status.is_server_error() =>
                    {
                        format!("{}: {}", r.status, String::from_utf8_lossy(&r.body).trim())
                    }
                    Ok(r) => {
                        report.samples_failed += samples;
                        report.requests_4xx += 1;
                        if report.errors.len() < MAX_ERRORS {
                            let text = String::from_utf8_lossy(&r.body);
                            let text: String = text.trim().chars().take(300).collect();
                            report
                                .errors
                                .push(format!("{} on series {:?}: {text}", r.status, chunk.range));
                        }
                        break;
                    }
                    Err(e) => e.to_string(),
                };
                if attempt >= self.config.max_retries {
                    report.samples_failed += samples;
                    report.requests_given_up += 1;
                    if report.errors.len() < MAX_ERRORS {
                        report
                            .errors
                            .push(format!("gave up after {attempt} retries: {retry_reason}"));
                    }
                    break;
                }
                attempt += 1;
                report.retries += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        report
    }
}

/// Sends `config.steps` scrape steps of `workload`; `progress` is called after every round
/// with the steps done so far.
pub async fn run(
    mut workload: Workload,
    spec: WorkloadSpec,
    config: LoadConfig,
    mut progress: impl FnMut(u64, &LoadReport),
) -> Result<LoadReport> {
    if config.steps == 0 || workload.is_empty() {
        return Ok(LoadReport::default());
    }
    let connections = config.connections.max(1);
    let steps_per_request = config.steps_per_request.max(1);
    let config = Arc::new(config);
    let mut per_worker: Vec<Vec<Chunk>> = (0..connections).map(|_| Vec::new()).collect();
    for (j, chunk) in workload.chunks(config.batch_series).into_iter().enumerate() {
        per_worker[j % connections].push(chunk);
    }
    let (done_tx, mut done_rx) = mpsc::channel::<LoadReport>(connections);
    let mut round_txs = Vec::with_capacity(connections);
    let mut handles = Vec::with_capacity(connections);
    for chunks in per_worker {
        let (tx, mut rx) = mpsc::channel::<Arc<Round>>(1);
        round_txs.push(tx);
        let mut worker = Worker {
            conn: Connection::new(config.target.clone()),
            chunks,
            spec,
            config: Arc::clone(&config),
        };
        let done = done_tx.clone();
        handles.push(tokio::spawn(async move {
            while let Some(round) = rx.recv().await {
                let r = worker.round(&round).await;
                if done.send(r).await.is_err() {
                    break;
                }
            }
        }));
    }
    drop(done_tx);

    let started = Instant::now();
    let mut total = LoadReport::default();
    let mut step = 0u64;
    // The next round is generated while the current one is on the wire.
    let mut next = Some(workload.next_round(steps_per_request.min(config.steps as usize)));
    while let Some(round) = next.take() {
        let round = Arc::new(round);
        step += round.steps as u64;
        for tx in &round_txs {
            tx.send(Arc::clone(&round))
                .await
                .map_err(|_| Error::WorkerGone)?;
        }
        let remaining = config.steps.saturating_sub(step);
        if remaining > 0 {
            next = Some(workload.next_round(steps_per_request.min(remaining as usize)));
        }
        for _ in 0..connections {
            let r = done_rx.recv().await.ok_or(Error::WorkerGone)?;
            total.merge(r);
        }
        progress(step, &total);
    }
    total.elapsed = started.elapsed();
    drop(round_txs);
    for h in handles {
        h.await.map_err(|_| Error::WorkerGone)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::WriteBatch;
    use cairn_wire::DecodeLimits;

    fn decoded_round_trip(protocol: Protocol) {
        let spec = WorkloadSpec {
            series: 1_500,
            seed: 3,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
        };
        let mut w = Workload::new(spec);
        let mut chunks = w.chunks(1_000);
        let round = w.next_round(2);
        for chunk in &mut chunks {
            let n = chunk.fill(&round, &spec);
            let (raw_len, body) = encode_chunk(chunk, protocol);
            let mut raw = Vec::new();
            cairn_wire::decompress_snappy(&body, 1 << 28, &mut raw).expect("valid snappy");
            assert_eq!(raw.len(), raw_len);
            let mut batch = WriteBatch::default();
            let limits = DecodeLimits::default();
            let report = match protocol {
                Protocol::V1 => cairn_wire::decode_v1(&raw, &limits, &mut batch),
                Protocol::V2 => cairn_wire::decode_v2(&raw, &limits, &mut batch),
            }
            .expect("decodable");
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            assert_eq!(report.samples, n);
            assert_eq!(batch.series.len(), chunk.series.len());
            for (s, sent) in batch.series.iter().zip(&chunk.series) {
                let labels: Vec<(String, String)> = batch
                    .series_labels(s)
                    .iter()
                    .map(|l| (l.name.to_owned(), l.value.to_owned()))
                    .collect();
                assert_eq!(labels, sent.labels);
                assert_eq!(batch.series_samples(s), &sent.samples[..]);
            }
        }
    }

    #[test]
    fn requests_decode_to_what_was_generated_v1() {
        decoded_round_trip(Protocol::V1);
    }

    #[test]
    fn requests_decode_to_what_was_generated_v2() {
        decoded_round_trip(Protocol::V2);
    }

    #[tokio::test]
    async fn dry_run_counts_every_sample_once() {
        let spec = WorkloadSpec {
            series: 700,
            seed: 1,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
        };
        let config = LoadConfig {
            target: Target::parse("http://127.0.0.1:1/").expect("url"),
            connections: 3,
            batch_series: 100,
            steps_per_request: 4,
            steps: 10,
            protocol: Protocol::V1,
            max_retries: 0,
            request_timeout: Duration::from_secs(1),
            dry_run: true,
        };
        let mut rounds = 0;
        let r = run(Workload::new(spec), spec, config, |_, _| rounds += 1)
            .await
            .expect("runs");
        assert_eq!(r.samples_ok, 7_000);
        assert_eq!(r.requests_ok, 7 * 3);
        assert_eq!(rounds, 3);
        assert!(r.bytes_sent > 0 && r.bytes_sent < r.bytes_raw);
    }
}
