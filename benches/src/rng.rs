//! A tiny deterministic generator: the workload must be identical for every system under test
//! and every run with the same seed, whatever the scheduling of connections.

/// SplitMix64: eight bytes of state, good enough statistics for synthetic metrics.
///
/// It can also keep account of the information its draws put into the output (see
/// [`Rng::track`]): the uniform draws (`index`, `below`, `next_u64`) and the coin flips
/// (`chance`) count themselves; continuous draws (`f64`, `normal`) count nothing, and the
/// code that turns them into text counts what the text shows of them with [`Rng::note`].
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
    /// Bits of information drawn since tracking started (`None`: not tracking).
    info: Option<f64>,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            info: None,
        }
    }

    /// Starts (or restarts from zero) counting the information of the draws.
    pub(crate) fn track(&mut self) {
        self.info = Some(0.0);
    }

    /// Bits counted since [`Rng::track`] (0 when not tracking).
    pub(crate) fn info_bits(&self) -> f64 {
        self.info.unwrap_or(0.0)
    }

    /// Whether draws are being counted (callers skip computing what they would note).
    pub(crate) fn tracking(&self) -> bool {
        self.info.is_some()
    }

    /// Counts `bits` of information when tracking.
    pub(crate) fn note(&mut self, bits: f64) {
        if let Some(i) = &mut self.info {
            *i += bits;
        }
    }

    /// Counts the self-information of an outcome of probability `p`.
    pub(crate) fn note_p(&mut self, p: f64) {
        if let Some(i) = &mut self.info {
            *i -= p.clamp(f64::MIN_POSITIVE, 1.0).log2();
        }
    }

    fn step(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 64 random bits, not counted (the caller counts what it shows of them).
    pub(crate) fn bits_u64(&mut self) -> u64 {
        self.step()
    }

    /// Uniform in [0, n) by multiply-shift, not counted.
    pub(crate) fn index_uncounted(&mut self, n: u64) -> u64 {
        ((u128::from(self.step()) * u128::from(n)) >> 64) as u64
    }

    /// A generator for one stream derived from a seed, so that streams do not overlap.
    pub(crate) fn derive(seed: u64, stream: u64) -> Self {
        let mut r = Rng::new(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    /// 64 random bits (counted as 64).
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.note(64.0);
        self.step()
    }

    /// Uniform in [0, 1) (not counted: see the type's docs).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.step() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.note((n as f64).log2());
        self.step() % n
    }

    /// Uniform in [0, n) by multiply-shift: no division, which matters to the log generator
    /// that draws a dozen of these per line. (Not interchangeable with `below`: the same
    /// state gives a different value, and the metrics workload keeps `below`.)
    pub(crate) fn index(&mut self, n: u64) -> u64 {
        if self.info.is_some() && n > 1 {
            self.note((n as f64).log2());
        }
        self.index_uncounted(n)
    }

    /// Standard normal (Box-Muller; one value per call keeps the state small).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(f64::MIN_POSITIVE);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Probability `p` of true.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        let yes = self.f64() < p;
        if self.info.is_some() {
            let p = p.clamp(0.0, 1.0);
            self.note_p(if yes { p } else { 1.0 - p });
        }
        yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let mut a = Rng::derive(7, 1);
        let mut b = Rng::derive(7, 1);
        let mut c = Rng::derive(7, 2);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn uniform_and_normal_have_plausible_moments() {
        let mut r = Rng::new(42);
        let n = 20_000;
        let mean_u: f64 = (0..n).map(|_| r.f64()).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.02, "uniform mean {mean_u}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "normal mean {mean}");
        assert!((var - 1.0).abs() < 0.08, "normal variance {var}");
        assert!((0..1000).all(|_| r.below(10) < 10));
        let mut hits = [0u32; 10];
        for _ in 0..100_000 {
            hits[r.index(10) as usize] += 1;
        }
        assert!(
            hits.iter().all(|&h| (9_500..10_500).contains(&h)),
            "{hits:?}"
        );
        assert_eq!(r.index(0), 0);
    }
}
