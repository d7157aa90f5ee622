//! The ingest macro benchmark: a load generator that writes a realistic node_exporter-like
//! fleet (counters, gauges, classic histograms; 15 s scrapes) to any Prometheus remote-write
//! receiver, and probes that time the read side (`/api/v1/series`, remote read, export).
//! The log benchmark: a generated Kubernetes log corpus pushed to a Loki push endpoint, and
//! the answers its queries must give (see [`Corpus`]).
//! The trace benchmark: generated OTLP traces of a web shop sent to an OTLP/HTTP endpoint,
//! and the answers of lookups by id and TraceQL searches (see [`TracePlan`]).
//!
//! Invariants: the data depends only on the seed, the series count, the interval and the
//! start time, never on the connection count or batch size, so Cairn, Prometheus and
//! VictoriaMetrics receive the same samples; every series' samples are sent in time order and
//! every series at time t before any sample at t + interval.

mod http;
mod load;
mod logs;
mod model;
mod node;
mod probe;
mod proc;
mod rng;
mod traces;
mod workload;

pub use http::{Connection, Response, Target, ms, percent_encode, quantile};
pub use load::{LoadConfig, LoadReport, Protocol, encode_chunk, run};
pub use logs::{
    Corpus, CorpusSpec, Cursor, Expected, Format, JSON_NAMESPACE, LOGFMT_NAMESPACE, LineCache,
    LogLoadConfig, LogLoadReport, LogQuery, MetricQuery, NEEDLE, NEEDLE_ONE_IN, Parser, PushBatch,
    PushFormat, QUERY_APP, Selector, StreamPlan, expected_logs, expected_metric, run_logs,
};
pub use probe::{ReadOutcome, Timing, remote_read, time_get};
pub use proc::{cpu_seconds, peak_rss_kib};
pub use traces::{
    ERROR_SERVICE, GAP_NS, HTTP_5XX_QUERY, SampleTrace, SearchExpect, Tally, TraceExpect,
    TraceLoadConfig, TraceLoadReport, TracePlan, TraceSpec, WINDOWS, run_traces,
    service_error_query, service_names,
};
pub use workload::{Chunk, Round, Workload, WorkloadSpec, instance_of};

use std::time::Duration;

/// Everything that can go wrong while talking to a system under test.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not a plain http:// URL.
    #[error("invalid url {0}")]
    InvalidUrl(String),
    /// The TCP connection failed.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    /// The HTTP exchange failed.
    #[error("http error: {0}")]
    Http(hyper::Error),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A sender task ended early (it panicked).
    #[error("a sender task ended unexpectedly")]
    WorkerGone,
    /// The server answered with an error status.
    #[error("server answered {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The response could not be decoded.
    #[error("undecodable response: {0}")]
    Decode(#[from] cairn_wire::WireError),
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
