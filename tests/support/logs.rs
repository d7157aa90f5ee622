//! Log helpers of the end-to-end tests: running the real client scripts of `tests/clients/`,
//! reading entries back through `/loki/api/v1/query_range` with Grafana's
//! `categorize-labels` encoding (stream labels and structured metadata apart), and Loki's
//! ingestion rules (service name discovery, level detection) as its documentation and source
//! state them, to derive what a stored entry must look like from what a client sent.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use super::http;

/// Label or metadata pairs, sorted by name.
pub(crate) type Pairs = BTreeMap<String, String>;

/// One entry as the Loki API answers it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// The stream's (indexed) labels.
    pub(crate) stream: Pairs,
    /// Nanoseconds since the epoch.
    pub(crate) ts: i64,
    pub(crate) line: String,
    /// Structured metadata.
    pub(crate) metadata: Pairs,
}

/// Builds [`Pairs`] from literal pairs.
pub(crate) fn pairs(kv: &[(&str, &str)]) -> Pairs {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    super::now_ms() * 1_000_000
}

/// Runs `tests/clients/<script>` with `args` under `python3`; panics with its stderr when it
/// fails. Returns its stdout lines parsed as JSON.
pub(crate) fn run_client(script: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let out = run_client_raw(script, args);
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{script}: stdout line {l:?} is not JSON: {e}"))
        })
        .collect()
}

/// Runs a client script and returns its output whatever its exit status.
pub(crate) fn run_client_raw(script: &str, args: &[&str]) -> std::process::Output {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/clients");
    Command::new("python3")
        .arg(format!("{path}/{script}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run python3 {script}: {e}"))
}

/// The raw answer of a `query_range` with Grafana's headers (and `X-Scope-OrgID` when
/// `tenant` is given).
pub(crate) fn query_range_raw(
    url: &str,
    tenant: Option<&str>,
    params: &[(&str, &str)],
) -> http::Response {
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", http::urlencode(v)))
        .collect();
    let mut headers = vec![("X-Loki-Response-Encoding-Flags", "categorize-labels")];
    if let Some(t) = tenant {
        headers.push(("X-Scope-OrgID", t));
    }
    http::request(
        "GET",
        &format!("{url}/loki/api/v1/query_range?{}", qs.join("&")),
        &headers,
        b"",
        Duration::from_secs(30),
    )
    .expect("GET /loki/api/v1/query_range")
}

/// Every entry `query` selects in `[start, end]` (forward, limit 5000), checking the
/// categorized answer's shape on the way: `encodingFlags`, and a third element holding
/// `structuredMetadata` (and optionally `parsed`) on every entry.
pub(crate) fn query_entries(
    url: &str,
    tenant: Option<&str>,
    query: &str,
    start: i64,
    end: i64,
) -> Vec<Entry> {
    let (s, e) = (start.to_string(), end.to_string());
    let r = query_range_raw(
        url,
        tenant,
        &[
            ("query", query),
            ("start", &s),
            ("end", &e),
            ("limit", "5000"),
            ("direction", "forward"),
        ],
    );
    assert_eq!(r.status, 200, "query_range {query}: {}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "success", "{v}");
    let data = &v["data"];
    assert_eq!(data["resultType"], "streams", "{v}");
    assert_eq!(
        data["encodingFlags"],
        serde_json::json!(["categorize-labels"]),
        "{v}"
    );
    let mut out = Vec::new();
    for s in data["result"].as_array().expect("result is an array") {
        let stream = string_map(&s["stream"]);
        for val in s["values"].as_array().expect("values is an array") {
            let val = val.as_array().expect("an entry is an array");
            assert_eq!(val.len(), 3, "categorized entries have 3 elements: {val:?}");
            let ts: i64 = val[0]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("timestamp is a string of nanoseconds: {val:?}"));
            let line = val[1].as_str().expect("line is a string").to_string();
            let extra = val[2].as_object().expect("third element is an object");
            for k in extra.keys() {
                assert!(
                    k == "structuredMetadata" || k == "parsed",
                    "unexpected key {k} in {val:?}"
                );
            }
            out.push(Entry {
                stream: stream.clone(),
                ts,
                line,
                metadata: string_map(&val[2]["structuredMetadata"]),
            });
        }
    }
    out
}

/// Polls [`query_entries`] until at least `n` entries are there (30 s at most), for clients
/// whose sends are not acknowledged.
pub(crate) fn wait_entries(
    url: &str,
    tenant: Option<&str>,
    query: &str,
    start: i64,
    end: i64,
    n: usize,
) -> Vec<Entry> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = query_entries(url, tenant, query, start, end);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn string_map(v: &serde_json::Value) -> Pairs {
    match v {
        serde_json::Value::Null => Pairs::new(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .unwrap_or_else(|| panic!("{k}: value {v} is not a string"))
                        .to_string(),
                )
            })
            .collect(),
        other => panic!("expected a map of strings, got {other}"),
    }
}

/// Asserts that `got` and `want` hold the same entries, in any order, showing the first
/// difference.
pub(crate) fn assert_same_entries(what: &str, mut got: Vec<Entry>, mut want: Vec<Entry>) {
    got.sort();
    want.sort();
    if got == want {
        return;
    }
    let first = got
        .iter()
        .zip(&want)
        .position(|(g, w)| g != w)
        .unwrap_or(got.len().min(want.len()));
    panic!(
        "{what}: {} entries read back, {} expected; first difference at {first}:\n got: {:?}\nwant: {:?}",
        got.len(),
        want.len(),
        got.get(first),
        want.get(first)
    );
}

/// Loki's `discover_service_name` default: the labels whose value becomes `service_name`
/// when a stream has none, first match wins (`limits_config` docs).
const SERVICE_NAME_LABELS: [&str; 13] = [
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

/// `labels` plus the `service_name` Loki's distributor adds when it has none.
pub(crate) fn with_service_name(mut labels: Pairs) -> Pairs {
    if !labels.contains_key("service_name") {
        let v = SERVICE_NAME_LABELS
            .iter()
            .find_map(|n| labels.get(*n).cloned())
            .unwrap_or_else(|| "unknown_service".to_string());
        labels.insert("service_name".into(), v);
    }
    labels
}

/// A level value as Loki's `normalizeLogLevel` (distributor/field_detection.go) writes it.
pub(crate) fn normalized_level(v: &str) -> String {
    let l = v.to_ascii_lowercase();
    match l.as_str() {
        "trace" | "trc" => "trace",
        "debug" | "dbg" => "debug",
        "info" | "inf" | "information" => "info",
        "warn" | "wrn" | "warning" => "warn",
        "error" | "err" => "error",
        "critical" => "critical",
        "fatal" => "fatal",
        _ => return v.to_string(),
    }
    .to_string()
}

/// One stream of a `logproto.PushRequest`: labels in selector syntax, entries as
/// (nanoseconds, line, structured metadata).
pub(crate) type ProtoStream<'a> = (&'a str, Vec<(i64, String, Vec<(&'a str, &'a str)>)>);

/// A Loki push request as Promtail and Alloy send it: `logproto.PushRequest` (pkg/push/
/// push.proto: streams = 1; StreamAdapter labels = 1, entries = 2; EntryAdapter timestamp =
/// 1 (google.protobuf.Timestamp), line = 2, structuredMetadata = 3 {name = 1, value = 2}) in a
/// raw snappy block.
pub(crate) fn loki_push_proto(streams: &[ProtoStream<'_>]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, num: u64, bytes: &[u8]) {
        varint(out, num << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    let mut req = Vec::new();
    for (labels, entries) in streams {
        let mut s = Vec::new();
        field(&mut s, 1, labels.as_bytes());
        for (ts, line, md) in entries {
            let mut t = Vec::new();
            varint(&mut t, 1 << 3);
            varint(&mut t, ts.div_euclid(1_000_000_000) as u64);
            varint(&mut t, 2 << 3);
            varint(&mut t, ts.rem_euclid(1_000_000_000) as u64);
            let mut e = Vec::new();
            field(&mut e, 1, &t);
            field(&mut e, 2, line.as_bytes());
            for (n, v) in md {
                let mut p = Vec::new();
                field(&mut p, 1, n.as_bytes());
                field(&mut p, 2, v.as_bytes());
                field(&mut e, 3, &p);
            }
            field(&mut s, 2, &e);
        }
        field(&mut req, 1, &s);
    }
    snap::raw::Encoder::new()
        .compress_vec(&req)
        .expect("test requests are far below snappy's block limit")
}
