//! Durations as Prometheus writes them (`5m`, `1h30m`, `4w`), which is also how Sloth names
//! its windows (`slo:sli_error:ratio_rate4w` for a 28 day period).

use std::time::Duration;

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`30d`, `1h30m`, `500ms`); zero and empty are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (expected e.g. 5m, 6h, 30d)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(bad)?;
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration as Prometheus does: largest units first (years and weeks only when
/// exact), `0s` for zero.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (i, (unit, size)) in UNITS.into_iter().enumerate() {
        // Years and weeks only when exact, as Prometheus does: 90d reads better than 12w6d.
        if i < 2 && !ms.is_multiple_of(size) {
            continue;
        }
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_prometheus() {
        for (text, secs) in [
            ("5m", 300),
            ("1h", 3600),
            ("1d", 86400),
            ("4w", 28 * 86400),
            ("30d", 30 * 86400),
            ("1h30m", 5400),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_secs(), secs, "{text}");
            assert_eq!(format_duration(d), text);
        }
        assert_eq!(format_duration(parse_duration("28d").unwrap()), "4w");
        assert_eq!(format_duration(parse_duration("90m").unwrap()), "1h30m");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("d").is_err());
    }
}
