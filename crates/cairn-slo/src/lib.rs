//! SLOs for Cairn: Sloth `prometheus/v1` and OpenSLO (`openslo/v1alpha` as Sloth reads it,
//! `openslo/v1`) files, read as users write them, validated with errors naming the file, the
//! SLO and the field, and compiled into Prometheus rule groups that Sloth would generate
//! (same group and record names, labels and multiwindow multi-burn-rate page and ticket
//! alerts), plus Cairn's additive groups: an error budget from real event counts, an optional
//! minimum event count gating the alerts, and an alert when the SLI's data is missing.
//!
//! Invariants: compilation never fails on a file that [`parse_slo_file`] accepted (every
//! query was rendered with a window and parsed as PromQL, every period has alert windows);
//! Sloth's rules are kept as Sloth writes them, so an SLO alerts at the same evaluations
//! under Cairn's rules as under Sloth's; Cairn's additions live in their own groups and
//! records under a `cairn` prefix, except the optional `min_events` gate, which changes the
//! burn-rate alert expressions of the SLOs that ask for it.

mod compile;
mod discover;
mod duration;
mod error;
mod load;
mod openslo;
mod sloth;
mod spec;
mod status;
mod windows;

pub use compile::{
    BUCKET, BUDGET_GROUP_INTERVAL, BUDGET_REMAINING_RECORD, BurnCondition, Compiled, CompiledAlert,
    CompiledSlo, ERROR_BUCKET_RECORD, LOG_ERROR_RATE_RECORD, LOG_TOTAL_RATE_RECORD,
    PERIOD_RATIO_RECORD, RuleFileOut, RuleGroupOut, RuleOut, SLOTH_BUDGET_REMAINING_RECORD,
    SliWindow, TOTAL_BUCKET_RECORD, compile, log_rate_record, sli_record,
};
pub use discover::{LoadedRule, slos_from_rules};
pub use duration::{format_duration, parse_duration};
pub use error::{Error, Result};
pub use load::{LoadOptions, SloFile, parse_slo_file};
pub use openslo::MIN_EVENTS_ANNOTATION;
pub use spec::{AlertMeta, Alerting, Extensions, Sli, SliLanguage, SloSpec};
pub use status::{AlertInstance, AlertStatus, BurnRate, SloStatus, status};
pub use windows::{AlertWindows, Window, WindowsCatalog, parse_alert_windows};

/// Reads, validates and compiles an SLO file in one go.
pub fn compile_file(name: &str, text: &str, opts: &LoadOptions) -> Result<Compiled, Vec<Error>> {
    parse_slo_file(name, text, opts).map(|f| compile(&f))
}

/// True when `text` holds an SLO document (Sloth `prometheus/v1`, OpenSLO) rather than a
/// Prometheus rule file, so a loader can compile it before handing it to the rule engine.
pub fn looks_like_slo_file(text: &str) -> bool {
    serde_yaml_ng::Deserializer::from_str(text).any(|doc| {
        let Ok(v) = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc) else {
            return false;
        };
        v.get("version").and_then(|v| v.as_str()) == Some("prometheus/v1")
            || v.get("apiVersion")
                .and_then(|v| v.as_str())
                .is_some_and(|a| a.starts_with("openslo/"))
    })
}
