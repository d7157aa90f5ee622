//! Property: any attribute value, span flags and counts survive protobuf and JSON out and in.

use cairn_model::{
    Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId,
};
use proptest::prelude::*;

use super::*;

fn value() -> impl Strategy<Value = AttrValue> {
    let leaf = prop_oneof![
        Just(AttrValue::Empty),
        any::<String>().prop_map(AttrValue::String),
        any::<bool>().prop_map(AttrValue::Bool),
        any::<i64>().prop_map(AttrValue::Int),
        // NaN is written and read back, but is not equal to itself.
        any::<f64>()
            .prop_filter("not NaN", |d| !d.is_nan())
            .prop_map(AttrValue::Double),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(AttrValue::Bytes),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(AttrValue::Array),
            proptest::collection::vec((any::<String>(), inner), 0..4).prop_map(|kvs| {
                AttrValue::KvList(kvs.into_iter().map(|(k, v)| Attribute::new(k, v)).collect())
            }),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Vec<Attribute>> {
    proptest::collection::vec((any::<String>(), value()), 0..5)
        .prop_map(|kvs| kvs.into_iter().map(|(k, v)| Attribute::new(k, v)).collect())
}

prop_compose! {
    fn span()(
        attributes in attrs(),
        event_attrs in attrs(),
        link_attrs in attrs(),
        name in "[^\u{0}]{1,12}",
        kind in 0i32..6,
        code in 0i32..3,
        start in any::<u64>(),
        len in 0u64..1_000_000,
        flags in any::<u32>(),
        counts in any::<[u32; 4]>(),
        trace_state in any::<String>(),
        parent in proptest::option::of(1u64..),
    ) -> Span {
        Span {
            trace_id: TraceId::from_hex(TRACE).unwrap(),
            span_id: SpanId(7u64.to_be_bytes()),
            parent_span_id: parent.map(|p| SpanId(p.to_be_bytes())),
            trace_state,
            flags,
            name,
            kind: SpanKind::from_i32(kind),
            start_ns: start,
            end_ns: start.saturating_add(len),
            status: cairn_model::Status {
                code: StatusCode::from_i32(code),
                message: "m".into(),
            },
            attributes,
            dropped_attributes_count: counts[0],
            events: vec![Event {
                time_ns: start,
                name: "e".into(),
                attributes: event_attrs,
                dropped_attributes_count: counts[1],
            }],
            dropped_events_count: counts[2],
            links: vec![Link {
                trace_id: TraceId::from_hex(OTHER_TRACE).unwrap(),
                span_id: SpanId([9; 8]),
                trace_state: "t".into(),
                attributes: link_attrs,
                dropped_attributes_count: counts[3],
                flags,
            }],
            dropped_links_count: counts[3],
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_span_survives_protobuf_and_json(span in span(), res in attrs()) {
        let groups = vec![ResourceSpans {
            resource: Resource { attributes: res, dropped_attributes_count: 1 },
            schema_url: String::new(),
            scopes: vec![ScopeSpans {
                scope: Scope { name: "s".into(), ..Default::default() },
                schema_url: String::new(),
                spans: vec![span],
            }],
        }];
        let trace = Trace::from_resources(TraceId::from_hex(TRACE).unwrap(), groups);

        let pb = encode_trace_v1(&trace, TraceEncoding::Protobuf);
        let mut back = Trace::new(trace.id());
        decode_traces_data(&pb, &mut back).unwrap();
        prop_assert_eq!(&back, &trace);

        let json = String::from_utf8(encode_trace_v1(&trace, TraceEncoding::Json(JsonIds::Hex)))
            .unwrap()
            .replacen(r#""batches":"#, r#""resourceSpans":"#, 1);
        let d = decode_otlp_traces(
            Some("application/json"),
            json.as_bytes(),
            &TraceDecodeLimits::unlimited(),
        )
        .unwrap();
        prop_assert_eq!(d.report.rejected_spans, 0);
        prop_assert_eq!(&Trace::from_resources(trace.id(), d.batch.resources), &trace);
    }
}
