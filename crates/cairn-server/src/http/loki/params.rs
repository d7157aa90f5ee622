//! Parameters of the Loki query API, read as Loki reads them (`pkg/loghttp/params.go`,
//! `query.go`): times as nanoseconds, seconds (10 digits or fewer), float seconds or
//! RFC 3339; `since` (default 1h) before `end` (default now); `step` and `interval` as float
//! seconds or Prometheus durations; `limit` (default 100); `direction` (default backward).
//! Errors carry Loki's words and are answered 400.

use cairn_model::Direction;

use crate::http::params::Params;

/// Default `limit` of log queries.
pub(crate) const DEFAULT_LIMIT: u32 = 100;
/// Default `limit` of `/index/volume*` answers.
pub(crate) const DEFAULT_VOLUME_LIMIT: u32 = 100;
/// Default `limit` of `/detected_fields`.
pub(crate) const DEFAULT_FIELDS_LIMIT: u32 = 1000;
/// Default look-back of ranges that name no start (`since`).
const DEFAULT_SINCE_NS: i64 = 3_600_000_000_000;
/// Most points per series of a range query.
const MAX_POINTS: i64 = 11_000;
const NS_PER_S: i64 = 1_000_000_000;

/// A range query's parameters (`/query_range`, and the superset other endpoints read).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RangeParams {
    pub(crate) query: String,
    pub(crate) start_ns: i64,
    pub(crate) end_ns: i64,
    pub(crate) step_ns: i64,
    pub(crate) interval_ns: i64,
    pub(crate) limit: u32,
    pub(crate) direction: Direction,
}

/// An instant query's parameters (`/query`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InstantParams {
    pub(crate) query: String,
    pub(crate) time_ns: i64,
    pub(crate) limit: u32,
    pub(crate) direction: Direction,
}

/// Go's `strconv.Atoi`, with its error text.
fn atoi(s: &str) -> Result<i64, String> {
    crate::http::params::go_atoi(s)
}

/// Loki's `parseTimestamp`: empty gives `default`.
pub(crate) fn parse_timestamp(value: &str, default: i64) -> Result<i64, String> {
    if value.is_empty() {
        return Ok(default);
    }
    if value.contains('.')
        && let Ok(t) = value.parse::<f64>()
        && t.is_finite()
    {
        let secs = t.trunc();
        let frac = ((t - secs) * 1000.0).round() / 1000.0;
        return Ok((secs as i64)
            .saturating_mul(NS_PER_S)
            .saturating_add((frac * NS_PER_S as f64) as i64));
    }
    match value.parse::<i64>() {
        Ok(n) if value.len() <= 10 => Ok(n.saturating_mul(NS_PER_S)),
        Ok(n) => Ok(n),
        Err(_) => match chrono::DateTime::parse_from_rfc3339(value) {
            Ok(t) => t
                .timestamp_nanos_opt()
                .ok_or_else(|| format!("parsing time {value:?}: out of range")),
            // Go reports the integer parse's error, not the RFC 3339 one.
            Err(_) => Err(match atoi(value) {
                Ok(_) => format!("strconv.ParseInt: parsing {value:?}: value out of range"),
                Err(_) => format!("strconv.ParseInt: parsing {value:?}: invalid syntax"),
            }),
        },
    }
}

/// Loki's `parseSecondsOrDuration`, in nanoseconds.
pub(crate) fn parse_seconds_or_duration(value: &str) -> Result<i64, String> {
    if let Ok(d) = value.parse::<f64>()
        && (d.is_finite() || d.is_nan())
    {
        let ns = d * NS_PER_S as f64;
        if ns.is_nan() || ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {value:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ns as i64);
    }
    match cairn_model::parse_duration(value) {
        Ok(d) => i64::try_from(d.as_nanos())
            .map_err(|_| format!("cannot parse {value:?} to a valid duration")),
        Err(_) => Err(format!("cannot parse {value:?} to a valid duration")),
    }
}

fn positive_u32(value: Option<&str>, default: u32, name: &str) -> Result<u32, String> {
    let v = match value.filter(|v| !v.is_empty()) {
        None => return Ok(default),
        Some(v) => atoi(v)?,
    };
    if v <= 0 {
        return Err("limit must be a positive value".into());
    }
    u32::try_from(v).map_err(|_| format!("{name} value {v} is out of range [0, {}]", u32::MAX))
}

/// `limit` (default 100).
pub(crate) fn limit(p: &Params) -> Result<u32, String> {
    positive_u32(p.get("limit"), DEFAULT_LIMIT, "limit")
}

/// `direction` (default backward).
pub(crate) fn direction(p: &Params) -> Result<Direction, String> {
    match p.get("direction").unwrap_or("") {
        "" => Ok(Direction::Backward),
        d if d.eq_ignore_ascii_case("forward") => Ok(Direction::Forward),
        d if d.eq_ignore_ascii_case("backward") => Ok(Direction::Backward),
        d => Err(format!("invalid direction '{d}'")),
    }
}

/// `start`, `end` and `since` (Loki's `determineBounds`).
pub(crate) fn bounds(p: &Params, now: i64) -> Result<(i64, i64), String> {
    let since = match p.get("since").filter(|s| !s.is_empty()) {
        None => DEFAULT_SINCE_NS,
        Some(s) => cairn_model::parse_duration(s)
            .ok()
            .and_then(|d| i64::try_from(d.as_nanos()).ok())
            .ok_or_else(|| {
                format!("could not parse 'since' parameter: not a valid duration string: {s:?}")
            })?,
    };
    let end = parse_timestamp(p.get("end").unwrap_or(""), now)
        .map_err(|e| format!("could not parse 'end' parameter: {e}"))?;
    let end_or_now = end.min(now);
    let start = parse_timestamp(
        p.get("start").unwrap_or(""),
        end_or_now.saturating_sub(since),
    )
    .map_err(|e| format!("could not parse 'start' parameter: {e}"))?;
    Ok((start, end))
}

/// Loki's default step: the range divided in 250, in whole seconds, at least 1 s.
pub(crate) fn default_step_ns(start: i64, end: i64) -> i64 {
    let secs = ((end.saturating_sub(start)) as f64 / NS_PER_S as f64 / 250.0).floor();
    (secs.max(1.0) as i64).saturating_mul(NS_PER_S)
}

/// `/query_range` (and `/index/stats`, `/index/volume_range`, ... which read the same).
pub(crate) fn range(p: &Params, now: i64) -> Result<RangeParams, String> {
    let query = p.get("query").unwrap_or("").to_string();
    let (start_ns, end_ns) = bounds(p, now)?;
    if end_ns < start_ns {
        return Err("end timestamp must not be before or equal to start time".into());
    }
    let limit = limit(p)?;
    let direction = direction(p)?;
    let step_ns = match p.get("step").filter(|s| !s.is_empty()) {
        None => default_step_ns(start_ns, end_ns),
        Some(s) => parse_seconds_or_duration(s)?,
    };
    if step_ns <= 0 {
        return Err(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        );
    }
    if (end_ns - start_ns) / step_ns > MAX_POINTS {
        return Err("exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter".into());
    }
    let interval_ns = match p.get("interval").filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => parse_seconds_or_duration(s)?,
    };
    if interval_ns < 0 {
        return Err("interval must be >= 0".into());
    }
    Ok(RangeParams {
        query,
        start_ns,
        end_ns,
        step_ns,
        interval_ns,
        limit,
        direction,
    })
}

/// `/query`.
pub(crate) fn instant(p: &Params, now: i64) -> Result<InstantParams, String> {
    Ok(InstantParams {
        query: p.get("query").unwrap_or("").to_string(),
        limit: limit(p)?,
        time_ns: parse_timestamp(p.get("time").unwrap_or(""), now)?,
        direction: direction(p)?,
    })
}

/// `/patterns`' parameters (Loki's `ParsePatternsQuery`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PatternParams {
    pub(crate) query: String,
    pub(crate) start_ns: i64,
    pub(crate) end_ns: i64,
    pub(crate) step_ns: i64,
}

/// `/patterns`: the bounds, and the step (default: the range in 250) within 11,000 points.
pub(crate) fn patterns(p: &Params, now: i64) -> Result<PatternParams, String> {
    let (start_ns, end_ns) = bounds(p, now)?;
    let step_ns = match p.get("step").filter(|s| !s.is_empty()) {
        None => default_step_ns(start_ns, end_ns),
        Some(s) => parse_seconds_or_duration(s)?,
    };
    if step_ns <= 0 {
        return Err(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        );
    }
    if end_ns.saturating_sub(start_ns) / step_ns > MAX_POINTS {
        return Err("exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter".into());
    }
    Ok(PatternParams {
        query: p.get("query").unwrap_or("").to_string(),
        start_ns,
        end_ns,
        step_ns,
    })
}

/// `limit` of the volume endpoints: 0 means the default.
pub(crate) fn volume_limit(p: &Params) -> Result<u32, String> {
    match p.get("limit").filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_VOLUME_LIMIT),
        Some(v) => match atoi(v)? {
            0 => Ok(DEFAULT_VOLUME_LIMIT),
            n if n < 0 => Err("limit must be a positive value".into()),
            n => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        },
    }
}

/// `aggregateBy` of the volume endpoints: `series` (default) or `labels`.
pub(crate) fn volume_aggregate_by(p: &Params) -> Result<bool, String> {
    match p.get("aggregateBy").unwrap_or("") {
        "" | "series" => Ok(false),
        "labels" => Ok(true),
        _ => Err("invalid aggregation option".into()),
    }
}

/// `targetLabels`: a comma-separated list, empty for none.
pub(crate) fn target_labels(p: &Params) -> Vec<String> {
    match p.get("targetLabels").unwrap_or("") {
        "" => Vec::new(),
        s => s.split(',').map(str::to_string).collect(),
    }
}

/// `limit` (or the older `field_limit`) of `/detected_fields`, default 1000.
pub(crate) fn fields_limit(p: &Params) -> Result<u32, String> {
    let v = p
        .get("limit")
        .filter(|s| !s.is_empty())
        .or(p.get("field_limit"));
    positive_u32(v, DEFAULT_FIELDS_LIMIT, "limit")
}

/// `line_limit` of `/detected_fields`, default 100.
pub(crate) fn line_limit(p: &Params) -> Result<u32, String> {
    positive_u32(p.get("line_limit"), DEFAULT_LIMIT, "line_limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs)
    }

    #[test]
    fn timestamps_in_every_form_loki_reads() {
        assert_eq!(parse_timestamp("", 7), Ok(7));
        assert_eq!(parse_timestamp("1700000000", 0), Ok(NOW));
        assert_eq!(parse_timestamp("1700000000000000000", 0), Ok(NOW));
        assert_eq!(parse_timestamp("1700000000.5", 0), Ok(NOW + 500_000_000));
        // Fractions are rounded to milliseconds, as Loki does.
        assert_eq!(parse_timestamp("1700000000.0004", 0), Ok(NOW));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z", 0), Ok(NOW));
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.25+00:00", 0),
            Ok(NOW + 250_000_000)
        );
        assert_eq!(
            parse_timestamp("abc", 0),
            Err(r#"strconv.ParseInt: parsing "abc": invalid syntax"#.to_string())
        );
    }

    #[test]
    fn bounds_default_to_the_last_hour() {
        assert_eq!(bounds(&p(&[]), NOW), Ok((NOW - 3_600_000_000_000, NOW)));
        assert_eq!(
            bounds(&p(&[("since", "5m")]), NOW),
            Ok((NOW - 300_000_000_000, NOW))
        );
        // A future end does not move the default start.
        let (s, e) = bounds(&p(&[("end", "1800000000")]), NOW).unwrap();
        assert_eq!((s, e), (NOW - 3_600_000_000_000, 1_800_000_000_000_000_000));
        assert!(
            bounds(&p(&[("start", "x")]), NOW)
                .unwrap_err()
                .starts_with("could not parse 'start' parameter: ")
        );
    }

    #[test]
    fn range_checks_in_lokis_order_and_words() {
        let r = range(&p(&[("query", "{a=\"b\"}"), ("step", "15000ms")]), NOW).unwrap();
        assert_eq!(r.step_ns, 15_000_000_000);
        assert_eq!((r.limit, r.direction), (100, Direction::Backward));
        // The default step cuts an hour into 250: 14 s.
        assert_eq!(range(&p(&[]), NOW).unwrap().step_ns, 14_000_000_000);
        assert_eq!(
            range(&p(&[("step", "0.5")]), NOW).unwrap().step_ns,
            500_000_000
        );
        assert_eq!(
            range(&p(&[("start", "1700000001"), ("end", "1700000000")]), NOW).unwrap_err(),
            "end timestamp must not be before or equal to start time"
        );
        assert_eq!(
            range(&p(&[("limit", "0")]), NOW).unwrap_err(),
            "limit must be a positive value"
        );
        assert_eq!(
            range(&p(&[("direction", "sideways")]), NOW).unwrap_err(),
            "invalid direction 'sideways'"
        );
        assert!(
            range(&p(&[("step", "-1")]), NOW)
                .unwrap_err()
                .starts_with("zero or negative")
        );
        assert!(
            range(&p(&[("step", "0.1")]), NOW)
                .unwrap_err()
                .starts_with("exceeded maximum")
        );
        assert_eq!(
            range(&p(&[("interval", "-1s")]), NOW).unwrap_err(),
            r#"cannot parse "-1s" to a valid duration"#
        );
        assert_eq!(
            range(&p(&[("interval", "-1")]), NOW).unwrap_err(),
            "interval must be >= 0"
        );
        assert_eq!(
            range(&p(&[("direction", "FORWARD")]), NOW)
                .unwrap()
                .direction,
            Direction::Forward
        );
    }

    #[test]
    fn pattern_parameters() {
        let r = patterns(
            &p(&[
                ("query", "{a=\"b\"}"),
                ("start", "2023-11-14T21:13:20Z"),
                ("end", "2023-11-14T22:13:20Z"),
                ("step", "1m"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (r.start_ns, r.end_ns, r.step_ns),
            (NOW - 3_600_000_000_000, NOW, 60_000_000_000)
        );
        assert_eq!(r.query, "{a=\"b\"}");
        // Defaults: the last hour in 250 steps of whole seconds.
        assert_eq!(patterns(&p(&[]), NOW).unwrap().step_ns, 14_000_000_000);
        assert!(
            patterns(&p(&[("step", "0")]), NOW)
                .unwrap_err()
                .starts_with("zero or negative")
        );
        assert!(
            patterns(&p(&[("step", "0.1")]), NOW)
                .unwrap_err()
                .starts_with("exceeded maximum resolution")
        );
        assert!(
            patterns(&p(&[("end", "x")]), NOW)
                .unwrap_err()
                .starts_with("could not parse 'end' parameter")
        );
    }

    #[test]
    fn volume_and_fields_parameters() {
        assert_eq!(volume_limit(&p(&[("limit", "0")])), Ok(100));
        assert!(volume_aggregate_by(&p(&[("aggregateBy", "labels")])).unwrap());
        assert!(volume_aggregate_by(&p(&[("aggregateBy", "x")])).is_err());
        assert_eq!(
            target_labels(&p(&[("targetLabels", "a,b")])),
            vec!["a", "b"]
        );
        assert!(target_labels(&p(&[])).is_empty());
        assert_eq!(fields_limit(&p(&[("field_limit", "5")])), Ok(5));
        assert_eq!(fields_limit(&p(&[])), Ok(1000));
    }
}
