//! The head's chunks: up to [`SAMPLES_PER_CHUNK`] samples of one series, with the value
//! encoding chosen per chunk.
//!
//! Timestamps are delta-of-delta coded in both encodings: the first as 64 raw bits (which
//! makes a chunk's first timestamp readable without decoding), the first delta with the
//! prefix buckets, then an adaptive Rice code (1 bit on aligned scrapes, about 4 with +-2 ms
//! of jitter). Values are either exact decimals sharing one exponent and one binary shift
//! per chunk (byte gauges are multiples of 1024 or 4096), stored as delta-of-delta
//! mantissas coded the same way as timestamps, or Gorilla XOR-ed bits. A chunk starts as
//! decimal when its first value is one; a later value that needs a finer exponent or a
//! smaller shift re-encodes the open chunk, and a value that is no exact decimal (NaN, stale
//! marker, -0.0, full precision) re-encodes it as XOR. Re-encoding touches only the open
//! chunk and happens a few times per chunk at most, as exponent and shift only decrease.
//!
//! Freezing a decimal chunk also tries the other mantissa code, plain deltas or
//! deltas-of-deltas, and keeps the smaller: deltas-of-deltas suit steady counters (CPU
//! seconds), deltas suit random walks and counters with irregular increments, by about a
//! bit a sample. The next open chunk of the series starts with the code that won.

use super::bits::{BitReader, BitWriter, Rice, read_int, write_int};
use super::decimal;
use super::xor::XorWindow;

/// Samples per chunk before it is frozen: twice Prometheus' 120, which halves the fixed cost
/// per chunk (first sample, bounds, allocation) for a 3 h head at 15 s scrapes.
pub(crate) const SAMPLES_PER_CHUNK: u16 = 240;

/// Exponent marking an XOR chunk.
const XOR: i8 = i8::MIN;

/// Shift of a chunk whose mantissas so far are all 0.
const NO_SHIFT_YET: u8 = 63;

fn shift_of(m: i64) -> u8 {
    (m.trailing_zeros() as u8).min(NO_SHIFT_YET)
}

/// The exponent and shift that store every value of `samples` as an exact decimal.
fn fit(samples: &[(i64, u64)]) -> Option<(i8, u8)> {
    let mut exp = i8::MAX;
    for &(_, v) in samples {
        exp = exp.min(decimal::to_decimal(v)?.1);
    }
    let mut shift = NO_SHIFT_YET;
    for &(_, v) in samples {
        shift = shift.min(shift_of(decimal::mantissa_at(v, exp)?));
    }
    Some((exp, shift))
}

/// The first timestamp of a chunk, stored raw in its first 8 bytes.
fn first_t(bytes: &[u8]) -> i64 {
    match bytes.first_chunk::<8>() {
        Some(b) => i64::from_be_bytes(*b),
        None => i64::MIN,
    }
}

/// A chunk being appended to.
#[derive(Clone, Debug)]
pub(crate) struct Appender {
    w: BitWriter,
    t: i64,
    tdelta: i64,
    /// Last value: its bits in an XOR chunk, its mantissa in a decimal one.
    v: u64,
    vdelta: i64,
    trice: Rice,
    vrice: Rice,
    win: XorWindow,
    count: u16,
    format: Format,
}

impl Default for Appender {
    fn default() -> Self {
        Appender::with_format(XOR, 0, false)
    }
}

impl Appender {
    /// An empty chunk that follows `prev`, starting with the mantissa code that suited it.
    pub(crate) fn after(prev: &FrozenChunk) -> Self {
        Appender::with_format(XOR, 0, prev.format.deltas)
    }

    fn with_format(exp: i8, shift: u8, deltas: bool) -> Self {
        Appender {
            w: BitWriter::default(),
            t: 0,
            tdelta: 0,
            v: 0,
            vdelta: 0,
            trice: Rice::default(),
            vrice: Rice::default(),
            win: XorWindow::default(),
            count: 0,
            format: Format { exp, shift, deltas },
        }
    }

    /// Number of samples in the chunk.
    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// Timestamp of the last sample (meaningless when empty).
    pub(crate) fn max_t(&self) -> i64 {
        self.t
    }

    /// Smallest timestamp (meaningless when empty).
    pub(crate) fn min_t(&self) -> i64 {
        first_t(self.w.bytes())
    }

    /// Bits of the last value (meaningless when empty).
    pub(crate) fn last(&self) -> u64 {
        if self.format.exp == XOR {
            self.v
        } else {
            decimal::decode((self.v as i64) << self.format.shift, self.format.exp).to_bits()
        }
    }

    /// True when the chunk stores exact decimals.
    #[cfg(test)]
    pub(crate) fn is_decimal(&self) -> bool {
        self.format.exp != XOR
    }

    /// Appends a sample; the caller keeps timestamps strictly increasing.
    pub(crate) fn append(&mut self, t: i64, v: u64) {
        if self.count == 0 {
            (self.format.exp, self.format.shift) = fit(&[(t, v)]).unwrap_or((XOR, 0));
        }
        if self.try_append(t, v) {
            return;
        }
        let mut all: Vec<(i64, u64)> = self.iter().collect();
        all.push((t, v));
        let (exp, shift) = fit(&all).unwrap_or((XOR, 0));
        let mut fresh = Appender::with_format(exp, shift, self.format.deltas);
        for (at, av) in all {
            let fits = fresh.try_append(at, av);
            // `fit` checked every value; XOR takes any value.
            assert!(fits, "re-encoded chunk refused a sample it was chosen for");
        }
        *self = fresh;
    }

    /// Appends in the chunk's encoding; false when the value is no decimal at its exponent.
    fn try_append(&mut self, t: i64, v: u64) -> bool {
        let m = if self.format.exp == XOR {
            None
        } else {
            match decimal::mantissa_at(v, self.format.exp) {
                Some(m) if shift_of(m) >= self.format.shift => Some(m >> self.format.shift),
                _ => return false,
            }
        };
        if self.count == 0 {
            self.w.write_bits(t as u64, 64);
            match m {
                Some(m) => write_int(&mut self.w, m),
                None => self.w.write_bits(v, 64),
            }
        } else {
            let delta = t.wrapping_sub(self.t);
            let dod = delta.wrapping_sub(self.tdelta);
            // The first delta is the series' slope, not a typical delta-of-delta: kept out
            // of the Rice codes' running means, for timestamps and values alike.
            if self.count == 1 {
                write_int(&mut self.w, dod);
            } else {
                self.trice.write(&mut self.w, dod);
            }
            self.tdelta = delta;
            match m {
                Some(m) => {
                    let vdelta = m.wrapping_sub(self.v as i64);
                    if self.format.deltas {
                        self.vrice.write(&mut self.w, vdelta);
                    } else if self.count == 1 {
                        write_int(&mut self.w, vdelta);
                    } else {
                        self.vrice
                            .write(&mut self.w, vdelta.wrapping_sub(self.vdelta));
                    }
                    self.vdelta = vdelta;
                }
                None => self.win.write(&mut self.w, self.v, v),
            }
        }
        self.t = t;
        self.v = m.map_or(v, |m| m as u64);
        self.count += 1;
        true
    }

    /// Iterates the samples appended so far.
    pub(crate) fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(self.w.bytes(), self.count, self.format)
    }

    /// Freezes into a compact immutable chunk, with the smaller of the two mantissa codes.
    pub(crate) fn freeze(self) -> FrozenChunk {
        let chosen = if self.format.exp != XOR && self.count > 2 {
            let mut alt =
                Appender::with_format(self.format.exp, self.format.shift, !self.format.deltas);
            for (t, v) in self.iter() {
                let fits = alt.try_append(t, v);
                // Same exponent and shift as the chunk whose values these are.
                assert!(fits, "re-encoded chunk refused one of its own samples");
            }
            if alt.w.bytes().len() < self.w.bytes().len() {
                alt
            } else {
                self
            }
        } else {
            self
        };
        FrozenChunk {
            max_t: chosen.t,
            count: chosen.count,
            format: chosen.format,
            bytes: chosen.w.into_boxed(),
        }
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }
}

/// A full chunk, immutable and exactly sized.
#[derive(Clone, Debug)]
pub(crate) struct FrozenChunk {
    bytes: Box<[u8]>,
    /// Last timestamp.
    pub(crate) max_t: i64,
    count: u16,
    format: Format,
}

/// How a chunk's values are stored.
#[derive(Clone, Copy, Debug)]
struct Format {
    /// Decimal exponent, or [`XOR`].
    exp: i8,
    /// Trailing zero bits removed from every mantissa.
    shift: u8,
    /// Mantissas as deltas rather than deltas-of-deltas.
    deltas: bool,
}

impl FrozenChunk {
    /// Iterates the samples.
    pub(crate) fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(&self.bytes, self.count, self.format)
    }

    /// First timestamp.
    pub(crate) fn min_t(&self) -> i64 {
        first_t(&self.bytes)
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.count)
    }
}

/// Decodes a chunk's samples as `(t, value bits)`.
pub(crate) struct ChunkIter<'a> {
    r: BitReader<'a>,
    read: u16,
    count: u16,
    format: Format,
    t: i64,
    tdelta: i64,
    v: u64,
    vdelta: i64,
    trice: Rice,
    vrice: Rice,
    win: XorWindow,
}

impl<'a> ChunkIter<'a> {
    fn new(bytes: &'a [u8], count: u16, format: Format) -> Self {
        ChunkIter {
            r: BitReader::new(bytes),
            read: 0,
            count,
            format,
            t: 0,
            tdelta: 0,
            v: 0,
            vdelta: 0,
            trice: Rice::default(),
            vrice: Rice::default(),
            win: XorWindow::default(),
        }
    }

    fn read_value(&mut self) -> Option<u64> {
        if self.format.exp == XOR {
            return self.win.read(&mut self.r, self.v);
        }
        if self.format.deltas {
            self.vdelta = self.vrice.read(&mut self.r)?;
        } else if self.read == 1 {
            self.vdelta = read_int(&mut self.r)?;
        } else {
            let dod = self.vrice.read(&mut self.r)?;
            self.vdelta = self.vdelta.wrapping_add(dod);
        }
        Some((self.v as i64).wrapping_add(self.vdelta) as u64)
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = (i64, u64);

    fn next(&mut self) -> Option<(i64, u64)> {
        if self.read == self.count {
            return None;
        }
        if self.read == 0 {
            self.t = self.r.read_bits(64)? as i64;
            self.v = if self.format.exp == XOR {
                self.r.read_bits(64)?
            } else {
                read_int(&mut self.r)? as u64
            };
        } else {
            let dod = if self.read == 1 {
                read_int(&mut self.r)?
            } else {
                self.trice.read(&mut self.r)?
            };
            self.tdelta = self.tdelta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.tdelta);
            self.v = self.read_value()?;
        }
        self.read += 1;
        let Format { exp, shift, .. } = self.format;
        let bits = if exp == XOR {
            self.v
        } else {
            decimal::decode((self.v as i64) << shift, exp).to_bits()
        };
        Some((self.t, bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::STALE_NAN_BITS;
    use proptest::prelude::*;

    fn encode(samples: &[(i64, u64)]) -> Appender {
        let mut a = Appender::default();
        for &(t, v) in samples {
            a.append(t, v);
        }
        a
    }

    fn round_trip(samples: &[(i64, u64)]) -> Vec<(i64, u64)> {
        let a = encode(samples);
        let open: Vec<_> = a.iter().collect();
        if let Some(&(_, v)) = samples.last() {
            assert_eq!(a.last(), v);
            assert_eq!(a.min_t(), samples[0].0);
        }
        let frozen = a.freeze();
        let got: Vec<_> = frozen.iter().collect();
        assert_eq!(open, got);
        if let Some(&(t, _)) = samples.first() {
            assert_eq!(frozen.min_t(), t);
        }
        got
    }

    fn regular(values: impl IntoIterator<Item = f64>) -> Vec<(i64, u64)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (1_700_000_000_000 + i as i64 * 15_000, v.to_bits()))
            .collect()
    }

    #[test]
    fn decimal_counter_is_small() {
        // CPU seconds in hundredths, as node_exporter reports them.
        let mut ticks = 123_456_789i64;
        let samples = regular((0..240).map(|i| {
            ticks += 1450 + (i * 37) % 90;
            ticks as f64 / 100.0
        }));
        let a = encode(&samples);
        assert!(a.is_decimal());
        let c = a.freeze();
        assert!(c.heap_bytes() < 240 * 3 / 2, "{} bytes", c.heap_bytes());
        assert_eq!(c.iter().collect::<Vec<_>>(), samples);
    }

    #[test]
    fn freezing_picks_the_smaller_mantissa_code() {
        // A steady counter: deltas-of-deltas are near 0.
        let steady = regular((0..240).map(|i| f64::from(i * 1500 + i % 3) / 100.0));
        let c = encode(&steady).freeze();
        assert!(!c.format.deltas);
        assert_eq!(c.iter().collect::<Vec<_>>(), steady);
        // A random walk: deltas are smaller than their differences.
        let mut x = 5000i64;
        let walk = regular((0..240).map(|i| {
            x += (i * 7919) % 81 - 40;
            x as f64 / 10.0
        }));
        let c = encode(&walk).freeze();
        assert!(c.format.deltas);
        assert_eq!(c.iter().collect::<Vec<_>>(), walk);
    }

    #[test]
    fn finer_exponent_re_encodes() {
        let samples = regular([1000.0, 1007.0, 1007.5, 1008.25, 2e6, 3.0, 0.001]);
        let a = encode(&samples);
        assert!(a.is_decimal());
        assert_eq!(round_trip(&samples), samples);
    }

    #[test]
    fn byte_gauge_uses_a_shift() {
        let mut pages = 2_000_000i64;
        let samples = regular((0..240).map(|i| {
            pages += (i * 7919) % 601 - 300;
            (pages * 4096) as f64
        }));
        let a = encode(&samples);
        assert!(a.is_decimal());
        assert_eq!(a.format.shift, 12);
        assert_eq!(round_trip(&samples), samples);
        // A value with fewer trailing zeros lowers the shift.
        let mut more = samples.clone();
        more.push((more[239].0 + 15_000, 1001.0f64.to_bits()));
        let a = encode(&more);
        assert_eq!((a.format.exp, a.format.shift), (0, 0));
        assert_eq!(round_trip(&more), more);
    }

    #[test]
    fn special_values_survive() {
        let specials = [
            STALE_NAN_BITS,
            f64::NAN.to_bits(),
            (-0.0f64).to_bits(),
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            u64::MAX,
            0.1f64.to_bits() ^ 1,
        ];
        for special in specials {
            for at in [0, 1, 2, 5] {
                let mut samples = regular([1.0, 2.5, 2.5, 4.0, 5.0, 6.25]);
                samples[at].1 = special;
                let a = encode(&samples);
                assert!(!a.is_decimal(), "{special:#x} at {at}");
                assert_eq!(round_trip(&samples), samples, "{special:#x} at {at}");
            }
        }
    }

    #[test]
    fn irregular_timestamps() {
        let samples: Vec<(i64, u64)> = [i64::MIN, -5, 0, 1, 3, 1 << 40, i64::MAX]
            .into_iter()
            .zip([1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
            .map(|(t, v)| (t, v.to_bits()))
            .collect();
        assert_eq!(round_trip(&samples), samples);
    }

    fn value_strategy() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            // Exact decimals with a few digits, of any size.
            (-10_000_000i64..10_000_000, 0u32..=6)
                .prop_map(|(m, d)| (m as f64 / 10f64.powi(d as i32)).to_bits()),
            (any::<i32>()).prop_map(|m| f64::from(m).to_bits()),
            Just(STALE_NAN_BITS),
            Just((-0.0f64).to_bits()),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(
            start in any::<i64>(),
            steps in proptest::collection::vec((1i64..1i64 << 40, value_strategy(), any::<bool>()), 0..300),
        ) {
            let mut t = start / 2;
            let mut samples = Vec::new();
            let mut prev_v = 0u64;
            for (dt, v, repeat) in steps {
                let Some(next) = t.checked_add(dt) else { break };
                t = next;
                let v = if repeat { prev_v } else { v };
                prev_v = v;
                samples.push((t, v));
            }
            samples.truncate(usize::from(SAMPLES_PER_CHUNK));
            prop_assert_eq!(round_trip(&samples), samples);
        }

        #[test]
        fn decimal_series_stay_decimal(
            start in 0u32..1_000_000,
            digits in 0i32..=4,
            steps in proptest::collection::vec(-5000i64..5000, 1..240),
        ) {
            let mut m = i64::from(start);
            let mut samples = Vec::new();
            for (i, d) in steps.into_iter().enumerate() {
                m += d;
                // Jittered timestamps, as scrapes without alignment have.
                let t = 1_700_000_000_000 + i as i64 * 15_000 + (d % 3);
                samples.push((t, (m as f64 / 10f64.powi(digits)).to_bits()));
            }
            prop_assert!(encode(&samples).is_decimal());
            prop_assert_eq!(round_trip(&samples), samples);
        }
    }
}
