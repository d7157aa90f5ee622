//! How many spans per second one generator takes, with both processors on, and what a
//! collection costs. Run with `cargo bench -p cairn-spanmetrics --bench generator`.

#[path = "../tests/support/spans.rs"]
mod spans;

use cairn_model::SpanKind;
use cairn_spanmetrics::{Generator, GeneratorConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spans::{SpanExt, batch, resource, span};

fn bench(c: &mut Criterion) {
    let cfg: GeneratorConfig =
        serde_yaml_ng::from_str("processors: [span-metrics, service-graphs]").expect("parses");
    // Batches of 100 traces, each a client span of service s<i> and the server span of
    // s<i+1> it called, with 20 span names: 200 spans per batch, every edge paired.
    let batches: Vec<_> = (0..50u32)
        .map(|b| {
            let mut groups = Vec::new();
            for t in 0..100u32 {
                let trace = (b * 100 + t) as u8;
                let svc = (t % 10) as usize;
                let names = ["GET /a", "GET /b", "POST /c", "SELECT", "send"];
                let mut client = span(
                    trace,
                    1,
                    Some(9),
                    SpanKind::Client,
                    names[(t % 5) as usize],
                    0,
                )
                .times(0, u64::from(t % 900));
                client.trace_id.0[1] = b as u8;
                let mut server = span(
                    trace,
                    2,
                    Some(1),
                    SpanKind::Server,
                    names[(t % 5) as usize],
                    0,
                )
                .times(1, u64::from(t % 800))
                .attr("http.method", "GET");
                server.trace_id.0[1] = b as u8;
                groups.push((
                    resource(&format!("s{svc}"), &[("host.name", "h1")]),
                    vec![client],
                ));
                groups.push((resource(&format!("s{}", svc + 1), &[]), vec![server]));
            }
            batch(groups)
        })
        .collect();
    let spans: usize = batches.iter().map(|b| b.span_count()).sum();
    let mut group = c.benchmark_group("generator");
    group.throughput(Throughput::Elements(spans as u64));
    group.bench_function("observe", |b| {
        let mut g = Generator::new(cfg.clone()).expect("valid");
        let mut now = 0;
        b.iter(|| {
            for batch in &batches {
                g.observe(batch, now);
                now += 1;
            }
        })
    });
    group.finish();
    let mut g = Generator::new(cfg).expect("valid");
    for (now, batch) in batches.iter().enumerate() {
        g.observe(batch, now as i64);
    }
    let now = batches.len() as i64;
    c.bench_function("generator/collect", |b| b.iter(|| g.collect(now).len()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
