//! SLOs over logs: LogQL SLIs compile into a LogQL group counting each minute and the usual
//! PromQL groups over those counts, and page like a metrics SLO when run by the rule engine
//! over a log store.

use std::collections::BTreeMap;

use cairn_logql::MemoryLogQuerier;
use cairn_model::{Labels, LogEntry, TenantId};
use cairn_promql::MemoryQuerier;
use cairn_rules::{
    AlertState, EvalOptions, backtest_with_logs, parse_log_rule_file, parse_rule_file,
};
use cairn_slo::{LoadOptions, compile_file};

const MIN: i64 = 60_000;

const SLO: &str = r#"
version: "prometheus/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99.5
    sli:
      events:
        error_query: sum(count_over_time({app="checkout"} | json | status=~"5.." [{{.window}}]))
        total_query: sum(count_over_time({app="checkout"} | json | status=~".+" [{{.window}}]))
    alerting:
      name: CheckoutAvailability
    cairn:
      query_language: logql
"#;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

#[test]
fn compiles_into_a_logql_minute_group_and_promql_groups() {
    let c = compile_file("logs.yml", SLO, &LoadOptions::default()).expect("valid");
    let promql = parse_rule_file("logs.yml", &c.to_yaml("logs.yml")).expect("PromQL groups");
    let logql = parse_log_rule_file("logs.yml", &c.to_log_yaml("logs.yml").expect("some LogQL"))
        .expect("LogQL groups");
    let names = |f: &cairn_rules::RuleFile| -> Vec<String> {
        f.groups.iter().map(|g| g.name.clone()).collect()
    };
    assert_eq!(
        names(&logql),
        vec!["cairn-slo-sli-logs-checkout-availability"]
    );
    assert_eq!(
        logql.groups[0].interval,
        Some(std::time::Duration::from_secs(60))
    );
    assert!(names(&promql).contains(&"sloth-slo-sli-recordings-checkout-availability".into()));
    assert!(
        promql
            .groups
            .iter()
            .flat_map(|g| g.rules.iter())
            .all(|r| !r.expr.contains("count_over_time({")),
        "no LogQL in the PromQL file"
    );
    // A metrics SLO has no LogQL file.
    let metrics = SLO
        .replace("    cairn:\n      query_language: logql\n", "")
        .replace(
            r#"sum(count_over_time({app="checkout"} | json | status=~"5.." [{{.window}}]))"#,
            r#"sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))"#,
        )
        .replace(
            r#"sum(count_over_time({app="checkout"} | json | status=~".+" [{{.window}}]))"#,
            r#"sum(rate(http_requests_total[{{.window}}]))"#,
        );
    let c = compile_file("m.yml", &metrics, &LoadOptions::default()).expect("valid");
    assert!(c.to_log_yaml("m.yml").is_none());
}

#[test]
fn validation_names_the_language_problems() {
    let without = SLO.replace("    cairn:\n      query_language: logql\n", "");
    let e = compile_file("l.yml", &without, &LoadOptions::default()).unwrap_err();
    let msg = e[0].to_string();
    assert!(msg.contains("invalid promql"), "{msg}");
    assert!(msg.contains("set cairn.query_language: logql"), "{msg}");

    let log_query = SLO.replace(
        r#"sum(count_over_time({app="checkout"} | json | status=~"5.." [{{.window}}]))"#,
        r#"'{app="checkout"} |= "error {{.window}}"'"#,
    );
    let e = compile_file("l.yml", &log_query, &LoadOptions::default()).unwrap_err();
    assert!(
        e[0].to_string().contains("a log query counts nothing"),
        "{}",
        e[0]
    );

    let bad = SLO.replace("query_language: logql", "query_language: sql");
    let e = compile_file("l.yml", &bad, &LoadOptions::default()).unwrap_err();
    assert!(
        e[0].to_string().contains("expected promql or logql"),
        "{}",
        e[0]
    );
}

/// Ten request lines a minute, one every 6 s; from 60m to 120m every other one is a 503.
fn checkout_logs() -> MemoryLogQuerier {
    let mut logs = MemoryLogQuerier::new();
    let entries: Vec<LogEntry> = (0..=1800i64)
        .map(|k| {
            let status = if (600..1200).contains(&k) && k % 2 == 1 {
                503
            } else {
                200
            };
            LogEntry::new(
                k * 6_000_000_000,
                format!(r#"{{"msg":"request","status":{status},"path":"/cart"}}"#),
            )
        })
        .collect();
    logs.add(
        &TenantId::default_tenant(),
        labels(&[("app", "checkout")]),
        &entries,
    );
    logs
}

#[tokio::test]
async fn a_burst_of_5xx_lines_pages_and_resolves() {
    let c = compile_file("logs.yml", SLO, &LoadOptions::default()).expect("valid");
    let files = vec![
        parse_log_rule_file("logs.yml", &c.to_log_yaml("logs.yml").unwrap()).unwrap(),
        parse_rule_file("logs.yml", &c.to_yaml("logs.yml")).unwrap(),
    ];
    let opts = EvalOptions::default();
    let bt = backtest_with_logs(
        &files,
        &MemoryQuerier::new(),
        &checkout_logs(),
        0,
        180 * MIN,
        &opts,
    )
    .await
    .expect("backtest");
    assert!(
        bt.errors.is_empty(),
        "{:?}",
        &bt.errors[..bt.errors.len().min(3)]
    );
    let by_severity: BTreeMap<String, Vec<(i64, AlertState)>> = bt
        .alerts
        .iter()
        .map(|(l, t)| (l.get("sloth_severity").unwrap_or("").to_string(), t.clone()))
        .collect();
    // Derived by hand: a minute's count covers (t-1m, t]; the 99.5% budget is 0.005.
    // - ticket (1x over 3d and 6h): at 61m the windows hold 5 errors of 611 lines (0.0082);
    // - page (6x over 6h and 30m): at 64m 20 errors of 641 lines (0.0312 > 0.03), and 20 of
    //   300 over 30m; 14.4x over 1h and 5m would only hold from 69m;
    // - the page resolves when the 30m window holds a single erroneous minute (5 of 300):
    //   at 149m; the ticket's 6h window still holds the incident at 180m.
    assert_eq!(
        by_severity.get("page"),
        Some(&vec![
            (64 * MIN, AlertState::Firing),
            (149 * MIN, AlertState::Inactive)
        ])
    );
    assert_eq!(
        by_severity.get("ticket"),
        Some(&vec![(61 * MIN, AlertState::Firing)])
    );
    assert!(
        !by_severity.contains_key("data-missing"),
        "the SLI has data throughout"
    );
}

/// A query left unquoted in YAML (`{app="x"} |= "y"` reads as a flow mapping with trailing
/// text) is a syntax error: it must be reported once, not loop.
#[test]
fn yaml_syntax_errors_end_the_file() {
    let text = SLO.replace(
        r#"sum(count_over_time({app="checkout"} | json | status=~"5.." [{{.window}}]))"#,
        r#"{app="checkout"} |= "error""#,
    );
    let e = compile_file("l.yml", &text, &LoadOptions::default()).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].to_string().contains("document 1"), "{}", e[0]);
    assert!(!cairn_slo::looks_like_slo_file(&text));
}
