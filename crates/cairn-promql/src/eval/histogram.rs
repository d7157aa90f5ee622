//! `histogram_quantile` and `histogram_fraction` over classic (`le`-labelled) buckets.

use std::collections::HashMap;

use cairn_model::Labels;
use promql_parser::parser::Call;

use super::aggregate::format_value;
use super::{Evaluator, Grid, VSeries, Val, merge_same_labels};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug)]
struct Bucket {
    upper: f64,
    count: f64,
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Sorts and merges buckets with equal bounds; false when there is no `+Inf` bucket.
fn prepare(buckets: &mut Vec<Bucket>) -> bool {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !buckets.last().is_some_and(|b| b.upper == f64::INFINITY) {
        return false;
    }
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(l) if l.upper == b.upper => l.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
    true
}

/// Removes decreases and float noise; true when a real decrease had to be removed.
fn ensure_monotonic(buckets: &mut [Bucket]) -> bool {
    let mut forced = false;
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Prometheus' `BucketQuantile`; the flag tells whether monotonicity had to be forced.
fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    if !prepare(&mut buckets) {
        return (f64::NAN, false);
    }
    let forced = ensure_monotonic(&mut buckets);
    if buckets.len() < 2 {
        return (f64::NAN, false);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|b| b.count < rank);
    if b == buckets.len() - 1 {
        return (buckets[buckets.len() - 2].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    let mut start = 0.0;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

fn bucket_fraction(lower: f64, upper: f64, mut buckets: Vec<Bucket>) -> f64 {
    if !prepare(&mut buckets) {
        return f64::NAN;
    }
    ensure_monotonic(&mut buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in buckets.iter().enumerate() {
        let lb = if i > 0 {
            buckets[i - 1].upper
        } else if b.upper > 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let ub = b.upper;
        // An infinitely wide bucket cannot be interpolated: its observations are taken to sit
        // at its finite edge.
        let interpolate = |v: f64| {
            if ub == f64::INFINITY {
                rank
            } else if lb == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - lb) / (ub - lb)
            }
        };
        if !lower_set && lb >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lb >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lb < lower && ub > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lb < upper && ub > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

struct Grouped {
    labels: Labels,
    members: Vec<(f64, usize)>,
}

impl Evaluator<'_> {
    /// Groups bucket series by their labels without `le`, warning about bad `le` values.
    fn bucket_groups(&mut self, v: &[VSeries], pos: &str) -> Vec<Grouped> {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<Grouped> = Vec::new();
        for (k, s) in v.iter().enumerate() {
            let le = s.labels.get("le").and_then(|x| {
                x.trim().parse::<f64>().ok().or(match x.trim() {
                    "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
                    "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
                    _ => None,
                })
            });
            let Some(le) = le else {
                self.ann.warn(format!(
                    "bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}{pos}",
                    s.labels.get("le").unwrap_or(""),
                    s.labels.metric_name().unwrap_or("")
                ));
                continue;
            };
            // `__name__` stays in the key so that different histograms never merge; it is
            // dropped when the result is built.
            let key = s.labels.without(|n| n == "le");
            let gi = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(Grouped {
                    labels: key,
                    members: Vec::new(),
                });
                groups.len() - 1
            });
            groups[gi].members.push((le, k));
        }
        groups
    }

    pub(crate) fn histogram_quantile(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let [q_expr, v_expr] = c.args.args.as_slice() else {
            return Err(Error::exec("histogram_quantile needs 2 arguments"));
        };
        let q = self.eval_scalar(q_expr, g)?;
        let v = self.eval_vector(v_expr, g)?;
        let (qpos, vpos) = (self.pos(q_expr), self.pos(v_expr));
        let groups = self.bucket_groups(&v, &vpos);
        Ok(Val::Vector(
            self.quantiles_of(&q, &v, &groups, None, &qpos, &vpos),
        ))
    }

    /// `histogram_quantiles(v, "label", q1, q2, ...)`: one series per quantile, told apart
    /// by `label`.
    pub(crate) fn histogram_quantiles(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let [v_expr, label, qs @ ..] = c.args.args.as_slice() else {
            return Err(Error::exec(
                "histogram_quantiles needs at least 3 arguments",
            ));
        };
        let label = self.eval_string(label, g)?;
        let mut q_vals = Vec::with_capacity(qs.len());
        for q in qs {
            q_vals.push((self.eval_scalar(q, g)?, self.pos(q)));
        }
        let v = self.eval_vector(v_expr, g)?;
        let vpos = self.pos(v_expr);
        let groups = self.bucket_groups(&v, &vpos);
        let mut out = Vec::new();
        for (q, qpos) in &q_vals {
            let mut text = format_value(q[0]);
            if text.chars().all(|c| c.is_ascii_digit() || c == '-') {
                text.push_str(".0");
            }
            out.extend(self.quantiles_of(q, &v, &groups, Some((&label, &text)), qpos, &vpos));
        }
        Ok(Val::Vector(merge_same_labels(out)?))
    }

    fn quantiles_of(
        &mut self,
        q: &[f64],
        v: &[VSeries],
        groups: &[Grouped],
        extra: Option<(&str, &str)>,
        qpos: &str,
        vpos: &str,
    ) -> Vec<VSeries> {
        if let Some(bad) = q.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            self.ann.warn(format!(
                "quantile value should be between 0 and 1, got {}{qpos}",
                format_value(*bad)
            ));
        }
        let mut out = Vec::with_capacity(groups.len());
        for gr in groups {
            let mut vals = vec![None; q.len()];
            let mut forced_any = false;
            for (i, slot) in vals.iter_mut().enumerate() {
                let buckets: Vec<Bucket> = gr
                    .members
                    .iter()
                    .filter_map(|&(upper, k)| v[k].vals[i].map(|count| Bucket { upper, count }))
                    .collect();
                if buckets.is_empty() {
                    continue;
                }
                let (r, forced) = bucket_quantile(q[i], buckets);
                forced_any |= forced;
                *slot = Some(r);
            }
            if forced_any {
                let name = gr
                    .members
                    .first()
                    .and_then(|&(_, k)| v[k].labels.metric_name())
                    .unwrap_or("");
                self.ann.info(format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}{vpos}"
                ));
            }
            if vals.iter().any(Option::is_some) {
                let labels = match extra {
                    Some((name, value)) => {
                        let mut b = gr.labels.to_builder();
                        b.set(name, value);
                        b.build()
                    }
                    None => gr.labels.clone(),
                };
                out.push(VSeries {
                    labels,
                    drop_name: true,
                    vals,
                });
            }
        }
        out
    }

    pub(crate) fn histogram_fraction(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let [lo, hi, v_expr] = c.args.args.as_slice() else {
            return Err(Error::exec("histogram_fraction needs 3 arguments"));
        };
        let lo = self.eval_scalar(lo, g)?;
        let hi = self.eval_scalar(hi, g)?;
        let v = self.eval_vector(v_expr, g)?;
        let vpos = self.pos(v_expr);
        let groups = self.bucket_groups(&v, &vpos);
        let mut out = Vec::with_capacity(groups.len());
        for gr in groups {
            let mut vals = vec![None; g.len()];
            for (i, slot) in vals.iter_mut().enumerate() {
                let buckets: Vec<Bucket> = gr
                    .members
                    .iter()
                    .filter_map(|&(upper, k)| v[k].vals[i].map(|count| Bucket { upper, count }))
                    .collect();
                if !buckets.is_empty() {
                    *slot = Some(bucket_fraction(lo[i], hi[i], buckets));
                }
            }
            if vals.iter().any(Option::is_some) {
                out.push(VSeries {
                    labels: gr.labels,
                    drop_name: true,
                    vals,
                });
            }
        }
        Ok(Val::Vector(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(upper: f64, count: f64) -> Bucket {
        Bucket { upper, count }
    }

    #[test]
    fn quantile_interpolates_within_bucket() {
        let buckets = vec![b(1.0, 10.0), b(2.0, 20.0), b(f64::INFINITY, 20.0)];
        let (v, forced) = bucket_quantile(0.75, buckets);
        assert!((v - 1.5).abs() < 1e-12 && !forced, "{v}");
    }

    #[test]
    fn quantile_needs_inf_bucket_and_reports_forced_monotonicity() {
        assert!(bucket_quantile(0.5, vec![b(1.0, 1.0)]).0.is_nan());
        let (_, forced) =
            bucket_quantile(0.5, vec![b(1.0, 5.0), b(2.0, 3.0), b(f64::INFINITY, 6.0)]);
        assert!(forced);
    }
}
