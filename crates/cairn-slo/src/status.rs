//! Where every SLO stands: current SLI, error budget remaining, burn rate per window, when
//! the budget runs out at the current burn rate, and the state of its alerts. Read from the
//! series its rules record, so a status costs a few instant queries per SLO.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_model::{Querier, TenantId};
use cairn_promql::{Engine, Value};
use serde::{Deserialize, Serialize};

use crate::compile::CompiledSlo;
use crate::duration::parse_duration;

/// An alert instance as the rule manager holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInstance {
    /// `alertname`.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// `pending` or `firing` (absent instances are inactive).
    pub state: String,
}

/// The burn rate over one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BurnRate {
    /// The window (`5m`, `1h`, `30d`).
    pub window: String,
    /// Error ratio over it, when the series exists.
    pub error_ratio: Option<f64>,
    /// Error ratio divided by the error budget.
    pub burn_rate: Option<f64>,
}

/// The state of one generated alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertStatus {
    /// Alert name.
    pub name: String,
    /// `page`, `ticket` or `data-missing`.
    pub severity: String,
    /// `inactive`, `pending` or `firing`.
    pub state: String,
}

/// Where one SLO stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloStatus {
    /// `<service>-<name>`.
    pub id: String,
    /// Service.
    pub service: String,
    /// SLO name.
    pub name: String,
    /// Objective in percent.
    pub objective: f64,
    /// SLO period in seconds.
    pub window_seconds: u64,
    /// `events` or `raw`.
    pub sli_kind: String,
    /// SLI over the last 5 minutes (1 - error ratio).
    pub current_sli: Option<f64>,
    /// SLI over the whole period.
    pub period_sli: Option<f64>,
    /// Fraction of the period's error budget left (negative once overspent).
    pub error_budget_remaining: Option<f64>,
    /// The same as time: remaining fraction times the period, in seconds.
    pub error_budget_remaining_seconds: Option<f64>,
    /// The record the budget was read from.
    pub error_budget_source: Option<String>,
    /// Burn rate per recorded window, shortest first.
    pub burn_rates: Vec<BurnRate>,
    /// The window whose burn rate drives the forecast.
    pub forecast_window: Option<String>,
    /// Seconds until the budget is exhausted at the current burn rate; none when not burning.
    pub exhaustion_forecast_seconds: Option<f64>,
    /// The SLO's alerts.
    pub alerts: Vec<AlertStatus>,
    /// Queries that failed.
    pub errors: Vec<String>,
    /// The file it was read from.
    pub source_file: String,
}

/// Computes the status of every SLO at `now_ms`, reading the series its rules recorded, with
/// alert states taken from the rule manager (`alerts`).
pub async fn status(
    engine: &Engine,
    querier: &dyn Querier,
    tenant: &TenantId,
    slos: &[CompiledSlo],
    alerts: &[AlertInstance],
    now_ms: i64,
) -> Vec<SloStatus> {
    let mut out = Vec::with_capacity(slos.len());
    for slo in slos {
        out.push(one(engine, querier, tenant, slo, alerts, now_ms).await);
    }
    out
}

async fn scalar(
    engine: &Engine,
    querier: &dyn Querier,
    tenant: &TenantId,
    expr: &str,
    now_ms: i64,
    errors: &mut Vec<String>,
) -> Option<f64> {
    match engine.instant(querier, tenant, expr, now_ms).await {
        Ok(Value::Vector(v)) => v.first().map(|s| s.v).filter(|v| !v.is_nan()),
        Ok(Value::Scalar { v, .. }) => Some(v).filter(|v| !v.is_nan()),
        Ok(_) => None,
        Err(e) => {
            errors.push(format!("{expr}: {e}"));
            None
        }
    }
}

async fn one(
    engine: &Engine,
    querier: &dyn Querier,
    tenant: &TenantId,
    slo: &CompiledSlo,
    alerts: &[AlertInstance],
    now_ms: i64,
) -> SloStatus {
    let mut errors = Vec::new();
    let eb = slo.error_budget();
    let sel = format!("{{sloth_id=\"{}\"}}", slo.id);
    let mut burn_rates = Vec::new();
    for w in &slo.sli_windows {
        let q = format!("max({}{sel})", w.record);
        let ratio = scalar(engine, querier, tenant, &q, now_ms, &mut errors).await;
        burn_rates.push(BurnRate {
            window: w.window.clone(),
            error_ratio: ratio,
            burn_rate: ratio.map(|r| if eb > 0.0 { r / eb } else { f64::INFINITY }),
        });
    }
    let current_sli = burn_rates
        .first()
        .and_then(|b| b.error_ratio)
        .map(|r| 1.0 - r);
    let mut remaining = None;
    let mut source = None;
    for rec in &slo.budget_records {
        let q = format!("max({rec}{sel})");
        if let Some(v) = scalar(engine, querier, tenant, &q, now_ms, &mut errors).await {
            remaining = Some(v);
            source = Some(rec.clone());
            break;
        }
    }
    let period_sli = remaining.map(|r| 1.0 - (1.0 - r) * eb);
    let period = slo.window.as_secs_f64();
    // The forecast uses the shortest window of an hour or more: the 5m rate is too noisy to
    // extrapolate a budget from.
    let forecast = burn_rates
        .iter()
        .find(|b| parse_duration(&b.window).is_ok_and(|d| d >= Duration::from_secs(3600)));
    let forecast_window = forecast.map(|b| b.window.clone());
    let exhaustion = match (remaining, forecast.and_then(|b| b.burn_rate)) {
        (Some(r), _) if r <= 0.0 => Some(0.0),
        (Some(r), Some(br)) if br > 0.0 && br.is_finite() => Some(r * period / br),
        _ => None,
    };
    let alert_states = slo
        .alerts
        .iter()
        .map(|a| {
            let severity_label = a.severity.as_str();
            let mut state = "inactive";
            for inst in alerts.iter().filter(|i| {
                i.name == a.name
                    && i.labels.get("sloth_id") == Some(&slo.id)
                    && i.labels.get("sloth_severity").map(String::as_str) == Some(severity_label)
            }) {
                if inst.state == "firing" {
                    state = "firing";
                } else if inst.state == "pending" && state == "inactive" {
                    state = "pending";
                }
            }
            AlertStatus {
                name: a.name.clone(),
                severity: a.severity.clone(),
                state: state.to_string(),
            }
        })
        .collect();
    SloStatus {
        id: slo.id.clone(),
        service: slo.service.clone(),
        name: slo.name.clone(),
        objective: slo.objective,
        window_seconds: slo.window.as_secs(),
        sli_kind: slo.sli_kind.clone(),
        current_sli,
        period_sli,
        error_budget_remaining: remaining,
        error_budget_remaining_seconds: remaining.map(|r| r * period),
        error_budget_source: source,
        burn_rates,
        forecast_window,
        exhaustion_forecast_seconds: exhaustion,
        alerts: alert_states,
        errors,
        source_file: slo.source_file.clone(),
    }
}
