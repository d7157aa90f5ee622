//! OTLP/JSON in the forms real senders write, and Tempo's JSON out.

use serde_json::json;

use super::*;

fn decode_json(body: &str) -> DecodedTraces {
    decode_otlp_traces(
        Some("application/json; charset=utf-8"),
        body.as_bytes(),
        &TraceDecodeLimits::default(),
    )
    .unwrap()
}

/// `full_request()` written as the OpenTelemetry Python SDK's OTLP/JSON encoder
/// (`opentelemetry-proto-json`, `to_dict` + `json.dumps`) writes it: hex ids, 64-bit integers
/// as strings, enums and uint32 as numbers, zero values left out, `", "`/`": "` separators.
const PYTHON_SDK: &str = r#"{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "frontend"}}, {"key": "k8s.pod.name", "value": {"stringValue": "frontend-7d9c"}}], "droppedAttributesCount": 1}, "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.flask", "version": "0.48b0", "attributes": [{"key": "scope.attr", "value": {"stringValue": "v"}}], "droppedAttributesCount": 6}, "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173", "traceState": "rojo=00f067aa0ba902b7", "flags": 257, "name": "GET /checkout", "kind": 2, "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000", "attributes": [{"key": "str", "value": {"stringValue": "GET /api/v1/users?id=\u00fc"}}, {"key": "bool", "value": {"boolValue": true}}, {"key": "int", "value": {"intValue": "-9007199254740993"}}, {"key": "double", "value": {"doubleValue": 0.1}}, {"key": "bytes", "value": {"bytesValue": "AAH+/w=="}}, {"key": "array", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}, {"arrayValue": {"values": [{"boolValue": false}]}}]}}}, {"key": "kvlist", "value": {"kvlistValue": {"values": [{"key": "inner", "value": {"stringValue": "x"}}, {"key": "deeper", "value": {"kvlistValue": {"values": [{"key": "n", "value": {"doubleValue": -0.0025}}]}}}]}}}, {"key": "empty", "value": {}}], "droppedAttributesCount": 3, "events": [{"timeUnixNano": "1544712660100000000", "name": "cache miss", "attributes": [{"key": "key", "value": {"stringValue": "user:1"}}], "droppedAttributesCount": 1}, {"timeUnixNano": "1544712660200000000", "name": "exception", "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}}, {"key": "exception.escaped", "value": {"boolValue": false}}]}], "droppedEventsCount": 4, "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "traceState": "congo=t61rcWkgMzE", "attributes": [{"key": "link.kind", "value": {"stringValue": "follows_from"}}], "droppedAttributesCount": 2, "flags": 769}, {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "00f067aa0ba902b7"}], "droppedLinksCount": 5, "status": {"message": "upstream failed", "code": 2}}], "schemaUrl": "https://opentelemetry.io/schemas/1.11.0"}, {"scope": {"name": "opentelemetry.instrumentation.requests"}, "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "parentSpanId": "eee19b7ec3c1b173", "name": "GET", "kind": 3, "startTimeUnixNano": "1544712660300000000", "endTimeUnixNano": "1544712660301000000", "attributes": [{"key": "http.status_code", "value": {"intValue": "503"}}], "status": {"code": 1}}]}], "schemaUrl": "https://opentelemetry.io/schemas/1.21.0"}, {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]}, "scopeSpans": [{"scope": {}, "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174", "name": "charge", "kind": 2, "startTimeUnixNano": "1544712660400000000", "endTimeUnixNano": "1544712660401000000", "attributes": [{"key": "http.status_code", "value": {"intValue": "503"}}], "status": {"code": 1}}, {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b176", "parentSpanId": "eee19b7ec3c1b175", "name": "INSERT payments", "kind": 3, "startTimeUnixNano": "1544712660500000000", "endTimeUnixNano": "1544712660501000000", "attributes": [{"key": "http.status_code", "value": {"intValue": "503"}}], "status": {"code": 1}}]}]}]}"#;

#[test]
fn python_sdk_json_decodes_as_the_same_protobuf_does() {
    let from_json = decode_json(PYTHON_SDK);
    let from_proto = decode_proto(&full_request());
    assert_eq!(from_json.report, TraceDecodeReport::default());
    assert_eq!(from_json, from_proto);
}

/// What the Collector's `ptrace.JSONMarshaler` writes (pdata): compact, hex ids, enums as
/// numbers, 64-bit integers as strings, empty `status` objects.
#[test]
fn collector_json_decodes() {
    let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otelgen"}}]},"scopeSpans":[{"scope":{"name":"otelgen"},"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"","flags":768,"name":"okey-dokey-0","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000123000","attributes":[{"key":"net.peer.ip","value":{"stringValue":"1.2.3.4"}},{"key":"peer.service","value":{"stringValue":"telemetrygen-client"}}],"status":{}}]}],"schemaUrl":"https://opentelemetry.io/schemas/1.4.0"}]}"#;
    let got = decode_json(body);
    assert_eq!(got.report.rejected_spans, 0);
    let (res, scope, span) = got.batch.spans().next().unwrap();
    assert_eq!(res.service_name(), Some("otelgen"));
    assert_eq!(scope.name, "otelgen");
    assert_eq!(span.trace_id.to_hex(), OTHER_TRACE);
    assert_eq!(span.span_id.to_hex(), "b7ad6b7169203331");
    assert_eq!(span.parent_span_id, None);
    assert_eq!(span.flags, 768);
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.duration_ns(), 123_000);
    assert_eq!(span.status.code, StatusCode::Unset);
    assert_eq!(
        got.batch.resources[0].schema_url,
        "https://opentelemetry.io/schemas/1.4.0"
    );
}

#[test]
fn json_quirks_are_accepted() {
    // Numbers for 64-bit integers, enum names, numeric strings for uint32 and enums,
    // proto field names, upper-case hex, nulls, unknown fields (in AnyValue too), special
    // doubles, URL-safe base64.
    let body = r#"{
      "resource_spans": [{
        "resource": null,
        "unknownField": {"a": [1, 2, {"b": null}]},
        "scope_spans": [{
          "scope": {"name": "s", "attributes": null, "extra": true},
          "spans": [{
            "trace_id": "5B8EFFF798038103D269B633813FC60C",
            "span_id": "EEE19B7EC3C1B173",
            "parent_span_id": null,
            "name": "n",
            "kind": "SPAN_KIND_CONSUMER",
            "flags": "1",
            "start_time_unix_nano": 1544712660000000000,
            "endTimeUnixNano": "1544712660000000001",
            "droppedAttributesCount": "2",
            "attributes": [
              {"key": "i", "value": {"intValue": 42}},
              {"key": "neg", "value": {"int_value": "-1"}},
              {"key": "nan", "value": {"doubleValue": "NaN"}},
              {"key": "inf", "value": {"doubleValue": "-Infinity"}},
              {"key": "d", "value": {"doubleValue": 3}},
              {"key": "b64url", "value": {"bytesValue": "-_8"}},
              {"key": "future", "value": {"someNewValue": {"x": 1}, "stringValue": "kept"}},
              {"key": "nullvalue", "value": null},
              {"key": "arr", "value": {"arrayValue": {"values": [null, {"stringValue": "z"}]}}}
            ],
            "events": null,
            "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "flags": 1}],
            "status": {"code": "STATUS_CODE_ERROR", "message": null}
          }]
        }]
      }]
    }"#;
    let got = decode_json(body);
    assert_eq!(got.report, TraceDecodeReport::default());
    let (res, _, span) = got.batch.spans().next().unwrap();
    assert!(res.attributes.is_empty());
    assert_eq!(span.trace_id.to_hex(), TRACE);
    assert_eq!(span.kind, SpanKind::Consumer);
    assert_eq!(span.flags, 1);
    assert_eq!(span.start_ns, 1_544_712_660_000_000_000);
    assert_eq!(span.end_ns, 1_544_712_660_000_000_001);
    assert_eq!(span.dropped_attributes_count, 2);
    assert_eq!(span.status.code, StatusCode::Error);
    let v: Vec<&AttrValue> = span.attributes.iter().map(|a| &a.value).collect();
    assert_eq!(*v[0], AttrValue::Int(42));
    assert_eq!(*v[1], AttrValue::Int(-1));
    assert!(matches!(v[2], AttrValue::Double(d) if d.is_nan()));
    assert_eq!(*v[3], AttrValue::Double(f64::NEG_INFINITY));
    assert_eq!(*v[4], AttrValue::Double(3.0));
    assert_eq!(*v[5], AttrValue::Bytes(vec![0xfb, 0xff]));
    assert_eq!(*v[6], AttrValue::String("kept".into()));
    assert_eq!(*v[7], AttrValue::Empty);
    assert_eq!(
        *v[8],
        AttrValue::Array(vec![AttrValue::Empty, AttrValue::String("z".into())])
    );
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.links[0].flags, 1);
}

#[test]
fn empty_bodies_are_empty_requests() {
    for body in [
        "",
        "  \n",
        "{}",
        r#"{"resourceSpans": []}"#,
        r#"{"resourceSpans": null}"#,
    ] {
        let got = decode_json(body);
        assert_eq!(got, DecodedTraces::default(), "{body:?}");
    }
    let got = decode_otlp_traces(
        Some("application/x-protobuf"),
        b"",
        &TraceDecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(got, DecodedTraces::default());
}

#[test]
fn v1_json_is_tempos_batches_form_and_reads_back() {
    let trace = one_trace(decode_proto(&full_request()).batch);
    let body = encode_trace_v1(&trace, TraceEncoding::Json(JsonIds::Hex));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // Tempo's v1 JSON names the groups `batches` (pkg/tempopb/trace_utils.go).
    assert!(v.get("resourceSpans").is_none());
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    let root = &batches[0]["scopeSpans"][0]["spans"][0];
    assert_eq!(
        *root,
        json!({
            "traceId": TRACE,
            "spanId": "eee19b7ec3c1b173",
            "traceState": "rojo=00f067aa0ba902b7",
            "flags": 257,
            "name": "GET /checkout",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [
                {"key": "str", "value": {"stringValue": "GET /api/v1/users?id=ü"}},
                {"key": "bool", "value": {"boolValue": true}},
                {"key": "int", "value": {"intValue": "-9007199254740993"}},
                {"key": "double", "value": {"doubleValue": 0.1}},
                {"key": "bytes", "value": {"bytesValue": "AAH+/w=="}},
                {"key": "array", "value": {"arrayValue": {"values": [
                    {"stringValue": "a"}, {"intValue": "7"},
                    {"arrayValue": {"values": [{"boolValue": false}]}}
                ]}}},
                {"key": "kvlist", "value": {"kvlistValue": {"values": [
                    {"key": "inner", "value": {"stringValue": "x"}},
                    {"key": "deeper", "value": {"kvlistValue": {"values": [
                        {"key": "n", "value": {"doubleValue": -0.0025}}
                    ]}}}
                ]}}},
                {"key": "empty", "value": {}}
            ],
            "droppedAttributesCount": 3,
            "events": [
                {"timeUnixNano": "1544712660100000000", "name": "cache miss",
                 "attributes": [{"key": "key", "value": {"stringValue": "user:1"}}],
                 "droppedAttributesCount": 1},
                {"timeUnixNano": "1544712660200000000", "name": "exception",
                 "attributes": [
                    {"key": "exception.type", "value": {"stringValue": "ValueError"}},
                    {"key": "exception.escaped", "value": {"boolValue": false}}
                 ]}
            ],
            "droppedEventsCount": 4,
            "links": [
                {"traceId": OTHER_TRACE, "spanId": "b7ad6b7169203331",
                 "traceState": "congo=t61rcWkgMzE",
                 "attributes": [{"key": "link.kind", "value": {"stringValue": "follows_from"}}],
                 "droppedAttributesCount": 2, "flags": 769},
                {"traceId": TRACE, "spanId": "00f067aa0ba902b7"}
            ],
            "droppedLinksCount": 5,
            "status": {"message": "upstream failed", "code": "STATUS_CODE_ERROR"}
        })
    );
    // Empty scope and status objects are still written, as Tempo's JSON has them.
    assert_eq!(batches[1]["scopeSpans"][0]["scope"], json!({}));
    assert_eq!(
        batches[0]["schemaUrl"],
        "https://opentelemetry.io/schemas/1.21.0"
    );

    // Read back through the OTLP/JSON decoder (enum names and all): the same trace.
    let otlp = String::from_utf8(body)
        .unwrap()
        .replacen(r#""batches":"#, r#""resourceSpans":"#, 1);
    assert_eq!(one_trace(decode_json(&otlp).batch), trace);
}

#[test]
fn v2_json_wraps_the_trace() {
    let trace = one_trace(decode_proto(&full_request()).batch);
    let complete = TraceByIdAnswer {
        trace: &trace,
        status: PartialStatus::Complete,
        message: "",
        inspected_bytes: 0,
    };
    let v: serde_json::Value = serde_json::from_slice(&encode_trace_v2(
        &complete,
        TraceEncoding::Json(JsonIds::Hex),
    ))
    .unwrap();
    // Defaults are left out: no status, no message, empty metrics.
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(v["metrics"], json!({}));
    let rs = v["trace"]["resourceSpans"].as_array().unwrap();
    assert_eq!(rs.len(), 2);
    let otlp = serde_json::to_string(&v["trace"]).unwrap();
    assert_eq!(one_trace(decode_json(&otlp).batch), trace);

    let partial = TraceByIdAnswer {
        status: PartialStatus::Partial,
        message: "Trace exceeds maximum size of 100 bytes, a partial trace is returned",
        inspected_bytes: 2048,
        ..complete
    };
    let v: serde_json::Value = serde_json::from_slice(&encode_trace_v2(
        &partial,
        TraceEncoding::Json(JsonIds::Base64),
    ))
    .unwrap();
    assert_eq!(v["status"], "PARTIAL");
    assert_eq!(v["message"], partial.message);
    assert_eq!(v["metrics"], json!({"inspectedBytes": "2048"}));
    // Base64 ids, as Tempo writes them (its docs show "W47/95gDgQPSabYzgT/..." for 5b8efff7...).
    let root = &v["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(root["traceId"], "W47/95gDgQPSabYzgT/GDA==");
    assert_eq!(root["spanId"], "7uGbfsPBsXM=");
}

#[test]
fn an_empty_trace_writes_empty_bodies() {
    let t = Trace::new(TraceId::from_hex(TRACE).unwrap());
    assert_eq!(
        encode_trace_v1(&t, TraceEncoding::Json(JsonIds::Hex)),
        b"{}"
    );
    assert!(encode_trace_v1(&t, TraceEncoding::Protobuf).is_empty());
}

#[test]
fn doubles_read_back_to_the_bits_written() {
    // A value a fast float parser reads one ulp off (found by the round-trip property).
    for d in [
        2.574_234_800_670_670_7e265,
        0.1,
        -0.0,
        f64::MIN_POSITIVE,
        5e-324,
        1e308,
    ] {
        let body = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"d","value":{{"doubleValue":{}}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
            serde_json::to_string(&d).unwrap(),
            r#"{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b173","name":"n"}"#
        );
        let got = decode_json(&body);
        let (res, _, _) = got.batch.spans().next().unwrap();
        match res.attributes[0].value {
            AttrValue::Double(x) => assert_eq!(x.to_bits(), d.to_bits(), "{d:e}"),
            ref v => panic!("{v:?}"),
        }
    }
}
