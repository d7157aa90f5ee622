//! Delivery over HTTP: the [`HttpNotifier`] turns a [`Notification`] into a Slack message, a
//! PagerDuty Events API v2 event or an Alertmanager webhook v4 body, renders its texts from
//! Go templates, and posts it with retries (exponential backoff, full jitter, `Retry-After`)
//! until it is accepted, refused for good, or the give-up time passes.
//!
//! Secrets (Slack webhook URLs, tokens, routing keys, credentials) are read at every send, so
//! that a rotated `*_file` takes effect without a restart, and never appear in logs or errors:
//! URLs are shown by origin only.

mod metrics;
mod pagerduty;
mod retry;
mod slack;
mod templates;
mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use tokio::time::Instant;

use crate::config::{Config, HttpConfig, IntegrationKind, Receiver, parse_duration};
use crate::error::{Error, Result};
use crate::notify::{Notification, Notifier, NotifyFuture};

pub use metrics::{
    NOTIFICATION_LATENCY_SECONDS, NOTIFICATION_REQUESTS_FAILED_TOTAL, NOTIFICATION_REQUESTS_TOTAL,
    NOTIFICATIONS_FAILED_TOTAL, NOTIFICATIONS_TOTAL, ReceiverMetrics,
};
pub use pagerduty::{pagerduty_dedup_key, slo_context};
pub use templates::{DEFAULT_TEMPLATES, template_data};

use metrics::Labels;
use retry::{Attempt, FailReason, Failure, Policy};
use templates::Templates;

/// Largest response body read from a receiver; only error messages are looked at.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Tunables of the [`HttpNotifier`].
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// How long one notification is retried before the notifier gives up and reports a
    /// failure (the dispatcher then retries at the group's next flush). The default, 5m, is
    /// Alertmanager's default `group_interval`, which also bounds a send in the dispatcher.
    pub give_up_after: Duration,
    /// Upper bound of the first random backoff.
    pub initial_backoff: Duration,
    /// Largest backoff between two attempts.
    pub max_backoff: Duration,
    /// Timeout of one HTTP request when the integration sets no `timeout`.
    pub request_timeout: Duration,
    /// Least time between two messages to one Slack channel (Slack allows about one a second).
    pub slack_channel_interval: Duration,
    /// Directory that relative `templates:` globs are resolved against.
    pub template_dir: Option<std::path::PathBuf>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            give_up_after: Duration::from_secs(5 * 60),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            slack_channel_interval: Duration::from_secs(1),
            template_dir: None,
        }
    }
}

/// One configured integration with its HTTP client.
struct Endpoint {
    client: reqwest::Client,
    timeout: Duration,
}

struct ReceiverEndpoints {
    receiver: Receiver,
    slack: Vec<Endpoint>,
    pagerduty: Vec<Endpoint>,
    webhook: Vec<Endpoint>,
}

/// Delivers notifications to Slack, PagerDuty and webhooks over HTTP.
pub struct HttpNotifier {
    receivers: BTreeMap<String, ReceiverEndpoints>,
    templates: Templates,
    metrics: ReceiverMetrics,
    options: NotifierOptions,
    slack_limiter: slack::ChannelLimiter,
}

impl std::fmt::Debug for HttpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNotifier")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl HttpNotifier {
    /// A notifier for every receiver of `config`; loads the `templates:` files and builds one
    /// HTTP client per integration.
    pub fn new(
        config: &Config,
        options: NotifierOptions,
        metrics: ReceiverMetrics,
    ) -> Result<HttpNotifier> {
        let templates = Templates::load(&config.templates, options.template_dir.as_deref())?;
        let mut receivers = BTreeMap::new();
        for r in &config.receivers {
            let where_ = |kind: &str, i: usize| format!("receiver {:?}: {kind}[{i}]", r.name);
            let mut ep = ReceiverEndpoints {
                receiver: r.clone(),
                slack: Vec::new(),
                pagerduty: Vec::new(),
                webhook: Vec::new(),
            };
            for (i, c) in r.slack_configs.iter().enumerate() {
                let w = where_("slack_configs", i);
                if c.update_message == Some(true) {
                    tracing::warn!(
                        "{w}: update_message is not supported yet; every notification is a new message"
                    );
                }
                ep.slack.push(endpoint(
                    &w,
                    c.http_config.as_ref(),
                    c.timeout.as_deref(),
                    &options,
                )?);
            }
            for (i, c) in r.pagerduty_configs.iter().enumerate() {
                let w = where_("pagerduty_configs", i);
                ep.pagerduty.push(endpoint(
                    &w,
                    c.http_config.as_ref(),
                    c.timeout.as_deref(),
                    &options,
                )?);
            }
            for (i, c) in r.webhook_configs.iter().enumerate() {
                let w = where_("webhook_configs", i);
                ep.webhook.push(endpoint(
                    &w,
                    c.http_config.as_ref(),
                    c.timeout.as_deref(),
                    &options,
                )?);
            }
            for text in config_texts(r) {
                templates
                    .check(text)
                    .map_err(|e| Error::Config(format!("receiver {:?}: {e}", r.name)))?;
            }
            receivers.insert(r.name.clone(), ep);
        }
        Ok(HttpNotifier {
            receivers,
            templates,
            slack_limiter: slack::ChannelLimiter::new(options.slack_channel_interval),
            metrics,
            options,
        })
    }

    fn policy(&self) -> Policy {
        Policy {
            initial: self.options.initial_backoff,
            max: self.options.max_backoff,
            give_up_after: self.options.give_up_after,
        }
    }

    async fn deliver(&self, n: &Notification) -> std::result::Result<u32, Failure> {
        let Some(ep) = self.receivers.get(&n.receiver) else {
            return Err(permanent(
                FailReason::Config,
                format!("no receiver named {:?}", n.receiver),
            ));
        };
        let data = template_data(&n.message);
        let i = n.integration.index;
        let missing = || {
            permanent(
                FailReason::Config,
                format!(
                    "{} integration {i} is not configured",
                    n.integration.kind.as_str()
                ),
            )
        };
        let labels = Labels::new(&n.receiver, n.integration.kind);
        match n.integration.kind {
            IntegrationKind::Slack => {
                let (Some(cfg), Some(e)) = (ep.receiver.slack_configs.get(i), ep.slack.get(i))
                else {
                    return Err(missing());
                };
                slack::deliver(self, &labels, cfg, e, n, &data).await
            }
            IntegrationKind::Pagerduty => {
                let (Some(cfg), Some(e)) =
                    (ep.receiver.pagerduty_configs.get(i), ep.pagerduty.get(i))
                else {
                    return Err(missing());
                };
                pagerduty::deliver(self, &labels, cfg, e, n, &data).await
            }
            IntegrationKind::Webhook => {
                let (Some(cfg), Some(e)) = (ep.receiver.webhook_configs.get(i), ep.webhook.get(i))
                else {
                    return Err(missing());
                };
                webhook::deliver(self, &labels, cfg, e, n).await
            }
        }
    }

    /// Posts `body` once and classifies the answer; `check` may turn a 2xx into a failure
    /// (Slack's `ok:false`). Counts the request in the metrics.
    async fn post(
        &self,
        labels: &Labels,
        endpoint: &Endpoint,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        check: impl FnOnce(&Reply) -> Attempt,
    ) -> (Attempt, Option<Reply>) {
        self.metrics.requests.get_or_create(labels).inc();
        let sent = endpoint
            .client
            .post(url)
            .timeout(endpoint.timeout)
            .headers(headers)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let attempt_and_reply = match sent {
            Err(e) => (
                Attempt::Transient {
                    reason: FailReason::Connection,
                    message: format!("posting to {}: {}", redact_url(url), e.without_url()),
                    retry_after: None,
                },
                None,
            ),
            Ok(resp) => {
                let reply = Reply::read(resp).await;
                let attempt = classify(&reply, url, check);
                (attempt, Some(reply))
            }
        };
        if !matches!(attempt_and_reply.0, Attempt::Done) {
            self.metrics.requests_failed.get_or_create(labels).inc();
        }
        attempt_and_reply
    }
}

impl Notifier for HttpNotifier {
    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(async move {
            let labels = Labels::new(&n.receiver, n.integration.kind);
            let start = Instant::now();
            self.metrics.notifications.get_or_create(&labels).inc();
            let mut canceled = CancelGuard {
                metrics: &self.metrics,
                labels: &labels,
                armed: true,
            };
            let outcome = self.deliver(n).await;
            canceled.armed = false;
            self.metrics
                .latency
                .get_or_create(&labels)
                .observe(start.elapsed().as_secs_f64());
            match outcome {
                Ok(attempts) => {
                    tracing::debug!(
                        receiver = %n.receiver,
                        integration = n.integration.kind.as_str(),
                        group = %n.message.group_key,
                        attempts,
                        "notification delivered"
                    );
                    Ok(())
                }
                Err(f) => {
                    self.metrics
                        .notifications_failed
                        .get_or_create(&labels.with_reason(f.reason))
                        .inc();
                    tracing::warn!(
                        receiver = %n.receiver,
                        integration = n.integration.kind.as_str(),
                        group = %n.message.group_key,
                        reason = f.reason.as_str(),
                        attempts = f.attempts,
                        retryable = f.retryable,
                        error = %f.message,
                        "notification failed"
                    );
                    Err(Error::Notify {
                        receiver: n.receiver.clone(),
                        reason: format!(
                            "{}[{}]: {}: {}",
                            n.integration.kind.as_str(),
                            n.integration.index,
                            f.reason.as_str(),
                            f.message
                        ),
                        retryable: f.retryable,
                    })
                }
            }
        })
    }
}

/// Every template text of a receiver's integrations.
fn config_texts(r: &Receiver) -> Vec<&str> {
    let mut opts: Vec<&Option<String>> = Vec::new();
    let mut out: Vec<&str> = Vec::new();
    for c in &r.slack_configs {
        for o in [
            &c.channel,
            &c.username,
            &c.color,
            &c.title,
            &c.title_link,
            &c.pretext,
            &c.text,
            &c.footer,
            &c.fallback,
            &c.callback_id,
            &c.icon_emoji,
            &c.icon_url,
            &c.image_url,
            &c.thumb_url,
        ] {
            opts.push(o);
        }
        for a in c.actions.iter().flatten() {
            for o in [&a.url, &a.style, &a.name, &a.value] {
                opts.push(o);
            }
        }
    }
    for c in &r.pagerduty_configs {
        for o in [
            &c.client,
            &c.client_url,
            &c.description,
            &c.source,
            &c.severity,
            &c.class,
            &c.component,
            &c.group,
        ] {
            opts.push(o);
        }
    }
    for c in &r.slack_configs {
        for f in c.fields.iter().flatten() {
            out.extend([f.title.as_str(), f.value.as_str()]);
        }
        for a in c.actions.iter().flatten() {
            out.extend([a.kind.as_str(), a.text.as_str()]);
        }
    }
    for c in &r.pagerduty_configs {
        out.extend(c.details.values().map(String::as_str));
        for l in c.links.iter().flatten() {
            out.extend([l.href.as_str(), l.text.as_str()]);
        }
        for i in c.images.iter().flatten() {
            out.extend([i.src.as_str(), i.alt.as_str(), i.href.as_str()]);
        }
    }
    out.extend(opts.into_iter().filter_map(|o| o.as_deref()));
    out
}

/// Counts a notification whose future was dropped before it finished (the dispatcher bounds
/// a send by `group_interval`, which may be shorter than the give-up time).
struct CancelGuard<'a> {
    metrics: &'a ReceiverMetrics,
    labels: &'a Labels,
    armed: bool,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.metrics
                .notifications_failed
                .get_or_create(&self.labels.with_reason(FailReason::Canceled))
                .inc();
            tracing::warn!(
                receiver = %self.labels.receiver(),
                integration = %self.labels.integration(),
                "notification canceled before it was delivered"
            );
        }
    }
}

/// What a receiver answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

impl Reply {
    async fn read(mut resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, chrono::Utc::now()));
        let mut body = Vec::new();
        // Bounded read: a misbehaving endpoint cannot make us buffer without limit.
        while let Ok(Some(chunk)) = resp.chunk().await {
            let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_RESPONSE_BYTES {
                break;
            }
        }
        Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// The body shortened for a log line.
    fn snippet(&self) -> String {
        let s: String = self.body.trim().chars().take(300).collect();
        if s.is_empty() {
            "empty body".to_string()
        } else {
            s
        }
    }
}

/// Alertmanager's rules, plus 429: 2xx delivered (subject to `check`), 429 and 5xx retried
/// (429 after `Retry-After`), any other status refused for good.
fn classify(reply: &Reply, url: &str, check: impl FnOnce(&Reply) -> Attempt) -> Attempt {
    let where_ = redact_url(url);
    match reply.status {
        200..=299 => check(reply),
        429 => Attempt::Transient {
            reason: FailReason::RateLimited,
            message: format!("{where_} answered 429: {}", reply.snippet()),
            retry_after: reply.retry_after,
        },
        500..=599 => Attempt::Transient {
            reason: FailReason::ServerError,
            message: format!("{where_} answered {}: {}", reply.status, reply.snippet()),
            retry_after: reply.retry_after,
        },
        s => Attempt::Permanent {
            reason: FailReason::ClientError,
            message: format!("{where_} answered {s}: {}", reply.snippet()),
        },
    }
}

fn permanent(reason: FailReason, message: String) -> Failure {
    Failure {
        reason,
        message,
        retryable: false,
        attempts: 0,
    }
}

fn endpoint(
    where_: &str,
    http: Option<&HttpConfig>,
    timeout: Option<&str>,
    options: &NotifierOptions,
) -> Result<Endpoint> {
    let mut b = reqwest::Client::builder().user_agent(concat!("Cairn/", env!("CARGO_PKG_VERSION")));
    if let Some(h) = http {
        if h.follow_redirects == Some(false) {
            b = b.redirect(reqwest::redirect::Policy::none());
        }
        if let Some(tls) = &h.tls_config {
            if tls.insecure_skip_verify {
                b = b.tls_danger_accept_invalid_certs(true);
            }
            if let Some(ca) = &tls.ca_file {
                let pem = std::fs::read(ca).map_err(|e| {
                    Error::Config(format!("{where_}: reading tls_config.ca_file {ca:?}: {e}"))
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    Error::Config(format!("{where_}: tls_config.ca_file {ca:?}: {e}"))
                })?;
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
        }
        if let Some(p) = &h.proxy_url {
            let proxy = reqwest::Proxy::all(p.as_str()).map_err(|e| {
                Error::Config(format!(
                    "{where_}: http_config.proxy_url: {}",
                    e.without_url()
                ))
            })?;
            b = b.proxy(proxy);
        }
    }
    let client = b
        .build()
        .map_err(|e| Error::Config(format!("{where_}: building the HTTP client: {e}")))?;
    let timeout = match timeout {
        Some(t) => parse_duration(t).map_err(|e| crate::config::ctx(where_, e))?,
        None => options.request_timeout,
    };
    // A zero timeout means "none" in Alertmanager; the give-up time bounds every request.
    let timeout = if timeout.is_zero() {
        options.give_up_after
    } else {
        timeout.min(options.give_up_after)
    };
    Ok(Endpoint { client, timeout })
}

/// Reads a secret from a `*_file` setting, trimmed as Prometheus does.
fn read_secret(path: &str) -> std::result::Result<String, Failure> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            permanent(
                FailReason::Config,
                format!("reading secret file {path:?}: {e}"),
            )
        })
}

/// The inline secret or the content of its file.
fn secret(
    inline: Option<&String>,
    file: Option<&String>,
) -> std::result::Result<Option<String>, Failure> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.clone())),
        (None, Some(f)) => read_secret(f).map(Some),
        (None, None) => Ok(None),
    }
}

/// The `Authorization` header an `http_config` asks for.
fn auth_headers(http: Option<&HttpConfig>) -> std::result::Result<HeaderMap, Failure> {
    let mut h = HeaderMap::new();
    let Some(http) = http else {
        return Ok(h);
    };
    let value = if let Some(a) = &http.authorization {
        let kind = a.kind.as_deref().unwrap_or("Bearer");
        secret(a.credentials.as_ref(), a.credentials_file.as_ref())?.map(|c| format!("{kind} {c}"))
    } else if let Some(b) = &http.basic_auth {
        let user = secret(b.username.as_ref(), b.username_file.as_ref())?.unwrap_or_default();
        let pass = secret(b.password.as_ref(), b.password_file.as_ref())?.unwrap_or_default();
        Some(format!(
            "Basic {}",
            base64(format!("{user}:{pass}").as_bytes())
        ))
    } else {
        secret(http.bearer_token.as_ref(), http.bearer_token_file.as_ref())?
            .map(|t| format!("Bearer {t}"))
    };
    if let Some(v) = value {
        let mut v = HeaderValue::from_str(&v).map_err(|_| {
            permanent(
                FailReason::Config,
                "http_config credentials are not a valid header value".to_string(),
            )
        })?;
        v.set_sensitive(true);
        h.insert(reqwest::header::AUTHORIZATION, v);
    }
    Ok(h)
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A URL as it may appear in logs: scheme, host and port only, because the path and query of
/// a Slack or webhook URL are the secret.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}/<redacted>", u.scheme()),
                None => format!("{}://{host}/<redacted>", u.scheme()),
            }
        }
        Err(_) => "<unparsable url>".to_string(),
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with an ellipsis as Alertmanager
/// does.
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn urls_are_shown_by_origin_only() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/<redacted>"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/hook?token=abc"),
            "http://127.0.0.1:8080/<redacted>"
        );
        assert_eq!(redact_url("not a url"), "<unparsable url>");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééé", 2).chars().count(), 2);
    }

    #[test]
    fn auth_headers_from_each_form() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "s3cret\n").unwrap();
        let cfg = HttpConfig {
            authorization: Some(crate::config::HttpAuthorization {
                kind: None,
                credentials: None,
                credentials_file: Some(f.to_string_lossy().into_owned()),
            }),
            ..HttpConfig::default()
        };
        let h = auth_headers(Some(&cfg)).unwrap();
        assert_eq!(h[reqwest::header::AUTHORIZATION], "Bearer s3cret");
        let cfg = HttpConfig {
            basic_auth: Some(crate::config::BasicAuth {
                username: Some("u".into()),
                password: Some("p".into()),
                ..Default::default()
            }),
            ..HttpConfig::default()
        };
        let h = auth_headers(Some(&cfg)).unwrap();
        assert_eq!(h[reqwest::header::AUTHORIZATION], "Basic dTpw");
        let missing = HttpConfig {
            bearer_token_file: Some("/nonexistent/cairn-token".into()),
            ..HttpConfig::default()
        };
        assert_eq!(
            auth_headers(Some(&missing)).unwrap_err().reason,
            FailReason::Config
        );
    }
}
