//! One rule group's evaluation: rules in order at one timestamp, outputs written through the
//! store so that later rules see them, stale markers for series that went away, alert state,
//! and the alerts due to be sent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cairn_model::{
    Labels, LogQuerier, Matcher, Querier, Sample, SelectRequest, TenantId, stale_nan,
};
use cairn_promql::{Engine, InstantSample, Value};
use chrono::{DateTime, TimeZone, Utc};

use crate::alert::{Alert, AlertState, AlertingState, Candidate, Step};
use crate::file::{QueryLang, Rule, RuleGroup, RuleKind};
use crate::metrics::RuleMetrics;
use crate::template::{self, QueryEnv, TemplateContext};

/// Where recording rules and alert series are written: the store's normal append path.
#[async_trait]
pub trait RuleStore: Querier {
    /// Appends samples for `tenant`; `Ok` once they are durable.
    async fn append(&self, tenant: &TenantId, series: &[(Labels, Sample)]) -> Result<(), String>;

    /// The log store that LogQL rules read, if there is one.
    fn log_querier(&self) -> Option<&dyn LogQuerier> {
        None
    }
}

/// An alert on its way to an Alertmanager.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingAlert {
    /// Labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
    /// When it resolved, or until when it holds unless re-sent.
    pub ends_at: DateTime<Utc>,
    /// Link to the rule's expression.
    pub generator_url: String,
}

/// Receives the alerts that are due to be sent after each group evaluation.
pub trait AlertSink: Send + Sync {
    /// Takes a batch of alerts; must not block for long (queue and send elsewhere).
    fn send(&self, alerts: Vec<OutgoingAlert>);
}

/// Health of a rule after its last evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// Last evaluation succeeded.
    Ok,
    /// Last evaluation failed.
    Err,
}

impl Health {
    /// Prometheus' name (`unknown`, `ok`, `err`).
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// Settings shared by every group.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The tenant whose data rules read and write.
    pub tenant: TenantId,
    /// Interval of groups that set none (Prometheus: 1m).
    pub default_interval: Duration,
    /// Query offset of groups that set none.
    pub default_query_offset: Duration,
    /// Least time between two sends of a firing alert (Prometheus: 1m).
    pub resend_delay: Duration,
    /// How long an outage may last for `for` state to be restored (Prometheus: 1h).
    pub outage_tolerance: Duration,
    /// Least time an alert waits to fire after a restore (Prometheus: 10m).
    pub for_grace_period: Duration,
    /// `$externalLabels` and `$externalURL`.
    pub templates: TemplateContext,
    /// Engine used for rule expressions and `query`.
    pub engine: Engine,
    /// Engine used for LogQL rule expressions.
    pub log_engine: cairn_logql::Engine,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            tenant: TenantId::default_tenant(),
            default_interval: Duration::from_secs(60),
            default_query_offset: Duration::ZERO,
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            templates: TemplateContext::default(),
            engine: Engine::default(),
            log_engine: cairn_logql::Engine::default(),
        }
    }
}

/// Evaluation state of one rule.
#[derive(Clone, Debug)]
pub(crate) struct RuleState {
    pub(crate) rule: Rule,
    pub(crate) health: Health,
    pub(crate) last_error: Option<String>,
    pub(crate) last_eval_ms: Option<i64>,
    pub(crate) eval_duration: Duration,
    /// Series written at the last successful evaluation: what goes stale when it vanishes.
    pub(crate) prev_series: HashSet<Labels>,
    pub(crate) alerts: AlertingState,
}

impl RuleState {
    pub(crate) fn new(rule: Rule) -> Self {
        RuleState {
            rule,
            health: Health::Unknown,
            last_error: None,
            last_eval_ms: None,
            eval_duration: Duration::ZERO,
            prev_series: HashSet::new(),
            alerts: AlertingState::default(),
        }
    }

    /// The rule's alert state (inactive for recording rules).
    pub(crate) fn state(&self) -> AlertState {
        self.alerts.state()
    }
}

/// Evaluation state of one group.
#[derive(Clone, Debug)]
pub(crate) struct GroupState {
    pub(crate) group: RuleGroup,
    pub(crate) interval_ms: i64,
    pub(crate) query_offset_ms: i64,
    pub(crate) rules: Vec<RuleState>,
    pub(crate) last_eval_ms: Option<i64>,
    pub(crate) eval_duration: Duration,
    /// `for` state is restored after the first evaluation following a start.
    pub(crate) should_restore: bool,
}

impl GroupState {
    pub(crate) fn new(group: RuleGroup, opts: &EvalOptions, should_restore: bool) -> Self {
        let interval_ms = ms(group.interval.unwrap_or(opts.default_interval)).max(1);
        let query_offset_ms = ms(group.query_offset.unwrap_or(opts.default_query_offset));
        let rules = group.rules.iter().cloned().map(RuleState::new).collect();
        let mut g = GroupState {
            group,
            interval_ms,
            query_offset_ms,
            rules,
            last_eval_ms: None,
            eval_duration: Duration::ZERO,
            should_restore,
        };
        if !should_restore {
            for r in &mut g.rules {
                r.alerts.restored = true;
            }
        }
        g
    }

    /// `file;name`, the key Prometheus uses for a group in metrics.
    pub(crate) fn key(&self) -> String {
        format!("{};{}", self.group.file, self.group.name)
    }

    /// Takes over the state of `old`, the same group before a reload (Prometheus'
    /// `CopyState`): an unchanged group keeps everything; otherwise rules matched by name
    /// and labels keep their alerts and written series. Returns stale markers for the
    /// series of old rules that found no match.
    pub(crate) fn copy_state_from(&mut self, old: &GroupState) -> Vec<(Labels, Sample)> {
        self.last_eval_ms = old.last_eval_ms;
        self.eval_duration = old.eval_duration;
        self.should_restore = old.should_restore;
        if without_lines(&self.group) == without_lines(&old.group) {
            for (r, o) in self.rules.iter_mut().zip(&old.rules) {
                let rule = r.rule.clone();
                *r = o.clone();
                r.rule = rule;
            }
            return Vec::new();
        }
        let mut used = vec![false; old.rules.len()];
        for r in &mut self.rules {
            let found = old.rules.iter().enumerate().find(|(i, o)| {
                !used[*i] && o.rule.name == r.rule.name && o.rule.labels == r.rule.labels
            });
            if let Some((i, o)) = found {
                used[i] = true;
                r.prev_series = o.prev_series.clone();
                if r.rule.is_alert() && o.rule.is_alert() {
                    r.alerts = o.alerts.clone();
                }
            }
        }
        let t = old.last_eval_ms.unwrap_or(0) - old.query_offset_ms + old.interval_ms;
        old.rules
            .iter()
            .zip(used)
            .filter(|(_, u)| !u)
            .flat_map(|(o, _)| o.prev_series.iter())
            .map(|l| (l.clone(), Sample::new(t, stale_nan())))
            .collect()
    }

    /// The aligned evaluation time at or before `now_ms`: Prometheus spreads groups over
    /// their interval by a hash of the group.
    pub(crate) fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let h = xxhash_rust::xxh3::xxh3_64(
            format!("{}\u{ff}{}", self.group.name, self.group.file).as_bytes(),
        );
        let offset = (h % self.interval_ms as u64) as i64;
        let adj = now_ms - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// Evaluates every rule at `ts`, writing outputs through `store`; returns the alerts
    /// that are due to be sent.
    pub(crate) async fn eval_at(
        &mut self,
        ts: i64,
        store: &Arc<dyn RuleStore>,
        opts: &EvalOptions,
        metrics: Option<&RuleMetrics>,
    ) -> Vec<OutgoingAlert> {
        let started = Instant::now();
        let key = self.key();
        let q_ts = ts - self.query_offset_ms;
        let limit = self.group.limit;
        for r in &mut self.rules {
            let rule_started = Instant::now();
            let result = eval_rule(r, ts, q_ts, limit, store, opts).await;
            let result = match result {
                Ok(written) => {
                    let mut batch: Vec<(Labels, Sample)> = written
                        .iter()
                        .map(|(l, v)| (l.clone(), Sample::new(q_ts, *v)))
                        .collect();
                    let now: HashSet<Labels> = written.into_iter().map(|(l, _)| l).collect();
                    for gone in r.prev_series.difference(&now) {
                        batch.push((gone.clone(), Sample::new(q_ts, stale_nan())));
                    }
                    let appended = if batch.is_empty() {
                        Ok(())
                    } else {
                        store.append(&opts.tenant, &batch).await
                    };
                    appended.map(|()| r.prev_series = now)
                }
                Err(e) => Err(e),
            };
            r.eval_duration = rule_started.elapsed();
            r.last_eval_ms = Some(ts);
            if let Some(m) = metrics {
                m.evaluated(&key, r.eval_duration, result.is_err());
            }
            match result {
                Ok(()) => {
                    r.health = Health::Ok;
                    r.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(group = %self.group.name, rule = %r.rule.name, error = %e, "rule evaluation failed");
                    r.health = Health::Err;
                    r.last_error = Some(e);
                }
            }
        }
        let mut out = Vec::new();
        let resend = ms(opts.resend_delay);
        for r in &mut self.rules {
            if !r.rule.is_alert() {
                continue;
            }
            let url = generator_url(&opts.templates.external_url, &r.rule.query_string());
            for a in r.alerts.due(ts, resend, self.interval_ms) {
                out.push(outgoing(&a, &url));
            }
        }
        self.last_eval_ms = Some(ts);
        self.eval_duration = started.elapsed();
        if let Some(m) = metrics {
            m.group_done(&key, self.eval_duration);
        }
        if self.should_restore {
            self.should_restore = false;
            self.restore(ts, store.as_ref(), opts).await;
        }
        out
    }

    /// Restores `for` state from `ALERTS_FOR_STATE` (Prometheus' `RestoreForState`).
    async fn restore(&mut self, ts: i64, store: &dyn RuleStore, opts: &EvalOptions) {
        let grace = ms(opts.for_grace_period);
        for r in &mut self.rules {
            let RuleKind::Alerting { for_, .. } = &r.rule.kind else {
                continue;
            };
            let for_ms = ms(*for_);
            if for_ms < grace || r.alerts.active.is_empty() {
                r.alerts.restored = true;
                continue;
            }
            let mut matchers = vec![
                Matcher::equal("__name__", "ALERTS_FOR_STATE"),
                Matcher::equal("alertname", &r.rule.name),
            ];
            for (k, v) in &r.rule.labels {
                if !v.contains("{{") {
                    matchers.push(Matcher::equal(k, v));
                }
            }
            let req = SelectRequest {
                matchers,
                start_ms: ts - ms(opts.outage_tolerance),
                end_ms: ts,
                max_series: 0,
                max_samples: 0,
            };
            let mut last = HashMap::new();
            match store.select(&opts.tenant, &req).await {
                Ok(series) => {
                    for s in series {
                        if let Some(x) = s.samples.last() {
                            last.insert(s.labels.without(|n| n == "__name__"), (x.t, x.v));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(rule = %r.rule.name, error = %e, "cannot read ALERTS_FOR_STATE to restore alert state");
                }
            }
            r.alerts.restore(&last, ts, for_ms, grace);
        }
    }

    /// Stale markers for every series the group wrote last: used when it is removed.
    pub(crate) fn stale_markers(&self) -> Vec<(Labels, Sample)> {
        let t = self.last_eval_ms.unwrap_or(0) - self.query_offset_ms + self.interval_ms;
        self.rules
            .iter()
            .flat_map(|r| r.prev_series.iter())
            .map(|l| (l.clone(), Sample::new(t, stale_nan())))
            .collect()
    }
}

/// A group with its rules' line numbers cleared: they move with unrelated edits.
fn without_lines(g: &RuleGroup) -> RuleGroup {
    let mut g = g.clone();
    for r in &mut g.rules {
        r.line = None;
    }
    g
}

/// Evaluates one rule at `ts` (querying at `q_ts`); returns the series to write.
async fn eval_rule(
    r: &mut RuleState,
    ts: i64,
    q_ts: i64,
    limit: usize,
    store: &Arc<dyn RuleStore>,
    opts: &EvalOptions,
) -> Result<Vec<(Labels, f64)>, String> {
    let samples = match r.rule.lang {
        QueryLang::PromQL => {
            query_vector(
                &opts.engine,
                store.as_ref(),
                &opts.tenant,
                &r.rule.expr,
                q_ts,
            )
            .await?
        }
        QueryLang::LogQL => {
            let logs = store
                .log_querier()
                .ok_or_else(|| "LogQL rules need the log store, which is not open".to_string())?;
            log_query_vector(&opts.log_engine, logs, &opts.tenant, &r.rule.expr, q_ts).await?
        }
    };
    match &r.rule.kind {
        RuleKind::Recording => record(&r.rule, samples, limit),
        RuleKind::Alerting {
            for_,
            keep_firing_for,
            ..
        } => {
            let step = Step {
                ts,
                for_ms: ms(*for_),
                keep_firing_for_ms: ms(*keep_firing_for),
                limit,
            };
            let env = QueryEnv {
                engine: opts.engine.clone(),
                querier: Arc::clone(store) as Arc<dyn Querier>,
                tenant: opts.tenant.clone(),
                t_ms: q_ts,
                handle: tokio::runtime::Handle::current(),
            };
            let found = candidates(&r.rule, samples, &opts.templates, Some(env), true).await?;
            r.alerts.update(found, step, None)
        }
    }
}

/// Runs `expr` as an instant query; a scalar becomes one sample without labels.
pub(crate) async fn query_vector(
    engine: &Engine,
    querier: &dyn Querier,
    tenant: &TenantId,
    expr: &str,
    t_ms: i64,
) -> Result<Vec<InstantSample>, String> {
    match engine
        .instant(querier, tenant, expr, t_ms)
        .await
        .map_err(|e| e.to_string())?
    {
        Value::Vector(v) => Ok(v),
        Value::Scalar { t_ms, v } => Ok(vec![InstantSample {
            labels: Labels::empty(),
            t_ms,
            v,
        }]),
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

/// Runs a LogQL metric query as an instant query (as Loki's ruler does); a scalar becomes one
/// sample without labels.
pub(crate) async fn log_query_vector(
    engine: &cairn_logql::Engine,
    querier: &dyn LogQuerier,
    tenant: &TenantId,
    expr: &str,
    t_ms: i64,
) -> Result<Vec<InstantSample>, String> {
    let parsed = cairn_logql::parse(expr).map_err(|e| e.to_string())?;
    let t_ns = t_ms.saturating_mul(1_000_000);
    let out = engine
        .execute(
            querier,
            tenant,
            &parsed,
            &cairn_logql::QueryParams::instant(t_ns),
        )
        .await
        .map_err(|e| e.to_string())?;
    match out.value {
        cairn_logql::QueryValue::Metric(Value::Vector(v)) => Ok(v),
        cairn_logql::QueryValue::Metric(Value::Scalar { t_ms, v }) => Ok(vec![InstantSample {
            labels: Labels::empty(),
            t_ms,
            v,
        }]),
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

/// A recording rule's output: the metric renamed, rule labels set, duplicates and the limit
/// refused.
pub(crate) fn record(
    rule: &Rule,
    samples: Vec<InstantSample>,
    limit: usize,
) -> Result<Vec<(Labels, f64)>, String> {
    let mut out = Vec::with_capacity(samples.len());
    let mut seen = HashSet::with_capacity(samples.len());
    for s in samples {
        let mut b = s.labels.to_builder();
        b.set("__name__", &rule.name);
        for (k, v) in &rule.labels {
            b.set(k, v);
        }
        let l = b.build();
        if !seen.insert(l.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels"
                    .to_string(),
            );
        }
        out.push((l, s.v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

/// The alerts an alerting rule's samples make: labels templated and set, `alertname` last,
/// annotations expanded (unless `annotations` is false), duplicate label sets refused.
pub(crate) async fn candidates(
    rule: &Rule,
    samples: Vec<InstantSample>,
    ctx: &TemplateContext,
    env: Option<QueryEnv>,
    annotations: bool,
) -> Result<Vec<Candidate>, String> {
    let RuleKind::Alerting {
        annotations: ann_t, ..
    } = &rule.kind
    else {
        return Ok(Vec::new());
    };
    let templated = rule.labels.values().any(|v| v.contains("{{"))
        || (annotations && ann_t.values().any(|v| v.contains("{{")));
    if !templated {
        return plain_candidates(rule, samples, annotations.then_some(ann_t));
    }
    let needs_query = rule.labels.values().any(|v| template::may_query(v))
        || (annotations && ann_t.values().any(|v| template::may_query(v)));
    let rule = rule.clone();
    let ctx = ctx.clone();
    let work = move |env: Option<QueryEnv>| {
        let funcs = template::funcs(env);
        let name = format!("__alert_{}", rule.name);
        let mut out = Vec::with_capacity(samples.len());
        let mut seen = HashSet::with_capacity(samples.len());
        let RuleKind::Alerting {
            annotations: ann_t, ..
        } = &rule.kind
        else {
            return Ok(out);
        };
        for s in samples {
            // Templates see the sample's labels with `__name__` (Prometheus passes the whole
            // metric); the alert's labels drop it.
            let mut b = s.labels.to_builder();
            b.del("__name__");
            for (k, v) in &rule.labels {
                b.set(k, &template::expand(&name, v, &s.labels, s.v, &ctx, &funcs));
            }
            b.set("alertname", &rule.name);
            let labels = b.build();
            if !seen.insert(labels.clone()) {
                return Err(DUPLICATE.to_string());
            }
            let ann = if annotations {
                ann_t
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            template::expand(&name, v, &s.labels, s.v, &ctx, &funcs),
                        )
                    })
                    .collect()
            } else {
                BTreeMap::new()
            };
            out.push(Candidate {
                labels,
                annotations: ann,
                value: s.v,
            });
        }
        Ok(out)
    };
    match env {
        Some(env) if needs_query => tokio::task::spawn_blocking(move || work(Some(env)))
            .await
            .map_err(|e| format!("template expansion failed: {e}"))?,
        _ => work(None),
    }
}

const DUPLICATE: &str =
    "vector contains metrics with the same labelset after applying alert labels";

fn plain_candidates(
    rule: &Rule,
    samples: Vec<InstantSample>,
    annotations: Option<&BTreeMap<String, String>>,
) -> Result<Vec<Candidate>, String> {
    let mut out = Vec::with_capacity(samples.len());
    let mut seen = HashSet::with_capacity(samples.len());
    for s in samples {
        let mut b = s.labels.to_builder();
        b.del("__name__");
        for (k, v) in &rule.labels {
            b.set(k, v);
        }
        b.set("alertname", &rule.name);
        let labels = b.build();
        if !seen.insert(labels.clone()) {
            return Err(DUPLICATE.to_string());
        }
        out.push(Candidate {
            labels,
            annotations: annotations.cloned().unwrap_or_default(),
            value: s.v,
        });
    }
    Ok(out)
}

/// `generatorURL`: the external URL and a link to the expression in the table view.
pub(crate) fn generator_url(external_url: &str, expr: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    format!(
        "{}/graph?g0.expr={q}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}

fn outgoing(a: &Alert, url: &str) -> OutgoingAlert {
    OutgoingAlert {
        labels: a
            .labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect(),
        annotations: a.annotations.clone(),
        starts_at: time(a.fired_at_ms.unwrap_or(a.active_at_ms)),
        ends_at: time(a.resolved_at_ms.unwrap_or(a.valid_until_ms)),
        generator_url: url.to_string(),
    }
}

/// Milliseconds since the epoch as a UTC time.
pub(crate) fn time(t_ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t_ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A duration in milliseconds, saturating.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
