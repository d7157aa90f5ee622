//! Time helpers of Loki's functions: `unixToTime`, sprig's `toDate` (Go's `time.Parse`) and
//! `date`'s argument.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use crate::fmt::quote;
use crate::methods::go_zero_time;
use crate::timefmt::{DAYS, MONTHS};
use crate::value::Value;

/// Loki's `unixToTime`: days, seconds, milliseconds, microseconds or nanoseconds by length.
pub(super) fn unix_to_time(epoch: &str) -> Result<DateTime<Utc>, String> {
    let i: i64 = epoch.parse().map_err(|_| {
        format!(
            "unable to parse time '{epoch}': strconv.ParseInt: parsing {}: invalid syntax",
            quote(epoch)
        )
    })?;
    let ns = match epoch.len() {
        5 => i.checked_mul(86_400_000_000_000),
        10 => i.checked_mul(1_000_000_000),
        13 => i.checked_mul(1_000_000),
        16 => i.checked_mul(1_000),
        19 => Some(i),
        _ => return Err(format!("unable to parse time '{epoch}': %!w(<nil>)")),
    };
    ns.map(DateTime::from_timestamp_nanos)
        .ok_or_else(|| format!("unable to parse time '{epoch}': value out of range"))
}

/// Go's `time.Parse` for the common layout elements; `None` when `value` does not fit.
pub(super) fn parse_time(layout: &str, value: &str) -> Option<DateTime<Utc>> {
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut offset_secs: i64 = 0;
    let mut pm: Option<bool> = None;
    let mut l = layout;
    let mut v = value;
    let num = |v: &mut &str, min_digits: usize, max_digits: usize| -> Option<u32> {
        let n = v
            .bytes()
            .take(max_digits)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_digits {
            return None;
        }
        let r = v[..n].parse().ok()?;
        *v = &v[n..];
        Some(r)
    };
    while !l.is_empty() {
        if let Some(r) = l.strip_prefix("2006") {
            year = num(&mut v, 4, 4)? as i32;
            l = r;
        } else if let Some(r) = l.strip_prefix("January") {
            let i = MONTHS.iter().position(|m| v.starts_with(m))?;
            month = i as u32 + 1;
            v = &v[MONTHS[i].len()..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Jan") {
            let i = MONTHS.iter().position(|m| v.starts_with(&m[..3]))?;
            month = i as u32 + 1;
            v = &v[3..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Monday") {
            let i = DAYS.iter().position(|d| v.starts_with(d))?;
            v = &v[DAYS[i].len()..];
            l = r;
        } else if let Some(r) = l.strip_prefix("Mon") {
            DAYS.iter().position(|d| v.starts_with(&d[..3]))?;
            v = &v[3..];
            l = r;
        } else if let Some(r) = l.strip_prefix("MST") {
            let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
            if n < 3 {
                return None;
            }
            v = &v[n..];
            l = r;
        } else if let Some(r) = l.strip_prefix("01") {
            month = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("02") {
            day = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("_2") {
            v = v.strip_prefix(' ').unwrap_or(v);
            day = num(&mut v, 1, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("03") {
            hour = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("04") {
            min = num(&mut v, 2, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("05") {
            sec = num(&mut v, 2, 2)?;
            l = r;
            // Go accepts a fraction after the seconds even when the layout has none.
            if !l.starts_with(['.', ','])
                && let Some(rest) = v.strip_prefix('.')
                && rest.starts_with(|c: char| c.is_ascii_digit())
            {
                let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                for (k, c) in rest[..d].bytes().take(9).enumerate() {
                    nanos += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
                }
                v = &rest[d..];
            }
        } else if let Some(r) = l.strip_prefix("06") {
            year = 1900 + num(&mut v, 2, 2)? as i32;
            if year < 1969 {
                year += 100;
            }
            l = r;
        } else if let Some(r) = l.strip_prefix("15") {
            hour = num(&mut v, 1, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("PM") {
            pm = Some(v.starts_with("PM"));
            v = v.get(2..)?;
            l = r;
        } else if let Some(r) = l
            .strip_prefix("Z07:00")
            .or_else(|| l.strip_prefix("-07:00"))
            .or_else(|| l.strip_prefix("Z0700"))
            .or_else(|| l.strip_prefix("-0700"))
        {
            let colon = l.contains(':') && l.find(':') < Some(6);
            if (l.starts_with('Z')) && v.starts_with('Z') {
                v = &v[1..];
            } else {
                let sign = match v.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                v = &v[1..];
                let h = num(&mut v, 2, 2)?;
                if colon {
                    v = v.strip_prefix(':')?;
                }
                let m = num(&mut v, 2, 2)?;
                offset_secs = sign * (i64::from(h) * 3600 + i64::from(m) * 60);
            }
            l = r;
        } else if l.starts_with(".0") || l.starts_with(".9") || l.starts_with(",0") {
            let n = l[1..]
                .bytes()
                .take_while(|c| *c == b'0' || *c == b'9')
                .count();
            l = &l[1 + n..];
            if let Some(rest) = v.strip_prefix(['.', ',']) {
                let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                let frac = &rest[..d];
                let mut ns = 0u32;
                for (k, c) in frac.bytes().take(9).enumerate() {
                    ns += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
                }
                nanos = ns;
                v = &rest[d..];
            }
        } else {
            let c = l.chars().next()?;
            if !v.starts_with(c) {
                return None;
            }
            l = &l[c.len_utf8()..];
            v = &v[c.len_utf8()..];
        }
    }
    if !v.is_empty() {
        return None;
    }
    if let Some(is_pm) = pm {
        if hour > 12 {
            return None;
        }
        if is_pm && hour < 12 {
            hour += 12;
        } else if !is_pm && hour == 12 {
            hour = 0;
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)?;
    let local = NaiveDateTime::new(date, time).and_utc();
    Some(local - TimeDelta::seconds(offset_secs))
}

/// sprig's `date` argument: a time, or seconds since the epoch.
pub(super) fn date_arg(v: &Value) -> DateTime<Utc> {
    match v {
        Value::Time(t) => *t,
        Value::Int(i) => DateTime::from_timestamp(*i, 0).unwrap_or_else(go_zero_time),
        _ => Utc::now(),
    }
}
