//! Read-side probes: how long a system takes to list every series and to return one series
//! over the whole range, timed on the client from request start to the last body byte.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_model::Matcher;
use cairn_wire::{Query, ReadRequest, ResponseType};
use hyper::Method;

use crate::http::Connection;
use crate::{Error, Result};

/// Repeated timings of one request.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Every run's duration, in order.
    pub runs: Vec<Duration>,
    /// Body size of the last run.
    pub bytes: usize,
    /// The last body (to count what was returned).
    pub body: Bytes,
}

impl Timing {
    /// The median run.
    pub fn median(&self) -> Duration {
        let mut r = self.runs.clone();
        r.sort();
        r.get(r.len() / 2).copied().unwrap_or_default()
    }

    /// The fastest run.
    pub fn min(&self) -> Duration {
        self.runs.iter().min().copied().unwrap_or_default()
    }
}

/// GETs `path` `repeat` times on one connection; a non-2xx answer is an error.
pub async fn time_get(
    conn: &mut Connection,
    path: &str,
    repeat: usize,
    timeout: Duration,
) -> Result<Timing> {
    let mut runs = Vec::with_capacity(repeat);
    let mut body = Bytes::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let r = conn
            .request(Method::GET, Some(path), &[], Bytes::new(), timeout)
            .await?;
        runs.push(t.elapsed());
        if !r.status.is_success() {
            return Err(status_error(r.status.as_u16(), &r.body));
        }
        body = r.body;
    }
    Ok(Timing {
        runs,
        bytes: body.len(),
        body,
    })
}

fn status_error(status: u16, body: &[u8]) -> Error {
    Error::Status {
        status,
        body: String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}

/// The result of a remote read probe.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    /// Timings of the runs (compressed body size in `bytes`).
    pub timing: Timing,
    /// Series returned by the last run.
    pub series: usize,
    /// Samples returned by the last run.
    pub samples: usize,
}

/// Remote-reads (SAMPLES response type) the series matching `matchers` in [start, end].
pub async fn remote_read(
    conn: &mut Connection,
    path: &str,
    matchers: Vec<Matcher>,
    start_ms: i64,
    end_ms: i64,
    repeat: usize,
    timeout: Duration,
) -> Result<ReadOutcome> {
    let req = ReadRequest {
        queries: vec![Query {
            start_ms,
            end_ms,
            matchers,
            hints: None,
        }],
        accepted_response_types: vec![ResponseType::Samples],
    };
    let body = Bytes::from(cairn_wire::snappy_compress(
        &cairn_wire::encode_read_request(&req),
    ));
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "snappy"),
        ("x-prometheus-remote-read-version", "0.1.0"),
    ];
    let mut runs = Vec::with_capacity(repeat);
    let mut last = Bytes::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let r = conn
            .request(Method::POST, Some(path), &headers, body.clone(), timeout)
            .await?;
        if !r.status.is_success() {
            return Err(status_error(r.status.as_u16(), &r.body));
        }
        // Decoding is part of what a reader pays, so it is inside the timing.
        let mut raw = Vec::new();
        cairn_wire::decompress_snappy(&r.body, 1 << 30, &mut raw)?;
        let results = cairn_wire::decode_read_response(&raw)?;
        runs.push(t.elapsed());
        std::hint::black_box(&results);
        last = r.body;
    }
    let mut raw = Vec::new();
    cairn_wire::decompress_snappy(&last, 1 << 30, &mut raw)?;
    let results = cairn_wire::decode_read_response(&raw)?;
    let series = results.iter().map(Vec::len).sum();
    let samples = results.iter().flatten().map(|s| s.samples.len()).sum();
    Ok(ReadOutcome {
        timing: Timing {
            runs,
            bytes: last.len(),
            body: last,
        },
        series,
        samples,
    })
}
