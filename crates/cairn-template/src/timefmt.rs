//! Go's time printing: `time.Time.String`, `time.Time.Format` layouts and
//! `time.Duration.String`, for the UTC instants templates see.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};

/// Go's month names, January first (layouts `January` and `Jan`).
pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Go's weekday names, Sunday first (layouts `Monday` and `Mon`).
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's `Time.String()` of a UTC instant: `2015-06-23 13:19:44.128 +0000 UTC`.
pub(crate) fn format_time_default(t: &DateTime<Utc>) -> String {
    format_time(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn format_duration(d: TimeDelta) -> String {
    let ns = d.num_nanoseconds().unwrap_or(if d < TimeDelta::zero() {
        i64::MIN
    } else {
        i64::MAX
    });
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u == 0 {
        return "0s".into();
    }
    let frac = |v: u64, digits: u32| -> String {
        let div = 10u64.pow(digits);
        let (int, rem) = (v / div, v % div);
        if rem == 0 {
            return int.to_string();
        }
        let mut f = format!("{rem:0width$}", width = digits as usize);
        while f.ends_with('0') {
            f.pop();
        }
        format!("{int}.{f}")
    };
    if u < 1_000_000_000 {
        if u < 1_000 {
            let _ = write!(out, "{u}ns");
        } else if u < 1_000_000 {
            let _ = write!(out, "{}µs", frac(u, 3));
        } else {
            let _ = write!(out, "{}ms", frac(u, 6));
        }
        return out;
    }
    let secs_ns = u % 60_000_000_000;
    let mins = u / 60_000_000_000;
    let (h, m) = (mins / 60, mins % 60);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{}s", frac(secs_ns, 9));
    out
}

/// Formats `t` with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`).
pub(crate) fn format_time(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    let rest = |i: usize| &layout[i..];
    while i < b.len() {
        let r = rest(i);
        let (adv, text): (usize, String) = if r.starts_with("January") {
            (7, MONTHS[t.month0() as usize].into())
        } else if r.starts_with("Jan") {
            (3, MONTHS[t.month0() as usize][..3].into())
        } else if r.starts_with("Monday") {
            (6, DAYS[t.weekday().num_days_from_sunday() as usize].into())
        } else if r.starts_with("Mon") {
            (
                3,
                DAYS[t.weekday().num_days_from_sunday() as usize][..3].into(),
            )
        } else if r.starts_with("MST") {
            (3, "UTC".into())
        } else if r.starts_with("2006") {
            (4, format!("{:04}", t.year()))
        } else if r.starts_with("002") {
            (3, format!("{:03}", t.ordinal()))
        } else if r.starts_with("__2") {
            (3, format!("{:>3}", t.ordinal()))
        } else if r.starts_with("01") {
            (2, format!("{:02}", t.month()))
        } else if r.starts_with("02") {
            (2, format!("{:02}", t.day()))
        } else if r.starts_with("03") {
            (2, format!("{:02}", hour12(t.hour())))
        } else if r.starts_with("04") {
            (2, format!("{:02}", t.minute()))
        } else if r.starts_with("05") {
            (2, format!("{:02}", t.second()))
        } else if r.starts_with("06") {
            (2, format!("{:02}", t.year().rem_euclid(100)))
        } else if r.starts_with("15") {
            (2, format!("{:02}", t.hour()))
        } else if r.starts_with("_2") {
            (2, format!("{:>2}", t.day()))
        } else if r.starts_with('1') {
            (1, t.month().to_string())
        } else if r.starts_with('2') {
            (1, t.day().to_string())
        } else if r.starts_with('3') {
            (1, hour12(t.hour()).to_string())
        } else if r.starts_with('4') {
            (1, t.minute().to_string())
        } else if r.starts_with('5') {
            (1, t.second().to_string())
        } else if r.starts_with("PM") {
            (2, if t.hour() >= 12 { "PM" } else { "AM" }.into())
        } else if r.starts_with("pm") {
            (2, if t.hour() >= 12 { "pm" } else { "am" }.into())
        } else if let Some(n) = ["-07:00:00", "-070000", "-07:00", "-0700", "-07"]
            .iter()
            .find(|p| r.starts_with(**p))
        {
            (n.len(), zone(n, false))
        } else if let Some(n) = ["Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"]
            .iter()
            .find(|p| r.starts_with(**p))
        {
            (n.len(), zone(n, true))
        } else if let Some((n, text)) = fraction(r, t.nanosecond() % 1_000_000_000) {
            (n, text)
        } else {
            let c = r.chars().next().unwrap_or(' ');
            (c.len_utf8(), c.to_string())
        };
        out.push_str(&text);
        i += adv;
    }
    out
}

fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        h => h,
    }
}

/// A UTC zone in the layout's style.
fn zone(layout: &str, z: bool) -> String {
    if z {
        return "Z".into();
    }
    match layout {
        "-07:00:00" => "+00:00:00",
        "-070000" => "+000000",
        "-07:00" => "+00:00",
        "-0700" => "+0000",
        _ => "+00",
    }
    .into()
}

/// `.000` (fixed digits) and `.999` (trailing zeros dropped) fractional seconds.
fn fraction(r: &str, nanos: u32) -> Option<(usize, String)> {
    let b = r.as_bytes();
    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !(b[1] == b'0' || b[1] == b'9') {
        return None;
    }
    let ch = b[1];
    let n = b[1..].iter().take_while(|&&c| c == ch).count();
    if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let digits = format!("{nanos:09}");
    let mut frac = digits[..n.min(9)].to_owned();
    if ch == b'9' {
        while frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() {
            return Some((1 + n, String::new()));
        }
    }
    Some((1 + n, format!("{}{frac}", char::from(b[0]))))
}
