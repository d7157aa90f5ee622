//! Cairn on an S3-compatible object store (moto): flushed blocks land in the bucket, and a
//! fresh process with an empty local data directory (no WAL, no cache) serves them from S3.

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
