//! The crate's error type.

/// What went wrong parsing or executing a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The template text is malformed (or names an unknown function); displayed like Go's
    /// `template: name:line: message`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The name of the template being parsed.
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// 1-based column (in characters) of the offending token.
        col: usize,
        /// What was wrong.
        message: String,
    },
    /// Executing the template failed; `message` reads like Go's, e.g.
    /// `__alert_X:1:9: executing "__alert_X" at <$value>: error calling humanize: ...`.
    #[error("template: {message}")]
    Exec {
        /// The name of the template being executed.
        name: String,
        /// Where and what went wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
