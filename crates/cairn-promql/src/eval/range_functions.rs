//! Functions over range vectors: rate and friends, `*_over_time`, regression, smoothing.

use cairn_model::Sample;
use promql_parser::parser::{Call, Expr};

use super::aggregate::{format_value, kahan_inc, kahan_sum, mean_over_time, quantile, variance};
use super::{Evaluator, Grid, RangeVal, VSeries, Val};
use crate::error::{Error, Result};

/// Series between two checks for cancellation and timeout inside one range function.
const INTERRUPT_EVERY: usize = 256;

/// Prometheus' `extrapolatedRate` for `rate`, `increase` and `delta`.
fn extrapolated_rate(
    s: &[Sample],
    range_start: i64,
    range_end: i64,
    range: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.v - first.v;
    if counter {
        let mut prev = first.v;
        for x in &s[1..] {
            if x.v < prev {
                result += prev;
            }
            prev = x.v;
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / (s.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if rate {
        factor /= range as f64 / 1000.0;
    }
    Some(result * factor)
}

fn instant_delta(s: &[Sample], rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let last = s[s.len() - 1];
    let prev = s[s.len() - 2];
    let mut v = if rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept, x in seconds relative to `intercept_t`.
pub(crate) fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let init = s[0].v;
    let const_y = s.iter().all(|x| x.v == init);
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let n = s.len() as f64;
    let (mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    for p in s {
        let x = (p.t - intercept_t) as f64 / 1000.0;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn double_exponential_smoothing(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

/// The timestamp of the extreme sample; on ties the newest one wins.
fn ts_of_extreme(s: &[Sample], max: bool) -> Option<f64> {
    let mut best: Option<Sample> = None;
    for &p in s {
        best = Some(match best {
            None => p,
            Some(b) => {
                let better = if max { p.v >= b.v } else { p.v <= b.v };
                if better || b.v.is_nan() { p } else { b }
            }
        });
    }
    best.map(|b| b.t as f64 / 1000.0)
}

const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];

impl Evaluator<'_> {
    fn matrix_arg(&mut self, c: &Call, i: usize, g: &Grid) -> Result<RangeVal> {
        let e: &Expr = c
            .args
            .args
            .get(i)
            .ok_or_else(|| Error::exec(format!("missing argument of {}", c.func.name)))?;
        match self.eval(e, g)? {
            Val::Matrix(m) => Ok(m),
            other => Err(Error::exec(format!(
                "expected type range vector in call to function {:?}, got {}",
                c.func.name,
                other.type_name()
            ))),
        }
    }

    fn scalar_arg(&mut self, c: &Call, i: usize, g: &Grid) -> Result<Vec<f64>> {
        let e = c
            .args
            .args
            .get(i)
            .ok_or_else(|| Error::exec(format!("missing argument of {}", c.func.name)))?;
        self.eval_scalar(e, g)
    }

    pub(crate) fn range_function(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let name = c.func.name;
        let (matrix_pos, scalar_pos): (usize, Option<usize>) = match name {
            "quantile_over_time" => (1, Some(0)),
            "predict_linear" => (0, Some(1)),
            "double_exponential_smoothing" | "holt_winters" => (0, Some(1)),
            _ => (0, None),
        };
        let known = [
            "rate",
            "increase",
            "delta",
            "irate",
            "idelta",
            "deriv",
            "predict_linear",
            "changes",
            "resets",
            "avg_over_time",
            "sum_over_time",
            "count_over_time",
            "min_over_time",
            "max_over_time",
            "last_over_time",
            "first_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "quantile_over_time",
            "present_over_time",
            "mad_over_time",
            "ts_of_min_over_time",
            "ts_of_max_over_time",
            "ts_of_last_over_time",
            "ts_of_first_over_time",
            "double_exponential_smoothing",
            "holt_winters",
        ];
        if !known.contains(&name) {
            return Err(Error::exec(format!("function {name:?} is not supported")));
        }
        let param = match scalar_pos {
            Some(p) => Some(self.scalar_arg(c, p, g)?),
            None => None,
        };
        let param2 = if matches!(name, "double_exponential_smoothing" | "holt_winters") {
            Some(self.scalar_arg(c, 2, g)?)
        } else {
            None
        };
        let m = self.matrix_arg(c, matrix_pos, g)?;
        if matches!(name, "rate" | "increase") {
            self.counter_name_info(c, matrix_pos);
        }
        let bad_q = param
            .as_ref()
            .filter(|_| name == "quantile_over_time")
            .and_then(|p| p.iter().copied().find(|q| !(0.0..=1.0).contains(q)));
        if let Some(q) = bad_q {
            let pos = c.args.args.first().map(|a| self.pos(a)).unwrap_or_default();
            self.ann.warn(format!(
                "quantile value should be between 0 and 1, got {}{pos}",
                format_value(q)
            ));
        }
        if let (Some(sf), Some(tf)) = (&param, &param2) {
            if let Some(bad) = sf.iter().find(|x| !(**x > 0.0 && **x < 1.0)) {
                return Err(Error::exec(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {bad:.6}"
                )));
            }
            if let Some(bad) = tf.iter().find(|x| !(**x > 0.0 && **x < 1.0)) {
                return Err(Error::exec(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {bad:.6}"
                )));
            }
        }
        let keep_name = matches!(name, "last_over_time" | "first_over_time");
        let mut out = Vec::with_capacity(m.series.len());
        let mut buf: Vec<f64> = Vec::new();
        for (k, s) in m.series.iter().enumerate() {
            if k % INTERRUPT_EVERY == 0 {
                self.check_interrupt()?;
            }
            let mut any = false;
            let vals: Vec<Option<f64>> = (0..g.len())
                .map(|i| {
                    let w = m.window(&s.samples, i);
                    if w.is_empty() {
                        return None;
                    }
                    let end = m.ends[i];
                    let r =
                        match name {
                            "rate" => extrapolated_rate(w, end - m.range, end, m.range, true, true),
                            "increase" => {
                                extrapolated_rate(w, end - m.range, end, m.range, true, false)
                            }
                            "delta" => {
                                extrapolated_rate(w, end - m.range, end, m.range, false, false)
                            }
                            "irate" => instant_delta(w, true),
                            "idelta" => instant_delta(w, false),
                            "deriv" => (w.len() >= 2).then(|| linear_regression(w, w[0].t).0),
                            "predict_linear" => (w.len() >= 2).then(|| {
                                let ts = g.time(i);
                                let (slope, intercept) = linear_regression(w, ts);
                                let d = param.as_ref().map_or(0.0, |p| p[i]);
                                intercept + slope * d
                            }),
                            "changes" => Some(
                                w.windows(2)
                                    .filter(|p| {
                                        !(p[0].v == p[1].v || (p[0].v.is_nan() && p[1].v.is_nan()))
                                    })
                                    .count() as f64,
                            ),
                            "resets" => {
                                Some(w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64)
                            }
                            "avg_over_time" => {
                                buf.clear();
                                buf.extend(w.iter().map(|p| p.v));
                                Some(mean_over_time(&buf))
                            }
                            "sum_over_time" => Some(kahan_sum(w.iter().map(|p| p.v))),
                            "count_over_time" => Some(w.len() as f64),
                            "min_over_time" => Some(w.iter().fold(f64::NAN, |m, p| {
                                if p.v < m || m.is_nan() { p.v } else { m }
                            })),
                            "max_over_time" => Some(w.iter().fold(f64::NAN, |m, p| {
                                if p.v > m || m.is_nan() { p.v } else { m }
                            })),
                            "last_over_time" => Some(w[w.len() - 1].v),
                            "first_over_time" => Some(w[0].v),
                            "ts_of_last_over_time" => Some(w[w.len() - 1].t as f64 / 1000.0),
                            "ts_of_first_over_time" => Some(w[0].t as f64 / 1000.0),
                            "ts_of_max_over_time" => ts_of_extreme(w, true),
                            "ts_of_min_over_time" => ts_of_extreme(w, false),
                            "stddev_over_time" | "stdvar_over_time" => {
                                buf.clear();
                                buf.extend(w.iter().map(|p| p.v));
                                let v = variance(&buf);
                                Some(if name == "stddev_over_time" {
                                    v.sqrt()
                                } else {
                                    v
                                })
                            }
                            "quantile_over_time" => {
                                buf.clear();
                                buf.extend(w.iter().map(|p| p.v));
                                Some(quantile(
                                    param.as_ref().map_or(f64::NAN, |p| p[i]),
                                    &mut buf,
                                ))
                            }
                            "mad_over_time" if w.iter().any(|p| p.v.is_nan()) => Some(f64::NAN),
                            "mad_over_time" => {
                                buf.clear();
                                buf.extend(w.iter().map(|p| p.v));
                                let median = quantile(0.5, &mut buf);
                                let mut dev: Vec<f64> =
                                    buf.iter().map(|v| (v - median).abs()).collect();
                                Some(quantile(0.5, &mut dev))
                            }
                            "present_over_time" => Some(1.0),
                            _ => double_exponential_smoothing(
                                w,
                                param.as_ref().map_or(f64::NAN, |p| p[i]),
                                param2.as_ref().map_or(f64::NAN, |p| p[i]),
                            ),
                        };
                    any |= r.is_some();
                    r
                })
                .collect();
            if any {
                out.push(VSeries {
                    labels: s.labels.clone(),
                    drop_name: if keep_name { s.drop_name } else { true },
                    vals,
                });
            }
        }
        Ok(Val::Vector(out))
    }

    /// Prometheus' hint that `rate` and `increase` expect counters.
    fn counter_name_info(&mut self, c: &Call, pos: usize) {
        let Some(Expr::MatrixSelector(ms)) = c.args.args.get(pos).map(|b| b.as_ref()) else {
            return;
        };
        let Some(name) = ms.vs.name.as_deref().or_else(|| {
            ms.vs
                .matchers
                .matchers
                .iter()
                .find(|m| m.name == cairn_model::METRIC_NAME)
                .map(|m| m.value.as_str())
        }) else {
            return;
        };
        if !COUNTER_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            let pos = self.pos(ms);
            self.ann.info(format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}{pos}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // 0, 10, 20 at 0s, 10s, 20s in the window (-10s, 30s]: the end gap (10s) is within
        // 1.1 sample intervals so it is extrapolated in full; the start stops at the counter's
        // zero point (0s), so the increase is 20 * 30s / 20s.
        let s: Vec<Sample> = (0..3)
            .map(|i| Sample::new(i * 10_000, i as f64 * 10.0))
            .collect();
        let r = extrapolated_rate(&s, -10_000, 30_000, 40_000, true, false).unwrap();
        assert!((r - 30.0).abs() < 1e-9, "{r}");
        // A gap wider than 1.1 intervals (40s at the end) is extrapolated by half an interval
        // only: 20 * (20s + 10s + 5s) / 20s.
        let r = extrapolated_rate(&s, -10_000, 60_000, 70_000, false, false).unwrap();
        assert!((r - 35.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn regression_slope() {
        let s: Vec<Sample> = (0..5)
            .map(|i| Sample::new(i * 1000, 2.0 * i as f64))
            .collect();
        let (slope, intercept) = linear_regression(&s, 0);
        assert!((slope - 2.0).abs() < 1e-12 && intercept.abs() < 1e-12);
    }
}
