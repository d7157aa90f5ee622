//! The pushdown never changes an answer: generated traces written into blocks (with and
//! without dedicated keys in the attribute lists), queried with and without the filter.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    Attribute, Event, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind, Status,
    StatusCode, TenantId, TraceBatch, TraceId,
};
use cairn_store::{
    BlockCache, ObjectStoreConfig, StoreConfig, TraceFilter, TraceStore, TraceStoreConfig,
    build_object_store,
};
use cairn_traceql::{Compiled, MetricsEvaluator, QueryRange, parse_and_validate};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::trace_filter;

const S: u64 = 1_000_000_000;
/// 2024-01-01T00:00:00Z.
const T0: u64 = 1_704_067_200 * S;
const HOUR: u64 = 3600 * S;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const SERVICES: [&str; 5] = ["payment", "cart", "frontend", "checkout", "email"];
const NAMES: [&str; 6] = [
    "GET /a",
    "POST /b",
    "db.query",
    "charge",
    "cache.get",
    "send",
];

/// Span attributes; `odd` adds the shapes a dedicated column cannot hold alone.
fn span_attrs(r: &mut Rng, odd: bool) -> Vec<Attribute> {
    let mut a = Vec::new();
    if r.chance(45) {
        let code = [200, 201, 404, 500, 503][r.below(5) as usize];
        a.push(Attribute::new("http.status_code", code as i64));
    }
    if odd && r.chance(15) {
        a.push(Attribute::new("http.status_code", "500"));
    }
    if odd && r.chance(10) {
        a.push(Attribute::new("http.status_code", 503i64));
    }
    if r.chance(30) {
        a.push(Attribute::new("http.method", r.pick(&["GET", "POST"])));
    }
    if r.chance(10) {
        a.push(Attribute::new("url.full", "https://x/a"));
    }
    if r.chance(20) {
        if r.chance(50) {
            a.push(Attribute::new("foo", r.below(5) as i64));
        } else {
            a.push(Attribute::new("foo", r.pick(&["x", "y"])));
        }
    }
    if odd && r.chance(5) {
        a.push(Attribute::new("service.name", "cart"));
    }
    if r.chance(15) {
        a.push(Attribute::new("http.response.status_code", 500i64));
    }
    // Attribute order is the writer's business; shuffle a little.
    if a.len() > 1 && r.chance(50) {
        a.swap(0, 1);
    }
    a
}

fn resource(r: &mut Rng, odd: bool) -> Resource {
    let mut attrs = Vec::new();
    if odd && r.chance(10) {
        attrs.push(Attribute::new("service.name", 7i64));
    }
    if !r.chance(3) {
        attrs.push(Attribute::new("service.name", r.pick(&SERVICES)));
    }
    if odd && r.chance(10) {
        attrs.push(Attribute::new("service.name", r.pick(&SERVICES)));
    }
    if r.chance(20) {
        attrs.push(Attribute::new("http.status_code", 500i64));
    }
    attrs.push(Attribute::new("k8s.pod", format!("pod-{}", r.below(9))));
    Resource {
        attributes: attrs,
        dropped_attributes_count: 0,
    }
}

/// One batch of `n` traces starting at trace number `first`.
fn batch(r: &mut Rng, first: u64, n: u64, odd: bool) -> TraceBatch {
    let mut resources = Vec::new();
    for t in first..first + n {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(t * 7919 + 13).to_be_bytes());
        id[15] = 1;
        let trace_id = TraceId(id);
        let start = T0 + r.below(2 * HOUR);
        let spans = 1 + r.below(8);
        let mut span_ids: Vec<SpanId> = Vec::new();
        for k in 0..spans {
            let span_id = SpanId((t * 100 + k + 1).to_be_bytes());
            let parent = match (k, r.chance(10)) {
                (0, _) => None,
                // A parent never received.
                (_, true) => Some(SpanId([9; 8])),
                _ => Some(span_ids[r.below(span_ids.len() as u64) as usize]),
            };
            span_ids.push(span_id);
            let s0 = start + r.below(10 * S);
            let dur = 1_000 + r.below(2 * S);
            let status = match r.below(10) {
                0 | 1 => StatusCode::Error,
                2 => StatusCode::Ok,
                _ => StatusCode::Unset,
            };
            let mut events = Vec::new();
            if r.chance(10) {
                events.push(Event {
                    time_ns: s0,
                    name: "exception".into(),
                    attributes: vec![Attribute::new(
                        "exception.message",
                        r.pick(&["boom", "timeout"]),
                    )],
                    dropped_attributes_count: 0,
                });
            }
            let span = Span {
                trace_id,
                span_id,
                parent_span_id: parent,
                name: r.pick(&NAMES).to_string(),
                kind: SpanKind::from_i32(r.below(6) as i32),
                start_ns: s0,
                end_ns: s0 + dur,
                status: Status {
                    code: status,
                    message: String::new(),
                },
                attributes: span_attrs(r, odd),
                events,
                ..Default::default()
            };
            resources.push(ResourceSpans {
                resource: resource(r, odd),
                schema_url: String::new(),
                scopes: vec![ScopeSpans {
                    scope: Scope {
                        name: "lib".into(),
                        ..Default::default()
                    },
                    schema_url: String::new(),
                    spans: vec![span],
                }],
            });
        }
    }
    TraceBatch { resources }
}

async fn store(dir: &Path) -> Arc<TraceStore> {
    let objects = build_object_store(&ObjectStoreConfig::Local {
        path: dir.join("objects"),
    })
    .expect("object store");
    let mut cfg = TraceStoreConfig::from_store(&StoreConfig::new(dir));
    cfg.row_group_spans = 40;
    // No background compaction: the blocks stay as cut.
    cfg.compaction_ranges_ns = Vec::new();
    TraceStore::open(
        cfg,
        objects,
        Arc::new(BlockCache::new(64 << 20)),
        &mut Registry::default(),
    )
    .await
    .expect("opens")
}

fn tenant() -> TenantId {
    TenantId::new("t").expect("valid tenant")
}

/// Blocks of clean and odd traces, a trace split over two blocks, and some in the head.
async fn fixture(dir: &Path) -> Arc<TraceStore> {
    let s = store(dir).await;
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut first = 0;
    for (n, odd) in [(120, false), (80, true), (100, false), (60, false)] {
        s.append(&tenant(), batch(&mut r, first, n, odd))
            .await
            .expect("appends");
        first += n;
        s.flush().await.expect("flushes");
    }
    // More spans of traces already in blocks, and new traces, left in the head.
    s.append(&tenant(), batch(&mut r, 0, 30, false))
        .await
        .expect("appends");
    s.append(&tenant(), batch(&mut r, 1000, 20, true))
        .await
        .expect("appends");
    s
}

/// What a search answers over the scan: per trace part, its id and matched span ids, or
/// the error.
async fn search(
    s: &TraceStore,
    c: &Compiled,
    filter: &TraceFilter,
    range: (u64, u64),
) -> (Vec<String>, u64) {
    let mut out = Vec::new();
    let stats = s
        .scan_filtered(
            &tenant(),
            range.0,
            range.1,
            filter,
            &CancellationToken::new(),
            |t| {
                match c.evaluate(&t) {
                    Ok(m) if m.spansets.is_empty() => {}
                    Ok(m) => {
                        let mut spans: Vec<Vec<String>> = m
                            .spansets
                            .iter()
                            .map(|ss| {
                                let mut v: Vec<String> = ss
                                    .spans
                                    .iter()
                                    .map(|&i| m.index.span(i).span.span_id.to_hex())
                                    .collect();
                                v.sort();
                                v
                            })
                            .collect();
                        spans.sort();
                        out.push(format!("{} {spans:?}", t.id().to_hex()));
                    }
                    Err(e) => out.push(format!("{} error {e}", t.id().to_hex())),
                }
                ControlFlow::Continue(())
            },
        )
        .await
        .expect("scans");
    (out, stats.traces_filtered_out)
}

const QUERIES: [&str; 34] = [
    r#"{ resource.service.name = "payment" && status = error }"#,
    "{ span.http.status_code >= 500 } | count() > 2",
    "{ span.http.status_code >= 500 } | count() > 0",
    "{ span.http.status_code = 500 }",
    r#"{ span.http.status_code = "500" }"#,
    "{ span.http.status_code > 499.5 }",
    "{ 500 <= span.http.status_code }",
    "{ .http.status_code >= 500 }",
    "{ span.http.response.status_code = 500 }",
    r#"{ .service.name = "cart" }"#,
    r#"{ resource.service.name != "cart" }"#,
    r#"{ resource.service.name =~ "pay.*|c.*" }"#,
    r#"{ span.http.method = "GET" } && { kind = client }"#,
    r#"{ span.http.method = "GET" } || { span.url.full = "https://x/a" }"#,
    r#"{ name =~ "GET.*" || duration > 1s }"#,
    "{ span.foo = 3 }",
    r#"{ span.foo = "x" }"#,
    r#"{ .foo >= "x" }"#,
    r#"{ span.url.full != "https://x/a" }"#,
    r#"{ status != ok } >> { name = "db.query" }"#,
    "{ kind = server } !> { status = error }",
    r#"{ kind = server } &> { name = "charge" }"#,
    r#"{ name = "send" } ~ { name = "charge" }"#,
    "{ span.missing = 1 }",
    "{ span.missing != 1 }",
    "{ span.missing = nil }",
    "{ duration < 10ms && kind = internal }",
    r#"{ name = "charge" } | by(resource.service.name) | count() > 1"#,
    r#"{ event.exception.message = "boom" && name = "charge" }"#,
    r#"{ status = error } | { name = "charge" }"#,
    r#"({ name = "charge" } | count() > 1) && ({ status = error })"#,
    "{ span.foo / 0 = 1 }",
    "{ !(status = error) && kind = client }",
    "{ }",
];

fn conformance_queries(file: &str) -> Vec<String> {
    let path = format!(
        "{}/../cairn-traceql/tests/conformance/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).expect("yaml");
    cases
        .iter()
        .filter_map(|c| c.get("query").and_then(|q| q.as_str()).map(String::from))
        .collect()
}

#[tokio::test]
async fn searches_answer_the_same_with_the_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = fixture(dir.path()).await;
    let mut queries: Vec<String> = QUERIES.iter().map(|q| q.to_string()).collect();
    queries.extend(conformance_queries("search.yaml"));
    let ranges = [
        (T0, T0 + 3 * HOUR),
        (T0 + HOUR / 2, T0 + HOUR),
        (T0 + HOUR + 7 * S, T0 + HOUR + 9 * S),
    ];
    let (mut failures, mut filtered, mut pushed) = (Vec::new(), 0, 0);
    for q in &queries {
        let Ok(query) = parse_and_validate(q) else {
            continue;
        };
        let Ok(c) = Compiled::new(&query) else {
            continue;
        };
        let filter = trace_filter(&query);
        pushed += usize::from(!filter.is_all());
        for range in ranges {
            let (want, _) = search(&s, &c, &TraceFilter::All, range).await;
            let (got, out) = search(&s, &c, &filter, range).await;
            filtered += out;
            if got != want {
                failures.push(format!(
                    "{q} over {range:?}:\n  want {want:?}\n  got  {got:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pushed >= 30, "only {pushed} queries pushed a filter");
    assert!(
        filtered > 1000,
        "the filter left out only {filtered} traces"
    );
}

#[tokio::test]
async fn metrics_answer_the_same_with_the_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = fixture(dir.path()).await;
    let mut queries: Vec<String> = [
        r#"{ resource.service.name = "payment" } | rate()"#,
        "{ status = error } | count_over_time() by (resource.service.name)",
        "{ span.http.status_code >= 500 } | quantile_over_time(duration, .5, .9)",
        r#"({ name = "charge" } | rate()) / ({ kind = server } | rate())"#,
    ]
    .iter()
    .map(|q| q.to_string())
    .collect();
    queries.extend(conformance_queries("metrics.yaml"));
    let range = QueryRange {
        start_ns: T0,
        end_ns: T0 + 3 * HOUR,
        step_ns: 600 * S,
    };
    let mut pushed = 0;
    for q in &queries {
        let query = parse_and_validate(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let filter = trace_filter(&query);
        pushed += usize::from(!filter.is_all());
        let mut answers = Vec::new();
        for f in [TraceFilter::All, filter] {
            let mut ev = MetricsEvaluator::new(&query, range).expect("compiles");
            s.scan_filtered(
                &tenant(),
                range.start_ns,
                range.end_ns,
                &f,
                &CancellationToken::new(),
                |t| {
                    ev.observe(&t).expect("evaluates");
                    ControlFlow::Continue(())
                },
            )
            .await
            .expect("scans");
            answers.push(ev.finish());
        }
        assert_eq!(answers[0], answers[1], "{q}");
    }
    assert!(pushed >= 4, "only {pushed} metrics queries pushed a filter");
}

#[test]
fn every_filter_value_type_is_tested() {
    // A field test reads values as the store holds them.
    let q =
        parse_and_validate(r#"{ name = "a" && status = error && duration > 1ms }"#).expect("valid");
    let TraceFilter::Any(cairn_store::SpanFilter::And(tests)) = trace_filter(&q) else {
        panic!("one conjunction")
    };
    let mut seen = 0;
    for t in tests {
        let cairn_store::SpanFilter::Test { field, test } = t else {
            panic!("a test")
        };
        match field {
            cairn_store::SpanField::Name => assert!(test.test_str("a") && !test.test_str("b")),
            cairn_store::SpanField::StatusCode => assert!(test.test_int(2) && !test.test_int(1)),
            cairn_store::SpanField::Duration => {
                assert!(test.test_int(1_000_001) && !test.test_int(1_000_000))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!test.test_nil());
        seen += 1;
    }
    assert_eq!(seen, 3);
}
