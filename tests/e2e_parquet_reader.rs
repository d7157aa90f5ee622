//! Blocks are plain Parquet: after a flush, pyarrow (`tests/read_block.py`) reads the series
//! and samples tables of every block, and the join gives back exactly what was written, NaN
//! payloads included.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{LabelSet, MatchType, STALE_NAN_BITS, TestServer, TimeSeries, bits, labels};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/read_block.py");

/// Every `<data>/objects/<tenant>/metrics/blocks/<ULID>` directory.
fn block_dirs(data_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(tenants) = std::fs::read_dir(data_dir.join("objects")) else {
        return out;
    };
    for tenant in tenants.flatten() {
        let blocks = tenant.path().join("metrics").join("blocks");
        for b in std::fs::read_dir(blocks).into_iter().flatten().flatten() {
            if b.path().join("meta.json").is_file() {
                out.push(b.path());
            }
        }
    }
    out.sort();
    out
}

fn require_pyarrow() {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow.parquet"])
        .status()
        .unwrap_or_else(|e| panic!("python3 cannot be run ({e}): install python3"));
    assert!(
        ok.success(),
        "python3 cannot import pyarrow: pip install pyarrow (or run ./test.sh)"
    );
}

/// Series and samples of one block as pyarrow reads them.
fn read_block(dir: &Path) -> (serde_json::Value, BTreeMap<LabelSet, Vec<(i64, u64)>>) {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(dir)
        .output()
        .expect("run python3 tests/read_block.py");
    assert!(
        out.status.success(),
        "read_block.py {} failed: {}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("read_block.py printed no JSON ({e})"));
    let mut series = BTreeMap::new();
    for s in doc["series"].as_array().into_iter().flatten() {
        let labels: LabelSet = s["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let samples: Vec<(i64, u64)> = s["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let t = p[0].as_i64().unwrap_or_else(|| panic!("bad timestamp {p}"));
                let v = p[1].as_str().and_then(|b| b.parse::<u64>().ok());
                (t, v.unwrap_or_else(|| panic!("bad value bits {p}")))
            })
            .collect();
        series.insert(labels, samples);
    }
    (doc, series)
}

fn test_series(t0: i64) -> Vec<TimeSeries> {
    let special = [
        1.0,
        -0.0,
        f64::NAN,
        f64::from_bits(STALE_NAN_BITS),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 4.0,
        f64::MAX,
        0.1 + 0.2,
    ];
    let mut out = vec![TimeSeries {
        labels: labels(&[("__name__", "pq_special_values"), ("job", "pq")]),
        samples: special
            .iter()
            .enumerate()
            .map(|(i, &v)| (t0 + i as i64 * 1000, v))
            .collect(),
    }];
    for (i, (code, handler)) in [("200", "/"), ("500", "/api"), ("200", "/api/ü")]
        .iter()
        .enumerate()
    {
        out.push(TimeSeries {
            labels: labels(&[
                ("__name__", "pq_requests_total"),
                ("code", code),
                ("handler", handler),
                ("job", "pq"),
            ]),
            samples: (0..200)
                .map(|k| (t0 + k * 15_000 + i as i64, (k * (i as i64 + 1)) as f64))
                .collect(),
        });
    }
    out.push(TimeSeries {
        labels: labels(&[
            ("__name__", "pq_temperature"),
            ("job", "pq"),
            ("room", "with \"quotes\", commas and\nnewlines"),
        ]),
        samples: (0..50)
            .map(|k| (t0 + k * 60_000, 20.0 + (k as f64 / 7.0).sin()))
            .collect(),
    });
    out
}

#[test]
fn flushed_blocks_read_back_with_pyarrow() {
    require_pyarrow();
    let cairn = TestServer::start();
    let t0 = support::now_ms() - 3_600_000;
    let sent = test_series(t0);
    for chunk in sent.chunks(2) {
        let r = cairn.write_v1(chunk).expect("POST /api/v1/write");
        assert_eq!(r.status, 204, "POST /api/v1/write: {}", r.text());
    }
    cairn.flush();

    let blocks = block_dirs(cairn.data_dir());
    assert!(
        !blocks.is_empty(),
        "POST /api/v1/admin/flush answered 2xx but no block (objects/<tenant>/metrics/blocks/<ULID>/meta.json) is under {}",
        cairn.data_dir().display()
    );
    let mut got: BTreeMap<LabelSet, Vec<(i64, u64)>> = BTreeMap::new();
    for dir in &blocks {
        let (doc, series) = read_block(dir);
        assert!(
            doc["meta"].is_object(),
            "{}: meta.json is not an object",
            dir.display()
        );
        for (meta_key, rows_key) in [("num_samples", "samples"), ("num_series", "series")] {
            if let Some(n) = doc["meta"].get(meta_key) {
                assert_eq!(
                    n,
                    &doc["rows"][rows_key],
                    "{}: meta.json {meta_key} disagrees with the Parquet row count",
                    dir.display()
                );
            }
        }
        for (labels, samples) in series {
            got.entry(labels).or_default().extend(samples);
        }
    }
    for samples in got.values_mut() {
        samples.sort_unstable();
    }
    let want: BTreeMap<LabelSet, Vec<(i64, u64)>> = sent
        .iter()
        .map(|s| (s.labels.clone(), bits(&s.samples)))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "series in the Parquet blocks {blocks:?}"
    );
    for (labels, w) in &want {
        assert_eq!(
            &got[labels], w,
            "samples of {labels:?} in the Parquet blocks"
        );
    }

    // The server answers the same from its blocks.
    let read: BTreeMap<LabelSet, Vec<(i64, u64)>> = cairn
        .read(t0 - 1, support::now_ms(), &[(MatchType::Eq, "job", "pq")])
        .into_iter()
        .map(|s| (s.labels, bits(&s.samples)))
        .collect();
    assert_eq!(read, want, "remote read {{job=\"pq\"}} after the flush");
}
