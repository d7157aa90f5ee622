//! Backtesting: every group of some rule files evaluated at its interval over a past time
//! range on an in-memory copy of the data, reporting when each alert changed state.
//!
//! A rule's output at time t depends only on data at or before t and on the outputs of the
//! rules before it, so each rule is evaluated for the whole range in one range query, rule
//! after rule, group after group, each appending its outputs before the next runs. This
//! gives the same results as evaluating step by step (a range query is an instant query at
//! each step) at a fraction of the cost. When a rule reads a series that a later rule (or
//! itself) writes, that shortcut would let it see too little, so such rule sets are
//! evaluated step by step instead, every group interleaved in time order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use cairn_logql::MemoryLogQuerier;
use cairn_model::{
    LabelValuesRequest, Labels, LogQuerier, MetricMetadata, Querier, QueryError, Sample,
    SelectRequest, Series, SeriesRequest, TenantId, stale_nan,
};
use cairn_promql::{InstantSample, MemoryQuerier, Value};
use tokio::sync::RwLock;

use crate::alert::{AlertState, AlertingState, Step};
use crate::error::{Error, Result};
use crate::file::{QueryLang, RuleFile, RuleKind};
use crate::group::{EvalOptions, GroupState, RuleStore, candidates, ms, record};

/// Most steps per range query (the engine refuses more than 11,000 points per series).
const CHUNK_STEPS: i64 = 10_000;

/// What a backtest found.
#[derive(Clone, Debug, Default)]
pub struct Backtest {
    /// Per alert (its labels, `alertname` included), its state changes in time order as
    /// `(evaluation time ms, new state)`; every alert starts inactive.
    pub alerts: BTreeMap<Labels, Vec<(i64, AlertState)>>,
    /// Rule evaluation failures as `(group, rule, evaluation time ms, message)`.
    pub errors: Vec<(String, String, i64, String)>,
    /// Number of rule evaluations (rules times steps).
    pub evaluations: usize,
    /// The input data with everything the rules wrote (recordings, `ALERTS`,
    /// `ALERTS_FOR_STATE`, stale markers).
    pub data: MemoryQuerier,
}

/// Evaluates every group of `files` at its interval at `start_ms + k * interval` up to
/// `end_ms` on a copy of `data`, and reports every alert's state changes. Groups without an
/// interval use 1m; annotations are not expanded (they cannot change a state), and `query`
/// in label templates is not available.
pub async fn backtest(
    files: &[RuleFile],
    data: &MemoryQuerier,
    tenant: &TenantId,
    start_ms: i64,
    end_ms: i64,
) -> Result<Backtest> {
    backtest_with(
        files,
        data,
        start_ms,
        end_ms,
        &EvalOptions {
            tenant: tenant.clone(),
            // A whole range at once holds far more samples than one evaluation: the query
            // limits meant for one request do not apply.
            engine: cairn_promql::Engine::new(cairn_promql::EngineOptions {
                max_samples: 0,
                timeout: None,
                ..cairn_promql::EngineOptions::default()
            }),
            ..EvalOptions::default()
        },
    )
    .await
}

/// [`backtest`] with explicit evaluation settings (default interval, query offset, engine).
pub async fn backtest_with(
    files: &[RuleFile],
    data: &MemoryQuerier,
    start_ms: i64,
    end_ms: i64,
    opts: &EvalOptions,
) -> Result<Backtest> {
    run(files, data, None, start_ms, end_ms, opts).await
}

/// [`backtest_with`] over metrics and logs: LogQL rules read `logs`. Rule sets with LogQL
/// rules are evaluated step by step, through the running manager's code.
pub async fn backtest_with_logs(
    files: &[RuleFile],
    data: &MemoryQuerier,
    logs: &MemoryLogQuerier,
    start_ms: i64,
    end_ms: i64,
    opts: &EvalOptions,
) -> Result<Backtest> {
    run(files, data, Some(logs.clone()), start_ms, end_ms, opts).await
}

async fn run(
    files: &[RuleFile],
    data: &MemoryQuerier,
    logs: Option<MemoryLogQuerier>,
    start_ms: i64,
    end_ms: i64,
    opts: &EvalOptions,
) -> Result<Backtest> {
    if end_ms < start_ms {
        return Err(Error::Eval(format!(
            "backtest end {end_ms} is before its start {start_ms}"
        )));
    }
    let groups: Vec<GroupState> = files
        .iter()
        .flat_map(|f| f.groups.iter().cloned())
        .map(|g| GroupState::new(g, opts, false))
        .collect();
    let has_logql = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .any(|r| r.rule.lang == QueryLang::LogQL);
    if has_logql || has_forward_reference(&groups) {
        let store = MemoryRuleStore {
            data: RwLock::new(data.clone()),
            logs,
        };
        return stepwise(groups, store, start_ms, end_ms, opts).await;
    }
    let mut out = Backtest {
        data: data.clone(),
        ..Backtest::default()
    };
    for g in groups {
        whole_range(g, &mut out, start_ms, end_ms, opts).await?;
    }
    Ok(out)
}

/// True when a rule may read a series written by itself or by a rule evaluated after it.
fn has_forward_reference(groups: &[GroupState]) -> bool {
    let rules: Vec<_> = groups.iter().flat_map(|g| g.rules.iter()).collect();
    for (i, r) in rules.iter().enumerate() {
        if r.rule.expr.contains("__name__") {
            return true;
        }
        for later in &rules[i..] {
            let names: &[&str] = if later.rule.is_alert() {
                &["ALERTS", "ALERTS_FOR_STATE"]
            } else {
                &[later.rule.name.as_str()]
            };
            if names.iter().any(|n| mentions(&r.rule.expr, n)) {
                return true;
            }
        }
    }
    false
}

/// Whether `expr` contains `name` as a whole identifier.
fn mentions(expr: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// One group over the whole range, rule by rule.
async fn whole_range(
    mut g: GroupState,
    out: &mut Backtest,
    start_ms: i64,
    end_ms: i64,
    opts: &EvalOptions,
) -> Result<()> {
    let step = g.interval_ms;
    let n_steps = ((end_ms - start_ms) / step + 1) as usize;
    let offset = g.query_offset_ms;
    let limit = g.group.limit;
    for r in &mut g.rules {
        let per_step = range_samples(
            &out.data,
            opts,
            &r.rule.expr,
            start_ms - offset,
            n_steps,
            step,
        )
        .await
        .map_err(|e| {
            Error::Eval(format!(
                "group {:?}, rule {:?}: {e}",
                g.group.name, r.rule.name
            ))
        })?;
        let mut written: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        let mut prev: HashSet<Labels> = HashSet::new();
        let mut changes = Vec::new();
        let mut state = AlertingState {
            restored: true,
            ..AlertingState::default()
        };
        for (k, samples) in per_step.into_iter().enumerate() {
            let ts = start_ms + k as i64 * step;
            let q_ts = ts - offset;
            out.evaluations += 1;
            let result = match &r.rule.kind {
                RuleKind::Recording => record(&r.rule, samples, limit),
                RuleKind::Alerting {
                    for_,
                    keep_firing_for,
                    ..
                } => {
                    let s = Step {
                        ts,
                        for_ms: ms(*for_),
                        keep_firing_for_ms: ms(*keep_firing_for),
                        limit,
                    };
                    match candidates(&r.rule, samples, &opts.templates, None, false).await {
                        Ok(found) => {
                            changes.clear();
                            let res = state.update(found, s, Some(&mut changes));
                            for (labels, st) in changes.drain(..) {
                                out.alerts.entry(labels).or_default().push((ts, st));
                            }
                            res
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match result {
                Ok(series) => {
                    let now: HashSet<Labels> = series.iter().map(|(l, _)| l.clone()).collect();
                    for gone in prev.difference(&now) {
                        written
                            .entry(gone.clone())
                            .or_default()
                            .push(Sample::new(q_ts, stale_nan()));
                    }
                    for (l, v) in series {
                        written.entry(l).or_default().push(Sample::new(q_ts, v));
                    }
                    prev = now;
                }
                Err(e) => out
                    .errors
                    .push((g.group.name.clone(), r.rule.name.clone(), ts, e)),
            }
        }
        for (labels, samples) in written {
            out.data.add(&opts.tenant, labels, &samples);
        }
    }
    Ok(())
}

/// The rule expression evaluated at `first + k * step` for `k < n`, as one instant vector
/// per step, in range queries of at most [`CHUNK_STEPS`] steps.
async fn range_samples(
    data: &MemoryQuerier,
    opts: &EvalOptions,
    expr: &str,
    first: i64,
    n: usize,
    step: i64,
) -> std::result::Result<Vec<Vec<InstantSample>>, String> {
    let mut per_step: Vec<Vec<InstantSample>> = vec![Vec::new(); n];
    let mut k0 = 0i64;
    while (k0 as usize) < n {
        let k1 = (k0 + CHUNK_STEPS).min(n as i64) - 1;
        let (s, e) = (first + k0 * step, first + k1 * step);
        let v = opts
            .engine
            .range(data, &opts.tenant, expr, s, e, step)
            .await
            .map_err(|e| e.to_string())?;
        match v {
            Value::Matrix(series) => {
                for Series { labels, samples } in series {
                    for x in samples {
                        let k = ((x.t - first) / step) as usize;
                        if let Some(slot) = per_step.get_mut(k) {
                            slot.push(InstantSample {
                                labels: labels.clone(),
                                t_ms: x.t,
                                v: x.v,
                            });
                        }
                    }
                }
            }
            _ => return Err("rule result is not a vector or scalar".to_string()),
        }
        k0 = k1 + 1;
    }
    Ok(per_step)
}

/// Every group step by step, interleaved in time order, through the same code the running
/// manager uses.
async fn stepwise(
    mut groups: Vec<GroupState>,
    store: MemoryRuleStore,
    start_ms: i64,
    end_ms: i64,
    opts: &EvalOptions,
) -> Result<Backtest> {
    let store = Arc::new(store);
    let dyn_store: Arc<dyn RuleStore> = Arc::clone(&store) as Arc<dyn RuleStore>;
    let mut out = Backtest::default();
    let mut next: Vec<i64> = vec![start_ms; groups.len()];
    while let Some((i, ts)) = next
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, t)| *t <= end_ms)
        .min_by_key(|(i, t)| (*t, *i))
    {
        let g = &mut groups[i];
        let before = states(g);
        g.eval_at(ts, &dyn_store, opts, None).await;
        out.evaluations += g.rules.len();
        for r in &g.rules {
            if let Some(e) = &r.last_error {
                out.errors
                    .push((g.group.name.clone(), r.rule.name.clone(), ts, e.clone()));
            }
        }
        let after = states(g);
        for (k, s) in &after {
            if before.get(k).copied().unwrap_or(AlertState::Inactive) != *s {
                out.alerts.entry(k.clone()).or_default().push((ts, *s));
            }
        }
        for (k, s) in before {
            if s != AlertState::Inactive && !after.contains_key(&k) {
                out.alerts
                    .entry(k)
                    .or_default()
                    .push((ts, AlertState::Inactive));
            }
        }
        next[i] = ts + g.interval_ms;
    }
    drop(dyn_store);
    out.data = store.data.read().await.clone();
    Ok(out)
}

fn states(g: &GroupState) -> HashMap<Labels, AlertState> {
    g.rules
        .iter()
        .flat_map(|r| r.alerts.active.iter())
        .map(|(k, a)| (k.clone(), a.state))
        .collect()
}

/// A [`RuleStore`] over a [`MemoryQuerier`] (and optionally logs): appends land in memory.
#[derive(Debug, Default)]
pub struct MemoryRuleStore {
    data: RwLock<MemoryQuerier>,
    logs: Option<MemoryLogQuerier>,
}

impl MemoryRuleStore {
    /// A store holding `data`.
    pub fn new(data: MemoryQuerier) -> Self {
        MemoryRuleStore {
            data: RwLock::new(data),
            logs: None,
        }
    }

    /// A store holding `data`, whose LogQL rules read `logs`.
    pub fn with_logs(data: MemoryQuerier, logs: MemoryLogQuerier) -> Self {
        MemoryRuleStore {
            data: RwLock::new(data),
            logs: Some(logs),
        }
    }

    /// A copy of what the store holds.
    pub async fn snapshot(&self) -> MemoryQuerier {
        self.data.read().await.clone()
    }
}

#[async_trait]
impl Querier for MemoryRuleStore {
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> std::result::Result<Vec<Series>, QueryError> {
        self.data.read().await.select(tenant, req).await
    }

    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> std::result::Result<Vec<Labels>, QueryError> {
        self.data.read().await.series(tenant, req).await
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> std::result::Result<Vec<String>, QueryError> {
        self.data.read().await.label_names(tenant, req).await
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> std::result::Result<Vec<String>, QueryError> {
        self.data.read().await.label_values(tenant, req).await
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> std::result::Result<Vec<(String, MetricMetadata)>, QueryError> {
        self.data.read().await.metadata(tenant, metric).await
    }
}

#[async_trait]
impl RuleStore for MemoryRuleStore {
    async fn append(
        &self,
        tenant: &TenantId,
        series: &[(Labels, Sample)],
    ) -> std::result::Result<(), String> {
        let mut d = self.data.write().await;
        for (l, s) in series {
            d.add(tenant, l.clone(), std::slice::from_ref(s));
        }
        Ok(())
    }

    fn log_querier(&self) -> Option<&dyn LogQuerier> {
        self.logs.as_ref().map(|l| l as &dyn LogQuerier)
    }
}

#[cfg(test)]
mod tests;
