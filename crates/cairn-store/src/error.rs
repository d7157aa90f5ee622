//! The one error type of the storage engine.

/// What kind of object store failure happened; retries match on this, never on message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// The object does not exist.
    NotFound,
    /// A conditional request's precondition did not hold.
    PreconditionFailed,
    /// A create-if-absent write found the object already there.
    AlreadyExists,
    /// A failure that may go away when retried (network, throttling, server error).
    Transient,
    /// A failure that will not go away by retrying (permissions, bad configuration).
    Permanent,
}

/// A storage engine failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object store request failed.
    #[error("object store {op} of {path:?} failed ({kind:?}): {source}")]
    ObjectStore {
        /// The operation (get, put, list, delete...).
        op: &'static str,
        /// The object path.
        path: String,
        /// What kind of failure.
        kind: StorageErrorKind,
        /// The underlying error.
        source: object_store::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("parquet: {0}")]
    Parquet(String),
    /// A stored object does not have the expected content.
    #[error("corrupt object {path:?}: {reason}")]
    Corrupt {
        /// The object path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A local file operation failed.
    #[error("i/o on {path:?}: {source}")]
    Io {
        /// The file path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The catalog kept changing under a writer until it gave up.
    #[error("catalog of tenant {tenant:?} kept changing concurrently; gave up")]
    CatalogConflict {
        /// The tenant.
        tenant: String,
    },
    /// A query or write went past a configured limit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// A block with no samples was asked to be written.
    #[error("refusing to write an empty block for tenant {tenant:?}")]
    EmptyBlock {
        /// The tenant.
        tenant: String,
    },
    /// Invalid configuration.
    #[error("invalid storage configuration: {0}")]
    Config(String),
    /// The write-ahead log is damaged where a torn write cannot explain it.
    #[error("wal segment {segment} is corrupt at offset {offset}: {reason}")]
    WalCorrupt {
        /// The segment file.
        segment: String,
        /// Byte offset of the bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Writing or syncing the write-ahead log failed; nothing of the write was acknowledged
    /// and retrying may succeed.
    #[error("wal write to segment {segment} failed: {reason}")]
    Wal {
        /// The segment.
        segment: String,
        /// The failure.
        reason: String,
    },
    /// The storage is shutting down and takes no more writes.
    #[error("storage is shutting down")]
    Shutdown,
    /// A head holds more than it may while its cut catches up; the write took nothing and
    /// may be retried.
    #[error(
        "the {signal} head holds {held} bytes, over its limit of {limit} bytes while blocks are cut from it; retry later"
    )]
    HeadFull {
        /// Which head (`trace`).
        signal: &'static str,
        /// What it holds, bytes.
        held: u64,
        /// Its limit, bytes.
        limit: u64,
    },
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The object store failure kind, if this is an object store error.
    pub fn storage_kind(&self) -> Option<StorageErrorKind> {
        match self {
            Error::ObjectStore { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// The storage engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
