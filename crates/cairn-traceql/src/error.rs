//! The crate's errors, worded as Tempo words them.

use std::fmt;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query that does not parse: Tempo's `parse error at line L, col C: ...` (or
/// `parse error : ...` when no position applies).
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

/// Why a query is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// It does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// It parses but is wrongly typed or out of range (Tempo's `validate()` errors).
    #[error("{0}")]
    Invalid(String),
    /// It uses a construct Tempo parses but does not run (Tempo's `unsupportedError`).
    #[error("{0} not yet supported")]
    Unsupported(String),
}
