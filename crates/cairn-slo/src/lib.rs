//! SLOs for Cairn: Sloth `prometheus/v1` and OpenSLO (`openslo/v1alpha` as Sloth reads it,
//! `openslo/v1`) files, read as users write them, validated with errors naming the file, the
//! SLO and the field, and compiled into Prometheus rule groups that Sloth would generate
//! (same group and record names, labels and multiwindow multi-burn-rate page and ticket
//! alerts), plus Cairn's additive groups: an error budget from real event counts, an optional
//! minimum event count gating the alerts, and an alert when the SLI's data is missing.
//!
//! SLIs over logs (`cairn.query_language: logql`, or OpenSLO `Loki` metric sources) compile
//! into one more group, in Loki's ruler format ([`Compiled::to_log_yaml`]): it records the
//! error and total queries over every minute, and the Sloth groups are PromQL sums over those
//! minutes, so a 3d window costs one minute of log scanning per evaluation.
//!
//! Invariants: compilation never fails on a file that [`parse_slo_file`] accepted (every
//! query was rendered with a window and parsed as PromQL, or LogQL for SLIs over logs, every
//! period has alert windows);
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
    CompiledSlo, ERROR_BUCKET_RECORD, LOG_ERROR_STEP_RECORD, LOG_STEP, LOG_TOTAL_STEP_RECORD,
    PERIOD_RATIO_RECORD, RuleFileOut, RuleGroupOut, RuleOut, SLOTH_BUDGET_REMAINING_RECORD,
    SliWindow, TOTAL_BUCKET_RECORD, compile, sli_record,
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
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        // After a syntax error the document stream yields the same error forever.
        let Ok(v) = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc) else {
            return false;
        };
        let slo = v.get("version").and_then(|v| v.as_str()) == Some("prometheus/v1")
            || v.get("apiVersion")
                .and_then(|v| v.as_str())
                .is_some_and(|a| a.starts_with("openslo/"));
        if slo {
            return true;
        }
    }
    false
}
