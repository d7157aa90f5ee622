//! The crate's error type.

/// Everything that can go wrong in the alerting core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is malformed or inconsistent.
    #[error("invalid alerting config: {0}")]
    Config(String),
    /// A label matcher could not be parsed or compiled.
    #[error("invalid matcher {input:?}: {reason}")]
    Matcher {
        /// The text as given.
        input: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A duration did not follow Prometheus' syntax.
    #[error("invalid duration {0:?}")]
    Duration(String),
    /// A time interval definition is malformed.
    #[error("invalid time interval: {0}")]
    TimeInterval(String),
    /// A posted alert is malformed.
    #[error("invalid alert: {0}")]
    Alert(String),
    /// A silence is malformed or cannot be changed that way.
    #[error("invalid silence: {0}")]
    Silence(String),
    /// A persisted state snapshot cannot be read.
    #[error("invalid alerting state snapshot: {0}")]
    State(String),
    /// No silence has this id.
    #[error("silence {0:?} not found")]
    SilenceNotFound(String),
    /// A notifier could not deliver a notification.
    #[error("notifying receiver {receiver:?} failed: {reason}")]
    Notify {
        /// The receiver name.
        receiver: String,
        /// What went wrong.
        reason: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
    },
}

/// Result with the crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
