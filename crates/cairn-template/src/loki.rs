//! Loki's `line_format` / `label_format` functions (`pkg/logql/log/fmt.go`): its own string
//! helpers, the sprig functions it exposes, and `__line__` / `__timestamp__`, which the caller
//! binds per line with [`crate::Template::execute_scoped`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use crate::builtins::{func, str_arg, want};
use crate::fmt::{quote, type_name};
use crate::funcs::Funcs;
use crate::methods::go_zero_time;
use crate::prometheus::{go_title, regex};
use crate::timefmt::format_time;
use crate::value::Value;

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

/// sprig's `toInt64` (spf13/cast, errors as zero).
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(s.trim()).unwrap_or(0),
        Value::Duration(d) => d.num_nanoseconds().unwrap_or(0),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: decimal, `0x`, `0o`, `0b` and leading-zero octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let t = t.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        lower.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// sprig's `toFloat64`.
fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Rounds away the binary noise of a decimal sum (sprig computes `addf` and friends in
/// decimal: `addf 1.1 2.2` is `3.3`).
fn decimal(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.14e}").parse().unwrap_or(v)
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

/// Loki's `unixToTime`: days, seconds, milliseconds, microseconds or nanoseconds by length.
fn unix_to_time(epoch: &str) -> Result<DateTime<Utc>, String> {
    let i: i64 = epoch.parse().map_err(|_| {
        format!(
            "unable to parse time '{epoch}': strconv.ParseInt: parsing {}: invalid syntax",
            quote(epoch)
        )
    })?;
    let ns = match epoch.len() {
        5 => i.checked_mul(86_400_000_000_000),
        10 => i.checked_mul(1_000_000_000),
        13 => i.checked_mul(1_000_000),
        16 => i.checked_mul(1_000),
        19 => Some(i),
        _ => return Err(format!("unable to parse time '{epoch}': %!w(<nil>)")),
    };
    ns.map(DateTime::from_timestamp_nanos)
        .ok_or_else(|| format!("unable to parse time '{epoch}': value out of range"))
}

/// Go's `time.Parse` for the common layout elements; `None` when `value` does not fit.
fn parse_time(layout: &str, value: &str) -> Option<DateTime<Utc>> {
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut offset_secs: i64 = 0;
    let mut pm: Option<bool> = None;
    let mut l = layout;
    let mut v = value;
    let num = |v: &mut &str, min_digits: usize, max_digits: usize| -> Option<u32> {
        let n = v
            .bytes()
            .take(max_digits)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_digits {
            return None;
        }
        let r = v[..n].parse().ok()?;
        *v = &v[n..];
        Some(r)
    };
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    while !l.is_empty() {
        if let Some(r) = l.strip_prefix("2006") {
            year = num(&mut v, 4, 4)? as i32;
            l = r;
        } else if let Some(r) = l.strip_prefix("January") {
            let i = MONTHS.iter().position(|m| v.starts_with(m))?;
            month = i as u32 + 1;
            v = &v[MONTHS[i].len()..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Jan") {
            let i = MONTHS.iter().position(|m| v.starts_with(&m[..3]))?;
            month = i as u32 + 1;
            v = &v[3..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Monday") {
            let i = DAYS.iter().position(|d| v.starts_with(d))?;
            v = &v[DAYS[i].len()..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Mon") {
            DAYS.iter().position(|d| v.starts_with(&d[..3]))?;
            v = &v[3..];
            l = r;
        } else if let Some(r) = l.strip_prefix("MST") {
            let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
            if n < 3 {
                return None;
            }
            v = &v[n..];
            l = r;
        } else if let Some(r) = l.strip_prefix("01") {
            month = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("02") {
            day = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("_2") {
            v = v.strip_prefix(' ').unwrap_or(v);
            day = num(&mut v, 1, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("03") {
            hour = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("04") {
            min = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("05") {
            sec = num(&mut v, 2, 2)?;
            l = r;
            // Go accepts a fraction after the seconds even when the layout has none.
            if !l.starts_with(['.', ','])
                && let Some(rest) = v.strip_prefix('.')
                && rest.starts_with(|c: char| c.is_ascii_digit())
            {
                let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                for (k, c) in rest[..d].bytes().take(9).enumerate() {
                    nanos += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
                }
                v = &rest[d..];
            }
        } else if let Some(r) = l.strip_prefix("06") {
            year = 1900 + num(&mut v, 2, 2)? as i32;
            if year < 1969 {
                year += 100;
            }
            l = r;
        } else if let Some(r) = l.strip_prefix("15") {
            hour = num(&mut v, 1, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("PM") {
            pm = Some(v.starts_with("PM"));
            v = v.get(2..)?;
            l = r;
        } else if let Some(r) = l
            .strip_prefix("Z07:00")
            .or_else(|| l.strip_prefix("-07:00"))
            .or_else(|| l.strip_prefix("Z0700"))
            .or_else(|| l.strip_prefix("-0700"))
        {
            let colon = l.contains(':') && l.find(':') < Some(6);
            if (l.starts_with('Z')) && v.starts_with('Z') {
                v = &v[1..];
            } else {
                let sign = match v.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                v = &v[1..];
                let h = num(&mut v, 2, 2)?;
                if colon {
                    v = v.strip_prefix(':')?;
                }
                let m = num(&mut v, 2, 2)?;
                offset_secs = sign * (i64::from(h) * 3600 + i64::from(m) * 60);
            }
            l = r;
        } else if l.starts_with(".0") || l.starts_with(".9") || l.starts_with(",0") {
            let n = l[1..]
                .bytes()
                .take_while(|c| *c == b'0' || *c == b'9')
                .count();
            l = &l[1 + n..];
            if let Some(rest) = v.strip_prefix(['.', ',']) {
                let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                let frac = &rest[..d];
                let mut ns = 0u32;
                for (k, c) in frac.bytes().take(9).enumerate() {
                    ns += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
                }
                nanos = ns;
                v = &rest[d..];
            }
        } else {
            let c = l.chars().next()?;
            if !v.starts_with(c) {
                return None;
            }
            l = &l[c.len_utf8()..];
            v = &v[c.len_utf8()..];
        }
    }
    if !v.is_empty() {
        return None;
    }
    if let Some(is_pm) = pm {
        if hour > 12 {
            return None;
        }
        if is_pm && hour < 12 {
            hour += 12;
        } else if !is_pm && hour == 12 {
            hour = 0;
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)?;
    let local = NaiveDateTime::new(date, time).and_utc();
    Some(local - TimeDelta::seconds(offset_secs))
}

/// sprig's `date` argument: a time, or seconds since the epoch.
fn date_arg(v: &Value) -> DateTime<Utc> {
    match v {
        Value::Time(t) => *t,
        Value::Int(i) => DateTime::from_timestamp(*i, 0).unwrap_or_else(go_zero_time),
        _ => Utc::now(),
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

/// Installs Loki's functions into `f`.
pub(crate) fn install(f: &mut Funcs) {
    let str1 = |name: &'static str, g: fn(&str) -> String| {
        func(move |a| {
            want(name, a, 1)?;
            s(g(str_arg(&a[0])?))
        })
    };
    f.insert(LINE_FUNC, func(|_| s(String::new())));
    f.insert(TIMESTAMP_FUNC, func(|_| Ok(Value::Time(go_zero_time()))));
    f.insert("ToLower", str1("ToLower", str::to_lowercase));
    f.insert("ToUpper", str1("ToUpper", str::to_uppercase));
    f.insert("lower", str1("lower", str::to_lowercase));
    f.insert("upper", str1("upper", str::to_uppercase));
    f.insert("title", str1("title", go_title));
    f.insert("TrimSpace", str1("TrimSpace", |x| x.trim().to_owned()));
    f.insert("trim", str1("trim", |x| x.trim().to_owned()));
    f.insert("urlencode", str1("urlencode", query_escape));
    f.insert("b64enc", str1("b64enc", |x| b64_encode(x.as_bytes())));
    f.insert("b64dec", str1("b64dec", loki_b64dec));
    f.insert(
        "urldecode",
        func(|a| {
            want("urldecode", a, 1)?;
            s(query_unescape(str_arg(&a[0])?)?)
        }),
    );
    f.insert(
        "Replace",
        func(|a| {
            want("Replace", a, 4)?;
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
            func(move |a| {
                want(name, a, 2)?;
                s(trim_set(str_arg(&a[0])?, str_arg(&a[1])?, left, right).to_owned())
            }),
        );
    }
    f.insert(
        "TrimPrefix",
        func(|a| {
            want("TrimPrefix", a, 2)?;
            let (x, p) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_prefix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "TrimSuffix",
        func(|a| {
            want("TrimSuffix", a, 2)?;
            let (x, p) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_suffix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "trimAll",
        func(|a| {
            want("trimAll", a, 2)?;
            s(trim_set(str_arg(&a[1])?, str_arg(&a[0])?, true, true).to_owned())
        }),
    );
    f.insert(
        "trimPrefix",
        func(|a| {
            want("trimPrefix", a, 2)?;
            let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_prefix(p).unwrap_or(x).to_owned())
        }),
    );
    f.insert(
        "trimSuffix",
        func(|a| {
            want("trimSuffix", a, 2)?;
            let (p, x) = (str_arg(&a[0])?, str_arg(&a[1])?);
            s(x.strip_suffix(p).unwrap_or(x).to_owned())
        }),
    );
    for (name, literal) in [("regexReplaceAll", false), ("regexReplaceAllLiteral", true)] {
        f.insert(
            name,
            func(move |a| {
                want(name, a, 3)?;
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
        func(|a| {
            want("count", a, 2)?;
            let re = regex(str_arg(&a[0])?)?;
            Ok(Value::Int(re.find_iter(str_arg(&a[1])?).count() as i64))
        }),
    );
    f.insert(
        "contains",
        func(|a| {
            want("contains", a, 2)?;
            Ok(Value::Bool(str_arg(&a[1])?.contains(str_arg(&a[0])?)))
        }),
    );
    f.insert(
        "hasPrefix",
        func(|a| {
            want("hasPrefix", a, 2)?;
            Ok(Value::Bool(str_arg(&a[1])?.starts_with(str_arg(&a[0])?)))
        }),
    );
    f.insert(
        "hasSuffix",
        func(|a| {
            want("hasSuffix", a, 2)?;
            Ok(Value::Bool(str_arg(&a[1])?.ends_with(str_arg(&a[0])?)))
        }),
    );
    f.insert(
        "replace",
        func(|a| {
            want("replace", a, 3)?;
            s(str_arg(&a[2])?.replace(str_arg(&a[0])?, str_arg(&a[1])?))
        }),
    );
    f.insert(
        "repeat",
        func(|a| {
            want("repeat", a, 2)?;
            let n = int_arg(&a[0])?;
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            s(str_arg(&a[1])?.repeat(n as usize))
        }),
    );
    f.insert(
        "indent",
        func(|a| {
            want("indent", a, 2)?;
            s(indent(int_arg(&a[0])?, str_arg(&a[1])?)?)
        }),
    );
    f.insert(
        "nindent",
        func(|a| {
            want("nindent", a, 2)?;
            s(format!("\n{}", indent(int_arg(&a[0])?, str_arg(&a[1])?)?))
        }),
    );
    f.insert(
        "trunc",
        func(|a| {
            want("trunc", a, 2)?;
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
        func(|a| {
            want("substr", a, 3)?;
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
            func(move |a| {
                want(name, a, 2)?;
                s(align(int_arg(&a[0])?, str_arg(&a[1])?, left))
            }),
        );
    }
    f.insert(
        "int",
        func(|a| {
            want("int", a, 1)?;
            Ok(Value::Int(to_i64(&a[0])))
        }),
    );
    f.insert(
        "float64",
        func(|a| {
            want("float64", a, 1)?;
            Ok(Value::Float(to_f64(&a[0])))
        }),
    );
    f.insert(
        "add",
        func(|a| {
            Ok(Value::Int(
                a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
            ))
        }),
    );
    f.insert(
        "mul",
        func(|a| {
            let Some((first, rest)) = a.split_first() else {
                return Err("wrong number of args for mul: want at least 1 got 0".into());
            };
            Ok(Value::Int(
                rest.iter()
                    .map(to_i64)
                    .fold(to_i64(first), i64::wrapping_mul),
            ))
        }),
    );
    f.insert(
        "sub",
        func(|a| {
            want("sub", a, 2)?;
            Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
        }),
    );
    for (name, is_div) in [("div", true), ("mod", false)] {
        f.insert(
            name,
            func(move |a| {
                want(name, a, 2)?;
                let (x, y) = (to_i64(&a[0]), to_i64(&a[1]));
                if y == 0 {
                    return Err("runtime error: integer divide by zero".into());
                }
                Ok(Value::Int(if is_div {
                    x.wrapping_div(y)
                } else {
                    x.wrapping_rem(y)
                }))
            }),
        );
    }
    f.insert(
        "addf",
        func(|a| Ok(Value::Float(decimal(a.iter().map(to_f64).sum())))),
    );
    let fold_f = |name: &'static str, op: fn(f64, f64) -> f64, round: bool| {
        func(move |a: &[Value]| {
            let Some((first, rest)) = a.split_first() else {
                return Err(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                ));
            };
            let v = rest.iter().map(to_f64).fold(to_f64(first), op);
            Ok(Value::Float(if round { decimal(v) } else { v }))
        })
    };
    f.insert("subf", fold_f("subf", |x, y| x - y, true));
    f.insert("mulf", fold_f("mulf", |x, y| x * y, true));
    f.insert("divf", fold_f("divf", |x, y| x / y, true));
    f.insert("maxf", fold_f("maxf", f64::max, false));
    f.insert("minf", fold_f("minf", f64::min, false));
    let fold_i = |name: &'static str, op: fn(i64, i64) -> i64| {
        func(move |a: &[Value]| {
            let Some((first, rest)) = a.split_first() else {
                return Err(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                ));
            };
            Ok(Value::Int(rest.iter().map(to_i64).fold(to_i64(first), op)))
        })
    };
    f.insert("max", fold_i("max", i64::max));
    f.insert("min", fold_i("min", i64::min));
    f.insert(
        "ceil",
        func(|a| {
            want("ceil", a, 1)?;
            Ok(Value::Float(to_f64(&a[0]).ceil()))
        }),
    );
    f.insert(
        "floor",
        func(|a| {
            want("floor", a, 1)?;
            Ok(Value::Float(to_f64(&a[0]).floor()))
        }),
    );
    f.insert(
        "round",
        func(|a| {
            if a.len() < 2 || a.len() > 3 {
                return Err(format!(
                    "wrong number of args for round: want 2 got {}",
                    a.len()
                ));
            }
            let v = to_f64(&a[0]);
            let p = int_arg(&a[1])?;
            let round_on = a.get(2).map(to_f64).unwrap_or(0.5);
            let pow = 10f64.powi(p as i32);
            let digit = pow * v;
            let (int, frac) = (digit.trunc(), digit.fract());
            let r = if frac >= round_on { int + 1.0 } else { int };
            Ok(Value::Float(r / pow))
        }),
    );
    f.insert(
        "default",
        func(|a| {
            let Some((d, given)) = a.split_first() else {
                return Err("wrong number of args for default: want at least 1 got 0".into());
            };
            match given.first() {
                Some(g) if !is_empty(g) => Ok(g.clone()),
                _ => Ok(d.clone()),
            }
        }),
    );
    f.insert(
        "fromJson",
        func(|a| {
            want("fromJson", a, 1)?;
            Ok(serde_json::from_str::<serde_json::Value>(str_arg(&a[0])?)
                .map(value_from_json)
                .unwrap_or(Value::Nil))
        }),
    );
    f.insert(
        "bytes",
        func(|a| {
            want("bytes", a, 1)?;
            parse_bytes(str_arg(&a[0])?).map(|b| Value::Float(b as f64))
        }),
    );
    for name in ["duration", "duration_seconds"] {
        f.insert(
            name,
            func(move |a| {
                want(name, a, 1)?;
                parse_go_duration(str_arg(&a[0])?).map(|ns| Value::Float(ns as f64 / 1e9))
            }),
        );
    }
    f.insert("now", func(|_| Ok(Value::Time(Utc::now()))));
    f.insert(
        "date",
        func(|a| {
            want("date", a, 2)?;
            s(format_time(&date_arg(&a[1]), str_arg(&a[0])?))
        }),
    );
    f.insert(
        "toDate",
        func(|a| {
            want("toDate", a, 2)?;
            Ok(Value::Time(
                parse_time(str_arg(&a[0])?, str_arg(&a[1])?).unwrap_or_else(go_zero_time),
            ))
        }),
    );
    f.insert(
        "toDateInZone",
        func(|a| {
            want("toDateInZone", a, 3)?;
            // Without a time zone database every zone is UTC, as Loki falls back to.
            Ok(Value::Time(
                parse_time(str_arg(&a[0])?, str_arg(&a[2])?).unwrap_or_else(go_zero_time),
            ))
        }),
    );
    f.insert(
        "unixEpoch",
        func(|a| {
            want("unixEpoch", a, 1)?;
            s(time_arg(&a[0])?.timestamp().to_string())
        }),
    );
    f.insert(
        "unixEpochMillis",
        func(|a| {
            want("unixEpochMillis", a, 1)?;
            s(time_arg(&a[0])?.timestamp_millis().to_string())
        }),
    );
    f.insert(
        "unixEpochNanos",
        func(|a| {
            want("unixEpochNanos", a, 1)?;
            let t = time_arg(&a[0])?;
            s(t.timestamp_nanos_opt()
                .unwrap_or(t.timestamp().saturating_mul(1_000_000_000))
                .to_string())
        }),
    );
    f.insert(
        "unixToTime",
        func(|a| {
            want("unixToTime", a, 1)?;
            unix_to_time(str_arg(&a[0])?).map(Value::Time)
        }),
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
mod tests {
    use super::*;
    use crate::Template;

    fn run(t: &str, data: &[(&str, &str)]) -> String {
        let tpl = Template::parse("line", t, &Funcs::loki()).unwrap();
        tpl.execute_scoped(
            &Value::string_map(data.iter().copied()),
            &[
                (LINE_FUNC, Value::from("the line")),
                (
                    TIMESTAMP_FUNC,
                    Value::Time(DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
                ),
            ],
        )
        .unwrap()
    }

    #[test]
    fn string_functions() {
        assert_eq!(run("{{ .a | upper }}", &[("a", "x")]), "X");
        assert_eq!(
            run(r#"{{ Replace .a "o" "0" -1 }}"#, &[("a", "foo")]),
            "f00"
        );
        assert_eq!(run(r#"{{ trunc 2 .a }}"#, &[("a", "hello")]), "he");
        assert_eq!(run(r#"{{ trunc -2 .a }}"#, &[("a", "hello")]), "lo");
        assert_eq!(run(r#"{{ substr 1 3 .a }}"#, &[("a", "hello")]), "el");
        assert_eq!(
            run(r#"{{ .a | trimPrefix "he" }}"#, &[("a", "hello")]),
            "llo"
        );
        assert_eq!(
            run(
                r#"{{ regexReplaceAll "(\\w+)@(\\w+)" .a "${2}" }}"#,
                &[("a", "me@host")]
            ),
            "host"
        );
        assert_eq!(run(r#"{{ alignRight 5 .a }}"#, &[("a", "ab")]), "   ab");
        assert_eq!(run(r#"{{ alignLeft 1 .a }}"#, &[("a", "ab")]), "a");
        assert_eq!(run(r#"{{ .a | b64enc }}"#, &[("a", "hi!")]), "aGkh");
        assert_eq!(run(r#"{{ .a | b64dec }}"#, &[("a", "aGk")]), "hi");
        assert_eq!(run(r#"{{ .a | urlencode }}"#, &[("a", "a b&c")]), "a+b%26c");
        assert_eq!(run(r#"{{ default "x" .missing }}"#, &[("a", "1")]), "x");
        assert_eq!(run(r#"{{ count "o" .a }}"#, &[("a", "foo")]), "2");
        assert_eq!(run(r#"{{ indent 2 .a }}"#, &[("a", "x\ny")]), "  x\n  y");
    }

    #[test]
    fn math_and_time() {
        assert_eq!(run(r#"{{ add 1 "2" 3 }}"#, &[]), "6");
        assert_eq!(run(r#"{{ div 7 2 }}"#, &[]), "3");
        assert_eq!(run(r#"{{ addf 1.1 2.2 }}"#, &[]), "3.3");
        assert_eq!(run(r#"{{ round 2.555 2 }}"#, &[]), "2.56");
        assert_eq!(run(r#"{{ __line__ }}"#, &[]), "the line");
        assert_eq!(run(r#"{{ __timestamp__ | unixEpoch }}"#, &[]), "1700000000");
        assert_eq!(
            run(
                r#"{{ __timestamp__ | date "2006-01-02T15:04:05Z07:00" }}"#,
                &[]
            ),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            run(
                r#"{{ toDate "2006-01-02" .d | unixEpoch }}"#,
                &[("d", "2024-02-29")]
            ),
            "1709164800"
        );
        assert_eq!(
            run(
                r#"{{ unixToTime .t | unixEpochMillis }}"#,
                &[("t", "1673798889902")]
            ),
            "1673798889902"
        );
        assert_eq!(run(r#"{{ .d | duration }}"#, &[("d", "1m30s")]), "90");
        assert_eq!(run(r#"{{ .b | bytes }}"#, &[("b", "2KiB")]), "2048");
    }

    #[test]
    fn errors_name_the_function() {
        let tpl = Template::parse("l", "{{ div 1 0 }}", &Funcs::loki()).unwrap();
        let e = tpl.execute(&Value::Nil).unwrap_err().to_string();
        assert!(e.contains("error calling div"), "{e}");
        assert!(Template::parse("l", "{{ nosuchfunc }}", &Funcs::loki()).is_err());
    }
}
