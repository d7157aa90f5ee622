//! The crate's error type.

/// What went wrong reading, validating or compiling an SLO file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not valid YAML, or a document is of a kind we do not read.
    #[error("{file}: {message}")]
    File {
        /// The file's name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// One SLO breaks a rule of its format.
    #[error("{file}: slo {slo:?}: {field}: {message}")]
    Slo {
        /// The file's name.
        file: String,
        /// The SLO's name (or id).
        slo: String,
        /// The offending field, as a path (`sli.events.error_query`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An `AlertWindows` spec is invalid, or no windows exist for an SLO's period.
    #[error("alert windows: {0}")]
    Windows(String),
    /// Querying the SLO status failed.
    #[error("slo status query {query:?}: {message}")]
    Query {
        /// The query.
        query: String,
        /// The cause.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
