//! Bit streams for the head's chunks and the two integer codes they use: an adaptive Rice
//! code for the deltas-of-deltas of timestamps and mantissas, whose typical size is a
//! property of the series (0 for aligned scrapes and constants, a few units of jitter or
//! noise), and prefix buckets for what has no typical size (first values, outliers).

/// Appends bits to a byte buffer, most significant bit first.
///
/// A boxed slice and a 32-bit length rather than a `Vec`: 24 bytes instead of 32 in the open
/// chunk of every series (a chunk holds a few hundred bytes).
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    buf: Box<[u8]>,
    len: u32,
    /// Free bits left in the last byte (0 when a new byte is needed).
    free: u8,
}

impl BitWriter {
    fn push_byte(&mut self) {
        let len = self.len as usize;
        if len == self.buf.len() {
            // Grow by an eighth, not by doubling: the open chunk of every series lives in
            // the head for an hour, so doubling's slack (a quarter on average) adds up.
            let mut grown = vec![0; len + (len / 8).max(8)];
            grown[..len].copy_from_slice(&self.buf);
            self.buf = grown.into_boxed_slice();
        }
        self.len += 1;
        self.free = 8;
    }

    fn last_byte(&mut self) -> &mut u8 {
        &mut self.buf[self.len as usize - 1]
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.push_byte();
        }
        if bit {
            let free = self.free;
            *self.last_byte() |= 1 << (free - 1);
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `v` (n <= 64).
    pub(crate) fn write_bits(&mut self, v: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.push_byte();
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            let free = self.free;
            *self.last_byte() |= chunk << (free - take);
            self.free -= take;
            n -= take;
        }
    }

    /// The bytes written so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The bytes, exactly sized.
    pub(crate) fn into_boxed(self) -> Box<[u8]> {
        if self.len as usize == self.buf.len() {
            self.buf
        } else {
            self.bytes().into()
        }
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }
}

/// Reads bits written by [`BitWriter`].
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    pub(crate) fn read_bits(&mut self, n: u8) -> Option<u64> {
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

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Payload widths (zigzag-coded) of the prefix buckets `10`, `110`, ... `111110`; `111111`
/// is followed by 64 bits. A first scrape interval of 15 s costs 23 bits, a first mantissa
/// of a million 34.
const BUCKETS: [u8; 5] = [6, 9, 13, 18, 28];

/// Writes `v` with the prefix buckets: `0` for zero, about 8 to 70 bits otherwise.
pub(crate) fn write_int(w: &mut BitWriter, v: i64) {
    let z = zigzag(v);
    if z == 0 {
        w.write_bit(false);
        return;
    }
    for (i, bits) in BUCKETS.into_iter().enumerate() {
        if z < 1u64 << bits {
            let ones = i as u8 + 1;
            w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
            w.write_bits(z, bits);
            return;
        }
    }
    w.write_bits(0b11_1111, 6);
    w.write_bits(z, 64);
}

/// Reads an integer written by [`write_int`].
pub(crate) fn read_int(r: &mut BitReader<'_>) -> Option<i64> {
    let mut ones = 0;
    while ones < 6 && r.read_bit()? {
        ones += 1;
    }
    let z = match ones {
        0 => 0,
        6 => r.read_bits(64)?,
        n => r.read_bits(BUCKETS[n - 1])?,
    };
    Some(unzigzag(z))
}

/// Quotients from this size on are escaped to the prefix buckets.
const RICE_LIMIT: u8 = 20;

/// An adaptive Rice code (as in LOCO-I): the parameter `k` follows a running mean of the
/// recent values, so a series costs about log2 of its typical delta-of-delta plus two bits,
/// and a constant series one bit per value. Writer and reader update the same state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rice {
    /// Eight times the running mean (an exponential average forgetting 1/8 per value): one
    /// word, as every series holds two of these in its open chunk.
    mean8: u64,
}

impl Rice {
    fn k(&self) -> u8 {
        // The smallest k with 2^k >= 0.69 * mean: a little below the mean (LOCO-I's choice)
        // measured about 2% smaller on exporter data.
        let target = (self.mean8 >> 3).saturating_mul(11) / 16;
        if target <= 1 {
            0
        } else {
            (64 - (target - 1).leading_zeros() as u8).min(63)
        }
    }

    fn update(&mut self, z: u64) {
        // One outlier (a counter reset, a missed scrape) may raise the mean at most about
        // 32-fold, so that it does not inflate the following values while the mean decays.
        let cap = (self.mean8 >> 3).saturating_mul(32).saturating_add(256);
        self.mean8 = (self.mean8 - (self.mean8 >> 3)).saturating_add(z.min(cap));
    }

    pub(crate) fn write(&mut self, w: &mut BitWriter, v: i64) {
        let z = zigzag(v);
        let k = self.k();
        let q = z >> k;
        if q < u64::from(RICE_LIMIT) {
            let q = q as u8;
            w.write_bits(((1u64 << q) - 1) << 1, q + 1);
            w.write_bits(z, k);
        } else {
            w.write_bits((1u64 << RICE_LIMIT) - 1, RICE_LIMIT);
            write_int(w, v);
        }
        self.update(z);
    }

    pub(crate) fn read(&mut self, r: &mut BitReader<'_>) -> Option<i64> {
        let k = self.k();
        let mut q = 0u8;
        while q < RICE_LIMIT && r.read_bit()? {
            q += 1;
        }
        if q == RICE_LIMIT {
            let v = read_int(r)?;
            self.update(zigzag(v));
            return Some(v);
        }
        let z = (u64::from(q) << k) | r.read_bits(k)?;
        self.update(z);
        Some(unzigzag(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn codes_round_trip(values in proptest::collection::vec(
            prop_oneof![any::<i64>(), -100i64..100, Just(0i64), Just(i64::MIN), Just(i64::MAX)],
            0..300,
        )) {
            let mut w = BitWriter::default();
            let mut rice = Rice::default();
            for &v in &values {
                write_int(&mut w, v);
                rice.write(&mut w, v);
            }
            let mut r = BitReader::new(w.bytes());
            let mut rice = Rice::default();
            for &v in &values {
                prop_assert_eq!(read_int(&mut r), Some(v));
                prop_assert_eq!(rice.read(&mut r), Some(v));
            }
        }
    }

    #[test]
    fn small_values_are_short() {
        let mut w = BitWriter::default();
        let mut rice = Rice::default();
        for i in 0..800 {
            rice.write(&mut w, (i * 7919) % 41 - 20);
        }
        // About log2(41) + 2 bits each once the mean has adapted.
        assert!(w.bytes().len() < 800 * 8 / 8, "{} bytes", w.bytes().len());
        let mut w = BitWriter::default();
        write_int(&mut w, 3);
        write_int(&mut w, 0);
        assert_eq!(w.bytes().len(), 2, "8 + 1 bits");
    }
}
