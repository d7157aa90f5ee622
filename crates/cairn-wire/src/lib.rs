//! Decoders for Cairn's input protocols, as pure functions over bytes: content negotiation from
//! the request headers, the snappy block format with a decoded-size cap, remote write 1.0 and
//! 2.0 requests into a [`cairn_model::WriteBatch`], and remote read (requests, SAMPLES
//! responses, STREAMED_XOR_CHUNKS frames). [`encode`] builds requests for tests, fuzz seeds
//! and the load generator.
//!
//! Logs: [`decode_content_encoding`] undoes gzip, deflate and zstd with the output capped
//! while decompressing; [`decode_loki_push`] reads Loki push requests (JSON and snappy
//! protobuf) into a [`cairn_model::LogBatch`], reporting unreadable streams with Loki's
//! messages; [`decode_fluent_http`] reads Fluent Bit's `http` output formats and
//! [`ForwardDecoder`] the forward protocol (with [`Handshake`] for shared keys) into
//! [`FluentRecord`]s, which [`map_records`] turns into streams as Fluent Bit's `loki` output
//! would; [`decode_otlp_logs`] and [`map_otlp_logs`] map OTLP logs as Loki does. Every log
//! decoder bounds its work with [`LogDecodeLimits`].
//!
//! Metrics over OTLP: [`decode_otlp_metrics`] and [`map_otlp_metrics`] map OTLP metrics to
//! series as Prometheus' OTLP receiver does ([`OtlpMetricsMapping`], [`TranslationStrategy`]);
//! [`MappedMetrics::fill_batch`] lays them into a [`cairn_model::WriteBatch`] through the
//! remote write label checks and limits.
//!
//! Invariants: no decoder panics on any input, and remote write decoding allocates nothing per
//! label or sample: labels are `&str` slices of the decompressed body, checked as UTF-8, kept
//! in the batch's arenas. An unreadable body is a [`WireError`] and leaves the batch empty; a
//! readable body whose series break a rule (no `__name__`, duplicate labels, bad symbol
//! references, invalid histograms, limits) yields the valid series plus a [`DecodeReport`]
//! naming each rejected one. Float values keep their exact bits, so the staleness marker
//! survives.

mod chunked;
mod error;
mod histogram;
mod logs;
mod negotiate;
mod otlp_metrics;
mod pb;
mod read;
mod report;
mod series;
mod snappy;
mod traces;
mod v1;
mod v2;
mod xor;

#[cfg(test)]
mod testutil;

pub mod encode;

pub use chunked::{
    CHUNKED_READ_CONTENT_TYPE, DEFAULT_MAX_FRAME_BYTES, decode_chunked_read_response,
    encode_chunked_read_response,
};
pub use error::{Result, WireError};
pub use logs::*;
pub use negotiate::{Protocol, negotiate};
pub use otlp_metrics::{
    LabelNamer, MAX_REPORTED_ERRORS, MappedExemplar, MappedMetadata, MappedMetrics, MappedSeries,
    MetricNamer, NamingType, OtlpMetricsMapping, OtlpMetricsReport, TranslationStrategy,
    decode_otlp_metrics, encode_metrics_response, map_otlp_metrics, partial_success, unit_name,
};
pub use read::{
    Query, ReadHints, ReadRequest, ResponseType, decode_read_request, decode_read_response,
    encode_read_request, encode_read_response,
};
pub use report::{
    DecodeLimits, DecodeReport, EXEMPLARS_WRITTEN_HEADER, HISTOGRAMS_WRITTEN_HEADER, RejectReason,
    Rejection, SAMPLES_WRITTEN_HEADER,
};
pub use snappy::{decompress_snappy, snappy_compress};
pub use traces::{
    DecodedTraces, JsonIds, MAX_REPORTED_REASONS, OtlpFormat, PartialStatus, TraceByIdAnswer,
    TraceDecodeLimits, TraceDecodeReport, TraceEncoding, decode_otlp_traces, decode_traces_data,
    encode_export_response, encode_trace_v1, encode_trace_v2, map_otlp_traces,
};
pub use v1::decode_v1;
pub use v2::decode_v2;
