//! Cairn's additions to Sloth's rules, run by the rule engine: the minimum number of events
//! that gates the page and ticket alerts, and the alert on missing SLI data.

#[path = "support/synth.rs"]
mod synth;

use std::collections::BTreeMap;

use cairn_model::{Labels, TenantId};
use cairn_promql::MemoryQuerier;
use cairn_rules::{AlertState, backtest, parse_rule_file};
use cairn_slo::{LoadOptions, compile_file};
use synth::{DAY, HOUR, MIN, Phase};

const SLO: &str = r#"
version: "prometheus/v1"
service: "quiet"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="quiet",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="quiet"}[{{.window}}]))
    alerting:
      name: QuietAvailability
"#;

async fn run(
    slo: &str,
    data: &MemoryQuerier,
    start: i64,
    end: i64,
) -> BTreeMap<Labels, Vec<(i64, AlertState)>> {
    let yaml = compile_file("quiet.yml", slo, &LoadOptions::default())
        .expect("valid slo")
        .to_yaml("quiet.yml");
    let rules = parse_rule_file("quiet.yml", &yaml).expect("rules load");
    let bt = backtest(&[rules], data, &TenantId::default_tenant(), start, end)
        .await
        .expect("backtest");
    assert!(
        bt.errors.is_empty(),
        "{:?}",
        &bt.errors[..bt.errors.len().min(3)]
    );
    bt.alerts
}

fn fired(alerts: &BTreeMap<Labels, Vec<(i64, AlertState)>>, name: &str, severity: &str) -> bool {
    alerts.iter().any(|(l, t)| {
        l.get("alertname") == Some(name)
            && l.get("sloth_severity") == Some(severity)
            && t.iter().any(|(_, s)| *s == AlertState::Firing)
    })
}

/// A service with 7 requests an hour of which 10% fail for two hours: a 100x burn that
/// pages under Sloth's rules, and does not once at least 100 events per window are asked.
#[tokio::test]
async fn min_events_keeps_a_quiet_service_from_paging() {
    let tenant = TenantId::default_tenant();
    let end = DAY;
    let mut data = MemoryQuerier::new();
    let phases = [
        Phase {
            start_ms: 0,
            rps: 0.002,
            bad: 0.0,
        },
        Phase {
            start_ms: 12 * HOUR,
            rps: 0.002,
            bad: 0.1,
        },
        Phase {
            start_ms: 14 * HOUR,
            rps: 0.002,
            bad: 0.0,
        },
    ];
    synth::counters(
        &mut data,
        &tenant,
        "http_requests_total",
        "quiet",
        &phases,
        MIN,
        end,
    );
    let plain = run(SLO, &data, 6 * HOUR, end).await;
    assert!(fired(&plain, "QuietAvailability", "page"), "{plain:#?}");
    let gated = SLO.to_string() + "    cairn:\n      min_events: 100\n";
    let gated = run(&gated, &data, 6 * HOUR, end).await;
    assert!(!fired(&gated, "QuietAvailability", "page"), "{gated:#?}");
    // A busy enough service still pages with the gate on.
    let mut busy = MemoryQuerier::new();
    let phases = phases.map(|p| Phase { rps: 1.0, ..p });
    synth::counters(
        &mut busy,
        &tenant,
        "http_requests_total",
        "quiet",
        &phases,
        MIN,
        end,
    );
    let gated_busy = SLO.to_string() + "    cairn:\n      min_events: 100\n";
    let gated_busy = run(&gated_busy, &busy, 6 * HOUR, end).await;
    assert!(
        fired(&gated_busy, "QuietAvailability", "page"),
        "{gated_busy:#?}"
    );
}

/// When the source series stop, `<name>SLIDataMissing` fires after its 15 minutes, while no
/// burn alert can.
#[tokio::test]
async fn missing_sli_data_alerts() {
    let tenant = TenantId::default_tenant();
    let mut data = MemoryQuerier::new();
    let phases = [Phase {
        start_ms: 0,
        rps: 5.0,
        bad: 0.0,
    }];
    let stop = 6 * HOUR;
    synth::counters(
        &mut data,
        &tenant,
        "http_requests_total",
        "quiet",
        &phases,
        MIN,
        stop,
    );
    let alerts = run(SLO, &data, HOUR, 8 * HOUR).await;
    let missing: Vec<&(i64, AlertState)> = alerts
        .iter()
        .filter(|(l, _)| l.get("alertname") == Some("QuietAvailabilitySLIDataMissing"))
        .flat_map(|(_, t)| t.iter())
        .collect();
    let firing = missing
        .iter()
        .find(|(_, s)| *s == AlertState::Firing)
        .map(|(t, _)| *t)
        .expect("data-missing alert fires");
    // Samples stop at 6h; the 5m rate is gone after 6h05m; 15m of `for` later it fires.
    assert!(
        firing > stop + 15 * MIN && firing <= stop + 25 * MIN,
        "fired at {firing}"
    );
    assert!(missing.iter().all(|(t, _)| *t > stop), "{missing:?}");
}
