//! The random values every format shares: client and pod addresses, ids with realistic
//! popularity (a few users, products and clients account for most lines), statuses with their
//! tails, latencies and sizes from log-normal distributions, and URL paths from templates.

use super::text::{push_hex, push_u64, push_u64_pad};
use super::vocab;
use crate::rng::Rng;

/// Picks from `(item, weight)` pairs.
pub(crate) fn weighted<'a, T>(rng: &mut Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut x = rng.index_uncounted(u64::from(total.max(1))) as u32;
    for (item, w) in items {
        if x < *w {
            rng.note_p(f64::from(*w) / f64::from(total));
            return item;
        }
        x -= *w;
    }
    &items[items.len() - 1].0
}

/// Picks uniformly.
pub(crate) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.index(items.len() as u64) as usize]
}

/// Log-uniform in `[0, n)`: rank k is drawn with probability about 1/k (Zipf's law with
/// exponent 1), the popularity curve of search terms, pages and counts.
pub(crate) fn zipf(rng: &mut Rng, n: u64) -> u64 {
    skewed(rng, n, 1)
}

/// Zipf's law with its head flattened: rank k with probability about 1/(k + k0). With k0
/// of a few hundred no single user or product dominates, yet the popular ones recur.
pub(crate) fn skewed(rng: &mut Rng, n: u64, k0: u64) -> u64 {
    let k0 = k0.max(1) as f64;
    let span = ((n as f64 + k0) / k0).ln();
    let x = k0 * (span * rng.f64()).exp() - k0;
    let k = (x as u64).min(n.saturating_sub(1));
    if rng.tracking() {
        // x is log-uniform over [k0, n + k0) shifted by k0: rank k takes the share
        // ln((k + 1 + k0) / (k + k0)) of the span.
        let kf = k as f64;
        rng.note_p(((kf + 1.0 + k0) / (kf + k0)).ln() / span);
    }
    k
}

/// Maps popularity rank `rank` of `n` to an id in `[0, n)` scattered over the range, so that
/// popular ids do not all sit at the bottom (`n` must not be a multiple of the prime).
fn scatter(rank: u64, n: u64) -> u64 {
    ((u128::from(rank) * 2_654_435_761) % u128::from(n.max(1))) as u64
}

/// Acklam's rational approximation of the standard normal quantile (relative error below
/// 1.2e-9), used once to build the table below.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

const QUANTILES: usize = 4096;

fn quantile_table() -> &'static [f64; QUANTILES + 1] {
    static TABLE: std::sync::OnceLock<Box<[f64; QUANTILES + 1]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0.0; QUANTILES + 1]);
        for (i, v) in t.iter_mut().enumerate() {
            let p = (i as f64 + 0.5) / (QUANTILES as f64 + 1.0);
            *v = normal_quantile(p);
        }
        t
    })
}

/// A standard normal draw by inverse transform over a quantile table (tails cut at about
/// 3.6 sigma): four times cheaper than Box-Muller, and the generator draws several per line.
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    let t = quantile_table();
    let x = rng.bits_u64();
    let i = (x >> 52) as usize;
    let frac = (x & ((1 << 52) - 1)) as f64 * (1.0 / (1u64 << 52) as f64);
    t[i] + (t[i + 1] - t[i]) * frac
}

/// Log-normal with the given median and shape (not counted: the caller says how it is
/// shown with [`note_lognormal`]).
pub(crate) fn lognormal(rng: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// How a line shows a continuous value, which decides how much of it the line carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shown {
    /// Not written at all.
    Hidden,
    /// Rounded to the nearest multiple of the unit.
    Round(f64),
    /// Rounded down to a multiple of the unit.
    Floor(f64),
}

impl Shown {
    /// The interval of values that are shown as `x` is.
    fn bucket(self, x: f64) -> Option<(f64, f64)> {
        match self {
            Shown::Hidden => None,
            Shown::Round(u) => {
                let c = (x / u).round() * u;
                Some((c - u / 2.0, c + u / 2.0))
            }
            Shown::Floor(u) => {
                let lo = (x / u).floor() * u;
                Some((lo, lo + u))
            }
        }
    }
}

/// The standard normal distribution function, from the complementary error function of
/// Numerical Recipes (`erfcc`, relative error below 1.2e-7 everywhere).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { y } else { 2.0 - y };
    erfc / 2.0
}

/// Probability that log-normal(median, sigma) falls in `[lo, hi)`.
fn lognormal_mass(median: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    if sigma <= 0.0 {
        // A point mass (health checks have a fixed size): shown, it carries nothing.
        return if (lo..hi).contains(&median) { 1.0 } else { 0.0 };
    }
    let cdf = |v: f64| {
        if v <= 0.0 {
            0.0
        } else {
            normal_cdf((v / median).ln() / sigma)
        }
    };
    cdf(hi) - cdf(lo)
}

/// Counts what a line shows of `x`, drawn from log-normal(median, sigma).
pub(crate) fn note_lognormal(rng: &mut Rng, x: f64, median: f64, sigma: f64, shown: Shown) {
    if !rng.tracking() {
        return;
    }
    if let Some((lo, hi)) = shown.bucket(x) {
        rng.note_p(lognormal_mass(median, sigma, lo, hi));
    }
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// First octets of busy public /8 networks (no private, loopback or reserved ranges).
const PUBLIC_OCTETS: [u8; 32] = [
    24, 31, 37, 45, 46, 62, 66, 73, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94,
    95, 98, 109, 151, 176, 178, 185, 212,
];

/// A client address: 300k distinct addresses per cluster, a few of them (NATs, bots) very
/// frequent.
pub(crate) fn push_client_ip(out: &mut Vec<u8>, rng: &mut Rng, salt: u64) {
    let idx = skewed(rng, 300_000, 4);
    let h = mix(idx ^ salt.rotate_left(17));
    push_u64(out, u64::from(PUBLIC_OCTETS[(h % 32) as usize]));
    for shift in [8, 16, 24] {
        out.push(b'.');
        push_u64(out, (h >> shift) & 0xff);
    }
}

/// A pod address in cluster `cluster`'s pod network (`10.<16 + cluster>.x.y`), one of `pool`
/// addresses chosen by `key`.
pub(crate) fn push_pod_ip(out: &mut Vec<u8>, cluster: u32, key: u64, pool: u64) {
    let h = mix((key % pool.max(1)) ^ 0x51ed);
    out.extend_from_slice(b"10.");
    push_u64(out, u64::from(16 + cluster));
    out.push(b'.');
    push_u64(out, (h >> 8) % 64);
    out.push(b'.');
    push_u64(out, 2 + (h >> 16) % 250);
}

/// `u_<n>`: two million users, skewed.
pub(crate) fn push_user_id(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(b"u_");
    push_u64(
        out,
        100_000 + scatter(skewed(rng, 2_000_000, 300), 2_000_000),
    );
}

/// A W3C trace id (32 hex).
pub(crate) fn push_trace_id(out: &mut Vec<u8>, rng: &mut Rng) {
    push_hex(out, rng.next_u64(), 16);
    push_hex(out, rng.next_u64(), 16);
}

/// A span id (16 hex).
pub(crate) fn push_span_id(out: &mut Vec<u8>, rng: &mut Rng) {
    push_hex(out, rng.next_u64(), 16);
}

/// A version-4 UUID.
pub(crate) fn push_uuid(out: &mut Vec<u8>, rng: &mut Rng) {
    let a = rng.bits_u64();
    let b = rng.bits_u64();
    // 32 + 16 + 12 bits of `a`, 2 + 12 + 48 of `b`.
    rng.note(122.0);
    push_hex(out, a >> 32, 8);
    out.push(b'-');
    push_hex(out, a >> 16, 4);
    out.extend_from_slice(b"-4");
    push_hex(out, a, 3);
    out.push(b'-');
    push_hex(out, 0x8 | (b >> 62), 1);
    push_hex(out, b >> 48, 3);
    out.push(b'-');
    push_hex(out, b, 12);
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `ord_<14 base36>`: every order id is new.
pub(crate) fn push_order_id(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(b"ord_");
    let mut v = rng.bits_u64();
    // Twelve base-36 digits of 64 bits: 36^12 is below 2^64, and nearly uniform.
    rng.note(12.0 * 36f64.log2());
    for _ in 0..12 {
        out.push(BASE36[(v % 36) as usize]);
        v /= 36;
    }
}

/// `SKU-<6 digits>`: 60k products, skewed.
pub(crate) fn push_sku(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(b"SKU-");
    push_u64_pad(out, 100_000 + scatter(skewed(rng, 60_000, 30), 60_000), 6);
}

/// An amount in cents, log-normal around 49.90.
pub(crate) fn amount_cents(rng: &mut Rng) -> u64 {
    let x = lognormal(rng, 4990.0, 0.9);
    note_lognormal(rng, x, 4990.0, 0.9, Shown::Floor(1.0));
    (x as u64).max(99)
}

/// What kind of endpoint a request hits, which decides its status mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// HTML pages.
    Page,
    /// JSON API calls.
    Api,
    /// Static files (cacheable: 304s).
    Static,
    /// Liveness and readiness probes, metrics scrapes.
    Health,
}

const PAGE_STATUS: &[(u16, u32)] = &[
    (200, 9_150),
    (301, 180),
    (302, 160),
    (304, 120),
    (404, 290),
    (403, 20),
    (499, 30),
    (500, 25),
    (502, 10),
    (503, 10),
    (504, 5),
];
const API_STATUS: &[(u16, u32)] = &[
    (200, 8_900),
    (201, 310),
    (204, 120),
    (400, 210),
    (401, 150),
    (403, 40),
    (404, 120),
    (409, 30),
    (422, 40),
    (429, 25),
    (499, 15),
    (500, 22),
    (502, 8),
    (503, 8),
    (504, 2),
];
const STATIC_STATUS: &[(u16, u32)] = &[(200, 8_300), (304, 1_500), (404, 180), (206, 20)];
const STRESS_STATUS: &[(u16, u32)] = &[(500, 25), (502, 20), (503, 45), (504, 10)];

/// A status for a request of `kind`; under `stress` (0 calm, 1 a full incident) up to 35 %
/// of requests fail with a 5xx.
pub(crate) fn status(rng: &mut Rng, kind: Kind, stress: f32) -> u16 {
    if stress > 0.0 && rng.chance(0.35 * f64::from(stress)) {
        return *weighted(rng, STRESS_STATUS);
    }
    match kind {
        Kind::Page => *weighted(rng, PAGE_STATUS),
        Kind::Api => *weighted(rng, API_STATUS),
        Kind::Static => *weighted(rng, STATIC_STATUS),
        Kind::Health => {
            if rng.chance(0.0005) {
                503
            } else {
                200
            }
        }
    }
}

/// A request latency in milliseconds for an endpoint with median `median_ms`: log-normal,
/// slower and more spread under stress, failures either fast (refused) or at a timeout.
/// `shown` is how the line writes it (counted as the probability of what it shows).
pub(crate) fn latency_ms(
    rng: &mut Rng,
    median_ms: f64,
    status: u16,
    stress: f32,
    shown: Shown,
) -> f64 {
    let s = f64::from(stress);
    let (median, sigma) = (median_ms * (1.0 + 4.0 * s), 0.55 + 0.3 * s);
    let base = lognormal(rng, median, sigma);
    // Uncounted coin: what the line shows is counted below, from the whole mixture.
    let fast = matches!(status, 502 | 503) && rng.f64() < 0.5;
    let ms = match status {
        504 => 30_000.0 + rng.f64() * 50.0,
        502 | 503 if fast => 0.4 + rng.f64() * 3.0,
        _ => base,
    };
    if rng.tracking()
        && let Some((lo, hi)) = shown.bucket(ms)
    {
        let uniform = |a: f64, w: f64| ((hi.min(a + w) - lo.max(a)) / w).max(0.0);
        let p = match status {
            504 => uniform(30_000.0, 50.0),
            502 | 503 => 0.5 * uniform(0.4, 3.0) + 0.5 * lognormal_mass(median, sigma, lo, hi),
            _ => lognormal_mass(median, sigma, lo, hi),
        };
        rng.note_p(p);
    }
    ms
}

/// Expands a path template: `{id}` product id, `{user}`, `{order}`, `{sku}`, `{uuid}`,
/// `{slug}` category, `{page}`, `{term}` search term, `{asset}` static file, `{n}` small
/// number. Other text is copied.
pub(crate) fn push_path(out: &mut Vec<u8>, rng: &mut Rng, template: &str) {
    let t = template.as_bytes();
    let mut i = 0;
    while i < t.len() {
        if t[i] == b'{'
            && let Some(len) = t[i..].iter().position(|&b| b == b'}')
        {
            push_placeholder(out, rng, &t[i + 1..i + len]);
            i += len + 1;
            continue;
        }
        out.push(t[i]);
        i += 1;
    }
}

fn push_placeholder(out: &mut Vec<u8>, rng: &mut Rng, name: &[u8]) {
    match name {
        b"id" => push_u64(out, 1_000 + scatter(skewed(rng, 200_000, 30), 200_000)),
        b"user" => push_user_id(out, rng),
        b"order" => push_order_id(out, rng),
        b"sku" => push_sku(out, rng),
        b"uuid" => push_uuid(out, rng),
        b"slug" => out.extend_from_slice(pick(rng, vocab::CATEGORIES).as_bytes()),
        b"page" => push_u64(out, 1 + zipf(rng, 40)),
        b"term" => {
            let i = zipf(rng, vocab::SEARCH_TERMS.len() as u64) as usize;
            out.extend_from_slice(vocab::SEARCH_TERMS[i].as_bytes());
        }
        b"asset" => {
            let i = zipf(rng, vocab::ASSETS.len() as u64) as usize;
            out.extend_from_slice(vocab::ASSETS[i].as_bytes());
        }
        b"n" => push_u64(out, 1 + rng.index(20)),
        other => out.extend_from_slice(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let mut r = Rng::new(5);
        let n = 1_000;
        let draws: Vec<u64> = (0..50_000).map(|_| zipf(&mut r, n)).collect();
        assert!(draws.iter().all(|&x| x < n));
        let top10 = draws.iter().filter(|&&x| x < 10).count() as f64 / draws.len() as f64;
        // ln(11)/ln(1001) = 0.347 of the mass on the first ten ranks.
        assert!((top10 - 0.347).abs() < 0.02, "top-10 share {top10}");
    }

    #[test]
    fn table_normal_has_normal_moments_and_quantiles() {
        let mut r = Rng::new(11);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        // P(Z < 1.6449) = 0.95.
        let below = xs.iter().filter(|&&x| x < 1.644_853_6).count() as f64 / n as f64;
        assert!((below - 0.95).abs() < 0.003, "P(Z < 1.645) = {below}");
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-5);
    }

    #[test]
    fn skew_flattens_the_head_and_scatter_is_a_permutation() {
        let mut r = Rng::new(6);
        let n = 2_000_000;
        let draws: Vec<u64> = (0..100_000).map(|_| skewed(&mut r, n, 300)).collect();
        assert!(draws.iter().all(|&x| x < n));
        let top = draws.iter().filter(|&&x| x == 0).count() as f64 / 1e5;
        // ln(301/300) / ln(2000300/300) = 0.00038.
        assert!(top < 0.001, "rank 0 share {top}");
        let head = draws.iter().filter(|&&x| x < 3_000).count() as f64 / 1e5;
        // ln(3300/300) / ln(2000300/300) = 0.27.
        assert!((head - 0.27).abs() < 0.02, "top 3000 share {head}");
        let ids: std::collections::HashSet<u64> = (0..60_000).map(|k| scatter(k, 60_000)).collect();
        assert_eq!(ids.len(), 60_000);
    }

    #[test]
    fn statuses_are_mostly_200_with_tails() {
        let mut r = Rng::new(9);
        let calm: Vec<u16> = (0..100_000)
            .map(|_| status(&mut r, Kind::Page, 0.0))
            .collect();
        let ok = calm.iter().filter(|&&s| s == 200).count() as f64 / 1e5;
        let s5 = calm.iter().filter(|&&s| s >= 500).count() as f64 / 1e5;
        assert!((ok - 0.915).abs() < 0.01, "200 share {ok}");
        assert!(s5 > 0.002 && s5 < 0.008, "5xx share {s5}");
        let stressed = (0..100_000)
            .filter(|_| status(&mut r, Kind::Api, 1.0) >= 500)
            .count() as f64
            / 1e5;
        assert!(stressed > 0.3, "5xx share under stress {stressed}");
    }

    #[test]
    fn paths_expand_every_placeholder() {
        let mut r = Rng::new(1);
        let mut out = Vec::new();
        push_path(
            &mut out,
            &mut r,
            "/p/{id}/{user}/{order}/{sku}/{uuid}/{slug}?page={page}&q={term}&x={n}{asset}",
        );
        let s = String::from_utf8(out).expect("ascii");
        assert!(!s.contains('{') && !s.contains('}'), "{s}");
        assert!(s.starts_with("/p/"));
        let re = regex::Regex::new(
            r"^/p/\d+/u_\d+/ord_[0-9a-z]{12}/SKU-\d{6}/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/[a-z-]+\?page=\d+&q=[a-z+-]+&x=\d+/",
        )
        .expect("regex");
        assert!(re.is_match(&s), "{s}");
    }

    #[test]
    fn addresses_are_well_formed() {
        let mut r = Rng::new(2);
        for _ in 0..1000 {
            let mut out = Vec::new();
            push_client_ip(&mut out, &mut r, 7);
            let s = String::from_utf8(out).expect("ascii");
            let parts: Vec<u32> = s.split('.').map(|p| p.parse().expect("octet")).collect();
            assert_eq!(parts.len(), 4);
            assert!(parts.iter().all(|&p| p < 256));
            assert_ne!(parts[0], 10);
        }
        let mut out = Vec::new();
        push_pod_ip(&mut out, 1, 12_345, 40);
        assert!(String::from_utf8(out).expect("ascii").starts_with("10.17."));
    }
}

#[cfg(test)]
mod info_tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        for (z, p) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.96, 0.024_997_895),
            (3.0, 0.998_650_102),
            (-5.0, 2.866_515_7e-7),
        ] {
            let got = normal_cdf(z);
            assert!(((got - p) / p).abs() < 1e-6, "Phi({z}) = {got}, want {p}");
        }
    }

    #[test]
    fn bucket_masses_sum_to_one() {
        let total: f64 = (0..200_000)
            .map(|i| lognormal_mass(160.0, 0.3, f64::from(i), f64::from(i + 1)))
            .sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        let span = (300_004.0f64 / 4.0).ln();
        let total: f64 = (0..300_000u32)
            .map(|k| ((f64::from(k) + 5.0) / (f64::from(k) + 4.0)).ln() / span)
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn draws_count_what_they_show() {
        let mut r = Rng::new(3);
        r.track();
        let mut out = Vec::new();
        push_trace_id(&mut out, &mut r);
        assert_eq!(r.info_bits(), 128.0);
        r.track();
        let n = 20_000;
        for _ in 0..n {
            weighted(&mut r, &[("a", 1), ("b", 1), ("c", 2)]);
        }
        // Entropy of (1/4, 1/4, 1/2): 1.5 bits.
        let mean = r.info_bits() / f64::from(n);
        assert!((mean - 1.5).abs() < 0.02, "{mean}");
        r.track();
        for _ in 0..n {
            let x = lognormal(&mut r, 1000.0, 0.5);
            note_lognormal(&mut r, x, 1000.0, 0.5, Shown::Floor(1.0));
        }
        // Differential entropy of log-normal(m, s) in bits: log2(m s sqrt(2 pi e)).
        let want =
            (1000.0 * 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E).sqrt()).log2();
        let mean = r.info_bits() / f64::from(n);
        assert!((mean - want).abs() < 0.05, "{mean} vs {want}");
        let mut quiet = Rng::new(3);
        quiet.note(5.0);
        assert_eq!(quiet.info_bits(), 0.0);
    }
}
