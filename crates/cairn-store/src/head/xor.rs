//! Gorilla's XOR value code, for chunks whose values are not all exact decimals (full
//! precision floats, NaN, stale markers, -0.0): each value is XOR-ed with the previous one
//! and written as `0` when equal, `10` + the meaningful bits when they fit the previous
//! leading/trailing zero window, else `11` + 5 bits leading zeros + 6 bits length + the bits.

use super::bits::{BitReader, BitWriter};

/// The leading/trailing zero window of the previous XOR, shared by writer and reader.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XorWindow {
    leading: u8,
    trailing: u8,
}

impl Default for XorWindow {
    fn default() -> Self {
        // 0xff: no window yet, the first XOR always writes its own.
        XorWindow {
            leading: 0xff,
            trailing: 0,
        }
    }
}

impl XorWindow {
    /// Writes `v` following `prev`.
    pub(crate) fn write(&mut self, w: &mut BitWriter, prev: u64, v: u64) {
        let x = v ^ prev;
        if x == 0 {
            w.write_bit(false);
            return;
        }
        w.write_bit(true);
        // Five bits hold at most 31 leading zeros.
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            w.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            w.write_bits(x >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            w.write_bit(true);
            w.write_bits(u64::from(leading), 5);
            let sig = 64 - leading - trailing;
            // 64 significant bits are written as 0: a length of 0 cannot occur otherwise.
            w.write_bits(u64::from(sig & 63), 6);
            w.write_bits(x >> trailing, sig);
        }
    }

    /// Reads the value following `prev`.
    pub(crate) fn read(&mut self, r: &mut BitReader<'_>, prev: u64) -> Option<u64> {
        if !r.read_bit()? {
            return Some(prev);
        }
        if r.read_bit()? {
            self.leading = r.read_bits(5)? as u8;
            let mut sig = r.read_bits(6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            // A corrupt length would underflow; refuse it instead.
            self.trailing = 64u8.checked_sub(self.leading)?.checked_sub(sig)?;
        }
        let sig = 64u8.checked_sub(self.leading)?.checked_sub(self.trailing)?;
        let x = r.read_bits(sig)?;
        Some(prev ^ x.checked_shl(u32::from(self.trailing)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_round_trip(values in proptest::collection::vec((any::<u64>(), any::<bool>()), 0..200)) {
            let mut w = BitWriter::default();
            let mut win = XorWindow::default();
            let mut prev = 0u64;
            let mut written = Vec::new();
            for (v, repeat) in values {
                // Repeated values and small changes exercise the "same window" branches.
                let v = if repeat { prev ^ (v & 0xff00) } else { v };
                win.write(&mut w, prev, v);
                written.push(v);
                prev = v;
            }
            let mut r = BitReader::new(w.bytes());
            let mut win = XorWindow::default();
            let mut prev = 0u64;
            for v in written {
                let got = win.read(&mut r, prev);
                prop_assert_eq!(got, Some(v));
                prev = v;
            }
        }
    }
}
