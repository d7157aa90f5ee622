//! Metric queries: every range aggregation is evaluated first, each with one scan over the
//! whole query range; the tree above them (vector aggregations, binary operators,
//! `label_replace`, literals) then works step by step on the vectors, as Loki's step
//! evaluators do.

mod ops;
mod range;

use cairn_model::{Labels, LogQuerier, Sample, Series, TenantId};
use cairn_promql::{InstantSample, Value};

use crate::engine::{EngineOptions, EngineStats, Guard, QueryParams};
use crate::error::{Error, Result};
use crate::syntax::{Grouping, RangeAgg, RangeOp, SampleExpr, VectorOp};

/// A vector per step.
pub(crate) type Steps = Vec<Vec<(Labels, f64)>>;

/// What an evaluation needs.
pub(crate) struct Ctx<'a> {
    pub(crate) querier: &'a dyn LogQuerier,
    pub(crate) tenant: &'a TenantId,
    pub(crate) params: &'a QueryParams,
    pub(crate) opts: &'a EngineOptions,
    pub(crate) guard: &'a Guard,
}

impl Ctx<'_> {
    /// The evaluation times in nanoseconds: `start..=end` by `step`, or the end alone.
    pub(crate) fn steps(&self) -> Vec<i64> {
        let p = self.params;
        if p.step_ns <= 0 {
            return vec![p.end_ns];
        }
        let mut out = Vec::new();
        let mut t = p.start_ns;
        while t <= p.end_ns {
            out.push(t);
            t = match t.checked_add(p.step_ns) {
                Some(t) => t,
                None => break,
            };
        }
        out
    }
}

/// Loki's series limit message.
fn series_limit(max: usize) -> Error {
    Error::Limit(format!(
        "maximum number of series ({max}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()"
    ))
}

/// Whether a sum may push its grouping into the range aggregation below it (Loki's
/// `canInjectVectorGrouping`).
fn can_inject(v: VectorOp, r: RangeOp) -> bool {
    v == VectorOp::Sum
        && matches!(
            r,
            RangeOp::Bytes | RangeOp::BytesRate | RangeOp::Sum | RangeOp::Rate | RangeOp::Count
        )
}

/// Every range aggregation in evaluation order, with the grouping pushed into it.
fn collect<'a>(e: &'a SampleExpr, out: &mut Vec<(&'a RangeAgg, Option<&'a Grouping>)>) {
    match e {
        SampleExpr::Range(r) => out.push((r, None)),
        SampleExpr::Vector(v) => match &*v.inner {
            SampleExpr::Range(r) if r.grouping.is_none() && can_inject(v.op, r.op) => {
                out.push((r, Some(&v.grouping)))
            }
            inner => collect(inner, out),
        },
        SampleExpr::BinOp(b) => {
            collect(&b.lhs, out);
            collect(&b.rhs, out);
        }
        SampleExpr::LabelReplace(l) => collect(&l.inner, out),
        SampleExpr::Literal(_) | SampleExpr::VectorLit(_) => {}
    }
}

/// Whether the query uses `approx_topk` (Loki runs it as a count-min sketch, instant only).
fn has_approx_topk(e: &SampleExpr) -> bool {
    match e {
        SampleExpr::Vector(v) => v.op == VectorOp::ApproxTopk || has_approx_topk(&v.inner),
        SampleExpr::BinOp(b) => has_approx_topk(&b.lhs) || has_approx_topk(&b.rhs),
        SampleExpr::LabelReplace(l) => has_approx_topk(&l.inner),
        _ => false,
    }
}

/// Whether the query orders its result by value (`sort`, `sort_desc`).
fn sortable(e: &SampleExpr) -> bool {
    match e {
        SampleExpr::Vector(v) => {
            matches!(v.op, VectorOp::Sort | VectorOp::SortDesc) || sortable(&v.inner)
        }
        SampleExpr::BinOp(b) => sortable(&b.lhs) || sortable(&b.rhs),
        SampleExpr::LabelReplace(l) => sortable(&l.inner),
        _ => false,
    }
}

fn ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

/// Evaluates a metric query.
pub(crate) async fn evaluate(
    ctx: &Ctx<'_>,
    expr: &SampleExpr,
    stats: &mut EngineStats,
    _warnings: &mut Vec<String>,
) -> Result<Value> {
    let steps = ctx.steps();
    // A range query answers a matrix even when it has a single step (start == end).
    let instant = ctx.params.is_instant();
    match expr {
        SampleExpr::Literal(v) => {
            return Ok(if instant {
                Value::Scalar {
                    t_ms: ms(ctx.params.start_ns),
                    v: *v,
                }
            } else {
                constant_matrix(&steps, *v)
            });
        }
        SampleExpr::VectorLit(v) => {
            return Ok(if instant {
                Value::Vector(vec![InstantSample {
                    labels: Labels::empty(),
                    t_ms: ms(ctx.params.start_ns),
                    v: *v,
                }])
            } else {
                constant_matrix(&steps, *v)
            });
        }
        _ => {}
    }
    if !instant && has_approx_topk(expr) {
        return Err(Error::Execution(
            "count min sketches are only supported on instant queries".into(),
        ));
    }
    let mut ranges = Vec::new();
    collect(expr, &mut ranges);
    let mut results = Vec::with_capacity(ranges.len());
    for (agg, outer) in ranges {
        results.push(range::eval(ctx, agg, outer, stats).await?);
    }
    let mut results = results.into_iter();
    let out = ops::eval(expr, &steps, &mut results)?;
    ctx.guard.check()?;
    let max = ctx.opts.max_series;
    if instant {
        let mut vec: Vec<(Labels, f64)> = out.into_iter().next().unwrap_or_default();
        if max > 0 && vec.len() > max {
            return Err(series_limit(max));
        }
        if !sortable(expr) {
            vec.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let t = ms(steps[0]);
        stats.entries_returned = vec.len() as u64;
        return Ok(Value::Vector(
            vec.into_iter()
                .map(|(labels, v)| InstantSample { labels, t_ms: t, v })
                .collect(),
        ));
    }
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    let mut series: Vec<Series> = Vec::new();
    for (i, vec) in out.into_iter().enumerate() {
        let t = ms(steps[i]);
        for (labels, v) in vec {
            let idx = match index.get(&labels) {
                Some(i) => *i,
                None => {
                    if max > 0 && series.len() >= max {
                        return Err(series_limit(max));
                    }
                    series.push(Series {
                        labels: labels.clone(),
                        samples: Vec::new(),
                    });
                    index.insert(labels, series.len() - 1);
                    series.len() - 1
                }
            };
            series[idx].samples.push(Sample::new(t, v));
        }
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    stats.entries_returned = series.iter().map(|s| s.samples.len() as u64).sum();
    Ok(Value::Matrix(series))
}

fn constant_matrix(steps: &[i64], v: f64) -> Value {
    Value::Matrix(vec![Series {
        labels: Labels::empty(),
        samples: steps.iter().map(|t| Sample::new(ms(*t), v)).collect(),
    }])
}
