//! The TraceQL conformance suite: hand-built traces (`conformance/traces.yaml`), search cases
//! (`conformance/search.yaml`) and metrics cases (`conformance/metrics.yaml`), each with its
//! expected answer worked out from Tempo's documented semantics. Every case runs; the test
//! fails listing every case that did not give its answer.

use std::collections::BTreeMap;

use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId,
    SpanKind, Status, StatusCode, Trace, TraceId,
};
use cairn_traceql::{
    Compiled, MetricsEvaluator, QueryRange, SearchResults, TagValue, parse_and_validate, pushdown,
    search_trace, tag_values,
};
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

/// The suite's base time: 1699999980 s, a multiple of a minute.
const BASE_NS: u64 = 1_699_999_980 * 1_000_000_000;

fn read(name: &str) -> String {
    let path = format!("{}/tests/conformance/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Deserialize)]
struct TracesFile {
    traces: Vec<TraceDef>,
}

#[derive(Deserialize)]
struct TraceDef {
    id: String,
    hex: String,
    resources: Vec<ResourceDef>,
}

#[derive(Deserialize)]
struct ResourceDef {
    #[serde(default)]
    attributes: BTreeMap<String, Yaml>,
    scopes: Vec<ScopeDef>,
}

#[derive(Deserialize)]
struct ScopeDef {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    attributes: BTreeMap<String, Yaml>,
    spans: Vec<SpanDef>,
}

#[derive(Deserialize)]
struct SpanDef {
    id: String,
    hex: String,
    #[serde(default)]
    parent: Option<String>,
    name: String,
    kind: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: String,
    start: u64,
    duration: u64,
    #[serde(default)]
    attributes: BTreeMap<String, Yaml>,
    #[serde(default)]
    events: Vec<EventDef>,
    #[serde(default)]
    links: Vec<LinkDef>,
}

#[derive(Deserialize)]
struct EventDef {
    name: String,
    time: u64,
    #[serde(default)]
    attributes: BTreeMap<String, Yaml>,
}

#[derive(Deserialize)]
struct LinkDef {
    trace: String,
    span: String,
    #[serde(default)]
    attributes: BTreeMap<String, Yaml>,
}

fn value(y: &Yaml) -> AttrValue {
    match y {
        Yaml::Bool(b) => AttrValue::Bool(*b),
        Yaml::Number(n) if n.is_i64() => AttrValue::Int(n.as_i64().unwrap_or_default()),
        Yaml::Number(n) => AttrValue::Double(n.as_f64().unwrap_or_default()),
        Yaml::String(s) => AttrValue::String(s.clone()),
        Yaml::Sequence(items) => AttrValue::Array(items.iter().map(value).collect()),
        other => panic!("unsupported attribute value {other:?}"),
    }
}

fn attrs(m: &BTreeMap<String, Yaml>) -> Vec<Attribute> {
    m.iter()
        .map(|(k, v)| Attribute::new(k.clone(), value(v)))
        .collect()
}

fn ms(t: u64) -> u64 {
    BASE_NS + t * 1_000_000
}

/// The fixture's traces, and each span's label by its hex id.
fn fixture() -> (Vec<(String, Trace)>, BTreeMap<String, String>) {
    let file: TracesFile = serde_yaml_ng::from_str(&read("traces.yaml")).expect("traces.yaml");
    let mut labels = BTreeMap::new();
    let mut hex_of = BTreeMap::new();
    for t in &file.traces {
        for r in &t.resources {
            for s in r.scopes.iter().flat_map(|s| &s.spans) {
                labels.insert(s.hex.clone(), s.id.clone());
                hex_of.insert(s.id.clone(), s.hex.clone());
            }
        }
    }
    let traces = file
        .traces
        .iter()
        .map(|t| {
            let id = TraceId::from_hex(&t.hex).expect("trace hex");
            let resources = t
                .resources
                .iter()
                .map(|r| ResourceSpans {
                    resource: Resource {
                        attributes: attrs(&r.attributes),
                        ..Default::default()
                    },
                    schema_url: String::new(),
                    scopes: r
                        .scopes
                        .iter()
                        .map(|sc| ScopeSpans {
                            scope: Scope {
                                name: sc.name.clone(),
                                version: sc.version.clone(),
                                attributes: attrs(&sc.attributes),
                                ..Default::default()
                            },
                            schema_url: String::new(),
                            spans: sc.spans.iter().map(|s| span(id, s, &hex_of)).collect(),
                        })
                        .collect(),
                })
                .collect();
            (t.id.clone(), Trace::from_resources(id, resources))
        })
        .collect();
    (traces, labels)
}

fn span(trace_id: TraceId, s: &SpanDef, hex_of: &BTreeMap<String, String>) -> Span {
    let parent = s.parent.as_ref().map(|p| {
        let hex = hex_of.get(p).unwrap_or(p);
        SpanId::from_hex(hex).expect("parent hex")
    });
    Span {
        trace_id,
        span_id: SpanId::from_hex(&s.hex).expect("span hex"),
        parent_span_id: parent,
        name: s.name.clone(),
        kind: SpanKind::ALL
            .into_iter()
            .find(|k| k.traceql_name() == s.kind)
            .expect("kind"),
        start_ns: ms(s.start),
        end_ns: ms(s.start + s.duration),
        status: Status {
            code: match s.status.as_deref() {
                Some("error") => StatusCode::Error,
                Some("ok") => StatusCode::Ok,
                _ => StatusCode::Unset,
            },
            message: s.message.clone(),
        },
        attributes: attrs(&s.attributes),
        events: s
            .events
            .iter()
            .map(|e| Event {
                time_ns: ms(e.time),
                name: e.name.clone(),
                attributes: attrs(&e.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| Link {
                trace_id: TraceId::from_hex(&l.trace).expect("link trace"),
                span_id: SpanId::from_hex(&l.span).expect("link span"),
                attributes: attrs(&l.attributes),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[derive(Deserialize)]
struct SearchCase {
    query: String,
    checks: String,
    source: String,
    #[serde(default)]
    expect: Option<BTreeMap<String, Vec<Vec<String>>>>,
    #[serde(default)]
    error: Option<String>,
}

type Spansets = BTreeMap<String, Vec<Vec<String>>>;

fn normalise(mut m: Spansets) -> Spansets {
    for sets in m.values_mut() {
        for s in sets.iter_mut() {
            s.sort();
        }
        sets.sort();
    }
    m
}

fn run_search(
    case: &SearchCase,
    traces: &[(String, Trace)],
    labels: &BTreeMap<String, String>,
) -> Result<Spansets, String> {
    let q = parse_and_validate(&case.query).map_err(|e| format!("refused: {e}"))?;
    let compiled = Compiled::new(&q).map_err(|e| format!("does not compile: {e}"))?;
    let mut got = Spansets::new();
    for (name, t) in traces {
        let m = compiled.evaluate(t).map_err(|e| e.to_string())?;
        if m.spansets.is_empty() {
            continue;
        }
        let sets = m
            .spansets
            .iter()
            .map(|ss| {
                ss.spans
                    .iter()
                    .map(|&i| labels[&m.index.span(i).span.span_id.to_hex()].clone())
                    .collect()
            })
            .collect();
        got.insert(name.clone(), sets);
    }
    Ok(normalise(got))
}

#[test]
fn search_cases() {
    let (traces, labels) = fixture();
    let cases: Vec<SearchCase> =
        serde_yaml_ng::from_str(&read("search.yaml")).expect("search.yaml");
    assert!(cases.len() > 80, "the suite lost cases: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            !case.checks.is_empty() && !case.source.is_empty(),
            "{}",
            case.query
        );
        let got = run_search(case, &traces, &labels);
        match (&case.error, &case.expect, got) {
            (Some(want), _, Err(e)) if e.contains(want.as_str()) => {}
            (Some(want), _, other) => failures.push(format!(
                "{}: expected an error containing {want:?}, got {other:?}",
                case.query
            )),
            (None, Some(want), Ok(got)) => {
                let want = normalise(want.clone());
                if got != want {
                    failures.push(format!(
                        "{} ({}): expected {want:?}, got {got:?}",
                        case.query, case.checks
                    ));
                }
            }
            (None, _, got) => failures.push(format!("{}: {got:?}", case.query)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} search cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct MetricsCase {
    query: String,
    checks: String,
    source: String,
    range: [u64; 3],
    expect: BTreeMap<String, Vec<[f64; 2]>>,
}

fn run_metrics(
    case: &MetricsCase,
    traces: &[(String, Trace)],
) -> Result<BTreeMap<String, Vec<[f64; 2]>>, String> {
    run_metrics_on(case, traces.iter().map(|(_, t)| t))
}

fn run_metrics_on<'a>(
    case: &MetricsCase,
    traces: impl Iterator<Item = &'a Trace>,
) -> Result<BTreeMap<String, Vec<[f64; 2]>>, String> {
    let q = parse_and_validate(&case.query).map_err(|e| format!("refused: {e}"))?;
    let s = 1_000_000_000;
    let range = QueryRange {
        start_ns: BASE_NS + case.range[0] * s,
        end_ns: BASE_NS + case.range[1] * s,
        step_ns: case.range[2] * s,
    };
    let mut ev = MetricsEvaluator::new(&q, range).map_err(|e| e.to_string())?;
    for t in traces {
        ev.observe(t).map_err(|e| e.to_string())?;
    }
    let base_ms = (BASE_NS / 1_000_000) as i64;
    Ok(ev
        .finish()
        .series
        .into_iter()
        .map(|ts| {
            let samples = ts
                .samples
                .iter()
                .map(|p| [(p.timestamp_ms - base_ms) as f64 / 1000.0, p.value])
                .collect();
            (ts.prom_labels, samples)
        })
        .collect())
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn metrics_cases() {
    let (traces, _) = fixture();
    let cases: Vec<MetricsCase> =
        serde_yaml_ng::from_str(&read("metrics.yaml")).expect("metrics.yaml");
    assert!(cases.len() >= 14, "the suite lost cases: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            !case.checks.is_empty() && !case.source.is_empty(),
            "{}",
            case.query
        );
        match run_metrics(case, &traces) {
            Err(e) => failures.push(format!("{}: {e}", case.query)),
            Ok(got) => {
                let same = got.len() == case.expect.len()
                    && case.expect.iter().all(|(k, want)| {
                        got.get(k).is_some_and(|g| {
                            g.len() == want.len()
                                && g.iter()
                                    .zip(want)
                                    .all(|(a, b)| close(a[0], b[0]) && close(a[1], b[1]))
                        })
                    });
                if !same {
                    failures.push(format!(
                        "{} ({}): expected {:?}, got {got:?}",
                        case.query, case.checks, case.expect
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} metrics cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The pushdown condition of every search case holds on every trace the case matches (and on
/// every trace whose evaluation fails), and it leaves out some traces over the suite.
#[test]
fn pushdown_keeps_every_match() {
    let (traces, _) = fixture();
    let cases: Vec<SearchCase> =
        serde_yaml_ng::from_str(&read("search.yaml")).expect("search.yaml");
    let (mut failures, mut left_out) = (Vec::new(), 0);
    for case in &cases {
        let Ok(q) = parse_and_validate(&case.query) else {
            continue;
        };
        let Ok(compiled) = Compiled::new(&q) else {
            continue;
        };
        let cond = pushdown(&q);
        for (name, t) in &traces {
            let needed = compiled
                .evaluate(t)
                .map_or(true, |m| !m.spansets.is_empty());
            let holds = cond.holds(t);
            if needed && !holds {
                failures.push(format!("{}: leaves out {name}", case.query));
            }
            left_out += usize::from(!holds);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        left_out > 50,
        "the pushdown left out only {left_out} traces"
    );
}

/// A metrics query over the traces its pushdown condition keeps answers as over all of them.
#[test]
fn pushdown_keeps_metrics() {
    let (traces, _) = fixture();
    let cases: Vec<MetricsCase> =
        serde_yaml_ng::from_str(&read("metrics.yaml")).expect("metrics.yaml");
    let mut left_out = 0;
    for case in &cases {
        let q = parse_and_validate(&case.query).expect("valid");
        let cond = pushdown(&q);
        let kept: Vec<&Trace> = traces
            .iter()
            .map(|(_, t)| t)
            .filter(|t| cond.holds(t))
            .collect();
        left_out += traces.len() - kept.len();
        assert_eq!(
            run_metrics(case, &traces),
            run_metrics_on(case, kept.into_iter()),
            "{}",
            case.query
        );
    }
    assert!(left_out > 0, "the pushdown left out no trace");
}

/// The `/api/search` shape for one trace: Tempo's field names, ids as Tempo prints them,
/// 64-bit numbers as strings, at most `spss` spans per spanset with `matched` counting all,
/// the attributes the query names, and the `by()` value on the spanset.
#[test]
fn search_result_shape() {
    let (traces, _) = fixture();
    let t1 = &traces[0].1;
    let q = parse_and_validate(
        "{ resource.service.name = \"cart\" || status = error } | by(resource.service.name) | select(span.db.system)",
    )
    .expect("valid");
    let compiled = Compiled::new(&q).expect("compiles");
    let r = search_trace(&compiled, t1, 2)
        .expect("evaluates")
        .expect("matches");
    let json = serde_json::to_value(&r).expect("serialises");
    assert_eq!(json["traceID"], "a1");
    assert_eq!(json["rootServiceName"], "frontend");
    assert_eq!(json["rootTraceName"], "GET /cart");
    assert_eq!(
        json["startTimeUnixNano"],
        (BASE_NS + 1_000_000_000).to_string()
    );
    assert_eq!(json["durationMs"], 1000);
    assert_eq!(json["serviceStats"]["cart"]["spanCount"], 3);
    assert_eq!(json["serviceStats"]["cart"]["errorCount"], 1);
    let sets = json["spanSets"].as_array().expect("spanSets");
    assert_eq!(sets.len(), 2);
    let cart = sets
        .iter()
        .find(|s| s["attributes"][0]["value"]["stringValue"] == "cart")
        .expect("the cart spanset");
    assert_eq!(cart["attributes"][0]["key"], "by(resource.service.name)");
    assert_eq!(cart["matched"], 3);
    let spans = cart["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2, "spss caps the spans shown");
    let s4 = &spans[0];
    assert_eq!(s4["spanID"], "00000000000000b4");
    assert_eq!(s4["name"], "GetCart");
    assert_eq!(s4["durationNanos"], "780000000");
    // service.name and status are named by the query; status prints as its keyword.
    let attrs = s4["attributes"].as_array().expect("attributes");
    assert!(
        attrs.contains(
            &serde_json::json!({"key": "service.name", "value": {"stringValue": "cart"}})
        )
    );
    assert!(
        attrs.contains(&serde_json::json!({"key": "status", "value": {"stringValue": "error"}}))
    );
    assert_eq!(
        json["spanSet"], sets[0],
        "spanSet repeats the first spanset"
    );

    // A trace whose root was not received.
    let t3 = &traces[2].1;
    let r3 = search_trace(
        &Compiled::new(&parse_and_validate("{ }").expect("valid")).expect("compiles"),
        t3,
        0,
    )
    .expect("evaluates")
    .expect("matches");
    assert_eq!(r3.root_service_name, "<root span not yet received>");
    assert_eq!(r3.root_trace_name, "");
    assert_eq!(r3.span_sets[0].spans.len(), 2);
}

/// One trace found in two parts: evaluated over the merged trace, a structural query sees
/// spans from both parts; combining the answers of the parts keeps the larger spanset.
#[test]
fn trace_in_parts() {
    let (traces, _) = fixture();
    let t1 = traces[0].1.clone();
    let id = t1.id();
    let mut frontend = Vec::new();
    let mut cart = Vec::new();
    for rs in t1.into_resources() {
        if rs.resource.service_name() == Some("cart") {
            cart.push(rs);
        } else {
            frontend.push(rs);
        }
    }
    let a = Trace::from_resources(id, frontend);
    let b = Trace::from_resources(id, cart);
    let q = Compiled::new(
        &parse_and_validate("{ resource.service.name = \"frontend\" } >> { status = error }")
            .expect("valid"),
    )
    .expect("compiles");
    let whole = cairn_traceql::search_parts(&q, [a.clone(), b.clone()], 0)
        .expect("evaluates")
        .expect("matches");
    assert_eq!(whole.span_sets[0].matched, 2, "s3 and s4, across the parts");

    let all = Compiled::new(&parse_and_validate("{ }").expect("valid")).expect("compiles");
    let ra = search_trace(&all, &a, 0)
        .expect("evaluates")
        .expect("matches");
    let rb = search_trace(&all, &b, 0)
        .expect("evaluates")
        .expect("matches");
    let mut results = SearchResults::new(10);
    assert!(results.add(rb));
    assert!(results.add(ra));
    let out = results.finish();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].root_service_name, "frontend",
        "the part with the root names it"
    );
    assert_eq!(out[0].start_time_unix_nano, BASE_NS + 1_000_000_000);
    assert_eq!(out[0].span_sets[0].matched, 3, "the larger spanset is kept");
}

/// Tag values over the spans a query matched, typed as Tempo's v2 tag values API types them.
#[test]
fn tag_values_of_matched_spans() {
    let (traces, _) = fixture();
    let q = Compiled::new(
        &parse_and_validate("{ resource.service.name = \"frontend\" }").expect("valid"),
    )
    .expect("compiles");
    let mut methods = std::collections::BTreeSet::new();
    let mut statuses = std::collections::BTreeSet::new();
    let method = cairn_traceql::Attribute::Named {
        scope: cairn_traceql::Scope::Span,
        parent: false,
        name: "http.method".into(),
    };
    let status = cairn_traceql::Attribute::Intrinsic(cairn_traceql::Intrinsic::Status);
    for (_, t) in &traces {
        let m = q.evaluate(t).expect("evaluates");
        tag_values(&m, &method, &mut methods);
        tag_values(&m, &status, &mut statuses);
    }
    let tv = |k: &str, v: &str| TagValue {
        kind: k.into(),
        value: v.into(),
    };
    assert_eq!(
        methods.into_iter().collect::<Vec<_>>(),
        [tv("string", "GET"), tv("string", "POST")]
    );
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [tv("keyword", "error"), tv("keyword", "unset")]
    );
}

/// Exemplars: a span per slice of the range, with its ids; a count's exemplar stands at the
/// series' value, a duration function's at the span's duration in seconds.
#[test]
fn exemplars() {
    let (traces, _) = fixture();
    let s = 1_000_000_000;
    let range = QueryRange {
        start_ns: BASE_NS,
        end_ns: BASE_NS + 15 * s,
        step_ns: 5 * s,
    };
    let run = |q: &str| {
        let mut ev = MetricsEvaluator::new(&parse_and_validate(q).expect("valid"), range)
            .expect("compiles")
            .with_exemplars(5);
        for (_, t) in &traces {
            ev.observe(t).expect("observes");
        }
        ev.finish()
    };
    let base_ms = (BASE_NS / 1_000_000) as i64;
    let max = run("{ name = \"GetCart\" } | max_over_time(duration)");
    let e = &max.series[0].exemplars;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].value, 0.78);
    assert_eq!(e[0].timestamp_ms, base_ms + 1110);
    let json = serde_json::to_value(&e[0]).expect("serialises");
    assert_eq!(json["labels"][0]["key"], "trace:id");
    assert_eq!(json["labels"][0]["value"]["stringValue"], "a1");
    assert_eq!(
        json["labels"][1]["value"]["stringValue"],
        "00000000000000b4"
    );
    assert_eq!(json["timestampMs"], (base_ms + 1110).to_string());

    // s3 and s4 start in the same slice of the range: one exemplar, at the count.
    let count = run("{ status = error } | count_over_time()");
    let e = &count.series[0].exemplars;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].value, 2.0);
    assert_eq!(e[0].timestamp_ms, base_ms + 1100);

    let none = MetricsEvaluator::new(&parse_and_validate("{ } | rate()").expect("valid"), range)
        .expect("compiles");
    assert!(none.finish().series.iter().all(|s| s.exemplars.is_empty()));
}

/// The `/api/metrics/query_range` shape: typed labels, `timestampMs` as a string, zero values
/// left out as proto JSON leaves them out.
#[test]
fn metrics_json_shape() {
    let (traces, _) = fixture();
    let s = 1_000_000_000;
    let q = parse_and_validate("{ status = error } | count_over_time() by (span.retry)")
        .expect("valid");
    let mut ev = MetricsEvaluator::new(
        &q,
        QueryRange {
            start_ns: BASE_NS,
            end_ns: BASE_NS + 15 * s,
            step_ns: 5 * s,
        },
    )
    .expect("compiles");
    for (_, t) in &traces {
        ev.observe(t).expect("observes");
    }
    let json = serde_json::to_value(ev.finish()).expect("serialises");
    let base_ms = BASE_NS / 1_000_000;
    let series = json["series"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{json}");
    let retry = series
        .iter()
        .find(|s| s["labels"][0]["value"] == serde_json::json!({"boolValue": true}))
        .expect("the retry=true series");
    assert_eq!(retry["labels"][0]["key"], "span.retry");
    assert_eq!(retry["promLabels"], "{span.retry=\"true\"}");
    assert_eq!(
        retry["samples"],
        serde_json::json!([
            {"timestampMs": base_ms.to_string()},
            {"timestampMs": (base_ms + 5000).to_string(), "value": 1.0},
            {"timestampMs": (base_ms + 10000).to_string()},
            {"timestampMs": (base_ms + 15000).to_string()},
        ])
    );
}
