//! Line filters: `|=`, `!=`, `|~`, `!~`, `|>`, `!>` and `ip("...")`, chained (all must hold)
//! and with `or` (any operand of a positive filter may match).

use memchr::memmem;

use super::ip::IpMatcher;
use crate::goregex;
use crate::pattern::Pattern;
use crate::syntax::{LineFilter, LineMatch};

/// A compiled line filter.
#[derive(Debug)]
pub(crate) enum LineTest {
    /// Matches every line (`|= ""`, `|~ ".*"`).
    True,
    /// Matches non-empty lines (`|~ ".+"`).
    Exists,
    /// Contains a literal.
    Contains(Box<memmem::Finder<'static>>),
    /// Contains a literal, ignoring case (the needle is lowercase).
    ContainsFold(Vec<u8>),
    /// Matches a regular expression (unanchored).
    Regex(regex::Regex),
    /// Matches a pattern.
    Pattern(Box<Pattern>),
    /// Contains an address the matcher accepts.
    Ip(IpMatcher),
    Not(Box<LineTest>),
    Or(Vec<LineTest>),
    And(Vec<LineTest>),
}

impl LineTest {
    /// Builds the filters of one `Stage::LineFilters`.
    pub(crate) fn build(filters: &[LineFilter]) -> Result<LineTest, String> {
        let mut all = Vec::with_capacity(filters.len());
        for f in filters {
            let t = build_one(f)?;
            if !matches!(t, LineTest::True) {
                all.push(t);
            }
        }
        Ok(match all.len() {
            0 => LineTest::True,
            1 => all.pop().expect("one filter"),
            _ => LineTest::And(all),
        })
    }

    /// Whether `line` passes.
    pub(crate) fn test(&self, line: &[u8]) -> bool {
        match self {
            LineTest::True => true,
            LineTest::Exists => !line.is_empty(),
            LineTest::Contains(f) => f.find(line).is_some(),
            LineTest::ContainsFold(n) => contains_fold(line, n),
            LineTest::Regex(r) => match std::str::from_utf8(line) {
                Ok(s) => r.is_match(s),
                Err(_) => false,
            },
            LineTest::Pattern(p) => std::str::from_utf8(line).is_ok_and(|s| p.test(s)),
            LineTest::Ip(m) => m.find_in(line),
            LineTest::Not(t) => !t.test(line),
            LineTest::Or(ts) => ts.iter().any(|t| t.test(line)),
            LineTest::And(ts) => ts.iter().all(|t| t.test(line)),
        }
    }
}

fn build_one(f: &LineFilter) -> Result<LineTest, String> {
    let mut legs = Vec::with_capacity(f.args.len());
    for a in &f.args {
        let t = if a.ip {
            match f.op {
                LineMatch::Contains | LineMatch::NotContains => {
                    LineTest::Ip(IpMatcher::parse(&a.value)?)
                }
                _ => return Err("ip: invalid operation".into()),
            }
        } else {
            match f.op {
                LineMatch::Contains | LineMatch::NotContains => contains(a.value.as_bytes()),
                LineMatch::Regex | LineMatch::NotRegex => regex_filter(&a.value)?,
                LineMatch::Pattern | LineMatch::NotPattern => {
                    LineTest::Pattern(Box::new(Pattern::parse_filter(&a.value)?))
                }
            }
        };
        legs.push(t);
    }
    let t = if legs.iter().any(|t| matches!(t, LineTest::True)) {
        LineTest::True
    } else if legs.len() == 1 {
        legs.pop().expect("one leg")
    } else {
        LineTest::Or(legs)
    };
    Ok(if f.op.is_positive() {
        t
    } else {
        LineTest::Not(Box::new(t))
    })
}

fn contains(needle: &[u8]) -> LineTest {
    if needle.is_empty() {
        return LineTest::True;
    }
    LineTest::Contains(Box::new(memmem::Finder::new(needle).into_owned()))
}

/// `|~`: Loki turns simple expressions into literal searches; the answers are the same.
fn regex_filter(re: &str) -> Result<LineTest, String> {
    let compiled = goregex::compile(re)?;
    match re {
        "" | ".*" => return Ok(LineTest::True),
        ".+" => return Ok(LineTest::Exists),
        _ => {}
    }
    let is_literal = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !"\\.+*?()|[]{}^$".contains(c) && !c.is_whitespace() || c == ' ')
    };
    if is_literal(re) {
        return Ok(contains(re.as_bytes()));
    }
    if let Some(rest) = re.strip_prefix("(?i)")
        && is_literal(rest)
        && rest.is_ascii()
    {
        return Ok(LineTest::ContainsFold(
            rest.to_ascii_lowercase().into_bytes(),
        ));
    }
    Ok(LineTest::Regex(compiled))
}

/// Case-insensitive substring search for an ASCII lowercase needle.
fn contains_fold(line: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > line.len() {
        return false;
    }
    let first = needle[0];
    let upper = first.to_ascii_uppercase();
    let last = line.len() - needle.len();
    let mut i = 0;
    while i <= last {
        let Some(p) = memchr::memchr2(first, upper, &line[i..=last]) else {
            return false;
        };
        let s = i + p;
        if line[s..s + needle.len()]
            .iter()
            .zip(needle)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            return true;
        }
        i = s + 1;
    }
    false
}

/// The literals every kept line must contain: the case-sensitive `|=` filters with a single
/// operand, for the store's `line_contains` hint.
pub(crate) fn required_literals(filters: &[LineFilter], out: &mut Vec<String>) {
    for f in filters {
        if f.op == LineMatch::Contains
            && f.args.len() == 1
            && !f.args[0].ip
            && !f.args[0].value.is_empty()
            && !out.contains(&f.args[0].value)
        {
            out.push(f.args[0].value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::LineFilterArg;

    fn lf(op: LineMatch, args: &[&str]) -> LineFilter {
        LineFilter {
            op,
            args: args
                .iter()
                .map(|a| LineFilterArg {
                    ip: false,
                    value: (*a).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn chains_and_or() {
        // `|= "foo" |= "bar" or "baz"`: foo and (bar or baz).
        let t = LineTest::build(&[
            lf(LineMatch::Contains, &["foo"]),
            lf(LineMatch::Contains, &["bar", "baz"]),
        ])
        .unwrap();
        assert!(t.test(b"foo baz"));
        assert!(t.test(b"bar foo"));
        assert!(!t.test(b"foo"));
        assert!(!t.test(b"bar baz"));
        let t = LineTest::build(&[lf(LineMatch::NotContains, &["err"])]).unwrap();
        assert!(t.test(b"ok"));
        assert!(!t.test(b"an error"));
    }

    #[test]
    fn regexes() {
        let t = LineTest::build(&[lf(LineMatch::Regex, &["(?i)ERROR"])]).unwrap();
        assert!(t.test(b"an error here"));
        let t = LineTest::build(&[lf(LineMatch::Regex, &[r"status=5\d\d"])]).unwrap();
        assert!(t.test(b"x status=503 y"));
        assert!(!t.test(b"x status=403 y"));
        let t = LineTest::build(&[lf(LineMatch::NotRegex, &[".+"])]).unwrap();
        assert!(t.test(b""));
        assert!(!t.test(b"a"));
        assert!(LineTest::build(&[lf(LineMatch::Regex, &["("])]).is_err());
        assert!(contains_fold(b"xxHeLLo", b"hello"));
        assert!(!contains_fold(b"xxHeLL", b"hello"));
    }

    #[test]
    fn patterns_and_ips() {
        let t = LineTest::build(&[lf(LineMatch::Pattern, &["<_> level=error <_>"])]).unwrap();
        assert!(t.test(b"ts=1 level=error msg=x"));
        assert!(!t.test(b"ts=1 level=info msg=x"));
        let ip = LineFilter {
            op: LineMatch::NotContains,
            args: vec![LineFilterArg {
                ip: true,
                value: "10.0.0.0/8".into(),
            }],
        };
        let t = LineTest::build(&[ip]).unwrap();
        assert!(t.test(b"from 192.168.1.1"));
        assert!(!t.test(b"from 10.1.1.1"));
    }
}
