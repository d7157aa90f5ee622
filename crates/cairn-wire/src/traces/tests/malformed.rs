//! Bodies that cannot be read, spans that are invalid, and limits.

use super::*;

fn proto_err(body: &[u8]) -> WireError {
    decode_otlp_traces(
        Some("application/x-protobuf"),
        body,
        &TraceDecodeLimits::default(),
    )
    .unwrap_err()
}

fn json_err(body: &str) -> WireError {
    decode_otlp_traces(
        Some("application/json"),
        body.as_bytes(),
        &TraceDecodeLimits::default(),
    )
    .unwrap_err()
}

#[test]
fn truncated_and_garbled_protobuf_is_400() {
    let body = full_request().encode_to_vec();
    for cut in [1, 10, body.len() / 2, body.len() - 1] {
        let e = proto_err(&body[..cut]);
        assert!(matches!(e, WireError::Protobuf { .. }), "cut {cut}: {e}");
        assert_eq!(e.http_status(), 400);
        assert!(
            e.to_string()
                .starts_with("malformed protobuf in ExportTraceServiceRequest: "),
            "{e}"
        );
    }
    // Field 1 as a varint instead of a message.
    let e = proto_err(&[0x08, 0x01]);
    assert!(matches!(e, WireError::Protobuf { .. }), "{e}");
    // A span name that is not UTF-8.
    let mut req = full_request();
    req.resource_spans[0].scope_spans[0].spans[0].name = "NAME".into();
    let mut body = req.encode_to_vec();
    let at = body.windows(4).position(|w| w == b"NAME").unwrap();
    body[at] = 0xff;
    assert!(matches!(proto_err(&body), WireError::Protobuf { .. }));
}

#[test]
fn wrong_json_is_400_naming_the_problem() {
    for (body, want) in [
        (r#"{"resourceSpans": [{"#, "EOF while parsing"),
        (
            r#"{"resourceSpans": {}}"#,
            "invalid type: map, expected a sequence",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name": 5}]}]}]}"#,
            "invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano": "soon"}]}]}]}"#,
            r#"a uint64 must be an integer, got "soon""#,
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano": -1}]}]}]}"#,
            "a uint64 -1 is out of range",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind": "SERVER"}]}]}]}"#,
            r#"an enum must be an integer, got "SERVER""#,
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId": 12}]}]}]}"#,
            "invalid type: integer `12`, expected a string",
        ),
        (
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"!!"}}]}}]}"#,
            r#"bytesValue "!!" is not base64"#,
        ),
        (
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"boolValue":"yes"}}]}}]}"#,
            "invalid type: string \"yes\", expected a boolean",
        ),
        (
            r#"{"resourceSpans":[{"resource":{"attributes":"k=v"}}]}"#,
            "invalid type: string \"k=v\", expected a sequence",
        ),
        ("[1, 2]", "invalid type: integer `1`, expected a sequence"),
        ("null", "invalid type: null"),
    ] {
        let e = json_err(body);
        assert!(matches!(e, WireError::InvalidTraceBody(_)), "{body}: {e}");
        assert_eq!(e.http_status(), 400);
        let msg = e.to_string();
        assert!(msg.starts_with("invalid OTLP traces JSON: "), "{msg}");
        assert!(msg.contains(want), "{body}: {msg}");
    }
}

#[test]
fn nesting_past_the_parser_limit_is_an_error_not_a_crash() {
    let mut body =
        String::from(r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":"#);
    for _ in 0..200 {
        body.push_str(r#"{"arrayValue":{"values":["#);
    }
    for _ in 0..200 {
        body.push_str("]}}");
    }
    body.push_str("}]}}]}");
    let e = json_err(&body);
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

fn span_json(trace_id: &str, span_id: &str, extra: &str) -> String {
    format!(
        r#"{{"traceId":"{trace_id}","spanId":"{span_id}","name":"op","startTimeUnixNano":"10","endTimeUnixNano":"20"{extra}}}"#
    )
}

#[test]
fn invalid_spans_are_rejected_and_counted_the_rest_kept() {
    let good = span_json(TRACE, "eee19b7ec3c1b173", "");
    let spans = [
        good.clone(),
        span_json("5b8e", "eee19b7ec3c1b174", ""),
        span_json("zz8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", ""),
        span_json(&"0".repeat(32), "eee19b7ec3c1b174", ""),
        span_json(TRACE, "0000000000000000", ""),
        span_json(TRACE, "", ""),
        span_json(TRACE, "eee19b7ec3c1b175", r#","parentSpanId":"abcd""#),
        span_json(TRACE, "eee19b7ec3c1b176", "").replace(r#""name":"op""#, r#""name":"""#),
        span_json(TRACE, "eee19b7ec3c1b177", "").replace(
            r#""startTimeUnixNano":"10","endTimeUnixNano":"20""#,
            r#""startTimeUnixNano":"30","endTimeUnixNano":"29""#,
        ),
        span_json(
            TRACE,
            "eee19b7ec3c1b178",
            r#","parentSpanId":"0000000000000000""#,
        ),
    ];
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    let got = decode_otlp_traces(
        Some("application/json"),
        body.as_bytes(),
        &TraceDecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(got.report.rejected_spans, 8);
    assert_eq!(
        got.report.reasons,
        [
            r#"span 1 "op": trace id must be 16 bytes, got 2"#,
            r#"span 2 "op": trace id "zz8efff798038103d269b633813fc60c" is not hex"#,
            r#"span 3 "op": trace id is all zero"#,
            r#"span 4 "op": span id is all zero"#,
            r#"span 5 "op": span id must be 8 bytes, got 0"#,
        ]
    );
    assert!(
        got.report
            .error_message()
            .starts_with("8 invalid spans rejected: ")
    );
    assert!(got.report.error_message().ends_with("; and 3 more"));
    let kept: Vec<String> = got
        .batch
        .spans()
        .map(|(_, _, s)| s.span_id.to_hex())
        .collect();
    // The good one, and the one whose all-zero parent means "root".
    assert_eq!(kept, ["eee19b7ec3c1b173", "eee19b7ec3c1b178"]);
    assert!(
        got.batch
            .spans()
            .all(|(_, _, s)| s.parent_span_id.is_none())
    );

    // The remaining reasons, one at a time.
    for (span, want) in [
        (&spans[6], "parent span id must be 8 bytes, got 2"),
        (&spans[7], r#"span 0 "": span name is empty"#),
        (&spans[8], "end time 29 is before start time 30"),
    ] {
        let body = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span}]}}]}}]}}"#);
        let got = decode_otlp_traces(
            Some("application/json"),
            body.as_bytes(),
            &TraceDecodeLimits::default(),
        )
        .unwrap();
        assert_eq!(got.report.rejected_spans, 1);
        assert!(
            got.report.reasons[0].contains(want),
            "{:?}",
            got.report.reasons
        );
        assert_eq!(got.batch.span_count(), 0);
        // Groups left without spans are not kept.
        assert!(got.batch.resources.is_empty());
    }
}

#[test]
fn protobuf_ids_of_the_wrong_length_are_rejected() {
    let mut req = full_request();
    let spans = &mut req.resource_spans[1].scope_spans[0].spans;
    spans[0].trace_id.truncate(8);
    spans[1].span_id.push(0);
    let got = decode_proto(&req);
    assert_eq!(got.report.rejected_spans, 2);
    assert_eq!(
        got.report.reasons,
        [
            r#"span 2 "charge": trace id must be 16 bytes, got 8"#,
            r#"span 3 "INSERT payments": span id must be 8 bytes, got 9"#,
        ]
    );
    assert_eq!(got.batch.span_count(), 2);
    // The payments resource lost all its spans and is gone.
    assert_eq!(got.batch.resources.len(), 1);
    let r = encode_export_response(&got.report, OtlpFormat::Protobuf);
    let r = ExportTraceServiceResponse::decode(r.as_slice()).unwrap();
    assert_eq!(r.partial_success.unwrap().rejected_spans, 2);
}

#[test]
fn links_with_unreadable_ids_are_dropped_and_counted() {
    let mut req = full_request();
    let root = &mut req.resource_spans[0].scope_spans[0].spans[0];
    root.links[0].span_id = vec![1, 2, 3];
    let got = decode_proto(&req);
    assert_eq!(got.report.rejected_spans, 0);
    let trace = one_trace(got.batch);
    let (_, root) = trace.root().unwrap();
    assert_eq!(root.links.len(), 1);
    assert_eq!(root.dropped_links_count, 6);

    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        span_json(
            TRACE,
            "eee19b7ec3c1b173",
            r#","links":[{"traceId":"xyz","spanId":"b7ad6b7169203331"},{"spanId":"b7ad6b7169203331"}]"#
        )
    );
    let got = decode_otlp_traces(
        Some("application/json"),
        body.as_bytes(),
        &TraceDecodeLimits::default(),
    )
    .unwrap();
    let (_, _, s) = got.batch.spans().next().unwrap();
    assert!(s.links.is_empty());
    assert_eq!(s.dropped_links_count, 2);
}

#[test]
fn content_types_and_limits() {
    let body = full_request().encode_to_vec();
    for ct in [None, Some("text/plain"), Some("application/protobuf")] {
        let e = decode_otlp_traces(ct, &body, &TraceDecodeLimits::default()).unwrap_err();
        assert_eq!(e.http_status(), 415, "{ct:?}");
    }
    assert_eq!(
        OtlpFormat::from_content_type(Some("Application/X-Protobuf; charset=binary")).unwrap(),
        OtlpFormat::Protobuf
    );
    let small = TraceDecodeLimits {
        max_decoded_bytes: 100,
        ..Default::default()
    };
    let e = decode_otlp_traces(Some("application/x-protobuf"), &body, &small).unwrap_err();
    assert_eq!(e.http_status(), 413);
    assert_eq!(
        e.to_string(),
        format!(
            "decoded body of {} bytes exceeds the limit of 100 bytes",
            body.len()
        )
    );
    let few = TraceDecodeLimits {
        max_spans: 3,
        ..Default::default()
    };
    for (ct, b) in [
        ("application/x-protobuf", body.clone()),
        ("application/json", super::json_body()),
    ] {
        let e = decode_otlp_traces(Some(ct), &b, &few).unwrap_err();
        assert_eq!(e.http_status(), 413, "{ct}");
        assert_eq!(
            e.to_string(),
            "request has 4 spans, more than the limit of 3",
            "{ct}"
        );
    }
    assert!(
        decode_otlp_traces(
            Some("application/x-protobuf"),
            &body,
            &TraceDecodeLimits::unlimited()
        )
        .is_ok()
    );
}
