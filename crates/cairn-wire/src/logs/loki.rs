//! Loki's push API (`POST /loki/api/v1/push`): JSON (`application/json`) and protobuf
//! (`logproto.PushRequest` in a raw snappy block, for any other or no Content-Type).
//!
//! As in Loki's distributor, a stream whose labels cannot be read (bad selector syntax,
//! duplicate names, no labels at all) is left out and reported with Loki's message, and the
//! other streams are kept; a body that is not valid JSON or protobuf, or a malformed entry,
//! fails the whole request.

mod json;
mod legacy;
mod proto;

use cairn_model::{Labels, LogBatch, LogEntry, LogStream};

use super::limits::LogDecodeLimits;
use super::selector::{format_label_set, is_bare_label_name, parse_label_set};
use crate::error::Result;

pub use proto::encode_loki_push_proto;

/// A decoded push request: the streams whose labels were readable, and the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LokiPush {
    /// Streams to store, in request order.
    pub batch: LogBatch,
    /// Streams left out, with the reason.
    pub errors: Vec<StreamError>,
}

/// A stream of a push request that was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamError {
    /// Index of the stream in the request.
    pub stream: usize,
    /// Its labels as sent (JSON label maps rendered as Loki renders them).
    pub labels: String,
    /// Loki's message for it, e.g. `error parsing labels '{ab"' with error: 1:4: parse
    /// error: unterminated quoted string`.
    pub reason: String,
}

/// Decodes a Loki push body (its Content-Encoding already undone with
/// [`super::decode_content_encoding`]).
///
/// `application/json` (any parameters) is read as JSON; every other Content-Type, or none,
/// as protobuf in a raw snappy block, whose decoded size is checked against
/// `limits.max_decoded_bytes` before allocating.
pub fn decode_loki_push(
    content_type: Option<&str>,
    body: &[u8],
    limits: &LogDecodeLimits,
) -> Result<LokiPush> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if media.eq_ignore_ascii_case("application/json") {
        json::decode(body, limits)
    } else {
        proto::decode(body, limits)
    }
}

/// Decodes the legacy JSON body of `/api/prom/push` (see `legacy.rs` for its shape).
pub fn decode_loki_push_legacy(body: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    legacy::decode(body, limits)
}

/// Loki's service name discovery labels (`discover_service_name` default): when a stream has
/// no `service_name`, the first of these it has gives it one.
pub const DEFAULT_DISCOVER_SERVICE_NAME: [&str; 13] = [
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

/// Adds `service_name` as Loki's distributor does for pushed streams: unless the stream has
/// one, it takes the value of the first label of `discover` the stream has, or
/// `unknown_service`. An empty `discover` list turns this off (labels returned as they are).
pub fn discover_service_name<S: AsRef<str>>(labels: &Labels, discover: &[S]) -> Labels {
    if discover.is_empty() || labels.get("service_name").is_some() {
        return labels.clone();
    }
    let value = discover
        .iter()
        .find_map(|n| labels.get(n.as_ref()).filter(|v| !v.is_empty()))
        .unwrap_or("unknown_service")
        .to_string();
    let mut b = labels.to_builder();
    b.set("service_name", &value);
    b.build()
}

/// Accumulates streams and stream errors with the request-wide limits.
struct Collector<'l> {
    limits: &'l LogDecodeLimits,
    push: LokiPush,
    entries: usize,
    streams: usize,
}

impl<'l> Collector<'l> {
    fn new(limits: &'l LogDecodeLimits) -> Self {
        Collector {
            limits,
            push: LokiPush::default(),
            entries: 0,
            streams: 0,
        }
    }

    /// Counts one more stream of the request.
    fn next_stream(&mut self) -> Result<usize> {
        self.streams += 1;
        if self.limits.max_streams != 0 && self.streams > self.limits.max_streams {
            return Err(crate::WireError::TooManyStreams {
                limit: self.limits.max_streams,
            });
        }
        Ok(self.streams - 1)
    }

    /// Counts one more entry of the request.
    fn count_entry(&mut self) -> Result<()> {
        self.entries += 1;
        self.limits.check_entries(self.entries)
    }

    fn add(
        &mut self,
        stream: usize,
        shown: String,
        labels: std::result::Result<Labels, String>,
        entries: Vec<LogEntry>,
    ) {
        match labels {
            Ok(labels) => self.push.batch.streams.push(LogStream { labels, entries }),
            Err(reason) => self.push.errors.push(StreamError {
                stream,
                labels: shown,
                reason,
            }),
        }
    }
}

/// Loki's message for a stream without labels.
const MISSING_LABELS: &str = "error at least one label pair is required per stream";

/// Labels of a protobuf stream from its selector text.
fn selector_labels(raw: &str) -> std::result::Result<Labels, String> {
    let pairs = parse_label_set(raw)
        .map_err(|e| format!("error parsing labels '{raw}' with error: {e}"))?;
    labels_from_pairs(raw, pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// Labels of a JSON stream: names must be what the selector syntax reads bare, since Loki
/// renders the map as `{name="value", ...}` and parses that.
fn json_labels(pairs: &[(&str, &str)]) -> std::result::Result<Labels, String> {
    if let Some(bad) = pairs.iter().find(|(n, _)| !is_bare_label_name(n)) {
        let shown = format_label_set(pairs);
        let e = parse_label_set(&shown)
            .err()
            .unwrap_or_else(|| format!("invalid label name {:?}", bad.0));
        return Err(format!("error parsing labels '{shown}' with error: {e}"));
    }
    labels_from_pairs(&format_label_set(pairs), pairs.iter().copied())
}

/// Drops empty values (Loki normalises them away), then refuses duplicates and empty sets
/// with Loki's messages.
fn labels_from_pairs<'a>(
    shown: &str,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<Labels, String> {
    let mut kept: Vec<(&str, &str)> = pairs.filter(|(_, v)| !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = kept.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "stream '{shown}' has duplicate label name: '{}'",
            w[0].0
        ));
    }
    if kept.is_empty() {
        return Err(MISSING_LABELS.to_string());
    }
    Labels::from_pairs(kept).map_err(|e| format!("stream '{shown}': {e}"))
}

/// Adds a structured metadata pair: empty names are dropped, the first of a repeated name
/// is kept (an entry's metadata names are unique).
pub(crate) fn push_metadata(md: &mut Vec<(String, String)>, name: &str, value: &str) {
    if name.is_empty() || md.iter().any(|(n, _)| n == name) {
        return;
    }
    md.push((name.to_string(), value.to_string()));
}

/// Bytes as a string, invalid UTF-8 replaced.
pub(crate) fn lossy(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

#[cfg(test)]
mod tests;
