//! `GET/POST /alerts` and `GET /alerts/groups`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_alerting::{Alert, Dispatcher, PostableAlert, matches_all, parse_matchers};
use cairn_model::{LabelError, Labels, MatchOp, Matcher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Am, AmError, ReceiverName, bool_param, label_map, query_pairs, time};

/// Alertmanager's `postableAlert`; unknown fields are ignored as go-swagger does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPostableAlert {
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
}

/// Alertmanager's `gettableAlert`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GettableAlert {
    annotations: BTreeMap<String, String>,
    ends_at: String,
    fingerprint: String,
    receivers: Vec<ReceiverName>,
    starts_at: String,
    status: AlertStatus,
    updated_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    state: &'static str,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
    muted_by: Vec<String>,
}

#[derive(Serialize)]
struct AlertGroup {
    labels: BTreeMap<String, String>,
    receiver: ReceiverName,
    alerts: Vec<GettableAlert>,
}

/// A time as posted; Go's zero time means unset.
fn parse_time(field: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let t = DateTime::parse_from_rfc3339(v)
        .map_err(|e| format!("{field} in body must be of type date-time: \"{v}\" ({e})"))?
        .with_timezone(&Utc);
    Ok((t.timestamp() > -62_135_596_800).then_some(t))
}

/// Checks one posted alert with Alertmanager's messages and turns it into the dispatcher's
/// form.
fn validate(raw: RawPostableAlert) -> Result<PostableAlert, String> {
    let starts_at = parse_time("startsAt", raw.starts_at.as_deref())?;
    let ends_at = parse_time("endsAt", raw.ends_at.as_deref())?;
    let labels = raw.labels.unwrap_or_default();
    if let Some((name, _)) = labels.iter().find(|(n, _)| n.is_empty()) {
        return Err(format!("invalid label set: invalid name \"{name}\""));
    }
    if let Some((name, _)) = raw.annotations.iter().find(|(n, _)| n.is_empty()) {
        return Err(format!("invalid annotations: invalid name \"{name}\""));
    }
    let labels = match Labels::from_pairs(labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
        Ok(l) if !l.is_empty() => l,
        Ok(_) | Err(LabelError::Empty) => return Err("at least one label pair required".into()),
        Err(e) => return Err(format!("invalid label set: {e}")),
    };
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e < s
    {
        return Err("start time must be before end time".to_string());
    }
    Ok(PostableAlert {
        labels,
        annotations: raw.annotations,
        starts_at,
        ends_at,
        generator_url: raw.generator_url,
    })
}

/// `POST /alerts`: the valid alerts are kept even when others are refused (400 listing
/// every reason, as Alertmanager does).
pub(crate) async fn post_alerts(Am(svc): Am, body: Bytes) -> Response {
    let raw: Vec<RawPostableAlert> = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return AmError::bad_request(format!("parsing alerts body: {e}")).into_response(),
    };
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(raw.len());
    for a in raw {
        match validate(a) {
            Ok(p) => valid.push(p),
            Err(e) => errors.push(e),
        }
    }
    let refused = errors.len();
    for e in svc.put_alerts(valid) {
        errors.push(match e {
            cairn_alerting::Error::Alert(m) => m,
            other => other.to_string(),
        });
    }
    for _ in 0..refused {
        svc.metrics.invalid.inc();
    }
    if errors.is_empty() {
        StatusCode::OK.into_response()
    } else {
        tracing::debug!(errors = %errors.join("; "), "refused posted alerts");
        AmError::bad_request(errors.join("; ")).into_response()
    }
}

/// The filters `GET /alerts` and `GET /alerts/groups` share.
struct Filter {
    matchers: Vec<Matcher>,
    receiver: Option<Matcher>,
    active: bool,
    silenced: bool,
    inhibited: bool,
    muted: bool,
}

impl Filter {
    fn parse(q: Option<&str>) -> Result<Filter, AmError> {
        let pairs = query_pairs(q);
        let mut matchers = Vec::new();
        for (_, f) in pairs.iter().filter(|(k, _)| k == "filter") {
            matchers.extend(parse_matchers(f).map_err(|e| AmError::bad_request(e.to_string()))?);
        }
        let receiver = match pairs.iter().rev().find(|(k, _)| k == "receiver") {
            Some((_, r)) => Some(Matcher::new(MatchOp::Regex, "receiver", r).map_err(|e| {
                AmError::bad_request(format!("failed to parse receiver param: {}", e.reason))
            })?),
            None => None,
        };
        // `unprocessed` is accepted for compatibility: every alert is processed on arrival.
        bool_param(&pairs, "unprocessed", true)?;
        Ok(Filter {
            matchers,
            receiver,
            active: bool_param(&pairs, "active", true)?,
            silenced: bool_param(&pairs, "silenced", true)?,
            inhibited: bool_param(&pairs, "inhibited", true)?,
            muted: bool_param(&pairs, "muted", true)?,
        })
    }

    fn receiver_ok(&self, name: &str) -> bool {
        self.receiver.as_ref().is_none_or(|m| m.matches(name))
    }
}

/// An alert in API form with its current status, or `None` when `f` filters it out.
fn gettable(
    d: &Dispatcher,
    a: &Alert,
    f: &Filter,
    receivers: Vec<String>,
    muted_by: &[String],
    now: DateTime<Utc>,
) -> Option<GettableAlert> {
    if a.resolved_at(now) || !matches_all(&f.matchers, &a.labels) {
        return None;
    }
    let (silenced_by, inhibited_by) = d.mute_status(a, now);
    let inhibited_by: Vec<String> = inhibited_by
        .map(|fp| vec![format!("{fp:016x}")])
        .unwrap_or_default();
    let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty() || !muted_by.is_empty();
    if (!f.active && !suppressed)
        || (!f.silenced && !silenced_by.is_empty())
        || (!f.inhibited && !inhibited_by.is_empty())
    {
        return None;
    }
    Some(GettableAlert {
        annotations: a.annotations.clone(),
        ends_at: time(a.ends_at),
        fingerprint: format!("{:016x}", a.fingerprint()),
        receivers: receivers
            .into_iter()
            .map(|name| ReceiverName { name })
            .collect(),
        starts_at: time(a.starts_at),
        status: AlertStatus {
            state: if suppressed { "suppressed" } else { "active" },
            silenced_by,
            inhibited_by,
            muted_by: muted_by.to_vec(),
        },
        updated_at: time(a.updated_at),
        generator_url: a.generator_url.clone(),
        labels: label_map(&a.labels),
    })
}

/// `GET /alerts`: alerts not yet resolved, by fingerprint.
pub(crate) async fn get_alerts(Am(svc): Am, RawQuery(q): RawQuery) -> Response {
    let f = match Filter::parse(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let d = svc.dispatcher();
    let now = Utc::now();
    let mut out: Vec<GettableAlert> = d
        .alerts()
        .iter()
        .filter_map(|a| {
            let receivers = d.receivers_for(&a.labels);
            if f.receiver.is_some() && !receivers.iter().any(|r| f.receiver_ok(r)) {
                return None;
            }
            gettable(&d, a, &f, receivers, &[], now)
        })
        .collect();
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    axum::Json(out).into_response()
}

/// `GET /alerts/groups`: aggregation groups with their alerts; groups left without alerts
/// by the filters are omitted.
pub(crate) async fn get_groups(Am(svc): Am, RawQuery(q): RawQuery) -> Response {
    let f = match Filter::parse(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let d = svc.dispatcher();
    let now = Utc::now();
    let mut out = Vec::new();
    for g in d.groups() {
        if !f.receiver_ok(&g.receiver) {
            continue;
        }
        let muted_by = d.time_muted_by(g.route_id, now);
        if !f.muted && !muted_by.is_empty() {
            continue;
        }
        let alerts: Vec<GettableAlert> = g
            .alerts
            .iter()
            .filter_map(|a| gettable(&d, a, &f, d.receivers_for(&a.labels), &muted_by, now))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(AlertGroup {
            labels: label_map(&g.labels),
            receiver: ReceiverName { name: g.receiver },
            alerts,
        });
    }
    axum::Json(out).into_response()
}
