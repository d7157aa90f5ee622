//! Label filters: string matchers, number, duration and byte size comparisons, `ip()`, and
//! their `and`/`or` combinations, with Loki's handling of missing labels and unparsable values
//! (`__error__="LabelFilterErr"`).

use cairn_model::MatchOp;

use super::ip::IpMatcher;
use super::state::{ERR_LABEL_FILTER, ERROR_LABEL, LabelState};
use crate::gofmt;
use crate::goregex;
use crate::syntax::{CmpOp, LabelFilter};

/// How a string label filter compares.
#[derive(Debug)]
pub(crate) enum StrTest {
    Equal(String),
    NotEqual(String),
    /// `=~ ".*"`: every value, Loki's no-op filter.
    Any,
    Regex(regex::Regex),
    NotRegex(regex::Regex),
}

impl StrTest {
    fn test(&self, v: &str) -> bool {
        match self {
            StrTest::Equal(s) => v == s,
            StrTest::NotEqual(s) => v != s,
            StrTest::Any => true,
            StrTest::Regex(r) => r.is_match(v),
            StrTest::NotRegex(r) => !r.is_match(v),
        }
    }
}

/// A compiled label filter.
#[derive(Debug)]
pub(crate) enum LabelFilterStage {
    Str {
        name: String,
        test: StrTest,
    },
    Ip {
        name: String,
        equal: bool,
        ip: Option<IpMatcher>,
    },
    Duration {
        name: String,
        op: CmpOp,
        value_ns: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    And(Box<LabelFilterStage>, Box<LabelFilterStage>),
    Or(Box<LabelFilterStage>, Box<LabelFilterStage>),
}

impl LabelFilterStage {
    /// Compiles a filter; only a top-level `ip()` with a bad pattern is an error (Loki's check).
    pub(crate) fn build(f: &LabelFilter, top: bool) -> Result<LabelFilterStage, String> {
        Ok(match f {
            LabelFilter::Matcher(m) => {
                let test = match m.op {
                    MatchOp::Equal => StrTest::Equal(m.value.clone()),
                    MatchOp::NotEqual => StrTest::NotEqual(m.value.clone()),
                    MatchOp::Regex if m.value == ".*" => StrTest::Any,
                    MatchOp::Regex => StrTest::Regex(goregex::compile_anchored(&m.value)?),
                    MatchOp::NotRegex => StrTest::NotRegex(goregex::compile_anchored(&m.value)?),
                };
                LabelFilterStage::Str {
                    name: m.name.clone(),
                    test,
                }
            }
            LabelFilter::Ip {
                name,
                equal,
                pattern,
            } => {
                let ip = match IpMatcher::parse(pattern) {
                    Ok(ip) => Some(ip),
                    Err(e) if top => return Err(e),
                    Err(_) => None,
                };
                LabelFilterStage::Ip {
                    name: name.clone(),
                    equal: *equal,
                    ip,
                }
            }
            LabelFilter::Duration { name, op, value_ns } => LabelFilterStage::Duration {
                name: name.clone(),
                op: *op,
                value_ns: *value_ns,
            },
            LabelFilter::Bytes { name, op, value } => LabelFilterStage::Bytes {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilter::Number { name, op, value } => LabelFilterStage::Number {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilter::And(a, b) => LabelFilterStage::And(
                Box::new(LabelFilterStage::build(a, false)?),
                Box::new(LabelFilterStage::build(b, false)?),
            ),
            LabelFilter::Or(a, b) => LabelFilterStage::Or(
                Box::new(LabelFilterStage::build(a, false)?),
                Box::new(LabelFilterStage::build(b, false)?),
            ),
        })
    }

    /// Whether this filter does nothing (Loki drops `=~".*"` filters from pipelines).
    pub(crate) fn is_noop(&self) -> bool {
        matches!(
            self,
            LabelFilterStage::Str {
                test: StrTest::Any,
                ..
            }
        )
    }

    /// The labels this filter reads (Loki's `RequiredLabelNames`).
    pub(crate) fn required(&self, out: &mut Vec<String>) {
        match self {
            LabelFilterStage::Str {
                test: StrTest::Any, ..
            } => {}
            LabelFilterStage::Str { name, .. }
            | LabelFilterStage::Ip { name, .. }
            | LabelFilterStage::Duration { name, .. }
            | LabelFilterStage::Bytes { name, .. }
            | LabelFilterStage::Number { name, .. } => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            LabelFilterStage::And(a, b) | LabelFilterStage::Or(a, b) => {
                a.required(out);
                b.required(out);
            }
        }
    }

    /// The single label a non-binary filter reads, for the parser hints.
    pub(crate) fn single_label(&self) -> Option<&str> {
        match self {
            LabelFilterStage::Str {
                test: StrTest::Any, ..
            }
            | LabelFilterStage::And(..)
            | LabelFilterStage::Or(..) => None,
            LabelFilterStage::Str { name, .. }
            | LabelFilterStage::Ip { name, .. }
            | LabelFilterStage::Duration { name, .. }
            | LabelFilterStage::Bytes { name, .. }
            | LabelFilterStage::Number { name, .. } => Some(name),
        }
    }

    /// Applies the filter to the current line's labels.
    pub(crate) fn test(&self, st: &mut LabelState) -> bool {
        match self {
            LabelFilterStage::And(a, b) => {
                let l = a.test(st);
                let r = b.test(st);
                l && r
            }
            LabelFilterStage::Or(a, b) => a.test(st) || b.test(st),
            LabelFilterStage::Str { name, test } => {
                if name == ERROR_LABEL {
                    return test.test(st.err());
                }
                test.test(st.get(name).unwrap_or(""))
            }
            LabelFilterStage::Ip { name, equal, ip } => {
                if st.has_err() {
                    return true;
                }
                let Some(v) = st.get(name) else { return false };
                let Some(ip) = ip else { return false };
                ip.find_in(v.as_bytes()) == *equal
            }
            LabelFilterStage::Number { name, op, value } => {
                let Some(v) = st.get(name) else { return false };
                match parse_f64(v) {
                    Ok(x) => op.test(x, *value),
                    Err(e) => filter_error(st, &e),
                }
            }
            LabelFilterStage::Duration { name, op, value_ns } => {
                let Some(v) = st.get(name) else { return false };
                match gofmt::parse_go_duration(v) {
                    Ok(x) => op.test(x, *value_ns),
                    Err(e) => filter_error(st, &e),
                }
            }
            LabelFilterStage::Bytes { name, op, value } => {
                let Some(v) = st.get(name) else { return false };
                match gofmt::parse_bytes(v) {
                    Ok(x) => op.test(x, *value),
                    Err(e) => filter_error(st, &e),
                }
            }
        }
    }
}

/// An unparsable value keeps the line and flags it, unless an error is already set.
fn filter_error(st: &mut LabelState, details: &str) -> bool {
    if !st.has_err() {
        st.set_err(ERR_LABEL_FILTER);
        st.set_err_details(details);
    }
    true
}

/// Go's `strconv.ParseFloat`, with a fast path for plain decimals.
pub(crate) fn parse_f64(s: &str) -> Result<f64, String> {
    let b = s.as_bytes();
    if !b.is_empty()
        && b[0] != b'+'
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'e' | b'E'))
        && let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Ok(v);
    }
    gofmt::parse_float(s)
}
