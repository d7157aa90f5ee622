//! The alert state machine of one alerting rule, as Prometheus' `rules/alerting.go` runs it:
//! inactive -> pending -> firing, `keep_firing_for`, resolved alerts kept 15 minutes, the
//! `ALERTS` and `ALERTS_FOR_STATE` series, restore of `for` state after a restart, and which
//! alerts are due to be sent.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use cairn_model::Labels;

/// How long a resolved alert is kept (and re-sent) after it resolved (Prometheus: 15m).
pub(crate) const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of an alert (and, as the most severe of its alerts, of an alerting rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    /// Not active (resolved, or never active).
    Inactive,
    /// Active, but not for long enough to fire.
    Pending,
    /// Firing.
    Firing,
}

impl AlertState {
    /// The name Prometheus uses (`inactive`, `pending`, `firing`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert of an alerting rule (times in milliseconds since the epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Its labels, `alertname` included.
    pub labels: Labels,
    /// Its expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Its state.
    pub state: AlertState,
    /// The value of the expression's sample at the last evaluation.
    pub value: f64,
    /// When it became active.
    pub active_at_ms: i64,
    /// When it started firing.
    pub fired_at_ms: Option<i64>,
    /// When it resolved.
    pub resolved_at_ms: Option<i64>,
    /// When it was last sent.
    pub last_sent_at_ms: Option<i64>,
    /// The `endsAt` of the last send.
    pub valid_until_ms: i64,
    /// Since when `keep_firing_for` holds it firing without the condition.
    pub keep_firing_since_ms: Option<i64>,
}

impl Alert {
    /// Prometheus' `needsSending`: never while pending; at once after resolving; otherwise
    /// when the last send is older than the resend delay.
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        let last = self.last_sent_at_ms.unwrap_or(i64::MIN);
        if self.resolved_at_ms.is_some_and(|r| r > last) {
            return true;
        }
        self.last_sent_at_ms
            .is_none_or(|l| l.saturating_add(resend_delay_ms) < ts)
    }
}

/// An alert the expression produced at this evaluation, after templating.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub(crate) labels: Labels,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The parameters of one evaluation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// Evaluation time.
    pub(crate) ts: i64,
    pub(crate) for_ms: i64,
    pub(crate) keep_firing_for_ms: i64,
    pub(crate) limit: usize,
}

/// The alerts of one rule.
#[derive(Clone, Debug, Default)]
pub(crate) struct AlertingState {
    pub(crate) active: HashMap<Labels, Alert>,
    /// ALERTS series are written only once `for` state is restored (or restore is skipped).
    pub(crate) restored: bool,
}

impl AlertingState {
    /// Runs one evaluation over the alerts the expression produced; returns the `ALERTS`
    /// and `ALERTS_FOR_STATE` samples to write at `step.out_ts`. On error (too many alerts)
    /// every alert is dropped, as Prometheus does.
    pub(crate) fn update(
        &mut self,
        found: Vec<Candidate>,
        step: Step,
        changes: Option<&mut Vec<(Labels, AlertState)>>,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let ts = step.ts;
        let before: Option<HashMap<Labels, AlertState>> = changes.as_ref().map(|_| {
            self.active
                .iter()
                .map(|(k, a)| (k.clone(), a.state))
                .collect()
        });
        let mut present = std::collections::HashSet::with_capacity(found.len());
        for c in found {
            present.insert(c.labels.clone());
            match self.active.get_mut(&c.labels) {
                Some(a) if a.state != AlertState::Inactive => {
                    a.value = c.value;
                    a.annotations = c.annotations;
                }
                _ => {
                    self.active.insert(
                        c.labels.clone(),
                        Alert {
                            labels: c.labels,
                            annotations: c.annotations,
                            state: AlertState::Pending,
                            value: c.value,
                            active_at_ms: ts,
                            fired_at_ms: None,
                            resolved_at_ms: None,
                            last_sent_at_ms: None,
                            valid_until_ms: 0,
                            keep_firing_since_ms: None,
                        },
                    );
                }
            }
        }
        let mut out = Vec::new();
        let mut num_active = 0usize;
        let mut remove = Vec::new();
        for (key, a) in self.active.iter_mut() {
            if !present.contains(key) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && step.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since_ms.get_or_insert(ts);
                    keep_firing = ts - since < step.keep_firing_for_ms;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at_ms
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(key.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at_ms = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since_ms = None;
            }
            num_active += 1;
            if a.state == AlertState::Pending && ts - a.active_at_ms >= step.for_ms {
                a.state = AlertState::Firing;
                a.fired_at_ms = Some(ts);
            }
            // A `for` raised by a reload sends alerts that are too young back to pending.
            if a.state == AlertState::Firing && ts - a.active_at_ms < step.for_ms {
                a.state = AlertState::Pending;
                a.fired_at_ms = None;
                a.last_sent_at_ms = None;
                a.keep_firing_since_ms = None;
            }
            if self.restored {
                out.push((alerts_series(&a.labels, Some(a.state)), 1.0));
                out.push((
                    alerts_series(&a.labels, None),
                    (a.active_at_ms / 1000) as f64,
                ));
            }
        }
        for k in remove {
            self.active.remove(&k);
        }
        if step.limit > 0 && num_active > step.limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {} with {num_active} alerts",
                step.limit
            ));
        }
        if let (Some(changes), Some(before)) = (changes, before) {
            for (k, a) in &self.active {
                if before.get(k).copied().unwrap_or(AlertState::Inactive) != a.state {
                    changes.push((k.clone(), a.state));
                }
            }
            for (k, s) in before {
                if s != AlertState::Inactive && !self.active.contains_key(&k) {
                    changes.push((k, AlertState::Inactive));
                }
            }
        }
        Ok(out)
    }

    /// The rule's state: firing if any alert fires, else pending if any is pending.
    pub(crate) fn state(&self) -> AlertState {
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// The alerts due to be sent at `ts`, marking them sent (Prometheus' `sendAlerts`).
    pub(crate) fn due(&mut self, ts: i64, resend_delay_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let delta = resend_delay_ms.max(interval_ms);
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if a.needs_sending(ts, resend_delay_ms) {
                a.last_sent_at_ms = Some(ts);
                a.valid_until_ms = ts + 4 * delta;
                out.push(a.clone());
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Restores `for` state after a restart from the last `ALERTS_FOR_STATE` sample of each
    /// active alert: `last` maps alert labels to the (timestamp ms, value) of that sample.
    pub(crate) fn restore(
        &mut self,
        last: &HashMap<Labels, (i64, f64)>,
        ts: i64,
        for_ms: i64,
        grace_ms: i64,
    ) {
        for a in self.active.values_mut() {
            let Some(&(t, v)) = last.get(&a.labels) else {
                continue;
            };
            if v.is_nan() {
                continue;
            }
            let down_at = t.div_euclid(1000) * 1000;
            let mut active_at = (v as i64) * 1000;
            let spent = down_at - active_at;
            let remaining = for_ms - spent;
            if remaining <= 0 {
                // It was firing when the process stopped: the next evaluation fires it again.
            } else if remaining < grace_ms {
                active_at = ts + grace_ms - for_ms;
            } else {
                active_at += ts - down_at;
            }
            a.active_at_ms = active_at;
        }
        self.restored = true;
    }
}

/// `ALERTS{alertstate=...}` (with a state) or `ALERTS_FOR_STATE` (without) for an alert.
pub(crate) fn alerts_series(labels: &Labels, state: Option<AlertState>) -> Labels {
    let mut b = labels.to_builder();
    match state {
        Some(s) => {
            b.set("__name__", "ALERTS");
            b.set("alertstate", s.as_str());
        }
        None => {
            b.set("__name__", "ALERTS_FOR_STATE");
        }
    }
    b.build()
}

#[cfg(test)]
mod tests;
