//! sprig's arithmetic as Loki exposes it: `int`, `float64`, `add`, `sub`, `mul`, `div`, `mod`,
//! `max`, `min` on int64; `addf`, `subf`, `mulf`, `divf` in decimal ([`super::decimal`]);
//! `maxf`, `minf`, `ceil`, `floor`, `round` on float64. Arguments convert as spf13/cast does,
//! a failed conversion giving 0.

use super::decimal::Decimal;
use super::int_arg;
use crate::builtins::func;
use crate::funcs::{Arity, Funcs};
use crate::value::Value;

/// sprig's `toInt64` (spf13/cast `ToInt64`, errors as zero).
pub(super) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(trim_decimal(s)).unwrap_or(0),
        Value::Duration(d) => d.num_nanoseconds().unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimDecimal`: a number with a fraction keeps its integer part (`"1.9"` is 1).
fn trim_decimal(s: &str) -> &str {
    let Some((int, frac)) = s.split_once('.') else {
        return s;
    };
    let digits = int.strip_prefix(['+', '-']).unwrap_or(int);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return s;
    }
    match int {
        "" => "0",
        "-" => "-0",
        "+" => "+0",
        _ => int,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: decimal, `0x`, `0o`, `0b` and leading-zero octal, with
/// underscores between digits.
pub(super) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let t = t.replace('_', "").to_ascii_lowercase();
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = t.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = t.strip_prefix("0b") {
        (2, b)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t.as_str())
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    // Through i128 so that -9223372036854775808 parses.
    let v = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// sprig's `toFloat64` (spf13/cast `ToFloat64`, errors as zero).
pub(super) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Duration(d) => d.num_nanoseconds().unwrap_or(0) as f64,
        _ => 0.0,
    }
}

/// `strconv.ParseFloat(s, 64)` for decimal input; `None` where Go fails, including a value
/// out of range (Go answers ±Inf with an error, which cast turns into 0). Hexadecimal floats
/// (`0x1p-2`) are not read.
fn parse_go_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']);
    // Go takes a sign before "inf" but not before "nan".
    if unsigned.is_some_and(|u| u.starts_with(['n', 'N'])) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    let body = unsigned.unwrap_or(s);
    if v.is_infinite() && !body.starts_with(['i', 'I']) {
        return None;
    }
    Some(v)
}

/// Go's `math.Max`: +Inf wins over NaN, NaN over the rest, +0 over -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() { y } else { x }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN over the rest, -0 over +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() { x } else { y }
    } else if x < y {
        x
    } else {
        y
    }
}

/// sprig's `execDecimalOp`: `first` then each of `rest` through `op`, in decimal.
fn decimal_fold(
    first: f64,
    rest: &[Value],
    op: fn(&Decimal, &Decimal) -> Result<Decimal, String>,
) -> Result<Value, String> {
    let mut acc = Decimal::from_f64(first)?;
    for x in rest {
        acc = op(&acc, &Decimal::from_f64(to_f64(x))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// sprig's `round`: to `places` digits, up from the fraction `round_on` (0.5 by default);
/// the fraction of a negative number is negative, so those round down unless exact.
fn round(v: f64, places: i64, round_on: f64) -> f64 {
    let places = i32::try_from(places).unwrap_or(if places < 0 { i32::MIN } else { i32::MAX });
    let pow = 10f64.powi(places);
    let digit = pow * v;
    let r = if digit.fract() >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

/// Installs the arithmetic functions, with the arities of sprig's signatures.
pub(super) fn install(f: &mut Funcs) {
    f.insert(
        "int",
        Arity::Exactly(1),
        func(|a| Ok(Value::Int(to_i64(&a[0])))),
    );
    f.insert(
        "float64",
        Arity::Exactly(1),
        func(|a| Ok(Value::Float(to_f64(&a[0])))),
    );
    f.insert(
        "add",
        Arity::AtLeast(0),
        func(|a| Ok(Value::Int(a.iter().map(to_i64).fold(0, i64::wrapping_add)))),
    );
    f.insert(
        "sub",
        Arity::Exactly(2),
        func(|a| Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))),
    );
    for (name, is_div) in [("div", true), ("mod", false)] {
        f.insert(
            name,
            Arity::Exactly(2),
            func(move |a| {
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
    let fold_i = |op: fn(i64, i64) -> i64| {
        func(move |a| {
            Ok(Value::Int(
                a[1..].iter().map(to_i64).fold(to_i64(&a[0]), op),
            ))
        })
    };
    f.insert("mul", Arity::AtLeast(1), fold_i(i64::wrapping_mul));
    f.insert("max", Arity::AtLeast(1), fold_i(i64::max));
    f.insert("min", Arity::AtLeast(1), fold_i(i64::min));
    // sprig's addf starts from 0 and takes any number of arguments.
    f.insert(
        "addf",
        Arity::AtLeast(0),
        func(|a| decimal_fold(0.0, a, |x, y| Ok(x.add(y)))),
    );
    let fold_d = |op: fn(&Decimal, &Decimal) -> Result<Decimal, String>| {
        func(move |a| decimal_fold(to_f64(&a[0]), &a[1..], op))
    };
    f.insert("subf", Arity::AtLeast(1), fold_d(|x, y| Ok(x.sub(y))));
    f.insert("mulf", Arity::AtLeast(1), fold_d(Decimal::mul));
    f.insert("divf", Arity::AtLeast(1), fold_d(Decimal::div));
    let fold_f = |op: fn(f64, f64) -> f64| {
        func(move |a| {
            Ok(Value::Float(
                a[1..].iter().map(to_f64).fold(to_f64(&a[0]), op),
            ))
        })
    };
    f.insert("maxf", Arity::AtLeast(1), fold_f(go_max));
    f.insert("minf", Arity::AtLeast(1), fold_f(go_min));
    f.insert(
        "ceil",
        Arity::Exactly(1),
        func(|a| Ok(Value::Float(to_f64(&a[0]).ceil()))),
    );
    f.insert(
        "floor",
        Arity::Exactly(1),
        func(|a| Ok(Value::Float(to_f64(&a[0]).floor()))),
    );
    // round(a interface{}, p int, rOpt ...float64): extra optional values are ignored.
    f.insert(
        "round",
        Arity::AtLeast(2),
        func(|a| {
            let round_on = a.get(2).map_or(0.5, to_f64);
            Ok(Value::Float(round(
                to_f64(&a[0]),
                int_arg(&a[1])?,
                round_on,
            )))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_convert_as_cast_does() {
        assert_eq!(to_f64(&Value::from("1.5")), 1.5);
        assert_eq!(to_f64(&Value::from(" 1.5")), 0.0, "no trimming");
        assert_eq!(to_f64(&Value::from("1e400")), 0.0, "out of range");
        assert_eq!(to_f64(&Value::from("-Inf")), f64::NEG_INFINITY);
        assert!(to_f64(&Value::from("NaN")).is_nan());
        assert_eq!(to_f64(&Value::from("-nan")), 0.0);
        assert_eq!(to_f64(&Value::from("")), 0.0);
        assert_eq!(to_i64(&Value::from("1.9")), 1);
        assert_eq!(to_i64(&Value::from("-.5")), 0);
        assert_eq!(to_i64(&Value::from("0x1F")), 31);
        assert_eq!(to_i64(&Value::from("1_000")), 1000);
        assert_eq!(to_i64(&Value::from("_1")), 0);
        assert_eq!(to_i64(&Value::from("010")), 8);
        assert_eq!(to_i64(&Value::from(" 1")), 0);
        assert_eq!(to_i64(&Value::from("-9223372036854775808")), i64::MIN);
        assert_eq!(to_i64(&Value::from("9223372036854775808")), 0);
    }

    #[test]
    fn max_and_min_follow_go_math() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
    }

    #[test]
    fn round_floors_negative_numbers() {
        assert_eq!(round(2.555, 2, 0.5), 2.56);
        assert_eq!(round(-2.5, 0, 0.5), -3.0);
        assert_eq!(round(-2.4, 0, 0.5), -3.0);
        assert_eq!(round(-2.0, 0, 0.5), -2.0);
        assert_eq!(round(1.25, 1, 0.6), 1.2);
        assert!(round(1.0, 400, 0.5).is_nan(), "Inf / Inf, as in Go");
    }
}
