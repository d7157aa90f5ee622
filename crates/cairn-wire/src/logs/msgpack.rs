//! A small msgpack reader and writer, hardened for hostile input: every count is checked
//! against the bytes left before anything is allocated, nesting is bounded, and payloads
//! are borrowed from the input.

use super::fluent::FieldValue;

/// A decoded msgpack header: the value itself for scalars, the length for the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Head {
    Nil,
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Str(usize),
    Bin(usize),
    Ext(i8, usize),
    Array(usize),
    Map(usize),
}

/// Why a msgpack value could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MpError {
    /// The input ends inside a value.
    Truncated,
    /// Anything else, with the offset it was found at.
    Invalid(usize, String),
}

impl MpError {
    pub(crate) fn describe(&self) -> String {
        match self {
            MpError::Truncated => "msgpack value truncated".to_string(),
            MpError::Invalid(at, why) => format!("invalid msgpack at offset {at}: {why}"),
        }
    }
}

type MpResult<T> = Result<T, MpError>;

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

/// Reads the header at `pos`: the head and the header's length in bytes.
#[inline(always)]
pub(crate) fn read_head(buf: &[u8], pos: usize) -> MpResult<(Head, usize)> {
    let Some(&m) = buf.get(pos) else {
        return Err(MpError::Truncated);
    };
    let extra = |n: usize| -> MpResult<u64> {
        buf.get(pos + 1..pos + 1 + n)
            .map(be)
            .ok_or(MpError::Truncated)
    };
    let h = match m {
        0x00..=0x7f => (Head::UInt(u64::from(m)), 1),
        0x80..=0x8f => (Head::Map(usize::from(m & 0x0f)), 1),
        0x90..=0x9f => (Head::Array(usize::from(m & 0x0f)), 1),
        0xa0..=0xbf => (Head::Str(usize::from(m & 0x1f)), 1),
        0xc0 => (Head::Nil, 1),
        0xc1 => {
            return Err(MpError::Invalid(pos, "reserved byte 0xc1".into()));
        }
        0xc2 => (Head::Bool(false), 1),
        0xc3 => (Head::Bool(true), 1),
        0xc4 => (Head::Bin(extra(1)? as usize), 2),
        0xc5 => (Head::Bin(extra(2)? as usize), 3),
        0xc6 => (Head::Bin(extra(4)? as usize), 5),
        0xc7..=0xc9 => {
            let n = 1usize << (m - 0xc7);
            let len = extra(n)? as usize;
            let t = *buf.get(pos + 1 + n).ok_or(MpError::Truncated)? as i8;
            (Head::Ext(t, len), 2 + n)
        }
        0xca => (Head::Float(f64::from(f32::from_bits(extra(4)? as u32))), 5),
        0xcb => (Head::Float(f64::from_bits(extra(8)?)), 9),
        0xcc => (Head::UInt(extra(1)?), 2),
        0xcd => (Head::UInt(extra(2)?), 3),
        0xce => (Head::UInt(extra(4)?), 5),
        0xcf => (Head::UInt(extra(8)?), 9),
        0xd0 => (Head::Int(i64::from(extra(1)? as u8 as i8)), 2),
        0xd1 => (Head::Int(i64::from(extra(2)? as u16 as i16)), 3),
        0xd2 => (Head::Int(i64::from(extra(4)? as u32 as i32)), 5),
        0xd3 => (Head::Int(extra(8)? as i64), 9),
        0xd4..=0xd8 => {
            let t = *buf.get(pos + 1).ok_or(MpError::Truncated)? as i8;
            (Head::Ext(t, 1usize << (m - 0xd4)), 2)
        }
        0xd9 => (Head::Str(extra(1)? as usize), 2),
        0xda => (Head::Str(extra(2)? as usize), 3),
        0xdb => (Head::Str(extra(4)? as usize), 5),
        0xdc => (Head::Array(extra(2)? as usize), 3),
        0xdd => (Head::Array(extra(4)? as usize), 5),
        0xde => (Head::Map(extra(2)? as usize), 3),
        0xdf => (Head::Map(extra(4)? as usize), 5),
        0xe0..=0xff => (Head::Int(i64::from(m as i8)), 1),
    };
    Ok(h)
}

/// A cursor over a complete msgpack buffer.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], max_depth: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            max_depth,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn invalid<T>(&self, at: usize, why: impl Into<String>) -> MpResult<T> {
        Err(MpError::Invalid(at, why.into()))
    }

    pub(crate) fn peek(&self) -> MpResult<Head> {
        read_head(self.buf, self.pos).map(|(h, _)| h)
    }

    /// The next header, with array and map counts checked against the bytes left (every
    /// element takes at least one byte) so that no caller allocates for a lie.
    #[inline]
    pub(crate) fn head(&mut self) -> MpResult<Head> {
        let at = self.pos;
        let (h, n) = read_head(self.buf, self.pos)?;
        self.pos += n;
        let left = self.buf.len() - self.pos;
        match h {
            Head::Array(c) if c > left => {
                self.invalid(at, format!("array of {c} elements in {left} bytes"))
            }
            Head::Map(c) if c.saturating_mul(2) > left => {
                self.invalid(at, format!("map of {c} entries in {left} bytes"))
            }
            Head::Str(l) | Head::Bin(l) | Head::Ext(_, l) if l > left => Err(MpError::Truncated),
            h => Ok(h),
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        // `head` checked that `n` bytes are there.
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// The payload of a str or bin.
    pub(crate) fn bytes(&mut self) -> MpResult<Option<&'a [u8]>> {
        let at = self.pos;
        match self.head()? {
            Head::Str(n) | Head::Bin(n) => Ok(Some(self.take(n))),
            _ => {
                self.pos = at;
                Ok(None)
            }
        }
    }

    /// Skips one value of any kind.
    pub(crate) fn skip(&mut self) -> MpResult<()> {
        let mut open: Vec<usize> = Vec::new();
        loop {
            let at = self.pos;
            let children = match self.head()? {
                Head::Str(n) | Head::Bin(n) | Head::Ext(_, n) => {
                    self.take(n);
                    0
                }
                Head::Array(c) => c,
                // `head` checked that twice the count fits in the bytes left.
                Head::Map(c) => c * 2,
                _ => 0,
            };
            if children > 0 {
                if open.len() >= self.max_depth {
                    return self.invalid(at, format!("nesting deeper than {}", self.max_depth));
                }
                open.push(children);
                continue;
            }
            loop {
                match open.last_mut() {
                    None => return Ok(()),
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        open.pop();
                    }
                }
            }
        }
    }

    /// One value as a [`FieldValue`]; strings with invalid UTF-8 get U+FFFD, non-string map
    /// keys are written out as text, extension values keep their payload as bytes.
    #[cfg(test)]
    pub(crate) fn value(&mut self) -> MpResult<FieldValue> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> MpResult<FieldValue> {
        let at = self.pos;
        Ok(match self.head()? {
            Head::Nil => FieldValue::Null,
            Head::Bool(b) => FieldValue::Bool(b),
            Head::UInt(v) => match i64::try_from(v) {
                Ok(i) => FieldValue::Int(i),
                Err(_) => FieldValue::UInt(v),
            },
            Head::Int(v) => FieldValue::Int(v),
            Head::Float(f) => FieldValue::Float(f),
            Head::Str(n) => FieldValue::Str(super::loki::lossy(self.take(n))),
            Head::Bin(n) | Head::Ext(_, n) => FieldValue::Bin(self.take(n).to_vec()),
            Head::Array(c) => {
                if depth >= self.max_depth {
                    return self.invalid(at, format!("nesting deeper than {}", self.max_depth));
                }
                let mut v = Vec::with_capacity(c);
                for _ in 0..c {
                    v.push(self.value_at(depth + 1)?);
                }
                FieldValue::Array(v)
            }
            Head::Map(c) => {
                if depth >= self.max_depth {
                    return self.invalid(at, format!("nesting deeper than {}", self.max_depth));
                }
                FieldValue::Map(self.map_body(c, depth + 1)?)
            }
        })
    }

    /// A map's entries after its header.
    pub(crate) fn map_body(
        &mut self,
        c: usize,
        depth: usize,
    ) -> MpResult<Vec<(String, FieldValue)>> {
        let mut m = Vec::with_capacity(c);
        for _ in 0..c {
            let k = match self.bytes()? {
                Some(b) => super::loki::lossy(b),
                None => self.value_at(depth)?.to_text(),
            };
            let v = self.value_at(depth)?;
            m.push((k, v));
        }
        Ok(m)
    }

    /// A map value (the record of an event), or `None` if the next value is not a map.
    pub(crate) fn map(&mut self) -> MpResult<Option<Vec<(String, FieldValue)>>> {
        let at = self.pos;
        match self.head()? {
            Head::Map(c) => {
                if self.max_depth == 0 {
                    return self.invalid(at, "nesting deeper than 0");
                }
                self.map_body(c, 1).map(Some)
            }
            _ => {
                self.pos = at;
                Ok(None)
            }
        }
    }
}

/// An event time as the forward protocol and Fluent Bit's chunks carry it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum EventTime {
    /// Nanoseconds since the epoch.
    Ns(i64),
    /// `0` or `nil`: the receiver's clock decides (Fluentd's rule).
    Unset,
    /// Fluent Bit's group start (-1) and end (-2) markers.
    GroupMarker,
}

impl Reader<'_> {
    /// A time: integer seconds, float seconds, or EventTime (ext type 0, 8 bytes: big-endian
    /// u32 seconds and u32 nanoseconds). `None` if the next value is none of these.
    pub(crate) fn time(&mut self) -> MpResult<Option<EventTime>> {
        let at = self.pos;
        let t = match self.head()? {
            Head::Nil | Head::UInt(0) => EventTime::Unset,
            Head::UInt(s) => match i64::try_from(s)
                .ok()
                .and_then(|s| s.checked_mul(1_000_000_000))
            {
                Some(ns) => EventTime::Ns(ns),
                None => return self.invalid(at, format!("time {s} s out of range")),
            },
            Head::Int(-1) | Head::Int(-2) => EventTime::GroupMarker,
            Head::Int(s) => match s.checked_mul(1_000_000_000) {
                Some(ns) => EventTime::Ns(ns),
                None => return self.invalid(at, format!("time {s} s out of range")),
            },
            Head::Float(f) => match float_time(f) {
                Some(t) => t,
                None => return self.invalid(at, format!("time {f} s out of range")),
            },
            Head::Ext(0, 8) => {
                let b = self.take(8);
                let secs = be(&b[..4]) as u32;
                let nanos = be(&b[4..]) as u32;
                if secs >= u32::MAX - 1 && nanos == 0 {
                    EventTime::GroupMarker
                } else if nanos >= 1_000_000_000 {
                    return self.invalid(at, format!("EventTime nanoseconds {nanos} out of range"));
                } else {
                    EventTime::Ns(i64::from(secs) * 1_000_000_000 + i64::from(nanos))
                }
            }
            _ => {
                self.pos = at;
                return Ok(None);
            }
        };
        Ok(Some(t))
    }
}

/// A float time: Fluent Bit's markers are -1.0 and -2.0, zero means unset.
fn float_time(f: f64) -> Option<EventTime> {
    if f == -1.0 || f == -2.0 {
        Some(EventTime::GroupMarker)
    } else if f == 0.0 {
        Some(EventTime::Unset)
    } else {
        super::fluent::secs_f64_to_ns(f).map(EventTime::Ns)
    }
}

/// Finds where one msgpack value ends in a byte stream that arrives in pieces, resuming
/// where it stopped: each byte is looked at about once however the stream is cut.
#[derive(Clone, Debug, Default)]
pub(crate) struct Framer {
    /// Offset (from the value's start) of the next header to read.
    pos: usize,
    /// Elements still to read in each open array or map, innermost last.
    open: Vec<usize>,
}

impl Framer {
    /// True when no partly scanned value is pending.
    pub(crate) fn is_idle(&self) -> bool {
        self.pos == 0 && self.open.is_empty()
    }

    /// Given the bytes from the value's start, returns its length once complete.
    pub(crate) fn advance(&mut self, buf: &[u8], max_depth: usize) -> MpResult<Option<usize>> {
        loop {
            let (h, n) = match read_head(buf, self.pos) {
                Ok(x) => x,
                Err(MpError::Truncated) => return Ok(None),
                Err(MpError::Invalid(at, why)) => return Err(MpError::Invalid(at, why)),
            };
            let payload = match h {
                Head::Str(l) | Head::Bin(l) | Head::Ext(_, l) => l,
                _ => 0,
            };
            let end = self.pos + n + payload;
            if end > buf.len() {
                return Ok(None);
            }
            let at = self.pos;
            self.pos = end;
            let children = match h {
                Head::Array(c) => Some(c),
                Head::Map(c) => Some(c.saturating_mul(2)),
                _ => None,
            };
            match children {
                Some(c) if c > 0 => {
                    if self.open.len() >= max_depth {
                        return Err(MpError::Invalid(
                            at,
                            format!("nesting deeper than {max_depth}"),
                        ));
                    }
                    self.open.push(c);
                    continue;
                }
                _ => {}
            }
            // One value done: close every container it completes.
            loop {
                match self.open.last_mut() {
                    None => {
                        let len = self.pos;
                        *self = Framer::default();
                        return Ok(Some(len));
                    }
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.open.pop();
                    }
                }
            }
        }
    }
}

/// A msgpack writer.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    fn len_head(&mut self, fix: u8, fix_max: usize, m8: Option<u8>, m16: u8, m32: u8, n: usize) {
        if n <= fix_max {
            self.buf.push(fix | n as u8);
        } else if let Some(m8) = m8.filter(|_| n <= 0xff) {
            self.buf.extend_from_slice(&[m8, n as u8]);
        } else if n <= 0xffff {
            self.buf.push(m16);
            self.buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            self.buf.push(m32);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }

    pub(crate) fn array(&mut self, n: usize) {
        self.len_head(0x90, 15, None, 0xdc, 0xdd, n);
    }

    pub(crate) fn map(&mut self, n: usize) {
        self.len_head(0x80, 15, None, 0xde, 0xdf, n);
    }

    pub(crate) fn str(&mut self, s: impl AsRef<[u8]>) {
        let s = s.as_ref();
        self.len_head(0xa0, 31, Some(0xd9), 0xda, 0xdb, s.len());
        self.buf.extend_from_slice(s);
    }

    pub(crate) fn bin(&mut self, b: &[u8]) {
        if b.len() <= 0xff {
            self.buf.extend_from_slice(&[0xc4, b.len() as u8]);
        } else if b.len() <= 0xffff {
            self.buf.push(0xc5);
            self.buf.extend_from_slice(&(b.len() as u16).to_be_bytes());
        } else {
            self.buf.push(0xc6);
            self.buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
        }
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn nil(&mut self) {
        self.buf.push(0xc0);
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.buf.push(if b { 0xc3 } else { 0xc2 });
    }

    pub(crate) fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else if v >= -32 {
            self.buf.push(v as u8);
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.buf.push(v as u8);
        } else if v <= 0xff {
            self.buf.extend_from_slice(&[0xcc, v as u8]);
        } else if v <= 0xffff_ffff {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn float(&mut self, f: f64) {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&f.to_bits().to_be_bytes());
    }

    /// EventTime: ext type 0, big-endian u32 seconds and u32 nanoseconds.
    pub(crate) fn event_time(&mut self, ts_ns: i64) {
        let secs = ts_ns.div_euclid(1_000_000_000) as u32;
        let nanos = ts_ns.rem_euclid(1_000_000_000) as u32;
        self.buf.extend_from_slice(&[0xd7, 0x00]);
        self.buf.extend_from_slice(&secs.to_be_bytes());
        self.buf.extend_from_slice(&nanos.to_be_bytes());
    }

    pub(crate) fn value(&mut self, v: &FieldValue) {
        match v {
            FieldValue::Null => self.nil(),
            FieldValue::Bool(b) => self.bool(*b),
            FieldValue::Int(i) => self.int(*i),
            FieldValue::UInt(u) => self.uint(*u),
            FieldValue::Float(f) => self.float(*f),
            FieldValue::Str(s) => self.str(s),
            FieldValue::Bin(b) => self.bin(b),
            FieldValue::Array(a) => {
                self.array(a.len());
                for x in a {
                    self.value(x);
                }
            }
            FieldValue::Map(m) => self.fields(m),
        }
    }

    pub(crate) fn fields(&mut self, m: &[(String, FieldValue)]) {
        self.map(m.len());
        for (k, x) in m {
            self.str(k);
            self.value(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_round_trips() {
        let v = FieldValue::Map(vec![
            ("nil".into(), FieldValue::Null),
            ("t".into(), FieldValue::Bool(true)),
            (
                "i".into(),
                FieldValue::Array(vec![
                    FieldValue::Int(0),
                    FieldValue::Int(127),
                    FieldValue::Int(128),
                    FieldValue::Int(70000),
                    FieldValue::Int(1 << 40),
                    FieldValue::Int(-1),
                    FieldValue::Int(-33),
                    FieldValue::Int(i64::MIN),
                    FieldValue::UInt(u64::MAX),
                ]),
            ),
            ("f".into(), FieldValue::Float(1.5)),
            ("s".into(), FieldValue::Str("x".repeat(40))),
            ("long".into(), FieldValue::Str("y".repeat(70000))),
            ("b".into(), FieldValue::Bin(vec![0, 1, 2])),
            (
                "a".into(),
                FieldValue::Array((0..20).map(FieldValue::Int).collect()),
            ),
        ]);
        let mut w = Writer::default();
        w.value(&v);
        let mut r = Reader::new(&w.buf, 8);
        assert_eq!(r.value().unwrap(), v);
        assert!(r.is_empty());
        let mut r = Reader::new(&w.buf, 8);
        r.skip().unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn hand_written_bytes() {
        // float32 1.5, int8 -5, int16 -300, uint16 300, str8 "ab", fixext8 type 0.
        let cases: [(&[u8], Head); 6] = [
            (&[0xca, 0x3f, 0xc0, 0, 0], Head::Float(1.5)),
            (&[0xd0, 0xfb], Head::Int(-5)),
            (&[0xd1, 0xfe, 0xd4], Head::Int(-300)),
            (&[0xcd, 0x01, 0x2c], Head::UInt(300)),
            (&[0xd9, 2, b'a', b'b'], Head::Str(2)),
            (&[0xd7, 0, 0, 0, 0, 1, 0, 0, 0, 2], Head::Ext(0, 8)),
        ];
        for (b, h) in cases {
            assert_eq!(read_head(b, 0).unwrap().0, h, "{b:x?}");
        }
        // Non-string keys become text; invalid UTF-8 is replaced.
        let b = [0x82, 0x01, 0xc3, 0xa2, 0xff, b'a', 0xa1, b'v'];
        let mut r = Reader::new(&b, 4);
        assert_eq!(
            r.value().unwrap(),
            FieldValue::Map(vec![
                ("1".into(), FieldValue::Bool(true)),
                ("\u{fffd}a".into(), FieldValue::Str("v".into())),
            ])
        );
    }

    #[test]
    fn lying_counts_and_depth_are_refused_without_allocating() {
        // array32 of 4 billion elements in 5 bytes; map32 likewise; str32 past the end.
        for b in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0, 0],
            &[0xdb, 0, 0, 1, 0, b'a'],
            &[0xc1],
            &[0xcf, 1, 2],
        ] {
            assert!(Reader::new(b, 8).value().is_err(), "{b:x?}");
            assert!(Reader::new(b, 8).skip().is_err(), "{b:x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 100).chain([0xc0]).collect();
        assert!(Reader::new(&deep, 200).value().is_ok());
        assert!(matches!(
            Reader::new(&deep, 50).value(),
            Err(MpError::Invalid(..))
        ));
        assert!(matches!(
            Reader::new(&deep, 50).skip(),
            Err(MpError::Invalid(..))
        ));
        assert!(matches!(
            Framer::default().advance(&deep, 50),
            Err(MpError::Invalid(..))
        ));
    }

    #[test]
    fn times() {
        let mut w = Writer::default();
        w.event_time(1_700_000_000_123_456_789);
        w.uint(1_700_000_000);
        w.float(1_700_000_000.5);
        w.nil();
        w.buf
            .extend_from_slice(&[0xd7, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        w.float(-2.0);
        w.str("x");
        let mut r = Reader::new(&w.buf, 4);
        assert_eq!(
            r.time().unwrap(),
            Some(EventTime::Ns(1_700_000_000_123_456_789))
        );
        assert_eq!(
            r.time().unwrap(),
            Some(EventTime::Ns(1_700_000_000_000_000_000))
        );
        assert_eq!(
            r.time().unwrap(),
            Some(EventTime::Ns(1_700_000_000_500_000_000))
        );
        assert_eq!(r.time().unwrap(), Some(EventTime::Unset));
        assert_eq!(r.time().unwrap(), Some(EventTime::GroupMarker));
        assert_eq!(r.time().unwrap(), Some(EventTime::GroupMarker));
        assert_eq!(r.time().unwrap(), None);
        assert_eq!(r.bytes().unwrap(), Some(&b"x"[..]));
    }

    #[test]
    fn framer_resumes_across_any_cut() {
        let mut w = Writer::default();
        w.array(3);
        w.str("tag");
        w.array(2);
        w.fields(&[("k".into(), FieldValue::Str("v".repeat(300)))]);
        w.map(0);
        w.nil();
        let whole = w.buf.clone();
        w.uint(7); // the next value
        for cut in 0..whole.len() {
            let mut f = Framer::default();
            assert_eq!(f.advance(&w.buf[..cut], 8).unwrap(), None, "cut {cut}");
            assert_eq!(
                f.advance(&w.buf, 8).unwrap(),
                Some(whole.len()),
                "cut {cut}"
            );
        }
        let mut f = Framer::default();
        assert_eq!(f.advance(&[0x05], 8).unwrap(), Some(1));
    }
}
