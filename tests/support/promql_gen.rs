//! Random PromQL expressions over the series of [`super::diff_target`], for the differential
//! test: nested functions, aggregations, subqueries and vector matching that no hand-written
//! list covers.
//!
//! The generator stays away from what Prometheus 2.42 and 3.x legitimately answer differently
//! or what is not defined at all: `rate` only over counters that start far from their zero
//! point, no `topk`/`bottomk` (ties may pick either series), no subtraction of two
//! aggregations (summation order makes a true zero come out as 1e-13 on one side), `deriv`
//! only over a series that is never constant (3.x returns exactly 0 there, 2.42 rounding),
//! subquery windows that never start on a step of their own grid, no `stddev`/`stdvar`
//! aggregation (a lone NaN or infinity gives NaN in 3.x, 0 in 2.42).

use super::Rng;

const COUNTERS: [&str; 4] = [
    "demo_requests_total",
    "demo_request_duration_seconds_count",
    "demo_rpc_latency_seconds_count",
    "demo_late_total",
];
const GAUGES: [&str; 7] = [
    "demo_weird",
    "demo_temperature_celsius",
    "demo_queue_depth",
    "demo_flappy",
    "up",
    "demo_rpc_latency_seconds",
    "demo_request_duration_seconds_sum",
];
const RANGES: [&str; 4] = ["5s", "10s", "30s", "1m"];
const GROUPINGS: [&str; 6] = [
    "",
    " by (job)",
    " by (instance)",
    " by (job, zone)",
    " without (instance)",
    " by ()",
];

fn pick<'a>(r: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[r.range(0, xs.len() as u64) as usize]
}

fn matcher(r: &mut Rng) -> &'static str {
    match r.range(0, 6) {
        0 => "{job=\"api\"}",
        1 => "{instance=~\".*[13579]\"}",
        2 => "{job!=\"db\"}",
        _ => "",
    }
}

fn offset(r: &mut Rng) -> &'static str {
    match r.range(0, 8) {
        0 => " offset 10s",
        1 => " offset 37s",
        _ => "",
    }
}

fn counter(r: &mut Rng) -> String {
    format!("{}{}", pick(r, &COUNTERS), matcher(r))
}

fn gauge(r: &mut Rng) -> String {
    format!("{}{}", pick(r, &GAUGES), matcher(r))
}

/// A random expression of instant-vector type, nested up to `depth`.
pub(crate) fn instant_vector(r: &mut Rng, depth: u32) -> String {
    if depth == 0 {
        return match r.range(0, 2) {
            0 => format!("{}{}", gauge(r), offset(r)),
            _ => format!("{}{}", counter(r), offset(r)),
        };
    }
    let d = depth - 1;
    match r.range(0, 20) {
        12 => format!(
            "histogram_quantile(0.{}, sum by (le{}) (rate(demo_request_duration_seconds_bucket{}[{}])))",
            r.range(1, 10),
            pick(r, &["", ", job", ", handler", ", instance"]),
            matcher(r),
            pick(r, &["10s", "30s", "1m"])
        ),
        13 => format!(
            "{} @ {}",
            instant_vector(r, 0),
            pick(r, &["start()", "end()"])
        ),
        14 => format!(
            "count_values{} (\"v\", round({}))",
            pick(r, &GROUPINGS),
            instant_vector(r, d)
        ),
        15 => {
            let e = instant_vector(r, d);
            match r.range(0, 4) {
                0 => format!("absent({e})"),
                1 => format!("vector(scalar(sum({e})))"),
                2 => format!("({e}) * on() group_left scalar(count({e}))"),
                _ => format!("label_join({e}, \"jz\", \"/\", \"job\", \"zone\")"),
            }
        }
        16 => format!(
            "({}) {} ignoring({}) group_left {}",
            instant_vector(r, d),
            pick(r, &["*", "> bool", "-", "+"]),
            pick(r, &["code, method", "method, code, room"]),
            pick(
                r,
                &[
                    "sum without (code, method) (demo_requests_total)",
                    "max without (room) (demo_temperature_celsius)",
                    "demo_queue_depth",
                ]
            )
        ),
        17 => format!(
            "predict_linear({}[{}], {})",
            pick(r, &["demo_temperature_celsius", "demo_queue_depth"]),
            pick(r, &["20s", "45s"]),
            pick(r, &["-30", "10", "120"])
        ),
        18 => format!(
            "{} {} {}",
            instant_vector(r, d),
            pick(r, &["or", "and", "unless"]),
            instant_vector(r, d)
        ),
        0 | 1 => {
            let f = pick(r, &["rate", "increase", "irate", "resets"]);
            format!("{f}({}[{}]{})", counter(r), pick(r, &RANGES), offset(r))
        }
        2 | 3 => {
            let f = pick(
                r,
                &[
                    "avg_over_time",
                    "min_over_time",
                    "max_over_time",
                    "sum_over_time",
                    "count_over_time",
                    "last_over_time",
                    "present_over_time",
                    "changes",
                    "delta",
                    "idelta",
                    "stdvar_over_time",
                ],
            );
            let inner = if r.range(0, 3) == 0 {
                // Even steps and odd ranges: a nested subquery's window never starts on one of
                // its own steps, where 2.42 (left-closed) and 3.x (left-open) part.
                let step = pick(r, &["2s", "4s", "6s"]);
                let range = pick(r, &["11s", "31s", "61s"]);
                format!("({})[{range}:{step}]", instant_vector(r, d))
            } else {
                format!("{}[{}]", gauge(r), pick(r, &RANGES))
            };
            match r.range(0, 4) {
                0 => format!("quantile_over_time(0.{}, {inner})", r.range(1, 10)),
                _ => format!("{f}({inner})"),
            }
        }
        4 => {
            let e = instant_vector(r, d);
            match r.range(0, 7) {
                0 => format!("abs({e})"),
                1 => format!("ceil({e})"),
                2 => format!("clamp_min({e}, 0)"),
                3 => format!("round({e}, 0.25)"),
                4 => format!("-({e})"),
                5 => format!("sqrt(abs({e}))"),
                _ => format!("timestamp({e})"),
            }
        }
        5 | 6 => {
            let a = pick(r, &["sum", "avg", "min", "max", "count", "group"]);
            let g = pick(r, &GROUPINGS);
            let e = instant_vector(r, d);
            match r.range(0, 5) {
                0 => format!("quantile{g} (0.{}, {e})", r.range(1, 10)),
                _ => format!("{a}{g} ({e})"),
            }
        }
        7 => {
            let op = pick(
                r,
                &["* 2", "/ 3", "> bool 1", "% 2", "+ 0.5", "< 100", "^ 2"],
            );
            format!("({}) {op}", instant_vector(r, d))
        }
        8 | 9 => {
            let on = pick(r, &["job, instance", "instance", "job"]);
            let op = pick(r, &["+", "*", "/", "> bool", "and", "or", "unless", "<="]);
            format!(
                "sum by ({on}) ({}) {op} on({on}) sum by ({on}) ({})",
                instant_vector(r, d),
                instant_vector(r, d)
            )
        }
        10 => format!(
            "label_replace({}, \"port\", \"$1\", \"instance\", \".*:(.*)\")",
            instant_vector(r, d)
        ),
        _ => format!(
            "deriv(demo_temperature_celsius{}[{}])",
            matcher(r),
            pick(r, &["10s", "30s", "1m"])
        ),
    }
}
