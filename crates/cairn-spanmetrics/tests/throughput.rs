//! How many spans per second one generator takes, with both processors on: run with
//! `cargo test --release -p cairn-spanmetrics --test throughput -- --ignored --nocapture`.

#[path = "support/spans.rs"]
mod spans;

use std::time::Instant;

use cairn_model::SpanKind;
use cairn_spanmetrics::{Generator, GeneratorConfig};
use spans::{SpanExt, batch, resource, span};

#[test]
#[ignore = "a measurement, not a check"]
fn spans_per_second() {
    let cfg: GeneratorConfig =
        serde_yaml_ng::from_str("processors: [span-metrics, service-graphs]").expect("parses");
    let mut g = Generator::new(cfg).expect("valid");
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
    let rounds = 20;
    let start = Instant::now();
    let mut now = 0;
    for _ in 0..rounds {
        for b in &batches {
            g.observe(b, now);
            now += 1;
        }
    }
    let observe = start.elapsed();
    let start = Instant::now();
    let samples = g.collect(now).len();
    let collect = start.elapsed();
    let per_sec = (spans * rounds) as f64 / observe.as_secs_f64();
    println!(
        "{} spans in {:?}: {:.0} spans/s; collect of {} samples in {:?}",
        spans * rounds,
        observe,
        per_sec,
        samples,
        collect
    );
    assert!(samples > 0);
}
