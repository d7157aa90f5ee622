//! Parser of the promqltest script language: `load`, `clear`, `eval instant`, `eval range`
//! with their `expect` lines and expected series.

use cairn_model::{Labels, stale_nan};

/// One expected or loaded series: labels and one optional value per point.
#[derive(Clone, Debug)]
pub struct SeriesSpec {
    /// The labels.
    pub labels: Labels,
    /// Values per point; `None` for `_` (no sample).
    pub values: Vec<Option<f64>>,
}

/// How an eval is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <t>`.
    Instant {
        /// Evaluation time, ms.
        at_ms: i64,
    },
    /// `eval range from <t> to <t> step <d>`.
    Range {
        /// Start, ms.
        start_ms: i64,
        /// End, ms.
        end_ms: i64,
        /// Step, ms.
        step_ms: i64,
    },
}

/// An `expect warn|info|fail` line's condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// Nothing said.
    Unchecked,
    /// `expect no_warn` / `expect no_info`.
    Absent,
    /// `expect warn` etc., optionally with `msg:` (exact) or `regex:`.
    Present {
        /// Exact message, if given.
        msg: Option<String>,
        /// Pattern, if given.
        regex: Option<String>,
    },
}

/// What an eval expects as its result.
#[derive(Clone, Debug)]
pub enum Expected {
    /// Series (possibly none) with one value each (instant) or one per step (range).
    Series(Vec<SeriesSpec>),
    /// A scalar.
    Scalar(f64),
    /// A string (`expect string`).
    String(String),
    /// An instant query returning a range vector (`expect range vector from .. to .. step ..`).
    RangeVector {
        /// First point, ms.
        from_ms: i64,
        /// Last point, ms.
        to_ms: i64,
        /// Step, ms.
        step_ms: i64,
        /// The series.
        series: Vec<SeriesSpec>,
    },
}

/// One `eval` case.
#[derive(Clone, Debug)]
pub struct EvalCase {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// Whether the evaluation must fail.
    pub fail: Expectation,
    /// `expect warn` / `expect no_warn` lines; none means warnings are not checked.
    pub warn: Vec<Expectation>,
    /// `expect info` / `expect no_info` lines; none means infos are not checked.
    pub info: Vec<Expectation>,
    /// Whether result order matters.
    pub ordered: bool,
    /// Expected result.
    pub expected: Expected,
    /// The case mentions native histogram samples.
    pub histograms: bool,
}

/// A script command.
#[derive(Clone, Debug)]
pub enum Command {
    /// `load <interval>` with its series.
    Load {
        /// Point spacing, ms.
        interval_ms: i64,
        /// Float series.
        series: Vec<SeriesSpec>,
        /// Series with native histogram samples (`{{...}}`, not loaded).
        histograms: Vec<Labels>,
        /// For `load_with_nhcb`: the native histograms with custom buckets Prometheus derives
        /// from the classic `_bucket` series (the float series are loaded as well).
        nhcb: Vec<Labels>,
    },
    /// `clear`.
    Clear,
    /// An eval.
    Eval(Box<EvalCase>),
    /// A line the parser could not understand.
    Invalid {
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
}

/// Parses a duration like `5m`, `1h30m`, `10s53ms`, or plain seconds (`1.5`).
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Some((secs * 1000.0).round() as i64);
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mult = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        total += n * mult;
    }
    Some(if neg { -total } else { total })
}

/// Parses a float as Go's `strconv.ParseFloat` does for the forms scripts use.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| sign * v as f64);
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-_".contains(c))
    {
        return None;
    }
    body.replace('_', "").parse::<f64>().ok().map(|v| sign * v)
}

/// Expands one value token of a series description (`1`, `_`, `stale`, `1+2x3`, `_x4`).
fn expand_token(tok: &str, out: &mut Vec<Option<f64>>) -> Option<()> {
    if tok == "_" {
        out.push(None);
        return Some(());
    }
    if tok == "stale" {
        out.push(Some(stale_nan()));
        return Some(());
    }
    // Repetition: `<value>x<n>`; scripts write `0x5` for five zeros, never hex.
    if let Some((head, count)) = tok.rsplit_once('x') {
        let n: u64 = count.parse().ok()?;
        match head {
            "_" => out.extend(std::iter::repeat_n(None, n as usize)),
            "stale" => out.extend(std::iter::repeat_n(Some(stale_nan()), n as usize + 1)),
            _ => {
                let (base, delta) = split_base_delta(head)?;
                for i in 0..=n {
                    out.push(Some(base + delta * i as f64));
                }
            }
        }
        return Some(());
    }
    out.push(Some(parse_float(tok)?));
    Some(())
}

/// `a+b` / `a-b` / `a` (delta 0) where `a` and `b` may carry exponents.
fn split_base_delta(s: &str) -> Option<(f64, f64)> {
    let bytes = s.as_bytes();
    for i in 1..bytes.len() {
        let c = bytes[i];
        if (c == b'+' || c == b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'+' | b'-') {
            let base = parse_float(&s[..i])?;
            let delta = parse_float(&s[i + 1..])?;
            return Some((base, if c == b'-' { -delta } else { delta }));
        }
    }
    Some((parse_float(s)?, 0.0))
}

/// Expands a whole value sequence.
pub(crate) fn parse_values(s: &str) -> Option<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        expand_token(tok, &mut out)?;
    }
    Some(out)
}

/// Reads a Go-quoted string at the start of `s`; returns it and the rest.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, q) = chars.next()?;
    let mut out = String::new();
    if q == '`' {
        let end = s[1..].find('`')? + 1;
        return Some((s[1..end].to_string(), &s[end + 1..]));
    }
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Some((out, &s[i + 1..]));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (_, e) = chars.next()?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..len)
                    .filter_map(|_| chars.next().map(|(_, c)| c))
                    .collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            '0'..='7' => {
                let mut oct = String::from(e);
                for _ in 0..2 {
                    oct.push(chars.next()?.1);
                }
                out.push(char::from_u32(u32::from_str_radix(&oct, 8).ok()?)?);
            }
            other => out.push(other),
        }
    }
    None
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.'
}

/// Parses `name{l="v", ...}` at the start of `s`; returns the labels and the rest.
pub(crate) fn parse_series_desc(s: &str) -> Option<(Labels, &str)> {
    let s = s.trim_start();
    let name_len = s.chars().take_while(|&c| is_name_char(c)).count();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if name_len > 0 {
        pairs.push(("__name__".to_string(), s[..name_len].to_string()));
    }
    let mut rest = &s[name_len..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            rest = rest.trim_start().trim_start_matches(',').trim_start();
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (name, r) = if rest.starts_with('"') || rest.starts_with('\'') {
                read_quoted(rest)?
            } else {
                let n = rest.chars().take_while(|&c| is_name_char(c)).count();
                if n == 0 {
                    return None;
                }
                (rest[..n].to_string(), &rest[n..])
            };
            let r = r.trim_start();
            match r.strip_prefix('=') {
                Some(r) => {
                    let (value, r) = read_quoted(r.trim_start())?;
                    pairs.push((name, value));
                    rest = r;
                }
                None => {
                    // A lone quoted string is the metric name.
                    pairs.push(("__name__".to_string(), name));
                    rest = r;
                }
            }
        }
    } else if name_len == 0 {
        return None;
    }
    let mut b = cairn_model::LabelsBuilder::default();
    for (n, v) in &pairs {
        b.set(n, v);
    }
    Some((b.build(), rest))
}

/// The text after `msg:` or `regex:`, which may be written in double quotes.
fn expectation_text(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

fn parse_expectation(rest: &str) -> Expectation {
    let rest = rest.trim();
    if let Some(m) = rest.strip_prefix("msg:") {
        return Expectation::Present {
            msg: Some(expectation_text(m)),
            regex: None,
        };
    }
    if let Some(r) = rest.strip_prefix("regex:") {
        return Expectation::Present {
            msg: None,
            regex: Some(expectation_text(r)),
        };
    }
    Expectation::Present {
        msg: None,
        regex: None,
    }
}

fn parse_eval_header(line: usize, cmd: &str, rest: &str) -> Result<EvalCase, String> {
    let mut case = EvalCase {
        line,
        expr: String::new(),
        kind: EvalKind::Instant { at_ms: 0 },
        fail: Expectation::Unchecked,
        warn: Vec::new(),
        info: Vec::new(),
        ordered: false,
        expected: Expected::Series(Vec::new()),
        histograms: false,
    };
    let none = || Expectation::Present {
        msg: None,
        regex: None,
    };
    match cmd {
        "eval" => {}
        "eval_fail" => case.fail = none(),
        "eval_warn" => case.warn.push(none()),
        "eval_info" => case.info.push(none()),
        "eval_ordered" => case.ordered = true,
        other => return Err(format!("unknown command {other:?}")),
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let bad = || format!("invalid eval header {rest:?}");
    let (kind, consumed) = match words.as_slice() {
        ["instant", "at", t, ..] => (
            EvalKind::Instant {
                at_ms: parse_duration_ms(t).ok_or_else(bad)?,
            },
            3,
        ),
        ["range", "from", a, "to", b, "step", s, ..] => (
            EvalKind::Range {
                start_ms: parse_duration_ms(a).ok_or_else(bad)?,
                end_ms: parse_duration_ms(b).ok_or_else(bad)?,
                step_ms: parse_duration_ms(s).ok_or_else(bad)?,
            },
            7,
        ),
        _ => return Err(bad()),
    };
    case.kind = kind;
    // The expression is the rest of the line after the header words.
    let mut expr = rest.trim_start();
    for _ in 0..consumed {
        expr = expr.trim_start();
        let w = expr.find(char::is_whitespace).unwrap_or(expr.len());
        expr = &expr[w..];
    }
    case.expr = expr.trim().to_string();
    Ok(case)
}

fn parse_expected_line(case: &mut EvalCase, text: &str) -> Result<(), String> {
    if text.contains("{{") {
        case.histograms = true;
        return Ok(());
    }
    if let Some(rest) = text.strip_prefix("expect ") {
        let rest = rest.trim();
        let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        match word {
            "fail" => case.fail = parse_expectation(tail),
            "warn" => case.warn.push(parse_expectation(tail)),
            "info" => case.info.push(parse_expectation(tail)),
            "no_warn" => case.warn.push(Expectation::Absent),
            "no_info" => case.info.push(Expectation::Absent),
            "ordered" => case.ordered = true,
            "string" => {
                let (s, _) = read_quoted(tail.trim()).ok_or("bad expect string")?;
                case.expected = Expected::String(s);
            }
            "range" => {
                let w: Vec<&str> = tail.split_whitespace().collect();
                let ["vector", "from", a, "to", b, "step", s] = w.as_slice() else {
                    return Err(format!("bad expect range line {text:?}"));
                };
                let d = |x: &str| parse_duration_ms(x).ok_or(format!("bad duration {x:?}"));
                case.expected = Expected::RangeVector {
                    from_ms: d(a)?,
                    to_ms: d(b)?,
                    step_ms: d(s)?,
                    series: Vec::new(),
                };
            }
            other => return Err(format!("unknown expect {other:?}")),
        }
        return Ok(());
    }
    if let Some(v) = parse_float(text) {
        case.expected = Expected::Scalar(v);
        return Ok(());
    }
    let (labels, rest) =
        parse_series_desc(text).ok_or_else(|| format!("bad expected series {text:?}"))?;
    let values = parse_values(rest).ok_or_else(|| format!("bad expected values {rest:?}"))?;
    let spec = SeriesSpec { labels, values };
    match &mut case.expected {
        Expected::Series(v) | Expected::RangeVector { series: v, .. } => v.push(spec),
        _ => case.expected = Expected::Series(vec![spec]),
    }
    Ok(())
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Vec<Command> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let start_line = i;
        // The block: following lines up to an empty line or a comment, which Prometheus'
        // runner also treats as empty.
        let mut block = Vec::new();
        while i < lines.len() {
            let l = lines[i].trim();
            if l.is_empty() || l.starts_with('#') {
                break;
            }
            block.push(l);
            i += 1;
        }
        let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match cmd {
            "clear" => {
                out.push(Command::Clear);
                // Lines after `clear` are commands of their own.
                i = start_line;
            }
            "load" | "load_with_nhcb" => {
                let Some(interval_ms) = parse_duration_ms(rest) else {
                    out.push(Command::Invalid {
                        line: start_line,
                        reason: format!("bad load interval {rest:?}"),
                    });
                    continue;
                };
                let mut series = Vec::new();
                let mut histograms = Vec::new();
                for l in block {
                    if l.contains("{{") {
                        match parse_series_desc(l) {
                            Some((labels, _)) => histograms.push(labels),
                            None => out.push(Command::Invalid {
                                line: start_line,
                                reason: format!("bad series line {l:?}"),
                            }),
                        }
                        continue;
                    }
                    match parse_series_desc(l).and_then(|(labels, rest)| {
                        parse_values(rest).map(|values| SeriesSpec { labels, values })
                    }) {
                        Some(s) => series.push(s),
                        None => out.push(Command::Invalid {
                            line: start_line,
                            reason: format!("bad series line {l:?}"),
                        }),
                    }
                }
                let mut nhcb = Vec::new();
                if cmd == "load_with_nhcb" {
                    for s in &series {
                        let Some(name) = s
                            .labels
                            .metric_name()
                            .and_then(|n| n.strip_suffix("_bucket"))
                        else {
                            continue;
                        };
                        let mut b = s.labels.to_builder();
                        b.del("le").set("__name__", name);
                        nhcb.push(b.build());
                    }
                }
                out.push(Command::Load {
                    interval_ms,
                    series,
                    histograms,
                    nhcb,
                });
            }
            c if c.starts_with("eval") => match parse_eval_header(start_line, c, rest) {
                Ok(mut case) => {
                    let mut err = None;
                    for l in block {
                        if let Err(e) = parse_expected_line(&mut case, l) {
                            err.get_or_insert(e);
                        }
                    }
                    match err {
                        Some(reason) => out.push(Command::Invalid {
                            line: start_line,
                            reason,
                        }),
                        None => out.push(Command::Eval(Box::new(case))),
                    }
                }
                Err(reason) => out.push(Command::Invalid {
                    line: start_line,
                    reason,
                }),
            },
            other => out.push(Command::Invalid {
                line: start_line,
                reason: format!("unknown command {other:?}"),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_value_sequences() {
        let v = parse_values("0+10x3 _ 1 stale _x2 -1-1x1 1e3").unwrap();
        assert_eq!(v.len(), 4 + 1 + 1 + 1 + 2 + 2 + 1);
        assert_eq!(v[3], Some(30.0));
        assert_eq!(v[4], None);
        assert!(v[6].is_some_and(cairn_model::is_stale_nan));
        assert_eq!(v[9], Some(-1.0));
        assert_eq!(v[10], Some(-2.0));
        assert_eq!(v[11], Some(1000.0));
    }

    #[test]
    fn parses_series_descriptions_and_durations() {
        let (l, rest) = parse_series_desc(r#"foo{a="b", c='d\n'} 1 2"#).unwrap();
        assert_eq!(l.get("__name__"), Some("foo"));
        assert_eq!(l.get("c"), Some("d\n"));
        assert_eq!(rest.trim(), "1 2");
        assert_eq!(parse_duration_ms("10s53ms"), Some(10_053));
        assert_eq!(parse_duration_ms("1h5m"), Some(3_900_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
    }

    #[test]
    fn parses_eval_blocks() {
        let cmds = parse_script(
            "load 5m\n  up{job=\"a\"} 0+1x2\n\neval instant at 10m up\n  expect no_warn\n  up{job=\"a\"} 2\n\nclear\n",
        );
        assert!(matches!(
            cmds[0],
            Command::Load {
                interval_ms: 300_000,
                ..
            }
        ));
        let Command::Eval(c) = &cmds[1] else {
            panic!("expected eval, got {:?}", cmds[1]);
        };
        assert_eq!(c.expr, "up");
        assert_eq!(c.warn, vec![Expectation::Absent]);
        assert!(matches!(&c.expected, Expected::Series(s) if s.len() == 1));
        assert!(matches!(cmds[2], Command::Clear));
    }
}
