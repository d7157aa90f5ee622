//! The whole fleet: every series, their values step after step, and the request chunks.
//!
//! Values are produced step-major (every series at step s, then every series at s+1) by one
//! generator, so the data is the same whatever the number of connections or the batch size;
//! histogram series of one host read one shared state, so they stay consistent.

use std::ops::Range;

use cairn_model::Sample;
use cairn_wire::encode::OwnedSeries;

use crate::model::{HistGroup, Model};
use crate::node::{HostBuilder, SeriesDef};
use crate::rng::Rng;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadSpec {
    /// Number of series, exactly.
    pub series: usize,
    /// Seed of every random choice (hosts, their shapes, values).
    pub seed: u64,
    /// Scrape interval in milliseconds.
    pub interval_ms: i64,
    /// Timestamp of the first scrape round in milliseconds (each host adds its own offset).
    pub start_ms: i64,
}

/// Every series of the fleet and the state of their values.
#[derive(Debug)]
pub struct Workload {
    spec: WorkloadSpec,
    series: Vec<SeriesDef>,
    models: Vec<Model>,
    groups: Vec<HistGroup>,
    host_offsets: Vec<i64>,
    rng: Rng,
    next_step: u64,
}

/// The values of every series for `steps` consecutive scrape rounds.
#[derive(Debug, Clone)]
pub struct Round {
    /// Index of the first step (0 is the scrape at `start_ms`).
    pub first_step: u64,
    /// Number of steps.
    pub steps: usize,
    /// `values[k * series + i]` is series `i` at step `first_step + k`.
    pub values: Vec<f64>,
}

/// A batch of consecutive series sent together, with their labels built once.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Which series of the workload.
    pub range: Range<usize>,
    /// The series as they are encoded; samples are refilled every round.
    pub series: Vec<OwnedSeries>,
    offsets: Vec<i64>,
}

/// The `instance` label of host `h`, e.g. `10.0.0.1:9100` for host 0.
pub fn instance_of(host: u32) -> String {
    format!(
        "10.{}.{}.{}:9100",
        host / 62_500,
        host / 250 % 250,
        host % 250 + 1
    )
}

impl Workload {
    /// Builds the fleet: hosts are added until `spec.series` series exist.
    pub fn new(spec: WorkloadSpec) -> Self {
        let mut series = Vec::with_capacity(spec.series);
        let mut models = Vec::with_capacity(spec.series);
        let mut groups = Vec::new();
        let mut host_offsets = Vec::new();
        let mut shape_rng = Rng::derive(spec.seed, 1);
        let interval_s = spec.interval_ms as f64 / 1000.0;
        let now_s = spec.start_ms as f64 / 1000.0;
        let mut host = 0u32;
        while series.len() < spec.series {
            // Scrape offsets spread targets over the interval, as Prometheus does.
            let interval = u64::try_from(spec.interval_ms.max(1)).unwrap_or(1);
            host_offsets.push(shape_rng.below(interval) as i64);
            HostBuilder {
                host,
                instance: instance_of(host),
                interval_s,
                limit: spec.series,
                series: &mut series,
                models: &mut models,
                groups: &mut groups,
                rng: &mut shape_rng,
            }
            .build(now_s);
            host += 1;
        }
        Workload {
            spec,
            series,
            models,
            groups,
            host_offsets,
            rng: Rng::derive(spec.seed, 2),
            next_step: 0,
        }
    }

    /// The number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there is no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The number of hosts.
    pub fn hosts(&self) -> usize {
        self.host_offsets.len()
    }

    /// The sorted labels of series `i`.
    pub fn labels(&self, i: usize) -> &[(String, String)] {
        &self.series[i].labels
    }

    /// The timestamp of series `i` at step `step`.
    pub fn timestamp(&self, i: usize, step: u64) -> i64 {
        let offset = self.host_offsets[self.series[i].host as usize];
        self.spec.start_ms + step as i64 * self.spec.interval_ms + offset
    }

    /// Produces the next `steps` scrape rounds.
    pub fn next_round(&mut self, steps: usize) -> Round {
        let n = self.series.len();
        let mut values = Vec::with_capacity(steps * n);
        for k in 0..steps {
            let step = self.next_step + k as u64;
            for g in &mut self.groups {
                g.advance(&mut self.rng);
            }
            let base = self.spec.start_ms + step as i64 * self.spec.interval_ms;
            for (def, model) in self.series.iter().zip(self.models.iter_mut()) {
                let ts = base + self.host_offsets[def.host as usize];
                values.push(model.step(&mut self.rng, ts, &self.groups));
            }
        }
        let round = Round {
            first_step: self.next_step,
            steps,
            values,
        };
        self.next_step += steps as u64;
        round
    }

    /// Splits the series into chunks of at most `batch` consecutive series.
    pub fn chunks(&self, batch: usize) -> Vec<Chunk> {
        let batch = batch.max(1);
        (0..self.series.len())
            .step_by(batch)
            .map(|first| {
                let range = first..(first + batch).min(self.series.len());
                let series = range
                    .clone()
                    .map(|i| OwnedSeries {
                        labels: self.series[i].labels.clone(),
                        ..Default::default()
                    })
                    .collect();
                let offsets = range
                    .clone()
                    .map(|i| self.host_offsets[self.series[i].host as usize])
                    .collect();
                Chunk {
                    range,
                    series,
                    offsets,
                }
            })
            .collect()
    }
}

impl Chunk {
    /// Replaces the samples of every series of this chunk by its values in `round`; returns
    /// the number of samples.
    pub fn fill(&mut self, round: &Round, spec: &WorkloadSpec) -> usize {
        let n = round.values.len() / round.steps.max(1);
        for (j, (s, offset)) in self.series.iter_mut().zip(&self.offsets).enumerate() {
            let i = self.range.start + j;
            s.samples.clear();
            for k in 0..round.steps {
                let step = round.first_step + k as u64;
                let t = spec.start_ms + step as i64 * spec.interval_ms + offset;
                s.samples.push(Sample::new(t, round.values[k * n + i]));
            }
        }
        self.series.len() * round.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(series: usize, seed: u64) -> WorkloadSpec {
        WorkloadSpec {
            series,
            seed,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn exact_series_count_unique_sorted_labels() {
        let w = Workload::new(spec(5_000, 1));
        assert_eq!(w.len(), 5_000);
        assert!(
            w.hosts() >= 5_000 / 340 && w.hosts() <= 5_000 / 150 + 1,
            "{} hosts",
            w.hosts()
        );
        let mut seen = std::collections::HashSet::new();
        for i in 0..w.len() {
            let l = w.labels(i);
            assert!(
                l.windows(2).all(|p| p[0].0 < p[1].0),
                "unsorted or duplicate names: {l:?}"
            );
            assert!(l.iter().any(|(k, _)| k == "__name__"));
            assert!(seen.insert(l.to_vec()), "duplicate series {l:?}");
        }
        let names: std::collections::HashSet<&str> = (0..w.len())
            .flat_map(|i| w.labels(i).iter())
            .filter(|(k, _)| k == "__name__")
            .map(|(_, v)| v.as_str())
            .collect();
        for family in [
            "node_cpu_seconds_total",
            "node_memory_MemFree_bytes",
            "http_request_duration_seconds_bucket",
        ] {
            assert!(names.contains(family), "missing {family}");
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let mut a = Workload::new(spec(1_000, 9));
        let mut b = Workload::new(spec(1_000, 9));
        let mut c = Workload::new(spec(1_000, 10));
        let ra = a.next_round(3);
        let rb = b.next_round(3);
        let rc = c.next_round(3);
        assert!(
            ra.values
                .iter()
                .zip(&rb.values)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        assert!(
            ra.values
                .iter()
                .zip(&rc.values)
                .any(|(x, y)| x.to_bits() != y.to_bits())
        );
    }

    #[test]
    fn counters_grow_and_histograms_are_consistent_over_time() {
        let mut w = Workload::new(spec(3_000, 4));
        let r = w.next_round(40);
        let n = w.len();
        for i in 0..n {
            let name = &w
                .labels(i)
                .iter()
                .find(|(k, _)| k == "__name__")
                .expect("has a name")
                .1;
            if name.ends_with("_total") || name.ends_with("_bucket") || name.ends_with("_count") {
                for k in 1..r.steps {
                    assert!(
                        r.values[k * n + i] >= r.values[(k - 1) * n + i],
                        "{name} decreased"
                    );
                }
            }
            if name == "node_cpu_seconds_total" {
                let v = r.values[i];
                assert_eq!(
                    (v * 100.0).round() / 100.0,
                    v,
                    "cpu seconds not in 0.01 s: {v}"
                );
            }
        }
        // Buckets of one histogram are cumulative and `_count` equals the `+Inf` bucket.
        let le_inf = (0..n)
            .find(|&i| w.labels(i).iter().any(|(k, v)| k == "le" && v == "+Inf"))
            .expect("a +Inf bucket");
        let count = le_inf + 2;
        assert!(
            w.labels(count)
                .iter()
                .any(|(_, v)| v == "http_request_duration_seconds_count")
        );
        for k in 0..r.steps {
            let buckets: Vec<f64> = (le_inf - 11..=le_inf)
                .map(|i| r.values[k * n + i])
                .collect();
            assert!(buckets.windows(2).all(|p| p[0] <= p[1]), "{buckets:?}");
            assert_eq!(r.values[k * n + count], r.values[k * n + le_inf]);
        }
    }

    #[test]
    fn chunks_cover_every_series_once_with_ordered_timestamps() {
        let s = spec(2_345, 5);
        let mut w = Workload::new(s);
        let mut chunks = w.chunks(1_000);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.iter().map(|c| c.series.len()).sum::<usize>(), 2_345);
        let r1 = w.next_round(2);
        let r2 = w.next_round(2);
        let mut last = vec![i64::MIN; w.len()];
        for r in [&r1, &r2] {
            let mut total = 0;
            for c in &mut chunks {
                total += c.fill(r, &s);
                for (j, os) in c.series.iter().enumerate() {
                    let i = c.range.start + j;
                    assert_eq!(os.labels, w.labels(i));
                    for smp in &os.samples {
                        assert!(smp.t > last[i]);
                        assert_eq!(
                            (smp.t - s.start_ms) % s.interval_ms,
                            w.timestamp(i, 0) - s.start_ms
                        );
                        last[i] = smp.t;
                    }
                }
            }
            assert_eq!(total, 2 * 2_345);
        }
        assert_eq!(last[0], w.timestamp(0, 3));
    }
}
