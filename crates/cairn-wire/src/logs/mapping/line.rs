//! Record values written out as Fluent Bit writes them: JSON as `flb_msgpack_to_json_str`
//! does (floats `%.1f` when integral, `%.16g` otherwise; the last of repeated keys; non-ASCII
//! escaped as `\uXXXX` unless `json.escape_unicode` is off) and the `key_value` line format
//! of its `loki` output (`pack_format_line_value`).

use std::fmt::Write as _;

use crate::logs::FieldValue;

/// Appends `v` as JSON.
pub(crate) fn write_json(out: &mut String, v: &FieldValue, escape_unicode: bool) {
    match v {
        FieldValue::Null => out.push_str("null"),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        FieldValue::Float(f) => write_float(out, *f),
        FieldValue::Str(s) => write_json_str(out, s, escape_unicode),
        FieldValue::Bin(b) => write_json_str(out, &String::from_utf8_lossy(b), escape_unicode),
        FieldValue::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x, escape_unicode);
            }
            out.push(']');
        }
        FieldValue::Map(m) => write_json_map(out, m, escape_unicode),
    }
}

/// Appends a map as JSON; of repeated keys only the last is written, where it stands.
pub(crate) fn write_json_map(out: &mut String, m: &[(String, FieldValue)], escape_unicode: bool) {
    out.push('{');
    let mut first = true;
    for (i, (k, v)) in m.iter().enumerate() {
        if m[i + 1..].iter().any(|(k2, _)| k2 == k) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_json_str(out, k, escape_unicode);
        out.push(':');
        write_json(out, v, escape_unicode);
    }
    out.push('}');
}

/// A JSON string with Fluent Bit's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, the
/// other control characters and DEL as `\u00XX`, and with `escape_unicode` every non-ASCII
/// character as `\uXXXX` (surrogate pairs above U+FFFF).
pub(crate) fn write_json_str(out: &mut String, s: &str, escape_unicode: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            _ => None,
        };
        let needs = esc.is_some()
            || (c as u32) < 0x20
            || c == '\u{7f}'
            || (escape_unicode && !c.is_ascii());
        if !needs {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let cp = c as u32;
                if cp > 0xffff {
                    let v = cp - 0x10000;
                    let _ = write!(
                        out,
                        "\\u{:04x}\\u{:04x}",
                        0xd800 + (v >> 10),
                        0xdc00 + (v & 0x3ff)
                    );
                } else {
                    let _ = write!(out, "\\u{cp:04x}");
                }
            }
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Fluent Bit's float: `%.1f` when the value is a whole number that fits in an `i64`,
/// `%.16g` otherwise.
pub(crate) fn write_float(out: &mut String, f: f64) {
    // C's `(double)(long long)f == f`: whole numbers in [-2^63, 2^63).
    let edge = -(i64::MIN as f64);
    if f.is_finite() && f.fract() == 0.0 && (-edge..edge).contains(&f) {
        let _ = write!(out, "{f:.1}");
    } else {
        out.push_str(&format_g(f, 16));
    }
}

/// C's `%.{precision}g`.
pub(crate) fn format_g(f: f64, precision: usize) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // The exponent after rounding to `p` significant digits decides the style.
    let sci = format!("{:.*e}", p - 1, f);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{f:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The `key_value` line format's value (`pack_format_line_value`): strings in double quotes
/// (not escaped), arrays as `"[a b]"`, maps as `"map[k:v]"`.
pub(crate) fn write_kv_value(out: &mut String, v: &FieldValue) {
    match v {
        FieldValue::Str(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        FieldValue::Bin(b) => {
            out.push('"');
            out.push_str(&String::from_utf8_lossy(b));
            out.push('"');
        }
        FieldValue::Null => out.push_str("null"),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        FieldValue::Float(f) => write_float(out, *f),
        FieldValue::Array(a) => {
            out.push_str("\"[");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_kv_value(out, x);
            }
            out.push_str("]\"");
        }
        FieldValue::Map(m) => {
            out.push_str("\"map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_kv_value(out, x);
            }
            out.push_str("]\"");
        }
    }
}

/// A record as a `key_value` line: `key=value` pairs separated by one space.
pub(crate) fn write_kv_line(out: &mut String, fields: &[(String, FieldValue)]) {
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        write_kv_value(out, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::FieldValue as V;

    fn json(v: &V, esc: bool) -> String {
        let mut s = String::new();
        write_json(&mut s, v, esc);
        s
    }

    #[test]
    fn floats_like_printf() {
        // Expected strings are what glibc's printf gives for these formats.
        let cases: [(f64, &str); 10] = [
            (3.0, "3.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1_700_000_000.123456, "1700000000.123456"),
            (1e-5, "1.000000000000000e-05"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e300, "1.000000000000000e+300"),
            (f64::INFINITY, "inf"),
            (2.0f64.powi(70), "1.180591620717411e+21"),
        ];
        for (f, want) in cases {
            let mut s = String::new();
            write_float(&mut s, f);
            let want = want.replace("1.000000000000000e", "1e");
            assert_eq!(s, want, "{f}");
        }
        assert_eq!(format_g(100000.0, 6), "100000");
        assert_eq!(format_g(1000000.0, 6), "1e+06");
        assert_eq!(format_g(0.0001, 6), "0.0001");
        assert_eq!(format_g(0.00001, 6), "1e-05");
    }

    #[test]
    fn json_strings_with_fluent_bit_escapes() {
        let v = V::Str("é😀\"\\\n\t\u{1}\u{7f}/".into());
        assert_eq!(
            json(&v, true),
            r#""\u00e9\ud83d\ude00\"\\\n\t\u0001\u007f/""#
        );
        assert_eq!(json(&v, false), "\"é😀\\\"\\\\\\n\\t\\u0001\\u007f/\"");
    }

    #[test]
    fn maps_keep_the_last_of_repeated_keys() {
        let m = V::Map(vec![
            ("a".into(), V::Int(1)),
            (
                "b".into(),
                V::Array(vec![V::Null, V::Bool(false), V::Float(2.5)]),
            ),
            ("a".into(), V::Int(2)),
        ]);
        assert_eq!(json(&m, true), r#"{"b":[null,false,2.5],"a":2}"#);
    }

    #[test]
    fn key_value_lines() {
        let fields = vec![
            ("log".to_string(), V::Str("say \"hi\"".into())),
            ("n".to_string(), V::Int(-3)),
            ("f".to_string(), V::Float(2.0)),
            (
                "tags".to_string(),
                V::Array(vec![V::Str("a".into()), V::Int(1)]),
            ),
            (
                "k8s".to_string(),
                V::Map(vec![
                    ("pod".into(), V::Str("p".into())),
                    ("n".into(), V::Null),
                ]),
            ),
        ];
        let mut s = String::new();
        write_kv_line(&mut s, &fields);
        assert_eq!(
            s,
            r#"log="say "hi"" n=-3 f=2.0 tags="["a" 1]" k8s="map[pod:"p" n:null]""#
        );
    }
}
