//! The alert manager's own metrics, named like Alertmanager's under `cairn_alertmanager_*`.
//! Notifications sent and failed are counted by the receivers, which know the integration.

use std::sync::atomic::AtomicU64;

use cairn_alerting::{Dispatcher, SilenceState, Silences};
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `cairn_alertmanager_alerts{state}`: alerts held, by state (`active`, `suppressed`).
pub(crate) const ALERTS: &str = "cairn_alertmanager_alerts";
/// `cairn_alertmanager_alerts_received_total{status}`: alerts received, `firing` or `resolved`.
pub(crate) const ALERTS_RECEIVED: &str = "cairn_alertmanager_alerts_received";
/// `cairn_alertmanager_alerts_invalid_total`: received alerts refused as invalid.
pub(crate) const ALERTS_INVALID: &str = "cairn_alertmanager_alerts_invalid";
/// `cairn_alertmanager_silences{state}`: silences by state (`active`, `pending`, `expired`).
pub(crate) const SILENCES: &str = "cairn_alertmanager_silences";
/// `cairn_alertmanager_state_snapshot_size_bytes`: size of the last state snapshot written.
pub(crate) const SNAPSHOT_SIZE: &str = "cairn_alertmanager_state_snapshot_size_bytes";
/// `cairn_alertmanager_state_snapshot_failures_total`: state snapshots that could not be written.
pub(crate) const SNAPSHOT_FAILURES: &str = "cairn_alertmanager_state_snapshot_failures";
/// `cairn_alertmanager_config_last_reload_successful`: 1 when the last (re)load worked.
pub(crate) const RELOAD_OK: &str = "cairn_alertmanager_config_last_reload_successful";

type Labels = Vec<(&'static str, String)>;

/// Handles on the alert manager's metrics.
#[derive(Clone)]
pub(crate) struct AlertmanagerMetrics {
    alerts: Family<Labels, Gauge>,
    received: Family<Labels, Counter>,
    pub(crate) invalid: Counter,
    silences: Family<Labels, Gauge>,
    snapshot_size: Gauge<u64, AtomicU64>,
    snapshot_failures: Counter,
    reload_ok: Gauge,
}

impl AlertmanagerMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = AlertmanagerMetrics {
            alerts: Family::default(),
            received: Family::default(),
            invalid: Counter::default(),
            silences: Family::default(),
            snapshot_size: Gauge::default(),
            snapshot_failures: Counter::default(),
            reload_ok: Gauge::default(),
        };
        registry.register(
            ALERTS,
            "Alerts held by the alert manager, by state",
            m.alerts.clone(),
        );
        registry.register(
            ALERTS_RECEIVED,
            "Alerts received by the alert manager, by status",
            m.received.clone(),
        );
        registry.register(
            ALERTS_INVALID,
            "Alerts received by the alert manager and refused as invalid",
            m.invalid.clone(),
        );
        registry.register(SILENCES, "Silences by state", m.silences.clone());
        registry.register(
            SNAPSHOT_SIZE,
            "Size of the last silences and notification log snapshot written",
            m.snapshot_size.clone(),
        );
        registry.register(
            SNAPSHOT_FAILURES,
            "Silences and notification log snapshots that could not be written",
            m.snapshot_failures.clone(),
        );
        registry.register(
            RELOAD_OK,
            "Whether the last alert manager configuration (re)load succeeded",
            m.reload_ok.clone(),
        );
        for state in ["active", "suppressed"] {
            m.alerts
                .get_or_create(&vec![("state", state.to_string())])
                .set(0);
        }
        for status in ["firing", "resolved"] {
            m.received
                .get_or_create(&vec![("status", status.to_string())])
                .inc_by(0);
        }
        m.reload_ok.set(1);
        m
    }

    /// Counts one received alert.
    pub(crate) fn received(&self, firing: bool) {
        let status = if firing { "firing" } else { "resolved" };
        self.received
            .get_or_create(&vec![("status", status.to_string())])
            .inc();
    }

    /// Records the outcome of a configuration (re)load.
    pub(crate) fn reload_failure(&self, failed: bool) {
        self.reload_ok.set(i64::from(!failed));
    }

    /// Records a snapshot write.
    pub(crate) fn snapshot(&self, ok: bool, size: usize) {
        if ok {
            self.snapshot_size.set(size as u64);
        } else {
            self.snapshot_failures.inc();
        }
    }

    /// Recomputes the alert and silence gauges.
    pub(crate) fn observe(&self, d: &Dispatcher, silences: &Silences, now: DateTime<Utc>) {
        let (mut active, mut suppressed) = (0, 0);
        for a in d.alerts().iter().filter(|a| !a.resolved_at(now)) {
            let (silenced, inhibited) = d.mute_status(a, now);
            if silenced.is_empty() && inhibited.is_none() {
                active += 1;
            } else {
                suppressed += 1;
            }
        }
        let set = |f: &Family<Labels, Gauge>, k: &'static str, v: &str, n: i64| {
            f.get_or_create(&vec![(k, v.to_string())]).set(n);
        };
        set(&self.alerts, "state", "active", active);
        set(&self.alerts, "state", "suppressed", suppressed);
        let (mut a, mut p, mut e) = (0, 0, 0);
        for s in silences.list() {
            match s.state(now) {
                SilenceState::Active => a += 1,
                SilenceState::Pending => p += 1,
                SilenceState::Expired => e += 1,
            }
        }
        set(&self.silences, "state", "active", a);
        set(&self.silences, "state", "pending", p);
        set(&self.silences, "state", "expired", e);
    }
}
