//! What the dispatcher hands to receivers: Alertmanager's webhook v4 data model, and the
//! [`Notifier`] trait that Slack, PagerDuty and webhook integrations implement.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use cairn_model::Labels;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alert::Alert;
use crate::config::Integration;
use crate::error::{Error, Result};
use crate::nflog::NotifyReason;

/// One alert of a notification (webhook v4 `alerts[]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations.
    pub annotations: BTreeMap<String, String>,
    /// Start of the firing period.
    pub starts_at: DateTime<Utc>,
    /// End of the firing period; the zero time (`0001-01-01T00:00:00Z`) while firing.
    pub ends_at: DateTime<Utc>,
    /// Link to the rule's expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// The alert's identity as 16 hex digits.
    pub fingerprint: String,
}

/// A notification in Alertmanager's webhook v4 format.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// Always `"4"`.
    pub version: String,
    /// The aggregation group key.
    pub group_key: String,
    /// Alerts left out because of `max_alerts`.
    pub truncated_alerts: u64,
    /// `firing` when any alert fires, else `resolved`.
    pub status: String,
    /// The receiver name.
    pub receiver: String,
    /// The group's labels.
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert has with the same value.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert has with the same value.
    pub common_annotations: BTreeMap<String, String>,
    /// Where the alert manager is reachable.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// The alerts, in the order the dispatcher gives them.
    pub alerts: Vec<WebhookAlert>,
}

/// The zero time Alertmanager reports as the end of a firing alert.
pub fn zero_time() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .expect("valid date")
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
        .and_utc()
}

fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn common<'a>(
    mut maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut out = first.clone();
    for m in maps {
        out.retain(|k, v| m.get(k) == Some(v));
    }
    out
}

impl WebhookMessage {
    /// Builds the message for a group's alerts at `now`.
    pub fn new(
        receiver: &str,
        group_key: &str,
        group_labels: &Labels,
        alerts: &[Alert],
        external_url: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let out: Vec<WebhookAlert> = alerts
            .iter()
            .map(|a| {
                let resolved = a.resolved_at(now);
                WebhookAlert {
                    status: if resolved { "resolved" } else { "firing" }.to_string(),
                    labels: labels_map(&a.labels),
                    annotations: a.annotations.clone(),
                    starts_at: a.starts_at,
                    ends_at: if resolved { a.ends_at } else { zero_time() },
                    generator_url: a.generator_url.clone(),
                    fingerprint: format!("{:016x}", a.fingerprint()),
                }
            })
            .collect();
        let firing = out.iter().any(|a| a.status == "firing");
        WebhookMessage {
            version: "4".to_string(),
            group_key: group_key.to_string(),
            truncated_alerts: 0,
            status: if firing { "firing" } else { "resolved" }.to_string(),
            receiver: receiver.to_string(),
            group_labels: labels_map(group_labels),
            common_labels: common(out.iter().map(|a| &a.labels)),
            common_annotations: common(out.iter().map(|a| &a.annotations)),
            external_url: external_url.to_string(),
            alerts: out,
        }
    }
}

impl WebhookMessage {
    /// Keeps at most `max_alerts` alerts (0 keeps all) and counts the rest in
    /// `truncated_alerts`, as a webhook's `max_alerts` asks.
    pub fn truncate(&mut self, max_alerts: u64) {
        let max = usize::try_from(max_alerts).unwrap_or(usize::MAX);
        if max > 0 && self.alerts.len() > max {
            self.truncated_alerts = (self.alerts.len() - max) as u64;
            self.alerts.truncate(max);
        }
    }
}

/// One call of a notifier: which integration of which receiver, why, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The receiver name.
    pub receiver: String,
    /// The integration of the receiver to deliver through.
    pub integration: Integration,
    /// Why it is sent.
    pub reason: NotifyReason,
    /// The payload; its `group_key` is the aggregation group key.
    pub message: WebhookMessage,
}

/// The future a [`Notifier`] returns.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Delivers notifications; Slack, PagerDuty and webhook integrations implement it.
pub trait Notifier: Send + Sync {
    /// Delivers one notification; an error leaves the notification log unchanged so that the
    /// next flush tries again.
    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a>;
}

/// A notifier that records every call, and fails on demand, for tests of the pipeline.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    calls: Mutex<Vec<Notification>>,
    fail: Mutex<bool>,
}

impl RecordingNotifier {
    /// A notifier with no calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the calls recorded so far.
    pub fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Makes later calls fail (without recording) until set back.
    pub fn set_failing(&self, fail: bool) {
        *self.fail.lock().unwrap_or_else(|p| p.into_inner()) = fail;
    }
}

impl Notifier for RecordingNotifier {
    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(async move {
            if *self.fail.lock().unwrap_or_else(|p| p.into_inner()) {
                return Err(Error::Notify {
                    receiver: n.receiver.clone(),
                    reason: "recording notifier set to fail".to_string(),
                    retryable: true,
                });
            }
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(n.clone());
            Ok(())
        })
    }
}
