//! The time range of a metrics query and its steps, aligned as Tempo aligns them.

use crate::{Error, Result};

/// A metrics request's time range, in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryRange {
    /// Start.
    pub start_ns: u64,
    /// End.
    pub end_ns: u64,
    /// Step; an `end - start` equal to it makes an instant query.
    pub step_ns: u64,
}

impl QueryRange {
    /// Whether this asks for one value over the whole range.
    pub fn is_instant(&self) -> bool {
        self.end_ns.saturating_sub(self.start_ns) == self.step_ns
    }

    /// The step Tempo picks when a request gives none: about 240 points, rounded down to a
    /// round granularity (1h, 5m, 1m, 15s, 5s, 1s; 50ms multiples under a minute).
    pub fn default_step(start_ns: u64, end_ns: u64) -> u64 {
        const MS: u64 = 1_000_000;
        const S: u64 = 1_000 * MS;
        let delta = end_ns.saturating_sub(start_ns);
        let baseline = delta / 240;
        if delta < 60 * S {
            let g = 50 * MS;
            return if baseline > g { baseline / g * g } else { g };
        }
        for g in [3600 * S, 300 * S, 60 * S, 15 * S, 5 * S, S] {
            if baseline > g {
                return baseline / g * g;
            }
        }
        S
    }
}

/// Steps of a range: which step a time falls in and when each step is reported.
#[derive(Clone, Copy, Debug)]
pub(super) struct Steps {
    start: u64,
    end: u64,
    step: u64,
    instant: bool,
    pub(super) count: usize,
}

impl Steps {
    pub(super) fn new(r: QueryRange) -> Result<Steps> {
        if r.step_ns == 0 || r.end_ns <= r.start_ns {
            return Err(Error::Invalid(format!(
                "invalid query range: start {} end {} step {}",
                r.start_ns, r.end_ns, r.step_ns
            )));
        }
        if r.is_instant() {
            return Ok(Steps {
                start: r.start_ns,
                end: r.end_ns,
                step: r.step_ns,
                instant: true,
                count: 1,
            });
        }
        // Tempo's AlignRequest, then the interval mapper's alignment.
        let step = r.step_ns;
        let mut start = r.start_ns - r.start_ns % step;
        let end = match r.end_ns % step {
            0 => r.end_ns,
            m => r.end_ns + (step - m),
        };
        if start > step {
            start -= step;
        }
        let count = usize::try_from((end - start) / step).unwrap_or(usize::MAX);
        if count > 11_000 {
            return Err(Error::Invalid(format!(
                "exceeded maximum resolution of 11,000 points per timeseries: {count}"
            )));
        }
        Ok(Steps {
            start,
            end,
            step,
            instant: false,
            count,
        })
    }

    pub(super) fn interval(&self, ts: u64) -> Option<usize> {
        if self.instant {
            return (self.start..=self.end).contains(&ts).then_some(0);
        }
        if ts <= self.start || ts > self.end {
            return None;
        }
        let off = ts - self.start;
        let mut i = off / self.step;
        if i * self.step == off {
            i -= 1;
        }
        usize::try_from(i).ok()
    }

    pub(super) fn timestamp_ms(&self, i: usize) -> i64 {
        let ns = if self.instant {
            self.end
        } else {
            self.start + (i as u64 + 1) * self.step
        };
        (ns / 1_000_000) as i64
    }

    /// The aligned range, in nanoseconds.
    pub(super) fn bounds(&self) -> (u64, u64) {
        (self.start, self.end)
    }

    pub(super) fn seconds(&self) -> f64 {
        self.step as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_align_as_tempo() {
        let s = Steps::new(QueryRange {
            start_ns: 60_000_000_000,
            end_ns: 120_000_000_000,
            step_ns: 15_000_000_000,
        })
        .expect("valid range");
        assert_eq!(s.count, 5);
        assert_eq!(s.timestamp_ms(0), 60_000);
        assert_eq!(s.interval(60_000_000_000), Some(0));
        assert_eq!(s.interval(60_000_000_001), Some(1));
        assert_eq!(s.interval(120_000_000_000), Some(4));
        assert_eq!(s.interval(120_000_000_001), None);
    }
}
