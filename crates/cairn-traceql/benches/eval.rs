//! Evaluation speed on synthetic traces, in spans per second on one core: searches over 2000
//! traces of 50 spans, structural operators over one trace of 20000 spans, and a metrics
//! query. Run with `cargo bench -p cairn-traceql --bench eval`.

use std::hint::black_box;

use cairn_model::{
    Attribute, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind, Status,
    StatusCode, Trace, TraceId,
};
use cairn_traceql::{Compiled, MetricsEvaluator, QueryRange, parse_and_validate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A trace of `n` spans in a tree of fan-out 4 over 5 services.
fn trace(t: u64, n: u64) -> Trace {
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&(t + 1).to_be_bytes());
    let trace_id = TraceId(id);
    let base = 1_700_000_000_000_000_000 + t * 1_000_000;
    let mut groups: Vec<ResourceSpans> = (0..5)
        .map(|s| ResourceSpans {
            resource: Resource {
                attributes: vec![Attribute::new("service.name", format!("svc-{s}"))],
                ..Default::default()
            },
            schema_url: String::new(),
            scopes: vec![ScopeSpans {
                scope: Scope {
                    name: "lib".into(),
                    ..Default::default()
                },
                schema_url: String::new(),
                spans: Vec::new(),
            }],
        })
        .collect();
    for i in 0..n {
        let span = Span {
            trace_id,
            span_id: SpanId((i + 1).to_be_bytes()),
            parent_span_id: (i > 0).then(|| SpanId(((i - 1) / 4 + 1).to_be_bytes())),
            name: format!("op-{}", i % 7),
            kind: if i % 2 == 0 {
                SpanKind::Server
            } else {
                SpanKind::Client
            },
            start_ns: base + i * 1000,
            end_ns: base + i * 1000 + (i % 13) * 1_000_000,
            status: Status {
                code: if i % 17 == 0 {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                },
                message: String::new(),
            },
            attributes: vec![
                Attribute::new("http.status_code", 200 + (i % 5) as i64 * 100),
                Attribute::new("http.url", format!("/path/{}", i % 11)),
            ],
            ..Default::default()
        };
        groups[(i % 5) as usize].scopes[0].spans.push(span);
    }
    Trace::from_resources(trace_id, groups)
}

fn bench(c: &mut Criterion) {
    let traces: Vec<Trace> = (0..2000).map(|t| trace(t, 50)).collect();
    let mut g = c.benchmark_group("search");
    g.throughput(Throughput::Elements(2000 * 50));
    for q in [
        "{ }",
        "{ span.http.status_code >= 500 && resource.service.name = \"svc-1\" }",
        "{ span.http.url =~ \"/path/1.*\" }",
        "{ status = error } | by(resource.service.name) | count() > 1",
        "{ resource.service.name = \"svc-0\" } >> { status = error }",
        "{ kind = server } &> { kind = client }",
    ] {
        let compiled = Compiled::new(&parse_and_validate(q).expect("valid")).expect("compiles");
        g.bench_function(q, |b| {
            b.iter(|| {
                traces
                    .iter()
                    .map(|t| compiled.evaluate(t).expect("evaluates").spansets.len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
    // One large trace: structural operators stay near linear in its spans.
    let big = trace(9999, 20_000);
    let mut g = c.benchmark_group("structural");
    g.throughput(Throughput::Elements(20_000));
    g.sample_size(10);
    for q in ["{ } >> { }", "{ } ~ { }", "{ } !< { }", "{ } &>> { }"] {
        let compiled = Compiled::new(&parse_and_validate(q).expect("valid")).expect("compiles");
        g.bench_function(q, |b| {
            b.iter(|| black_box(compiled.evaluate(&big).expect("evaluates").spansets.len()))
        });
    }
    g.finish();
    let q = parse_and_validate(
        "{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)",
    )
    .expect("valid");
    let range = QueryRange {
        start_ns: 1_700_000_000_000_000_000,
        end_ns: 1_700_000_000_000_000_000 + 3_600_000_000_000,
        step_ns: 60_000_000_000,
    };
    let mut g = c.benchmark_group("metrics");
    g.throughput(Throughput::Elements(2000 * 50));
    g.bench_function("quantile_over_time by service", |b| {
        b.iter(|| {
            let mut ev = MetricsEvaluator::new(&q, range).expect("compiles");
            for t in &traces {
                ev.observe(t).expect("observes");
            }
            ev.finish().series.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
