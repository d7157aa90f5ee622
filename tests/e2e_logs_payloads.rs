//! Log payloads of senders that cannot run here, built as they build them, against the real
//! binary: Fluent Bit's `http` output (json, json_lines, msgpack; gzip; the date key as float
//! seconds and ISO 8601) and `loki` output (static labels, per-record labels with structured
//! metadata, gzip, tenants), byte for byte from Fluent Bit's source (`support/fluentbit.rs`
//! names the lines), and Promtail's snappy protobuf push. Every entry is read back through
//! `query_range` and compared exactly. Then malformed bodies at every front door: a 4xx
//! naming the problem, and everything written before still there.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use support::fluentbit::{self, DateFormat, Record, Value};
use support::logs::{
    Entry, Pairs, assert_same_entries, normalized_level, now_ns, pairs, query_entries,
    with_service_name,
};
use support::{TestServer, http};

const HOUR_NS: i64 = 3_600_000_000_000;

/// Records as a Fluent Bit tail input would hold them, with microsecond times (what
/// `json_date_format double` and `iso8601` can carry).
fn fluent_bit_records(app: &str, n: i64) -> Vec<Record> {
    let base = (now_ns() - 60_000_000_000) / 1000 * 1000;
    (0..n)
        .map(|i| Record {
            ts_ns: base + i * 1_234_567_000,
            fields: vec![
                (
                    "log".into(),
                    Value::Str(format!("GET /item/{i} \"{app}\" {}", 200 + i % 3)),
                ),
                ("app".into(), Value::Str(app.into())),
                ("request_id".into(), Value::Str(format!("req-{app}-{i}"))),
                (
                    "level".into(),
                    Value::Str(if i % 4 == 0 { "WARN" } else { "info" }.into()),
                ),
                ("bytes".into(), Value::Int(1000 + i)),
            ],
        })
        .collect()
}

/// A Fluent Bit record as stored with `labels: [env=prod]`, `label_keys: [$app]`,
/// `structured_metadata: [$request_id]` and the request's tag.
fn fluent_bit_entry(r: &Record, tag: &str) -> Entry {
    let mut stream = pairs(&[("env", "prod"), ("app", r.str("app")), ("tag", tag)]);
    stream = with_service_name(stream);
    Entry {
        stream,
        ts: r.ts_ns,
        line: r.json_without(&["app", "request_id"]),
        metadata: pairs(&[
            ("request_id", r.str("request_id")),
            ("detected_level", &normalized_level(r.str("level"))),
        ]),
    }
}

#[test]
fn fluent_bit_http_output_payloads() {
    let server = TestServer::builder()
        .config(
            "logs:\n  records:\n    labels: [env=prod]\n    label_keys: [$app]\n    structured_metadata: [$request_id]\n",
        )
        .start();
    let start = now_ns() - HOUR_NS;
    let push = |query: &str, ct: &str, gz: bool, body: Vec<u8>| {
        let body = if gz { fluentbit::gzip(&body) } else { body };
        let mut headers = vec![("Content-Type", ct), ("User-Agent", "Fluent-Bit")];
        if gz {
            headers.push(("Content-Encoding", "gzip"));
        }
        let r = http::post(
            &format!("{}/fluentbit/api/v1/push?{query}", server.url()),
            &headers,
            &body,
        )
        .expect("POST /fluentbit/api/v1/push");
        assert!(
            (200..=205).contains(&r.status),
            "{query}: Fluent Bit counts 200-205 as success, got {}: {}",
            r.status,
            r.text()
        );
    };
    let mut want = Vec::new();
    // format json, json_date_format double (Fluent Bit's defaults).
    let recs = fluent_bit_records("json", 5);
    push(
        "tag=fb.json",
        "application/json",
        false,
        fluentbit::http_json(&recs, Some(("date", DateFormat::Double))),
    );
    want.extend(recs.iter().map(|r| fluent_bit_entry(r, "fb.json")));
    // format json_lines, json_date_format iso8601, compress gzip.
    let recs = fluent_bit_records("lines", 5);
    push(
        "tag=fb.lines&json_date_format=iso8601",
        "application/x-ndjson",
        true,
        fluentbit::http_json_lines(&recs, Some(("date", DateFormat::Iso8601))),
    );
    want.extend(recs.iter().map(|r| fluent_bit_entry(r, "fb.lines")));
    // format json with json_date_key ts.
    let recs = fluent_bit_records("tskey", 3);
    push(
        "tag=fb.tskey&json_date_key=ts",
        "application/json",
        true,
        fluentbit::http_json(&recs, Some(("ts", DateFormat::Double))),
    );
    want.extend(recs.iter().map(|r| fluent_bit_entry(r, "fb.tskey")));
    // format msgpack: nanosecond EventTimes.
    let mut recs = fluent_bit_records("msgpack", 5);
    for (i, r) in recs.iter_mut().enumerate() {
        r.ts_ns += 123 + i as i64;
    }
    push(
        "tag=fb.msgpack",
        "application/msgpack",
        true,
        fluentbit::http_msgpack(&recs),
    );
    want.extend(recs.iter().map(|r| fluent_bit_entry(r, "fb.msgpack")));
    let got = query_entries(
        server.url(),
        None,
        r#"{env="prod"}"#,
        start,
        now_ns() + HOUR_NS,
    );
    assert_same_entries("Fluent Bit http output", got, want);
}

#[test]
fn fluent_bit_loki_output_payloads() {
    let server = TestServer::builder()
        .config("multitenancy:\n  enabled: true\n")
        .start();
    let start = now_ns() - HOUR_NS;
    let push = |tenant: &str, gz: bool, body: Vec<u8>| {
        let body = if gz { fluentbit::gzip(&body) } else { body };
        let mut headers = vec![
            ("User-Agent", "Fluent-Bit"),
            ("Content-Type", "application/json"),
            ("X-Scope-OrgID", tenant),
        ];
        if gz {
            headers.push(("Content-Encoding", "gzip"));
        }
        let r = http::post(
            &format!("{}/loki/api/v1/push", server.url()),
            &headers,
            &body,
        )
        .expect("POST /loki/api/v1/push");
        assert_eq!(r.status, 204, "{}", r.text());
    };
    // Fluent Bit's defaults: no labels configured, so job="fluent-bit".
    let plain = fluent_bit_records("plain", 4);
    push(
        "fb",
        false,
        fluentbit::loki_static(&[("job", "fluent-bit")], &plain),
    );
    let mut want: Vec<Entry> = plain
        .iter()
        .map(|r| Entry {
            stream: with_service_name(pairs(&[("job", "fluent-bit")])),
            ts: r.ts_ns,
            line: r.json_without(&[]),
            // The level is found in the JSON line.
            metadata: pairs(&[("detected_level", &normalized_level(r.str("level")))]),
        })
        .collect();
    // labels job=fb-loki, $app; structured_metadata $request_id; compress gzip.
    let per = fluent_bit_records("per-record", 4);
    push(
        "fb",
        true,
        fluentbit::loki_per_record("fb-loki", "app", "request_id", &per),
    );
    want.extend(per.iter().map(|r| Entry {
        stream: with_service_name(pairs(&[("job", "fb-loki"), ("app", r.str("app"))])),
        ts: r.ts_ns,
        line: r.json_without(&["app", "request_id"]),
        metadata: pairs(&[
            ("request_id", r.str("request_id")),
            ("detected_level", &normalized_level(r.str("level"))),
        ]),
    }));
    let end = now_ns() + HOUR_NS;
    let q = r#"{job=~"fluent-bit|fb-loki"}"#;
    assert_same_entries(
        "Fluent Bit loki output",
        query_entries(server.url(), Some("fb"), q, start, end),
        want,
    );
    assert_same_entries(
        "another tenant",
        query_entries(server.url(), Some("other"), q, start, end),
        vec![],
    );
}

/// An entry of a protobuf push: nanoseconds, line, structured metadata.
type ProtoEntry = (i64, String, Vec<(&'static str, &'static str)>);

#[test]
fn loki_protobuf_snappy_push_as_promtail_sends_it() {
    let server = TestServer::start();
    let start = now_ns() - HOUR_NS;
    let ts0 = now_ns() - 20_000_000_000;
    // Repetitive lines, as real logs are: the snappy block is much smaller than the request.
    let line = |i: i64| {
        format!("level=info msg=\"request served\" path=/api/v1/items/{i} status=200 duration=12ms")
    };
    let a: Vec<ProtoEntry> = (0..200)
        .map(|i| {
            (
                ts0 + i * 1000,
                line(i),
                vec![("trace_id", "0af7651916cd43dd8448eb211c80319c")],
            )
        })
        .collect();
    let b: Vec<ProtoEntry> = (0..50).map(|i| (ts0 + i * 7, line(i), vec![])).collect();
    let body = support::logs::loki_push_proto(&[
        (r#"{job="promtail", host="h1"}"#, a.clone()),
        (
            r#"{job="promtail", host="h2", service_name="api"}"#,
            b.clone(),
        ),
    ]);
    let r = http::post(
        &format!("{}/loki/api/v1/push", server.url()),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("User-Agent", "promtail/3.0.0"),
        ],
        &body,
    )
    .expect("push");
    assert_eq!(r.status, 204, "{}", r.text());
    let mut want: Vec<Entry> = a
        .iter()
        .map(|(ts, l, md)| {
            let mut md: Pairs = md
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            md.insert("detected_level".into(), "info".into());
            Entry {
                stream: with_service_name(pairs(&[("job", "promtail"), ("host", "h1")])),
                ts: *ts,
                line: l.clone(),
                metadata: md,
            }
        })
        .collect();
    want.extend(b.iter().map(|(ts, l, _)| Entry {
        stream: pairs(&[("job", "promtail"), ("host", "h2"), ("service_name", "api")]),
        ts: *ts,
        line: l.clone(),
        metadata: pairs(&[("detected_level", "info")]),
    }));
    assert_same_entries(
        "protobuf push",
        query_entries(
            server.url(),
            None,
            r#"{job="promtail"}"#,
            start,
            now_ns() + HOUR_NS,
        ),
        want,
    );
}

/// What a malformed request is, where it goes, its headers and body.
type BadRequest = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
);

#[test]
fn malformed_bodies_get_a_4xx_with_a_reason_and_lose_nothing() {
    let server = TestServer::start();
    let url = server.url();
    let start = now_ns() - HOUR_NS;
    let ts0 = now_ns() - 30_000_000_000;
    let before: Vec<Entry> = (0..20)
        .map(|i| Entry {
            stream: with_service_name(pairs(&[("job", "before")])),
            ts: ts0 + i,
            line: format!("kept line {i}"),
            metadata: pairs(&[("detected_level", "unknown")]),
        })
        .collect();
    let values: Vec<serde_json::Value> = before
        .iter()
        .map(|e| serde_json::json!([e.ts.to_string(), e.line]))
        .collect();
    let body = serde_json::json!({"streams": [{"stream": {"job": "before"}, "values": values}]});
    let r = http::post(
        &format!("{url}/loki/api/v1/push"),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .expect("push");
    assert_eq!(r.status, 204, "{}", r.text());

    let not_gzip = b"this is not gzip".to_vec();
    let cases: Vec<BadRequest> = vec![
        (
            "Loki JSON, cut short",
            "/loki/api/v1/push",
            vec![("Content-Type", "application/json")],
            br#"{"streams":[{"stream":{"a":"b"},"values":[["1","x"#.to_vec(),
        ),
        (
            "Loki JSON, numeric timestamp",
            "/loki/api/v1/push",
            vec![("Content-Type", "application/json")],
            br#"{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}"#.to_vec(),
        ),
        (
            "Loki JSON, timestamp not a number",
            "/loki/api/v1/push",
            vec![("Content-Type", "application/json")],
            br#"{"streams":[{"stream":{"a":"b"},"values":[["soon","x"]]}]}"#.to_vec(),
        ),
        (
            "Loki protobuf, not snappy",
            "/loki/api/v1/push",
            vec![("Content-Type", "application/x-protobuf")],
            b"\xff\xfe not snappy at all".to_vec(),
        ),
        (
            "Loki push, gzip that is not",
            "/loki/api/v1/push",
            vec![
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            not_gzip.clone(),
        ),
        (
            "Loki push, unknown encoding",
            "/loki/api/v1/push",
            vec![
                ("Content-Type", "application/json"),
                ("Content-Encoding", "br"),
            ],
            b"{}".to_vec(),
        ),
        (
            "legacy push, not JSON",
            "/api/prom/push",
            vec![("Content-Type", "application/json")],
            b"streams: []".to_vec(),
        ),
        (
            "Fluent Bit json, not JSON",
            "/fluentbit/api/v1/push",
            vec![("Content-Type", "application/json")],
            b"[{\"log\": ".to_vec(),
        ),
        (
            "Fluent Bit msgpack, truncated",
            "/fluentbit/api/v1/push",
            vec![("Content-Type", "application/msgpack")],
            vec![0x92, 0x92, 0xd7, 0x00, 0x01],
        ),
        (
            "Fluent Bit, unknown content type",
            "/fluentbit/api/v1/push",
            vec![("Content-Type", "text/csv")],
            b"a,b".to_vec(),
        ),
        (
            "OTLP protobuf, not protobuf",
            "/v1/logs",
            vec![("Content-Type", "application/x-protobuf")],
            b"\xff\xff\xff\xff".to_vec(),
        ),
        (
            "OTLP JSON, not JSON",
            "/v1/logs",
            vec![("Content-Type", "application/json")],
            b"{\"resourceLogs\": [".to_vec(),
        ),
    ];
    for (what, path, headers, body) in &cases {
        let r = http::post(&format!("{url}{path}"), headers, body)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            (400..500).contains(&r.status),
            "{what}: expected a 4xx, got {}: {}",
            r.status,
            r.text()
        );
        assert!(
            !r.text().trim().is_empty(),
            "{what}: {} without a reason",
            r.status
        );
        eprintln!("{what}: {} {}", r.status, r.text().trim());
    }
    // OTLP/HTTP's own port answers the same.
    let r = http::post(
        &format!("{}/v1/logs", server.otlp_http_url()),
        &[("Content-Type", "application/x-protobuf")],
        b"\xff\xff\xff\xff",
    )
    .expect("OTLP/HTTP port");
    assert_eq!(r.status, 400, "{}", r.text());
    // The forward listener closes a connection that sends bytes that are not msgpack.
    let mut s = TcpStream::connect(server.forward_addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&[0xc1; 64]).expect("send");
    let mut rest = Vec::new();
    let closed = s.read_to_end(&mut rest);
    assert!(
        closed.is_ok() && rest.is_empty(),
        "forward: {closed:?} {rest:?}"
    );

    assert_same_entries(
        "entries written before the bad requests",
        query_entries(url, None, r#"{job="before"}"#, start, now_ns() + HOUR_NS),
        before,
    );
    let everything = query_entries(url, None, r#"{job=~".+"}"#, start, now_ns() + HOUR_NS);
    assert_eq!(
        everything.len(),
        20,
        "nothing else was stored: {everything:?}"
    );
}
