//! The legacy JSON push body of `/api/prom/push` (Loki before 0.4, still sent by clients
//! such as `python-logging-loki` in its default mode):
//!
//! ```json
//! {"streams": [{"labels": "{app=\"api\"}",
//!               "entries": [{"ts": "2024-01-02T03:04:05.123456Z", "line": "a line"}]}]}
//! ```
//!
//! `labels` is selector text, `ts` an RFC 3339 time (Go's `time.Time` in JSON).

use cairn_model::LogEntry;
use serde::Deserialize;

use super::{Collector, LokiPush, selector_labels};
use crate::error::{Result, WireError};
use crate::logs::fluent::parse_datetime;
use crate::logs::limits::LogDecodeLimits;

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    streams: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    #[serde(default)]
    labels: String,
    #[serde(default)]
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    ts: String,
    #[serde(default)]
    line: String,
}

pub(super) fn decode(body: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    if body.len() > limits.decoded_cap() {
        return Err(WireError::DecompressedTooLarge {
            limit: limits.decoded_cap(),
        });
    }
    let parsed: Body = serde_json::from_slice(body)
        .map_err(|e| WireError::InvalidLogBody(format!("invalid legacy push body: {e}")))?;
    let mut c = Collector::new(limits);
    for s in parsed.streams {
        let index = c.next_stream()?;
        let mut entries = Vec::with_capacity(s.entries.len());
        for (i, e) in s.entries.into_iter().enumerate() {
            c.count_entry()?;
            let ts_ns = parse_datetime(&e.ts).ok_or_else(|| {
                WireError::InvalidLogBody(format!(
                    "stream {index} entry {i}: parsing time {:?} as RFC 3339 failed",
                    e.ts
                ))
            })?;
            entries.push(LogEntry::new(ts_ns, e.line));
        }
        let labels = selector_labels(&s.labels);
        c.add(index, s.labels, labels, entries);
    }
    Ok(c.push)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_logging_loki_v0_body() {
        // What python-logging-loki 0.3 (LokiEmitterV0) posts.
        let body = br#"{"streams": [{"labels": "{app=\"pyapp\",severity=\"warning\",logger=\"e2e\"}", "entries": [{"ts": "2026-12-05T00:01:02.123456+00:00", "line": "loki record 0"}]}]}"#;
        let p = decode(body, &LogDecodeLimits::default()).unwrap();
        assert!(p.errors.is_empty());
        let s = &p.batch.streams[0];
        assert_eq!(s.labels.get("severity"), Some("warning"));
        assert_eq!(s.labels.len(), 3);
        assert_eq!(s.entries[0].line, "loki record 0");
        assert_eq!(s.entries[0].ts_ns, 1_796_428_862_123_456_000);
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let l = LogDecodeLimits::default();
        let e = decode(
            br#"{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"yesterday"}]}]}"#,
            &l,
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"yesterday\""), "{e}");
        assert!(decode(b"[1,2", &l).is_err());
        let p = decode(br#"{"streams":[{"labels":"{a=","entries":[]}]}"#, &l).unwrap();
        assert_eq!(p.errors.len(), 1);
    }
}
