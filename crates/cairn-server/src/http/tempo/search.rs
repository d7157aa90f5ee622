//! `/api/search` (TraceQL `q`, or Tempo's older `tags` with `minDuration`/`maxDuration`),
//! `/api/search/tags`, `/api/v2/search/tags`, `/api/search/tag/<t>/values` and
//! `/api/v2/search/tag/<t>/values`, answered in Tempo's JSON shapes.
//!
//! A search reads the head, then blocks newest first, and stops at `limit` traces, so the
//! answer holds the most recent matches; a trace whose spans are still split between the
//! head and a block is evaluated once per part and the answers combined, as Tempo combines
//! them before compaction. Requests without `start`/`end` look at the last hour.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cairn_model::{AttrValue, Resource, Span, StatusCode as SpanStatus, Trace, find_attr};
use cairn_store::TraceFilter;
use cairn_traceql::{Attribute, Compiled, Expr, SearchResults, TagValue, TraceSearchMetadata};
use serde_json::json;

use super::params::{self, SearchParams, param, seconds_range};
use super::pushdown::trace_filter;
use super::scan::scan;
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::logs::now_ns;

/// At most this many bytes of tag values are answered (Tempo's
/// `max_bytes_per_tag_values_query` default).
const MAX_TAG_VALUE_BYTES: usize = 1_000_000;

/// The intrinsics `/api/v2/search/tags` offers, as Tempo lists them.
const INTRINSICS: [&str; 20] = [
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:kind",
    "span:name",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_data(msg, Style::Text)
}

/// A search query, compiled, whether it asks for the most recent traces
/// (`with(most_recent=true)`) rather than the first found, and the store filter for the
/// traces it can match.
fn compile_search(q: &str) -> Result<(Compiled, bool, TraceFilter), ApiError> {
    let query = cairn_traceql::parse_and_validate(q)
        .map_err(|e| bad(format!("invalid TraceQL query: {e}")))?;
    let most_recent = query
        .hints
        .iter()
        .any(|h| h.name == "most_recent" && h.value == cairn_traceql::Static::Bool(true));
    if matches!(query.expr, Expr::Metrics(_)) {
        return Err(bad(
            "invalid TraceQL query: a metrics query runs on /api/metrics/query_range, not /api/search",
        ));
    }
    let c = Compiled::new(&query).map_err(|e| bad(format!("invalid TraceQL query: {e}")))?;
    Ok((c, most_recent, trace_filter(&query)))
}

fn match_all() -> Compiled {
    // `{}` always parses and compiles; a failure here is a bug in the parser.
    cairn_traceql::parse("{}")
        .ok()
        .and_then(|q| Compiled::new(&q).ok())
        .unwrap_or_else(|| unreachable!("the query {{}} does not compile"))
}

/// Whether `v` is a string containing `needle`, Tempo's substring match on dedicated
/// columns.
fn contains(v: Option<&AttrValue>, needle: &str) -> bool {
    v.and_then(AttrValue::as_str)
        .is_some_and(|s| s.contains(needle))
}

fn value_text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::String(s) => Some(s.clone()),
        AttrValue::Int(i) => Some(i.to_string()),
        AttrValue::Double(d) => Some(d.to_string()),
        AttrValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One `tags` condition on one span, as Tempo's block search tests it: substrings on the
/// columns it keeps apart (`name`, `service.name`, `http.method`, `http.url`, root names),
/// the status by name, `http.status_code` as a number, and any other key equal to a span
/// or resource attribute.
fn span_matches_tag(
    trace: &Trace,
    resource: &Resource,
    span: &Span,
    key: &str,
    value: &str,
) -> bool {
    match key {
        "name" => span.name.contains(value),
        "service.name" => contains(find_attr(&resource.attributes, key), value),
        "http.method" | "http.url" => contains(find_attr(&span.attributes, key), value),
        "root.service.name" => trace
            .root()
            .and_then(|(r, _)| r.service_name())
            .is_some_and(|s| s.contains(value)),
        "root.name" => trace.root().is_some_and(|(_, s)| s.name.contains(value)),
        "status.code" => {
            let want = match value {
                "unset" | "STATUS_CODE_UNSET" => SpanStatus::Unset,
                "ok" | "STATUS_CODE_OK" => SpanStatus::Ok,
                "error" | "STATUS_CODE_ERROR" => SpanStatus::Error,
                _ => return false,
            };
            span.status.code == want
        }
        "http.status_code" => match value.parse::<i64>() {
            Ok(n) => find_attr(&span.attributes, key) == Some(&AttrValue::Int(n)),
            Err(_) => contains(find_attr(&span.attributes, key), value),
        },
        _ => [&span.attributes, &resource.attributes]
            .into_iter()
            .flat_map(|a| a.iter())
            .any(|a| a.key == key && value_text(&a.value).is_some_and(|v| v == value)),
    }
}

fn trace_matches_tags(trace: &Trace, tags: &[(String, String)]) -> bool {
    tags.iter().all(|(k, v)| {
        trace
            .spans()
            .any(|(r, _, s)| span_matches_tag(trace, r, s, k, v))
    })
}

fn duration_ok(trace: &Trace, p: &SearchParams) -> bool {
    let Some((s, e)) = trace.time_range_ns() else {
        return false;
    };
    let d = e.saturating_sub(s);
    // Tempo compares whole milliseconds.
    let ms = |ns: u64| ns / 1_000_000 * 1_000_000;
    d >= ms(p.min_duration_ns) && (p.max_duration_ns == 0 || d <= ms(p.max_duration_ns))
}

/// `GET /api/search`.
pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let tenant = state.tenant(&headers, Style::Text)?;
    let p = params::search_params(&q, now_ns() as u64).map_err(bad)?;
    let tag_search = p.query.is_none();
    let (compiled, most_recent, filter) = match &p.query {
        Some(q) => compile_search(q)?,
        None => (match_all(), false, TraceFilter::All),
    };
    let range = p.range;
    let spss = p.spss;
    // The scan reads the newest data first; `most_recent` reads on and keeps the newest
    // starts, at the cost of reading the whole range.
    let acc = if most_recent {
        SearchResults::most_recent(p.limit)
    } else {
        SearchResults::new(p.limit)
    };
    let (results, stats) = scan(
        &state,
        tenant,
        range,
        filter,
        "tempo_search",
        acc,
        move |acc: &mut SearchResults, t: Trace| {
            if !duration_ok(&t, &p) || !trace_matches_tags(&t, &p.tags) {
                return Ok(ControlFlow::Continue(()));
            }
            let found = cairn_traceql::search_trace(&compiled, &t, spss)
                .map_err(|e| format!("cannot evaluate the query: {e}"))?;
            if let Some(mut r) = found {
                if tag_search {
                    r.span_set = None;
                    r.span_sets.clear();
                }
                if !acc.add(r) && !most_recent {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    )
    .await?;
    let traces: Vec<TraceSearchMetadata> = results.finish();
    Ok(Json(json!({
        "traces": traces,
        "metrics": {
            "inspectedTraces": stats.traces,
            "totalBlocks": stats.blocks,
        },
    }))
    .into_response())
}

const SCOPES: [&str; 6] = [
    "resource",
    "span",
    "event",
    "link",
    "instrumentation",
    "intrinsic",
];

fn check_scope(q: &HashMap<String, String>) -> Result<Option<&str>, ApiError> {
    match param(q, "scope") {
        None | Some("all") => Ok(None),
        Some(s) if SCOPES.contains(&s) => Ok(Some(s)),
        Some(s) => Err(bad(format!("invalid scope: {s}"))),
    }
}

/// Adds the keys of `attrs` not yet in `set` (cloning only new ones).
fn add_keys(set: &mut BTreeSet<String>, attrs: &[cairn_model::Attribute]) {
    for a in attrs {
        if !set.contains(&a.key) {
            set.insert(a.key.clone());
        }
    }
}

/// Tag names by scope, from the store's per-block lists and the head, or (v2 with a `q`
/// that parses) from the spans that `q` matches.
async fn tag_names(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<Vec<(&'static str, Vec<String>)>, ApiError> {
    let tenant = state.tenant(headers, Style::Text)?;
    let range = seconds_range(q, now_ns() as u64).map_err(bad)?;
    let filter = param(q, "q").and_then(|s| compile_search(s).ok());
    let mut out: Vec<(&'static str, Vec<String>)> = match filter {
        None => {
            let store = state.traces_store(Style::Text)?;
            let names = store.trace_tag_names(&tenant, range).await.map_err(|f| {
                ApiError::unavailable(format!("cannot read tag names: {}", f.message), Style::Text)
            })?;
            vec![
                ("resource", names.resource),
                ("span", names.span),
                ("event", names.event),
                ("link", names.link),
                ("instrumentation", names.scope),
            ]
        }
        Some((compiled, _, pushed)) => {
            let acc: [BTreeSet<String>; 5] = Default::default();
            let (sets, _) = scan(
                state,
                tenant,
                range,
                pushed,
                "tempo_tags",
                acc,
                move |acc, t| {
                    let m = compiled
                        .evaluate(&t)
                        .map_err(|e| format!("cannot evaluate the query: {e}"))?;
                    for ss in &m.spansets {
                        for &i in &ss.spans {
                            let sr = m.index.span(i);
                            add_keys(&mut acc[0], &sr.resource.attributes);
                            add_keys(&mut acc[1], &sr.span.attributes);
                            for e in &sr.span.events {
                                add_keys(&mut acc[2], &e.attributes);
                            }
                            for l in &sr.span.links {
                                add_keys(&mut acc[3], &l.attributes);
                            }
                            add_keys(&mut acc[4], &sr.scope.attributes);
                        }
                    }
                    Ok(ControlFlow::Continue(()))
                },
            )
            .await?;
            let [r, s, e, l, i] = sets;
            vec![
                ("resource", r.into_iter().collect()),
                ("span", s.into_iter().collect()),
                ("event", e.into_iter().collect()),
                ("link", l.into_iter().collect()),
                ("instrumentation", i.into_iter().collect()),
            ]
        }
    };
    out.push((
        "intrinsic",
        INTRINSICS.iter().map(|s| s.to_string()).collect(),
    ));
    if let Some(limit) = param(q, "limit")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        for (_, tags) in &mut out {
            tags.truncate(limit);
        }
    }
    Ok(out)
}

/// `GET /api/search/tags`: `{"tagNames": [...]}`; span and resource names unless `scope`
/// says otherwise.
pub(super) async fn search_tags(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let scope = check_scope(&q)?;
    let scopes = tag_names(&state, &headers, &q).await?;
    let mut names = BTreeSet::new();
    for (name, tags) in scopes {
        let wanted = match scope {
            None => name == "resource" || name == "span",
            Some(s) => s == name,
        };
        if wanted {
            names.extend(tags);
        }
    }
    Ok(Json(json!({ "tagNames": names, "metrics": {} })).into_response())
}

/// `GET /api/v2/search/tags`: `{"scopes": [{"name", "tags"}]}`, every scope unless `scope`
/// names one; `q` keeps the names seen on spans it matches.
pub(super) async fn search_tags_v2(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let scope = check_scope(&q)?;
    let scopes: Vec<_> = tag_names(&state, &headers, &q)
        .await?
        .into_iter()
        .filter(|(name, tags)| scope.map_or(!tags.is_empty(), |s| s == *name))
        .map(|(name, tags)| json!({ "name": name, "tags": tags }))
        .collect();
    Ok(Json(json!({ "scopes": scopes, "metrics": {} })).into_response())
}

/// `GET /api/search/tag/<tag>/values`: the values (as text) of a span or resource
/// attribute.
pub(super) async fn tag_values(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let tenant = state.tenant(&headers, Style::Text)?;
    let range = seconds_range(&q, now_ns() as u64).map_err(bad)?;
    let limit = value_limit(&q);
    let acc = Values::default();
    let (values, _) = scan(
        &state,
        tenant,
        range,
        TraceFilter::All,
        "tempo_tag_values",
        acc,
        move |acc: &mut Values, t| {
            for (r, _, s) in t.spans() {
                for a in s.attributes.iter().chain(&r.attributes) {
                    if a.key == tag
                        && let Some(v) = value_text(&a.value)
                        && acc.add(v, limit)
                    {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    )
    .await?;
    Ok(Json(json!({ "tagValues": values.set, "metrics": {} })).into_response())
}

fn value_limit(q: &HashMap<String, String>) -> usize {
    param(q, "limit")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
}

/// Distinct values, bounded by count (`limit`) and by [`MAX_TAG_VALUE_BYTES`].
struct Values<T: Ord = String> {
    set: BTreeSet<T>,
    bytes: usize,
}

impl<T: Ord> Default for Values<T> {
    fn default() -> Self {
        Values {
            set: BTreeSet::new(),
            bytes: 0,
        }
    }
}

impl<T: Ord> Values<T> {
    /// Adds a value of `len` bytes; true when the answer is full.
    fn add_sized(&mut self, v: T, len: usize, limit: usize) -> bool {
        if self.set.insert(v) {
            self.bytes += len;
        }
        (limit > 0 && self.set.len() >= limit) || self.bytes >= MAX_TAG_VALUE_BYTES
    }
}

impl Values<String> {
    fn add(&mut self, v: String, limit: usize) -> bool {
        let n = v.len();
        self.add_sized(v, n, limit)
    }
}

/// The attribute a v2 tag names (`.a`, `span.a`, `resource.service.name`, `name`,
/// `status`...), read as TraceQL reads it.
fn tag_attribute(tag: &str) -> Result<Attribute, ApiError> {
    cairn_traceql::parse_attribute(tag).map_err(|e| bad(e.to_string()))
}

/// `GET /api/v2/search/tag/<tag>/values`: typed values of a TraceQL identifier, among the
/// spans `q` matches when it is a search query that parses (every span otherwise, as Tempo
/// falls back to the whole list).
pub(super) async fn tag_values_v2(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let attr = tag_attribute(&tag)?;
    let keywords: Option<&[&str]> = match &attr {
        Attribute::Intrinsic(cairn_traceql::Intrinsic::Status) => Some(&["error", "ok", "unset"]),
        Attribute::Intrinsic(cairn_traceql::Intrinsic::Kind) => Some(&[
            "client",
            "consumer",
            "internal",
            "producer",
            "server",
            "unspecified",
        ]),
        _ => None,
    };
    if let Some(words) = keywords {
        let values: Vec<_> = words
            .iter()
            .map(|w| json!({ "type": "keyword", "value": w }))
            .collect();
        return Ok(Json(json!({ "tagValues": values, "metrics": {} })).into_response());
    }
    let tenant = state.tenant(&headers, Style::Text)?;
    let range = seconds_range(&q, now_ns() as u64).map_err(bad)?;
    let (filter, pushed) = param(&q, "q")
        .and_then(|s| compile_search(s).ok())
        .map_or_else(|| (match_all(), TraceFilter::All), |(c, _, f)| (c, f));
    let limit = value_limit(&q);
    let acc: Values<TagValue> = Values::default();
    let (values, _) = scan(
        &state,
        tenant,
        range,
        pushed,
        "tempo_tag_values",
        acc,
        move |acc, t| {
            let m = filter
                .evaluate(&t)
                .map_err(|e| format!("cannot evaluate the query: {e}"))?;
            let mut found = BTreeSet::new();
            cairn_traceql::tag_values(&m, &attr, &mut found);
            for v in found {
                let n = v.value.len();
                if acc.add_sized(v, n, limit) {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    )
    .await?;
    Ok(Json(json!({ "tagValues": values.set, "metrics": {} })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{ResourceSpans, ScopeSpans, SpanId, TraceId};

    fn trace() -> Trace {
        let span =
            |id: u8, parent: Option<u8>, name: &str, attrs: Vec<cairn_model::Attribute>| Span {
                trace_id: TraceId([1; 16]),
                span_id: SpanId([id; 8]),
                parent_span_id: parent.map(|p| SpanId([p; 8])),
                name: name.into(),
                start_ns: 1_000_000_000,
                end_ns: 1_250_000_000,
                attributes: attrs,
                ..Span::default()
            };
        let mut failing = span(
            2,
            Some(1),
            "SELECT",
            vec![cairn_model::Attribute::new("http.status_code", 503i64)],
        );
        failing.status.code = SpanStatus::Error;
        Trace::from_resources(
            TraceId([1; 16]),
            vec![ResourceSpans {
                resource: Resource {
                    attributes: vec![
                        cairn_model::Attribute::new("service.name", "cart-service"),
                        cairn_model::Attribute::new("region", "eu-west"),
                    ],
                    ..Resource::default()
                },
                scopes: vec![ScopeSpans {
                    spans: vec![
                        span(
                            1,
                            None,
                            "GET /cart",
                            vec![cairn_model::Attribute::new("http.method", "GET")],
                        ),
                        failing,
                    ],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        )
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_search_follows_tempo_block_search() {
        let t = trace();
        assert!(trace_matches_tags(&t, &tags(&[("service.name", "cart")])));
        assert!(trace_matches_tags(
            &t,
            &tags(&[("root.name", "/cart"), ("status.code", "error")])
        ));
        assert!(trace_matches_tags(
            &t,
            &tags(&[("http.status_code", "503"), ("region", "eu-west")])
        ));
        assert!(
            !trace_matches_tags(&t, &tags(&[("region", "eu")])),
            "generic tags are exact"
        );
        assert!(!trace_matches_tags(
            &t,
            &tags(&[("http.status_code", "500")])
        ));
        assert!(!trace_matches_tags(
            &t,
            &tags(&[("service.name", "cart"), ("name", "POST")])
        ));
    }

    #[test]
    fn durations_compare_in_milliseconds() {
        let t = trace();
        let p = |min: u64, max: u64| SearchParams {
            min_duration_ns: min,
            max_duration_ns: max,
            ..SearchParams::default()
        };
        assert!(duration_ok(&t, &p(250_000_000, 0)));
        assert!(!duration_ok(&t, &p(251_000_000, 0)));
        assert!(duration_ok(&t, &p(0, 250_000_000)));
        assert!(!duration_ok(&t, &p(0, 249_000_000)));
    }

    #[test]
    fn v2_tags_read_as_traceql_identifiers() {
        assert_eq!(
            tag_attribute(".service.name").unwrap(),
            Attribute::Named {
                scope: cairn_traceql::Scope::None,
                parent: false,
                name: "service.name".into()
            }
        );
        assert_eq!(
            tag_attribute("resource.k8s.pod.name").unwrap(),
            Attribute::Named {
                scope: cairn_traceql::Scope::Resource,
                parent: false,
                name: "k8s.pod.name".into()
            }
        );
        assert_eq!(
            tag_attribute("status").unwrap(),
            Attribute::Intrinsic(cairn_traceql::Intrinsic::Status)
        );
        assert!(tag_attribute("service name").is_err());
        assert!(tag_attribute(") | count(").is_err());
    }
}
