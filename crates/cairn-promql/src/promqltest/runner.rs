//! Runs parsed scripts against the engine and compares results.

use std::fmt::Write as _;

use cairn_model::{Labels, Sample, TenantId};

use super::parser::{Command, EvalCase, EvalKind, Expectation, Expected, SeriesSpec, parse_script};
use super::{CaseResult, Category, FileReport, NATIVE_HISTOGRAM_FILE, Outcome, file_category};
use crate::value::{Annotations, Answer, InstantSample, Value};
use crate::{Engine, MemoryQuerier};

/// Prometheus' promqltest tolerance.
const EPSILON: f64 = 1e-6;

fn almost_equal(a: f64, b: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// Runs one script; `file` decides the category of its cases.
pub async fn run_script(file: &str, text: &str, engine: &Engine) -> FileReport {
    let tenant = TenantId::default_tenant();
    let mut store = MemoryQuerier::new();
    let mut histograms: Vec<Labels> = Vec::new();
    let mut nhcb: Vec<Labels> = Vec::new();
    let base = file_category(file);
    let mut cases = Vec::new();
    for cmd in parse_script(text) {
        match cmd {
            Command::Clear => {
                store.clear();
                histograms.clear();
                nhcb.clear();
            }
            Command::Load {
                interval_ms,
                series,
                histograms: h,
                nhcb: n,
            } => {
                histograms.extend(h);
                nhcb.extend(n);
                for s in series {
                    let samples: Vec<Sample> = s
                        .values
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| Sample::new(i as i64 * interval_ms, v)))
                        .collect();
                    store.add(&tenant, s.labels, &samples);
                }
            }
            Command::Invalid { line, reason } => cases.push(CaseResult {
                line,
                expr: String::new(),
                category: base,
                outcome: Outcome::Failed(format!("script line not understood: {reason}")),
            }),
            Command::Eval(case) => {
                // Why the case needs native histograms, if it does: its expected values are
                // histograms, its file is about them, it reads series loaded with `{{...}}`
                // samples, or it reads the custom-bucket histograms `load_with_nhcb` derives.
                let reason = if case.histograms {
                    Some("native histogram in the expected result")
                } else if file == NATIVE_HISTOGRAM_FILE {
                    Some("native histogram script")
                } else if touches_any(&case.expr, &histograms) {
                    Some("native histogram samples loaded with {{...}}")
                } else if touches_any(&case.expr, &nhcb) {
                    Some("native histogram with custom buckets (load_with_nhcb)")
                } else {
                    None
                };
                let category = match base {
                    Category::Core if reason.is_some() => Category::NativeHistogram,
                    other => other,
                };
                let outcome = if let Some(why) = reason {
                    Outcome::Unsupported(why.to_string())
                } else {
                    run_case(engine, &store, &tenant, &case).await
                };
                cases.push(CaseResult {
                    line: case.line,
                    expr: case.expr.clone(),
                    category,
                    outcome,
                });
            }
        }
    }
    FileReport {
        file: file.to_string(),
        cases,
    }
}

/// Whether a selector of `expr` may select one of the `series` (native histograms we do not
/// store): such cases are reported as unsupported instead of being run on partial data.
fn touches_any(expr: &str, series: &[Labels]) -> bool {
    use promql_parser::parser::{Expr, VectorSelector};
    fn walk(e: &Expr, series: &[Labels]) -> bool {
        match e {
            Expr::VectorSelector(vs) => selects(vs, series),
            Expr::MatrixSelector(ms) => selects(&ms.vs, series),
            Expr::Subquery(s) => walk(&s.expr, series),
            Expr::Paren(p) => walk(&p.expr, series),
            Expr::Unary(u) => walk(&u.expr, series),
            Expr::Binary(b) => walk(&b.lhs, series) || walk(&b.rhs, series),
            Expr::Aggregate(a) => {
                walk(&a.expr, series) || a.param.as_ref().is_some_and(|p| walk(p, series))
            }
            Expr::Call(c) => c.args.args.iter().any(|a| walk(a, series)),
            _ => false,
        }
    }
    fn selects(vs: &VectorSelector, series: &[Labels]) -> bool {
        let groups: Vec<&Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty()
        {
            vec![&vs.matchers.matchers]
        } else {
            vs.matchers.or_matchers.iter().collect()
        };
        series.iter().any(|l| {
            vs.name
                .as_deref()
                .is_none_or(|n| l.metric_name() == Some(n))
                && groups
                    .iter()
                    .any(|ms| ms.iter().all(|m| m.is_match(l.get(&m.name).unwrap_or(""))))
        })
    }
    if series.is_empty() {
        return false;
    }
    // An expression that does not parse cannot be judged; run it.
    promql_parser::parser::parse(expr).is_ok_and(|e| walk(&e, series))
}

/// Whether the expression reads the query's own range (`step()`, `start()`, `@ end()`, ...),
/// so that its range-mode result legitimately differs from the instant one.
fn depends_on_query_range(expr: &str) -> bool {
    use promql_parser::parser::{AtModifier, Expr};
    fn dyn_at(at: &Option<AtModifier>) -> bool {
        matches!(at, Some(AtModifier::Start | AtModifier::End))
    }
    fn walk(e: &Expr) -> bool {
        match e {
            Expr::VectorSelector(vs) => dyn_at(&vs.at),
            Expr::MatrixSelector(ms) => dyn_at(&ms.vs.at),
            Expr::Subquery(s) => dyn_at(&s.at) || walk(&s.expr),
            Expr::Paren(p) => walk(&p.expr),
            Expr::Unary(u) => walk(&u.expr),
            Expr::Binary(b) => walk(&b.lhs) || walk(&b.rhs),
            Expr::Aggregate(a) => walk(&a.expr) || a.param.as_ref().is_some_and(|p| walk(p)),
            Expr::Call(c) => {
                matches!(c.func.name, "step" | "range" | "start" | "end")
                    || c.args.args.iter().any(|a| walk(a))
            }
            _ => false,
        }
    }
    promql_parser::parser::parse(expr).is_ok_and(|e| walk(&e))
}

async fn run_case(
    engine: &Engine,
    store: &MemoryQuerier,
    tenant: &TenantId,
    case: &EvalCase,
) -> Outcome {
    let res = match case.kind {
        EvalKind::Instant { at_ms } => {
            engine
                .instant_annotated(store, tenant, &case.expr, at_ms)
                .await
        }
        EvalKind::Range {
            start_ms,
            end_ms,
            step_ms,
        } => {
            engine
                .range_annotated(store, tenant, &case.expr, start_ms, end_ms, step_ms)
                .await
        }
    };
    let instant_value = res.as_ref().ok().map(|a| a.value.clone());
    if let Err(why) = check(case, res) {
        return Outcome::Failed(why);
    }
    // Like Prometheus' runner, an instant case must give the same result as the middle step
    // of a range query around it: this holds the step-vectorised range path to the same bar.
    let EvalKind::Instant { at_ms } = case.kind else {
        return Outcome::Passed;
    };
    let scalar = match instant_value {
        Some(Value::Vector(_)) => false,
        Some(Value::Scalar { .. }) => true,
        _ => return Outcome::Passed,
    };
    if case.ordered || depends_on_query_range(&case.expr) {
        return Outcome::Passed;
    }
    let range = engine
        .range_annotated(
            store,
            tenant,
            &case.expr,
            at_ms - 60_000,
            at_ms + 60_000,
            60_000,
        )
        .await;
    let value = match range {
        Ok(a) => a.value,
        Err(e) => return Outcome::Failed(format!("in range mode: unexpected error: {e}")),
    };
    let Value::Matrix(m) = value else {
        return Outcome::Failed(format!(
            "in range mode: expected a matrix, got {}",
            describe(&value)
        ));
    };
    let at_t: Vec<InstantSample> = m
        .into_iter()
        .filter_map(|s| {
            let p = s.samples.iter().find(|p| p.t == at_ms)?;
            Some(InstantSample {
                labels: s.labels,
                t_ms: at_ms,
                v: p.v,
            })
        })
        .collect();
    let value = if scalar {
        match at_t.first() {
            Some(s) => Value::Scalar {
                t_ms: at_ms,
                v: s.v,
            },
            None => return Outcome::Failed("in range mode: no scalar point".to_string()),
        }
    } else {
        Value::Vector(at_t)
    };
    let mut relaxed = case.clone();
    relaxed.warn.clear();
    relaxed.info.clear();
    let answer = Answer {
        value,
        annotations: Annotations::default(),
    };
    match check(&relaxed, Ok(answer)) {
        Ok(()) => Outcome::Passed,
        Err(why) => Outcome::Failed(format!("in range mode: {why}")),
    }
}

/// Drops the `(line:col)` position Prometheus appends to annotation messages.
fn strip_position(msg: &str) -> &str {
    let t = msg.trim_end();
    let Some(open) = t.rfind(" (") else {
        return t;
    };
    let is_position = t[open + 2..].strip_suffix(')').is_some_and(|inner| {
        inner
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    });
    if is_position { &t[..open] } else { t }
}

/// Whether one `expect warn|info` line accepts annotation `got`.
fn accepts(exp: &Expectation, got: &str) -> Result<bool, String> {
    let Expectation::Present { msg, regex } = exp else {
        return Ok(false);
    };
    if let Some(m) = msg {
        return Ok(strip_position(m) == strip_position(got));
    }
    if let Some(r) = regex {
        let re = regex::Regex::new(r).map_err(|e| format!("bad regex {r:?}: {e}"))?;
        return Ok(re.is_match(got));
    }
    Ok(true)
}

/// Prometheus' rules: with no lines nothing is checked; `no_*` forbids any annotation; every
/// line must match an annotation, and every annotation must match a line.
fn check_annotations(what: &str, exps: &[Expectation], got: &[String]) -> Result<(), String> {
    if exps.contains(&Expectation::Absent) && !got.is_empty() {
        return Err(format!("expected no {what}, got {got:?}"));
    }
    let present: Vec<&Expectation> = exps
        .iter()
        .filter(|e| matches!(e, Expectation::Present { .. }))
        .collect();
    for e in &present {
        let mut any = false;
        for g in got {
            any |= accepts(e, g)?;
        }
        if !any {
            return Err(format!("expected {what} {e:?}, got {got:?}"));
        }
    }
    if !present.is_empty() {
        for g in got {
            let mut any = false;
            for e in &present {
                any |= accepts(e, g)?;
            }
            if !any {
                return Err(format!("unexpected {what} {g:?}"));
            }
        }
    }
    Ok(())
}

fn check(case: &EvalCase, res: crate::Result<Answer>) -> Result<(), String> {
    if let Expectation::Present { msg, regex } = &case.fail {
        return match res {
            Ok(a) => Err(format!("expected an error, got {}", describe(&a.value))),
            Err(e) => {
                let got = e.to_string();
                if let Some(m) = msg.as_ref().filter(|m| got.trim() != m.trim()) {
                    return Err(format!("expected error {m:?}, got {got:?}"));
                }
                if let Some(r) = regex {
                    let re = regex::Regex::new(r).map_err(|e| format!("bad regex {r:?}: {e}"))?;
                    if !re.is_match(&got) {
                        return Err(format!("expected error matching {r:?}, got {got:?}"));
                    }
                }
                Ok(())
            }
        };
    }
    let answer = res.map_err(|e| format!("unexpected error: {e}"))?;
    let Annotations { warnings, infos } = &answer.annotations;
    check_annotations("warning", &case.warn, warnings)?;
    check_annotations("info", &case.info, infos)?;
    match (&case.kind, &case.expected, &answer.value) {
        (_, Expected::Scalar(want), Value::Scalar { v, .. }) => {
            if almost_equal(*want, *v) {
                Ok(())
            } else {
                Err(format!("expected scalar {want}, got {v}"))
            }
        }
        (_, Expected::String(want), Value::String { v, .. }) => {
            if want == v {
                Ok(())
            } else {
                Err(format!("expected string {want:?}, got {v:?}"))
            }
        }
        (EvalKind::Instant { .. }, Expected::Series(want), Value::Vector(got)) => {
            let got: Vec<(Labels, f64)> = got.iter().map(|s| (s.labels.clone(), s.v)).collect();
            compare_instant(want, &got, case.ordered)
        }
        (EvalKind::Instant { .. }, Expected::Series(want), Value::Matrix(got))
            if want.is_empty() && got.is_empty() =>
        {
            Ok(())
        }
        (
            EvalKind::Instant { .. },
            Expected::RangeVector {
                from_ms,
                step_ms,
                series,
                ..
            },
            Value::Matrix(got),
        ) => compare_points(series, got, |i| from_ms + i as i64 * step_ms),
        (
            EvalKind::Range {
                start_ms, step_ms, ..
            },
            Expected::Series(want),
            Value::Matrix(got),
        ) => compare_points(want, got, |i| start_ms + i as i64 * step_ms),
        (_, want, got) => Err(format!("expected {want:?}, got {}", describe(got))),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {v}"),
        Value::String { v, .. } => format!("string {v:?}"),
        Value::Vector(s) => {
            let mut out = String::from("vector [");
            for x in s {
                let _ = write!(out, "{} {}, ", x.labels, x.v);
            }
            out.push(']');
            out
        }
        Value::Matrix(m) => {
            let mut out = String::from("matrix [");
            for s in m {
                let pts: Vec<String> = s
                    .samples
                    .iter()
                    .map(|p| format!("{}@{}", p.v, p.t))
                    .collect();
                let _ = write!(out, "{} [{}], ", s.labels, pts.join(" "));
            }
            out.push(']');
            out
        }
    }
}

fn compare_instant(
    want: &[SeriesSpec],
    got: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    let listing = || {
        got.iter()
            .map(|(l, v)| format!("{l} {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if want.len() != got.len() {
        return Err(format!(
            "expected {} series, got {}:\n{}",
            want.len(),
            got.len(),
            listing()
        ));
    }
    for (i, w) in want.iter().enumerate() {
        let [Some(wv)] = w.values.as_slice() else {
            return Err(format!("expected series {} has no single value", w.labels));
        };
        let found = if ordered {
            got.get(i).filter(|(l, _)| *l == w.labels)
        } else {
            got.iter().find(|(l, _)| *l == w.labels)
        };
        let Some((_, gv)) = found else {
            return Err(format!(
                "expected series {} {} not found{}; got:\n{}",
                w.labels,
                wv,
                if ordered { " at its position" } else { "" },
                listing()
            ));
        };
        if !almost_equal(*wv, *gv) {
            return Err(format!("series {}: expected {wv}, got {gv}", w.labels));
        }
    }
    Ok(())
}

fn compare_points(
    want: &[SeriesSpec],
    got: &[cairn_model::Series],
    time: impl Fn(usize) -> i64,
) -> Result<(), String> {
    let expected_series = want.iter().filter(|w| w.values.iter().any(Option::is_some));
    let n_expected = expected_series.count();
    if n_expected != got.len() {
        let names: Vec<String> = got.iter().map(|s| s.labels.to_string()).collect();
        return Err(format!(
            "expected {} series, got {}: {}",
            n_expected,
            got.len(),
            names.join(", ")
        ));
    }
    for w in want {
        let want_points: Vec<(i64, f64)> = w
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (time(i), v)))
            .collect();
        if want_points.is_empty() {
            continue;
        }
        let Some(g) = got.iter().find(|s| s.labels == w.labels) else {
            return Err(format!("expected series {} not found", w.labels));
        };
        let ok = g.samples.len() == want_points.len()
            && g.samples
                .iter()
                .zip(&want_points)
                .all(|(s, (t, v))| s.t == *t && almost_equal(s.v, *v));
        if !ok {
            let gp: Vec<String> = g
                .samples
                .iter()
                .map(|s| format!("{}@{}", s.v, s.t))
                .collect();
            let wp: Vec<String> = want_points
                .iter()
                .map(|(t, v)| format!("{v}@{t}"))
                .collect();
            return Err(format!(
                "series {}: expected [{}], got [{}]",
                w.labels,
                wp.join(" "),
                gp.join(" ")
            ));
        }
    }
    Ok(())
}
