//! Time intervals for `mute_time_intervals` and `active_time_intervals`: OR within a field,
//! AND across fields, times as `[start, end)` minutes of the day in the interval's location.

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, Local, Offset, TimeZone, Timelike, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::tz::Zone;

/// One `time_intervals:` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    #[serde(default)]
    times: Vec<RawTimeRange>,
    #[serde(default)]
    weekdays: Vec<String>,
    #[serde(default)]
    days_of_month: Vec<String>,
    #[serde(default)]
    months: Vec<String>,
    #[serde(default)]
    years: Vec<String>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    start_time: String,
    end_time: String,
}

/// Where the clock of a time interval is read.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Location {
    /// Coordinated universal time (the default).
    #[default]
    Utc,
    /// The host's local time zone.
    Local,
    /// A named IANA time zone.
    Zone(Arc<Zone>),
}

/// One parsed time interval; it contains an instant when every non-empty field does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeInterval {
    /// `[start, end)` in minutes since midnight.
    pub times: Vec<(u32, u32)>,
    /// Inclusive ranges of weekdays, 0 = Sunday.
    pub weekdays: Vec<(u32, u32)>,
    /// Inclusive ranges of days of month; negative counts from the month's end (-1 = last).
    pub days_of_month: Vec<(i32, i32)>,
    /// Inclusive ranges of months, 1 = January.
    pub months: Vec<(u32, u32)>,
    /// Inclusive ranges of years.
    pub years: Vec<(i32, i32)>,
    /// Time zone of the fields above.
    pub location: Location,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    pub(crate) fn from_raw(raw: &RawTimeInterval) -> Result<Self> {
        let bad = |what: &str, v: &str| Error::TimeInterval(format!("bad {what} {v:?}"));
        let mut ti = TimeInterval::default();
        for t in &raw.times {
            let s = parse_clock(&t.start_time).ok_or_else(|| bad("start_time", &t.start_time))?;
            let e = parse_clock(&t.end_time).ok_or_else(|| bad("end_time", &t.end_time))?;
            if s >= e {
                return Err(Error::TimeInterval(format!(
                    "start_time {:?} must be before end_time {:?}",
                    t.start_time, t.end_time
                )));
            }
            ti.times.push((s, e));
        }
        for w in &raw.weekdays {
            let (a, b) = split_range(w);
            let day = |s: &str| {
                WEEKDAYS
                    .iter()
                    .position(|d| d.eq_ignore_ascii_case(s.trim()))
                    .map(|i| i as u32)
            };
            let (a, b) = (day(a), day(b));
            match (a, b) {
                (Some(a), Some(b)) if a <= b => ti.weekdays.push((a, b)),
                _ => return Err(bad("weekday range", w)),
            }
        }
        for d in &raw.days_of_month {
            let (a, b) = split_range(d);
            let num = |s: &str| {
                s.trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|n| *n != 0 && (-31..=31).contains(n))
            };
            match (num(a), num(b)) {
                (Some(a), Some(b)) if (a.signum() != b.signum()) || a <= b => {
                    ti.days_of_month.push((a, b))
                }
                _ => return Err(bad("days_of_month range", d)),
            }
        }
        for m in &raw.months {
            let (a, b) = split_range(m);
            let month = |s: &str| {
                let s = s.trim();
                MONTHS
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(s))
                    .map(|i| i as u32 + 1)
                    .or_else(|| s.parse::<u32>().ok().filter(|n| (1..=12).contains(n)))
            };
            match (month(a), month(b)) {
                (Some(a), Some(b)) if a <= b => ti.months.push((a, b)),
                _ => return Err(bad("month range", m)),
            }
        }
        for y in &raw.years {
            let (a, b) = split_range(y);
            match (a.trim().parse::<i32>(), b.trim().parse::<i32>()) {
                (Ok(a), Ok(b)) if a <= b => ti.years.push((a, b)),
                _ => return Err(bad("year range", y)),
            }
        }
        ti.location = match raw.location.as_deref() {
            None | Some("UTC") | Some("") => Location::Utc,
            Some("Local") => Location::Local,
            Some(name) => Location::Zone(Arc::new(Zone::load(name)?)),
        };
        Ok(ti)
    }

    /// True when `t` falls inside this interval.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let offset: FixedOffset = match &self.location {
            Location::Utc => Utc.fix(),
            Location::Local => Local.offset_from_utc_datetime(&t.naive_utc()).fix(),
            Location::Zone(z) => {
                FixedOffset::east_opt(z.offset_at(t.timestamp())).unwrap_or(Utc.fix())
            }
        };
        let t = t.with_timezone(&offset);
        let minute = t.hour() * 60 + t.minute();
        if !self.times.is_empty() && !self.times.iter().any(|(s, e)| *s <= minute && minute < *e) {
            return false;
        }
        let wd = t.weekday().num_days_from_sunday();
        if !self.weekdays.is_empty() && !self.weekdays.iter().any(|(a, b)| *a <= wd && wd <= *b) {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let dim = days_in_month(t.year(), t.month()) as i32;
            let day = t.day() as i32;
            let hit = self.days_of_month.iter().any(|&(a, b)| {
                let begin = if a < 0 { dim + a + 1 } else { a };
                let end = if b < 0 { dim + b + 1 } else { b };
                if begin > dim {
                    return false;
                }
                let begin = begin.clamp(-dim, dim);
                let end = end.clamp(-dim, dim);
                begin <= day && day <= end
            });
            if !hit {
                return false;
            }
        }
        let m = t.month();
        if !self.months.is_empty() && !self.months.iter().any(|(a, b)| *a <= m && m <= *b) {
            return false;
        }
        let y = t.year();
        if !self.years.is_empty() && !self.years.iter().any(|(a, b)| *a <= y && y <= *b) {
            return false;
        }
        true
    }
}

/// True when any interval of the list contains `t`.
pub fn any_contains(intervals: &[TimeInterval], t: DateTime<Utc>) -> bool {
    intervals.iter().any(|i| i.contains(t))
}

fn split_range(s: &str) -> (&str, &str) {
    // A leading '-' is a negative day of month, not a range separator; ranges use ':'.
    match s.split_once(':') {
        Some((a, b)) => (a, b),
        None => (s, s),
    }
}

fn parse_clock(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if (h == 24 && m == 0) || (h < 24 && m < 60) {
        Some(h * 60 + m)
    } else {
        None
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first_next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1).expect("valid calendar date");
    first_next.pred_opt().expect("not the first day ever").day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ti(yaml: &str) -> TimeInterval {
        let raw: RawTimeInterval = serde_yaml_ng::from_str(yaml).unwrap();
        TimeInterval::from_raw(&raw).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn business_hours() {
        let t =
            ti("times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']");
        // 2026-11-23 is a Monday.
        assert!(t.contains(at("2026-11-23T09:00:00Z")));
        assert!(t.contains(at("2026-11-23T16:59:59Z")));
        assert!(!t.contains(at("2026-11-23T17:00:00Z")));
        assert!(!t.contains(at("2026-11-23T08:59:00Z")));
        assert!(!t.contains(at("2026-11-22T10:00:00Z")), "sunday");
        assert!(t.contains(at("2026-11-27T10:00:00Z")), "friday");
    }

    #[test]
    fn whole_day_and_calendar_fields() {
        let t =
            ti("times: [{start_time: '00:00', end_time: '24:00'}]\nweekdays: [saturday, sunday]");
        assert!(t.contains(at("2026-11-22T23:59:00Z")));
        assert!(!t.contains(at("2026-11-23T00:00:00Z")));
        let t = ti("days_of_month: ['-1']\nmonths: ['february']\nyears: ['2024:2025']");
        assert!(t.contains(at("2024-02-29T12:00:00Z")));
        assert!(!t.contains(at("2024-02-28T12:00:00Z")));
        assert!(t.contains(at("2025-02-28T12:00:00Z")));
        assert!(!t.contains(at("2026-02-28T12:00:00Z")));
        let t = ti("days_of_month: ['1:5', '-3:-1']\nmonths: ['1:3']");
        assert!(t.contains(at("2026-03-03T00:00:00Z")));
        assert!(t.contains(at("2026-01-30T00:00:00Z")));
        assert!(!t.contains(at("2026-01-20T00:00:00Z")));
        assert!(!t.contains(at("2026-04-01T00:00:00Z")));
    }

    #[test]
    fn named_location() {
        if Zone::load("Europe/Berlin").is_err() {
            eprintln!("skipping: no zoneinfo on this host");
            return;
        }
        let t = ti("times: [{start_time: '09:00', end_time: '17:00'}]\nlocation: Europe/Berlin");
        // Summer: 07:30 UTC is 09:30 in Berlin; winter: 08:30 UTC is 09:30.
        assert!(t.contains(at("2026-07-01T07:30:00Z")));
        assert!(!t.contains(at("2026-07-01T15:30:00Z")));
        assert!(!t.contains(at("2026-01-15T07:30:00Z")));
        assert!(t.contains(at("2026-01-15T08:30:00Z")));
    }

    #[test]
    fn bad_fields_are_named() {
        for (yaml, want) in [
            ("weekdays: [funday]", "funday"),
            ("times: [{start_time: '10:00', end_time: '09:00'}]", "10:00"),
            ("times: [{start_time: '25:00', end_time: '26:00'}]", "25:00"),
            ("months: [smarch]", "smarch"),
            ("days_of_month: ['0']", "\"0\""),
            ("location: Mars/Olympus", "Mars/Olympus"),
        ] {
            let raw: RawTimeInterval = serde_yaml_ng::from_str(yaml).unwrap();
            let e = TimeInterval::from_raw(&raw).unwrap_err().to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
