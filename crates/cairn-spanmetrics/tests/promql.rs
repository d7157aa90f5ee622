//! The generated series read with PromQL as Grafana's dashboards read them: `rate()` of the
//! calls, `histogram_quantile()` over the latency buckets, the service graph's request rate,
//! and `increase()` right after a series appears (the leading zero at work).

#[path = "support/spans.rs"]
mod spans;

use std::collections::BTreeMap;

use cairn_model::{Labels, Sample, SpanKind, TenantId};
use cairn_promql::{Engine, EngineOptions, MemoryQuerier, Value};
use cairn_spanmetrics::{Generator, GeneratorConfig};
use spans::{batch, resource, span};

/// 40 s into a minute.
const T0: i64 = 1_000_000;
const STEP: i64 = 15_000;

/// Every 15 s: 30 server spans of `api` (10 of 50 ms, 20 of 300 ms) and 5 calls from `web`
/// to `api`, collected right after.
fn run(steps: i64) -> (MemoryQuerier, TenantId) {
    let cfg: GeneratorConfig =
        serde_yaml_ng::from_str("processors: [span-metrics, service-graphs]").expect("parses");
    let mut g = Generator::new(cfg).expect("valid");
    let mut series: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for i in 0..steps {
        let t = T0 + i * STEP;
        let trace = (i % 200) as u8 + 1;
        let mut api = Vec::new();
        for n in 0..30u8 {
            let d = if n < 10 { 50 } else { 300 };
            api.push(span(trace, n + 1, None, SpanKind::Server, "GET /", d));
        }
        let mut web = Vec::new();
        for n in 0..5u8 {
            web.push(span(
                trace,
                100 + n,
                Some(200),
                SpanKind::Client,
                "call api",
                20,
            ));
            api.push(span(
                trace,
                110 + n,
                Some(100 + n),
                SpanKind::Server,
                "handle",
                10,
            ));
        }
        g.observe(
            &batch(vec![
                (resource("api", &[]), api),
                (resource("web", &[]), web),
            ]),
            t,
        );
        for (l, s) in g.collect(t + 1) {
            series.entry(l).or_default().push(s);
        }
    }
    let tenant = TenantId::new("t").expect("tenant");
    let mut q = MemoryQuerier::new();
    for (l, mut samples) in series {
        samples.sort_by_key(|s| s.t);
        q.add(&tenant, l, &samples);
    }
    (q, tenant)
}

async fn scalar(q: &MemoryQuerier, tenant: &TenantId, expr: &str, t: i64) -> Option<f64> {
    let engine = Engine::new(EngineOptions::default());
    match engine
        .instant(q, tenant, expr, t)
        .await
        .expect("query runs")
    {
        Value::Vector(v) => {
            assert!(v.len() <= 1, "{expr}: {v:?}");
            v.first().map(|s| s.v)
        }
        other => panic!("{expr}: {other:?}"),
    }
}

#[tokio::test]
async fn rate_and_quantiles_read_like_scraped_metrics() {
    let (q, tenant) = run(20);
    let end = T0 + 19 * STEP + 1;
    let calls =
        "sum(rate(traces_spanmetrics_calls_total{service=\"api\", span_name=\"GET /\"}[1m]))";
    let r = scalar(&q, &tenant, calls, end).await.unwrap_or(f64::NAN);
    assert!((r - 2.0).abs() < 1e-9, "30 spans per 15 s is 2/s, got {r}");

    // A third of the spans take 50 ms, two thirds 300 ms: the median is in (0.256, 0.512],
    // a quarter of the way in: 0.256 + 0.25 * 0.256 = 0.32.
    let median = "histogram_quantile(0.5, sum by (le) (rate(traces_spanmetrics_latency_bucket{span_name=\"GET /\"}[1m])))";
    let m = scalar(&q, &tenant, median, end).await.unwrap_or(f64::NAN);
    assert!((m - 0.32).abs() < 1e-9, "{m}");

    let edges = "sum(rate(traces_service_graph_request_total{client=\"web\", server=\"api\"}[1m]))";
    let e = scalar(&q, &tenant, edges, end).await.unwrap_or(f64::NAN);
    assert!((e - 5.0 / 15.0).abs() < 1e-9, "{e}");
}

#[tokio::test]
async fn the_first_collection_already_shows_an_increase() {
    let (q, tenant) = run(1);
    let expr = "sum(increase(traces_spanmetrics_calls_total{span_name=\"GET /\"}[2m]))";
    // One collection: the counter's 0 at the end of the previous minute and its 30 make an
    // increase; a lone sample would make none.
    let inc = scalar(&q, &tenant, expr, T0 + 1).await;
    assert!(inc.is_some_and(|v| v >= 30.0), "{inc:?}");
}
