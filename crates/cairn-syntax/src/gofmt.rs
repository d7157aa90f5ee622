//! The literal formats LogQL and TraceQL inherit from Go: quoted strings (`strconv.Quote` and
//! `Unquote`, Prometheus' `strutil.Unquote`), `strconv.ParseFloat`, and Go and Prometheus
//! durations. Loki's and Tempo's lexers read literals with Go's rules and their error texts
//! reach users, so ours follow Go's rules, not Rust's; canonical forms print strings and
//! durations so that Go reads them back.

use std::fmt::Write;

/// Go's `strconv.Quote`: double quotes, Go escapes, printable characters kept.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !is_go_print(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: controls, format characters, separators other
/// than the ASCII space and unassigned planes are not printable.
fn is_go_print(c: char) -> bool {
    let u = c as u32;
    if c.is_control() {
        return false;
    }
    !matches!(u,
        0x00ad | 0x0600..=0x0605 | 0x061c | 0x06dd | 0x070f | 0x180e | 0x200b..=0x200f
        | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff
        | 0xf0000..=0x10ffff | 0x00a0 | 0x1680 | 0x2000..=0x200a | 0x205f | 0x3000)
}

/// Go's `strconv.ParseFloat(s, 64)`, with its error text.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let invalid = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let neg = s.starts_with('-');
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => {
            return Ok(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') {
        return Err(invalid());
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        return parse_hex_float(hex, neg).ok_or_else(invalid);
    }
    let clean: String = if t.contains('_') {
        // Go accepts underscores between digits only with a base prefix.
        return Err(invalid());
    } else {
        t.to_string()
    };
    if !clean
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return Err(invalid());
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        )),
        Ok(v) => Ok(if neg { -v } else { v }),
        Err(_) => Err(invalid()),
    }
}

fn parse_hex_float(s: &str, neg: bool) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => {
            // Go requires the p exponent for hex floats, except for plain hex integers... and
            // ParseFloat refuses those too ("0x10" is invalid syntax).
            return None;
        }
    };
    let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
    if ip.is_empty() && fp.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in ip.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in fp.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Go's `time.ParseDuration`, with its error texts.
pub fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes()[0];
        if !(b == b'.' || b.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let int_part = &s[..int_end];
        s = &s[int_end..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let fe = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            frac_part = &rest[..fe];
            s = &rest[fe..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let mult: i64 = match unit {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        let iv: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = iv.checked_mul(mult as u128).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Go's `leadingFraction`: the fraction as an integer over a power of ten, digits
            // past what an int64 holds dropped, then one float multiplication, so that
            // `1.035us` is exactly 1035ns.
            let mut f: u64 = 0;
            let mut scale = 1f64;
            let mut overflow = false;
            for c in frac_part.bytes() {
                if overflow {
                    continue;
                }
                if f > (i64::MAX as u64 - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > 1 << 63 {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            v += (f as f64 * (mult as f64 / scale)) as u128;
        }
        total += v;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    let t = total as i128;
    Ok(if neg { (-t) as i64 } else { t as i64 })
}

/// A duration after a number in a query: Prometheus' form, else Go's (Loki's and Tempo's
/// `parseDuration`); the error is Go's.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    parse_prom_duration(s).or_else(|_| parse_go_duration(s))
}

/// Go's `time.Duration.String`: `1h2m3.5s`, `500ms`, `0s`.
pub fn format_go_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < SEC as u64 {
        let (unit, div) = if u < US as u64 {
            ("ns", 1u64)
        } else if u < MS as u64 {
            ("µs", US as u64)
        } else {
            ("ms", MS as u64)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / HOUR as u64;
        let rem = u % HOUR as u64;
        let m = rem / MIN as u64;
        let s = rem % MIN as u64;
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(out, "{m}m");
        }
        out.push_str(&frac(s, SEC as u64));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / div` with the fraction's trailing zeros removed.
fn frac(v: u64, div: u64) -> String {
    let ip = v / div;
    let fp = v % div;
    if fp == 0 {
        return ip.to_string();
    }
    let width = div.ilog10() as usize;
    let f = format!("{fp:0width$}");
    format!("{ip}.{}", f.trim_end_matches('0'))
}

/// Prometheus' `model.ParseDuration` (units y w d h m s ms, biggest first, no sign).
pub fn parse_prom_duration(orig: &str) -> Result<i64, String> {
    match orig {
        "0" => return Ok(0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", quote(orig));
    let mut s = orig;
    let mut total: u64 = 0;
    let mut last_pos = 0;
    while !s.is_empty() {
        if !s.as_bytes()[0].is_ascii_digit() {
            return Err(invalid());
        }
        let ie = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let v: u64 = s[..ie].parse().map_err(|_| invalid())?;
        s = &s[ie..];
        let ue = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        if ue == 0 {
            return Err(invalid());
        }
        let unit = &s[..ue];
        s = &s[ue..];
        let (pos, mult): (i32, u64) = match unit {
            "ms" => (7, MS as u64),
            "s" => (6, SEC as u64),
            "m" => (5, MIN as u64),
            "h" => (4, HOUR as u64),
            "d" => (3, 24 * HOUR as u64),
            "w" => (2, 7 * 24 * HOUR as u64),
            "y" => (1, 365 * 24 * HOUR as u64),
            _ => {
                return Err(format!(
                    "unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        if pos <= last_pos {
            return Err(invalid());
        }
        last_pos = pos;
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".into());
        }
        total += v * mult;
        if total > i64::MAX as u64 {
            return Err("duration out of range".into());
        }
    }
    Ok(total as i64)
}

/// Prometheus' `model.Duration.String` (millisecond precision, `1h30m`, `90d`, `2w`).
pub fn format_prom_duration(d: i64) -> String {
    let mut ms = d / MS;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
        ms = -ms;
    }
    let units: [(&str, i64, bool); 7] = [
        ("y", 1000 * 60 * 60 * 24 * 365, true),
        ("w", 1000 * 60 * 60 * 24 * 7, true),
        ("d", 1000 * 60 * 60 * 24, false),
        ("h", 1000 * 60 * 60, false),
        ("m", 1000 * 60, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            ms -= v * mult;
        }
    }
    out
}

/// Go's `strconv.Unquote` for the string tokens of the scanner: a raw string loses its
/// carriage returns, a single-quoted literal is one character.
pub fn unquote(s: &str) -> Result<String, String> {
    unquote_as(s, true)
}

/// Prometheus' `strutil.Unquote`, which Loki's lexer uses: a raw string is kept as written,
/// single quotes may hold any number of characters.
pub fn unquote_prometheus(s: &str) -> Result<String, String> {
    unquote_as(s, false)
}

fn unquote_as(s: &str, go: bool) -> Result<String, String> {
    let err = || "invalid syntax".to_string();
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return Err(err());
    }
    let q = chars[0];
    if chars[chars.len() - 1] != q {
        return Err(err());
    }
    let body = &chars[1..chars.len() - 1];
    if q == '`' {
        if body.contains(&'`') {
            return Err(err());
        }
        if go {
            return Ok(body.iter().filter(|c| **c != '\r').collect());
        }
        return Ok(body.iter().collect());
    }
    if q != '"' && q != '\'' {
        return Err(err());
    }
    if body.contains(&'\n') {
        return Err(err());
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < body.len() {
        let c = body[i];
        if c == q {
            return Err(err());
        }
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += 1;
            continue;
        }
        let e = *body.get(i + 1).ok_or_else(err)?;
        i += 2;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' | '"' => {
                if e != q {
                    return Err(err());
                }
                Some(e as u8)
            }
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        match e {
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = body.get(i..i + n).ok_or_else(err)?.iter().collect();
                let v = u32::from_str_radix(&digits, 16).map_err(|_| err())?;
                i += n;
                if e == 'x' {
                    out.push(v as u8);
                } else {
                    let c = char::from_u32(v).ok_or_else(err)?;
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            '0'..='7' => {
                let digits: String = body.get(i - 1..i + 2).ok_or_else(err)?.iter().collect();
                let v = u32::from_str_radix(&digits, 8).map_err(|_| err())?;
                if v > 255 {
                    return Err(err());
                }
                i += 2;
                out.push(v as u8);
            }
            _ => return Err(err()),
        }
    }
    // Escapes may spell bytes that are not UTF-8; Rust strings cannot hold them.
    let text = String::from_utf8_lossy(&out).into_owned();
    if go && q == '\'' && text.chars().count() != 1 {
        return Err(err());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration("-5m"), Ok(-300_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("250µs"), Ok(250_000));
        assert_eq!(parse_go_duration("1.035µs"), Ok(1035));
        assert_eq!(parse_go_duration("1.001s"), Ok(1_001_000_000));
        assert_eq!(
            parse_go_duration("5"),
            Err("time: missing unit in duration \"5\"".into())
        );
        assert_eq!(
            parse_go_duration("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(format_go_duration(300 * SEC), "5m0s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(3 * HOUR + 1), "3h0m0.000000001s");
        assert_eq!(format_go_duration(500 * MS), "500ms");
        assert_eq!(format_go_duration(-SEC), "-1s");
    }

    #[test]
    fn prom_durations() {
        assert_eq!(parse_prom_duration("5m"), Ok(300 * SEC));
        assert_eq!(parse_prom_duration("1h30m"), Ok(90 * MIN));
        assert_eq!(
            parse_prom_duration("5minutes"),
            Err("unknown unit \"minutes\" in duration \"5minutes\"".into())
        );
        assert!(parse_prom_duration("30m1h").is_err());
        assert_eq!(format_prom_duration(90 * MIN), "1h30m");
        assert_eq!(format_prom_duration(14 * 24 * HOUR), "2w");
        assert_eq!(format_prom_duration(15 * 24 * HOUR), "15d");
    }

    #[test]
    fn query_durations_try_prometheus_then_go() {
        assert_eq!(parse_duration("1d"), Ok(24 * HOUR));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(
            parse_duration("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
    }

    #[test]
    fn go_fractions_are_exact() {
        // 0.035 has no exact binary form: summing digit / 10^k in floats gives 1.0349999...µs.
        assert_eq!(parse_go_duration("1.035µs"), Ok(1035));
        assert_eq!(parse_go_duration("0.1s"), Ok(100_000_000));
        assert_eq!(parse_go_duration("1.000000001s"), Ok(1_000_000_001));
        assert_eq!(parse_go_duration("2.5h"), Ok(9_000_000_000_000));
        // Digits past what an int64 holds are dropped, as Go drops them.
        assert_eq!(
            parse_go_duration("0.12345678901234567890s"),
            Ok(123_456_789)
        );
        assert_eq!(parse_go_duration("1.00000000000000000000000001s"), Ok(SEC));
    }

    #[test]
    fn strings_unquote_like_go_and_prometheus() {
        for unq in [unquote, unquote_prometheus] {
            assert_eq!(unq(r#""a\"b\n""#), Ok("a\"b\n".into()));
            assert_eq!(unq("`a\\b`"), Ok("a\\b".into()));
            assert_eq!(unq(r#""\u00e9\x41""#), Ok("éA".into()));
            assert_eq!(unq(r#""\101""#), Ok("A".into()));
            assert!(unq(r#""\q""#).is_err());
            assert!(unq(r#""\400""#).is_err());
            assert!(unq("\"a").is_err());
        }
        // Go keeps one character between single quotes and drops a raw string's CRs;
        // Prometheus does neither.
        assert!(unquote("'ab'").is_err());
        assert_eq!(unquote_prometheus("'ab'"), Ok("ab".into()));
        assert_eq!(unquote("`a\r\nb`"), Ok("a\nb".into()));
        assert_eq!(unquote_prometheus("`a\r\nb`"), Ok("a\r\nb".into()));
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(quote("é"), "\"é\"");
        assert_eq!(quote("\x01"), r#""\x01""#);
    }
}
