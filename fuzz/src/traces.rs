//! Body of the OTLP traces fuzz target. It panics only on a bug: a decoder panicking, a
//! kept span that breaks the model's invariants, counts that disagree, or a trace that does
//! not survive being written out (protobuf and JSON) and read back.

use cairn_model::{AttrValue, Trace, TraceBatch};
use cairn_wire::{
    DecodedTraces, JsonIds, TraceDecodeLimits, TraceEncoding, decode_otlp_traces,
    decode_traces_data, encode_trace_v1,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

/// Limits small enough that fuzzed inputs reach the limit checks.
fn small() -> TraceDecodeLimits {
    TraceDecodeLimits {
        max_decoded_bytes: 1 << 16,
        max_spans: 64,
        max_attribute_bytes: 16,
    }
}

fn check_value(v: &AttrValue, max: usize) {
    match v {
        AttrValue::String(s) => assert!(max == 0 || s.len() <= max, "string past the limit"),
        AttrValue::Array(a) => a.iter().for_each(|x| check_value(x, max)),
        AttrValue::KvList(kv) => kv.iter().for_each(|a| {
            assert!(max == 0 || a.key.len() <= max, "key past the limit");
            check_value(&a.value, max);
        }),
        _ => {}
    }
}

fn check(d: &DecodedTraces, limits: &TraceDecodeLimits) {
    let max = limits.max_attribute_bytes;
    let attrs = |a: &[cairn_model::Attribute]| {
        for a in a {
            assert!(max == 0 || a.key.len() <= max, "key past the limit");
            check_value(&a.value, max);
        }
    };
    for r in &d.batch.resources {
        assert!(!r.scopes.is_empty(), "a resource group without scopes");
        attrs(&r.resource.attributes);
        for s in &r.scopes {
            assert!(!s.spans.is_empty(), "a scope group without spans");
            attrs(&s.scope.attributes);
        }
    }
    for (_, _, s) in d.batch.spans() {
        assert!(
            !s.trace_id.is_zero() && !s.span_id.is_zero(),
            "zero id kept"
        );
        assert!(
            s.parent_span_id.is_none_or(|p| !p.is_zero()),
            "zero parent kept"
        );
        assert!(!s.name.is_empty(), "empty name kept");
        assert!(s.end_ns >= s.start_ns, "end before start kept");
        attrs(&s.attributes);
        s.events.iter().for_each(|e| attrs(&e.attributes));
        s.links.iter().for_each(|l| attrs(&l.attributes));
    }
    assert!(d.report.reasons.len() as u64 <= d.report.rejected_spans);
    assert_eq!(
        d.report.error_message().is_empty(),
        d.report.rejected_spans == 0
    );
}

fn traces(batch: TraceBatch) -> Vec<Trace> {
    batch
        .split_by_trace()
        .into_iter()
        .map(|(id, groups)| {
            let mut t = Trace::from_resources(id, groups);
            t.sort();
            t
        })
        .collect()
}

/// Written out and read back, each trace is the same (compared through `Debug`, which
/// prints NaN alike where `PartialEq` would not).
fn round_trip(batch: TraceBatch) {
    for t in traces(batch) {
        let pb = encode_trace_v1(&t, TraceEncoding::Protobuf);
        let mut back = Trace::new(t.id());
        let report = decode_traces_data(&pb, &mut back).expect("own protobuf decodes");
        assert_eq!(report.rejected_spans, 0, "own protobuf has invalid spans");
        back.sort();
        assert_eq!(format!("{back:?}"), format!("{t:?}"), "protobuf round trip");

        let json = encode_trace_v1(&t, TraceEncoding::Json(JsonIds::Hex));
        let json = String::from_utf8(json)
            .expect("own JSON is UTF-8")
            .replacen(r#""batches":"#, r#""resourceSpans":"#, 1);
        let d = decode_otlp_traces(
            Some("application/json"),
            json.as_bytes(),
            &TraceDecodeLimits::unlimited(),
        )
        .expect("own JSON decodes");
        assert_eq!(d.report.rejected_spans, 0, "own JSON has invalid spans");
        let mut again = traces(d.batch);
        assert_eq!(again.len(), 1);
        let again = again.remove(0);
        assert_eq!(
            format!("{:?}", again.resources()),
            format!("{:?}", t.resources()),
            "JSON round trip"
        );
    }
}

/// OTLP traces as protobuf and as OTLP/JSON, with default and small limits.
pub fn otlp_traces(data: &[u8]) {
    for limits in [TraceDecodeLimits::default(), small()] {
        if let Ok(d) = decode_otlp_traces(Some("application/x-protobuf"), data, &limits) {
            check(&d, &limits);
            // Every span of the request is either kept or counted as rejected.
            let req = ExportTraceServiceRequest::decode(data).expect("decoded once already");
            let total: usize = req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            assert_eq!(
                d.batch.span_count() as u64 + d.report.rejected_spans,
                total as u64
            );
            round_trip(d.batch);
        }
        if let Ok(d) = decode_otlp_traces(Some("application/json"), data, &limits) {
            check(&d, &limits);
            round_trip(d.batch);
        }
    }
}
