//! Compares what a query gave with what its case expects, and renders the difference as a diff
//! of the script's own notation. Independent of the engine's types: the runner converts the
//! engine's answer into [`Got`] first.

use std::fmt::Write as _;

use crate::script::{
    Case, ExpEntry, ExpSeries, ExpStream, Expect, Kind, LabelSpec, NS_PER_MS, ValueSpec,
};

/// A label set as answered: pairs sorted by name.
pub(crate) type Pairs = Vec<(String, String)>;

/// One answered log entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GotEntry {
    /// Nanoseconds since the epoch.
    pub(crate) ts_ns: i64,
    /// The line.
    pub(crate) line: String,
    /// Structured metadata (categorized form only).
    pub(crate) metadata: Pairs,
    /// Parsed labels (categorized form only).
    pub(crate) parsed: Pairs,
}

/// One answered stream.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GotStream {
    /// Its labels.
    pub(crate) labels: Pairs,
    /// Its entries in answer order.
    pub(crate) entries: Vec<GotEntry>,
}

/// An answered metric value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum GotMetric {
    /// A scalar at `t_ms`.
    Scalar {
        /// Milliseconds.
        t_ms: i64,
        /// The value.
        v: f64,
    },
    /// An instant vector: labels, time in ms, value.
    Vector(Vec<(Pairs, i64, f64)>),
    /// A matrix: labels and points (ms, value).
    Matrix(Vec<(Pairs, Vec<(i64, f64)>)>),
}

/// What a query gave.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Got {
    /// It failed.
    Error {
        /// The message.
        msg: String,
        /// The HTTP status the error maps to.
        status: u16,
    },
    /// A metric answer.
    Metric(GotMetric),
    /// A log answer.
    Streams(Vec<GotStream>),
}

/// Values equal: both NaN, equal, or within `1e-9 * max(1, |a|, |b|)`.
pub(crate) fn values_equal(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= 1e-9 * 1f64.max(a.abs()).max(b.abs())
}

/// Whether answered labels satisfy an expected label set (names equal, values equal or fully
/// matching the regex). An empty value is a value: `name=""` needs the label, present and empty.
pub(crate) fn labels_match(spec: &LabelSpec, got: &Pairs) -> bool {
    if spec.pairs.len() != got.len() {
        return false;
    }
    spec.pairs.iter().zip(got).all(|((wn, wv), (gn, gv))| {
        wn == gn
            && match wv {
                ValueSpec::Exact(v) => v == gv,
                ValueSpec::Regex(r) => regex::Regex::new(&format!("^(?:{r})$"))
                    .map(|re| re.is_match(gv))
                    .unwrap_or(false),
            }
    })
}

/// Checks `got` against the case's expectation; `Err` holds a readable report.
pub(crate) fn check(case: &Case, got: &Got) -> Result<(), String> {
    match (&case.expect, got) {
        (Expect::Fail { msg, regex, status }, Got::Error { msg: m, status: s }) => {
            let mut problems = Vec::new();
            if let Some(want) = msg
                && !m.contains(want.as_str())
            {
                problems.push(format!("message does not contain {want:?}"));
            }
            if let Some(r) = regex {
                let ok = regex::Regex::new(r)
                    .map(|re| re.is_match(m))
                    .unwrap_or(false);
                if !ok {
                    problems.push(format!("message does not match /{r}/"));
                }
            }
            if let Some(want) = status
                && want != s
            {
                problems.push(format!("status {s}, expected {want}"));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!("{}\n  error: {m}", problems.join("; ")))
            }
        }
        (Expect::Fail { .. }, other) => Err(format!(
            "expected an error, got:\n{}",
            indent(&render_got(case, other))
        )),
        (_, Got::Error { msg, status }) => Err(format!("unexpected error ({status}): {msg}")),
        (Expect::Empty, Got::Metric(GotMetric::Vector(v))) if v.is_empty() => Ok(()),
        (Expect::Empty, Got::Metric(GotMetric::Matrix(m))) if m.is_empty() => Ok(()),
        (Expect::Empty, Got::Streams(s)) if s.iter().all(|s| s.entries.is_empty()) => Ok(()),
        (Expect::Empty, other) => Err(format!(
            "expected nothing, got:\n{}",
            indent(&render_got(case, other))
        )),
        (Expect::Scalar(want), Got::Metric(GotMetric::Scalar { t_ms, v })) => {
            let at = instant_ms(case.kind);
            if !values_equal(*want, *v) || Some(*t_ms) != at {
                Err(format!(
                    "expected scalar {} at {:?} ms, got {} at {t_ms} ms",
                    fmt_value(*want),
                    at,
                    fmt_value(*v)
                ))
            } else {
                Ok(())
            }
        }
        (Expect::Series { ordered, series }, Got::Metric(m)) => {
            check_series(case, *ordered, series, m)
        }
        (Expect::Streams(streams), Got::Streams(got)) => check_streams(case, streams, got),
        (_, other) => Err(format!(
            "wrong kind of answer:\n{}",
            indent(&render_got(case, other))
        )),
    }
}

fn instant_ms(kind: Kind) -> Option<i64> {
    match kind {
        Kind::Instant { at_ns } => Some(at_ns.div_euclid(NS_PER_MS)),
        _ => None,
    }
}

/// The step times of a range case, in ms.
fn steps_ms(kind: Kind) -> Vec<i64> {
    match kind {
        Kind::Range {
            start_ns,
            end_ns,
            step_ns,
        } => {
            let mut out = Vec::new();
            let mut t = start_ns;
            while t <= end_ns {
                out.push(t.div_euclid(NS_PER_MS));
                t += step_ns;
            }
            out
        }
        Kind::Instant { at_ns } => vec![at_ns.div_euclid(NS_PER_MS)],
        Kind::Log { .. } => Vec::new(),
    }
}

/// A series with one optional value per step.
type Points = (Pairs, Vec<Option<f64>>);

/// Answered series as one optional value per expected point; `Err` when the answer's shape is
/// wrong for the case (a matrix for an instant query, a point off the steps).
fn got_points(case: &Case, m: &GotMetric) -> Result<Vec<Points>, String> {
    let steps = steps_ms(case.kind);
    match (case.kind, m) {
        (Kind::Instant { .. }, GotMetric::Vector(v)) => v
            .iter()
            .map(|(l, t, val)| {
                if *t != steps[0] {
                    Err(format!(
                        "sample {} at {t} ms, not at the evaluation time {} ms",
                        fmt_pairs(l),
                        steps[0]
                    ))
                } else {
                    Ok((l.clone(), vec![Some(*val)]))
                }
            })
            .collect(),
        (Kind::Range { .. }, GotMetric::Matrix(mx)) => mx
            .iter()
            .map(|(l, pts)| {
                let mut vals = vec![None; steps.len()];
                for (t, v) in pts {
                    match steps.iter().position(|s| s == t) {
                        Some(i) if vals[i].is_none() => vals[i] = Some(*v),
                        Some(_) => {
                            return Err(format!("{} has two points at {t} ms", fmt_pairs(l)));
                        }
                        None => {
                            return Err(format!(
                                "{} has a point at {t} ms, off the steps",
                                fmt_pairs(l)
                            ));
                        }
                    }
                }
                Ok((l.clone(), vals))
            })
            .collect(),
        (kind, m) => Err(format!(
            "{} answer for {} query",
            match m {
                GotMetric::Scalar { .. } => "scalar",
                GotMetric::Vector(_) => "vector",
                GotMetric::Matrix(_) => "matrix",
            },
            match kind {
                Kind::Instant { .. } => "an instant",
                Kind::Range { .. } => "a range",
                Kind::Log { .. } => "a log",
            }
        )),
    }
}

fn check_series(
    case: &Case,
    ordered: bool,
    want: &[ExpSeries],
    got: &GotMetric,
) -> Result<(), String> {
    let got = got_points(case, got)?;
    let same_values = |w: &[Option<f64>], g: &[Option<f64>]| {
        w.len() == g.len()
            && w.iter().zip(g).all(|(a, b)| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => values_equal(*a, *b),
                _ => false,
            })
    };
    // Pair each expected series with an answered one: in order when ordered, else by labels,
    // preferring an answer whose values also agree.
    let mut used = vec![false; got.len()];
    let mut pairs: Vec<Option<usize>> = Vec::new();
    let mut ok = got.len() == want.len();
    for (i, w) in want.iter().enumerate() {
        let found = if ordered {
            (i < got.len() && labels_match(&w.labels, &got[i].0)).then_some(i)
        } else {
            let cands: Vec<usize> = (0..got.len())
                .filter(|&j| !used[j] && labels_match(&w.labels, &got[j].0))
                .collect();
            cands
                .iter()
                .copied()
                .find(|&j| same_values(&w.values, &got[j].1))
                .or_else(|| cands.first().copied())
        };
        match found {
            Some(j) => {
                used[j] = true;
                ok &= same_values(&w.values, &got[j].1);
            }
            None => ok = false,
        }
        pairs.push(found);
    }
    if ok {
        return Ok(());
    }
    let expected: Vec<String> = want
        .iter()
        .map(|w| format!("{} {}", fmt_spec(&w.labels), fmt_values(&w.values)))
        .collect();
    let mut answered: Vec<String> = Vec::new();
    for j in pairs.iter().flatten() {
        answered.push(format!(
            "{} {}",
            fmt_pairs(&got[*j].0),
            fmt_values(&got[*j].1)
        ));
    }
    for (j, g) in got.iter().enumerate() {
        if !used[j] {
            answered.push(format!("{} {}", fmt_pairs(&g.0), fmt_values(&g.1)));
        }
    }
    Err(diff(&expected, &answered))
}

fn entry_matches(categorized: bool, w: &ExpEntry, g: &GotEntry) -> bool {
    w.ts_ns == g.ts_ns
        && w.line == g.line
        && (!categorized
            || (labels_match(&w.metadata, &g.metadata) && labels_match(&w.parsed, &g.parsed)))
}

fn check_streams(case: &Case, want: &[ExpStream], got: &[GotStream]) -> Result<(), String> {
    let categorized = matches!(
        case.kind,
        Kind::Log {
            categorized: true,
            ..
        }
    );
    let got: Vec<&GotStream> = got.iter().filter(|s| !s.entries.is_empty()).collect();
    let same_entries = |w: &ExpStream, g: &GotStream| {
        w.entries.len() == g.entries.len()
            && w.entries
                .iter()
                .zip(&g.entries)
                .all(|(we, ge)| entry_matches(categorized, we, ge))
    };
    let mut used = vec![false; got.len()];
    let mut pairs = Vec::new();
    let mut ok = got.len() == want.len();
    for w in want {
        let cands: Vec<usize> = (0..got.len())
            .filter(|&j| !used[j] && labels_match(&w.labels, &got[j].labels))
            .collect();
        let found = cands
            .iter()
            .copied()
            .find(|&j| same_entries(w, got[j]))
            .or_else(|| cands.first().copied());
        match found {
            Some(j) => {
                used[j] = true;
                ok &= same_entries(w, got[j]);
            }
            None => ok = false,
        }
        pairs.push(found);
    }
    if ok {
        return Ok(());
    }
    let mut expected = Vec::new();
    for w in want {
        expected.push(fmt_spec(&w.labels));
        for e in &w.entries {
            expected.push(format!("  {}", fmt_exp_entry(categorized, e)));
        }
    }
    let mut answered = Vec::new();
    let mut push = |g: &GotStream| {
        answered.push(fmt_pairs(&g.labels));
        for e in &g.entries {
            answered.push(format!("  {}", fmt_got_entry(categorized, e)));
        }
    };
    for j in pairs.iter().flatten() {
        push(got[*j]);
    }
    for (j, g) in got.iter().enumerate() {
        if !used[j] {
            push(g);
        }
    }
    Err(diff(&expected, &answered))
}

/// The answer in the script's notation, for reports.
pub(crate) fn render_got(case: &Case, got: &Got) -> String {
    let categorized = matches!(
        case.kind,
        Kind::Log {
            categorized: true,
            ..
        }
    );
    let mut out = String::new();
    match got {
        Got::Error { msg, status } => {
            let _ = writeln!(out, "error ({status}): {msg}");
        }
        Got::Metric(GotMetric::Scalar { t_ms, v }) => {
            let _ = writeln!(out, "scalar {} at {t_ms} ms", fmt_value(*v));
        }
        Got::Metric(GotMetric::Vector(v)) => {
            if v.is_empty() {
                out.push_str("empty vector\n");
            }
            for (l, t, val) in v {
                let _ = writeln!(out, "{} {} @{t}ms", fmt_pairs(l), fmt_value(*val));
            }
        }
        Got::Metric(GotMetric::Matrix(m)) => {
            if m.is_empty() {
                out.push_str("empty matrix\n");
            }
            for (l, pts) in m {
                let pts: Vec<String> = pts
                    .iter()
                    .map(|(t, v)| format!("{}@{t}", fmt_value(*v)))
                    .collect();
                let _ = writeln!(out, "{} {}", fmt_pairs(l), pts.join(" "));
            }
        }
        Got::Streams(s) => {
            if s.is_empty() {
                out.push_str("no streams\n");
            }
            for st in s {
                let _ = writeln!(out, "{}", fmt_pairs(&st.labels));
                for e in &st.entries {
                    let _ = writeln!(out, "  {}", fmt_got_entry(categorized, e));
                }
            }
        }
    }
    out
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

/// A line diff (longest common subsequence): `-` expected only, `+` answered only.
pub(crate) fn diff(expected: &[String], answered: &[String]) -> String {
    let (n, m) = (expected.len(), answered.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == answered[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::from("--- expected\n+++ got\n");
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == answered[j] {
            let _ = writeln!(out, "  {}", expected[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", answered[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", expected[i]);
            i += 1;
        }
    }
    out
}

/// A value as the scripts write it.
pub(crate) fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn fmt_values(vals: &[Option<f64>]) -> String {
    vals.iter()
        .map(|v| v.map_or_else(|| "_".to_string(), fmt_value))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A timestamp as a duration from the epoch, in the largest unit that keeps it exact.
pub(crate) fn fmt_ts(ns: i64) -> String {
    if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{ns}ns")
    }
}

fn fmt_pairs(p: &Pairs) -> String {
    let inner: Vec<String> = p.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn fmt_spec(s: &LabelSpec) -> String {
    let inner: Vec<String> = s
        .pairs
        .iter()
        .map(|(n, v)| match v {
            ValueSpec::Exact(v) => format!("{n}={v:?}"),
            ValueSpec::Regex(r) => format!("{n}=~{r:?}"),
        })
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn fmt_exp_entry(categorized: bool, e: &ExpEntry) -> String {
    let mut s = format!("{} {:?}", fmt_ts(e.ts_ns), e.line);
    if categorized {
        let _ = write!(
            s,
            " metadata {} parsed {}",
            fmt_spec(&e.metadata),
            fmt_spec(&e.parsed)
        );
    }
    s
}

fn fmt_got_entry(categorized: bool, e: &GotEntry) -> String {
    let mut s = format!("{} {:?}", fmt_ts(e.ts_ns), e.line);
    if categorized {
        let _ = write!(
            s,
            " metadata {} parsed {}",
            fmt_pairs(&e.metadata),
            fmt_pairs(&e.parsed)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{Command, parse_script};

    fn case(text: &str) -> Case {
        let s = parse_script(text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        s.commands
            .into_iter()
            .find_map(|c| match c {
                Command::Eval(c) => Some(*c),
                _ => None,
            })
            .expect("one eval")
    }

    fn pairs(p: &[(&str, &str)]) -> Pairs {
        let mut v: Pairs = p
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn values_compare_with_tolerance_and_nan() {
        assert!(values_equal(f64::NAN, f64::NAN));
        assert!(values_equal(0.1 + 0.2, 0.3));
        assert!(values_equal(1e12, 1e12 + 1e-1));
        assert!(!values_equal(1.0, 1.0001));
        assert!(!values_equal(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!values_equal(0.0, f64::NAN));
    }

    #[test]
    fn instant_series_match_as_a_set_and_check_time() {
        let c = case("eval instant at 60s x\n  {a=\"1\"} 2\n  {a=\"2\"} NaN\n");
        let got = Got::Metric(GotMetric::Vector(vec![
            (pairs(&[("a", "2")]), 60_000, f64::NAN),
            (pairs(&[("a", "1")]), 60_000, 2.0),
        ]));
        assert_eq!(check(&c, &got), Ok(()));
        let late = Got::Metric(GotMetric::Vector(vec![
            (pairs(&[("a", "2")]), 60_000, f64::NAN),
            (pairs(&[("a", "1")]), 61_000, 2.0),
        ]));
        assert!(check(&c, &late).is_err());
        let wrong = Got::Metric(GotMetric::Vector(vec![(pairs(&[("a", "1")]), 60_000, 3.0)]));
        let err = check(&c, &wrong).expect_err("mismatch");
        assert!(
            err.contains("- {a=\"1\"} 2") && err.contains("+ {a=\"1\"} 3"),
            "{err}"
        );
    }

    #[test]
    fn ordered_series_compare_positions() {
        let c = case("eval instant at 1s x\n  expect ordered\n  {a=\"1\"} 1\n  {a=\"2\"} 2\n");
        let swapped = Got::Metric(GotMetric::Vector(vec![
            (pairs(&[("a", "2")]), 1000, 2.0),
            (pairs(&[("a", "1")]), 1000, 1.0),
        ]));
        assert!(check(&c, &swapped).is_err());
    }

    #[test]
    fn range_points_land_on_steps() {
        let c = case("eval range from 0 to 20s step 10s x\n  {a=\"1\"} _ 1 2\n");
        let ok = Got::Metric(GotMetric::Matrix(vec![(
            pairs(&[("a", "1")]),
            vec![(10_000, 1.0), (20_000, 2.0)],
        )]));
        assert_eq!(check(&c, &ok), Ok(()));
        let off = Got::Metric(GotMetric::Matrix(vec![(
            pairs(&[("a", "1")]),
            vec![(10_000, 1.0), (15_000, 2.0)],
        )]));
        assert!(check(&c, &off).is_err());
        let vector = Got::Metric(GotMetric::Vector(vec![]));
        assert!(check(&c, &vector).is_err());
    }

    #[test]
    fn regex_label_values_and_errors() {
        let c = case("eval instant at 1s x\n  {e=~\"J.*r\"} 1\n");
        let got = Got::Metric(GotMetric::Vector(vec![(
            pairs(&[("e", "JSONParserErr")]),
            1000,
            1.0,
        )]));
        assert_eq!(check(&c, &got), Ok(()));
        let f = case("eval instant at 1s x\n  expect fail status 400 msg: bad thing\n");
        let e = Got::Error {
            msg: "parse error: a bad thing here".into(),
            status: 400,
        };
        assert_eq!(check(&f, &e), Ok(()));
        let e500 = Got::Error {
            msg: "a bad thing".into(),
            status: 500,
        };
        assert!(check(&f, &e500).is_err());
        assert!(check(&f, &Got::Metric(GotMetric::Vector(vec![]))).is_err());
    }

    #[test]
    fn streams_compare_entries_in_order_and_empty_values_count() {
        let c = case(
            "eval log from 0 to 10s direction forward q\n  {a=\"1\"}\n    1s \"x\"\n    2s \"y\"\n",
        );
        let entry = |t: i64, l: &str| GotEntry {
            ts_ns: t * 1_000_000_000,
            line: l.into(),
            metadata: vec![],
            parsed: vec![],
        };
        let got = Got::Streams(vec![GotStream {
            labels: pairs(&[("a", "1")]),
            entries: vec![entry(1, "x"), entry(2, "y")],
        }]);
        assert_eq!(check(&c, &got), Ok(()));
        let reversed = Got::Streams(vec![GotStream {
            labels: pairs(&[("a", "1")]),
            entries: vec![entry(2, "y"), entry(1, "x")],
        }]);
        assert!(check(&c, &reversed).is_err());
        let empty_value = Got::Streams(vec![GotStream {
            labels: pairs(&[("a", "1"), ("u", "")]),
            entries: vec![entry(1, "x"), entry(2, "y")],
        }]);
        assert!(check(&c, &empty_value).is_err());
    }

    #[test]
    fn the_diff_marks_both_sides() {
        let d = diff(
            &["a".into(), "b".into(), "c".into()],
            &["a".into(), "x".into(), "c".into()],
        );
        assert!(
            d.contains("  a\n")
                && d.contains("- b\n")
                && d.contains("+ x\n")
                && d.contains("  c\n"),
            "{d}"
        );
    }
}
