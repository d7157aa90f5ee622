//! Durations in Prometheus syntax and byte sizes with SI or IEC units.

use std::time::Duration;

const MS_PER: [(&str, u64); 8] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
    ("y", 31_536_000_000),
    ("", 0),
];

/// Parses a Prometheus duration: units `ms s m h d w y` (a year is 365 days), largest first,
/// each at most once, e.g. `30s`, `5m`, `1h30m`; `0` alone is also accepted.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_unit = usize::MAX;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(format!(
                "invalid duration {s:?}: expected a number at byte {i} (use units ms, s, m, h, d, w, y, e.g. 1h30m)"
            ));
        }
        let n: u64 = s[start..i]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(idx) = MS_PER[..7].iter().position(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("invalid duration {s:?}: missing unit (use ms, s, m, h, d, w or y)")
            } else {
                format!(
                    "invalid duration {s:?}: unknown unit {unit:?} (use ms, s, m, h, d, w or y)"
                )
            });
        };
        // Prometheus requires units from the largest to the smallest, each once; `ms` sorts
        // first in the table but is the smallest, hence the rank mapping.
        let rank = if idx == 0 { 0 } else { idx + 1 };
        if last_unit != usize::MAX && rank >= last_unit {
            return Err(format!(
                "invalid duration {s:?}: units must go from largest to smallest, each once"
            ));
        }
        last_unit = rank;
        total = n
            .checked_mul(MS_PER[idx].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way [`parse_duration`] reads it (`1h30m`, `0s`).
pub(crate) fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, per) in [
        ("y", 31_536_000_000u64),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= per {
            out.push_str(&format!("{}{unit}", ms / per));
            ms %= per;
        }
    }
    out
}

/// Parses a byte size: a plain integer, or a number with a unit: `B`, `KB MB GB TB` (powers of
/// 1000) or `KiB MiB GiB TiB` (powers of 1024), case-insensitive, e.g. `32MiB`, `1GB`.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "invalid byte size {s:?}: expected a number with an optional unit, e.g. 32MiB"
        ));
    }
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid byte size {s:?}: number too large"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "invalid byte size {s:?}: unknown unit {other:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid byte size {s:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u128 {
        parse_duration(s).unwrap().as_millis()
    }

    #[test]
    fn prometheus_durations() {
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("30d"), 30 * 86_400_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("1w"), 7 * 86_400_000);
        assert_eq!(ms("1y"), 365 * 86_400_000);
        assert_eq!(ms("1s500ms"), 1_500);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        for bad in ["", "30", "5x", "m", "1m1h", "1h1h", "-1s", "1.5h", "1 h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("5x").unwrap_err().contains("\"x\""));
    }

    #[test]
    fn durations_round_trip() {
        for s in ["0s", "30s", "1h30m", "2h", "1y2w3d4h5m6s7ms", "250ms"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        let d = parse_duration("30d").unwrap();
        assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("32MiB").unwrap(), 32 << 20);
        assert_eq!(parse_bytes("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("10kib").unwrap(), 10 << 10);
        assert_eq!(parse_bytes("7B").unwrap(), 7);
        for bad in ["", "MiB", "1.5GB", "12XB", "-1", "99999999999999TiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
