//! `GET/POST /silences` and `GET/DELETE /silence/{id}`. Every change is persisted before
//! the answer, so an acknowledged silence survives a crash.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_alerting::{Silence, SilenceState, parse_matchers};
use cairn_model::{MatchOp, Matcher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Am, AmError, query_pairs, time};
use crate::alertmanager::AlertmanagerService;

/// Alertmanager's `matcher`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// Alertmanager's `postableSilence`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<ApiMatcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize)]
struct SilenceStatus {
    state: &'static str,
}

/// Alertmanager's `gettableSilence`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence {
    id: String,
    status: SilenceStatus,
    updated_at: String,
    matchers: Vec<ApiMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

fn gettable(s: Silence, now: DateTime<Utc>) -> (SilenceState, DateTime<Utc>, GettableSilence) {
    let state = s.state(now);
    let sort_time = match state {
        SilenceState::Pending => s.starts_at,
        _ => s.ends_at,
    };
    let g = GettableSilence {
        status: SilenceStatus {
            state: state.as_str(),
        },
        updated_at: time(s.updated_at),
        matchers: s
            .matchers
            .iter()
            .map(|m| ApiMatcher {
                name: m.name.clone(),
                value: m.value.clone(),
                is_regex: matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
                is_equal: matches!(m.op, MatchOp::Equal | MatchOp::Regex),
            })
            .collect(),
        starts_at: time(s.starts_at),
        ends_at: time(s.ends_at),
        created_by: s.created_by,
        comment: s.comment,
        id: s.id,
    };
    (state, sort_time, g)
}

/// Now, to the millisecond: the API shows times in milliseconds, and a silence posted back
/// as it was read must compare equal to the stored one to be updated in place.
fn now_millis() -> DateTime<Utc> {
    millis(Utc::now())
}

fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Persists after a change; a failure is logged and counted, and the change stays in
/// memory (it is written again with the next change or maintenance).
async fn persist(svc: &AlertmanagerService) {
    if let Err(e) = svc.persist().await {
        tracing::error!(error = %e, "cannot persist alertmanager state");
    }
}

/// `GET /silences`: active first (soonest to end first), then pending (soonest to start),
/// then expired (most recent first), as Alertmanager sorts them.
pub(crate) async fn get_silences(Am(svc): Am, RawQuery(q): RawQuery) -> Response {
    let mut filter = Vec::new();
    for (_, f) in query_pairs(q.as_deref())
        .iter()
        .filter(|(k, _)| k == "filter")
    {
        match parse_matchers(f) {
            Ok(m) => filter.extend(m),
            Err(e) => return AmError::bad_request(e.to_string()).into_response(),
        }
    }
    let now = Utc::now();
    let mut list: Vec<_> = svc
        .silences()
        .list()
        .into_iter()
        // A silence passes when each filter matcher is one of its matchers.
        .filter(|s| filter.iter().all(|f| s.matchers.iter().any(|m| m == f)))
        .map(|s| gettable(s, now))
        .collect();
    let rank = |s: SilenceState| match s {
        SilenceState::Active => 0,
        SilenceState::Pending => 1,
        SilenceState::Expired => 2,
    };
    list.sort_by(|a, b| {
        rank(a.0).cmp(&rank(b.0)).then_with(|| match a.0 {
            SilenceState::Expired => b.1.cmp(&a.1),
            _ => a.1.cmp(&b.1),
        })
    });
    let out: Vec<GettableSilence> = list.into_iter().map(|(_, _, g)| g).collect();
    axum::Json(out).into_response()
}

/// `POST /silences`: creates a silence, or updates the one named by `id` (in place when
/// Alertmanager's rules allow, else by expiring it and issuing a new id).
pub(crate) async fn post_silence(Am(svc): Am, body: Bytes) -> Response {
    let p: PostableSilence = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return AmError::bad_request(format!("parsing silence body: {e}")).into_response();
        }
    };
    let mut matchers = Vec::with_capacity(p.matchers.len());
    for m in &p.matchers {
        let op = match (m.is_regex, m.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        };
        match Matcher::new(op, &m.name, &m.value) {
            Ok(m) => matchers.push(m),
            Err(e) => {
                return AmError::bad_request(format!(
                    "failed to convert API silence to internal silence: {e}"
                ))
                .into_response();
            }
        }
    }
    if p.starts_at >= p.ends_at {
        return AmError::bad_request(
            "Failed to create silence: start time must be before end time",
        )
        .into_response();
    }
    let now = now_millis();
    if p.ends_at < now {
        return AmError::bad_request("Failed to create silence: end time can't be in the past")
            .into_response();
    }
    let silence = Silence {
        id: p.id,
        matchers,
        starts_at: millis(p.starts_at),
        ends_at: millis(p.ends_at),
        created_by: p.created_by,
        comment: p.comment,
        updated_at: now,
    };
    match svc.silences().set(silence, now) {
        Ok(id) => {
            persist(&svc).await;
            axum::Json(serde_json::json!({ "silenceID": id })).into_response()
        }
        Err(cairn_alerting::Error::SilenceNotFound(id)) => {
            AmError::not_found(Some(format!("silence {id} not found"))).into_response()
        }
        Err(cairn_alerting::Error::Silence(m)) => AmError::bad_request(m).into_response(),
        Err(e) => AmError::bad_request(e.to_string()).into_response(),
    }
}

/// `GET /silence/{id}`: 404 without a body for an unknown id.
pub(crate) async fn get_silence(Am(svc): Am, Path(id): Path<String>) -> Response {
    match svc.silences().get(&id) {
        Some(s) => axum::Json(gettable(s, Utc::now()).2).into_response(),
        None => AmError::not_found(None).into_response(),
    }
}

/// `DELETE /silence/{id}`: expires the silence (an active one ends now, a pending one starts
/// and ends now); 404 for an unknown id.
pub(crate) async fn delete_silence(Am(svc): Am, Path(id): Path<String>) -> Response {
    match svc.silences().expire(&id, now_millis()) {
        Ok(()) => {
            persist(&svc).await;
            StatusCode::OK.into_response()
        }
        Err(cairn_alerting::Error::SilenceNotFound(_)) => AmError::not_found(None).into_response(),
        Err(cairn_alerting::Error::Silence(m)) => AmError::bad_request(m).into_response(),
        Err(e) => AmError::bad_request(e.to_string()).into_response(),
    }
}
