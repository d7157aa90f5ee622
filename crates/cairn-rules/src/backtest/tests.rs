use super::*;
use crate::file::parse_rule_file;

const MIN: i64 = 60_000;

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

/// `errors_total{job="api"}` growing by `rate(t)` per minute, sampled every 15s.
fn counter(minutes: i64, rate: impl Fn(i64) -> f64) -> MemoryQuerier {
    let tenant = TenantId::default_tenant();
    let mut d = MemoryQuerier::new();
    let mut v = 0.0;
    let mut samples = Vec::new();
    for i in 0..minutes * 4 {
        let t = i * 15_000;
        v += rate(t / MIN) / 4.0;
        samples.push(Sample::new(t, v));
    }
    d.add(
        &tenant,
        l(&[("__name__", "errors_total"), ("job", "api")]),
        &samples,
    );
    d
}

const RULES: &str = r#"
groups:
  - name: errors
    interval: 1m
    rules:
      - record: job:errors:rate1m
        expr: sum by (job) (rate(errors_total[2m]))
      - alert: HighErrors
        expr: job:errors:rate1m > 0.05
        for: 3m
        labels:
          severity: ticket
"#;

#[tokio::test]
async fn alert_fires_after_for_and_resolves() {
    // 0.5/min until minute 20, 5/min until minute 40, then 0.5/min again.
    let data = counter(60, |m| if (20..40).contains(&m) { 5.0 } else { 0.5 });
    let files = vec![parse_rule_file("r.yml", RULES).unwrap()];
    let tenant = TenantId::default_tenant();
    let bt = backtest(&files, &data, &tenant, 5 * MIN, 59 * MIN)
        .await
        .unwrap();
    assert!(bt.errors.is_empty(), "{:?}", bt.errors);
    assert_eq!(bt.evaluations, 2 * 55);
    let key = l(&[
        ("alertname", "HighErrors"),
        ("job", "api"),
        ("severity", "ticket"),
    ]);
    let got = bt
        .alerts
        .get(&key)
        .unwrap_or_else(|| panic!("{:?} {:?}", bt.alerts, bt.data));
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].1, AlertState::Pending);
    assert_eq!(got[1], (got[0].0 + 3 * MIN, AlertState::Firing));
    assert_eq!(got[2].1, AlertState::Inactive);
    // The rate over 2m sees the faster counter within two minutes of the change.
    assert!((20 * MIN..=22 * MIN).contains(&got[0].0), "{got:?}");
    assert!((40 * MIN..=42 * MIN).contains(&got[2].0), "{got:?}");
    // Recorded series and ALERTS are in the returned data.
    let rec = bt
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal("__name__", "job:errors:rate1m")],
                start_ms: 0,
                end_ms: 60 * MIN,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].samples.len(), 55);
}

/// The range shortcut and the step-by-step path give the same answer.
#[tokio::test]
async fn shortcut_matches_step_by_step() {
    let data = counter(90, |m| {
        if (m / 10) % 2 == 0 {
            0.5
        } else {
            ((m * 7) % 11) as f64 * 0.3 + 1.0
        }
    });
    let files = vec![parse_rule_file("r.yml", RULES).unwrap()];
    let tenant = TenantId::default_tenant();
    let fast = backtest(&files, &data, &tenant, 3 * MIN, 89 * MIN)
        .await
        .unwrap();
    let opts = EvalOptions {
        tenant: tenant.clone(),
        ..EvalOptions::default()
    };
    let groups = files[0]
        .groups
        .iter()
        .cloned()
        .map(|g| GroupState::new(g, &opts, false))
        .collect();
    let slow = stepwise(groups, MemoryRuleStore::new(data), 3 * MIN, 89 * MIN, &opts)
        .await
        .unwrap();
    assert!(!fast.alerts.is_empty());
    assert_eq!(fast.alerts, slow.alerts);
    assert_eq!(fast.evaluations, slow.evaluations);
}

#[tokio::test]
async fn forward_references_are_evaluated_step_by_step() {
    // The first rule reads what the second writes: at each step it sees the previous value.
    let text = r#"
groups:
  - name: g
    interval: 1m
    rules:
      - record: b
        expr: a + 1
      - record: a
        expr: vector(1)
"#;
    let files = vec![parse_rule_file("r.yml", text).unwrap()];
    let tenant = TenantId::default_tenant();
    let bt = backtest(&files, &MemoryQuerier::new(), &tenant, 0, 3 * MIN)
        .await
        .unwrap();
    let got = bt
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal("__name__", "b")],
                start_ms: 0,
                end_ms: 10 * MIN,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    // Not at 0 (a did not exist yet), then 2 at every later step.
    assert_eq!(got[0].samples.first().map(|s| (s.t, s.v)), Some((MIN, 2.0)));
    assert_eq!(got[0].samples.len(), 3);
}

#[tokio::test]
async fn vanished_recordings_get_stale_markers() {
    let tenant = TenantId::default_tenant();
    let mut data = MemoryQuerier::new();
    data.add(
        &tenant,
        l(&[("__name__", "up"), ("job", "a")]),
        &[Sample::new(0, 1.0), Sample::new(MIN, 1.0)],
    );
    let text = "groups:\n- name: g\n  rules:\n  - record: up:copy\n    expr: up\n";
    let files = vec![parse_rule_file("r.yml", text).unwrap()];
    let mut opts = EvalOptions {
        tenant: tenant.clone(),
        ..EvalOptions::default()
    };
    opts.engine = cairn_promql::Engine::new(cairn_promql::EngineOptions {
        lookback_delta_ms: 90_000,
        ..cairn_promql::EngineOptions::default()
    });
    let bt = backtest_with(&files, &data, 0, 4 * MIN, &opts)
        .await
        .unwrap();
    let got = bt
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal("__name__", "up:copy")],
                start_ms: 0,
                end_ms: 10 * MIN,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    let s = &got[0].samples;
    // Present at 0, 1m and 2m (lookback 90s), stale at 3m, nothing after.
    assert_eq!(s.len(), 4, "{s:?}");
    assert!(cairn_model::is_stale_nan(s[3].v));
    assert_eq!(s[3].t, 3 * MIN);
}

#[tokio::test]
async fn long_ranges_are_chunked_and_fast_enough() {
    // Four days at 1m with a 30s-resolution counter: 5,760 steps per rule.
    let tenant = TenantId::default_tenant();
    let mut d = MemoryQuerier::new();
    let days = 4;
    let n = days * 24 * 120;
    let total: Vec<Sample> = (0..n)
        .map(|i| Sample::new(i * 30_000, (i * 10) as f64))
        .collect();
    let errs: Vec<Sample> = (0..n)
        .map(|i| Sample::new(i * 30_000, (i / 3) as f64))
        .collect();
    d.add(
        &tenant,
        l(&[("__name__", "req_total"), ("code", "200")]),
        &total,
    );
    d.add(
        &tenant,
        l(&[("__name__", "req_total"), ("code", "500")]),
        &errs,
    );
    let text = r#"
groups:
  - name: slo
    rules:
      - record: slo:err:ratio_rate5m
        expr: sum(rate(req_total{code="500"}[5m])) / sum(rate(req_total[5m]))
      - record: slo:err:ratio_rate1h
        expr: sum(rate(req_total{code="500"}[1h])) / sum(rate(req_total[1h]))
      - alert: Burn
        expr: slo:err:ratio_rate5m > 0.05 and slo:err:ratio_rate1h > 0.05
        for: 2m
"#;
    let files = vec![parse_rule_file("r.yml", text).unwrap()];
    let started = std::time::Instant::now();
    let bt = backtest(&files, &d, &tenant, 2 * 3_600_000, days * 86_400_000 - MIN)
        .await
        .unwrap();
    assert!(bt.errors.is_empty(), "{:?}", bt.errors);
    assert_eq!(bt.evaluations, 3 * ((days * 1440 - 120) as usize));
    // Error ratio is (1/3)/10 = 1/30 per 30s step < 5%: never fires.
    assert!(bt.alerts.is_empty());
    let rec = bt
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal(
                    "__name__",
                    "slo:err:ratio_rate1h",
                )],
                start_ms: 0,
                end_ms: days * 86_400_000,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(rec[0].samples.len(), (days * 1440 - 120) as usize);
    let last = rec[0].samples.last().unwrap().v;
    assert!((last - 1.0 / 30.0).abs() < 1e-3, "{last}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// Sloth's 30d SLI average over days of 1m recordings: one range query per rule, no limit
/// on samples held, fast.
#[tokio::test]
async fn sloth_style_long_windows() {
    let tenant = TenantId::default_tenant();
    let mut d = MemoryQuerier::new();
    let days = 4;
    let n = days * 24 * 60;
    let ratio: Vec<Sample> = (0..n)
        .map(|i| Sample::new(i * MIN, if i % 2 == 0 { 0.01 } else { 0.03 }))
        .collect();
    d.add(
        &tenant,
        l(&[
            ("__name__", "slo:sli_error:ratio_rate5m"),
            ("sloth_id", "a"),
            ("sli_window", "5m"),
        ]),
        &ratio,
    );
    let text = r#"
groups:
  - name: meta
    rules:
      - record: slo:sli_error:ratio_rate30d
        expr: |
          sum_over_time(slo:sli_error:ratio_rate5m{sloth_id="a"}[30d])
          / ignoring (sli_window)
          count_over_time(slo:sli_error:ratio_rate5m{sloth_id="a"}[30d])
        labels:
          sli_window: 30d
"#;
    let files = vec![parse_rule_file("r.yml", text).unwrap()];
    let started = std::time::Instant::now();
    let bt = backtest(&files, &d, &tenant, 0, days * 86_400_000 - MIN)
        .await
        .unwrap();
    assert!(bt.errors.is_empty(), "{:?}", bt.errors);
    let got = bt
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal(
                    "__name__",
                    "slo:sli_error:ratio_rate30d",
                )],
                start_ms: 0,
                end_ms: days * 86_400_000,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(got[0].samples.len(), n as usize);
    let last = got[0].samples.last().unwrap().v;
    assert!((last - 0.02).abs() < 1e-9, "{last}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn logql_rules_record_and_alert_over_logs() {
    use cairn_model::LogEntry;
    let text = r#"
groups:
  - name: api-logs
    interval: 1m
    rules:
      - record: app:log_errors:count1m
        expr: sum by (app) (count_over_time({app="api"} |= "error" [1m]))
      - alert: ApiLogErrors
        expr: sum by (app) (count_over_time({app="api"} |= "error" [1m])) > 5
        for: 2m
"#;
    let files = vec![crate::file::parse_log_rule_file("logs.yml", text).unwrap()];
    let tenant = TenantId::default_tenant();
    let mut logs = MemoryLogQuerier::new();
    let ms_ns = 1_000_000i64;
    // Ten error lines a minute from 10:00 to 19:54, one "ok" line every minute throughout.
    let mut entries: Vec<LogEntry> = (0..100)
        .map(|k| LogEntry::new((10 * MIN + k * 6_000) * ms_ns, format!("level=error n={k}")))
        .collect();
    entries.extend((0..30).map(|m| LogEntry::new((m * MIN + 30_000) * ms_ns, "level=info ok")));
    logs.add(&tenant, l(&[("app", "api")]), &entries);
    let opts = EvalOptions {
        tenant: tenant.clone(),
        ..EvalOptions::default()
    };
    let out = backtest_with_logs(&files, &MemoryQuerier::new(), &logs, 0, 25 * MIN, &opts)
        .await
        .unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let alert = l(&[("alertname", "ApiLogErrors"), ("app", "api")]);
    assert_eq!(
        out.alerts.get(&alert).cloned().unwrap_or_default(),
        vec![
            (11 * MIN, AlertState::Pending),
            (13 * MIN, AlertState::Firing),
            (21 * MIN, AlertState::Inactive),
        ]
    );
    let recorded = out
        .data
        .select(
            &tenant,
            &SelectRequest {
                matchers: vec![cairn_model::Matcher::equal(
                    "__name__",
                    "app:log_errors:count1m",
                )],
                start_ms: 11 * MIN,
                end_ms: 11 * MIN,
                max_series: 0,
                max_samples: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].samples[0].v, 10.0);
}

#[test]
fn loki_rule_files_refuse_log_queries_and_promql() {
    let log_query = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{app=\"api\"} |= \"error\"'\n";
    let e = crate::file::parse_log_rule_file("l.yml", log_query).unwrap_err();
    assert!(e.to_string().contains("a rule needs a metric query"), "{e}");
    let promql =
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]) > 1\n";
    let e = crate::file::parse_log_rule_file("l.yml", promql).unwrap_err();
    assert!(e.to_string().contains("could not parse expression"), "{e}");
}
