//! `traces_spanmetrics_size_total` adds the OTLP protobuf size of each span, as Tempo does:
//! random spans are encoded with prost, decoded by Cairn's OTLP decoder, and the counter must
//! equal prost's `encoded_len` of each span message. Status and attribute values are always
//! present, as SDKs send them (the model cannot tell absent from empty there).

use cairn_spanmetrics::{Generator, GeneratorConfig};
use cairn_wire::{TraceDecodeLimits, map_otlp_traces};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use proptest::prelude::*;
use prost::Message;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{0,20}".prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..10).prop_map(Value::BytesValue),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|vs| {
                Value::ArrayValue(ArrayValue {
                    values: vs
                        .into_iter()
                        .map(|v| AnyValue { value: Some(v) })
                        .collect(),
                })
            }),
            proptest::collection::vec(("[a-z]{1,5}", inner), 0..4).prop_map(|kvs| {
                Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(k, v)| KeyValue {
                            key_strindex: 0,
                            key: k,
                            value: Some(AnyValue { value: Some(v) }),
                        })
                        .collect(),
                })
            }),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(("[a-z.]{1,12}", value()), 0..5).prop_map(|kvs| {
        kvs.into_iter()
            .map(|(k, v)| KeyValue {
                key_strindex: 0,
                key: k,
                value: Some(AnyValue { value: Some(v) }),
            })
            .collect()
    })
}

fn nonzero(n: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), n).prop_map(|mut v| {
        v[0] |= 1;
        v
    })
}

fn span_strategy() -> impl Strategy<Value = Span> {
    let event =
        (any::<u64>(), "[a-z]{0,8}", attrs(), 0u32..300).prop_map(|(t, name, a, d)| span::Event {
            time_unix_nano: t,
            name,
            attributes: a,
            dropped_attributes_count: d,
        });
    let link = (
        nonzero(16),
        nonzero(8),
        "[a-z=,]{0,10}",
        attrs(),
        0u32..3,
        any::<u32>(),
    )
        .prop_map(|(t, s, ts, a, d, f)| span::Link {
            trace_id: t,
            span_id: s,
            trace_state: ts,
            attributes: a,
            dropped_attributes_count: d,
            flags: f,
        });
    (
        (nonzero(16), nonzero(8), proptest::option::of(nonzero(8))),
        ("[a-z=,]{0,10}", any::<u32>(), "[a-zA-Z /]{1,20}", 0i32..6),
        (0u64..u64::MAX / 2, 0u64..1_000_000_000_000),
        (
            attrs(),
            0u32..1000,
            proptest::collection::vec(event, 0..3),
            0u32..5,
        ),
        (proptest::collection::vec(link, 0..3), 0u32..5),
        (0i32..3, "[a-z ]{0,10}"),
    )
        .prop_map(
            |(
                (tid, sid, parent),
                (ts, flags, name, kind),
                (start, dur),
                (a, da, ev, de),
                (links, dl),
                status,
            )| {
                Span {
                    trace_id: tid,
                    span_id: sid,
                    trace_state: ts,
                    parent_span_id: parent.unwrap_or_default(),
                    flags,
                    name,
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + dur,
                    attributes: a,
                    dropped_attributes_count: da,
                    events: ev,
                    dropped_events_count: de,
                    links,
                    dropped_links_count: dl,
                    status: Some(Status {
                        message: status.1,
                        code: status.0,
                    }),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn size_total_is_the_protobuf_size_of_the_spans(spans in proptest::collection::vec(span_strategy(), 1..4)) {
        let want: usize = spans.iter().map(Message::encoded_len).sum();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key_strindex: 0,
                        key: "service.name".into(),
                        value: Some(AnyValue { value: Some(Value::StringValue("api".into())) }),
                    }],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
                schema_url: String::new(),
            }],
        };
        let decoded = map_otlp_traces(req, &TraceDecodeLimits::unlimited()).expect("valid spans");
        prop_assert_eq!(decoded.report.rejected_spans, 0, "{:?}", decoded.report.reasons);
        let cfg: GeneratorConfig = serde_yaml_ng::from_str(
            "processors: [span-metrics-size]
processor: {span_metrics: {intrinsic_dimensions: {span_name: false, span_kind: false, status_code: false}}}",
        )
        .expect("config parses");
        let mut g = Generator::new(cfg).expect("valid config");
        g.observe(&decoded.batch, 0);
        let out = g.collect(1_000);
        let got: f64 = out.iter().filter(|(_, s)| s.t == 1_000).map(|(_, s)| s.v).sum();
        prop_assert_eq!(got, want as f64);
    }
}
