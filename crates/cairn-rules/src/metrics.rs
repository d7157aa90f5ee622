//! The rule engine's own metrics, named like Prometheus' `prometheus_rule_*` under `cairn_rule_*`.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `cairn_rule_evaluations_total{rule_group}`: rule evaluations.
pub(crate) const EVALUATIONS: &str = "cairn_rule_evaluations";
/// `cairn_rule_evaluation_failures_total{rule_group}`: rule evaluations that failed.
pub(crate) const FAILURES: &str = "cairn_rule_evaluation_failures";
/// `cairn_rule_evaluation_duration_seconds`: time to evaluate one rule.
pub(crate) const EVAL_DURATION: &str = "cairn_rule_evaluation_duration_seconds";
/// `cairn_rule_group_duration_seconds`: time to evaluate a whole group.
pub(crate) const GROUP_DURATION: &str = "cairn_rule_group_duration_seconds";
/// `cairn_rule_group_iterations_total{rule_group}`: scheduled group evaluations.
pub(crate) const ITERATIONS: &str = "cairn_rule_group_iterations";
/// `cairn_rule_group_iterations_missed_total{rule_group}`: evaluations skipped because the
/// previous one ran too long.
pub(crate) const MISSED: &str = "cairn_rule_group_iterations_missed";
/// `cairn_rule_group_rules{rule_group}`: rules per group.
pub(crate) const RULES: &str = "cairn_rule_group_rules";
/// `cairn_rule_group_last_evaluation_timestamp_seconds{rule_group}`.
pub(crate) const LAST_EVAL: &str = "cairn_rule_group_last_evaluation_timestamp_seconds";

/// `cairn_rule_notifications_total{alertmanager,result}`: alert batches posted.
pub(crate) const NOTIFICATIONS: &str = "cairn_rule_notifications";
/// `cairn_rule_notifications_dropped_total`: alerts dropped because the send queue was full.
pub(crate) const DROPPED: &str = "cairn_rule_notifications_dropped";

type GroupLabel = Vec<(&'static str, String)>;

/// Handles on the rule engine's metrics; cheap to clone.
#[derive(Clone, Default)]
pub struct RuleMetrics {
    evaluations: Family<GroupLabel, Counter>,
    failures: Family<GroupLabel, Counter>,
    iterations: Family<GroupLabel, Counter>,
    missed: Family<GroupLabel, Counter>,
    rules: Family<GroupLabel, Gauge>,
    last_eval: Family<GroupLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    eval_duration: Option<Histogram>,
    group_duration: Option<Histogram>,
    notifications: Family<GroupLabel, Counter>,
    dropped: Counter,
}

fn group(key: &str) -> GroupLabel {
    vec![("rule_group", key.to_string())]
}

impl RuleMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = RuleMetrics {
            eval_duration: Some(Histogram::new(exponential_buckets(0.0005, 4.0, 10))),
            group_duration: Some(Histogram::new(exponential_buckets(0.001, 4.0, 10))),
            ..RuleMetrics::default()
        };
        registry.register(EVALUATIONS, "Rule evaluations", m.evaluations.clone());
        registry.register(FAILURES, "Rule evaluations that failed", m.failures.clone());
        registry.register(
            ITERATIONS,
            "Scheduled rule group evaluations",
            m.iterations.clone(),
        );
        registry.register(
            MISSED,
            "Rule group evaluations skipped because the previous one was too slow",
            m.missed.clone(),
        );
        registry.register(RULES, "Rules per group", m.rules.clone());
        registry.register(
            LAST_EVAL,
            "Time of the last evaluation of a rule group",
            m.last_eval.clone(),
        );
        registry.register(
            NOTIFICATIONS,
            "Alert batches posted to Alertmanagers",
            m.notifications.clone(),
        );
        registry.register(
            DROPPED,
            "Alerts dropped because the send queue was full",
            m.dropped.clone(),
        );
        if let Some(h) = &m.eval_duration {
            registry.register(EVAL_DURATION, "Time to evaluate one rule", h.clone());
        }
        if let Some(h) = &m.group_duration {
            registry.register(GROUP_DURATION, "Time to evaluate a rule group", h.clone());
        }
        m
    }

    pub(crate) fn evaluated(&self, key: &str, took: Duration, failed: bool) {
        let g = group(key);
        self.evaluations.get_or_create(&g).inc();
        if failed {
            self.failures.get_or_create(&g).inc();
        }
        if let Some(h) = &self.eval_duration {
            h.observe(took.as_secs_f64());
        }
    }

    pub(crate) fn group_done(&self, key: &str, took: Duration) {
        if let Some(h) = &self.group_duration {
            h.observe(took.as_secs_f64());
        }
        let _ = key;
    }

    pub(crate) fn scheduled(&self, key: &str, ts_ms: i64, missed: u64, rules: usize) {
        let g = group(key);
        self.iterations.get_or_create(&g).inc_by(1 + missed);
        if missed > 0 {
            self.missed.get_or_create(&g).inc_by(missed);
        }
        self.rules.get_or_create(&g).set(rules as i64);
        self.last_eval.get_or_create(&g).set(ts_ms as f64 / 1000.0);
    }

    /// The number of failed evaluations of a group so far.
    pub fn failures(&self, key: &str) -> u64 {
        self.failures.get_or_create(&group(key)).get()
    }

    /// The number of missed iterations of a group so far.
    pub fn missed(&self, key: &str) -> u64 {
        self.missed.get_or_create(&group(key)).get()
    }

    /// Counts one batch posted to `alertmanager`.
    pub fn notification_sent(&self, alertmanager: &str, ok: bool) {
        let result = if ok { "success" } else { "error" };
        self.notifications
            .get_or_create(&vec![
                ("alertmanager", alertmanager.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }

    /// Counts alerts dropped before sending.
    pub fn notifications_dropped(&self, n: u64) {
        self.dropped.inc_by(n);
    }
}
