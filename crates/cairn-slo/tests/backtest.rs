//! Our rules and Sloth's (`../shared/conformance/sloth/expected/`) evaluated by Cairn's rule
//! engine over the same synthetic data (a burn below every threshold, a fast burn, a
//! recovery, a slow burn): the page and ticket alerts must fire and resolve at the same
//! evaluation timestamps.

#[path = "support/synth.rs"]
mod synth;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cairn_model::{Labels, TenantId};
use cairn_promql::MemoryQuerier;
use cairn_promql::{Engine, EngineOptions};
use cairn_rules::{AlertState, EvalOptions, RuleFile, backtest_with, parse_rule_file};
use cairn_slo::{LoadOptions, compile_file};
use synth::DAY;

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sloth")
}

/// Sloth's output, one rule file per YAML document.
fn sloth_rule_files(name: &str) -> Vec<RuleFile> {
    let text = std::fs::read_to_string(conformance_dir().join("expected").join(name))
        .expect("read expected");
    text.split("\n---\n")
        .filter(|d| d.contains("groups:"))
        .enumerate()
        .map(|(i, d)| {
            parse_rule_file(&format!("sloth-{i}-{name}"), d)
                .unwrap_or_else(|e| panic!("sloth's {name} must load as a plain rule file: {e}"))
        })
        .collect()
}

fn our_rule_file(name: &str) -> RuleFile {
    let text = std::fs::read_to_string(conformance_dir().join(name)).expect("read input");
    let yaml = compile_file(name, &text, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
        .to_yaml(name);
    parse_rule_file(name, &yaml).unwrap_or_else(|e| panic!("our {name}: {e}\n{yaml}"))
}

fn data_for(name: &str, tenant: &TenantId, end_ms: i64) -> MemoryQuerier {
    let mut q = MemoryQuerier::new();
    let step = synth::MIN;
    match name {
        // Clients below 0.75 (and 0.5) are the error events.
        "home-wifi.yml" => synth::gauges(
            &mut q,
            "unifipoller_client_satisfaction_ratio",
            40,
            (0.95, 0.4),
            &synth::schedule(0.05),
            step,
            end_ms,
        ),
        // The error ratio is one minus the mean satisfaction.
        "raw-home-wifi.yml" => synth::gauges(
            &mut q,
            "unifipoller_client_satisfaction_ratio",
            40,
            (1.0, 0.0),
            &synth::schedule(0.05),
            step,
            end_ms,
        ),
        "no-alerts.yml" => synth::counters(
            &mut q,
            tenant,
            "http_request_duration_seconds_count",
            "myapp",
            &synth::schedule(0.0001),
            step,
            end_ms,
        ),
        _ => synth::counters(
            &mut q,
            tenant,
            "http_request_duration_seconds_count",
            "myservice",
            &synth::schedule(0.001),
            step,
            end_ms,
        ),
    }
    q
}

type Transitions = BTreeMap<Vec<(String, String)>, Vec<(i64, AlertState)>>;

/// Transitions of the alerts named `names`, keyed by their labels without Sloth's example
/// generator label `cmd`.
fn transitions(
    alerts: &BTreeMap<Labels, Vec<(i64, AlertState)>>,
    names: &BTreeSet<String>,
) -> Transitions {
    alerts
        .iter()
        .filter(|(l, _)| l.get("alertname").is_some_and(|n| names.contains(n)))
        .map(|(l, t)| {
            let key = l
                .iter()
                .filter(|r| r.name != "cmd")
                .map(|r| (r.name.to_string(), r.value.to_string()))
                .collect();
            (key, t.clone())
        })
        .collect()
}

fn alert_names(files: &[RuleFile]) -> BTreeSet<String> {
    files
        .iter()
        .flat_map(|f| f.groups.iter())
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.is_alert())
        .map(|r| r.name.clone())
        .collect()
}

async fn compare(name: &str) -> Transitions {
    compare_over(
        name,
        2 * DAY + 12 * synth::HOUR,
        6 * DAY,
        &EvalOptions::default(),
    )
    .await
}

async fn compare_over(name: &str, start: i64, end: i64, opts: &EvalOptions) -> Transitions {
    let tenant = TenantId::default_tenant();
    let data = data_for(name, &tenant, end);
    let theirs_files = sloth_rule_files(name);
    let names = alert_names(&theirs_files);
    let t0 = Instant::now();
    let theirs = backtest_with(&theirs_files, &data, start, end, opts)
        .await
        .unwrap_or_else(|e| panic!("{name}: sloth's rules: {e}"));
    let t1 = Instant::now();
    let ours = backtest_with(&[our_rule_file(name)], &data, start, end, opts)
        .await
        .unwrap_or_else(|e| panic!("{name}: our rules: {e}"));
    eprintln!(
        "{name}: sloth's rules {:?} ({} evaluations), ours {:?} ({} evaluations)",
        t1 - t0,
        theirs.evaluations,
        t1.elapsed(),
        ours.evaluations
    );
    assert!(
        theirs.errors.is_empty(),
        "{name}: sloth's rules failed: {:?}",
        &theirs.errors[..theirs.errors.len().min(3)]
    );
    assert!(
        ours.errors.is_empty(),
        "{name}: our rules failed: {:?}",
        &ours.errors[..ours.errors.len().min(3)]
    );
    let (o, t) = (
        transitions(&ours.alerts, &names),
        transitions(&theirs.alerts, &names),
    );
    assert_eq!(o, t, "{name}: page and ticket alerts differ");
    for (l, tr) in &o {
        let sev = l
            .iter()
            .find(|(k, _)| k == "sloth_severity")
            .map_or("", |(_, v)| v.as_str());
        let slo = l
            .iter()
            .find(|(k, _)| k == "sloth_slo")
            .map_or("", |(_, v)| v.as_str());
        let at: Vec<String> = tr
            .iter()
            .map(|(t, s)| format!("{:.2}h {}", *t as f64 / synth::HOUR as f64, s.as_str()))
            .collect();
        eprintln!("  {slo} {sev}: {}", at.join(", "));
    }
    o
}

fn fired(t: &Transitions, severity: &str) -> usize {
    t.iter()
        .filter(|(l, _)| {
            l.iter()
                .any(|(k, v)| k == "sloth_severity" && v == severity)
        })
        .flat_map(|(_, s)| s.iter())
        .filter(|(_, s)| *s == AlertState::Firing)
        .count()
}

fn resolved(t: &Transitions) -> usize {
    t.values()
        .flat_map(|s| s.iter())
        .filter(|(_, s)| *s == AlertState::Inactive)
        .count()
}

#[tokio::test]
async fn getting_started_alerts_match_sloth() {
    let t = compare("getting-started.yml").await;
    // The scenario must exercise both alerts and their resolution, or the test proves nothing.
    assert!(fired(&t, "page") >= 1, "{t:#?}");
    assert!(fired(&t, "ticket") >= 1, "{t:#?}");
    assert!(resolved(&t) >= 2, "{t:#?}");
}

#[tokio::test]
async fn multifile_alerts_match_sloth() {
    let t = compare("multifile.yml").await;
    assert!(fired(&t, "page") >= 2, "{t:#?}");
}

#[tokio::test]
async fn home_wifi_alerts_match_sloth() {
    // Sloth's home-wifi SLIs are subqueries over up to 3 days: a 5m subquery step (for both
    // rule sets alike) and the part of the scenario with the bursts keep it fast.
    let opts = EvalOptions {
        engine: Engine::new(EngineOptions {
            default_subquery_step_ms: 5 * synth::MIN,
            ..EngineOptions::default()
        }),
        ..EvalOptions::default()
    };
    let t = compare_over(
        "home-wifi.yml",
        3 * DAY - synth::HOUR,
        3 * DAY + 4 * synth::HOUR,
        &opts,
    )
    .await;
    assert!(fired(&t, "page") >= 1, "{t:#?}");
    assert!(fired(&t, "ticket") >= 1, "{t:#?}");
}

#[tokio::test]
async fn raw_home_wifi_alerts_match_sloth() {
    let t = compare("raw-home-wifi.yml").await;
    assert!(fired(&t, "page") >= 1, "{t:#?}");
}

#[tokio::test]
async fn no_alerts_file_raises_none() {
    let t = compare("no-alerts.yml").await;
    assert!(t.is_empty());
}

#[tokio::test]
async fn openslo_file_raises_none() {
    let t = compare("openslo-getting-started.yml").await;
    assert!(t.is_empty());
}
