//! The OpenTelemetry Python SDK's OTLP span exporters (gRPC and HTTP) against the real binary:
//! `tests/clients/otel_traces.py` instruments a small shop of three services (nested spans
//! across services through W3C propagation, every span kind, errors with messages, events,
//! links, typed and array attributes), exports every span in its own request, and prints what
//! it sent. Every trace is then read back by id (`/api/traces/<id>` and `/api/v2/traces/<id>`,
//! OTLP JSON as Grafana's Tempo data source asks) from the head and, after a flush, from the
//! Parquet block, and compared span by span, attribute by attribute.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::TestServer;
use support::http;
use support::logs::{run_client, run_client_raw};

/// What the SDK sent, by trace id, each span in the script's description format.
fn by_trace(spans: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for s in spans {
        let mut s = s.clone();
        // A scope without a version is sent without one.
        if s["scope_version"].is_null() {
            s["scope_version"] = json!("");
        }
        let id = s["trace_id"].as_str().expect("trace_id").to_string();
        out.entry(id).or_default().push(s);
    }
    for spans in out.values_mut() {
        spans.sort_by_key(|s| s["span_id"].as_str().unwrap_or_default().to_string());
    }
    out
}

/// An OTLP/JSON `AnyValue` in the script's `[type, value]` form.
fn typed(v: &Value) -> Value {
    let (k, x) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .unwrap_or_else(|| panic!("AnyValue without a value: {v}"));
    match k.as_str() {
        "stringValue" => json!(["string", x]),
        "intValue" => {
            let n: i64 = match x {
                Value::String(s) => s.parse().expect("intValue"),
                other => other.as_i64().expect("intValue"),
            };
            json!(["int", n])
        }
        "doubleValue" => json!(["double", x.as_f64().expect("doubleValue")]),
        "boolValue" => json!(["bool", x]),
        "arrayValue" => {
            let values = x["values"].as_array().cloned().unwrap_or_default();
            json!(["array", values.iter().map(typed).collect::<Vec<_>>()])
        }
        other => panic!("unexpected AnyValue field {other}: {v}"),
    }
}

fn attributes(v: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for a in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        m.insert(
            a["key"].as_str().expect("key").to_string(),
            typed(&a["value"]),
        );
    }
    Value::Object(m)
}

fn nanos(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().expect("nanoseconds"),
        other => other.as_u64().expect("nanoseconds"),
    }
}

const KINDS: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUSES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

fn enum_number(v: &Value, names: &[&str]) -> u64 {
    match v {
        Value::Null => 0,
        Value::String(s) => names
            .iter()
            .position(|n| n == s)
            .unwrap_or_else(|| panic!("unknown enum name {s}")) as u64,
        other => other.as_u64().expect("enum number"),
    }
}

/// The spans of a Tempo trace body (v1 `batches` or v2 `trace.resourceSpans`) in the
/// script's description format, sorted by span id.
fn spans_of(body: &Value) -> Vec<Value> {
    let groups = body["batches"]
        .as_array()
        .or_else(|| body["trace"]["resourceSpans"].as_array())
        .unwrap_or_else(|| panic!("no batches nor trace.resourceSpans in {body}"));
    let mut out = Vec::new();
    for rs in groups {
        let mut resource = serde_json::Map::new();
        for a in rs["resource"]["attributes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let v = &a["value"]["stringValue"];
            resource.insert(a["key"].as_str().expect("key").to_string(), v.clone());
        }
        for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
            for s in ss["spans"].as_array().expect("spans") {
                let parent = s["parentSpanId"].as_str().filter(|p| !p.is_empty());
                let events: Vec<Value> = s["events"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|e| {
                        json!({"name": e["name"], "time": nanos(&e["timeUnixNano"]),
                               "attributes": attributes(&e["attributes"])})
                    })
                    .collect();
                let links: Vec<Value> = s["links"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|l| {
                        json!({"trace_id": l["traceId"], "span_id": l["spanId"],
                               "attributes": attributes(&l["attributes"])})
                    })
                    .collect();
                out.push(json!({
                    "trace_id": s["traceId"],
                    "span_id": s["spanId"],
                    "parent_span_id": parent,
                    "name": s["name"],
                    "kind": enum_number(&s["kind"], &KINDS),
                    "start": nanos(&s["startTimeUnixNano"]),
                    "end": nanos(&s["endTimeUnixNano"]),
                    "status_code": enum_number(&s["status"]["code"], &STATUSES),
                    "status_message": s["status"]["message"].as_str().unwrap_or_default(),
                    "attributes": attributes(&s["attributes"]),
                    "events": events,
                    "links": links,
                    "resource": resource.clone(),
                    "scope_name": ss["scope"]["name"].as_str().unwrap_or_default(),
                    "scope_version": ss["scope"]["version"].as_str().unwrap_or_default(),
                }));
            }
        }
    }
    out.sort_by_key(|s| s["span_id"].as_str().unwrap_or_default().to_string());
    out
}

fn get_trace(url: &str, path: &str, tenant: Option<&str>) -> http::Response {
    let headers: Vec<(&str, &str)> = tenant
        .map(|t| vec![("X-Scope-OrgID", t)])
        .unwrap_or_default();
    http::request(
        "GET",
        &format!("{url}{path}"),
        &headers,
        b"",
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Reads every trace of `want` back through both by-id endpoints and compares it span by span.
fn assert_traces(server: &TestServer, tenant: Option<&str>, want: &BTreeMap<String, Vec<Value>>) {
    for (id, spans) in want {
        for path in [format!("/api/traces/{id}"), format!("/api/v2/traces/{id}")] {
            let r = get_trace(server.url(), &path, tenant);
            assert_eq!(r.status, 200, "GET {path}: {}", r.text());
            let got = spans_of(&r.json());
            assert_eq!(
                got.len(),
                spans.len(),
                "GET {path}: span count differs:\n got {got:#?}\nwant {spans:#?}"
            );
            for (g, w) in got.iter().zip(spans) {
                assert_eq!(g, w, "GET {path}: span {} differs", w["span_id"]);
            }
        }
    }
}

#[test]
fn opentelemetry_sdk_span_exporters_round_trip() {
    let server = TestServer::start();
    let grpc = run_client("otel_traces.py", &["grpc", server.otlp_grpc_addr(), "3"]);
    let http_out = run_client(
        "otel_traces.py",
        &["http", &format!("{}/v1/traces", server.otlp_http_url()), "3"],
    );
    // The main port serves /v1/traces too.
    let main_port = run_client(
        "otel_traces.py",
        &["http", &format!("{}/v1/traces", server.url()), "2"],
    );
    let mut all = grpc;
    all.extend(http_out);
    all.extend(main_port);
    let want = by_trace(&all);
    assert_eq!(want.len(), 8, "eight traces sent");
    assert!(want.values().all(|s| s.len() == 7), "seven spans each");
    // Every trace but the first of each run links to the previous trace's root.
    let links_to_sent = all
        .iter()
        .flat_map(|s| s["links"].as_array().cloned().unwrap_or_default())
        .filter(|l| l["trace_id"].as_str().is_some_and(|t| want.contains_key(t)))
        .count();
    assert_eq!(links_to_sent, 5, "links to sent traces");

    assert_traces(&server, None, &want);
    server.flush();
    assert_traces(&server, None, &want);

    let missing = get_trace(server.url(), "/api/traces/0123456789abcdef0123456789abcdef", None);
    assert_eq!(missing.status, 404, "{}", missing.text());
    let bad = get_trace(server.url(), "/api/traces/not-hex", None);
    assert_eq!(bad.status, 400, "{}", bad.text());
}

#[test]
fn opentelemetry_sdk_span_exporters_with_tenants() {
    let server = TestServer::builder()
        .config("multitenancy:\n  enabled: true\n")
        .start();
    let a = by_trace(&run_client(
        "otel_traces.py",
        &["grpc", server.otlp_grpc_addr(), "2", "team-a"],
    ));
    let b = by_trace(&run_client(
        "otel_traces.py",
        &[
            "http",
            &format!("{}/v1/traces", server.otlp_http_url()),
            "2",
            "team-b",
        ],
    ));
    // Without a tenant the export fails, and the exporter says so.
    let none = run_client_raw(
        "otel_traces.py",
        &["http", &format!("{}/v1/traces", server.otlp_http_url()), "1"],
    );
    assert!(
        !none.status.success(),
        "an export without a tenant was accepted"
    );
    assert_traces(&server, Some("team-a"), &a);
    assert_traces(&server, Some("team-b"), &b);
    for id in a.keys() {
        let r = get_trace(server.url(), &format!("/api/traces/{id}"), Some("team-b"));
        assert_eq!(r.status, 404, "team-b read team-a's trace {id}: {}", r.text());
    }
}
