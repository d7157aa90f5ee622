//! Loki's `line_format` / `label_format` functions (`pkg/logql/log/fmt.go`): its own string
//! helpers, the sprig functions it exposes, and `__line__` / `__timestamp__`, which the caller
//! binds per line with [`crate::Template::execute_scoped`].

mod decimal;
mod math;
mod time;

use chrono::{DateTime, Utc};

use crate::builtins::{func, str_arg};
use crate::fmt::{quote, type_name};
use crate::funcs::{Arity, Funcs};
use crate::methods::go_zero_time;
use crate::prometheus::{go_title, regex};
use crate::timefmt::format_time;
use crate::value::Value;
use time::{date_arg, parse_time, unix_to_time};

/// The name of the function that yields the current line.
pub const LINE_FUNC: &str = "__line__";
/// The name of the function that yields the current entry's time.
pub const TIMESTAMP_FUNC: &str = "__timestamp__";

/// An `int` parameter: Go converts untyped integer constants, and refuses anything else.
fn int_arg(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() => Ok(*f as i64),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            type_name(other)
        )),
    }
}

/// A `time.Time` parameter.
fn time_arg(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::Time(t) => Ok(*t),
        other => Err(format!(
            "wrong type for value; expected time.Time; got {}",
            type_name(other)
        )),
    }
}

/// sprig's `empty`.
fn is_empty(v: &Value) -> bool {
    !v.is_true()
}

fn s(v: String) -> Result<Value, String> {
    Ok(Value::String(v))
}

/// Go's `strings.Trim*` cutset semantics.
fn trim_set<'a>(s: &'a str, cutset: &str, left: bool, right: bool) -> &'a str {
    let f = |c: char| cutset.contains(c);
    match (left, right) {
        (true, true) => s.trim_matches(f),
        (true, false) => s.trim_start_matches(f),
        (false, true) => s.trim_end_matches(f),
        _ => s,
    }
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `url.QueryUnescape`, with its error text.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = b.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        let end = (i + 3).min(b.len());
                        let frag = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {}", quote(&frag)));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= n {
                out.push(B64[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64.StdEncoding.DecodeString`, with Go's error text.
fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        let at = b.len() - b.len() % 4;
        return Err(format!("illegal base64 data at input byte {at}"));
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let mut v = 0u32;
        let mut pad = 0;
        for (k, &c) in chunk.iter().enumerate() {
            let d = if c == b'=' && ci * 4 + k >= b.len() - 2 && k >= 2 {
                pad += 1;
                0
            } else if pad > 0 {
                return Err(format!("illegal base64 data at input byte {}", ci * 4 + k));
            } else {
                match B64.iter().position(|&x| x == c) {
                    Some(p) => p as u32,
                    None => {
                        return Err(format!("illegal base64 data at input byte {}", ci * 4 + k));
                    }
                }
            };
            v = (v << 6) | d;
        }
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

/// Loki's `b64dec`: pads the input, and on failure yields the error text as the value.
fn loki_b64dec(v: &str) -> String {
    let mut v = v.to_owned();
    let rem = v.len() % 4;
    if rem != 0 && rem != 1 {
        v.push_str(&"=".repeat(4 - rem));
    }
    match b64_decode(&v) {
        Ok(d) => String::from_utf8_lossy(&d).into_owned(),
        Err(e) => e,
    }
}

fn value_from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(a) => Value::List(a.into_iter().map(value_from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (k, value_from_json(v)))
                .collect(),
        ),
    }
}

fn align(count: i64, src: &str, left: bool) -> String {
    let n = src.chars().count() as i64;
    if count < 0 || count == n {
        return src.to_owned();
    }
    let pad = count - n;
    if pad > 0 {
        let p = " ".repeat(pad as usize);
        return if left {
            format!("{src}{p}")
        } else {
            format!("{p}{src}")
        };
    }
    let chars: Vec<char> = src.chars().collect();
    if left {
        chars[..count as usize].iter().collect()
    } else {
        chars[(n - count) as usize..].iter().collect()
    }
}

/// Byte slicing as Go does it, lossy where it splits a character.
fn byte_slice(s: &str, a: usize, b: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()
}

fn indent(spaces: i64, v: &str) -> Result<String, String> {
    if spaces < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

/// A function of one string to a string.
type StrFn = fn(&str) -> String;

/// Installs Loki's functions into `f`.
pub(crate) fn install(f: &mut Funcs) {
    // Unbound (outside a line's execution), `__line__` and `__timestamp__` yield zero values.
    f.insert(LINE_FUNC, Arity::Exactly(0), func(|_| s(String::new())));
    f.insert(
        TIMESTAMP_FUNC,
        Arity::Exactly(0),
        func(|_| Ok(Value::Time(go_zero_time()))),
    );
    let one_string: [(&str, StrFn); 10] = [
        ("ToLower", str::to_lowercase),
        ("ToUpper", str::to_uppercase),
        ("lower", str::to_lowercase),
        ("upper", str::to_uppercase),
        ("title", go_title),
        ("TrimSpace", |x| x.trim().to_owned()),
        ("trim", |x| x.trim().to_owned()),
        ("urlencode", query_escape),
        ("b64enc", |x| b64_encode(x.as_bytes())),
        ("b64dec", loki_b64dec),
    ];
    for (name, g) in one_string {
        f.insert(
            name,
            Arity::Exactly(1),
            func(move |a| s(g(str_arg(&a[0])?))),
        );
    }
    f.insert(
        "urldecode",
        Arity::Exactly(1),
        func(|a| s(query_unescape(str_arg(&a[0])?)?)),
    );
    f.insert(
        "Replace",
        Arity::Exactly(4),
        func(|a| {
            let (src, old, new) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
            let n = int_arg(&a[3])?;
            s(if n < 0 {
                src.replace(old, new)
            } else {
                src.replacen(old, new, n as usize)
            })
        }),
    );
    for (name, left, right) in [
        ("Trim", true, true),
        ("TrimLeft", true, false),
        ("TrimRight", false, true),
    ] {
        f.insert(
            name,
            Arity::Exactly(2),
            func(move |a| s(trim_set(str_arg(&a[0])?, str_arg(&a[1])?, left, right).to_owned())),
        );
    }
    f.insert(
        "TrimPrefix",
        Arity::Exactly(2),
        func(|a| {
            let (x, p) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_prefix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "TrimSuffix",
        Arity::Exactly(2),
        func(|a| {
            let (x, p) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_suffix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "trimAll",
        Arity::Exactly(2),
        func(|a| s(trim_set(str_arg(&a[1])?, str_arg(&a[0])?, true, true).to_owned())),
    );
    f.insert(
        "trimPrefix",
        Arity::Exactly(2),
        func(|a| {
            let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_prefix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "trimSuffix",
        Arity::Exactly(2),
        func(|a| {
            let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_suffix(p).unwrap_or(x).to_owned())
        }),
    );
    for (name, literal) in [("regexReplaceAll", false), ("regexReplaceAllLiteral", true)] {
        f.insert(
            name,
            Arity::Exactly(3),
            func(move |a| {
                let re = regex(str_arg(&a[0])?)?;
                let (src, repl) = (str_arg(&a[1])?, str_arg(&a[2])?);
                s(if literal {
                    re.replace_all(src, regex::NoExpand(repl)).into_owned()
                } else {
                    re.replace_all(src, repl).into_owned()
                })
            }),
        );
    }
    f.insert(
        "count",
        Arity::Exactly(2),
        func(|a| {
            let re = regex(str_arg(&a[0])?)?;
            Ok(Value::Int(re.find_iter(str_arg(&a[1])?).count() as i64))
        }),
    );
    f.insert(
        "contains",
        Arity::Exactly(2),
        func(|a| Ok(Value::Bool(str_arg(&a[1])?.contains(str_arg(&a[0])?)))),
    );
    f.insert(
        "hasPrefix",
        Arity::Exactly(2),
        func(|a| Ok(Value::Bool(str_arg(&a[1])?.starts_with(str_arg(&a[0])?)))),
    );
    f.insert(
        "hasSuffix",
        Arity::Exactly(2),
        func(|a| Ok(Value::Bool(str_arg(&a[1])?.ends_with(str_arg(&a[0])?)))),
    );
    f.insert(
        "replace",
        Arity::Exactly(3),
        func(|a| s(str_arg(&a[2])?.replace(str_arg(&a[0])?, str_arg(&a[1])?))),
    );
    f.insert(
        "repeat",
        Arity::Exactly(2),
        func(|a| {
            let n = int_arg(&a[0])?;
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            s(str_arg(&a[1])?.repeat(n as usize))
        }),
    );
    f.insert(
        "indent",
        Arity::Exactly(2),
        func(|a| s(indent(int_arg(&a[0])?, str_arg(&a[1])?)?)),
    );
    f.insert(
        "nindent",
        Arity::Exactly(2),
        func(|a| s(format!("\n{}", indent(int_arg(&a[0])?, str_arg(&a[1])?)?))),
    );
    f.insert(
        "trunc",
        Arity::Exactly(2),
        func(|a| {
            let c = int_arg(&a[0])?;
            let x = str_arg(&a[1])?;
            let l = x.len() as i64;
            s(if c < 0 && l + c > 0 {
                byte_slice(x, (l + c) as usize, x.len())
            } else if c >= 0 && l > c {
                byte_slice(x, 0, c as usize)
            } else {
                x.to_owned()
            })
        }),
    );
    f.insert(
        "substr",
        Arity::Exactly(3),
        func(|a| {
            let (start, end) = (int_arg(&a[0])?, int_arg(&a[1])?);
            let x = str_arg(&a[2])?;
            let l = x.len() as i64;
            let oob = || "runtime error: slice bounds out of range".to_string();
            if start < 0 {
                if end < 0 || end > l {
                    return Err(oob());
                }
                return s(byte_slice(x, 0, end as usize));
            }
            if end < 0 || end > l {
                if start > l {
                    return Err(oob());
                }
                return s(byte_slice(x, start as usize, x.len()));
            }
            if start > end {
                return Err(oob());
            }
            s(byte_slice(x, start as usize, end as usize))
        }),
    );
    for (name, left) in [("alignLeft", true), ("alignRight", false)] {
        f.insert(
            name,
            Arity::Exactly(2),
            func(move |a| s(align(int_arg(&a[0])?, str_arg(&a[1])?, left))),
        );
    }
    math::install(f);
    f.insert(
        "default",
        Arity::AtLeast(1),
        func(|a| match a.get(1) {
            Some(g) if !is_empty(g) => Ok(g.clone()),
            _ => Ok(a[0].clone()),
        }),
    );
    f.insert(
        "fromJson",
        Arity::Exactly(1),
        func(|a| {
            Ok(serde_json::from_str::<serde_json::Value>(str_arg(&a[0])?)
                .map(value_from_json)
                .unwrap_or(Value::Nil))
        }),
    );
    f.insert(
        "bytes",
        Arity::Exactly(1),
        func(|a| parse_bytes(str_arg(&a[0])?).map(|b| Value::Float(b as f64))),
    );
    for name in ["duration", "duration_seconds"] {
        f.insert(
            name,
            Arity::Exactly(1),
            func(move |a| {
                parse_go_duration(str_arg(&a[0])?).map(|ns| Value::Float(ns as f64 / 1e9))
            }),
        );
    }
    f.insert(
        "now",
        Arity::Exactly(0),
        func(|_| Ok(Value::Time(Utc::now()))),
    );
    f.insert(
        "date",
        Arity::Exactly(2),
        func(|a| s(format_time(&date_arg(&a[1]), str_arg(&a[0])?))),
    );
    f.insert(
        "toDate",
        Arity::Exactly(2),
        func(|a| {
            Ok(Value::Time(
                parse_time(str_arg(&a[0])?, str_arg(&a[1])?).unwrap_or_else(go_zero_time),
            ))
        }),
    );
    f.insert(
        "toDateInZone",
        Arity::Exactly(3),
        func(|a| {
            // Without a time zone database every zone is UTC, as Loki falls back to.
            Ok(Value::Time(
                parse_time(str_arg(&a[0])?, str_arg(&a[2])?).unwrap_or_else(go_zero_time),
            ))
        }),
    );
    f.insert(
        "unixEpoch",
        Arity::Exactly(1),
        func(|a| s(time_arg(&a[0])?.timestamp().to_string())),
    );
    f.insert(
        "unixEpochMillis",
        Arity::Exactly(1),
        func(|a| s(time_arg(&a[0])?.timestamp_millis().to_string())),
    );
    f.insert(
        "unixEpochNanos",
        Arity::Exactly(1),
        func(|a| {
            let t = time_arg(&a[0])?;
            s(t.timestamp_nanos_opt()
                .unwrap_or(t.timestamp().saturating_mul(1_000_000_000))
                .to_string())
        }),
    );
    f.insert(
        "unixToTime",
        Arity::Exactly(1),
        func(|a| unix_to_time(str_arg(&a[0])?).map(Value::Time)),
    );
}

/// `go-humanize`'s `ParseBytes`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let last = s
        .char_indices()
        .find(|(_, c)| !(c.is_numeric() || *c == '.' || *c == ','))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let num = s[..last].replace(',', "");
    let f: f64 = num.parse().map_err(|_| {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            quote(&num)
        )
    })?;
    let extra = s[last..].trim().to_lowercase();
    let mult: f64 = match extra.as_str() {
        "" | "b" => 1.0,
        "kib" | "ki" => 1024.0,
        "kb" | "k" => 1e3,
        "mib" | "mi" => 1024.0 * 1024.0,
        "mb" | "m" => 1e6,
        "gib" | "gi" => 1024f64.powi(3),
        "gb" | "g" => 1e9,
        "tib" | "ti" => 1024f64.powi(4),
        "tb" | "t" => 1e12,
        "pib" | "pi" => 1024f64.powi(5),
        "pb" | "p" => 1e15,
        "eib" | "ei" => 1024f64.powi(6),
        "eb" | "e" => 1e18,
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * mult;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// Go's `time.ParseDuration` in nanoseconds, with its error texts.
fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let (neg, mut s) = match orig.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, orig.strip_prefix('+').unwrap_or(orig)),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(invalid());
        }
        let v: f64 = s[..n].parse().map_err(|_| invalid())?;
        s = &s[n..];
        let u = s
            .bytes()
            .take_while(|c| !(c.is_ascii_digit() || *c == b'.'))
            .count();
        let unit = &s[..u];
        s = &s[u..];
        let mult = match unit {
            "" => return Err(format!("time: missing unit in duration {}", quote(orig))),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        total += v * mult;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

#[cfg(test)]
mod tests;
