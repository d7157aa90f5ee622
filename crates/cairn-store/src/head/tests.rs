//! Head tests: append semantics, stale markers, hash collisions, memory per series.

use cairn_model::{Labels, MatchOp, Matcher, STALE_NAN_BITS, Sample};

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn tenant() -> TenantId {
    TenantId::new("t").unwrap()
}

/// Validates then applies, as the append path does.
fn put(s: &MemSeries, t: i64, v: f64, min_valid: i64, window: i64) -> Result<(), RejectReason> {
    let mut d = s.data.lock();
    d.validate(t, v.to_bits(), min_valid, window)?;
    d.apply(t, v.to_bits());
    Ok(())
}

#[test]
fn duplicate_out_of_order_and_out_of_bounds() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let (s, created) = th.get_or_create(labels(&[("a", "1")]).encoded(), || head.next_ref());
    assert!(created);
    let min_valid = 1000;
    assert_eq!(put(&s, 2000, 1.0, min_valid, 0), Ok(()));
    // Same timestamp, same value: an idempotent retry.
    assert_eq!(put(&s, 2000, 1.0, min_valid, 0), Ok(()));
    assert_eq!(
        put(&s, 2000, 2.0, min_valid, 0),
        Err(RejectReason::Duplicate)
    );
    assert_eq!(
        put(&s, 1500, 1.0, min_valid, 0),
        Err(RejectReason::OutOfOrder)
    );
    assert_eq!(
        put(&s, 999, 1.0, min_valid, 0),
        Err(RejectReason::OutOfBounds)
    );
    assert_eq!(put(&s, 3000, 3.0, min_valid, 0), Ok(()));
    let mut out = Vec::new();
    s.data.lock().samples(i64::MIN, i64::MAX, &mut out);
    assert_eq!(out, vec![Sample::new(2000, 1.0), Sample::new(3000, 3.0)]);
}

#[test]
fn resent_old_sample_is_accepted_when_identical() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let (s, _) = th.get_or_create(labels(&[("a", "1")]).encoded(), || head.next_ref());
    for t in [1000, 2000, 3000] {
        assert_eq!(put(&s, t, t as f64, i64::MIN, 0), Ok(()));
    }
    // A sender retrying a batch whose answer it lost: same sample, older than the newest.
    assert_eq!(put(&s, 2000, 2000.0, i64::MIN, 0), Ok(()));
    assert_eq!(
        put(&s, 2000, 5.0, i64::MIN, 0),
        Err(RejectReason::OutOfOrder)
    );
    assert_eq!(
        put(&s, 2500, 1.0, i64::MIN, 0),
        Err(RejectReason::OutOfOrder)
    );
    let mut out = Vec::new();
    s.data.lock().collect(i64::MIN, i64::MAX, &mut out);
    assert_eq!(out.len(), 3);
}

#[test]
fn out_of_order_window_accepts_and_sorts() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let (s, _) = th.get_or_create(labels(&[("a", "1")]).encoded(), || head.next_ref());
    let w = 1000;
    for t in [5000, 4500, 4000, 4200] {
        assert_eq!(put(&s, t, t as f64, i64::MIN, w), Ok(()), "t={t}");
    }
    assert_eq!(put(&s, 4400, 1.0, i64::MIN, w), Ok(()), "inside the window");
    assert_eq!(
        put(&s, 4000, 7.0, i64::MIN, w),
        Err(RejectReason::Duplicate)
    );
    assert_eq!(put(&s, 4000, 4000.0, i64::MIN, w), Ok(()));
    assert_eq!(
        put(&s, 3999, 1.0, i64::MIN, w),
        Err(RejectReason::OutOfOrder)
    );
    assert_eq!(put(&s, 5500, 1.0, i64::MIN, w), Ok(()));
    let mut out = Vec::new();
    s.data.lock().collect(i64::MIN, i64::MAX, &mut out);
    let ts: Vec<i64> = out.iter().map(|x| x.0).collect();
    assert_eq!(ts, vec![4000, 4200, 4400, 4500, 5000, 5500]);
}

#[test]
fn stale_nan_keeps_its_bits() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let (s, _) = th.get_or_create(labels(&[("a", "1")]).encoded(), || head.next_ref());
    let stale = f64::from_bits(STALE_NAN_BITS);
    put(&s, 1, 1.0, i64::MIN, 0).unwrap();
    put(&s, 2, stale, i64::MIN, 0).unwrap();
    put(&s, 3, f64::NAN, i64::MIN, 0).unwrap();
    // A retried stale marker is the same sample, another NaN is not.
    assert_eq!(put(&s, 2, stale, i64::MIN, 10), Ok(()));
    assert_eq!(put(&s, 3, stale, i64::MIN, 0), Err(RejectReason::Duplicate));
    let got = th.select(&[], i64::MIN, i64::MAX);
    let bits: Vec<u64> = got[0].samples.iter().map(|x| x.v.to_bits()).collect();
    assert_eq!(
        bits,
        vec![1.0f64.to_bits(), STALE_NAN_BITS, f64::NAN.to_bits()]
    );
}

#[test]
fn hash_collisions_get_their_own_series() {
    let head = Head::with_hash_fn(0, |_| 42);
    let th = head.tenant(&tenant());
    let a = labels(&[("__name__", "a")]);
    let b = labels(&[("__name__", "b")]);
    let c = labels(&[("__name__", "c")]);
    let (sa, ca) = th.get_or_create(a.encoded(), || head.next_ref());
    let (sb, cb) = th.get_or_create(b.encoded(), || head.next_ref());
    let (sc, cc) = th.get_or_create(c.encoded(), || head.next_ref());
    assert!(ca && cb && cc);
    assert_ne!(sa.sref, sb.sref);
    assert_eq!(th.num_series(), 3);
    put(&sa, 1, 1.0, i64::MIN, 0).unwrap();
    put(&sb, 1, 2.0, i64::MIN, 0).unwrap();
    put(&sc, 1, 3.0, i64::MIN, 0).unwrap();
    // Lookups hit the right series.
    assert_eq!(th.get(b.encoded()).unwrap().sref, sb.sref);
    assert_eq!(th.get_or_create(c.encoded(), || 999).0.sref, sc.sref);
    let got = th.select(&[Matcher::equal("__name__", "b")], i64::MIN, i64::MAX);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].samples, vec![Sample::new(1, 2.0)]);
    // Removing the primary entry promotes a colliding one.
    sa.data.lock().drop_before(10);
    assert_eq!(th.gc(), 1);
    assert_eq!(th.num_series(), 2);
    assert!(th.get(a.encoded()).is_none());
    assert_eq!(th.get(b.encoded()).unwrap().sref, sb.sref);
    assert_eq!(th.get(c.encoded()).unwrap().sref, sc.sref);
    let all: Vec<Labels> = th.series_labels(&[], i64::MIN, i64::MAX);
    assert_eq!(all, vec![b, c]);
}

#[test]
fn select_filters_by_matchers_and_time() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    for job in ["x", "y"] {
        let (s, _) = th.get_or_create(
            labels(&[("__name__", "up"), ("job", job)]).encoded(),
            || head.next_ref(),
        );
        for t in 0..10 {
            put(&s, t * 10, t as f64, i64::MIN, 0).unwrap();
        }
    }
    let got = th.select(&[Matcher::equal("job", "y")], 20, 40);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels.get("job"), Some("y"));
    assert_eq!(got[0].samples.len(), 3);
    assert!(th.select(&[Matcher::equal("job", "z")], 0, 100).is_empty());
    let (other, _) = th.get_or_create(
        labels(&[("__name__", "down"), ("job", "x")]).encoded(),
        || head.next_ref(),
    );
    put(&other, 50, 1.0, i64::MIN, 0).unwrap();
    let re = |p: &str| Matcher::new(MatchOp::Regex, "__name__", p).unwrap();
    assert_eq!(th.select(&[re("up|down")], 0, 100).len(), 3);
    assert_eq!(th.select(&[re("do.*")], 0, 100).len(), 1);
    assert_eq!(
        th.select(&[Matcher::equal("__name__", "down")], 0, 100)
            .len(),
        1
    );
    let ne = Matcher::new(MatchOp::NotEqual, "__name__", "up").unwrap();
    assert_eq!(
        th.select(&[ne, Matcher::equal("job", "x")], 0, 100).len(),
        1
    );
    let sel = vec![vec![Matcher::equal("__name__", "up")], vec![re("up|down")]];
    assert_eq!(th.series_labels(&sel, 0, 100).len(), 3);
    assert_eq!(
        th.series_labels(&sel, 55, 56).len(),
        2,
        "span overlap, not exact samples"
    );
    assert!(th.select(&[], 1000, 2000).is_empty());
    assert_eq!(th.time_range(), Some((0, 90)));
}

/// A deterministic pseudo-random stream (splitmix64), so the measured figures are stable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Kinds of node_exporter-like series, with the value each produces at every scrape.
const KINDS: [&str; 5] = [
    "integer counter (+0..50)",
    "cpu seconds counter (+13.00..15.00)",
    "gauge, 2 decimals, random walk",
    "bytes gauge, 4 KiB pages, random walk",
    "constant gauge",
];

/// The value of series state `x` after one scrape of a series of `kind`.
fn next_value(kind: usize, x: &mut i64, rng: &mut Rng) -> f64 {
    match kind {
        0 => {
            *x += rng.range(0, 50);
            *x as f64
        }
        1 => {
            // Hundredths of a second, printed as decimal text and parsed back.
            *x += rng.range(1300, 1500);
            *x as f64 / 100.0
        }
        2 => {
            *x += rng.range(-40, 40);
            *x as f64 / 100.0
        }
        3 => {
            *x += rng.range(-300, 300);
            (*x * 4096) as f64
        }
        _ => 1.0,
    }
}

/// Fills a head with `n_series` series (the kinds in turn) scraped every 15 s for 3 h, the
/// most a head holds before a cut, and prints its bytes per sample and per series.
/// Returns the sample bytes per series of each kind and the all-in bytes per series.
fn measure_head(n_series: usize, jitter_ms: i64) -> (Vec<usize>, usize) {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let start = 1_700_000_000_000i64;
    let mut rng = Rng(jitter_ms as u64 + 7);
    let mut series = Vec::with_capacity(n_series);
    for i in 0..n_series {
        let kind = i % KINDS.len();
        let l = labels(&[
            ("__name__", &format!("node_metric_{kind}")),
            ("instance", &format!("10.0.{}.{}:9100", i / 250, i % 250)),
            ("job", "node"),
        ]);
        let s = th.get_or_create(l.encoded(), || head.next_ref()).0;
        let x = rng.range(0, 1 << 30);
        series.push((kind, x, s));
    }
    let samples_per_series = 3 * 3600 / 15;
    for step in 0..samples_per_series {
        for (kind, x, s) in series.iter_mut() {
            let v = next_value(*kind, x, &mut rng);
            let t = start + step * 15_000 + rng.range(-jitter_ms, jitter_ms);
            s.data.lock().apply(t, v.to_bits());
        }
    }
    let per_kind: Vec<usize> = (0..KINDS.len())
        .map(|kind| {
            let of_kind = series.iter().filter(|(k, _, _)| *k == kind);
            let b: usize = of_kind
                .clone()
                .map(|(_, _, s)| s.data.lock().heap_bytes())
                .sum();
            b / of_kind.count()
        })
        .collect();
    let bytes = th.heap_bytes();
    let per_series = bytes / n_series;
    println!(
        "head, +-{jitter_ms} ms jitter: {n_series} series x {samples_per_series} samples = {bytes} bytes: {per_series} bytes per series, {:.2} bytes per sample (all costs included; MemSeries {} bytes)",
        bytes as f64 / (n_series as f64 * samples_per_series as f64),
        std::mem::size_of::<MemSeries>(),
    );
    let mean_samples = per_kind.iter().sum::<usize>() / per_kind.len();
    println!(
        "  fixed per series (series struct, labels, index entry): {} bytes",
        per_series - mean_samples
    );
    for (kind, b) in KINDS.iter().zip(&per_kind) {
        println!(
            "  {kind}: {b} sample bytes per series, {:.2} bytes per sample",
            *b as f64 / samples_per_series as f64
        );
    }
    (per_kind, per_series)
}

/// 10k series scraped every 15 s for 3 h on aligned timestamps (Prometheus snaps scrape
/// timestamps within a small tolerance): bytes per series, overall and per kind.
#[test]
fn head_bytes_per_series() {
    let (per_kind, per_series) = measure_head(10_000, 0);
    // Regression bounds, well above the measured figures.
    assert!(per_kind[4] < 400, "constant gauge: {per_kind:?}");
    assert!(per_kind[0] < 1200, "integer counter: {per_kind:?}");
    assert!(per_kind[1] < 1400, "cpu seconds counter: {per_kind:?}");
    assert!(per_kind[2] < 1200, "decimal gauge: {per_kind:?}");
    assert!(per_kind[3] < 1600, "bytes gauge: {per_kind:?}");
    assert!(per_series < 1400, "{per_series} bytes per series");
}

/// The same with +-2 ms of scrape timestamp jitter, which costs every series a few bits per
/// sample whatever its values.
#[test]
fn head_bytes_per_series_with_jitter() {
    let (per_kind, per_series) = measure_head(5_000, 2);
    assert!(per_kind[4] < 800, "constant gauge: {per_kind:?}");
    assert!(per_series < 1800, "{per_series} bytes per series");
}
