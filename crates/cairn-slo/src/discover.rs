//! SLOs found again in loaded rule groups: whatever produced them (`cairn slo generate`,
//! Sloth itself, or SLO files the server compiles at load), the groups and records Sloth
//! names carry everything the status needs, so the status follows the rules that really run.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::compile::{
    BUDGET_REMAINING_RECORD, CompiledAlert, CompiledSlo, SLOTH_BUDGET_REMAINING_RECORD, SliWindow,
};
use crate::duration::parse_duration;

/// A loaded rule, as the rule engine holds it.
#[derive(Clone, Copy, Debug)]
pub struct LoadedRule<'a> {
    /// Its group's name.
    pub group: &'a str,
    /// The file it was loaded from.
    pub file: &'a str,
    /// Record or alert name.
    pub name: &'a str,
    /// Its expression.
    pub expr: &'a str,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Alerting (true) or recording rule.
    pub is_alert: bool,
}

const SLI_PREFIX: &str = "slo:sli_error:ratio_rate";
/// Groups of one SLO are these prefixes followed by its id.
const GROUP_PREFIXES: [&str; 5] = [
    "sloth-slo-sli-recordings-",
    "sloth-slo-meta-recordings-",
    "sloth-slo-alerts-",
    "cairn-slo-budget-",
    "cairn-slo-alerts-",
];

/// The SLOs whose Sloth-shaped rules are among `rules`, one per `sloth_slo_info` record.
pub fn slos_from_rules<'a>(rules: impl IntoIterator<Item = LoadedRule<'a>>) -> Vec<CompiledSlo> {
    let rules: Vec<LoadedRule<'a>> = rules.into_iter().collect();
    let id_of = |r: &LoadedRule<'_>| r.labels.get("sloth_id").cloned();
    let mut out = Vec::new();
    for info in rules
        .iter()
        .filter(|r| !r.is_alert && r.name == "sloth_slo_info")
    {
        let Some(id) = id_of(info) else { continue };
        let mine: Vec<&LoadedRule<'a>> = rules
            .iter()
            .filter(|r| {
                id_of(r).as_deref() == Some(id.as_str())
                    || GROUP_PREFIXES
                        .iter()
                        .any(|p| r.group.strip_prefix(p) == Some(id.as_str()))
            })
            .collect();
        let days = mine
            .iter()
            .find(|r| r.name == "slo:time_period:days")
            .and_then(|r| {
                r.expr
                    .trim()
                    .strip_prefix("vector(")?
                    .strip_suffix(')')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(30.0);
        let mut sli_windows: Vec<(Duration, SliWindow)> = mine
            .iter()
            .filter(|r| !r.is_alert && r.name.starts_with(SLI_PREFIX))
            .filter_map(|r| {
                let w = r.labels.get("sloth_window")?;
                Some((
                    parse_duration(w).ok()?,
                    SliWindow {
                        window: w.clone(),
                        record: r.name.to_string(),
                    },
                ))
            })
            .collect();
        sli_windows.sort_by_key(|(d, _)| *d);
        sli_windows.dedup_by_key(|(d, _)| *d);
        let alerts: Vec<CompiledAlert> = mine
            .iter()
            .filter(|r| r.is_alert)
            .map(|r| CompiledAlert {
                name: r.name.to_string(),
                severity: r.labels.get("sloth_severity").cloned().unwrap_or_default(),
                conditions: Vec::new(),
            })
            .collect();
        let cairn_budget = mine
            .iter()
            .any(|r| !r.is_alert && r.name == BUDGET_REMAINING_RECORD);
        let mut budget_records = Vec::new();
        if cairn_budget {
            budget_records.push(BUDGET_REMAINING_RECORD.to_string());
        }
        budget_records.push(SLOTH_BUDGET_REMAINING_RECORD.to_string());
        let labels: BTreeMap<String, String> = info
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("sloth_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let get = |k: &str| info.labels.get(k).cloned().unwrap_or_default();
        out.push(CompiledSlo {
            id: id.clone(),
            service: get("sloth_service"),
            name: get("sloth_slo"),
            description: String::new(),
            objective: get("sloth_objective").parse().unwrap_or(f64::NAN),
            window: Duration::from_secs_f64(days.max(0.0) * 86400.0),
            sli_kind: if cairn_budget { "events" } else { "unknown" }.to_string(),
            sli_windows: sli_windows.into_iter().map(|(_, w)| w).collect(),
            budget_records,
            alerts,
            labels,
            source_file: info.file.to_string(),
        });
    }
    out
}
