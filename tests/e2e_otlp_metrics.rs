//! OTLP metrics against the real binary. `tests/clients/otel_metrics.py` records known values
//! with the OpenTelemetry Python SDK's metrics API (counter, up-down counter, float counter,
//! synchronous and observable gauges, an explicit-bucket histogram, attributes, a resource with
//! `service.name`/`namespace`/`instance.id` and more) and exports them twice, once to a tenant
//! over gRPC and once to another over OTLP/HTTP. Every series Cairn then lists and every value
//! it answers is checked against what the program recorded under Prometheus' OTLP mapping
//! (the names below are the ones Prometheus' receiver gives these instruments); the same
//! samples written with remote write 1.0 under those names to a third tenant give the same
//! PromQL answers. Hand-written OTLP/JSON bodies cover exemplars, delta and exponential
//! refusals in `partial_success`, and the 400/413/415 answers.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::http;
use support::logs::run_client;
use support::server::write_v1_with;
use support::{LabelSet, TestServer, TimeSeries, labels};

const TENANTS: &str = "multitenancy:\n  enabled: true\n";

/// GETs a Prometheus API path as `tenant` and returns its `data`.
fn api(server: &TestServer, tenant: &str, path_and_query: &str) -> Value {
    let r = http::request(
        "GET",
        &format!("{}{path_and_query}", server.url()),
        &[("X-Scope-OrgID", tenant)],
        b"",
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"));
    assert_eq!(r.status, 200, "GET {path_and_query}: {}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "success", "{v}");
    v["data"].clone()
}

fn enc(s: &str) -> String {
    http::urlencode(s)
}

/// An instant vector as label set -> value.
fn vector(server: &TestServer, tenant: &str, query: &str, t_ms: i64) -> BTreeMap<LabelSet, f64> {
    let data = api(
        server,
        tenant,
        &format!(
            "/api/v1/query?query={}&time={}.{:03}",
            enc(query),
            t_ms / 1000,
            t_ms % 1000
        ),
    );
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().cloned().unwrap_or_default() {
        let l: LabelSet = s["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_string()))
            .collect();
        let v: f64 = s["value"][1]
            .as_str()
            .expect("value")
            .parse()
            .expect("float");
        out.insert(l, v);
    }
    out
}

/// What the program recorded, as Prometheus' OTLP receiver names it: (labels, value at the
/// first export, value at the second).
fn expected(resource: &BTreeMap<String, String>) -> Vec<(LabelSet, f64, f64)> {
    let id = [("job", "shop/checkout"), ("instance", "pod-7")];
    let s = |extra: &[(&str, &str)]| {
        let mut v = id.to_vec();
        v.extend_from_slice(extra);
        labels(&v)
    };
    let route = ("http_route", "/pay");
    let duration_sum = 0.05 + 0.3 + 0.3 + 0.7 + 2.0;
    let mut want = vec![
        (
            s(&[
                ("__name__", "http_server_requests_total"),
                route,
                ("http_response_status_code", "200"),
            ]),
            5.0,
            6.0,
        ),
        (
            s(&[
                ("__name__", "http_server_requests_total"),
                route,
                ("http_response_status_code", "500"),
            ]),
            2.0,
            2.0,
        ),
        (s(&[("__name__", "queue_items")]), 7.0, 7.0),
        (s(&[("__name__", "db_time_milliseconds_total")]), 12.5, 12.5),
        (
            s(&[("__name__", "cpu_utilization_ratio"), ("core", "0")]),
            0.25,
            0.25,
        ),
        (
            s(&[("__name__", "cpu_utilization_ratio"), ("core", "1")]),
            0.75,
            0.75,
        ),
        (
            s(&[
                ("__name__", "process_memory_usage_bytes"),
                ("memory_type", "heap"),
            ]),
            1048576.0,
            1048576.0,
        ),
        (
            s(&[("__name__", "http_server_duration_seconds_sum"), route]),
            duration_sum,
            duration_sum,
        ),
        (
            s(&[("__name__", "http_server_duration_seconds_count"), route]),
            5.0,
            5.0,
        ),
    ];
    for (le, n) in [("0.1", 1.0), ("0.5", 3.0), ("1", 4.0), ("+Inf", 5.0)] {
        want.push((
            s(&[
                ("__name__", "http_server_duration_seconds_bucket"),
                route,
                ("le", le),
            ]),
            n,
            n,
        ));
    }
    // target_info: every resource attribute but the identifying ones, names escaped.
    let mut info = s(&[("__name__", "target_info")]);
    for (k, v) in resource {
        if !["service.name", "service.namespace", "service.instance.id"].contains(&k.as_str()) {
            info.insert(k.replace('.', "_"), v.clone());
        }
    }
    want.push((info, 1.0, 1.0));
    want
}

/// Runs the program against `endpoint` as `tenant`; returns its resource and export times
/// (ms).
fn record(kind: &str, endpoint: &str, tenant: &str) -> (BTreeMap<String, String>, i64, i64) {
    let out = run_client("otel_metrics.py", &[kind, endpoint, tenant]);
    let o = &out[0];
    let resource = o["resource"]
        .as_object()
        .expect("resource")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_string()))
        .collect();
    let times: Vec<i64> = o["times"]
        .as_array()
        .expect("times")
        .iter()
        .map(|t| (t.as_u64().expect("ns") / 1_000_000) as i64)
        .collect();
    assert_eq!(times.len(), 2, "two exports, one time each: {o}");
    (resource, times[0], times[1])
}

fn check_tenant(
    server: &TestServer,
    tenant: &str,
    want: &[(LabelSet, f64, f64)],
    t1: i64,
    t2: i64,
) {
    let series = api(
        server,
        tenant,
        &format!(
            "/api/v1/series?match[]={}&start={}&end={}",
            enc(r#"{job="shop/checkout"}"#),
            t1 / 1000 - 60,
            t2 / 1000 + 60
        ),
    );
    let mut got: Vec<LabelSet> = series
        .as_array()
        .expect("series")
        .iter()
        .map(|s| serde_json::from_value(s.clone()).expect("label set"))
        .collect();
    got.sort();
    let mut names: Vec<LabelSet> = want.iter().map(|w| w.0.clone()).collect();
    names.sort();
    assert_eq!(got, names, "{tenant}: series");
    for (t, first) in [(t1, true), (t2, false)] {
        let got = vector(server, tenant, r#"{job="shop/checkout"}"#, t);
        let want: BTreeMap<LabelSet, f64> = want
            .iter()
            .map(|(l, a, b)| (l.clone(), if first { *a } else { *b }))
            .collect();
        assert_eq!(got, want, "{tenant}: values at {t}");
    }
    if tenant == "remote-write" {
        // That request carried no metadata.
        return;
    }
    let md = api(
        server,
        tenant,
        "/api/v1/metadata?metric=http_server_duration_seconds",
    );
    assert_eq!(
        md["http_server_duration_seconds"][0],
        json!({"type": "histogram", "help": "Request time", "unit": "seconds"}),
        "{tenant}: {md}"
    );
}

#[test]
fn opentelemetry_sdk_metric_exporters_map_as_prometheus_does() {
    let server = TestServer::builder().config(TENANTS).start();
    let (resource, g1, g2) = record("grpc", server.otlp_grpc_addr(), "otlp-grpc");
    let (resource_http, h1, h2) = record(
        "http",
        &format!("{}/v1/metrics", server.otlp_http_url()),
        "otlp-http",
    );
    assert_eq!(resource, resource_http);
    assert_eq!(resource["telemetry.sdk.language"], "python");
    let want = expected(&resource);
    check_tenant(&server, "otlp-grpc", &want, g1, g2);
    check_tenant(&server, "otlp-http", &want, h1, h2);

    // The same samples, remote-written under Prometheus' names, answer the same queries.
    let series: Vec<TimeSeries> = want
        .iter()
        .map(|(l, a, b)| TimeSeries {
            labels: l.clone(),
            samples: vec![(g1, *a), (g2, *b)],
        })
        .collect();
    let r = write_v1_with(server.url(), &[("X-Scope-OrgID", "remote-write")], &series)
        .expect("remote write");
    assert_eq!(r.status, 204, "{}", r.text());
    check_tenant(&server, "remote-write", &want, g1, g2);
    for q in [
        r#"{job="shop/checkout"}"#,
        "sum by (http_response_status_code) (http_server_requests_total)",
        "histogram_quantile(0.9, sum by (le) (http_server_duration_seconds_bucket))",
        "http_server_duration_seconds_sum / http_server_duration_seconds_count",
        "cpu_utilization_ratio * on (job, instance) group_left (host_name) target_info",
        "increase(http_server_requests_total[1h])",
    ] {
        for t in [g1, g2] {
            let a = vector(&server, "otlp-grpc", q, t);
            let b = vector(&server, "remote-write", q, t);
            assert_eq!(a, b, "{q} at {t}");
        }
        assert!(
            !vector(&server, "otlp-grpc", q, g2).is_empty(),
            "{q}: no answer"
        );
    }
    // A tenant that wrote nothing sees nothing.
    assert!(vector(&server, "nobody", r#"{job="shop/checkout"}"#, g2).is_empty());
}

/// An OTLP/JSON request with one resource (`service.name: svc`) and `metrics`.
fn otlp_json(metrics: Value) -> Vec<u8> {
    json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeMetrics": [{"scope": {"name": "s"}, "metrics": metrics}]
    }]})
    .to_string()
    .into_bytes()
}

fn post(url: &str, content_type: &str, body: &[u8]) -> http::Response {
    http::post(
        url,
        &[("Content-Type", content_type), ("X-Scope-OrgID", "t")],
        body,
    )
    .expect("POST")
}

#[test]
fn refusals_exemplars_and_status_codes() {
    let server = TestServer::builder()
        .config(&format!(
            "{TENANTS}limits:\n  max_request_body_size: 64KiB\n"
        ))
        .start();
    let now_ms = support::now_ms();
    let ns = (now_ms * 1_000_000).to_string();
    let body = otlp_json(json!([
        {"name": "deltas", "sum": {"aggregationTemporality": 1, "isMonotonic": true,
            "dataPoints": [{"timeUnixNano": ns, "asInt": "3"}, {"timeUnixNano": ns, "asInt": "4",
            "attributes": [{"key": "k", "value": {"stringValue": "v"}}]}]}},
        {"name": "latency", "unit": "s", "exponentialHistogram": {"aggregationTemporality": 2,
            "dataPoints": [{"timeUnixNano": ns, "count": "1", "scale": 0}]}},
        {"name": "jobs.done", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
            "dataPoints": [{"timeUnixNano": ns, "asDouble": 9.0, "exemplars": [{
                "timeUnixNano": ns, "asDouble": 1.0,
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                "filteredAttributes": [{"key": "user", "value": {"stringValue": "alice"}}]}]}]}}
    ]));
    let r = post(
        &format!("{}/otlp/v1/metrics", server.url()),
        "application/json",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedDataPoints"], "3", "{answer}");
    let message = partial["errorMessage"].as_str().expect("message");
    assert!(
        message.contains(r#"invalid temporality and type combination for metric "deltas""#),
        "{message}"
    );
    assert!(message.contains("native histograms"), "{message}");
    let got = vector(&server, "t", "jobs_done_total", now_ms);
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        vec![(
            labels(&[("__name__", "jobs_done_total"), ("job", "svc")]),
            9.0
        )]
    );
    assert!(vector(&server, "t", "{__name__=~\"deltas.*\"}", now_ms).is_empty());
    let ex = api(
        &server,
        "t",
        &format!(
            "/api/v1/query_exemplars?query=jobs_done_total&start={}&end={}",
            now_ms / 1000 - 60,
            now_ms / 1000 + 60
        ),
    );
    assert_eq!(
        ex[0]["exemplars"][0]["labels"],
        json!({"span_id": "eee19b7ec3c1b174", "trace_id": "5b8efff798038103d269b633813fc60c",
            "user": "alice"}),
        "{ex}"
    );

    // Nothing to take: 400 with a message, in the request's encoding.
    let otlp_http = format!("{}/v1/metrics", server.otlp_http_url());
    let r = post(&otlp_http, "application/json", b"{");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid OTLP metrics JSON"))
    );
    let r = post(&otlp_http, "application/x-protobuf", b"\x0a\xff\xff");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("ExportMetricsServiceRequest"));
    let r = post(&otlp_http, "text/plain", b"x");
    assert_eq!(r.status, 415);
    let r = post(&otlp_http, "application/x-protobuf", &vec![0u8; 100 << 10]);
    assert_eq!(r.status, 413, "{}", r.text());
    // gzip, as the Collector's exporters send it.
    let gz = support::fluentbit::gzip(&otlp_json(json!([{"name": "zipped", "gauge": {
        "dataPoints": [{"timeUnixNano": ns, "asDouble": 4.5}]}}])));
    let r = http::post(
        &otlp_http,
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("X-Scope-OrgID", "t"),
        ],
        &gz,
    )
    .expect("POST");
    assert_eq!((r.status, r.text()), (200, "{}".to_string()));
    assert_eq!(
        vector(&server, "t", "zipped", now_ms)
            .into_values()
            .collect::<Vec<_>>(),
        vec![4.5]
    );
    // An empty request is a success with nothing refused.
    let r = post(&otlp_http, "application/json", b"{}");
    assert_eq!((r.status, r.text()), (200, "{}".to_string()));
}
