//! Query safety and cost: cancellation, timeout, sample and series limits, the points rule,
//! and the statistics a query reports.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cairn_model::{Labels, Sample, TenantId};
use cairn_promql::{Engine, EngineOptions, Error, ErrorKind, MemoryQuerier};

/// Ten series `load{i}` with one sample every 15s over 20 minutes.
fn store() -> (MemoryQuerier, TenantId) {
    let tenant = TenantId::new("t").expect("valid tenant");
    let mut q = MemoryQuerier::new();
    for i in 0..10 {
        let l = Labels::from_pairs([("__name__", "load"), ("i", i.to_string().as_str())])
            .expect("valid labels");
        let samples: Vec<Sample> = (0..=80)
            .map(|k| Sample::new(k * 15_000, k as f64))
            .collect();
        q.add(&tenant, l, &samples);
    }
    (q, tenant)
}

#[tokio::test]
async fn a_canceled_query_stops_with_canceled() {
    let (q, tenant) = store();
    let flag = Arc::new(AtomicBool::new(true));
    let e = Engine::new(EngineOptions {
        cancel: Some(Arc::clone(&flag)),
        ..EngineOptions::default()
    })
    .instant(&q, &tenant, "sum(rate(load[5m]))", 600_000)
    .await
    .expect_err("canceled before it starts");
    assert_eq!(e.kind(), ErrorKind::Canceled, "{e}");
    assert!(matches!(e, Error::Canceled));

    flag.store(false, std::sync::atomic::Ordering::Relaxed);
    let ok = Engine::new(EngineOptions {
        cancel: Some(flag),
        ..EngineOptions::default()
    })
    .instant(&q, &tenant, "sum(rate(load[5m]))", 600_000)
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn a_query_past_its_timeout_fails_with_prometheus_words() {
    let (q, tenant) = store();
    let e = Engine::new(EngineOptions {
        timeout: Some(Duration::ZERO),
        ..EngineOptions::default()
    })
    .range(&q, &tenant, "sum(rate(load[5m]))", 0, 1_200_000, 15_000)
    .await
    .expect_err("no time at all");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.to_string(), "query timed out in expression evaluation");
}

#[tokio::test]
async fn sample_and_series_limits() {
    let (q, tenant) = store();
    // 10 series x 21 samples in the 5m window: over a limit of 100.
    let e = Engine::new(EngineOptions {
        max_samples: 100,
        ..EngineOptions::default()
    })
    .instant(&q, &tenant, "load[5m]", 600_000)
    .await
    .expect_err("too many samples");
    assert_eq!(e.kind(), ErrorKind::Execution);
    assert_eq!(
        e.to_string(),
        "query processing would load too many samples into memory in query execution"
    );

    let e = Engine::new(EngineOptions {
        max_series: 5,
        ..EngineOptions::default()
    })
    .instant(&q, &tenant, "load", 600_000)
    .await
    .expect_err("too many series");
    assert_eq!(e.kind(), ErrorKind::Execution, "{e}");
    let ok = Engine::new(EngineOptions {
        max_series: 10,
        ..EngineOptions::default()
    })
    .instant(&q, &tenant, "load", 600_000)
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn the_points_rule_counts_like_prometheus() {
    let (q, tenant) = store();
    let e = Engine::default();
    // (end - start) / step == 11000 is allowed, 11001 is not.
    assert!(e.range(&q, &tenant, "1", 0, 11_000_000, 1000).await.is_ok());
    let err = e
        .range(&q, &tenant, "1", 0, 11_001_000, 1000)
        .await
        .expect_err("too many points");
    assert_eq!(err.kind(), ErrorKind::BadData);
    assert_eq!(
        err.to_string(),
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
}

#[tokio::test]
async fn stats_count_the_samples_read() {
    let (q, tenant) = store();
    let (answer, stats) = Engine::default()
        .range_stats(&q, &tenant, "load", 600_000, 1_200_000, 60_000)
        .await
        .expect("runs");
    assert!(matches!(answer.value, cairn_promql::Value::Matrix(ref m) if m.len() == 10));
    // The fetch spans (600s - 5m, 1200s]: 60 samples per series, the first at 315s.
    assert_eq!(stats.total_queryable_samples, 600);
    assert_eq!(stats.per_step.len(), 11);
    assert_eq!(
        stats.per_step.iter().map(|(_, n)| n).sum::<i64>(),
        stats.total_queryable_samples
    );
    assert_eq!(stats.per_step[0].0, 600_000);
    // Result: 10 series x 11 points on top of what was read.
    assert_eq!(stats.peak_samples, 600 + 110);
    assert!(stats.exec_total_time >= stats.eval_total_time);
    assert!(stats.eval_total_time >= stats.inner_eval_time);
}
