//! How one series' value moves from one scrape to the next.
//!
//! Counters and gauges move in integer ticks of their natural unit (0.01 s of CPU, one byte,
//! one kB page, 512-byte sectors) and are turned into a float only when read, so values carry
//! exactly the precision node_exporter's do and never accumulate float error.

use crate::rng::Rng;

/// How ticks turn into the exported value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scale {
    /// value = ticks * unit (bytes, kB, sectors: exact in f64).
    Unit(f64),
    /// value = ticks / divisor (0.01 s as divisor 100, 1 ms as 1000): the nearest f64 to the
    /// decimal, which is what parsing node_exporter's text output gives.
    Decimal(f64),
}

impl Scale {
    fn apply(self, ticks: f64) -> f64 {
        match self {
            Scale::Unit(u) => ticks * u,
            Scale::Decimal(d) => ticks / d,
        }
    }
}

/// The value process of one series.
#[derive(Debug, Clone)]
pub(crate) enum Model {
    /// Never changes (sizes, info metrics, `up`).
    Const(f64),
    /// Monotonic: with probability `p_change` per scrape it grows by about `mean_ticks`.
    Counter {
        ticks: u64,
        mean_ticks: f64,
        p_change: f64,
        scale: Scale,
    },
    /// Random walk between bounds, moving with probability `p_change` per scrape.
    Gauge {
        ticks: i64,
        min: i64,
        max: i64,
        sd_ticks: f64,
        p_change: f64,
        scale: Scale,
    },
    /// A fresh draw every scrape (durations, clock offsets); `divisor` rounds to a decimal
    /// precision, `None` keeps full f64 precision like Go's float formatting does.
    Noise {
        mean: f64,
        sd: f64,
        min: f64,
        divisor: Option<f64>,
    },
    /// The exporter's clock in seconds (`node_time_seconds`): the scrape time plus a few
    /// nanoseconds of jitter, full precision.
    Wallclock,
    /// Cumulative count of bucket `bucket` of histogram group `group`.
    HistBucket { group: u32, bucket: u16 },
    /// `_sum` of histogram group `group`.
    HistSum { group: u32 },
    /// `_count` of histogram group `group`.
    HistCount { group: u32 },
}

/// Stochastic rounding keeps small means (0.3 ticks per scrape) right on average.
fn round_stochastic(x: f64, rng: &mut Rng) -> u64 {
    if x <= 0.0 {
        return 0;
    }
    let floor = x.floor();
    floor as u64 + u64::from(rng.chance(x - floor))
}

impl Model {
    /// A counter starting at `start_ticks` that grows by `per_second` ticks on average.
    pub(crate) fn counter(
        start_ticks: f64,
        per_second: f64,
        interval_s: f64,
        scale: Scale,
    ) -> Self {
        Model::Counter {
            ticks: start_ticks.max(0.0) as u64,
            mean_ticks: per_second * interval_s,
            p_change: 1.0,
            scale,
        }
    }

    /// A counter that rarely moves (errors, drops, major faults).
    pub(crate) fn rare_counter(start_ticks: u64, p_change: f64, mean_ticks: f64) -> Self {
        Model::Counter {
            ticks: start_ticks,
            mean_ticks,
            p_change,
            scale: Scale::Unit(1.0),
        }
    }

    /// A gauge starting at `start`, moving by `sd` ticks, kept in [min, max].
    pub(crate) fn gauge(
        start: i64,
        min: i64,
        max: i64,
        sd: f64,
        p_change: f64,
        scale: Scale,
    ) -> Self {
        Model::Gauge {
            ticks: start.clamp(min, max),
            min,
            max,
            sd_ticks: sd,
            p_change,
            scale,
        }
    }

    /// Advances one scrape and returns the value at scrape time `ts_ms`.
    pub(crate) fn step(&mut self, rng: &mut Rng, ts_ms: i64, groups: &[HistGroup]) -> f64 {
        match self {
            Model::Const(v) => *v,
            Model::Counter {
                ticks,
                mean_ticks,
                p_change,
                scale,
            } => {
                if *p_change >= 1.0 || rng.chance(*p_change) {
                    let inc = *mean_ticks * (0.5 + rng.f64());
                    *ticks = ticks.saturating_add(round_stochastic(inc, rng));
                }
                scale.apply(*ticks as f64)
            }
            Model::Gauge {
                ticks,
                min,
                max,
                sd_ticks,
                p_change,
                scale,
            } => {
                if rng.chance(*p_change) {
                    let delta = (rng.normal() * *sd_ticks).round() as i64;
                    let mut next = ticks.saturating_add(delta);
                    // Reflect at the bounds instead of sticking to them.
                    if next > *max {
                        next = (*max).saturating_sub(next - *max).max(*min);
                    } else if next < *min {
                        next = (*min).saturating_add(*min - next).min(*max);
                    }
                    *ticks = next;
                }
                scale.apply(*ticks as f64)
            }
            Model::Noise {
                mean,
                sd,
                min,
                divisor,
            } => {
                let x = (*mean + rng.normal() * *sd).max(*min);
                match divisor {
                    Some(d) => (x * *d).round() / *d,
                    None => x,
                }
            }
            Model::Wallclock => {
                let jitter_ns = rng.below(2_000_000) as f64;
                (ts_ms as f64 * 1e6 + jitter_ns) / 1e9
            }
            Model::HistBucket { group, bucket } => {
                groups[*group as usize].cumulative[*bucket as usize] as f64
            }
            Model::HistSum { group } => groups[*group as usize].sum,
            Model::HistCount { group } => {
                let g = &groups[*group as usize];
                g.cumulative.last().copied().unwrap_or(0) as f64
            }
        }
    }
}

/// The shared state of one classic histogram: its `_bucket`, `_sum` and `_count` series read
/// from it, so buckets stay cumulative across `le` and `_count` equals the `+Inf` bucket.
#[derive(Debug, Clone)]
pub(crate) struct HistGroup {
    bounds: &'static [f64],
    counts: Vec<u64>,
    cumulative: Vec<u64>,
    sum: f64,
    mean_obs: f64,
    log_mu: f64,
    log_sigma: f64,
}

impl HistGroup {
    /// A latency histogram with `per_second` observations, log-normal around `median` seconds.
    pub(crate) fn new(
        bounds: &'static [f64],
        per_second: f64,
        interval_s: f64,
        median: f64,
        log_sigma: f64,
    ) -> Self {
        HistGroup {
            bounds,
            counts: vec![0; bounds.len() + 1],
            cumulative: vec![0; bounds.len() + 1],
            sum: 0.0,
            mean_obs: per_second * interval_s,
            log_mu: median.ln(),
            log_sigma,
        }
    }

    /// The number of `le` buckets including `+Inf`.
    pub(crate) fn bucket_count(&self) -> usize {
        self.bounds.len() + 1
    }

    /// Draws this scrape's observations.
    pub(crate) fn advance(&mut self, rng: &mut Rng) {
        let n = round_stochastic(self.mean_obs * (0.5 + rng.f64()), rng);
        for _ in 0..n {
            let x = (self.log_mu + self.log_sigma * rng.normal()).exp();
            let idx = self.bounds.partition_point(|b| *b < x);
            self.counts[idx] += 1;
            self.sum += x;
        }
        let mut acc = 0;
        for (c, cum) in self.counts.iter().zip(self.cumulative.iter_mut()) {
            acc += c;
            *cum = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_is_monotonic_and_keeps_decimal_precision() {
        let mut rng = Rng::new(1);
        let mut m = Model::counter(123_456.0, 0.37 * 100.0, 15.0, Scale::Decimal(100.0));
        let mut prev = f64::MIN;
        for i in 0..500 {
            let v = m.step(&mut rng, i * 15_000, &[]);
            assert!(v >= prev, "counter went down: {prev} -> {v}");
            assert_eq!((v * 100.0).round() / 100.0, v, "{v} is not a 0.01 multiple");
            prev = v;
        }
        assert!(prev > 1234.56 + 400.0, "counter barely moved: {prev}");
    }

    #[test]
    fn gauge_stays_in_bounds_and_in_units() {
        let mut rng = Rng::new(2);
        let mut m = Model::gauge(50, 0, 100, 30.0, 1.0, Scale::Unit(4096.0));
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..1000 {
            let v = m.step(&mut rng, i, &[]);
            assert!((0.0..=100.0 * 4096.0).contains(&v), "{v} out of bounds");
            assert_eq!(v % 4096.0, 0.0);
            distinct.insert(v as u64);
        }
        assert!(
            distinct.len() > 20,
            "gauge hardly walks: {}",
            distinct.len()
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_count_is_inf_bucket() {
        static BOUNDS: [f64; 4] = [0.01, 0.1, 1.0, 10.0];
        let mut rng = Rng::new(3);
        let mut groups = vec![HistGroup::new(&BOUNDS, 5.0, 15.0, 0.08, 1.2)];
        let mut buckets: Vec<Model> = (0..5)
            .map(|b| Model::HistBucket {
                group: 0,
                bucket: b,
            })
            .collect();
        let mut count = Model::HistCount { group: 0 };
        let mut sum = Model::HistSum { group: 0 };
        let mut prev_count = 0.0;
        let mut prev_sum = 0.0;
        for i in 0..200 {
            groups[0].advance(&mut rng);
            let vals: Vec<f64> = buckets
                .iter_mut()
                .map(|m| m.step(&mut rng, i, &groups))
                .collect();
            assert!(
                vals.windows(2).all(|w| w[0] <= w[1]),
                "not cumulative: {vals:?}"
            );
            let c = count.step(&mut rng, i, &groups);
            assert_eq!(c, vals[4]);
            assert!(c >= prev_count);
            let s = sum.step(&mut rng, i, &groups);
            assert!(s >= prev_sum);
            prev_count = c;
            prev_sum = s;
        }
        assert!(prev_count > 10_000.0 && prev_sum > 0.0);
    }
}
