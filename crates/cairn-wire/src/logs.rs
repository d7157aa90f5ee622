//! Log ingestion decoders: Loki push (JSON and protobuf), Fluent Bit's `http` output
//! formats, the Fluentd forward protocol with its shared-key handshake, and OTLP logs, each
//! turning outside bytes into a [`cairn_model::LogBatch`] or into [`FluentRecord`]s that
//! [`map_records`] turns into streams as Fluent Bit's `loki` output would.
//!
//! Invariants: no decoder panics or allocates in proportion to a count it has not checked
//! against the bytes left; nesting is bounded by [`LogDecodeLimits::max_depth`] and output
//! by its byte and entry caps. Lines and metadata are UTF-8 (invalid bytes replaced with
//! U+FFFD); an entry's metadata names are unique and non-empty (the first of a repeated
//! name wins). A body that cannot be read is a [`crate::WireError`] with the HTTP status to
//! answer; what Loki reports per stream is reported per stream ([`StreamError`]).
//!
//! CPU: decoding runs at hundreds of MB/s (see `benches/decode.rs`), so a request of more
//! than about 100 KiB is worth more than the reactor's 0.5 ms budget: callers decode big
//! bodies on a blocking thread.

mod encoding;
mod fluent;
mod forward;
mod limits;
mod loki;
mod mapping;
mod msgpack;
pub(crate) mod otlp;
mod selector;

pub use encoding::decode_content_encoding;
pub use fluent::{
    FieldValue, FluentHttpFormat, FluentRecord, TimeFormat, TimeKey, decode_fluent_http,
};
pub use forward::{
    ForwardDecoder, ForwardMessage, ForwardMode, Handshake, HandshakeConfig, Ping, PingVerdict,
    encode_ack, encode_forward, password_hexdigest, shared_key_hexdigest,
};
pub use limits::LogDecodeLimits;
pub use loki::{
    DEFAULT_DISCOVER_SERVICE_NAME, LokiPush, StreamError, decode_loki_push,
    decode_loki_push_legacy, discover_service_name, encode_loki_push_proto,
};
pub use mapping::{DropSingleKey, LineFormat, RecordMapping, RecordMappingConfig, map_records};
pub use otlp::{
    DEFAULT_OTLP_INDEX_LABELS, OtlpAttributeAction, OtlpAttributeRule, OtlpLogMapping,
    decode_otlp_logs, map_otlp_logs,
};
