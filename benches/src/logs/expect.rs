//! The answers the benchmark's queries must give, computed from the corpus itself: the
//! streams a selector matches are regenerated, each line is parsed with an independent parser
//! (serde_json for `| json`, a logfmt tokenizer written from the logfmt rules for `| logfmt`),
//! and the result follows LogQL's documented semantics:
//!
//! - log queries return the entries with `start <= ts < end`, newest first for `backward`,
//!   at most `limit`;
//! - a range aggregation at step time t covers `(t - range, t]`, steps run from `start` to
//!   `end` inclusive every `step`, and a step whose window holds no sample has no point;
//! - `rate` is the count divided by the range in seconds;
//! - a numeric label filter (`status >= 500`) drops lines without the label.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::corpus::{Corpus, LineCache};

/// A stream selector with one equality matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `{app="<value>"}`
    App(String),
    /// `{namespace="<value>"}`
    Namespace(String),
}

impl Selector {
    fn matches(&self, labels: &[(String, String)]) -> bool {
        let (name, value) = match self {
            Selector::App(v) => ("app", v),
            Selector::Namespace(v) => ("namespace", v),
        };
        labels.iter().any(|(n, v)| n == name && v == value)
    }
}

/// The pipeline of a log query.
#[derive(Debug, Clone, PartialEq)]
pub enum LogQuery {
    /// `|= "<text>"`
    Contains(String),
    /// `| json | status >= <n>`
    JsonStatusAtLeast(f64),
}

/// The metric queries of the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricQuery {
    /// `sum(count_over_time(<sel> | json | status >= <n> [<range>]))`
    CountJsonStatusAtLeast(f64),
    /// `sum by (level) (rate(<sel> | json [<range>]))`
    RateByLevelJson,
    /// `sum by (level) (rate(<sel> | logfmt [<range>]))`
    RateByLevelLogfmt,
}

/// What one line contributes to the answers.
#[derive(Debug, Clone, Copy)]
struct Fact {
    ts_ns: i64,
    bytes: u32,
    contains: bool,
    /// The `status` label as a number, NaN when absent or not numeric.
    status: f32,
    /// Index into `Expected::levels`; u16::MAX when the line has no `level`.
    level: u16,
}

/// The selected lines of one selector, reduced to what the answers need.
#[derive(Debug, Default)]
pub struct Expected {
    facts: Vec<Fact>,
    levels: Vec<String>,
    /// Lines the parser could not parse (a JSON or logfmt error in Loki).
    pub parse_errors: u64,
    /// Streams matched.
    pub streams: usize,
}

#[derive(Deserialize)]
struct JsonFields {
    level: Option<serde_json::Value>,
    status: Option<serde_json::Value>,
}

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// logfmt as the go-logfmt decoder reads it: `key=value` pairs separated by spaces, values
/// bare or double-quoted with backslash escapes, a key without `=` has an empty value.
/// Returns the pairs, or None when a quoted value is not closed.
pub(crate) fn parse_logfmt(line: &[u8]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i] == b' ' {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let k0 = i;
        while i < line.len() && line[i] != b'=' && line[i] != b' ' {
            i += 1;
        }
        let key = String::from_utf8_lossy(&line[k0..i]).into_owned();
        if i >= line.len() || line[i] == b' ' {
            out.push((key, String::new()));
            continue;
        }
        i += 1; // '='
        let mut value = Vec::new();
        if i < line.len() && line[i] == b'"' {
            i += 1;
            let mut closed = false;
            while i < line.len() {
                match line[i] {
                    b'\\' if i + 1 < line.len() => {
                        let c = line[i + 1];
                        value.push(match c {
                            b'n' => b'\n',
                            b't' => b'\t',
                            b'r' => b'\r',
                            other => other,
                        });
                        i += 2;
                    }
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    b => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            if !closed {
                return None;
            }
        } else {
            let v0 = i;
            while i < line.len() && line[i] != b' ' {
                i += 1;
            }
            value.extend_from_slice(&line[v0..i]);
        }
        out.push((key, String::from_utf8_lossy(&value).into_owned()));
    }
    Some(out)
}

/// Parser applied to the selected lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// Lines are only searched for the needle.
    None,
    /// `| json`
    Json,
    /// `| logfmt`
    Logfmt,
}

impl Expected {
    /// Regenerates the streams matching `selector` and records, for every line from
    /// `from_ns` on, its time, size, whether it contains `needle`, and the `status` and
    /// `level` the parser extracts.
    pub fn scan(
        corpus: &Corpus,
        selector: &Selector,
        needle: &str,
        parser: Parser,
        from_ns: i64,
    ) -> Expected {
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut exp = Expected::default();
        let mut line = Vec::with_capacity(8192);
        let mut cache = LineCache::default();
        for (i, s) in corpus.streams().iter().enumerate() {
            if !selector.matches(&s.labels) {
                continue;
            }
            exp.streams += 1;
            let mut c = corpus.cursor(i);
            while corpus.advance(&mut c) {
                line.clear();
                corpus.write(&mut c, &mut cache, &mut line);
                if c.ts_ns < from_ns {
                    continue;
                }
                let (level, status) = match parser {
                    Parser::None => (None, None),
                    Parser::Json => match serde_json::from_slice::<JsonFields>(&line) {
                        Ok(f) => (
                            f.level.as_ref().and_then(scalar_text),
                            f.status.as_ref().and_then(scalar_text),
                        ),
                        Err(_) => {
                            exp.parse_errors += 1;
                            (None, None)
                        }
                    },
                    Parser::Logfmt => match parse_logfmt(&line) {
                        Some(pairs) => {
                            let get = |k: &str| {
                                pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
                            };
                            (get("level"), get("status"))
                        }
                        None => {
                            exp.parse_errors += 1;
                            (None, None)
                        }
                    },
                };
                let level = match level {
                    None => u16::MAX,
                    Some(l) => match exp.levels.iter().position(|x| *x == l) {
                        Some(p) => p as u16,
                        None => {
                            exp.levels.push(l);
                            (exp.levels.len() - 1) as u16
                        }
                    },
                };
                let status = status
                    .and_then(|s| s.parse::<f64>().ok())
                    .map_or(f32::NAN, |v| v as f32);
                exp.facts.push(Fact {
                    ts_ns: c.ts_ns,
                    bytes: line.len() as u32,
                    contains: finder.find(&line).is_some(),
                    status,
                    level,
                });
            }
        }
        exp.facts.sort_by_key(|f| f.ts_ns);
        exp
    }

    /// Raw bytes of the selected lines with `lo < ts <= hi` (`inclusive_lo` makes it
    /// `lo <= ts`).
    pub fn bytes_between(&self, lo: i64, hi: i64, inclusive_lo: bool) -> u64 {
        self.facts
            .iter()
            .filter(|f| (f.ts_ns > lo || (inclusive_lo && f.ts_ns == lo)) && f.ts_ns <= hi)
            .map(|f| u64::from(f.bytes))
            .sum()
    }

    /// Lines selected with `start <= ts < end`.
    pub fn lines_between(&self, start: i64, end: i64) -> usize {
        self.facts
            .iter()
            .filter(|f| f.ts_ns >= start && f.ts_ns < end)
            .count()
    }

    fn keeps(&self, f: &Fact, q: &LogQuery) -> bool {
        match q {
            LogQuery::Contains(_) => f.contains,
            LogQuery::JsonStatusAtLeast(n) => !f.status.is_nan() && f64::from(f.status) >= *n,
        }
    }
}

/// The timestamps a log query returns, newest first (direction backward), and how many lines
/// match in all (before the limit).
pub fn expected_logs(
    exp: &Expected,
    q: &LogQuery,
    start_ns: i64,
    end_ns: i64,
    limit: usize,
) -> (Vec<i64>, usize) {
    let matching: Vec<i64> = exp
        .facts
        .iter()
        .filter(|f| f.ts_ns >= start_ns && f.ts_ns < end_ns && exp.keeps(f, q))
        .map(|f| f.ts_ns)
        .collect();
    let total = matching.len();
    let newest: Vec<i64> = matching.iter().rev().take(limit).copied().collect();
    (newest, total)
}

/// The series of a metric query: group (the `level` value, or "" for `sum(...)`) -> points
/// `(t_ns, value)` for the steps whose window holds samples.
pub fn expected_metric(
    exp: &Expected,
    q: &MetricQuery,
    start_ns: i64,
    end_ns: i64,
    step_ns: i64,
    range_ns: i64,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let groups = exp.levels.len() + 1;
    let group_of = |f: &Fact| -> Option<usize> {
        match q {
            MetricQuery::CountJsonStatusAtLeast(n) => {
                (!f.status.is_nan() && f64::from(f.status) >= *n).then_some(0)
            }
            MetricQuery::RateByLevelJson | MetricQuery::RateByLevelLogfmt => {
                Some(if f.level == u16::MAX {
                    exp.levels.len()
                } else {
                    f.level as usize
                })
            }
        }
    };
    let mut t = start_ns;
    let mut lo = 0usize;
    let mut hi = 0usize;
    while t <= end_ns {
        // The facts are sorted by time: slide the window (t - range, t].
        while lo < exp.facts.len() && exp.facts[lo].ts_ns <= t - range_ns {
            lo += 1;
        }
        if hi < lo {
            hi = lo;
        }
        while hi < exp.facts.len() && exp.facts[hi].ts_ns <= t {
            hi += 1;
        }
        let mut counts = vec![0u64; groups];
        let mut any = vec![false; groups];
        for f in &exp.facts[lo..hi] {
            if let Some(g) = group_of(f) {
                counts[g] += 1;
                any[g] = true;
            }
        }
        for g in 0..groups {
            if !any[g] {
                continue;
            }
            let name = match q {
                MetricQuery::CountJsonStatusAtLeast(_) => String::new(),
                _ if g == exp.levels.len() => String::new(),
                _ => exp.levels[g].clone(),
            };
            let v = match q {
                MetricQuery::CountJsonStatusAtLeast(_) => counts[g] as f64,
                _ => counts[g] as f64 / (range_ns as f64 / 1e9),
            };
            out.entry(name).or_default().push((t, v));
        }
        t += step_ns;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_tokenizer_follows_the_rules() {
        let p =
            parse_logfmt(br#"ts=1 level=info msg="a \"b\" c" empty= flag k=v=w"#).expect("parses");
        assert_eq!(
            p,
            vec![
                ("ts".into(), "1".into()),
                ("level".into(), "info".into()),
                ("msg".into(), "a \"b\" c".into()),
                ("empty".into(), String::new()),
                ("flag".into(), String::new()),
                ("k".into(), "v=w".into()),
            ]
        );
        assert!(parse_logfmt(br#"msg="unterminated"#).is_none());
    }

    fn fact(ts: i64, status: f32, level: u16) -> Fact {
        Fact {
            ts_ns: ts,
            bytes: 10,
            contains: status >= 500.0,
            status,
            level,
        }
    }

    #[test]
    fn windows_are_left_open_and_right_closed() {
        let exp = Expected {
            facts: vec![
                fact(100, 200.0, 0),
                fact(200, 503.0, 1),
                fact(300, 500.0, 1),
                fact(400, f32::NAN, 0),
            ],
            levels: vec!["info".into(), "error".into()],
            ..Expected::default()
        };
        // Steps 200, 300, 400 with a range of 100: windows (100,200], (200,300], (300,400].
        let m = expected_metric(
            &exp,
            &MetricQuery::CountJsonStatusAtLeast(500.0),
            200,
            400,
            100,
            100,
        );
        assert_eq!(m.get(""), Some(&vec![(200, 1.0), (300, 1.0)]));
        let r = expected_metric(&exp, &MetricQuery::RateByLevelJson, 200, 400, 100, 100);
        // The range is 100 ns, so rates are counts / 1e-7 s.
        assert_eq!(r.get("error"), Some(&vec![(200, 1e7), (300, 1e7)]));
        assert_eq!(r.get("info"), Some(&vec![(400, 1e7)]));
        // Log queries: [start, end), newest first, limited.
        let (ts, total) = expected_logs(&exp, &LogQuery::JsonStatusAtLeast(500.0), 200, 300, 10);
        assert_eq!((ts, total), (vec![200], 1));
        let (ts, total) = expected_logs(&exp, &LogQuery::Contains(String::new()), 0, 1000, 1);
        assert_eq!((ts, total), (vec![300], 2));
        assert_eq!(exp.bytes_between(100, 300, false), 20);
        assert_eq!(exp.bytes_between(100, 300, true), 30);
    }
}
