//! Tempo's trace-by-id bodies: v1 (`/api/traces/<id>`: the trace itself) and v2
//! (`/api/v2/traces/<id>`: `tempopb.TraceByIDResponse`, the trace with a status).

use cairn_model::Trace;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message as _;
use serde::Serialize;

use super::json_out::{JResourceSpans, JsonIds, resource_spans};
use super::proto::to_resource_spans;

/// How a trace body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEncoding {
    /// Protobuf (`application/protobuf`).
    Protobuf,
    /// JSON (`application/json`), ids written as given.
    Json(JsonIds),
}

/// Whether a v2 answer holds the whole trace (`tempopb.PartialStatus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PartialStatus {
    /// The whole trace.
    #[default]
    Complete,
    /// Part of it (too large, filtered); the message says why.
    Partial,
}

/// A v2 trace-by-id answer.
#[derive(Clone, Copy, Debug)]
pub struct TraceByIdAnswer<'a> {
    /// The trace (sorted by the caller if it wants Tempo's order).
    pub trace: &'a Trace,
    /// Complete or partial.
    pub status: PartialStatus,
    /// Why it is partial (empty otherwise).
    pub message: &'a str,
    /// Bytes read to find the trace (`metrics.inspectedBytes`).
    pub inspected_bytes: u64,
}

/// `tempopb.TraceByIDResponse`: the trace is field 1 with the wire format of OTLP's
/// `TracesData` (both are `repeated ResourceSpans = 1`).
#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
    #[prost(message, optional, tag = "2")]
    metrics: Option<TraceByIdMetrics>,
    #[prost(int32, tag = "3")]
    status: i32,
    #[prost(string, tag = "4")]
    message: String,
}

/// `tempopb.TraceByIDMetrics` (only what Cairn measures).
#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    inspected_bytes: u64,
}

fn traces_data(trace: &Trace) -> TracesData {
    TracesData {
        resource_spans: to_resource_spans(trace.resources()),
    }
}

/// The `/api/traces/<id>` body: an OTLP `TracesData` in protobuf, or in JSON under the key
/// `batches` (Tempo's v1 name for `resourceSpans`).
pub fn encode_trace_v1(trace: &Trace, encoding: TraceEncoding) -> Vec<u8> {
    match encoding {
        TraceEncoding::Protobuf => traces_data(trace).encode_to_vec(),
        TraceEncoding::Json(ids) => {
            #[derive(Serialize)]
            struct V1<'a> {
                #[serde(skip_serializing_if = "<[_]>::is_empty")]
                batches: Vec<JResourceSpans<'a>>,
            }
            to_json(&V1 {
                batches: resource_spans(trace.resources(), ids),
            })
        }
    }
}

/// The `/api/v2/traces/<id>` body: `tempopb.TraceByIDResponse` in protobuf, or
/// `{"trace":{"resourceSpans":[...]},"metrics":{...},"status":"PARTIAL","message":"..."}`
/// (status and message left out when complete, as Tempo's JSON leaves out defaults).
pub fn encode_trace_v2(answer: &TraceByIdAnswer<'_>, encoding: TraceEncoding) -> Vec<u8> {
    match encoding {
        TraceEncoding::Protobuf => TraceByIdResponse {
            trace: Some(traces_data(answer.trace)),
            metrics: Some(TraceByIdMetrics {
                inspected_bytes: answer.inspected_bytes,
            }),
            status: match answer.status {
                PartialStatus::Complete => 0,
                PartialStatus::Partial => 1,
            },
            message: answer.message.to_string(),
        }
        .encode_to_vec(),
        TraceEncoding::Json(ids) => {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct JTrace<'a> {
                #[serde(skip_serializing_if = "<[_]>::is_empty")]
                resource_spans: Vec<JResourceSpans<'a>>,
            }
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct JMetrics {
                #[serde(skip_serializing_if = "Option::is_none")]
                inspected_bytes: Option<String>,
            }
            #[derive(Serialize)]
            struct V2<'a> {
                trace: JTrace<'a>,
                metrics: JMetrics,
                #[serde(skip_serializing_if = "Option::is_none")]
                status: Option<&'static str>,
                #[serde(skip_serializing_if = "str::is_empty")]
                message: &'a str,
            }
            to_json(&V2 {
                trace: JTrace {
                    resource_spans: resource_spans(answer.trace.resources(), ids),
                },
                metrics: JMetrics {
                    inspected_bytes: (answer.inspected_bytes != 0)
                        .then(|| answer.inspected_bytes.to_string()),
                },
                status: (answer.status == PartialStatus::Partial).then_some("PARTIAL"),
                message: answer.message,
            })
        }
    }
}

fn to_json(v: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("the JSON forms have string keys and no failing serializer")
}
