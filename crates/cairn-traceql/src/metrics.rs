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
//! compare true. Exemplars are not collected. `compare()` is not run.

use std::collections::HashMap;

use cairn_model::Trace;
use serde::{Deserialize, Serialize};

use crate::eval::{Compiled, TraceIndex, Value, span_value};
use crate::search::{AnyValue, KeyValue};
use crate::{
    Attribute, BinaryOp, Error, Expr, FirstStage, Intrinsic, MetricsExpr, MetricsOp, Query, Result,
    SecondStage,
};

/// A metrics request's time range, in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryRange {
    /// Start.
    pub start_ns: u64,
    /// End.
    pub end_ns: u64,
    /// Step; an `end - start` equal to it makes an instant query.
    pub step_ns: u64,
}

impl QueryRange {
    /// Whether this asks for one value over the whole range.
    pub fn is_instant(&self) -> bool {
        self.end_ns.saturating_sub(self.start_ns) == self.step_ns
    }

    /// The step Tempo picks when a request gives none: about 240 points, rounded down to a
    /// round granularity (1h, 5m, 1m, 15s, 5s, 1s; 50ms multiples under a minute).
    pub fn default_step(start_ns: u64, end_ns: u64) -> u64 {
        const MS: u64 = 1_000_000;
        const S: u64 = 1_000 * MS;
        let delta = end_ns.saturating_sub(start_ns);
        let baseline = delta / 240;
        if delta < 60 * S {
            let g = 50 * MS;
            return if baseline > g { baseline / g * g } else { g };
        }
        for g in [3600 * S, 300 * S, 60 * S, 15 * S, 5 * S, S] {
            if baseline > g {
                return baseline / g * g;
            }
        }
        S
    }
}

/// Steps of a range: which step a time falls in and when each step is reported.
#[derive(Clone, Copy, Debug)]
struct Steps {
    start: u64,
    end: u64,
    step: u64,
    instant: bool,
    count: usize,
}

impl Steps {
    fn new(r: QueryRange) -> Result<Steps> {
        if r.step_ns == 0 || r.end_ns <= r.start_ns {
            return Err(Error::Invalid(format!(
                "invalid query range: start {} end {} step {}",
                r.start_ns, r.end_ns, r.step_ns
            )));
        }
        if r.is_instant() {
            return Ok(Steps {
                start: r.start_ns,
                end: r.end_ns,
                step: r.step_ns,
                instant: true,
                count: 1,
            });
        }
        // Tempo's AlignRequest, then the interval mapper's alignment.
        let step = r.step_ns;
        let mut start = r.start_ns - r.start_ns % step;
        let end = match r.end_ns % step {
            0 => r.end_ns,
            m => r.end_ns + (step - m),
        };
        if start > step {
            start -= step;
        }
        let count = usize::try_from((end - start) / step).unwrap_or(usize::MAX);
        if count > 11_000 {
            return Err(Error::Invalid(format!(
                "exceeded maximum resolution of 11,000 points per timeseries: {count}"
            )));
        }
        Ok(Steps {
            start,
            end,
            step,
            instant: false,
            count,
        })
    }

    fn interval(&self, ts: u64) -> Option<usize> {
        if self.instant {
            return (self.start..=self.end).contains(&ts).then_some(0);
        }
        if ts <= self.start || ts > self.end {
            return None;
        }
        let off = ts - self.start;
        let mut i = off / self.step;
        if i * self.step == off {
            i -= 1;
        }
        usize::try_from(i).ok()
    }

    fn timestamp_ms(&self, i: usize) -> i64 {
        let ns = if self.instant {
            self.end
        } else {
            self.start + (i as u64 + 1) * self.step
        };
        (ns / 1_000_000) as i64
    }

    fn seconds(&self) -> f64 {
        self.step as f64 / 1e9
    }
}

/// The answer of `/api/metrics/query_range` (`tempopb.QueryRangeResponse`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryRangeResponse {
    /// The series.
    #[serde(default)]
    pub series: Vec<TimeSeries>,
}

/// One series (`tempopb.TimeSeries`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSeries {
    /// Labels, typed.
    #[serde(default)]
    pub labels: Vec<KeyValue>,
    /// Samples, oldest first.
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// The labels in Prometheus' text form (`{__name__="rate"}`), as Tempo 2.x sent them;
    /// ints print as `int(5)`, nil as `<nil>`, the empty string as `<empty>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prom_labels: String,
}

/// One sample (`tempopb.Sample`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// When, in milliseconds since the Unix epoch (a string in JSON, as proto JSON prints
    /// 64-bit integers).
    #[serde(with = "i64_string")]
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

mod i64_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum N {
            S(String),
            N(i64),
        }
        match N::deserialize(d)? {
            N::S(s) => s.parse().map_err(D::Error::custom),
            N::N(n) => Ok(n),
        }
    }
}

type Labels = Vec<(String, Value<'static>)>;

/// A series while it is computed: one value per step, NaN where there is none.
#[derive(Clone, Debug)]
struct Series {
    labels: Labels,
    values: Vec<f64>,
}

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
    series: HashMap<String, (Vec<Value<'static>>, Acc)>,
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
                (!samples.is_empty()).then(|| TimeSeries {
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
                let mut out = expr.finish(steps);
                for s in &mut out {
                    strip_name(&mut s.labels);
                    for v in &mut s.values {
                        *v = if scalar_on_left {
                            arith(op, value, *v)
                        } else {
                            arith(op, *v, value)
                        };
                    }
                }
                out
            }
            Node::Math { op, lhs, rhs } => {
                let mut l = lhs.finish(steps);
                let mut r = rhs.finish(steps);
                for s in l.iter_mut().chain(r.iter_mut()) {
                    strip_name(&mut s.labels);
                }
                // Series meet by equal labels; a series without a partner has no answer.
                let mut out = Vec::new();
                for a in l {
                    let key = prom_labels(&a.labels);
                    if let Some(b) = r.iter().find(|b| prom_labels(&b.labels) == key) {
                        let values = a
                            .values
                            .iter()
                            .zip(&b.values)
                            .map(|(x, y)| arith(op, *x, *y))
                            .collect();
                        out.push(Series {
                            labels: a.labels,
                            values,
                        });
                    }
                }
                out
            }
        }
    }
}

fn strip_name(labels: &mut Labels) {
    labels.retain(|(k, _)| k != "__name__");
}

fn arith(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        _ => f64::NAN,
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
            self.observe_span(ix, s, i, steps.count);
        }
        Ok(())
    }

    fn observe_span(&mut self, ix: &TraceIndex<'_>, s: usize, i: usize, n: usize) {
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
            self.series.insert(key.clone(), (key_vals, acc));
        }
        let Some((_, acc)) = self.series.get_mut(&key) else {
            return;
        };
        let num = value.as_ref().and_then(|(a, v)| number(a, v));
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
        for (vals, acc) in self.series.values() {
            let labels = self.labels(vals);
            let plain = |mut labels: Labels| {
                if labels.is_empty() {
                    labels.push(("__name__".into(), Value::Str(name.into())));
                }
                labels
            };
            match acc {
                Acc::Count(c) => {
                    let mult = if self.op == MetricsOp::Rate {
                        1.0 / steps.seconds()
                    } else {
                        1.0
                    };
                    out.push(Series {
                        labels: plain(labels),
                        values: c.iter().map(|x| x * mult).collect(),
                    });
                }
                Acc::Fold(f) => out.push(Series {
                    labels: plain(labels),
                    values: f.clone(),
                }),
                Acc::Avg(a) => out.push(Series {
                    labels: plain(labels),
                    values: a
                        .iter()
                        .map(|(s, n)| if *n == 0 { f64::NAN } else { s / *n as f64 })
                        .collect(),
                }),
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
                    for q in &self.quantiles {
                        let mut l = labels.clone();
                        l.push(("p".into(), Value::Float(*q)));
                        out.push(Series {
                            labels: l,
                            values: sorted.iter().map(|b| log2_quantile(*q, b)).collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// Tempo's `Log2Quantile` over buckets sorted by upper bound: 0 without samples.
pub fn log2_quantile(p: f64, buckets: &[(f64, u64)]) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) || buckets.is_empty() {
        return 0.0;
    }
    let total: u64 = buckets.iter().map(|b| b.1).sum();
    if total == 0 {
        return 0.0;
    }
    let max_samples = ((p * total as f64).ceil() as u64).max(1);
    let mut seen = 0u64;
    let mut at = 0usize;
    for (i, (max, count)) in buckets.iter().enumerate() {
        at = i;
        if seen + count > max_samples {
            break;
        }
        seen += count;
        if seen == max_samples {
            return *max;
        }
    }
    let (max, count) = buckets[at];
    let interp = (max_samples - seen) as f64 / count as f64;
    let hi = max.log2();
    let lo = if at > 0 {
        buckets[at - 1].0.log2()
    } else {
        hi - 1.0
    };
    2f64.powf(lo + (hi - lo) * interp)
}

fn apply_second(mut series: Vec<Series>, stages: &[SecondStage]) -> Vec<Series> {
    for st in stages {
        series = match st {
            SecondStage::TopK(k) => top_k(series, *k, true),
            SecondStage::BottomK(k) => top_k(series, *k, false),
            SecondStage::Filter { op, value } => {
                for s in &mut series {
                    for v in &mut s.values {
                        let keep = match op {
                            BinaryOp::Gt => *v > *value,
                            BinaryOp::Gte => *v >= *value,
                            BinaryOp::Lt => *v < *value,
                            BinaryOp::Lte => *v <= *value,
                            BinaryOp::Eq => *v == *value,
                            BinaryOp::Neq => *v != *value,
                            _ => true,
                        };
                        if !keep {
                            *v = f64::NAN;
                        }
                    }
                }
                series
            }
        };
    }
    series
}

/// Keeps, at each step, the values of the `k` highest (`top`) or lowest series; ties go to
/// the series whose labels sort first.
fn top_k(series: Vec<Series>, k: i64, top: bool) -> Vec<Series> {
    let k = usize::try_from(k).unwrap_or(0);
    let n = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let keys: Vec<String> = series.iter().map(|s| prom_labels(&s.labels)).collect();
    // kept[step][series]
    let mut kept = vec![vec![false; series.len()]; n];
    for (i, row) in kept.iter_mut().enumerate() {
        let mut at: Vec<usize> = (0..series.len())
            .filter(|&j| series[j].values.get(i).is_some_and(|v| !v.is_nan()))
            .collect();
        at.sort_by(|&a, &b| {
            let (va, vb) = (series[a].values[i], series[b].values[i]);
            let ord = if top {
                vb.total_cmp(&va)
            } else {
                va.total_cmp(&vb)
            };
            ord.then_with(|| keys[a].cmp(&keys[b]))
        });
        for &j in at.iter().take(k) {
            row[j] = true;
        }
    }
    series
        .into_iter()
        .enumerate()
        .filter(|(j, _)| kept.iter().any(|row| row[*j]))
        .map(|(j, mut s)| {
            for (i, v) in s.values.iter_mut().enumerate() {
                if !kept.get(i).is_some_and(|row| row[j]) {
                    *v = f64::NAN;
                }
            }
            s
        })
        .collect()
}

/// Labels in Prometheus' text form, sorted by name, values as Tempo's `Labels.String`.
fn prom_labels(labels: &Labels) -> String {
    let mut parts: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::Nil => "<nil>".to_string(),
                Value::Str(s) if s == "nil" => "<nil>".to_string(),
                Value::Str(s) if s.is_empty() => "<empty>".to_string(),
                Value::Str(s) => s.to_string(),
                Value::Int(i) => format!("int({i})"),
                Value::Float(f) => format!("{f}"),
                Value::Bool(b) => b.to_string(),
                Value::Duration(d) => cairn_syntax::gofmt::format_go_duration(*d),
                Value::Status(s) => s.name().to_string(),
                Value::Kind(k) => k.name().to_string(),
                other => format!("{other:?}"),
            };
            (k.clone(), text)
        })
        .collect();
    parts.sort();
    let body: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{k}={}", cairn_syntax::gofmt::quote(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
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

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        // Tempo's engine_metrics_test: 1 sample each in buckets 1, 2, 4 -> p50 reads 2 whole.
        let b = [(1.0, 1), (2.0, 1), (4.0, 1)];
        assert_eq!(log2_quantile(0.5, &b), 2.0);
        assert_eq!(log2_quantile(1.0, &b), 4.0);
        // Half of the only bucket: between 2^(2-1) and 2^2 exponentially.
        assert!((log2_quantile(0.5, &[(4.0, 2)]) - 2f64.powf(1.5)).abs() < 1e-12);
        assert_eq!(log2_quantile(0.5, &[]), 0.0);
    }

    #[test]
    fn steps_align_as_tempo() {
        let s = Steps::new(QueryRange {
            start_ns: 60_000_000_000,
            end_ns: 120_000_000_000,
            step_ns: 15_000_000_000,
        })
        .expect("valid range");
        assert_eq!(s.count, 5);
        assert_eq!(s.timestamp_ms(0), 60_000);
        assert_eq!(s.interval(60_000_000_000), Some(0));
        assert_eq!(s.interval(60_000_000_001), Some(1));
        assert_eq!(s.interval(120_000_000_000), Some(4));
        assert_eq!(s.interval(120_000_000_001), None);
    }
}
