//! Search results in the shape Tempo's `/api/search` answers (`tempopb.TraceSearchMetadata`
//! as Tempo's HTTP API prints it with gogo's JSON marshaler: 64-bit integers as strings, zero
//! and empty values left out), built from what [`Compiled::evaluate`] matched, and combined as Tempo's
//! combiner combines the answers for one trace from several sources.
//!
//! Each matched span shows its id, name, start and duration, and the values of every
//! attribute the query names (filters, `by`, aggregates, `select`) that the span has, but
//! not the intrinsics a result shows anyway (`name`, `duration`, `traceDuration`, `rootName`,
//! `rootServiceName`, `trace:id`, `span:id`), as Tempo does. Spans keep trace order; a
//! spanset shows at most `spss` spans and says in `matched` how many it had.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use cairn_model::{StatusCode, Trace};
use serde::{Deserialize, Serialize};

use crate::eval::{Compiled, Matches, Value, span_value};
use crate::{Attribute, Intrinsic, Result};

/// Spans shown per spanset when the request does not say (Tempo's `DefaultSpansPerSpanSet`).
pub const DEFAULT_SPANS_PER_SPANSET: usize = 3;

/// What Tempo shows as the root service of a trace whose root span it has not seen.
pub const ROOT_SPAN_NOT_YET_RECEIVED: &str = "<root span not yet received>";

/// One matched trace (`tempopb.TraceSearchMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSearchMetadata {
    /// Trace id, lowercase hex without leading zeros.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// `service.name` of the root span's resource, or [`ROOT_SPAN_NOT_YET_RECEIVED`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_service_name: String,
    /// Name of the root span (empty when not received).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_trace_name: String,
    /// Start of the earliest span.
    #[serde(with = "u64_string")]
    pub start_time_unix_nano: u64,
    /// From the earliest start to the latest end, in whole milliseconds.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub duration_ms: u32,
    /// The first spanset (deprecated in Tempo, still sent for older clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_set: Option<SpanSet>,
    /// Every spanset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub span_sets: Vec<SpanSet>,
    /// Spans and error spans per service over the whole trace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_stats: BTreeMap<String, ServiceStats>,
}

/// Spans of one service in a trace (`tempopb.ServiceStats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStats {
    /// Spans.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub span_count: u32,
    /// Spans with status error.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub error_count: u32,
}

/// One spanset of a result (`tempopb.SpanSet`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanSet {
    /// The first spans, at most the requested number per spanset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<SearchSpan>,
    /// How many spans the spanset had.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub matched: u32,
    /// `by()` values and aggregates (`count()`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
}

/// One span of a result (`tempopb.Span`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchSpan {
    /// Span id, 16 lowercase hex digits.
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// Span name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Start.
    #[serde(default, with = "u64_string", skip_serializing_if = "is_zero_u64")]
    pub start_time_unix_nano: u64,
    /// Duration (left out when 0, as proto JSON leaves out zero values).
    #[serde(default, with = "u64_string", skip_serializing_if = "is_zero_u64")]
    pub duration_nanos: u64,
    /// Values of the attributes the query names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
}

/// An OTLP key/value pair, as OTLP JSON prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: AnyValue,
}

/// An OTLP value, as OTLP JSON prints it (`{"stringValue": "x"}`, `{"intValue": "3"}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnyValue {
    /// A string.
    StringValue(String),
    /// An integer (printed as a string, as for every 64-bit integer in proto JSON).
    IntValue(#[serde(with = "i64_string")] i64),
    /// A float.
    DoubleValue(f64),
    /// A boolean.
    BoolValue(bool),
    /// An array.
    ArrayValue(ArrayValue),
}

/// The values of an [`AnyValue::ArrayValue`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArrayValue {
    /// The values.
    #[serde(default)]
    pub values: Vec<AnyValue>,
}

impl AnyValue {
    /// A value as Tempo's `Static.AsAnyValue` writes it: durations and enums as strings
    /// (`1.5s`, `error`, `server`), `nil` as the string `nil`.
    pub fn from_value(v: &Value<'_>) -> AnyValue {
        let strs = |it: &mut dyn Iterator<Item = AnyValue>| {
            AnyValue::ArrayValue(ArrayValue {
                values: it.collect(),
            })
        };
        match v {
            Value::Nil => AnyValue::StringValue("nil".into()),
            Value::Int(i) => AnyValue::IntValue(*i),
            Value::Float(f) => AnyValue::DoubleValue(*f),
            Value::Str(s) => AnyValue::StringValue(s.to_string()),
            Value::Bool(b) => AnyValue::BoolValue(*b),
            Value::Duration(d) => {
                AnyValue::StringValue(cairn_syntax::gofmt::format_go_duration(*d))
            }
            Value::Status(s) => AnyValue::StringValue(s.name().into()),
            Value::Kind(k) => AnyValue::StringValue(k.name().into()),
            Value::IntArray(a) => strs(&mut a.iter().map(|i| AnyValue::IntValue(*i))),
            Value::FloatArray(a) => strs(&mut a.iter().map(|f| AnyValue::DoubleValue(*f))),
            Value::StrArray(a) => strs(&mut a.iter().map(|s| AnyValue::StringValue(s.to_string()))),
            Value::BoolArray(a) => strs(&mut a.iter().map(|b| AnyValue::BoolValue(*b))),
        }
    }
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            S(String),
            N(u64),
        }
        match N::deserialize(d)? {
            N::S(s) => s.parse().map_err(D::Error::custom),
            N::N(n) => Ok(n),
        }
    }
}

mod i64_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            S(String),
            N(i64),
        }
        match N::deserialize(d)? {
            N::S(s) => s.parse().map_err(D::Error::custom),
            N::N(n) => Ok(n),
        }
    }
}

/// Intrinsics a result shows in its own fields, so never among a span's attributes.
fn shown_anyway(a: &Attribute) -> bool {
    matches!(
        a,
        Attribute::Intrinsic(
            Intrinsic::Name
                | Intrinsic::Duration
                | Intrinsic::TraceDuration
                | Intrinsic::TraceRootService
                | Intrinsic::TraceRootSpan
                | Intrinsic::TraceId
                | Intrinsic::SpanId
        )
    )
}

fn attribute_key(a: &Attribute) -> &str {
    match a {
        Attribute::Named { name, .. } => name,
        Attribute::Intrinsic(i) => i.name(),
    }
}

/// The result for one trace, `None` when the query matched nothing in it. `spss` is the
/// request's spans per spanset (0: [`DEFAULT_SPANS_PER_SPANSET`]).
pub fn trace_result(q: &Compiled, m: &Matches<'_>, spss: usize) -> Option<TraceSearchMetadata> {
    if m.spansets.is_empty() {
        return None;
    }
    let spss = if spss == 0 {
        DEFAULT_SPANS_PER_SPANSET
    } else {
        spss
    };
    let ix = &m.index;
    let trace = ix.trace();
    let (start, end) = ix.time_range_ns().unwrap_or((0, 0));
    let root = ix.root();
    let shown: Vec<&Attribute> = q.attributes().iter().filter(|a| !shown_anyway(a)).collect();
    let span_sets: Vec<SpanSet> = m
        .spansets
        .iter()
        .map(|ss| SpanSet {
            spans: ss
                .spans
                .iter()
                .take(spss)
                .map(|&i| {
                    let s = ix.span(i).span;
                    SearchSpan {
                        span_id: s.span_id.to_hex(),
                        name: s.name.clone(),
                        start_time_unix_nano: s.start_ns,
                        duration_nanos: s.duration_ns(),
                        attributes: shown
                            .iter()
                            .filter_map(|a| {
                                let v = span_value(ix, i, a);
                                (!v.is_nil()).then(|| KeyValue {
                                    key: attribute_key(a).to_string(),
                                    value: AnyValue::from_value(&v),
                                })
                            })
                            .collect(),
                    }
                })
                .collect(),
            matched: u32::try_from(ss.spans.len()).unwrap_or(u32::MAX),
            attributes: ss
                .attributes
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: AnyValue::from_value(v),
                })
                .collect(),
        })
        .collect();
    let root_service = root
        .and_then(|r| r.resource.service_name())
        .filter(|s| !s.is_empty())
        .unwrap_or(ROOT_SPAN_NOT_YET_RECEIVED);
    Some(TraceSearchMetadata {
        trace_id: trace.id().to_hex_trimmed(),
        root_service_name: root_service.to_string(),
        root_trace_name: root.map(|r| r.span.name.clone()).unwrap_or_default(),
        start_time_unix_nano: start,
        duration_ms: u32::try_from(end.saturating_sub(start) / 1_000_000).unwrap_or(u32::MAX),
        span_set: span_sets.first().cloned(),
        span_sets,
        service_stats: service_stats(trace),
    })
}

fn service_stats(trace: &Trace) -> BTreeMap<String, ServiceStats> {
    let mut out: BTreeMap<String, ServiceStats> = BTreeMap::new();
    for (r, _, s) in trace.spans() {
        let st = out
            .entry(r.service_name().unwrap_or_default().to_string())
            .or_default();
        st.span_count += 1;
        if s.status.code == StatusCode::Error {
            st.error_count += 1;
        }
    }
    out
}

/// Runs a search over one trace and writes its result.
pub fn search_trace(
    q: &Compiled,
    trace: &Trace,
    spss: usize,
) -> Result<Option<TraceSearchMetadata>> {
    let m = q.evaluate(trace)?;
    Ok(trace_result(q, &m, spss))
}

/// Runs a search over one trace held in several parts (the head and blocks not yet
/// compacted): the parts are combined into one trace first, so that spanset and structural
/// operators see every span, as they would after compaction.
pub fn search_parts(
    q: &Compiled,
    parts: impl IntoIterator<Item = Trace>,
    spss: usize,
) -> Result<Option<TraceSearchMetadata>> {
    let mut it = parts.into_iter();
    let Some(mut whole) = it.next() else {
        return Ok(None);
    };
    for p in it {
        whole.merge(p);
    }
    search_trace(q, &whole, spss)
}

/// Merges a result for a trace into the result already held for it, as Tempo's
/// `combineSearchResults` does when only the answers, not the spans, can be combined:
/// earliest start, longest duration, the first root names found, service stats by maximum,
/// and spansets matched by their `by` attributes, keeping the one that matched more spans.
pub fn combine_results(existing: &mut TraceSearchMetadata, incoming: TraceSearchMetadata) {
    if existing.trace_id.is_empty() {
        existing.trace_id = incoming.trace_id;
    }
    if existing.root_service_name.is_empty()
        || (existing.root_service_name == ROOT_SPAN_NOT_YET_RECEIVED
            && !incoming.root_service_name.is_empty())
    {
        existing.root_service_name = incoming.root_service_name;
    }
    if existing.root_trace_name.is_empty() {
        existing.root_trace_name = incoming.root_trace_name;
    }
    if existing.start_time_unix_nano == 0
        || existing.start_time_unix_nano > incoming.start_time_unix_nano
    {
        existing.start_time_unix_nano = incoming.start_time_unix_nano;
    }
    existing.duration_ms = existing.duration_ms.max(incoming.duration_ms);
    for (svc, st) in incoming.service_stats {
        let e = existing.service_stats.entry(svc).or_default();
        e.span_count = e.span_count.max(st.span_count);
        e.error_count = e.error_count.max(st.error_count);
    }
    let mut at: HashMap<String, usize> = existing
        .span_sets
        .iter()
        .enumerate()
        .map(|(i, s)| (spanset_id(s), i))
        .collect();
    for ss in incoming.span_sets {
        let id = spanset_id(&ss);
        match at.get(&id) {
            Some(&i) => {
                let e = &mut existing.span_sets[i];
                if e.matched < ss.matched {
                    *e = ss;
                }
            }
            None => {
                at.insert(id, existing.span_sets.len());
                existing.span_sets.push(ss);
            }
        }
    }
    existing.span_set = existing.span_sets.first().cloned();
}

/// A spanset's identity across sources: its `by(...)` attributes.
fn spanset_id(ss: &SpanSet) -> String {
    let mut id = String::new();
    for kv in ss.attributes.iter().filter(|kv| kv.key.starts_with("by")) {
        id.push_str(&kv.key);
        id.push_str(&serde_json::to_string(&kv.value).unwrap_or_default());
    }
    id
}

/// Gathers the results of a search over many traces: at most `limit` traces (0: no limit),
/// a trace seen again combined with [`combine_results`], the answer newest first, as
/// Tempo's metadata combiners. By default the first traces found are kept; with
/// [`SearchResults::most_recent`] (the `most_recent=true` hint) the newest are.
#[derive(Debug, Default)]
pub struct SearchResults {
    limit: usize,
    most_recent: bool,
    traces: Vec<TraceSearchMetadata>,
    at: HashMap<String, usize>,
}

impl SearchResults {
    /// An empty collection keeping the first `limit` traces found (0: no limit).
    pub fn new(limit: usize) -> Self {
        SearchResults {
            limit,
            ..Default::default()
        }
    }

    /// An empty collection keeping the `limit` most recently started traces.
    pub fn most_recent(limit: usize) -> Self {
        SearchResults {
            limit,
            most_recent: true,
            ..Default::default()
        }
    }

    /// Adds a trace's result; false when it was not kept (a new trace past the limit, or
    /// older than every kept one when keeping the most recent).
    pub fn add(&mut self, r: TraceSearchMetadata) -> bool {
        if let Some(&i) = self.at.get(&r.trace_id) {
            combine_results(&mut self.traces[i], r);
            return true;
        }
        if self.limit > 0 && self.traces.len() >= self.limit {
            if !self.most_recent {
                return false;
            }
            let Some((oldest, start)) = self
                .traces
                .iter()
                .enumerate()
                .map(|(i, t)| (i, t.start_time_unix_nano))
                .min_by_key(|(_, s)| *s)
            else {
                return false;
            };
            if start > r.start_time_unix_nano {
                return false;
            }
            let gone = self.traces.swap_remove(oldest);
            self.at.remove(&gone.trace_id);
            if let Some(moved) = self.traces.get(oldest) {
                self.at.insert(moved.trace_id.clone(), oldest);
            }
        }
        self.at.insert(r.trace_id.clone(), self.traces.len());
        self.traces.push(r);
        true
    }

    /// Whether more traces cannot change the answer: the limit is reached and only the
    /// first traces are kept.
    pub fn is_full(&self) -> bool {
        !self.most_recent && self.limit > 0 && self.traces.len() >= self.limit
    }

    /// How many traces are kept.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether no trace is kept.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The traces, the most recently started first.
    pub fn finish(mut self) -> Vec<TraceSearchMetadata> {
        self.traces
            .sort_by_key(|t| std::cmp::Reverse(t.start_time_unix_nano));
        self.traces
    }
}

/// A value offered for a tag (`/api/v2/search/tag/<tag>/values`): its TraceQL type name and
/// its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TagValue {
    /// `string`, `int`, `float`, `bool`, `duration`, or `keyword` (status and kind).
    #[serde(rename = "type")]
    pub kind: String,
    /// The value as text.
    pub value: String,
}

impl TagValue {
    /// The tag value of a span value; `None` for nil and arrays (whose elements are offered
    /// one by one by [`tag_values`]).
    pub fn from_value(v: &Value<'_>) -> Option<TagValue> {
        let (kind, value): (&str, Cow<'_, str>) = match v {
            Value::Str(s) => ("string", Cow::Borrowed(s)),
            Value::Int(i) => ("int", Cow::Owned(i.to_string())),
            Value::Float(f) => ("float", Cow::Owned(f.to_string())),
            Value::Bool(b) => ("bool", Cow::Owned(b.to_string())),
            Value::Duration(d) => (
                "duration",
                Cow::Owned(cairn_syntax::gofmt::format_go_duration(*d)),
            ),
            Value::Status(s) => ("keyword", Cow::Borrowed(s.name())),
            Value::Kind(k) => ("keyword", Cow::Borrowed(k.name())),
            _ => return None,
        };
        Some(TagValue {
            kind: kind.to_string(),
            value: value.into_owned(),
        })
    }
}

/// The attribute a tag names in the tag APIs (`/api/v2/search/tag/<tag>/values`):
/// `span.http.method`, `resource.service.name`, `.foo`, an intrinsic (`name`, `status`,
/// `event:name`...), or a bare `foo` read as `.foo`.
pub fn parse_attribute(tag: &str) -> Result<Attribute> {
    let bad = || crate::Error::Invalid(format!("invalid tag name {tag:?}"));
    let from = |text: &str| -> Option<Attribute> {
        let q = crate::parse(&format!("{{ {text} != nil }}")).ok()?;
        let crate::Expr::Spans(p) = q.expr else {
            return None;
        };
        match p.stages.as_slice() {
            [
                crate::Stage::Spanset(crate::SpansetExpr::Filter(crate::SpansetFilter {
                    expr:
                        crate::FieldExpr::Unary {
                            op: crate::UnaryOp::Exists,
                            expr,
                        },
                })),
            ] => match &**expr {
                crate::FieldExpr::Attribute(a) => Some(a.clone()),
                _ => None,
            },
            _ => None,
        }
    };
    if tag.is_empty() || tag.contains(['{', '}']) {
        return Err(bad());
    }
    from(tag)
        .or_else(|| from(&format!(".{tag}")))
        .ok_or_else(bad)
}

/// Adds the values `tag` takes on the spans a search matched (array elements one by one).
pub fn tag_values(
    m: &Matches<'_>,
    tag: &Attribute,
    out: &mut std::collections::BTreeSet<TagValue>,
) {
    for ss in &m.spansets {
        for &i in &ss.spans {
            match span_value(&m.index, i, tag) {
                Value::IntArray(a) => out.extend(
                    a.into_iter()
                        .filter_map(|x| TagValue::from_value(&Value::Int(x))),
                ),
                Value::FloatArray(a) => out.extend(
                    a.into_iter()
                        .filter_map(|x| TagValue::from_value(&Value::Float(x))),
                ),
                Value::StrArray(a) => out.extend(
                    a.into_iter()
                        .filter_map(|x| TagValue::from_value(&Value::Str(x))),
                ),
                Value::BoolArray(a) => out.extend(
                    a.into_iter()
                        .filter_map(|x| TagValue::from_value(&Value::Bool(x))),
                ),
                v => out.extend(TagValue::from_value(&v)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, start: u64) -> TraceSearchMetadata {
        TraceSearchMetadata {
            trace_id: id.into(),
            start_time_unix_nano: start,
            ..Default::default()
        }
    }

    #[test]
    fn tag_names() {
        use crate::{Intrinsic, Scope};
        let named = |scope, name: &str| Attribute::Named {
            scope,
            parent: false,
            name: name.into(),
        };
        assert_eq!(
            parse_attribute("resource.service.name").ok(),
            Some(named(Scope::Resource, "service.name"))
        );
        assert_eq!(
            parse_attribute("span.http.method").ok(),
            Some(named(Scope::Span, "http.method"))
        );
        assert_eq!(
            parse_attribute(".foo").ok(),
            Some(named(Scope::None, "foo"))
        );
        assert_eq!(parse_attribute("foo").ok(), Some(named(Scope::None, "foo")));
        assert_eq!(
            parse_attribute("status").ok(),
            Some(Attribute::Intrinsic(Intrinsic::Status))
        );
        assert!(parse_attribute("a } || { true").is_err());
        assert!(parse_attribute("").is_err());
    }

    #[test]
    fn limits_keep_the_first_or_the_newest() {
        let mut first = SearchResults::new(2);
        assert!(first.add(meta("a", 10)));
        assert!(first.add(meta("b", 30)));
        assert!(!first.add(meta("c", 20)));
        assert!(first.is_full());
        let ids: Vec<String> = first.finish().into_iter().map(|t| t.trace_id).collect();
        assert_eq!(ids, ["b", "a"]);

        let mut newest = SearchResults::most_recent(2);
        assert!(newest.add(meta("a", 10)));
        assert!(newest.add(meta("b", 30)));
        assert!(newest.add(meta("c", 20)));
        assert!(!newest.add(meta("d", 5)));
        assert!(newest.add(meta("c", 1)), "a kept trace combines");
        let ids: Vec<(String, u64)> = newest
            .finish()
            .into_iter()
            .map(|t| (t.trace_id, t.start_time_unix_nano))
            .collect();
        assert_eq!(ids, [("b".to_string(), 30), ("c".to_string(), 1)]);
    }
}
