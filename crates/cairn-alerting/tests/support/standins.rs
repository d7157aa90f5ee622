//! HTTP servers standing in for Slack, PagerDuty and a webhook receiver: each checks every
//! body against the documented schema, records what arrived, and answers as scripted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which service a stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Slack incoming webhook (answers `ok`).
    SlackWebhook,
    /// Slack Web API `chat.postMessage` (answers `{"ok":true}`).
    SlackApi,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// PagerDuty Events API v1 (`service_key`).
    PagerdutyV1,
    /// Alertmanager webhook v4 receiver.
    Webhook,
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// This status with a short body.
    Status(u16),
    /// 429 with `Retry-After: <secs>`.
    TooMany(u64),
    /// 200 with this body.
    Body(String),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    pub(crate) body: Value,
    pub(crate) at: Instant,
    /// Schema violations; empty when the body is valid.
    pub(crate) problems: Vec<String>,
}

struct Inner {
    kind: Kind,
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
}

/// A running stand-in.
#[derive(Clone)]
pub(crate) struct StandIn {
    pub(crate) url: String,
    inner: Arc<Inner>,
}

impl StandIn {
    /// Starts a stand-in on 127.0.0.1 with a free port.
    pub(crate) async fn start(kind: Kind) -> StandIn {
        let inner = Arc::new(Inner {
            kind,
            received: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        StandIn { url, inner }
    }

    /// Queues answers for the next requests; afterwards the service's success answer.
    pub(crate) fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.script.lock().unwrap().extend(answers);
    }

    /// Everything received so far, asserting that every body was valid.
    pub(crate) fn received(&self) -> Vec<Received> {
        let got = self.inner.received.lock().unwrap().clone();
        for r in &got {
            assert!(
                r.problems.is_empty(),
                "{:?} body violates the schema: {:?}\n{}",
                self.inner.kind,
                r.problems,
                serde_json::to_string_pretty(&r.body).unwrap()
            );
        }
        got
    }

    /// Everything received so far, valid or not.
    pub(crate) fn raw(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Takes everything received so far (checked as in [`StandIn::received`]).
    pub(crate) fn take(&self) -> Vec<Received> {
        let got = self.received();
        self.inner.received.lock().unwrap().clear();
        got
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let (body, mut problems) = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => (v, Vec::new()),
        Err(e) => (Value::Null, vec![format!("body is not JSON: {e}")]),
    };
    if problems.is_empty() {
        problems = match inner.kind {
            Kind::SlackWebhook => check_slack(&body, false),
            Kind::SlackApi => check_slack(&body, true),
            Kind::Pagerduty => check_pagerduty(&body),
            Kind::PagerdutyV1 => check_pagerduty_v1(&body),
            Kind::Webhook => check_webhook(&body),
        };
    }
    if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.starts_with("application/json"))
    {
        problems.push("content-type is not application/json".into());
    }
    let invalid = !problems.is_empty();
    let dedup = body["dedup_key"]
        .as_str()
        .unwrap_or("generated")
        .to_string();
    inner.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body,
        at,
        problems: problems.clone(),
    });
    if invalid {
        // What the real services do with a malformed body.
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": problems}).to_string(),
        )
            .into_response();
    }
    let scripted = inner.script.lock().unwrap().pop_front();
    match scripted {
        Some(Answer::Status(s)) => (
            StatusCode::from_u16(s).unwrap(),
            json!({"status": "scripted", "message": format!("scripted {s}")}).to_string(),
        )
            .into_response(),
        Some(Answer::TooMany(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "rate limited",
        )
            .into_response(),
        Some(Answer::Body(b)) => (StatusCode::OK, b).into_response(),
        None => match inner.kind {
            Kind::SlackWebhook => (StatusCode::OK, "ok").into_response(),
            Kind::SlackApi => (StatusCode::OK, json!({"ok": true}).to_string()).into_response(),
            Kind::Pagerduty => (
                StatusCode::ACCEPTED,
                json!({"status": "success", "message": "Event processed", "dedup_key": dedup})
                    .to_string(),
            )
                .into_response(),
            Kind::PagerdutyV1 => (
                StatusCode::OK,
                json!({"status": "success", "message": "Event processed", "incident_key": dedup})
                    .to_string(),
            )
                .into_response(),
            Kind::Webhook => StatusCode::OK.into_response(),
        },
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn check_keys(
    obj: &serde_json::Map<String, Value>,
    allowed: &[&str],
    at: &str,
    p: &mut Vec<String>,
) {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            p.push(format!("{at}: unknown field {k:?}"));
        }
    }
}

fn check_strings(
    obj: &serde_json::Map<String, Value>,
    keys: &[&str],
    at: &str,
    p: &mut Vec<String>,
) {
    for k in keys {
        if let Some(v) = obj.get(*k)
            && !v.is_string()
        {
            p.push(format!("{at}.{k} must be a string"));
        }
    }
}

/// Slack's `chat.postMessage` arguments and legacy attachments (api.slack.com/methods/
/// chat.postMessage, /reference/messaging/attachments).
fn check_slack(b: &Value, web_api: bool) -> Vec<String> {
    let mut p = Vec::new();
    let Some(o) = b.as_object() else {
        return vec!["message must be an object".into()];
    };
    check_keys(
        o,
        &[
            "channel",
            "username",
            "icon_emoji",
            "icon_url",
            "link_names",
            "text",
            "attachments",
            "blocks",
        ],
        "message",
        &mut p,
    );
    check_strings(
        o,
        &["channel", "username", "icon_emoji", "icon_url", "text"],
        "message",
        &mut p,
    );
    if web_api
        && o.get("channel")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        p.push("chat.postMessage requires channel".into());
    }
    if !o.contains_key("text") && !o.contains_key("attachments") && !o.contains_key("blocks") {
        p.push("one of text, attachments, blocks is required".into());
    }
    if let Some(e) = o.get("icon_emoji").and_then(Value::as_str)
        && !(e.len() > 2 && e.starts_with(':') && e.ends_with(':'))
    {
        p.push(format!("icon_emoji {e:?} is not :name:"));
    }
    if let Some(u) = o.get("icon_url").and_then(Value::as_str)
        && !is_url(u)
    {
        p.push("icon_url is not a URL".into());
    }
    if let Some(l) = o.get("link_names")
        && !l.is_boolean()
    {
        p.push("link_names must be a boolean".into());
    }
    let Some(atts) = o.get("attachments") else {
        return p;
    };
    let Some(atts) = atts.as_array() else {
        p.push("attachments must be an array".into());
        return p;
    };
    if atts.len() > 100 {
        p.push("more than 100 attachments".into());
    }
    for (i, a) in atts.iter().enumerate() {
        let at = format!("attachments[{i}]");
        let Some(a) = a.as_object() else {
            p.push(format!("{at} must be an object"));
            continue;
        };
        check_keys(
            a,
            &[
                "fallback",
                "color",
                "pretext",
                "author_name",
                "author_link",
                "author_icon",
                "title",
                "title_link",
                "text",
                "fields",
                "image_url",
                "thumb_url",
                "footer",
                "footer_icon",
                "ts",
                "mrkdwn_in",
                "actions",
                "callback_id",
            ],
            &at,
            &mut p,
        );
        check_strings(
            a,
            &[
                "fallback",
                "color",
                "pretext",
                "title",
                "title_link",
                "text",
                "image_url",
                "thumb_url",
                "footer",
                "callback_id",
            ],
            &at,
            &mut p,
        );
        if !a.contains_key("fallback") && !a.contains_key("text") {
            p.push(format!("{at}: fallback or text is required"));
        }
        if let Some(c) = a.get("color").and_then(Value::as_str) {
            let hex = c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
            if !["good", "warning", "danger"].contains(&c) && !hex {
                p.push(format!(
                    "{at}.color {c:?} is not good, warning, danger or #rrggbb"
                ));
            }
        }
        for k in ["title_link", "image_url", "thumb_url"] {
            if let Some(u) = a.get(k).and_then(Value::as_str)
                && !is_url(u)
            {
                p.push(format!("{at}.{k} {u:?} is not a URL"));
            }
        }
        if let Some(t) = a.get("title").and_then(Value::as_str)
            && t.chars().count() > 1024
        {
            p.push(format!("{at}.title longer than 1024 characters"));
        }
        if let Some(t) = a.get("text").and_then(Value::as_str)
            && t.chars().count() > 40_000
        {
            p.push(format!("{at}.text longer than 40000 characters"));
        }
        if let Some(m) = a.get("mrkdwn_in") {
            match m.as_array() {
                Some(list) => {
                    for v in list {
                        if !["pretext", "text", "fields", "fallback"]
                            .contains(&v.as_str().unwrap_or(""))
                        {
                            p.push(format!("{at}.mrkdwn_in has {v}"));
                        }
                    }
                }
                None => p.push(format!("{at}.mrkdwn_in must be an array")),
            }
        }
        if let Some(fields) = a.get("fields") {
            for (j, f) in fields.as_array().into_iter().flatten().enumerate() {
                let ok =
                    f["title"].is_string() && f["value"].is_string() && f["short"].is_boolean();
                if !ok {
                    p.push(format!(
                        "{at}.fields[{j}] needs string title, value and bool short"
                    ));
                }
            }
        }
        if let Some(actions) = a.get("actions") {
            let list = actions.as_array().cloned().unwrap_or_default();
            if list.len() > 5 {
                p.push(format!("{at}: more than 5 actions"));
            }
            for (j, act) in list.iter().enumerate() {
                if !["button", "select"].contains(&act["type"].as_str().unwrap_or("")) {
                    p.push(format!("{at}.actions[{j}].type must be button or select"));
                }
                if act["text"].as_str().is_none_or(str::is_empty) {
                    p.push(format!("{at}.actions[{j}].text is required"));
                }
                if let Some(u) = act.get("url")
                    && !u.as_str().is_some_and(is_url)
                {
                    p.push(format!("{at}.actions[{j}].url is not a URL"));
                }
                if let Some(s) = act.get("style")
                    && !["default", "primary", "danger"].contains(&s.as_str().unwrap_or(""))
                {
                    p.push(format!("{at}.actions[{j}].style {s}"));
                }
            }
        }
    }
    p
}

/// PagerDuty Events API v2 (PagerDuty/api-schema reference/events-v2/openapiv3.json).
fn check_pagerduty(b: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(o) = b.as_object() else {
        return vec!["event must be an object".into()];
    };
    if serde_json::to_vec(b).unwrap().len() > 512 * 1024 {
        p.push("event larger than 512 KB".into());
    }
    check_keys(
        o,
        &[
            "routing_key",
            "event_action",
            "dedup_key",
            "payload",
            "images",
            "links",
            "client",
            "client_url",
        ],
        "event",
        &mut p,
    );
    check_strings(
        o,
        &[
            "routing_key",
            "event_action",
            "dedup_key",
            "client",
            "client_url",
        ],
        "event",
        &mut p,
    );
    match o.get("routing_key").and_then(Value::as_str) {
        Some(k) if k.len() == 32 => {}
        _ => p.push("routing_key must be a 32 character integration key".into()),
    }
    let action = o.get("event_action").and_then(Value::as_str).unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        p.push(format!(
            "event_action {action:?} is not trigger, acknowledge or resolve"
        ));
    }
    match o.get("dedup_key").and_then(Value::as_str) {
        Some(k) if k.len() > 255 => p.push("dedup_key longer than 255".into()),
        None if action != "trigger" => {
            p.push("dedup_key is required for acknowledge and resolve".into())
        }
        _ => {}
    }
    if let Some(u) = o.get("client_url").and_then(Value::as_str)
        && !is_url(u)
    {
        p.push("client_url is not a URL".into());
    }
    match o.get("payload").and_then(Value::as_object) {
        None if action == "trigger" => p.push("payload is required for trigger".into()),
        None => {}
        Some(pl) => {
            check_keys(
                pl,
                &[
                    "summary",
                    "source",
                    "severity",
                    "timestamp",
                    "component",
                    "group",
                    "class",
                    "custom_details",
                ],
                "payload",
                &mut p,
            );
            check_strings(
                pl,
                &[
                    "summary",
                    "source",
                    "severity",
                    "timestamp",
                    "component",
                    "group",
                    "class",
                ],
                "payload",
                &mut p,
            );
            match pl.get("summary").and_then(Value::as_str) {
                Some(s) if !s.is_empty() && s.chars().count() <= 1024 => {}
                _ => p.push("payload.summary must have 1 to 1024 characters".into()),
            }
            if pl
                .get("source")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                p.push("payload.source is required".into());
            }
            let sev = pl.get("severity").and_then(Value::as_str).unwrap_or("");
            if !["critical", "error", "warning", "info"].contains(&sev) {
                p.push(format!(
                    "payload.severity {sev:?} is not critical, error, warning or info"
                ));
            }
            if let Some(ts) = pl.get("timestamp").and_then(Value::as_str)
                && chrono::DateTime::parse_from_rfc3339(ts).is_err()
            {
                p.push(format!("payload.timestamp {ts:?} is not ISO 8601"));
            }
            if let Some(d) = pl.get("custom_details")
                && !d.is_object()
            {
                p.push("payload.custom_details must be an object".into());
            }
        }
    }
    for (i, l) in o
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !l["href"].as_str().is_some_and(is_url) {
            p.push(format!("links[{i}].href is not a URL"));
        }
        if l.get("text").is_some_and(|t| !t.is_string()) {
            p.push(format!("links[{i}].text must be a string"));
        }
    }
    for (i, im) in o
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !im["src"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))
        {
            p.push(format!("images[{i}].src must be an https URL"));
        }
    }
    p
}

/// PagerDuty's Events API v1 (generic/2010-04-15/create_event.json).
fn check_pagerduty_v1(b: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(o) = b.as_object() else {
        return vec!["event must be an object".into()];
    };
    check_keys(
        o,
        &[
            "service_key",
            "event_type",
            "incident_key",
            "description",
            "details",
            "client",
            "client_url",
            "contexts",
        ],
        "event",
        &mut p,
    );
    check_strings(
        o,
        &[
            "service_key",
            "event_type",
            "incident_key",
            "description",
            "client",
            "client_url",
        ],
        "event",
        &mut p,
    );
    if o.get("service_key")
        .and_then(Value::as_str)
        .is_none_or(|k| k.len() != 32)
    {
        p.push("service_key must be a 32 character key".into());
    }
    let t = o.get("event_type").and_then(Value::as_str).unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&t) {
        p.push(format!(
            "event_type {t:?} is not trigger, acknowledge or resolve"
        ));
    }
    if t != "trigger" && !o.contains_key("incident_key") {
        p.push("incident_key is required for acknowledge and resolve".into());
    }
    match o.get("description").and_then(Value::as_str) {
        Some(d) if d.chars().count() <= 1024 => {}
        None if t != "trigger" => {}
        _ => p.push("description must have at most 1024 characters".into()),
    }
    if let Some(d) = o.get("details")
        && !d.is_object()
    {
        p.push("details must be an object".into());
    }
    p
}

/// Alertmanager's webhook version 4 body.
fn check_webhook(b: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(o) = b.as_object() else {
        return vec!["message must be an object".into()];
    };
    if o.get("version").and_then(Value::as_str) != Some("4") {
        p.push("version must be \"4\"".into());
    }
    for k in ["groupKey", "receiver", "externalURL"] {
        if !o.get(k).is_some_and(Value::is_string) {
            p.push(format!("{k} must be a string"));
        }
    }
    if !o.get("truncatedAlerts").is_some_and(Value::is_u64) {
        p.push("truncatedAlerts must be a non-negative integer".into());
    }
    let status_ok = |v: Option<&Value>| {
        ["firing", "resolved"].contains(&v.and_then(Value::as_str).unwrap_or(""))
    };
    if !status_ok(o.get("status")) {
        p.push("status must be firing or resolved".into());
    }
    let string_map = |v: Option<&Value>| {
        v.and_then(Value::as_object)
            .is_some_and(|m| m.values().all(Value::is_string))
    };
    for k in ["groupLabels", "commonLabels", "commonAnnotations"] {
        if !string_map(o.get(k)) {
            p.push(format!("{k} must be an object of strings"));
        }
    }
    let Some(alerts) = o.get("alerts").and_then(Value::as_array) else {
        p.push("alerts must be an array".into());
        return p;
    };
    for (i, a) in alerts.iter().enumerate() {
        if !status_ok(a.get("status")) {
            p.push(format!("alerts[{i}].status"));
        }
        for k in ["labels", "annotations"] {
            if !string_map(a.get(k)) {
                p.push(format!("alerts[{i}].{k} must be an object of strings"));
            }
        }
        for k in ["startsAt", "endsAt"] {
            if a[k]
                .as_str()
                .is_none_or(|t| chrono::DateTime::parse_from_rfc3339(t).is_err())
            {
                p.push(format!("alerts[{i}].{k} is not RFC 3339"));
            }
        }
        if !a["generatorURL"].is_string() {
            p.push(format!("alerts[{i}].generatorURL must be a string"));
        }
        if !a["fingerprint"]
            .as_str()
            .is_some_and(|f| f.len() == 16 && f.chars().all(|c| c.is_ascii_hexdigit()))
        {
            p.push(format!("alerts[{i}].fingerprint must be 16 hex digits"));
        }
    }
    p
}
