//! The step-wise part of metric queries: vector aggregations, binary operators (with Loki's
//! matching rules and its division by zero giving NaN), `label_replace` and literals.

use std::collections::HashMap;

use cairn_model::Labels;

use super::Steps;
use crate::error::{Error, Result};
use crate::labels;
use crate::syntax::{BinOp, BinOpExpr, Card, LabelReplace, SampleExpr, VectorAgg, VectorOp};

/// Evaluates `e` at every step, taking range aggregation results from `ranges` in the order
/// [`super::collect`] listed them.
pub(crate) fn eval(
    e: &SampleExpr,
    steps: &[i64],
    ranges: &mut impl Iterator<Item = Steps>,
) -> Result<Steps> {
    match e {
        SampleExpr::Range(_) => next_range(ranges),
        SampleExpr::Vector(v) => {
            let inner = match &*v.inner {
                SampleExpr::Range(_) => next_range(ranges)?,
                other => eval(other, steps, ranges)?,
            };
            Ok(inner.into_iter().map(|vec| aggregate(v, vec)).collect())
        }
        SampleExpr::BinOp(b) => binop(b, steps, ranges),
        SampleExpr::LabelReplace(l) => {
            let inner = eval(&l.inner, steps, ranges)?;
            Ok(inner
                .into_iter()
                .map(|vec| {
                    vec.into_iter()
                        .map(|(ls, v)| (label_replace(l, &ls), v))
                        .collect()
                })
                .collect())
        }
        SampleExpr::VectorLit(v) => Ok(steps.iter().map(|_| vec![(Labels::empty(), *v)]).collect()),
        SampleExpr::Literal(v) => Ok(steps.iter().map(|_| vec![(Labels::empty(), *v)]).collect()),
    }
}

fn next_range(ranges: &mut impl Iterator<Item = Steps>) -> Result<Steps> {
    ranges
        .next()
        .ok_or_else(|| Error::Internal("range aggregation results out of step".into()))
}

/// The labels a vector aggregation groups by.
fn group_labels(l: &Labels, g: &crate::syntax::Grouping) -> Labels {
    if g.without {
        labels::without(l, |n| {
            n == cairn_model::METRIC_NAME || g.labels.iter().any(|x| x == n)
        })
    } else {
        labels::without(l, |n| !g.labels.iter().any(|x| x == n))
    }
}

/// Go's `vectorByValueHeap` order: NaN sorts lowest.
fn less_nan_first(a: f64, b: f64) -> bool {
    if a.is_nan() {
        return !b.is_nan();
    }
    a < b
}

/// One step of a vector aggregation, as Loki's `VectorAggEvaluator`.
fn aggregate(v: &VectorAgg, vec: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let k = v.param;
    if matches!(
        v.op,
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk
    ) && k < 1
    {
        return Vec::new();
    }
    struct Group {
        labels: Labels,
        value: f64,
        mean: f64,
        count: usize,
        members: Vec<(Labels, f64)>,
    }
    let mut order: Vec<Group> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (l, x) in vec {
        let key = group_labels(&l, &v.grouping);
        let gi = match index.get(&key) {
            Some(i) => *i,
            None => {
                order.push(Group {
                    labels: key.clone(),
                    value: if matches!(v.op, VectorOp::Stddev | VectorOp::Stdvar) {
                        0.0
                    } else {
                        x
                    },
                    mean: x,
                    count: 1,
                    members: vec![(l, x)],
                });
                index.insert(key, order.len() - 1);
                continue;
            }
        };
        let g = &mut order[gi];
        match v.op {
            VectorOp::Sum => g.value += x,
            VectorOp::Avg => {
                g.count += 1;
                if g.mean.is_infinite() {
                    if x.is_infinite() && (g.mean > 0.0) == (x > 0.0) {
                        continue;
                    }
                    if !x.is_infinite() && !x.is_nan() {
                        continue;
                    }
                }
                g.mean += (x - g.mean) / g.count as f64;
            }
            VectorOp::Max => {
                if g.value < x || g.value.is_nan() {
                    g.value = x;
                }
            }
            VectorOp::Min => {
                if g.value > x || g.value.is_nan() {
                    g.value = x;
                }
            }
            VectorOp::Count => g.count += 1,
            VectorOp::Stddev | VectorOp::Stdvar => {
                g.count += 1;
                let delta = x - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (x - g.mean);
            }
            VectorOp::Topk
            | VectorOp::ApproxTopk
            | VectorOp::Bottomk
            | VectorOp::Sort
            | VectorOp::SortDesc => g.members.push((l, x)),
        }
    }
    let mut out = Vec::new();
    for g in order {
        let value = match v.op {
            VectorOp::Avg => g.mean,
            VectorOp::Count => g.count as f64,
            VectorOp::Stddev => (g.value / g.count as f64).sqrt(),
            VectorOp::Stdvar => g.value / g.count as f64,
            VectorOp::Topk | VectorOp::ApproxTopk | VectorOp::SortDesc => {
                let mut m = g.members;
                // Descending by value, NaN last.
                m.sort_by(|a, b| order_of(less_nan_first(b.1, a.1), less_nan_first(a.1, b.1)));
                if v.op != VectorOp::SortDesc {
                    m.truncate(k.max(0) as usize);
                }
                out.extend(m);
                continue;
            }
            VectorOp::Bottomk | VectorOp::Sort => {
                let mut m = g.members;
                // Ascending by value, NaN last.
                m.sort_by(|a, b| order_of(less_nan_last(a.1, b.1), less_nan_last(b.1, a.1)));
                if v.op == VectorOp::Bottomk {
                    m.truncate(k.max(0) as usize);
                }
                out.extend(m);
                continue;
            }
            _ => g.value,
        };
        out.push((g.labels, value));
    }
    out
}

fn less_nan_last(a: f64, b: f64) -> bool {
    if b.is_nan() {
        return !a.is_nan();
    }
    a < b
}

fn order_of(less: bool, greater: bool) -> std::cmp::Ordering {
    if less {
        std::cmp::Ordering::Less
    } else if greater {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

fn label_replace(l: &LabelReplace, ls: &Labels) -> Labels {
    let src = ls.get(&l.src).unwrap_or("");
    let Some(caps) = l.re.captures(src) else {
        return ls.clone();
    };
    let mut res = String::new();
    caps.expand(&l.replacement, &mut res);
    let mut pairs: Vec<(&str, &str)> = ls
        .iter()
        .filter(|x| x.name != l.dst)
        .map(|x| (x.name, x.value))
        .collect();
    if !res.is_empty() {
        pairs.push((&l.dst, &res));
    }
    labels::from_pairs(pairs)
}

/// Loki's `MergeBinOp` for two values; `None` when a comparison filters the sample out.
fn merge(op: BinOp, l: f64, r: f64, filter: bool) -> Option<f64> {
    let cmp = |t: bool| {
        if t {
            Some(1.0)
        } else if filter {
            None
        } else {
            Some(0.0)
        }
    };
    match op {
        BinOp::Add => Some(l + r),
        BinOp::Sub => Some(l - r),
        BinOp::Mul => Some(l * r),
        BinOp::Div => Some(if r == 0.0 { f64::NAN } else { l / r }),
        BinOp::Mod => Some(if r == 0.0 { f64::NAN } else { l % r }),
        BinOp::Pow => Some(l.powf(r)),
        BinOp::Eq => cmp(l == r),
        BinOp::Ne => cmp(l != r),
        BinOp::Gt => cmp(l > r),
        BinOp::Ge => cmp(l >= r),
        BinOp::Lt => cmp(l < r),
        BinOp::Le => cmp(l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => None,
    }
}

fn binop(b: &BinOpExpr, steps: &[i64], ranges: &mut impl Iterator<Item = Steps>) -> Result<Steps> {
    let filter = !b.return_bool;
    let cmp = b.op.is_comparison();
    // A literal leg applies to every sample of the other, whose labels the result keeps.
    if let SampleExpr::Literal(lit) = &b.lhs {
        let rhs = eval(&b.rhs, steps, ranges)?;
        return Ok(rhs
            .into_iter()
            .map(|vec| {
                vec.into_iter()
                    .filter_map(|(l, x)| {
                        let m = merge(b.op, *lit, x, filter)?;
                        Some((l, if cmp && filter { x } else { m }))
                    })
                    .collect()
            })
            .collect());
    }
    if let SampleExpr::Literal(lit) = &b.rhs {
        let lhs = eval(&b.lhs, steps, ranges)?;
        return Ok(lhs
            .into_iter()
            .map(|vec| {
                vec.into_iter()
                    .filter_map(|(l, x)| {
                        let m = merge(b.op, x, *lit, filter)?;
                        Some((l, if cmp && filter { x } else { m }))
                    })
                    .collect()
            })
            .collect());
    }
    let lhs = eval(&b.lhs, steps, ranges)?;
    let rhs = eval(&b.rhs, steps, ranges)?;
    let mut out = Vec::with_capacity(lhs.len());
    for (l, r) in lhs.into_iter().zip(rhs) {
        out.push(vector_binop(b, l, r)?);
    }
    Ok(out)
}

/// The matching signature of a sample's labels.
fn signature(l: &Labels, b: &BinOpExpr) -> Labels {
    let m = &b.matching;
    let names = m.labels.as_deref().unwrap_or(&[]);
    if m.on {
        labels::without(l, |n| !names.iter().any(|x| x == n))
    } else {
        labels::without(l, |n| names.iter().any(|x| x == n))
    }
}

/// Loki's `resultMetric`.
fn result_labels(lhs: &Labels, rhs: &Labels, b: &BinOpExpr) -> Labels {
    let m = &b.matching;
    let names = m.labels.as_deref().unwrap_or(&[]);
    let mut pairs: Vec<(String, String)> = if m.card == Card::OneToOne {
        if m.on {
            labels::to_pairs(&labels::without(lhs, |n| !names.iter().any(|x| x == n)))
        } else {
            labels::to_pairs(&labels::without(lhs, |n| names.iter().any(|x| x == n)))
        }
    } else {
        labels::to_pairs(lhs)
    };
    for inc in m.include.as_deref().unwrap_or(&[]) {
        pairs.retain(|(n, _)| n != inc);
        if let Some(v) = rhs.get(inc)
            && !v.is_empty()
        {
            pairs.push((inc.clone(), v.to_owned()));
        }
    }
    labels::from_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
}

fn vector_binop(
    b: &BinOpExpr,
    lhs: Vec<(Labels, f64)>,
    rhs: Vec<(Labels, f64)>,
) -> Result<Vec<(Labels, f64)>> {
    let lsig: Vec<Labels> = lhs.iter().map(|(l, _)| signature(l, b)).collect();
    let rsig: Vec<Labels> = rhs.iter().map(|(l, _)| signature(l, b)).collect();
    match b.op {
        BinOp::And => {
            if lhs.is_empty() || rhs.is_empty() {
                return Ok(Vec::new());
            }
            let right: std::collections::HashSet<&Labels> = rsig.iter().collect();
            return Ok(lhs
                .into_iter()
                .zip(&lsig)
                .filter(|(_, s)| right.contains(s))
                .map(|(x, _)| x)
                .collect());
        }
        BinOp::Or => {
            if lhs.is_empty() {
                return Ok(rhs);
            }
            if rhs.is_empty() {
                return Ok(lhs);
            }
            let left: std::collections::HashSet<&Labels> = lsig.iter().collect();
            let mut out: Vec<(Labels, f64)> = Vec::new();
            let extra: Vec<(Labels, f64)> = rhs
                .into_iter()
                .zip(&rsig)
                .filter(|(_, s)| !left.contains(s))
                .map(|(x, _)| x)
                .collect();
            out.extend(lhs);
            out.extend(extra);
            return Ok(out);
        }
        BinOp::Unless => {
            if lhs.is_empty() || rhs.is_empty() {
                return Ok(lhs);
            }
            let right: std::collections::HashSet<&Labels> = rsig.iter().collect();
            return Ok(lhs
                .into_iter()
                .zip(&lsig)
                .filter(|(_, s)| !right.contains(s))
                .map(|(x, _)| x)
                .collect());
        }
        _ => {}
    }
    let one_to_many = b.matching.card == Card::OneToMany;
    let (many, one, msig, osig) = if one_to_many {
        (rhs, lhs, rsig, lsig)
    } else {
        (lhs, rhs, lsig, rsig)
    };
    let mut right: HashMap<&Labels, usize> = HashMap::new();
    for (i, s) in osig.iter().enumerate() {
        if right.insert(s, i).is_some() {
            let side = if one_to_many { "left" } else { "right" };
            return Err(Error::Execution(format!(
                "found duplicate series on the {side} hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
            )));
        }
    }
    let mut matched: HashMap<&Labels, Vec<Labels>> = HashMap::new();
    let filter = !b.return_bool;
    let cmp = b.op.is_comparison();
    let mut out = Vec::new();
    for (i, (ml, mv)) in many.iter().enumerate() {
        let sig = &msig[i];
        let Some(&j) = right.get(sig) else { continue };
        let (ol, ov) = &one[j];
        let metric = result_labels(ml, ol, b);
        match matched.get_mut(sig) {
            Some(seen) => {
                if b.matching.card == Card::OneToOne {
                    return Err(Error::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                    ));
                }
                if seen.contains(&metric) {
                    return Err(Error::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                            .into(),
                    ));
                }
                seen.push(metric.clone());
            }
            None => {
                matched.insert(sig, vec![metric.clone()]);
            }
        }
        let (lv, rv) = if one_to_many { (*ov, *mv) } else { (*mv, *ov) };
        let Some(m) = merge(b.op, lv, rv, filter) else {
            continue;
        };
        out.push((metric, if cmp && filter { lv } else { m }));
    }
    Ok(out)
}
