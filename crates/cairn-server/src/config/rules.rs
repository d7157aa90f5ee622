//! The `rules:` section: Prometheus rule files, how they are evaluated, and where alerts go.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_model::TenantId;
use serde::Deserialize;

use super::V;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRules {
    rule_files: Option<Vec<String>>,
    log_rule_files: Option<Vec<String>>,
    evaluation_interval: Option<String>,
    query_offset: Option<String>,
    resend_delay: Option<String>,
    outage_tolerance: Option<String>,
    for_grace_period: Option<String>,
    external_url: Option<String>,
    external_labels: Option<BTreeMap<String, String>>,
    alertmanagers: Option<Vec<String>>,
    tenant: Option<String>,
}

/// `rules:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct RulesConfig {
    /// Globs of rule files, relative to the config file's directory (`rule_files`, default
    /// none).
    pub rule_files: Vec<String>,
    /// Globs of rule files in Loki's ruler format (LogQL metric queries over the log store),
    /// relative to the config file's directory (`log_rule_files`, default none).
    pub log_rule_files: Vec<String>,
    /// Interval of groups that set none (`evaluation_interval`, default 1m).
    pub evaluation_interval: Duration,
    /// Query offset of groups that set none (`query_offset`, default 0s).
    pub query_offset: Duration,
    /// Least time between two sends of a firing alert (`resend_delay`, default 1m).
    pub resend_delay: Duration,
    /// Longest outage after which `for` state is still restored (`outage_tolerance`,
    /// default 1h).
    pub outage_tolerance: Duration,
    /// Least time an alert waits to fire after a restore (`for_grace_period`, default 10m).
    pub for_grace_period: Duration,
    /// URL this server is reached at, for `generatorURL` and `$externalURL`
    /// (`external_url`, default `http://<listen address>`).
    pub external_url: Option<String>,
    /// Labels added to sent alerts and visible as `$externalLabels` (`external_labels`).
    pub external_labels: BTreeMap<String, String>,
    /// Alertmanager base URLs that alerts are POSTed to (`alertmanagers`, default none).
    pub alertmanagers: Vec<String>,
    /// Tenant whose data rules read and write (`tenant`, default
    /// `multitenancy.default_tenant`).
    pub tenant: Option<TenantId>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            rule_files: Vec::new(),
            log_rule_files: Vec::new(),
            evaluation_interval: Duration::from_secs(60),
            query_offset: Duration::ZERO,
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            external_url: None,
            external_labels: BTreeMap::new(),
            alertmanagers: Vec::new(),
            tenant: None,
        }
    }
}

/// Validates the section; relative rule file globs are resolved against `file`'s directory.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawRules>, file: &str) -> Result<RulesConfig> {
    let raw = raw.unwrap_or_default();
    let rule_files = super::relative_to_file(file, raw.rule_files.unwrap_or_default());
    let log_rule_files = super::relative_to_file(file, raw.log_rule_files.unwrap_or_default());
    let tenant = raw
        .tenant
        .map(|t| TenantId::new(&t).map_err(|e| v.err("rules.tenant", e.to_string())))
        .transpose()?;
    for (i, u) in raw.alertmanagers.iter().flatten().enumerate() {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(v.err(
                &format!("rules.alertmanagers[{i}]"),
                format!("{u:?} is not an http:// or https:// URL"),
            ));
        }
    }
    let labels = raw.external_labels.unwrap_or_default();
    for k in labels.keys() {
        let ok = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(v.err("rules.external_labels", format!("invalid label name {k:?}")));
        }
    }
    Ok(RulesConfig {
        rule_files,
        log_rule_files,
        evaluation_interval: v.positive(
            "rules.evaluation_interval",
            v.duration(
                "rules.evaluation_interval",
                raw.evaluation_interval.as_ref(),
                "1m",
            )?,
            "evaluation_interval",
        )?,
        query_offset: v.duration("rules.query_offset", raw.query_offset.as_ref(), "0s")?,
        resend_delay: v.duration("rules.resend_delay", raw.resend_delay.as_ref(), "1m")?,
        outage_tolerance: v.duration(
            "rules.outage_tolerance",
            raw.outage_tolerance.as_ref(),
            "1h",
        )?,
        for_grace_period: v.duration(
            "rules.for_grace_period",
            raw.for_grace_period.as_ref(),
            "10m",
        )?,
        external_url: raw.external_url.filter(|u| !u.is_empty()),
        external_labels: labels,
        alertmanagers: raw.alertmanagers.unwrap_or_default(),
        tenant,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn defaults_and_values() {
        let c = Config::from_yaml("", "t.yaml", &|_| None).expect("defaults are valid");
        assert_eq!(c.rules, super::RulesConfig::default());
        let c = Config::from_yaml(
            "rules:\n  rule_files: [rules/*.yml, /abs/x.yml]\n  evaluation_interval: 30s\n  alertmanagers: [http://am:9093]\n  external_labels: {dc: eu}\n",
            "/etc/cairn/cairn.yaml",
            &|_| None,
        )
        .expect("valid");
        assert_eq!(
            c.rules.rule_files,
            vec![
                "/etc/cairn/rules/*.yml".to_string(),
                "/abs/x.yml".to_string()
            ]
        );
        assert_eq!(c.rules.evaluation_interval.as_secs(), 30);
        assert_eq!(c.rules.alertmanagers, vec!["http://am:9093".to_string()]);
        let err = Config::from_yaml("rules:\n  alertmanagers: [am:9093]\n", "t.yaml", &|_| None)
            .expect_err("not a URL");
        assert!(err.to_string().contains("rules.alertmanagers[0]"), "{err}");
        assert!(Config::from_yaml("rules:\n  bogus: 1\n", "t.yaml", &|_| None).is_err());
        assert!(
            Config::from_yaml("rules:\n  evaluation_interval: 0s\n", "t.yaml", &|_| None).is_err()
        );
    }
}
