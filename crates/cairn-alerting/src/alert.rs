//! Alerts as the alert manager keeps them: identity by label fingerprint, merged on update.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_model::Labels;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Error, Result};

/// An alert as posted by a rule engine (Alertmanager API v2 `postableAlert`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostableAlert {
    /// Identifying labels.
    pub labels: Labels,
    /// Descriptive annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing; now when unset.
    pub starts_at: Option<DateTime<Utc>>,
    /// When the alert ends or ended; now + resolve_timeout when unset.
    pub ends_at: Option<DateTime<Utc>>,
    /// Link back to the rule's expression.
    pub generator_url: String,
}

/// An alert held by the dispatcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identifying labels.
    pub labels: Labels,
    /// Descriptive annotations.
    pub annotations: BTreeMap<String, String>,
    /// Start of the firing period.
    pub starts_at: DateTime<Utc>,
    /// End of the firing period (in the future while firing).
    pub ends_at: DateTime<Utc>,
    /// Link back to the rule's expression.
    pub generator_url: String,
    /// When the alert was last received.
    pub updated_at: DateTime<Utc>,
    /// True when `ends_at` came from `resolve_timeout` rather than from the sender.
    pub timeout: bool,
}

/// The identity of an alert: the 64-bit hash of its canonical label encoding.
pub type Fingerprint = u64;

impl Alert {
    /// Validates a posted alert and fills its times as Alertmanager does.
    pub fn from_postable(
        p: PostableAlert,
        now: DateTime<Utc>,
        resolve_timeout: Duration,
    ) -> Result<Alert> {
        if p.labels.is_empty() {
            return Err(Error::Alert("alert has no labels".to_string()));
        }
        let starts_at = p.starts_at.or(p.ends_at).unwrap_or(now);
        let (ends_at, timeout) = match p.ends_at {
            Some(e) => (e, false),
            None => (now + delta(resolve_timeout), true),
        };
        if ends_at < starts_at {
            return Err(Error::Alert(format!(
                "alert {} ends at {ends_at} before it starts at {starts_at}",
                p.labels
            )));
        }
        Ok(Alert {
            labels: p.labels,
            annotations: p.annotations,
            starts_at,
            ends_at,
            generator_url: p.generator_url,
            updated_at: now,
            timeout,
        })
    }

    /// The alert's identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.labels.id().0
    }

    /// True once `ends_at` has passed.
    pub fn resolved_at(&self, now: DateTime<Utc>) -> bool {
        self.ends_at <= now
    }

    /// Merges a newer report of the same alert, keeping the earliest start and the latest
    /// end, except that an end that only came from the timeout never wins.
    pub(crate) fn merge(&self, newer: &Alert, now: DateTime<Utc>) -> Alert {
        if newer.updated_at < self.updated_at {
            return newer.merge(self, now);
        }
        let mut res = newer.clone();
        if self.starts_at < newer.starts_at {
            res.starts_at = self.starts_at;
        }
        if newer.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > newer.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > newer.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }

    /// Whether a new report overlaps this alert's activity and so belongs to the same
    /// firing period (otherwise it replaces it).
    pub(crate) fn overlaps(&self, newer: &Alert) -> bool {
        (newer.ends_at > self.starts_at && newer.ends_at < self.ends_at)
            || (newer.starts_at > self.starts_at && newer.starts_at < self.ends_at)
    }
}

pub(crate) fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn post(start: Option<i64>, end: Option<i64>) -> PostableAlert {
        PostableAlert {
            labels: Labels::from_pairs([("alertname", "A")]).unwrap(),
            starts_at: start.map(t),
            ends_at: end.map(t),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_validation() {
        let rt = Duration::from_secs(300);
        let a = Alert::from_postable(post(None, None), t(0), rt).unwrap();
        assert_eq!((a.starts_at, a.ends_at, a.timeout), (t(0), t(300), true));
        let a = Alert::from_postable(post(None, Some(50)), t(100), rt).unwrap();
        assert_eq!((a.starts_at, a.ends_at, a.timeout), (t(50), t(50), false));
        assert!(a.resolved_at(t(100)));
        let e = Alert::from_postable(post(Some(10), Some(5)), t(100), rt).unwrap_err();
        assert!(e.to_string().contains("alertname"), "{e}");
        let empty = PostableAlert::default();
        assert!(Alert::from_postable(empty, t(0), rt).is_err());
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let rt = Duration::from_secs(300);
        let old = Alert::from_postable(post(Some(0), Some(1000)), t(10), rt).unwrap();
        let newer = Alert::from_postable(post(Some(20), None), t(20), rt).unwrap();
        let m = old.merge(&newer, t(20));
        assert_eq!(m.starts_at, t(0));
        assert_eq!(m.ends_at, t(1000), "explicit later end wins over timeout");
        let old_timeout = Alert::from_postable(post(Some(0), None), t(10), rt).unwrap();
        let resolve = Alert::from_postable(post(Some(0), Some(20)), t(20), rt).unwrap();
        let m = old_timeout.merge(&resolve, t(20));
        assert_eq!(m.ends_at, t(20), "an end from the timeout never wins");
    }
}
