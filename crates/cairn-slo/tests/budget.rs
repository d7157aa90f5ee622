//! Cairn's error budget from event counts: hourly buckets of error and total events summed
//! over the period. It must agree with the real counts, and cost far less per evaluation
//! than `increase(...[30d])` over the raw counters.

#[path = "support/synth.rs"]
mod synth;

use std::time::Instant;

use cairn_model::{Labels, Sample, TenantId};
use cairn_promql::{Engine, MemoryQuerier, Value};
use cairn_rules::{backtest, parse_rule_file};
use cairn_slo::{LoadOptions, compile_file};
use synth::{DAY, HOUR, MIN, Phase};

const SLO: &str = r#"
version: "prometheus/v1"
service: "api"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="api",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="api"}[{{.window}}]))
    alerting:
      name: ApiAvailability
"#;

async fn value(engine: &Engine, q: &MemoryQuerier, expr: &str, t: i64) -> Option<f64> {
    match engine
        .instant(q, &TenantId::default_tenant(), expr, t)
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
    {
        Value::Vector(v) => v.first().map(|s| s.v),
        Value::Scalar { v, .. } => Some(v),
        other => panic!("{expr}: {other:?}"),
    }
}

/// Spiky traffic: a quiet service (1 rps) that errs a lot at night and a busy one (50 rps)
/// that errs little by day, so the mean of 5m ratios and the ratio of counts disagree.
fn spiky() -> Vec<Phase> {
    let mut p = Vec::new();
    for d in 0..3 {
        p.push(Phase {
            start_ms: d * DAY,
            rps: 50.0,
            bad: 0.0005,
        });
        p.push(Phase {
            start_ms: d * DAY + 16 * HOUR,
            rps: 1.0,
            bad: 0.01,
        });
    }
    p
}

#[tokio::test]
async fn budget_from_counts_matches_the_real_counts() {
    let tenant = TenantId::default_tenant();
    let end = 3 * DAY;
    let mut data = MemoryQuerier::new();
    let phases = spiky();
    synth::counters(
        &mut data,
        &tenant,
        "http_requests_total",
        "api",
        &phases,
        MIN,
        end,
    );
    let yaml = compile_file("api.yml", SLO, &LoadOptions::default())
        .expect("valid slo")
        .to_yaml("api.yml");
    let rules = parse_rule_file("api.yml", &yaml).expect("our rules load");
    let bt = backtest(&[rules], &data, &tenant, 0, end)
        .await
        .expect("backtest");
    assert!(
        bt.errors.is_empty(),
        "{:?}",
        &bt.errors[..bt.errors.len().min(3)]
    );
    let engine = Engine::default();
    let ours = value(&engine, &bt.data, "cairn:slo_sli_error:ratio_period", end)
        .await
        .expect("cairn ratio recorded");
    let sloth = value(&engine, &bt.data, "slo:sli_error:ratio_rate30d", end)
        .await
        .expect("sloth ratio recorded");
    // The truth: errors over events from the counters, over the buckets recorded (each hour
    // from the first whole hour on).
    let (mut bad, mut all) = (0.0, 0.0);
    let mut t = 0;
    while t < end {
        let ph = synth::phase_at(&phases, t);
        let n = ph.rps * 60.0;
        bad += n * ph.bad;
        all += n;
        t += MIN;
    }
    let truth = bad / all;
    let remaining = value(
        &engine,
        &bt.data,
        "cairn:slo_error_budget_remaining:ratio",
        end,
    )
    .await
    .expect("remaining recorded");
    eprintln!(
        "true error ratio {truth:.6}, cairn (event counts) {ours:.6}, sloth (mean of 5m ratios) {sloth:.6}; cairn budget remaining {remaining:.4}"
    );
    assert!(
        (ours - truth).abs() / truth < 0.03,
        "cairn {ours} vs truth {truth}"
    );
    assert!((remaining - (1.0 - ours / 0.001)).abs() < 1e-6);
    // The mean of ratios is far off on this traffic: that is what the counts fix.
    assert!(
        (sloth - truth).abs() / truth > 0.5,
        "sloth {sloth} vs truth {truth}"
    );
}

/// Evaluation cost of the period ratio over 30 days: hourly buckets against the naive
/// `increase(...[30d])` on raw counters (10 series at a 15s scrape interval).
#[tokio::test]
async fn budget_rule_cost_over_30_days() {
    let tenant = TenantId::default_tenant();
    let end = 30 * DAY;
    let scrape = 15_000;
    let mut q = MemoryQuerier::new();
    let (mut bad_buckets, mut all_buckets) = (Vec::new(), Vec::new());
    let mut hour_bad = vec![0.0; (end / HOUR) as usize + 1];
    let mut hour_all = vec![0.0; (end / HOUR) as usize + 1];
    for inst in 0..5 {
        for (code, frac) in [("200", 0.999), ("500", 0.001)] {
            let rps = 10.0 * frac;
            let instance = format!("10.0.0.{inst}:9090");
            let l = Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", code),
                ("instance", instance.as_str()),
            ])
            .expect("labels");
            let mut s = Vec::with_capacity((end / scrape) as usize + 1);
            let mut v = 0.0;
            let mut t = 0;
            while t <= end {
                s.push(Sample::new(t, v));
                v += rps * scrape as f64 / 1000.0;
                let h = (t / HOUR) as usize;
                hour_all[h] += rps * scrape as f64 / 1000.0;
                if code == "500" {
                    hour_bad[h] += rps * scrape as f64 / 1000.0;
                }
                t += scrape;
            }
            q.add(&tenant, l, &s);
        }
    }
    for h in 1..=(end / HOUR) as usize {
        bad_buckets.push(Sample::new(h as i64 * HOUR, hour_bad[h - 1]));
        all_buckets.push(Sample::new(h as i64 * HOUR, hour_all[h - 1]));
    }
    let sel = [
        ("sloth_id", "api-availability"),
        ("sloth_service", "api"),
        ("sloth_slo", "availability"),
    ];
    for (name, s) in [
        ("cairn:slo_error_events:bucket1h", &bad_buckets),
        ("cairn:slo_total_events:bucket1h", &all_buckets),
    ] {
        let mut pairs = vec![("__name__", name)];
        pairs.extend(sel);
        q.add(&tenant, Labels::from_pairs(pairs).expect("labels"), s);
    }
    let engine = Engine::default();
    let naive = r#"sum(increase(http_requests_total{job="api",code="500"}[30d])) / sum(increase(http_requests_total{job="api"}[30d]))"#;
    let buckets = r#"sum_over_time(cairn:slo_error_events:bucket1h{sloth_id="api-availability"}[30d]) / sum_over_time(cairn:slo_total_events:bucket1h{sloth_id="api-availability"}[30d])"#;
    let time = async |expr: &str| {
        let t0 = Instant::now();
        let mut v = None;
        for _ in 0..3 {
            v = value(&engine, &q, expr, end).await;
        }
        (v.expect("a value"), t0.elapsed() / 3)
    };
    let (nv, nt) = time(naive).await;
    let (bv, bt) = time(buckets).await;
    let raw_samples = 10 * (end / scrape + 1);
    eprintln!(
        "30d error ratio: naive increase() {nv:.6} in {nt:?} over {raw_samples} raw samples; hourly buckets {bv:.6} in {bt:?} over {} points",
        2 * bad_buckets.len()
    );
    assert!((nv - bv).abs() / nv < 0.01, "naive {nv} vs buckets {bv}");
    assert!(
        bt < nt,
        "buckets {bt:?} should be cheaper than increase {nt:?}"
    );
}
