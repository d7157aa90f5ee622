//! The running rule manager: loads rule files, schedules each group on its interval, keeps
//! rule state across reloads, hands due alerts to the sinks, and answers snapshots for the
//! HTTP API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::alert::{Alert, AlertState};
use crate::error::{Error, Result};
use crate::file::{QueryLang, Rule, RuleFile, parse_rule_file_in};
use crate::group::{AlertSink, EvalOptions, GroupState, Health, RuleStore, time};
use crate::metrics::RuleMetrics;

/// The source of "now" for scheduling (evaluations themselves take explicit times).
pub trait Clock: Send + Sync {
    /// Milliseconds since the epoch.
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A group as the API shows it.
#[derive(Clone, Debug)]
pub struct GroupSnapshot {
    /// Group name.
    pub name: String,
    /// File it comes from.
    pub file: String,
    /// Evaluation interval.
    pub interval: Duration,
    /// Series/alert limit per rule (0: none).
    pub limit: usize,
    /// Start of the last evaluation.
    pub last_evaluation: Option<DateTime<Utc>>,
    /// Time the last evaluation took.
    pub evaluation_time: Duration,
    /// The rules, in order.
    pub rules: Vec<RuleSnapshot>,
}

/// A rule as the API shows it.
#[derive(Clone, Debug)]
pub struct RuleSnapshot {
    /// The rule as configured.
    pub rule: Rule,
    /// Most severe state of its alerts (inactive for recording rules).
    pub state: AlertState,
    /// Health after the last evaluation.
    pub health: Health,
    /// Error of the last evaluation, when it failed.
    pub last_error: Option<String>,
    /// Start of the last evaluation.
    pub last_evaluation: Option<DateTime<Utc>>,
    /// Time the last evaluation took.
    pub evaluation_time: Duration,
    /// Its pending and firing alerts, sorted by labels.
    pub alerts: Vec<Alert>,
}

type SharedGroup = Arc<Mutex<GroupState>>;

struct Runner {
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
    tracker: TaskTracker,
    groups_stop: CancellationToken,
}

/// Runs rule groups and keeps their state.
pub struct Manager {
    opts: EvalOptions,
    store: Arc<dyn RuleStore>,
    sinks: RwLock<Vec<Arc<dyn AlertSink>>>,
    groups: RwLock<Vec<SharedGroup>>,
    metrics: RuleMetrics,
    /// Only groups loaded at start restore `for` state; groups added by a reload start fresh.
    loaded_once: RwLock<bool>,
    runner: parking_lot::Mutex<Option<Runner>>,
    update_lock: Mutex<()>,
}

impl Manager {
    /// A manager writing through `store`, with no rules yet.
    pub fn new(opts: EvalOptions, store: Arc<dyn RuleStore>, metrics: RuleMetrics) -> Arc<Self> {
        Arc::new(Manager {
            opts,
            store,
            sinks: RwLock::new(Vec::new()),
            groups: RwLock::new(Vec::new()),
            metrics,
            loaded_once: RwLock::new(false),
            runner: parking_lot::Mutex::new(None),
            update_lock: Mutex::new(()),
        })
    }

    /// Adds a receiver of due alerts.
    pub fn add_sink(&self, sink: Arc<dyn AlertSink>) {
        self.sinks.write().push(sink);
    }

    /// The evaluation settings.
    pub fn options(&self) -> &EvalOptions {
        &self.opts
    }

    /// The rule metrics.
    pub fn metrics(&self) -> &RuleMetrics {
        &self.metrics
    }

    /// Replaces the rules: rules that did not change keep their state (alerts, health,
    /// series written), groups that went away get stale markers for what they wrote.
    pub async fn update(self: &Arc<Self>, files: Vec<RuleFile>) {
        let _serial = self.update_lock.lock().await;
        let should_restore = !*self.loaded_once.read();
        let old: Vec<SharedGroup> = self.groups.read().clone();
        let mut old_by_key: HashMap<(String, String), SharedGroup> = HashMap::new();
        for g in old {
            let key = {
                let s = g.lock().await;
                (s.group.file.clone(), s.group.name.clone())
            };
            old_by_key.insert(key, g);
        }
        let mut new = Vec::new();
        let mut stale = Vec::new();
        for f in files {
            for g in f.groups {
                let key = (g.file.clone(), g.name.clone());
                let mut state = GroupState::new(g, &self.opts, should_restore);
                if let Some(o) = old_by_key.remove(&key) {
                    stale.extend(state.copy_state_from(&*o.lock().await));
                }
                new.push(Arc::new(Mutex::new(state)));
            }
        }
        for (_, gone) in old_by_key {
            stale.extend(gone.lock().await.stale_markers());
        }
        if !stale.is_empty()
            && let Err(e) = self.store.append(&self.opts.tenant, &stale).await
        {
            tracing::warn!(error = %e, "cannot write stale markers for removed rules");
        }
        *self.groups.write() = new;
        *self.loaded_once.write() = true;
        self.respawn_with(Arc::clone(self));
    }

    /// Evaluates every group at `ts_ms` (in file order) and sends the due alerts.
    pub async fn eval_all_at(&self, ts_ms: i64) {
        let groups = self.groups.read().clone();
        for g in groups {
            self.eval_group(&g, ts_ms).await;
        }
    }

    async fn eval_group(&self, g: &SharedGroup, ts_ms: i64) {
        let alerts = {
            let mut s = g.lock().await;
            let span = tracing::debug_span!("rule_group", group = %s.key(), ts_ms);
            s.eval_at(ts_ms, &self.store, &self.opts, Some(&self.metrics))
                .instrument(span)
                .await
        };
        if alerts.is_empty() {
            return;
        }
        // External labels go on every sent alert, the alert's own labels winning, as
        // Prometheus' notifier does.
        let mut alerts = alerts;
        for a in &mut alerts {
            for (k, v) in &self.opts.templates.external_labels {
                a.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let sinks = self.sinks.read().clone();
        for s in sinks {
            s.send(alerts.clone());
        }
    }

    /// A snapshot of every group, in file order.
    pub async fn groups(&self) -> Vec<GroupSnapshot> {
        let groups = self.groups.read().clone();
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let s = g.lock().await;
            out.push(GroupSnapshot {
                name: s.group.name.clone(),
                file: s.group.file.clone(),
                interval: Duration::from_millis(s.interval_ms as u64),
                limit: s.group.limit,
                last_evaluation: s.last_eval_ms.map(time),
                evaluation_time: s.eval_duration,
                rules: s
                    .rules
                    .iter()
                    .map(|r| {
                        let mut alerts: Vec<Alert> = r
                            .alerts
                            .active
                            .values()
                            .filter(|a| a.state != AlertState::Inactive)
                            .cloned()
                            .collect();
                        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
                        RuleSnapshot {
                            rule: r.rule.clone(),
                            state: r.state(),
                            health: r.health,
                            last_error: r.last_error.clone(),
                            last_evaluation: r.last_eval_ms.map(time),
                            evaluation_time: r.eval_duration,
                            alerts,
                        }
                    })
                    .collect(),
            });
        }
        out
    }

    /// Starts evaluating every group on its interval by `clock` until `stop` is cancelled;
    /// later [`Manager::update`]s restart the schedule with the new groups.
    pub fn start(
        self: &Arc<Self>,
        clock: Arc<dyn Clock>,
        stop: CancellationToken,
        tracker: &TaskTracker,
    ) {
        *self.runner.lock() = Some(Runner {
            clock,
            groups_stop: stop.child_token(),
            stop,
            tracker: tracker.clone(),
        });
        self.respawn_with(Arc::clone(self));
    }

    fn respawn_with(&self, me: Arc<Manager>) {
        let mut runner = self.runner.lock();
        let Some(r) = runner.as_mut() else {
            return;
        };
        r.groups_stop.cancel();
        r.groups_stop = r.stop.child_token();
        for g in self.groups.read().iter() {
            let g = Arc::clone(g);
            let me = Arc::clone(&me);
            let clock = Arc::clone(&r.clock);
            let stop = r.groups_stop.clone();
            r.tracker
                .spawn(async move { me.run_group(g, clock, stop).await });
        }
    }

    /// One group's schedule (Prometheus' `Group.run`): the first evaluation at the group's
    /// next aligned slot, then every interval; slots that passed while an evaluation ran too
    /// long are skipped and counted.
    async fn run_group(&self, g: SharedGroup, clock: Arc<dyn Clock>, stop: CancellationToken) {
        let (interval, key, n_rules, mut next) = {
            let s = g.lock().await;
            (
                s.interval_ms,
                s.key(),
                s.rules.len(),
                s.eval_timestamp(clock.now_ms()) + s.interval_ms,
            )
        };
        loop {
            let wait = (next - clock.now_ms()).max(0) as u64;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            let late = clock.now_ms() - next;
            let missed = if late >= interval { late / interval } else { 0 };
            let ts = next + missed * interval;
            self.metrics.scheduled(&key, ts, missed as u64, n_rules);
            self.eval_group(&g, ts).await;
            next = ts + interval;
        }
    }
}

/// Reads every file matching the glob patterns (Prometheus' `rule_files`), sorted, each
/// file once; a pattern matching nothing is not an error.
pub fn load_rule_files(patterns: &[String]) -> Result<Vec<RuleFile>> {
    load_rule_files_in(patterns, QueryLang::PromQL)
}

/// Reads and parses every rule file `patterns` name, with expressions in `lang` (LogQL:
/// Loki's ruler files).
pub fn load_rule_files_in(patterns: &[String], lang: QueryLang) -> Result<Vec<RuleFile>> {
    let paths = expand_globs(patterns)?;
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(&p).map_err(|e| Error::Read {
            path: name.clone(),
            message: e.to_string(),
        })?;
        files.push(parse_rule_file_in(&name, &text, lang)?);
    }
    Ok(files)
}

/// The files `patterns` name, each once, in pattern order and sorted within a pattern; a
/// pattern without wildcards must name an existing file.
pub fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for p in patterns {
        let mut got = glob(p).map_err(|message| Error::Read {
            path: p.clone(),
            message,
        })?;
        got.sort();
        for g in got {
            if !paths.contains(&g) {
                paths.push(g);
            }
        }
    }
    Ok(paths)
}

/// Expands `*`, `?` and `[...]` in any path component, like Go's `filepath.Glob`.
fn glob(pattern: &str) -> std::result::Result<Vec<PathBuf>, String> {
    let is_pattern = |s: &str| s.contains(['*', '?', '[']);
    let path = Path::new(pattern);
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in path.components() {
        let c = comp.as_os_str().to_string_lossy().to_string();
        if !is_pattern(&c) {
            current = current.into_iter().map(|p| p.join(&c)).collect();
            continue;
        }
        let re = glob_regex(&c)?;
        let mut next = Vec::new();
        for dir in current {
            let read_from = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.clone()
            };
            let Ok(entries) = std::fs::read_dir(&read_from) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if re.is_match(&name) {
                    next.push(dir.join(name));
                }
            }
        }
        current = next;
    }
    Ok(current
        .into_iter()
        .filter(|p| p.is_file() || (!is_pattern(pattern) && !p.as_os_str().is_empty()))
        .collect())
}

fn glob_regex(component: &str) -> std::result::Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                let mut first = true;
                for d in chars.by_ref() {
                    if first && (d == '^' || d == '!') {
                        re.push('^');
                    } else if d == ']' {
                        break;
                    } else if d == '\\' {
                        re.push_str("\\\\");
                    } else {
                        re.push(d);
                    }
                    first = false;
                }
                re.push(']');
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| format!("bad pattern {component:?}: {e}"))
}

#[cfg(test)]
mod tests;
