//! The notification log: what each integration was last told about each group, which decides
//! whether a flush needs to notify at all.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::{Fingerprint, delta};
use crate::config::IntegrationKind;

/// Identifies one integration's view of one aggregation group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NflogKey {
    /// The aggregation group key.
    pub group_key: String,
    /// The receiver name.
    pub receiver: String,
    /// The integration kind.
    pub kind: IntegrationKind,
    /// Index among the receiver's integrations of that kind.
    pub index: usize,
}

/// The last successful notification for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NflogEntry {
    /// Fingerprints that were firing.
    pub firing: BTreeSet<Fingerprint>,
    /// Fingerprints that were resolved.
    pub resolved: BTreeSet<Fingerprint>,
    /// When it was sent.
    pub timestamp: DateTime<Utc>,
}

/// Why a notification is (re)sent, as Alertmanager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyReason {
    /// Nothing logged and something fires.
    FirstNotification,
    /// Some alert fires that was not logged as firing.
    NewAlertsAdded,
    /// Everything resolved after something was logged as firing.
    AllAlertsResolved,
    /// With `send_resolved`, some alert resolved that was not logged as resolved.
    SomeAlertsResolved,
    /// Nothing changed but `repeat_interval` elapsed.
    RepeatIntervalElapsed,
}

/// Decides whether a flush must notify, given what was logged last time.
pub fn needs_update(
    entry: Option<&NflogEntry>,
    firing: &BTreeSet<Fingerprint>,
    resolved: &BTreeSet<Fingerprint>,
    send_resolved: bool,
    repeat_interval: Duration,
    now: DateTime<Utc>,
) -> Option<NotifyReason> {
    let Some(e) = entry else {
        return (!firing.is_empty()).then_some(NotifyReason::FirstNotification);
    };
    if !firing.is_subset(&e.firing) {
        return Some(NotifyReason::NewAlertsAdded);
    }
    if firing.is_empty() {
        return (!e.firing.is_empty()).then_some(NotifyReason::AllAlertsResolved);
    }
    if send_resolved && !resolved.is_subset(&e.resolved) {
        return Some(NotifyReason::SomeAlertsResolved);
    }
    // Alertmanager compares strictly against a timestamp taken after sending; with an exact
    // clock the flush at exactly `repeat_interval` later is the one that repeats.
    (now - e.timestamp >= delta(repeat_interval)).then_some(NotifyReason::RepeatIntervalElapsed)
}

/// The notification log of one tenant.
#[derive(Debug, Default)]
pub struct NotificationLog {
    entries: Mutex<HashMap<NflogKey, NflogEntry>>,
    // Bumped on every change, so that persistence writes only when something changed.
    version: AtomicU64,
}

impl NotificationLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NflogKey, NflogEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A counter that moves whenever an entry is logged or dropped.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Replaces every entry with `entries` (a loaded snapshot).
    pub fn restore(&self, entries: Vec<(NflogKey, NflogEntry)>) {
        let mut m = self.lock();
        m.clear();
        m.extend(entries);
        drop(m);
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    /// The entry for `key`.
    pub fn query(&self, key: &NflogKey) -> Option<NflogEntry> {
        self.lock().get(key).cloned()
    }

    /// Records a successful notification.
    pub fn log(&self, key: NflogKey, entry: NflogEntry) {
        self.lock().insert(key, entry);
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops entries older than `cutoff`.
    pub fn gc(&self, cutoff: DateTime<Utc>) -> usize {
        let mut m = self.lock();
        let before = m.len();
        m.retain(|_, e| e.timestamp >= cutoff);
        let dropped = before - m.len();
        drop(m);
        if dropped > 0 {
            self.version.fetch_add(1, Ordering::Relaxed);
        }
        dropped
    }

    /// Every entry, for persistence and inspection.
    pub fn snapshot(&self) -> Vec<(NflogKey, NflogEntry)> {
        let mut v: Vec<_> = self
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> BTreeSet<u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn dedup_reasons() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let rep = Duration::from_secs(3600);
        let e = NflogEntry {
            firing: set(&[1, 2]),
            resolved: set(&[]),
            timestamp: now,
        };
        use NotifyReason::*;
        assert_eq!(
            needs_update(None, &set(&[]), &set(&[1]), true, rep, now),
            None
        );
        assert_eq!(
            needs_update(None, &set(&[1]), &set(&[]), true, rep, now),
            Some(FirstNotification)
        );
        assert_eq!(
            needs_update(Some(&e), &set(&[1, 2]), &set(&[]), true, rep, now),
            None
        );
        assert_eq!(
            needs_update(Some(&e), &set(&[1]), &set(&[]), false, rep, now),
            None
        );
        assert_eq!(
            needs_update(Some(&e), &set(&[1, 3]), &set(&[]), true, rep, now),
            Some(NewAlertsAdded)
        );
        assert_eq!(
            needs_update(Some(&e), &set(&[1]), &set(&[2]), true, rep, now),
            Some(SomeAlertsResolved)
        );
        assert_eq!(
            needs_update(Some(&e), &set(&[]), &set(&[1, 2]), false, rep, now),
            Some(AllAlertsResolved)
        );
        let later = now + delta(rep);
        assert_eq!(
            needs_update(Some(&e), &set(&[1, 2]), &set(&[]), true, rep, later),
            Some(RepeatIntervalElapsed)
        );
    }
}
