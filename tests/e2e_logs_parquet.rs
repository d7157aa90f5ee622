//! Log blocks are plain Parquet: entries pushed over the Loki push API and flushed are read
//! back by pyarrow (`tests/read_log_block.py`) with their labels, nanosecond timestamps,
//! lines and structured metadata.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{TestServer, http};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/read_log_block.py");

/// Every `<data>/objects/<tenant>/logs/blocks/<ULID>` directory with a `meta.json`.
fn block_dirs(data_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(tenants) = std::fs::read_dir(data_dir.join("objects")) else {
        return out;
    };
    for tenant in tenants.flatten() {
        let blocks = tenant.path().join("logs").join("blocks");
        for b in std::fs::read_dir(blocks).into_iter().flatten().flatten() {
            if b.path().join("meta.json").is_file() {
                out.push(b.path());
            }
        }
    }
    out.sort();
    out
}

type Row = (
    BTreeMap<String, String>,
    i64,
    String,
    BTreeMap<String, String>,
);

#[test]
fn pyarrow_reads_log_blocks() {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow.parquet"])
        .status()
        .unwrap_or_else(|e| panic!("python3 cannot be run ({e}): install python3"));
    assert!(
        ok.success(),
        "python3 cannot import pyarrow: pip install pyarrow"
    );
    let server = TestServer::start();
    let base = support::now_ms() * 1_000_000 - 600_000_000_000;
    let mut pushed: Vec<Row> = Vec::new();
    let mut streams = Vec::new();
    for app in ["api", "web"] {
        let mut values = Vec::new();
        for i in 0..50i64 {
            // Nanosecond precision survives: odd nanoseconds.
            let ts = base + i * 1_000_000_007 + if app == "web" { 3 } else { 0 };
            let line = format!("{app} request {i} took {}ms \u{2713}", i * 3);
            let mut md = BTreeMap::new();
            if i % 7 == 0 {
                md.insert("trace_id".to_string(), format!("{:032x}", i * 1_000_003));
                values.push(serde_json::json!([ts.to_string(), line, md]));
            } else {
                values.push(serde_json::json!([ts.to_string(), line]));
            }
            let labels = BTreeMap::from([
                ("app".to_string(), app.to_string()),
                ("env".to_string(), "prod".to_string()),
            ]);
            pushed.push((labels, ts, line, md));
        }
        streams.push(serde_json::json!({"stream": {"app": app, "env": "prod"}, "values": values}));
    }
    let body = serde_json::to_vec(&serde_json::json!({ "streams": streams })).expect("json");
    let r = http::post(
        &format!("{}/loki/api/v1/push", server.url()),
        &[("content-type", "application/json")],
        &body,
    )
    .expect("push");
    assert_eq!(r.status, 204, "push: {}", r.text());
    server.flush();
    let dirs = block_dirs(server.data_dir());
    assert!(!dirs.is_empty(), "no log block after the flush");
    let mut read: Vec<Row> = Vec::new();
    for d in &dirs {
        let out = Command::new("python3")
            .arg(SCRIPT)
            .arg(d)
            .output()
            .expect("run python3 tests/read_log_block.py");
        assert!(
            out.status.success(),
            "read_log_block.py {} failed: {}",
            d.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(doc["meta"]["schema_version"], 1);
        assert_eq!(
            doc["rows"]["entries"].as_u64(),
            doc["meta"]["num_entries"].as_u64()
        );
        for e in doc["entries"].as_array().expect("entries") {
            let map = |v: &serde_json::Value| -> BTreeMap<String, String> {
                v.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            };
            read.push((
                map(&e["labels"]),
                e["ts"].as_i64().expect("ts"),
                e["line"].as_str().expect("line").to_string(),
                map(&e["metadata"]),
            ));
        }
    }
    assert_eq!(read.len(), pushed.len());
    read.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
    pushed.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
    for (got, want) in read.iter().zip(&pushed) {
        assert_eq!((got.1, &got.2), (want.1, &want.2));
        // The front door adds labels (service_name) and metadata (detected_level): what was
        // pushed is kept as pushed.
        for (k, v) in &want.0 {
            assert_eq!(got.0.get(k), Some(v), "label {k} of {got:?}");
        }
        for (k, v) in &want.3 {
            assert_eq!(got.3.get(k), Some(v), "metadata {k} of {got:?}");
        }
    }
}
