//! Live tails: every durably written push is offered to the tenant's tail subscribers (the
//! `/loki/api/v1/tail` WebSocket), which filter it with their own query.
//!
//! Each subscriber has a bounded queue of [`TAIL_BUFFER`] pushes. Publishing never waits: a
//! push that does not fit is dropped for that subscriber only, and the labels and timestamps
//! of its entries (at most [`MAX_DROPPED`] of them) are kept for the subscriber's next answer,
//! as Loki reports `dropped_entries`. Pushes are not copied when nobody tails the tenant.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::{Labels, LogBatch, LogStream, TenantId};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::backend::LogRefusal;

/// Pushes queued per subscriber before it starts losing them.
pub(crate) const TAIL_BUFFER: usize = 64;
/// Dropped entries remembered per subscriber until its next answer (Loki's
/// `maxDroppedEntriesPerTailResponse`).
pub(crate) const MAX_DROPPED: usize = 1000;

/// One subscriber as the publisher sees it.
#[derive(Debug)]
struct Subscriber {
    tx: mpsc::Sender<Arc<LogBatch>>,
    dropped: Arc<Mutex<Vec<(Labels, i64)>>>,
}

/// The per-tenant subscribers of written pushes.
#[derive(Debug, Default)]
pub(crate) struct TailHub {
    tenants: Mutex<HashMap<TenantId, Vec<Subscriber>>>,
}

/// A subscriber's end: the pushes, and what was dropped because it fell behind.
#[derive(Debug)]
pub(crate) struct TailSubscription {
    pub(crate) rx: mpsc::Receiver<Arc<LogBatch>>,
    dropped: Arc<Mutex<Vec<(Labels, i64)>>>,
}

impl TailSubscription {
    /// Takes the stream labels and timestamps of the entries dropped since the last call.
    pub(crate) fn take_dropped(&self) -> Vec<(Labels, i64)> {
        std::mem::take(&mut *self.dropped.lock())
    }
}

impl TailHub {
    /// Subscribes to `tenant`'s pushes from now on.
    pub(crate) fn subscribe(&self, tenant: &TenantId) -> TailSubscription {
        let (tx, rx) = mpsc::channel(TAIL_BUFFER);
        let dropped = Arc::new(Mutex::new(Vec::new()));
        self.tenants
            .lock()
            .entry(tenant.clone())
            .or_default()
            .push(Subscriber {
                tx,
                dropped: Arc::clone(&dropped),
            });
        TailSubscription { rx, dropped }
    }

    /// Subscribers of `tenant` still connected.
    #[cfg(test)]
    fn subscribers(&self, tenant: &TenantId) -> usize {
        self.tenants.lock().get(tenant).map_or(0, Vec::len)
    }

    /// Offers the written part of `batch` (without the `refused` entries) to `tenant`'s
    /// subscribers, if any.
    pub(crate) fn publish(&self, tenant: &TenantId, batch: &LogBatch, refused: &[LogRefusal]) {
        let mut tenants = self.tenants.lock();
        let Some(subs) = tenants.get_mut(tenant) else {
            return;
        };
        subs.retain(|s| !s.tx.is_closed());
        if subs.is_empty() {
            tenants.remove(tenant);
            return;
        }
        let written = if refused.is_empty() {
            batch.clone()
        } else {
            without(batch, refused)
        };
        if written.streams.is_empty() {
            return;
        }
        let written = Arc::new(written);
        for s in subs.iter() {
            if let Err(mpsc::error::TrySendError::Full(b)) = s.tx.try_send(Arc::clone(&written)) {
                let mut d = s.dropped.lock();
                'out: for st in &b.streams {
                    for e in &st.entries {
                        if d.len() >= MAX_DROPPED {
                            break 'out;
                        }
                        d.push((st.labels.clone(), e.ts_ns));
                    }
                }
            }
        }
    }
}

fn without(batch: &LogBatch, refused: &[LogRefusal]) -> LogBatch {
    let mut out = LogBatch::default();
    for (si, s) in batch.streams.iter().enumerate() {
        if refused.iter().any(|r| r.stream == si && r.entry.is_none()) {
            continue;
        }
        let entries: Vec<_> = s
            .entries
            .iter()
            .enumerate()
            .filter(|(ei, _)| {
                !refused
                    .iter()
                    .any(|r| r.stream == si && r.entry == Some(*ei))
            })
            .map(|(_, e)| e.clone())
            .collect();
        if !entries.is_empty() {
            out.streams.push(LogStream {
                labels: s.labels.clone(),
                entries,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cairn_model::{Labels, LogEntry};

    use super::*;
    use crate::backend::LogRefusalKind;

    fn batch() -> LogBatch {
        LogBatch {
            streams: vec![
                LogStream {
                    labels: Labels::from_pairs([("a", "1")]).unwrap(),
                    entries: vec![LogEntry::new(1, "x"), LogEntry::new(2, "y")],
                },
                LogStream {
                    labels: Labels::from_pairs([("a", "2")]).unwrap(),
                    entries: vec![LogEntry::new(3, "z")],
                },
            ],
        }
    }

    fn refusal(stream: usize, entry: Option<usize>) -> LogRefusal {
        LogRefusal {
            stream,
            entry,
            kind: LogRefusalKind::BadEntry,
            reason: "test",
            message: String::new(),
        }
    }

    #[tokio::test]
    async fn subscribers_get_what_was_written() {
        let hub = TailHub::default();
        let t = TenantId::new("t").unwrap();
        let other = TenantId::new("o").unwrap();
        hub.publish(&t, &batch(), &[]);
        let mut sub = hub.subscribe(&t);
        hub.publish(&other, &batch(), &[]);
        hub.publish(&t, &batch(), &[refusal(0, Some(1)), refusal(1, None)]);
        let got = sub.rx.recv().await.unwrap();
        assert_eq!(got.num_entries(), 1);
        assert_eq!(got.streams[0].entries[0].line, "x");
        assert!(sub.rx.try_recv().is_err(), "nothing from the other tenant");
        drop(sub);
        hub.publish(&t, &batch(), &[]);
        assert_eq!(hub.subscribers(&t), 0);
        assert!(hub.tenants.lock().is_empty());
    }

    #[test]
    fn a_slow_subscriber_loses_pushes_and_learns_which() {
        let hub = TailHub::default();
        let t = TenantId::new("t").unwrap();
        let slow = hub.subscribe(&t);
        let mut fast = hub.subscribe(&t);
        for _ in 0..TAIL_BUFFER + 2 {
            hub.publish(&t, &batch(), &[]);
            assert!(fast.rx.try_recv().is_ok(), "the fast one keeps up");
        }
        let dropped = slow.take_dropped();
        assert_eq!(dropped.len(), 2 * 3, "two pushes of three entries");
        assert_eq!(dropped[0], (Labels::from_pairs([("a", "1")]).unwrap(), 1));
        assert!(slow.take_dropped().is_empty(), "taken once");
        assert!(fast.take_dropped().is_empty());
    }
}
