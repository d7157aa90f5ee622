//! Aggregation operators, grouped once per series and computed per step.

use std::collections::HashMap;

use cairn_model::{Labels, METRIC_NAME};
use promql_parser::parser::token;
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::{Evaluator, Grid, VSeries, Val};
use crate::error::{Error, Result};

/// Kahan-Neumaier summation step, as Prometheus sums.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

pub(crate) fn kahan_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in values {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// Prometheus' mean: a Kahan sum divided at the end, switching to an incremental mean when
/// the sum overflows.
pub(crate) fn mean(values: &[f64]) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    let mut mean = 0.0f64;
    let mut incremental = false;
    let mut count = 0.0f64;
    for &f in values {
        count += 1.0;
        if count == 1.0 {
            (sum, mean) = (f, f);
            continue;
        }
        if !incremental {
            let (ns, nc) = kahan_inc(f, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        if mean.is_infinite() {
            if f.is_infinite() && (mean > 0.0) == (f > 0.0) {
                continue;
            }
            if !f.is_infinite() && !f.is_nan() {
                continue;
            }
        }
        let current = mean + c;
        (mean, c) = kahan_inc(f / count - current / count, mean, c);
    }
    if incremental {
        mean + c
    } else {
        (sum + c) / count
    }
}

/// `avg_over_time`'s mean, which differs from the aggregation's in its overflow path.
pub(crate) fn mean_over_time(values: &[f64]) -> f64 {
    let Some((&first, rest)) = values.split_first() else {
        return f64::NAN;
    };
    let (mut sum, mut count) = (first, 1.0f64);
    let (mut mean, mut c) = (0.0f64, 0.0f64);
    let mut incremental = false;
    for &f in rest {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(f, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(f / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Variance with Welford's method and compensated sums.
pub(crate) fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut cm) = (0.0f64, 0.0f64, 0.0f64);
    let (mut acc, mut ca) = (0.0f64, 0.0f64);
    for &f in values {
        count += 1.0;
        let delta = f - (mean + cm);
        (mean, cm) = kahan_inc(delta / count, mean, cm);
        (acc, ca) = kahan_inc(delta * (f - (mean + cm)), acc, ca);
    }
    (acc + ca) / count
}

/// Prometheus' quantile over unsorted values (NaN sorts first).
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn format_value(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{f}")
    }
}

pub(crate) fn grouping_labels(l: &Labels, m: Option<&LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(by)) => l.without(|n| !by.labels.iter().any(|x| x == n)),
        Some(LabelModifier::Exclude(w)) => {
            l.without(|n| n == METRIC_NAME || w.labels.iter().any(|x| x == n))
        }
    }
}

impl Evaluator<'_> {
    pub(crate) fn aggregate(&mut self, a: &AggregateExpr, g: &Grid) -> Result<Val> {
        let op = a.op.id();
        let n = g.len();
        enum Param {
            None,
            Scalar(Vec<f64>),
            Str(String),
        }
        let param = match &a.param {
            None => Param::None,
            Some(p) => match self.eval(p, g)? {
                Val::Scalar(v) => Param::Scalar(v),
                Val::Str(s) => Param::Str(s),
                other => {
                    return Err(Error::exec(format!(
                        "expected scalar or string aggregation parameter, got {}",
                        other.type_name()
                    )));
                }
            },
        };
        let input = self.eval_vector(&a.expr, g)?;
        let modifier = a.modifier.as_ref();

        // Groups in order of first appearance, like Prometheus' output order.
        let mut group_of: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
        for (k, s) in input.iter().enumerate() {
            let key = grouping_labels(&s.labels, modifier);
            let gi = *group_of.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[gi].1.push(k);
        }

        match op {
            token::T_TOPK | token::T_BOTTOMK | token::T_LIMITK | token::T_LIMIT_RATIO => {
                let Param::Scalar(k) = param else {
                    return Err(Error::exec("expected a scalar parameter"));
                };
                return self.select_k(op, &k, input, &groups, n).map(Val::Vector);
            }
            token::T_COUNT_VALUES => {
                let Param::Str(label) = param else {
                    return Err(Error::exec("expected a string parameter for count_values"));
                };
                return count_values(&label, &input, &groups, n).map(Val::Vector);
            }
            _ => {}
        }
        let bad_q = match &param {
            Param::Scalar(q) if op == token::T_QUANTILE => {
                q.iter().copied().find(|q| !(0.0..=1.0).contains(q))
            }
            _ => None,
        };
        if let Some(bad) = bad_q {
            let pos = a.param.as_ref().map(|p| self.pos(p)).unwrap_or_default();
            self.ann.warn(format!(
                "quantile value should be between 0 and 1, got {}{pos}",
                format_value(bad)
            ));
        }

        let mut out = Vec::with_capacity(groups.len());
        let mut buf = Vec::new();
        for (key, members) in &groups {
            let mut vals = vec![None; n];
            for (i, slot) in vals.iter_mut().enumerate() {
                buf.clear();
                buf.extend(members.iter().filter_map(|&k| input[k].vals[i]));
                if buf.is_empty() {
                    continue;
                }
                *slot = Some(match op {
                    token::T_SUM => kahan_sum(buf.iter().copied()),
                    token::T_AVG => mean(&buf),
                    token::T_COUNT => buf.len() as f64,
                    token::T_GROUP => 1.0,
                    token::T_MIN => buf
                        .iter()
                        .copied()
                        .fold(f64::NAN, |m, v| if m > v || m.is_nan() { v } else { m }),
                    token::T_MAX => buf
                        .iter()
                        .copied()
                        .fold(f64::NAN, |m, v| if m < v || m.is_nan() { v } else { m }),
                    token::T_STDDEV => variance(&buf).sqrt(),
                    token::T_STDVAR => variance(&buf),
                    token::T_QUANTILE => {
                        let q = match &param {
                            Param::Scalar(q) => q[i],
                            _ => f64::NAN,
                        };
                        quantile(q, &mut buf)
                    }
                    other => {
                        return Err(Error::exec(format!(
                            "unsupported aggregation operator {:?}",
                            other
                        )));
                    }
                });
            }
            let drop_name =
                key.get(METRIC_NAME).is_some() && members.iter().any(|&k| input[k].drop_name);
            out.push(VSeries {
                labels: key.clone(),
                drop_name,
                vals,
            });
        }
        Ok(Val::Vector(out))
    }

    fn select_k(
        &mut self,
        op: u16,
        k: &[f64],
        input: Vec<VSeries>,
        groups: &[(Labels, Vec<usize>)],
        n: usize,
    ) -> Result<Vec<VSeries>> {
        let mut keep = vec![vec![false; n]; input.len()];
        // Output order for instant queries: per group, in the order the operator ranks them.
        let mut order: Vec<usize> = Vec::new();
        for i in 0..n {
            let p = k[i];
            if p.is_nan() {
                return Err(Error::exec(if op == token::T_LIMIT_RATIO {
                    "Ratio value is NaN"
                } else {
                    "Parameter value is NaN"
                }));
            }
            for (_, members) in groups {
                let mut present: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&m| input[m].vals[i].is_some())
                    .collect();
                match op {
                    token::T_LIMIT_RATIO => {
                        let r = p.clamp(-1.0, 1.0);
                        present.retain(|&m| {
                            let x = ratio_position(&input[m].labels);
                            if r >= 0.0 { x < r } else { x >= 1.0 + r }
                        });
                    }
                    _ => {
                        let kk = if p >= 9.2e18 {
                            usize::MAX
                        } else if p < 1.0 {
                            0
                        } else {
                            p as usize
                        };
                        let val = |m: usize| input[m].vals[i].unwrap_or(f64::NAN);
                        if op == token::T_TOPK {
                            present.sort_by(|&a, &b| cmp_nan_last(val(b), val(a), true));
                        } else if op == token::T_BOTTOMK {
                            present.sort_by(|&a, &b| cmp_nan_last(val(a), val(b), false));
                        }
                        present.truncate(kk);
                    }
                }
                for &m in &present {
                    keep[m][i] = true;
                    if i == 0 {
                        order.push(m);
                    }
                }
            }
        }
        if p_is_ratio(op) && k.iter().any(|r| !(-1.0..=1.0).contains(r)) {
            self.ann.warn(format!(
                "ratio value should be between -1 and 1, got {}",
                format_value(
                    *k.iter()
                        .find(|r| !(-1.0..=1.0).contains(*r))
                        .unwrap_or(&0.0)
                )
            ));
        }
        let mut slots: Vec<Option<VSeries>> = input.into_iter().map(Some).collect();
        let mut out = Vec::new();
        let rest: Vec<usize> = (0..slots.len()).filter(|m| !order.contains(m)).collect();
        for m in order.into_iter().chain(rest) {
            let Some(mut s) = slots[m].take() else {
                continue;
            };
            for (i, v) in s.vals.iter_mut().enumerate() {
                if !keep[m][i] {
                    *v = None;
                }
            }
            if s.vals.iter().any(Option::is_some) {
                out.push(s);
            }
        }
        Ok(out)
    }
}

fn p_is_ratio(op: u16) -> bool {
    op == token::T_LIMIT_RATIO
}

/// Ascending (or descending for `desc`, given swapped arguments) with NaN always last.
fn cmp_nan_last(a: f64, b: f64, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if desc {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if desc {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A stable position in `[0, 1)` per label set, the sampling key of `limit_ratio`.
fn ratio_position(l: &Labels) -> f64 {
    (l.id().0 as f64) / (u64::MAX as f64 + 1.0)
}

fn count_values(
    label: &str,
    input: &[VSeries],
    groups: &[(Labels, Vec<usize>)],
    n: usize,
) -> Result<Vec<VSeries>> {
    if label.is_empty() {
        return Err(Error::exec(format!("invalid label name {label:?}")));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<VSeries> = Vec::new();
    for (key, members) in groups {
        for i in 0..n {
            for &m in members {
                let Some(v) = input[m].vals[i] else { continue };
                let mut b = key.to_builder();
                b.set(label, &format_value(v));
                let labels = b.build();
                let idx = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(VSeries {
                        labels,
                        drop_name: false,
                        vals: vec![None; n],
                    });
                    out.len() - 1
                });
                let slot = &mut out[idx].vals[i];
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
    }
    Ok(out)
}
