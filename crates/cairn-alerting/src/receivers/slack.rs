//! Slack: incoming webhooks and the Web API's `chat.postMessage`, in Alertmanager's message
//! shape (one attachment), with a per-channel pace that keeps under Slack's limit of about one
//! message a second and follows its `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use cairn_template::Value;
use serde::Serialize;
use tokio::time::Instant;

use super::metrics::Labels;
use super::retry::{self, Attempt, FailReason, Failure};
use super::{Endpoint, HttpNotifier, Reply, auth_headers, permanent, secret, truncate_chars};
use crate::config::SlackConfig;
use crate::notify::{Notification, WebhookMessage};

/// Slack's Web API endpoint used with an app token when no `app_url` is set.
pub(crate) const DEFAULT_APP_URL: &str = "https://slack.com/api/chat.postMessage";
/// Alertmanager cuts titles to this many characters.
const MAX_TITLE_CHARS: usize = 1024;
/// Slack cuts message text at 40,000 characters; we cut first so the cut is visible.
const MAX_TEXT_CHARS: usize = 40_000;
/// Web API errors worth another try.
const TRANSIENT_API_ERRORS: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// The body of a Slack message.
#[derive(Debug, Serialize)]
pub(crate) struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    fallback: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    mrkdwn_in: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Field {
    title: String,
    value: String,
    short: bool,
}

#[derive(Debug, Serialize)]
struct Action {
    #[serde(rename = "type")]
    kind: String,
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

#[derive(Debug, Serialize)]
struct Confirm {
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dismiss_text: String,
}

/// Link buttons added when the config sets no `actions`: annotation -> button text.
pub(crate) const LINK_ANNOTATIONS: [(&str, &str); 3] = [
    ("runbook_url", "Runbook"),
    ("dashboard_url", "Dashboard"),
    ("slo_url", "SLO"),
];

/// The default colour: `good` when resolved; when firing, `warning` for warning or ticket
/// severities and `danger` otherwise.
fn default_color(m: &WebhookMessage) -> &'static str {
    if m.status != "firing" {
        return "good";
    }
    let sev = m
        .common_labels
        .get("severity")
        .or_else(|| m.common_labels.get("sloth_severity"))
        .map(|s| s.to_ascii_lowercase());
    match sev.as_deref() {
        Some("warning" | "ticket" | "info") => "warning",
        _ => "danger",
    }
}

/// Builds the message a Slack config asks for.
pub(crate) fn build(
    h: &HttpNotifier,
    c: &SlackConfig,
    m: &WebhookMessage,
    data: &Value,
) -> Result<Message, String> {
    let t = &h.templates;
    let r = |configured: &Option<String>, default: &str| {
        t.render_or(configured.as_deref(), default, data)
    };
    let opt = |configured: &Option<String>| match configured {
        Some(s) => t.render(s, data),
        None => Ok(String::new()),
    };
    let short_default = c.short_fields.unwrap_or(false);
    let mut fields = Vec::new();
    for f in c.fields.iter().flatten() {
        fields.push(Field {
            title: t.render(&f.title, data)?,
            value: t.render(&f.value, data)?,
            short: f.short.unwrap_or(short_default),
        });
    }
    let mut actions = Vec::new();
    match &c.actions {
        Some(list) => {
            for a in list {
                let confirm = match &a.confirm {
                    Some(cf) => Some(Confirm {
                        text: t.render(&cf.text, data)?,
                        title: opt(&cf.title)?,
                        ok_text: opt(&cf.ok_text)?,
                        dismiss_text: opt(&cf.dismiss_text)?,
                    }),
                    None => None,
                };
                actions.push(Action {
                    kind: t.render(&a.kind, data)?,
                    text: t.render(&a.text, data)?,
                    url: opt(&a.url)?,
                    style: opt(&a.style)?,
                    name: opt(&a.name)?,
                    value: opt(&a.value)?,
                    confirm,
                });
            }
        }
        None => {
            for (key, text) in LINK_ANNOTATIONS {
                if let Some(url) = m.common_annotations.get(key).filter(|u| !u.is_empty()) {
                    actions.push(Action {
                        kind: "button".to_string(),
                        text: text.to_string(),
                        url: url.clone(),
                        style: String::new(),
                        name: String::new(),
                        value: String::new(),
                        confirm: None,
                    });
                }
            }
        }
    }
    let color = match &c.color {
        Some(s) => t.render(s, data)?,
        None => default_color(m).to_string(),
    };
    let attachment = Attachment {
        title: truncate_chars(&r(&c.title, "slack.default.title")?, MAX_TITLE_CHARS),
        title_link: r(&c.title_link, "slack.default.titlelink")?,
        pretext: r(&c.pretext, "slack.default.pretext")?,
        text: truncate_chars(&r(&c.text, "slack.default.text")?, MAX_TEXT_CHARS),
        fallback: truncate_chars(&r(&c.fallback, "slack.default.fallback")?, MAX_TEXT_CHARS),
        callback_id: r(&c.callback_id, "slack.default.callbackid")?,
        fields,
        actions,
        image_url: opt(&c.image_url)?,
        thumb_url: opt(&c.thumb_url)?,
        footer: r(&c.footer, "slack.default.footer")?,
        color,
        mrkdwn_in: c
            .mrkdwn_in
            .clone()
            .unwrap_or_else(|| ["fallback", "pretext", "text"].map(String::from).to_vec()),
    };
    Ok(Message {
        channel: opt(&c.channel)?,
        username: r(&c.username, "slack.default.username")?,
        icon_emoji: r(&c.icon_emoji, "slack.default.iconemoji")?,
        icon_url: r(&c.icon_url, "slack.default.iconurl")?,
        link_names: c.link_names.unwrap_or(false),
        attachments: vec![attachment],
    })
}

/// Delivers one notification through a Slack config.
pub(crate) async fn deliver(
    h: &HttpNotifier,
    labels: &Labels,
    c: &SlackConfig,
    e: &Endpoint,
    n: &Notification,
    data: &Value,
) -> Result<u32, Failure> {
    let msg = build(h, c, &n.message, data).map_err(|m| permanent(FailReason::Config, m))?;
    let body = serde_json::to_vec(&msg)
        .map_err(|err| permanent(FailReason::Config, format!("encoding the message: {err}")))?;
    let token = secret(c.app_token.as_ref(), c.app_token_file.as_ref())?;
    let url = match (&token, secret(c.api_url.as_ref(), c.api_url_file.as_ref())?) {
        (Some(_), _) => c
            .app_url
            .clone()
            .unwrap_or_else(|| DEFAULT_APP_URL.to_string()),
        (None, Some(u)) => u,
        (None, None) => {
            return Err(permanent(
                FailReason::Config,
                "no api_url, api_url_file or app_token".to_string(),
            ));
        }
    };
    let mut headers = auth_headers(c.http_config.as_ref())?;
    if let Some(tok) = &token {
        let mut v =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {tok}")).map_err(|_| {
                permanent(
                    FailReason::Config,
                    "app_token is not a valid header value".into(),
                )
            })?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    // The Web API answers 200 with a JSON verdict; incoming webhooks answer `ok`.
    let web_api = token.is_some() || url.contains("/api/chat.");
    let channel_key = format!("{url}#{}", msg.channel);
    retry::run(h.policy(), |_| {
        let (url, headers, body, key) = (&url, headers.clone(), body.clone(), &channel_key);
        async move {
            h.slack_limiter.acquire(key).await;
            let (attempt, _) = h
                .post(labels, e, url, headers, body, |reply| {
                    if web_api {
                        api_verdict(reply)
                    } else {
                        Attempt::Done
                    }
                })
                .await;
            if let Attempt::Transient {
                reason: FailReason::RateLimited,
                retry_after: Some(d),
                ..
            } = &attempt
            {
                h.slack_limiter.hold(key, *d);
            }
            attempt
        }
    })
    .await
}

/// Reads the `{"ok": ..., "error": ...}` answer of the Web API.
fn api_verdict(reply: &Reply) -> Attempt {
    #[derive(serde::Deserialize)]
    struct Verdict {
        ok: bool,
        #[serde(default)]
        error: String,
    }
    match serde_json::from_str::<Verdict>(&reply.body) {
        Ok(v) if v.ok => Attempt::Done,
        Ok(v) if TRANSIENT_API_ERRORS.contains(&v.error.as_str()) => Attempt::Transient {
            reason: if v.error == "ratelimited" {
                FailReason::RateLimited
            } else {
                FailReason::ServerError
            },
            message: format!("slack api error {:?}", v.error),
            retry_after: reply.retry_after,
        },
        Ok(v) => Attempt::Permanent {
            reason: FailReason::ClientError,
            message: format!("slack api error {:?}", v.error),
        },
        Err(_) => Attempt::Permanent {
            reason: FailReason::ClientError,
            message: format!("slack api answered without a verdict: {}", reply.snippet()),
        },
    }
}

/// Paces messages per channel: each channel gets a slot at most every `interval`, and a 429's
/// `Retry-After` holds the channel back for that long. Callers queue in slot order.
pub(crate) struct ChannelLimiter {
    interval: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl ChannelLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        ChannelLimiter {
            interval,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the channel's next free slot and takes it.
    pub(crate) async fn acquire(&self, key: &str) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if next.len() > 10_000 {
                next.retain(|_, t| *t > now);
            }
            let slot = next.get(key).copied().unwrap_or(now).max(now);
            next.insert(key.to_string(), slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Keeps the channel free of messages for `d`.
    pub(crate) fn hold(&self, key: &str, d: Duration) {
        let until = Instant::now() + d;
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let e = next.entry(key.to_string()).or_insert(until);
        *e = (*e).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_spaces_messages_per_channel() {
        let ms = Duration::from_millis;
        let l = ChannelLimiter::new(ms(100));
        let t0 = Instant::now();
        l.acquire("a").await;
        l.acquire("b").await;
        assert!(t0.elapsed() < ms(50), "channels are independent");
        l.acquire("a").await;
        assert!(t0.elapsed() >= ms(100));
        l.hold("b", ms(300));
        l.acquire("b").await;
        assert!(t0.elapsed() >= ms(400));
    }

    #[test]
    fn api_verdicts() {
        let reply = |body: &str| Reply {
            status: 200,
            retry_after: None,
            body: body.to_string(),
        };
        assert!(matches!(
            api_verdict(&reply(r#"{"ok":true}"#)),
            Attempt::Done
        ));
        assert!(matches!(
            api_verdict(&reply(r#"{"ok":false,"error":"channel_not_found"}"#)),
            Attempt::Permanent { .. }
        ));
        assert!(matches!(
            api_verdict(&reply(r#"{"ok":false,"error":"ratelimited"}"#)),
            Attempt::Transient {
                reason: FailReason::RateLimited,
                ..
            }
        ));
        assert!(matches!(
            api_verdict(&reply("ok")),
            Attempt::Permanent { .. }
        ));
    }
}
