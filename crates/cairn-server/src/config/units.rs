//! Durations in Prometheus syntax and byte sizes with SI or IEC units.

use std::time::Duration;

/// Parses a Prometheus duration (`30s`, `1h30m`, `0`) with [`cairn_model::parse_duration`].
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    // Unlike Prometheus, blanks around the value are tolerated: these come from hand-edited
    // YAML and command-line flags, and this parser always accepted them.
    cairn_model::parse_duration(s.trim()).map_err(|e| e.to_string())
}

/// Formats a duration the way [`parse_duration`] reads it (`1h30m`, `0s`, `4w`).
pub(crate) fn format_duration(d: Duration) -> String {
    cairn_model::format_duration(d)
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

    #[test]
    fn durations_use_the_prometheus_syntax() {
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration(" 30s ").unwrap().as_secs(), 30);
        for bad in ["", "30", "5x", "1m1h", "1.5h", "1 h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("5x").unwrap_err().contains("\"x\""));
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::ZERO), "0s");
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
