//! OTLP traces in, and traces out as Tempo's trace-by-id API writes them.
//!
//! In: [`decode_otlp_traces`] reads an OTLP/HTTP `/v1/traces` body (protobuf or OTLP/JSON;
//! Content-Encoding undone first with [`crate::decode_content_encoding`]) and
//! [`map_otlp_traces`] the message the gRPC `TraceService/Export` listener decoded, into a
//! [`TraceBatch`]. Each span is checked on its own: a trace id of 16 bytes not all zero, a
//! span id of 8 bytes not zero, a parent of 0 or 8 bytes, a name, an end not before its
//! start. Invalid spans are left out and counted in the [`TraceDecodeReport`], which
//! [`encode_export_response`] turns into the `partial_success` answer; a body that cannot be
//! read at all is a [`crate::WireError`]. Keys and string values longer than
//! [`TraceDecodeLimits::max_attribute_bytes`] are truncated, as Tempo's distributor does.
//!
//! OTLP/JSON is read as the specification asks and as the Collector and the SDKs write it:
//! ids in hex, enums as integers (names accepted too), 64-bit integers as strings or
//! numbers, lowerCamelCase keys (proto names accepted too), `null` as the default, unknown
//! fields ignored.
//!
//! Out: [`encode_trace_v1`] writes a [`Trace`] as `/api/traces/<id>` answers (OTLP
//! `TracesData` protobuf, or JSON under Tempo's `batches` key) and [`encode_trace_v2`] as
//! `/api/v2/traces/<id>` answers (`tempopb.TraceByIDResponse`, or
//! `{"trace":{...},"status":...}`). Every field of the model is written, so OTLP in ->
//! [`Trace`] -> OTLP out keeps every span, attribute, event and link.
//!
//! Not kept: OTLP's `Resource.entity_refs` and `KeyValue.key_strindex` (profiles-only
//! fields no trace sender sets).

mod base64;
mod json;
mod json_out;
mod proto;
mod tempo;
mod validate;

use cairn_model::{Trace, TraceBatch};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

use crate::error::{Result, WireError};

pub use json_out::JsonIds;
pub use tempo::{PartialStatus, TraceByIdAnswer, TraceEncoding, encode_trace_v1, encode_trace_v2};

/// The two OTLP/HTTP body encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpFormat {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl OtlpFormat {
    /// The format a Content-Type names (parameters ignored); other types are
    /// [`WireError::UnsupportedMediaType`] (415).
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self> {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if media.eq_ignore_ascii_case("application/x-protobuf") {
            Ok(OtlpFormat::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Ok(OtlpFormat::Json)
        } else {
            Err(WireError::UnsupportedMediaType(
                content_type.unwrap_or("").to_string(),
            ))
        }
    }

    /// The Content-Type to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            OtlpFormat::Protobuf => "application/x-protobuf",
            OtlpFormat::Json => "application/json",
        }
    }
}

/// Bounds on what one traces request may make the decoder do; `0` disables a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceDecodeLimits {
    /// Most bytes the (decompressed) body may have: 64 MiB, the OTLP recommendation.
    pub max_decoded_bytes: usize,
    /// Most spans one request may carry.
    pub max_spans: usize,
    /// Keys and string values longer than this are truncated (Tempo's
    /// `max_attribute_bytes`, 2048 by default).
    pub max_attribute_bytes: usize,
}

impl Default for TraceDecodeLimits {
    /// 64 MiB, a million spans, 2048-byte attributes.
    fn default() -> Self {
        TraceDecodeLimits {
            max_decoded_bytes: 64 << 20,
            max_spans: 1_000_000,
            max_attribute_bytes: 2048,
        }
    }
}

impl TraceDecodeLimits {
    /// No limits, for trusted input (tests, replays of accepted data).
    pub fn unlimited() -> Self {
        TraceDecodeLimits {
            max_decoded_bytes: 0,
            max_spans: 0,
            max_attribute_bytes: 0,
        }
    }

    fn check_body(&self, len: usize) -> Result<()> {
        if self.max_decoded_bytes != 0 && len > self.max_decoded_bytes {
            return Err(WireError::TooLarge {
                decoded: len,
                limit: self.max_decoded_bytes,
            });
        }
        Ok(())
    }

    fn check_spans(&self, n: usize) -> Result<()> {
        if self.max_spans != 0 && n > self.max_spans {
            return Err(WireError::TooManySpans {
                spans: n,
                limit: self.max_spans,
            });
        }
        Ok(())
    }
}

/// How many reasons [`TraceDecodeReport::error_message`] names.
pub const MAX_REPORTED_REASONS: usize = 5;

/// What a decode left out or changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceDecodeReport {
    /// Spans rejected as invalid.
    pub rejected_spans: u64,
    /// Why, for the first [`MAX_REPORTED_REASONS`] rejected spans.
    pub reasons: Vec<String>,
    /// Keys or string values cut to `max_attribute_bytes`.
    pub truncated_attributes: u64,
}

impl TraceDecodeReport {
    fn reject(&mut self, reason: String) {
        self.rejected_spans += 1;
        if self.reasons.len() < MAX_REPORTED_REASONS {
            self.reasons.push(reason);
        }
    }

    /// The `partial_success.error_message`: empty when nothing was rejected.
    pub fn error_message(&self) -> String {
        if self.rejected_spans == 0 {
            return String::new();
        }
        let mut m = format!(
            "{} invalid span{} rejected: {}",
            self.rejected_spans,
            if self.rejected_spans == 1 { "" } else { "s" },
            self.reasons.join("; ")
        );
        let more = self
            .rejected_spans
            .saturating_sub(self.reasons.len() as u64);
        if more > 0 {
            m.push_str(&format!("; and {more} more"));
        }
        m
    }
}

/// The spans of one request that passed validation, and the report on the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodedTraces {
    /// The valid spans, grouped as sent.
    pub batch: TraceBatch,
    /// What was rejected or truncated.
    pub report: TraceDecodeReport,
}

/// Decodes an OTLP/HTTP traces body (Content-Encoding already undone) of the given
/// Content-Type. An empty body is an empty request.
pub fn decode_otlp_traces(
    content_type: Option<&str>,
    body: &[u8],
    limits: &TraceDecodeLimits,
) -> Result<DecodedTraces> {
    let format = OtlpFormat::from_content_type(content_type)?;
    limits.check_body(body.len())?;
    match format {
        OtlpFormat::Protobuf => {
            let req = ExportTraceServiceRequest::decode(body)
                .map_err(|e| WireError::protobuf("ExportTraceServiceRequest", e.to_string()))?;
            map_otlp_traces(req, limits)
        }
        OtlpFormat::Json => json::decode(body, limits),
    }
}

/// Maps an export request the gRPC listener decoded (only the span count limit applies;
/// the listener bounds the message size).
pub fn map_otlp_traces(
    req: ExportTraceServiceRequest,
    limits: &TraceDecodeLimits,
) -> Result<DecodedTraces> {
    let n = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    limits.check_spans(n)?;
    Ok(proto::from_request(req, limits))
}

/// The `ExportTraceServiceResponse` for a report: `{}` (or an empty message) when nothing
/// was rejected, else `partial_success` with the count and [`TraceDecodeReport::error_message`].
pub fn encode_export_response(report: &TraceDecodeReport, format: OtlpFormat) -> Vec<u8> {
    let partial = (report.rejected_spans > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(report.rejected_spans).unwrap_or(i64::MAX),
        error_message: report.error_message(),
    });
    match format {
        OtlpFormat::Protobuf => ExportTraceServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        OtlpFormat::Json => {
            let v = match partial {
                None => serde_json::json!({}),
                // proto3 JSON writes int64 as a decimal string.
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(),
                    "errorMessage": p.error_message,
                }}),
            };
            v.to_string().into_bytes()
        }
    }
}

/// Reads back a [`Trace`] written by [`encode_trace_v1`] as protobuf (an OTLP `TracesData`);
/// for tests, tools and fuzzing. Spans of other trace ids and invalid spans are left out.
pub fn decode_traces_data(body: &[u8], trace: &mut Trace) -> Result<TraceDecodeReport> {
    let data = opentelemetry_proto::tonic::trace::v1::TracesData::decode(body)
        .map_err(|e| WireError::protobuf("TracesData", e.to_string()))?;
    let decoded = proto::from_request(
        ExportTraceServiceRequest {
            resource_spans: data.resource_spans,
        },
        &TraceDecodeLimits::unlimited(),
    );
    trace.combine(decoded.batch.resources);
    Ok(decoded.report)
}

#[cfg(test)]
mod tests;
