//! Prometheus' XOR chunk encoding of float samples (Gorilla-style: delta-of-delta timestamps,
//! XOR-ed values), as remote read's STREAMED_XOR_CHUNKS carries it.
//!
//! Layout: a big-endian u16 sample count, then a bit stream written most significant bit
//! first: the first timestamp as a zigzag varint and its value as 64 raw bits; the second
//! timestamp as a uvarint delta; later timestamps as delta-of-delta in 1, 16, 20, 24 or 68
//! bits; every value after the first as an XOR against the previous one.

use cairn_model::Sample;

/// Most samples Prometheus puts in one chunk; readers expect chunks no larger.
pub(crate) const MAX_SAMPLES_PER_CHUNK: usize = 120;

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte.
    free: u8,
}

impl BitWriter {
    fn bit(&mut self, b: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if b {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << self.free;
        }
    }

    /// The low `n` bits of `v`, most significant first.
    fn bits(&mut self, v: u64, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    fn byte(&mut self, b: u8) {
        self.bits(u64::from(b), 8);
    }

    fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }
}

/// Encodes up to [`MAX_SAMPLES_PER_CHUNK`] (at most `u16::MAX`) samples as one XOR chunk.
pub(crate) fn encode_xor(samples: &[Sample]) -> Vec<u8> {
    debug_assert!(samples.len() <= usize::from(u16::MAX));
    let mut w = BitWriter::default();
    w.bytes
        .extend_from_slice(&(samples.len() as u16).to_be_bytes());
    let (mut t, mut t_delta, mut v) = (0i64, 0i64, 0f64);
    let (mut leading, mut trailing) = (0xffu8, 0u8);
    for (i, s) in samples.iter().enumerate() {
        match i {
            0 => {
                w.uvarint(((s.t << 1) ^ (s.t >> 63)) as u64);
                w.bits(s.v.to_bits(), 64);
            }
            1 => {
                t_delta = s.t.wrapping_sub(t);
                w.uvarint(t_delta as u64);
                xor_write(&mut w, s.v, v, &mut leading, &mut trailing);
            }
            _ => {
                let d = s.t.wrapping_sub(t);
                let dod = d.wrapping_sub(t_delta);
                t_delta = d;
                if dod == 0 {
                    w.bit(false);
                } else if bit_range(dod, 14) {
                    w.bits(0b10, 2);
                    w.bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    w.bits(0b110, 3);
                    w.bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    w.bits(0b1110, 4);
                    w.bits(dod as u64, 20);
                } else {
                    w.bits(0b1111, 4);
                    w.bits(dod as u64, 64);
                }
                xor_write(&mut w, s.v, v, &mut leading, &mut trailing);
            }
        }
        t = s.t;
        v = s.v;
    }
    w.bytes
}

/// True when `x` fits the `n`-bit delta-of-delta bucket, as Prometheus defines them.
fn bit_range(x: i64, n: u32) -> bool {
    -((1i64 << (n - 1)) - 1) <= x && x <= 1i64 << (n - 1)
}

fn xor_write(w: &mut BitWriter, new: f64, cur: f64, leading: &mut u8, trailing: &mut u8) {
    let delta = new.to_bits() ^ cur.to_bits();
    if delta == 0 {
        w.bit(false);
        return;
    }
    w.bit(true);
    let new_leading = (delta.leading_zeros() as u8).min(31);
    let new_trailing = delta.trailing_zeros() as u8;
    if *leading != 0xff && new_leading >= *leading && new_trailing >= *trailing {
        w.bit(false);
        w.bits(
            delta >> *trailing,
            64 - u32::from(*leading) - u32::from(*trailing),
        );
        return;
    }
    *leading = new_leading;
    *trailing = new_trailing;
    w.bit(true);
    w.bits(u64::from(new_leading), 5);
    // 64 significant bits are written as 0: the 6-bit field cannot hold 64, and 0 never
    // occurs (that is the equal-value case above).
    let sig = 64 - u32::from(new_leading) - u32::from(new_trailing);
    w.bits(u64::from(sig) & 0x3f, 6);
    w.bits(delta >> new_trailing, sig);
}

struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<bool> {
        let b = *self.bytes.get(self.pos / 8)?;
        let bit = (b >> (7 - self.pos % 8)) & 1 == 1;
        self.pos += 1;
        Some(bit)
    }

    fn bits(&mut self, n: u32) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Some(v)
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.bits(8)?;
            v |= (b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
}

/// Decodes an XOR chunk; `None` when it is truncated or malformed.
pub(crate) fn decode_xor(chunk: &[u8]) -> Option<Vec<Sample>> {
    let n = usize::from(u16::from_be_bytes([*chunk.first()?, *chunk.get(1)?]));
    let mut r = BitReader {
        bytes: &chunk[2..],
        pos: 0,
    };
    let mut out = Vec::with_capacity(n.min(MAX_SAMPLES_PER_CHUNK));
    let (mut t, mut t_delta, mut v) = (0i64, 0i64, 0u64);
    let (mut leading, mut trailing) = (0u32, 0u32);
    for i in 0..n {
        match i {
            0 => {
                let z = r.uvarint()?;
                t = ((z >> 1) as i64) ^ -((z & 1) as i64);
                v = r.bits(64)?;
            }
            1 => {
                t_delta = r.uvarint()? as i64;
                t = t.wrapping_add(t_delta);
                v = xor_read(&mut r, v, &mut leading, &mut trailing)?;
            }
            _ => {
                let mut prefix = 0;
                while prefix < 4 && r.bit()? {
                    prefix += 1;
                }
                let dod = match prefix {
                    0 => 0,
                    1 => sign_extend(r.bits(14)?, 14),
                    2 => sign_extend(r.bits(17)?, 17),
                    3 => sign_extend(r.bits(20)?, 20),
                    _ => r.bits(64)? as i64,
                };
                t_delta = t_delta.wrapping_add(dod);
                t = t.wrapping_add(t_delta);
                v = xor_read(&mut r, v, &mut leading, &mut trailing)?;
            }
        }
        out.push(Sample::new(t, f64::from_bits(v)));
    }
    Some(out)
}

/// Reads an `n`-bit two's complement value, as the writer's low bits of an i64.
fn sign_extend(v: u64, n: u32) -> i64 {
    // Prometheus' buckets include +2^(n-1), which reads back as negative here; it writes it
    // only when the value fits, so map the one ambiguous pattern back to positive.
    let half = 1u64 << (n - 1);
    if v == half {
        return half as i64;
    }
    ((v << (64 - n)) as i64) >> (64 - n)
}

fn xor_read(r: &mut BitReader<'_>, v: u64, leading: &mut u32, trailing: &mut u32) -> Option<u64> {
    if !r.bit()? {
        return Some(v);
    }
    if r.bit()? {
        *leading = r.bits(5)? as u32;
        let mut sig = r.bits(6)? as u32;
        if sig == 0 {
            sig = 64;
        }
        *trailing = 64u32.checked_sub(*leading + sig)?;
    }
    let sig = 64u32.checked_sub(*leading + *trailing)?;
    let bits = r.bits(sig)?;
    Some(v ^ bits.checked_shl(*trailing).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::stale_nan;

    fn round_trip(samples: &[Sample]) {
        let chunk = encode_xor(samples);
        assert_eq!(decode_xor(&chunk).as_deref(), Some(samples));
    }

    #[test]
    fn xor_round_trips() {
        round_trip(&[]);
        round_trip(&[Sample::new(-5, 1.0)]);
        round_trip(&[Sample::new(1000, 1.0), Sample::new(1015, 1.0)]);
        let mut s: Vec<Sample> = (0..120)
            .map(|i| {
                Sample::new(
                    1_700_000_000_000 + i * 15_000 + (i % 7) * 3,
                    (i as f64).sqrt(),
                )
            })
            .collect();
        s[10].v = stale_nan();
        s[11].v = f64::NAN;
        s[12].v = f64::INFINITY;
        s[13].v = -0.0;
        s[50].t += 8193;
        s[51].t += 8193 + 65_537;
        s[52].t += 8193 + 65_537 + 524_289;
        s[53].t += 1 << 40;
        round_trip(&s);
    }

    #[test]
    fn every_delta_of_delta_bucket_edge() {
        for n in [14u32, 17, 20] {
            for dod in [
                (1i64 << (n - 1)),
                -((1i64 << (n - 1)) - 1),
                (1i64 << (n - 1)) + 1,
            ] {
                round_trip(&[
                    Sample::new(0, 0.0),
                    Sample::new(10, 1.0),
                    Sample::new(20 + dod, 2.0),
                ]);
            }
        }
        round_trip(&[
            Sample::new(i64::MIN, 0.0),
            Sample::new(i64::MAX, 1.0),
            Sample::new(0, 2.0),
        ]);
    }

    #[test]
    fn known_chunk_bytes() {
        // Two equal samples 1 ms apart: header 0x0002, zigzag varint 0x02 (t=1), the value's
        // 64 bits, uvarint delta 0x01, then a single 0 bit for the unchanged value.
        let c = encode_xor(&[Sample::new(1, 1.0), Sample::new(2, 1.0)]);
        let mut want = vec![0, 2, 2];
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[1, 0]);
        assert_eq!(c, want);
    }

    proptest::proptest! {
        #[test]
        fn xor_round_trips_any_samples(
            raw in proptest::collection::vec((proptest::prelude::any::<i64>(), proptest::prelude::any::<u64>()), 0..130),
            small_steps in proptest::prelude::any::<bool>(),
        ) {
            let samples: Vec<Sample> = raw
                .iter()
                .enumerate()
                .map(|(i, &(t, v))| {
                    let t = if small_steps { i as i64 * 15_000 + t % 5_000 } else { t };
                    Sample::new(t, f64::from_bits(v))
                })
                .collect();
            let chunk = encode_xor(&samples);
            proptest::prop_assert_eq!(decode_xor(&chunk), Some(samples));
        }

        #[test]
        fn xor_decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = decode_xor(&bytes);
        }
    }

    #[test]
    fn truncated_chunks_are_refused() {
        let s: Vec<Sample> = (0..20)
            .map(|i| Sample::new(i * 1000, i as f64 * 0.5))
            .collect();
        let c = encode_xor(&s);
        for n in 0..c.len() - 1 {
            let _ = decode_xor(&c[..n]);
        }
        assert!(decode_xor(&c[..c.len() / 2]).is_none());
    }
}
