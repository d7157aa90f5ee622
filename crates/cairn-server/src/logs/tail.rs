//! Live tails: every durably written push is offered to the tenant's tail subscribers (the
//! `/loki/api/v1/tail` WebSocket), which filter it with their own query.
//!
//! The channel per tenant is bounded: a subscriber that falls behind by more than
//! [`TAIL_BUFFER`] pushes loses the oldest ones and is told how many (Loki reports dropped
//! entries the same way, as a count the client shows). Pushes are not copied when nobody
//! tails the tenant.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::{LogBatch, LogStream, TenantId};
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::backend::LogRefusal;

/// Pushes buffered per tenant for slow subscribers.
#[allow(dead_code, reason = "the Loki query endpoints use it")]
pub(crate) const TAIL_BUFFER: usize = 1024;

/// The per-tenant channels of written pushes.
#[derive(Debug, Default)]
pub(crate) struct TailHub {
    channels: Mutex<HashMap<TenantId, broadcast::Sender<Arc<LogBatch>>>>,
}

/// A subscriber's end.
#[allow(dead_code, reason = "the Loki query endpoints use it")]
pub(crate) type TailSubscription = broadcast::Receiver<Arc<LogBatch>>;

impl TailHub {
    /// Subscribes to `tenant`'s pushes from now on.
    #[allow(dead_code, reason = "the Loki query endpoints use it")]
    pub(crate) fn subscribe(&self, tenant: &TenantId) -> TailSubscription {
        let mut ch = self.channels.lock();
        ch.entry(tenant.clone())
            .or_insert_with(|| broadcast::channel(TAIL_BUFFER).0)
            .subscribe()
    }

    /// Offers the written part of `batch` (without the `refused` entries) to `tenant`'s
    /// subscribers, if any.
    pub(crate) fn publish(&self, tenant: &TenantId, batch: &LogBatch, refused: &[LogRefusal]) {
        let tx = {
            let mut ch = self.channels.lock();
            match ch.get(tenant) {
                Some(tx) if tx.receiver_count() > 0 => tx.clone(),
                Some(_) => {
                    // The last subscriber left: forget the channel.
                    ch.remove(tenant);
                    return;
                }
                None => return,
            }
        };
        let written = if refused.is_empty() {
            batch.clone()
        } else {
            without(batch, refused)
        };
        if written.streams.is_empty() {
            return;
        }
        // An error means every receiver went away meanwhile: nothing to do.
        let _ = tx.send(Arc::new(written));
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
        let mut rx = hub.subscribe(&t);
        hub.publish(&other, &batch(), &[]);
        hub.publish(&t, &batch(), &[refusal(0, Some(1)), refusal(1, None)]);
        let got = rx.recv().await.unwrap();
        assert_eq!(got.num_entries(), 1);
        assert_eq!(got.streams[0].entries[0].line, "x");
        assert!(rx.try_recv().is_err(), "nothing from the other tenant");
        drop(rx);
        hub.publish(&t, &batch(), &[]);
        assert!(hub.channels.lock().is_empty());
    }
}
