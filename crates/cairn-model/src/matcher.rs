//! Label matchers with Prometheus semantics.

use std::fmt;

use regex::Regex;

/// How a matcher compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored)
    Regex,
    /// `!~` (fully anchored)
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// Why a matcher could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
pub struct MatcherError {
    /// The label name.
    pub name: String,
    /// The pattern as given.
    pub pattern: String,
    /// What the regex compiler said.
    pub reason: String,
}

/// A label matcher. An absent label matches as the empty string, as in Prometheus.
#[derive(Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value or pattern as written.
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// A matcher; regex patterns are anchored at both ends and `.` matches newlines,
    /// as Prometheus compiles them (`^(?s:pattern)$`).
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Self, MatcherError> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|e| MatcherError {
                    name: name.to_string(),
                    pattern: value.to_string(),
                    reason: e.to_string(),
                })?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// `name="value"`.
    pub fn equal(name: &str, value: &str) -> Self {
        Matcher::new(MatchOp::Equal, name, value).expect("equality matchers always build")
    }

    /// True when a label whose value is `value` (or `""` when absent) passes.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex().is_match(value),
            MatchOp::NotRegex => !self.regex().is_match(value),
        }
    }

    /// True when this matcher passes for the empty string, i.e. also for series lacking the
    /// label: such matchers cannot be answered from postings of the label alone.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` matchers whose pattern is a plain alternation of literals (`a|b|c`), the
    /// literals; lets an index answer them with lookups instead of a scan.
    pub fn set_matches(&self) -> Option<Vec<String>> {
        if self.op != MatchOp::Regex {
            return None;
        }
        let mut out = Vec::new();
        for part in self.value.split('|') {
            if part.is_empty() || part.chars().any(|c| "\\.+*?()[]{}^$".contains(c)) {
                return None;
            }
            out.push(part.to_string());
        }
        Some(out)
    }

    fn regex(&self) -> &Regex {
        self.re
            .as_ref()
            .expect("regex matchers are built with a compiled regex")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let m = Matcher::new(MatchOp::Regex, "a", "fo.").unwrap();
        assert!(m.matches("foo"));
        assert!(!m.matches("xfoo"));
        assert!(!m.matches("food"));
        assert!(m.matches("fo\n"));
        let n = Matcher::new(MatchOp::NotRegex, "a", "fo.").unwrap();
        assert!(n.matches("bar"));
        assert!(n.matches_empty());
    }

    #[test]
    fn bad_regex_names_label() {
        let e = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(e.to_string().contains("job"), "{e}");
    }

    #[test]
    fn set_matches() {
        let m = Matcher::new(MatchOp::Regex, "a", "x|y|z").unwrap();
        assert_eq!(m.set_matches().unwrap(), vec!["x", "y", "z"]);
        let m = Matcher::new(MatchOp::Regex, "a", "x.*").unwrap();
        assert!(m.set_matches().is_none());
    }
}
