//! One tenant's generator: the processors its configuration turns on, fed with span batches
//! and collected into samples.

use cairn_model::{Labels, Sample, TraceBatch};

use crate::config::{Enabled, GeneratorConfig};
use crate::error::Result;
use crate::registry::{Collection, SeriesCtx};
use crate::servicegraph::{GraphStats, ServiceGraph};
use crate::spanmetrics::SpanMetrics;

/// What a generator holds and has done, for self-monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneratorStats {
    /// Series alive now (a histogram counts each bucket, its sum and its count).
    pub active_series: usize,
    /// New series not created because of `max_active_series`, since start.
    pub refused_series: u64,
    /// Spans observed.
    pub spans: u64,
    /// Spans span metrics' filter policies left out.
    pub filtered_spans: u64,
    /// The service graph's counts (all zero when it is off).
    pub graph: GraphStats,
}

/// RED metrics and the service graph of one tenant.
///
/// Feed it every accepted batch with [`Generator::observe`] and write what
/// [`Generator::collect`] returns into the metrics store every `collection_interval`. Time
/// comes from the caller (milliseconds since the epoch), so tests need no clock; it should
/// not go backwards.
pub struct Generator {
    config: GeneratorConfig,
    enabled: Enabled,
    ctx: SeriesCtx,
    span_metrics: Option<SpanMetrics>,
    service_graph: Option<ServiceGraph>,
    spans: u64,
}

impl Generator {
    /// A generator for `config`, refused with the first problem found if it does not
    /// validate.
    pub fn new(config: GeneratorConfig) -> Result<Self> {
        config.validate()?;
        let enabled = config.enabled()?;
        let span_metrics = enabled
            .span_metrics()
            .then(|| SpanMetrics::new(&config.processor.span_metrics, &enabled))
            .transpose()?;
        let service_graph = enabled
            .service_graphs()
            .then(|| ServiceGraph::new(&config.processor.service_graphs, &enabled))
            .transpose()?;
        Ok(Generator {
            ctx: SeriesCtx {
                external: config
                    .external_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                max_series: config.max_active_series,
                ..SeriesCtx::default()
            },
            config,
            enabled,
            span_metrics,
            service_graph,
            spans: 0,
        })
    }

    /// The configuration it runs.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// Which metrics it makes.
    pub fn enabled(&self) -> Enabled {
        self.enabled
    }

    /// Whether any processor runs (an empty `processors` list runs none).
    pub fn is_active(&self) -> bool {
        self.span_metrics.is_some() || self.service_graph.is_some()
    }

    /// Counts the spans of `batch`, received at `now_ms`, and pairs their edges.
    pub fn observe(&mut self, batch: &TraceBatch, now_ms: i64) {
        self.spans += batch.span_count() as u64;
        if let Some(sm) = &mut self.span_metrics {
            sm.observe(batch, now_ms, &mut self.ctx);
        }
        if let Some(sg) = &mut self.service_graph {
            sg.observe(batch, now_ms, &mut self.ctx);
        }
    }

    /// Every live series' value at `now_ms`, as a scrape would see it: cumulative counters,
    /// gauges, and histograms as `_bucket{le}`, `_sum` and `_count`. Edges whose wait is over
    /// are settled first; series idle for `stale_duration` are dropped; a series' first
    /// collection also carries a 0 at the end of the previous minute for counters and for
    /// histogram buckets and counts. The buckets' exemplars are dropped: see
    /// [`Generator::collect_with_exemplars`].
    pub fn collect(&mut self, now_ms: i64) -> Vec<(Labels, Sample)> {
        self.collect_with_exemplars(now_ms).samples
    }

    /// [`Generator::collect`], plus for each histogram bucket the last trace observed in it
    /// since the previous collection (labelled `traceID`, as Tempo writes exemplars).
    pub fn collect_with_exemplars(&mut self, now_ms: i64) -> Collection {
        let stale = i64::try_from(self.config.stale_duration.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms.saturating_sub(stale);
        let mut out = Collection::default();
        let mut families = Vec::new();
        if let Some(sg) = &mut self.service_graph {
            sg.expire(now_ms, &mut self.ctx);
            families.extend(sg.families());
        }
        if let Some(sm) = &mut self.span_metrics {
            families.extend(sm.families());
        }
        for f in families {
            f.collect(now_ms, before, &mut self.ctx, &mut out);
        }
        out
    }

    /// What it holds and has done.
    pub fn stats(&self) -> GeneratorStats {
        GeneratorStats {
            active_series: self.ctx.active,
            refused_series: self.ctx.refused,
            spans: self.spans,
            filtered_spans: self.span_metrics.as_ref().map_or(0, |s| s.filtered),
            graph: self
                .service_graph
                .as_ref()
                .map(ServiceGraph::stats)
                .unwrap_or_default(),
        }
    }
}
