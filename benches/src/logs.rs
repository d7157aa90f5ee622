//! The log benchmark: a generated corpus of Kubernetes logs, a loader that pushes it to a
//! Loki push endpoint, and the expected answers of the benchmark's queries.
//!
//! The corpus is what a few clusters of a web shop write in a window (24 h by default):
//! nginx and ingress-nginx access logs, JSON application logs from Java, Go, Python and Node
//! services, logfmt from Go services and the monitoring stack, one stream per container of
//! each pod, with pods coming and going (rollouts, autoscaling, crashes), traffic following
//! the day, and incidents. Every line is determined by the [`CorpusSpec`]: the same spec gives
//! the same lines, whatever the loader's connections and batch sizes, so the checker can
//! regenerate the streams a query selects and compute its answer.
//!
//! One line in [`NEEDLE_ONE_IN`] of every stream carries [`NEEDLE`], so that
//! `{app="checkout"} |= "<NEEDLE>"` has a known, small answer.

mod catalog;
mod corpus;
mod expect;
mod fields;
mod load;
mod plan;
mod push;
mod text;
mod vocab;
mod write;

pub use catalog::Format;
pub use corpus::{Corpus, Cursor, LineCache};
pub use expect::{
    Expected, LogQuery, MetricQuery, Parser, Selector, expected_logs, expected_metric,
};
pub use load::{LogLoadConfig, LogLoadReport, run_logs};
pub use plan::{CorpusSpec, StreamPlan};
pub use push::{PushBatch, PushFormat};

/// The string the needle lines carry (in a query string, a JSON field or a logfmt pair).
pub const NEEDLE: &str = "needle-7f3e9a41";
/// One line in this many carries the needle, in every stream.
pub const NEEDLE_ONE_IN: u64 = 2_000;
/// The workload the needle and JSON queries select (`app` label; JSON logs).
pub const QUERY_APP: &str = "checkout";
/// A namespace whose every container logs JSON.
pub const JSON_NAMESPACE: &str = "shop";
/// A namespace whose every container logs logfmt.
pub const LOGFMT_NAMESPACE: &str = "platform";

#[cfg(test)]
mod testproto;
#[cfg(test)]
mod tests;
