//! The `slos:` section: SLO files (Sloth `prometheus/v1`, OpenSLO) that the rule engine
//! compiles into rule groups and evaluates beside `rules.rule_files`.

use std::time::Duration;

use serde::Deserialize;

use super::V;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlos {
    files: Option<Vec<String>>,
    default_period: Option<String>,
}

/// `slos:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct SlosConfig {
    /// Globs of SLO files, relative to the config file's directory (`files`, default none).
    pub files: Vec<String>,
    /// SLO period of Sloth files, which cannot name one (`default_period`, default 30d).
    pub default_period: Duration,
}

impl Default for SlosConfig {
    fn default() -> Self {
        SlosConfig {
            files: Vec::new(),
            default_period: Duration::from_secs(30 * 86400),
        }
    }
}

/// Validates the section; relative globs are resolved against `file`'s directory.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawSlos>, file: &str) -> Result<SlosConfig> {
    let raw = raw.unwrap_or_default();
    let files = super::relative_to_file(file, raw.files.unwrap_or_default());
    let default_period = v.positive(
        "slos.default_period",
        v.duration("slos.default_period", raw.default_period.as_ref(), "30d")?,
        "default_period",
    )?;
    Ok(SlosConfig {
        files,
        default_period,
    })
}
