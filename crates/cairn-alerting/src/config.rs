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

mod receiver;

pub use receiver::{
    BasicAuth, HttpAuthorization, HttpConfig, PagerdutyConfig, PagerdutyImage, PagerdutyLink,
    SlackAction, SlackConfig, SlackConfirm, SlackField, TlsConfig, WebhookConfig,
};
use receiver::{RawReceiver, exclusive, validate_receiver};

/// Alertmanager's default `resolve_timeout`.
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The severities PagerDuty's Events API v2 accepts.
pub(crate) const PAGERDUTY_SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];
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
    /// HTTP client settings every integration without its own `http_config` uses.
    pub http_config: Option<HttpConfig>,
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
    http_config: Option<HttpConfig>,
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
            http_config: g.http_config,
        };
        if let Some(h) = &global.http_config {
            h.validate("global")?;
        }
        exclusive(
            "global",
            ("slack_api_url", global.slack_api_url.is_some()),
            ("slack_api_url_file", global.slack_api_url_file.is_some()),
        )?;

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

pub(crate) fn ctx(where_: &str, e: Error) -> Error {
    Error::Config(format!("{where_}: {e}"))
}

/// Parses a Prometheus duration (`30s`, `1h30m`, `0`) with [`cairn_model::parse_duration`],
/// as Alertmanager does with Prometheus' `model.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration> {
    cairn_model::parse_duration(s).map_err(|_| Error::Duration(s.to_string()))
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
        assert_eq!(
            parse_duration("1x").unwrap_err().to_string(),
            "invalid duration \"1x\""
        );
    }
}
