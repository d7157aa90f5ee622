//! The public engine API over the in-memory querier: result shapes, selector fetching, limits
//! and error kinds.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use cairn_model::{
    LabelValuesRequest, Labels, MetricMetadata, Querier, QueryError, Sample, SelectRequest, Series,
    SeriesRequest, TenantId, stale_nan,
};
use cairn_promql::{Engine, EngineOptions, ErrorKind, MemoryQuerier, Value};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("valid test labels")
}

/// Counts `select` calls of the real in-memory querier it wraps.
struct Counting {
    inner: MemoryQuerier,
    selects: AtomicUsize,
}

#[async_trait]
impl Querier for Counting {
    async fn select(&self, t: &TenantId, r: &SelectRequest) -> Result<Vec<Series>, QueryError> {
        self.selects.fetch_add(1, Ordering::SeqCst);
        self.inner.select(t, r).await
    }
    async fn series(&self, t: &TenantId, r: &SeriesRequest) -> Result<Vec<Labels>, QueryError> {
        self.inner.series(t, r).await
    }
    async fn label_names(
        &self,
        t: &TenantId,
        r: &SeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.inner.label_names(t, r).await
    }
    async fn label_values(
        &self,
        t: &TenantId,
        r: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.inner.label_values(t, r).await
    }
    async fn metadata(
        &self,
        t: &TenantId,
        m: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
        self.inner.metadata(t, m).await
    }
}

/// `http_requests_total{job="a"|"b"}`: a counter rising by 10 (a) or 20 (b) every 15s from 0s
/// to 600s.
fn store() -> (MemoryQuerier, TenantId) {
    let tenant = TenantId::default_tenant();
    let mut q = MemoryQuerier::new();
    for (job, inc) in [("a", 10.0), ("b", 20.0)] {
        let samples: Vec<Sample> = (0..=40)
            .map(|i| Sample::new(i * 15_000, i as f64 * inc))
            .collect();
        q.add(
            &tenant,
            labels(&[("__name__", "http_requests_total"), ("job", job)]),
            &samples,
        );
    }
    (q, tenant)
}

#[tokio::test]
async fn instant_rate_sum_and_name_dropping() {
    let (q, tenant) = store();
    let engine = Engine::default();
    let v = engine
        .instant(
            &q,
            &tenant,
            "sum by (job) (rate(http_requests_total[1m]))",
            600_000,
        )
        .await
        .unwrap();
    let Value::Vector(mut v) = v else {
        panic!("expected a vector, got {v:?}");
    };
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].labels, labels(&[("job", "a")]));
    assert!((v[0].v - 10.0 / 15.0).abs() < 1e-9, "{}", v[0].v);
    assert!((v[1].v - 20.0 / 15.0).abs() < 1e-9, "{}", v[1].v);
    assert_eq!(v[0].t_ms, 600_000);

    let v = engine
        .instant(&q, &tenant, "http_requests_total{job=\"a\"} * 2", 600_000)
        .await
        .unwrap();
    let Value::Vector(v) = v else { panic!() };
    assert_eq!(
        v[0].labels,
        labels(&[("job", "a")]),
        "arithmetic drops __name__"
    );
    assert_eq!(v[0].v, 800.0);
}

#[tokio::test]
async fn range_query_fetches_each_selector_once() {
    let (inner, tenant) = store();
    let q = Counting {
        inner,
        selects: AtomicUsize::new(0),
    };
    let engine = Engine::default();
    let v = engine
        .range(
            &q,
            &tenant,
            "max_over_time(http_requests_total{job=\"a\"}[2m:30s]) - http_requests_total offset 1m",
            120_000,
            600_000,
            60_000,
        )
        .await
        .unwrap();
    assert_eq!(
        q.selects.load(Ordering::SeqCst),
        2,
        "one select per selector"
    );
    let Value::Matrix(m) = v else { panic!() };
    assert_eq!(m.len(), 1, "only job=a matches on both sides: {m:?}");
    assert_eq!(m[0].labels, labels(&[("job", "a")]));
    assert_eq!(m[0].samples.len(), 9);
    // At t, the newest subquery point is t itself (value t/1.5s), minus the value at t-1m.
    for s in &m[0].samples {
        assert!((s.v - 40.0).abs() < 1e-9, "{s:?}");
    }
}

#[tokio::test]
async fn staleness_and_lookback() {
    let tenant = TenantId::default_tenant();
    let mut q = MemoryQuerier::new();
    q.add(
        &tenant,
        labels(&[("__name__", "up")]),
        &[Sample::new(0, 1.0), Sample::new(10_000, stale_nan())],
    );
    let engine = Engine::default();
    let at = |t| engine.instant(&q, &tenant, "up", t);
    assert!(matches!(at(5_000).await.unwrap(), Value::Vector(v) if v.len() == 1));
    assert!(matches!(at(15_000).await.unwrap(), Value::Vector(v) if v.is_empty()));
    let mut q2 = MemoryQuerier::new();
    q2.add(
        &tenant,
        labels(&[("__name__", "up")]),
        &[Sample::new(0, 1.0)],
    );
    let v = engine.instant(&q2, &tenant, "up", 300_000).await.unwrap();
    assert!(
        matches!(v, Value::Vector(v) if v.is_empty()),
        "lookback is left-open"
    );
}

#[tokio::test]
async fn result_shapes_and_errors() {
    let (q, tenant) = store();
    let engine = Engine::default();
    assert_eq!(
        engine.instant(&q, &tenant, "1 + 2", 0).await.unwrap(),
        Value::Scalar { t_ms: 0, v: 3.0 }
    );
    let m = engine
        .instant(&q, &tenant, "http_requests_total{job=\"b\"}[30s]", 600_000)
        .await
        .unwrap();
    assert!(
        matches!(&m, Value::Matrix(s) if s.len() == 1 && s[0].samples.len() == 2),
        "{m:?}"
    );

    let e = engine.instant(&q, &tenant, "sum(", 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
    let e = engine
        .range(&q, &tenant, "http_requests_total[1m]", 0, 60_000, 15_000)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData, "{e}");
    let e = engine
        .instant(
            &q,
            &tenant,
            "label_replace(http_requests_total, \"job\", \"x\", \"job\", \".*\")",
            600_000,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Execution);
    assert!(e.to_string().contains("same labelset"), "{e}");

    let small = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let e = small
        .instant(&q, &tenant, "http_requests_total[10m]", 600_000)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Execution, "{e}");
}

#[tokio::test]
async fn oversized_subquery_is_refused_not_allocated() {
    let (q, tenant) = store();
    let e = Engine::default()
        .instant(
            &q,
            &tenant,
            "max_over_time(http_requests_total[10y:1ms])",
            600_000,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Execution, "{e}");
}

#[tokio::test]
async fn go_style_regex_braces_match_literally() {
    let tenant = TenantId::default_tenant();
    let mut q = MemoryQuerier::new();
    q.add(
        &tenant,
        labels(&[("__name__", "m"), ("path", "/a{id}")]),
        &[Sample::new(0, 1.0)],
    );
    let v = Engine::default()
        .instant(&q, &tenant, r#"m{path=~"/a{id}"}"#, 0)
        .await
        .unwrap();
    assert!(matches!(v, Value::Vector(v) if v.len() == 1));
}
