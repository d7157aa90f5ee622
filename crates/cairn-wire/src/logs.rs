//! Log ingestion decoders: Loki push (JSON and protobuf), Fluent Bit's `http` output
//! formats, the Fluentd forward protocol with its shared-key handshake, and OTLP logs, each
//! turning outside bytes into a [`cairn_model::LogBatch`] or into [`FluentRecord`]s that
//! [`map_records`] turns into streams as Fluent Bit's `loki` output would.

mod encoding;
mod limits;
mod loki;
mod selector;

pub use encoding::decode_content_encoding;
pub use limits::LogDecodeLimits;
pub use loki::{
    DEFAULT_DISCOVER_SERVICE_NAME, LokiPush, StreamError, decode_loki_push, discover_service_name,
    encode_loki_push_proto,
};
