//! Durations as Prometheus writes them (`5m`, `1h30m`, `4w`), which is also how Sloth names
//! its windows (`slo:sli_error:ratio_rate4w` for a 28 day period).

use std::time::Duration;

/// Parses a Prometheus duration (`30d`, `1h30m`, `500ms`) with [`cairn_model::parse_duration`];
/// zero and empty are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    // Unlike Prometheus, blanks around the value are tolerated (SLO specs are hand-written),
    // and zero (`0`, `0d`) is refused: every duration here is an SLO period or an alert
    // window, where zero would divide by nothing or never fire.
    match cairn_model::parse_duration(s.trim()) {
        Ok(d) if d.is_zero() => Err(format!("invalid duration {s:?}: must be greater than 0")),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Formats a duration as Prometheus does (`5m`, `1h30m`, `4w`, `90d`, `0s`).
pub fn format_duration(d: Duration) -> String {
    cairn_model::format_duration(d)
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
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1m1h").is_err());
        assert_eq!(parse_duration(" 5m ").unwrap().as_secs(), 300);
    }
}
