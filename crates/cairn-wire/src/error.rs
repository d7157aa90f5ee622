//! The crate's one error type: a request that cannot be read at all.

use cairn_model::MatcherError;

/// Shorthand for results of this crate.
pub type Result<T, E = WireError> = std::result::Result<T, E>;

/// Why a request body could not be read as a whole. Every variant means "answer with a 4xx and
/// write nothing"; per-series problems are not errors but [`crate::Rejection`]s.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WireError {
    /// The Content-Type names a media type or `proto=` message we do not speak.
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    /// The Content-Encoding is not snappy.
    #[error("unsupported content encoding {0:?}: only snappy is accepted")]
    UnsupportedEncoding(String),
    /// The snappy preamble announces more bytes than the limit allows.
    #[error("decoded body of {decoded} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Decoded length announced by the body.
        decoded: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The body is not a valid snappy block.
    #[error("invalid snappy block: {0}")]
    Snappy(String),
    /// The body is not valid protobuf for the expected message.
    #[error("malformed protobuf in {context}: {reason}")]
    Protobuf {
        /// The message or field being read.
        context: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A string field does not hold valid UTF-8.
    #[error("invalid utf-8 in {field}")]
    InvalidUtf8 {
        /// Which field, e.g. `timeseries[3] label name`.
        field: String,
    },
    /// The remote write 2.0 symbol table does not start with the empty string.
    #[error("symbols[0] must be the empty string, got {0:?}")]
    InvalidSymbolTable(String),
    /// A remote read request that parses but makes no sense (unknown matcher type, ...).
    #[error("invalid read request: {0}")]
    InvalidReadRequest(String),
    /// A remote read matcher whose regular expression does not compile.
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    /// A log request's Content-Encoding is not one the log decoders speak (Loki's words).
    #[error("Content-Encoding {0:?} not supported")]
    UnsupportedLogEncoding(String),
    /// A compressed log body is corrupt.
    #[error("invalid {encoding} body: {reason}")]
    Decompress {
        /// The encoding being undone (`gzip`, `deflate`, `zstd`).
        encoding: &'static str,
        /// What the decompressor said.
        reason: String,
    },
    /// Decompressing a body (or a forward message's packed entries) went past the cap; the
    /// decompressor stopped there.
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// A log request carries more entries than the limit allows.
    #[error("request has more than {limit} log entries")]
    TooManyEntries {
        /// The limit in force.
        limit: usize,
    },
    /// A traces request carries more spans than the limit allows.
    #[error("request has {spans} spans, more than the limit of {limit}")]
    TooManySpans {
        /// Spans in the request.
        spans: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A Loki push request carries more streams than the limit allows.
    #[error("request has more than {limit} streams")]
    TooManyStreams {
        /// The limit in force.
        limit: usize,
    },
    /// A log request body that does not follow its format; the message says where and why.
    #[error("{0}")]
    InvalidLogBody(String),
    /// A traces request body that does not follow OTLP; the message says where and why.
    #[error("{0}")]
    InvalidTraceBody(String),
    /// A metrics request body that does not follow OTLP; the message says where and why.
    #[error("{0}")]
    InvalidMetricsBody(String),
    /// A forward protocol message that does not follow the protocol.
    #[error("forward protocol: {0}")]
    Forward(String),
    /// A log mapping (Fluent Bit record mapping, OTLP attribute rules) that cannot be built.
    #[error("invalid log mapping: {0}")]
    InvalidMapping(String),
}

impl WireError {
    /// The HTTP status a server answers with for this error (415, 413 or 400).
    pub fn http_status(&self) -> u16 {
        match self {
            WireError::UnsupportedMediaType(_)
            | WireError::UnsupportedEncoding(_)
            | WireError::UnsupportedLogEncoding(_) => 415,
            WireError::TooLarge { .. }
            | WireError::DecompressedTooLarge { .. }
            | WireError::TooManyEntries { .. }
            | WireError::TooManyStreams { .. }
            | WireError::TooManySpans { .. } => 413,
            _ => 400,
        }
    }

    pub(crate) fn log_body(reason: impl Into<String>) -> Self {
        WireError::InvalidLogBody(reason.into())
    }

    pub(crate) fn protobuf(context: &'static str, reason: impl Into<String>) -> Self {
        WireError::Protobuf {
            context,
            reason: reason.into(),
        }
    }
}
