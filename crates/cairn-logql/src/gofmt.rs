//! The value formats LogQL inherits from Go: floats as `fmt` prints them and human byte sizes
//! here, quoted strings, float parsing and durations from [`cairn_syntax::gofmt`], which
//! TraceQL shares. Query texts, canonical forms and label values must read and print exactly
//! as Loki's, so these follow Go's rules, not Rust's.

pub use cairn_syntax::gofmt::{format_go_duration, format_prom_duration};
pub(crate) use cairn_syntax::gofmt::{parse_float, parse_go_duration, quote};

/// Go's `fmt.Sprint(f64)` (`%v`): shortest digits, exponent form below 1e-4 and from 1e6, as `%g` does.
pub(crate) fn float_v(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits and decimal exponent.
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn float_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{v}")
}

/// Go's `%f` (six decimals).
pub(crate) fn float_6(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{v:.6}")
}

/// `go-humanize`'s `ParseBytes`: `20MB`, `1.5 KiB`, `300` (SI and IEC units, any case).
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let mut last = 0;
    let mut has_comma = false;
    for (i, c) in s.char_indices() {
        if !(c.is_numeric() || c == '.' || c == ',') {
            break;
        }
        if c == ',' {
            has_comma = true;
        }
        last = i + c.len_utf8();
    }
    let mut num = s[..last].to_string();
    if has_comma {
        num = num.replace(',', "");
    }
    let f = parse_float(&num)?;
    let extra = s[last..].trim().to_lowercase();
    let mult: u64 = match extra.as_str() {
        "" | "b" => 1,
        "kib" | "ki" => 1 << 10,
        "kb" | "k" => 1_000,
        "mib" | "mi" => 1 << 20,
        "mb" | "m" => 1_000_000,
        "gib" | "gi" => 1 << 30,
        "gb" | "g" => 1_000_000_000,
        "tib" | "ti" => 1 << 40,
        "tb" | "t" => 1_000_000_000_000,
        "pib" | "pi" => 1 << 50,
        "pb" | "p" => 1_000_000_000_000_000,
        "eib" | "ei" => 1 << 60,
        "eb" | "e" => 1_000_000_000_000_000_000,
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * mult as f64;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// `go-humanize`'s `Bytes` with the space removed, as Loki prints byte filters: `20MB`.
pub(crate) fn format_bytes(b: u64) -> String {
    if b < 10 {
        return format!("{b}B");
    }
    let sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = ((b as f64).ln() / 1000f64.ln()).floor();
    let suffix = sizes[(e as usize).min(sizes.len() - 1)];
    let val = ((b as f64) / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1}{suffix}")
    } else {
        format!("{val:.0}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float_v(1.0), "1");
        assert_eq!(float_v(0.5), "0.5");
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(-2.5), "-2.5");
        assert_eq!(float_f(1e21), "1000000000000000000000");
        assert_eq!(float_6(1.0), "1.000000");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("20MB"), Ok(20_000_000));
        assert_eq!(parse_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_bytes("1.5 kb"), Ok(1500));
        assert_eq!(parse_bytes("42"), Ok(42));
        assert!(parse_bytes("12 parsecs").is_err());
        assert_eq!(format_bytes(20_000_000), "20MB");
        assert_eq!(format_bytes(1024), "1.0kB");
        assert_eq!(format_bytes(5), "5B");
    }
}
