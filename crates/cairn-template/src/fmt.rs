//! Go's `fmt` as templates use it: `%v` printing of values, `Sprint`, `Sprintln` and `Sprintf`
//! with Go's verbs, flags, width and precision, and Go's float formatting rules.

use std::fmt::Write as _;

use crate::methods::{pairs_string, sorted_pairs};
use crate::timefmt::{format_duration, format_time_default};
use crate::value::Value;

/// Width and precision above this are clamped, so a hostile `%999999999d` cannot allocate
/// gigabytes before the output limit is checked.
const MAX_WIDTH: usize = 10_000;

/// Go's type name of a value, for `%T` and error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Time(_) => "time.Time",
        Value::Duration(_) => "time.Duration",
    }
}

/// Decimal digits of `f` (without trailing zeros) and the decimal point position, like
/// strconv's `decimalSlice`: `0.0125` is digits "125", dp -1. With `sig`, rounded to that
/// many significant digits; otherwise the shortest representation that round-trips.
fn digits(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    if f == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        Some(n) => format!("{:.*e}", n.max(1) - 1, f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i32, prec: usize, upper: bool) {
    out.push(char::from(*d.first().unwrap_or(&b'0')));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(*d.get(i).unwrap_or(&b'0')));
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
}

fn fmt_f(out: &mut String, d: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(char::from(*d.get(i).unwrap_or(&b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            let idx = dp + i as i32;
            let c = if idx >= 0 {
                d.get(idx as usize).copied().unwrap_or(b'0')
            } else {
                b'0'
            };
            out.push(char::from(c));
        }
    }
}

/// Formats a float like Go's `strconv.FormatFloat(f, verb, prec, 64)` for verbs e, f, g
/// (`prec` None is Go's -1, the shortest representation). Signs other than `-` are left to
/// the caller.
pub(crate) fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    match verb {
        'e' | 'E' => {
            let (d, dp) = match prec {
                Some(p) => digits(f, Some(p + 1)),
                None => digits(f, None),
            };
            let p = prec.unwrap_or(d.len().max(1) - 1);
            fmt_e(&mut out, &d, dp, p, verb == 'E');
        }
        'f' | 'F' => match prec {
            Some(p) => {
                let s = format!("{:.*}", p, f.abs());
                out.push_str(&s);
            }
            None => {
                let (d, dp) = digits(f, None);
                let p = (d.len() as i32 - dp).max(0) as usize;
                fmt_f(&mut out, &d, dp, p);
            }
        },
        _ => {
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                Some(p) => digits(f, Some(p.max(1))),
                None => digits(f, None),
            };
            let mut prec = match prec {
                Some(p) => p.max(1),
                None => d.len(),
            };
            let nd = d.len();
            let mut eprec = prec as i32;
            if eprec > nd as i32 && nd as i32 >= dp {
                eprec = nd as i32;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&mut out, &d, dp, prec.max(1) - 1, verb == 'G');
            } else {
                if prec as i32 > dp {
                    prec = nd;
                }
                fmt_f(&mut out, &d, dp, (prec as i32 - dp).max(0) as usize);
            }
        }
    }
    out
}

/// Go's `%v` of a value (`fmt.Sprint` of one operand).
pub(crate) fn sprint_value(v: &Value) -> String {
    sprint_value_kv(v, false)
}

/// `%v` of a value; with `kv`, string maps print as Alertmanager's `KV.String()`
/// (`alertname=X, job=api`), as Alertmanager's label sets do.
pub(crate) fn sprint_value_kv(v: &Value, kv: bool) -> String {
    let mut s = String::new();
    write_value(&mut s, v, kv);
    s
}

/// A string map as Alertmanager's `KV.String()`, or `None` if some value is not a string.
fn kv_string(m: &std::collections::BTreeMap<String, Value>) -> Option<String> {
    if !m.values().all(|v| matches!(v, Value::String(_))) {
        return None;
    }
    Some(pairs_string(&sorted_pairs(m)))
}

fn write_value(out: &mut String, v: &Value, kv: bool) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f, 'g', None)),
        Value::String(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, e, kv);
            }
            out.push(']');
        }
        Value::Map(m) => {
            if let Some(s) = kv.then(|| kv_string(m)).flatten() {
                out.push_str(&s);
                return;
            }
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, e, kv);
            }
            out.push(']');
        }
        Value::Time(t) => out.push_str(&format_time_default(t)),
        Value::Duration(d) => out.push_str(&format_duration(*d)),
    }
}

/// Go's `fmt.Sprint`: operands printed with `%v`, a space between two operands when neither
/// is a string.
pub(crate) fn sprint(args: &[Value], kv: bool) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_value(&mut out, a, kv);
    }
    out
}

/// Go's `fmt.Sprintln`: operands separated by spaces, then a newline.
pub(crate) fn sprintln(args: &[Value], kv: bool) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, kv);
    }
    out.push('\n');
    out
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
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
            c if c.is_control() => {
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

#[derive(Default, Clone, Copy)]
struct Flags {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut String, s: &str, f: &Flags, zero_ok: bool) {
    let n = s.chars().count();
    let w = f.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if f.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if f.zero && zero_ok {
        // Zero padding goes after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    if matches!(v, Value::Nil) {
        let _ = write!(out, "%!{verb}(<nil>)");
        return;
    }
    let _ = write!(out, "%!{verb}({}=", type_name(v));
    write_value(out, v, false);
    out.push(')');
}

fn sign_prefix(neg: bool, f: &Flags) -> &'static str {
    if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    }
}

fn fmt_int(out: &mut String, i: i64, verb: char, f: &Flags) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let digits = match verb {
        'd' | 'v' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        _ => String::new(),
    };
    let mut digits = match f.prec {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        Some(0) if u == 0 => String::new(),
        _ => digits,
    };
    if f.sharp || verb == 'O' {
        let prefix = match verb {
            'x' => "0x",
            'X' => "0X",
            'o' if !digits.starts_with('0') => "0",
            'O' => "0o",
            'b' if f.sharp => "0b",
            _ => "",
        };
        digits.insert_str(0, prefix);
    }
    let s = format!("{}{digits}", sign_prefix(neg, f));
    pad(out, &s, f, f.prec.is_none());
}

fn fmt_float_verb(out: &mut String, x: f64, verb: char, f: &Flags) {
    let (v, prec) = match verb {
        'v' => ('g', f.prec),
        'e' | 'E' | 'f' | 'F' => (verb, Some(f.prec.unwrap_or(6))),
        _ => (verb, f.prec),
    };
    let mut s = format_float(x, v, prec);
    if (f.plus || f.space) && !s.starts_with(['-', '+']) {
        s.insert(0, if f.plus { '+' } else { ' ' });
    } else if !f.plus && s.starts_with('+') {
        // Go prints +Inf only under %v without flags; with a width the sign stays.
        if f.space {
            s.replace_range(0..1, " ");
        }
    }
    let finite = x.is_finite();
    pad(out, &s, f, finite);
}

fn fmt_string(out: &mut String, s: &str, verb: char, f: &Flags) {
    let s = match f.prec {
        Some(p) if verb != 'x' && verb != 'X' => s.chars().take(p).collect::<String>(),
        _ => s.to_owned(),
    };
    let r = match verb {
        'q' => quote(&s),
        'x' => s.bytes().map(|b| format!("{b:02x}")).collect(),
        'X' => s.bytes().map(|b| format!("{b:02X}")).collect(),
        _ => s,
    };
    pad(out, &r, f, false);
}

fn fmt_one(out: &mut String, v: &Value, verb: char, f: &Flags, kv: bool) {
    match (v, verb) {
        (Value::Bool(b), 't' | 'v') => pad(out, if *b { "true" } else { "false" }, f, false),
        (Value::Int(i), 'd' | 'v' | 'x' | 'X' | 'o' | 'O' | 'b') => fmt_int(out, *i, verb, f),
        (Value::Int(i), 'c') => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), f, false);
        }
        (Value::Int(i), 'q') => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let q = quote(&c.to_string());
            pad(
                out,
                &format!("'{}'", &q[1..q.len() - 1].replace("\\\"", "\"")),
                f,
                false,
            );
        }
        (Value::Int(i), 'e' | 'E' | 'f' | 'F' | 'g' | 'G') => {
            // Go prints %!f(int=1); templates usually pass ints where floats are meant.
            bad_verb(out, verb, &Value::Int(*i));
        }
        (Value::Float(x), 'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G') => {
            fmt_float_verb(out, *x, verb, f)
        }
        (Value::String(s), 's' | 'v' | 'q' | 'x' | 'X') => fmt_string(out, s, verb, f),
        (Value::List(items), 'v' | 's' | 'd' | 'q' | 'x' | 'X' | 'f' | 'g' | 'e' | 't') => {
            let mut s = String::from("[");
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                fmt_one(&mut s, e, verb, &Flags { width: None, ..*f }, kv);
            }
            s.push(']');
            pad(out, &s, f, false);
        }
        (Value::Map(m), 'v' | 's' | 'q' | 'x' | 'X') if kv && kv_string(m).is_some() => {
            fmt_string(out, &kv_string(m).unwrap_or_default(), verb, f);
        }
        (Value::Map(m), 'v' | 's' | 'd' | 'q' | 'x' | 'X' | 'f' | 'g' | 'e' | 't') => {
            let mut s = String::from("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                fmt_one(
                    &mut s,
                    &Value::String(k.clone()),
                    verb,
                    &Flags { width: None, ..*f },
                    kv,
                );
                s.push(':');
                fmt_one(&mut s, e, verb, &Flags { width: None, ..*f }, kv);
            }
            s.push(']');
            pad(out, &s, f, false);
        }
        (Value::Nil, 'v') => pad(out, "<nil>", f, false),
        (Value::Time(_) | Value::Duration(_), 'v' | 's') => pad(out, &sprint_value(v), f, false),
        (Value::Time(_) | Value::Duration(_), 'q') => pad(out, &quote(&sprint_value(v)), f, false),
        (Value::Duration(d), 'd' | 'x' | 'X' | 'o' | 'b') => {
            fmt_int(out, d.num_nanoseconds().unwrap_or(i64::MAX), verb, f);
        }
        _ => bad_verb(out, verb, v),
    }
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value], kv: bool) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        while let Some(&c) = chars.peek() {
            match c {
                '-' => f.minus = true,
                '+' => f.plus = true,
                '#' => f.sharp = true,
                ' ' => f.space = true,
                '0' => f.zero = !f.minus,
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, argi: &mut usize| {
            if chars.peek() == Some(&'*') {
                chars.next();
                let n = match args.get(*argi) {
                    Some(Value::Int(i)) => Some(usize::try_from(*i).unwrap_or(0)),
                    _ => None,
                };
                *argi += 1;
                return n.map(|n| n.min(MAX_WIDTH));
            }
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some((n.unwrap_or(0) * 10 + d as usize).min(MAX_WIDTH));
                chars.next();
            }
            n
        };
        f.width = num(&mut chars, &mut argi);
        if chars.peek() == Some(&'.') {
            chars.next();
            f.prec = Some(num(&mut chars, &mut argi).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        match verb {
            'T' => pad(&mut out, type_name(arg), &f, false),
            'v' if f.sharp => {
                let s = match arg {
                    Value::String(s) => quote(s),
                    other => sprint_value_kv(other, kv),
                };
                pad(&mut out, &s, &f, false);
            }
            _ => fmt_one(&mut out, arg, verb, &f, kv),
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}=", type_name(a));
            write_value(&mut out, a, kv);
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_strconv() {
        let cases: &[(f64, char, Option<usize>, &str)] = &[
            (0.0, 'g', None, "0"),
            (1e20, 'g', None, "1e+20"),
            (123456.0, 'g', None, "123456"),
            (1234567.0, 'g', Some(4), "1.235e+06"),
            (0.000123, 'g', Some(2), "0.00012"),
            (0.0000123, 'g', Some(2), "1.2e-05"),
            (5e-324, 'g', None, "5e-324"),
            (f64::MAX, 'g', None, "1.7976931348623157e+308"),
            (1.0, 'e', None, "1e+00"),
            (0.0, 'e', Some(2), "0.00e+00"),
            (-1234.5, 'e', Some(1), "-1.2e+03"),
            (1e100, 'e', Some(0), "1e+100"),
            (0.5, 'f', None, "0.5"),
            (1e21, 'f', None, "1000000000000000000000"),
            (0.001, 'f', Some(2), "0.00"),
        ];
        for (f, verb, prec, want) in cases {
            assert_eq!(format_float(*f, *verb, *prec), *want, "{f} {verb} {prec:?}");
        }
    }

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(quote("a\"b\\\n\t\x01é\u{7f}"), r#""a\"b\\\n\t\x01é\x7f""#);
    }
}
