//! The `otlp:` section: how OTLP metrics become Prometheus series, with Prometheus' own
//! `otlp:` keys and rules (`translation_strategy`, resource attribute promotion, scope
//! metadata, label name sanitization).

use std::collections::HashSet;

use cairn_wire::{OtlpMetricsMapping, TranslationStrategy};
use serde::Deserialize;

use super::V;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOtlp {
    translation_strategy: Option<String>,
    promote_resource_attributes: Option<Vec<String>>,
    promote_all_resource_attributes: Option<bool>,
    ignore_resource_attributes: Option<Vec<String>>,
    keep_identifying_resource_attributes: Option<bool>,
    promote_scope_metadata: Option<bool>,
    label_name_underscore_sanitization: Option<bool>,
    label_name_preserve_multiple_underscores: Option<bool>,
}

/// `otlp:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The metric mapping these keys configure.
    pub metrics: OtlpMetricsMapping,
}

/// Validates `otlp`, refusing what Prometheus refuses: both promotion modes at once,
/// `ignore_resource_attributes` without `promote_all_resource_attributes`, empty or repeated
/// attribute names.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawOtlp>) -> Result<OtlpConfig> {
    let raw = raw.unwrap_or_default();
    let d = OtlpMetricsMapping::default();
    let translation_strategy = match raw.translation_strategy.as_deref() {
        None | Some("") => d.translation_strategy,
        Some(s) => TranslationStrategy::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = TranslationStrategy::ALL.iter().map(|t| t.name()).collect();
            v.err(
                "otlp.translation_strategy",
                format!(
                    "unknown strategy {s:?}, expected one of {}",
                    names.join(", ")
                ),
            )
        })?,
    };
    let promote_all = raw.promote_all_resource_attributes.unwrap_or(false);
    let promote = attributes(
        v,
        "otlp.promote_resource_attributes",
        raw.promote_resource_attributes,
    )?;
    let ignore = attributes(
        v,
        "otlp.ignore_resource_attributes",
        raw.ignore_resource_attributes,
    )?;
    if promote_all && !promote.is_empty() {
        return Err(v.err(
            "otlp.promote_resource_attributes",
            "cannot be set together with promote_all_resource_attributes",
        ));
    }
    if !promote_all && !ignore.is_empty() {
        return Err(v.err(
            "otlp.ignore_resource_attributes",
            "only applies with promote_all_resource_attributes: true",
        ));
    }
    Ok(OtlpConfig {
        metrics: OtlpMetricsMapping {
            translation_strategy,
            promote_resource_attributes: promote,
            promote_all_resource_attributes: promote_all,
            ignore_resource_attributes: ignore,
            keep_identifying_resource_attributes: raw
                .keep_identifying_resource_attributes
                .unwrap_or(d.keep_identifying_resource_attributes),
            promote_scope_metadata: raw
                .promote_scope_metadata
                .unwrap_or(d.promote_scope_metadata),
            label_name_underscore_sanitization: raw
                .label_name_underscore_sanitization
                .unwrap_or(d.label_name_underscore_sanitization),
            label_name_preserve_multiple_underscores: raw
                .label_name_preserve_multiple_underscores
                .unwrap_or(d.label_name_preserve_multiple_underscores),
        },
    })
}

/// Attribute names trimmed; empty and repeated ones refused.
fn attributes(v: &V<'_>, key: &str, raw: Option<Vec<String>>) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.unwrap_or_default().into_iter().enumerate() {
        let a = a.trim().to_string();
        if a.is_empty() {
            return Err(v.err(&format!("{key}[{i}]"), "empty attribute name"));
        }
        if !seen.insert(a.clone()) {
            return Err(v.err(
                &format!("{key}[{i}]"),
                format!("attribute {a:?} listed twice"),
            ));
        }
        out.push(a);
    }
    Ok(out)
}
