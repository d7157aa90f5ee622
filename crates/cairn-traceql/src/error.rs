//! The crate's errors, worded as Tempo words them.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query that does not parse: Tempo's `parse error at line L, col C: ...` (or
/// `parse error : ...` when no position applies).
pub use cairn_syntax::ParseError;

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
    /// Running the query over a trace failed (division by zero, a structural operator over
    /// several spansets, ...).
    #[error("{0}")]
    Eval(String),
}
