//! The generated series and how a scraper would see them: cumulative counters, gauges and
//! classic histograms (`_bucket` with `le`, `_sum`, `_count`), each series remembering when
//! it was last updated so that idle ones expire.
//!
//! A series seen for the first time is written with a 0 at the end of the previous minute
//! before its first value (Tempo does the same): without it, `rate()` over a new series would
//! miss its first increments, since a counter's first sample is its baseline.

use std::collections::HashMap;

use cairn_model::{Labels, LabelsBuilder, METRIC_NAME, Sample, TraceId};

use crate::names::{EXEMPLAR_TRACE_ID_LABEL, format_go_float};

/// What every family shares: the labels added to every series and the limit on how many
/// series live at once.
#[derive(Debug, Default)]
pub(crate) struct SeriesCtx {
    /// `external_labels`, added over the series' own labels.
    pub(crate) external: Vec<(String, String)>,
    /// The most series alive at once; 0 for no limit.
    pub(crate) max_series: usize,
    /// Series alive now (a histogram counts its buckets, sum and count).
    pub(crate) active: usize,
    /// Series not created because of `max_series`, since start.
    pub(crate) refused: u64,
}

impl SeriesCtx {
    /// Whether `n` more series fit; counts them in if so and the refusal if not.
    fn admit(&mut self, n: usize) -> bool {
        if self.max_series != 0 && self.active + n > self.max_series {
            self.refused += 1;
            return false;
        }
        self.active += n;
        true
    }

    fn release(&mut self, n: usize) {
        self.active = self.active.saturating_sub(n);
    }

    fn builder(&self, base: &Labels) -> LabelsBuilder {
        let mut b = base.to_builder();
        for (n, v) in &self.external {
            b.set(n, v);
        }
        b
    }
}

/// The full label set of a series: its own labels, the external labels, the metric name.
fn full_labels(name: &str, base: &Labels, ctx: &SeriesCtx) -> Labels {
    let mut b = ctx.builder(base);
    b.set(METRIC_NAME, name);
    b.build()
}

/// A trace that fell into a histogram bucket, for Grafana to link the bucket to the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The bucket series (`..._bucket` with its `le`).
    pub series: Labels,
    /// The exemplar's labels: `traceID` with the trace id in hex, as Tempo writes it.
    pub labels: Labels,
    /// The observed value.
    pub value: f64,
    /// When, in milliseconds (the collection time).
    pub t: i64,
}

/// What a collection returns: the samples and the exemplars of the histograms' buckets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collection {
    /// Every live series' samples.
    pub samples: Vec<(Labels, Sample)>,
    /// The last trace seen in each bucket since the previous collection.
    pub exemplars: Vec<Exemplar>,
}

/// Where a new series' leading 0 goes: the last second of the previous minute.
fn end_of_last_minute(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(60_000) - 1_000
}

struct CounterSeries {
    labels: Labels,
    value: f64,
    last_updated_ms: i64,
    fresh: bool,
}

/// A counter family: one cumulative value per label set.
pub(crate) struct CounterVec {
    name: &'static str,
    series: HashMap<Labels, CounterSeries>,
}

impl CounterVec {
    /// An empty family named `name`.
    pub(crate) fn new(name: &'static str) -> Self {
        CounterVec {
            name,
            series: HashMap::new(),
        }
    }

    /// Adds `by` (not negative) to the series of `labels`, creating it at 0 if new and the
    /// series limit allows.
    pub(crate) fn inc(&mut self, labels: Labels, by: f64, now_ms: i64, ctx: &mut SeriesCtx) {
        debug_assert!(by >= 0.0, "counters only go up");
        if !self.series.contains_key(&labels) && !ctx.admit(1) {
            return;
        }
        let s = self
            .series
            .entry(labels)
            .or_insert_with_key(|base| CounterSeries {
                labels: full_labels(self.name, base, ctx),
                value: 0.0,
                last_updated_ms: now_ms,
                fresh: true,
            });
        s.value += by;
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Collection) {
        let out = &mut out.samples;
        for s in self.series.values_mut() {
            if s.fresh {
                out.push((
                    s.labels.clone(),
                    Sample::new(end_of_last_minute(now_ms), 0.0),
                ));
                s.fresh = false;
            }
            out.push((s.labels.clone(), Sample::new(now_ms, s.value)));
        }
    }

    fn remove_stale(&mut self, before_ms: i64, ctx: &mut SeriesCtx) {
        let n = self.series.len();
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
        ctx.release(n - self.series.len());
    }
}

struct GaugeSeries {
    labels: Labels,
    value: f64,
    last_updated_ms: i64,
}

/// A gauge family: one current value per label set.
pub(crate) struct GaugeVec {
    name: &'static str,
    series: HashMap<Labels, GaugeSeries>,
}

impl GaugeVec {
    /// An empty family named `name`.
    pub(crate) fn new(name: &'static str) -> Self {
        GaugeVec {
            name,
            series: HashMap::new(),
        }
    }

    /// Sets the series of `labels` to `value`, if it exists or the series limit allows.
    pub(crate) fn set(&mut self, labels: Labels, value: f64, now_ms: i64, ctx: &mut SeriesCtx) {
        if !self.series.contains_key(&labels) && !ctx.admit(1) {
            return;
        }
        let s = self
            .series
            .entry(labels)
            .or_insert_with_key(|base| GaugeSeries {
                labels: full_labels(self.name, base, ctx),
                value,
                last_updated_ms: now_ms,
            });
        s.value = value;
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Collection) {
        let out = &mut out.samples;
        for s in self.series.values() {
            out.push((s.labels.clone(), Sample::new(now_ms, s.value)));
        }
    }

    fn remove_stale(&mut self, before_ms: i64, ctx: &mut SeriesCtx) {
        let n = self.series.len();
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
        ctx.release(n - self.series.len());
    }
}

struct HistogramSeries {
    sum_labels: Labels,
    count_labels: Labels,
    bucket_labels: Vec<Labels>,
    /// Cumulative counts, one per bound (the last is `+Inf`).
    buckets: Vec<f64>,
    /// The last trace and value per bucket since the previous collection.
    exemplars: Vec<Option<(TraceId, f64)>>,
    sum: f64,
    count: f64,
    last_updated_ms: i64,
    fresh: bool,
}

/// A classic histogram family: per label set, cumulative bucket counts, a sum and a count.
pub(crate) struct HistogramVec {
    name: &'static str,
    /// Upper bounds, ascending, ending with `+Inf`.
    bounds: Vec<f64>,
    le: Vec<String>,
    series: HashMap<Labels, HistogramSeries>,
}

impl HistogramVec {
    /// An empty family named `name` with upper bounds `bounds` (validated ascending); `+Inf`
    /// is added.
    pub(crate) fn new(name: &'static str, bounds: &[f64]) -> Self {
        let mut bounds = bounds.to_vec();
        bounds.push(f64::INFINITY);
        let le = bounds.iter().map(|b| format_go_float(*b)).collect();
        HistogramVec {
            name,
            bounds,
            le,
            series: HashMap::new(),
        }
    }

    /// How many series one label set makes: every bucket, the sum and the count.
    fn width(&self) -> usize {
        self.bounds.len() + 2
    }

    /// Records `value` with weight `weight` in the series of `labels`, with the trace it came
    /// from as the bucket's exemplar.
    pub(crate) fn observe(
        &mut self,
        labels: Labels,
        value: f64,
        weight: f64,
        trace: Option<TraceId>,
        now_ms: i64,
        ctx: &mut SeriesCtx,
    ) {
        if !self.series.contains_key(&labels) && !ctx.admit(self.width()) {
            return;
        }
        let (name, le, n) = (self.name, &self.le, self.bounds.len());
        let s = self.series.entry(labels).or_insert_with_key(|base| {
            let mut b = ctx.builder(base);
            let with = |b: &mut LabelsBuilder, suffix: &str| {
                b.set(METRIC_NAME, &format!("{name}{suffix}"));
                b.build()
            };
            let sum_labels = with(&mut b, "_sum");
            let count_labels = with(&mut b, "_count");
            let bucket_labels = le
                .iter()
                .map(|le| {
                    b.set("le", le);
                    with(&mut b, "_bucket")
                })
                .collect();
            HistogramSeries {
                sum_labels,
                count_labels,
                bucket_labels,
                buckets: vec![0.0; n],
                exemplars: vec![None; n],
                sum: 0.0,
                count: 0.0,
                last_updated_ms: now_ms,
                fresh: true,
            }
        });
        s.count += weight;
        s.sum += value * weight;
        // `le` is inclusive: a value equal to a bound counts in that bound's bucket and in
        // every larger one, so the buckets are cumulative as Prometheus reads them.
        let first = self.bounds.partition_point(|b| *b < value);
        for b in &mut s.buckets[first..] {
            *b += weight;
        }
        if let (Some(t), Some(slot)) = (trace, s.exemplars.get_mut(first)) {
            *slot = Some((t, value));
        }
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Collection) {
        let zero_at = end_of_last_minute(now_ms);
        for s in self.series.values_mut() {
            let samples = &mut out.samples;
            samples.push((s.sum_labels.clone(), Sample::new(now_ms, s.sum)));
            if s.fresh {
                samples.push((s.count_labels.clone(), Sample::new(zero_at, 0.0)));
            }
            samples.push((s.count_labels.clone(), Sample::new(now_ms, s.count)));
            for (i, (labels, v)) in s.bucket_labels.iter().zip(&s.buckets).enumerate() {
                if s.fresh {
                    samples.push((labels.clone(), Sample::new(zero_at, 0.0)));
                }
                samples.push((labels.clone(), Sample::new(now_ms, *v)));
                if let Some((trace, value)) = s.exemplars[i].take() {
                    out.exemplars.push(Exemplar {
                        series: labels.clone(),
                        labels: exemplar_labels(&trace),
                        value,
                        t: now_ms,
                    });
                }
            }
            s.fresh = false;
        }
    }

    fn remove_stale(&mut self, before_ms: i64, ctx: &mut SeriesCtx) {
        let n = self.series.len();
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
        ctx.release((n - self.series.len()) * self.width());
    }
}

fn exemplar_labels(trace: &TraceId) -> Labels {
    let hex = trace.to_hex();
    Labels::from_pairs([(EXEMPLAR_TRACE_ID_LABEL, hex.as_str())])
        .expect("one label with a non-empty name")
}

/// A family of any kind, so a processor can hand its families to the collector in one list.
pub(crate) enum Family<'a> {
    /// A counter family.
    Counter(&'a mut CounterVec),
    /// A gauge family.
    Gauge(&'a mut GaugeVec),
    /// A histogram family.
    Histogram(&'a mut HistogramVec),
}

impl Family<'_> {
    /// Drops series not updated since `before_ms`, then appends every series' samples at
    /// `now_ms`.
    pub(crate) fn collect(
        self,
        now_ms: i64,
        before_ms: i64,
        ctx: &mut SeriesCtx,
        out: &mut Collection,
    ) {
        match self {
            Family::Counter(c) => {
                c.remove_stale(before_ms, ctx);
                c.collect(now_ms, out);
            }
            Family::Gauge(g) => {
                g.remove_stale(before_ms, ctx);
                g.collect(now_ms, out);
            }
            Family::Histogram(h) => {
                h.remove_stale(before_ms, ctx);
                h.collect(now_ms, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("valid labels")
    }

    fn value(out: &Collection, l: &Labels, t: i64) -> Option<f64> {
        out.samples
            .iter()
            .find(|(x, s)| x == l && s.t == t)
            .map(|(_, s)| s.v)
    }

    #[test]
    fn new_counter_starts_with_zero_at_end_of_last_minute() {
        let mut ctx = SeriesCtx::default();
        let mut c = CounterVec::new("c_total");
        c.inc(labels(&[("a", "1")]), 2.0, 125_000, &mut ctx);
        let mut out = Collection::default();
        Family::Counter(&mut c).collect(130_000, 0, &mut ctx, &mut out);
        let l = labels(&[("__name__", "c_total"), ("a", "1")]);
        // 130 s is in the minute starting at 120 s: the zero goes at 119 s.
        assert_eq!(value(&out, &l, 119_000), Some(0.0));
        assert_eq!(value(&out, &l, 130_000), Some(2.0));
        assert_eq!(out.samples.len(), 2);
        let mut out = Collection::default();
        c.inc(labels(&[("a", "1")]), 1.0, 140_000, &mut ctx);
        Family::Counter(&mut c).collect(145_000, 0, &mut ctx, &mut out);
        assert_eq!(out.samples.len(), 1, "the zero is written once");
        assert_eq!(value(&out, &l, 145_000), Some(3.0));
    }

    #[test]
    fn histogram_buckets_are_inclusive_and_cumulative() {
        let mut ctx = SeriesCtx {
            external: vec![("cluster".to_string(), "eu".to_string())],
            ..SeriesCtx::default()
        };
        let mut h = HistogramVec::new("h", &[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(Labels::empty(), v, 1.0, None, 1_000, &mut ctx);
        }
        let mut out = Collection::default();
        Family::Histogram(&mut h).collect(60_000, 0, &mut ctx, &mut out);
        let b = |le: &str| labels(&[("__name__", "h_bucket"), ("cluster", "eu"), ("le", le)]);
        assert_eq!(value(&out, &b("1"), 60_000), Some(2.0));
        assert_eq!(value(&out, &b("2"), 60_000), Some(3.0));
        assert_eq!(value(&out, &b("+Inf"), 60_000), Some(4.0));
        assert_eq!(value(&out, &b("+Inf"), 59_000), Some(0.0));
        let sum = labels(&[("__name__", "h_sum"), ("cluster", "eu")]);
        assert_eq!(value(&out, &sum, 60_000), Some(6.0));
        assert_eq!(
            value(&out, &sum, 59_000),
            None,
            "no leading zero for the sum"
        );
        let count = labels(&[("__name__", "h_count"), ("cluster", "eu")]);
        assert_eq!(value(&out, &count, 60_000), Some(4.0));
        assert!(out.exemplars.is_empty(), "no trace given");
        assert_eq!(ctx.active, 5, "three buckets, sum and count");
    }

    #[test]
    fn a_bucket_keeps_its_last_trace_until_collected() {
        let mut ctx = SeriesCtx::default();
        let mut h = HistogramVec::new("h", &[1.0]);
        h.observe(
            Labels::empty(),
            0.5,
            1.0,
            Some(TraceId([1; 16])),
            0,
            &mut ctx,
        );
        h.observe(
            Labels::empty(),
            0.7,
            1.0,
            Some(TraceId([2; 16])),
            0,
            &mut ctx,
        );
        h.observe(
            Labels::empty(),
            5.0,
            1.0,
            Some(TraceId([3; 16])),
            0,
            &mut ctx,
        );
        let mut out = Collection::default();
        Family::Histogram(&mut h).collect(1_000, 0, &mut ctx, &mut out);
        let ex: Vec<(Option<&str>, Option<&str>, f64)> = out
            .exemplars
            .iter()
            .map(|e| (e.series.get("le"), e.labels.get("traceID"), e.value))
            .collect();
        let mut ex = ex;
        ex.sort_by(|a, b| a.0.cmp(&b.0));
        let two = "02".repeat(16);
        let three = "03".repeat(16);
        assert_eq!(
            ex,
            vec![
                (Some("+Inf"), Some(three.as_str()), 5.0),
                (Some("1"), Some(two.as_str()), 0.7)
            ]
        );
        let mut again = Collection::default();
        Family::Histogram(&mut h).collect(2_000, 0, &mut ctx, &mut again);
        assert!(again.exemplars.is_empty(), "an exemplar is written once");
    }

    #[test]
    fn idle_series_expire_and_free_their_place() {
        let mut ctx = SeriesCtx {
            max_series: 2,
            ..SeriesCtx::default()
        };
        let mut g = GaugeVec::new("g");
        g.set(labels(&[("a", "1")]), 1.0, 1_000, &mut ctx);
        g.set(labels(&[("a", "2")]), 1.0, 5_000, &mut ctx);
        g.set(labels(&[("a", "3")]), 1.0, 5_000, &mut ctx);
        assert_eq!((ctx.active, ctx.refused), (2, 1));
        let mut out = Collection::default();
        Family::Gauge(&mut g).collect(6_000, 2_000, &mut ctx, &mut out);
        assert_eq!(out.samples.len(), 1);
        assert_eq!(out.samples[0].0.get("a"), Some("2"));
        assert_eq!(ctx.active, 1);
        g.set(labels(&[("a", "3")]), 1.0, 7_000, &mut ctx);
        assert_eq!(ctx.active, 2);
    }

    #[test]
    fn a_histogram_needs_room_for_all_its_series() {
        let mut ctx = SeriesCtx {
            max_series: 4,
            ..SeriesCtx::default()
        };
        let mut h = HistogramVec::new("h", &[1.0, 2.0]);
        h.observe(Labels::empty(), 1.0, 1.0, None, 0, &mut ctx);
        assert_eq!((ctx.active, ctx.refused), (0, 1));
    }
}
