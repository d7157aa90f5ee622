//! Comparing two Prometheus query API answers under Prometheus' own rules: labels exact,
//! values within 1e-6 relative (NaN equals NaN), the same sample timestamps, and series order
//! only where the query defines one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::http::{self, urlencode};
use super::proto::LabelSet;

/// Prometheus' promqltest tolerance.
const EPSILON: f64 = 1e-6;

/// Whether `a` and `b` are equal under Prometheus' promqltest rule.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// One API answer, parsed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Answer {
    /// `"resultType":"scalar"`.
    Scalar(i64, f64),
    /// `"resultType":"string"`.
    Str(i64, String),
    /// `"resultType":"vector"`, in answer order.
    Vector(Vec<(LabelSet, i64, f64)>),
    /// `"resultType":"matrix"`, in answer order.
    Matrix(Vec<(LabelSet, Vec<(i64, f64)>)>),
    /// `"status":"error"`: the error type.
    Error(String),
}

fn parse_value(v: &serde_json::Value) -> Result<f64, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("value {v} is not a string"))?;
    Ok(match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().map_err(|e| format!("value {s:?}: {e}"))?,
    })
}

fn parse_point(p: &serde_json::Value) -> Result<(i64, f64), String> {
    let t = p[0]
        .as_f64()
        .ok_or_else(|| format!("bad timestamp in {p}"))?;
    Ok(((t * 1000.0).round() as i64, parse_value(&p[1])?))
}

fn parse_labels(v: &serde_json::Value) -> Result<LabelSet, String> {
    v.as_object()
        .ok_or_else(|| format!("labels {v} are not an object"))?
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_string())),
            None => Err(format!("label {k} has a non-string value {v}")),
        })
        .collect()
}

/// Parses a whole API body (`{"status":..., "data":...}`).
pub(crate) fn parse_answer(body: &serde_json::Value) -> Result<Answer, String> {
    if body["status"] == "error" {
        return Ok(Answer::Error(
            body["errorType"].as_str().unwrap_or("?").to_string(),
        ));
    }
    let data = &body["data"];
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => {
            let (t, v) = parse_point(result)?;
            Ok(Answer::Scalar(t, v))
        }
        Some("string") => Ok(Answer::Str(
            parse_point(&serde_json::json!([result[0], "0"]))?.0,
            result[1].as_str().unwrap_or_default().to_string(),
        )),
        Some("vector") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("vector result is not an array")? {
                let (t, v) = parse_point(&s["value"])?;
                out.push((parse_labels(&s["metric"])?, t, v));
            }
            Ok(Answer::Vector(out))
        }
        Some("matrix") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("matrix result is not an array")? {
                let points = s["values"]
                    .as_array()
                    .ok_or("matrix series without values")?
                    .iter()
                    .map(parse_point)
                    .collect::<Result<Vec<_>, _>>()?;
                out.push((parse_labels(&s["metric"])?, points));
            }
            Ok(Answer::Matrix(out))
        }
        other => Err(format!("unknown resultType {other:?} in {body}")),
    }
}

/// How to ask: `/api/v1/query` at a time, or `/api/v1/query_range`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Eval {
    /// An instant query at this time (ms).
    Instant(i64),
    /// A range query: start, end, step (ms).
    Range(i64, i64, i64),
}

/// `ms` as the decimal seconds the API takes.
pub(crate) fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl Eval {
    /// The path and query string of this evaluation of `expr`.
    pub(crate) fn path(&self, expr: &str) -> String {
        match *self {
            Eval::Instant(t) => format!("/api/v1/query?query={}&time={}", urlencode(expr), secs(t)),
            Eval::Range(s, e, step) => format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={}",
                urlencode(expr),
                secs(s),
                secs(e),
                secs(step)
            ),
        }
    }
}

/// Runs `expr` against the API at `url`.
pub(crate) fn ask(url: &str, expr: &str, eval: Eval) -> Result<Answer, String> {
    let path = eval.path(expr);
    let r = http::get(&format!("{url}{path}")).map_err(|e| format!("GET {path}: {e}"))?;
    let body: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("GET {path}: {} is not JSON ({e}): {}", r.status, r.text()))?;
    parse_answer(&body).map_err(|e| format!("GET {path}: {e}"))
}

fn fmt_labels(l: &LabelSet) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn fmt_points(p: &[(i64, f64)]) -> String {
    let inner: Vec<String> = p.iter().map(|(t, v)| format!("{v}@{t}")).collect();
    inner.join(" ")
}

fn points_equal(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
}

/// Compares `got` (Cairn) with `want` (Prometheus); `None` when they match, a readable diff
/// otherwise. `ordered`: the series order is part of the answer.
pub(crate) fn diff(got: &Answer, want: &Answer, ordered: bool) -> Option<String> {
    let mut out = String::new();
    match (got, want) {
        (Answer::Scalar(t1, v1), Answer::Scalar(t2, v2)) => {
            if t1 != t2 || !almost_equal(*v1, *v2) {
                let _ = writeln!(out, "  scalar: cairn {v1}@{t1}, prometheus {v2}@{t2}");
            }
        }
        (Answer::Str(t1, v1), Answer::Str(t2, v2)) => {
            if t1 != t2 || v1 != v2 {
                let _ = writeln!(out, "  string: cairn {v1:?}@{t1}, prometheus {v2:?}@{t2}");
            }
        }
        (Answer::Error(a), Answer::Error(b)) => {
            if a != b {
                let _ = writeln!(out, "  error type: cairn {a}, prometheus {b}");
            }
        }
        (Answer::Vector(a), Answer::Vector(b)) => {
            let a: Vec<(LabelSet, Vec<(i64, f64)>)> = a
                .iter()
                .map(|(l, t, v)| (l.clone(), vec![(*t, *v)]))
                .collect();
            let b: Vec<(LabelSet, Vec<(i64, f64)>)> = b
                .iter()
                .map(|(l, t, v)| (l.clone(), vec![(*t, *v)]))
                .collect();
            series_diff(&mut out, &a, &b, ordered);
        }
        (Answer::Matrix(a), Answer::Matrix(b)) => series_diff(&mut out, a, b, ordered),
        _ => {
            let _ = writeln!(
                out,
                "  result kinds differ:\n    cairn:      {got:?}\n    prometheus: {want:?}"
            );
        }
    }
    (!out.is_empty()).then_some(out)
}

type SeriesList = [(LabelSet, Vec<(i64, f64)>)];

fn series_diff(out: &mut String, got: &SeriesList, want: &SeriesList, ordered: bool) {
    let g: BTreeMap<&LabelSet, &Vec<(i64, f64)>> = got.iter().map(|(l, p)| (l, p)).collect();
    let w: BTreeMap<&LabelSet, &Vec<(i64, f64)>> = want.iter().map(|(l, p)| (l, p)).collect();
    if g.len() != got.len() {
        let _ = writeln!(out, "  cairn answered a label set twice");
    }
    for (l, p) in &w {
        match g.get(l) {
            None => {
                let _ = writeln!(
                    out,
                    "  only prometheus: {} {}",
                    fmt_labels(l),
                    fmt_points(p)
                );
            }
            Some(q) if !points_equal(q, p) => {
                let _ = writeln!(
                    out,
                    "  differ {}:\n    cairn:      {}\n    prometheus: {}",
                    fmt_labels(l),
                    fmt_points(q),
                    fmt_points(p)
                );
            }
            Some(_) => {}
        }
    }
    for (l, p) in &g {
        if !w.contains_key(l) {
            let _ = writeln!(out, "  only cairn: {} {}", fmt_labels(l), fmt_points(p));
        }
    }
    if ordered && out.is_empty() {
        let a: Vec<&LabelSet> = got.iter().map(|(l, _)| l).collect();
        let b: Vec<&LabelSet> = want.iter().map(|(l, _)| l).collect();
        if a != b {
            let _ = writeln!(
                out,
                "  order differs:\n    cairn:      {}\n    prometheus: {}",
                a.iter()
                    .map(|l| fmt_labels(l))
                    .collect::<Vec<_>>()
                    .join(" "),
                b.iter()
                    .map(|l| fmt_labels(l))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
}
