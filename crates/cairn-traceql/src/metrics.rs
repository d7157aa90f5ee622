//! TraceQL metrics over a time range, as Tempo's metrics engine computes them
//! (`pkg/traceql/engine_metrics.go`): a [`MetricsEvaluator`] is fed trace by trace, runs the
//! query's pipeline over each, sorts the matched spans into series by their `by()` values and
//! into steps by their start time, and finishes into the series `/api/metrics/query_range`
//! answers.
//!
//! Steps follow Tempo: the range is aligned to the step (start rounded down, end up, one more
//! step before the start), step `i` holds the spans that started in
//! `(start + i*step, start + (i+1)*step]` and is reported at its end. A range whose length is
//! its step is an instant query: one value for `[start, end]`, reported at the end.
//!
//! `rate()` is spans per second of step, `count_over_time()` spans per step (both report 0
//! for a step without spans), `min/max/sum/avg_over_time(x)` aggregate `x` as a float over the
//! spans that have it (`duration` in seconds) and report nothing for a step without one.
//! `quantile_over_time(x, q...)` and `histogram_over_time(x)` put each value in a power-of-two
//! bucket (`duration` in seconds, other durations and integers by value; values below 2, and
//! floats, are not counted) as Tempo's `Log2Bucketize`; a quantile is Tempo's `Log2Quantile`:
//! the bucket where the rank falls, interpolated exponentially within it, so an answer is
//! exact to a power of two. Histograms come out as one series per bucket (label `__bucket`,
//! the bucket's upper bound), quantiles as one series per quantile (label `p`). A series
//! without `by()` is labelled `__name__` with the function's name. `topk`/`bottomk` keep, at
//! each step, the values of the k highest (lowest) series; `> x` keeps the values that
//! compare true. Arithmetic between metrics queries matches series by their labels, an
//! unlabelled series meeting every series of the other side (`x / 0` has no value), as
//! Tempo's `applyBinaryOp`. With [`MetricsEvaluator::with_exemplars`], each series keeps
//! up to that many spans as exemplars, at most one per equal slice of the range. `compare()`
//! is not run.

mod series;
mod steps;

use std::collections::HashMap;

use cairn_model::Trace;

use crate::eval::{Compiled, TraceIndex, Value, span_value};
use crate::search::{AnyValue, KeyValue};
use crate::{
    Attribute, BinaryOp, Error, Expr, FirstStage, Intrinsic, MetricsExpr, MetricsOp, Query, Result,
    SecondStage,
};
use series::{Labels, Series, SeriesExemplar, apply_second, arith, math, prom_labels};
use steps::Steps;

pub use series::{Exemplar, QueryRangeResponse, Sample, TimeSeries, log2_quantile};
pub use steps::QueryRange;

/// A metrics query being computed over a time range.
#[derive(Debug)]
pub struct MetricsEvaluator {
    steps: Steps,
    root: Node,
}

#[derive(Debug)]
enum Node {
    Leaf(Box<Leaf>),
    Math {
        op: BinaryOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Scalar {
        op: BinaryOp,
        expr: Box<Node>,
        value: f64,
        scalar_on_left: bool,
    },
    Chained {
        expr: Box<Node>,
        second: Vec<SecondStage>,
    },
}

#[derive(Debug)]
struct Leaf {
    pipeline: Compiled,
    op: MetricsOp,
    attr: Option<Attribute>,
    quantiles: Vec<f64>,
    by: Vec<Attribute>,
    second: Vec<SecondStage>,
    series: HashMap<String, SeriesState>,
    exemplar_limit: usize,
}

/// One series of a leaf while spans come in.
#[derive(Debug)]
struct SeriesState {
    vals: Vec<Value<'static>>,
    acc: Acc,
    exemplars: Vec<Raw>,
}

/// An exemplar as observed.
#[derive(Debug)]
struct Raw {
    /// Which of the range's `limit` equal time slices it is in (one exemplar per slice).
    slice: u64,
    step: usize,
    ts_ms: i64,
    /// The span's number for the function (NaN for counts).
    value: f64,
    bucket: Option<f64>,
    trace: String,
    span: String,
}

/// Per-step state of one series.
#[derive(Debug)]
enum Acc {
    Count(Vec<f64>),
    /// Min, max or sum: NaN until a value comes.
    Fold(Vec<f64>),
    Avg(Vec<(f64, u64)>),
    /// Bucket upper bound -> count, per step.
    Hist(Vec<Vec<(f64, u64)>>),
}

impl MetricsEvaluator {
    /// Prepares a metrics query (type checked here) over a range.
    pub fn new(q: &Query, range: QueryRange) -> Result<MetricsEvaluator> {
        crate::validate(q)?;
        let Expr::Metrics(m) = &q.expr else {
            return Err(Error::Invalid("not a metrics query".into()));
        };
        Ok(MetricsEvaluator {
            steps: Steps::new(range)?,
            root: build(m)?,
        })
    }

    /// Collects up to `limit` exemplars per series, spread over the range (Tempo's
    /// `exemplars` request parameter); none by default.
    pub fn with_exemplars(mut self, limit: usize) -> Self {
        self.root.set_exemplars(limit);
        self
    }

    /// Feeds one trace.
    pub fn observe(&mut self, trace: &Trace) -> Result<()> {
        let ix = TraceIndex::new(trace);
        self.observe_index(&ix)
    }

    /// Feeds one indexed trace.
    pub fn observe_index(&mut self, ix: &TraceIndex<'_>) -> Result<()> {
        let steps = self.steps;
        self.root.observe(ix, &steps)
    }

    /// How many series the query holds so far (before second stages).
    pub fn series_count(&self) -> usize {
        self.root.series_count()
    }

    /// The answer.
    pub fn finish(self) -> QueryRangeResponse {
        let steps = self.steps;
        let mut series = self.root.finish(&steps);
        let mut out: Vec<TimeSeries> = series
            .drain(..)
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_nan())
                    .map(|(i, v)| Sample {
                        timestamp_ms: steps.timestamp_ms(i),
                        value: *v,
                    })
                    .collect();
                let exemplars: Vec<Exemplar> = s
                    .exemplars
                    .iter()
                    .filter(|e| {
                        !e.value.is_nan() && s.values.get(e.step).is_some_and(|v| !v.is_nan())
                    })
                    .map(|e| Exemplar {
                        labels: e
                            .labels
                            .iter()
                            .map(|(k, v)| KeyValue {
                                key: k.clone(),
                                value: AnyValue::from_value(v),
                            })
                            .collect(),
                        value: e.value,
                        timestamp_ms: e.ts_ms,
                    })
                    .collect();
                (!samples.is_empty()).then(|| TimeSeries {
                    exemplars,
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| KeyValue {
                            key: k.clone(),
                            value: AnyValue::from_value(v),
                        })
                        .collect(),
                    samples,
                    prom_labels: prom_labels(&s.labels),
                })
            })
            .collect();
        out.sort_by(|a, b| a.prom_labels.cmp(&b.prom_labels));
        QueryRangeResponse { series: out }
    }
}

fn build(m: &MetricsExpr) -> Result<Node> {
    Ok(match m {
        MetricsExpr::Pipeline {
            pipeline,
            first,
            second,
        } => {
            let FirstStage::Aggregate {
                op,
                attr,
                quantiles,
                by,
            } = first
            else {
                return Err(Error::Unsupported("compare()".into()));
            };
            Node::Leaf(Box::new(Leaf {
                pipeline: Compiled::from_pipeline(pipeline)?,
                op: *op,
                attr: attr.clone(),
                quantiles: quantiles.clone(),
                by: by.clone(),
                second: second.clone(),
                series: HashMap::new(),
                exemplar_limit: 0,
            }))
        }
        MetricsExpr::Math { op, lhs, rhs } => Node::Math {
            op: *op,
            lhs: Box::new(build(lhs)?),
            rhs: Box::new(build(rhs)?),
        },
        MetricsExpr::Scalar {
            op,
            expr,
            value,
            scalar_on_left,
        } => Node::Scalar {
            op: *op,
            expr: Box::new(build(expr)?),
            value: *value,
            scalar_on_left: *scalar_on_left,
        },
        MetricsExpr::Chained { expr, second } => Node::Chained {
            expr: Box::new(build(expr)?),
            second: second.clone(),
        },
    })
}

impl Node {
    fn observe(&mut self, ix: &TraceIndex<'_>, steps: &Steps) -> Result<()> {
        match self {
            Node::Leaf(l) => l.observe(ix, steps),
            Node::Math { lhs, rhs, .. } => {
                lhs.observe(ix, steps)?;
                rhs.observe(ix, steps)
            }
            Node::Scalar { expr, .. } | Node::Chained { expr, .. } => expr.observe(ix, steps),
        }
    }

    fn set_exemplars(&mut self, limit: usize) {
        match self {
            Node::Leaf(l) => l.exemplar_limit = limit,
            Node::Math { lhs, rhs, .. } => {
                lhs.set_exemplars(limit);
                rhs.set_exemplars(limit);
            }
            Node::Scalar { expr, .. } | Node::Chained { expr, .. } => expr.set_exemplars(limit),
        }
    }

    fn series_count(&self) -> usize {
        match self {
            Node::Leaf(l) => l.series.len(),
            Node::Math { lhs, rhs, .. } => lhs.series_count() + rhs.series_count(),
            Node::Scalar { expr, .. } | Node::Chained { expr, .. } => expr.series_count(),
        }
    }

    fn finish(self, steps: &Steps) -> Vec<Series> {
        match self {
            Node::Leaf(l) => {
                let second = l.second.clone();
                apply_second(l.finish(steps), &second)
            }
            Node::Chained { expr, second } => apply_second(expr.finish(steps), &second),
            Node::Scalar {
                op,
                expr,
                value,
                scalar_on_left,
            } => {
                let apply = |v: f64| {
                    if scalar_on_left {
                        arith(op, value, v)
                    } else {
                        arith(op, v, value)
                    }
                };
                let mut out = expr.finish(steps);
                for s in &mut out {
                    for v in &mut s.values {
                        *v = apply(*v);
                    }
                    for e in &mut s.exemplars {
                        e.value = apply(e.value);
                    }
                }
                out
            }
            Node::Math { op, lhs, rhs } => math(op, lhs.finish(steps), rhs.finish(steps)),
        }
    }
}

/// The number TraceQL metrics take from a value: durations of `duration` in seconds.
fn number(a: &Attribute, v: &Value<'_>) -> Option<f64> {
    let f = match (a, v) {
        (Attribute::Intrinsic(Intrinsic::Duration), Value::Duration(d)) => *d as f64 / 1e9,
        _ => v.as_f64(),
    };
    (!f.is_nan()).then_some(f)
}

/// Tempo's `Log2Bucketize`: the next power of two at or above `v`.
fn log2_bucket(v: u64) -> f64 {
    (v.max(2) - 1)
        .checked_ilog2()
        .map_or(1.0, |b| (1u128 << (b + 1)) as f64)
}

/// The bucket of a value for histograms and quantiles, `None` when it is not counted.
fn bucket(a: &Attribute, v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Duration(d) if *d >= 2 => Some(log2_bucket(*d as u64) / 1e9),
        Value::Int(i) if *i >= 2 && !matches!(a, Attribute::Intrinsic(Intrinsic::Duration)) => {
            Some(log2_bucket(*i as u64))
        }
        _ => None,
    }
}

impl Leaf {
    fn new_acc(&self, n: usize) -> Acc {
        match self.op {
            MetricsOp::Rate | MetricsOp::CountOverTime => Acc::Count(vec![0.0; n]),
            MetricsOp::MinOverTime | MetricsOp::MaxOverTime | MetricsOp::SumOverTime => {
                Acc::Fold(vec![f64::NAN; n])
            }
            MetricsOp::AvgOverTime => Acc::Avg(vec![(0.0, 0); n]),
            MetricsOp::QuantileOverTime | MetricsOp::HistogramOverTime => {
                Acc::Hist(vec![Vec::new(); n])
            }
        }
    }

    fn observe(&mut self, ix: &TraceIndex<'_>, steps: &Steps) -> Result<()> {
        let sets = self.pipeline.evaluate_index(ix)?;
        let mut seen = vec![false; ix.len()];
        for &s in sets.iter().flat_map(|ss| &ss.spans) {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            let Some(i) = steps.interval(ix.span(s).span.start_ns) else {
                continue;
            };
            self.observe_span(ix, s, i, steps);
        }
        Ok(())
    }

    fn observe_span(&mut self, ix: &TraceIndex<'_>, s: usize, i: usize, steps: &Steps) {
        let n = steps.count;
        let value = self.attr.as_ref().map(|a| (a, span_value(ix, s, a)));
        let hist_bucket = match (&value, self.op) {
            (Some((a, v)), MetricsOp::QuantileOverTime | MetricsOp::HistogramOverTime) => {
                match bucket(a, v) {
                    Some(b) => Some(b),
                    None => return,
                }
            }
            _ => None,
        };
        let key_vals: Vec<Value<'static>> = self
            .by
            .iter()
            .map(|a| span_value(ix, s, a).into_owned())
            .collect();
        let key = format!("{key_vals:?}");
        if !self.series.contains_key(&key) {
            let acc = self.new_acc(n);
            self.series.insert(
                key.clone(),
                SeriesState {
                    vals: key_vals,
                    acc,
                    exemplars: Vec::new(),
                },
            );
        }
        let Some(state) = self.series.get_mut(&key) else {
            return;
        };
        let num = value.as_ref().and_then(|(a, v)| number(a, v));
        if self.exemplar_limit > 0 && state.exemplars.len() < self.exemplar_limit {
            let span = ix.span(s).span;
            let (from, to) = steps.bounds();
            let width = u128::from(to.saturating_sub(from).max(1));
            let off = u128::from(span.start_ns.saturating_sub(from));
            let slice = (off * self.exemplar_limit as u128 / width) as u64;
            if !state.exemplars.iter().any(|e| e.slice == slice) {
                state.exemplars.push(Raw {
                    slice,
                    step: i,
                    ts_ms: (span.start_ns / 1_000_000) as i64,
                    value: num.unwrap_or(f64::NAN),
                    bucket: hist_bucket,
                    trace: span.trace_id.to_hex_trimmed(),
                    span: span.span_id.to_hex(),
                });
            }
        }
        let acc = &mut state.acc;
        match acc {
            Acc::Count(c) => c[i] += 1.0,
            Acc::Fold(f) => {
                if let Some(x) = num {
                    let cur = f[i];
                    f[i] = match self.op {
                        _ if cur.is_nan() => x,
                        MetricsOp::MinOverTime => cur.min(x),
                        MetricsOp::MaxOverTime => cur.max(x),
                        _ => cur + x,
                    };
                }
            }
            Acc::Avg(a) => {
                if let Some(x) = num {
                    a[i].0 += x;
                    a[i].1 += 1;
                }
            }
            Acc::Hist(h) => {
                if let Some(b) = hist_bucket {
                    match h[i].iter_mut().find(|(m, _)| *m == b) {
                        Some(slot) => slot.1 += 1,
                        None => h[i].push((b, 1)),
                    }
                }
            }
        }
    }

    fn labels(&self, vals: &[Value<'static>]) -> Labels {
        if self.by.is_empty() {
            return Vec::new();
        }
        let mut out: Labels = self
            .by
            .iter()
            .zip(vals)
            .filter(|(_, v)| !v.is_nil())
            .map(|(a, v)| (a.to_string(), v.clone()))
            .collect();
        if out.is_empty() {
            out.push((self.by[0].to_string(), Value::Nil));
        }
        out
    }

    fn finish(self, steps: &Steps) -> Vec<Series> {
        let name = self.op.name();
        let mut out = Vec::new();
        for state in self.series.values() {
            let labels = self.labels(&state.vals);
            let plain = |mut labels: Labels| {
                if labels.is_empty() {
                    labels.push(("__name__".into(), Value::Str(name.into())));
                }
                labels
            };
            // Exemplars of one-series functions: a count's stands at the series' value.
            let single = |values: Vec<f64>, labels: Labels| {
                let exemplars = state
                    .exemplars
                    .iter()
                    .map(|r| {
                        let v = if r.value.is_nan() {
                            values.get(r.step).copied().unwrap_or(f64::NAN)
                        } else {
                            r.value
                        };
                        exemplar(r, v)
                    })
                    .collect();
                Series {
                    labels,
                    values,
                    exemplars,
                }
            };
            match &state.acc {
                Acc::Count(c) => {
                    let mult = if self.op == MetricsOp::Rate {
                        1.0 / steps.seconds()
                    } else {
                        1.0
                    };
                    out.push(single(c.iter().map(|x| x * mult).collect(), plain(labels)));
                }
                Acc::Fold(f) => out.push(single(f.clone(), plain(labels))),
                Acc::Avg(a) => out.push(single(
                    a.iter()
                        .map(|(s, n)| if *n == 0 { f64::NAN } else { s / *n as f64 })
                        .collect(),
                    plain(labels),
                )),
                Acc::Hist(h) if self.op == MetricsOp::HistogramOverTime => {
                    let mut buckets: Vec<f64> = h.iter().flatten().map(|(b, _)| *b).collect();
                    buckets.sort_by(f64::total_cmp);
                    buckets.dedup();
                    for b in buckets {
                        let mut l = labels.clone();
                        l.push(("__bucket".into(), Value::Float(b)));
                        out.push(Series {
                            labels: l,
                            values: h
                                .iter()
                                .map(|step| {
                                    step.iter()
                                        .find(|(m, _)| *m == b)
                                        .map_or(0.0, |(_, c)| *c as f64)
                                })
                                .collect(),
                            exemplars: state
                                .exemplars
                                .iter()
                                .filter(|r| r.bucket == Some(b))
                                .map(|r| exemplar(r, r.value))
                                .collect(),
                        });
                    }
                }
                Acc::Hist(h) => {
                    let sorted: Vec<Vec<(f64, u64)>> = h
                        .iter()
                        .map(|step| {
                            let mut s = step.clone();
                            s.sort_by(|a, b| a.0.total_cmp(&b.0));
                            s
                        })
                        .collect();
                    let values: Vec<Vec<f64>> = self
                        .quantiles
                        .iter()
                        .map(|q| sorted.iter().map(|b| log2_quantile(*q, b)).collect())
                        .collect();
                    // Each exemplar goes to the quantile whose value at its step is closest.
                    let nearest = |r: &Raw| {
                        (0..values.len()).min_by(|&a, &b| {
                            let d = |q: usize| (values[q][r.step] - r.value).abs();
                            d(a).total_cmp(&d(b))
                        })
                    };
                    for (qi, q) in self.quantiles.iter().enumerate() {
                        let mut l = labels.clone();
                        l.push(("p".into(), Value::Float(*q)));
                        out.push(Series {
                            labels: l,
                            values: values[qi].clone(),
                            exemplars: state
                                .exemplars
                                .iter()
                                .filter(|r| nearest(r) == Some(qi))
                                .map(|r| exemplar(r, r.value))
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

fn exemplar(r: &Raw, value: f64) -> SeriesExemplar {
    SeriesExemplar {
        step: r.step,
        ts_ms: r.ts_ms,
        value,
        labels: vec![
            ("trace:id".into(), Value::Str(r.trace.clone().into())),
            ("span:id".into(), Value::Str(r.span.clone().into())),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(log2_bucket(2), 2.0);
        assert_eq!(log2_bucket(3), 4.0);
        assert_eq!(log2_bucket(4), 4.0);
        assert_eq!(log2_bucket(5), 8.0);
        assert_eq!(log2_bucket(1 << 40), (1u64 << 40) as f64);
    }
}
