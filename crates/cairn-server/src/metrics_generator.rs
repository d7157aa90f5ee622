//! Metrics from spans as a running service (Tempo's metrics-generator, built in): one
//! [`Generator`] per tenant, fed by the trace ingest path with [`MetricsGenerators::observe`],
//! and a task that every `collection_interval` appends what each generator collects into
//! that tenant's metrics store through the normal append path, so PromQL, recording rules
//! and SLOs read `traces_spanmetrics_*` and `traces_service_graph_*` like scraped series.
//!
//! Spans are observed when the ingest path takes them, before the trace store's answer, as
//! Tempo's distributor forwards them to its generators: a client retrying a failed request
//! is counted again there too. Every tenant runs the same configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_model::{Labels, TenantId, TraceBatch, WriteBatch};
use cairn_spanmetrics::{Collection, Exemplar, Generator, GeneratorConfig, GeneratorStats};
use parking_lot::Mutex;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::MetricsStore;

/// The generators of every tenant that has sent spans.
pub(crate) struct MetricsGenerators {
    config: GeneratorConfig,
    tenants: Mutex<HashMap<TenantId, Arc<Mutex<Generator>>>>,
    gauges: Gauges,
}

type TenantLabel = Vec<(&'static str, String)>;

/// `cairn_traces_generator_*`: each tenant's generator state, refreshed after every
/// collection (totals are since start).
#[derive(Clone, Default)]
struct Gauges {
    active_series: Family<TenantLabel, Gauge>,
    spans: Family<TenantLabel, Gauge>,
    refused_series: Family<TenantLabel, Gauge>,
    pending_edges: Family<TenantLabel, Gauge>,
    unpaired_spans: Family<TenantLabel, Gauge>,
    dropped_spans: Family<TenantLabel, Gauge>,
}

impl Gauges {
    fn register(registry: &mut Registry) -> Self {
        let g = Gauges::default();
        for (name, help, f) in [
            (
                "cairn_traces_generator_active_series",
                "Series the span metrics generator keeps alive",
                &g.active_series,
            ),
            (
                "cairn_traces_generator_spans_observed",
                "Spans the metrics generator observed since start",
                &g.spans,
            ),
            (
                "cairn_traces_generator_refused_series",
                "New series not made because of max_active_series, since start",
                &g.refused_series,
            ),
            (
                "cairn_traces_generator_pending_edges",
                "Service graph halves waiting for their pair",
                &g.pending_edges,
            ),
            (
                "cairn_traces_generator_unpaired_spans",
                "Service graph halves that expired unpaired, since start",
                &g.unpaired_spans,
            ),
            (
                "cairn_traces_generator_dropped_spans",
                "Service graph spans dropped because max_items halves were waiting, since start",
                &g.dropped_spans,
            ),
        ] {
            registry.register(name, help, f.clone());
        }
        g
    }

    fn set(&self, tenant: &TenantId, s: &GeneratorStats) {
        let l = vec![("tenant", tenant.to_string())];
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.active_series
            .get_or_create(&l)
            .set(n(s.active_series as u64));
        self.spans.get_or_create(&l).set(n(s.spans));
        self.refused_series
            .get_or_create(&l)
            .set(n(s.refused_series));
        self.pending_edges
            .get_or_create(&l)
            .set(n(s.graph.pending as u64));
        self.unpaired_spans
            .get_or_create(&l)
            .set(n(s.graph.unpaired));
        self.dropped_spans
            .get_or_create(&l)
            .set(n(s.graph.dropped_spans));
    }
}

/// What one collection round wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Collected {
    /// Tenants collected.
    pub(crate) tenants: usize,
    /// Samples the store took.
    pub(crate) samples_written: usize,
    /// Tenants whose append failed, with the store's message.
    pub(crate) failures: Vec<(TenantId, String)>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl MetricsGenerators {
    /// The generators for `config`; `None` when it runs no processor. A configuration that
    /// does not validate is refused with the generator's error.
    pub(crate) fn new(
        config: GeneratorConfig,
        registry: &mut Registry,
    ) -> Result<Option<Arc<Self>>, cairn_spanmetrics::Error> {
        // Building one generator validates the configuration once for every tenant.
        if !Generator::new(config.clone())?.is_active() {
            return Ok(None);
        }
        Ok(Some(Arc::new(MetricsGenerators {
            config,
            tenants: Mutex::new(HashMap::new()),
            gauges: Gauges::register(registry),
        })))
    }

    /// How often [`MetricsGenerators::start`] collects.
    pub(crate) fn collection_interval(&self) -> Duration {
        self.config.collection_interval
    }

    fn generator(&self, tenant: &TenantId) -> Arc<Mutex<Generator>> {
        let mut tenants = self.tenants.lock();
        if let Some(g) = tenants.get(tenant) {
            return Arc::clone(g);
        }
        // The configuration validated in `new`; a failure here would be a bug, and then
        // the tenant simply gets no metrics.
        let g = match Generator::new(self.config.clone()) {
            Ok(g) => Arc::new(Mutex::new(g)),
            Err(e) => {
                tracing::error!(error = %e, "metrics generator configuration refused");
                return Arc::new(Mutex::new(
                    Generator::new(GeneratorConfig::default())
                        .expect("the default configuration is valid"),
                ));
            }
        };
        tenants.insert(tenant.clone(), Arc::clone(&g));
        g
    }

    /// Counts the spans of `batch` for `tenant`, taken at `now_ms`. CPU work in proportion to
    /// the spans (about 2 µs each): call it where the batch was decoded, off the reactor.
    pub(crate) fn observe(&self, tenant: &TenantId, batch: &TraceBatch, now_ms: i64) {
        self.generator(tenant).lock().observe(batch, now_ms);
    }

    /// Each tenant's generator statistics, by tenant.
    pub(crate) fn stats(&self) -> Vec<(TenantId, GeneratorStats)> {
        let tenants: Vec<_> = self
            .tenants
            .lock()
            .iter()
            .map(|(t, g)| (t.clone(), Arc::clone(g)))
            .collect();
        tenants
            .into_iter()
            .map(|(t, g)| {
                let s = g.lock().stats();
                (t, s)
            })
            .collect()
    }

    /// Collects every tenant's series at `now_ms` and appends them to `store`.
    pub(crate) async fn collect_into(&self, store: &dyn MetricsStore, now_ms: i64) -> Collected {
        let tenants: Vec<_> = self
            .tenants
            .lock()
            .iter()
            .map(|(t, g)| (t.clone(), Arc::clone(g)))
            .collect();
        let mut out = Collected::default();
        for (tenant, g) in tenants {
            out.tenants += 1;
            let collected =
                match tokio::task::spawn_blocking(move || g.lock().collect_with_exemplars(now_ms))
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        out.failures
                            .push((tenant, format!("collection task failed: {e}")));
                        continue;
                    }
                };
            if collected.samples.is_empty() {
                continue;
            }
            let batch = write_batch(&collected);
            match store.append(&tenant, &batch).await {
                Ok(a) => out.samples_written += a.samples_written,
                Err(f) => out.failures.push((tenant, f.message)),
            }
        }
        out
    }

    /// Collects every `collection_interval` into `store` until `stop`.
    pub(crate) fn start(
        self: &Arc<Self>,
        store: Arc<dyn MetricsStore>,
        stop: CancellationToken,
        tracker: &TaskTracker,
    ) {
        let this = Arc::clone(self);
        tracker.spawn(async move {
            let mut tick = tokio::time::interval(this.collection_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let done = this.collect_into(store.as_ref(), now_ms()).await;
                for (tenant, message) in &done.failures {
                    tracing::warn!(%tenant, %message, "metrics generator append failed");
                }
                for (tenant, stats) in this.stats() {
                    this.gauges.set(&tenant, &stats);
                }
            }
        });
    }
}

/// One series per sample, as the rule engine writes recorded series; a bucket's exemplar
/// (`traceID`) rides with the bucket's sample of the collection time, so the exemplar
/// storage serves it and Grafana links a latency panel to the trace.
fn write_batch(c: &Collection) -> WriteBatch<'_> {
    let mut exemplars: HashMap<&Labels, Vec<&Exemplar>> = HashMap::new();
    for e in &c.exemplars {
        exemplars.entry(&e.series).or_default().push(e);
    }
    let mut batch = WriteBatch::default();
    for (labels, sample) in &c.samples {
        batch.push_sample(labels, *sample);
        for e in exemplars.get(labels).into_iter().flatten() {
            if e.t == sample.t {
                batch.push_exemplar(&e.labels, e.value, e.t);
            }
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    use async_trait::async_trait;
    use cairn_model::{
        Attribute, LabelValuesRequest, MetricMetadata, Querier, QueryError, Resource,
        ResourceSpans, Sample, ScopeSpans, SelectRequest, Series, SeriesRequest, Span, SpanId,
        SpanKind, TraceId,
    };

    use crate::backend::{Appended, StoreFailure};

    /// One append: the tenant and its samples.
    type Append = (TenantId, Vec<(Labels, Sample)>);

    /// Keeps what was appended, per tenant.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Append>>);

    #[async_trait]
    impl Querier for Recorder {
        async fn select(&self, _: &TenantId, _: &SelectRequest) -> Result<Vec<Series>, QueryError> {
            Ok(Vec::new())
        }
        async fn series(&self, _: &TenantId, _: &SeriesRequest) -> Result<Vec<Labels>, QueryError> {
            Ok(Vec::new())
        }
        async fn label_names(
            &self,
            _: &TenantId,
            _: &SeriesRequest,
        ) -> Result<Vec<String>, QueryError> {
            Ok(Vec::new())
        }
        async fn label_values(
            &self,
            _: &TenantId,
            _: &LabelValuesRequest,
        ) -> Result<Vec<String>, QueryError> {
            Ok(Vec::new())
        }
        async fn metadata(
            &self,
            _: &TenantId,
            _: Option<&str>,
        ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
            Ok(Vec::new())
        }
    }

    #[async_trait]
    impl MetricsStore for Recorder {
        async fn append(
            &self,
            tenant: &TenantId,
            batch: &WriteBatch<'_>,
        ) -> Result<Appended, StoreFailure> {
            let series = batch
                .series
                .iter()
                .map(|s| {
                    let pairs = batch.series_labels(s).iter().map(|l| (l.name, l.value));
                    let labels = Labels::from_pairs(pairs).expect("generated labels are valid");
                    (labels, batch.series_samples(s)[0])
                })
                .collect::<Vec<_>>();
            let n = series.len();
            self.0.lock().push((tenant.clone(), series));
            Ok(Appended {
                samples_written: n,
                ..Appended::default()
            })
        }

        fn querier(&self) -> &dyn Querier {
            self
        }

        async fn flush(&self) -> Result<serde_json::Value, StoreFailure> {
            Ok(serde_json::Value::Null)
        }

        fn exemplars(
            &self,
            _tenant: &TenantId,
            _selectors: &[Vec<cairn_model::Matcher>],
            _start_ms: i64,
            _end_ms: i64,
        ) -> Vec<cairn_store::ExemplarSeries> {
            Vec::new()
        }
    }

    fn batch(service: &str, kind: SpanKind) -> TraceBatch {
        TraceBatch {
            resources: vec![ResourceSpans {
                resource: Resource {
                    attributes: vec![Attribute::new("service.name", service)],
                    ..Resource::default()
                },
                scopes: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: TraceId([1; 16]),
                        span_id: SpanId([2; 8]),
                        name: "GET /".into(),
                        kind,
                        start_ns: 0,
                        end_ns: 1_000_000,
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn config(yaml: &str) -> GeneratorConfig {
        serde_yaml_ng::from_str(yaml).expect("test config parses")
    }

    #[tokio::test]
    async fn each_tenant_gets_its_own_series_in_its_own_store() {
        let gens = MetricsGenerators::new(
            config("processors: [span-metrics-count]"),
            &mut Registry::default(),
        )
        .expect("valid")
        .expect("active");
        let a = TenantId::new("a").expect("tenant");
        let b = TenantId::new("b").expect("tenant");
        gens.observe(&a, &batch("api", SpanKind::Server), 1_000);
        gens.observe(&a, &batch("api", SpanKind::Server), 1_000);
        gens.observe(&b, &batch("web", SpanKind::Server), 1_000);
        let store = Recorder::default();
        let done = gens.collect_into(&store, 30_000).await;
        assert_eq!(done.tenants, 2);
        assert!(done.failures.is_empty());
        let appended = store.0.lock();
        let value = |tenant: &TenantId, service: &str| {
            appended
                .iter()
                .filter(|(t, _)| t == tenant)
                .flat_map(|(_, s)| s)
                .find(|(l, s)| l.get("service") == Some(service) && s.t == 30_000)
                .map(|(_, s)| s.v)
        };
        assert_eq!(value(&a, "api"), Some(2.0));
        assert_eq!(value(&b, "web"), Some(1.0));
        assert_eq!(value(&a, "web"), None);
        // A new series also carries its 0 at the end of the previous minute.
        assert_eq!(done.samples_written, 4);
        assert_eq!(gens.stats().len(), 2);
    }

    #[test]
    fn no_processors_no_generators_and_bad_configs_refused() {
        assert!(
            MetricsGenerators::new(GeneratorConfig::default(), &mut Registry::default())
                .expect("valid")
                .is_none()
        );
        assert!(
            MetricsGenerators::new(config("processors: [nope]"), &mut Registry::default()).is_err()
        );
    }
}
