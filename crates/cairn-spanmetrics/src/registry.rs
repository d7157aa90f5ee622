//! The generated series and how a scraper would see them: cumulative counters, gauges and
//! classic histograms (`_bucket` with `le`, `_sum`, `_count`), each series remembering when
//! it was last updated so that idle ones expire.
//!
//! A series seen for the first time is written with a 0 at the end of the previous minute
//! before its first value (Tempo does the same): without it, `rate()` over a new series would
//! miss its first increments, since a counter's first sample is its baseline.

use std::collections::HashMap;

use cairn_model::{Labels, LabelsBuilder, METRIC_NAME, Sample};

use crate::names::format_go_float;

/// Labels every series gets (`external_labels`), added over the series' own labels.
pub(crate) type ExternalLabels = [(String, String)];

/// The full label set of a series: its own labels, the external labels, the metric name.
fn full_labels(name: &str, base: &Labels, external: &ExternalLabels) -> Labels {
    let mut b = base.to_builder();
    for (n, v) in external {
        b.set(n, v);
    }
    b.set(METRIC_NAME, name);
    b.build()
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

    /// Adds `by` (not negative) to the series of `labels`, creating it at 0 if new.
    pub(crate) fn inc(&mut self, labels: Labels, by: f64, now_ms: i64, ext: &ExternalLabels) {
        debug_assert!(by >= 0.0, "counters only go up");
        let s = self
            .series
            .entry(labels)
            .or_insert_with_key(|base| CounterSeries {
                labels: full_labels(self.name, base, ext),
                value: 0.0,
                last_updated_ms: now_ms,
                fresh: true,
            });
        s.value += by;
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Vec<(Labels, Sample)>) {
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

    fn remove_stale(&mut self, before_ms: i64) {
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
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

    /// Sets the series of `labels` to `value`.
    pub(crate) fn set(&mut self, labels: Labels, value: f64, now_ms: i64, ext: &ExternalLabels) {
        let s = self
            .series
            .entry(labels)
            .or_insert_with_key(|base| GaugeSeries {
                labels: full_labels(self.name, base, ext),
                value,
                last_updated_ms: now_ms,
            });
        s.value = value;
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Vec<(Labels, Sample)>) {
        for s in self.series.values() {
            out.push((s.labels.clone(), Sample::new(now_ms, s.value)));
        }
    }

    fn remove_stale(&mut self, before_ms: i64) {
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
    }
}

struct HistogramSeries {
    sum_labels: Labels,
    count_labels: Labels,
    bucket_labels: Vec<Labels>,
    /// Cumulative counts, one per bound (the last is `+Inf`).
    buckets: Vec<f64>,
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

    /// Records `value` with weight `weight` in the series of `labels`.
    pub(crate) fn observe(
        &mut self,
        labels: Labels,
        value: f64,
        weight: f64,
        now_ms: i64,
        ext: &ExternalLabels,
    ) {
        let (name, le, n) = (self.name, &self.le, self.bounds.len());
        let s = self.series.entry(labels).or_insert_with_key(|base| {
            let mut b = base.to_builder();
            for (k, v) in ext {
                b.set(k, v);
            }
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
        s.last_updated_ms = s.last_updated_ms.max(now_ms);
    }

    fn collect(&mut self, now_ms: i64, out: &mut Vec<(Labels, Sample)>) {
        let zero_at = end_of_last_minute(now_ms);
        for s in self.series.values_mut() {
            out.push((s.sum_labels.clone(), Sample::new(now_ms, s.sum)));
            if s.fresh {
                out.push((s.count_labels.clone(), Sample::new(zero_at, 0.0)));
            }
            out.push((s.count_labels.clone(), Sample::new(now_ms, s.count)));
            for (labels, v) in s.bucket_labels.iter().zip(&s.buckets) {
                if s.fresh {
                    out.push((labels.clone(), Sample::new(zero_at, 0.0)));
                }
                out.push((labels.clone(), Sample::new(now_ms, *v)));
            }
            s.fresh = false;
        }
    }

    fn remove_stale(&mut self, before_ms: i64) {
        self.series.retain(|_, s| s.last_updated_ms >= before_ms);
    }
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
    pub(crate) fn collect(self, now_ms: i64, before_ms: i64, out: &mut Vec<(Labels, Sample)>) {
        match self {
            Family::Counter(c) => {
                c.remove_stale(before_ms);
                c.collect(now_ms, out);
            }
            Family::Gauge(g) => {
                g.remove_stale(before_ms);
                g.collect(now_ms, out);
            }
            Family::Histogram(h) => {
                h.remove_stale(before_ms);
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

    fn value(out: &[(Labels, Sample)], l: &Labels, t: i64) -> Option<f64> {
        out.iter()
            .find(|(x, s)| x == l && s.t == t)
            .map(|(_, s)| s.v)
    }

    #[test]
    fn new_counter_starts_with_zero_at_end_of_last_minute() {
        let mut c = CounterVec::new("c_total");
        c.inc(labels(&[("a", "1")]), 2.0, 125_000, &[]);
        let mut out = Vec::new();
        Family::Counter(&mut c).collect(130_000, 0, &mut out);
        let l = labels(&[("__name__", "c_total"), ("a", "1")]);
        // 130 s is in the minute starting at 120 s: the zero goes at 119 s.
        assert_eq!(value(&out, &l, 119_000), Some(0.0));
        assert_eq!(value(&out, &l, 130_000), Some(2.0));
        assert_eq!(out.len(), 2);
        out.clear();
        c.inc(labels(&[("a", "1")]), 1.0, 140_000, &[]);
        Family::Counter(&mut c).collect(145_000, 0, &mut out);
        assert_eq!(out.len(), 1, "the zero is written once");
        assert_eq!(value(&out, &l, 145_000), Some(3.0));
    }

    #[test]
    fn histogram_buckets_are_inclusive_and_cumulative() {
        let mut h = HistogramVec::new("h", &[1.0, 2.0]);
        let ext = [("cluster".to_string(), "eu".to_string())];
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(Labels::empty(), v, 1.0, 1_000, &ext);
        }
        let mut out = Vec::new();
        Family::Histogram(&mut h).collect(60_000, 0, &mut out);
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
    }

    #[test]
    fn idle_series_expire() {
        let mut g = GaugeVec::new("g");
        g.set(labels(&[("a", "1")]), 1.0, 1_000, &[]);
        g.set(labels(&[("a", "2")]), 1.0, 5_000, &[]);
        let mut out = Vec::new();
        Family::Gauge(&mut g).collect(6_000, 2_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0.get("a"), Some("2"));
    }
}
