//! OTLP values as text, as the Collector's `pcommon.Value.AsString` (which Loki uses)
//! renders them: strings as they are, integers in decimal, doubles in ES6 number style,
//! bytes in standard base64, arrays and maps as Go's `encoding/json` writes them (keys
//! sorted, no HTML escaping).

use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};

/// `pcommon.Value.AsString`.
pub(crate) fn as_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|a| a.value.as_ref()) {
        // String-table indexes belong to profiles; a log has no table to resolve them in.
        None | Some(Value::StringValueStrindex(_)) => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(f)) => float_as_string(*f),
        Some(Value::BytesValue(b)) => base64(b),
        Some(v @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            let mut s = String::new();
            // Go's encoder fails on NaN and infinities, and Loki then gets an empty string.
            if write_json(&mut s, Some(v)) {
                s
            } else {
                String::new()
            }
        }
    }
}

/// `float64AsString`: NaN and infinities by name, otherwise like JavaScript.
fn float_as_string(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        es6_number(f)
    }
}

/// Go's JSON number: shortest digits, exponent form below 1e-6 and from 1e21.
fn es6_number(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        // Rust's `{:e}` is `1.5e-7` / `1e21`; Go writes `1.5e-7` / `1e+21`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

/// Writes a value as Go's `json.Marshal` of `Value.AsRaw()`; false when Go would fail.
fn write_json(out: &mut String, v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_str(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(f)) => {
            if !f.is_finite() {
                return false;
            }
            out.push_str(&es6_number(*f));
        }
        Some(Value::BytesValue(b)) => {
            out.push('"');
            out.push_str(&base64(b));
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, x) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(out, x.value.as_ref()) {
                    return false;
                }
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => {
            // A Go map: sorted keys, the last of repeated keys.
            let mut entries: Vec<(&str, Option<&Value>)> = Vec::with_capacity(kv.values.len());
            for e in &kv.values {
                let val = e.value.as_ref().and_then(|a| a.value.as_ref());
                match entries.iter_mut().find(|(k, _)| *k == e.key) {
                    Some(slot) => slot.1 = val,
                    None => entries.push((&e.key, val)),
                }
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                if !write_json(out, *x) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    true
}

/// Go's JSON string escaping with HTML escaping off.
fn write_str(out: &mut String, s: &str) {
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
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding.
pub(crate) fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(char::from(A[(n >> 18) as usize & 63]));
        out.push(char::from(A[(n >> 12) as usize & 63]));
        out.push(if c.len() > 1 {
            char::from(A[(n >> 6) as usize & 63])
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            char::from(A[n as usize & 63])
        } else {
            '='
        });
    }
    out
}

/// Lower-case hex.
pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue, KeyValueList};

    use super::*;

    fn av(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    #[test]
    fn scalars_like_pcommon() {
        // Expected strings are Go's strconv / encoding/json output for these values.
        assert_eq!(as_string(None), "");
        assert_eq!(as_string(Some(&av(Value::IntValue(-42)))), "-42");
        assert_eq!(as_string(Some(&av(Value::BoolValue(true)))), "true");
        for (f, want) in [
            (1.5, "1.5"),
            (100.0, "100"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789.125, "123456789.125"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(as_string(Some(&av(Value::DoubleValue(f)))), want, "{f}");
        }
        assert_eq!(
            as_string(Some(&av(Value::BytesValue(b"hello!?".to_vec())))),
            "aGVsbG8hPw=="
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn maps_and_arrays_as_go_json() {
        let kv = |k: &str, v: Value| KeyValue {
            key: k.into(),
            value: Some(av(v)),
            ..Default::default()
        };
        let m = av(Value::KvlistValue(KeyValueList {
            values: vec![
                kv("z", Value::StringValue("<a&b>\n\u{1}\u{2028}".into())),
                kv(
                    "a",
                    Value::ArrayValue(ArrayValue {
                        values: vec![
                            av(Value::IntValue(1)),
                            av(Value::DoubleValue(2.5)),
                            AnyValue { value: None },
                        ],
                    }),
                ),
                kv("m", Value::BytesValue(vec![0xff])),
                kv("a", Value::BoolValue(false)),
            ],
        }));
        assert_eq!(
            as_string(Some(&m)),
            r#"{"a":false,"m":"/w==","z":"<a&b>\n\u0001\u2028"}"#
        );
        let bad = av(Value::ArrayValue(ArrayValue {
            values: vec![av(Value::DoubleValue(f64::NAN))],
        }));
        assert_eq!(as_string(Some(&bad)), "");
    }
}
