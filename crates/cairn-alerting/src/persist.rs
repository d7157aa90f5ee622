//! Snapshots of the state that must survive a restart: silences and the notification log.
//!
//! The format is versioned JSON, small and readable with standard tools; alerts themselves are
//! not part of it because senders re-post firing alerts within their resend interval, and the
//! notification log is what keeps that from paging twice.

use std::collections::BTreeSet;

use cairn_model::{MatchOp, Matcher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::IntegrationKind;
use crate::error::{Error, Result};
use crate::nflog::{NflogEntry, NflogKey, NotificationLog};
use crate::silence::{Silence, Silences};

/// The snapshot format written by this version.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Silences and notification log entries at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateSnapshot {
    /// Every silence, expired ones included until they age out.
    pub silences: Vec<Silence>,
    /// Every notification log entry.
    pub nflog: Vec<(NflogKey, NflogEntry)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshot {
    version: u32,
    silences: Vec<RawSilence>,
    nflog: Vec<RawNflog>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSilence {
    id: String,
    matchers: Vec<RawMatcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    created_by: String,
    comment: String,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatcher {
    name: String,
    op: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNflog {
    group_key: String,
    receiver: String,
    integration: String,
    index: usize,
    firing: Vec<u64>,
    resolved: Vec<u64>,
    timestamp: DateTime<Utc>,
}

fn op_from_str(s: &str) -> Option<MatchOp> {
    [
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ]
    .into_iter()
    .find(|op| op.as_str() == s)
}

fn kind_from_str(s: &str) -> Option<IntegrationKind> {
    [
        IntegrationKind::Slack,
        IntegrationKind::Pagerduty,
        IntegrationKind::Webhook,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

impl StateSnapshot {
    /// Takes the current silences and notification log.
    pub fn capture(silences: &Silences, nflog: &NotificationLog) -> Self {
        StateSnapshot {
            silences: silences.list(),
            nflog: nflog.snapshot(),
        }
    }

    /// The snapshot as versioned JSON.
    pub fn encode(&self) -> Vec<u8> {
        let raw = RawSnapshot {
            version: SNAPSHOT_VERSION,
            silences: self
                .silences
                .iter()
                .map(|s| RawSilence {
                    id: s.id.clone(),
                    matchers: s
                        .matchers
                        .iter()
                        .map(|m| RawMatcher {
                            name: m.name.clone(),
                            op: m.op.as_str().to_string(),
                            value: m.value.clone(),
                        })
                        .collect(),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    created_by: s.created_by.clone(),
                    comment: s.comment.clone(),
                    updated_at: s.updated_at,
                })
                .collect(),
            nflog: self
                .nflog
                .iter()
                .map(|(k, e)| RawNflog {
                    group_key: k.group_key.clone(),
                    receiver: k.receiver.clone(),
                    integration: k.kind.as_str().to_string(),
                    index: k.index,
                    firing: e.firing.iter().copied().collect(),
                    resolved: e.resolved.iter().copied().collect(),
                    timestamp: e.timestamp,
                })
                .collect(),
        };
        serde_json::to_vec_pretty(&raw).expect("a snapshot has only string keys and plain values")
    }

    /// Reads a snapshot written by [`StateSnapshot::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let raw: RawSnapshot =
            serde_json::from_slice(bytes).map_err(|e| Error::State(e.to_string()))?;
        if raw.version != SNAPSHOT_VERSION {
            return Err(Error::State(format!(
                "unsupported snapshot version {} (this build reads {SNAPSHOT_VERSION})",
                raw.version
            )));
        }
        let mut silences = Vec::with_capacity(raw.silences.len());
        for s in raw.silences {
            let mut matchers = Vec::with_capacity(s.matchers.len());
            for m in s.matchers {
                let op = op_from_str(&m.op).ok_or_else(|| {
                    Error::State(format!("silence {:?}: unknown matcher op {:?}", s.id, m.op))
                })?;
                matchers.push(
                    Matcher::new(op, &m.name, &m.value)
                        .map_err(|e| Error::State(format!("silence {:?}: {e}", s.id)))?,
                );
            }
            silences.push(Silence {
                id: s.id,
                matchers,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                created_by: s.created_by,
                comment: s.comment,
                updated_at: s.updated_at,
            });
        }
        let mut nflog = Vec::with_capacity(raw.nflog.len());
        for e in raw.nflog {
            let kind = kind_from_str(&e.integration).ok_or_else(|| {
                Error::State(format!(
                    "notification log entry {:?}: unknown integration {:?}",
                    e.group_key, e.integration
                ))
            })?;
            nflog.push((
                NflogKey {
                    group_key: e.group_key,
                    receiver: e.receiver,
                    kind,
                    index: e.index,
                },
                NflogEntry {
                    firing: e.firing.into_iter().collect::<BTreeSet<_>>(),
                    resolved: e.resolved.into_iter().collect::<BTreeSet<_>>(),
                    timestamp: e.timestamp,
                },
            ));
        }
        Ok(StateSnapshot { silences, nflog })
    }

    /// Loads the snapshot into `silences` and `nflog`, dropping silences that ended and log
    /// entries last written before `cutoff` (now minus the data retention).
    pub fn restore(self, silences: &Silences, nflog: &NotificationLog, cutoff: DateTime<Utc>) {
        silences.restore(
            self.silences
                .into_iter()
                .filter(|s| s.ends_at >= cutoff)
                .collect(),
        );
        nflog.restore(
            self.nflog
                .into_iter()
                .filter(|(_, e)| e.timestamp >= cutoff)
                .collect(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::parse_matchers;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn round_trip_keeps_everything_and_restore_drops_old_entries() {
        let silences = Silences::new();
        let nflog = NotificationLog::new();
        let sil = |m: &str, start, end| Silence {
            id: String::new(),
            matchers: parse_matchers(m).unwrap(),
            starts_at: t(start),
            ends_at: t(end),
            created_by: "sre".into(),
            comment: "maintenance \"db\"".into(),
            updated_at: t(0),
        };
        let live = silences
            .set(
                sil(r#"job="api",instance=~"a.*",env!="dev""#, 0, 1000),
                t(0),
            )
            .unwrap();
        let old = silences
            .set(sil(r#"team!~"ops|sre",job="x""#, 0, 10), t(0))
            .unwrap();
        let key = |g: &str, kind| NflogKey {
            group_key: g.to_string(),
            receiver: "pager".into(),
            kind,
            index: 1,
        };
        nflog.log(
            key("{}:{alertname=\"A\"}", IntegrationKind::Pagerduty),
            NflogEntry {
                firing: [u64::MAX, 7].into_iter().collect(),
                resolved: [3].into_iter().collect(),
                timestamp: t(500),
            },
        );
        nflog.log(
            key("{}:{alertname=\"B\"}", IntegrationKind::Webhook),
            NflogEntry {
                firing: BTreeSet::new(),
                resolved: BTreeSet::new(),
                timestamp: t(5),
            },
        );

        let snap = StateSnapshot::capture(&silences, &nflog);
        let bytes = snap.encode();
        let back = StateSnapshot::decode(&bytes).unwrap();
        assert_eq!(back, snap, "decode(encode(x)) == x");

        let (s2, n2) = (Silences::new(), NotificationLog::new());
        back.restore(&s2, &n2, t(100));
        assert!(s2.get(&live).is_some());
        assert!(
            s2.get(&old).is_none(),
            "silence ended before the cutoff is dropped"
        );
        assert_eq!(
            n2.snapshot().len(),
            1,
            "entry older than the cutoff is dropped"
        );
        let labels = cairn_model::Labels::from_pairs([("job", "api"), ("instance", "a1")]).unwrap();
        assert_eq!(
            s2.muted_by(&labels, t(200)),
            vec![live],
            "regexes recompile"
        );
    }

    #[test]
    fn bad_snapshots_are_refused_with_a_reason() {
        for (bytes, want) in [
            (&b"{"[..], "EOF"),
            (
                br#"{"version":9,"silences":[],"nflog":[]}"#,
                "unsupported snapshot version 9",
            ),
            (
                br#"{"version":1,"silences":[],"nflog":[{"group_key":"g","receiver":"r","integration":"email","index":0,"firing":[],"resolved":[],"timestamp":"2026-01-01T00:00:00Z"}]}"#,
                "unknown integration \"email\"",
            ),
        ] {
            let e = StateSnapshot::decode(bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
