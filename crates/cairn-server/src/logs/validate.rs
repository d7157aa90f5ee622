//! Validation of a decoded push against the tenant's limits, in Loki's order and words
//! (`pkg/distributor/validator.go`): streams without labels or with labels over the limits
//! are refused whole, entries too old, too new, too long or with too much structured metadata
//! one by one, and the rest goes on. `service_name` and `detected_level` are added on the way.

use std::fmt::Write as _;

use cairn_model::{LogBatch, LogEntry, LogStream};
use chrono::{DateTime, SecondsFormat, Utc};

use super::level::{self, DETECTED_LEVEL};
use crate::config::LogLimits;

/// The label Grafana's Logs Drilldown groups by.
pub(crate) const SERVICE_NAME: &str = "service_name";
/// Its value when no label names a service.
pub(crate) const UNKNOWN_SERVICE: &str = "unknown_service";

/// Discard reasons, as Loki names them in `loki_discarded_samples_total`.
pub(crate) mod reason {
    pub(crate) const MISSING_LABELS: &str = "missing_labels";
    pub(crate) const INVALID_LABELS: &str = "invalid_labels";
    pub(crate) const MAX_LABEL_NAMES: &str = "max_label_names_per_series";
    pub(crate) const LABEL_NAME_TOO_LONG: &str = "label_name_too_long";
    pub(crate) const LABEL_VALUE_TOO_LONG: &str = "label_value_too_long";
    pub(crate) const TOO_OLD: &str = "greater_than_max_sample_age";
    pub(crate) const TOO_NEW: &str = "too_far_in_future";
    pub(crate) const LINE_TOO_LONG: &str = "line_too_long";
    pub(crate) const METADATA_DISALLOWED: &str = "disallowed_structured_metadata";
    pub(crate) const METADATA_TOO_LARGE: &str = "structured_metadata_too_large";
    pub(crate) const METADATA_TOO_MANY: &str = "structured_metadata_too_many";
    pub(crate) const RATE_LIMITED: &str = "rate_limited";
}

/// Entries and bytes refused for one reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Discard {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
}

/// A push after validation.
#[derive(Debug, Default)]
pub(crate) struct Validated {
    /// What may be written.
    pub(crate) batch: LogBatch,
    /// One message per refused stream or entry, in order.
    pub(crate) errors: Vec<String>,
    /// Refused entries by reason.
    pub(crate) discarded: Vec<(&'static str, Discard)>,
}

impl Validated {
    fn discard(&mut self, reason: &'static str, entries: u64, bytes: u64, message: String) {
        match self.discarded.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, d)) => {
                d.entries += entries;
                d.bytes += bytes;
            }
            None => self.discarded.push((reason, Discard { entries, bytes })),
        }
        self.errors.push(message);
    }
}

/// Loki's grouping of error messages into one answer: identical messages counted, distinct
/// ones joined by `; ` (`util.GroupedErrors`), in order of first appearance.
pub(crate) fn group_errors(errors: &[String]) -> String {
    let mut uniq: Vec<(&str, usize)> = Vec::new();
    for e in errors {
        match uniq.iter_mut().find(|(m, _)| *m == e) {
            Some((_, n)) => *n += 1,
            None => uniq.push((e, 1)),
        }
    }
    let mut out = String::new();
    let many = uniq.len() > 1;
    for (i, (m, n)) in uniq.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        if many || *n > 1 {
            let _ = write!(out, "{n} errors like: ");
        }
        out.push_str(m);
    }
    out
}

/// Go's `time.Format(time.RFC3339)` of a UTC nanosecond timestamp.
fn rfc3339(ts_ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ts_ns).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A Prometheus (legacy) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn valid_label_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A structured metadata name as Loki stores it (OpenTelemetry's label namer): characters
/// outside `[a-zA-Z0-9_]` become `_`, a leading digit gets `key_` and a leading single `_`
/// gets `key` in front.
fn normalize_metadata_name(n: &str) -> String {
    let mut s: String = n
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "key_");
    } else if s.starts_with('_') && !s.starts_with("__") {
        s.insert_str(0, "key");
    }
    s
}

/// Cuts `line` to at most `max` bytes on a character boundary.
fn truncate(line: &mut String, max: usize) {
    if line.len() > max {
        let mut cut = max;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
}

fn stream_bytes(s: &LogStream) -> u64 {
    s.entries.iter().map(|e| e.size() as u64).sum()
}

/// Checks a stream's labels; `Err` is the reason and Loki's message.
fn check_labels(s: &LogStream, l: &LogLimits) -> Result<(), (&'static str, String)> {
    if s.labels.is_empty() {
        return Err((
            reason::MISSING_LABELS,
            "error at least one label pair is required per stream".into(),
        ));
    }
    if let Some(bad) = s.labels.iter().find(|x| !valid_label_name(x.name)) {
        return Err((
            reason::INVALID_LABELS,
            format!(
                "error parsing labels '{}' with error: invalid label name {:?}: label names must match [a-zA-Z_][a-zA-Z0-9_]*",
                s.labels, bad.name
            ),
        ));
    }
    let names = s.labels.iter().filter(|x| x.name != SERVICE_NAME).count();
    if names > l.max_label_names_per_series {
        return Err((
            reason::MAX_LABEL_NAMES,
            format!(
                "entry for stream '{}' has {names} label names; limit {}",
                s.labels, l.max_label_names_per_series
            ),
        ));
    }
    for x in s.labels.iter() {
        if x.name.len() > l.max_label_name_length {
            return Err((
                reason::LABEL_NAME_TOO_LONG,
                format!(
                    "stream '{}' has label name too long: '{}'",
                    s.labels, x.name
                ),
            ));
        }
        if x.value.len() > l.max_label_value_length {
            return Err((
                reason::LABEL_VALUE_TOO_LONG,
                format!(
                    "stream '{}' has label value too long: '{}'",
                    s.labels, x.value
                ),
            ));
        }
    }
    Ok(())
}

/// Checks one entry; `Err` is the reason and Loki's message.
fn check_entry(
    s: &LogStream,
    e: &LogEntry,
    l: &LogLimits,
    now_ns: i64,
) -> Result<(), (&'static str, String)> {
    let oldest = now_ns.saturating_sub(duration_ns(l.reject_old_samples_max_age));
    if l.reject_old_samples && e.ts_ns < oldest {
        return Err((
            reason::TOO_OLD,
            format!(
                "entry for stream '{}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                s.labels,
                rfc3339(e.ts_ns),
                rfc3339(oldest)
            ),
        ));
    }
    if e.ts_ns > now_ns.saturating_add(duration_ns(l.creation_grace_period)) {
        return Err((
            reason::TOO_NEW,
            format!(
                "entry for stream '{}' has timestamp too new: {}",
                s.labels,
                rfc3339(e.ts_ns)
            ),
        ));
    }
    if l.max_line_size != 0 && e.line.len() > l.max_line_size {
        return Err((
            reason::LINE_TOO_LONG,
            format!(
                "max entry size '{}' bytes exceeded for stream '{}' while adding an entry with length '{}' bytes",
                l.max_line_size,
                s.labels,
                e.line.len()
            ),
        ));
    }
    if !e.metadata.is_empty() {
        if !l.allow_structured_metadata {
            return Err((
                reason::METADATA_DISALLOWED,
                format!(
                    "stream '{}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it",
                    s.labels
                ),
            ));
        }
        let size: usize = e.metadata.iter().map(|(n, v)| n.len() + v.len()).sum();
        if l.max_structured_metadata_size != 0 && size > l.max_structured_metadata_size {
            return Err((
                reason::METADATA_TOO_LARGE,
                format!(
                    "stream '{}' has structured metadata too large: '{size}' bytes, limit: '{}' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it",
                    s.labels, l.max_structured_metadata_size
                ),
            ));
        }
        let n = e.metadata.len();
        if l.max_structured_metadata_entries_count != 0
            && n > l.max_structured_metadata_entries_count
        {
            return Err((
                reason::METADATA_TOO_MANY,
                format!(
                    "stream '{}' has too many structured metadata labels: '{n}', limit: '{}'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it",
                    s.labels, l.max_structured_metadata_entries_count
                ),
            ));
        }
    }
    Ok(())
}

fn duration_ns(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Adds `service_name` from the first of `candidates` present (`unknown_service` otherwise)
/// when the stream has none; an empty list leaves streams alone.
fn discover_service_name(s: &mut LogStream, candidates: &[String]) {
    if candidates.is_empty() || s.labels.get(SERVICE_NAME).is_some() {
        return;
    }
    let value = candidates
        .iter()
        .find_map(|c| s.labels.get(c))
        .unwrap_or(UNKNOWN_SERVICE)
        .to_string();
    let mut b = s.labels.to_builder();
    b.set(SERVICE_NAME, &value);
    s.labels = b.build();
}

/// Normalises metadata names and values, and adds or normalises `detected_level`.
fn enrich(e: &mut LogEntry, stream_level: Option<&str>, l: &LogLimits) {
    for (n, v) in &mut e.metadata {
        if !valid_label_name(n) {
            *n = normalize_metadata_name(n);
        }
        if v.contains('\u{fffd}') {
            v.retain(|c| c != '\u{fffd}');
        }
    }
    if !(l.discover_log_levels && l.allow_structured_metadata) {
        return;
    }
    if let Some((_, v)) = e.metadata.iter_mut().find(|(n, _)| n == DETECTED_LEVEL) {
        *v = level::normalize(v);
        return;
    }
    let lvl = level::detect(&l.log_level_fields, stream_level, &e.metadata, &e.line);
    e.metadata.push((DETECTED_LEVEL.to_string(), lvl));
}

/// Validates `batch` against `limits` at `now_ns` (see the module docs).
pub(crate) fn validate(batch: LogBatch, limits: &LogLimits, now_ns: i64) -> Validated {
    let mut out = Validated::default();
    for mut s in batch.streams {
        if s.entries.is_empty() {
            continue;
        }
        if limits.max_line_size_truncate && limits.max_line_size != 0 {
            for e in &mut s.entries {
                truncate(&mut e.line, limits.max_line_size);
            }
        }
        if let Err((why, msg)) = check_labels(&s, limits) {
            out.discard(why, s.entries.len() as u64, stream_bytes(&s), msg);
            continue;
        }
        discover_service_name(&mut s, &limits.discover_service_name);
        let stream_level = limits
            .log_level_fields
            .iter()
            .find_map(|f| s.labels.get(f))
            .map(str::to_string);
        let mut kept = Vec::with_capacity(s.entries.len());
        for mut e in std::mem::take(&mut s.entries) {
            if let Err((why, msg)) = check_entry(&s, &e, limits, now_ns) {
                out.discard(why, 1, e.size() as u64, msg);
                continue;
            }
            enrich(&mut e, stream_level.as_deref(), limits);
            kept.push(e);
        }
        if !kept.is_empty() {
            s.entries = kept;
            out.batch.streams.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cairn_model::Labels;

    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn stream(labels: &[(&str, &str)], entries: Vec<LogEntry>) -> LogStream {
        LogStream {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            entries,
        }
    }

    fn one(labels: &[(&str, &str)], line: &str) -> LogBatch {
        LogBatch {
            streams: vec![stream(labels, vec![LogEntry::new(NOW, line)])],
        }
    }

    #[test]
    fn service_name_and_level_are_discovered() {
        let v = validate(
            one(&[("app", "api"), ("job", "x")], "level=warn msg=hi"),
            &LogLimits::default(),
            NOW,
        );
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let s = &v.batch.streams[0];
        assert_eq!(s.labels.get(SERVICE_NAME), Some("api"));
        assert_eq!(
            s.entries[0].metadata,
            vec![("detected_level".to_string(), "warn".to_string())]
        );
        let v = validate(one(&[("foo", "bar")], "x"), &LogLimits::default(), NOW);
        assert_eq!(
            v.batch.streams[0].labels.get(SERVICE_NAME),
            Some("unknown_service")
        );
        let no = LogLimits {
            discover_service_name: vec![],
            discover_log_levels: false,
            ..LogLimits::default()
        };
        let v = validate(one(&[("foo", "bar")], "x"), &no, NOW);
        assert_eq!(v.batch.streams[0].labels.get(SERVICE_NAME), None);
        assert!(v.batch.streams[0].entries[0].metadata.is_empty());
    }

    #[test]
    fn label_limits_refuse_the_stream_with_lokis_words() {
        let l = LogLimits {
            max_label_names_per_series: 2,
            max_label_value_length: 5,
            ..LogLimits::default()
        };
        let v = validate(one(&[("a", "1"), ("b", "2"), ("c", "3")], "x"), &l, NOW);
        assert!(v.batch.streams.is_empty());
        assert_eq!(
            v.errors,
            vec![r#"entry for stream '{a="1", b="2", c="3"}' has 3 label names; limit 2"#]
        );
        // service_name does not count.
        let v = validate(one(&[("a", "1"), ("service_name", "s")], "x"), &l, NOW);
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let v = validate(one(&[("a", "toolong")], "x"), &l, NOW);
        assert_eq!(
            v.errors,
            vec![r#"stream '{a="toolong"}' has label value too long: 'toolong'"#]
        );
        let v = validate(one(&[("a.b", "1")], "x"), &l, NOW);
        assert_eq!(v.discarded[0].0, reason::INVALID_LABELS);
        let v = validate(
            LogBatch {
                streams: vec![LogStream {
                    labels: Labels::empty(),
                    entries: vec![LogEntry::new(NOW, "x")],
                }],
            },
            &l,
            NOW,
        );
        assert_eq!(
            v.errors,
            vec!["error at least one label pair is required per stream"]
        );
    }

    #[test]
    fn entries_are_checked_one_by_one() {
        let l = LogLimits {
            max_line_size: 10,
            discover_log_levels: false,
            ..LogLimits::default()
        };
        let old = NOW - 8 * 24 * 3600 * 1_000_000_000;
        let new = NOW + 3600 * 1_000_000_000;
        let s = stream(
            &[("app", "a")],
            vec![
                LogEntry::new(NOW, "fine"),
                LogEntry::new(old, "old"),
                LogEntry::new(new, "new"),
                LogEntry::new(NOW, "much too long"),
            ],
        );
        let v = validate(LogBatch { streams: vec![s] }, &l, NOW);
        assert_eq!(v.batch.num_entries(), 1);
        assert_eq!(
            v.errors[0],
            r#"entry for stream '{app="a", service_name="a"}' has timestamp too old: 2023-11-06T22:13:20Z, oldest acceptable timestamp is: 2023-11-07T22:13:20Z"#
        );
        assert_eq!(
            v.errors[1],
            r#"entry for stream '{app="a", service_name="a"}' has timestamp too new: 2023-11-14T23:13:20Z"#
        );
        assert_eq!(
            v.errors[2],
            r#"max entry size '10' bytes exceeded for stream '{app="a", service_name="a"}' while adding an entry with length '13' bytes"#
        );
        let t = LogLimits {
            max_line_size_truncate: true,
            ..l
        };
        let v = validate(one(&[("app", "a")], "héllo wörld"), &t, NOW);
        assert_eq!(v.batch.streams[0].entries[0].line, "héllo wö");
    }

    #[test]
    fn structured_metadata_limits_and_names() {
        let mut e = LogEntry::new(NOW, "x");
        e.metadata = vec![
            ("trace.id".into(), "abc".into()),
            ("1st".into(), "v\u{fffd}".into()),
        ];
        let v = validate(
            LogBatch {
                streams: vec![stream(&[("app", "a")], vec![e.clone()])],
            },
            &LogLimits::default(),
            NOW,
        );
        let md = &v.batch.streams[0].entries[0].metadata;
        assert_eq!(md[0], ("trace_id".to_string(), "abc".to_string()));
        assert_eq!(md[1], ("key_1st".to_string(), "v".to_string()));
        assert_eq!(md[2].0, "detected_level");
        let l = LogLimits {
            max_structured_metadata_entries_count: 1,
            ..LogLimits::default()
        };
        let v = validate(
            LogBatch {
                streams: vec![stream(&[("app", "a")], vec![e])],
            },
            &l,
            NOW,
        );
        assert_eq!(v.discarded[0].0, reason::METADATA_TOO_MANY);
    }

    #[test]
    fn errors_are_grouped_as_loki_groups_them() {
        assert_eq!(group_errors(&["a".into()]), "a");
        assert_eq!(group_errors(&["a".into(), "a".into()]), "2 errors like: a");
        assert_eq!(
            group_errors(&["a".into(), "b".into(), "a".into()]),
            "2 errors like: a; 1 errors like: b"
        );
    }
}
