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

/// 10k series scraped every 15 s for 3 h: prints the head's bytes per series, overall and
/// per kind of value (the XOR codec's cost depends on how much the value bits change).
#[test]
fn head_bytes_per_series() {
    let head = Head::new(0);
    let th = head.tenant(&tenant());
    let n_series = 10_000;
    let start = 1_700_000_000_000i64;
    let mut series = Vec::with_capacity(n_series);
    for i in 0..n_series {
        let l = labels(&[
            (
                "__name__",
                ["http_requests_total", "node_cpu_seconds_total", "up"][i % 3],
            ),
            ("instance", &format!("10.0.{}.{}:9100", i / 250, i % 250)),
            ("job", "node"),
        ]);
        series.push(th.get_or_create(l.encoded(), || head.next_ref()).0);
    }
    let samples_per_series = 3 * 3600 / 15;
    for step in 0..samples_per_series {
        // Regular timestamps: Prometheus aligns scrape timestamps within a small tolerance.
        let t = start + step * 15_000;
        for (i, s) in series.iter().enumerate() {
            let v = match i % 3 {
                // Integer counters growing by irregular amounts.
                0 => (step * (i as i64 % 17 + 1) + (step * step) % 7) as f64,
                // A CPU-seconds style counter with fractions: high-entropy mantissas.
                1 => step as f64 * 14.87 + (i as f64) * 0.01,
                // A constant gauge.
                _ => 1.0,
            };
            s.data.lock().apply(t, v.to_bits());
        }
    }
    let per_kind: Vec<usize> = (0..3)
        .map(|kind| {
            let b: usize = series
                .iter()
                .skip(kind)
                .step_by(3)
                .map(|s| s.data.lock().heap_bytes())
                .sum();
            b / series.iter().skip(kind).step_by(3).count()
        })
        .collect();
    let bytes = th.heap_bytes();
    let per_series = bytes / n_series;
    println!(
        "head: {n_series} series x {samples_per_series} samples = {bytes} bytes: {per_series} bytes per series, {:.2} bytes per sample (all costs included)",
        bytes as f64 / (n_series as f64 * samples_per_series as f64)
    );
    println!(
        "sample bytes per series: integer counter {}, fractional counter {}, constant gauge {}; fixed per series {} + labels",
        per_kind[0],
        per_kind[1],
        per_kind[2],
        std::mem::size_of::<MemSeries>()
    );
    assert!(per_kind[2] < 512, "constant series: {} bytes", per_kind[2]);
    assert!(per_kind[0] < 3 * per_kind[1], "{per_kind:?}");
    assert!(per_series < 4096, "{per_series} bytes per series");
}
