//! IANA time zones read from the system's zoneinfo files (TZif, RFC 8536), so that
//! `location: Europe/Berlin` in a time interval means what it means in Alertmanager.
//! Times past the file's last transition follow its POSIX TZ footer rule, which is what
//! keeps "slim" zoneinfo files correct.

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};

/// A time zone: UTC offsets over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    /// Transition instants (Unix seconds) and the UTC offset (seconds) from then on.
    transitions: Vec<(i64, i32)>,
    /// Offset before the first transition.
    initial: i32,
    /// Rule for instants after the last transition.
    rule: Option<PosixRule>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PosixRule {
    std: i32,
    dst: Option<(i32, RuleDate, RuleDate)>,
}

/// `Mm.w.d/time`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`, at `time`
/// seconds after local midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RuleDate {
    month: u32,
    week: u32,
    weekday: u32,
    time: i64,
}

impl Zone {
    /// Loads `name` (for example `Europe/Berlin`) from `$ZONEINFO` or the usual system
    /// directories.
    pub fn load(name: &str) -> Result<Zone> {
        let bad = |why: &str| Error::TimeInterval(format!("location {name:?}: {why}"));
        if name.is_empty()
            || name.starts_with('/')
            || name.split('/').any(|p| p == ".." || p.is_empty())
        {
            return Err(bad("not a time zone name"));
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(d) = std::env::var_os("ZONEINFO") {
            dirs.push(d.into());
        }
        for d in [
            "/usr/share/zoneinfo",
            "/usr/lib/zoneinfo",
            "/usr/share/lib/zoneinfo",
        ] {
            dirs.push(d.into());
        }
        let bytes = dirs
            .iter()
            .find_map(|d| std::fs::read(d.join(name)).ok())
            .ok_or_else(|| bad("unknown time zone (no zoneinfo file found)"))?;
        let mut z = parse_tzif(&bytes).ok_or_else(|| bad("malformed zoneinfo file"))?;
        z.name = name.to_string();
        Ok(z)
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset in seconds at the Unix instant `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        match self.transitions.last() {
            None => return self.rule.map_or(self.initial, |r| r.offset_at(t)),
            Some(&(last, off)) if t >= last => {
                return self.rule.map_or(off, |r| r.offset_at(t));
            }
            _ => {}
        }
        match self.transitions.partition_point(|&(at, _)| at <= t) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }
}

impl PosixRule {
    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, end)) = self.dst else {
            return self.std;
        };
        let Some(date) = chrono::DateTime::from_timestamp(t, 0) else {
            return self.std;
        };
        let year = date.year();
        // Start is given in standard local time, end in daylight local time.
        let (Some(s), Some(e)) = (start.local_secs(year), end.local_secs(year)) else {
            return self.std;
        };
        let s = s - i64::from(self.std);
        let e = e - i64::from(dst);
        let in_dst = if s < e {
            s <= t && t < e
        } else {
            t < e || t >= s
        };
        if in_dst { dst } else { self.std }
    }
}

impl RuleDate {
    fn local_secs(&self, year: i32) -> Option<i64> {
        let first = NaiveDate::from_ymd_opt(year, self.month, 1)?;
        let wd1 = first.weekday().num_days_from_sunday();
        let mut day = 1 + (self.weekday + 7 - wd1) % 7 + (self.week - 1) * 7;
        let next = if self.month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, self.month + 1, 1)?
        };
        let dim = next.pred_opt()?.day();
        while day > dim {
            day -= 7;
        }
        let date = NaiveDate::from_ymd_opt(year, self.month, day)?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() + self.time)
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_tzif(b: &[u8]) -> Option<Zone> {
    if b.get(0..4)? != b"TZif" {
        return None;
    }
    let version = *b.get(4)?;
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, v) in c.iter_mut().enumerate() {
            *v = be_u32(b, at + 20 + 4 * i)? as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0)?;
    let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    let (start, time_size, c) = if version >= b'2' {
        let at = 44 + v1_len;
        (at + 44, 8, counts(at)?)
    } else {
        (44, 4, [isut, isstd, leap, timecnt, typecnt, charcnt])
    };
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = c;
    if typecnt == 0 {
        return None;
    }
    let times_at = start;
    let idx_at = times_at + timecnt * time_size;
    let types_at = idx_at + timecnt;
    let chars_at = types_at + typecnt * 6;
    let end = chars_at + charcnt + leap * (time_size + 4) + isstd + isut;
    let offset_of = |ty: usize| -> Option<i32> {
        let at = types_at + ty * 6;
        Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let at = times_at + i * time_size;
        let t = if time_size == 8 {
            i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)
        } else {
            i64::from(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
        };
        let ty = *b.get(idx_at + i)? as usize;
        if ty >= typecnt {
            return None;
        }
        transitions.push((t, offset_of(ty)?));
    }
    let rule = if version >= b'2' {
        let footer = b.get(end..)?;
        let text = std::str::from_utf8(footer).ok()?;
        parse_posix(text.trim_matches('\n'))
    } else {
        None
    };
    Some(Zone {
        name: String::new(),
        transitions,
        initial: offset_of(0)?,
        rule,
    })
}

/// Parses a POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3`; only the `Mm.w.d` date
/// form is supported, the others yield no rule (the file's transitions then apply).
fn parse_posix(s: &str) -> Option<PosixRule> {
    let mut p = s;
    let skip_name = |p: &mut &str| -> Option<()> {
        if let Some(rest) = p.strip_prefix('<') {
            let end = rest.find('>')?;
            *p = &rest[end + 1..];
        } else {
            let n = p.chars().take_while(|c| c.is_ascii_alphabetic()).count();
            if n < 3 {
                return None;
            }
            *p = &p[n..];
        }
        Some(())
    };
    skip_name(&mut p)?;
    let std = -parse_hms(&mut p)?;
    if p.is_empty() {
        return Some(PosixRule {
            std: i32::try_from(std).ok()?,
            dst: None,
        });
    }
    skip_name(&mut p)?;
    let dst = if p.starts_with(',') {
        std + 3600
    } else {
        -parse_hms(&mut p)?
    };
    let rule_date = |p: &mut &str| -> Option<RuleDate> {
        *p = p.strip_prefix(",M")?;
        let mut nums = [0u32; 3];
        for (i, n) in nums.iter_mut().enumerate() {
            let len = p.chars().take_while(char::is_ascii_digit).count();
            *n = p[..len].parse().ok()?;
            *p = &p[len..];
            if i < 2 {
                *p = p.strip_prefix('.')?;
            }
        }
        let time = if let Some(rest) = p.strip_prefix('/') {
            *p = rest;
            parse_hms(p)?
        } else {
            7200
        };
        let [month, week, weekday] = nums;
        ((1..=12).contains(&month) && (1..=5).contains(&week) && weekday <= 6).then_some(RuleDate {
            month,
            week,
            weekday,
            time,
        })
    };
    let start = rule_date(&mut p)?;
    let end = rule_date(&mut p)?;
    Some(PosixRule {
        std: i32::try_from(std).ok()?,
        dst: Some((i32::try_from(dst).ok()?, start, end)),
    })
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn parse_hms(p: &mut &str) -> Option<i64> {
    let mut sign = 1;
    if let Some(r) = p.strip_prefix('-') {
        sign = -1;
        *p = r;
    } else if let Some(r) = p.strip_prefix('+') {
        *p = r;
    }
    let mut total = 0i64;
    for (i, mul) in [3600i64, 60, 1].iter().enumerate() {
        if i > 0 {
            match p.strip_prefix(':') {
                Some(r) => *p = r,
                None => break,
            }
        }
        let len = p.chars().take_while(char::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        total += p[..len].parse::<i64>().ok()? * mul;
        *p = &p[len..];
    }
    Some(sign * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn posix_rules() {
        let berlin = parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(berlin.offset_at(ts("2026-01-15T12:00:00Z")), 3600);
        assert_eq!(berlin.offset_at(ts("2026-07-01T12:00:00Z")), 7200);
        // 2026-03-29 01:00 UTC is 02:00 CET, the switch.
        assert_eq!(berlin.offset_at(ts("2026-03-29T00:59:59Z")), 3600);
        assert_eq!(berlin.offset_at(ts("2026-03-29T01:00:00Z")), 7200);
        // 2026-10-25 01:00 UTC is 03:00 CEST, the switch back.
        assert_eq!(berlin.offset_at(ts("2026-10-25T00:59:59Z")), 7200);
        assert_eq!(berlin.offset_at(ts("2026-10-25T01:00:00Z")), 3600);
        let sydney = parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(sydney.offset_at(ts("2026-01-15T00:00:00Z")), 11 * 3600);
        assert_eq!(sydney.offset_at(ts("2026-07-15T00:00:00Z")), 10 * 3600);
        let ny = parse_posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(ny.offset_at(ts("2026-07-04T12:00:00Z")), -4 * 3600);
        assert_eq!(ny.offset_at(ts("2026-12-25T12:00:00Z")), -5 * 3600);
        let tokyo = parse_posix("JST-9").unwrap();
        assert_eq!(tokyo.offset_at(0), 9 * 3600);
        assert_eq!(parse_posix("<+0530>-5:30").unwrap().std, 5 * 3600 + 1800);
        assert!(parse_posix("X").is_none());
    }

    #[test]
    fn zoneinfo_files() {
        let z = match Zone::load("Europe/Berlin") {
            Ok(z) => z,
            Err(e) => {
                // Hosts without tzdata cannot resolve names; the POSIX rules are tested above.
                eprintln!("skipping: {e}");
                return;
            }
        };
        assert_eq!(z.offset_at(ts("2026-01-15T12:00:00Z")), 3600);
        assert_eq!(z.offset_at(ts("2026-07-01T12:00:00Z")), 7200);
        assert_eq!(
            z.offset_at(ts("2090-07-01T12:00:00Z")),
            7200,
            "past the table"
        );
        assert_eq!(z.offset_at(ts("1990-07-01T12:00:00Z")), 7200);
        assert!(Zone::load("Mars/Olympus").is_err());
        assert!(Zone::load("../etc/passwd").is_err());
    }
}
