//! The trace front doors over the real trace store: OTLP/HTTP pushes in protobuf and JSON,
//! partial success, size limits, Tempo's trace-by-id answers (v1 and v2, JSON and
//! protobuf), bad ids, a flush, a restart replaying the trace WAL, and gRPC export.

#[path = "support/app.rs"]
mod app;

use std::net::SocketAddr;
use std::time::Duration;

use app::TestApp;
use axum::http::StatusCode;
use cairn_model::{Trace, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const PB: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT_PB: (&str, &str) = ("accept", "application/protobuf");

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

fn trace_id(n: u8) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0] = 0xab;
    b[15] = n;
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn span(trace: u8, n: u8, parent: Option<u8>, start: u64) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: vec![0, 0, 0, 0, 0, 0, trace, n + 1],
        parent_span_id: parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, trace, p + 1])
            .unwrap_or_default(),
        name: format!("op-{n}"),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000,
        attributes: vec![KeyValue {
            key: "n".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(i64::from(n))),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// An OTLP/JSON body with one span of trace `t` (ids in hex, as OTLP/JSON writes them).
fn json_body(t: u8, n: u8, start: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"scope": {"name": "lib"}, "spans": [{
            "traceId": hex(&trace_id(t)),
            "spanId": hex(&[0, 0, 0, 0, 0, 0, t, n + 1]),
            "parentSpanId": hex(&[0, 0, 0, 0, 0, 0, t, 1]),
            "name": format!("op-{n}"),
            "kind": 3,
            "startTimeUnixNano": start.to_string(),
            "endTimeUnixNano": (start + 1000).to_string(),
        }]}]
    }]}))
    .expect("json")
}

fn decode_v1(body: &[u8], t: u8) -> Trace {
    let id = TraceId::from_bytes(&trace_id(t)).expect("16 bytes");
    let mut tr = Trace::new(id);
    cairn_wire::decode_traces_data(body, &mut tr).expect("a TracesData");
    tr
}

#[tokio::test]
async fn pushes_are_stored_and_read_back_by_id() {
    let app = TestApp::start("").await;
    let t0 = now_ns() - 60_000_000_000;
    // Protobuf on /v1/traces: the root and one child.
    let body = request(vec![span(1, 0, None, t0), span(1, 1, Some(0), t0 + 10)]).encode_to_vec();
    let r = app.post("/v1/traces", &[PB], body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let resp = ExportTraceServiceResponse::decode(r.body.as_slice()).expect("a response");
    assert!(resp.partial_success.is_none());
    // JSON on the Loki-style path: a third span of the same trace.
    let r = app
        .post("/otlp/v1/traces", &[JSON], json_body(1, 2, t0 + 20))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.text(), "{}");
    let id = hex(&trace_id(1));
    // v1 protobuf: the three spans as one trace.
    let r = app.get(&format!("/api/traces/{id}"), &[ACCEPT_PB]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let tr = decode_v1(&r.body, 1);
    assert_eq!(tr.span_count(), 3);
    let names: Vec<&str> = tr.spans().map(|(_, _, s)| s.name.as_str()).collect();
    assert_eq!(names, ["op-0", "op-1", "op-2"]);
    // v1 JSON under `batches`, ids in base64 as Tempo writes them.
    let r = app.get(&format!("/api/traces/{id}"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["batches"].as_array().map(Vec::len), Some(1));
    let spans = &v["batches"][0]["scopeSpans"];
    assert!(spans.is_array(), "{v}");
    // v2 JSON and protobuf; the `/tempo` prefix too.
    let r = app.get(&format!("/tempo/api/v2/traces/{id}"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["trace"]["resourceSpans"].as_array().map(Vec::len),
        Some(1)
    );
    let r = app
        .get(
            &format!("/api/v2/traces/{id}?start=1&end=4000000000"),
            &[ACCEPT_PB],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/protobuf"));
    // The id without its leading zeros in upper case is the same id.
    let short = id.trim_start_matches('0').to_uppercase();
    let r = app.get(&format!("/api/traces/{short}"), &[ACCEPT_PB]).await;
    assert_eq!(r.status, StatusCode::OK);
    // A range that misses the trace's blocks still finds the head's spans, then nothing
    // after a flush.
    let flush = app.post("/api/v1/admin/flush", &[], Vec::new()).await;
    assert_eq!(flush.status, StatusCode::OK, "{}", flush.text());
    assert_eq!(flush.json()["data"]["traces"]["spans"], 3);
    let r = app.get(&format!("/api/traces/{id}"), &[ACCEPT_PB]).await;
    assert_eq!(decode_v1(&r.body, 1).span_count(), 3);
    let r = app
        .get(&format!("/api/traces/{id}?start=1&end=2"), &[ACCEPT_PB])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Unknown and malformed ids.
    let r = app
        .get(&format!("/api/traces/{}", hex(&trace_id(9))), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.text(), "trace not found");
    let r = app.get("/api/v2/traces/xyz", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("can only contain hex characters"),
        "{}",
        r.text()
    );
    let r = app
        .get(&format!("/api/traces/{}", "a".repeat(33)), &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.get("/api/traces/12?start=x&end=3", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Health and build info.
    let r = app.get("/api/echo", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "echo"));
    let r = app.get("/api/status/buildinfo", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["version"].is_string());
}

#[tokio::test]
async fn bad_pushes_get_otlp_answers() {
    let app = TestApp::start("limits:\n  max_request_body_size: 4KiB\n").await;
    let t0 = now_ns();
    // One invalid span (zero span id) beside a valid one: partial success, in JSON.
    let mut bad = span(2, 0, None, t0);
    bad.span_id = vec![0; 8];
    let valid = span(2, 1, None, t0);
    let body = request(vec![bad.clone(), valid.clone()]).encode_to_vec();
    let r = app.post("/v1/traces", &[PB], body).await;
    assert_eq!(r.status, StatusCode::OK);
    let resp = ExportTraceServiceResponse::decode(r.body.as_slice()).expect("a response");
    let ps = resp.partial_success.expect("partial success");
    assert_eq!(ps.rejected_spans, 1);
    assert!(!ps.error_message.is_empty());
    let json = String::from_utf8(json_body(3, 1, t0))
        .expect("utf-8")
        .replace(&hex(&[0, 0, 0, 0, 0, 0, 3, 2]), "0000000000000000");
    let r = app.post("/v1/traces", &[JSON], json.into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["partialSuccess"]["rejectedSpans"], "1");
    // Undecodable: 400 with a google.rpc.Status in the request's encoding.
    let r = app.post("/v1/traces", &[JSON], b"{not json".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], 3);
    let r = app.post("/v1/traces", &[PB], vec![0xff, 0xff, 0xff]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Unknown media type: 415.
    let r = app
        .post(
            "/v1/traces",
            &[("content-type", "text/plain")],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Over the body limit: 413 naming it.
    let many: Vec<Span> = (0..200).map(|n| span(4, n as u8, None, t0)).collect();
    let r = app
        .post("/v1/traces", &[PB], request(many).encode_to_vec())
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().contains("request body too large"), "{}", r.text());
    // An empty request is a success.
    let r = app.post("/v1/traces", &[PB], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    // The two invalid spans are counted, and the one valid span by the store.
    let m = app.get("/metrics", &[]).await.text();
    assert!(m.contains("cairn_traces_spans_rejected_total 2"), "{m}");
    assert!(m.contains("cairn_traces_spans_appended_total 1"), "{m}");
    assert!(
        m.contains(r#"cairn_traces_requests_total{transport="http",code="413"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn tenants_are_apart_and_gzip_is_taken() {
    use std::io::Write;
    let app = TestApp::start("multitenancy:\n  enabled: true\n").await;
    let t0 = now_ns();
    let body = request(vec![span(6, 0, None, t0)]).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let r = app.post("/v1/traces", &[PB], body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .post(
            "/v1/traces",
            &[
                PB,
                ("content-encoding", "gzip"),
                ("x-scope-orgid", "team-a"),
            ],
            gz,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let path = format!("/api/traces/{}", hex(&trace_id(6)));
    let r = app
        .get(&path, &[ACCEPT_PB, ("x-scope-orgid", "team-a")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(decode_v1(&r.body, 6).span_count(), 1);
    let r = app
        .get(&path, &[ACCEPT_PB, ("x-scope-orgid", "team-b")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn the_trace_wal_survives_a_restart_and_traces_can_be_off() {
    let app = TestApp::start("").await;
    let t0 = now_ns();
    let body = request(vec![span(5, 0, None, t0)]).encode_to_vec();
    assert_eq!(
        app.post("/v1/traces", &[PB], body).await.status,
        StatusCode::OK
    );
    let dir = app.shutdown().await;
    assert!(dir.path().join("data/wal-traces").is_dir());
    let app = TestApp::start_in("", dir).await;
    let r = app
        .get(&format!("/api/traces/{}", hex(&trace_id(5))), &[ACCEPT_PB])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(decode_v1(&r.body, 5).span_count(), 1);
    let dir = app.shutdown().await;
    let app = TestApp::start_in("traces:\n  enabled: false\n", dir).await;
    let r = app
        .get(&format!("/api/traces/{}", hex(&trace_id(5))), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let body = request(vec![span(5, 1, None, t0)]).encode_to_vec();
    assert_eq!(
        app.post("/v1/traces", &[PB], body).await.status,
        StatusCode::NOT_FOUND
    );
    app.shutdown().await;
}

/// A one-shot HTTP/1.1 GET with an Accept header; returns the status code and body.
async fn raw_get(addr: SocketAddr, path: &str, accept: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let mut body = out[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

#[tokio::test]
async fn grpc_export_is_readable_by_id() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = cairn_server::Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.server.forward_listen = None;
    config.server.otlp_grpc_listen = Some("127.0.0.1:0".parse().expect("address"));
    config.server.otlp_http_listen = None;
    config.storage.data_dir = dir.path().join("data");
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cairn_server::run_until(
        config,
        move |l: &cairn_server::Listeners| {
            let _ = addr_tx.send((l.http, l.otlp_grpc));
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let (http, grpc) = addr_rx.await.expect("the server reports its addresses");
    let grpc = grpc.expect("the gRPC listener is on");
    for _ in 0..200 {
        if raw_get(http, "/-/ready", "*/*").await.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("gRPC connects");
    let t0 = now_ns();
    let resp = client
        .export(request(vec![
            span(7, 0, None, t0),
            span(7, 1, Some(0), t0 + 5),
        ]))
        .await
        .expect("export succeeds")
        .into_inner();
    assert!(resp.partial_success.is_none());
    // Spans with a bad trace id: partial success over gRPC too.
    let mut bad = span(7, 2, None, t0);
    bad.trace_id = vec![1, 2, 3];
    let resp = client
        .export(request(vec![bad]))
        .await
        .expect("export answers")
        .into_inner();
    assert_eq!(resp.partial_success.map(|p| p.rejected_spans), Some(1));
    let (status, body) = raw_get(
        http,
        &format!("/api/traces/{}", hex(&trace_id(7))),
        "application/protobuf",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(decode_v1(&body, 7).span_count(), 2);
    stop_tx.send(()).expect("server still running");
    let result = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("shutdown finishes in time")
        .expect("the server task does not panic");
    assert!(result.is_ok(), "{result:?}");
}
