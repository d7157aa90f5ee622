//! Parser of the conformance script format (documented in `conformance.rs`): `clear`, `load`
//! and `eval instant|range|log` blocks with their expectations.

use std::fmt;

/// Nanoseconds in a millisecond.
pub(crate) const NS_PER_MS: i64 = 1_000_000;

/// A parsed script: its commands in order, and the lines that could not be understood.
#[derive(Debug, Default)]
pub(crate) struct Script {
    /// Commands in file order.
    pub(crate) commands: Vec<Command>,
    /// Lines the parser refused, each a failure of the script itself.
    pub(crate) errors: Vec<ScriptError>,
}

/// A line the parser could not understand.
#[derive(Clone, Debug)]
pub(crate) struct ScriptError {
    /// 1-based line.
    pub(crate) line: usize,
    /// What is wrong.
    pub(crate) msg: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// One script command.
#[derive(Debug)]
pub(crate) enum Command {
    /// `clear`: forget every loaded stream.
    Clear,
    /// `load`: entries to add, per stream.
    Load(Vec<LoadedStream>),
    /// `eval ...`: one case.
    Eval(Box<Case>),
}

/// The entries one `load` line adds to one stream.
#[derive(Clone, Debug)]
pub(crate) struct LoadedStream {
    /// 1-based line of the load line.
    pub(crate) line: usize,
    /// The stream labels as written (empty values included; the runner drops them).
    pub(crate) labels: Vec<(String, String)>,
    /// The entries.
    pub(crate) entries: Vec<LoadedEntry>,
}

/// One loaded entry.
#[derive(Clone, Debug)]
pub(crate) struct LoadedEntry {
    /// Nanoseconds since the epoch.
    pub(crate) ts_ns: i64,
    /// The line.
    pub(crate) line: String,
    /// Structured metadata, in the order written.
    pub(crate) metadata: Vec<(String, String)>,
}

/// How a case is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A metric query at one time.
    Instant {
        /// Evaluation time, ns.
        at_ns: i64,
    },
    /// A metric query over steps `start..=end`.
    Range {
        /// First step, ns.
        start_ns: i64,
        /// Last step, ns.
        end_ns: i64,
        /// Step, ns.
        step_ns: i64,
    },
    /// A log query over `[start, end)`.
    Log {
        /// First nanosecond, inclusive.
        start_ns: i64,
        /// Last nanosecond, exclusive.
        end_ns: i64,
        /// The step passed along (Loki ignores it for log queries).
        step_ns: i64,
        /// Loki's `interval` (0: none).
        interval_ns: i64,
        /// Newest first when true.
        backward: bool,
        /// Most entries returned.
        limit: u32,
        /// Compare the categorized form instead of the flat one.
        categorized: bool,
    },
}

/// A label value as expected: exact, or a fully anchored regular expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ValueSpec {
    /// `name="value"`.
    Exact(String),
    /// `name=~"regex"`.
    Regex(String),
}

/// An expected label set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LabelSpec {
    /// Pairs sorted by name.
    pub(crate) pairs: Vec<(String, ValueSpec)>,
}

/// One expected metric series: labels and one value per point (`None`: no point).
#[derive(Clone, Debug)]
pub(crate) struct ExpSeries {
    /// The labels.
    pub(crate) labels: LabelSpec,
    /// The values.
    pub(crate) values: Vec<Option<f64>>,
}

/// One expected entry of a log query.
#[derive(Clone, Debug)]
pub(crate) struct ExpEntry {
    /// Nanoseconds since the epoch.
    pub(crate) ts_ns: i64,
    /// The line.
    pub(crate) line: String,
    /// Categorized form only: the entry's structured metadata.
    pub(crate) metadata: LabelSpec,
    /// Categorized form only: the entry's parsed labels.
    pub(crate) parsed: LabelSpec,
}

/// One expected stream of a log query.
#[derive(Clone, Debug)]
pub(crate) struct ExpStream {
    /// The stream's labels.
    pub(crate) labels: LabelSpec,
    /// Its entries in the order the query returns them.
    pub(crate) entries: Vec<ExpEntry>,
    /// 1-based line.
    pub(crate) line: usize,
}

/// What a case expects.
#[derive(Clone, Debug)]
pub(crate) enum Expect {
    /// The query fails; optionally with a message containing `msg` or matching `regex`, and
    /// with an HTTP status.
    Fail {
        /// Substring of the message.
        msg: Option<String>,
        /// Unanchored pattern the message matches.
        regex: Option<String>,
        /// The status the error maps to.
        status: Option<u16>,
    },
    /// No series, no entries.
    Empty,
    /// A scalar.
    Scalar(f64),
    /// Metric series; `ordered` compares positions (instant queries only).
    Series {
        /// Compare in order.
        ordered: bool,
        /// The series.
        series: Vec<ExpSeries>,
    },
    /// Log streams.
    Streams(Vec<ExpStream>),
}

/// One `eval`.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    /// 1-based line of the `eval`.
    pub(crate) line: usize,
    /// The query text.
    pub(crate) query: String,
    /// How it runs.
    pub(crate) kind: Kind,
    /// What it must give.
    pub(crate) expect: Expect,
}

/// Parses a whole script.
pub(crate) fn parse_script(text: &str) -> Script {
    let lines: Vec<&str> = text.lines().collect();
    let mut script = Script::default();
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let lineno = i + 1;
        let content = strip_comment(raw).trim_end();
        if content.trim().is_empty() {
            i += 1;
            continue;
        }
        if content.starts_with(char::is_whitespace) {
            script.errors.push(ScriptError {
                line: lineno,
                msg: "indented line outside a load or eval block".into(),
            });
            i += 1;
            continue;
        }
        let block_end = block_end(&lines, i + 1);
        let body: Vec<(usize, &str)> = (i + 1..block_end)
            .map(|j| (j + 1, strip_comment(lines[j]).trim()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        let word = content.split_whitespace().next().unwrap_or("");
        let res = match word {
            "clear" if content.trim() == "clear" && body.is_empty() => Ok(Command::Clear),
            "load" if content.trim() == "load" => parse_load(&body).map(Command::Load),
            "eval" => parse_eval(lineno, content, &body).map(|c| Command::Eval(Box::new(c))),
            _ => Err(ScriptError {
                line: lineno,
                msg: format!("unknown command {content:?}"),
            }),
        };
        match res {
            Ok(c) => script.commands.push(c),
            Err(e) => script.errors.push(e),
        }
        i = block_end;
    }
    script
}

/// The index of the first line after the indented block starting at `from`: a blank line or a
/// line starting in the first column ends it.
fn block_end(lines: &[&str], from: usize) -> usize {
    let mut j = from;
    while j < lines.len() {
        let l = lines[j];
        if l.trim().is_empty() || !l.starts_with(char::is_whitespace) {
            break;
        }
        j += 1;
    }
    j
}

/// Cuts a `#` comment that stands outside quotes and starts the line or follows whitespace.
pub(crate) fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == b'"' || c == b'`' {
                    quote = Some(c);
                } else if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
                    return &line[..i];
                }
            }
        }
        i += 1;
    }
    line
}

fn err(line: usize, msg: impl Into<String>) -> ScriptError {
    ScriptError {
        line,
        msg: msg.into(),
    }
}

fn parse_load(body: &[(usize, &str)]) -> Result<Vec<LoadedStream>, ScriptError> {
    let mut out = Vec::new();
    for &(lineno, text) in body {
        let mut s = parse_load_line(text).map_err(|m| err(lineno, m))?;
        s.line = lineno;
        out.push(s);
    }
    Ok(out)
}

/// `<labels> <line> @ <time> [repeat every <d> for <n>] [metadata k="v" ...]`.
fn parse_load_line(text: &str) -> Result<LoadedStream, String> {
    let mut c = Cursor::new(text);
    let labels = c.label_pairs()?;
    c.ws();
    let line = c.string()?;
    c.ws();
    if !c.eat("@") {
        return Err("expected `@ <time>` after the line".into());
    }
    c.ws();
    let start = parse_duration_ns(c.word())?;
    let mut every = 0;
    let mut count = 1;
    let mut metadata = Vec::new();
    loop {
        c.ws();
        if c.rest().is_empty() {
            break;
        }
        if c.eat("[repeat") {
            c.ws();
            if c.word() != "every" {
                return Err("expected `[repeat every <d> for <n>]`".into());
            }
            c.ws();
            every = parse_duration_ns(c.word())?;
            c.ws();
            if c.word() != "for" {
                return Err("expected `for <n>` in repeat".into());
            }
            c.ws();
            let n = c.word_until(']');
            count = n
                .parse::<usize>()
                .map_err(|_| format!("bad repeat count {n:?}"))?;
            c.ws();
            if !c.eat("]") {
                return Err("expected `]` after the repeat count".into());
            }
        } else if c.eat("[metadata") {
            loop {
                c.ws();
                if c.eat("]") {
                    break;
                }
                let name = if c.peek() == Some('"') {
                    c.string()?
                } else {
                    c.ident()?
                };
                c.ws();
                if !c.eat("=") {
                    return Err(format!("expected `=` after metadata name {name:?}"));
                }
                c.ws();
                let value = c.string()?;
                metadata.push((name, value));
            }
        } else {
            return Err(format!("unexpected {:?}", c.rest()));
        }
    }
    let entries = (0..count)
        .map(|i| LoadedEntry {
            ts_ns: start + every * i as i64,
            line: line.replace("{{.i}}", &i.to_string()),
            metadata: metadata.clone(),
        })
        .collect();
    Ok(LoadedStream {
        line: 0,
        labels,
        entries,
    })
}

fn parse_eval(lineno: usize, head: &str, body: &[(usize, &str)]) -> Result<Case, ScriptError> {
    let mut c = Cursor::new(head);
    let e = |m: String| err(lineno, m);
    c.word(); // eval
    c.ws();
    let mode = c.word();
    let kind = match mode {
        "instant" => {
            c.ws();
            expect_word(&mut c, "at").map_err(e)?;
            let at_ns = c.duration().map_err(e)?;
            Kind::Instant { at_ns }
        }
        "range" => {
            c.ws();
            expect_word(&mut c, "from").map_err(e)?;
            let start_ns = c.duration().map_err(e)?;
            expect_word(&mut c, "to").map_err(e)?;
            let end_ns = c.duration().map_err(e)?;
            expect_word(&mut c, "step").map_err(e)?;
            let step_ns = c.duration().map_err(e)?;
            if step_ns <= 0 || end_ns < start_ns {
                return Err(err(lineno, "range needs step > 0 and from <= to"));
            }
            Kind::Range {
                start_ns,
                end_ns,
                step_ns,
            }
        }
        "log" => parse_log_kind(&mut c).map_err(e)?,
        other => return Err(err(lineno, format!("unknown eval mode {other:?}"))),
    };
    c.ws();
    let query = c.rest().trim().to_string();
    if query.is_empty() {
        return Err(err(lineno, "eval without a query"));
    }
    let expect = parse_expectations(lineno, kind, body)?;
    Ok(Case {
        line: lineno,
        query,
        kind,
        expect,
    })
}

/// `log from <t0> to <t1> [direction forward|backward] [limit <n>] [interval <d>] [step <d>]
/// [categorized]`.
fn parse_log_kind(c: &mut Cursor<'_>) -> Result<Kind, String> {
    c.ws();
    expect_word(c, "from")?;
    let start_ns = c.duration()?;
    expect_word(c, "to")?;
    let end_ns = c.duration()?;
    let mut backward = true;
    let mut limit = 100;
    let mut interval_ns = 0;
    let mut step_ns = None;
    let mut categorized = false;
    loop {
        c.ws();
        let save = c.pos;
        match c.word() {
            "direction" => {
                c.ws();
                backward = match c.word() {
                    "forward" => false,
                    "backward" => true,
                    d => return Err(format!("unknown direction {d:?}")),
                };
            }
            "limit" => {
                c.ws();
                let w = c.word();
                limit = w.parse().map_err(|_| format!("bad limit {w:?}"))?;
            }
            "interval" => {
                c.ws();
                interval_ns = c.duration()?;
            }
            "step" => {
                c.ws();
                step_ns = Some(c.duration()?);
            }
            "categorized" => categorized = true,
            _ => {
                c.pos = save;
                break;
            }
        }
    }
    if end_ns < start_ns {
        return Err("log query needs from <= to".into());
    }
    // Loki's query_range default step: the range over 250 points, at least one second.
    let step_ns = step_ns.unwrap_or_else(|| ((end_ns - start_ns) / 250).max(1_000_000_000));
    Ok(Kind::Log {
        start_ns,
        end_ns,
        step_ns,
        interval_ns,
        backward,
        limit,
        categorized,
    })
}

fn expect_word(c: &mut Cursor<'_>, w: &str) -> Result<(), String> {
    c.ws();
    let got = c.word();
    if got != w {
        return Err(format!("expected {w:?}, got {got:?}"));
    }
    c.ws();
    Ok(())
}

fn parse_expectations(
    lineno: usize,
    kind: Kind,
    body: &[(usize, &str)],
) -> Result<Expect, ScriptError> {
    let mut fail: Option<Expect> = None;
    let mut empty = false;
    let mut ordered = false;
    let mut scalar = None;
    let mut series = Vec::new();
    let mut streams: Vec<ExpStream> = Vec::new();
    let is_log = matches!(kind, Kind::Log { .. });
    let categorized = matches!(
        kind,
        Kind::Log {
            categorized: true,
            ..
        }
    );
    let points = match kind {
        Kind::Instant { .. } => 1,
        Kind::Range {
            start_ns,
            end_ns,
            step_ns,
        } => ((end_ns - start_ns) / step_ns + 1) as usize,
        Kind::Log { .. } => 0,
    };
    for &(ln, text) in body {
        let e = |m: String| err(ln, m);
        if let Some(rest) = text.strip_prefix("expect ") {
            let rest = rest.trim();
            if rest == "empty" {
                empty = true;
            } else if rest == "ordered" {
                if !matches!(kind, Kind::Instant { .. }) {
                    return Err(err(ln, "expect ordered is for instant queries"));
                }
                ordered = true;
            } else if let Some(f) = rest.strip_prefix("fail") {
                fail = Some(parse_fail(f.trim()).map_err(e)?);
            } else {
                return Err(err(ln, format!("unknown expectation {rest:?}")));
            }
            continue;
        }
        if is_log {
            if text.starts_with('{') {
                let mut c = Cursor::new(text);
                let labels = c.label_spec().map_err(e)?;
                c.ws();
                if !c.rest().is_empty() {
                    return Err(err(ln, format!("unexpected {:?} after labels", c.rest())));
                }
                streams.push(ExpStream {
                    labels,
                    entries: Vec::new(),
                    line: ln,
                });
            } else {
                let entry = parse_exp_entry(text, categorized).map_err(e)?;
                match streams.last_mut() {
                    Some(s) => s.entries.push(entry),
                    None => return Err(err(ln, "entry before any stream labels")),
                }
            }
            continue;
        }
        if text.starts_with('{') {
            let mut c = Cursor::new(text);
            let labels = c.label_spec().map_err(e)?;
            let values = parse_values(c.rest()).map_err(e)?;
            if values.len() != points {
                return Err(err(
                    ln,
                    format!("{} values for {} points", values.len(), points),
                ));
            }
            series.push(ExpSeries { labels, values });
        } else {
            let v = parse_value(text).map_err(e)?;
            scalar = Some(v.ok_or_else(|| err(ln, "a scalar cannot be `_`"))?);
        }
    }
    if let Some(s) = streams.iter().find(|s| s.entries.is_empty()) {
        return Err(err(s.line, "an expected stream needs at least one entry"));
    }
    let kinds = usize::from(fail.is_some())
        + usize::from(empty)
        + usize::from(scalar.is_some())
        + usize::from(!series.is_empty() || !streams.is_empty());
    if kinds != 1 {
        return Err(err(
            lineno,
            "an eval needs exactly one of: series or streams, a scalar, expect empty, expect fail",
        ));
    }
    if ordered && series.is_empty() {
        return Err(err(lineno, "expect ordered without series"));
    }
    Ok(if let Some(f) = fail {
        f
    } else if empty {
        Expect::Empty
    } else if let Some(v) = scalar {
        Expect::Scalar(v)
    } else if is_log {
        Expect::Streams(streams)
    } else {
        Expect::Series { ordered, series }
    })
}

/// `[status <code>] [msg: <substring> | regex: <pattern>]`.
fn parse_fail(rest: &str) -> Result<Expect, String> {
    let mut rest = rest.trim();
    let mut status = None;
    if let Some(r) = rest.strip_prefix("status ") {
        let r = r.trim_start();
        let end = r.find(char::is_whitespace).unwrap_or(r.len());
        status = Some(
            r[..end]
                .parse::<u16>()
                .map_err(|_| format!("bad status {:?}", &r[..end]))?,
        );
        rest = r[end..].trim();
    }
    let (msg, regex) = if let Some(m) = rest.strip_prefix("msg:") {
        (Some(m.trim().to_string()), None)
    } else if let Some(r) = rest.strip_prefix("regex:") {
        let r = r.trim().to_string();
        regex::Regex::new(&r).map_err(|e| format!("bad regex: {e}"))?;
        (None, Some(r))
    } else if rest.is_empty() {
        (None, None)
    } else {
        return Err(format!("unknown fail condition {rest:?}"));
    };
    Ok(Expect::Fail { msg, regex, status })
}

/// `<time> <line> [metadata {..}] [parsed {..}]`.
fn parse_exp_entry(text: &str, categorized: bool) -> Result<ExpEntry, String> {
    let mut c = Cursor::new(text);
    let ts_ns = parse_duration_ns(c.word())?;
    c.ws();
    let line = c.string()?;
    let mut metadata = LabelSpec::default();
    let mut parsed = LabelSpec::default();
    loop {
        c.ws();
        if c.rest().is_empty() {
            break;
        }
        let w = c.word_until('{');
        c.ws();
        match w {
            "metadata" if categorized => metadata = c.label_spec()?,
            "parsed" if categorized => parsed = c.label_spec()?,
            _ => {
                return Err(format!(
                    "unexpected {w:?} after an entry (metadata/parsed need `categorized`)"
                ));
            }
        }
    }
    Ok(ExpEntry {
        ts_ns,
        line,
        metadata,
        parsed,
    })
}

/// Values of a series line: numbers, `_`, and promqltest's `a+bxn` / `axn` expansions.
fn parse_values(text: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if let Some(expanded) = parse_expansion(tok)? {
            out.extend(expanded.into_iter().map(Some));
        } else {
            out.push(parse_value(tok)?);
        }
    }
    Ok(out)
}

/// `a+bxn`, `a-bxn`, `axn`: `n + 1` values starting at `a`, `b` apart (promqltest's notation).
fn parse_expansion(tok: &str) -> Result<Option<Vec<f64>>, String> {
    let Some(xpos) = tok.rfind('x') else {
        return Ok(None);
    };
    let (head, count) = (&tok[..xpos], &tok[xpos + 1..]);
    let Ok(n) = count.parse::<usize>() else {
        return Ok(None);
    };
    let bytes = head.as_bytes();
    let op = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (base, delta) = match op {
        Some(i) => {
            let d = parse_number(&head[i + 1..])?;
            (
                parse_number(&head[..i])?,
                if bytes[i] == b'-' { -d } else { d },
            )
        }
        None => (parse_number(head)?, 0.0),
    };
    Ok(Some((0..=n).map(|k| base + delta * k as f64).collect()))
}

/// One value: a number, `NaN`, `Inf`, `+Inf`, `-Inf`, or `_` (no point).
pub(crate) fn parse_value(tok: &str) -> Result<Option<f64>, String> {
    if tok == "_" {
        return Ok(None);
    }
    parse_number(tok).map(Some)
}

fn parse_number(tok: &str) -> Result<f64, String> {
    match tok {
        "NaN" => Ok(f64::NAN),
        "Inf" | "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => tok
            .parse::<f64>()
            .map_err(|_| format!("bad number {tok:?}")),
    }
}

/// Parses a Go duration (`0`, `90s`, `1m30s`, `1.5h`, `250ms`, `10us`, `3ns`, optionally signed)
/// into nanoseconds, exactly.
pub(crate) fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let bad = || format!("bad duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        total += int * unit;
        if !frac_part.is_empty() {
            let digits: i128 = frac_part.parse().map_err(|_| bad())?;
            let scale = 10i128.pow(frac_part.len() as u32);
            total += digits * unit / scale;
        }
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).map_err(|_| bad())
}

/// A small scanner over one line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    /// The next run of non-whitespace characters.
    fn word(&mut self) -> &'a str {
        let r = self.rest();
        let n = r.find(char::is_whitespace).unwrap_or(r.len());
        self.pos += n;
        &r[..n]
    }

    /// The next run of characters that are neither whitespace nor `stop`.
    fn word_until(&mut self, stop: char) -> &'a str {
        let r = self.rest();
        let n = r
            .find(|c: char| c.is_whitespace() || c == stop)
            .unwrap_or(r.len());
        self.pos += n;
        &r[..n]
    }

    fn duration(&mut self) -> Result<i64, String> {
        self.ws();
        let d = parse_duration_ns(self.word())?;
        self.ws();
        Ok(d)
    }

    fn ident(&mut self) -> Result<String, String> {
        let r = self.rest();
        let n = r
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
            .unwrap_or(r.len());
        if n == 0 {
            return Err(format!("expected a name at {r:?}"));
        }
        self.pos += n;
        Ok(r[..n].to_string())
    }

    /// A `"..."` string with Go escapes, or a raw `` `...` `` string.
    fn string(&mut self) -> Result<String, String> {
        let r = self.rest();
        match r.chars().next() {
            Some('`') => {
                let end = r[1..]
                    .find('`')
                    .ok_or_else(|| format!("unterminated raw string {r:?}"))?;
                self.pos += end + 2;
                Ok(r[1..end + 1].to_string())
            }
            Some('"') => {
                let (s, used) = unquote(r)?;
                self.pos += used;
                Ok(s)
            }
            _ => Err(format!("expected a quoted string at {r:?}")),
        }
    }

    /// `{name="value", ...}` without regular expressions.
    fn label_pairs(&mut self) -> Result<Vec<(String, String)>, String> {
        let spec = self.label_spec()?;
        spec.pairs
            .into_iter()
            .map(|(n, v)| match v {
                ValueSpec::Exact(v) => Ok((n, v)),
                ValueSpec::Regex(_) => Err(format!("{n}: a loaded label cannot be a regex")),
            })
            .collect()
    }

    /// `{name="value", name=~"regex", ...}`.
    fn label_spec(&mut self) -> Result<LabelSpec, String> {
        self.ws();
        if !self.eat("{") {
            return Err(format!("expected `{{` at {:?}", self.rest()));
        }
        let mut pairs: Vec<(String, ValueSpec)> = Vec::new();
        loop {
            self.ws();
            if self.eat("}") {
                break;
            }
            let name = self.ident()?;
            self.ws();
            let regex = if self.eat("=~") {
                true
            } else if self.eat("=") {
                false
            } else {
                return Err(format!("expected `=` or `=~` after {name:?}"));
            };
            self.ws();
            let value = self.string()?;
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(format!("label {name:?} given twice"));
            }
            let v = if regex {
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("bad regex for {name}: {e}"))?;
                ValueSpec::Regex(value)
            } else {
                ValueSpec::Exact(value)
            };
            pairs.push((name, v));
            self.ws();
            if self.eat(",") {
                continue;
            }
            self.ws();
            if self.eat("}") {
                break;
            }
            return Err(format!("expected `,` or `}}` at {:?}", self.rest()));
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(LabelSpec { pairs })
    }
}

/// Decodes a Go double-quoted string at the start of `s`; returns it and the bytes consumed.
fn unquote(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated escape")?;
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String =
                            (0..n).filter_map(|_| chars.next().map(|x| x.1)).collect();
                        let v = u32::from_str_radix(&hex, 16)
                            .map_err(|_| format!("bad \\{e} escape {hex:?}"))?;
                        out.push(
                            char::from_u32(v).ok_or_else(|| format!("bad code point {v:#x}"))?,
                        );
                    }
                    '0'..='7' => {
                        let mut oct = String::from(e);
                        for _ in 0..2 {
                            oct.push(chars.next().ok_or("short octal escape")?.1);
                        }
                        let v = u32::from_str_radix(&oct, 8)
                            .map_err(|_| format!("bad octal escape {oct:?}"))?;
                        out.push(char::from_u32(v).ok_or("bad octal escape")?);
                    }
                    other => return Err(format!("unknown escape \\{other}")),
                }
            }
            c => out.push(c),
        }
    }
    Err(format!("unterminated string {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert_eq!(parse_duration_ns("90s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration_ns("2s5ns"), Ok(2_000_000_005));
        assert_eq!(parse_duration_ns("-500ms"), Ok(-500_000_000));
        assert_eq!(parse_duration_ns("1µs"), Ok(1_000));
        assert!(parse_duration_ns("5").is_err());
        assert!(parse_duration_ns("1d").is_err());
    }

    #[test]
    fn expansions_and_specials() {
        assert_eq!(
            parse_values("1+2x2 _ 4x1 -1-1x1 NaN").map(|v| v.len()),
            Ok(9)
        );
        assert_eq!(parse_expansion("1-1x2"), Ok(Some(vec![1.0, 0.0, -1.0])));
        assert_eq!(parse_expansion("1e-3x1"), Ok(Some(vec![0.001, 0.001])));
        assert_eq!(parse_value("_"), Ok(None));
    }

    #[test]
    fn load_lines() {
        let s = parse_load_line(
            r##"{app="a", x=""} "v={{.i}}\t" @ 10s [repeat every 5s for 3] [metadata k="v" "a b"="c"]"##,
        )
        .expect("valid");
        assert_eq!(s.labels.len(), 2);
        assert_eq!(s.entries.len(), 3);
        assert_eq!(s.entries[2].ts_ns, 20_000_000_000);
        assert_eq!(s.entries[2].line, "v=2\t");
        assert_eq!(s.entries[0].metadata[1], ("a b".into(), "c".into()));
    }

    #[test]
    fn comments_respect_quotes() {
        assert_eq!(strip_comment(r##"a |= "# x" # c"##), r##"a |= "# x" "##);
        assert_eq!(strip_comment("a |= `#`"), "a |= `#`");
        assert_eq!(strip_comment("# all"), "");
    }

    #[test]
    fn a_script_with_every_block() {
        let text = r##"
clear
load
  {app="a"} "x" @ 1s

eval instant at 1m count_over_time({app="a"}[1m])  # trailing
  {app="a"} 1
eval range from 0 to 1m step 30s count_over_time({app="a"}[1m])
  {app="a"} 1x2
eval log from 0 to 1m direction forward limit 10 {app="a"}
  {app="a"}
    1s "x"
eval instant at 0 1 +
  expect fail status 400 msg: parse error
eval instant at 0 1 + 1
  2
"##;
        let s = parse_script(text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.commands.len(), 7);
    }
}
