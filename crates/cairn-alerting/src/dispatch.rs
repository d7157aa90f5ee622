//! The dispatcher: routes alerts into aggregation groups and flushes each group on
//! Alertmanager's timeline (first after `group_wait`, then every `group_interval`), through the
//! pipeline inhibit -> active/mute time intervals -> silences -> dedup -> send.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cairn_model::Labels;
use chrono::{DateTime, Utc};

use crate::alert::{Alert, Fingerprint, PostableAlert, delta};
use crate::clock::Clock;
use crate::config::{Config, IntegrationKind};
use crate::error::Error;
use crate::inhibit::Inhibitor;
use crate::nflog::{NflogEntry, NflogKey, NotificationLog, needs_update};
use crate::notify::{Notification, Notifier, WebhookMessage};
use crate::route::RouteOpts;
use crate::silence::Silences;
use crate::timeinterval::any_contains;

/// An aggregation group as seen from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfo {
    /// The group key (`<route key>:<group labels>`).
    pub key: String,
    /// The receiver of the group's route.
    pub receiver: String,
    /// The route's position in a depth-first walk of the routing tree.
    pub route_id: usize,
    /// The group labels.
    pub labels: Labels,
    /// The alerts of the group, by fingerprint.
    pub alerts: Vec<Alert>,
    /// When the group flushes next.
    pub next_flush: DateTime<Utc>,
}

/// What one [`Dispatcher::tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Groups whose timer fired.
    pub flushed_groups: usize,
    /// Notifications delivered.
    pub sent: usize,
    /// Notifications that failed.
    pub failed: usize,
}

struct Group {
    key: String,
    route_id: usize,
    labels: Labels,
    alerts: BTreeMap<Fingerprint, Alert>,
    next_flush: DateTime<Utc>,
    has_flushed: bool,
}

#[derive(Default)]
struct State {
    alerts: HashMap<Fingerprint, Alert>,
    groups: BTreeMap<(usize, Labels), Group>,
}

struct FlushJob {
    id: (usize, Labels),
    key: String,
    route_id: usize,
    labels: Labels,
    alerts: Vec<Alert>,
}

/// Routes, groups and notifies alerts of one tenant.
pub struct Dispatcher {
    config: Config,
    routes: Vec<RouteOpts>,
    inhibitor: Inhibitor,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
    notifier: Arc<dyn Notifier>,
    external_url: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over a validated config, sharing silences and the notification log with
    /// whoever persists or serves them.
    pub fn new(
        config: Config,
        notifier: Arc<dyn Notifier>,
        silences: Arc<Silences>,
        nflog: Arc<NotificationLog>,
        external_url: &str,
    ) -> Self {
        let mut routes = Vec::new();
        config.route.walk(&mut |r| routes.push(r.opts.clone()));
        Dispatcher {
            inhibitor: Inhibitor::new(config.inhibit_rules.clone()),
            routes,
            config,
            silences,
            nflog,
            notifier,
            external_url: external_url.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The silences consulted by the pipeline.
    pub fn silences(&self) -> &Arc<Silences> {
        &self.silences
    }

    /// The notification log consulted by the pipeline.
    pub fn nflog(&self) -> &Arc<NotificationLog> {
        &self.nflog
    }

    /// Validates and inserts posted alerts; invalid ones are reported and the rest kept, as
    /// Alertmanager's API does.
    pub fn put_alerts(&self, alerts: Vec<PostableAlert>, now: DateTime<Utc>) -> Vec<Error> {
        let mut errors = Vec::new();
        for p in alerts {
            match Alert::from_postable(p, now, self.config.global.resolve_timeout) {
                Ok(a) => self.insert(a, now),
                Err(e) => errors.push(e),
            }
        }
        errors
    }

    /// Inserts one alert: merges it with the alert of the same fingerprint, then adds it to
    /// the aggregation group of every route it matches.
    pub fn insert(&self, alert: Alert, now: DateTime<Utc>) {
        let fp = alert.fingerprint();
        let mut st = self.lock();
        let merged = match st.alerts.get(&fp) {
            Some(old) if old.overlaps(&alert) => old.merge(&alert, now),
            _ => alert,
        };
        st.alerts.insert(fp, merged.clone());
        for route in self.config.route.matching(&merged.labels) {
            let labels = route.group_labels(&merged.labels);
            let wait = delta(route.opts.group_wait);
            let g = st
                .groups
                .entry((route.id, labels.clone()))
                .or_insert_with(|| Group {
                    key: format!("{}:{}", route.key, labels),
                    route_id: route.id,
                    labels,
                    alerts: BTreeMap::new(),
                    next_flush: now + wait,
                    has_flushed: false,
                });
            // An alert that has been firing for longer than group_wait is not held back.
            if !g.has_flushed && merged.starts_at + wait < now && g.next_flush > now {
                g.next_flush = now;
            }
            g.alerts.insert(fp, merged.clone());
        }
    }

    /// Every alert held, sorted by labels.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.lock().alerts.values().cloned().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Every aggregation group, in route then label order.
    pub fn groups(&self) -> Vec<GroupInfo> {
        self.lock()
            .groups
            .values()
            .map(|g| GroupInfo {
                key: g.key.clone(),
                receiver: self.routes[g.route_id].receiver.clone(),
                route_id: g.route_id,
                labels: g.labels.clone(),
                alerts: g.alerts.values().cloned().collect(),
                next_flush: g.next_flush,
            })
            .collect()
    }

    /// Receivers of every route `labels` would be routed to, in routing order.
    pub fn receivers_for(&self, labels: &Labels) -> Vec<String> {
        self.config
            .route
            .matching(labels)
            .into_iter()
            .map(|r| r.opts.receiver.clone())
            .collect()
    }

    /// Names of the time intervals that mute the route `route_id` at `now`: its mute
    /// intervals in force, or its active intervals when none of them is.
    pub fn time_muted_by(&self, route_id: usize, now: DateTime<Utc>) -> Vec<String> {
        let Some(opts) = self.routes.get(route_id) else {
            return Vec::new();
        };
        let within = |n: &String| {
            self.config
                .time_intervals
                .get(n)
                .is_some_and(|ti| any_contains(ti, now))
        };
        let mut out: Vec<String> = opts
            .mute_time_intervals
            .iter()
            .filter(|n| within(n))
            .cloned()
            .collect();
        if !opts.active_time_intervals.is_empty() && !opts.active_time_intervals.iter().any(within)
        {
            out.extend(opts.active_time_intervals.iter().cloned());
        }
        out
    }

    /// When the earliest group flushes next.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.lock().groups.values().map(|g| g.next_flush).min()
    }

    /// Ids of the silences muting `labels` and the fingerprint of an alert inhibiting it.
    pub fn mute_status(
        &self,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> (Vec<String>, Option<Fingerprint>) {
        let silenced = self.silences.muted_by(&alert.labels, now);
        let st = self.lock();
        let inhibited = self.inhibitor.inhibited_by(alert, st.alerts.values(), now);
        (silenced, inhibited)
    }

    /// Flushes every group whose timer is due at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> TickReport {
        let (jobs, all) = {
            let mut st = self.lock();
            let mut jobs = Vec::new();
            for (id, g) in st.groups.iter_mut() {
                if g.next_flush > now {
                    continue;
                }
                let interval = delta(self.routes[g.route_id].group_interval);
                g.next_flush += interval;
                if g.next_flush <= now {
                    g.next_flush = now + interval;
                }
                g.has_flushed = true;
                let mut alerts: Vec<Alert> = g.alerts.values().cloned().collect();
                alerts.sort_by(alert_order);
                jobs.push(FlushJob {
                    id: id.clone(),
                    key: g.key.clone(),
                    route_id: g.route_id,
                    labels: g.labels.clone(),
                    alerts,
                });
            }
            let all: Vec<Alert> = st.alerts.values().cloned().collect();
            (jobs, all)
        };
        let mut report = TickReport {
            flushed_groups: jobs.len(),
            ..TickReport::default()
        };
        // Groups flush concurrently, as Alertmanager's per-group loops do: a receiver that
        // is slow or retrying does not hold back the other groups.
        let outcomes =
            futures::future::join_all(jobs.iter().map(|job| self.flush(job, &all, now))).await;
        for (job, (sent, failed)) in jobs.iter().zip(outcomes) {
            report.sent += sent;
            report.failed += failed;
            if failed == 0 {
                self.forget_resolved(job, now);
            }
        }
        report
    }

    /// Runs [`Dispatcher::tick`] every `resolution` until `shutdown` completes.
    pub async fn run(
        &self,
        clock: &dyn Clock,
        resolution: Duration,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(resolution) => {
                    self.tick(clock.now()).await;
                }
            }
        }
    }

    /// Drops resolved alerts that were notified and not updated since, then empty groups and
    /// alerts no group holds any more.
    fn forget_resolved(&self, job: &FlushJob, now: DateTime<Utc>) {
        let mut st = self.lock();
        if let Some(g) = st.groups.get_mut(&job.id) {
            for a in job.alerts.iter().filter(|a| a.resolved_at(now)) {
                let fp = a.fingerprint();
                if g.alerts.get(&fp) == Some(a) {
                    g.alerts.remove(&fp);
                }
            }
            if g.alerts.is_empty() {
                st.groups.remove(&job.id);
            }
        }
        let held: BTreeSet<Fingerprint> = st
            .groups
            .values()
            .flat_map(|g| g.alerts.keys().copied())
            .collect();
        st.alerts
            .retain(|fp, a| held.contains(fp) || !a.resolved_at(now));
    }

    async fn flush(&self, job: &FlushJob, all: &[Alert], now: DateTime<Utc>) -> (usize, usize) {
        let opts = &self.routes[job.route_id];
        let alerts: Vec<Alert> = job
            .alerts
            .iter()
            .filter(|a| self.inhibitor.inhibited_by(a, all.iter(), now).is_none())
            .cloned()
            .collect();
        if alerts.is_empty() {
            return (0, 0);
        }
        let intervals = |names: &[String]| {
            names.iter().any(|n| {
                self.config
                    .time_intervals
                    .get(n)
                    .is_some_and(|ti| any_contains(ti, now))
            })
        };
        if !opts.active_time_intervals.is_empty() && !intervals(&opts.active_time_intervals) {
            tracing::debug!(group = %job.key, "outside active time intervals");
            return (0, 0);
        }
        if intervals(&opts.mute_time_intervals) {
            tracing::debug!(group = %job.key, "inside mute time intervals");
            return (0, 0);
        }
        let alerts: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| self.silences.muted_by(&a.labels, now).is_empty())
            .collect();
        if alerts.is_empty() {
            return (0, 0);
        }
        let Some(receiver) = self.config.receiver(&opts.receiver) else {
            tracing::error!(receiver = %opts.receiver, "route names an unknown receiver");
            return (0, 1);
        };
        let firing: BTreeSet<Fingerprint> = alerts
            .iter()
            .filter(|a| !a.resolved_at(now))
            .map(Alert::fingerprint)
            .collect();
        let resolved: BTreeSet<Fingerprint> = alerts
            .iter()
            .filter(|a| a.resolved_at(now))
            .map(Alert::fingerprint)
            .collect();
        let (mut sent, mut failed) = (0, 0);
        for integration in receiver.integrations() {
            let key = NflogKey {
                group_key: job.key.clone(),
                receiver: receiver.name.clone(),
                kind: integration.kind,
                index: integration.index,
            };
            let entry = self.nflog.query(&key);
            let Some(reason) = needs_update(
                entry.as_ref(),
                &firing,
                &resolved,
                integration.send_resolved,
                opts.repeat_interval,
                now,
            ) else {
                continue;
            };
            let new_entry = NflogEntry {
                firing: firing.clone(),
                resolved: resolved.clone(),
                timestamp: now,
            };
            let to_send: Vec<Alert> = if integration.send_resolved {
                alerts.clone()
            } else {
                // Nothing to say, but logging keeps the next dedup decision right.
                if firing.is_empty() {
                    self.nflog.log(key, new_entry);
                    continue;
                }
                alerts
                    .iter()
                    .filter(|a| !a.resolved_at(now))
                    .cloned()
                    .collect()
            };
            let mut message = WebhookMessage::new(
                &receiver.name,
                &job.key,
                &job.labels,
                &to_send,
                &self.external_url,
                now,
            );
            if integration.kind == IntegrationKind::Webhook {
                let max = receiver.webhook_configs[integration.index].max_alerts;
                message.truncate(max);
            }
            let n = Notification {
                receiver: receiver.name.clone(),
                integration,
                reason,
                message,
            };
            // group_interval bounds one send, as in Alertmanager.
            let outcome = tokio::time::timeout(opts.group_interval, self.notifier.notify(&n)).await;
            match outcome {
                Ok(Ok(())) => {
                    self.nflog.log(key, new_entry);
                    sent += 1;
                }
                Ok(Err(e)) => {
                    tracing::warn!(group = %job.key, integration = integration.kind.as_str(), error = %e, "notify failed");
                    failed += 1;
                }
                Err(_) => {
                    tracing::warn!(group = %job.key, integration = integration.kind.as_str(), "notify timed out");
                    failed += 1;
                }
            }
        }
        (sent, failed)
    }
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance` (alerts
/// lacking one go after those having it), then by label set.
fn alert_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (Some(_), None) => return std::cmp::Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels.cmp(&b.labels)
}
