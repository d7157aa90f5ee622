//! The log store end to end through its public API, against a local directory and a real
//! S3-compatible server (`moto_server`): append with repeats, out-of-order and stream-limit
//! refusals, replay after a crash, cuts, scans in both directions with limits and line hints,
//! compaction and retention.

#[path = "support/moto.rs"]
mod moto;

use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    Direction, Labels, LogBatch, LogEntry, LogQuerier, LogSelectRequest, LogStream, Matcher,
    TenantId,
};
use cairn_store::{
    BlockCache, LogRejectReason, LogStore, LogStoreConfig, ObjectStoreConfig, StoreConfig,
    build_object_store,
};
use object_store::ObjectStore;
use prometheus_client::registry::Registry;

const M: i64 = 60_000_000_000;
const H: i64 = 60 * M;
/// 2024-03-01T00:00:00Z.
const T0: i64 = 1_709_251_200_000_000_000;

fn tenant() -> TenantId {
    TenantId::new("acme").expect("tenant")
}

async fn open(dir: &Path, store: &Arc<dyn ObjectStore>) -> Arc<LogStore> {
    let mut cfg = LogStoreConfig::from_store(&StoreConfig::new(dir));
    cfg.head_chunk_bytes = 4096;
    LogStore::open(
        cfg,
        Arc::clone(store),
        Arc::new(BlockCache::new(32 << 20)),
        &mut Registry::default(),
    )
    .await
    .expect("open log store")
}

fn stream(app: &str, pod: usize, entries: Vec<LogEntry>) -> LogStream {
    LogStream {
        labels: Labels::from_pairs([("app", app), ("pod", format!("{app}-{pod}").as_str())])
            .expect("labels"),
        entries,
    }
}

/// 4 streams x 600 entries over 5 hours; one entry in 500 carries the needle.
fn corpus() -> (LogBatch, Vec<(String, i64, String)>) {
    let mut streams = Vec::new();
    let mut all = Vec::new();
    for (app, pod) in [("api", 0), ("api", 1), ("web", 0), ("web", 1)] {
        let mut entries = Vec::new();
        for i in 0..600i64 {
            let ts = T0 + i * 30_000_000_000 + pod as i64;
            let needle = if (i + pod as i64 * 7) % 500 == 3 {
                " ref=needle-51c0 "
            } else {
                " "
            };
            let line = format!(
                "level=info{needle}msg=\"handled\" path=/{app}/{i} trace_id={:016x}",
                (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ pod as u64
            );
            let mut e = LogEntry::new(ts, line.clone());
            if i % 100 == 0 {
                e.metadata.push(("user".into(), format!("u{i}")));
            }
            all.push((format!("{app}-{pod}"), ts, line));
            entries.push(e);
        }
        streams.push(stream(app, pod, entries));
    }
    (LogBatch { streams }, all)
}

fn request(start: i64, end: i64, direction: Direction) -> LogSelectRequest {
    LogSelectRequest {
        matchers: vec![],
        start_ns: start,
        end_ns: end,
        direction,
        line_contains: vec![],
        with_metadata: true,
        max_streams: 0,
    }
}

/// Entries of a scan as (pod, ts, line) in scan order, stopping after `limit` when it is not
/// 0 (as a `limit` query does: whole chunks in the scan's direction, newest or oldest first).
async fn scan(
    s: &LogStore,
    req: &LogSelectRequest,
    limit: usize,
) -> (Vec<(String, i64, String)>, cairn_model::ScanStats) {
    let mut sc = s.select_logs(&tenant(), req).await.expect("select");
    let mut out: Vec<(String, i64, String)> = Vec::new();
    while let Some(c) = sc.next_chunk().await.expect("chunk") {
        let mut part: Vec<(String, i64, String)> = c
            .entries
            .iter()
            .map(|e| {
                (
                    c.labels(e).get("pod").unwrap_or("").to_string(),
                    e.ts_ns,
                    c.line(e).to_string(),
                )
            })
            .collect();
        part.sort_by_key(|e| e.1);
        if req.direction == Direction::Backward {
            part.reverse();
        }
        out.extend(part);
        if limit > 0 && out.len() >= limit {
            out.truncate(limit);
            break;
        }
    }
    (out, sc.stats())
}

fn newest_first(mut v: Vec<(String, i64, String)>) -> Vec<(String, i64, String)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

async fn suite(store: Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (batch, all) = corpus();
    {
        let s = open(dir.path(), &store).await;
        let out = s.append(&tenant(), &batch, 0).await.expect("append");
        assert_eq!(out.entries, 2400);
        assert!(out.refused.is_empty());
        // No shutdown: the head must come back from the WAL alone.
    }
    let s = open(dir.path(), &store).await;
    // Replayed streams keep their newest timestamps: a resend is repeats within the hour
    // behind them (entries 479 to 599 of each stream) and too far behind before.
    let again = s.append(&tenant(), &batch, 0).await.expect("append again");
    assert_eq!(
        (again.entries, again.duplicates, again.refused.len()),
        (0, 484, 1916)
    );
    // Out of order: 1 h window behind each stream's newest entry (T0 + 5 h).
    let late = LogBatch {
        streams: vec![stream(
            "api",
            0,
            vec![
                LogEntry::new(T0 + 4 * H + 1, "late but in the window"),
                LogEntry::new(T0 + H, "too late"),
            ],
        )],
    };
    let out = s.append(&tenant(), &late, 0).await.expect("append late");
    assert_eq!(out.entries, 1);
    assert_eq!(out.refused[0].reason, LogRejectReason::TooFarBehind);
    // Stream limit: 4 streams exist, a fifth is refused at 4.
    let extra = LogBatch {
        streams: vec![stream("db", 0, vec![LogEntry::new(T0 + 5 * H, "x")])],
    };
    let out = s.append(&tenant(), &extra, 4).await.expect("append extra");
    assert_eq!(out.refused[0].reason, LogRejectReason::StreamLimit);
    let mut want = all.clone();
    want.push((
        "api-0".into(),
        T0 + 4 * H + 1,
        "late but in the window".into(),
    ));
    let want = newest_first(want);

    // Head only, then blocks only, then both.
    for stage in 0..3 {
        if stage == 1 {
            let f = s.flush().await.expect("flush");
            assert_eq!(f.entries, 2401);
            assert!(f.blocks.len() >= 3, "5 h over 2 h ranges");
        }
        if stage == 2 {
            let more = LogBatch {
                streams: vec![stream("web", 0, vec![LogEntry::new(T0 + 6 * H, "newest")])],
            };
            s.append(&tenant(), &more, 0).await.expect("append newest");
        }
        let mut want = want.clone();
        if stage == 2 {
            want.insert(0, ("web-0".into(), T0 + 6 * H, "newest".into()));
        }
        let (bwd, _) = scan(&s, &request(T0, T0 + 7 * H, Direction::Backward), 0).await;
        assert_eq!(newest_first(bwd.clone()), want, "stage {stage}");
        let bwd_times: Vec<i64> = bwd.iter().map(|e| e.1).collect();
        assert!(
            bwd_times.is_sorted_by(|a, b| a >= b),
            "stage {stage}: newest first"
        );
        let (fwd, _) = scan(&s, &request(T0, T0 + 7 * H, Direction::Forward), 0).await;
        let fwd_times: Vec<i64> = fwd.iter().map(|e| e.1).collect();
        assert!(fwd_times.is_sorted(), "stage {stage}: oldest first");
        assert_eq!(fwd.len(), want.len());
        // limit 100, backward: the 100 newest, without reading everything.
        let (top, st) = scan(&s, &request(T0, T0 + 7 * H, Direction::Backward), 100).await;
        let top_times: Vec<i64> = top.iter().map(|e| e.1).collect();
        let want_times: Vec<i64> = want.iter().take(100).map(|e| e.1).collect();
        assert_eq!(top_times, want_times, "stage {stage}");
        if stage == 1 {
            assert!(st.decompressed_lines < 2400, "stage {stage}: {st:?}");
        }
        // Line hint and matcher.
        let mut req = request(T0, T0 + 7 * H, Direction::Forward);
        req.line_contains = vec!["needle-51c0".into()];
        req.matchers = vec![Matcher::equal("app", "api")];
        let (hits, st) = scan(&s, &req, 0).await;
        let expect_hits = all
            .iter()
            .filter(|e| e.0.starts_with("api") && e.2.contains("needle-51c0"))
            .count();
        assert_eq!(hits.len(), expect_hits, "stage {stage}");
        if stage == 1 {
            assert!(st.chunks_skipped_by_index > 0, "stage {stage}: {st:?}");
        }
        // Stream limit of a query.
        let mut req = request(T0, T0 + 7 * H, Direction::Forward);
        req.max_streams = 3;
        let err = s.select_logs(&tenant(), &req).await.err().expect("limit");
        assert_eq!(err.kind, cairn_model::QueryErrorKind::LimitExceeded);
    }
    // Two blocks in the window of T0 + 6 h after another flush of a repeat: compaction
    // merges them and drops the repeat.
    s.flush().await.expect("flush");
    let repeat = LogBatch {
        streams: vec![stream("web", 0, vec![LogEntry::new(T0 + 6 * H, "newest")])],
    };
    s.append(&tenant(), &repeat, 0)
        .await
        .expect("append repeat");
    s.flush().await.expect("flush");
    let before = s.blocks_of(&tenant()).await.expect("blocks").len();
    s.compact_and_retain(T0 + 7 * H).await;
    let blocks = s.blocks_of(&tenant()).await.expect("blocks");
    assert_eq!(blocks.len(), before - 1);
    let (last, _) = scan(&s, &request(T0 + 6 * H, T0 + 7 * H, Direction::Forward), 0).await;
    assert_eq!(last.len(), 1);
    // Retention drops everything older than 30 days.
    s.compact_and_retain(T0 + 40 * 24 * H).await;
    assert!(s.blocks_of(&tenant()).await.expect("blocks").is_empty());
    s.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_store_on_a_local_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = build_object_store(&ObjectStoreConfig::Local {
        path: dir.path().join("objects"),
    })
    .expect("local store");
    suite(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_store_on_an_s3_server() {
    let moto = moto::start_moto();
    moto::create_bucket(moto.port, "cairn-logs");
    let store = build_object_store(&ObjectStoreConfig::S3 {
        bucket: "cairn-logs".into(),
        region: "us-east-1".into(),
        endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
        prefix: "cairn".into(),
        path_style: true,
        allow_http: true,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        session_token: None,
    })
    .expect("s3 store");
    suite(store).await;
    drop(moto);
}
