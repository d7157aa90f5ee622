//! Hand-built spans and batches, and a scrape to read collected samples by name and labels.

#![allow(dead_code)]

use cairn_model::{
    AttrValue, Attribute, Labels, Resource, ResourceSpans, Sample, Scope, ScopeSpans, Span, SpanId,
    SpanKind, Status, StatusCode, TraceBatch, TraceId,
};

/// Nanoseconds of `ms` milliseconds after a fixed start.
pub(crate) fn at_ms(ms: u64) -> u64 {
    1_700_000_000_000_000_000 + ms * 1_000_000
}

/// A span of trace `trace` with id `id`, parent `parent`, lasting `dur_ms`.
pub(crate) fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    kind: SpanKind,
    name: &str,
    dur_ms: u64,
) -> Span {
    Span {
        trace_id: TraceId([trace; 16]),
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: name.into(),
        kind,
        start_ns: at_ms(0),
        end_ns: at_ms(dur_ms),
        ..Span::default()
    }
}

/// Builder-style changes to a span.
pub(crate) trait SpanExt {
    /// With status code `code`.
    fn status(self, code: StatusCode) -> Self;
    /// With attribute `k` = `v`.
    fn attr(self, k: &str, v: impl Into<AttrValue>) -> Self;
    /// Starting at `start_ms`, lasting `dur_ms`.
    fn times(self, start_ms: u64, dur_ms: u64) -> Self;
}

impl SpanExt for Span {
    fn status(mut self, code: StatusCode) -> Self {
        self.status = Status {
            code,
            message: String::new(),
        };
        self
    }

    fn attr(mut self, k: &str, v: impl Into<AttrValue>) -> Self {
        self.attributes.push(Attribute::new(k, v));
        self
    }

    fn times(mut self, start_ms: u64, dur_ms: u64) -> Self {
        self.start_ns = at_ms(start_ms);
        self.end_ns = at_ms(start_ms + dur_ms);
        self
    }
}

/// A resource with `service.name` = `service` (none when empty) and more attributes.
pub(crate) fn resource(service: &str, attrs: &[(&str, &str)]) -> Resource {
    let mut attributes = Vec::new();
    if !service.is_empty() {
        attributes.push(Attribute::new("service.name", service));
    }
    attributes.extend(attrs.iter().map(|(k, v)| Attribute::new(*k, *v)));
    Resource {
        attributes,
        dropped_attributes_count: 0,
    }
}

/// A batch of one scope per resource.
pub(crate) fn batch(groups: Vec<(Resource, Vec<Span>)>) -> TraceBatch {
    TraceBatch {
        resources: groups
            .into_iter()
            .map(|(resource, spans)| ResourceSpans {
                resource,
                schema_url: String::new(),
                scopes: vec![ScopeSpans {
                    scope: Scope::default(),
                    schema_url: String::new(),
                    spans,
                }],
            })
            .collect(),
    }
}

/// A batch of spans of one service.
pub(crate) fn of(service: &str, spans: Vec<Span>) -> TraceBatch {
    batch(vec![(resource(service, &[]), spans)])
}

/// What one collection returned.
pub(crate) struct Scrape(pub(crate) Vec<(Labels, Sample)>);

impl Scrape {
    /// The value at `t` of the series with exactly these labels (plus `__name__`).
    pub(crate) fn at(&self, t: i64, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want = series(name, labels);
        let mut found = self.0.iter().filter(|(l, s)| *l == want && s.t == t);
        let v = found.next().map(|(_, s)| s.v);
        assert!(found.next().is_none(), "two samples of {want} at {t}");
        v
    }

    /// The latest value of the series with exactly these labels.
    pub(crate) fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want = series(name, labels);
        self.0
            .iter()
            .filter(|(l, _)| *l == want)
            .max_by_key(|(_, s)| s.t)
            .map(|(_, s)| s.v)
    }

    /// Every label set of metric `name`.
    pub(crate) fn series_of(&self, name: &str) -> Vec<Labels> {
        let mut v: Vec<Labels> = self
            .0
            .iter()
            .filter(|(l, _)| l.metric_name() == Some(name))
            .map(|(l, _)| l.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every metric name present.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .iter()
            .filter_map(|(l, _)| l.metric_name().map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The label set `labels` with `__name__` = `name`.
pub(crate) fn series(name: &str, labels: &[(&str, &str)]) -> Labels {
    let mut pairs = vec![("__name__", name)];
    pairs.extend_from_slice(labels);
    Labels::from_pairs(pairs).expect("valid test labels")
}
