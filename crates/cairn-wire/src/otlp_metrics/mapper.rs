//! The mapping itself: resource and scope context, attributes to labels, one function per
//! OTLP metric kind, exemplars and `target_info` (Prometheus' `PrometheusConverter`).

use std::collections::{HashMap, HashSet};

use cairn_model::{METRIC_NAME, MetricType, Sample};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, metric::Data, number_data_point,
};

use super::naming::{LabelNamer, MetricNamer, NamingType, unit_name};
use super::{
    FLAG_NO_RECORDED_VALUE, MAX_EXEMPLAR_RUNES, MappedExemplar, MappedMetadata, MappedMetrics,
    MappedSeries, OtlpMetricsMapping, SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_NAMESPACE,
    TARGET_INFO_INTERVAL_MS,
};
use crate::logs::otlp::value::{as_string, hex};

/// Most `target_info` samples one resource writes (module docs of `target_info`).
const MAX_TARGET_INFO_SAMPLES: i64 = 64;

/// Maps an export request (from the gRPC listener, or [`decode_otlp_metrics`]).
pub fn map_otlp_metrics(
    req: &ExportMetricsServiceRequest,
    mapping: &OtlpMetricsMapping,
) -> MappedMetrics {
    let mut m = Mapper {
        mapping,
        namer: MetricNamer::new("", mapping.translation_strategy),
        labels: mapping.label_namer(),
        out: MappedMetrics::default(),
        index: HashMap::new(),
        families: HashMap::new(),
        target_info_seen: HashSet::new(),
    };
    for rm in &req.resource_metrics {
        let attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let resource = match m.resource_context(attrs) {
            Ok(r) => r,
            Err(e) => {
                let points = rm
                    .scope_metrics
                    .iter()
                    .flat_map(|s| &s.metrics)
                    .map(point_count)
                    .sum();
                m.out.report.refuse(points, e);
                continue;
            }
        };
        let mut times: Option<(u64, u64)> = None;
        for sm in &rm.scope_metrics {
            let scope = match m.scope_labels(sm.scope.as_ref(), &sm.schema_url) {
                Ok(s) => s,
                Err(e) => {
                    let points = sm.metrics.iter().map(point_count).sum();
                    m.out.report.refuse(points, e);
                    continue;
                }
            };
            let ctx = Context {
                resource: &resource,
                scope: &scope,
            };
            for metric in &sm.metrics {
                for t in point_times(metric) {
                    times = Some(times.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
                }
                m.metric(metric, &ctx);
            }
        }
        if let Some((lo, hi)) = times {
            m.target_info(attrs, &resource, lo, hi);
        }
    }
    m.out
}

/// Labels every series of a resource carries.
struct ResourceLabels {
    job: Option<String>,
    instance: Option<String>,
    /// Promoted attributes, already named.
    promoted: Vec<(String, String)>,
}

/// What a data point's series inherit.
struct Context<'a> {
    resource: &'a ResourceLabels,
    /// Scope labels (when `promote_scope_metadata`), set over the point's own.
    scope: &'a [(String, String)],
}

struct Mapper<'m> {
    mapping: &'m OtlpMetricsMapping,
    namer: MetricNamer,
    labels: LabelNamer,
    out: MappedMetrics,
    /// Series by label set, to merge points of one series.
    index: HashMap<Vec<(String, String)>, usize>,
    /// `target_info` samples written, by series index and time.
    target_info_seen: HashSet<(usize, i64)>,
    /// Families whose metadata is recorded.
    families: HashMap<String, ()>,
}

/// A label set under construction: names unique, setting `""` removes (Prometheus' builder).
#[derive(Default)]
struct Builder(Vec<(String, String)>);

impl Builder {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.0.iter().position(|(n, _)| n == name) {
            Some(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Some(i) => value.clone_into(&mut self.0[i].1),
            None if value.is_empty() => {}
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    fn labels(mut self) -> Vec<(String, String)> {
        self.0.sort_unstable();
        self.0
    }
}

impl Mapper<'_> {
    fn resource_context(&self, attrs: &[KeyValue]) -> Result<ResourceLabels, String> {
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key == k)
                .map(|kv| as_string(kv.value.as_ref()))
        };
        let job = get(SERVICE_NAME).map(|name| match get(SERVICE_NAMESPACE) {
            Some(ns) => format!("{ns}/{name}"),
            None => name,
        });
        let instance = get(SERVICE_INSTANCE_ID);
        let mut promoted = Builder::default();
        for kv in attrs {
            if self.mapping.promotes(&kv.key) {
                let name = self.labels.build(&kv.key)?;
                promoted.set(&name, &as_string(kv.value.as_ref()));
            }
        }
        Ok(ResourceLabels {
            job,
            instance,
            promoted: promoted.labels(),
        })
    }

    fn scope_labels(
        &self,
        scope: Option<&InstrumentationScope>,
        schema_url: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let Some(scope) =
            scope.filter(|s| self.mapping.promote_scope_metadata && !s.name.is_empty())
        else {
            return Ok(Vec::new());
        };
        let mut b = Builder::default();
        for kv in &scope.attributes {
            let name = self.labels.build(&format!("otel_scope_{}", kv.key))?;
            b.set(&name, &as_string(kv.value.as_ref()));
        }
        b.set("otel_scope_name", &scope.name);
        b.set("otel_scope_version", &scope.version);
        b.set("otel_scope_schema_url", schema_url);
        Ok(b.0)
    }

    /// `createAttributes`: the point's attributes (sorted by name, named, colliding names
    /// joined with `;`), promoted resource attributes where not set, `job` and `instance`,
    /// scope labels.
    fn attributes(
        &self,
        attrs: &[KeyValue],
        ignore: &[&str],
        ctx: &Context<'_>,
    ) -> Result<Builder, String> {
        let mut sorted: Vec<(&str, String)> = attrs
            .iter()
            .filter(|kv| kv.key != METRIC_NAME && !ignore.contains(&kv.key.as_str()))
            .map(|kv| (kv.key.as_str(), as_string(kv.value.as_ref())))
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut b = Builder::default();
        for (key, value) in &sorted {
            let name = self.labels.build(key)?;
            let existing = b.get(&name);
            if existing.is_empty() {
                b.set(&name, value);
            } else {
                let joined = format!("{existing};{value}");
                b.set(&name, &joined);
            }
        }
        for (n, v) in &ctx.resource.promoted {
            if b.get(n).is_empty() {
                b.set(n, v);
            }
        }
        if let Some(job) = &ctx.resource.job {
            b.set("job", job);
        }
        if let Some(instance) = &ctx.resource.instance {
            b.set("instance", instance);
        }
        for (n, v) in ctx.scope {
            b.set(n, v);
        }
        Ok(b)
    }

    fn metric(&mut self, metric: &Metric, ctx: &Context<'_>) {
        let points = point_count(metric);
        let (kind, temporality) = match &metric.data {
            None => {
                self.out.report.refuse(0, "unsupported metric type".into());
                return;
            }
            Some(Data::Gauge(_)) => (NamingType::Gauge, None),
            Some(Data::Sum(s)) if s.is_monotonic => (
                NamingType::MonotonicCounter,
                Some(s.aggregation_temporality),
            ),
            Some(Data::Sum(s)) => (
                NamingType::NonMonotonicCounter,
                Some(s.aggregation_temporality),
            ),
            Some(Data::Histogram(h)) => (NamingType::Histogram, Some(h.aggregation_temporality)),
            Some(Data::ExponentialHistogram(h)) => (
                NamingType::ExponentialHistogram,
                Some(h.aggregation_temporality),
            ),
            Some(Data::Summary(_)) => (NamingType::Summary, None),
        };
        if let Some(t) = temporality
            && t != AggregationTemporality::Cumulative as i32
        {
            self.out.report.refuse(
                points,
                format!(
                    "invalid temporality and type combination for metric {:?}",
                    metric.name
                ),
            );
            return;
        }
        let family = match self.namer.build(&metric.name, &metric.unit, kind) {
            // Kept as sent (UTF-8 strategies), an empty name names no series.
            Ok(f) if f.is_empty() => {
                self.out
                    .report
                    .refuse(points, "metric name is empty".into());
                return;
            }
            Ok(f) => f,
            Err(e) => {
                self.out.report.refuse(points, e);
                return;
            }
        };
        if kind == NamingType::ExponentialHistogram {
            self.out.report.refuse(
                points,
                format!(
                    "exponential histogram {:?}: native histograms are not supported yet",
                    metric.name
                ),
            );
            return;
        }
        if points == 0 {
            return;
        }
        let metric_type = match kind {
            NamingType::Gauge | NamingType::NonMonotonicCounter => MetricType::Gauge,
            NamingType::MonotonicCounter => MetricType::Counter,
            NamingType::Histogram => MetricType::Histogram,
            NamingType::Summary => MetricType::Summary,
            NamingType::ExponentialHistogram | NamingType::Unknown => MetricType::Unknown,
        };
        let result = match &metric.data {
            Some(Data::Gauge(g)) => self.numbers(&g.data_points, &family, false, ctx),
            Some(Data::Sum(s)) => self.numbers(&s.data_points, &family, true, ctx),
            Some(Data::Histogram(h)) => self.histograms(&h.data_points, &family, ctx),
            Some(Data::Summary(s)) => self.summaries(&s.data_points, &family, ctx),
            _ => Ok(0),
        };
        match result {
            Ok(n) => self.out.report.data_points += n as u64,
            Err((done, e)) => {
                self.out.report.data_points += done as u64;
                self.out.report.refuse(points - done, e);
            }
        }
        if self.families.insert(family.clone(), ()).is_none() {
            self.out.metadata.push(MappedMetadata {
                family,
                metric_type,
                help: metric.description.clone(),
                unit: unit_name(&metric.unit, false),
            });
        }
    }

    /// Adds one sample (and its exemplars) to the series of `labels`.
    fn push(
        &mut self,
        labels: Vec<(String, String)>,
        sample: Sample,
        exemplars: Vec<MappedExemplar>,
    ) {
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                self.out.series.push(MappedSeries {
                    labels: labels.clone(),
                    ..MappedSeries::default()
                });
                self.index.insert(labels, self.out.series.len() - 1);
                self.out.series.len() - 1
            }
        };
        let s = &mut self.out.series[i];
        s.samples.push(sample);
        s.exemplars.extend(exemplars);
    }

    fn series_labels(
        base: &Builder,
        name: &str,
        extra: Option<(&str, &str)>,
    ) -> Vec<(String, String)> {
        let mut b = Builder(base.0.clone());
        if let Some((n, v)) = extra {
            b.set(n, v);
        }
        b.set(METRIC_NAME, name);
        b.labels()
    }

    /// Gauge and sum points; `Err` carries how many points were taken before the failure.
    fn numbers(
        &mut self,
        points: &[NumberDataPoint],
        family: &str,
        exemplars: bool,
        ctx: &Context<'_>,
    ) -> Result<usize, (usize, String)> {
        for (done, p) in points.iter().enumerate() {
            let base = self
                .attributes(&p.attributes, &[], ctx)
                .map_err(|e| (done, e))?;
            let v = match p.value {
                Some(number_data_point::Value::AsDouble(v)) => v,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => 0.0,
            };
            let t = ms(p.time_unix_nano);
            let ex = if exemplars {
                self.exemplars(&p.exemplars, t)
            } else {
                Vec::new()
            };
            let labels = Self::series_labels(&base, family, None);
            self.push(labels, Sample::new(t, value(v, p.flags)), ex);
        }
        Ok(points.len())
    }

    fn histograms(
        &mut self,
        points: &[HistogramDataPoint],
        family: &str,
        ctx: &Context<'_>,
    ) -> Result<usize, (usize, String)> {
        for (done, p) in points.iter().enumerate() {
            let base = self
                .attributes(&p.attributes, &[], ctx)
                .map_err(|e| (done, e))?;
            let t = ms(p.time_unix_nano);
            let count = p.count as f64;
            self.push_sum_count(&base, family, t, p.sum, count, p.flags);
            let mut exemplars = self.exemplars(&p.exemplars, t).into_iter().peekable();
            let bucket = format!("{family}_bucket");
            let mut cumulative: u64 = 0;
            for (bound, n) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                cumulative = cumulative.saturating_add(*n);
                let mut ex = Vec::new();
                while let Some(e) = exemplars.next_if(|e| e.value <= *bound) {
                    ex.push(e);
                }
                let le = format_float(*bound);
                let l = Self::series_labels(&base, &bucket, Some(("le", &le)));
                self.push(l, Sample::new(t, value(cumulative as f64, p.flags)), ex);
            }
            let l = Self::series_labels(&base, &bucket, Some(("le", "+Inf")));
            self.push(
                l,
                Sample::new(t, value(count, p.flags)),
                exemplars.collect(),
            );
        }
        Ok(points.len())
    }

    fn summaries(
        &mut self,
        points: &[SummaryDataPoint],
        family: &str,
        ctx: &Context<'_>,
    ) -> Result<usize, (usize, String)> {
        for (done, p) in points.iter().enumerate() {
            let base = self
                .attributes(&p.attributes, &[], ctx)
                .map_err(|e| (done, e))?;
            let t = ms(p.time_unix_nano);
            self.push_sum_count(&base, family, t, Some(p.sum), p.count as f64, p.flags);
            for q in &p.quantile_values {
                let quantile = format_float(q.quantile);
                let l = Self::series_labels(&base, family, Some(("quantile", &quantile)));
                self.push(l, Sample::new(t, value(q.value, p.flags)), Vec::new());
            }
        }
        Ok(points.len())
    }

    /// The `_sum` (when the point has one) and `_count` series of a histogram or summary point.
    fn push_sum_count(
        &mut self,
        base: &Builder,
        family: &str,
        t: i64,
        sum: Option<f64>,
        count: f64,
        flags: u32,
    ) {
        if let Some(sum) = sum {
            let l = Self::series_labels(base, &format!("{family}_sum"), None);
            self.push(l, Sample::new(t, value(sum, flags)), Vec::new());
        }
        let l = Self::series_labels(base, &format!("{family}_count"), None);
        self.push(l, Sample::new(t, value(count, flags)), Vec::new());
    }

    /// `getPromExemplars`.
    fn exemplars(&self, exemplars: &[Exemplar], point_ms: i64) -> Vec<MappedExemplar> {
        exemplars
            .iter()
            .map(|e| {
                let mut labels = Vec::new();
                let mut runes = 0;
                if !e.trace_id.is_empty() && e.trace_id.iter().any(|b| *b != 0) {
                    let v = hex(&e.trace_id);
                    runes += "trace_id".len() + v.len();
                    labels.push(("trace_id".to_string(), v));
                }
                if !e.span_id.is_empty() && e.span_id.iter().any(|b| *b != 0) {
                    let v = hex(&e.span_id);
                    runes += "span_id".len() + v.len();
                    labels.push(("span_id".to_string(), v));
                }
                let attrs: Vec<(String, String)> = e
                    .filtered_attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), as_string(kv.value.as_ref())))
                    .collect();
                runes += attrs
                    .iter()
                    .map(|(k, v)| k.chars().count() + v.chars().count())
                    .sum::<usize>();
                if runes <= MAX_EXEMPLAR_RUNES {
                    labels.extend(attrs);
                }
                labels.sort();
                let t = ms(e.time_unix_nano);
                MappedExemplar {
                    labels,
                    value: match e.value {
                        Some(exemplar::Value::AsDouble(v)) => v,
                        Some(exemplar::Value::AsInt(i)) => i as f64,
                        None => 0.0,
                    },
                    timestamp_ms: if t == 0 { point_ms } else { t },
                }
            })
            .collect()
    }

    /// A `target_info` sample, unless resources with the same labels already wrote one at
    /// that time.
    fn push_target_info(&mut self, labels: &[(String, String)], t: i64) {
        if let Some(&i) = self.index.get(labels)
            && !self.target_info_seen.insert((i, t))
        {
            return;
        }
        self.push(labels.to_vec(), Sample::new(t, 1.0), Vec::new());
        if let Some(&i) = self.index.get(labels) {
            self.target_info_seen.insert((i, t));
        }
    }

    /// `addResourceTargetInfo`.
    fn target_info(&mut self, attrs: &[KeyValue], resource: &ResourceLabels, lo: u64, hi: u64) {
        let identifying = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
        let others = attrs
            .iter()
            .filter(|kv| !identifying.contains(&kv.key.as_str()))
            .count();
        if others == 0 {
            return;
        }
        let ignore: &[&str] = if self.mapping.keep_identifying_resource_attributes {
            &[]
        } else {
            &identifying
        };
        let plain = ResourceLabels {
            job: resource.job.clone(),
            instance: resource.instance.clone(),
            promoted: Vec::new(),
        };
        let ctx = Context {
            resource: &plain,
            scope: &[],
        };
        let base = match self.attributes(attrs, ignore, &ctx) {
            Ok(b) => b,
            Err(e) => {
                self.out.report.refuse(0, e);
                return;
            }
        };
        if base.get("job").is_empty() && base.get("instance").is_empty() {
            return;
        }
        let labels = Self::series_labels(&base, "target_info", None);
        let (lo, hi) = (ms(lo), ms(hi));
        // Prometheus writes one sample per half lookback from the earliest point on; a request
        // whose points lie far apart (a zero timestamp among current ones) would make that
        // millions, so only the last MAX_TARGET_INFO_SAMPLES steps before `hi` are written.
        let steps = (hi - lo) / TARGET_INFO_INTERVAL_MS;
        let skip = (steps - MAX_TARGET_INFO_SAMPLES).max(0);
        let mut t = lo + skip * TARGET_INFO_INTERVAL_MS;
        while t < hi {
            self.push_target_info(&labels, t);
            t += TARGET_INFO_INTERVAL_MS;
        }
        self.push_target_info(&labels, hi);
        if !self.families.contains_key("target_info") {
            self.families.insert("target_info".into(), ());
            self.out.metadata.push(MappedMetadata {
                family: "target_info".into(),
                metric_type: MetricType::Gauge,
                help: "Target metadata".into(),
                unit: String::new(),
            });
        }
    }
}

/// Nanoseconds to milliseconds.
fn ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

/// The value, or the stale marker for a point flagged as having none.
fn value(v: f64, flags: u32) -> f64 {
    if flags & FLAG_NO_RECORDED_VALUE != 0 {
        cairn_model::stale_nan()
    } else {
        v
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

fn point_count(m: &Metric) -> usize {
    match &m.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}

/// Point times (ns) of any metric kind, for `target_info`'s range (`findMinAndMaxTimestamps`).
fn point_times(m: &Metric) -> Vec<u64> {
    match &m.data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| p.time_unix_nano).collect()
        }
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
    }
}
