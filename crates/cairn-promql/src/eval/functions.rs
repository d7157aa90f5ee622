//! Function calls: dispatch, element-wise math, time functions, `vector`/`scalar`/`absent`,
//! sorting. Range-vector functions live in `range_functions`, histograms in `histogram`.

use cairn_model::{Labels, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr, VectorSelector};

use super::gotime::time_part;
use super::{Evaluator, Grid, VSeries, Val};
use crate::error::{Error, Result};

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Labels `absent` reports: the equality matchers of a plain selector, minus names that are
/// matched more than once.
fn absent_labels(e: &Expr) -> Labels {
    let vs: &VectorSelector = match unwrap_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let ms = &vs.matchers.matchers;
    let mut b = cairn_model::LabelsBuilder::default();
    for m in ms {
        if m.name == METRIC_NAME || !matches!(m.op, MatchOp::Equal) {
            continue;
        }
        if ms.iter().filter(|x| x.name == m.name).count() > 1 {
            continue;
        }
        b.set(&m.name, &m.value);
    }
    b.build()
}

fn math(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

impl Evaluator<'_> {
    fn arg<'e>(&self, c: &'e Call, i: usize) -> Result<&'e Expr> {
        c.args
            .args
            .get(i)
            .map(|b| b.as_ref())
            .ok_or_else(|| Error::exec(format!("missing argument {} of {}", i + 1, c.func.name)))
    }

    pub(crate) fn call(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let name = c.func.name;
        let n = g.len();
        if let Some(f) = math(name) {
            let mut v = self.eval_vector(self.arg(c, 0)?, g)?;
            for s in &mut v {
                s.drop_name = true;
                for x in s.vals.iter_mut().flatten() {
                    *x = f(*x);
                }
            }
            return Ok(Val::Vector(v));
        }
        match name {
            "time" => Ok(Val::Scalar(
                (0..n).map(|i| g.time(i) as f64 / 1000.0).collect(),
            )),
            "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            "vector" => {
                let v = self.eval_scalar(self.arg(c, 0)?, g)?;
                Ok(Val::Vector(vec![VSeries {
                    labels: Labels::empty(),
                    drop_name: false,
                    vals: v.into_iter().map(Some).collect(),
                }]))
            }
            "scalar" => {
                let v = self.eval_vector(self.arg(c, 0)?, g)?;
                Ok(Val::Scalar(
                    (0..n)
                        .map(|i| {
                            let mut it = v.iter().filter_map(|s| s.vals[i]);
                            match (it.next(), it.next()) {
                                (Some(x), None) => x,
                                _ => f64::NAN,
                            }
                        })
                        .collect(),
                ))
            }
            "timestamp" => {
                let arg = self.arg(c, 0)?;
                let mut v = match unwrap_parens(arg) {
                    Expr::VectorSelector(vs) => self.instant_selector(vs, g, true)?,
                    _ => {
                        let mut v = self.eval_vector(arg, g)?;
                        for s in &mut v {
                            for (i, x) in s.vals.iter_mut().enumerate() {
                                if x.is_some() {
                                    *x = Some(g.time(i) as f64 / 1000.0);
                                }
                            }
                        }
                        v
                    }
                };
                for s in &mut v {
                    s.drop_name = true;
                }
                Ok(Val::Vector(v))
            }
            "absent" => {
                let arg = self.arg(c, 0)?;
                let v = self.eval_vector(arg, g)?;
                Ok(Val::Vector(absent_result(
                    absent_labels(arg),
                    (0..n).map(|i| v.iter().any(|s| s.vals[i].is_some())),
                )))
            }
            "absent_over_time" => {
                let arg = self.arg(c, 0)?;
                let m = match self.eval(arg, g)? {
                    Val::Matrix(m) => m,
                    other => {
                        return Err(Error::exec(format!(
                            "expected range vector, got {}",
                            other.type_name()
                        )));
                    }
                };
                let present: Vec<bool> = (0..n)
                    .map(|i| m.series.iter().any(|s| !m.window(&s.samples, i).is_empty()))
                    .collect();
                Ok(Val::Vector(absent_result(absent_labels(arg), present)))
            }
            "round" => {
                let mut v = self.eval_vector(self.arg(c, 0)?, g)?;
                let to = match c.args.args.get(1) {
                    Some(e) => self.eval_scalar(e, g)?,
                    None => vec![1.0; n],
                };
                for s in &mut v {
                    s.drop_name = true;
                    for (x, &to) in s.vals.iter_mut().zip(&to) {
                        if let Some(x) = x {
                            let inv = 1.0 / to;
                            *x = (*x * inv + 0.5).floor() / inv;
                        }
                    }
                }
                Ok(Val::Vector(v))
            }
            "clamp" | "clamp_min" | "clamp_max" => {
                let mut v = self.eval_vector(self.arg(c, 0)?, g)?;
                let a = self.eval_scalar(self.arg(c, 1)?, g)?;
                let b = match name {
                    "clamp" => Some(self.eval_scalar(self.arg(c, 2)?, g)?),
                    _ => None,
                };
                for s in &mut v {
                    s.drop_name = true;
                    for (i, x) in s.vals.iter_mut().enumerate() {
                        let Some(val) = *x else { continue };
                        *x = match (name, &b) {
                            ("clamp", Some(b)) => {
                                let (lo, hi) = (a[i], b[i]);
                                if hi < lo {
                                    None
                                } else {
                                    Some(go_min(go_max(val, lo), hi))
                                }
                            }
                            ("clamp_min", _) => Some(go_max(val, a[i])),
                            _ => Some(go_min(val, a[i])),
                        };
                    }
                }
                v.retain(|s| s.vals.iter().any(Option::is_some));
                Ok(Val::Vector(v))
            }
            "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year"
            | "days_in_month" | "month" | "year" => {
                let mut v = match c.args.args.first() {
                    Some(e) => self.eval_vector(e, g)?,
                    None => vec![VSeries {
                        labels: Labels::empty(),
                        drop_name: false,
                        vals: (0..n).map(|i| Some(g.time(i) as f64 / 1000.0)).collect(),
                    }],
                };
                for s in &mut v {
                    s.drop_name = true;
                    for x in s.vals.iter_mut() {
                        *x = x.and_then(|t| time_part(name, t));
                    }
                }
                v.retain(|s| s.vals.iter().any(Option::is_some));
                Ok(Val::Vector(v))
            }
            "sort" | "sort_desc" => {
                if self.is_range_query {
                    let pos = self.pos(c);
                    self.ann.warn(format!(
                        "sort is ineffective for range queries since results are always ordered by labels{pos}"
                    ));
                }
                let mut v = self.eval_vector(self.arg(c, 0)?, g)?;
                let desc = name == "sort_desc";
                // NaN goes last in both directions, as in Prometheus: only the numbers swap.
                v.sort_by(|a, b| {
                    let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                        _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                    }
                });
                Ok(Val::Vector(v))
            }
            "sort_by_label" | "sort_by_label_desc" => {
                if self.is_range_query {
                    let pos = self.pos(c);
                    self.ann.warn(format!(
                        "sort is ineffective for range queries since results are always ordered by labels{pos}"
                    ));
                }
                let mut v = self.eval_vector(self.arg(c, 0)?, g)?;
                let mut names = Vec::new();
                for e in c.args.args.iter().skip(1) {
                    names.push(self.eval_string(e, g)?);
                }
                let desc = name == "sort_by_label_desc";
                v.sort_by(|a, b| {
                    for l in &names {
                        let (x, y) = (a.labels.get(l).unwrap_or(""), b.labels.get(l).unwrap_or(""));
                        let o = natural_cmp(x, y);
                        if o != std::cmp::Ordering::Equal {
                            return if desc { o.reverse() } else { o };
                        }
                    }
                    let o = a.labels.cmp(&b.labels);
                    if desc { o.reverse() } else { o }
                });
                Ok(Val::Vector(v))
            }
            "label_replace" => self.label_replace(c, g),
            "info" => self.info(c, g),
            "label_join" => self.label_join(c, g),
            "histogram_quantile" => self.histogram_quantile(c, g),
            "histogram_quantiles" => self.histogram_quantiles(c, g),
            "step" => Ok(Val::Scalar(vec![self.query_step as f64 / 1000.0; n])),
            "range" => Ok(Val::Scalar(vec![
                (self.query_end - self.query_start) as f64
                    / 1000.0;
                n
            ])),
            "start" => Ok(Val::Scalar(vec![self.query_start as f64 / 1000.0; n])),
            "end" => Ok(Val::Scalar(vec![self.query_end as f64 / 1000.0; n])),
            "min_of" | "max_of" => {
                let a = self.eval_scalar(self.arg(c, 0)?, g)?;
                let b = self.eval_scalar(self.arg(c, 1)?, g)?;
                let min = name == "min_of";
                Ok(Val::Scalar(
                    a.iter()
                        .zip(&b)
                        .map(|(&x, &y)| {
                            if x.is_nan() || y.is_nan() {
                                f64::NAN
                            } else if min {
                                x.min(y)
                            } else {
                                x.max(y)
                            }
                        })
                        .collect(),
                ))
            }
            "histogram_fraction" => self.histogram_fraction(c, g),
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                // These read native histograms only; float samples yield nothing.
                self.eval_vector(self.arg(c, 0)?, g)?;
                Ok(Val::Vector(Vec::new()))
            }
            _ => self.range_function(c, g),
        }
    }
}

fn absent_result(labels: Labels, present: impl IntoIterator<Item = bool>) -> Vec<VSeries> {
    let vals: Vec<Option<f64>> = present
        .into_iter()
        .map(|p| if p { None } else { Some(1.0) })
        .collect();
    if vals.iter().any(Option::is_some) {
        vec![VSeries {
            labels,
            drop_name: false,
            vals,
        }]
    } else {
        Vec::new()
    }
}

/// Go's `math.Max`: NaN wins, where Rust's `f64::max` ignores it.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins, where Rust's `f64::min` ignores it.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Compares strings with digit runs compared as numbers, as `sort_by_label` does.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta: &[u8] = {
                    let z = na.iter().take_while(|&&c| c == b'0').count();
                    &na[z.min(na.len().saturating_sub(1))..]
                };
                let tb: &[u8] = {
                    let z = nb.iter().take_while(|&&c| c == b'0').count();
                    &nb[z.min(nb.len().saturating_sub(1))..]
                };
                let o = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(
            time_part("day_of_year", 86_400.0 * 365.0 * 2.0 + 86_400.0 * 59.0),
            Some(60.0)
        );
        assert_eq!(
            time_part("days_in_month", 86_400.0 * (365.0 * 2.0 + 31.0)),
            Some(29.0)
        );
        assert_eq!(time_part("day_of_month", -1.0), Some(31.0));
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), std::cmp::Ordering::Greater);
    }
}
