//! Real log clients against the real binary: each sends known records through its front
//! door, and every line, timestamp, stream label set and structured metadata pair is read
//! back through `/loki/api/v1/query_range` (as Grafana asks, `categorize-labels`) and compared
//! with what the client sent, mapped by Loki's documented rules:
//!
//! - `python-logging-loki` (`tests/clients/loki_push.py`): the v1 JSON push and the legacy
//!   `/api/prom/push`, with tenants when multi-tenancy is on;
//! - `fluent-logger` (`tests/clients/fluent_forward.py`): forward protocol Message mode, and
//!   Fluent Bit's Forward / PackedForward / CompressedPackedForward modes with acknowledgements
//!   and the shared-key handshake;
//! - the OpenTelemetry Python SDK's OTLP log exporters, gRPC and HTTP
//!   (`tests/clients/otlp_logs.py`);
//!
//! Fluent Bit's payloads, Promtail's protobuf and malformed bodies are `e2e_logs_payloads.rs`.
//!
//! Expected streams add what Loki's distributor adds: `service_name` (service name
//! discovery) and the `detected_level` structured metadata (level detection).

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use support::TestServer;
use support::logs::{
    Entry, Pairs, assert_same_entries, normalized_level, now_ns, pairs, query_entries,
    query_range_raw, run_client, run_client_raw, wait_entries, with_service_name,
};

const HOUR_NS: i64 = 3_600_000_000_000;

/// What python-logging-loki sent, as the stored entry must look: its labels plus
/// `service_name`, and `detected_level` from its `severity` label.
fn loki_handler_entry(sent: &serde_json::Value) -> Entry {
    let labels: Pairs = match &sent["labels"] {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_string()))
            .collect(),
        // The legacy format's label string, `{a="b",c="d"}` (values without quotes here).
        serde_json::Value::String(s) => s
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("name=\"value\"");
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect(),
        other => panic!("labels: {other}"),
    };
    let ts_text = sent["ts"].as_str().expect("ts is a string");
    let ts = match ts_text.parse::<i64>() {
        Ok(ns) => ns,
        Err(_) => chrono::DateTime::parse_from_rfc3339(ts_text)
            .unwrap_or_else(|e| panic!("legacy ts {ts_text}: {e}"))
            .timestamp_nanos_opt()
            .expect("in range"),
    };
    let level = normalized_level(&labels["severity"]);
    Entry {
        stream: with_service_name(labels),
        ts,
        line: sent["line"].as_str().expect("line").to_string(),
        metadata: pairs(&[("detected_level", &level)]),
    }
}

#[test]
fn python_logging_loki_v1_and_legacy_push() {
    let server = TestServer::start();
    let url = server.url();
    let start = now_ns() - HOUR_NS;
    let mut sent = run_client(
        "loki_push.py",
        &[&format!("{url}/loki/api/v1/push"), "1", "7", "pyv1"],
    );
    sent.extend(run_client(
        "loki_push.py",
        &[&format!("{url}/api/prom/push"), "0", "7", "pyv0"],
    ));
    assert_eq!(sent.len(), 14);
    let want: Vec<Entry> = sent.iter().map(loki_handler_entry).collect();
    let got = query_entries(url, None, r#"{app="pyapp"}"#, start, now_ns() + HOUR_NS);
    assert_same_entries("python-logging-loki", got, want);
}

#[test]
fn python_logging_loki_tenants_see_only_their_own() {
    let server = TestServer::builder()
        .config("multitenancy:\n  enabled: true\n")
        .start();
    let url = server.url();
    let start = now_ns() - HOUR_NS;
    let a = run_client(
        "loki_push.py",
        &[&format!("{url}/loki/api/v1/push"), "1", "5", "a", "team-a"],
    );
    let b = run_client(
        "loki_push.py",
        &[&format!("{url}/api/prom/push"), "0", "4", "b", "team-b"],
    );
    // Without a tenant the push is refused, and the client says so.
    let none = run_client_raw(
        "loki_push.py",
        &[&format!("{url}/loki/api/v1/push"), "1", "2", "none"],
    );
    assert!(
        !none.status.success(),
        "a push without X-Scope-OrgID was accepted with multi-tenancy on"
    );
    let end = now_ns() + HOUR_NS;
    let q = r#"{app="pyapp"}"#;
    assert_same_entries(
        "team-a",
        query_entries(url, Some("team-a"), q, start, end),
        a.iter().map(loki_handler_entry).collect(),
    );
    assert_same_entries(
        "team-b",
        query_entries(url, Some("team-b"), q, start, end),
        b.iter().map(loki_handler_entry).collect(),
    );
    assert_same_entries(
        "team-c",
        query_entries(url, Some("team-c"), q, start, end),
        vec![],
    );
    let r = query_range_raw(url, None, &[("query", q)]);
    assert_eq!(r.status, 401, "a query without a tenant: {}", r.text());
}

/// The forward client's record `seq` as stored: the record as Fluent Bit's `loki` output
/// writes it (compact JSON, keys in order), the tag as label.
fn forward_entry(tag: &str, sent: &serde_json::Value) -> Entry {
    let seq = sent["seq"].as_i64().expect("seq");
    let level = if seq % 5 == 0 { "error" } else { "info" };
    Entry {
        stream: with_service_name(pairs(&[("tag", tag)])),
        ts: sent["ts_ns"].as_i64().expect("ts_ns"),
        line: format!(r#"{{"msg":"forward record {seq}","seq":{seq},"level":"{level}"}}"#),
        metadata: pairs(&[("detected_level", level)]),
    }
}

fn forward_host_port(server: &TestServer) -> (String, String) {
    let (h, p) = server
        .forward_addr()
        .rsplit_once(':')
        .expect("forward address is host:port");
    (h.to_string(), p.to_string())
}

#[test]
fn fluent_logger_message_mode() {
    let server = TestServer::start();
    let (host, port) = forward_host_port(&server);
    let start = now_ns() - HOUR_NS;
    for (tag, extra) in [("web.nanos", Some("--nanos")), ("web.seconds", None)] {
        let mut args = vec!["message", &host, &port, tag, "6"];
        args.extend(extra);
        let sent = run_client("fluent_forward.py", &args);
        assert_eq!(sent.len(), 6);
        // The client does not wait for acknowledgements: poll.
        let q = format!(r#"{{tag="{tag}"}}"#);
        let got = wait_entries(server.url(), None, &q, start, now_ns() + HOUR_NS, 6);
        assert_same_entries(
            tag,
            got,
            sent.iter().map(|s| forward_entry(tag, s)).collect(),
        );
    }
}

fn raw_forward(server: &TestServer, tag: &str, count: usize, extra: &[&str]) -> Vec<Entry> {
    let (host, port) = forward_host_port(server);
    let n = count.to_string();
    let mut args = vec!["raw", &host, &port, tag, &n];
    args.extend_from_slice(extra);
    let mut out = run_client("fluent_forward.py", &args);
    let last = out.pop().expect("a last line");
    if extra.contains(&"--ack") {
        assert_eq!(
            last["acks"].as_u64(),
            Some(count.div_ceil(4) as u64),
            "{tag}: every message acknowledged: {last}"
        );
    }
    out.iter().map(|s| forward_entry(tag, s)).collect()
}

#[test]
fn forward_modes_with_acknowledgements() {
    let server = TestServer::start();
    let start = now_ns() - HOUR_NS;
    for (mode, ack) in [
        ("forward", true),
        ("packed", true),
        ("compressed", true),
        ("forward", false),
    ] {
        let tag = format!("fwd.{mode}.{}", if ack { "ack" } else { "noack" });
        let mut extra = vec!["--mode", mode];
        if ack {
            extra.push("--ack");
        }
        let want = raw_forward(&server, &tag, 10, &extra);
        let q = format!(r#"{{tag="{tag}"}}"#);
        // Acknowledged messages are durable and visible when the ack comes; the last case
        // has no acks to wait for.
        let got = if ack {
            query_entries(server.url(), None, &q, start, now_ns() + HOUR_NS)
        } else {
            wait_entries(server.url(), None, &q, start, now_ns() + HOUR_NS, 10)
        };
        assert_same_entries(&tag, got, want);
    }
}

#[test]
fn forward_shared_key_handshake() {
    let server = TestServer::builder()
        .config("logs:\n  forward:\n    shared_key: s3cret-key\n    self_hostname: cairn-e2e\n")
        .start();
    let start = now_ns() - HOUR_NS;
    let want = raw_forward(
        &server,
        "secure.ok",
        6,
        &[
            "--mode",
            "forward",
            "--ack",
            "--shared-key",
            "s3cret-key",
            "--hostname",
            "client-1",
        ],
    );
    assert_same_entries(
        "handshake with the right key",
        query_entries(
            server.url(),
            None,
            r#"{tag="secure.ok"}"#,
            start,
            now_ns() + HOUR_NS,
        ),
        want,
    );
    let (host, port) = forward_host_port(&server);
    let refused = run_client(
        "fluent_forward.py",
        &[
            "raw",
            &host,
            &port,
            "secure.bad",
            "3",
            "--mode",
            "forward",
            "--shared-key",
            "wrong-key",
            "--hostname",
            "client-2",
            "--expect-refusal",
        ],
    );
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["refused"], "shared_key mismatch");
    // Events without the handshake close the connection and store nothing.
    let mut s = TcpStream::connect(server.forward_addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut helo = [0u8; 512];
    let n = s.read(&mut helo).expect("HELO");
    assert!(n > 0 && helo[..n].windows(4).any(|w| w == b"HELO"));
    // ["secure.skip", 1700000000, {"msg": "x"}] in msgpack.
    let msg = [
        &[0x93, 0xab][..],
        b"secure.skip",
        &[0xce],
        &1_700_000_000u32.to_be_bytes(),
        &[0x81, 0xa3],
        b"msg",
        &[0xa1, b'x'],
    ]
    .concat();
    s.write_all(&msg).expect("send");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let none = query_entries(
        server.url(),
        None,
        r#"{tag=~"secure.bad|secure.skip"}"#,
        start,
        now_ns() + HOUR_NS,
    );
    assert_same_entries("refused handshakes", none, vec![]);
}

/// Loki's default resource attributes stored as index labels (OTLP ingestion docs, and
/// `deployment.environment.name` of newer releases).
const OTLP_INDEX_ATTRIBUTES: [&str; 18] = [
    "cloud.availability_zone",
    "cloud.region",
    "container.name",
    "deployment.environment",
    "deployment.environment.name",
    "k8s.cluster.name",
    "k8s.container.name",
    "k8s.cronjob.name",
    "k8s.daemonset.name",
    "k8s.deployment.name",
    "k8s.job.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.replicaset.name",
    "k8s.statefulset.name",
    "service.instance.id",
    "service.name",
    "service.namespace",
];

/// The entries one OTLP client run must have produced, by Loki's OTLP mapping: index
/// resource attributes as labels (`.` -> `_`), the other resource attributes, the scope's
/// name and version, the log attributes, both timestamps, severity, flags, trace and span ids
/// as structured metadata, and `detected_level` from `severity_text`.
fn otlp_entries(out: &[serde_json::Value]) -> Vec<Entry> {
    let resource = out[0]["resource"].as_object().expect("resource line first");
    let mut stream = Pairs::new();
    let mut resource_md = Pairs::new();
    for (k, v) in resource {
        let (name, v) = (k.replace('.', "_"), v.as_str().expect("str").to_string());
        if OTLP_INDEX_ATTRIBUTES.contains(&k.as_str()) {
            stream.insert(name, v);
        } else {
            resource_md.insert(name, v);
        }
    }
    out[1..]
        .iter()
        .map(|r| {
            let seq = r["seq"].as_i64().expect("seq");
            let text = r["severity_text"].as_str().expect("severity_text");
            let mut md = resource_md.clone();
            md.extend(pairs(&[
                ("scope_name", "e2e-scope"),
                ("scope_version", "1.2.3"),
                ("seq", &seq.to_string()),
                ("user_id", &format!("u{seq}")),
                ("observed_timestamp", &r["observed"].to_string()),
                ("severity_number", &r["severity_number"].to_string()),
                ("severity_text", text),
                ("trace_id", r["trace_id"].as_str().expect("trace_id")),
                ("span_id", r["span_id"].as_str().expect("span_id")),
                ("detected_level", &normalized_level(text)),
            ]));
            let flags = r["trace_flags"].as_u64().expect("trace_flags");
            if flags != 0 {
                md.insert("flags".into(), flags.to_string());
            }
            Entry {
                stream: with_service_name(stream.clone()),
                ts: r["ts"].as_i64().expect("ts"),
                line: r["body"].as_str().expect("body").to_string(),
                metadata: md,
            }
        })
        .collect()
}

#[test]
fn opentelemetry_sdk_grpc_and_http_exporters() {
    let server = TestServer::start();
    let start = now_ns() - HOUR_NS;
    let grpc = run_client("otlp_logs.py", &["grpc", server.otlp_grpc_addr(), "6"]);
    let http_out = run_client(
        "otlp_logs.py",
        &["http", &format!("{}/v1/logs", server.otlp_http_url()), "6"],
    );
    // The main port serves /v1/logs too.
    let main_port = run_client(
        "otlp_logs.py",
        &["http", &format!("{}/otlp/v1/logs", server.url()), "3"],
    );
    let mut want = otlp_entries(&grpc);
    want.extend(otlp_entries(&http_out));
    want.extend(otlp_entries(&main_port));
    assert_eq!(want.len(), 15);
    let got = query_entries(
        server.url(),
        None,
        r#"{service_name="otel-demo"}"#,
        start,
        now_ns() + HOUR_NS,
    );
    assert_same_entries("OTLP exporters", got, want);
}

#[test]
fn opentelemetry_sdk_exporters_with_tenants() {
    let server = TestServer::builder()
        .config("multitenancy:\n  enabled: true\n")
        .start();
    let start = now_ns() - HOUR_NS;
    let a = run_client(
        "otlp_logs.py",
        &["grpc", server.otlp_grpc_addr(), "4", "team-a"],
    );
    let b = run_client(
        "otlp_logs.py",
        &[
            "http",
            &format!("{}/v1/logs", server.otlp_http_url()),
            "3",
            "team-b",
        ],
    );
    // Without a tenant the export fails, and the exporter says so.
    let none = run_client_raw(
        "otlp_logs.py",
        &["http", &format!("{}/v1/logs", server.otlp_http_url()), "1"],
    );
    assert!(
        !none.status.success(),
        "an export without a tenant was accepted"
    );
    let q = r#"{service_name="otel-demo"}"#;
    let end = now_ns() + HOUR_NS;
    assert_same_entries(
        "team-a",
        query_entries(server.url(), Some("team-a"), q, start, end),
        otlp_entries(&a),
    );
    assert_same_entries(
        "team-b",
        query_entries(server.url(), Some("team-b"), q, start, end),
        otlp_entries(&b),
    );
}
