//! The crate's error type and its mapping to Prometheus' `errorType`.

use cairn_model::{QueryError, QueryErrorKind};

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kinds of failure a client can tell apart; each is one Prometheus `errorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query text or its parameters are wrong (`bad_data`, 400).
    BadData,
    /// Evaluation failed or hit a limit (`execution`, 422).
    Execution,
    /// The query ran past its timeout (`timeout`, 503).
    Timeout,
    /// The query was canceled (`canceled`, 499).
    Canceled,
    /// The storage could not answer now (`unavailable`, 503).
    Unavailable,
    /// A bug (`internal`, 500).
    Internal,
}

impl ErrorKind {
    /// Prometheus' `errorType` string for this kind.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A PromQL failure.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The expression does not parse.
    #[error("parse error{}: {message}", position.map(|p| format!(" at char {p}")).unwrap_or_default())]
    Parse {
        /// Byte offset into the query of the offending text, when it can be told.
        position: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// A parameter of the request (time range, step) is invalid.
    #[error("invalid parameter {name:?}: {message}")]
    BadParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Evaluation failed on the data (duplicate label sets, bad function arguments, ...).
    #[error("{0}")]
    Execution(String),
    /// The request is valid but the query cannot run as asked (Prometheus words these
    /// without naming a parameter, e.g. the 11,000 points rule).
    #[error("{0}")]
    BadQuery(String),
    /// The query touched more samples than allowed (Prometheus' exact words).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples {
        /// The limit.
        limit: usize,
    },
    /// The query selected more series than allowed.
    #[error("query would select more than {limit} series (query.max_series)")]
    TooManySeries {
        /// The limit.
        limit: usize,
    },
    /// The query ran past its timeout (Prometheus' exact words).
    #[error("query timed out in expression evaluation")]
    Timeout {
        /// How long it ran.
        elapsed_ms: u64,
    },
    /// The query was canceled, typically because its client went away.
    #[error("query was canceled in expression evaluation")]
    Canceled,
    /// A bug in the engine.
    #[error("internal error: {0}")]
    Internal(String),
    /// The storage refused or failed.
    #[error("storage error: {0}")]
    Storage(#[from] QueryError),
}

impl Error {
    /// The kind deciding the answer a client gets.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Parse { .. } | Error::BadParameter { .. } | Error::BadQuery(_) => {
                ErrorKind::BadData
            }
            Error::Execution(_) | Error::TooManySamples { .. } | Error::TooManySeries { .. } => {
                ErrorKind::Execution
            }
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Canceled => ErrorKind::Canceled,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Storage(e) => match e.kind {
                QueryErrorKind::BadData => ErrorKind::BadData,
                QueryErrorKind::LimitExceeded => ErrorKind::Execution,
                QueryErrorKind::Unavailable => ErrorKind::Unavailable,
                QueryErrorKind::Canceled => ErrorKind::Canceled,
                QueryErrorKind::Internal => ErrorKind::Internal,
            },
        }
    }

    pub(crate) fn exec(message: impl Into<String>) -> Self {
        Error::Execution(message.into())
    }
}
