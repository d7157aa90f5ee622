//! Samples and the staleness marker.

/// The bit pattern of Prometheus' staleness marker, a NaN that PromQL treats as "series gone".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` carries exactly the staleness marker's bits.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: a millisecond timestamp and a value (NaN bits preserved).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; NaN payloads (the stale marker) are kept bit-exact.
    pub v: f64,
}

impl Sample {
    /// A sample at `t` ms with value `v`.
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }
}

impl PartialEq for Sample {
    /// Bit equality, so that NaN equals the same NaN and the stale marker survives comparisons.
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

impl Eq for Sample {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_a_distinct_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert_eq!(Sample::new(1, stale_nan()), Sample::new(1, stale_nan()));
        assert_ne!(Sample::new(1, stale_nan()), Sample::new(1, f64::NAN));
    }
}
