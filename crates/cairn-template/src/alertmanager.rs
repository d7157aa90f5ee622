//! Alertmanager's template functions (`template/template.go` `DefaultFuncs`).

use std::fmt::Write as _;

use chrono::{SecondsFormat, Utc};

use crate::builtins::{func, str_arg};
use crate::fmt::{format_float, sprint_value, type_name};
use crate::funcs::{Arity, Funcs};
use crate::prometheus::{humanize_duration, install_strings, to_float};
use crate::timefmt::format_time;
use crate::value::Value;

/// `cases.Title`: each word upper-cased at its first letter and lower-cased after it.
pub(crate) fn cases_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = c == '\'' && in_word;
        }
    }
    out
}

/// Go's `url.QueryUnescape`.
pub(crate) fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {bad:?}"));
                };
                out.push(v);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `json.Marshal` of a value (HTML characters escaped, as Go does by default).
pub(crate) fn to_json(v: &Value, out: &mut String) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", sprint_value(v)));
            }
            let a = f.abs();
            let s = if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let e = format_float(*f, 'e', None);
                // Go's JSON writes e-7, not e-07.
                match e.split_once('e') {
                    Some((m, exp)) => {
                        let (sign, digits) = exp.split_at(1);
                        format!("{m}e{sign}{}", digits.trim_start_matches('0'))
                    }
                    None => e,
                }
            } else {
                format_float(*f, 'f', None)
            };
            out.push_str(&s);
        }
        Value::String(s) => json_string(s, out),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(e, out)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                to_json(e, out)?;
            }
            out.push('}');
        }
        Value::Time(t) => json_string(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true), out),
        Value::Duration(d) => {
            let _ = write!(out, "{}", d.num_nanoseconds().unwrap_or(i64::MAX));
        }
    }
    Ok(())
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn time_arg(v: &Value) -> Result<chrono::DateTime<Utc>, String> {
    match v {
        Value::Time(t) => Ok(*t),
        other => Err(format!(
            "wrong type for value; expected time.Time; got {}",
            type_name(other)
        )),
    }
}

/// Installs Alertmanager's functions.
pub(crate) fn install(f: &mut Funcs) {
    install_strings(f);
    f.insert(
        "title",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(cases_title(str_arg(&a[0])?)))),
    );
    f.insert(
        "trimSpace",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(str_arg(&a[0])?.trim().to_owned()))),
    );
    f.insert(
        "join",
        Arity::Exactly(2),
        func(|a| {
            let sep = str_arg(&a[0])?;
            match &a[1] {
                Value::List(l) => {
                    let parts: Vec<String> = l
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => sprint_value(other),
                        })
                        .collect();
                    Ok(Value::String(parts.join(sep)))
                }
                other => Err(format!(
                    "wrong type for value; expected []string; got {}",
                    type_name(other)
                )),
            }
        }),
    );
    f.insert(
        "safeUrl",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(str_arg(&a[0])?.to_owned()))),
    );
    f.insert(
        "urlUnescape",
        Arity::Exactly(1),
        func(|a| query_unescape(str_arg(&a[0])?).map(Value::String)),
    );
    f.insert(
        "stringSlice",
        Arity::AtLeast(0),
        func(|a| {
            let items = a
                .iter()
                .map(|v| str_arg(v).map(|s| Value::String(s.to_owned())));
            Ok(Value::List(items.collect::<Result<_, _>>()?))
        }),
    );
    f.insert(
        "date",
        Arity::Exactly(2),
        func(|a| {
            Ok(Value::String(format_time(
                &time_arg(&a[1])?,
                str_arg(&a[0])?,
            )))
        }),
    );
    f.insert(
        "tz",
        Arity::Exactly(2),
        func(|a| {
            let t = time_arg(&a[1])?;
            match str_arg(&a[0])? {
                "" | "UTC" | "Etc/UTC" => Ok(Value::Time(t)),
                other => Err(format!("unknown time zone {other}: only UTC is supported")),
            }
        }),
    );
    f.insert(
        "since",
        Arity::Exactly(1),
        func(|a| {
            Ok(Value::Duration(
                Utc::now().signed_duration_since(time_arg(&a[0])?),
            ))
        }),
    );
    f.insert(
        "humanizeDuration",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(humanize_duration(to_float(&a[0])?)))),
    );
    f.insert(
        "toJson",
        Arity::Exactly(1),
        func(|a| {
            let mut out = String::new();
            to_json(&a[0], &mut out)?;
            Ok(Value::String(out))
        }),
    );
}
