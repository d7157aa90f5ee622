//! Loki's JSON push body:
//!
//! ```json
//! {"streams": [{"stream": {"app": "api"},
//!               "values": [["1700000000000000000", "a line", {"trace_id": "abc"}]]}]}
//! ```
//!
//! Timestamps are strings of nanoseconds; a number there fails the request with 400 as in
//! Loki. The optional third element is a flat object of string values (structured metadata).
//! Messages name the stream and entry, quote the text Loki's parser would give, and end with
//! the position in the body.

use std::borrow::Cow;
use std::fmt;

use cairn_model::LogEntry;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Collector, LokiPush, json_labels, push_metadata};
use crate::error::{Result, WireError};
use crate::logs::limits::LogDecodeLimits;
use crate::logs::selector::format_label_set;

const NOT_A_STRING: &str = "Value is string, but can't find closing '\"' symbol";
const NOT_AN_INTEGER: &str =
    "Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol";
const INTEGER_OVERFLOW: &str = "Value is number, but overflowed while parsing";
const NOT_AN_OBJECT: &str = "Value looks like object, but can't find closing '}' symbol";

pub(super) fn decode(body: &[u8], limits: &LogDecodeLimits) -> Result<LokiPush> {
    let mut ctx = Ctx {
        c: Collector::new(limits),
        fatal: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let res = PushSeed(&mut ctx)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = ctx.fatal.take() {
        return Err(e);
    }
    res.map_err(|e| WireError::log_body(format!("invalid push request: {e}")))?;
    Ok(ctx.c.push)
}

struct Ctx<'l> {
    c: Collector<'l>,
    /// A limit error raised inside the parser, returned instead of the parser's error.
    fatal: Option<WireError>,
}

impl Ctx<'_> {
    fn fail<E: de::Error>(&mut self, e: WireError) -> E {
        let msg = e.to_string();
        self.fatal = Some(e);
        E::custom(msg)
    }
}

/// Implements the visitor methods of every JSON kind but strings as a "wrong kind" error
/// built by `$self.wrong(kind)`.
macro_rules! reject_non_strings {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Err(self.wrong("a boolean"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Err(self.wrong("null"))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
            Err(self.wrong("an array"))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
            Err(self.wrong("an object"))
        }
    };
}

/// A string that borrows from the body when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

struct PushSeed<'a, 'l>(&'a mut Ctx<'l>);

impl<'de> DeserializeSeed<'de> for PushSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PushSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object {"streams": [...]}"#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "streams" {
                map.next_value_seed(StreamsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct StreamsSeed<'a, 'l>(&'a mut Ctx<'l>);

impl<'de> DeserializeSeed<'de> for StreamsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for StreamsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of streams")
    }
    fn visit_none<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(StreamSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct StreamSeed<'a, 'l>(&'a mut Ctx<'l>);

impl<'de> DeserializeSeed<'de> for StreamSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StreamSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a stream object {"stream": {...}, "values": [...]}"#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let ctx = self.0;
        let index = match ctx.c.next_stream() {
            Ok(i) => i,
            Err(e) => return Err(ctx.fail(e)),
        };
        let mut labels: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
        let mut entries = Vec::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "stream" => labels = map.next_value_seed(LabelMapSeed { index })?,
                "values" => map.next_value_seed(ValuesSeed {
                    ctx: &mut *ctx,
                    index,
                    out: &mut entries,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        ctx.c.add(
            index,
            format_label_set(&pairs),
            json_labels(&pairs),
            entries,
        );
        Ok(())
    }
}

/// The `stream` object: label names to values. As in Loki, numbers and booleans are taken
/// as their text, and a repeated name keeps its last value.
struct LabelMapSeed {
    index: usize,
}

impl<'de> DeserializeSeed<'de> for LabelMapSeed {
    type Value = Vec<(Cow<'de, str>, Cow<'de, str>)>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for LabelMapSeed {
    type Value = Vec<(Cow<'de, str>, Cow<'de, str>)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "streams[{}].stream: an object of label names to values",
            self.index
        )
    }
    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let value = map.next_value_seed(LabelValueSeed {
                index: self.index,
                name: &name,
            })?;
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => out.push((name, value)),
            }
        }
        Ok(out)
    }
}

struct LabelValueSeed<'n> {
    index: usize,
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for LabelValueSeed<'_> {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LabelValueSeed<'_> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "streams[{}].stream.{}: a string", self.index, self.name)
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(b.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed("null"))
    }
}

struct ValuesSeed<'a, 'l> {
    ctx: &'a mut Ctx<'l>,
    index: usize,
    out: &'a mut Vec<LogEntry>,
}

impl<'de> DeserializeSeed<'de> for ValuesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "streams[{}].values: an array of entries", self.index)
    }
    fn visit_none<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut j = 0;
        loop {
            let at = Where {
                stream: self.index,
                entry: j,
            };
            match seq.next_element_seed(EntrySeed(at))? {
                None => return Ok(()),
                Some(None) => {}
                Some(Some(e)) => {
                    if let Err(err) = self.ctx.c.count_entry() {
                        return Err(self.ctx.fail(err));
                    }
                    self.out.push(e);
                }
            }
            j += 1;
        }
    }
}

#[derive(Clone, Copy)]
struct Where {
    stream: usize,
    entry: usize,
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "streams[{}].values[{}]", self.stream, self.entry)
    }
}

/// One entry; `null` entries are skipped as Loki skips them.
struct EntrySeed(Where);

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Option<LogEntry>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = Option<LogEntry>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: an array [\"<nanoseconds>\", \"<line>\"] or with a structured metadata object third",
            self.0
        )
    }
    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let at = self.0;
        let short = || de::Error::custom(format!("{at}: an entry needs a timestamp and a line"));
        let ts_ns = seq.next_element_seed(TsSeed(at))?.ok_or_else(short)?;
        let line = seq.next_element_seed(LineSeed(at))?.ok_or_else(short)?;
        let mut entry = LogEntry::new(ts_ns, line);
        if let Some(md) = seq.next_element_seed(MetadataSeed(at))? {
            entry.metadata = md;
        }
        // Loki ignores anything past the third element.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(entry))
    }
}

struct TsSeed(Where);

impl TsSeed {
    fn wrong<E: de::Error>(&self, kind: &str) -> E {
        E::custom(format!(
            "{}: timestamp must be a string of nanoseconds since the epoch, got {kind} ({NOT_A_STRING})",
            self.0
        ))
    }
}

impl<'de> DeserializeSeed<'de> for TsSeed {
    type Value = i64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TsSeed {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a timestamp string", self.0)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<i64, E> {
        parse_ns(s).map_err(|why| {
            E::custom(format!(
                "{}: timestamp {s:?} is not an integer number of nanoseconds ({why})",
                self.0
            ))
        })
    }
    reject_non_strings!();
}

/// Decimal nanoseconds as Go's `jsonparser.ParseInt` reads them: an optional `-`, digits.
fn parse_ns(s: &str) -> std::result::Result<i64, &'static str> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NOT_AN_INTEGER);
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        v = v
            .checked_mul(10)
            .and_then(|v| {
                if neg {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or(INTEGER_OVERFLOW)?;
    }
    Ok(v)
}

struct LineSeed(Where);

impl LineSeed {
    fn wrong<E: de::Error>(&self, kind: &str) -> E {
        E::custom(format!(
            "{}: line must be a string, got {kind} ({NOT_A_STRING})",
            self.0
        ))
    }
}

impl<'de> DeserializeSeed<'de> for LineSeed {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LineSeed {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a line string", self.0)
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<String, E> {
        Ok(s.to_string())
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<String, E> {
        Ok(s)
    }
    reject_non_strings!();
}

struct MetadataSeed(Where);

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = Vec<(String, String)>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl MetadataSeed {
    fn wrong<E: de::Error>(&self, kind: &str) -> E {
        E::custom(format!(
            "{}: structured metadata must be an object of strings, got {kind} ({NOT_AN_OBJECT})",
            self.0
        ))
    }
}

impl<'de> Visitor<'de> for MetadataSeed {
    type Value = Vec<(String, String)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a structured metadata object", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut md = Vec::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let v = map.next_value_seed(MetaValueSeed {
                at: self.0,
                name: &name,
            })?;
            push_metadata(&mut md, &name, &v);
        }
        Ok(md)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("a boolean"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Err(self.wrong("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }
}

struct MetaValueSeed<'n> {
    at: Where,
    name: &'n str,
}

impl MetaValueSeed<'_> {
    fn wrong<E: de::Error>(&self, kind: &str) -> E {
        E::custom(format!(
            "{}: structured metadata {:?} must be a string, got {kind} ({NOT_A_STRING})",
            self.at, self.name
        ))
    }
}

impl<'de> DeserializeSeed<'de> for MetaValueSeed<'_> {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetaValueSeed<'_> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a string", self.at)
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }
    reject_non_strings!();
}

#[cfg(test)]
mod tests {
    use super::parse_ns;

    #[test]
    fn nanosecond_strings() {
        assert_eq!(parse_ns("0"), Ok(0));
        assert_eq!(parse_ns("-5"), Ok(-5));
        assert_eq!(parse_ns("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_ns("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_ns("9223372036854775808").is_err());
        for bad in ["", "-", "1.5", "1e9", " 1", "+1", "0x10"] {
            assert!(parse_ns(bad).is_err(), "{bad:?}");
        }
    }
}
