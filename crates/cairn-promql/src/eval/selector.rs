//! Vector selectors, range selectors and subqueries over the fetched series.

use cairn_model::{Sample, is_stale_nan};
use promql_parser::parser::{MatrixSelector, SubqueryExpr, VectorSelector};

use super::{Evaluator, Grid, MSeries, RangeVal, VSeries, align_up, node_key};
use crate::error::{Error, Result};

/// Most steps a subquery may evaluate, whatever the sample limit.
const MAX_SUBQUERY_STEPS: usize = 10_000_000;

/// The samples minus stale markers. Most series have none: one exact-size copy then, instead
/// of a filtered collect that grows its vector by doubling.
fn without_stale(samples: &[Sample]) -> Vec<Sample> {
    if samples.iter().any(|x| is_stale_nan(x.v)) {
        samples
            .iter()
            .filter(|x| !is_stale_nan(x.v))
            .copied()
            .collect()
    } else {
        samples.to_vec()
    }
}

impl Evaluator<'_> {
    /// The newest sample in `(t - lookback, t]` per step, absent when it is a stale marker;
    /// with `timestamps`, the sample's time in seconds instead of its value.
    pub(crate) fn instant_selector(
        &mut self,
        vs: &VectorSelector,
        g: &Grid,
        timestamps: bool,
    ) -> Result<Vec<VSeries>> {
        let times = self.eval_times(g, &vs.at, &vs.offset);
        let Some(data) = self.data.get(&node_key(vs)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for series in data {
            let samples = &series.samples;
            let mut any = false;
            let vals: Vec<Option<f64>> = times
                .iter()
                .map(|&t| {
                    let hi = samples.partition_point(|s| s.t <= t);
                    let s = samples.get(hi.checked_sub(1)?)?;
                    if s.t <= t - self.lookback || is_stale_nan(s.v) {
                        return None;
                    }
                    any = true;
                    Some(if timestamps { s.t as f64 / 1000.0 } else { s.v })
                })
                .collect();
            if any {
                out.push(VSeries {
                    labels: series.labels.clone(),
                    drop_name: false,
                    vals,
                });
            }
        }
        Ok(out)
    }

    /// The samples of a range selector (stale markers removed) with the window of each step.
    pub(crate) fn range_selector(&mut self, ms: &MatrixSelector, g: &Grid) -> Result<RangeVal> {
        let ends = self.eval_times(g, &ms.vs.at, &ms.vs.offset);
        let range = ms.range.as_millis() as i64;
        let series = self
            .data
            .get(&node_key(&ms.vs))
            .map(|data| {
                data.iter()
                    .map(|s| MSeries {
                        labels: s.labels.clone(),
                        drop_name: false,
                        samples: without_stale(&s.samples),
                    })
                    .filter(|s| !s.samples.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(RangeVal {
            series,
            ends,
            range,
        })
    }

    /// The inner grid of a subquery evaluated at `times`: aligned to multiples of its step.
    pub(crate) fn subquery_grid(&self, sq: &SubqueryExpr, times: &[i64]) -> Option<Grid> {
        let step = sq
            .step
            .map(|d| d.as_millis() as i64)
            .filter(|&s| s > 0)
            .unwrap_or(self.subquery_step);
        let range = sq.range.as_millis() as i64;
        let min = *times.iter().min()?;
        let max = *times.iter().max()?;
        Some(Grid {
            start: align_up(min - range, step),
            end: max,
            step,
        })
    }

    /// Evaluates the inner expression once over the union of all windows.
    pub(crate) fn subquery(&mut self, sq: &SubqueryExpr, g: &Grid) -> Result<RangeVal> {
        let ends = self.eval_times(g, &sq.at, &sq.offset);
        let range = sq.range.as_millis() as i64;
        let Some(inner) = self.subquery_grid(sq, &ends) else {
            return Ok(RangeVal {
                series: Vec::new(),
                ends,
                range,
            });
        };
        // Every inner series holds one slot per inner step: refuse grids that could not fit.
        let limit = if self.max_samples > 0 {
            self.max_samples
        } else {
            MAX_SUBQUERY_STEPS
        };
        if inner.len() > limit.min(MAX_SUBQUERY_STEPS) {
            return Err(Error::TooManySamples { limit });
        }
        let series = if inner.len() == 0 {
            Vec::new()
        } else {
            let v = self.eval_vector(&sq.expr, &inner)?;
            v.into_iter()
                .map(|s| MSeries {
                    labels: s.labels,
                    drop_name: s.drop_name,
                    samples: s
                        .vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| Sample::new(inner.time(i), v)))
                        .collect(),
                })
                .filter(|s| !s.samples.is_empty())
                .collect()
        };
        Ok(RangeVal {
            series,
            ends,
            range,
        })
    }
}
