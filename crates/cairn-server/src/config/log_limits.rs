//! `limits.logs:` (and `overrides.<tenant>.logs:`): the per-tenant limits of log ingestion and
//! log queries, with Loki's names and defaults (`limits_config`), so that a Loki user finds
//! the knobs they know. Sizes take units (`256KB`, `4MiB`).

use std::time::Duration;

use serde::Deserialize;

use super::V;
use super::raw::RawSize;
use crate::error::Result;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogLimits {
    ingestion_rate: Option<RawSize>,
    ingestion_burst_size: Option<RawSize>,
    max_line_size: Option<RawSize>,
    max_line_size_truncate: Option<bool>,
    max_label_names_per_series: Option<usize>,
    max_label_name_length: Option<usize>,
    max_label_value_length: Option<usize>,
    reject_old_samples: Option<bool>,
    reject_old_samples_max_age: Option<String>,
    creation_grace_period: Option<String>,
    allow_structured_metadata: Option<bool>,
    max_structured_metadata_size: Option<RawSize>,
    max_structured_metadata_entries_count: Option<usize>,
    max_streams_per_tenant: Option<usize>,
    discover_service_name: Option<Vec<String>>,
    discover_log_levels: Option<bool>,
    log_level_fields: Option<Vec<String>>,
    max_entries_limit_per_query: Option<usize>,
    max_query_series: Option<usize>,
    max_query_length: Option<String>,
    max_pattern_lines_per_query: Option<usize>,
    pattern_ingester_tokenizable_json_fields_default: Option<Vec<String>>,
    pattern_ingester_tokenizable_json_fields_append: Option<Vec<String>>,
    pattern_ingester_tokenizable_json_fields_delete: Option<Vec<String>>,
}

/// Log limits of one tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLimits {
    /// Bytes per second a tenant may push (lines plus structured metadata), refilled
    /// continuously (`ingestion_rate`, default 4MiB as Loki's `ingestion_rate_mb: 4`).
    pub ingestion_rate: u64,
    /// Most bytes a tenant may push at once (`ingestion_burst_size`, default 6MiB).
    pub ingestion_burst_size: u64,
    /// Longest line in bytes, 0 for no limit (`max_line_size`, default 256KB).
    pub max_line_size: usize,
    /// Cut longer lines to `max_line_size` instead of refusing them (default false).
    pub max_line_size_truncate: bool,
    /// Most labels of a stream, `service_name` not counted (default 15).
    pub max_label_names_per_series: usize,
    /// Longest label name (default 1024).
    pub max_label_name_length: usize,
    /// Longest label value (default 2048).
    pub max_label_value_length: usize,
    /// Refuse entries older than `reject_old_samples_max_age` (default true).
    pub reject_old_samples: bool,
    /// How old an entry may be (default 1w).
    pub reject_old_samples_max_age: Duration,
    /// How far in the future an entry may be (default 10m).
    pub creation_grace_period: Duration,
    /// Whether entries may carry structured metadata (default true).
    pub allow_structured_metadata: bool,
    /// Most bytes of structured metadata per entry, 0 for no limit (default 64KB).
    pub max_structured_metadata_size: usize,
    /// Most structured metadata pairs per entry, 0 for no limit (default 128).
    pub max_structured_metadata_entries_count: usize,
    /// Most streams a tenant may have in the head at once, 0 for no limit (default 5000, as
    /// Loki's `max_global_streams_per_user`).
    pub max_streams_per_tenant: usize,
    /// Labels whose value becomes `service_name` when a stream has none, the first present
    /// wins, `unknown_service` otherwise; empty turns it off (Loki's list by default).
    pub discover_service_name: Vec<String>,
    /// Add `detected_level` structured metadata from the level found in labels, metadata or
    /// the line (default true).
    pub discover_log_levels: bool,
    /// Field names looked at for a level (Loki's list by default).
    pub log_level_fields: Vec<String>,
    /// Most entries a log query may ask for (default 5000).
    pub max_entries_limit_per_query: usize,
    /// Most series a metric query may return (default 500).
    pub max_query_series: usize,
    /// Longest time range of a query, zero for no limit (default 721h).
    pub max_query_length: Duration,
    /// Most lines one `/loki/api/v1/patterns` query reads: past it the patterns cover the
    /// newest lines of the range and the answer says it is partial; 0 for no limit (default
    /// 5000000).
    pub max_pattern_lines_per_query: usize,
    /// JSON fields whose string value is the message patterns are mined from, the first
    /// present wins (Loki's default list: `log`, `message`, `msg`, `msg_`, `_msg`, `content`).
    pub pattern_ingester_tokenizable_json_fields_default: Vec<String>,
    /// Fields appended to that list.
    pub pattern_ingester_tokenizable_json_fields_append: Vec<String>,
    /// Fields removed from the default and appended ones.
    pub pattern_ingester_tokenizable_json_fields_delete: Vec<String>,
}

impl LogLimits {
    /// The JSON message fields of patterns: the default ones, then the appended ones, less
    /// the deleted ones, each once.
    pub fn pattern_json_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in self
            .pattern_ingester_tokenizable_json_fields_default
            .iter()
            .chain(&self.pattern_ingester_tokenizable_json_fields_append)
        {
            if !out.contains(f)
                && !self
                    .pattern_ingester_tokenizable_json_fields_delete
                    .contains(f)
            {
                out.push(f.clone());
            }
        }
        out
    }
}

const LOKI_SERVICE_NAME_LABELS: [&str; 13] = [
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

const LOKI_LEVEL_FIELDS: [&str; 14] = [
    "level",
    "LEVEL",
    "Level",
    "log.level",
    "severity",
    "SEVERITY",
    "Severity",
    "SeverityText",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
];

const LOKI_PATTERN_JSON_FIELDS: [&str; 6] = ["log", "message", "msg", "msg_", "_msg", "content"];

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            ingestion_rate: 4 << 20,
            ingestion_burst_size: 6 << 20,
            max_line_size: 256_000,
            max_line_size_truncate: false,
            max_label_names_per_series: 15,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            reject_old_samples: true,
            reject_old_samples_max_age: Duration::from_secs(7 * 24 * 3600),
            creation_grace_period: Duration::from_secs(600),
            allow_structured_metadata: true,
            max_structured_metadata_size: 64_000,
            max_structured_metadata_entries_count: 128,
            max_streams_per_tenant: 5000,
            discover_service_name: LOKI_SERVICE_NAME_LABELS.map(String::from).to_vec(),
            discover_log_levels: true,
            log_level_fields: LOKI_LEVEL_FIELDS.map(String::from).to_vec(),
            max_entries_limit_per_query: 5000,
            max_query_series: 500,
            max_query_length: Duration::from_secs(721 * 3600),
            max_pattern_lines_per_query: 5_000_000,
            pattern_ingester_tokenizable_json_fields_default: LOKI_PATTERN_JSON_FIELDS
                .map(String::from)
                .to_vec(),
            pattern_ingester_tokenizable_json_fields_append: Vec::new(),
            pattern_ingester_tokenizable_json_fields_delete: Vec::new(),
        }
    }
}

/// Validates `raw` over `base` (the `limits.logs` values for an override, the defaults for
/// `limits.logs` itself); `prefix` is the key path of the section.
pub(crate) fn validate(
    v: &V<'_>,
    prefix: &str,
    base: &LogLimits,
    raw: &RawLogLimits,
) -> Result<LogLimits> {
    let k = |f: &str| format!("{prefix}.{f}");
    let size = |f: &str, r: &Option<RawSize>, d: usize| -> Result<usize> {
        let n = v.bytes(&k(f), r.as_ref(), d as u64)?;
        usize::try_from(n).map_err(|_| v.err(&k(f), "too large for this platform"))
    };
    let out = LogLimits {
        ingestion_rate: v.positive(
            &k("ingestion_rate"),
            v.bytes(
                &k("ingestion_rate"),
                raw.ingestion_rate.as_ref(),
                base.ingestion_rate,
            )?,
            "ingestion_rate",
        )?,
        ingestion_burst_size: v.positive(
            &k("ingestion_burst_size"),
            v.bytes(
                &k("ingestion_burst_size"),
                raw.ingestion_burst_size.as_ref(),
                base.ingestion_burst_size,
            )?,
            "ingestion_burst_size",
        )?,
        max_line_size: size("max_line_size", &raw.max_line_size, base.max_line_size)?,
        max_line_size_truncate: raw
            .max_line_size_truncate
            .unwrap_or(base.max_line_size_truncate),
        max_label_names_per_series: v.positive(
            &k("max_label_names_per_series"),
            raw.max_label_names_per_series
                .unwrap_or(base.max_label_names_per_series),
            "max_label_names_per_series",
        )?,
        max_label_name_length: v.positive(
            &k("max_label_name_length"),
            raw.max_label_name_length
                .unwrap_or(base.max_label_name_length),
            "max_label_name_length",
        )?,
        max_label_value_length: v.positive(
            &k("max_label_value_length"),
            raw.max_label_value_length
                .unwrap_or(base.max_label_value_length),
            "max_label_value_length",
        )?,
        reject_old_samples: raw.reject_old_samples.unwrap_or(base.reject_old_samples),
        reject_old_samples_max_age: match &raw.reject_old_samples_max_age {
            Some(d) => v.positive(
                &k("reject_old_samples_max_age"),
                v.duration(&k("reject_old_samples_max_age"), Some(d), "")?,
                "reject_old_samples_max_age",
            )?,
            None => base.reject_old_samples_max_age,
        },
        creation_grace_period: match &raw.creation_grace_period {
            Some(d) => v.duration(&k("creation_grace_period"), Some(d), "")?,
            None => base.creation_grace_period,
        },
        allow_structured_metadata: raw
            .allow_structured_metadata
            .unwrap_or(base.allow_structured_metadata),
        max_structured_metadata_size: size(
            "max_structured_metadata_size",
            &raw.max_structured_metadata_size,
            base.max_structured_metadata_size,
        )?,
        max_structured_metadata_entries_count: raw
            .max_structured_metadata_entries_count
            .unwrap_or(base.max_structured_metadata_entries_count),
        max_streams_per_tenant: raw
            .max_streams_per_tenant
            .unwrap_or(base.max_streams_per_tenant),
        discover_service_name: raw
            .discover_service_name
            .clone()
            .unwrap_or_else(|| base.discover_service_name.clone()),
        discover_log_levels: raw.discover_log_levels.unwrap_or(base.discover_log_levels),
        log_level_fields: raw
            .log_level_fields
            .clone()
            .unwrap_or_else(|| base.log_level_fields.clone()),
        max_entries_limit_per_query: v.positive(
            &k("max_entries_limit_per_query"),
            raw.max_entries_limit_per_query
                .unwrap_or(base.max_entries_limit_per_query),
            "max_entries_limit_per_query",
        )?,
        max_query_series: v.positive(
            &k("max_query_series"),
            raw.max_query_series.unwrap_or(base.max_query_series),
            "max_query_series",
        )?,
        max_query_length: match &raw.max_query_length {
            Some(d) => v.duration(&k("max_query_length"), Some(d), "")?,
            None => base.max_query_length,
        },
        max_pattern_lines_per_query: raw
            .max_pattern_lines_per_query
            .unwrap_or(base.max_pattern_lines_per_query),
        pattern_ingester_tokenizable_json_fields_default: raw
            .pattern_ingester_tokenizable_json_fields_default
            .clone()
            .unwrap_or_else(|| {
                base.pattern_ingester_tokenizable_json_fields_default
                    .clone()
            }),
        pattern_ingester_tokenizable_json_fields_append: raw
            .pattern_ingester_tokenizable_json_fields_append
            .clone()
            .unwrap_or_else(|| base.pattern_ingester_tokenizable_json_fields_append.clone()),
        pattern_ingester_tokenizable_json_fields_delete: raw
            .pattern_ingester_tokenizable_json_fields_delete
            .clone()
            .unwrap_or_else(|| base.pattern_ingester_tokenizable_json_fields_delete.clone()),
    };
    if out.ingestion_burst_size < out.ingestion_rate {
        return Err(v.err(
            &k("ingestion_burst_size"),
            format!(
                "must be at least ingestion_rate ({} bytes), got {} bytes",
                out.ingestion_rate, out.ingestion_burst_size
            ),
        ));
    }
    if let Some(bad) = out
        .discover_service_name
        .iter()
        .chain(&out.log_level_fields)
        .find(|n| n.is_empty())
    {
        return Err(v.err(
            &k("discover_service_name"),
            format!("label and field names must not be empty, got {bad:?}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::LogLimits;

    fn parse(text: &str) -> crate::Result<Config> {
        Config::from_yaml(text, "t.yaml", &|_| None)
    }

    #[test]
    fn defaults_are_lokis() {
        let c = parse("").expect("defaults are valid");
        let l = &c.limits.logs;
        assert_eq!(*l, LogLimits::default());
        assert_eq!(l.ingestion_rate, 4 * 1024 * 1024);
        assert_eq!(l.max_line_size, 256_000);
        assert_eq!(l.max_label_names_per_series, 15);
        assert_eq!(l.reject_old_samples_max_age.as_secs(), 7 * 86400);
        assert_eq!(
            l.discover_service_name.first().map(String::as_str),
            Some("service")
        );
        assert_eq!(l.max_query_length.as_secs(), 721 * 3600);
    }

    #[test]
    fn overrides_inherit_the_section() {
        let c = parse(
            "limits:\n  logs:\n    max_line_size: 1KB\n    ingestion_rate: 10MiB\n    ingestion_burst_size: 20MiB\n\
             overrides:\n  team-a:\n    logs:\n      max_streams_per_tenant: 7\n",
        )
        .expect("valid");
        let a = cairn_model::TenantId::new("team-a").unwrap();
        let l = &c.limits_for(&a).logs;
        assert_eq!(l.max_line_size, 1000);
        assert_eq!(l.ingestion_rate, 10 << 20);
        assert_eq!(l.max_streams_per_tenant, 7);
        assert_eq!(c.limits.logs.max_streams_per_tenant, 5000);
    }

    #[test]
    fn pattern_json_fields_follow_lokis_three_lists() {
        let c = parse(
            "limits:\n  logs:\n    pattern_ingester_tokenizable_json_fields_append: [body, msg]\n    \
             pattern_ingester_tokenizable_json_fields_delete: [log, content]\n",
        )
        .expect("valid");
        assert_eq!(
            c.limits.logs.pattern_json_fields(),
            vec!["message", "msg", "msg_", "_msg", "body"]
        );
        assert_eq!(c.limits.logs.max_pattern_lines_per_query, 5_000_000);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("limits:\n  logs:\n    ingestion_burst_size: 1MiB\n").unwrap_err();
        assert!(
            e.to_string().contains("limits.logs.ingestion_burst_size"),
            "{e}"
        );
        let e = parse("overrides:\n  t:\n    logs:\n      max_query_series: 0\n").unwrap_err();
        assert!(
            e.to_string().contains("overrides.t.logs.max_query_series"),
            "{e}"
        );
        assert!(parse("limits:\n  logs:\n    bogus: 1\n").is_err());
    }
}
