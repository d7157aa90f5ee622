//! The span metrics processor: per span, one call, one latency observation and its encoded
//! size, under labels made of the intrinsic dimensions (`service`, `span_name`, `span_kind`,
//! `status_code`, optionally `status_message`), the configured attribute dimensions and
//! mappings, and `job`/`instance` when target info is on; plus `traces_target_info` per
//! resource.

use std::collections::HashSet;

use cairn_model::{Labels, LabelsBuilder, Resource, Span, TraceBatch};

use crate::config::{Enabled, SpanMetricsConfig, compile_filter};
use crate::filter::SpanFilter;
use crate::names::{
    DIM_INSTANCE, DIM_JOB, DIM_SERVICE, DIM_SPAN_KIND, DIM_SPAN_NAME, DIM_STATUS_CODE,
    DIM_STATUS_MESSAGE, SPANMETRICS_CALLS_TOTAL, SPANMETRICS_LATENCY, SPANMETRICS_SIZE_TOTAL,
    TARGET_INFO, find_value, sanitize_target_info, sanitize_with_collisions, service_labels,
    span_multiplier, stringify,
};
use crate::registry::{CounterVec, Family, GaugeVec, HistogramVec, SeriesCtx};
use crate::size::span_proto_size;

pub(crate) struct SpanMetrics {
    cfg: SpanMetricsConfig,
    dimension_labels: Vec<String>,
    mapping_labels: Vec<String>,
    target_info_excluded: HashSet<String>,
    calls: Option<CounterVec>,
    latency: Option<HistogramVec>,
    size: Option<CounterVec>,
    target_info: GaugeVec,
    filter: SpanFilter,
    /// Spans the filter policies left out, since start.
    pub(crate) filtered: u64,
}

impl SpanMetrics {
    /// The processor for a validated `cfg`.
    pub(crate) fn new(cfg: &SpanMetricsConfig, enabled: &Enabled) -> crate::Result<Self> {
        Ok(SpanMetrics {
            filter: compile_filter("span_metrics.filter_policies", &cfg.filter_policies)?,
            filtered: 0,
            dimension_labels: cfg
                .dimensions
                .iter()
                .map(|d| sanitize_with_collisions(d))
                .collect(),
            mapping_labels: cfg
                .dimension_mappings
                .iter()
                .map(|m| sanitize_with_collisions(&m.name))
                .collect(),
            target_info_excluded: cfg
                .target_info_excluded_dimensions
                .iter()
                .cloned()
                .collect(),
            calls: enabled
                .span_count
                .then(|| CounterVec::new(SPANMETRICS_CALLS_TOTAL)),
            latency: enabled
                .span_latency
                .then(|| HistogramVec::new(SPANMETRICS_LATENCY, &cfg.histogram_buckets)),
            size: enabled
                .span_size
                .then(|| CounterVec::new(SPANMETRICS_SIZE_TOTAL)),
            target_info: GaugeVec::new(TARGET_INFO),
            cfg: cfg.clone(),
        })
    }

    pub(crate) fn observe(&mut self, batch: &TraceBatch, now_ms: i64, ctx: &mut SeriesCtx) {
        for rs in &batch.resources {
            let (service, job, instance) = service_labels(&rs.resource);
            let service = service.unwrap_or_default();
            let mut any = false;
            for span in rs.scopes.iter().flat_map(|s| &s.spans) {
                if !self.filter.accepts(&rs.resource, span) {
                    self.filtered += 1;
                    continue;
                }
                self.observe_span(&rs.resource, span, &service, &job, &instance, now_ms, ctx);
                any = true;
            }
            if any && self.cfg.enable_target_info {
                self.set_target_info(&rs.resource, &job, &instance, now_ms, ctx);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn observe_span(
        &mut self,
        resource: &Resource,
        span: &Span,
        service: &str,
        job: &str,
        instance: &str,
        now_ms: i64,
        ctx: &mut SeriesCtx,
    ) {
        let cfg = &self.cfg;
        let dims = &cfg.intrinsic_dimensions;
        let mut b = LabelsBuilder::default();
        if dims.service {
            b.set(DIM_SERVICE, service);
        }
        if dims.span_name {
            b.set(DIM_SPAN_NAME, &span.name);
        }
        if dims.span_kind {
            b.set(DIM_SPAN_KIND, span.kind.otlp_name());
        }
        if dims.status_code {
            b.set(DIM_STATUS_CODE, span.status.code.otlp_name());
        }
        if dims.status_message {
            b.set(DIM_STATUS_MESSAGE, &span.status.message);
        }
        let lists: [&[_]; 2] = [&resource.attributes, &span.attributes];
        for (d, label) in cfg.dimensions.iter().zip(&self.dimension_labels) {
            // An absent attribute still sets (clears) the label, so that of two dimensions
            // sanitizing to one label the last configured decides, as in Tempo.
            b.set(label, &find_value(d, &lists).unwrap_or_default());
        }
        for (m, label) in cfg.dimension_mappings.iter().zip(&self.mapping_labels) {
            let values: Vec<String> = m
                .source_labels
                .iter()
                .filter_map(|s| find_value(s, &lists))
                .filter(|v| !v.is_empty())
                .collect();
            b.set(label, &values.join(&m.join));
        }
        if cfg.enable_target_info {
            b.set(DIM_JOB, job);
            if cfg.enable_instance_label {
                b.set(DIM_INSTANCE, instance);
            }
        }
        let labels = b.build();
        let weight = span_multiplier(
            &cfg.span_multiplier_key,
            cfg.enable_tracestate_span_multiplier,
            span,
            resource,
        );
        if let Some(calls) = &mut self.calls {
            calls.inc(labels.clone(), weight, now_ms, ctx);
        }
        if let Some(size) = &mut self.size {
            size.inc(labels.clone(), span_proto_size(span) as f64, now_ms, ctx);
        }
        if let Some(latency) = &mut self.latency {
            let seconds = span.duration_ns() as f64 / 1e9;
            latency.observe(labels, seconds, weight, Some(span.trace_id), now_ms, ctx);
        }
    }

    /// `traces_target_info` for a resource: its attributes as labels (sanitized; the
    /// `service.*` ones are `job` and `instance` instead), written only when the resource has
    /// a `job` or `instance` and at least one other attribute.
    fn set_target_info(
        &mut self,
        resource: &Resource,
        job: &str,
        instance: &str,
        now_ms: i64,
        ctx: &mut SeriesCtx,
    ) {
        let mut b = LabelsBuilder::default();
        for a in &resource.attributes {
            let key = a.key.as_str();
            let skip = key.is_empty()
                || key.starts_with(|c: char| c.is_ascii_digit())
                || matches!(
                    key,
                    "service.name" | "service.namespace" | "service.instance.id"
                )
                || self.target_info_excluded.contains(key);
            if !skip {
                b.set(&sanitize_target_info(key), &stringify(&a.value));
            }
        }
        let mut identifying = 0;
        if !job.is_empty() {
            b.set(DIM_JOB, job);
            identifying += 1;
        }
        if !instance.is_empty() && self.cfg.enable_instance_label {
            b.set(DIM_INSTANCE, instance);
            identifying += 1;
        }
        let labels: Labels = b.build();
        if identifying > 0 && labels.len() > identifying {
            self.target_info.set(labels, 1.0, now_ms, ctx);
        }
    }

    pub(crate) fn families(&mut self) -> Vec<Family<'_>> {
        let mut out = Vec::new();
        if let Some(c) = &mut self.calls {
            out.push(Family::Counter(c));
        }
        if let Some(h) = &mut self.latency {
            out.push(Family::Histogram(h));
        }
        if let Some(s) = &mut self.size {
            out.push(Family::Counter(s));
        }
        out.push(Family::Gauge(&mut self.target_info));
        out
    }
}
