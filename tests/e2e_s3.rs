//! Cairn on an S3-compatible object store (moto): flushed metric and trace blocks land in the
//! bucket, and a fresh process with an empty local data directory (no WAL, no cache) serves
//! them from S3.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::http::urlencode;
use support::peers::Moto;
use support::{LabelSet, MatchType, TestServer, TimeSeries, bits, labels};

const BUCKET: &str = "cairn-e2e";
const PREFIX: &str = "cluster-a";

fn config(moto: &Moto) -> String {
    format!(
        r#"
storage:
  object_store:
    type: s3
    s3:
      endpoint: {endpoint}
      bucket: {bucket}
      prefix: {PREFIX}
      region: us-east-1
      path_style: true
      allow_http: true
      access_key_id: e2e
      secret_access_key: e2e-secret
"#,
        endpoint = moto.endpoint(),
        bucket = moto.bucket(),
    )
}

/// ULIDs of the blocks whose four files are all in the bucket.
fn complete_blocks(keys: &[String]) -> BTreeSet<String> {
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in keys {
        let parts: Vec<&str> = k.split('/').collect();
        if let [.., "metrics", "blocks", ulid, file] = parts.as_slice() {
            files
                .entry((*ulid).to_string())
                .or_default()
                .insert((*file).to_string());
        }
    }
    let need = [
        "meta.json",
        "series.parquet",
        "samples.parquet",
        "index.parquet",
    ];
    files
        .into_iter()
        .filter(|(ulid, f)| ulid.len() == 26 && need.iter().all(|n| f.contains(*n)))
        .map(|(ulid, _)| ulid)
        .collect()
}

#[test]
fn flushed_blocks_live_in_s3_and_serve_a_fresh_process() {
    let moto = Moto::start(BUCKET);
    let cfg = config(&moto);
    let mut cairn = TestServer::builder().config(&cfg).start();

    let t0 = support::now_ms() - 1_800_000;
    let sent: Vec<TimeSeries> = (0..5)
        .map(|i| TimeSeries {
            labels: labels(&[
                ("__name__", "s3_e2e_metric"),
                ("job", "s3"),
                ("shard", &i.to_string()),
            ]),
            samples: (0..120)
                .map(|k| (t0 + k * 10_000, (k * 31 + i) as f64 / 8.0))
                .collect(),
        })
        .collect();
    let r = cairn.write_v1(&sent).expect("POST /api/v1/write");
    assert_eq!(r.status, 204, "POST /api/v1/write: {}", r.text());
    cairn.flush();

    let keys = moto.list_keys();
    assert!(
        keys.iter().all(|k| k.starts_with(&format!("{PREFIX}/"))),
        "every object must live under the configured prefix {PREFIX:?}; keys: {keys:?}"
    );
    let blocks = complete_blocks(&keys);
    assert!(
        !blocks.is_empty(),
        "after POST /api/v1/admin/flush the bucket holds no complete block \
         (<tenant>/metrics/blocks/<ULID>/{{meta.json,series,samples,index}}.parquet); keys: {keys:?}"
    );

    let status = cairn.stop();
    assert!(status.success(), "cairn exited with {status} after SIGTERM");

    // Same bucket, nothing local: whatever is served now came from S3.
    let fresh = TestServer::builder().config(&cfg).start();
    let want: BTreeMap<LabelSet, Vec<(i64, u64)>> = sent
        .iter()
        .map(|s| (s.labels.clone(), bits(&s.samples)))
        .collect();
    let got: BTreeMap<LabelSet, Vec<(i64, u64)>> = fresh
        .read(t0 - 1, support::now_ms(), &[(MatchType::Eq, "job", "s3")])
        .into_iter()
        .map(|s| (s.labels, bits(&s.samples)))
        .collect();
    assert_eq!(
        got, want,
        "remote read {{job=\"s3\"}} from a process with an empty data dir (blocks {blocks:?})"
    );

    let series = fresh.api_data(&format!(
        "/api/v1/series?match[]={}&start={}&end={}",
        urlencode("{job=\"s3\"}"),
        (t0 - 1000) / 1000,
        support::now_ms() / 1000 + 1
    ));
    assert_eq!(
        series.as_array().map(Vec::len),
        Some(sent.len()),
        "GET /api/v1/series?match[]={{job=\"s3\"}} from S3 only: {series}"
    );
}

/// Traces on S3: spans pushed over OTLP/HTTP, flushed into a trace block in the bucket, are
/// found by id and by TraceQL from a fresh process with an empty data directory.
#[test]
fn trace_blocks_live_in_s3_and_serve_a_fresh_process() {
    let moto = Moto::start(BUCKET);
    let cfg = config(&moto);
    let mut cairn = TestServer::builder().config(&cfg).start();
    let start = (support::now_ms() * 1_000_000 - 60_000_000_000) as u64;
    let trace_id = "5b8efff798038103d269b633813fc60c";
    let spans: Vec<serde_json::Value> = (0..3u64)
        .map(|i| {
            serde_json::json!({
                "traceId": trace_id,
                "spanId": format!("{:016x}", 0xeee1_9b7e_c3c1_b170u64 + i),
                "parentSpanId": if i == 0 { String::new() } else { format!("{:016x}", 0xeee1_9b7e_c3c1_b170u64) },
                "name": format!("op-{i}"),
                "kind": 2,
                "startTimeUnixNano": (start + i * 1_000_000).to_string(),
                "endTimeUnixNano": (start + 50_000_000).to_string(),
                "status": {"code": if i == 2 { 2 } else { 0 }},
                "attributes": [{"key": "shard", "value": {"intValue": i.to_string()}}],
            })
        })
        .collect();
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "s3-e2e"}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]});
    let r = support::http::post(
        &format!("{}/v1/traces", cairn.url()),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .expect("POST /v1/traces");
    assert_eq!(r.status, 200, "POST /v1/traces: {}", r.text());
    cairn.flush();
    let keys = moto.list_keys();
    assert!(
        keys.iter()
            .any(|k| k.contains("/traces/blocks/") && k.ends_with("/data.parquet")),
        "no trace block in the bucket after the flush; keys: {keys:?}"
    );
    let status = cairn.stop();
    assert!(status.success(), "cairn exited with {status} after SIGTERM");

    let fresh = TestServer::builder().config(&cfg).start();
    let r = support::http::get(&format!("{}/api/v2/traces/{trace_id}", fresh.url()))
        .expect("GET /api/v2/traces");
    assert_eq!(r.status, 200, "trace by id from S3 only: {}", r.text());
    let got = r.json();
    let names: BTreeSet<&str> = got["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["op-0", "op-1", "op-2"]), "{got}");
    let q = urlencode(r#"{ resource.service.name = "s3-e2e" && status = error }"#);
    let r = support::http::get(&format!(
        "{}/api/search?q={q}&start={}&end={}",
        fresh.url(),
        start / 1_000_000_000 - 60,
        support::now_ms() / 1000 + 60
    ))
    .expect("GET /api/search");
    assert_eq!(r.status, 200, "{}", r.text());
    let found = r.json();
    assert_eq!(found["traces"][0]["traceID"], trace_id, "{found}");
    assert_eq!(
        found["traces"][0]["spanSets"][0]["spans"][0]["name"], "op-2",
        "{found}"
    );
}
