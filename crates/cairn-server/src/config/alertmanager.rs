//! The `alertmanager:` section: where the built-in alert manager finds its
//! `alertmanager.yml` (a file, or the same keys inline), and the settings Alertmanager takes
//! on its command line (`--web.external-url`, `--data.retention`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::V;
use super::env;
use crate::error::Result;

/// Used when neither `config_file` nor `config` is given: one receiver without
/// integrations, so that the API works (Prometheus can post, `amtool` can silence) and
/// nothing is delivered until routes and receivers are configured.
pub(crate) const DEFAULT_ALERTMANAGER_YAML: &str =
    "route:\n  receiver: default\nreceivers:\n  - name: default\n";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlertmanager {
    config_file: Option<String>,
    config: Option<serde_yaml_ng::Value>,
    external_url: Option<String>,
    data_retention: Option<String>,
    resolve_timeout: Option<String>,
}

/// Where the routing tree, receivers, inhibition rules and time intervals come from.
#[derive(Clone, Debug, PartialEq)]
pub enum AlertmanagerSource {
    /// No configuration: one receiver named `default` without integrations.
    Default,
    /// An `alertmanager.yml`, re-read on every reload (`${VAR}` filled from the environment).
    File(PathBuf),
    /// The `config:` block of Cairn's own file, as YAML text.
    Inline(String),
}

/// `alertmanager:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertmanagerConfig {
    /// Where the Alertmanager configuration comes from (`config_file` or `config`).
    pub source: AlertmanagerSource,
    /// The URL Cairn's alert manager is reachable under, put into notifications
    /// (`external_url`, default `http://<hostname>:<port>/alertmanager`).
    pub external_url: Option<String>,
    /// How long expired silences and notification log entries are kept (`data_retention`,
    /// default 120h as Alertmanager's `--data.retention`).
    pub data_retention: Duration,
    /// Overrides `global.resolve_timeout` of the Alertmanager configuration when set.
    pub resolve_timeout: Option<Duration>,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            source: AlertmanagerSource::Default,
            external_url: None,
            data_retention: Duration::from_secs(120 * 3600),
            resolve_timeout: None,
        }
    }
}

impl AlertmanagerConfig {
    /// Reads the configuration text (the file is read again each time) and parses it,
    /// applying `resolve_timeout`. Errors name the file or key.
    pub fn load(&self) -> std::result::Result<(String, cairn_alerting::Config), String> {
        let (text, what) = match &self.source {
            AlertmanagerSource::Default => (DEFAULT_ALERTMANAGER_YAML.to_string(), String::new()),
            AlertmanagerSource::Inline(t) => (t.clone(), "alertmanager.config: ".to_string()),
            AlertmanagerSource::File(p) => (
                read_file(p)?,
                format!("alertmanager config file {}: ", p.display()),
            ),
        };
        let mut cfg = cairn_alerting::Config::from_yaml(&text).map_err(|e| format!("{what}{e}"))?;
        if let Some(rt) = self.resolve_timeout {
            cfg.global.resolve_timeout = rt;
        }
        Ok((text, cfg))
    }
}

fn read_file(p: &Path) -> std::result::Result<String, String> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| format!("cannot read alertmanager config file {}: {e}", p.display()))?;
    env::substitute(&text, &|name| std::env::var(name).ok())
        .map_err(|e| format!("alertmanager config file {}: {e}", p.display()))
}

/// Validates the section; `file` is the path of Cairn's config file, which a relative
/// `config_file` is resolved against.
pub(crate) fn validate(
    v: &V<'_>,
    raw: Option<RawAlertmanager>,
    file: &str,
) -> Result<AlertmanagerConfig> {
    let raw = raw.unwrap_or_default();
    let source = match (raw.config_file.filter(|f| !f.is_empty()), raw.config) {
        (Some(_), Some(_)) => {
            return Err(v.err(
                "alertmanager",
                "config_file and config are exclusive: give one of them",
            ));
        }
        (Some(f), None) => {
            let p = PathBuf::from(&f);
            let p = match Path::new(file).parent() {
                Some(dir) if p.is_relative() && std::fs::metadata(file).is_ok() => dir.join(p),
                _ => p,
            };
            AlertmanagerSource::File(p)
        }
        (None, Some(value)) => AlertmanagerSource::Inline(
            serde_yaml_ng::to_string(&value)
                .map_err(|e| v.err("alertmanager.config", e.to_string()))?,
        ),
        (None, None) => AlertmanagerSource::Default,
    };
    let external_url = match raw.external_url.filter(|u| !u.is_empty()) {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            return Err(v.err(
                "alertmanager.external_url",
                format!("{u:?} is not an http:// or https:// URL"),
            ));
        }
        u => u.map(|u| u.trim_end_matches('/').to_string()),
    };
    let data_retention = v.positive(
        "alertmanager.data_retention",
        v.duration(
            "alertmanager.data_retention",
            raw.data_retention.as_ref(),
            "120h",
        )?,
        "data_retention",
    )?;
    let resolve_timeout = match &raw.resolve_timeout {
        Some(r) => Some(v.positive(
            "alertmanager.resolve_timeout",
            v.duration("alertmanager.resolve_timeout", Some(r), "")?,
            "resolve_timeout",
        )?),
        None => None,
    };
    let out = AlertmanagerConfig {
        source,
        external_url,
        data_retention,
        resolve_timeout,
    };
    // Parsed now so that `cairn check config` and startup refuse a broken file.
    out.load().map_err(|m| {
        let key = match out.source {
            AlertmanagerSource::File(_) => "alertmanager.config_file",
            _ => "alertmanager.config",
        };
        v.err(key, m)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    fn parse(yaml: &str) -> crate::error::Result<Config> {
        Config::from_yaml(yaml, "cairn.yaml", &|_| None)
    }

    #[test]
    fn defaults_inline_and_errors() {
        let c = parse("").unwrap();
        assert_eq!(c.alertmanager, AlertmanagerConfig::default());
        let (_, am) = c.alertmanager.load().unwrap();
        assert_eq!(am.receivers[0].name, "default");

        let c = parse(
            "alertmanager:\n  external_url: http://am.example/alertmanager/\n  data_retention: 1h\n  resolve_timeout: 1m\n  config:\n    route: {receiver: pager, group_by: [alertname]}\n    receivers:\n      - name: pager\n        webhook_configs: [{url: 'http://hook'}]\n",
        )
        .unwrap();
        let a = &c.alertmanager;
        assert_eq!(
            a.external_url.as_deref(),
            Some("http://am.example/alertmanager")
        );
        assert_eq!(a.data_retention, Duration::from_secs(3600));
        let (text, am) = a.load().unwrap();
        assert!(text.contains("pager"), "{text}");
        assert_eq!(am.global.resolve_timeout, Duration::from_secs(60));

        for (yaml, key) in [
            (
                "alertmanager:\n  config:\n    route: {receiver: nobody}\n",
                "alertmanager.config",
            ),
            (
                "alertmanager:\n  config_file: /nonexistent/am.yml\n",
                "alertmanager.config_file",
            ),
            (
                "alertmanager:\n  config_file: a.yml\n  config: {}\n",
                "exclusive",
            ),
            ("alertmanager:\n  data_retention: 0s\n", "data_retention"),
            (
                "alertmanager:\n  external_url: am.example\n",
                "external_url",
            ),
            ("alertmanager:\n  unknown: 1\n", "unknown"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(key), "{yaml}: {e}");
        }
    }

    #[test]
    fn config_file_is_read_relative_to_the_cairn_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("am.yml"),
            "route: {receiver: r}\nreceivers: [{name: r}]\n",
        )
        .unwrap();
        let main = dir.path().join("cairn.yaml");
        std::fs::write(&main, "alertmanager:\n  config_file: am.yml\n").unwrap();
        let c = Config::load(&main).unwrap();
        assert_eq!(
            c.alertmanager.source,
            AlertmanagerSource::File(dir.path().join("am.yml"))
        );
        assert_eq!(c.alertmanager.load().unwrap().1.receivers[0].name, "r");
    }
}
