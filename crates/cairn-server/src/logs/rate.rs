//! The per-tenant ingestion rate limit: a token bucket of bytes, as Loki's distributor keeps
//! one per tenant (`ingestion_rate` refilled per second, up to `ingestion_burst_size`).
//!
//! A push either fits whole or is refused whole (Loki's behaviour: a partial push would
//! leave the sender unsure what to retry).

use std::collections::HashMap;
use std::time::Instant;

use cairn_model::TenantId;
use parking_lot::Mutex;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by tenant.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    /// Takes `bytes` from `tenant`'s bucket at `now` when they fit; false (nothing taken)
    /// otherwise. `rate` and `burst` are read at every call so that a reload applies at once.
    pub(crate) fn allow(
        &self,
        tenant: &TenantId,
        bytes: u64,
        rate: u64,
        burst: u64,
        now: Instant,
    ) -> bool {
        let mut buckets = self.buckets.lock();
        let b = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: burst as f64,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate as f64).min(burst as f64);
        b.at = now;
        if bytes as f64 <= b.tokens {
            b.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_refill_and_tenants_are_apart() {
        let l = RateLimiter::default();
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        let t0 = Instant::now();
        assert!(l.allow(&a, 600, 100, 1000, t0));
        assert!(l.allow(&a, 400, 100, 1000, t0));
        assert!(!l.allow(&a, 1, 100, 1000, t0), "the burst is used up");
        assert!(
            l.allow(&b, 1000, 100, 1000, t0),
            "another tenant has its own bucket"
        );
        // Half a second later 50 bytes are back, not more.
        let t1 = t0 + Duration::from_millis(500);
        assert!(!l.allow(&a, 60, 100, 1000, t1));
        assert!(l.allow(&a, 50, 100, 1000, t1));
        // A push larger than the burst never fits.
        let t2 = t1 + Duration::from_secs(3600);
        assert!(!l.allow(&a, 1001, 100, 1000, t2));
        assert!(l.allow(&a, 1000, 100, 1000, t2));
    }
}
