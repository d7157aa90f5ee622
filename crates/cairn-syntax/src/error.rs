//! The syntax error both languages report, worded as Loki and Tempo word theirs.

use std::fmt;

/// A query that does not parse: `parse error at line L, col C: ...`, or `parse error : ...`
/// when no position applies (the wording Loki and Tempo share).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub msg: String,
    /// Line, from 1; 0 when unknown or invalidated by the lexer (as Go's scanner does).
    pub line: usize,
    /// Column in characters, from 1; 0 when unknown.
    pub col: usize,
}

impl ParseError {
    /// An error at `line`, `col`.
    pub fn new(msg: impl Into<String>, line: usize, col: usize) -> Self {
        ParseError {
            msg: msg.into(),
            line,
            col,
        }
    }

    /// An error without a position.
    pub fn unpositioned(msg: impl Into<String>) -> Self {
        ParseError::new(msg, 0, 0)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 && self.col == 0 {
            write!(f, "parse error : {}", self.msg)
        } else {
            write!(
                f,
                "parse error at line {}, col {}: {}",
                self.line, self.col, self.msg
            )
        }
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_print_as_go_parsers_print_them() {
        assert_eq!(
            ParseError::new("syntax error: unexpected }", 1, 5).to_string(),
            "parse error at line 1, col 5: syntax error: unexpected }"
        );
        assert_eq!(
            ParseError::unpositioned("input size too long").to_string(),
            "parse error : input size too long"
        );
    }
}
