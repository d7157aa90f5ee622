//! Silences: matchers over a time range that mute matching alerts, with Alertmanager's rules
//! for creating, updating in place, and expiring them.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_model::{Labels, Matcher};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::matchers::matches_all;

/// A silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// Identifier; empty when creating.
    pub id: String,
    /// All must match for an alert to be silenced.
    pub matchers: Vec<Matcher>,
    /// Start of the silence.
    pub starts_at: DateTime<Utc>,
    /// End of the silence.
    pub ends_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where a silence stands relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// Muting alerts.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// Alertmanager's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    /// The state at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if self.ends_at <= now {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }

    /// True when the silence is active at `now` and matches `labels`.
    pub fn mutes(&self, labels: &Labels, now: DateTime<Utc>) -> bool {
        self.state(now) == SilenceState::Active && matches_all(&self.matchers, labels)
    }
}

/// The set of silences of one tenant.
#[derive(Debug, Default)]
pub struct Silences {
    inner: Mutex<HashMap<String, Silence>>,
    // Bumped on every change, so that persistence writes only when something changed.
    version: AtomicU64,
}

impl Silences {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Silence>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    /// A counter that moves whenever a silence is created, changed, expired or dropped.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Replaces every silence with `list` (a loaded snapshot).
    pub fn restore(&self, list: Vec<Silence>) {
        let mut map = self.lock();
        map.clear();
        map.extend(list.into_iter().map(|s| (s.id.clone(), s)));
        drop(map);
        self.changed();
    }

    /// Creates a silence, or updates the one named by `s.id`: in place when its matchers are
    /// unchanged and the change is allowed for its state, otherwise by expiring it and
    /// creating a new one. Returns the id of the silence now in force.
    pub fn set(&self, mut s: Silence, now: DateTime<Utc>) -> Result<String> {
        validate(&s)?;
        let mut map = self.lock();
        if !s.id.is_empty() {
            let Some(old) = map.get(&s.id).cloned() else {
                return Err(Error::SilenceNotFound(s.id));
            };
            if can_update(&old, &s, now) {
                s.updated_at = now;
                map.insert(s.id.clone(), s.clone());
                drop(map);
                self.changed();
                return Ok(s.id);
            }
            if old.state(now) != SilenceState::Expired {
                expire_in(&mut map, &old.id, now);
                self.changed();
            }
        }
        if s.starts_at < now {
            s.starts_at = now;
        }
        if s.ends_at <= s.starts_at {
            return Err(Error::Silence(format!(
                "silence {:?} ends at {} which is not after now",
                s.comment, s.ends_at
            )));
        }
        s.id = new_id();
        s.updated_at = now;
        map.insert(s.id.clone(), s.clone());
        drop(map);
        self.changed();
        Ok(s.id)
    }

    /// Expires a silence: an active one ends now, a pending one starts and ends now.
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        let mut map = self.lock();
        match map.get(id).map(|s| s.state(now)) {
            None => Err(Error::SilenceNotFound(id.to_string())),
            Some(SilenceState::Expired) => {
                Err(Error::Silence(format!("silence {id:?} is already expired")))
            }
            Some(_) => {
                expire_in(&mut map, id, now);
                drop(map);
                self.changed();
                Ok(())
            }
        }
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.lock().get(id).cloned()
    }

    /// Every silence, ordered by start then id.
    pub fn list(&self) -> Vec<Silence> {
        let mut v: Vec<Silence> = self.lock().values().cloned().collect();
        v.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
        v
    }

    /// Ids of the silences muting `labels` at `now`, sorted.
    pub fn muted_by(&self, labels: &Labels, now: DateTime<Utc>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .values()
            .filter(|s| s.mutes(labels, now))
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Drops silences that expired before `cutoff` (Alertmanager keeps them for
    /// `--data.retention`).
    pub fn gc(&self, cutoff: DateTime<Utc>) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| s.ends_at >= cutoff);
        let dropped = before - map.len();
        drop(map);
        if dropped > 0 {
            self.changed();
        }
        dropped
    }
}

fn validate(s: &Silence) -> Result<()> {
    if s.matchers.is_empty() {
        return Err(Error::Silence("at least one matcher required".to_string()));
    }
    if s.matchers.iter().all(Matcher::matches_empty) {
        return Err(Error::Silence(format!(
            "at least one matcher must not match the empty string (matchers {:?})",
            s.matchers
        )));
    }
    if s.ends_at < s.starts_at {
        return Err(Error::Silence(format!(
            "end time must not be before start time (starts at {}, ends at {})",
            s.starts_at, s.ends_at
        )));
    }
    Ok(())
}

fn can_update(old: &Silence, new: &Silence, now: DateTime<Utc>) -> bool {
    if old.matchers != new.matchers {
        return false;
    }
    match old.state(now) {
        SilenceState::Active => new.starts_at == old.starts_at && new.ends_at >= now,
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn expire_in(map: &mut HashMap<String, Silence>, id: &str, now: DateTime<Utc>) {
    if let Some(s) = map.get_mut(id) {
        if s.state(now) == SilenceState::Pending {
            s.starts_at = now;
        }
        s.ends_at = now;
        s.updated_at = now;
    }
}

/// A random version-4 UUID, like Alertmanager's silence ids.
fn new_id() -> String {
    let word = || {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u64(0);
        h.finish()
    };
    let (a, b) = (word(), word());
    let a = (a & !0xF000) | 0x4000;
    let b = (b & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::parse_matchers;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn sil(m: &str, start: i64, end: i64) -> Silence {
        Silence {
            id: String::new(),
            matchers: parse_matchers(m).unwrap(),
            starts_at: t(start),
            ends_at: t(end),
            created_by: "sre".into(),
            comment: "maintenance".into(),
            updated_at: t(0),
        }
    }

    #[test]
    fn lifecycle() {
        let s = Silences::new();
        let lbl = Labels::from_pairs([("job", "api"), ("alertname", "Down")]).unwrap();
        let id = s.set(sil("job=api", 100, 200), t(0)).unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(s.get(&id).unwrap().state(t(0)), SilenceState::Pending);
        assert!(s.muted_by(&lbl, t(50)).is_empty());
        assert_eq!(s.muted_by(&lbl, t(100)), vec![id.clone()]);
        assert!(s.muted_by(&lbl, t(200)).is_empty(), "end is exclusive");

        // Extending an active silence keeps its id.
        let mut upd = s.get(&id).unwrap();
        upd.ends_at = t(300);
        assert_eq!(s.set(upd, t(150)).unwrap(), id);
        assert_eq!(s.muted_by(&lbl, t(250)), vec![id.clone()]);

        // Changing matchers expires the old silence and issues a new id.
        let mut upd = s.get(&id).unwrap();
        upd.matchers = parse_matchers("job=web").unwrap();
        let id2 = s.set(upd, t(160)).unwrap();
        assert_ne!(id2, id);
        assert_eq!(s.get(&id).unwrap().state(t(160)), SilenceState::Expired);
        assert!(s.muted_by(&lbl, t(170)).is_empty());

        s.expire(&id2, t(170)).unwrap();
        assert_eq!(s.get(&id2).unwrap().ends_at, t(170));
        assert!(s.expire(&id2, t(171)).is_err());
        assert!(matches!(
            s.expire("nope", t(0)),
            Err(Error::SilenceNotFound(_))
        ));
        assert_eq!(s.gc(t(1000)), 2);
    }

    #[test]
    fn validation_and_pending_expiry() {
        let s = Silences::new();
        assert!(
            s.set(sil("job=~.*", 0, 10), t(0)).is_err(),
            "matches everything"
        );
        assert!(s.set(sil("job=api", 0, 10), t(20)).is_err(), "already over");
        let id = s.set(sil("job=api", -50, 10), t(0)).unwrap();
        assert_eq!(
            s.get(&id).unwrap().starts_at,
            t(0),
            "past start clamped to now"
        );
        let p = s.set(sil("job=api", 100, 200), t(0)).unwrap();
        s.expire(&p, t(5)).unwrap();
        let got = s.get(&p).unwrap();
        assert_eq!((got.starts_at, got.ends_at), (t(5), t(5)));
    }
}
