//! Shared pieces of the end-to-end tests: the `TestServer` around the real binary, real peers
//! (Prometheus, an S3 server, a scrape target), a plain HTTP client and the remote write 1.0 /
//! remote read codec the tests speak.
//!
//! Each test file includes this module and uses a different part of it.
#![allow(dead_code)]

pub(crate) mod diff_target;
pub(crate) mod fluentbit;
pub(crate) mod http;
pub(crate) mod logs;
pub(crate) mod peers;
pub(crate) mod promql_diff;
pub(crate) mod promql_gen;
pub(crate) mod promql_queries;
pub(crate) mod proto;
pub(crate) mod server;

use std::time::{SystemTime, UNIX_EPOCH};

#[allow(unused_imports, reason = "each test file uses a different part")]
pub(crate) use proto::{LabelSet, MatchType, TimeSeries, labels};
pub(crate) use server::TestServer;

/// The bits of Prometheus' staleness marker.
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64
}

/// A small deterministic generator (splitmix64), so a failing run can be replayed by seed.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from `CAIRN_E2E_SEED` when set, from the clock otherwise; prints the seed.
    pub(crate) fn from_env(test: &str) -> Rng {
        let seed = std::env::var("CAIRN_E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("the clock is after 1970")
                    .as_nanos() as u64
            });
        eprintln!("{test}: seed {seed} (replay with CAIRN_E2E_SEED={seed})");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }

    /// A child generator, for a thread.
    pub(crate) fn fork(&mut self) -> Rng {
        Rng(self.next_u64())
    }
}

/// Samples as `(timestamp, value bits)`, the form in which tests compare them.
pub(crate) fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}
