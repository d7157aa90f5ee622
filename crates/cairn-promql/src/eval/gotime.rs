//! The calendar fields Prometheus' date functions read from `time.Unix(int64(v), 0).UTC()`,
//! computed the way Go computes them: `int64(v)` truncates towards zero and gives the
//! smallest int64 for NaN, infinities and values out of range (amd64), and Go's calendar
//! arithmetic runs on unsigned 64-bit seconds since year -292277022399, wrapping where such a
//! timestamp overflows. Prometheus answers `year(NaN)` with the year that arithmetic yields,
//! so Cairn does too rather than dropping the sample.

const SECONDS_PER_DAY: u64 = 86_400;
const SECONDS_PER_WEEK: u64 = 7 * SECONDS_PER_DAY;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
/// Go's `unixToInternal + internalToAbsolute`.
const UNIX_TO_ABSOLUTE: i64 = 62_135_596_800 + 9_223_371_966_579_724_800;
/// Go's `absoluteToInternal + internalToUnix`.
const ABSOLUTE_TO_UNIX: i64 = -UNIX_TO_ABSOLUTE;
const DAYS_BEFORE: [u64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Go's `int64(f)` on amd64.
fn go_int64(f: f64) -> i64 {
    // 2^63 does not fit, -2^63 does; NaN is in no range.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Go's `absDate`: (year, month 1..=12, day 1..=31, day of the year from 0).
fn abs_date(abs: u64) -> (i64, u64, u64, u64) {
    let mut d = abs / SECONDS_PER_DAY;
    let mut n = d / DAYS_PER_400_YEARS;
    let mut y = 400 * n;
    d -= DAYS_PER_400_YEARS * n;
    n = d / DAYS_PER_100_YEARS;
    n -= n >> 2;
    y += 100 * n;
    d -= DAYS_PER_100_YEARS * n;
    n = d / DAYS_PER_4_YEARS;
    y += 4 * n;
    d -= DAYS_PER_4_YEARS * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
    let yday = d;
    let mut day = yday;
    if is_leap(year) {
        if day == 31 + 29 - 1 {
            return (year, 2, 29, yday);
        }
        if day > 31 + 29 - 1 {
            day -= 1;
        }
    }
    let mut month = day / 31;
    let end = DAYS_BEFORE[month as usize + 1];
    let begin = if day >= end {
        month += 1;
        end
    } else {
        DAYS_BEFORE[month as usize]
    };
    (year, month + 1, day - begin + 1, yday)
}

/// Go's `daysSinceEpoch`.
fn days_since_epoch(year: i64) -> u64 {
    let mut y = year.wrapping_sub(ABSOLUTE_ZERO_YEAR) as u64;
    let mut n = y / 400;
    y -= 400 * n;
    let mut d = DAYS_PER_400_YEARS.wrapping_mul(n);
    n = y / 100;
    y -= 100 * n;
    d = d.wrapping_add(DAYS_PER_100_YEARS * n);
    n = y / 4;
    y -= 4 * n;
    d = d.wrapping_add(DAYS_PER_4_YEARS * n);
    d.wrapping_add(365 * y)
}

/// `32 - time.Date(year, month, 32, 0, 0, 0, 0, time.UTC).Day()`, as Prometheus'
/// `days_in_month` computes it.
fn days_in_month(year: i64, month: u64) -> u64 {
    let mut d = days_since_epoch(year).wrapping_add(DAYS_BEFORE[month as usize - 1]);
    if is_leap(year) && month >= 3 {
        d = d.wrapping_add(1);
    }
    d = d.wrapping_add(31);
    // Through Go's unix seconds and back, as `Date(...).Day()` goes.
    let unix = (d.wrapping_mul(SECONDS_PER_DAY) as i64).wrapping_add(ABSOLUTE_TO_UNIX);
    let (_, _, day, _) = abs_date(unix.wrapping_add(UNIX_TO_ABSOLUTE) as u64);
    32 - day
}

/// The value of Prometheus' date function `name` for the timestamp `v` (seconds).
pub(crate) fn time_part(name: &str, v: f64) -> Option<f64> {
    let abs = go_int64(v).wrapping_add(UNIX_TO_ABSOLUTE) as u64;
    let (year, month, day, yday) = abs_date(abs);
    Some(match name {
        "minute" => ((abs % 3600) / 60) as f64,
        "hour" => ((abs % SECONDS_PER_DAY) / 3600) as f64,
        // Go's absolute epoch is a Monday.
        "day_of_week" => (((abs + SECONDS_PER_DAY) % SECONDS_PER_WEEK) / SECONDS_PER_DAY) as f64,
        "day_of_month" => day as f64,
        "day_of_year" => (yday + 1) as f64,
        "days_in_month" => days_in_month(year, month) as f64,
        "month" => month as f64,
        "year" => year as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_dates() {
        // 2024-02-29 12:34:56 UTC, a Thursday.
        let t = 1_709_210_096.0;
        let got: Vec<f64> = [
            "year",
            "month",
            "day_of_month",
            "day_of_year",
            "days_in_month",
            "hour",
            "minute",
            "day_of_week",
        ]
        .iter()
        .map(|n| time_part(n, t).unwrap_or(-1.0))
        .collect();
        assert_eq!(got, vec![2024.0, 2.0, 29.0, 60.0, 29.0, 12.0, 34.0, 4.0]);
        assert_eq!(time_part("days_in_month", 1_700_000_000.0), Some(30.0));
        assert_eq!(time_part("year", 0.0), Some(1970.0));
    }

    #[test]
    fn truncates_towards_zero_like_go() {
        // int64(-0.5) is 0: still 1970-01-01 00:00.
        assert_eq!(time_part("year", -0.5), Some(1970.0));
        assert_eq!(time_part("hour", -0.5), Some(0.0));
        assert_eq!(time_part("year", -1.0), Some(1969.0));
        assert_eq!(time_part("hour", -1.0), Some(23.0));
    }

    #[test]
    fn nan_and_infinities_go_through_the_smallest_int64() {
        // What Prometheus (Go) answers for NaN, ±Inf and out-of-range values.
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
            assert_eq!(time_part("year", v), Some(292_277_026_596.0), "{v}");
            assert_eq!(time_part("hour", v), Some(15.0), "{v}");
        }
    }
}
