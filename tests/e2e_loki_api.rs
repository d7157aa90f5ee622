//! Grafana's Loki data source and Logs Drilldown against the real binary, with the requests
//! they send (grafana/grafana `pkg/tsdb/loki/{api.go,healthcheck.go}` and
//! `public/app/plugins/datasource/loki/`; grafana/logs-drilldown `src/services/datasource.ts`),
//! headers included. Every answer's JSON shape and values are checked against Loki's HTTP API
//! documentation and its marshalling (`pkg/util/marshal`), with expected values derived from
//! the fixture pushed at the start; error texts and status codes are Loki's
//! (`pkg/loghttp/{params.go,query.go}`). The live tail is `e2e_loki_tail.rs`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use support::logs::{Pairs, now_ns, pairs};
use support::{TestServer, http};

const S: i64 = 1_000_000_000;
/// Grafana's data source and Drilldown tag their requests so.
const GRAFANA_TAGS: (&str, &str) = ("X-Query-Tags", "Source=grafana-lokiexplore-app");
const CATEGORIZE: (&str, &str) = ("X-Loki-Response-Encoding-Flags", "categorize-labels");

/// One pushed entry: stream labels as pushed, time, line, structured metadata as pushed.
#[derive(Clone, Debug)]
struct Pushed {
    labels: Pairs,
    ts: i64,
    line: String,
    metadata: Pairs,
    /// The level Loki detects for it.
    level: &'static str,
}

/// The fixture: `checkout/prod` logfmt lines every 10 s with a trace id as structured
/// metadata (every sixth at level error, status 500), `payments/prod` JSON lines every 20 s
/// (level warn), `checkout/dev` free text every minute; all 5 s after a minute boundary so
/// that no entry sits on a step boundary.
struct Fixture {
    server: TestServer,
    base: i64,
    entries: Vec<Pushed>,
}

impl Fixture {
    fn start() -> Fixture {
        let server = TestServer::start();
        let base = (now_ns() - 1800 * S) / (60 * S) * (60 * S);
        let mut entries = Vec::new();
        for i in 0..60i64 {
            let error = i % 6 == 0;
            let lvl = if error { "error" } else { "info" };
            entries.push(Pushed {
                labels: pairs(&[("app", "checkout"), ("env", "prod")]),
                ts: base + 5 * S + i * 10 * S,
                line: format!(
                    "level={lvl} msg=\"order placed\" order_id={} duration={}ms status={}",
                    1000 + i,
                    10 + i,
                    if error { 500 } else { 200 }
                ),
                metadata: pairs(&[("trace_id", &format!("t{i}"))]),
                level: lvl,
            });
        }
        for i in 0..30i64 {
            entries.push(Pushed {
                labels: pairs(&[("app", "payments"), ("env", "prod")]),
                ts: base + 5 * S + i * 20 * S,
                line: format!(r#"{{"level":"warn","msg":"retry","attempt":{i}}}"#),
                metadata: Pairs::new(),
                level: "warn",
            });
        }
        for i in 0..10i64 {
            entries.push(Pushed {
                labels: pairs(&[("app", "checkout"), ("env", "dev")]),
                ts: base + 5 * S + i * 60 * S,
                line: format!("debug: cache miss key={i}"),
                metadata: Pairs::new(),
                level: "debug",
            });
        }
        let mut streams: BTreeMap<String, (Pairs, Vec<Value>)> = BTreeMap::new();
        for e in &entries {
            let key = format!("{:?}", e.labels);
            let s = streams
                .entry(key)
                .or_insert_with(|| (e.labels.clone(), Vec::new()));
            s.1.push(if e.metadata.is_empty() {
                json!([e.ts.to_string(), e.line])
            } else {
                json!([e.ts.to_string(), e.line, e.metadata])
            });
        }
        let body = json!({"streams": streams.values().map(|(l, v)| json!({"stream": l, "values": v})).collect::<Vec<_>>()});
        let r = http::post(
            &format!("{}/loki/api/v1/push", server.url()),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .expect("push the fixture");
        assert_eq!(r.status, 204, "{}", r.text());
        Fixture {
            server,
            base,
            entries,
        }
    }

    fn get(&self, path: &str, params: &[(&str, &str)], headers: &[(&str, &str)]) -> http::Response {
        let qs: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", http::urlencode(v)))
            .collect();
        http::request(
            "GET",
            &format!("{}{path}?{}", self.server.url(), qs.join("&")),
            headers,
            b"",
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// A 200 JSON answer.
    fn ok(&self, path: &str, params: &[(&str, &str)], headers: &[(&str, &str)]) -> Value {
        let r = self.get(path, params, headers);
        assert_eq!(r.status, 200, "GET {path} {params:?}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "GET {path}: content type {:?}",
            r.header("content-type")
        );
        r.json()
    }

    /// A non-2xx answer's status and text.
    fn err(&self, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        let r = self.get(path, params, &[]);
        (r.status, r.text().trim().to_string())
    }

    fn selected(&self, f: impl Fn(&Pushed) -> bool) -> Vec<&Pushed> {
        self.entries.iter().filter(|e| f(e)).collect()
    }
}

fn iso(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The stream labels Loki stores for pushed labels: plus `service_name` from `app`.
fn stored_labels(p: &Pushed) -> Pairs {
    let mut l = p.labels.clone();
    l.insert("service_name".into(), p.labels["app"].clone());
    l
}

/// The structured metadata Loki stores: as pushed plus `detected_level`.
fn stored_metadata(p: &Pushed) -> Pairs {
    let mut m = p.metadata.clone();
    m.insert("detected_level".into(), p.level.into());
    m
}

fn str_map(v: &Value) -> Pairs {
    v.as_object()
        .unwrap_or_else(|| panic!("expected an object, got {v}"))
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .unwrap_or_else(|| panic!("{k}: {v} is not a string"))
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn health_check_buildinfo_and_format_query() {
    let f = Fixture::start();
    // pkg/tsdb/loki/healthcheck.go: an instant `vector(1)+vector(1)` at To = time.Unix(4, 0),
    // sent as its UnixNano, "4000000000" -- ten digits, which Loki reads as seconds.
    for params in [
        &[
            ("query", "vector(1)+vector(1)"),
            ("direction", "backward"),
            ("time", "4000000000"),
        ][..],
        &[
            ("query", "vector(1)+vector(1)"),
            ("direction", "backward"),
            ("limit", "1000"),
            ("time", "4000000000"),
        ],
    ] {
        let v = f.ok("/loki/api/v1/query", params, &[]);
        assert_eq!(v["status"], "success", "{v}");
        assert_eq!(v["data"]["resultType"], "vector");
        assert_eq!(
            v["data"]["result"],
            json!([{"metric": {}, "value": [4_000_000_000i64, "2"]}])
        );
        assert!(v["data"]["stats"]["summary"].is_object(), "{v}");
    }
    let v = f.ok("/loki/api/v1/status/buildinfo", &[], &[]);
    for k in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(v[k].is_string(), "buildinfo.{k}: {v}");
    }
    // Grafana reads Loki's major and minor version from it to enable features.
    let version = v["version"].as_str().expect("version");
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("version {version} starts with a number"));
    assert!(major >= 3, "Drilldown needs Loki 3: {version}");
    let v = f.ok(
        "/loki/api/v1/format_query",
        &[("query", r#"{app="x",b="y"}|="a""#)],
        &[],
    );
    assert_eq!(
        v,
        json!({"status": "success", "data": r#"{app="x", b="y"} |= "a""#})
    );
}

#[test]
fn label_browser_series_and_index_stats() {
    let f = Fixture::start();
    let (start, end) = (f.base.to_string(), (f.base + 3600 * S).to_string());
    let range = [("start", start.as_str()), ("end", end.as_str())];
    // LanguageProvider: labels and label values for the time range, values narrowed by a
    // selector once one is chosen.
    let v = f.ok("/loki/api/v1/labels", &range, &[]);
    assert_eq!(
        v,
        json!({"status": "success", "data": ["app", "env", "service_name"]})
    );
    let v = f.ok("/loki/api/v1/label/app/values", &range, &[]);
    assert_eq!(v["data"], json!(["checkout", "payments"]));
    let mut q = range.to_vec();
    q.push(("query", r#"{env="dev"}"#));
    let v = f.ok("/loki/api/v1/label/app/values", &q, &[]);
    assert_eq!(v["data"], json!(["checkout"]));
    let v = f.ok("/loki/api/v1/labels", &q, &[]);
    assert_eq!(v["data"], json!(["app", "env", "service_name"]));
    // RFC 3339 bounds read the same.
    let v = f.ok(
        "/loki/api/v1/label/env/values",
        &[("start", &iso(f.base)), ("end", &iso(f.base + 3600 * S))],
        &[],
    );
    assert_eq!(v["data"], json!(["dev", "prod"]));
    // A range holding nothing: Loki leaves `data` out (`LabelResponse.Data` is `omitempty`).
    let v = f.ok(
        "/loki/api/v1/labels",
        &[
            ("start", &(f.base - 7200 * S).to_string()),
            ("end", &(f.base - 3600 * S).to_string()),
        ],
        &[],
    );
    assert_eq!(v, json!({"status": "success"}));

    let mut q = range.to_vec();
    q.push(("match[]", r#"{app="checkout"}"#));
    let v = f.ok("/loki/api/v1/series", &q, &[]);
    let got: BTreeSet<Pairs> = v["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(str_map)
        .collect();
    let want: BTreeSet<Pairs> = f
        .selected(|e| e.labels["app"] == "checkout")
        .into_iter()
        .map(stored_labels)
        .collect();
    assert_eq!(got, want);

    // index/stats answers the bare object.
    let mut q = range.to_vec();
    q.push(("query", r#"{app="checkout"}"#));
    let v = f.ok("/loki/api/v1/index/stats", &q, &[]);
    let keys: BTreeSet<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["streams", "chunks", "entries", "bytes"])
    );
    let checkout = f.selected(|e| e.labels["app"] == "checkout");
    assert_eq!(v["streams"], 2);
    assert_eq!(v["entries"].as_u64(), Some(checkout.len() as u64));
    let line_bytes: usize = checkout.iter().map(|e| e.line.len()).sum();
    assert!(
        v["bytes"].as_u64().is_some_and(|b| b >= line_bytes as u64),
        "bytes cover at least the lines ({line_bytes}): {v}"
    );
    assert!(v["chunks"].as_u64().is_some_and(|c| c >= 1), "{v}");
}

/// The entries of a `streams` answer as (stream, ts, line, third element), in answer order
/// within each stream; checks each stream's values are ordered by `direction`.
fn stream_entries(v: &Value, backward: bool) -> Vec<(Pairs, i64, String, Option<Value>)> {
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["data"]["resultType"], "streams", "{v}");
    assert!(
        v["data"]["stats"].is_object(),
        "streams answers carry stats"
    );
    let mut out = Vec::new();
    for s in v["data"]["result"].as_array().expect("result") {
        let labels = str_map(&s["stream"]);
        let mut last: Option<i64> = None;
        for e in s["values"].as_array().expect("values") {
            let e = e.as_array().expect("entry");
            let ts: i64 = e[0].as_str().expect("ts string").parse().expect("ns");
            if let Some(l) = last {
                assert!(
                    if backward { ts <= l } else { ts >= l },
                    "values out of {} order: {l} then {ts}",
                    if backward { "backward" } else { "forward" }
                );
            }
            last = Some(ts);
            out.push((
                labels.clone(),
                ts,
                e[1].as_str().expect("line").to_string(),
                e.get(2).cloned(),
            ));
        }
    }
    out
}

#[test]
fn explore_log_queries_direction_limit_and_encodings() {
    let f = Fixture::start();
    let (start, end) = (f.base.to_string(), (f.base + 3600 * S).to_string());
    // Grafana's range request: query, direction, limit, start, end (ns), step (ms).
    let req = |q: &'static str, dir: &'static str, limit: &'static str| {
        vec![
            ("query", q),
            ("direction", dir),
            ("limit", limit),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", "14400ms"),
        ]
    };
    let checkout = f.selected(|e| e.labels["app"] == "checkout");
    for (dir, backward) in [("backward", true), ("forward", false)] {
        let v = f.ok(
            "/loki/api/v1/query_range",
            &req(r#"{app="checkout"}"#, dir, "7"),
            &[CATEGORIZE, GRAFANA_TAGS],
        );
        assert_eq!(v["data"]["encodingFlags"], json!(["categorize-labels"]));
        let got = stream_entries(&v, backward);
        let mut want = checkout.clone();
        want.sort_by_key(|e| if backward { -e.ts } else { e.ts });
        want.truncate(7);
        let mut got_set: Vec<(Pairs, i64, String, Value)> = got
            .into_iter()
            .map(|(l, t, line, extra)| (l, t, line, extra.expect("3 elements")))
            .collect();
        got_set.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
        let mut want_set: Vec<(Pairs, i64, String, Value)> = want
            .iter()
            .map(|e| {
                (
                    stored_labels(e),
                    e.ts,
                    e.line.clone(),
                    json!({"structuredMetadata": stored_metadata(e)}),
                )
            })
            .collect();
        want_set.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
        assert_eq!(got_set, want_set, "{dir} limit 7");
    }
    // Without the flag: 2-element entries, structured metadata folded into the stream.
    let v = f.ok(
        "/loki/api/v1/query_range",
        &req(r#"{app="checkout", env="prod"}"#, "backward", "3"),
        &[],
    );
    assert!(v["data"].get("encodingFlags").is_none(), "{v}");
    let got = stream_entries(&v, true);
    assert_eq!(got.len(), 3);
    for (labels, ts, line, extra) in got {
        assert!(extra.is_none(), "2-element entries without the flag");
        let p = f
            .entries
            .iter()
            .find(|e| e.ts == ts && e.line == line)
            .expect("a pushed entry");
        let mut want = stored_labels(p);
        want.extend(stored_metadata(p));
        assert_eq!(labels, want);
    }
    // A parser stage: `parsed` beside `structuredMetadata`.
    let v = f.ok(
        "/loki/api/v1/query_range",
        &req(
            r#"{app="checkout", env="prod"} | logfmt | level="error""#,
            "backward",
            "100",
        ),
        &[CATEGORIZE],
    );
    let got = stream_entries(&v, true);
    let errors = f.selected(|e| e.labels["env"] == "prod" && e.level == "error");
    assert_eq!(got.len(), errors.len());
    for (labels, ts, _, extra) in got {
        let p = errors.iter().find(|e| e.ts == ts).expect("an error entry");
        assert_eq!(labels, stored_labels(p));
        let i = (p.ts - f.base - 5 * S) / (10 * S);
        assert_eq!(
            extra.expect("3 elements"),
            json!({
                "structuredMetadata": stored_metadata(p),
                "parsed": {
                    "level": "error",
                    "msg": "order placed",
                    "order_id": (1000 + i).to_string(),
                    "duration": format!("{}ms", 10 + i),
                    "status": "500",
                },
            })
        );
    }
}

#[test]
fn interval_since_and_time_formats() {
    let f = Fixture::start();
    let payments = f.selected(|e| e.labels["app"] == "payments");
    let lines = |v: &Value| -> Vec<i64> {
        stream_entries(v, false)
            .into_iter()
            .map(|(_, t, _, _)| t)
            .collect()
    };
    // `interval`: entries at least that far apart (a 20 s stream at 40 s: every other).
    let (start, end) = (f.base.to_string(), (f.base + 3600 * S).to_string());
    let v = f.ok(
        "/loki/api/v1/query_range",
        &[
            ("query", r#"{app="payments"}"#),
            ("start", &start),
            ("end", &end),
            ("limit", "1000"),
            ("direction", "forward"),
            ("interval", "40s"),
        ],
        &[],
    );
    let want: Vec<i64> = payments.iter().step_by(2).map(|e| e.ts).collect();
    assert_eq!(lines(&v), want);
    // `since` counts back from `end`; start and end as RFC 3339 or float seconds read the
    // same. Loki returns entries at or after `start` and before `end` (API docs).
    let end_ns = f.base + 5 * S + 300 * S;
    let since_start = end_ns - 150 * S;
    let want: Vec<i64> = payments
        .iter()
        .map(|e| e.ts)
        .filter(|t| *t >= since_start && *t < end_ns)
        .collect();
    assert!(!want.is_empty());
    for bounds in [
        vec![("since", "150s".to_string()), ("end", end_ns.to_string())],
        vec![("start", iso(since_start)), ("end", iso(end_ns))],
        vec![
            ("start", format!("{}.0", since_start / S)),
            ("end", format!("{}.0", end_ns / S)),
        ],
    ] {
        let mut q: Vec<(&str, &str)> = vec![
            ("query", r#"{app="payments"}"#),
            ("limit", "1000"),
            ("direction", "forward"),
        ];
        q.extend(bounds.iter().map(|(k, v)| (*k, v.as_str())));
        let v = f.ok("/loki/api/v1/query_range", &q, &[]);
        assert_eq!(lines(&v), want, "{bounds:?}");
    }
}

#[test]
fn log_volume_metric_queries_and_step_forms() {
    let f = Fixture::start();
    // Grafana's log volume query for a selector, stepped by minute over 5 minutes.
    let q = r#"sum by (level, detected_level) (count_over_time({app="checkout", env="prod"} | drop __error__[1m]))"#;
    let (start, end) = (f.base + 60 * S, f.base + 300 * S);
    let mut want: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut t = start;
    while t <= end {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for e in f.selected(|e| e.labels["env"] == "prod" && e.labels["app"] == "checkout") {
            if e.ts > t - 60 * S && e.ts <= t {
                *counts.entry(e.level).or_default() += 1;
            }
        }
        for (lvl, n) in counts {
            want.entry(lvl.to_string())
                .or_default()
                .push(json!([t / S, n.to_string()]));
        }
        t += 60 * S;
    }
    let want: Vec<Value> = want
        .into_iter()
        .map(|(lvl, values)| json!({"metric": {"detected_level": lvl}, "values": values}))
        .collect();
    let (s, e) = (start.to_string(), end.to_string());
    for step in ["60000ms", "60s", "1m", "60"] {
        let v = f.ok(
            "/loki/api/v1/query_range",
            &[
                ("query", q),
                ("direction", "backward"),
                ("limit", "1000"),
                ("start", &s),
                ("end", &e),
                ("step", step),
            ],
            &[CATEGORIZE, ("X-Query-Tags", "Source=logvolhist")],
        );
        assert_eq!(v["status"], "success");
        assert_eq!(v["data"]["resultType"], "matrix", "{v}");
        let mut got = v["data"]["result"].as_array().expect("result").clone();
        got.sort_by_key(|s| s["metric"].to_string());
        assert_eq!(Value::Array(got), Value::Array(want.clone()), "step {step}");
        // A metric answer carries no encoding flags (they describe stream entries).
        assert!(v["data"].get("encodingFlags").is_none(), "{v}");
    }
    // An instant metric query: a vector stamped at `time`.
    let t = f.base + 65 * S;
    let v = f.ok(
        "/loki/api/v1/query",
        &[
            ("query", r#"sum(count_over_time({app="checkout"}[1m]))"#),
            ("time", &t.to_string()),
        ],
        &[],
    );
    let n = f
        .selected(|e| e.labels["app"] == "checkout" && e.ts > t - 60 * S && e.ts <= t)
        .len();
    assert_eq!(
        v["data"]["result"],
        json!([{"metric": {}, "value": [65 + f.base / S, n.to_string()]}])
    );
}

#[test]
fn parameter_errors_are_lokis() {
    let f = Fixture::start();
    let (start, end) = (f.base.to_string(), (f.base + 3600 * S).to_string());
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut q: Vec<(&str, &str)> = vec![
            ("query", r#"{app="payments"}"#),
            ("start", start.as_str()),
            ("end", end.as_str()),
        ];
        for (k, v) in extra {
            q.retain(|(n, _)| n != k);
            q.push((k, v));
        }
        q
    };
    let cases: [(&[(&str, &str)], &str); 9] = [
        (&[("limit", "0")], "limit must be a positive value"),
        (&[("direction", "sideways")], "invalid direction 'sideways'"),
        (
            &[("step", "0")],
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            &[("step", "1ms")],
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
        ),
        (&[("interval", "-1")], "interval must be >= 0"),
        (
            &[
                ("start", "1796647500000000000"),
                ("end", "1796647400000000000"),
            ],
            "end timestamp must not be before or equal to start time",
        ),
        (
            &[("query", r#"{app=~".*"}"#)],
            r#"parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will"#,
        ),
        (
            &[("query", r#"{app="x""#)],
            "parse error at line 1, col 9: syntax error: unexpected $end, expecting } or ,",
        ),
        (&[("start", "yesterday")], "yesterday"),
    ];
    for (extra, text) in cases {
        let (status, body) = f.err("/loki/api/v1/query_range", &base(extra));
        assert_eq!(status, 400, "{extra:?}: {body}");
        assert!(
            body.contains(text),
            "{extra:?}: {body:?} does not say {text:?}"
        );
    }
    // A log query is no instant query.
    let (status, body) = f.err("/loki/api/v1/query", &[("query", r#"{app="payments"}"#)]);
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "log queries are not supported as an instant query type, please change your query to a range query type"
    );
}

#[test]
fn drilldown_service_list_labels_fields_and_volume() {
    let f = Fixture::start();
    let (start, end) = (iso(f.base - 60 * S), iso(f.base + 3600 * S));
    let tags = [GRAFANA_TAGS];
    // The service list: index/volume by service_name, biggest first.
    let v = f.ok(
        "/loki/api/v1/index/volume",
        &[
            ("end", &end),
            ("limit", "5000"),
            ("query", r#"{service_name=~".+"}"#),
            ("start", &start),
        ],
        &tags,
    );
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "vector");
    let result = v["data"]["result"].as_array().expect("result");
    let names: Vec<&str> = result
        .iter()
        .map(|r| r["metric"]["service_name"].as_str().expect("service_name"))
        .collect();
    assert_eq!(names, ["checkout", "payments"], "biggest first: {v}");
    let end_s = (f.base + 3600 * S) / S;
    for r in result {
        assert_eq!(r["metric"].as_object().map(|m| m.len()), Some(1), "{r}");
        assert_eq!(
            r["value"][0],
            json!(end_s),
            "stamped at the request end: {r}"
        );
        let bytes: u64 = r["value"][1]
            .as_str()
            .and_then(|b| b.parse().ok())
            .expect("a byte count as a string");
        // The same bytes index/stats counts for that service.
        let q = format!(
            r#"{{service_name="{}"}}"#,
            r["metric"]["service_name"].as_str().unwrap_or_default()
        );
        let stats = f.ok(
            "/loki/api/v1/index/stats",
            &[("query", &q), ("start", &start), ("end", &end)],
            &tags,
        );
        assert_eq!(stats["bytes"].as_u64(), Some(bytes), "{q}");
    }
    // volume_range split by a target label.
    let v = f.ok(
        "/loki/api/v1/index/volume_range",
        &[
            ("query", r#"{app="checkout"}"#),
            ("start", &(f.base).to_string()),
            ("end", &(f.base + 600 * S).to_string()),
            ("step", "60s"),
            ("targetLabels", "env"),
        ],
        &tags,
    );
    assert_eq!(v["data"]["resultType"], "matrix");
    let envs: BTreeSet<&str> = v["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|r| {
            assert_eq!(r["metric"].as_object().map(|m| m.len()), Some(1), "{r}");
            r["metric"]["env"].as_str().expect("env")
        })
        .collect();
    assert_eq!(envs, BTreeSet::from(["dev", "prod"]));

    // detected_labels: an empty query when no label is chosen yet.
    for (q, want) in [
        ("", vec![("app", 2), ("env", 2)]),
        (r#"{app="checkout"}"#, vec![("env", 2)]),
    ] {
        let v = f.ok(
            "/loki/api/v1/detected_labels",
            &[("end", &end), ("query", q), ("start", &start)],
            &tags,
        );
        let got: BTreeMap<String, u64> = v["detectedLabels"]
            .as_array()
            .unwrap_or_else(|| panic!("detectedLabels: {v}"))
            .iter()
            .map(|l| {
                (
                    l["label"].as_str().expect("label").to_string(),
                    l["cardinality"].as_u64().expect("cardinality"),
                )
            })
            .collect();
        for (label, card) in want {
            assert_eq!(got.get(label), Some(&card), "{q}: {label} in {v}");
        }
    }

    // detected_fields of the logfmt stream: parsed fields with their types, structured
    // metadata with no parser.
    let q = r#"{app="checkout", env="prod"}"#;
    let v = f.ok(
        "/loki/api/v1/detected_fields",
        &[("end", &end), ("query", q), ("start", &start)],
        &tags,
    );
    let fields: BTreeMap<String, &Value> = v["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("fields: {v}"))
        .iter()
        .map(|f| (f["label"].as_str().expect("label").to_string(), f))
        .collect();
    let field = |name: &str| *fields.get(name).unwrap_or_else(|| panic!("{name} in {v}"));
    for (name, typ, card) in [
        ("duration", "duration", 60),
        ("status", "int", 2),
        ("order_id", "int", 60),
        ("msg", "string", 1),
        ("level", "string", 2),
    ] {
        let fl = field(name);
        assert_eq!(fl["type"], typ, "{fl}");
        assert_eq!(fl["cardinality"], card, "{fl}");
        assert_eq!(fl["parsers"], json!(["logfmt"]), "{fl}");
    }
    let trace = field("trace_id");
    assert_eq!(
        (&trace["type"], &trace["parsers"]),
        (&json!("string"), &Value::Null)
    );
    assert_eq!(trace["cardinality"], 60);
    assert_eq!(v["limit"], 1000);
    // JSON lines get json paths.
    let v = f.ok(
        "/loki/api/v1/detected_fields",
        &[
            ("end", &end),
            ("query", r#"{app="payments"}"#),
            ("start", &start),
        ],
        &tags,
    );
    let attempt = v["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["label"] == "attempt")
        .unwrap_or_else(|| panic!("attempt in {v}"));
    assert_eq!(
        (&attempt["type"], &attempt["parsers"], &attempt["jsonPath"]),
        (&json!("int"), &json!(["json"]), &json!(["attempt"]))
    );
    // A field's values.
    let v = f.ok(
        "/loki/api/v1/detected_field/status/values",
        &[("end", &end), ("query", q), ("start", &start)],
        &tags,
    );
    let mut values: Vec<&str> = v["values"]
        .as_array()
        .unwrap_or_else(|| panic!("values: {v}"))
        .iter()
        .map(|x| x.as_str().expect("string"))
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["200", "500"]);
}
