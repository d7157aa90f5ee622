//! Alertmanager API v2, served under `/alertmanager/api/v2/` and `/api/v2/`, with the JSON
//! shapes of Alertmanager's OpenAPI spec so that Prometheus can post alerts and `amtool`
//! can query alerts and manage silences. Errors are JSON strings, as Alertmanager answers.
//!
//! Tenancy: one alert manager, the default tenant's; `X-Scope-OrgID` is not consulted.

mod alerts;
mod silences;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cairn_model::Labels;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;

use super::AppState;
use crate::alertmanager::AlertmanagerService;

/// The API routes, to be nested under `/alertmanager/api/v2` and `/api/v2`.
pub(crate) fn api_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alerts::get_alerts).post(alerts::post_alerts))
        .route("/alerts/groups", get(alerts::get_groups))
        .route(
            "/silences",
            get(silences::get_silences).post(silences::post_silence),
        )
        .route(
            "/silence/{id}",
            get(silences::get_silence).delete(silences::delete_silence),
        )
        .route("/status", get(status))
        .route("/receivers", get(receivers))
}

/// Routes beside the API under `/alertmanager`: Alertmanager's own health, readiness and
/// reload endpoints at its route prefix.
pub(crate) fn prefix_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alertmanager/-/healthy", get(|| async { "OK" }))
        .route("/alertmanager/-/ready", get(|| async { "OK" }))
        .route("/alertmanager/-/reload", post(reload))
}

/// An answer in Alertmanager's style: a status and a JSON string (or nothing).
#[derive(Debug)]
pub(crate) struct AmError {
    status: StatusCode,
    message: Option<String>,
    retry_after: bool,
}

impl AmError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        AmError {
            status: StatusCode::BAD_REQUEST,
            message: Some(message.into()),
            retry_after: false,
        }
    }

    pub(crate) fn not_found(message: Option<String>) -> Self {
        AmError {
            status: StatusCode::NOT_FOUND,
            message,
            retry_after: false,
        }
    }

    fn unavailable(message: &str) -> Self {
        AmError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: Some(message.to_string()),
            retry_after: true,
        }
    }
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        let mut r = match self.message {
            Some(m) => (self.status, axum::Json(m)).into_response(),
            None => self.status.into_response(),
        };
        if self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// The alert manager, or 503 while the server is starting.
pub(crate) fn service(state: &AppState) -> Result<&Arc<AlertmanagerService>, AmError> {
    state
        .alertmanager
        .get()
        .ok_or_else(|| AmError::unavailable("the alert manager is starting"))
}

/// The alert manager as a handler argument: the handler runs only once it exists, and the
/// request gets [`service`]'s 503 before that.
pub(crate) struct Am(pub(crate) Arc<AlertmanagerService>);

impl FromRequestParts<Arc<AppState>> for Am {
    type Rejection = AmError;

    async fn from_request_parts(_: &mut Parts, state: &Arc<AppState>) -> Result<Self, AmError> {
        service(state).map(|s| Am(Arc::clone(s)))
    }
}

/// Alertmanager's time format (`strfmt.DateTime`): RFC 3339, milliseconds, UTC.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A label set as a JSON object.
pub(crate) fn label_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// `{"name": ...}`.
#[derive(Serialize)]
pub(crate) struct ReceiverName {
    pub(crate) name: String,
}

/// Query parameters in order, keys repeated (`filter=a&filter=b`).
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A boolean parameter with a default; anything but `true`/`false` is a 400.
pub(crate) fn bool_param(
    pairs: &[(String, String)],
    name: &str,
    default: bool,
) -> Result<bool, AmError> {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(AmError::bad_request(format!(
                "{name} in query must be of type bool: \"{other}\""
            ))),
        },
    }
}

/// `GET /status`.
async fn status(Am(svc): Am) -> Response {
    axum::Json(json!({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
            "branch": option_env!("CAIRN_GIT_BRANCH").unwrap_or("unknown"),
            "buildUser": "",
            "buildDate": option_env!("CAIRN_BUILD_DATE").unwrap_or("unknown"),
            "goVersion": "",
        },
        "config": {"original": svc.original_config()},
        "uptime": time(svc.started()),
    }))
    .into_response()
}

/// `GET /receivers`.
async fn receivers(Am(svc): Am) -> Response {
    let names: Vec<ReceiverName> = svc
        .dispatcher()
        .config()
        .receivers
        .iter()
        .map(|r| ReceiverName {
            name: r.name.clone(),
        })
        .collect();
    axum::Json(names).into_response()
}

/// `POST /alertmanager/-/reload`: re-reads the Alertmanager configuration.
pub(crate) async fn reload(Am(svc): Am) -> Response {
    match svc.reload() {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

/// `POST /-/reload` (and SIGHUP, by each component's own listener): the Alertmanager
/// configuration, then the rule files; 500 naming what failed when either fails, each
/// keeping its current configuration.
pub(crate) async fn reload_all(State(state): State<Arc<AppState>>) -> Response {
    let am = match state.alertmanager.get() {
        Some(svc) => svc.reload().err(),
        None => None,
    };
    let rules = super::rules::reload(State(Arc::clone(&state))).await;
    match am {
        None => rules,
        Some(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests;
