//! Round trips with every field set, cross-format agreement, limits and partial success.
//! Expected values come from the OTLP protos, the OTLP/JSON rules and Tempo's marshalling
//! (`pkg/tempopb`, `modules/frontend/combiner`), never from this crate's output.

mod json;
mod malformed;
mod prop;

use std::io::Write as _;

use cairn_model::{AttrValue, SpanKind, StatusCode, TraceId};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, TracesData,
    span::{Event, Link},
};

use super::*;

pub(super) const TRACE: &str = "5b8efff798038103d269b633813fc60c";
pub(super) const OTHER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

pub(super) fn hex(s: &str) -> Vec<u8> {
    cairn_model::parse_hex_bytes(s).unwrap()
}

pub(super) fn kv(k: &str, v: Option<Value>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: v }),
        ..Default::default()
    }
}

pub(super) fn s(v: &str) -> Option<Value> {
    Some(Value::StringValue(v.into()))
}

/// Every AnyValue type, nested arrays and lists included, and an empty value.
pub(super) fn every_value() -> Vec<KeyValue> {
    vec![
        kv("str", s("GET /api/v1/users?id=ü")),
        kv("bool", Some(Value::BoolValue(true))),
        kv("int", Some(Value::IntValue(-9_007_199_254_740_993))),
        kv("double", Some(Value::DoubleValue(0.1))),
        kv("bytes", Some(Value::BytesValue(vec![0, 1, 0xfe, 0xff]))),
        kv(
            "array",
            Some(Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue { value: s("a") },
                    AnyValue {
                        value: Some(Value::IntValue(7)),
                    },
                    AnyValue {
                        value: Some(Value::ArrayValue(ArrayValue {
                            values: vec![AnyValue {
                                value: Some(Value::BoolValue(false)),
                            }],
                        })),
                    },
                ],
            })),
        ),
        kv(
            "kvlist",
            Some(Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("inner", s("x")),
                    kv(
                        "deeper",
                        Some(Value::KvlistValue(KeyValueList {
                            values: vec![kv("n", Some(Value::DoubleValue(-2.5e-3)))],
                        })),
                    ),
                ],
            })),
        ),
        kv("empty", None),
    ]
}

/// A request of two resources, three scopes and four spans with every field set, already
/// in the order Tempo sorts a trace in (so that the trace read back is comparable as is).
pub(super) fn full_request() -> ExportTraceServiceRequest {
    let tid = hex(TRACE);
    let root = Span {
        trace_id: tid.clone(),
        span_id: hex("eee19b7ec3c1b173"),
        trace_state: "rojo=00f067aa0ba902b7".into(),
        parent_span_id: vec![],
        flags: 0x101,
        name: "GET /checkout".into(),
        kind: 2,
        start_time_unix_nano: 1_544_712_660_000_000_000,
        end_time_unix_nano: 1_544_712_661_000_000_000,
        attributes: every_value(),
        dropped_attributes_count: 3,
        events: vec![
            Event {
                time_unix_nano: 1_544_712_660_100_000_000,
                name: "cache miss".into(),
                attributes: vec![kv("key", s("user:1"))],
                dropped_attributes_count: 1,
            },
            Event {
                time_unix_nano: 1_544_712_660_200_000_000,
                name: "exception".into(),
                attributes: vec![
                    kv("exception.type", s("ValueError")),
                    kv("exception.escaped", Some(Value::BoolValue(false))),
                ],
                dropped_attributes_count: 0,
            },
        ],
        dropped_events_count: 4,
        links: vec![
            Link {
                trace_id: hex(OTHER_TRACE),
                span_id: hex("b7ad6b7169203331"),
                trace_state: "congo=t61rcWkgMzE".into(),
                attributes: vec![kv("link.kind", s("follows_from"))],
                dropped_attributes_count: 2,
                flags: 0x301,
            },
            Link {
                trace_id: hex(TRACE),
                span_id: hex("00f067aa0ba902b7"),
                ..Default::default()
            },
        ],
        dropped_links_count: 5,
        status: Some(Status {
            message: "upstream failed".into(),
            code: 2,
        }),
    };
    let child = |id: &str, parent: &str, name: &str, kind: i32, start: u64| Span {
        trace_id: tid.clone(),
        span_id: hex(id),
        parent_span_id: hex(parent),
        name: name.into(),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000,
        attributes: vec![kv("http.status_code", Some(Value::IntValue(503)))],
        status: Some(Status {
            message: String::new(),
            code: 1,
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s("frontend")),
                        kv("k8s.pod.name", s("frontend-7d9c")),
                    ],
                    dropped_attributes_count: 1,
                    entity_refs: vec![],
                }),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "opentelemetry.instrumentation.flask".into(),
                            version: "0.48b0".into(),
                            attributes: vec![kv("scope.attr", s("v"))],
                            dropped_attributes_count: 6,
                        }),
                        spans: vec![root],
                        schema_url: "https://opentelemetry.io/schemas/1.11.0".into(),
                    },
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "opentelemetry.instrumentation.requests".into(),
                            ..Default::default()
                        }),
                        spans: vec![child(
                            "eee19b7ec3c1b174",
                            "eee19b7ec3c1b173",
                            "GET",
                            3,
                            1_544_712_660_300_000_000,
                        )],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            },
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("payments"))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope::default()),
                    spans: vec![
                        child(
                            "eee19b7ec3c1b175",
                            "eee19b7ec3c1b174",
                            "charge",
                            2,
                            1_544_712_660_400_000_000,
                        ),
                        child(
                            "eee19b7ec3c1b176",
                            "eee19b7ec3c1b175",
                            "INSERT payments",
                            3,
                            1_544_712_660_500_000_000,
                        ),
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        ],
    }
}

pub(super) fn decode_proto(req: &ExportTraceServiceRequest) -> DecodedTraces {
    decode_otlp_traces(
        Some("application/x-protobuf"),
        &req.encode_to_vec(),
        &TraceDecodeLimits::default(),
    )
    .unwrap()
}

/// `full_request()` as OTLP/JSON.
pub(super) fn json_body() -> Vec<u8> {
    let trace = one_trace(decode_proto(&full_request()).batch);
    let body = encode_trace_v2(
        &TraceByIdAnswer {
            trace: &trace,
            status: PartialStatus::Complete,
            message: "",
            inspected_bytes: 0,
        },
        TraceEncoding::Json(JsonIds::Hex),
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    serde_json::to_vec(&v["trace"]).unwrap()
}

pub(super) fn one_trace(batch: TraceBatch) -> Trace {
    let mut parts = batch.split_by_trace();
    assert_eq!(parts.len(), 1, "one trace expected");
    let (id, groups) = parts.remove(0);
    let mut t = Trace::from_resources(id, groups);
    t.sort();
    t
}

#[test]
fn protobuf_round_trip_keeps_every_field() {
    let req = full_request();
    let got = decode_proto(&req);
    assert_eq!(got.report, TraceDecodeReport::default());
    assert_eq!(got.batch.span_count(), 4);
    let trace = one_trace(got.batch);
    assert_eq!(trace.id(), TraceId::from_hex(TRACE).unwrap());
    let body = encode_trace_v1(&trace, TraceEncoding::Protobuf);
    let back = TracesData::decode(body.as_slice()).unwrap();
    assert_eq!(back.resource_spans, req.resource_spans);

    let mut again = Trace::new(trace.id());
    let report = decode_traces_data(&body, &mut again).unwrap();
    assert_eq!(report.rejected_spans, 0);
    again.sort();
    assert_eq!(again, trace);
}

#[test]
fn the_model_holds_what_was_sent() {
    let trace = one_trace(decode_proto(&full_request()).batch);
    let (res, root) = trace.root().unwrap();
    assert_eq!(res.service_name(), Some("frontend"));
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.status.code, StatusCode::Error);
    assert_eq!(root.duration_ns(), 1_000_000_000);
    assert_eq!(root.flags, 0x101);
    assert_eq!(
        root.attributes[2].value,
        AttrValue::Int(-9_007_199_254_740_993)
    );
    assert_eq!(
        root.attributes[4].value,
        AttrValue::Bytes(vec![0, 1, 0xfe, 0xff])
    );
    assert_eq!(root.attributes[7].value, AttrValue::Empty);
    assert_eq!(root.links[0].trace_id.to_hex(), OTHER_TRACE);
    assert_eq!(root.dropped_links_count, 5);
    assert_eq!(trace.span_count(), 4);
    assert_eq!(
        trace.time_range_ns(),
        Some((1_544_712_660_000_000_000, 1_544_712_661_000_000_000))
    );
}

/// `tempopb.TraceByIDResponse` and `TraceByIDMetrics` as `pkg/tempopb/tempo.proto` numbers
/// them, declared here so the test does not read our own encoder's types.
#[derive(Clone, PartialEq, prost::Message)]
struct TempoTraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
    #[prost(message, optional, tag = "2")]
    metrics: Option<TempoMetrics>,
    #[prost(enumeration = "TempoPartialStatus", tag = "3")]
    status: i32,
    #[prost(string, tag = "4")]
    message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TempoMetrics {
    #[prost(uint64, tag = "1")]
    inspected_bytes: u64,
    #[prost(uint64, tag = "2")]
    backend_reads: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
enum TempoPartialStatus {
    Complete = 0,
    Partial = 1,
}

#[test]
fn v2_protobuf_wraps_the_trace_with_its_status() {
    let req = full_request();
    let trace = one_trace(decode_proto(&req).batch);
    let answer = TraceByIdAnswer {
        trace: &trace,
        status: PartialStatus::Partial,
        message: "Trace exceeds maximum size",
        inspected_bytes: 12_345,
    };
    let body = encode_trace_v2(&answer, TraceEncoding::Protobuf);
    let got = TempoTraceByIdResponse::decode(body.as_slice()).unwrap();
    assert_eq!(got.trace.unwrap().resource_spans, req.resource_spans);
    assert_eq!(got.status, TempoPartialStatus::Partial as i32);
    assert_eq!(got.message, "Trace exceeds maximum size");
    assert_eq!(got.metrics.unwrap().inspected_bytes, 12_345);
}

#[test]
fn a_trace_sent_in_pieces_reads_back_whole() {
    let req = full_request();
    let whole = one_trace(decode_proto(&req).batch);
    // One span per request, in reverse order, each sent twice (a retried export).
    let mut pieces = Vec::new();
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for sp in &ss.spans {
                pieces.push(ExportTraceServiceRequest {
                    resource_spans: vec![ResourceSpans {
                        scope_spans: vec![ScopeSpans {
                            spans: vec![sp.clone()],
                            ..ss.clone()
                        }],
                        ..rs.clone()
                    }],
                });
            }
        }
    }
    pieces.reverse();
    let mut t = Trace::new(whole.id());
    let mut added = 0;
    for p in pieces.iter().chain(&pieces) {
        for (id, part) in decode_proto(p).batch.split_by_trace() {
            assert_eq!(id, whole.id());
            added += t.combine(part);
        }
    }
    assert_eq!(added, 4);
    t.sort();
    assert_eq!(t, whole);
}

#[test]
fn spans_of_several_traces_split_by_id() {
    let mut req = full_request();
    let moved = &mut req.resource_spans[1].scope_spans[0].spans[1];
    moved.trace_id = hex(OTHER_TRACE);
    moved.parent_span_id.clear();
    let parts = decode_proto(&req).batch.split_by_trace();
    let ids: Vec<String> = parts.iter().map(|(id, _)| id.to_hex()).collect();
    assert_eq!(ids, [OTHER_TRACE, TRACE]);
    let other = Trace::from_resources(parts[0].0, parts[0].1.clone());
    assert_eq!(other.span_count(), 1);
    assert_eq!(other.root().unwrap().0.service_name(), Some("payments"));
}

#[test]
fn gzip_bodies_decode_through_the_content_encoding_helper() {
    let raw = full_request().encode_to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    let body = crate::decode_content_encoding(Some("gzip"), &gz, 64 << 20).unwrap();
    let got = decode_otlp_traces(
        Some("application/x-protobuf"),
        &body,
        &TraceDecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(got.batch.span_count(), 4);
}

#[test]
fn attribute_values_and_keys_past_the_limit_are_truncated() {
    let mut req = full_request();
    // Every other key and string of the request is at most 30 bytes long.
    let long = "é".repeat(20); // 40 bytes
    let cut = "é".repeat(15); // 30 bytes
    let root = &mut req.resource_spans[0].scope_spans[0].spans[0];
    root.attributes = vec![
        kv(&"k".repeat(31), s("short")),
        kv("v", s(&long)),
        kv(
            "nested",
            Some(Value::ArrayValue(ArrayValue {
                values: vec![AnyValue { value: s(&long) }],
            })),
        ),
        kv("bytes", Some(Value::BytesValue(vec![1; 40]))),
        kv("odd", s(&format!("a{long}"))),
    ];
    root.events[0].attributes = vec![kv("e", s(&long))];
    root.links[0].attributes = vec![kv("l", s(&long))];
    req.resource_spans[0].resource.as_mut().unwrap().attributes[1] = kv("pod", s(&long));
    req.resource_spans[0].scope_spans[0]
        .scope
        .as_mut()
        .unwrap()
        .attributes = vec![kv("s", s(&long))];
    let limits = TraceDecodeLimits {
        max_attribute_bytes: 30,
        ..Default::default()
    };
    let got = decode_otlp_traces(
        Some("application/x-protobuf"),
        &req.encode_to_vec(),
        &limits,
    )
    .unwrap();
    // Key, value, nested value, odd value, event, link, resource and scope values; bytes
    // are left alone.
    assert_eq!(got.report.truncated_attributes, 8);
    assert_eq!(got.report.rejected_spans, 0);
    let trace = one_trace(got.batch);
    let (res, root) = trace.root().unwrap();
    assert_eq!(root.attributes[0].key, "k".repeat(30));
    assert_eq!(root.attributes[1].value.as_str(), Some(cut.as_str()));
    assert_eq!(
        root.attributes[2].value,
        AttrValue::Array(vec![AttrValue::String(cut.clone())])
    );
    assert_eq!(root.attributes[3].value, AttrValue::Bytes(vec![1; 40]));
    // 1 + 14 * 2 = 29 bytes: the next character would cross the limit.
    assert_eq!(
        root.attributes[4].value.as_str(),
        Some(format!("a{}", "é".repeat(14)).as_str())
    );
    assert_eq!(
        root.events[0].attributes[0].value.as_str(),
        Some(cut.as_str())
    );
    assert_eq!(res.attributes[1].value.as_str(), Some(cut.as_str()));
    let scope = &trace.resources()[0].scopes[0].scope;
    assert_eq!(scope.attributes[0].value.as_str(), Some(cut.as_str()));
}

#[test]
fn export_responses_follow_otlp() {
    let ok = TraceDecodeReport::default();
    assert_eq!(encode_export_response(&ok, OtlpFormat::Json), b"{}");
    assert!(encode_export_response(&ok, OtlpFormat::Protobuf).is_empty());
    let mut partial = TraceDecodeReport::default();
    for i in 0..7 {
        partial.reject(format!("reason {i}"));
    }
    assert_eq!(
        partial.error_message(),
        "7 invalid spans rejected: reason 0; reason 1; reason 2; reason 3; reason 4; and 2 more"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&encode_export_response(&partial, OtlpFormat::Json)).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "7");
    assert_eq!(
        v["partialSuccess"]["errorMessage"].as_str().unwrap(),
        partial.error_message()
    );
    let pb = ExportTraceServiceResponse::decode(
        encode_export_response(&partial, OtlpFormat::Protobuf).as_slice(),
    )
    .unwrap();
    let ps = pb.partial_success.unwrap();
    assert_eq!(ps.rejected_spans, 7);
    assert_eq!(ps.error_message, partial.error_message());
}
