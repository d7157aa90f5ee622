//! The step-vectorised evaluator: every node is evaluated once for all steps of its grid, over
//! series fetched before evaluation starts.

mod aggregate;
mod binary;
mod functions;
mod gotime;
mod histogram;
mod info;
mod labels;
mod range_functions;
mod selector;

use std::collections::HashMap;
use std::time::Instant;

use cairn_model::{Labels, METRIC_NAME, Sample, Series};
use promql_parser::parser::{AtModifier, Expr, Offset};

use crate::error::{Error, Result};
pub(crate) use info::{info_key, info_matchers, reference_times};

use crate::value::Annotations;

/// Evaluation times `start, start + step, ..., <= end` in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
}

impl Grid {
    pub(crate) fn len(&self) -> usize {
        if self.end < self.start {
            0
        } else {
            ((self.end - self.start) / self.step) as usize + 1
        }
    }

    pub(crate) fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }
}

/// A series of an instant vector evaluated at every step of a grid.
#[derive(Clone, Debug)]
pub(crate) struct VSeries {
    pub(crate) labels: Labels,
    /// Prometheus 3 removes `__name__` only when the final result is built, so that label
    /// functions can still read it.
    pub(crate) drop_name: bool,
    pub(crate) vals: Vec<Option<f64>>,
}

/// A series of a range vector: all its samples, windows are cut per step.
#[derive(Clone, Debug)]
pub(crate) struct MSeries {
    pub(crate) labels: Labels,
    pub(crate) drop_name: bool,
    pub(crate) samples: Vec<Sample>,
}

/// A range vector over a grid: the window of step `i` is `(ends[i] - range, ends[i]]`.
#[derive(Clone, Debug)]
pub(crate) struct RangeVal {
    pub(crate) series: Vec<MSeries>,
    pub(crate) ends: Vec<i64>,
    pub(crate) range: i64,
}

impl RangeVal {
    pub(crate) fn window<'s>(&self, samples: &'s [Sample], i: usize) -> &'s [Sample] {
        let end = self.ends[i];
        let lo = samples.partition_point(|s| s.t <= end - self.range);
        let hi = samples.partition_point(|s| s.t <= end);
        &samples[lo..hi.max(lo)]
    }
}

/// The value of a node over its grid.
#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<VSeries>),
    Matrix(RangeVal),
}

impl Val {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// Fetched series per selector node, keyed by the node's address in the parsed tree.
pub(crate) type Fetched = HashMap<usize, Vec<Series>>;

/// The address of a selector node, the key of [`Fetched`].
pub(crate) fn node_key(vs: &promql_parser::parser::VectorSelector) -> usize {
    vs as *const _ as usize
}

pub(crate) struct Evaluator<'a> {
    pub(crate) data: &'a Fetched,
    /// The query text, to point annotations at the part they are about.
    pub(crate) query: &'a str,
    pub(crate) query_start: i64,
    pub(crate) query_end: i64,
    /// The range query's step; 0 for instant queries.
    pub(crate) query_step: i64,
    pub(crate) lookback: i64,
    pub(crate) subquery_step: i64,
    pub(crate) deadline: Option<Instant>,
    pub(crate) started: Instant,
    pub(crate) max_samples: usize,
    /// Samples fetched from storage, held for the whole evaluation.
    pub(crate) fetched_samples: usize,
    pub(crate) is_range_query: bool,
    pub(crate) ann: Annotations,
    /// Set when the query is canceled (its client went away): checked with the deadline.
    pub(crate) cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

pub(crate) fn at_ms(at: &AtModifier, query_start: i64, query_end: i64) -> i64 {
    match at {
        AtModifier::Start => query_start,
        AtModifier::End => query_end,
        AtModifier::At(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        },
    }
}

/// The first multiple of `step` at or after `t`, with Prometheus' truncating division.
pub(crate) fn align_up(t: i64, step: i64) -> i64 {
    let a = (t / step) * step;
    if a < t { a + step } else { a }
}

impl Evaluator<'_> {
    /// ` (line:col)` of the first occurrence of `node` in the query, as Prometheus appends to
    /// annotations; the parser keeps no positions, so the node's text is searched for.
    pub(crate) fn pos(&self, node: &impl std::fmt::Display) -> String {
        let text = node.to_string();
        let Some(at) = self.query.find(&text) else {
            return String::new();
        };
        let before = &self.query[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" ({line}:{col})")
    }

    /// Evaluation times of a selector or subquery at each step of `g`.
    pub(crate) fn eval_times(
        &self,
        g: &Grid,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> Vec<i64> {
        let off = offset_ms(offset);
        match at {
            Some(at) => vec![at_ms(at, self.query_start, self.query_end) - off; g.len()],
            None => (0..g.len()).map(|i| g.time(i) - off).collect(),
        }
    }

    /// Refuses a node whose points, on top of the fetched samples, pass the sample limit (an
    /// estimate of peak memory like Prometheus' `max_samples`), and a query past its deadline.
    fn check_limits(&self, points: usize) -> Result<()> {
        if self.max_samples > 0 && self.fetched_samples + points > self.max_samples {
            return Err(Error::TooManySamples {
                limit: self.max_samples,
            });
        }
        self.check_interrupt()
    }

    /// Cancellation (the client went away) and the deadline only: cheap enough for the inner
    /// loops of one node, so that a single heavy node stops promptly too.
    pub(crate) fn check_interrupt(&self) -> Result<()> {
        if self
            .cancel
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(Error::Canceled);
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(Error::Timeout {
                elapsed_ms: self.started.elapsed().as_millis() as u64,
            });
        }
        Ok(())
    }

    pub(crate) fn eval(&mut self, e: &Expr, g: &Grid) -> Result<Val> {
        let v = self.eval_inner(e, g)?;
        let points = match &v {
            Val::Vector(s) => s.iter().map(|s| s.vals.len()).sum(),
            Val::Scalar(v) => v.len(),
            Val::Matrix(m) => m.series.iter().map(|s| s.samples.len()).sum(),
            Val::Str(_) => 0,
        };
        self.check_limits(points)?;
        Ok(v)
    }

    fn eval_inner(&mut self, e: &Expr, g: &Grid) -> Result<Val> {
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; g.len()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, g),
            Expr::Unary(u) => match self.eval(&u.expr, g)? {
                Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
                Val::Vector(mut series) => {
                    for s in &mut series {
                        s.drop_name = true;
                        for v in s.vals.iter_mut().flatten() {
                            *v = -*v;
                        }
                    }
                    Ok(Val::Vector(series))
                }
                other => Err(Error::exec(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.instant_selector(vs, g, false)?)),
            Expr::MatrixSelector(ms) => Ok(Val::Matrix(self.range_selector(ms, g)?)),
            Expr::Subquery(sq) => Ok(Val::Matrix(self.subquery(sq, g)?)),
            Expr::Call(c) => self.call(c, g),
            Expr::Aggregate(a) => self.aggregate(a, g),
            Expr::Binary(b) => self.binary(b, g),
            Expr::Extension(_) => Err(Error::exec("extension expressions are not supported")),
        }
    }

    pub(crate) fn eval_scalar(&mut self, e: &Expr, g: &Grid) -> Result<Vec<f64>> {
        match self.eval(e, g)? {
            Val::Scalar(v) => Ok(v),
            other => Err(Error::exec(format!(
                "expected type scalar, got {}",
                other.type_name()
            ))),
        }
    }

    pub(crate) fn eval_vector(&mut self, e: &Expr, g: &Grid) -> Result<Vec<VSeries>> {
        match self.eval(e, g)? {
            Val::Vector(v) => Ok(v),
            other => Err(Error::exec(format!(
                "expected type instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    pub(crate) fn eval_string(&mut self, e: &Expr, g: &Grid) -> Result<String> {
        match self.eval(e, g)? {
            Val::Str(s) => Ok(s),
            other => Err(Error::exec(format!(
                "expected type string, got {}",
                other.type_name()
            ))),
        }
    }
}

/// Merges series that ended up with the same labels (after label functions or name removal):
/// they may share a series as long as they never both have a value at one step.
pub(crate) fn merge_same_labels(series: Vec<VSeries>) -> Result<Vec<VSeries>> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<VSeries> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&i) => {
                let target = &mut out[i];
                for (a, b) in target.vals.iter_mut().zip(s.vals) {
                    match (a.is_some(), b) {
                        (true, Some(_)) => {
                            return Err(Error::exec(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        (false, Some(v)) => *a = Some(v),
                        _ => {}
                    }
                }
                target.drop_name |= s.drop_name;
            }
        }
    }
    Ok(out)
}

/// Which labels leave together with `__name__`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NameLabels {
    pub(crate) type_and_unit: bool,
}

impl NameLabels {
    pub(crate) fn is_name_label(self, n: &str) -> bool {
        n == METRIC_NAME || (self.type_and_unit && (n == "__type__" || n == "__unit__"))
    }
}

/// Removes `__name__` from series flagged for it, then merges series that became equal.
pub(crate) fn finish_names(series: Vec<VSeries>, names: NameLabels) -> Result<Vec<VSeries>> {
    if !series.iter().any(|s| s.drop_name) {
        return Ok(series);
    }
    let series = series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = s.labels.without(|n| names.is_name_label(n));
                s.drop_name = false;
            }
            s
        })
        .collect();
    merge_same_labels(series)
}
