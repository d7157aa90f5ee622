//! The configuration file in Alertmanager's `alertmanager.yml` format, parsed in two stages:
//! raw serde structs that refuse unknown keys, then validated, typed config with defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cairn_model::Matcher;
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::error::{Error, Result};
use crate::matchers;
use crate::route::{RawRoute, Route};
use crate::timeinterval::{RawTimeInterval, TimeInterval};

/// Alertmanager's default `resolve_timeout`.
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Alertmanager's default PagerDuty Events API v2 endpoint.
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// A validated alerting configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Global settings.
    pub global: GlobalConfig,
    /// The root of the routing tree.
    pub route: Route,
    /// Receivers by name, in file order.
    pub receivers: Vec<Receiver>,
    /// Inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Named time intervals (`time_intervals` and `mute_time_intervals` together).
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    /// Template file globs; kept for the receivers, not evaluated here.
    pub templates: Vec<String>,
}

/// The `global:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update.
    pub resolve_timeout: Duration,
    /// Default Slack incoming webhook URL.
    pub slack_api_url: Option<String>,
    /// File holding the default Slack webhook URL.
    pub slack_api_url_file: Option<String>,
    /// Default Slack app token.
    pub slack_app_token: Option<String>,
    /// File holding the default Slack app token.
    pub slack_app_token_file: Option<String>,
    /// Slack Web API URL used with app tokens.
    pub slack_app_url: Option<String>,
    /// Default PagerDuty endpoint.
    pub pagerduty_url: String,
}

// The keys of integrations Cairn does not deliver to are accepted so that existing files
// load; they are read by nothing.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    resolve_timeout: Option<String>,
    slack_api_url: Option<String>,
    slack_api_url_file: Option<String>,
    slack_app_token: Option<String>,
    slack_app_token_file: Option<String>,
    slack_app_url: Option<String>,
    pagerduty_url: Option<String>,
    http_config: Option<Value>,
    smtp_from: Option<Value>,
    smtp_hello: Option<Value>,
    smtp_smarthost: Option<Value>,
    smtp_auth_username: Option<Value>,
    smtp_auth_password: Option<Value>,
    smtp_auth_password_file: Option<Value>,
    smtp_auth_secret: Option<Value>,
    smtp_auth_identity: Option<Value>,
    smtp_require_tls: Option<Value>,
    opsgenie_api_url: Option<Value>,
    opsgenie_api_key: Option<Value>,
    victorops_api_url: Option<Value>,
    victorops_api_key: Option<Value>,
    wechat_api_url: Option<Value>,
    wechat_api_secret: Option<Value>,
    wechat_api_corp_id: Option<Value>,
    telegram_api_url: Option<Value>,
    webex_api_url: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: RawGlobal,
    route: Option<RawRoute>,
    #[serde(default)]
    receivers: Vec<RawReceiver>,
    #[serde(default)]
    inhibit_rules: Vec<RawInhibitRule>,
    #[serde(default)]
    time_intervals: Vec<RawNamedInterval>,
    #[serde(default)]
    mute_time_intervals: Vec<RawNamedInterval>,
    #[serde(default)]
    templates: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedInterval {
    name: String,
    #[serde(default)]
    time_intervals: Vec<RawTimeInterval>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceiver {
    name: String,
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

/// A named receiver and its integrations.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    /// Unique name that routes refer to.
    pub name: String,
    /// Slack integrations.
    pub slack_configs: Vec<SlackConfig>,
    /// PagerDuty integrations.
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Webhook integrations.
    pub webhook_configs: Vec<WebhookConfig>,
}

/// The kind of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntegrationKind {
    /// `slack_configs`
    Slack,
    /// `pagerduty_configs`
    Pagerduty,
    /// `webhook_configs`
    Webhook,
}

impl IntegrationKind {
    /// Alertmanager's name for the kind (`slack`, `pagerduty`, `webhook`).
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Slack => "slack",
            IntegrationKind::Pagerduty => "pagerduty",
            IntegrationKind::Webhook => "webhook",
        }
    }
}

/// One integration of a receiver: its kind and position among the configs of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Integration {
    /// Which `*_configs` list.
    pub kind: IntegrationKind,
    /// Index in that list.
    pub index: usize,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
}

impl Receiver {
    /// Every integration, Slack first, then PagerDuty, then webhooks.
    pub fn integrations(&self) -> Vec<Integration> {
        let slack = self
            .slack_configs
            .iter()
            .enumerate()
            .map(|(index, c)| Integration {
                kind: IntegrationKind::Slack,
                index,
                send_resolved: c.send_resolved,
            });
        let pd = self
            .pagerduty_configs
            .iter()
            .enumerate()
            .map(|(index, c)| Integration {
                kind: IntegrationKind::Pagerduty,
                index,
                send_resolved: c.send_resolved,
            });
        let wh = self
            .webhook_configs
            .iter()
            .enumerate()
            .map(|(index, c)| Integration {
                kind: IntegrationKind::Webhook,
                index,
                send_resolved: c.send_resolved,
            });
        slack.chain(pd).chain(wh).collect()
    }
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
    pub http_config: Option<Value>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    pub fields: Option<Value>,
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
    pub actions: Option<Value>,
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
    pub http_config: Option<Value>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    pub images: Option<Value>,
    pub links: Option<Value>,
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
    pub http_config: Option<Value>,
    /// Most alerts per message; 0 means all.
    #[serde(default)]
    pub max_alerts: u64,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInhibitRule {
    #[serde(default)]
    source_matchers: Vec<String>,
    #[serde(default)]
    target_matchers: Vec<String>,
    #[serde(default)]
    source_match: BTreeMap<String, String>,
    #[serde(default)]
    source_match_re: BTreeMap<String, String>,
    #[serde(default)]
    target_match: BTreeMap<String, String>,
    #[serde(default)]
    target_match_re: BTreeMap<String, String>,
    #[serde(default)]
    equal: Vec<String>,
    name: Option<String>,
}

/// An inhibition rule: firing alerts matching `source` mute alerts matching `target` that
/// agree on the `equal` labels.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    /// Optional name.
    pub name: Option<String>,
    /// Matchers for the inhibiting alert.
    pub source: Vec<Matcher>,
    /// Matchers for the inhibited alert.
    pub target: Vec<Matcher>,
    /// Labels whose values must be equal on both (absent equals empty).
    pub equal: Vec<String>,
}

impl Config {
    /// Parses and validates an `alertmanager.yml`.
    pub fn from_yaml(text: &str) -> Result<Config> {
        let raw: RawConfig =
            serde_yaml_ng::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        let g = raw.global;
        let global = GlobalConfig {
            resolve_timeout: match &g.resolve_timeout {
                Some(s) => parse_duration(s).map_err(|e| ctx("global.resolve_timeout", e))?,
                None => DEFAULT_RESOLVE_TIMEOUT,
            },
            slack_api_url: g.slack_api_url,
            slack_api_url_file: g.slack_api_url_file,
            slack_app_token: g.slack_app_token,
            slack_app_token_file: g.slack_app_token_file,
            slack_app_url: g.slack_app_url,
            pagerduty_url: g
                .pagerduty_url
                .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.to_string()),
        };

        let mut time_intervals = BTreeMap::new();
        for ni in raw.time_intervals.iter().chain(&raw.mute_time_intervals) {
            let mut list = Vec::new();
            for ti in &ni.time_intervals {
                list.push(
                    TimeInterval::from_raw(ti)
                        .map_err(|e| ctx(&format!("time interval {:?}", ni.name), e))?,
                );
            }
            if time_intervals.insert(ni.name.clone(), list).is_some() {
                return Err(Error::Config(format!(
                    "time interval {:?} is defined twice",
                    ni.name
                )));
            }
        }

        let mut receivers = Vec::new();
        let mut names = BTreeSet::new();
        for r in raw.receivers {
            if !names.insert(r.name.clone()) {
                return Err(Error::Config(format!(
                    "receiver {:?} is defined twice",
                    r.name
                )));
            }
            receivers.push(validate_receiver(r, &global)?);
        }

        let raw_route = raw
            .route
            .ok_or_else(|| Error::Config("no route provided".to_string()))?;
        let route = Route::from_raw_root(&raw_route)?;
        let mut problem = None;
        route.walk(&mut |r: &Route| {
            if problem.is_some() {
                return;
            }
            if !names.contains(&r.opts.receiver) {
                problem = Some(format!(
                    "route {} uses undefined receiver {:?}",
                    r.key, r.opts.receiver
                ));
            }
            for name in r
                .opts
                .mute_time_intervals
                .iter()
                .chain(&r.opts.active_time_intervals)
            {
                if !time_intervals.contains_key(name) {
                    problem = Some(format!(
                        "route {} uses undefined time interval {name:?}",
                        r.key
                    ));
                }
            }
        });
        if let Some(p) = problem {
            return Err(Error::Config(p));
        }

        let mut inhibit_rules = Vec::new();
        for (i, r) in raw.inhibit_rules.iter().enumerate() {
            let where_ = format!("inhibit_rules[{i}]");
            let mut source =
                matchers::parse_list(&r.source_matchers).map_err(|e| ctx(&where_, e))?;
            source.extend(
                matchers::from_maps(&r.source_match, &r.source_match_re)
                    .map_err(|e| ctx(&where_, e))?,
            );
            let mut target =
                matchers::parse_list(&r.target_matchers).map_err(|e| ctx(&where_, e))?;
            target.extend(
                matchers::from_maps(&r.target_match, &r.target_match_re)
                    .map_err(|e| ctx(&where_, e))?,
            );
            inhibit_rules.push(InhibitRule {
                name: r.name.clone(),
                source,
                target,
                equal: r.equal.clone(),
            });
        }

        Ok(Config {
            global,
            route,
            receivers,
            inhibit_rules,
            time_intervals,
            templates: raw.templates,
        })
    }

    /// The receiver with this name.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

fn validate_receiver(r: RawReceiver, global: &GlobalConfig) -> Result<Receiver> {
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
    for (i, c) in r.webhook_configs.iter().enumerate() {
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
        webhook_configs: r.webhook_configs,
    })
}

pub(crate) fn ctx(where_: &str, e: Error) -> Error {
    Error::Config(format!("{where_}: {e}"))
}

/// Parses a Prometheus duration such as `30s`, `5m`, `1h30m`, `2d`, `1w`, `500ms`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Error::Duration(s.to_string());
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = s;
    // Units must come in decreasing order, each at most once, as in Prometheus.
    let units: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    let order = |u: &str| {
        ["y", "w", "d", "h", "m", "s", "ms"]
            .iter()
            .position(|x| *x == u)
    };
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let (unit, ms) = units
            .iter()
            .find(|(u, _)| rest.starts_with(u))
            .ok_or_else(bad)?;
        let pos = order(unit).ok_or_else(bad)?;
        if last.is_some_and(|l| l >= pos) {
            return Err(bad());
        }
        last = Some(pos);
        rest = &rest[unit.len()..];
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "m", "1x", "30m1h", "1.5h", "-1s", "1s1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
