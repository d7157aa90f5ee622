//! Self-metrics of notification delivery. Counters are registered without the `_total` suffix
//! that the exposition adds; the constants name the series as scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::retry::FailReason;
use crate::config::IntegrationKind;

/// Notifications handed to an integration, by `receiver` and `integration`.
pub const NOTIFICATIONS_TOTAL: &str = "cairn_alertmanager_notifications_total";
/// Notifications that could not be delivered, by `receiver`, `integration` and `reason`
/// (`client_error`, `server_error`, `rate_limited`, `connection`, `config`, `canceled`).
pub const NOTIFICATIONS_FAILED_TOTAL: &str = "cairn_alertmanager_notifications_failed_total";
/// HTTP requests sent to receivers (retries included), by `receiver` and `integration`.
pub const NOTIFICATION_REQUESTS_TOTAL: &str = "cairn_alertmanager_notification_requests_total";
/// HTTP requests that failed, by `receiver` and `integration`.
pub const NOTIFICATION_REQUESTS_FAILED_TOTAL: &str =
    "cairn_alertmanager_notification_requests_failed_total";
/// Time to deliver one notification, retries included.
pub const NOTIFICATION_LATENCY_SECONDS: &str = "cairn_alertmanager_notification_latency_seconds";

fn counter_name(full: &str) -> &str {
    full.strip_suffix("_total").unwrap_or(full)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Labels {
    receiver: String,
    integration: String,
}

impl Labels {
    pub(crate) fn new(receiver: &str, kind: IntegrationKind) -> Labels {
        Labels {
            receiver: receiver.to_string(),
            integration: kind.as_str().to_string(),
        }
    }

    pub(crate) fn receiver(&self) -> &str {
        &self.receiver
    }

    pub(crate) fn integration(&self) -> &str {
        &self.integration
    }

    pub(crate) fn with_reason(&self, reason: FailReason) -> FailedLabels {
        FailedLabels {
            receiver: self.receiver.clone(),
            integration: self.integration.clone(),
            reason: reason.as_str().to_string(),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FailedLabels {
    receiver: String,
    integration: String,
    reason: String,
}

#[derive(Clone)]
pub(crate) struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        // 10ms .. ~80s: one fast POST up to a long series of retries.
        Histogram::new(exponential_buckets(0.01, 2.0, 14))
    }
}

/// The delivery metrics; clones share the values, so one set registered at start serves every
/// notifier built on config reloads.
#[derive(Clone)]
pub struct ReceiverMetrics {
    pub(crate) notifications: Family<Labels, Counter>,
    pub(crate) notifications_failed: Family<FailedLabels, Counter>,
    pub(crate) requests: Family<Labels, Counter>,
    pub(crate) requests_failed: Family<Labels, Counter>,
    pub(crate) latency: Family<Labels, Histogram, LatencyBuckets>,
}

impl std::fmt::Debug for ReceiverMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverMetrics").finish_non_exhaustive()
    }
}

impl Default for ReceiverMetrics {
    /// Metrics registered nowhere.
    fn default() -> Self {
        ReceiverMetrics {
            notifications: Family::default(),
            notifications_failed: Family::default(),
            requests: Family::default(),
            requests_failed: Family::default(),
            latency: Family::new_with_constructor(LatencyBuckets),
        }
    }
}

impl ReceiverMetrics {
    /// Fresh metrics, registered in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = ReceiverMetrics::default();
        registry.register(
            counter_name(NOTIFICATIONS_TOTAL),
            "Notifications handed to an integration",
            m.notifications.clone(),
        );
        registry.register(
            counter_name(NOTIFICATIONS_FAILED_TOTAL),
            "Notifications that could not be delivered, by reason",
            m.notifications_failed.clone(),
        );
        registry.register(
            counter_name(NOTIFICATION_REQUESTS_TOTAL),
            "HTTP requests sent to receivers, retries included",
            m.requests.clone(),
        );
        registry.register(
            counter_name(NOTIFICATION_REQUESTS_FAILED_TOTAL),
            "HTTP requests to receivers that failed",
            m.requests_failed.clone(),
        );
        registry.register(
            NOTIFICATION_LATENCY_SECONDS,
            "Time to deliver one notification, retries included",
            m.latency.clone(),
        );
        m
    }
}
