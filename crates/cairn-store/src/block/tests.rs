use std::sync::Arc;

use bytes::Bytes;
use cairn_model::{Labels, MatchOp, Matcher, STALE_NAN_BITS, Sample, Series, TenantId, stale_nan};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::PageIndexPolicy;

use super::*;
use crate::cache::BlockCache;

/// A local object store in a fresh temporary directory.
pub(crate) fn local_store() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fs = LocalFileSystem::new_with_prefix(dir.path()).expect("local store");
    (dir, Arc::new(fs))
}

pub(crate) fn tenant() -> TenantId {
    TenantId::new("team-a").expect("valid tenant")
}

pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("valid labels")
}

/// `n` series `up{job, instance=i}` with samples every 15 s in `[start, end]`, value i*1000+k.
pub(crate) fn make_series(job: &str, n: usize, start: i64, end: i64) -> Vec<Series> {
    (0..n)
        .map(|i| {
            let inst = format!("host-{i}");
            let samples = (start..=end)
                .step_by(15_000)
                .enumerate()
                .map(|(k, t)| Sample::new(t, (i * 1000 + k) as f64))
                .collect();
            Series {
                labels: labels(&[("__name__", "up"), ("job", job), ("instance", &inst)]),
                samples,
            }
        })
        .collect()
}

fn reader(store: &Arc<dyn ObjectStore>, meta: BlockMeta) -> BlockReader {
    BlockReader::new(
        Arc::clone(store),
        Arc::new(BlockCache::new(64 << 20)),
        tenant(),
        meta,
    )
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

fn names_of(series: &[Series]) -> Vec<String> {
    let mut v: Vec<String> = series
        .iter()
        .map(|s| s.labels.get("instance").unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn write_then_select_with_each_matcher_type() {
    let (_dir, store) = local_store();
    let mut input = make_series("node", 5, 0, 3_600_000);
    input.extend(make_series("api", 2, 0, 3_600_000));
    let expected: Vec<Series> = input.clone();
    let meta = write_block(&store, &tenant(), input, 0, vec![])
        .await
        .unwrap();
    assert_eq!(meta.num_series, 7);
    assert_eq!(meta.num_samples, 7 * 241);
    assert_eq!((meta.min_time, meta.max_time), (0, 3_600_000));
    assert_eq!(meta.schema_version, SCHEMA_VERSION);
    assert_eq!(
        read_block_meta(&store, &tenant(), meta.ulid).await.unwrap(),
        meta
    );
    let r = reader(&store, meta);

    let all = r.select(&[], i64::MIN, i64::MAX).await.unwrap();
    assert_eq!(all.len(), 7);
    for s in &all {
        let want = expected.iter().find(|e| e.labels == s.labels).unwrap();
        assert_eq!(s.samples, want.samples, "{}", s.labels);
    }

    let eq = r
        .select(&[m(MatchOp::Equal, "job", "api")], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(names_of(&eq), vec!["host-0", "host-1"]);
    let ne = r
        .select(&[m(MatchOp::NotEqual, "job", "node")], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(names_of(&ne), vec!["host-0", "host-1"]);
    let re = r
        .select(
            &[
                m(MatchOp::Regex, "instance", "host-[34]"),
                m(MatchOp::Equal, "job", "node"),
            ],
            0,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(names_of(&re), vec!["host-3", "host-4"]);
    let set = r
        .select(&[m(MatchOp::Regex, "job", "api|nope")], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(set.len(), 2);
    let nre = r
        .select(
            &[
                m(MatchOp::NotRegex, "instance", "host-[0-3]"),
                m(MatchOp::Equal, "job", "node"),
            ],
            0,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(names_of(&nre), vec!["host-4"]);
    // A matcher on an absent label: `=""` selects everything, `!=""` nothing.
    assert_eq!(
        r.select(&[m(MatchOp::Equal, "zone", "")], 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        7
    );
    assert!(
        r.select(&[m(MatchOp::NotEqual, "zone", "")], 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        r.select(&[m(MatchOp::Equal, "job", "none")], 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // Time range cut, both ends inclusive.
    let cut = r
        .select(
            &[
                m(MatchOp::Equal, "instance", "host-1"),
                m(MatchOp::Equal, "job", "node"),
            ],
            30_000,
            60_000,
        )
        .await
        .unwrap();
    assert_eq!(cut.len(), 1);
    assert_eq!(
        cut[0].samples,
        vec![
            Sample::new(30_000, 1002.0),
            Sample::new(45_000, 1003.0),
            Sample::new(60_000, 1004.0)
        ]
    );
    assert!(
        r.select(&[], 4_000_000, 5_000_000)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn nan_bits_survive_and_duplicates_are_dropped() {
    let (_dir, store) = local_store();
    let odd_nan = f64::from_bits(0x7ff8_0000_dead_beef);
    let s = Series {
        labels: labels(&[("__name__", "x")]),
        samples: vec![
            Sample::new(3, 3.0),
            Sample::new(1, stale_nan()),
            Sample::new(2, odd_nan),
            Sample::new(2, 99.0),
            Sample::new(4, -0.0),
        ],
    };
    let meta = write_block(&store, &tenant(), vec![s], 0, vec![])
        .await
        .unwrap();
    assert_eq!(meta.num_samples, 4);
    let got = reader(&store, meta).select(&[], 0, 10).await.unwrap();
    let bits: Vec<(i64, u64)> = got[0]
        .samples
        .iter()
        .map(|s| (s.t, s.v.to_bits()))
        .collect();
    assert_eq!(
        bits,
        vec![
            (1, STALE_NAN_BITS),
            (2, 0x7ff8_0000_dead_beef),
            (3, 3f64.to_bits()),
            (4, (-0.0f64).to_bits())
        ]
    );
}

#[tokio::test]
async fn decimal_and_float_values_round_trip_bit_exact() {
    let (_dir, store) = local_store();
    let cases: Vec<Vec<f64>> = vec![
        vec![1.0, 2.0, 3.0],
        vec![0.1, 0.2, 0.30000000000000004],
        vec![12.34, 12.35, 1e15 + 0.5],
        vec![123.456789, 0.0000001],
        vec![-0.0, 1.0],
        vec![9_007_199_254_740_993.0, 1.0],
        vec![f64::MAX, -f64::MIN_POSITIVE, f64::INFINITY],
        vec![std::f64::consts::PI, -2.5],
        vec![1.5, f64::NAN],
    ];
    let series: Vec<Series> = cases
        .iter()
        .enumerate()
        .map(|(i, vs)| Series {
            labels: labels(&[("__name__", "v"), ("case", &i.to_string())]),
            samples: vs
                .iter()
                .enumerate()
                .map(|(k, &v)| Sample::new(k as i64, v))
                .collect(),
        })
        .collect();
    let meta = write_block(&store, &tenant(), series.clone(), 0, vec![])
        .await
        .unwrap();
    let got = reader(&store, meta).select(&[], 0, 10).await.unwrap();
    assert_eq!(got.len(), cases.len());
    for want in &series {
        let g = got.iter().find(|g| g.labels == want.labels).unwrap();
        let bits = |s: &[Sample]| s.iter().map(|s| (s.t, s.v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&g.samples), bits(&want.samples), "{}", want.labels);
    }
}

#[tokio::test]
async fn empty_block_is_refused() {
    let (_dir, store) = local_store();
    let err = write_block(&store, &tenant(), vec![], 0, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptyBlock { .. }), "{err}");
    let no_samples = Series {
        labels: labels(&[("a", "b")]),
        samples: vec![],
    };
    let err = write_block(&store, &tenant(), vec![no_samples], 0, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptyBlock { .. }), "{err}");
    let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(store.list(None))
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing written: {listed:?}");
}

#[tokio::test]
async fn files_carry_schema_version_and_page_index() {
    let (_dir, store) = local_store();
    let meta = write_block(
        &store,
        &tenant(),
        make_series("node", 300, 0, 7_200_000),
        0,
        vec![],
    )
    .await
    .unwrap();
    let mut total = 0;
    for f in [SERIES_FILE, SAMPLES_FILE, INDEX_FILE] {
        let data: Bytes = store
            .get(&block_file(&tenant(), meta.ulid, f))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        total += data.len() as u64;
        let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let md = ArrowReaderMetadata::load(&data, opts).unwrap();
        let kv = md.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(
            kv.iter()
                .any(|k| k.key == SCHEMA_VERSION_KEY && k.value.as_deref() == Some("1")),
            "{f}"
        );
        if f == SAMPLES_FILE {
            assert!(
                md.metadata().page_index().is_some(),
                "samples file has a page index"
            );
            // One series out of 300 must only need a small share of the rows: one page of
            // 8192 rows in each 30 min row group of 28,800.
            let table = reader(&store, meta.clone()).series_table().await.unwrap();
            let one = &table.ids[150..151];
            let (rgs, sel) = read::plan_pages(&md, one, i64::MIN, i64::MAX).unwrap();
            // 0..=2 h in 30 min slices: five row groups, the last holding t = 2 h only.
            assert_eq!(rgs, vec![0, 1, 2, 3, 4]);
            let sel = sel.expect("page index gives a row selection");
            let rows = sel.row_count();
            assert!(
                rows > 0 && rows * 3 < meta.num_samples as usize,
                "selected {rows} rows of {}",
                meta.num_samples
            );
            // Minutes before the end live in one row group: the others are not read.
            let (rgs, _) = read::plan_pages(&md, one, 6_900_000, 7_100_000).unwrap();
            assert_eq!(rgs, vec![3]);
        }
    }
    assert_eq!(total, meta.bytes);
}

#[tokio::test]
async fn repeated_label_sets_are_merged() {
    // Feed the same label set twice: merged into one series, first sample of a timestamp wins.
    let (_dir, store) = local_store();
    let l = labels(&[("__name__", "a")]);
    let s1 = Series {
        labels: l.clone(),
        samples: vec![Sample::new(1, 1.0), Sample::new(2, 2.0)],
    };
    let s2 = Series {
        labels: l.clone(),
        samples: vec![Sample::new(2, 20.0), Sample::new(3, 3.0)],
    };
    let meta = write_block(&store, &tenant(), vec![s1, s2], 0, vec![])
        .await
        .unwrap();
    assert_eq!(meta.num_series, 1);
    let got = reader(&store, meta).select(&[], 0, 10).await.unwrap();
    assert_eq!(
        got[0].samples,
        vec![
            Sample::new(1, 1.0),
            Sample::new(2, 2.0),
            Sample::new(3, 3.0)
        ]
    );
}

#[tokio::test]
async fn cache_serves_repeated_reads() {
    let (_dir, store) = local_store();
    let meta = write_block(
        &store,
        &tenant(),
        make_series("node", 10, 0, 600_000),
        0,
        vec![],
    )
    .await
    .unwrap();
    let cache = Arc::new(BlockCache::new(64 << 20));
    let r = BlockReader::new(Arc::clone(&store), Arc::clone(&cache), tenant(), meta);
    let q = [m(MatchOp::Equal, "instance", "host-3")];
    let first = r.select(&q, 0, i64::MAX).await.unwrap();
    let misses = cache.misses();
    let hits = cache.hits();
    let second = r.select(&q, 0, i64::MAX).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        cache.misses(),
        misses,
        "second read is served from the cache"
    );
    assert!(cache.hits() > hits);
}

/// Bytes per sample on node_exporter-like data: 15 s scrapes, a mix of constant series,
/// integer and float counters, integer and float gauges. Prints the figure; the assertion only
/// guards against a gross regression.
/// Yields label sets in block order, generating each one's samples only when asked.
struct Generated {
    order: Vec<Labels>,
    make: fn(&Labels) -> Vec<Sample>,
}

impl SeriesSource for Generated {
    fn len(&self) -> usize {
        self.order.len()
    }

    fn labels(&self, i: usize) -> &Labels {
        &self.order[i]
    }

    fn time_range(&self) -> Option<(i64, i64)> {
        let ts: Vec<i64> = self
            .order
            .iter()
            .flat_map(|l| (self.make)(l).into_iter().map(|x| x.t))
            .collect();
        Some((*ts.iter().min()?, *ts.iter().max()?))
    }

    fn samples(&mut self, i: usize, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        out.extend(
            (self.make)(&self.order[i])
                .into_iter()
                .filter(|x| x.t >= mint && x.t <= maxt),
        );
    }
}

/// Samples of series `i` of the streaming test: decimal, float, NaN payloads and stale
/// markers in shuffled order with duplicates, six-digit decimals, and empty series.
fn generated_samples(l: &Labels) -> Vec<Sample> {
    let i: usize = l.get("i").and_then(|v| v.parse().ok()).expect("i label");
    let ks = 0..400i64;
    match i % 4 {
        0 => ks
            .map(|k| Sample::new(k * 1000, k as f64 * 0.25 + i as f64))
            .collect(),
        1 => ks
            .map(|k| Sample::new(k * 1000, std::f64::consts::PI * k as f64))
            .collect(),
        2 => ks
            .rev()
            .flat_map(|k| {
                let v = match k % 3 {
                    0 => stale_nan(),
                    1 => f64::from_bits(0x7ff8_0000_0000_0000 | (i as u64) << 8 | k as u64),
                    _ => -(k as f64),
                };
                // Each timestamp twice: the first one given must win.
                [Sample::new(k * 1000, v), Sample::new(k * 1000, 1.0)]
            })
            .collect(),
        _ if i % 8 == 3 => Vec::new(),
        _ => ks
            .map(|k| {
                // Parsed, not computed, so that the value is the nearest double to a
                // six-digit decimal.
                let v: f64 = format!("{}.456789", 100 + k).parse().expect("decimal");
                Sample::new(k * 1000 + 7, v)
            })
            .collect(),
    }
}

#[tokio::test]
async fn streaming_and_in_memory_writes_hold_the_same_content() {
    let (_dir, store) = local_store();
    let n = 3000;
    let all: Vec<Labels> = (0..n)
        .map(|i| labels(&[("__name__", "gen"), ("i", &i.to_string())]))
        .collect();
    let in_memory: Vec<Series> = all
        .iter()
        .rev()
        .map(|l| Series {
            labels: l.clone(),
            samples: generated_samples(l),
        })
        .collect();
    let mut order = all.clone();
    order.sort();
    let source = Generated {
        order,
        make: generated_samples,
    };
    let a = write_block(&store, &tenant(), in_memory.clone(), 0, vec![])
        .await
        .unwrap();
    let b = write_block_from(&store, &tenant(), source, 0, vec![])
        .await
        .unwrap();
    // Expected content: each series sorted by time, first sample of a timestamp kept.
    let mut want: Vec<Series> = in_memory
        .into_iter()
        .filter(|s| !s.samples.is_empty())
        .map(|mut s| {
            s.samples.sort_by_key(|x| x.t);
            s.samples.dedup_by_key(|x| x.t);
            s
        })
        .collect();
    want.sort_by(|x, y| x.labels.cmp(&y.labels));
    let num_samples: usize = want.iter().map(|s| s.samples.len()).sum();
    assert!(num_samples > (1 << 20), "spans more than one row group");
    for meta in [&a, &b] {
        assert_eq!(meta.num_series, want.len() as u64);
        assert_eq!(meta.num_samples, num_samples as u64);
        assert_eq!((meta.min_time, meta.max_time), (0, 399_007));
    }
    let ra = reader(&store, a.clone());
    let rb = reader(&store, b.clone());
    // Ids are ordinals in the source: the streaming source's empty series leave gaps, so
    // compare what the ids stand for.
    assert_eq!(
        ra.series_table().await.unwrap().labels,
        rb.series_table().await.unwrap().labels
    );
    for r in [&ra, &rb] {
        let mut got = r.select(&[], i64::MIN, i64::MAX).await.unwrap();
        got.sort_by(|x, y| x.labels.cmp(&y.labels));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            // Sample equality is bit equality, NaN payloads included.
            assert_eq!(g, w, "{}", w.labels);
        }
    }
    // The same rows take the decimal column in both files: the decimal series' samples.
    let decimal_rows = want
        .iter()
        .filter(|s| {
            let i: usize = s.labels.get("i").and_then(|v| v.parse().ok()).unwrap();
            i.is_multiple_of(4) || i % 4 == 3
        })
        .map(|s| s.samples.len() as u64)
        .sum::<u64>();
    for meta in [&a, &b] {
        let data: Bytes = store
            .get(&block_file(&tenant(), meta.ulid, SAMPLES_FILE))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
        let schema = md.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "series_id",
                "timestamp",
                "value",
                "value_int",
                "value_scale"
            ]
        );
        let groups = md.metadata().row_groups();
        assert_eq!(groups.len(), num_samples.div_ceil(1 << 20));
        let nulls = |col: usize| -> u64 {
            groups
                .iter()
                .map(|g| {
                    g.column(col)
                        .statistics()
                        .and_then(|s| s.null_count_opt())
                        .expect("null counts are written")
                })
                .sum()
        };
        assert_eq!(nulls(2), decimal_rows, "value is null for decimal rows");
        assert_eq!(nulls(3), num_samples as u64 - decimal_rows);
    }
}

#[tokio::test]
async fn bytes_per_sample_on_synthetic_node_data() {
    let (_dir, store) = local_store();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let points = 480; // 2 h at 15 s
    let kinds = [
        ("node_filesystem_size_bytes", 3), // constant
        ("node_boot_time_seconds", 3),
        ("node_uname_info", 3),
        ("node_network_receive_bytes_total", 0), // integer counter
        ("node_disk_reads_completed_total", 0),
        ("node_cpu_seconds_total", 1), // float counter, 0.01 s resolution
        ("node_cpu_seconds_total", 1),
        ("node_memory_free_bytes", 2), // integer gauge
        ("node_load1", 4),             // float gauge
        ("node_context_switches_total", 0),
    ];
    let mut series = Vec::new();
    for i in 0..1000 {
        let (name, kind) = kinds[i % kinds.len()];
        let inst = format!("10.0.{}.{}:9100", i / 250, i % 250);
        let mut v = (next() % 1_000_000) as f64;
        let samples = (0..points)
            .map(|k| {
                v = match kind {
                    0 => v + (next() % 5000) as f64,
                    1 => ((v * 100.0).round() + (next() % 1500) as f64) / 100.0,
                    2 => (v + ((next() % 64) as f64 - 32.0) * 4096.0).max(0.0),
                    3 => v,
                    _ => ((v * 100.0).round() + (next() % 21) as f64 - 10.0).abs() / 100.0,
                };
                Sample::new(1_700_000_000_000 + k * 15_000, v)
            })
            .collect();
        let l = labels(&[
            ("__name__", name),
            ("instance", &inst),
            ("job", "node"),
            ("cpu", &(i % 8).to_string()),
        ]);
        series.push(Series { labels: l, samples });
    }
    let meta = write_block(&store, &tenant(), series, 0, vec![])
        .await
        .unwrap();
    let per_sample = meta.bytes as f64 / meta.num_samples as f64;
    println!(
        "block bytes per sample (node_exporter-like mix, 15 s): {per_sample:.3} ({} bytes, {} samples)",
        meta.bytes, meta.num_samples
    );
    let path = block_file(&tenant(), meta.ulid, SAMPLES_FILE);
    let data = store.get(&path).await.unwrap().bytes().await.unwrap();
    let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
    let md = md.metadata();
    for c in 0..md.file_metadata().schema_descr().num_columns() {
        let bytes: i64 = md
            .row_groups()
            .iter()
            .map(|rg| rg.column(c).compressed_size())
            .sum();
        println!(
            "  samples.{}: {:.3} bytes per sample",
            md.file_metadata().schema_descr().column(c).name(),
            bytes as f64 / meta.num_samples as f64
        );
    }
    assert!(per_sample < 4.0, "{per_sample} bytes per sample");
}

mod prop {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-1_000_000i64..1_000_000).prop_map(|m| m as f64 / 100.0),
            (0i64..1000).prop_map(|m| m as f64),
            Just(stale_nan()),
        ]
    }

    /// (job, instance, samples) per input series.
    type Input = Vec<(u8, u8, Vec<(i64, f64)>)>;

    fn input() -> impl Strategy<Value = Input> {
        proptest::collection::vec(
            (
                0u8..3,
                0u8..4,
                proptest::collection::vec((0i64..50_000, value()), 0..40),
            ),
            1..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever goes in comes back bit for bit: per label set, samples sorted by time with
        /// the first of each timestamp kept; matchers and time cuts filter exactly.
        #[test]
        fn write_then_read_round_trips(input in input(), cut in 0i64..50_000) {
            let series: Vec<Series> = input
                .iter()
                .map(|(job, inst, samples)| Series {
                    labels: labels(&[
                        ("__name__", "m"),
                        ("job", &format!("j{job}")),
                        ("instance", &format!("i{inst}")),
                    ]),
                    samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
                })
                .collect();
            let mut want: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
            for s in &series {
                want.entry(s.labels.clone()).or_default().extend(s.samples.iter().copied());
            }
            for v in want.values_mut() {
                v.sort_by_key(|s| s.t);
                v.dedup_by_key(|s| s.t);
            }
            want.retain(|_, v| !v.is_empty());
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (_dir, store) = local_store();
            let written = rt.block_on(write_block(&store, &tenant(), series, 0, vec![]));
            if want.is_empty() {
                let refused = matches!(written, Err(Error::EmptyBlock { .. }));
                prop_assert!(refused, "empty input must be refused");
                return Ok(());
            }
            let r = reader(&store, written.unwrap());
            let bits = |s: &[Sample]| s.iter().map(|s| (s.t, s.v.to_bits())).collect::<Vec<_>>();
            let all = rt.block_on(r.select(&[], i64::MIN, i64::MAX)).unwrap();
            prop_assert_eq!(all.len(), want.len());
            for s in &all {
                prop_assert_eq!(bits(&s.samples), bits(&want[&s.labels]));
            }
            let some = rt
                .block_on(r.select(&[Matcher::equal("job", "j1")], cut, i64::MAX))
                .unwrap();
            let expected: Vec<(&Labels, Vec<(i64, u64)>)> = want
                .iter()
                .filter(|(l, _)| l.get("job") == Some("j1"))
                .map(|(l, v)| {
                    let kept: Vec<Sample> = v.iter().copied().filter(|s| s.t >= cut).collect();
                    (l, bits(&kept))
                })
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let mut got: Vec<(&Labels, Vec<(i64, u64)>)> =
                some.iter().map(|s| (&s.labels, bits(&s.samples))).collect();
            got.sort_by(|a, b| a.0.cmp(b.0));
            prop_assert_eq!(got, expected);
        }
    }
}
