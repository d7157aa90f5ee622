//! A minimal protobuf reader and writer.
//!
//! The reader borrows from its input and never allocates: length-delimited fields come back as
//! sub-slices, so strings can be handed out as `&'a str` into the request body. It is strict
//! where sloppiness would hide garbage (overlong varints, lengths past the end, groups, field
//! number 0) and lenient where protobuf says to be (unknown fields of every other wire type are
//! skipped).

use crate::error::{Result, WireError};

/// The protobuf wire types this reader understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl WireType {
    fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "fixed32",
        }
    }
}

/// A cursor over one protobuf message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    ctx: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`; `ctx` names the message in error messages.
    pub(crate) fn new(buf: &'a [u8], ctx: &'static str) -> Self {
        Reader { buf, pos: 0, ctx }
    }

    fn err(&self, reason: impl Into<String>) -> WireError {
        WireError::protobuf(self.ctx, reason)
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, WireType)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.pos;
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(self.err(format!("invalid field number {field} at offset {at}")));
        }
        let wt = match tag & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            3 | 4 => {
                return Err(self.err(format!("group wire type for field {field} at offset {at}")));
            }
            w => return Err(self.err(format!("invalid wire type {w} at offset {at}"))),
        };
        Ok(Some((field as u32, wt)))
    }

    /// A base-128 varint of at most ten bytes whose value fits in 64 bits.
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err(format!("truncated varint at offset {}", self.pos)));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err(format!("varint overflows 64 bits at offset {}", self.pos)));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err(format!(
            "varint longer than 10 bytes at offset {}",
            self.pos
        )))
    }

    /// Eight little-endian bytes.
    pub(crate) fn fixed64(&mut self) -> Result<u64> {
        let end = self.pos + 8;
        let Some(b) = self.buf.get(self.pos..end) else {
            return Err(self.err(format!("truncated fixed64 at offset {}", self.pos)));
        };
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Four little-endian bytes.
    pub(crate) fn fixed32(&mut self) -> Result<u32> {
        let end = self.pos + 4;
        let Some(b) = self.buf.get(self.pos..end) else {
            return Err(self.err(format!("truncated fixed32 at offset {}", self.pos)));
        };
        self.pos = end;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// The payload of a length-delimited field.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let at = self.pos;
        let len = self.varint()?;
        let rest = self.buf.len() - self.pos;
        if len > rest as u64 {
            return Err(self.err(format!(
                "length {len} at offset {at} runs past the end ({rest} bytes left)"
            )));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// Skips a field's value of wire type `wt`.
    pub(crate) fn skip(&mut self, wt: WireType) -> Result<()> {
        match wt {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed64().map(drop),
            WireType::Fixed32 => self.fixed32().map(drop),
            WireType::Len => self.bytes().map(drop),
        }
    }

    /// Checks that field `field` came with wire type `want`.
    pub(crate) fn expect(&self, field: u32, got: WireType, want: WireType) -> Result<()> {
        if got == want {
            Ok(())
        } else {
            Err(self.err(format!(
                "field {field} has wire type {}, expected {}",
                got.name(),
                want.name()
            )))
        }
    }

    /// A double (fixed64) field, bits kept exactly.
    pub(crate) fn double(&mut self, field: u32, wt: WireType) -> Result<f64> {
        self.expect(field, wt, WireType::Fixed64)?;
        Ok(f64::from_bits(self.fixed64()?))
    }

    /// A varint field (int64, uint64, enum, bool...).
    pub(crate) fn varint_field(&mut self, field: u32, wt: WireType) -> Result<u64> {
        self.expect(field, wt, WireType::Varint)?;
        self.varint()
    }

    /// A length-delimited field.
    pub(crate) fn len_field(&mut self, field: u32, wt: WireType) -> Result<&'a [u8]> {
        self.expect(field, wt, WireType::Len)?;
        self.bytes()
    }

    /// A repeated varint field, packed or not: calls `f` for each element.
    pub(crate) fn repeated_varint(
        &mut self,
        field: u32,
        wt: WireType,
        mut f: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        match wt {
            WireType::Varint => f(self.varint()?),
            WireType::Len => {
                let mut inner = Reader::new(self.bytes()?, self.ctx);
                while !inner.is_empty() {
                    f(inner.varint()?)?;
                }
                Ok(())
            }
            _ => self.expect(field, wt, WireType::Len),
        }
    }

    /// A repeated double field, packed or not: calls `f` for each element.
    pub(crate) fn repeated_double(
        &mut self,
        field: u32,
        wt: WireType,
        mut f: impl FnMut(f64) -> Result<()>,
    ) -> Result<()> {
        match wt {
            WireType::Fixed64 => f(f64::from_bits(self.fixed64()?)),
            WireType::Len => {
                let b = self.bytes()?;
                if b.len() % 8 != 0 {
                    return Err(self.err(format!(
                        "packed doubles of field {field} have length {} (not a multiple of 8)",
                        b.len()
                    )));
                }
                for c in b.chunks_exact(8) {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f(f64::from_bits(u64::from_le_bytes(a)))?;
                }
                Ok(())
            }
            _ => self.expect(field, wt, WireType::Len),
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True once every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// Decodes a zigzag-encoded sint64.
pub(crate) fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Decodes a zigzag-encoded sint32 (the upper 32 bits of the varint are ignored, as protobuf
/// does).
pub(crate) fn zigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Validates `b` as UTF-8, naming the field lazily on failure.
pub(crate) fn utf8(b: &[u8], field: impl FnOnce() -> String) -> Result<&str> {
    std::str::from_utf8(b).map_err(|_| WireError::InvalidUtf8 { field: field() })
}

/// A protobuf writer for the (non-hot-path) encoders.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn tag(&mut self, field: u32, wt: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wt));
    }

    pub(crate) fn uint(&mut self, field: u32, v: u64) {
        self.tag(field, 0);
        self.varint(v);
    }

    pub(crate) fn int(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }

    pub(crate) fn sint(&mut self, field: u32, v: i64) {
        self.uint(field, ((v << 1) ^ (v >> 63)) as u64);
    }

    pub(crate) fn double(&mut self, field: u32, v: f64) {
        self.tag(field, 1);
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        f(&mut inner);
        self.bytes(field, &inner.buf);
    }

    pub(crate) fn packed_varints(&mut self, field: u32, vs: impl IntoIterator<Item = u64>) {
        let mut inner = Writer::default();
        for v in vs {
            inner.varint(v);
        }
        if !inner.buf.is_empty() {
            self.bytes(field, &inner.buf);
        }
    }

    pub(crate) fn packed_doubles(&mut self, field: u32, vs: &[f64]) {
        if vs.is_empty() {
            return;
        }
        self.tag(field, 2);
        self.varint(vs.len() as u64 * 8);
        for v in vs {
            self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_limits() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut w = Writer::default();
            w.varint(v);
            let mut r = Reader::new(&w.buf, "t");
            assert_eq!(r.varint().unwrap(), v);
            assert!(r.is_empty());
        }
        // Eleven bytes, and ten bytes whose last one carries more than one bit.
        let long = [
            0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00,
        ];
        assert!(Reader::new(&long, "t").varint().is_err());
        let overflow = [0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(Reader::new(&overflow, "t").varint().is_err());
        assert!(Reader::new(&[0x80], "t").varint().is_err());
    }

    #[test]
    fn groups_field_zero_and_bad_wire_types_are_errors() {
        for tag in [0x0bu8, 0x0c, 0x0e, 0x0f, 0x00, 0x02] {
            let e = Reader::new(&[tag, 0], "t").next_field();
            assert!(e.is_err(), "tag {tag:#x}");
        }
    }

    #[test]
    fn skips_every_wire_type() {
        let mut w = Writer::default();
        w.uint(7, 300);
        w.double(8, 1.5);
        w.bytes(9, b"abc");
        w.tag(10, 5);
        w.buf.extend_from_slice(&[1, 2, 3, 4]);
        w.uint(1, 42);
        let mut r = Reader::new(&w.buf, "t");
        let mut seen = None;
        while let Some((f, wt)) = r.next_field().unwrap() {
            if f == 1 {
                seen = Some(r.varint_field(f, wt).unwrap());
            } else {
                r.skip(wt).unwrap();
            }
        }
        assert_eq!(seen, Some(42));
    }

    #[test]
    fn repeated_fields_packed_and_unpacked() {
        let mut w = Writer::default();
        w.packed_doubles(1, &[1.5, f64::from_bits(0x7ff0_0000_0000_0002)]);
        w.double(1, -2.0);
        w.packed_varints(2, [1, 300]);
        w.uint(2, 7);
        let (mut doubles, mut ints) = (Vec::new(), Vec::new());
        let mut r = Reader::new(&w.buf, "t");
        while let Some((f, wt)) = r.next_field().unwrap() {
            match f {
                1 => r
                    .repeated_double(f, wt, |d| {
                        doubles.push(d.to_bits());
                        Ok(())
                    })
                    .unwrap(),
                _ => r
                    .repeated_varint(f, wt, |v| {
                        ints.push(v);
                        Ok(())
                    })
                    .unwrap(),
            }
        }
        assert_eq!(
            doubles,
            [1.5f64.to_bits(), 0x7ff0_0000_0000_0002, (-2.0f64).to_bits()]
        );
        assert_eq!(ints, [1, 300, 7]);
        // Packed doubles whose length is not a multiple of 8, a truncated packed varint, and
        // a repeated double sent as a varint are all malformed.
        for bad in [vec![0x0a, 3, 1, 2, 3], vec![0x12, 1, 0x80], vec![0x08, 1]] {
            let mut r = Reader::new(&bad, "t");
            let (f, wt) = r.next_field().unwrap().unwrap();
            let res = if f == 1 {
                r.repeated_double(f, wt, |_| Ok(()))
            } else {
                r.repeated_varint(f, wt, |_| Ok(()))
            };
            assert!(res.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zigzag() {
        assert_eq!(zigzag64(0), 0);
        assert_eq!(zigzag64(1), -1);
        assert_eq!(zigzag64(2), 1);
        assert_eq!(zigzag64(u64::MAX), i64::MIN);
        assert_eq!(zigzag32(3), -2);
        assert_eq!(zigzag32(u64::from(u32::MAX)), i32::MIN);
    }

    #[test]
    fn length_past_end_is_an_error() {
        assert!(Reader::new(&[0x0a, 0x05, 1, 2], "t").bytes().is_err());
        let mut r = Reader::new(&[0x0a, 0x05, 1, 2], "t");
        r.next_field().unwrap();
        assert!(r.bytes().is_err());
    }
}
