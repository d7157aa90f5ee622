//! Durations in Prometheus syntax (`30s`, `5m`, `1h30m`, `4w`), read and printed exactly as
//! Prometheus' `model.ParseDuration` and `model.Duration.String()` do, so that configuration,
//! rule files, SLO windows and Alertmanager settings agree with the tools they mirror.

use std::time::Duration;

const MS_PER_DAY: u64 = 24 * 3600 * 1000;

/// Units from the largest to the smallest, in milliseconds; the order is the one a duration
/// must follow.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * MS_PER_DAY),
    ("w", 7 * MS_PER_DAY),
    ("d", MS_PER_DAY),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Prometheus stores durations as signed 64-bit nanoseconds (about 292 years) and refuses any
/// longer one.
const MAX_NANOS: u64 = i64::MAX as u64;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not the `<number><unit>...` syntax, or units out of order or repeated.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// A unit other than `ms s m h d w y`.
    #[error("unknown unit {unit:?} in duration {input:?} (use ms, s, m, h, d, w or y)")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// Longer than Prometheus can represent (about 292 years).
    #[error("duration out of range: {0:?}")]
    OutOfRange(String),
}

/// Parses a Prometheus duration: `<number><unit>` pairs with units `y w d h m s ms` (a year is
/// 365 days) from the largest to the smallest, each at most once; `0` alone is also accepted.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || DurationError::Invalid(s.to_string());
    if s.is_empty() {
        return Err(invalid());
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut nanos: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        // Like Prometheus, the unit is everything up to the next digit, so `1 h` names the
        // unit " h" in its error rather than a vague syntax error.
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: s.to_string(),
            });
        };
        if pos < next_unit {
            return Err(invalid());
        }
        next_unit = pos + 1;
        let per = UNITS[pos].1 * 1_000_000;
        nanos = n
            .checked_mul(per)
            .and_then(|v| nanos.checked_add(v))
            .filter(|&v| v <= MAX_NANOS)
            .ok_or_else(|| DurationError::OutOfRange(s.to_string()))?;
    }
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration as Prometheus' `model.Duration.String()` does: whole milliseconds,
/// largest units first, years and weeks only when they divide it exactly (`90d`, not
/// `12w6d`), and `0s` for zero.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (i, (unit, per)) in UNITS.into_iter().enumerate() {
        if i < 2 && !ms.is_multiple_of(per) {
            continue;
        }
        if ms >= per {
            out.push_str(&(ms / per).to_string());
            out.push_str(unit);
            ms %= per;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u128 {
        parse_duration(s).unwrap().as_millis()
    }

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("2d"), 172_800_000);
        assert_eq!(ms("30d"), 30 * 86_400_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("1w"), 7 * 86_400_000);
        assert_eq!(ms("4w"), 28 * 86_400_000);
        assert_eq!(ms("1y"), 365 * 86_400_000);
        assert_eq!(ms("1s500ms"), 1_500);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("1y2w3d4h5m6s7ms"), 33_019_506_007);
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("0d"), 0);
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for bad in [
            "",
            "30",
            "5",
            "5x",
            "m",
            "d",
            "1m1h",
            "30m1h",
            "1h1h",
            "1s1s",
            "0h0h",
            "-1s",
            "+1s",
            "1.5h",
            "1 h",
            " 5m",
            "5m ",
            "5 minutes",
            "1x",
            "0.5",
            "00",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn errors_name_the_input() {
        let e = parse_duration("5x").unwrap_err();
        assert_eq!(
            e,
            DurationError::UnknownUnit {
                unit: "x".into(),
                input: "5x".into()
            }
        );
        assert!(e.to_string().contains("\"x\"") && e.to_string().contains("\"5x\""));
        assert_eq!(
            parse_duration("1m1h").unwrap_err().to_string(),
            "not a valid duration string: \"1m1h\""
        );
        assert_eq!(
            parse_duration("").unwrap_err(),
            DurationError::Invalid(String::new())
        );
    }

    #[test]
    fn refuses_overflow_like_prometheus() {
        // 292y is within signed 64-bit nanoseconds, 293y is not.
        assert_eq!(ms("292y"), 292 * 365 * 86_400_000);
        for bad in [
            "293y",
            "292y52w",
            "99999999999999999999s",
            "18446744073709551615ms",
        ] {
            assert!(
                matches!(
                    parse_duration(bad),
                    Err(DurationError::OutOfRange(_) | DurationError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_duration("293y"),
            Err(DurationError::OutOfRange(_))
        ));
    }

    #[test]
    fn formats_like_prometheus() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(86_400), "1d"),
            (Duration::from_secs(7 * 86_400), "1w"),
            (Duration::from_secs(28 * 86_400), "4w"),
            (Duration::from_secs(90 * 86_400), "90d"),
            (Duration::from_secs(365 * 86_400), "1y"),
            (Duration::from_millis(1_500), "1s500ms"),
            // Sub-millisecond parts are dropped, as Prometheus' millisecond model does.
            (Duration::from_micros(2_500), "2ms"),
            (Duration::from_micros(999), "0s"),
        ] {
            assert_eq!(format_duration(d), text, "{d:?}");
        }
        assert_eq!(format_duration(parse_duration("90m").unwrap()), "1h30m");
        assert_eq!(format_duration(parse_duration("28d").unwrap()), "4w");
    }

    #[test]
    fn round_trips() {
        for s in [
            "0s",
            "30s",
            "5m",
            "1h",
            "1d",
            "4w",
            "30d",
            "1h30m",
            "2h",
            "250ms",
            "1y",
            "3d4h5m6s7ms",
        ] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        // Years and weeks print only when exact, so this one reads back as days.
        let d = parse_duration("1y2w3d4h5m6s7ms").unwrap();
        assert_eq!(format_duration(d), "382d4h5m6s7ms");
        assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
    }
}
