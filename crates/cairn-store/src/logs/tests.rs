//! Tests of the log store: append rules, scans over head and blocks in both directions, the
//! line-filter index, cuts, replay, compaction and retention.

use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    Direction, Labels, LogBatch, LogEntry, LogQuerier, LogSelectRequest, LogSeriesRequest,
    LogStatsRequest, LogStream, Matcher, QueryErrorKind, TenantId,
};
use prometheus_client::registry::Registry;

use super::*;
use crate::config::StoreConfig;
use crate::objstore::{ObjectStoreConfig, build_object_store};

const H: i64 = 3_600_000_000_000;
const M: i64 = 60_000_000_000;
/// 2024-01-01T00:00:00Z: an aligned origin for block ranges.
const T0: i64 = 1_704_067_200_000_000_000;

fn tenant() -> TenantId {
    TenantId::new("team-a").unwrap()
}

fn labels(app: &str, pod: &str) -> Labels {
    Labels::from_pairs([("app", app), ("pod", pod)]).unwrap()
}

fn config(dir: &Path) -> LogStoreConfig {
    let mut c = LogStoreConfig::from_store(&StoreConfig::new(dir));
    c.head_chunk_bytes = 2048;
    c
}

pub(crate) async fn open_with(dir: &Path, cfg: LogStoreConfig) -> Arc<LogStore> {
    let store = build_object_store(&ObjectStoreConfig::Local {
        path: dir.join("objects"),
    })
    .unwrap();
    let cache = Arc::new(BlockCache::new(64 << 20));
    LogStore::open(cfg, store, cache, &mut Registry::default())
        .await
        .unwrap()
}

async fn open(dir: &Path) -> Arc<LogStore> {
    open_with(dir, config(dir)).await
}

fn stream(l: Labels, entries: &[(i64, &str)]) -> LogStream {
    LogStream {
        labels: l,
        entries: entries
            .iter()
            .map(|&(t, line)| LogEntry::new(t, line))
            .collect(),
    }
}

fn batch(streams: Vec<LogStream>) -> LogBatch {
    LogBatch { streams }
}

fn select(start: i64, end: i64, dir: Direction) -> LogSelectRequest {
    LogSelectRequest {
        matchers: vec![],
        start_ns: start,
        end_ns: end,
        direction: dir,
        line_contains: vec![],
        with_metadata: true,
        max_streams: 0,
    }
}

/// Every entry of a scan as (pod, ts, line), in the scan's order, checking the chunk
/// invariants on the way.
async fn scan_all(
    s: &LogStore,
    req: &LogSelectRequest,
) -> (Vec<(String, i64, String)>, cairn_model::ScanStats) {
    let mut scan = s.select_logs(&tenant(), req).await.unwrap();
    let mut out = Vec::new();
    let mut prev: Option<(i64, i64)> = None;
    while let Some(c) = scan.next_chunk().await.unwrap() {
        assert!(c.min_ns <= c.max_ns);
        if let Some((lo, hi)) = prev {
            match req.direction {
                Direction::Forward => assert!(c.min_ns > hi, "chunks overlap or go back"),
                Direction::Backward => assert!(c.max_ns < lo, "chunks overlap or go forward"),
            }
        }
        prev = Some((c.min_ns, c.max_ns));
        assert!(
            c.streams.is_sorted_by(|a, b| a < b),
            "streams sorted, unique"
        );
        assert!(
            c.entries
                .windows(2)
                .all(|w| (w[0].stream, w[0].ts_ns) <= (w[1].stream, w[1].ts_ns)),
            "entries sorted by (stream, ts)"
        );
        for e in &c.entries {
            assert!(e.ts_ns >= c.min_ns && e.ts_ns <= c.max_ns);
            let pod = c.labels(e).get("pod").unwrap_or("").to_string();
            out.push((pod, e.ts_ns, c.line(e).to_string()));
        }
    }
    (out, scan.stats())
}

fn sorted(mut v: Vec<(String, i64, String)>) -> Vec<(String, i64, String)> {
    v.sort();
    v
}

/// Three streams over three hours, one entry every 10 minutes each.
fn three_hours() -> (LogBatch, Vec<(String, i64, String)>) {
    let mut streams = Vec::new();
    let mut expect = Vec::new();
    for pod in ["a", "b", "c"] {
        let entries: Vec<(i64, String)> = (0..18)
            .map(|i| {
                (
                    T0 + i * 10 * M + 7,
                    format!("{pod} line {i} needle-{}", i % 5),
                )
            })
            .collect();
        for (t, l) in &entries {
            expect.push((pod.to_string(), *t, l.clone()));
        }
        let refs: Vec<(i64, &str)> = entries.iter().map(|(t, l)| (*t, l.as_str())).collect();
        streams.push(stream(labels("web", pod), &refs));
    }
    (batch(streams), expect)
}

#[tokio::test]
async fn scans_merge_head_and_blocks_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let (b, expect) = three_hours();
    let out = s.append(&tenant(), &b, 0).await.unwrap();
    assert_eq!(out.entries, 54);
    for stage in ["head", "blocks", "both"] {
        if stage == "blocks" {
            let f = s.flush().await.unwrap();
            assert_eq!(f.entries, 54);
            // 3 h from T0 touch two 2 h ranges.
            assert_eq!(f.blocks.len(), 2);
        }
        if stage == "both" {
            // Repeats of stored entries (now in blocks) plus new ones, in the head.
            let again = s
                .append(
                    &tenant(),
                    &batch(vec![stream(
                        labels("web", "a"),
                        &[
                            (T0 + 170 * M + 7, "a line 17 needle-2"),
                            (T0 + 175 * M, "a late"),
                        ],
                    )]),
                    0,
                )
                .await
                .unwrap();
            assert_eq!(again.entries + again.duplicates, 2);
        }
        let mut want = expect.clone();
        if stage == "both" {
            want.push(("a".into(), T0 + 175 * M, "a late".into()));
        }
        let want = sorted(want);
        let (fwd, _) = scan_all(&s, &select(T0, T0 + 4 * H, Direction::Forward)).await;
        assert_eq!(sorted(fwd), want, "{stage}: forward");
        let (bwd, _) = scan_all(&s, &select(T0, T0 + 4 * H, Direction::Backward)).await;
        assert_eq!(sorted(bwd), want, "{stage}: backward");
        // [start, end): the entry at T0 + 60m + 7 is out, T0 + 10m + 7 is in.
        let (part, _) = scan_all(
            &s,
            &select(T0 + 10 * M, T0 + 60 * M + 7, Direction::Forward),
        )
        .await;
        let times: std::collections::BTreeSet<i64> = part.iter().map(|e| e.1).collect();
        assert_eq!(
            times.into_iter().collect::<Vec<_>>(),
            (1..=5).map(|i| T0 + i * 10 * M + 7).collect::<Vec<_>>(),
            "{stage}"
        );
    }
}

#[tokio::test]
async fn a_backward_scan_hands_out_the_newest_window_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let (b, _) = three_hours();
    s.append(&tenant(), &b, 0).await.unwrap();
    s.flush().await.unwrap();
    let mut scan = s
        .select_logs(&tenant(), &select(T0, T0 + 4 * H, Direction::Backward))
        .await
        .unwrap();
    let first = scan.next_chunk().await.unwrap().unwrap();
    // The newest entries are at T0 + 170m: the first chunk holds them and nothing older than
    // its window; only its row groups were read.
    assert!(first.entries.iter().any(|e| e.ts_ns == T0 + 170 * M + 7));
    let st = scan.stats();
    assert!(st.decompressed_lines < 54, "{st:?}");
    assert!(st.chunks_downloaded < st.chunks_ref, "{st:?}");
}

#[tokio::test]
async fn repeats_are_accepted_once_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let b = batch(vec![stream(
        labels("web", "a"),
        &[(T0, "x"), (T0, "y"), (T0, "x"), (T0 + 1, "z")],
    )]);
    let first = s.append(&tenant(), &b, 0).await.unwrap();
    assert_eq!((first.entries, first.duplicates), (3, 1));
    let second = s.append(&tenant(), &b, 0).await.unwrap();
    assert_eq!((second.entries, second.duplicates), (0, 4));
    let (got, _) = scan_all(&s, &select(T0, T0 + 10, Direction::Forward)).await;
    assert_eq!(got.len(), 3);
    // Repeats of entries sealed into compressed chunks are found too.
    let many: Vec<(i64, String)> = (0..400)
        .map(|i| (T0 + 10 + i, format!("line number {i}")))
        .collect();
    let refs: Vec<(i64, &str)> = many.iter().map(|(t, l)| (*t, l.as_str())).collect();
    let mb = batch(vec![stream(labels("web", "a"), &refs)]);
    assert_eq!(s.append(&tenant(), &mb, 0).await.unwrap().entries, 400);
    let again = s.append(&tenant(), &mb, 0).await.unwrap();
    assert_eq!((again.entries, again.duplicates), (0, 400));
}

#[tokio::test]
async fn out_of_order_entries_within_the_window_are_taken_older_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let l = labels("web", "a");
    s.append(
        &tenant(),
        &batch(vec![stream(l.clone(), &[(T0 + 2 * H, "new")])]),
        0,
    )
    .await
    .unwrap();
    let out = s
        .append(
            &tenant(),
            &batch(vec![stream(
                l,
                &[(T0 + 90 * M, "30m behind"), (T0 + 30 * M, "90m behind")],
            )]),
            0,
        )
        .await
        .unwrap();
    assert_eq!(out.entries, 1);
    assert_eq!(out.refused.len(), 1);
    let r = &out.refused[0];
    assert_eq!(
        (r.stream, r.entry, r.reason),
        (0, Some(1), LogRejectReason::TooFarBehind)
    );
    assert_eq!(
        r.message,
        "entry with timestamp 2024-01-01 00:30:00 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2024-01-01T00:30:00Z, oldest acceptable timestamp is: 2024-01-01T01:00:00Z'"
    );
}

#[tokio::test]
async fn new_streams_past_the_limit_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let b = batch(vec![
        stream(labels("web", "a"), &[(T0, "1")]),
        stream(labels("web", "b"), &[(T0, "2")]),
        stream(labels("web", "c"), &[(T0, "3"), (T0 + 1, "4")]),
        stream(labels("web", "a"), &[(T0 + 1, "5")]),
    ]);
    let out = s.append(&tenant(), &b, 2).await.unwrap();
    assert_eq!(out.entries, 3);
    assert_eq!(out.refused.len(), 1);
    let r = &out.refused[0];
    assert_eq!(
        (r.stream, r.entry, r.reason),
        (2, None, LogRejectReason::StreamLimit)
    );
    assert!(r.message.starts_with(
        "Maximum active stream limit exceeded when trying to create stream {app=\"web\", pod=\"c\"}"
    ), "{}", r.message);
    assert!(r.message.ends_with("user: 'team-a'"));
}

#[tokio::test]
async fn line_hints_skip_runs_and_filter_lines() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let mut streams = Vec::new();
    for pod in 0..20 {
        let lines: Vec<(i64, String)> = (0..300)
            .map(|i| {
                let extra = if pod == 7 && i == 123 {
                    " ref=needle-7f3e9a41 "
                } else {
                    ""
                };
                (
                    T0 + i * M / 10,
                    format!("GET /p/{pod}/{i}{extra} status=200 id={:x}", i * 7919 + pod),
                )
            })
            .collect();
        let refs: Vec<(i64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
        streams.push(stream(labels("web", &format!("p{pod:02}")), &refs));
    }
    s.append(&tenant(), &batch(streams), 0).await.unwrap();
    s.flush().await.unwrap();
    let mut req = select(T0, T0 + H, Direction::Backward);
    req.line_contains = vec!["needle-7f3e9a41".into()];
    let (got, st) = scan_all(&s, &req).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "p07");
    assert!(st.chunks_skipped_by_index >= 15, "{st:?}");
    assert!(st.decompressed_lines <= 3 * 300, "{st:?}");
    // A bare token proves nothing: every run is read, and the lines still filtered.
    req.line_contains = vec!["7f3e9a41".into()];
    let (got, st) = scan_all(&s, &req).await;
    assert_eq!(got.len(), 1);
    assert_eq!(st.chunks_skipped_by_index, 0);
}

#[tokio::test]
async fn scans_refuse_too_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let (b, _) = three_hours();
    s.append(&tenant(), &b, 0).await.unwrap();
    let mut req = select(T0, T0 + 4 * H, Direction::Forward);
    req.max_streams = 2;
    let err = s.select_logs(&tenant(), &req).await.err().unwrap();
    assert_eq!(err.kind, QueryErrorKind::LimitExceeded);
    req.max_streams = 3;
    req.matchers = vec![Matcher::equal("pod", "b")];
    let (got, _) = scan_all(&s, &req).await;
    assert_eq!(got.len(), 18);
}

#[tokio::test]
async fn the_wal_replays_and_a_cut_truncates_it() {
    let dir = tempfile::tempdir().unwrap();
    let (b, expect) = three_hours();
    {
        let s = open(dir.path()).await;
        s.append(&tenant(), &b, 0).await.unwrap();
        // No shutdown: as after a crash.
    }
    // A torn write at the end of the last segment is cut, not misread.
    let wal_dir = dir.path().join("wal-logs");
    let last = *crate::wal::list_segments(&wal_dir).unwrap().last().unwrap();
    let seg = wal_dir.join(crate::wal::segment_name(last));
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&seg, bytes).unwrap();
    let s = open(dir.path()).await;
    let (got, _) = scan_all(&s, &select(T0, T0 + 4 * H, Direction::Forward)).await;
    assert_eq!(sorted(got), sorted(expect.clone()));
    // Replayed entries keep their out-of-order state: within the hour behind each stream's
    // newest entry repeats are repeats, older ones are too far behind (as in Loki).
    let again = s.append(&tenant(), &b, 0).await.unwrap();
    assert_eq!(
        (again.entries, again.duplicates, again.refused.len()),
        (0, 21, 33)
    );
    s.flush().await.unwrap();
    assert_eq!(crate::wal::list_segments(&wal_dir).unwrap().len(), 1);
    s.shutdown().await.unwrap();
    drop(s);
    let s = open(dir.path()).await;
    assert_eq!(s.head.raw_bytes(), 0, "everything was in blocks");
    let (got, _) = scan_all(&s, &select(T0, T0 + 4 * H, Direction::Forward)).await;
    assert_eq!(sorted(got), sorted(expect));
}

#[tokio::test]
async fn compaction_merges_a_window_and_retention_drops_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let l = labels("web", "a");
    s.append(
        &tenant(),
        &batch(vec![stream(l.clone(), &[(T0, "one"), (T0 + M, "two")])]),
        0,
    )
    .await
    .unwrap();
    s.flush().await.unwrap();
    let mut md = LogEntry::new(T0 + 2 * M, "three");
    md.metadata.push(("trace_id".into(), "abc".into()));
    s.append(
        &tenant(),
        &batch(vec![
            LogStream {
                labels: l.clone(),
                entries: vec![md, LogEntry::new(T0 + M, "two")],
            },
            stream(labels("web", "b"), &[(T0 + 3 * M, "four")]),
        ]),
        0,
    )
    .await
    .unwrap();
    s.flush().await.unwrap();
    // "two" was taken again after the flush (the head no longer held it): two blocks of one
    // window, holding it twice.
    let before = s.blocks_of(&tenant()).await.unwrap();
    assert_eq!(before.len(), 2);
    let now = T0 + 3 * H;
    s.compact_and_retain(now).await;
    let after = s.blocks_of(&tenant()).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].level, 1);
    assert_eq!(after[0].num_entries, 4, "the repeat is gone");
    let mut sources = after[0].sources.clone();
    sources.sort();
    let mut want: Vec<_> = before.iter().map(|b| b.ulid).collect();
    want.sort();
    assert_eq!(sources, want);
    let (got, _) = scan_all(&s, &select(T0, T0 + H, Direction::Forward)).await;
    assert_eq!(got.len(), 4);
    let mut scan = s
        .select_logs(&tenant(), &select(T0, T0 + H, Direction::Forward))
        .await
        .unwrap();
    let c = scan.next_chunk().await.unwrap().unwrap();
    let three = c.entries.iter().find(|e| c.line(e) == "three").unwrap();
    assert_eq!(
        c.metadata(three),
        &[("trace_id".to_string(), "abc".to_string())]
    );
    // The sources' objects are gone once no query holds them.
    drop(scan);
    s.compact_and_retain(now).await;
    for b in &before {
        assert!(
            !dir.path()
                .join("objects/team-a/logs/blocks")
                .join(b.ulid.to_string())
                .join("meta.json")
                .exists()
        );
    }
    // Retention (30 days by default) drops the block once it is entirely older.
    s.compact_and_retain(T0 + 31 * 24 * H).await;
    assert!(s.blocks_of(&tenant()).await.unwrap().is_empty());
    let (got, _) = scan_all(&s, &select(T0, T0 + H, Direction::Forward)).await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn series_labels_and_counts_see_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path()).await;
    let (b, _) = three_hours();
    s.append(&tenant(), &b, 0).await.unwrap();
    s.flush().await.unwrap();
    s.append(
        &tenant(),
        &batch(vec![stream(labels("api", "z"), &[(T0 + 5 * M, "x")])]),
        0,
    )
    .await
    .unwrap();
    let req = LogSeriesRequest {
        selectors: vec![],
        start_ns: T0,
        end_ns: T0 + 4 * H,
    };
    let series = s.log_series(&tenant(), &req).await.unwrap();
    assert_eq!(series.len(), 4);
    assert_eq!(
        s.log_label_values(&tenant(), "app", &req).await.unwrap(),
        vec!["api".to_string(), "web".to_string()]
    );
    assert_eq!(
        s.log_label_names(&tenant(), &req).await.unwrap(),
        vec!["app".to_string(), "pod".to_string()]
    );
    let counts = s
        .log_stream_counts(
            &tenant(),
            &LogStatsRequest {
                matchers: vec![Matcher::equal("app", "web")],
                start_ns: T0,
                end_ns: T0 + 4 * H,
                step_ns: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(counts.len(), 3);
    for c in &counts {
        assert_eq!(c.buckets.len(), 1);
        assert_eq!(c.buckets[0].1.entries, 18);
    }
}

#[tokio::test]
async fn the_head_keeps_lines_compressed_and_is_cut_on_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.head_chunk_bytes = 64 << 10;
    cfg.head_max_bytes = 1 << 20;
    let s = open_with(dir.path(), cfg).await;
    let lines: Vec<(i64, String)> = (0..6000)
        .map(|i| {
            (
                T0 + i * 1_000_000,
                format!(
                    "10.0.{}.{} - - [01/Jan/2024:00:00:{:02} +0000] \"GET /product/{} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0\"",
                    i % 7,
                    i % 250,
                    i % 60,
                    i * 7 % 1000,
                    i * 13 % 5000
                ),
            )
        })
        .collect();
    let refs: Vec<(i64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
    s.append(
        &tenant(),
        &batch(vec![stream(labels("web", "a"), &refs)]),
        0,
    )
    .await
    .unwrap();
    let raw = s.head.raw_bytes();
    assert!(raw > 500_000, "{raw}");
    let mem = s.head.memory_bytes() as u64;
    assert!(mem * 4 < raw, "head memory {mem} for {raw} raw bytes");
    // Under the size bound nothing happens; past it the head is cut whole.
    s.maybe_cut().await.unwrap();
    assert!(s.blocks_of(&tenant()).await.unwrap().is_empty());
    s.append(
        &tenant(),
        &batch(vec![stream(labels("web", "b"), &refs)]),
        0,
    )
    .await
    .unwrap();
    s.maybe_cut().await.unwrap();
    assert_eq!(s.head.raw_bytes(), 0);
    let blocks = s.blocks_of(&tenant()).await.unwrap();
    assert_eq!(blocks.iter().map(|b| b.num_entries).sum::<u64>(), 12_000);
}
