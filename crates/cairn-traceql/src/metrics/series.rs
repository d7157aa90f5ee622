//! Series as they come out: the `/api/metrics/query_range` answer, Prometheus-style label
//! text, the second stages (`topk`, `bottomk`, filters), arithmetic between series, and
//! quantiles from log2 buckets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::eval::Value;
use crate::search::KeyValue;
use crate::{BinaryOp, SecondStage};

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
    /// Spans that stand for the series at some times, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<Exemplar>,
}

/// A span standing for a series at a time (`tempopb.Exemplar`): labels `trace:id` and
/// `span:id`, the span's value (its duration in seconds, or the series' value for counts).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    /// The span's ids.
    #[serde(default)]
    pub labels: Vec<KeyValue>,
    /// The value (left out when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value: f64,
    /// The span's start, in milliseconds since the Unix epoch.
    #[serde(with = "i64_string")]
    pub timestamp_ms: i64,
}

/// One sample (`tempopb.Sample`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// When, in milliseconds since the Unix epoch (a string in JSON, as proto JSON prints
    /// 64-bit integers).
    #[serde(with = "i64_string")]
    pub timestamp_ms: i64,
    /// The value (left out when 0, as proto JSON leaves out zero values).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
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

pub(super) type Labels = Vec<(String, Value<'static>)>;

/// A series while it is computed: one value per step, NaN where there is none.
#[derive(Clone, Debug)]
pub(super) struct Series {
    pub(super) labels: Labels,
    pub(super) values: Vec<f64>,
    pub(super) exemplars: Vec<SeriesExemplar>,
}

/// An exemplar while series are computed: the step it falls in.
#[derive(Clone, Debug)]
pub(super) struct SeriesExemplar {
    pub(super) step: usize,
    pub(super) ts_ms: i64,
    pub(super) value: f64,
    pub(super) labels: Labels,
}

/// The labels that tell series apart: all but `__name__`.
fn identity(labels: &Labels) -> String {
    let rest: Labels = labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect();
    prom_labels(&rest)
}

/// `lhs op rhs` between series, as Tempo's `applyBinaryOp`: series meet by equal labels
/// (`__name__` aside); a side whose only series has no labels meets every series of the
/// other. Labels merge, and two names combine as `(a op b)`.
pub(super) fn math(op: BinaryOp, lhs: Vec<Series>, rhs: Vec<Series>) -> Vec<Series> {
    let unlabelled = identity(&Vec::new());
    let index = |set: &[Series]| -> HashMap<String, usize> {
        set.iter()
            .enumerate()
            .map(|(i, s)| (identity(&s.labels), i))
            .collect()
    };
    let (li, ri) = (index(&lhs), index(&rhs));
    let target = if ri.contains_key(&unlabelled) {
        &lhs
    } else {
        &rhs
    };
    let find = |ix: &HashMap<String, usize>, set: &[Series], key: &str| {
        ix.get(key)
            .or_else(|| ix.get(&unlabelled))
            .map(|&i| set[i].clone())
    };
    let mut out = Vec::new();
    for t in target {
        let key = identity(&t.labels);
        let (Some(l), Some(r)) = (find(&li, &lhs, &key), find(&ri, &rhs, &key)) else {
            continue;
        };
        let values = l
            .values
            .iter()
            .zip(&r.values)
            .map(|(x, y)| arith(op, *x, *y))
            .collect();
        let mut exemplars = l.exemplars.clone();
        exemplars.extend(r.exemplars.iter().cloned());
        exemplars.sort_by_key(|e| e.ts_ms);
        out.push(Series {
            labels: merge_labels(op, &l.labels, &r.labels),
            values,
            exemplars,
        });
    }
    out
}

fn merge_labels(op: BinaryOp, l: &Labels, r: &Labels) -> Labels {
    let mut out = l.clone();
    for (k, v) in r {
        if k != "__name__" && !l.iter().any(|(lk, _)| lk == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    let name = |ls: &Labels| {
        ls.iter().find_map(|(k, v)| match v {
            Value::Str(s) if k == "__name__" => Some(s.to_string()),
            _ => None,
        })
    };
    match (name(l), name(r)) {
        (Some(a), Some(b)) => {
            for (k, v) in &mut out {
                if k == "__name__" {
                    *v = Value::Str(format!("({a} {} {b})", op.symbol()).into());
                }
            }
        }
        _ => out.retain(|(k, _)| k != "__name__"),
    }
    out
}

pub(super) fn arith(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div if b == 0.0 => f64::NAN,
        BinaryOp::Div => a / b,
        _ => f64::NAN,
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

pub(super) fn apply_second(mut series: Vec<Series>, stages: &[SecondStage]) -> Vec<Series> {
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
pub(super) fn prom_labels(labels: &Labels) -> String {
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
    fn quantiles_interpolate_within_a_bucket() {
        // Tempo's engine_metrics_test: 1 sample each in buckets 1, 2, 4 -> p50 reads 2 whole.
        let b = [(1.0, 1), (2.0, 1), (4.0, 1)];
        assert_eq!(log2_quantile(0.5, &b), 2.0);
        assert_eq!(log2_quantile(1.0, &b), 4.0);
        // Half of the only bucket: between 2^(2-1) and 2^2 exponentially.
        assert!((log2_quantile(0.5, &[(4.0, 2)]) - 2f64.powf(1.5)).abs() < 1e-12);
        assert_eq!(log2_quantile(0.5, &[]), 0.0);
    }
}
