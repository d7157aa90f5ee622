//! WAL record framing and payloads.
//!
//! Frame: `len u32 LE | crc32 u32 LE | type u8 | payload`, where `len` counts the payload
//! bytes and the CRC-32 (IEEE) covers the type byte and the payload. Payloads start with the
//! tenant (`uvarint len, bytes`), then:
//! - Series: `uvarint n`, n times `uvarint ref, uvarint len, canonical label bytes`;
//! - Samples: `uvarint n`, n times `uvarint ref, varint (t - previous t), u64 LE value bits`
//!   (the first delta is against 0);
//! - Metadata: `uvarint n`, n times `bytes family, u8 type, bytes help, bytes unit`;
//! - Log entries: `uvarint n`, n times `uvarint ref, varint (ts - previous ts) in ns, bytes
//!   line, uvarint m, m times (bytes name, bytes value)` (the first delta is against 0). The
//!   `ref` is a stream's, defined by a series record of the same segment.
//! - Trace spans: the resource groups of one trace append (see [`spans`]).
//! - Exemplars: `uvarint n`, n times `bytes series labels, varint (t - previous t), u64 LE
//!   value bits, bytes exemplar labels` (canonical label bytes, the first delta against 0).
//!   The series is named by its labels, not a reference, because exemplars outlive head
//!   series: a checkpoint logs every exemplar again, whether or not its series has samples.

use crate::exemplars::Exemplar;
use cairn_model::{Labels, LogEntry, MetricMetadata, MetricType, ResourceSpans, TenantId};

mod spans;

/// Bytes of a frame header.
pub(crate) const HEADER_LEN: usize = 9;
/// Largest payload accepted on replay; a larger length can only be garbage.
pub(crate) const MAX_PAYLOAD: usize = 256 << 20;

/// Record types.
pub(crate) const TYPE_SERIES: u8 = 1;
pub(crate) const TYPE_SAMPLES: u8 = 2;
pub(crate) const TYPE_METADATA: u8 = 3;
pub(crate) const TYPE_LOG_ENTRIES: u8 = 4;
pub(crate) const TYPE_TRACE_SPANS: u8 = 5;
pub(crate) const TYPE_EXEMPLARS: u8 = 6;

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Record {
    /// Series definitions: reference and canonical label bytes.
    Series {
        tenant: TenantId,
        series: Vec<(u64, Labels)>,
    },
    /// Samples: reference, timestamp, value bits.
    Samples {
        tenant: TenantId,
        samples: Vec<(u64, i64, u64)>,
    },
    /// Metric family metadata.
    Metadata {
        tenant: TenantId,
        entries: Vec<(String, MetricMetadata)>,
    },
    /// Log entries: stream reference and entry.
    LogEntries {
        tenant: TenantId,
        entries: Vec<(u64, LogEntry)>,
    },
    /// Spans of one trace append, grouped by resource and scope.
    TraceSpans {
        tenant: TenantId,
        resources: Vec<ResourceSpans>,
    },
    /// Exemplars: series labels and exemplar.
    Exemplars {
        tenant: TenantId,
        exemplars: Vec<(Labels, Exemplar)>,
    },
}

pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Starts a record of `ty` for `tenant` in `buf`; returns its start for [`finish`].
pub(crate) fn begin(buf: &mut Vec<u8>, ty: u8, tenant: &TenantId) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    buf.push(ty);
    put_bytes(buf, tenant.as_str().as_bytes());
    start
}

/// Fills in the length and checksum of the record started at `start`.
pub(crate) fn finish(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start - HEADER_LEN) as u32;
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Encodes samples records, splitting every `max` samples.
pub(crate) struct SamplesEncoder {
    start: usize,
    count: usize,
    count_pos: usize,
    prev_t: i64,
    max: usize,
}

/// Width of the fixed count field of a samples record (a padded uvarint).
const COUNT_WIDTH: usize = 5;

impl SamplesEncoder {
    /// An encoder writing records of at most `max` samples.
    pub(crate) fn new(max: usize) -> Self {
        SamplesEncoder {
            start: usize::MAX,
            count: 0,
            count_pos: 0,
            prev_t: 0,
            max: max.clamp(1, 1 << 28),
        }
    }

    /// Adds one sample.
    pub(crate) fn push(&mut self, buf: &mut Vec<u8>, tenant: &TenantId, r: u64, t: i64, v: u64) {
        if self.start == usize::MAX {
            self.start = begin(buf, TYPE_SAMPLES, tenant);
            self.count_pos = buf.len();
            buf.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x00]);
            self.count = 0;
            self.prev_t = 0;
        }
        put_uvarint(buf, r);
        put_varint(buf, t.wrapping_sub(self.prev_t));
        buf.extend_from_slice(&v.to_le_bytes());
        self.prev_t = t;
        self.count += 1;
        if self.count >= self.max {
            self.finish(buf);
        }
    }

    /// Closes the open record, if any.
    pub(crate) fn finish(&mut self, buf: &mut [u8]) {
        if self.start == usize::MAX {
            return;
        }
        // A uvarint padded to a fixed width, so the count can be written last.
        let mut c = self.count as u64;
        for i in 0..COUNT_WIDTH {
            let more = if i + 1 < COUNT_WIDTH { 0x80 } else { 0 };
            buf[self.count_pos + i] = (c & 0x7f) as u8 | more;
            c >>= 7;
        }
        finish(buf, self.start);
        self.start = usize::MAX;
    }
}

/// Appends a series record.
pub(crate) fn encode_series<'a>(
    buf: &mut Vec<u8>,
    tenant: &TenantId,
    series: impl ExactSizeIterator<Item = (u64, &'a [u8])>,
) {
    let start = begin(buf, TYPE_SERIES, tenant);
    put_uvarint(buf, series.len() as u64);
    for (r, labels) in series {
        put_uvarint(buf, r);
        put_bytes(buf, labels);
    }
    finish(buf, start);
}

/// Appends a metadata record.
pub(crate) fn encode_metadata<'a>(
    buf: &mut Vec<u8>,
    tenant: &TenantId,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a MetricMetadata)>,
) {
    let start = begin(buf, TYPE_METADATA, tenant);
    put_uvarint(buf, entries.len() as u64);
    for (family, m) in entries {
        put_bytes(buf, family.as_bytes());
        buf.push(m.metric_type.to_wire());
        put_bytes(buf, m.help.as_bytes());
        put_bytes(buf, m.unit.as_bytes());
    }
    finish(buf, start);
}

/// Appends a log entries record.
pub(crate) fn encode_log_entries<'a>(
    buf: &mut Vec<u8>,
    tenant: &TenantId,
    entries: impl ExactSizeIterator<Item = (u64, &'a LogEntry)>,
) {
    let start = begin(buf, TYPE_LOG_ENTRIES, tenant);
    put_uvarint(buf, entries.len() as u64);
    let mut prev = 0i64;
    for (r, e) in entries {
        put_uvarint(buf, r);
        put_varint(buf, e.ts_ns.wrapping_sub(prev));
        prev = e.ts_ns;
        put_bytes(buf, e.line.as_bytes());
        put_uvarint(buf, e.metadata.len() as u64);
        for (n, v) in &e.metadata {
            put_bytes(buf, n.as_bytes());
            put_bytes(buf, v.as_bytes());
        }
    }
    finish(buf, start);
}

/// Appends an exemplars record.
pub(crate) fn encode_exemplars<'a>(
    buf: &mut Vec<u8>,
    tenant: &TenantId,
    exemplars: impl ExactSizeIterator<Item = (&'a Labels, &'a Exemplar)>,
) {
    let start = begin(buf, TYPE_EXEMPLARS, tenant);
    put_uvarint(buf, exemplars.len() as u64);
    let mut prev = 0i64;
    for (series, e) in exemplars {
        put_bytes(buf, series.encoded());
        put_varint(buf, e.timestamp_ms.wrapping_sub(prev));
        prev = e.timestamp_ms;
        buf.extend_from_slice(&e.value.to_bits().to_le_bytes());
        put_bytes(buf, e.labels.encoded());
    }
    finish(buf, start);
}

struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for (i, &byte) in self.b.iter().enumerate().take(10) {
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.b = &self.b[i + 1..];
                return Ok(v);
            }
        }
        Err("bad varint".into())
    }

    fn varint(&mut self) -> Result<i64, String> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.b.len() {
            return Err(format!("field of {n} bytes past the end of the record"));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.uvarint()?;
        self.take(usize::try_from(n).map_err(|_| "length overflows".to_string())?)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "string is not utf-8".to_string())
    }

    fn count(&mut self, min_entry: usize) -> Result<usize, String> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| "count overflows".to_string())?;
        if n.saturating_mul(min_entry) > self.b.len() {
            return Err(format!("count {n} larger than the record"));
        }
        Ok(n)
    }
}

/// Appends a trace spans record.
pub(crate) fn encode_trace_spans<'a>(
    buf: &mut Vec<u8>,
    tenant: &TenantId,
    groups: impl ExactSizeIterator<Item = &'a ResourceSpans>,
) {
    let start = begin(buf, TYPE_TRACE_SPANS, tenant);
    spans::put_resources(buf, groups);
    finish(buf, start);
}

/// Decodes a payload of type `ty`.
pub(crate) fn decode(ty: u8, payload: &[u8]) -> Result<Record, String> {
    let mut c = Cursor { b: payload };
    let tenant = c.str()?;
    let tenant = TenantId::new(tenant).map_err(|e| e.to_string())?;
    let rec = match ty {
        TYPE_SERIES => {
            let n = c.count(2)?;
            let mut series = Vec::with_capacity(n);
            for _ in 0..n {
                let r = c.uvarint()?;
                let labels = c.bytes()?;
                let labels = Labels::from_encoded(labels)
                    .ok_or_else(|| format!("series {r} has invalid label bytes"))?;
                series.push((r, labels));
            }
            Record::Series { tenant, series }
        }
        TYPE_SAMPLES => {
            let n = c.count(10)?;
            let mut samples = Vec::with_capacity(n);
            let mut t = 0i64;
            for _ in 0..n {
                let r = c.uvarint()?;
                t = t.wrapping_add(c.varint()?);
                let v = c.take(8)?;
                let v = u64::from_le_bytes(v.try_into().map_err(|_| "short value".to_string())?);
                samples.push((r, t, v));
            }
            Record::Samples { tenant, samples }
        }
        TYPE_METADATA => {
            let n = c.count(4)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let family = c.str()?.to_string();
                let code = c.take(1)?[0];
                let metric_type = MetricType::from_wire(u64::from(code));
                let help = c.str()?.to_string();
                let unit = c.str()?.to_string();
                entries.push((
                    family,
                    MetricMetadata {
                        metric_type,
                        help,
                        unit,
                    },
                ));
            }
            Record::Metadata { tenant, entries }
        }
        TYPE_LOG_ENTRIES => {
            let n = c.count(4)?;
            let mut entries = Vec::with_capacity(n);
            let mut ts = 0i64;
            for _ in 0..n {
                let r = c.uvarint()?;
                ts = ts.wrapping_add(c.varint()?);
                let line = c.str()?.to_string();
                let m = c.count(2)?;
                let mut metadata = Vec::with_capacity(m);
                for _ in 0..m {
                    let name = c.str()?.to_string();
                    let value = c.str()?.to_string();
                    metadata.push((name, value));
                }
                entries.push((
                    r,
                    LogEntry {
                        ts_ns: ts,
                        line,
                        metadata,
                    },
                ));
            }
            Record::LogEntries { tenant, entries }
        }
        TYPE_TRACE_SPANS => {
            let resources = spans::get_resources(&mut c)?;
            Record::TraceSpans { tenant, resources }
        }
        TYPE_EXEMPLARS => {
            let n = c.count(11)?;
            let mut exemplars = Vec::with_capacity(n);
            let mut t = 0i64;
            for _ in 0..n {
                let series = Labels::from_encoded(c.bytes()?)
                    .ok_or_else(|| "exemplar series has invalid label bytes".to_string())?;
                t = t.wrapping_add(c.varint()?);
                let v = c.take(8)?;
                let v = u64::from_le_bytes(v.try_into().map_err(|_| "short value".to_string())?);
                let labels = Labels::from_encoded(c.bytes()?)
                    .ok_or_else(|| "exemplar has invalid label bytes".to_string())?;
                exemplars.push((
                    series,
                    Exemplar {
                        labels,
                        value: f64::from_bits(v),
                        timestamp_ms: t,
                    },
                ));
            }
            Record::Exemplars { tenant, exemplars }
        }
        other => return Err(format!("unknown record type {other}")),
    };
    if !c.b.is_empty() {
        return Err(format!("{} trailing bytes", c.b.len()));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(buf: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        let mut rest = buf;
        while !rest.is_empty() {
            let len = u32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(rest[4..8].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&rest[8..HEADER_LEN + len]));
            out.push(decode(rest[8], &rest[HEADER_LEN..HEADER_LEN + len]).unwrap());
            rest = &rest[HEADER_LEN + len..];
        }
        out
    }

    #[test]
    fn records_round_trip() {
        let t = TenantId::new("team-a").unwrap();
        let mut buf = Vec::new();
        let labels = Labels::from_pairs([("a", "1")]).unwrap();
        encode_series(&mut buf, &t, [(7u64, labels.encoded())].into_iter());
        let mut enc = SamplesEncoder::new(2);
        for (i, ts) in [5i64, -3, 1 << 40].into_iter().enumerate() {
            enc.push(&mut buf, &t, 7, ts, cairn_model::STALE_NAN_BITS + i as u64);
        }
        enc.finish(&mut buf);
        let md = MetricMetadata {
            metric_type: MetricType::Counter,
            help: "h".into(),
            unit: "s".into(),
        };
        encode_metadata(&mut buf, &t, [("up", &md)].into_iter());
        let got = frames(&buf);
        let s = cairn_model::STALE_NAN_BITS;
        assert_eq!(
            got,
            vec![
                Record::Series {
                    tenant: t.clone(),
                    series: vec![(7, labels)]
                },
                Record::Samples {
                    tenant: t.clone(),
                    samples: vec![(7, 5, s), (7, -3, s + 1)]
                },
                Record::Samples {
                    tenant: t.clone(),
                    samples: vec![(7, 1 << 40, s + 2)]
                },
                Record::Metadata {
                    tenant: t,
                    entries: vec![("up".into(), md)]
                },
            ]
        );
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Pins the on-disk bytes: changing them is a format change that old WALs must survive.
    #[test]
    fn record_bytes_are_pinned() {
        let t = TenantId::new("t").unwrap();
        let labels = Labels::from_pairs([("a", "b")]).unwrap();
        let mut buf = Vec::new();
        encode_series(&mut buf, &t, [(5u64, labels.encoded())].into_iter());
        assert_eq!(hex(&buf), "09000000e1431d7b01017401050401610162");
        buf.clear();
        let mut enc = SamplesEncoder::new(10);
        enc.push(&mut buf, &t, 5, 1000, 1.0f64.to_bits());
        enc.push(&mut buf, &t, 5, 999, 0);
        enc.finish(&mut buf);
        // Count padded to 5 bytes (82 80 80 80 00), then ref 05, zigzag delta 2000 (d0 0f),
        // raw bits of 1.0; ref 05, delta -1 (01), raw bits of 0.0.
        assert_eq!(
            hex(&buf),
            "1c0000003016273f020174828080800005d00f000000000000f03f05010000000000000000"
        );
    }

    /// Pins the bytes of an exemplars record.
    #[test]
    fn exemplar_bytes_are_pinned() {
        let t = TenantId::new("t").unwrap();
        let series = Labels::from_pairs([("a", "b")]).unwrap();
        let e1 = Exemplar {
            labels: Labels::from_pairs([("k", "v")]).unwrap(),
            value: 1.0,
            timestamp_ms: 1000,
        };
        let e2 = Exemplar {
            labels: Labels::empty(),
            value: 0.0,
            timestamp_ms: 999,
        };
        let mut buf = Vec::new();
        encode_exemplars(&mut buf, &t, [(&series, &e1), (&series, &e2)].into_iter());
        // Tenant "t", count 2; series a=b, zigzag delta 2000 (d0 0f), bits of 1.0, labels k=v;
        // series a=b, delta -1 (01), bits of 0.0, no labels (00).
        assert_eq!(
            hex(&buf),
            "26000000c19915dd06017402\
             0401610162d00f000000000000f03f04016b0176\
             0401610162010000000000000000\
             00"
        );
        assert_eq!(
            decode(TYPE_EXEMPLARS, &buf[HEADER_LEN..]).unwrap(),
            Record::Exemplars {
                tenant: t,
                exemplars: vec![(series.clone(), e1), (series, e2)],
            }
        );
    }

    /// Pins the bytes of a log entries record.
    #[test]
    fn log_entry_bytes_are_pinned() {
        let t = TenantId::new("t").unwrap();
        let mut e = LogEntry::new(1000, "hi");
        e.metadata.push(("k".into(), "v".into()));
        let e2 = LogEntry::new(999, "");
        let mut buf = Vec::new();
        encode_log_entries(&mut buf, &t, [(5u64, &e), (6u64, &e2)].into_iter());
        // Tenant "t", count 2; ref 05, zigzag delta 2000 (d0 0f), "hi", one pair k=v; ref
        // 06, delta -1 (01), empty line, no metadata.
        assert_eq!(
            hex(&buf),
            "12000000c9c8781c04017402\
             05d00f02686901016b0176\
             06010000"
        );
        assert_eq!(
            decode(TYPE_LOG_ENTRIES, &buf[HEADER_LEN..]).unwrap(),
            Record::LogEntries {
                tenant: t,
                entries: vec![(5, e), (6, e2)],
            }
        );
    }
}

#[cfg(test)]
mod exemplar_round_trip {
    use super::*;

    proptest::proptest! {
        /// Any exemplars (any label text, any value bits, any timestamps) decode as encoded,
        /// and every truncation of the record is an error, never a panic.
        #[test]
        fn exemplars_round_trip(
            items in proptest::collection::vec(
                ("[a-z]{1,4}", "\\PC{0,6}", proptest::num::u64::ANY, proptest::num::i64::ANY),
                0..6,
            )
        ) {
            let t = TenantId::new("t").unwrap();
            let owned: Vec<(Labels, Exemplar)> = items
                .iter()
                .map(|(n, v, bits, ts)| {
                    let series = Labels::from_pairs([("__name__", n.as_str())]).unwrap();
                    let labels = if v.is_empty() {
                        Labels::empty()
                    } else {
                        Labels::from_pairs([("trace_id", v.as_str())]).unwrap()
                    };
                    (series, Exemplar { labels, value: f64::from_bits(*bits), timestamp_ms: *ts })
                })
                .collect();
            let mut buf = Vec::new();
            encode_exemplars(&mut buf, &t, owned.iter().map(|(s, e)| (s, e)));
            let Record::Exemplars { exemplars, .. } =
                decode(TYPE_EXEMPLARS, &buf[HEADER_LEN..]).unwrap()
            else {
                panic!("not an exemplars record");
            };
            proptest::prop_assert_eq!(exemplars.len(), owned.len());
            for ((s1, e1), (s2, e2)) in exemplars.iter().zip(&owned) {
                proptest::prop_assert_eq!(s1, s2);
                proptest::prop_assert_eq!(&e1.labels, &e2.labels);
                proptest::prop_assert_eq!(e1.value.to_bits(), e2.value.to_bits());
                proptest::prop_assert_eq!(e1.timestamp_ms, e2.timestamp_ms);
            }
            for cut in HEADER_LEN..buf.len() {
                proptest::prop_assert!(decode(TYPE_EXEMPLARS, &buf[HEADER_LEN..cut]).is_err());
            }
        }
    }
}
