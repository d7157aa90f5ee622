//! Metric queries through the engine over the in-memory store. Every expected value is worked
//! out by hand from Loki's documented semantics: windows `(t - range, t]`, steps
//! `start..=end`, `rate` as count per second of the range, unwrapped label values, Loki's
//! division by zero (NaN) and its error texts.

use cairn_logql::{Engine, EngineOptions, Error, MemoryLogQuerier, QueryParams, QueryValue, parse};
use cairn_model::{Labels, LogEntry, TenantId};
use cairn_promql::Value;

const S: i64 = 1_000_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

/// `{app="a"}`: one line every 10s from 10s to 60s, the 30s and 60s ones slow errors;
/// `{app="b"}`: errors at 15s and 45s.
fn store() -> MemoryLogQuerier {
    let t = TenantId::default_tenant();
    let mut q = MemoryLogQuerier::new().with_chunk_entries(2);
    let a: Vec<LogEntry> = (1..=6)
        .map(|i| {
            let line = if i % 3 == 0 {
                "status=500 latency=3s size=2KB"
            } else {
                "status=200 latency=1s size=1KB"
            };
            LogEntry::new(i * 10 * S, line)
        })
        .collect();
    q.add(&t, labels(&[("app", "a")]), &a);
    let b = [15, 45].map(|s| LogEntry::new(s * S, "status=500 latency=2s size=1KB"));
    q.add(&t, labels(&[("app", "b")]), &b);
    q
}

async fn run_with(opts: EngineOptions, query: &str, p: &QueryParams) -> Result<Value, Error> {
    let e = Engine::new(opts);
    let expr = parse(query)?;
    match e
        .execute(&store(), &TenantId::default_tenant(), &expr, p)
        .await?
        .value
    {
        QueryValue::Metric(v) => Ok(v),
        QueryValue::Streams(_) => panic!("streams answer to a metric query"),
    }
}

async fn run(query: &str, p: &QueryParams) -> Result<Value, Error> {
    run_with(EngineOptions::default(), query, p).await
}

/// An instant query's samples as (labels text, value).
async fn instant(query: &str, t_s: i64) -> Vec<(String, f64)> {
    match run(query, &QueryParams::instant(t_s * S)).await.unwrap() {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

fn one(v: &[(String, f64)]) -> f64 {
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].1
}

#[tokio::test]
async fn windows_are_left_open() {
    assert_eq!(
        instant(r#"count_over_time({app="a"}[1m])"#, 60).await,
        vec![(r#"{app="a"}"#.into(), 6.0)]
    );
    assert_eq!(
        one(&instant(r#"count_over_time({app="a"}[1m])"#, 69).await),
        6.0
    );
    // At 70s the window (10s, 70s] leaves the 10s line out.
    assert_eq!(
        one(&instant(r#"count_over_time({app="a"}[1m])"#, 70).await),
        5.0
    );
    assert!(
        instant(r#"count_over_time({app="a"}[5s])"#, 65)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn rates_and_bytes() {
    assert_eq!(one(&instant(r#"rate({app="a"}[1m])"#, 60).await), 0.1);
    // Four 30-byte lines and two 30-byte lines.
    assert_eq!(
        one(&instant(r#"bytes_over_time({app="a"}[1m])"#, 60).await),
        180.0
    );
    assert_eq!(one(&instant(r#"bytes_rate({app="a"}[1m])"#, 60).await), 3.0);
}

#[tokio::test]
async fn range_query_steps() {
    let v = run(
        r#"count_over_time({app="a"}[30s])"#,
        &QueryParams::range(30 * S, 60 * S, 15 * S),
    )
    .await
    .unwrap();
    let Value::Matrix(m) = v else { panic!("{v:?}") };
    assert_eq!(m.len(), 1);
    let pts: Vec<(i64, f64)> = m[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(pts, vec![(30_000, 3.0), (45_000, 3.0), (60_000, 3.0)]);
}

/// Only start == end with no step is instant (Loki's `GetRangeType`): one step with a step
/// width is a range query of one point, literals included; no step over a range is refused.
#[tokio::test]
async fn a_single_step_range_query_answers_a_matrix() {
    let q = r#"count_over_time({app="a"}[30s])"#;
    let v = run(q, &QueryParams::range(60 * S, 60 * S, 10 * S))
        .await
        .unwrap();
    let Value::Matrix(m) = v else { panic!("{v:?}") };
    let pts: Vec<(i64, f64)> = m[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(pts, vec![(60_000, 3.0)]);
    assert!(matches!(
        run(q, &QueryParams::instant(60 * S)).await.unwrap(),
        Value::Vector(_)
    ));
    let v = run("1 + 1", &QueryParams::range(S, S, S)).await.unwrap();
    let Value::Matrix(m) = v else { panic!("{v:?}") };
    assert_eq!(m[0].samples.len(), 1);
    let e = run(q, &QueryParams::range(0, 60 * S, 0)).await.unwrap_err();
    assert!(matches!(e, Error::BadParameter(_)), "{e:?}");
}

#[tokio::test]
async fn grouping_and_parsed_labels() {
    let v = instant(
        r#"sum by (status) (count_over_time({app=~"a|b"} | logfmt [1m]))"#,
        60,
    )
    .await;
    assert_eq!(
        v,
        vec![
            (r#"{status="200"}"#.into(), 4.0),
            (r#"{status="500"}"#.into(), 4.0)
        ]
    );
    let v = instant(
        r#"count_over_time({app="b"} | logfmt | drop size, latency [1m])"#,
        60,
    )
    .await;
    assert_eq!(v, vec![(r#"{app="b", status="500"}"#.into(), 2.0)]);
}

#[tokio::test]
async fn unwrap_duration_reads_fractions_exactly() {
    // `duration()` converts with Go's time.ParseDuration: 1.035µs is exactly 1035ns, so
    // 1.035e-6 seconds (a float sum of the fraction's digits gives 1034ns).
    let t = TenantId::default_tenant();
    let mut store = MemoryLogQuerier::new();
    store.add(
        &t,
        labels(&[("app", "c")]),
        &[LogEntry::new(10 * S, "latency=1.035µs")],
    );
    let expr =
        parse(r#"sum_over_time({app="c"} | logfmt | unwrap duration(latency) [1m])"#).unwrap();
    let out = Engine::new(EngineOptions::default())
        .execute(&store, &t, &expr, &QueryParams::instant(60 * S))
        .await
        .unwrap();
    match out.value {
        QueryValue::Metric(Value::Vector(v)) => {
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].v, 1035.0 / 1e9);
        }
        other => panic!("not a vector: {other:?}"),
    }
}

#[tokio::test]
async fn unwrap_aggregations() {
    let q =
        |f: &str| format!(r#"{f}({{app="a"}} | logfmt | unwrap duration(latency) [1m]) by (app)"#);
    // sum_over_time takes no grouping: extract only the unwrapped label.
    assert_eq!(
        one(&instant(
            r#"sum_over_time({app="a"} | logfmt latency | unwrap duration(latency) [1m])"#,
            60
        )
        .await),
        10.0
    );
    assert_eq!(one(&instant(&q("max_over_time"), 60).await), 3.0);
    assert_eq!(one(&instant(&q("min_over_time"), 60).await), 1.0);
    assert_eq!(one(&instant(&q("first_over_time"), 60).await), 1.0);
    assert_eq!(one(&instant(&q("last_over_time"), 60).await), 3.0);
    let avg = one(&instant(&q("avg_over_time"), 60).await);
    assert!((avg - 10.0 / 6.0).abs() < 1e-12, "{avg}");
    // Values 1,1,3,1,1,3: mean 5/3, variance (4·(2/3)² + 2·(4/3)²)/6 = 8/9.
    let var = one(&instant(&q("stdvar_over_time"), 60).await);
    assert!((var - 8.0 / 9.0).abs() < 1e-12, "{var}");
    // Sorted 1,1,1,1,3,3: rank 0.5·5 = 2.5 falls between two ones.
    let q50 = instant(
        r#"quantile_over_time(0.5, {app="a"} | logfmt | unwrap duration(latency) [1m]) by (app)"#,
        60,
    )
    .await;
    assert_eq!(one(&q50), 1.0);
    let bytes = instant(
        r#"avg_over_time({app="a"} | logfmt | unwrap bytes(size) [1m]) by (app)"#,
        60,
    )
    .await;
    assert!((one(&bytes) - 8000.0 / 6.0).abs() < 1e-9);
    // Without grouping the unwrapped label leaves the series labels.
    let v = instant(
        r#"sum_over_time({app="b"} | logfmt | unwrap duration(latency) [1m])"#,
        60,
    )
    .await;
    assert_eq!(
        v,
        vec![(r#"{app="b", size="1KB", status="500"}"#.into(), 4.0)]
    );
}

#[tokio::test]
async fn unwrap_errors_and_post_filters() {
    let e = run(
        r#"sum_over_time({app="a"} | logfmt | unwrap latency [1m])"#,
        &QueryParams::instant(60 * S),
    )
    .await
    .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(
        e.to_string()
            .starts_with("pipeline error: 'SampleExtractionErr' for series:"),
        "{e}"
    );
    let v = instant(
        r#"sum by (app) (sum_over_time({app="a"} | logfmt | unwrap latency | __error__="" [1m]))"#,
        60,
    )
    .await;
    assert!(v.is_empty(), "every latency has a unit: {v:?}");
}

#[tokio::test]
async fn vector_aggregations() {
    let v = instant(r#"topk(1, count_over_time({app=~"a|b"}[1m]))"#, 60).await;
    assert_eq!(v, vec![(r#"{app="a"}"#.into(), 6.0)]);
    let v = instant(r#"bottomk(1, count_over_time({app=~"a|b"}[1m]))"#, 60).await;
    assert_eq!(v, vec![(r#"{app="b"}"#.into(), 2.0)]);
    assert_eq!(
        one(&instant(r#"count(count_over_time({app=~"a|b"}[1m]))"#, 60).await),
        2.0
    );
    assert_eq!(
        one(&instant(r#"avg(count_over_time({app=~"a|b"}[1m]))"#, 60).await),
        4.0
    );
    assert_eq!(
        one(&instant(r#"stddev(count_over_time({app=~"a|b"}[1m]))"#, 60).await),
        2.0
    );
    let v = instant(r#"sort_desc(count_over_time({app=~"a|b"}[1m]))"#, 60).await;
    assert_eq!(v[0].1, 6.0);
    let v = instant(r#"sort(count_over_time({app=~"a|b"}[1m]))"#, 60).await;
    assert_eq!(v[0].1, 2.0);
}

#[tokio::test]
async fn binary_operators() {
    assert_eq!(
        one(&instant(
            r#"sum(count_over_time({app="a"}[1m])) / sum(count_over_time({app="b"}[1m]))"#,
            60
        )
        .await),
        3.0
    );
    // Loki divides by zero into NaN.
    assert!(one(&instant(r#"sum(count_over_time({app="a"}[1m])) / 0"#, 60).await).is_nan());
    let v = instant(r#"count_over_time({app=~"a|b"}[1m]) > 3"#, 60).await;
    assert_eq!(v, vec![(r#"{app="a"}"#.into(), 6.0)]);
    let v = instant(r#"count_over_time({app=~"a|b"}[1m]) > bool 3"#, 60).await;
    assert_eq!(
        v,
        vec![(r#"{app="a"}"#.into(), 1.0), (r#"{app="b"}"#.into(), 0.0)]
    );
    let v = instant(
        r#"count_over_time({app=~"a|b"}[1m]) and on (app) count_over_time({app="b"}[1m])"#,
        60,
    )
    .await;
    assert_eq!(v, vec![(r#"{app="b"}"#.into(), 2.0)]);
    // The health check Grafana sends.
    assert_eq!(
        instant("vector(1)+vector(1)", 4_000_000).await,
        vec![("{}".into(), 2.0)]
    );
    let Value::Scalar { v, .. } = run("1 + 1", &QueryParams::instant(S)).await.unwrap() else {
        panic!()
    };
    assert_eq!(v, 2.0);
}

#[tokio::test]
async fn offset_absent_and_label_replace() {
    assert_eq!(
        one(&instant(r#"count_over_time({app="a"}[30s] offset 30s)"#, 60).await),
        3.0
    );
    assert_eq!(
        instant(r#"absent_over_time({app="zzz", env=~"x"}[1m])"#, 60).await,
        vec![(r#"{app="zzz"}"#.into(), 1.0)]
    );
    assert!(
        instant(r#"absent_over_time({app="a"}[1m])"#, 60)
            .await
            .is_empty()
    );
    let v = instant(
        r#"label_replace(count_over_time({app="a"}[1m]), "x", "$1-y", "app", "(.*)")"#,
        60,
    )
    .await;
    assert_eq!(v, vec![(r#"{app="a", x="a-y"}"#.into(), 6.0)]);
}

#[tokio::test]
async fn rate_counter_extrapolates() {
    // Sizes in KB: 1,1,2,1,1,2 at 10..60s (a counter that resets); window (0, 60].
    let v = instant(
        r#"rate_counter({app="a"} | logfmt size | unwrap bytes(size) [1m])"#,
        60,
    )
    .await;
    // Increase: 2000-1000 plus the resets at 40s (2000) → 3000 over 50s of samples, the
    // first sample 10s from the start (< 1.1 × 10s average gap), the last at the end: the
    // interval extends to 60s, 3000·60/50/60 = 60 per second.
    assert!((one(&v) - 60.0).abs() < 1e-9, "{v:?}");
}

#[tokio::test]
async fn limits() {
    let e = run_with(
        EngineOptions {
            max_series: 1,
            ..EngineOptions::default()
        },
        r#"count_over_time({app=~"a|b"}[1m])"#,
        &QueryParams::instant(60 * S),
    )
    .await
    .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(
        e.to_string()
            .starts_with("maximum number of series (1) reached for a single query")
    );
    let e = run(
        r#"count_over_time({app="a"} | json [1m])"#,
        &QueryParams::instant(60 * S),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with(
            "pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\""
        ),
        "{e}"
    );
    let e = run(
        r#"count_over_time({app="a"} |~ "(" [1m])"#,
        &QueryParams::instant(60 * S),
    )
    .await
    .unwrap_err();
    assert_eq!(e.http_status(), 400);
}
