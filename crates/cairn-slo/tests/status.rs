//! SLO status from the series the compiled rules record (run by Cairn's rule engine over
//! synthetic data), and the SLOs found again in loaded rule groups.

#[path = "support/synth.rs"]
mod synth;

use cairn_model::TenantId;
use cairn_promql::{Engine, MemoryQuerier};
use cairn_rules::{AlertState, backtest, parse_rule_file};
use cairn_slo::{AlertInstance, LoadOptions, LoadedRule, compile_file, slos_from_rules, status};
use synth::{DAY, HOUR, MIN, Phase};

const SLO: &str = r#"
version: "prometheus/v1"
service: "api"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="api",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="api"}[{{.window}}]))
    alerting:
      name: ApiAvailability
      page_alert:
        labels: {severity: critical}
"#;

#[tokio::test]
async fn status_follows_the_burn() {
    let tenant = TenantId::default_tenant();
    let end = 3 * DAY + 12 * HOUR;
    let mut data = MemoryQuerier::new();
    synth::counters(
        &mut data,
        &tenant,
        "http_requests_total",
        "api",
        &[
            // 0.5x for three days, a 20x burn for 90 minutes, then no errors at all.
            Phase {
                start_ms: 0,
                rps: 20.0,
                bad: 0.0005,
            },
            Phase {
                start_ms: 3 * DAY,
                rps: 20.0,
                bad: 0.02,
            },
            Phase {
                start_ms: 3 * DAY + 90 * MIN,
                rps: 20.0,
                bad: 0.0,
            },
        ],
        MIN,
        end,
    );
    let compiled = compile_file("api.yml", SLO, &LoadOptions::default()).expect("valid");
    let rules = parse_rule_file("api.yml", &compiled.to_yaml("api.yml")).expect("loads");
    let bt = backtest(&[rules], &data, &tenant, 0, end)
        .await
        .expect("backtest");
    let alerts_at = |t: i64| -> Vec<AlertInstance> {
        bt.alerts
            .iter()
            .filter_map(|(l, tr)| {
                let st = tr.iter().rev().find(|(ts, _)| *ts <= t)?.1;
                (st != AlertState::Inactive).then(|| AlertInstance {
                    name: l.get("alertname").unwrap_or_default().to_string(),
                    labels: l
                        .iter()
                        .map(|r| (r.name.to_string(), r.value.to_string()))
                        .collect(),
                    state: st.as_str().to_string(),
                })
            })
            .collect()
    };
    let engine = Engine::default();

    // An hour into the fast burn (20x).
    let t = 3 * DAY + HOUR;
    let s = &status(&engine, &bt.data, &tenant, &compiled.slos, &alerts_at(t), t).await[0];
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.id, "api-availability");
    assert_eq!(s.window_seconds, 30 * 86400);
    let sli = s.current_sli.expect("current sli");
    assert!((sli - 0.98).abs() < 1e-3, "{sli}");
    let burn5m = s.burn_rates[0].burn_rate.expect("5m burn rate");
    assert_eq!(s.burn_rates[0].window, "5m");
    assert!((burn5m - 20.0).abs() < 0.5, "{burn5m}");
    assert_eq!(
        s.error_budget_source.as_deref(),
        Some("cairn:slo_error_budget_remaining:ratio")
    );
    let remaining = s.error_budget_remaining.expect("remaining");
    assert!(remaining < 1.0 && remaining > 0.0, "{remaining}");
    assert_eq!(s.forecast_window.as_deref(), Some("1h"));
    let br1h = s
        .burn_rates
        .iter()
        .find(|b| b.window == "1h")
        .and_then(|b| b.burn_rate);
    let forecast = s.exhaustion_forecast_seconds.expect("burning: a forecast");
    let expected = remaining * 30.0 * 86400.0 / br1h.expect("1h burn rate");
    assert!(
        (forecast - expected).abs() < 1.0,
        "{forecast} vs {expected}"
    );
    let page = s
        .alerts
        .iter()
        .find(|a| a.severity == "page")
        .expect("page");
    assert_eq!(page.state, "firing");
    let ticket = s
        .alerts
        .iter()
        .find(|a| a.severity == "ticket")
        .expect("ticket");
    assert_eq!(ticket.state, "inactive");
    assert!(s.alerts.iter().any(|a| a.severity == "data-missing"));

    // Hours into the recovery with no errors: not burning, no forecast, page resolved.
    let t = 3 * DAY + 10 * HOUR;
    let s = &status(&engine, &bt.data, &tenant, &compiled.slos, &alerts_at(t), t).await[0];
    assert_eq!(s.current_sli, Some(1.0));
    assert!(s.error_budget_remaining.is_some_and(|r| r > 0.0), "{s:?}");
    assert_eq!(s.exhaustion_forecast_seconds, None);
    let page = s
        .alerts
        .iter()
        .find(|a| a.severity == "page")
        .expect("page");
    assert_eq!(page.state, "inactive");
}

#[tokio::test]
async fn status_of_an_slo_without_data_is_empty_not_an_error() {
    let compiled = compile_file("api.yml", SLO, &LoadOptions::default()).expect("valid");
    let s = &status(
        &Engine::default(),
        &MemoryQuerier::new(),
        &TenantId::default_tenant(),
        &compiled.slos,
        &[],
        1_000_000,
    )
    .await[0];
    assert!(s.errors.is_empty());
    assert_eq!(s.current_sli, None);
    assert_eq!(s.error_budget_remaining, None);
    assert_eq!(s.exhaustion_forecast_seconds, None);
    assert!(s.alerts.iter().all(|a| a.state == "inactive"));
}

#[test]
fn slos_are_found_again_in_loaded_rules() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/slos");
    for name in ["http-api.yml", "checkout-openslo.yml"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("example");
        let compiled = compile_file(name, &text, &LoadOptions::default()).expect("valid");
        let file = parse_rule_file(name, &compiled.to_yaml(name)).expect("loads");
        let found = slos_from_rules(file.groups.iter().flat_map(|g| {
            g.rules.iter().map(move |r| LoadedRule {
                group: &g.name,
                file: &g.file,
                name: &r.name,
                expr: &r.expr,
                labels: &r.labels,
                is_alert: r.is_alert(),
            })
        }));
        assert_eq!(found.len(), compiled.slos.len(), "{name}");
        for (f, c) in found.iter().zip(&compiled.slos) {
            assert_eq!(f.id, c.id);
            assert_eq!(f.service, c.service);
            assert_eq!(f.name, c.name);
            assert_eq!(f.objective, c.objective);
            assert_eq!(f.window, c.window);
            assert_eq!(f.sli_windows, c.sli_windows);
            assert_eq!(f.budget_records, c.budget_records);
            assert_eq!(f.labels, c.labels);
            let names = |a: &[cairn_slo::CompiledAlert]| -> Vec<(String, String)> {
                a.iter()
                    .map(|x| (x.name.clone(), x.severity.clone()))
                    .collect()
            };
            assert_eq!(names(&f.alerts), names(&c.alerts));
        }
    }
}
