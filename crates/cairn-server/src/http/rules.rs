//! `GET /api/v1/rules`, `GET /api/v1/alerts` and `POST /-/reload`, answered as Prometheus'
//! `web/api/v1/api.go` does (same field names and order).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_model::{Labels, Matcher};
use cairn_rules::{Alert, AlertState, GroupSnapshot, RuleKind, RuleSnapshot};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::params::{ApiRequest, parse_selector};
use super::{ApiError, AppState, Style};
use crate::rules::RulesService;

#[derive(Serialize)]
struct RuleGroupJson {
    name: String,
    file: String,
    rules: Vec<RuleJson>,
    #[serde(serialize_with = "go_float")]
    interval: f64,
    limit: usize,
    #[serde(serialize_with = "go_float")]
    #[serde(rename = "evaluationTime")]
    evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    last_evaluation: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RuleJson {
    Alerting(AlertingRuleJson),
    Recording(RecordingRuleJson),
}

#[derive(Serialize)]
struct GroupsJson {
    groups: Vec<RuleGroupJson>,
    #[serde(rename = "groupNextToken", skip_serializing_if = "Option::is_none")]
    group_next_token: Option<String>,
}

#[derive(Serialize)]
struct AlertsJson {
    alerts: Vec<AlertJson>,
}

#[derive(Serialize)]
struct AlertingRuleJson {
    state: &'static str,
    name: String,
    query: String,
    #[serde(serialize_with = "go_float")]
    duration: f64,
    #[serde(serialize_with = "go_float")]
    #[serde(rename = "keepFiringFor")]
    keep_firing_for: f64,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    alerts: Option<Vec<AlertJson>>,
    health: &'static str,
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(serialize_with = "go_float")]
    #[serde(rename = "evaluationTime")]
    evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    last_evaluation: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct RecordingRuleJson {
    name: String,
    query: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    health: &'static str,
    #[serde(rename = "lastError", skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(serialize_with = "go_float")]
    #[serde(rename = "evaluationTime")]
    evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    last_evaluation: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct AlertJson {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    state: &'static str,
    #[serde(rename = "activeAt", skip_serializing_if = "Option::is_none")]
    active_at: Option<String>,
    #[serde(rename = "keepFiringSince", skip_serializing_if = "Option::is_none")]
    keep_firing_since: Option<String>,
    value: String,
}

/// Floats as Go's `encoding/json` writes them: integral values without a fraction.
fn go_float<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn service(state: &AppState) -> Result<&Arc<RulesService>, ApiError> {
    state.rules.get().ok_or_else(|| {
        ApiError::unavailable("the rule engine is starting, retry shortly", Style::Json)
    })
}

/// Go's `time.Time` in JSON (RFC 3339 with up to nanoseconds); the zero time when unset.
fn go_time(t: Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

fn ms_time(t_ms: i64) -> String {
    go_time(DateTime::<Utc>::from_timestamp_millis(t_ms))
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `1.5e-07`.
pub(crate) fn format_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let Some((mantissa, exp)) = s.split_once('e') else {
        return s;
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

fn label_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|r| (r.name.to_string(), r.value.to_string()))
        .collect()
}

fn alert_json(a: &Alert) -> AlertJson {
    AlertJson {
        labels: label_map(&a.labels),
        annotations: a.annotations.clone(),
        state: a.state.as_str(),
        active_at: Some(ms_time(a.active_at_ms)),
        keep_firing_since: a.keep_firing_since_ms.map(ms_time),
        value: format_e(a.value),
    }
}

fn rule_json(r: &RuleSnapshot, exclude_alerts: bool) -> RuleJson {
    let eval_time = r.evaluation_time.as_secs_f64();
    let last = go_time(r.last_evaluation);
    match &r.rule.kind {
        RuleKind::Alerting {
            for_,
            keep_firing_for,
            annotations,
        } => RuleJson::Alerting(AlertingRuleJson {
            state: r.state.as_str(),
            name: r.rule.name.clone(),
            query: r.rule.query_string(),
            duration: for_.as_secs_f64(),
            keep_firing_for: keep_firing_for.as_secs_f64(),
            labels: r.rule.labels.clone(),
            annotations: annotations.clone(),
            alerts: (!exclude_alerts).then(|| r.alerts.iter().map(alert_json).collect()),
            health: r.health.as_str(),
            last_error: r.last_error.clone(),
            evaluation_time: eval_time,
            last_evaluation: last,
            kind: "alerting",
        }),
        RuleKind::Recording => RuleJson::Recording(RecordingRuleJson {
            name: r.rule.name.clone(),
            query: r.rule.query_string(),
            labels: r.rule.labels.clone(),
            health: r.health.as_str(),
            last_error: r.last_error.clone(),
            evaluation_time: eval_time,
            last_evaluation: last,
            kind: "recording",
        }),
    }
}

/// Serialised from structs, so that fields keep Prometheus' order.
fn success(data: &impl Serialize) -> Response {
    match serde_json::to_string(data) {
        Ok(d) => super::json::success(&d, &[], &[]),
        Err(e) => ApiError::internal(format!("cannot encode the answer: {e}"), Style::Json)
            .into_response(),
    }
}

fn matches_rule(r: &RuleSnapshot, selectors: &[Vec<Vec<Matcher>>]) -> bool {
    if selectors.is_empty() {
        return true;
    }
    selectors.iter().flatten().any(|ms| {
        ms.iter().all(|m| {
            let v = r.rule.labels.get(&m.name).map_or("", String::as_str);
            m.matches(v)
        })
    })
}

/// `GET /api/v1/rules`.
pub(crate) async fn rules(
    State(state): State<Arc<AppState>>,
    ApiRequest { params, .. }: ApiRequest,
) -> Result<Response, ApiError> {
    let svc = service(&state)?;
    let kind = match params.get("type") {
        None => None,
        Some("alert") => Some(true),
        Some("record") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_data(
                format!("unsupported type {other:?}: use alert or record"),
                Style::Json,
            ));
        }
    };
    let exclude_alerts = match params.get("exclude_alerts") {
        None => false,
        Some(v) => v.parse::<bool>().map_err(|_| {
            ApiError::bad_data(
                format!("invalid parameter \"exclude_alerts\": {v:?} is not a boolean"),
                Style::Json,
            )
        })?,
    };
    let names = params.all("rule_name[]");
    let groups_f = params.all("rule_group[]");
    let files_f = params.all("file[]");
    let selectors = params
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_data(e, Style::Json))?;
    let (group_limit, mut next_token) = pagination(&params)?;
    let rule_filter = kind.is_some() || !names.is_empty() || !selectors.is_empty();
    let mut out = Vec::new();
    let mut group_next_token = None;
    for g in svc.manager.groups().await {
        if !groups_f.is_empty() && !groups_f.contains(&g.name.as_str()) {
            continue;
        }
        if !files_f.is_empty() && !files_f.contains(&g.file.as_str()) {
            continue;
        }
        let rules: Vec<RuleJson> = g
            .rules
            .iter()
            .filter(|r| kind.is_none_or(|k| r.rule.is_alert() == k))
            .filter(|r| names.is_empty() || names.contains(&r.rule.name.as_str()))
            .filter(|r| matches_rule(r, &selectors))
            .map(|r| rule_json(r, exclude_alerts))
            .collect();
        if rule_filter && rules.is_empty() {
            continue;
        }
        let token = group_token(&g);
        if let Some(t) = &next_token {
            if *t != token {
                continue;
            }
            next_token = None;
        }
        if group_limit.is_some_and(|n| out.len() == n) {
            group_next_token = Some(token);
            break;
        }
        out.push(group_json(&g, rules));
    }
    if let Some(t) = next_token {
        return Err(ApiError::bad_data(
            format!(
                "invalid parameter \"group_next_token\": invalid group_next_token '{t}'. were rule groups changed?"
            ),
            Style::Json,
        ));
    }
    Ok(success(&GroupsJson {
        groups: out,
        group_next_token,
    }))
}

/// `group_limit` and `group_next_token`, checked as Prometheus checks them.
fn pagination(params: &super::params::Params) -> Result<(Option<usize>, Option<String>), ApiError> {
    let bad = |name: &str, m: &str| {
        ApiError::bad_data(format!("invalid parameter \"{name}\": {m}"), Style::Json)
    };
    let token = params.get("group_next_token").map(str::to_string);
    let Some(limit) = params.get("group_limit") else {
        if token.is_some() {
            return Err(bad(
                "group_next_token",
                "group_limit needs to be present in order to paginate over the groups",
            ));
        }
        return Ok((None, None));
    };
    let n: i64 = limit.parse().map_err(|e| {
        bad(
            "group_limit",
            &format!("group_limit needs to be a valid number: {e}"),
        )
    })?;
    if n <= 0 {
        return Err(bad("group_limit", "group_limit needs to be greater than 0"));
    }
    Ok((Some(usize::try_from(n).unwrap_or(usize::MAX)), token))
}

/// An opaque token naming a group (its file and name), for pagination.
fn group_token(g: &GroupSnapshot) -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64(format!("{};{}", g.file, g.name).as_bytes())
    )
}

fn group_json(g: &GroupSnapshot, rules: Vec<RuleJson>) -> RuleGroupJson {
    RuleGroupJson {
        name: g.name.clone(),
        file: g.file.clone(),
        rules,
        interval: g.interval.as_secs_f64(),
        limit: g.limit,
        evaluation_time: g.evaluation_time.as_secs_f64(),
        last_evaluation: go_time(g.last_evaluation),
    }
}

/// `GET /api/v1/alerts`: every pending and firing alert.
pub(crate) async fn alerts(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let svc = service(&state)?;
    let mut list = Vec::new();
    for g in svc.manager.groups().await {
        for r in &g.rules {
            list.extend(
                r.alerts
                    .iter()
                    .filter(|a| a.state != AlertState::Inactive)
                    .map(alert_json),
            );
        }
    }
    Ok(success(&AlertsJson { alerts: list }))
}

/// The rule files' part of `POST /-/reload` (which also reloads the built-in alert
/// manager): a bad file keeps the current rules and answers 500 with the error, as
/// Prometheus does.
pub(crate) async fn reload(State(state): State<Arc<AppState>>) -> Response {
    let Some(svc) = state.rules.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the rule engine is starting, retry shortly\n",
        )
            .into_response();
    };
    match svc.reload().await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rule reload failed; keeping the current rules");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to reload config: {e}\n"),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests;
