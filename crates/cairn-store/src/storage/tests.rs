//! Storage tests on a local directory: append, query, flush, restart, crash points.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    LabelRef, Labels, MatchOp, Matcher, MetadataRef, MetricType, Querier, STALE_NAN_BITS, Sample,
    SelectRequest, Series, SeriesRefs, SeriesRequest, TenantId, WriteBatch,
};
use prometheus_client::registry::Registry;

use super::*;
use crate::head::RejectReason;

const T0: i64 = 1_700_000_000_000 / 7_200_000 * 7_200_000;
const MIN: i64 = 60_000;

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

async fn open(dir: &Path) -> Arc<Storage> {
    Storage::open(StoreConfig::new(dir), &mut Registry::default())
        .await
        .unwrap()
}

type Input<'a> = (Vec<(&'a str, &'a str)>, Vec<(i64, f64)>);

async fn write(st: &Storage, t: &TenantId, input: &[Input<'_>]) -> AppendOutcome {
    let mut b = WriteBatch::default();
    for (labels, samples) in input {
        let l0 = b.labels.len();
        b.labels
            .extend(labels.iter().map(|&(n, v)| LabelRef::new(n, v)));
        let s0 = b.samples.len();
        b.samples
            .extend(samples.iter().map(|&(ts, v)| Sample::new(ts, v)));
        b.series.push(SeriesRefs {
            labels: l0..b.labels.len(),
            samples: s0..b.samples.len(),
            ..Default::default()
        });
    }
    st.append(t, &b).await.unwrap()
}

async fn select_all(st: &Storage, t: &TenantId) -> Vec<Series> {
    let req = SelectRequest {
        matchers: vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        start_ms: i64::MIN,
        end_ms: i64::MAX,
        max_series: 0,
        max_samples: 0,
    };
    st.select(t, &req).await.unwrap()
}

type Want = BTreeMap<Labels, Vec<Sample>>;
type Owned = Vec<(Vec<(String, String)>, Vec<(i64, f64)>)>;

/// `n` series of `per` samples each, one per minute from `start`; the last one is stale.
fn workload(n: usize, per: i64, start: i64) -> Want {
    let mut want: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for i in 0..n {
        let name = format!("metric_{}", i % 3);
        let inst = format!("host-{i}");
        let l =
            Labels::from_pairs([("__name__", name.as_str()), ("instance", inst.as_str())]).unwrap();
        let samples = (0..per)
            .map(|k| {
                let v = if k == per - 1 {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    (i as f64) * 1000.0 + k as f64 * 0.5
                };
                Sample::new(start + k * MIN, v)
            })
            .collect();
        want.insert(l, samples);
    }
    want
}

async fn write_workload(st: &Storage, t: &TenantId, want: &Want) {
    let owned: Owned = want
        .iter()
        .map(|(l, s)| {
            (
                l.iter()
                    .map(|x| (x.name.to_string(), x.value.to_string()))
                    .collect(),
                s.iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect();
    let input: Vec<Input<'_>> = owned
        .iter()
        .map(|(l, s)| {
            (
                l.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
                s.clone(),
            )
        })
        .collect();
    // Several requests, each carrying every series' next slice of samples.
    let per = input.first().map(|x| x.1.len()).unwrap_or(0);
    for chunk_start in (0..per).step_by(25) {
        let part: Vec<Input<'_>> = input
            .iter()
            .map(|(l, s)| {
                (
                    l.clone(),
                    s[chunk_start..(chunk_start + 25).min(per)].to_vec(),
                )
            })
            .collect();
        let out = write(st, t, &part).await;
        assert_eq!(out.rejected_total(), 0, "{:?}", out.samples_rejected);
    }
}

fn as_series(want: &Want) -> Vec<Series> {
    want.iter()
        .map(|(l, s)| Series {
            labels: l.clone(),
            samples: s.clone(),
        })
        .collect()
}

#[tokio::test]
async fn append_then_query_with_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let st = open(dir.path()).await;
    let t = tenant("team-a");
    let want = workload(5, 60, T0);
    write_workload(&st, &t, &want).await;
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    // Another tenant sees nothing.
    assert!(select_all(&st, &tenant("team-b")).await.is_empty());

    let l = vec![("__name__", "metric_0"), ("instance", "host-0")];
    let last = T0 + 59 * MIN;
    let stale = f64::from_bits(STALE_NAN_BITS);
    let out = write(
        &st,
        &t,
        &[
            (l.clone(), vec![(last, stale)]),
            (l.clone(), vec![(last, 1.0)]),
            (l.clone(), vec![(T0, 1.0)]),
            (vec![("a", "1"), ("a", "2")], vec![(last, 1.0)]),
            (l.clone(), vec![(last + MIN, 5.0)]),
        ],
    )
    .await;
    assert_eq!(out.samples_accepted, 2);
    assert_eq!(out.rejected(RejectReason::Duplicate), 1);
    assert_eq!(out.rejected(RejectReason::OutOfOrder), 1);
    assert_eq!(out.rejected(RejectReason::InvalidLabels), 1);
    assert_eq!(out.samples_rejected.len(), 3);
    let dup = &out.samples_rejected[0];
    assert!(
        dup.message.contains("duplicate sample for timestamp")
            && dup.message.contains("host-0")
            && dup.message.contains(&last.to_string()),
        "{}",
        dup.message
    );
    st.shutdown().await.unwrap();
    assert!(!st.is_ready());
}

#[tokio::test]
async fn flush_then_query_from_blocks_then_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    // Spans three block ranges.
    let want = workload(6, 300, T0 + 30 * MIN);
    let lagging = vec![("__name__", "lagging"), ("instance", "slow")];
    {
        let st = open(dir.path()).await;
        write_workload(&st, &t, &want).await;
        write(&st, &t, &[(lagging.clone(), vec![(T0, 1.0)])]).await;
        let before = select_all(&st, &t).await;
        let out = st.flush().await.unwrap();
        assert_eq!(out.blocks.len(), 3, "{:?}", out.blocks);
        assert_eq!(out.samples, 6 * 300 + 1);
        for b in &out.blocks {
            let start = b.min_time.div_euclid(7_200_000);
            assert_eq!(
                start,
                b.max_time.div_euclid(7_200_000),
                "block spans a boundary"
            );
        }
        assert!(st.head.time_range().is_none(), "head is empty after flush");
        assert_eq!(select_all(&st, &t).await, before);

        // Older than the series' newest sample, now in a block: out of order; newer:
        // accepted. A series lagging behind the flushed range still takes its next samples.
        let l = vec![("__name__", "metric_0"), ("instance", "host-0")];
        let end = T0 + 330 * MIN;
        let out = write(
            &st,
            &t,
            &[
                (l.clone(), vec![(end - 5 * MIN, 1.0), (end + MIN, 2.0)]),
                (lagging.clone(), vec![(T0 + MIN, 3.0)]),
            ],
        )
        .await;
        assert_eq!(out.rejected(RejectReason::OutOfOrder), 1);
        assert_eq!(out.samples_accepted, 2);
        st.shutdown().await.unwrap();
    }
    let mut want = want;
    let key = Labels::from_pairs([("__name__", "metric_0"), ("instance", "host-0")]).unwrap();
    want.get_mut(&key)
        .unwrap()
        .push(Sample::new(T0 + 331 * MIN, 2.0));
    let lagging_labels = Labels::from_pairs(lagging.iter().copied()).unwrap();
    want.insert(
        lagging_labels,
        vec![Sample::new(T0, 1.0), Sample::new(T0 + MIN, 3.0)],
    );
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    let series = st
        .series(
            &t,
            &SeriesRequest {
                selectors: vec![vec![Matcher::equal("__name__", "metric_1")]],
                start_ms: i64::MIN,
                end_ms: i64::MAX,
                limit: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 2);
    let names = st
        .label_names(
            &t,
            &SeriesRequest {
                selectors: vec![],
                start_ms: i64::MIN,
                end_ms: i64::MAX,
                limit: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(names, vec!["__name__".to_string(), "instance".to_string()]);
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn restart_without_flush_replays_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let want = workload(20, 100, T0);
    {
        let st = open(dir.path()).await;
        write_workload(&st, &t, &want).await;
        // Dropped without shutdown: acknowledged appends are already fsynced.
    }
    let st = open(dir.path()).await;
    assert!(st.is_ready());
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    // Idempotent retry after restart, and a conflicting value is still refused.
    let l = vec![("__name__", "metric_0"), ("instance", "host-0")];
    let out = write(&st, &t, &[(l, vec![(T0, 0.0), (T0 + MIN, 99.0)])]).await;
    assert_eq!(out.samples_accepted, 1);
    assert_eq!(out.rejected(RejectReason::OutOfOrder), 1);
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn checkpoint_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let want = workload(10, 240, T0);
    {
        let mut cfg = StoreConfig::new(dir.path());
        cfg.wal_segment_bytes = 4096;
        let st = Storage::open(cfg, &mut Registry::default()).await.unwrap();
        write_workload(&st, &t, &want).await;
        let segments_before = wal::list_segments(&wal::wal_dir(dir.path())).unwrap().len();
        // Four hours of data: a cut at T0 + 2h moves the first half into a block.
        st.maybe_cut().await.unwrap();
        let blocks = st.tenant_blocks(&t).await.unwrap().blocks();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].max_time, T0 + 119 * MIN);
        assert_eq!(st.head.time_range(), Some((T0 + 120 * MIN, T0 + 239 * MIN)));
        let segments_after = wal::list_segments(&wal::wal_dir(dir.path())).unwrap().len();
        assert!(
            segments_after < segments_before,
            "{segments_before} -> {segments_after} segments"
        );
        assert_eq!(select_all(&st, &t).await, as_series(&want));
    }
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    // The replayed head holds only what the checkpoint kept.
    assert_eq!(st.head.time_range(), Some((T0 + 120 * MIN, T0 + 239 * MIN)));
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn crash_between_add_block_and_checkpoint_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let want = workload(8, 200, T0);
    {
        let st = open(dir.path()).await;
        write_workload(&st, &t, &want).await;
        st.fail_before_checkpoint.store(true, Ordering::Release);
        assert!(st.flush().await.is_err());
        assert!(!st.tenant_blocks(&t).await.unwrap().blocks().is_empty());
        // Dropped without shutdown, the old WAL segments still on disk.
    }
    let st = open(dir.path()).await;
    // Every sample is both in a block and replayed into the head: seen once.
    assert!(st.head.time_range().is_some());
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    // Flushing again and reopening keeps the same answer.
    st.flush().await.unwrap();
    st.shutdown().await.unwrap();
    let st = open(dir.path()).await;
    assert!(st.head.time_range().is_none());
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    st.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let st = open(dir.path()).await;
    let t = tenant("team-a");
    let before = st.wal_fsyncs();
    let n = 300;
    let mut tasks = Vec::new();
    for i in 0..n {
        let st = Arc::clone(&st);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let inst = format!("host-{i}");
            write(
                &st,
                &t,
                &[(
                    vec![("__name__", "up"), ("instance", inst.as_str())],
                    vec![(T0, 1.0)],
                )],
            )
            .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().samples_accepted, 1);
    }
    let fsyncs = st.wal_fsyncs() - before;
    println!("{n} concurrent appends, {fsyncs} fsyncs");
    assert!(fsyncs < n, "{fsyncs} fsyncs for {n} appends");
    assert_eq!(select_all(&st, &t).await.len(), n as usize);
    st.shutdown().await.unwrap();
    assert!(matches!(
        st.append(&t, &WriteBatch::default()).await,
        Err(Error::Shutdown)
    ));
}

#[tokio::test]
async fn metadata_survives_restart_and_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    {
        let st = open(dir.path()).await;
        let mut b = WriteBatch::default();
        b.labels.push(LabelRef::new("__name__", "up"));
        b.samples.push(Sample::new(T0, 1.0));
        b.series.push(SeriesRefs {
            labels: 0..1,
            samples: 0..1,
            ..Default::default()
        });
        b.metadata.push(MetadataRef {
            metric_family_name: "up",
            metric_type: MetricType::Gauge,
            help: "target is up",
            unit: "",
        });
        let out = st.append(&t, &b).await.unwrap();
        assert_eq!(out.metadata_written, 1);
        st.flush().await.unwrap();
    }
    let st = open(dir.path()).await;
    let md = st.metadata(&t, Some("up")).await.unwrap();
    assert_eq!(md.len(), 1);
    assert_eq!(md[0].1.metric_type, MetricType::Gauge);
    assert_eq!(md[0].1.help, "target is up");
    assert!(st.metadata(&t, Some("down")).await.unwrap().is_empty());
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn tenants_are_isolated_across_restart_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (tenant("team-a"), tenant("team-b"));
    let wa = workload(3, 150, T0);
    let mut wb = workload(3, 150, T0);
    for s in wb.values_mut() {
        for x in s.iter_mut().filter(|x| !x.v.is_nan()) {
            x.v = -x.v - 1.0;
        }
    }
    {
        let st = open(dir.path()).await;
        write_workload(&st, &a, &wa).await;
        write_workload(&st, &b, &wb).await;
        // Two and a half hours of data: not yet half a range past the 2h boundary.
        st.maybe_cut().await.unwrap();
        assert!(st.tenant_blocks(&a).await.unwrap().blocks().is_empty());
    }
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &a).await, as_series(&wa));
    assert_eq!(select_all(&st, &b).await, as_series(&wb));
    let out = st.flush().await.unwrap();
    assert_eq!(out.blocks.len(), 4, "two ranges for each of two tenants");
    assert_eq!(select_all(&st, &a).await, as_series(&wa));
    assert_eq!(select_all(&st, &b).await, as_series(&wb));
    st.shutdown().await.unwrap();
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &b).await, as_series(&wb));
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn self_metrics_are_exposed() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::default();
    let st = Storage::open(StoreConfig::new(dir.path()), &mut registry)
        .await
        .unwrap();
    let t = tenant("team-a");
    let l = vec![("__name__", "up")];
    write(&st, &t, &[(l.clone(), vec![(T0, 1.0), (T0 + MIN, 1.0)])]).await;
    write(&st, &t, &[(l, vec![(T0, 1.0 + 1.0)])]).await;
    st.flush().await.unwrap();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for want in [
        "cairn_ingest_samples_total 2",
        "cairn_ingest_samples_rejected_total{reason=\"out_of_order\"} 1",
        "cairn_wal_fsync_duration_seconds_count",
        "cairn_wal_segments 1",
        // A flush keeps emptied series (their newest timestamps guard ordering).
        "cairn_head_series 1",
        "cairn_head_samples 0",
        "cairn_head_cuts_total 1",
        "cairn_block_uploads_total 1",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn background_tasks_stop_on_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let st = open(dir.path()).await;
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    st.start_background(cancel.clone(), &tracker);
    tracker.close();
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .unwrap();
    // The tasks released their handles.
    assert_eq!(Arc::strong_count(&st), 1);
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn failed_wal_write_acknowledges_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let l = vec![("__name__", "up"), ("job", "x")];
    {
        let st = open(dir.path()).await;
        write(&st, &t, &[(l.clone(), vec![(T0, 1.0)])]).await;
        st.wal.fail_next_writes(1);
        let mut b = WriteBatch::default();
        b.labels.extend(l.iter().map(|&(n, v)| LabelRef::new(n, v)));
        b.samples
            .extend([Sample::new(T0 + MIN, 2.0), Sample::new(T0 + 2 * MIN, 3.0)]);
        b.series.push(SeriesRefs {
            labels: 0..2,
            samples: 0..2,
            ..Default::default()
        });
        assert!(matches!(st.append(&t, &b).await, Err(Error::Wal { .. })));
        // Nothing of the failed batch is visible, and its retry is not refused.
        assert_eq!(select_all(&st, &t).await[0].samples.len(), 1);
        let out = st.append(&t, &b).await.unwrap();
        assert_eq!(out.samples_accepted, 2);
        write(&st, &t, &[(l.clone(), vec![(T0 + 3 * MIN, 4.0)])]).await;
        // Dropped without shutdown.
    }
    // The half-written record was cut and writing went on in a new segment: replay is clean.
    let st = open(dir.path()).await;
    let got = select_all(&st, &t).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].samples,
        vec![
            Sample::new(T0, 1.0),
            Sample::new(T0 + MIN, 2.0),
            Sample::new(T0 + 2 * MIN, 3.0),
            Sample::new(T0 + 3 * MIN, 4.0),
        ]
    );
    st.shutdown().await.unwrap();
}

/// Appends race cuts and checkpoints; after a crash every acknowledged sample is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_racing_flushes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let mut want: Want = BTreeMap::new();
    {
        let st = open(dir.path()).await;
        let mut tasks = Vec::new();
        for w in 0..4 {
            let st = Arc::clone(&st);
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let inst = format!("host-{w}");
                let mut acked = Vec::new();
                for k in 0..300i64 {
                    let ts = T0 + k * 1000;
                    let v = (w * 1000) as f64 + k as f64;
                    let l = vec![("__name__", "up"), ("instance", inst.as_str())];
                    let out = write(&st, &t, &[(l, vec![(ts, v)])]).await;
                    // Each writer is in order: a flush, running or done, refuses nothing.
                    assert_eq!(out.samples_accepted, 1, "{:?}", out.samples_rejected);
                    acked.push(Sample::new(ts, v));
                    if k % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                (inst, acked)
            }));
        }
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            st.flush().await.unwrap();
        }
        for task in tasks {
            let (inst, acked) = task.await.unwrap();
            let l = Labels::from_pairs([("__name__", "up"), ("instance", inst.as_str())]).unwrap();
            if !acked.is_empty() {
                want.insert(l, acked);
            }
        }
        let blocks = st.tenant_blocks(&t).await.unwrap().blocks().len();
        let acked: usize = want.values().map(Vec::len).sum();
        println!("{acked} of 1200 samples acknowledged, {blocks} blocks");
        assert_eq!(acked, 1200);
        assert!(blocks >= 1);
        assert_eq!(select_all(&st, &t).await, as_series(&want));
        // Crash: no shutdown.
    }
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &t).await, as_series(&want));
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn cut_of_many_series_with_gaps_keeps_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let st = open(dir.path()).await;
    let range = st.cfg.block_range_ms;
    let step = 5 * MIN;
    let per_range = range / step;
    // 1500 series over three block ranges; every third skips the middle range entirely, so
    // the cut meets series whose span crosses a range they hold no sample of.
    let owned: Owned = (0..1500usize)
        .map(|i| {
            let inst = format!("host-{i}");
            let labels = vec![
                ("__name__".to_string(), format!("m_{}", i % 7)),
                ("instance".to_string(), inst),
            ];
            let samples = (0..3 * per_range)
                .filter(|k| i % 3 != 0 || k / per_range != 1)
                .map(|k| {
                    let v = match (i % 2, k % 50) {
                        (_, 49) => f64::from_bits(STALE_NAN_BITS),
                        (0, _) => i as f64 + k as f64 * 0.125,
                        _ => (k as f64).sqrt() * i as f64,
                    };
                    (T0 + k * step, v)
                })
                .collect();
            (labels, samples)
        })
        .collect();
    let per = 3 * per_range as usize;
    for chunk in (0..per).step_by(12) {
        let part: Vec<Input<'_>> = owned
            .iter()
            .map(|(l, s)| {
                let lo = s.partition_point(|x| x.0 < T0 + chunk as i64 * step);
                let hi = s.partition_point(|x| x.0 < T0 + (chunk + 12) as i64 * step);
                (
                    l.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
                    s[lo..hi].to_vec(),
                )
            })
            .collect();
        let out = write(&st, &t, &part).await;
        assert_eq!(out.rejected_total(), 0, "{:?}", out.samples_rejected);
    }
    let before = select_all(&st, &t).await;
    assert_eq!(before.len(), 1500);
    let boundary = T0 + 2 * range;
    let below: u64 = owned
        .iter()
        .map(|(_, s)| s.iter().filter(|x| x.0 < boundary).count() as u64)
        .sum();
    let out = st.cut(boundary, true).await.unwrap();
    let shape: Vec<(i64, u64)> = out
        .blocks
        .iter()
        .map(|b| (b.min_time.div_euclid(range) * range, b.num_series))
        .collect();
    assert_eq!(shape, vec![(T0, 1500), (T0 + range, 1000)]);
    assert_eq!(out.samples, below);
    assert_eq!(out.blocks.iter().map(|b| b.num_samples).sum::<u64>(), below);
    let (head_min, _) = st
        .head
        .time_range()
        .expect("samples after the boundary stay");
    assert!(head_min >= boundary, "head starts at {head_min}");
    assert_eq!(select_all(&st, &t).await, before);
    st.flush().await.unwrap();
    assert_eq!(select_all(&st, &t).await, before);
    st.shutdown().await.unwrap();
    let st = open(dir.path()).await;
    assert_eq!(select_all(&st, &t).await, before);
    st.shutdown().await.unwrap();
}
