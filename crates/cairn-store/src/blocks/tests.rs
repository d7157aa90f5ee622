use std::sync::Arc;

use cairn_model::{
    LabelValuesRequest, MatchOp, Matcher, Sample, SelectRequest, Series, SeriesRequest,
};
use futures::TryStreamExt;
use object_store::ObjectStore;

use super::*;
use crate::block::tests::{labels, local_store, make_series, tenant};
use crate::catalog::{Signal, list_versions};

const H: i64 = 3_600_000;

async fn open(store: &Arc<dyn ObjectStore>) -> TenantBlocks {
    TenantBlocks::open(
        Arc::clone(store),
        tenant(),
        Arc::new(BlockCache::new(64 << 20)),
    )
    .await
    .unwrap()
}

fn select_all(start: i64, end: i64) -> SelectRequest {
    SelectRequest {
        matchers: vec![],
        start_ms: start,
        end_ms: end,
        max_series: 0,
        max_samples: 0,
    }
}

fn series_req(selectors: Vec<Vec<Matcher>>) -> SeriesRequest {
    SeriesRequest {
        selectors,
        start_ms: i64::MIN,
        end_ms: i64::MAX,
        limit: 0,
    }
}

async fn add(tb: &TenantBlocks, series: Vec<Series>) -> BlockMeta {
    let meta = write_block(&tb.store, &tb.tenant, series, 0, vec![])
        .await
        .unwrap();
    tb.add_block(meta.clone()).await.unwrap();
    meta
}

async fn object_count(store: &Arc<dyn ObjectStore>, prefix: &str) -> usize {
    let p = object_store::path::Path::from(prefix);
    store
        .list(Some(&p))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn concurrent_adds_from_two_instances_are_all_kept() {
    let (_dir, store) = local_store();
    let a = Arc::new(open(&store).await);
    let b = Arc::new(open(&store).await);
    let mut metas = Vec::new();
    for i in 0..6 {
        let s = make_series(&format!("job{i}"), 1, i * H, i * H + 60_000);
        metas.push(write_block(&store, &tenant(), s, 0, vec![]).await.unwrap());
    }
    let tasks: Vec<_> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let tb = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let m = m.clone();
            tokio::spawn(async move { tb.add_block(m).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let fresh = open(&store).await;
    let mut got: Vec<_> = fresh.blocks().iter().map(|m| m.ulid).collect();
    let mut want: Vec<_> = metas.iter().map(|m| m.ulid).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "no addition lost");
    assert_eq!(fresh.catalog_version(), 6);
    // Old catalog versions are garbage-collected down to the last few.
    let versions = list_versions(&store, &tenant(), Signal::Metrics)
        .await
        .unwrap();
    assert!(
        versions.len() <= crate::catalog::KEEP_VERSIONS as usize + 1,
        "{versions:?}"
    );
    assert_eq!(versions.last(), Some(&6));
}

#[tokio::test]
async fn select_merges_blocks_and_honours_limits() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    assert_eq!(tb.max_time(), None);
    add(&tb, make_series("node", 3, 0, 2 * H - 1)).await;
    add(&tb, make_series("node", 3, 2 * H, 4 * H - 1)).await;
    assert_eq!(tb.max_time(), Some(4 * H - 15_000));
    let got = tb.select(&select_all(H, 3 * H)).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(
        got.windows(2).all(|w| w[0].labels < w[1].labels),
        "sorted by labels"
    );
    for s in &got {
        assert_eq!(s.samples.len(), (2 * H / 15_000 + 1) as usize);
        assert!(
            s.samples.windows(2).all(|w| w[0].t + 15_000 == w[1].t),
            "no gap at the block boundary"
        );
    }
    let mut req = select_all(0, 4 * H);
    req.max_series = 2;
    assert!(matches!(
        tb.select(&req).await,
        Err(Error::LimitExceeded(_))
    ));
    req.max_series = 3;
    req.max_samples = 100;
    assert!(matches!(
        tb.select(&req).await,
        Err(Error::LimitExceeded(_))
    ));
    req.max_samples = 3 * 960;
    assert_eq!(tb.select(&req).await.unwrap().len(), 3);
}

#[tokio::test]
async fn series_and_label_apis() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    add(&tb, make_series("node", 2, 0, 60_000)).await;
    let mut other = make_series("api", 1, 5 * H, 5 * H + 60_000);
    other[0].labels = labels(&[("__name__", "req"), ("job", "api"), ("path", "/x")]);
    add(&tb, other).await;

    let all = tb.series(&series_req(vec![])).await.unwrap();
    assert_eq!(all.len(), 3);
    let api = tb
        .series(&series_req(vec![
            vec![Matcher::equal("job", "api")],
            vec![Matcher::equal("instance", "host-1")],
        ]))
        .await
        .unwrap();
    assert_eq!(api.len(), 2);
    let mut limited = series_req(vec![]);
    limited.limit = 1;
    assert_eq!(tb.series(&limited).await.unwrap().len(), 1);
    let mut early = series_req(vec![]);
    early.end_ms = H;
    assert_eq!(
        tb.series(&early).await.unwrap().len(),
        2,
        "second block is out of range"
    );

    assert_eq!(
        tb.label_names(&series_req(vec![])).await.unwrap(),
        vec!["__name__", "instance", "job", "path"]
    );
    assert_eq!(
        tb.label_names(&series_req(vec![vec![Matcher::equal("job", "node")]]))
            .await
            .unwrap(),
        vec!["__name__", "instance", "job"]
    );
    let lv = |sel: Vec<Vec<Matcher>>| LabelValuesRequest {
        name: "job".into(),
        series: series_req(sel),
    };
    assert_eq!(
        tb.label_values(&lv(vec![])).await.unwrap(),
        vec!["api", "node"]
    );
    let re = Matcher::new(MatchOp::Regex, "__name__", "u.").unwrap();
    assert_eq!(
        tb.label_values(&lv(vec![vec![re]])).await.unwrap(),
        vec!["node"]
    );
}

#[tokio::test]
async fn compaction_merges_overlapping_blocks_keeping_every_sample_once() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    // Two overlapping blocks of the same 2h window sharing samples 30m..1h, plus a later block.
    let a = add(&tb, make_series("node", 4, 0, H)).await;
    let b = add(&tb, make_series("node", 4, H / 2, 2 * H - 1)).await;
    add(&tb, make_series("node", 4, 2 * H, 3 * H)).await;
    let before = tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap();
    let before_samples: usize = before.iter().map(|s| s.samples.len()).sum();

    let out = tb.compact_once(&[2 * H, 12 * H]).await.unwrap();
    let mut srcs = out.sources.clone();
    srcs.sort();
    let mut want = vec![a.ulid, b.ulid];
    want.sort();
    assert_eq!(srcs, want);
    let new = out.output.clone().unwrap();
    assert_eq!(new.level, 1);
    assert_eq!((new.min_time, new.max_time), (0, 2 * H - 15_000));
    assert_eq!(
        new.num_samples,
        4 * (2 * H / 15_000) as u64,
        "duplicates removed, nothing lost"
    );
    assert_eq!(tb.blocks().len(), 2);
    let after = tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(before_samples, 4 * (3 * H / 15_000 + 1) as usize);
    // Source objects are gone; the new block is listed.
    assert_eq!(
        object_count(&store, &format!("team-a/metrics/blocks/{}", a.ulid)).await,
        0
    );
    assert_eq!(
        object_count(&store, &format!("team-a/metrics/blocks/{}", new.ulid)).await,
        4
    );
    // Nothing else to do: the 12h window is still open.
    assert!(tb.compact_once(&[2 * H, 12 * H]).await.unwrap().is_noop());
    // Reopening from the store sees the same.
    assert_eq!(open(&store).await.blocks(), tb.blocks());
}

#[tokio::test]
async fn sources_outlive_queries_holding_them() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    let a = add(&tb, make_series("node", 2, 0, H)).await;
    add(&tb, make_series("node", 2, H / 2, H + 60_000)).await;
    let held = tb.snapshot();
    let out = tb.compact_once(&[2 * H]).await.unwrap();
    assert!(!out.is_noop());
    let dir = format!("team-a/metrics/blocks/{}", a.ulid);
    assert_eq!(
        object_count(&store, &dir).await,
        4,
        "a query still holds the old blocks"
    );
    // The held snapshot still reads the old blocks completely.
    let old = held.blocks.iter().find(|b| b.meta.ulid == a.ulid).unwrap();
    assert_eq!(old.select(&[], 0, H).await.unwrap().len(), 2);
    drop(held);
    assert_eq!(tb.delete_retired().await.unwrap(), 2);
    assert_eq!(object_count(&store, &dir).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_compaction_see_every_sample_exactly_once() {
    let (_dir, store) = local_store();
    let tb = Arc::new(open(&store).await);
    for i in 0..6 {
        // Overlapping pairs per 2h window, then windows of a 12h range.
        add(&tb, make_series("node", 3, i * 2 * H, i * 2 * H + H)).await;
        add(
            &tb,
            make_series("node", 3, i * 2 * H + H / 2, (i + 1) * 2 * H - 1),
        )
        .await;
    }
    add(&tb, make_series("node", 3, 12 * H, 12 * H + 60_000)).await;
    let expected = tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let q = {
        let tb = Arc::clone(&tb);
        let stop = Arc::clone(&stop);
        let expected = expected.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap();
                assert_eq!(got, expected, "query {n} during compaction");
                n += 1;
            }
            n
        })
    };
    let mut steps = 0;
    while !tb.compact_once(&[2 * H, 12 * H]).await.unwrap().is_noop() {
        steps += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let queries = q.await.unwrap();
    assert!(queries > 0);
    assert_eq!(steps, 7, "six overlap merges, then one 12h merge");
    let blocks = tb.blocks();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].level, 2);
    assert_eq!(
        tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap(),
        expected
    );
    let total: usize = expected.iter().map(|s| s.samples.len()).sum();
    assert_eq!(total, 3 * ((12 * H / 15_000) as usize + 5));
    tb.delete_retired().await.unwrap();
    assert_eq!(object_count(&store, "team-a/metrics/blocks").await, 2 * 4);
}

#[tokio::test]
async fn retention_drops_old_blocks() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    let old = add(&tb, make_series("node", 1, 0, H)).await;
    let mid = add(&tb, make_series("node", 1, 2 * H, 3 * H)).await;
    let now = 10 * H;
    assert_eq!(tb.apply_retention(now, 8 * H).await.unwrap(), 1);
    assert_eq!(
        tb.blocks().iter().map(|b| b.ulid).collect::<Vec<_>>(),
        vec![mid.ulid]
    );
    assert_eq!(
        object_count(&store, &format!("team-a/metrics/blocks/{}", old.ulid)).await,
        0
    );
    assert_eq!(tb.apply_retention(now, 8 * H).await.unwrap(), 0);
    let got = tb.select(&select_all(i64::MIN, i64::MAX)).await.unwrap();
    assert_eq!(got[0].samples.first(), Some(&Sample::new(2 * H, 0.0)));
}

#[tokio::test]
async fn a_lagging_instance_recovers_from_blocks_deleted_elsewhere() {
    let (_dir, store) = local_store();
    let compactor = open(&store).await;
    add(&compactor, make_series("node", 2, 0, H)).await;
    add(&compactor, make_series("node", 2, H / 2, H + 60_000)).await;
    let reader = open(&store).await;
    let expected = reader.select(&select_all(0, 2 * H)).await.unwrap();
    assert_eq!(reader.blocks().len(), 2);
    // The compactor replaces and deletes both blocks; the reader still names them.
    assert!(!compactor.compact_once(&[2 * H]).await.unwrap().is_noop());
    assert_eq!(reader.blocks().len(), 2);
    let cold = TenantBlocks::open(Arc::clone(&store), tenant(), Arc::new(BlockCache::new(0)))
        .await
        .unwrap();
    assert_eq!(cold.blocks().len(), 1);
    // A reader with a stale catalog and no cache hits the deleted objects, reloads, answers.
    let no_cache = Arc::new(BlockCache::new(0));
    let old = Snapshot {
        version: reader.catalog_version(),
        blocks: reader
            .blocks()
            .into_iter()
            .map(|m| {
                let c = Arc::clone(&no_cache);
                Arc::new(BlockReader::new(Arc::clone(&store), c, tenant(), m))
            })
            .collect(),
    };
    let stale = TenantBlocks {
        store: Arc::clone(&store),
        tenant: tenant(),
        cache: no_cache,
        state: RwLock::new(Arc::new(old)),
        commit_lock: tokio::sync::Mutex::new(()),
        retired: Mutex::new(Vec::new()),
    };
    assert_eq!(stale.select(&select_all(0, 2 * H)).await.unwrap(), expected);
    assert_eq!(stale.blocks().len(), 1);
}

#[tokio::test]
async fn orphans_are_deleted_once_old_enough() {
    let (_dir, store) = local_store();
    let tb = open(&store).await;
    let live = add(&tb, make_series("node", 1, 0, H)).await;
    let orphan = write_block(&store, &tenant(), make_series("x", 1, 0, H), 0, vec![])
        .await
        .unwrap();
    let born = orphan.ulid.timestamp_ms() as i64;
    assert_eq!(
        tb.delete_orphans(born + 1000, H).await.unwrap(),
        0,
        "too young"
    );
    let dir = |u: Ulid| format!("team-a/metrics/blocks/{u}");
    assert_eq!(object_count(&store, &dir(orphan.ulid)).await, 4);
    assert_eq!(tb.delete_orphans(born + 2 * H, H).await.unwrap(), 1);
    assert_eq!(object_count(&store, &dir(orphan.ulid)).await, 0);
    assert_eq!(
        object_count(&store, &dir(live.ulid)).await,
        4,
        "live block kept"
    );
    assert_eq!(tb.select(&select_all(0, H)).await.unwrap().len(), 1);
}

fn series_of(name: &str, ts: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(&[("__name__", name)]),
        samples: ts.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
    }
}

#[test]
fn merge_sorts_hash_ordered_blocks_and_keeps_the_earlier_sample() {
    // The first block lists its series out of label order, as blocks with hash-ordered ids
    // do; the second overlaps it in time on one timestamp.
    let first = vec![
        series_of("c", &[(1, 1.0)]),
        series_of("a", &[(1, 1.0), (2, 2.0)]),
    ];
    let second = vec![
        series_of("a", &[(2, 20.0), (3, 3.0)]),
        series_of("b", &[(5, 5.0)]),
        series_of("c", &[(4, 4.0)]),
    ];
    let got = merge_series(vec![first, second, vec![]]);
    assert_eq!(
        got,
        vec![
            series_of("a", &[(1, 1.0), (2, 2.0), (3, 3.0)]),
            series_of("b", &[(5, 5.0)]),
            series_of("c", &[(1, 1.0), (4, 4.0)]),
        ]
    );
    assert!(merge_series(vec![]).is_empty());
}

fn ts(samples: &[Sample]) -> Vec<(i64, f64)> {
    samples.iter().map(|s| (s.t, s.v)).collect()
}

fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
    points.iter().map(|&(t, v)| Sample { t, v }).collect()
}

#[test]
fn merge_samples_keeps_order_and_the_first_list_on_ties() {
    let a = samples(&[(1, 1.0), (3, 1.0), (5, 1.0)]);
    let b = samples(&[(2, 2.0), (3, 2.0), (6, 2.0)]);
    assert_eq!(
        ts(&merge_samples(a, b)),
        [(1, 1.0), (2, 2.0), (3, 1.0), (5, 1.0), (6, 2.0)]
    );
    // Disjoint in either order (the fast paths), and empty on either side.
    let (early, late) = (
        samples(&[(1, 1.0), (2, 1.0)]),
        samples(&[(3, 2.0), (4, 2.0)]),
    );
    let want = [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0)];
    assert_eq!(ts(&merge_samples(early.clone(), late.clone())), want);
    assert_eq!(ts(&merge_samples(late.clone(), early.clone())), want);
    assert_eq!(ts(&merge_samples(early.clone(), Vec::new())), ts(&early));
    assert_eq!(ts(&merge_samples(Vec::new(), late.clone())), ts(&late));
    // Touching at one timestamp is not disjoint: the first list's sample wins.
    let touching = samples(&[(2, 9.0), (3, 9.0)]);
    assert_eq!(
        ts(&merge_samples(early.clone(), touching.clone())),
        [(1, 1.0), (2, 1.0), (3, 9.0)]
    );
    assert_eq!(
        ts(&merge_samples(touching, early)),
        [(1, 1.0), (2, 9.0), (3, 9.0)]
    );
}
