//! Fluent Bit's JSON formats (`flb_pack_msgpack_to_json_format`): an array of records, one
//! record per line, records back to back, and GELF lines.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{FieldValue, FluentRecord, TimeKey};
use crate::error::{Result, WireError};
use crate::logs::limits::LogDecodeLimits;

/// `[{record}, {record}, ...]`.
pub(super) fn decode_array(
    body: &[u8],
    time: &TimeKey,
    limits: &LogDecodeLimits,
) -> Result<Vec<FluentRecord>> {
    let mut out = Vec::new();
    let mut fatal = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let res = RecordsSeed {
        out: &mut out,
        limits,
        fatal: &mut fatal,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    if let Some(e) = fatal {
        return Err(e);
    }
    res.map_err(|e| WireError::log_body(format!("invalid json records: {e}")))?;
    Ok(out.into_iter().map(|f| record(f, time)).collect())
}

/// Objects separated by nothing (json_stream) or newlines (json_lines).
pub(super) fn decode_stream(
    body: &[u8],
    time: &TimeKey,
    limits: &LogDecodeLimits,
    lines: bool,
) -> Result<Vec<FluentRecord>> {
    let what = if lines { "json_lines" } else { "json_stream" };
    let mut out = Vec::new();
    for fields in objects(body, limits, what)? {
        out.push(record(fields, time));
    }
    Ok(out)
}

/// `\n`-separated GELF 1.1 objects (`flb_msgpack_to_gelf`): `timestamp` (float seconds)
/// becomes the time, `version` is dropped, extra fields lose their `_` prefix.
pub(super) fn decode_gelf(body: &[u8], limits: &LogDecodeLimits) -> Result<Vec<FluentRecord>> {
    let mut out = Vec::new();
    for fields in objects(body, limits, "gelf")? {
        let mut rec = FluentRecord::default();
        for (k, v) in fields {
            match k.as_str() {
                "version" => {}
                "timestamp" if rec.ts_ns.is_none() => match super::TimeFormat::Double.parse(&v) {
                    Some(ns) => rec.ts_ns = Some(ns),
                    None => rec.fields.push((k, v)),
                },
                _ => match k.strip_prefix('_') {
                    Some(stripped) if !stripped.is_empty() => {
                        rec.fields.push((stripped.to_string(), v))
                    }
                    _ => rec.fields.push((k, v)),
                },
            }
        }
        out.push(rec);
    }
    Ok(out)
}

fn objects(
    body: &[u8],
    limits: &LogDecodeLimits,
    what: &str,
) -> Result<Vec<Vec<(String, FieldValue)>>> {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<JsonObject>();
    for obj in stream {
        let JsonObject(fields) = obj.map_err(|e| {
            WireError::log_body(format!("invalid {what} record {}: {e}", out.len()))
        })?;
        if depth_of_fields(&fields) > limits.depth_cap() {
            return Err(WireError::log_body(format!(
                "invalid {what} record {}: nested deeper than {}",
                out.len(),
                limits.depth_cap()
            )));
        }
        out.push(fields);
        limits.check_entries(out.len())?;
    }
    Ok(out)
}

/// One JSON object of a stream. serde_json's own recursion limit (128) keeps hostile
/// nesting off the stack; the configured depth is checked on the result.
struct JsonObject(Vec<(String, FieldValue)>);

impl<'de> de::Deserialize<'de> for JsonObject {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        ObjectSeed {
            depth: usize::MAX,
            index: 0,
        }
        .deserialize(d)
        .map(JsonObject)
    }
}

fn depth_of_fields(fields: &[(String, FieldValue)]) -> usize {
    1 + fields.iter().map(|(_, v)| depth_of(v)).max().unwrap_or(0)
}

fn depth_of(v: &FieldValue) -> usize {
    match v {
        FieldValue::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
        FieldValue::Map(m) => depth_of_fields(m),
        _ => 0,
    }
}

/// A JSON record becomes a [`FluentRecord`]: the time field taken out, Fluent Bit's
/// `__internal__` field turned back into metadata.
fn record(mut fields: Vec<(String, FieldValue)>, time: &TimeKey) -> FluentRecord {
    let mut rec = FluentRecord::default();
    if let Some(key) = &time.key
        && let Some(i) = fields.iter().position(|(k, _)| k == key)
        && let Some(ns) = time.format.parse(&fields[i].1)
    {
        rec.ts_ns = Some(ns);
        fields.remove(i);
    }
    if let Some(i) = fields
        .iter()
        .position(|(k, v)| k == "__internal__" && matches!(v, FieldValue::Map(_)))
        && let (_, FieldValue::Map(internal)) = fields.remove(i)
    {
        for (k, v) in internal {
            match (k.as_str(), v) {
                ("log_metadata", FieldValue::Map(md)) => rec.metadata.extend(md),
                (_, v) => rec.metadata.push((k, v)),
            }
        }
    }
    rec.fields = fields;
    rec
}

struct RecordsSeed<'a> {
    out: &'a mut Vec<Vec<(String, FieldValue)>>,
    limits: &'a LogDecodeLimits,
    fatal: &'a mut Option<WireError>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of record objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        loop {
            let seed = ObjectSeed {
                depth: self.limits.depth_cap(),
                index: self.out.len(),
            };
            match seq.next_element_seed(seed)? {
                None => return Ok(()),
                Some(fields) => {
                    self.out.push(fields);
                    if let Err(e) = self.limits.check_entries(self.out.len()) {
                        let msg = e.to_string();
                        *self.fatal = Some(e);
                        return Err(de::Error::custom(msg));
                    }
                }
            }
        }
    }
}

/// A record: a JSON object.
struct ObjectSeed {
    depth: usize,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Vec<(String, FieldValue)>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Vec<(String, FieldValue)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {} to be a JSON object", self.index)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        if self.depth == 0 {
            return Err(de::Error::custom("record nested deeper than the limit"));
        }
        map_body(map, self.depth.saturating_sub(1))
    }
}

fn map_body<'de, A: MapAccess<'de>>(
    mut map: A,
    depth: usize,
) -> std::result::Result<Vec<(String, FieldValue)>, A::Error> {
    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
    while let Some(k) = map.next_key::<String>()? {
        let v = map.next_value_seed(ValueSeed { depth })?;
        out.push((k, v));
    }
    Ok(out)
}

/// Any JSON value, nesting bounded by `depth`.
struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = FieldValue;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<FieldValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = FieldValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Bool(b))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<FieldValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => FieldValue::Int(i),
            Err(_) => FieldValue::UInt(v),
        })
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Float(v))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<FieldValue, E> {
        Ok(FieldValue::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<FieldValue, A::Error> {
        if self.depth == 0 {
            return Err(de::Error::custom("record nested deeper than the limit"));
        }
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(x) = seq.next_element_seed(ValueSeed {
            depth: self.depth - 1,
        })? {
            v.push(x);
        }
        Ok(FieldValue::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<FieldValue, A::Error> {
        if self.depth == 0 {
            return Err(de::Error::custom("record nested deeper than the limit"));
        }
        map_body(map, self.depth - 1).map(FieldValue::Map)
    }
}
