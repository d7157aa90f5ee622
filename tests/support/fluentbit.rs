//! Fluent Bit's `http` and `loki` output payloads, built byte for byte as Fluent Bit builds
//! them (Fluent Bit cannot be installed on the test machines). References are to
//! fluent/fluent-bit at d55459d (2026-08):
//!
//! - `src/flb_pack.c` `flb_pack_msgpack_to_json_format` (lines 1320-1585): the `http`
//!   output's `json` (one array of records), `json_lines` (one record and `\n` each) and
//!   `json_stream` bodies; the date key is the first key of each record (1395-1435),
//!   `double` packed with `msgpack_pack_double(flb_time_to_double())` and printed by
//!   `msgpack2json` (1019-1034) with `%.16g` (`%.1f` for integral values), `iso8601` as
//!   `%Y-%m-%dT%H:%M:%S` then `.%06luZ` of the microseconds (`msgpack_pack_formatted_datetime`,
//!   1285-1318; formats in `include/fluent-bit/flb_pack.h` 45-48); then the record's keys in
//!   order (1475-1500);
//! - `plugins/out_http/http.c` `compose_payload` (449-490): `msgpack` is the chunk itself,
//!   records `[[EventTime, {metadata}], {body}]` concatenated, EventTime as fixext 8 (type 0,
//!   big-endian seconds and nanoseconds); Content-Type per format (217-243) from
//!   `plugins/out_http/http.h` 30-32; gzip with `Content-Encoding: gzip` (147, 252-256);
//! - `plugins/out_loki/loki.c` `loki_compose_payload` (1628-1805): `{"streams":[...]}`, one
//!   stream for all records when no label uses a record accessor, else one stream per record;
//!   `pack_timestamp` (1256-1270) writes nanoseconds as a decimal string; `pack_record`
//!   (1431-1530) writes the record as compact JSON without the keys that fed labels and
//!   structured metadata (`flb_loki_kv_append`, 236-283); entries get a third element of
//!   structured metadata only when `structured_metadata` is configured (1736-1744);
//!   Content-Type `application/json` (1988-1990) and gzip (1993).
//!
//! JSON strings are written as `flb_utils_write_str` writes them for ASCII text: `"` and `\`
//! escaped, control characters as `\n`, `\t` ... or `\u00XX`, `/` as is.

use std::io::Write as _;

/// A field value of a test record.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
}

/// A record as Fluent Bit holds it: a time and an ordered map.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// Nanoseconds since the epoch.
    pub(crate) ts_ns: i64,
    pub(crate) fields: Vec<(String, Value)>,
}

impl Record {
    /// The record's fields other than `skip`, as Fluent Bit's `loki` output writes the line.
    pub(crate) fn json_without(&self, skip: &[&str]) -> String {
        let mut out = String::from("{");
        let mut first = true;
        for (k, v) in &self.fields {
            if skip.contains(&k.as_str()) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            json_str(&mut out, k);
            out.push(':');
            json_value(&mut out, v);
        }
        out.push('}');
        out
    }

    /// A field's string value.
    pub(crate) fn str(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find_map(|(k, v)| match v {
                Value::Str(s) if k == key => Some(s.as_str()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("record has no string field {key}"))
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => {
                assert!(c.is_ascii(), "test records are ASCII");
                out.push(c);
            }
        }
    }
    out.push('"');
}

fn json_value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => json_str(out, s),
        Value::Int(i) => out.push_str(&i.to_string()),
    }
}

/// `json_date_format` of the `http` output.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DateFormat {
    /// Float seconds (the default).
    Double,
    /// `2018-05-30T09:39:52.000681Z`.
    Iso8601,
}

/// C's `%.16g` of `ts_ns` as float seconds, for times whose nanoseconds are whole
/// microseconds and whose seconds have ten digits (until 2286): 16 significant digits are
/// then the seconds and six decimals, trailing zeros dropped; an integral value is `%.1f`.
pub(crate) fn double_seconds(ts_ns: i64) -> String {
    let (secs, nanos) = (
        ts_ns.div_euclid(1_000_000_000),
        ts_ns.rem_euclid(1_000_000_000),
    );
    assert!(
        (1_000_000_000..10_000_000_000).contains(&secs) && nanos % 1000 == 0,
        "double_seconds needs ten-digit seconds and whole microseconds"
    );
    if nanos == 0 {
        return format!("{secs}.0");
    }
    let frac = format!("{:06}", nanos / 1000);
    format!("{secs}.{}", frac.trim_end_matches('0'))
}

/// The `iso8601` date of `ts_ns`: microseconds, `Z`.
pub(crate) fn iso8601(ts_ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(ts_ns);
    format!(
        "{}.{:06}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        ts_ns.rem_euclid(1_000_000_000) / 1000
    )
}

fn http_record(r: &Record, date: Option<(&str, DateFormat)>) -> String {
    let mut out = String::from("{");
    if let Some((key, format)) = date {
        json_str(&mut out, key);
        out.push(':');
        match format {
            DateFormat::Double => out.push_str(&double_seconds(r.ts_ns)),
            DateFormat::Iso8601 => json_str(&mut out, &iso8601(r.ts_ns)),
        }
        if !r.fields.is_empty() {
            out.push(',');
        }
    }
    let body = r.json_without(&[]);
    out.push_str(&body[1..]);
    out
}

/// The `http` output's `format json` body: `[{record},{record}]`.
pub(crate) fn http_json(records: &[Record], date: Option<(&str, DateFormat)>) -> Vec<u8> {
    let items: Vec<String> = records.iter().map(|r| http_record(r, date)).collect();
    format!("[{}]", items.join(",")).into_bytes()
}

/// The `http` output's `format json_lines` body: one record and `\n` each.
pub(crate) fn http_json_lines(records: &[Record], date: Option<(&str, DateFormat)>) -> Vec<u8> {
    let mut out = String::new();
    for r in records {
        out.push_str(&http_record(r, date));
        out.push('\n');
    }
    out.into_bytes()
}

/// A minimal msgpack writer for the shapes Fluent Bit's chunks hold.
#[derive(Default)]
struct Mp(Vec<u8>);

impl Mp {
    fn array(&mut self, n: usize) {
        assert!(n < 16);
        self.0.push(0x90 | n as u8);
    }
    fn map(&mut self, n: usize) {
        assert!(n < 16);
        self.0.push(0x80 | n as u8);
    }
    fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        match b.len() {
            n if n < 32 => self.0.push(0xa0 | n as u8),
            n if n < 256 => self.0.extend_from_slice(&[0xd9, n as u8]),
            n => {
                self.0.push(0xda);
                self.0.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        self.0.extend_from_slice(b);
    }
    fn int(&mut self, i: i64) {
        // msgpack-c packs non-negative numbers in their smallest unsigned form.
        match i {
            0..=0x7f => self.0.push(i as u8),
            0x80..=0xff => self.0.extend_from_slice(&[0xcc, i as u8]),
            0x100..=0xffff => {
                self.0.push(0xcd);
                self.0.extend_from_slice(&(i as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(0xce);
                self.0.extend_from_slice(&(i as u32).to_be_bytes());
            }
            i if i >= 0 => {
                self.0.push(0xcf);
                self.0.extend_from_slice(&(i as u64).to_be_bytes());
            }
            i => {
                self.0.push(0xd3);
                self.0.extend_from_slice(&i.to_be_bytes());
            }
        }
    }
    fn event_time(&mut self, ts_ns: i64) {
        let (s, n) = (
            ts_ns.div_euclid(1_000_000_000),
            ts_ns.rem_euclid(1_000_000_000),
        );
        self.0.extend_from_slice(&[0xd7, 0x00]);
        self.0.extend_from_slice(&(s as u32).to_be_bytes());
        self.0.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// The `http` output's `format msgpack` body: the chunk's records
/// `[[EventTime, {}], {body}]`, concatenated.
pub(crate) fn http_msgpack(records: &[Record]) -> Vec<u8> {
    let mut w = Mp::default();
    for r in records {
        w.array(2);
        w.array(2);
        w.event_time(r.ts_ns);
        w.map(0);
        w.map(r.fields.len());
        for (k, v) in &r.fields {
            w.str(k);
            match v {
                Value::Str(s) => w.str(s),
                Value::Int(i) => w.int(*i),
            }
        }
    }
    w.0
}

/// The `loki` output's body with static labels only (one stream, 2-element values).
pub(crate) fn loki_static(labels: &[(&str, &str)], records: &[Record]) -> Vec<u8> {
    let mut out = String::from("{\"streams\":[{\"stream\":");
    out.push_str(&label_map(labels));
    out.push_str(",\"values\":[");
    let values: Vec<String> = records
        .iter()
        .map(|r| {
            let mut v = String::from("[");
            json_str(&mut v, &r.ts_ns.to_string());
            v.push(',');
            json_str(&mut v, &r.json_without(&[]));
            v.push(']');
            v
        })
        .collect();
    out.push_str(&values.join(","));
    out.push_str("]}]}");
    out.into_bytes()
}

/// The `loki` output's body with `labels job=<job>, $<label_key>` and
/// `structured_metadata $<metadata_key>`: one stream per record, 3-element values, both keys
/// out of the line.
pub(crate) fn loki_per_record(
    job: &str,
    label_key: &str,
    metadata_key: &str,
    records: &[Record],
) -> Vec<u8> {
    let streams: Vec<String> = records
        .iter()
        .map(|r| {
            let mut s = String::from("{\"stream\":");
            s.push_str(&label_map(&[("job", job), (label_key, r.str(label_key))]));
            s.push_str(",\"values\":[[");
            json_str(&mut s, &r.ts_ns.to_string());
            s.push(',');
            json_str(&mut s, &r.json_without(&[label_key, metadata_key]));
            s.push(',');
            s.push_str(&label_map(&[(metadata_key, r.str(metadata_key))]));
            s.push_str("]]}");
            s
        })
        .collect();
    format!("{{\"streams\":[{}]}}", streams.join(",")).into_bytes()
}

fn label_map(pairs: &[(&str, &str)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let mut s = String::new();
            json_str(&mut s, k);
            s.push(':');
            json_str(&mut s, v);
            s
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Gzips `body` as `flb_gzip_compress` does (one gzip member).
pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_fluent_bit_prints_them() {
        assert_eq!(
            double_seconds(1_527_673_192_000_681_000),
            "1527673192.000681"
        );
        assert_eq!(double_seconds(1_527_673_192_500_000_000), "1527673192.5");
        assert_eq!(double_seconds(1_527_673_192_000_000_000), "1527673192.0");
        // The example of Fluent Bit's documentation for json_date_format iso8601.
        assert_eq!(
            iso8601(1_527_673_192_000_681_000),
            "2018-05-30T09:39:52.000681Z"
        );
        let r = Record {
            ts_ns: 1_527_673_192_000_681_000,
            fields: vec![
                ("log".into(), Value::Str("a \"b\"\n".into())),
                ("n".into(), Value::Int(7)),
            ],
        };
        assert_eq!(
            String::from_utf8(http_json(
                std::slice::from_ref(&r),
                Some(("date", DateFormat::Double))
            ))
            .unwrap(),
            r#"[{"date":1527673192.000681,"log":"a \"b\"\n","n":7}]"#
        );
        assert_eq!(
            http_msgpack(&[r]),
            [
                &[0x92, 0x92, 0xd7, 0x00][..],
                &1_527_673_192u32.to_be_bytes(),
                &681_000u32.to_be_bytes(),
                &[0x80, 0x82, 0xa3, b'l', b'o', b'g', 0xa6],
                b"a \"b\"\n",
                &[0xa1, b'n', 0x07],
            ]
            .concat()
        );
    }
}
