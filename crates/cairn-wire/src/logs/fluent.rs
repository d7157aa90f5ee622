//! Fluent Bit records: what its `http` output sends (json, json_lines, json_stream, msgpack,
//! gelf) and what forward messages carry, as [`FluentRecord`]s that a configured
//! [`super::RecordMapping`] turns into streams.

mod json;
mod time;

use super::limits::LogDecodeLimits;
use super::msgpack::{EventTime, Reader};
use crate::error::{Result, WireError};

pub use time::TimeFormat;
pub(crate) use time::{parse_datetime, secs_f64_to_ns};

/// A value of a record field, as msgpack and JSON have them.
///
/// Integers that fit in `i64` are [`FieldValue::Int`] whatever their wire encoding;
/// [`FieldValue::UInt`] holds only those above `i64::MAX`. Map entries keep their order.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// `nil` / `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string (invalid UTF-8 replaced with U+FFFD).
    Str(String),
    /// Raw bytes (msgpack bin and extension payloads).
    Bin(Vec<u8>),
    /// An array.
    Array(Vec<FieldValue>),
    /// A map with string keys, in order.
    Map(Vec<(String, FieldValue)>),
}

impl FieldValue {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key`, if this is a map that has it (the last one if repeated).
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        match self {
            FieldValue::Map(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Text for a non-string map key: numbers and booleans as written, others as JSON.
    pub(crate) fn to_text(&self) -> String {
        match self {
            FieldValue::Str(s) => s.clone(),
            FieldValue::Bin(b) => super::loki::lossy(b),
            FieldValue::Null => "null".into(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::UInt(u) => u.to_string(),
            FieldValue::Float(f) => f.to_string(),
            v => {
                let mut s = String::new();
                super::mapping::write_json(&mut s, v, false);
                s
            }
        }
    }
}

/// One log record: its time, tag, Fluent Bit metadata and fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FluentRecord {
    /// Nanoseconds since the epoch; `None` when the sender left it to the receiver.
    pub ts_ns: Option<i64>,
    /// The Fluent tag, when the protocol carries one (forward messages).
    pub tag: Option<String>,
    /// Fluent Bit's per-record metadata (the `{metadata}` of `[[time, {metadata}], record]`).
    pub metadata: Vec<(String, FieldValue)>,
    /// The record's fields, in order.
    pub fields: Vec<(String, FieldValue)>,
}

impl FluentRecord {
    /// The field `name` (the last one if repeated).
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// The `format` of Fluent Bit's `http` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FluentHttpFormat {
    /// One JSON array of records (`application/json`).
    Json,
    /// One JSON object per `\n`-terminated line (`application/x-ndjson`).
    JsonLines,
    /// JSON objects one after the other, no separator (`application/json`).
    JsonStream,
    /// The raw chunk: concatenated `[[time, {metadata}], {record}]` (`application/msgpack`).
    Msgpack,
    /// `\n`-separated GELF 1.1 objects (`application/json`).
    Gelf,
}

impl FluentHttpFormat {
    /// The format named as in Fluent Bit's configuration (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "json" => FluentHttpFormat::Json,
            "json_lines" => FluentHttpFormat::JsonLines,
            "json_stream" => FluentHttpFormat::JsonStream,
            "msgpack" => FluentHttpFormat::Msgpack,
            "gelf" => FluentHttpFormat::Gelf,
            _ => return None,
        })
    }

    /// The Content-Type Fluent Bit sends for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            FluentHttpFormat::JsonLines => "application/x-ndjson",
            FluentHttpFormat::Msgpack => "application/msgpack",
            _ => "application/json",
        }
    }
}

/// Where the JSON formats carry the record time: Fluent Bit's `json_date_key` and
/// `json_date_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeKey {
    /// The field holding the time (`None`: Fluent Bit's `json_date_key false`).
    pub key: Option<String>,
    /// How it is written.
    pub format: TimeFormat,
}

impl Default for TimeKey {
    /// Fluent Bit's defaults: key `date`, format `double`.
    fn default() -> Self {
        TimeKey {
            key: Some("date".into()),
            format: TimeFormat::Double,
        }
    }
}

/// Decodes a body of Fluent Bit's `http` output (its Content-Encoding already undone).
///
/// For the JSON formats the time is taken from `time.key` and that field removed; a record
/// without it, or with a value that does not read in `time.format`, keeps the field and gets
/// no time (the receiver's clock decides). Fluent Bit's `__internal__` field (group
/// attributes and record metadata it adds to JSON) becomes [`FluentRecord::metadata`].
/// GELF records take their time from `timestamp` and lose the `_` prefix of extra fields.
/// Msgpack chunks carry their own times; group markers are skipped.
pub fn decode_fluent_http(
    format: FluentHttpFormat,
    body: &[u8],
    time: &TimeKey,
    limits: &LogDecodeLimits,
) -> Result<Vec<FluentRecord>> {
    match format {
        FluentHttpFormat::Json => json::decode_array(body, time, limits),
        FluentHttpFormat::JsonLines | FluentHttpFormat::JsonStream => {
            json::decode_stream(body, time, limits, format == FluentHttpFormat::JsonLines)
        }
        FluentHttpFormat::Gelf => json::decode_gelf(body, limits),
        FluentHttpFormat::Msgpack => decode_chunk(body, None, limits),
    }
}

/// Concatenated Fluent Bit entries (a chunk, or a forward message's packed entries).
pub(crate) fn decode_chunk(
    buf: &[u8],
    tag: Option<&str>,
    limits: &LogDecodeLimits,
) -> Result<Vec<FluentRecord>> {
    let mut r = Reader::new(buf, limits.depth_cap());
    let mut out = Vec::new();
    let mut index = 0;
    while !r.is_empty() {
        if let Some(rec) = read_entry(&mut r, index, tag)? {
            out.push(rec);
            limits.check_entries(out.len())?;
        }
        index += 1;
    }
    Ok(out)
}

/// One entry, `[time, record]` or `[[time, metadata], record]`; `None` for a group marker.
pub(crate) fn read_entry(
    r: &mut Reader<'_>,
    index: usize,
    tag: Option<&str>,
) -> Result<Option<FluentRecord>> {
    use super::msgpack::Head;
    let bad = |why: String| WireError::log_body(format!("entry {index}: {why}"));
    let mp = |e: super::msgpack::MpError| bad(e.describe());
    match r.head().map_err(mp)? {
        Head::Array(2) => {}
        h => {
            return Err(bad(format!(
                "expected an array [time, record], got {}",
                describe(h)
            )));
        }
    }
    let mut metadata = Vec::new();
    let time = match r.peek().map_err(mp)? {
        Head::Array(2) => {
            r.head().map_err(mp)?;
            let t = r.time().map_err(mp)?;
            match r.map().map_err(mp)? {
                Some(m) => metadata = m,
                None => {
                    return Err(bad(
                        "metadata of [[time, metadata], record] is not a map".into()
                    ));
                }
            }
            t
        }
        Head::Array(n) => return Err(bad(format!("header [time, metadata] has {n} elements"))),
        _ => r.time().map_err(mp)?,
    };
    let Some(time) = time else {
        return Err(bad("time is not an integer, a float or an EventTime".into()));
    };
    let Some(fields) = r.map().map_err(mp)? else {
        let h = r.peek().map_err(mp)?;
        return Err(bad(format!("record is {}, expected a map", describe(h))));
    };
    let ts_ns = match time {
        EventTime::GroupMarker => return Ok(None),
        EventTime::Unset => None,
        EventTime::Ns(ns) => Some(ns),
    };
    Ok(Some(FluentRecord {
        ts_ns,
        tag: tag.map(str::to_string),
        metadata,
        fields,
    }))
}

pub(crate) fn describe(h: super::msgpack::Head) -> String {
    use super::msgpack::Head;
    match h {
        Head::Nil => "nil".into(),
        Head::Bool(_) => "a boolean".into(),
        Head::UInt(_) | Head::Int(_) => "an integer".into(),
        Head::Float(_) => "a float".into(),
        Head::Str(_) => "a string".into(),
        Head::Bin(_) => "binary".into(),
        Head::Ext(t, _) => format!("an extension of type {t}"),
        Head::Array(n) => format!("an array of {n}"),
        Head::Map(n) => format!("a map of {n}"),
    }
}

#[cfg(test)]
mod tests;
