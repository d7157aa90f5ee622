//! Receiver settings: the `slack_configs`, `pagerduty_configs` and `webhook_configs` keys
//! Alertmanager documents, their shared `http_config`, and their validation.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::{GlobalConfig, PAGERDUTY_SEVERITIES, Receiver, ctx, parse_duration};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReceiver {
    pub(super) name: String,
    #[serde(default)]
    slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(default)]
    webhook_configs: Vec<WebhookConfig>,
    // Known Alertmanager integrations that Cairn does not deliver to: refused by name.
    email_configs: Option<Value>,
    opsgenie_configs: Option<Value>,
    pushover_configs: Option<Value>,
    victorops_configs: Option<Value>,
    wechat_configs: Option<Value>,
    sns_configs: Option<Value>,
    telegram_configs: Option<Value>,
    webex_configs: Option<Value>,
    discord_configs: Option<Value>,
    msteams_configs: Option<Value>,
    msteamsv2_configs: Option<Value>,
    jira_configs: Option<Value>,
    rocketchat_configs: Option<Value>,
    incidentio_configs: Option<Value>,
}

fn yes() -> bool {
    true
}

/// A `slack_configs` entry (Alertmanager's keys; templates are kept as text).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SlackConfig {
    /// Defaults to false, as in Alertmanager.
    #[serde(default)]
    pub send_resolved: bool,
    pub api_url: Option<String>,
    pub api_url_file: Option<String>,
    pub app_token: Option<String>,
    pub app_token_file: Option<String>,
    pub app_url: Option<String>,
    pub http_config: Option<HttpConfig>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    pub fields: Option<Vec<SlackField>>,
    pub short_fields: Option<bool>,
    pub footer: Option<String>,
    pub fallback: Option<String>,
    pub callback_id: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    pub link_names: Option<bool>,
    pub mrkdwn_in: Option<Vec<String>>,
    pub actions: Option<Vec<SlackAction>>,
    pub update_message: Option<bool>,
    pub timeout: Option<String>,
}

/// A `pagerduty_configs` entry (Events API v2 keys; templates are kept as text).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PagerdutyConfig {
    /// Defaults to true, as in Alertmanager.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    pub routing_key: Option<String>,
    pub routing_key_file: Option<String>,
    pub service_key: Option<String>,
    pub service_key_file: Option<String>,
    pub url: Option<String>,
    pub http_config: Option<HttpConfig>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    pub images: Option<Vec<PagerdutyImage>>,
    pub links: Option<Vec<PagerdutyLink>>,
    pub source: Option<String>,
    pub severity: Option<String>,
    pub class: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub timeout: Option<String>,
}

/// A `webhook_configs` entry.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct WebhookConfig {
    /// Defaults to true, as in Alertmanager.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    pub url: Option<String>,
    pub url_file: Option<String>,
    pub http_config: Option<HttpConfig>,
    /// Most alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
    pub timeout: Option<String>,
}

/// A Slack attachment field (`fields:` of a `slack_configs` entry); texts are templates.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Field title.
    pub title: String,
    /// Field value.
    pub value: String,
    /// Whether the field is narrow enough to sit beside another; `short_fields` when unset.
    pub short: Option<bool>,
}

/// A Slack attachment action button (`actions:`); texts are templates.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SlackAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub url: Option<String>,
    pub style: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
    pub confirm: Option<SlackConfirm>,
}

/// The confirmation dialog of a Slack action.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SlackConfirm {
    pub text: String,
    pub title: Option<String>,
    pub ok_text: Option<String>,
    pub dismiss_text: Option<String>,
}

/// A link attached to a PagerDuty event; texts are templates.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PagerdutyLink {
    pub href: String,
    #[serde(default)]
    pub text: String,
}

/// An image attached to a PagerDuty event; texts are templates.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PagerdutyImage {
    pub src: String,
    #[serde(default)]
    pub alt: String,
    #[serde(default)]
    pub href: String,
}

/// The `http_config` subset Cairn's receivers honour (Prometheus' common HTTP client config);
/// other keys are refused as unknown.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `Authorization` header from a type (default `Bearer`) and credentials.
    pub authorization: Option<HttpAuthorization>,
    /// HTTP basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// Older spelling of `authorization.credentials`.
    pub bearer_token: Option<String>,
    /// Older spelling of `authorization.credentials_file`.
    pub bearer_token_file: Option<String>,
    /// TLS settings.
    pub tls_config: Option<TlsConfig>,
    /// Whether redirects are followed (default true).
    pub follow_redirects: Option<bool>,
    /// Accepted for compatibility; HTTP/2 is negotiated when the server offers it.
    pub enable_http2: Option<bool>,
    /// Proxy for every request of the integration.
    pub proxy_url: Option<String>,
}

/// `http_config.authorization`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAuthorization {
    /// Scheme, `Bearer` by default.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The credentials (a secret).
    pub credentials: Option<String>,
    /// File holding the credentials.
    pub credentials_file: Option<String>,
}

/// `http_config.basic_auth`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BasicAuth {
    pub username: Option<String>,
    pub username_file: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// `http_config.tls_config`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Skips verification of the server's certificate (tests, never production).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// PEM file of extra CA certificates to trust.
    pub ca_file: Option<String>,
}

impl HttpConfig {
    pub(super) fn validate(&self, where_: &str) -> Result<()> {
        let auths = [
            self.authorization.is_some(),
            self.basic_auth.is_some(),
            self.bearer_token.is_some() || self.bearer_token_file.is_some(),
        ];
        if auths.iter().filter(|x| **x).count() > 1 {
            return Err(Error::Config(format!(
                "{where_}.http_config: at most one of authorization, basic_auth and bearer_token may be set"
            )));
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(Error::Config(format!(
                "{where_}.http_config: bearer_token and bearer_token_file are mutually exclusive"
            )));
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(Error::Config(format!(
                    "{where_}.http_config.authorization: credentials and credentials_file are mutually exclusive"
                )));
            }
            if a.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("basic"))
            {
                return Err(Error::Config(format!(
                    "{where_}.http_config.authorization: type Basic is not allowed, use basic_auth"
                )));
            }
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(Error::Config(format!(
                    "{where_}.http_config.basic_auth: password and password_file are mutually exclusive"
                )));
            }
            if b.username.is_some() && b.username_file.is_some() {
                return Err(Error::Config(format!(
                    "{where_}.http_config.basic_auth: username and username_file are mutually exclusive"
                )));
            }
        }
        Ok(())
    }
}

fn check_timeout(where_: &str, t: Option<&String>) -> Result<()> {
    match t {
        Some(s) => parse_duration(s)
            .map(|_| ())
            .map_err(|e| ctx(&format!("{where_}.timeout"), e)),
        None => Ok(()),
    }
}

pub(super) fn exclusive(where_: &str, a: (&str, bool), b: (&str, bool)) -> Result<()> {
    if a.1 && b.1 {
        return Err(Error::Config(format!(
            "{where_}: {} and {} are mutually exclusive",
            a.0, b.0
        )));
    }
    Ok(())
}

pub(super) fn validate_receiver(r: RawReceiver, global: &GlobalConfig) -> Result<Receiver> {
    let unsupported = [
        ("email_configs", r.email_configs.is_some()),
        ("opsgenie_configs", r.opsgenie_configs.is_some()),
        ("pushover_configs", r.pushover_configs.is_some()),
        ("victorops_configs", r.victorops_configs.is_some()),
        ("wechat_configs", r.wechat_configs.is_some()),
        ("sns_configs", r.sns_configs.is_some()),
        ("telegram_configs", r.telegram_configs.is_some()),
        ("webex_configs", r.webex_configs.is_some()),
        ("discord_configs", r.discord_configs.is_some()),
        ("msteams_configs", r.msteams_configs.is_some()),
        ("msteamsv2_configs", r.msteamsv2_configs.is_some()),
        ("jira_configs", r.jira_configs.is_some()),
        ("rocketchat_configs", r.rocketchat_configs.is_some()),
        ("incidentio_configs", r.incidentio_configs.is_some()),
    ];
    if let Some((key, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(Error::Config(format!(
            "receiver {:?}: {key} are not supported (supported: slack_configs, pagerduty_configs, webhook_configs)",
            r.name
        )));
    }
    let mut slack_configs = r.slack_configs;
    for (i, c) in slack_configs.iter_mut().enumerate() {
        let where_ = format!("receiver {:?}: slack_configs[{i}]", r.name);
        exclusive(
            &where_,
            ("api_url", c.api_url.is_some()),
            ("api_url_file", c.api_url_file.is_some()),
        )?;
        exclusive(
            &where_,
            ("app_token", c.app_token.is_some()),
            ("app_token_file", c.app_token_file.is_some()),
        )?;
        check_timeout(&where_, c.timeout.as_ref())?;
        if c.http_config.is_none() {
            c.http_config.clone_from(&global.http_config);
        }
        if let Some(h) = &c.http_config {
            h.validate(&where_)?;
        }
        if c.api_url.is_none() && c.api_url_file.is_none() {
            c.api_url.clone_from(&global.slack_api_url);
            c.api_url_file.clone_from(&global.slack_api_url_file);
        }
        if c.app_token.is_none() && c.app_token_file.is_none() {
            c.app_token.clone_from(&global.slack_app_token);
            c.app_token_file.clone_from(&global.slack_app_token_file);
        }
        if c.app_url.is_none() {
            c.app_url.clone_from(&global.slack_app_url);
        }
        if c.api_url.is_none()
            && c.api_url_file.is_none()
            && c.app_token.is_none()
            && c.app_token_file.is_none()
        {
            return Err(Error::Config(format!(
                "receiver {:?}: slack_configs[{i}] has no api_url or app_token and global has none",
                r.name
            )));
        }
    }
    let mut pagerduty_configs = r.pagerduty_configs;
    for (i, c) in pagerduty_configs.iter_mut().enumerate() {
        let where_ = format!("receiver {:?}: pagerduty_configs[{i}]", r.name);
        exclusive(
            &where_,
            ("routing_key", c.routing_key.is_some()),
            ("routing_key_file", c.routing_key_file.is_some()),
        )?;
        exclusive(
            &where_,
            ("service_key", c.service_key.is_some()),
            ("service_key_file", c.service_key_file.is_some()),
        )?;
        exclusive(
            &where_,
            (
                "routing_key",
                c.routing_key.is_some() || c.routing_key_file.is_some(),
            ),
            (
                "service_key",
                c.service_key.is_some() || c.service_key_file.is_some(),
            ),
        )?;
        check_timeout(&where_, c.timeout.as_ref())?;
        if let Some(sev) = c.severity.as_deref() {
            // A template is checked when it is rendered.
            if !sev.contains("{{") && !PAGERDUTY_SEVERITIES.contains(&sev) {
                return Err(Error::Config(format!(
                    "{where_}: severity {sev:?} is not one of critical, error, warning, info"
                )));
            }
        }
        if c.http_config.is_none() {
            c.http_config.clone_from(&global.http_config);
        }
        if let Some(h) = &c.http_config {
            h.validate(&where_)?;
        }
        if c.routing_key.is_none()
            && c.routing_key_file.is_none()
            && c.service_key.is_none()
            && c.service_key_file.is_none()
        {
            return Err(Error::Config(format!(
                "receiver {:?}: pagerduty_configs[{i}] needs routing_key or service_key",
                r.name
            )));
        }
        if c.url.is_none() {
            c.url = Some(global.pagerduty_url.clone());
        }
    }
    let mut webhook_configs = r.webhook_configs;
    for (i, c) in webhook_configs.iter_mut().enumerate() {
        let where_ = format!("receiver {:?}: webhook_configs[{i}]", r.name);
        check_timeout(&where_, c.timeout.as_ref())?;
        if c.http_config.is_none() {
            c.http_config.clone_from(&global.http_config);
        }
        if let Some(h) = &c.http_config {
            h.validate(&where_)?;
        }
        if c.url.is_none() == c.url_file.is_none() {
            return Err(Error::Config(format!(
                "receiver {:?}: webhook_configs[{i}] needs exactly one of url and url_file",
                r.name
            )));
        }
    }
    Ok(Receiver {
        name: r.name,
        slack_configs,
        pagerduty_configs,
        webhook_configs,
    })
}
