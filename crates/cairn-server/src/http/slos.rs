//! `GET /api/v1/slos`: where every SLO stands. The SLOs are found in the rule groups the rule
//! engine runs (Sloth-shaped groups, from `cairn slo generate`, Sloth, or SLO files compiled
//! at load), their numbers read from the series those rules record, and their alert states
//! from the rule engine.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cairn_promql::{Engine, EngineOptions};
use cairn_rules::AlertState;
use cairn_slo::{AlertInstance, LoadedRule, SloStatus, slos_from_rules};
use serde::Serialize;

use super::{ApiError, AppState, Style};

/// Longest the status queries of one request may run.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Serialize)]
struct SlosJson {
    slos: Vec<SloStatus>,
}

/// `GET /api/v1/slos`: `{"status":"success","data":{"slos":[...]}}`, one entry per SLO.
pub(crate) async fn slos(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = state.tenant(&headers, Style::Json)?;
    let store = state.store(Style::Json)?;
    let svc = state.rules.get().ok_or_else(|| {
        ApiError::unavailable("the rule engine is starting, retry shortly", Style::Json)
    })?;
    let groups = svc.manager.groups().await;
    let slos = slos_from_rules(groups.iter().flat_map(|g| {
        g.rules.iter().map(move |r| LoadedRule {
            group: &g.name,
            file: &g.file,
            name: &r.rule.name,
            expr: &r.rule.expr,
            labels: &r.rule.labels,
            is_alert: r.rule.is_alert(),
        })
    }));
    let alerts: Vec<AlertInstance> = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .flat_map(|r| r.alerts.iter())
        .filter(|a| a.state != AlertState::Inactive)
        .map(|a| AlertInstance {
            name: a.labels.get("alertname").unwrap_or_default().to_string(),
            labels: a
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
            state: a.state.as_str().to_string(),
        })
        .collect();
    let engine = Engine::new(EngineOptions {
        timeout: Some(TIMEOUT),
        ..EngineOptions::default()
    });
    let now_ms = chrono::Utc::now().timestamp_millis();
    let statuses =
        cairn_slo::status(&engine, store.querier(), &tenant, &slos, &alerts, now_ms).await;
    match serde_json::to_string(&SlosJson { slos: statuses }) {
        Ok(d) => Ok(super::json::success(&d, &[], &[])),
        Err(e) => Ok(
            ApiError::internal(format!("cannot encode the answer: {e}"), Style::Json)
                .into_response(),
        ),
    }
}
