//! Record times as Fluent Bit's JSON formats write them (`json_date_format`).

use super::FieldValue;

/// How the time field of Fluent Bit's JSON formats is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeFormat {
    /// Float seconds, `1527673192.000681` (Fluent Bit's default).
    #[default]
    Double,
    /// Integer seconds.
    Epoch,
    /// Integer milliseconds.
    EpochMs,
    /// `2018-05-30T09:39:52.000681Z`.
    Iso8601,
    /// `2018-05-30 09:39:52.000681`.
    JavaSqlTimestamp,
}

impl TimeFormat {
    /// The format named as in Fluent Bit's configuration (case-insensitive, with its aliases
    /// `epoch_millis` and `epoch_milliseconds`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "double" => TimeFormat::Double,
            "epoch" => TimeFormat::Epoch,
            "epoch_ms" | "epoch_millis" | "epoch_milliseconds" => TimeFormat::EpochMs,
            "iso8601" => TimeFormat::Iso8601,
            "java_sql_timestamp" => TimeFormat::JavaSqlTimestamp,
            _ => return None,
        })
    }

    /// Nanoseconds since the epoch from a field value in this format, if it reads.
    pub(crate) fn parse(self, v: &FieldValue) -> Option<i64> {
        match (self, v) {
            (TimeFormat::Double | TimeFormat::Epoch, FieldValue::Int(s)) => {
                s.checked_mul(1_000_000_000)
            }
            (TimeFormat::Double | TimeFormat::Epoch, FieldValue::Float(f)) => secs_f64_to_ns(*f),
            (TimeFormat::EpochMs, FieldValue::Int(ms)) => ms.checked_mul(1_000_000),
            (TimeFormat::EpochMs, FieldValue::Float(ms)) => secs_f64_to_ns(*ms / 1000.0),
            (TimeFormat::Iso8601 | TimeFormat::JavaSqlTimestamp, FieldValue::Str(s)) => {
                parse_datetime(s)
            }
            _ => None,
        }
    }
}

/// Float seconds to nanoseconds, through the shortest decimal that reads back as the same
/// float: Fluent Bit prints `%.16g`, so `1700000000.123456` comes back as exactly
/// `...123456000` ns rather than the binary float's `...123456001`.
pub(crate) fn secs_f64_to_ns(f: f64) -> Option<i64> {
    use std::fmt::Write as _;
    // i64 nanoseconds end in 2262: larger values cannot be stored, tiny ones round to 0.
    if !f.is_finite() || f.abs() >= 1e11 {
        return None;
    }
    if f.abs() < 1e-10 {
        return Some(0);
    }
    // The shortest decimal fits in a small stack buffer in this range: no allocation per
    // record.
    let mut buf = StackStr::default();
    write!(buf, "{f}").ok()?;
    parse_decimal_secs(buf.as_str())
}

/// A fixed buffer for formatting a float without allocating.
struct StackStr {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        StackStr {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `[-]digits[.digits]` seconds to nanoseconds, rounding past the ninth decimal.
fn parse_decimal_secs(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    if frac.as_bytes().get(9).is_some_and(|&b| b >= b'5') {
        nanos += 1;
    }
    let total = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -total } else { total })
}

/// `YYYY-MM-DD(T| )HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`, UTC when no zone is given.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos += i64::from(b[i] - b'0') * 10i64.pow(8 - (i - start) as u32);
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits: Vec<u8> = rest.iter().copied().filter(|&c| c != b':').collect();
            if digits.len() != 4
                || !digits.iter().all(u8::is_ascii_digit)
                || (rest.len() == 5 && rest[2] != b':')
            {
                return None;
            }
            let oh = i64::from(digits[0] - b'0') * 10 + i64::from(digits[1] - b'0');
            let om = i64::from(digits[2] - b'0') * 10 + i64::from(digits[3] - b'0');
            let off = oh * 3600 + om * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_keep_the_printed_digits() {
        assert_eq!(
            secs_f64_to_ns(1_700_000_000.123456),
            Some(1_700_000_000_123_456_000)
        );
        assert_eq!(
            secs_f64_to_ns(1_527_673_192.000681),
            Some(1_527_673_192_000_681_000)
        );
        assert_eq!(secs_f64_to_ns(0.5), Some(500_000_000));
        assert_eq!(secs_f64_to_ns(-1.25), Some(-1_250_000_000));
        assert_eq!(secs_f64_to_ns(1e-10), Some(0));
        assert_eq!(secs_f64_to_ns(f64::NAN), None);
        assert_eq!(secs_f64_to_ns(1e300), None);
    }

    #[test]
    fn dates_as_fluent_bit_writes_them() {
        // The examples of Fluent Bit's http output documentation.
        let want = 1_527_673_192_000_681_000;
        assert_eq!(parse_datetime("2018-05-30T09:39:52.000681Z"), Some(want));
        assert_eq!(parse_datetime("2018-05-30 09:39:52.000681"), Some(want));
        assert_eq!(
            parse_datetime("2018-05-30T11:39:52.000681+02:00"),
            Some(want)
        );
        assert_eq!(
            parse_datetime("2018-05-30T04:39:52.000681-0500"),
            Some(want)
        );
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_datetime("2000-02-29 00:00:00"),
            Some(951_782_400_000_000_000)
        );
        for bad in [
            "2018-05-30",
            "2018-13-01T00:00:00Z",
            "2018-05-30T09:39:52.Z",
            "2018-05-30T09:39:52+2",
            "x018-05-30T09:39:52",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_read_their_values() {
        use FieldValue as V;
        assert_eq!(
            TimeFormat::Double.parse(&V::Float(1.5)),
            Some(1_500_000_000)
        );
        assert_eq!(TimeFormat::Epoch.parse(&V::Int(2)), Some(2_000_000_000));
        assert_eq!(
            TimeFormat::EpochMs.parse(&V::Int(1_527_673_192_000)),
            Some(1_527_673_192_000_000_000)
        );
        assert_eq!(TimeFormat::Iso8601.parse(&V::Int(1)), None);
        assert_eq!(
            TimeFormat::from_name("EPOCH_MILLIS"),
            Some(TimeFormat::EpochMs)
        );
        assert_eq!(TimeFormat::from_name("rfc3339"), None);
    }
}
