use cairn_model::{Labels, LogEntry, LogStream};

use super::*;
use crate::WireError;

fn lbl(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn json(body: &str) -> Result<LokiPush> {
    decode_loki_push(
        Some("application/json; charset=utf-8"),
        body.as_bytes(),
        &LogDecodeLimits::default(),
    )
}

fn entry(ts: i64, line: &str, md: &[(&str, &str)]) -> LogEntry {
    LogEntry {
        ts_ns: ts,
        line: line.into(),
        metadata: md
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn json_push_as_documented() {
    // The example of Loki's HTTP API reference, with structured metadata on one entry.
    let body = r#"{"streams": [
        {"stream": {"foo": "bar2"},
         "values": [["1570818238000000000", "fizzbuzz"],
                    ["1570818238000000001", "with \"escapes\"\n", {"trace_id": "0242ac120002", "user_id": "superUser123"}]]},
        {"stream": {"job": "x", "n": 5, "ok": true}, "values": []}
    ]}"#;
    let got = json(body).unwrap();
    assert!(got.errors.is_empty());
    assert_eq!(
        got.batch.streams,
        vec![
            LogStream {
                labels: lbl(&[("foo", "bar2")]),
                entries: vec![
                    entry(1570818238000000000, "fizzbuzz", &[]),
                    entry(
                        1570818238000000001,
                        "with \"escapes\"\n",
                        &[("trace_id", "0242ac120002"), ("user_id", "superUser123")]
                    ),
                ],
            },
            LogStream {
                labels: lbl(&[("job", "x"), ("n", "5"), ("ok", "true")]),
                entries: vec![],
            },
        ]
    );
}

#[test]
fn json_numeric_timestamps_fail_the_request() {
    let e = json(r#"{"streams":[{"stream":{"a":"b"},"values":[[1570818238000000000,"x"]]}]}"#)
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
    let msg = e.to_string();
    assert!(
        msg.contains("streams[0].values[0]: timestamp must be a string"),
        "{msg}"
    );
    assert!(
        msg.contains("Value is string, but can't find closing '\"' symbol"),
        "{msg}"
    );
    assert!(msg.contains("line 1 column"), "{msg}");
    for (body, want) in [
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["12x","x"]]}]}"#,
            "timestamp \"12x\" is not an integer",
        ),
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["1",2]]}]}"#,
            "line must be a string, got a number",
        ),
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":1}]]}]}"#,
            "structured metadata \"k\" must be a string",
        ),
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x",["k"]]]}]}"#,
            "structured metadata must be an object",
        ),
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}"#,
            "an entry needs a timestamp and a line",
        ),
        (
            r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}"#,
            "EOF",
        ),
        (r#"{"streams":[]} trailing"#, "trailing characters"),
    ] {
        let msg = json(body).unwrap_err().to_string();
        assert!(msg.contains(want), "{body}: {msg}");
    }
}

#[test]
fn json_streams_with_bad_labels_are_reported_and_the_rest_kept() {
    let body = r#"{"streams":[
        {"stream":{"foo.bar":"x"},"values":[["1","a"]]},
        {"stream":{},"values":[["2","b"]]},
        {"values":[["3","c"]]},
        {"stream":{"ok":"yes","empty":""},"values":[["4","d"],null]}
    ]}"#;
    let got = json(body).unwrap();
    assert_eq!(
        got.errors,
        vec![
            StreamError {
                stream: 0,
                labels: r#"{foo.bar="x"}"#.into(),
                reason: r#"error parsing labels '{foo.bar="x"}' with error: 1:5: parse error: unexpected character inside braces: '.'"#.into(),
            },
            StreamError {
                stream: 1,
                labels: "{}".into(),
                reason: "error at least one label pair is required per stream".into(),
            },
            StreamError {
                stream: 2,
                labels: "{}".into(),
                reason: "error at least one label pair is required per stream".into(),
            },
        ]
    );
    assert_eq!(
        got.batch.streams,
        vec![LogStream {
            labels: lbl(&[("ok", "yes")]),
            entries: vec![entry(4, "d", &[])],
        }]
    );
    // Null streams list and null values are empty, not errors.
    assert_eq!(json(r#"{"streams":null}"#).unwrap(), LokiPush::default());
    assert_eq!(json(r#"{}"#).unwrap(), LokiPush::default());
}

#[test]
fn protobuf_push() {
    let streams = vec![
        (
            r#"{job="api", msg="tab\t \"quoted\" \u00e9"}"#.to_string(),
            vec![
                entry(
                    1_700_000_000_123_456_789,
                    "first",
                    &[("trace_id", "abc"), ("trace_id", "dup"), ("", "x")],
                ),
                entry(-1_500_000_000, "before 1970", &[]),
            ],
        ),
        (r#"{ab""#.to_string(), vec![entry(1, "lost", &[])]),
        (r#"{a="1", a="2"}"#.to_string(), vec![]),
        ("{}".to_string(), vec![]),
        (r#"up{instance="x",}"#.to_string(), vec![entry(5, "", &[])]),
    ];
    let body = encode_loki_push_proto(&streams);
    for ct in [None, Some("application/x-protobuf"), Some("text/plain")] {
        let got = decode_loki_push(ct, &body, &LogDecodeLimits::default()).unwrap();
        assert_eq!(
            got.batch.streams,
            vec![
                LogStream {
                    labels: lbl(&[("job", "api"), ("msg", "tab\t \"quoted\" é")]),
                    entries: vec![
                        entry(1_700_000_000_123_456_789, "first", &[("trace_id", "abc")]),
                        entry(-1_500_000_000, "before 1970", &[]),
                    ],
                },
                LogStream {
                    labels: lbl(&[("__name__", "up"), ("instance", "x")]),
                    entries: vec![entry(5, "", &[])],
                },
            ]
        );
        let reasons: Vec<(usize, &str)> = got
            .errors
            .iter()
            .map(|e| (e.stream, e.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (
                    1,
                    r#"error parsing labels '{ab"' with error: 1:4: parse error: unterminated quoted string"#
                ),
                (
                    2,
                    r#"stream '{a="1", a="2"}' has duplicate label name: 'a'"#
                ),
                (3, "error at least one label pair is required per stream"),
            ]
        );
        assert_eq!(got.errors[0].labels, r#"{ab""#);
    }
}

#[test]
fn protobuf_garbage_and_bombs() {
    let limits = LogDecodeLimits::default();
    // Not snappy at all.
    let e = decode_loki_push(None, b"\xff\xff\xff", &limits).unwrap_err();
    assert_eq!(e.http_status(), 400);
    // Snappy of something that is not a PushRequest.
    let e = decode_loki_push(None, &crate::snappy_compress(b"\x0a\x05ab"), &limits).unwrap_err();
    assert!(matches!(e, WireError::Protobuf { .. }), "{e}");
    // A preamble announcing more than the cap.
    let small = LogDecodeLimits {
        max_decoded_bytes: 10,
        ..limits
    };
    let body = encode_loki_push_proto(&[(
        "{a=\"b\"}".into(),
        vec![entry(1, "a long enough line", &[])],
    )]);
    assert_eq!(
        decode_loki_push(None, &body, &small)
            .unwrap_err()
            .http_status(),
        413
    );
    // Nanos out of range drop the stream, not the request.
    let mut w = crate::pb::Writer::default();
    w.message(1, |s| {
        s.bytes(1, b"{a=\"b\"}");
        s.message(2, |e| {
            e.message(1, |t| {
                t.int(1, 1);
                t.int(2, -1);
            });
        });
    });
    let got = super::proto::decode_raw(&w.buf, &limits).unwrap();
    assert!(got.batch.streams.is_empty());
    assert_eq!(
        got.errors[0].reason,
        "entry 0: timestamp nanos -1 out of range [0, 999999999]"
    );
}

#[test]
fn request_limits() {
    let limits = LogDecodeLimits {
        max_entries: 2,
        max_streams: 2,
        ..LogDecodeLimits::default()
    };
    let three = vec![entry(1, "a", &[]), entry(2, "b", &[]), entry(3, "c", &[])];
    let body = encode_loki_push_proto(&[("{a=\"b\"}".into(), three)]);
    let e = decode_loki_push(None, &body, &limits).unwrap_err();
    assert!(matches!(e, WireError::TooManyEntries { limit: 2 }), "{e}");
    let body = r#"{"streams":[{"stream":{"a":"1"}},{"stream":{"a":"2"}},{"stream":{"a":"3"}}]}"#;
    let e = decode_loki_push(Some("application/json"), body.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e, WireError::TooManyStreams { limit: 2 }), "{e}");
    assert_eq!(e.http_status(), 413);
    let body = r#"{"streams":[{"stream":{"a":"1"},"values":[["1","a"],["2","b"],["3","c"]]}]}"#;
    let e = decode_loki_push(Some("application/json"), body.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e, WireError::TooManyEntries { limit: 2 }), "{e}");
}

#[test]
fn service_name_discovery_as_loki_does_it() {
    let d = DEFAULT_DISCOVER_SERVICE_NAME;
    assert_eq!(
        discover_service_name(&lbl(&[("app", "shop"), ("job", "j")]), &d),
        lbl(&[("app", "shop"), ("job", "j"), ("service_name", "shop")])
    );
    assert_eq!(
        discover_service_name(&lbl(&[("env", "prod")]), &d),
        lbl(&[("env", "prod"), ("service_name", "unknown_service")])
    );
    let has = lbl(&[("service_name", "s"), ("app", "a")]);
    assert_eq!(discover_service_name(&has, &d), has);
    let none: [&str; 0] = [];
    assert_eq!(
        discover_service_name(&lbl(&[("app", "a")]), &none),
        lbl(&[("app", "a")])
    );
}
