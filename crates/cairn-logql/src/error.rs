//! The crate's error type, with Loki's messages and the kind the HTTP layer maps to a status.

use cairn_model::{QueryError, QueryErrorKind};

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query that does not parse, or fails the checks Loki makes right after parsing; Loki's
/// `parse error at line L, col C: ...` (or `parse error : ...` when no position applies).
pub use cairn_syntax::ParseError;

/// The kinds of failure a client can tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query or its parameters are wrong (Loki: 400).
    BadRequest,
    /// A limit was hit (Loki answers 400 for every query limit).
    Limit,
    /// The query ran past its timeout (Loki: 504).
    Timeout,
    /// The query was canceled, typically because its client went away (Loki: 499).
    Canceled,
    /// The storage could not answer now; retrying may help (503).
    Unavailable,
    /// A bug (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status Loki answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest | ErrorKind::Limit => 400,
            ErrorKind::Timeout => 504,
            ErrorKind::Canceled => 499,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// A LogQL failure; `Display` is Loki's message.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The query does not parse or is semantically invalid.
    #[error("{0}")]
    Parse(ParseError),
    /// A request parameter is invalid (time range, step, limit, direction...).
    #[error("{0}")]
    BadParameter(String),
    /// A log query sent as an instant query.
    #[error(
        "log queries are not supported as an instant query type, please change your query to a range query type"
    )]
    InstantLogQuery,
    /// A metric query met an entry whose pipeline set `__error__` without a filter skipping it.
    #[error(
        "pipeline error: '{error}' for series: '{series}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"{error}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
    )]
    Pipeline {
        /// The `__error__` value.
        error: String,
        /// The series' labels, as Loki prints them.
        series: String,
    },
    /// Evaluation failed on the data (vector matching conflicts...).
    #[error("{0}")]
    Execution(String),
    /// A query limit was hit; the message is Loki's.
    #[error("{0}")]
    Limit(String),
    /// The query ran past its timeout.
    #[error(
        "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"
    )]
    Timeout,
    /// The query was canceled.
    #[error("the request was cancelled by the client")]
    Canceled,
    /// The storage refused or failed.
    #[error("{0}")]
    Storage(QueryError),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind deciding the status a client gets.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Parse(_)
            | Error::BadParameter(_)
            | Error::Pipeline { .. }
            | Error::InstantLogQuery => ErrorKind::BadRequest,
            Error::Execution(_) => ErrorKind::BadRequest,
            Error::Limit(_) => ErrorKind::Limit,
            Error::Timeout => ErrorKind::Timeout,
            Error::Canceled => ErrorKind::Canceled,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Storage(e) => match e.kind {
                QueryErrorKind::BadData => ErrorKind::BadRequest,
                QueryErrorKind::LimitExceeded => ErrorKind::Limit,
                QueryErrorKind::Unavailable => ErrorKind::Unavailable,
                QueryErrorKind::Canceled => ErrorKind::Canceled,
                QueryErrorKind::Internal => ErrorKind::Internal,
            },
        }
    }

    /// The HTTP status Loki answers with.
    pub fn http_status(&self) -> u16 {
        self.kind().http_status()
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Parse(e)
    }
}

impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        Error::Storage(e)
    }
}
