//! The crate's error type.

/// What went wrong loading or evaluating rules.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file is not valid YAML or breaks a rule of the format.
    #[error("{file}: {message}")]
    File {
        /// The file's name.
        file: String,
        /// What is wrong, with group, rule and line when known.
        message: String,
    },
    /// A rule file could not be read, or a glob is invalid.
    #[error("cannot read rule files {path}: {message}")]
    Read {
        /// The path or glob.
        path: String,
        /// The cause.
        message: String,
    },
    /// Evaluating a rule failed.
    #[error("{0}")]
    Eval(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
