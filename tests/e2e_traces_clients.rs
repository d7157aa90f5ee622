//! The OpenTelemetry Python SDK's OTLP span exporters (gRPC and HTTP) against the real binary:
//! `tests/clients/otel_traces.py` instruments a small shop of three services (nested spans
//! across services through W3C propagation, every span kind, errors with messages, events,
//! links, typed and array attributes), exports every span in its own request, and prints what
//! it sent. Every trace is then read back by id (`/api/traces/<id>` and `/api/v2/traces/<id>`,
//! OTLP JSON with base64 ids as Tempo writes it) from the head and, after a flush, from the
//! Parquet block, and compared span by span, attribute by attribute. TraceQL searches, tag
//! names and values and TraceQL metrics run over the same traces, with answers worked out
//! from what the SDK reports; and the trace ids of OTLP logs are found with LogQL.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::TestServer;
use support::http;
use support::logs::{now_ns, query_entries, run_client, run_client_raw};

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

/// An id as Tempo's JSON writes it (base64 of the bytes), in lowercase hex.
fn id_hex(v: &Value) -> Value {
    let Some(s) = v.as_str().filter(|s| !s.is_empty()) else {
        return Value::Null;
    };
    let mut bits = 0u32;
    let mut n = 0;
    let mut hex = String::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("id {s:?} is not base64"),
        };
        bits = (bits << 6) | u32::from(d);
        n += 6;
        if n >= 8 {
            n -= 8;
            hex.push_str(&format!("{:02x}", (bits >> n) & 0xff));
        }
    }
    Value::String(hex)
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
                        json!({"trace_id": id_hex(&l["traceId"]), "span_id": id_hex(&l["spanId"]),
                               "attributes": attributes(&l["attributes"])})
                    })
                    .collect();
                out.push(json!({
                    "trace_id": id_hex(&s["traceId"]),
                    "span_id": id_hex(&s["spanId"]),
                    "parent_span_id": id_hex(&s["parentSpanId"]),
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
        &[
            "http",
            &format!("{}/v1/traces", server.otlp_http_url()),
            "3",
        ],
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

    let missing = get_trace(
        server.url(),
        "/api/traces/0123456789abcdef0123456789abcdef",
        None,
    );
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
        &[
            "http",
            &format!("{}/v1/traces", server.otlp_http_url()),
            "1",
        ],
    );
    assert!(
        !none.status.success(),
        "an export without a tenant was accepted"
    );
    assert_traces(&server, Some("team-a"), &a);
    assert_traces(&server, Some("team-b"), &b);
    for id in a.keys() {
        let r = get_trace(server.url(), &format!("/api/traces/{id}"), Some("team-b"));
        assert_eq!(
            r.status,
            404,
            "team-b read team-a's trace {id}: {}",
            r.text()
        );
    }
}

/// `GET` a Tempo API path and return its JSON, asserting a 200.
fn tempo_json(server: &TestServer, path_and_query: &str) -> Value {
    let r = get_trace(server.url(), path_and_query, None);
    assert_eq!(r.status, 200, "GET {path_and_query}: {}", r.text());
    r.json()
}

/// A trace id as Tempo's search prints it: hex without leading zeros.
fn trimmed(id: &str) -> String {
    let t = id.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

/// The spans of `want` for which `pick` holds, by trace id (trimmed as search prints it).
fn expected(
    want: &BTreeMap<String, Vec<Value>>,
    pick: impl Fn(&Value) -> bool,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (id, spans) in want {
        let mut ids: Vec<String> = spans
            .iter()
            .filter(|s| pick(s))
            .map(|s| s["span_id"].as_str().unwrap_or_default().to_string())
            .collect();
        if !ids.is_empty() {
            ids.sort();
            out.insert(trimmed(id), ids);
        }
    }
    out
}

/// A search's answer as trace id -> matched span ids (every spanset), checking the
/// trace-level fields against what was sent.
fn searched(
    server: &TestServer,
    q: &str,
    want: &BTreeMap<String, Vec<Value>>,
) -> BTreeMap<String, Vec<String>> {
    let body = tempo_json(
        server,
        &format!("/api/search?q={}&limit=100&spss=100", http::urlencode(q)),
    );
    let mut out = BTreeMap::new();
    for t in body["traces"].as_array().expect("traces") {
        let id = t["traceID"].as_str().expect("traceID").to_string();
        let (_, spans) = want
            .iter()
            .find(|(full, _)| trimmed(full) == id)
            .unwrap_or_else(|| panic!("{q}: unknown trace {id}"));
        let root = spans
            .iter()
            .find(|s| s["parent_span_id"].is_null())
            .expect("root span");
        assert_eq!(t["rootServiceName"], "frontend", "{q}: {t}");
        assert_eq!(t["rootTraceName"], root["name"], "{q}: {t}");
        assert_eq!(
            t["startTimeUnixNano"],
            root["start"].to_string(),
            "{q}: {t}"
        );
        assert_eq!(t["durationMs"], 50, "{q}: {t}");
        let mut ids: Vec<String> = t["spanSets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .flat_map(|ss| ss["spans"].as_array().cloned().unwrap_or_default())
            .map(|s| s["spanID"].as_str().expect("spanID").to_string())
            .collect();
        ids.sort();
        out.insert(id, ids);
    }
    out
}

fn attr(s: &Value, key: &str) -> Value {
    s["attributes"][key][1].clone()
}

/// Search, tags, tag values and TraceQL metrics over what the SDK sent, from the head and
/// again from the blocks after a flush; the expected answers are worked out from the spans
/// the script reports, by the TraceQL semantics Tempo documents.
#[test]
fn traceql_search_tags_and_metrics_over_sdk_traces() {
    let server = TestServer::start();
    let want = by_trace(&run_client(
        "otel_traces.py",
        &[
            "http",
            &format!("{}/v1/traces", server.otlp_http_url()),
            "6",
        ],
    ));
    assert_eq!(want.len(), 6);
    let service = |s: &Value| {
        s["resource"]["service.name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for source in ["head", "blocks"] {
        if source == "blocks" {
            server.flush();
        }
        let q = r#"{ resource.service.name = "payments" && status = error }"#;
        assert_eq!(
            searched(&server, q, &want),
            expected(&want, |s| service(s) == "payments" && s["status_code"] == 2),
            "{source}: {q}"
        );
        let q = "{ span.http.response.status_code >= 500 }";
        let failing = expected(&want, |s| {
            attr(s, "http.response.status_code").as_i64() >= Some(500)
        });
        assert_eq!(failing.len(), 3, "three failing checkouts");
        assert_eq!(searched(&server, q, &want), failing, "{source}: {q}");
        let q = "{ span.http.response.status_code >= 500 } | count() > 1";
        assert_eq!(searched(&server, q, &want), failing, "{source}: {q}");
        let q = "{ span.http.response.status_code >= 500 } | count() > 2";
        assert!(searched(&server, q, &want).is_empty(), "{source}: {q}");
        // The fraud check runs under the frontend's client call, three levels down.
        let q = r#"{ resource.service.name = "frontend" && kind = client } >> { name = "fraud-check" }"#;
        assert_eq!(
            searched(&server, q, &want),
            expected(&want, |s| s["name"] == "fraud-check"),
            "{source}: {q}"
        );
        let q = r#"{ name = "reserve-stock" } < { kind = server && resource.service.name = "checkout" }"#;
        assert_eq!(
            searched(&server, q, &want),
            expected(&want, |s| s["name"] == "POST /pay" && s["kind"] == 2),
            "{source}: {q}"
        );
        // Not-parent: client spans that are not the direct parent of a fraud check (its
        // parent is the consumer span), so every client span; and no consumer span is
        // left, since each one is the fraud check's parent.
        let q = r#"{ name = "fraud-check" } !< { kind = client }"#;
        assert_eq!(
            searched(&server, q, &want),
            expected(&want, |s| s["kind"] == 3),
            "{source}: {q}"
        );
        let q = r#"{ name = "fraud-check" } !< { kind = consumer }"#;
        assert!(searched(&server, q, &want).is_empty(), "{source}: {q}");

        // The older tag search: no spansets, durations in milliseconds.
        let tags = http::urlencode("service.name=payments status.code=error");
        let body = tempo_json(
            &server,
            &format!("/api/search?tags={tags}&minDuration=50ms"),
        );
        let mut ids: Vec<&str> = body["traces"]
            .as_array()
            .expect("traces")
            .iter()
            .map(|t| t["traceID"].as_str().expect("traceID"))
            .collect();
        ids.sort();
        let failing_ids: Vec<&str> = failing.keys().map(String::as_str).collect();
        assert_eq!(ids, failing_ids, "{source}: tag search");
        let body = tempo_json(
            &server,
            &format!("/api/search?tags={tags}&maxDuration=49ms"),
        );
        assert_eq!(body["traces"], json!([]), "{source}: maxDuration");

        let body = tempo_json(&server, "/api/v2/search/tags?scope=resource");
        let tags = &body["scopes"][0]["tags"];
        for k in ["service.name", "service.version", "deployment.environment"] {
            assert!(
                tags.as_array().is_some_and(|t| t.contains(&json!(k))),
                "{source}: {k} not in {body}"
            );
        }
        let body = tempo_json(&server, "/api/search/tags?scope=span");
        assert!(
            body["tagNames"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("db.system"))),
            "{source}: {body}"
        );
        let body = tempo_json(&server, "/api/v2/search/tag/resource.service.name/values");
        assert_eq!(
            body["tagValues"],
            json!([
                {"type": "string", "value": "checkout"},
                {"type": "string", "value": "frontend"},
                {"type": "string", "value": "payments"},
            ]),
            "{source}"
        );
        let q = http::urlencode("{ status = error }");
        let body = tempo_json(
            &server,
            &format!("/api/v2/search/tag/resource.service.name/values?q={q}"),
        );
        assert_eq!(
            body["tagValues"],
            json!([
                {"type": "string", "value": "frontend"},
                {"type": "string", "value": "payments"},
            ]),
            "{source}: filtered values"
        );
        let body = tempo_json(&server, "/api/search/tag/db.system/values");
        assert_eq!(body["tagValues"], json!(["postgresql"]), "{source}");

        // Metrics: error spans per service over the last hour, in one value.
        let q =
            http::urlencode("{ status = error } | count_over_time() by (resource.service.name)");
        let body = tempo_json(&server, &format!("/api/metrics/query?q={q}&since=1h"));
        let mut got: Vec<(String, f64)> = body["series"]
            .as_array()
            .expect("series")
            .iter()
            .map(|s| {
                let label = s["labels"]
                    .as_array()
                    .and_then(|l| l.iter().find(|kv| kv["key"] == "resource.service.name"))
                    .map(|kv| {
                        kv["value"]["stringValue"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .unwrap_or_default();
                (label, s["value"].as_f64().expect("value"))
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![("frontend".to_string(), 3.0), ("payments".to_string(), 3.0)],
            "{source}: {body}"
        );
        // And per step: every payments span falls in one of the minute steps of the range.
        let q = http::urlencode(r#"{ resource.service.name = "payments" } | count_over_time()"#);
        let body = tempo_json(
            &server,
            &format!("/api/metrics/query_range?q={q}&since=1h&step=60s"),
        );
        let total: f64 = body["series"][0]["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|s| s["value"].as_f64().unwrap_or(0.0))
            .sum();
        assert_eq!(
            total, 12.0,
            "{source}: two payments spans per trace: {body}"
        );
    }

    // Malformed requests get Tempo's 400s.
    for (path, says) in [
        (
            "/api/search?q=%7B%20.a%20%3D%20%7D",
            "invalid TraceQL query",
        ),
        (
            "/api/search?q=%7B%7D&tags=a%3Db",
            "can't specify tags and q",
        ),
        ("/api/search?start=20&end=10", "start must be before end"),
        ("/api/search?limit=0", "invalid limit"),
        ("/api/metrics/query_range?q=%7B%7D", "not a metrics query"),
        ("/api/v2/search/tags?scope=nope", "invalid scope"),
    ] {
        let r = get_trace(server.url(), path, None);
        assert_eq!(r.status, 400, "GET {path}: {}", r.text());
        assert!(r.text().contains(says), "GET {path}: {}", r.text());
    }
}

/// Trace to logs: the OTLP log records the SDK emits inside spans carry their trace and span
/// ids as structured metadata, so the LogQL query Grafana's trace-to-logs link runs
/// (`{service_name="..."} | trace_id="<id>"`) finds exactly the lines of that trace.
#[test]
fn trace_ids_in_otlp_logs_are_searchable_with_logql() {
    let server = TestServer::start();
    let start = now_ns() - 3_600_000_000_000;
    let out = run_client(
        "otlp_logs.py",
        &["http", &format!("{}/v1/logs", server.otlp_http_url()), "5"],
    );
    let end = now_ns() + 3_600_000_000_000;
    for r in &out[1..] {
        let id = r["trace_id"].as_str().expect("trace_id");
        let q = format!(r#"{{service_name="otel-demo"}} | trace_id="{id}""#);
        let got = query_entries(server.url(), None, &q, start, end);
        assert_eq!(got.len(), 1, "{q}: {got:?}");
        assert_eq!(got[0].line, r["body"].as_str().expect("body"), "{q}");
        assert_eq!(
            got[0].metadata.get("span_id").map(String::as_str),
            r["span_id"].as_str()
        );
    }
}

/// `{labels -> value}` of an instant PromQL vector, labels as `k=v` joined by commas.
fn promql_vector(server: &TestServer, query: &str) -> BTreeMap<String, f64> {
    let data = server.api_data(&format!("/api/v1/query?query={}", http::urlencode(query)));
    data["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|r| {
            let labels = r["metric"]
                .as_object()
                .expect("metric")
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",");
            let v: f64 = r["value"][1]
                .as_str()
                .expect("value")
                .parse()
                .expect("number");
            (labels, v)
        })
        .collect()
}

/// RED metrics from spans: with `traces.metrics_generator` on, the SDK's spans become
/// `traces_spanmetrics_*` and `traces_service_graph_*` series in the metrics store, read
/// back with PromQL; the counts are the script's spans, by service, name, kind and status.
#[test]
fn span_metrics_and_service_graph_from_sdk_traces() {
    let server = TestServer::builder()
        .config(
            "traces:\n  metrics_generator:\n    processors: [span-metrics, service-graphs]\n    \
             collection_interval: 1s\n    processor:\n      service_graphs:\n        wait: 1s\n",
        )
        .start();
    let sent = run_client("otel_traces.py", &["grpc", server.otlp_grpc_addr(), "4"]);
    // What the spans say, counted the way span metrics label them.
    let kinds = [
        "SPAN_KIND_UNSPECIFIED",
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];
    let statuses = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    for s in &sent {
        let key = format!(
            "service={},span_kind={},span_name={},status_code={}",
            s["resource"]["service.name"].as_str().unwrap_or_default(),
            kinds[s["kind"].as_u64().unwrap_or(0) as usize],
            s["name"].as_str().unwrap_or_default(),
            statuses[s["status_code"].as_u64().unwrap_or(0) as usize],
        );
        *want.entry(key).or_default() += 1.0;
    }
    assert_eq!(want.values().sum::<f64>(), 28.0);
    let calls =
        "sum by (service, span_name, span_kind, status_code) (traces_spanmetrics_calls_total)";
    let latency =
        "sum by (service, span_name, span_kind, status_code) (traces_spanmetrics_latency_count)";
    let edges =
        r#"sum by (client, server) (traces_service_graph_request_total{client="frontend"})"#;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (c, l, e) = (
            promql_vector(&server, calls),
            promql_vector(&server, latency),
            promql_vector(&server, edges),
        );
        let edge = e.get("client=frontend,server=checkout").copied();
        if c == want && l == want && edge == Some(4.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "span metrics never matched:\n calls {c:#?}\n latency {l:#?}\n edges {e:#?}\n want {want:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The failing fraud checks are the error calls of the payments service.
    let errors = promql_vector(
        &server,
        r#"sum(traces_spanmetrics_calls_total{service="payments", status_code="STATUS_CODE_ERROR"})"#,
    );
    assert_eq!(errors.get("").copied(), Some(2.0));
    // The latency buckets carry exemplars naming sent traces, for Grafana's link to them.
    let now_s = support::now_ms() / 1000;
    let data = server.api_data(&format!(
        "/api/v1/query_exemplars?query={}&start={}&end={}",
        http::urlencode("traces_spanmetrics_latency_bucket"),
        now_s - 600,
        now_s + 60
    ));
    let trace_ids: Vec<String> = data
        .as_array()
        .expect("exemplar series")
        .iter()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            e["labels"]["traceID"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        !trace_ids.is_empty(),
        "no exemplars on the latency buckets: {data}"
    );
    for id in &trace_ids {
        assert!(
            sent.iter()
                .any(|s| s["trace_id"].as_str() == Some(id.as_str())),
            "exemplar trace {id} was not sent"
        );
    }
}

/// Nothing acknowledged is lost on `kill -9`: every span the exporters had answered is read
/// back after the restart (from the trace WAL), and again after a flush.
#[test]
fn acknowledged_spans_survive_kill_9() {
    let mut server = TestServer::start();
    let sent = run_client("otel_traces.py", &["grpc", server.otlp_grpc_addr(), "3"]);
    let want = by_trace(&sent);
    server.kill9();
    server.restart();
    assert_traces(&server, None, &want);
    server.flush();
    assert_traces(&server, None, &want);
}
