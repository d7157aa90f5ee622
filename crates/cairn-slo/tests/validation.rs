//! Validation errors name the file, the SLO and the field; every error of a file is reported.

use cairn_slo::{LoadOptions, Sli, compile_file, parse_slo_file};

const GOOD: &str = r#"
version: "prometheus/v1"
service: "svc"
slos:
  - name: "avail"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(req_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(req_total[{{.window}}]))
    alerting:
      name: SvcAvail
"#;

fn errors(text: &str) -> Vec<String> {
    match parse_slo_file("f.yml", text, &LoadOptions::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(text: &str, wanted: &[&str]) {
    let errs = errors(text);
    assert!(
        errs.iter().any(|e| wanted.iter().all(|w| e.contains(w))),
        "no error containing {wanted:?} in {errs:#?}"
    );
}

#[test]
fn good_file_is_accepted() {
    assert!(errors(GOOD).is_empty(), "{:?}", errors(GOOD));
}

#[test]
fn objective_out_of_range() {
    assert_error(
        &GOOD.replace("objective: 99.9", "objective: 120"),
        &["f.yml", "\"avail\"", "objective", "120"],
    );
    assert_error(
        &GOOD.replace("objective: 99.9", "objective: 0"),
        &["objective", "(0, 100]"],
    );
}

#[test]
fn window_placeholder_missing() {
    assert_error(
        &GOOD.replace(
            "sum(rate(req_total[{{.window}}]))",
            "sum(rate(req_total[5m]))",
        ),
        &[
            "f.yml",
            "\"avail\"",
            "sli.events.total_query",
            "{{.window}}",
        ],
    );
}

#[test]
fn unparsable_promql_after_rendering() {
    assert_error(
        &GOOD.replace(
            "sum(rate(req_total[{{.window}}]))",
            "sum(rate(req_total[{{.window}}])",
        ),
        &["sli.events.total_query", "invalid promql with window 5m"],
    );
}

#[test]
fn duplicate_names_and_unknown_keys() {
    let dup = GOOD.to_string()
        + r#"  - name: "avail"
    objective: 99
    sli:
      raw:
        error_ratio_query: 1 - avg_over_time(up[{{.window}}])
    alerting:
      name: Other
"#;
    assert_error(&dup, &["\"avail\"", "duplicate slo id \"svc-avail\""]);
    assert_error(
        &GOOD.replace("objective: 99.9", "objective: 99.9\n    objectve: 99"),
        &["f.yml", "unknown field `objectve`"],
    );
}

#[test]
fn plugins_are_refused_clearly() {
    let text = GOOD.replace(
        "events:\n        error_query: sum(rate(req_total{code=~\"5..\"}[{{.window}}]))\n        total_query: sum(rate(req_total[{{.window}}]))",
        "plugin:\n        id: sloth-common/kubernetes/apiserver/availability",
    );
    assert_error(&text, &["\"avail\"", "sli.plugin", "not supported"]);
}

#[test]
fn alert_name_required_when_alerts_on() {
    assert_error(
        &GOOD.replace("      name: SvcAvail\n", "      labels: {a: b}\n"),
        &["alerting.name", "required"],
    );
}

#[test]
fn all_errors_are_reported() {
    let text = GOOD
        .replace("objective: 99.9", "objective: -1")
        .replace("name: \"avail\"", "name: \"-bad\"");
    let errs = errors(&text);
    assert!(errs.len() >= 2, "{errs:#?}");
}

#[test]
fn period_without_windows() {
    let opts = LoadOptions {
        default_period: std::time::Duration::from_secs(7 * 86400),
        ..LoadOptions::default()
    };
    let e = parse_slo_file("f.yml", GOOD, &opts).unwrap_err();
    let msg = e[0].to_string();
    assert!(msg.contains("no alert windows for a 1w period"), "{msg}");
}

#[test]
fn custom_alert_windows_in_the_file() {
    let windows = r#"
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}
---
"#;
    let opts = LoadOptions {
        default_period: std::time::Duration::from_secs(7 * 86400),
        ..LoadOptions::default()
    };
    let c = compile_file("f.yml", &format!("{windows}{GOOD}"), &opts).unwrap();
    let yaml = c.to_yaml("f.yml");
    assert!(yaml.contains("slo:sli_error:ratio_rate1w"), "{yaml}");
    assert!(yaml.contains("vector(7)"));
    // 8% of 168h in 1h: 13.44.
    assert!(yaml.contains("> (13.44 * "), "{yaml}");
    assert_eq!(c.slos[0].window.as_secs(), 7 * 86400);
}

const OPENSLO_V1: &str = r#"
apiVersion: openslo/v1
kind: SLO
metadata:
  name: web-availability
  labels: {team: web}
  annotations:
    cairn.dev/min-events: "20"
spec:
  service: web
  indicator:
    metadata:
      name: web-errors
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.5
  alertPolicies:
    - kind: AlertPolicy
      metadata:
        name: web-burn
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec:
              severity: critical
              condition: {kind: burnrate, op: gt, threshold: 14, lookbackWindow: 1h}
"#;

#[test]
fn openslo_v1_slo_with_inline_sli_and_policy() {
    let f = parse_slo_file("o.yml", OPENSLO_V1, &LoadOptions::default()).unwrap();
    assert_eq!(f.slos.len(), 1);
    let s = &f.slos[0];
    assert_eq!(s.id(), "web-web-availability");
    assert_eq!(s.objective, 99.5);
    assert_eq!(s.period.as_secs(), 28 * 86400);
    assert_eq!(s.extensions.min_events, Some(20));
    assert_eq!(s.alerting.name.as_deref(), Some("WebBurn"));
    assert_eq!(s.alerting.page.labels["severity"], "critical");
    match &s.sli {
        Sli::Events { total_query, .. } => {
            assert_eq!(total_query, "sum(rate(http_requests_total[{{.window}}]))");
        }
        other => panic!("{other:?}"),
    }
    let yaml = compile_file("o.yml", OPENSLO_V1, &LoadOptions::default())
        .unwrap()
        .to_yaml("o.yml");
    // 28 days: Sloth's windows named as Prometheus prints 28d.
    assert!(yaml.contains("slo:sli_error:ratio_rate4w"), "{yaml}");
    assert!(yaml.contains("13.44 * "), "{yaml}");
    assert!(yaml.contains(">= 20"), "{yaml}");
}

#[test]
fn openslo_v1_errors_name_the_field() {
    assert_error(
        &OPENSLO_V1.replace(
            "targetPercent: 99.5",
            "targetPercent: 99.5\n      target: 0.99",
        ),
        &[
            "\"web-availability\"",
            "spec.objectives[0]",
            "exactly one of target",
        ],
    );
    assert_error(
        &OPENSLO_V1.replace("isRolling: true", "isRolling: false"),
        &["spec.timeWindow[0]", "calendar"],
    );
    assert_error(
        &OPENSLO_V1.replace(
            "type: Prometheus\n            spec:\n              query: http",
            "type: Datadog\n            spec:\n              query: http",
        ),
        &["metricSource.type", "Datadog"],
    );
    let missing_ref = OPENSLO_V1.replace(
        "  indicator:\n    metadata:\n      name: web-errors\n",
        "  indicatorRef: nope\n  indicatorX:\n    metadata:\n      name: web-errors\n",
    );
    assert!(!errors(&missing_ref).is_empty());
}
