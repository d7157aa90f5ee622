//! Remote write 1.0 requests and remote read (SAMPLES) requests and responses, encoded and
//! decoded here from `prompb/remote.proto` and `prompb/types.proto`.
//!
//! The tests carry their own small codec on purpose: a bug shared by the server's decoder and a
//! test encoder from the same crate would cancel out, an independent one shows up.

use std::collections::BTreeMap;

/// A label set, sorted by name.
pub(crate) type LabelSet = BTreeMap<String, String>;

/// One series to write or as read back: labels and `(timestamp ms, value)` samples.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TimeSeries {
    pub(crate) labels: LabelSet,
    pub(crate) samples: Vec<(i64, f64)>,
}

/// Label matcher types of `prompb.LabelMatcher`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MatchType {
    Eq = 0,
    Neq = 1,
    Re = 2,
}

/// A label set from `(name, value)` pairs.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn uint(&mut self, field: u32, v: u64) {
        self.varint(u64::from(field) << 3);
        self.varint(v);
    }

    fn double(&mut self, field: u32, v: f64) {
        self.varint((u64::from(field) << 3) | 1);
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.varint((u64::from(field) << 3) | 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        f(&mut inner);
        self.bytes(field, &inner.buf);
    }
}

/// A `prometheus.WriteRequest` (uncompressed protobuf) holding `series`.
pub(crate) fn encode_write_request(series: &[TimeSeries]) -> Vec<u8> {
    let mut w = Writer::default();
    for s in series {
        w.message(1, |ts| {
            for (n, v) in &s.labels {
                ts.message(1, |l| {
                    l.bytes(1, n.as_bytes());
                    l.bytes(2, v.as_bytes());
                });
            }
            for &(t, v) in &s.samples {
                ts.message(2, |sm| {
                    sm.double(1, v);
                    sm.uint(2, t as u64);
                });
            }
        });
    }
    w.buf
}

/// A snappy-compressed `prometheus.ReadRequest` with one query, accepting SAMPLES only.
pub(crate) fn encode_read_request(
    start_ms: i64,
    end_ms: i64,
    matchers: &[(MatchType, &str, &str)],
) -> Vec<u8> {
    let mut w = Writer::default();
    w.message(1, |q| {
        q.uint(1, start_ms as u64);
        q.uint(2, end_ms as u64);
        for (ty, n, v) in matchers {
            q.message(3, |m| {
                m.uint(1, *ty as u64);
                m.bytes(2, n.as_bytes());
                m.bytes(3, v.as_bytes());
            });
        }
    });
    w.uint(2, 0);
    snap::raw::Encoder::new()
        .compress_vec(&w.buf)
        .expect("a read request is far below snappy's 4 GiB block limit")
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| format!("truncated varint at {}", self.pos))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(format!("varint too long at {}", self.pos))
    }

    /// The next `(field, wire type)`, `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, u64)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        Ok(Some((tag >> 3, tag & 7)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| format!("{n} bytes at {} run past the end", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], String> {
        let n = self.varint()? as usize;
        self.take(n)
    }

    fn fixed64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn skip(&mut self, wire_type: u64) -> Result<(), String> {
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => self.len_delimited().map(drop),
            5 => self.take(4).map(drop),
            w => Err(format!("unexpected wire type {w} at {}", self.pos)),
        }
    }
}

fn decode_label(buf: &[u8]) -> Result<(String, String), String> {
    let mut r = Reader::new(buf);
    let (mut name, mut value) = (String::new(), String::new());
    while let Some((f, wt)) = r.field()? {
        match (f, wt) {
            (1, 2) => name = utf8(r.len_delimited()?)?,
            (2, 2) => value = utf8(r.len_delimited()?)?,
            _ => r.skip(wt)?,
        }
    }
    Ok((name, value))
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|e| format!("label is not utf-8: {e}"))
}

fn decode_sample(buf: &[u8]) -> Result<(i64, f64), String> {
    let mut r = Reader::new(buf);
    let (mut t, mut v) = (0i64, 0f64);
    while let Some((f, wt)) = r.field()? {
        match (f, wt) {
            (1, 1) => v = f64::from_bits(r.fixed64()?),
            (2, 0) => t = r.varint()? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok((t, v))
}

fn decode_series(buf: &[u8]) -> Result<TimeSeries, String> {
    let mut r = Reader::new(buf);
    let mut ts = TimeSeries {
        labels: LabelSet::new(),
        samples: Vec::new(),
    };
    while let Some((f, wt)) = r.field()? {
        match (f, wt) {
            (1, 2) => {
                let (n, v) = decode_label(r.len_delimited()?)?;
                if ts.labels.insert(n.clone(), v).is_some() {
                    return Err(format!("label {n:?} twice in one series"));
                }
            }
            (2, 2) => ts.samples.push(decode_sample(r.len_delimited()?)?),
            _ => r.skip(wt)?,
        }
    }
    Ok(ts)
}

/// The largest decoded read response the tests accept.
const MAX_READ_RESPONSE: usize = 1 << 30;

/// Decodes a snappy-compressed `prometheus.ReadResponse` into the series of its first result.
pub(crate) fn decode_read_response(body: &[u8]) -> Result<Vec<TimeSeries>, String> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| format!("read response is not a snappy block: {e}"))?;
    if len > MAX_READ_RESPONSE {
        return Err(format!("read response announces {len} bytes"));
    }
    let mut raw = vec![0u8; len];
    snap::raw::Decoder::new()
        .decompress(body, &mut raw)
        .map_err(|e| format!("read response is not a snappy block: {e}"))?;
    let mut r = Reader::new(&raw);
    let mut results = Vec::new();
    while let Some((f, wt)) = r.field()? {
        if (f, wt) == (1, 2) {
            let mut q = Reader::new(r.len_delimited()?);
            let mut series = Vec::new();
            while let Some((f, wt)) = q.field()? {
                if (f, wt) == (1, 2) {
                    series.push(decode_series(q.len_delimited()?)?);
                } else {
                    q.skip(wt)?;
                }
            }
            results.push(series);
        } else {
            r.skip(wt)?;
        }
    }
    if results.len() != 1 {
        return Err(format!("expected 1 query result, got {}", results.len()));
    }
    Ok(results.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_request_series_decode_back() {
        let s = TimeSeries {
            labels: labels(&[("__name__", "m"), ("a", "b")]),
            samples: vec![(-5, f64::from_bits(0x7ff0_0000_0000_0002)), (1 << 40, 1.5)],
        };
        let buf = encode_write_request(std::slice::from_ref(&s));
        let mut r = Reader::new(&buf);
        let (f, wt) = r.field().unwrap().unwrap();
        assert_eq!((f, wt), (1, 2));
        let back = decode_series(r.len_delimited().unwrap()).unwrap();
        assert_eq!(back.labels, s.labels);
        let bits = |v: &[(i64, f64)]| v.iter().map(|(t, v)| (*t, v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&back.samples), bits(&s.samples));
    }
}
