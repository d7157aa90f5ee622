//! Gorilla-style chunks as Prometheus keeps them in its head: delta-of-delta timestamps and
//! XOR-ed float bits, about 1.3 bytes per sample on regular scrapes.
//!
//! Layout of a chunk (bits, most significant first): the first timestamp as 64 raw bits and
//! the first value as 64 raw bits; then per sample a delta-of-delta timestamp (the previous
//! delta starts at 0) in Prometheus' buckets (`0`, `10`+14, `110`+17, `1110`+20, `1111`+64
//! bits) and the value XOR-ed with the previous one (`0` when equal, `10` + meaningful bits
//! when they fit the previous leading/trailing window, else `11` + 5 bits leading zeros +
//! 6 bits length + the bits). The sample count is kept outside the bytes.

/// Samples per chunk before it is frozen: twice Prometheus' 120, which halves the fixed cost
/// per chunk (first sample, bounds, allocation) for a 3 h head at 15 s scrapes.
pub(crate) const SAMPLES_PER_CHUNK: u16 = 240;

/// Appends bits to a byte vector, most significant bit first.
#[derive(Clone, Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Free bits left in the last byte (0 when a new byte is needed).
    free: u8,
}

impl BitWriter {
    fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `v` (n <= 64).
    fn write_bits(&mut self, v: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }
}

/// Reads bits written by [`BitWriter`].
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    fn read_bits(&mut self, n: u8) -> Option<u64> {
        let mut v = 0u64;
        let mut n = u32::from(n);
        while n > 0 {
            let byte = u64::from(*self.bytes.get(self.pos / 8)?);
            let avail = 8 - (self.pos % 8) as u32;
            let take = n.min(avail);
            let bits = (byte >> (avail - take)) & ((1u64 << take) - 1);
            v = (v << take) | bits;
            self.pos += take as usize;
            n -= take;
        }
        Some(v)
    }
}

/// Bucket widths of the delta-of-delta encoding, with their prefix bits.
const DOD_BUCKETS: [(u8, u64, u8); 3] = [(14, 0b10, 2), (17, 0b110, 3), (20, 0b1110, 4)];

fn fits(dod: i64, bits: u8) -> bool {
    let half = 1i64 << (bits - 1);
    -half < dod && dod <= half
}

/// A chunk being appended to.
#[derive(Clone, Debug, Default)]
pub(crate) struct XorAppender {
    w: BitWriter,
    count: u16,
    min_t: i64,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl XorAppender {
    /// An empty chunk.
    pub(crate) fn new() -> Self {
        XorAppender::default()
    }

    /// Number of samples in the chunk.
    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// Timestamp of the last sample (meaningless when empty).
    pub(crate) fn max_t(&self) -> i64 {
        self.t
    }

    /// Appends a sample; the caller keeps timestamps strictly increasing.
    pub(crate) fn append(&mut self, t: i64, v: u64) {
        if self.count == 0 {
            self.w.write_bits(t as u64, 64);
            self.w.write_bits(v, 64);
            self.min_t = t;
            self.leading = 0xff;
        } else {
            let delta = t.wrapping_sub(self.t);
            let dod = delta.wrapping_sub(self.delta);
            self.write_dod(dod);
            self.write_value(v);
            self.delta = delta;
        }
        self.t = t;
        self.v = v;
        self.count += 1;
    }

    fn write_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.w.write_bit(false);
            return;
        }
        for (bits, prefix, prefix_len) in DOD_BUCKETS {
            if fits(dod, bits) {
                self.w.write_bits(prefix, prefix_len);
                self.w.write_bits(dod as u64, bits);
                return;
            }
        }
        self.w.write_bits(0b1111, 4);
        self.w.write_bits(dod as u64, 64);
    }

    fn write_value(&mut self, v: u64) {
        let x = v ^ self.v;
        if x == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        // Five bits hold at most 31 leading zeros.
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.w.write_bits(x >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.write_bit(true);
            self.w.write_bits(u64::from(leading), 5);
            let sig = 64 - leading - trailing;
            // 64 significant bits are written as 0: a length of 0 cannot occur otherwise.
            self.w.write_bits(u64::from(sig & 63), 6);
            self.w.write_bits(x >> trailing, sig);
        }
    }

    /// Iterates the samples appended so far.
    pub(crate) fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.w.bytes, self.count)
    }

    /// Freezes into a compact immutable chunk.
    pub(crate) fn freeze(self) -> FrozenChunk {
        FrozenChunk {
            bytes: self.w.bytes.into_boxed_slice(),
            count: self.count,
            min_t: self.min_t,
            max_t: self.t,
        }
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.w.bytes.capacity()
    }

    /// Smallest timestamp (meaningless when empty).
    pub(crate) fn min_t(&self) -> i64 {
        self.min_t
    }
}

/// A full chunk, immutable and exactly sized.
#[derive(Clone, Debug)]
pub(crate) struct FrozenChunk {
    bytes: Box<[u8]>,
    count: u16,
    /// First timestamp.
    pub(crate) min_t: i64,
    /// Last timestamp.
    pub(crate) max_t: i64,
}

impl FrozenChunk {
    /// Iterates the samples.
    pub(crate) fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.bytes, self.count)
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
pub(crate) struct XorIter<'a> {
    r: BitReader<'a>,
    left: u16,
    first: bool,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> XorIter<'a> {
    fn new(bytes: &'a [u8], count: u16) -> Self {
        XorIter {
            r: BitReader { bytes, pos: 0 },
            left: count,
            first: true,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_dod(&mut self) -> Option<i64> {
        if !self.r.read_bit()? {
            return Some(0);
        }
        for (bits, _, _) in DOD_BUCKETS {
            if !self.r.read_bit()? {
                let raw = self.r.read_bits(bits)? as i64;
                // The buckets hold (-2^(bits-1), 2^(bits-1)], so the top value stays positive.
                let half = 1i64 << (bits - 1);
                return Some(if raw > half {
                    raw - (1i64 << bits)
                } else {
                    raw
                });
            }
        }
        Some(self.r.read_bits(64)? as i64)
    }

    fn read_value(&mut self) -> Option<u64> {
        if !self.r.read_bit()? {
            return Some(self.v);
        }
        if self.r.read_bit()? {
            self.leading = self.r.read_bits(5)? as u8;
            let mut sig = self.r.read_bits(6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let x = self.r.read_bits(sig)?;
        Some(self.v ^ (x << self.trailing))
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, u64);

    fn next(&mut self) -> Option<(i64, u64)> {
        if self.left == 0 {
            return None;
        }
        if self.first {
            self.first = false;
            self.t = self.r.read_bits(64)? as i64;
            self.v = self.r.read_bits(64)?;
        } else {
            let dod = self.read_dod()?;
            self.delta = self.delta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.delta);
            self.v = self.read_value()?;
        }
        self.left -= 1;
        Some((self.t, self.v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::STALE_NAN_BITS;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, u64)]) -> Vec<(i64, u64)> {
        let mut a = XorAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        let open: Vec<_> = a.iter().collect();
        let frozen: Vec<_> = a.freeze().iter().collect();
        assert_eq!(open, frozen);
        frozen
    }

    #[test]
    fn regular_scrape_compresses() {
        let samples: Vec<(i64, u64)> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, (i as f64 * 3.0).to_bits()))
            .collect();
        let mut a = XorAppender::new();
        for &(t, v) in &samples {
            a.append(t, v);
        }
        let c = a.freeze();
        assert!(c.heap_bytes() < 120 * 3, "{} bytes", c.heap_bytes());
        assert_eq!(c.iter().collect::<Vec<_>>(), samples);
    }

    #[test]
    fn nan_bits_survive() {
        let samples = vec![
            (1, 1.0f64.to_bits()),
            (2, STALE_NAN_BITS),
            (3, f64::NAN.to_bits()),
            (4, STALE_NAN_BITS),
            (5, (-0.0f64).to_bits()),
            (6, u64::MAX),
            (7, 0),
        ];
        assert_eq!(round_trip(&samples), samples);
    }

    proptest! {
        #[test]
        fn round_trips(start in any::<i64>(), steps in proptest::collection::vec((1i64..1i64 << 40, any::<u64>(), any::<bool>()), 0..200)) {
            let mut t = start / 2;
            let mut samples = Vec::new();
            let mut prev_v = 0u64;
            for (dt, v, repeat) in steps {
                let Some(next) = t.checked_add(dt) else { break };
                t = next;
                // Repeated values exercise the "same value" and "same window" branches.
                let v = if repeat { prev_v ^ (v & 0xff00) } else { v };
                prev_v = v;
                samples.push((t, v));
            }
            prop_assert_eq!(round_trip(&samples), samples);
        }
    }
}
