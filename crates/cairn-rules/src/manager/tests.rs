use super::*;
use crate::backtest::MemoryRuleStore;
use crate::file::parse_rule_file;
use crate::template::TemplateContext;
use cairn_model::{Labels, Matcher, Querier, Sample, SelectRequest, TenantId, is_stale_nan};
use cairn_promql::MemoryQuerier;
use std::collections::BTreeMap;

const MIN: i64 = 60_000;
const T0: i64 = 1_700_000_000_000;

#[derive(Default)]
struct Collect(parking_lot::Mutex<Vec<crate::group::OutgoingAlert>>);

impl AlertSink for Collect {
    fn send(&self, alerts: Vec<crate::group::OutgoingAlert>) {
        self.0.lock().extend(alerts);
    }
}

impl Collect {
    fn take(&self) -> Vec<crate::group::OutgoingAlert> {
        std::mem::take(&mut *self.0.lock())
    }
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn tenant() -> TenantId {
    TenantId::default_tenant()
}

/// `series` with one sample per minute from T0 - 10m to T0 + 2h.
fn data(series: &[(Labels, f64)]) -> MemoryQuerier {
    let mut d = MemoryQuerier::new();
    for (labels, v) in series {
        let samples: Vec<Sample> = (-10..120).map(|i| Sample::new(T0 + i * MIN, *v)).collect();
        d.add(&tenant(), labels.clone(), &samples);
    }
    d
}

fn opts() -> EvalOptions {
    let mut external_labels = BTreeMap::new();
    external_labels.insert("dc".to_string(), "eu1".to_string());
    EvalOptions {
        templates: TemplateContext {
            external_labels,
            external_url: "http://cairn.example:9009".to_string(),
        },
        ..EvalOptions::default()
    }
}

async fn manager(text: &str, store: Arc<MemoryRuleStore>) -> (Arc<Manager>, Arc<Collect>) {
    let m = Manager::new(opts(), store, RuleMetrics::default());
    let sink = Arc::new(Collect::default());
    m.add_sink(Arc::clone(&sink) as Arc<dyn AlertSink>);
    m.update(vec![parse_rule_file("r.yml", text).unwrap()])
        .await;
    (m, sink)
}

async fn values(store: &MemoryRuleStore, name: &str) -> Vec<(Labels, Vec<Sample>)> {
    let req = SelectRequest {
        matchers: vec![Matcher::equal("__name__", name)],
        start_ms: 0,
        end_ms: i64::MAX,
        max_series: 0,
        max_samples: 0,
    };
    store
        .select(&tenant(), &req)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

#[tokio::test]
async fn later_rules_see_earlier_outputs_at_the_same_time() {
    let store = Arc::new(MemoryRuleStore::new(MemoryQuerier::new()));
    let text = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: vector(21)\n  - record: b\n    expr: a * 2\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    let b = values(&store, "b").await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].1, vec![Sample::new(T0, 42.0)]);
    let g = m.groups().await;
    assert_eq!(g[0].rules[1].health, Health::Ok);
    assert_eq!(g[0].last_evaluation.map(|t| t.timestamp_millis()), Some(T0));
}

const ALERT: &str = r#"
groups:
- name: g
  interval: 30s
  rules:
  - alert: InstanceDown
    expr: up == 0
    for: 1m
    labels:
      severity: '{{ if eq $labels.instance "a" }}page{{ else }}ticket{{ end }}'
    annotations:
      summary: 'Instance {{ $labels.instance }} down ({{ $value }}) in {{ $externalLabels.dc }}'
      total: '{{ with query "count(up)" }}{{ . | first | value }}{{ end }} targets'
      broken: '{{ query "sum(" }}'
"#;

#[tokio::test]
async fn alerts_are_templated_and_sent_as_prometheus_does() {
    let store = Arc::new(MemoryRuleStore::new(data(&[
        (l(&[("__name__", "up"), ("instance", "a")]), 0.0),
        (l(&[("__name__", "up"), ("instance", "b")]), 1.0),
    ])));
    let (m, sink) = manager(ALERT, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    assert!(sink.take().is_empty(), "pending alerts are not sent");
    let g = m.groups().await;
    let r = &g[0].rules[0];
    assert_eq!(r.state, AlertState::Pending);
    assert_eq!(r.alerts.len(), 1);
    let a = &r.alerts[0];
    assert_eq!(
        a.labels,
        l(&[
            ("alertname", "InstanceDown"),
            ("instance", "a"),
            ("severity", "page")
        ])
    );
    assert_eq!(a.annotations["summary"], "Instance a down (0) in eu1");
    assert_eq!(a.annotations["total"], "2 targets");
    assert!(
        a.annotations["broken"].starts_with("<error expanding template: "),
        "{}",
        a.annotations["broken"]
    );
    // As in Prometheus, no ALERTS series before `for` state is restored, which happens
    // after the first evaluation.
    assert!(values(&store, "ALERTS").await.is_empty());

    m.eval_all_at(T0 + MIN).await;
    let sent = sink.take();
    assert_eq!(sent.len(), 1);
    let s = &sent[0];
    assert_eq!(s.labels.get("dc").map(String::as_str), Some("eu1"));
    assert_eq!(s.starts_at.timestamp_millis(), T0 + MIN);
    // endsAt = now + 4 * max(resend delay 1m, interval 30s).
    assert_eq!(s.ends_at.timestamp_millis(), T0 + MIN + 4 * MIN);
    assert_eq!(
        s.generator_url,
        "http://cairn.example:9009/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    // Re-sent only once the resend delay has strictly passed.
    m.eval_all_at(T0 + MIN + 30_000).await;
    m.eval_all_at(T0 + 2 * MIN).await;
    assert!(sink.take().is_empty());
    m.eval_all_at(T0 + 2 * MIN + 30_000).await;
    assert_eq!(sink.take().len(), 1);
    let firing = values(&store, "ALERTS").await;
    assert!(
        firing
            .iter()
            .any(|(l, _)| l.get("alertstate") == Some("firing"))
    );
    let for_state = values(&store, "ALERTS_FOR_STATE").await;
    assert_eq!(for_state[0].1.last().map(|s| s.v), Some((T0 / 1000) as f64));
}

#[tokio::test]
async fn duplicate_label_sets_fail_the_rule_and_write_nothing() {
    let store = Arc::new(MemoryRuleStore::new(data(&[
        (l(&[("__name__", "up"), ("i", "a")]), 1.0),
        (l(&[("__name__", "down"), ("i", "a")]), 1.0),
    ])));
    let text = "groups:\n- name: g\n  rules:\n  - alert: Dup\n    expr: '{i=\"a\"}'\n";
    let (m, sink) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    let g = m.groups().await;
    let r = &g[0].rules[0];
    assert_eq!(r.health, Health::Err);
    assert_eq!(
        r.last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying alert labels")
    );
    assert!(r.alerts.is_empty());
    assert!(values(&store, "ALERTS").await.is_empty());
    assert!(sink.take().is_empty());
    assert_eq!(m.metrics().failures("r.yml;g"), 1);
}

#[tokio::test]
async fn limit_fails_a_recording_rule() {
    let store = Arc::new(MemoryRuleStore::new(data(&[
        (l(&[("__name__", "up"), ("i", "a")]), 1.0),
        (l(&[("__name__", "up"), ("i", "b")]), 1.0),
    ])));
    let text = "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: up:copy\n    expr: up\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    let g = m.groups().await;
    assert_eq!(
        g[0].rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert!(values(&store, "up:copy").await.is_empty());
}

#[tokio::test]
async fn vanished_series_get_a_stale_marker() {
    let mut d = MemoryQuerier::new();
    d.add(
        &tenant(),
        l(&[("__name__", "up"), ("i", "a")]),
        &[Sample::new(T0, 1.0)],
    );
    let store = Arc::new(MemoryRuleStore::new(d));
    let text = "groups:\n- name: g\n  rules:\n  - record: up:copy\n    expr: up\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    // Beyond the 5m lookback the input is gone.
    m.eval_all_at(T0 + 6 * MIN).await;
    m.eval_all_at(T0 + 7 * MIN).await;
    let got = values(&store, "up:copy").await;
    let s = &got[0].1;
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(is_stale_nan(s[1].v));
    assert_eq!(s[1].t, T0 + 6 * MIN);
}

#[tokio::test]
async fn query_offset_moves_the_query_and_the_output() {
    let store = Arc::new(MemoryRuleStore::new(MemoryQuerier::new()));
    let text =
        "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: t\n    expr: time()\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    let got = values(&store, "t").await;
    assert_eq!(
        got[0].1,
        vec![Sample::new(T0 - MIN, ((T0 - MIN) / 1000) as f64)]
    );
}

#[tokio::test]
async fn reload_keeps_the_state_of_unchanged_rules() {
    let store = Arc::new(MemoryRuleStore::new(data(&[(
        l(&[("__name__", "up"), ("instance", "a")]),
        0.0,
    )])));
    let (m, _) = manager(ALERT, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    m.eval_all_at(T0 + MIN).await;
    let with_other =
        format!("{ALERT}- name: other\n  rules:\n  - record: x\n    expr: vector(1)\n");
    m.update(vec![parse_rule_file("r.yml", &with_other).unwrap()])
        .await;
    let g = m.groups().await;
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].rules[0].state, AlertState::Firing);
    assert_eq!(g[0].rules[0].alerts[0].active_at_ms, T0);
    assert_eq!(g[0].rules[0].health, Health::Ok);
    // A changed rule with the same name and labels keeps its alerts (Prometheus matches
    // rules by name and labels), but its health starts over.
    let changed = ALERT.replace("up == 0", "up < 1");
    m.update(vec![parse_rule_file("r.yml", &changed).unwrap()])
        .await;
    let g = m.groups().await;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].rules[0].state, AlertState::Firing);
    assert_eq!(g[0].rules[0].health, Health::Unknown);
    // Raising `for` past the alert's age sends it back to pending at the next evaluation.
    let longer = changed.replace("for: 1m", "for: 10m");
    m.update(vec![parse_rule_file("r.yml", &longer).unwrap()])
        .await;
    m.eval_all_at(T0 + 2 * MIN).await;
    let g = m.groups().await;
    assert_eq!(g[0].rules[0].state, AlertState::Pending);
    assert_eq!(g[0].rules[0].alerts[0].active_at_ms, T0);
    // A renamed rule is a new rule: the old one's ALERTS series go stale.
    let renamed = longer.replace("InstanceDown", "Down");
    m.update(vec![parse_rule_file("r.yml", &renamed).unwrap()])
        .await;
    let g = m.groups().await;
    assert_eq!(g[0].rules[0].state, AlertState::Inactive);
    let alerts = values(&store, "ALERTS").await;
    assert!(
        alerts
            .iter()
            .all(|(_, s)| s.last().is_some_and(|x| is_stale_nan(x.v))),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn removed_groups_mark_their_series_stale() {
    let store = Arc::new(MemoryRuleStore::new(MemoryQuerier::new()));
    let text = "groups:\n- name: g\n  rules:\n  - record: x\n    expr: vector(1)\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    m.eval_all_at(T0).await;
    m.update(vec![parse_rule_file("r.yml", "groups: []\n").unwrap()])
        .await;
    let got = values(&store, "x").await;
    assert_eq!(got[0].1.len(), 2);
    assert!(is_stale_nan(got[0].1[1].v));
}

const SLOW: &str = r#"
groups:
- name: g
  rules:
  - alert: Slow
    expr: up == 0
    for: 30m
"#;

async fn restored_active_at(down_at: i64, back_at: i64) -> i64 {
    let store = Arc::new(MemoryRuleStore::new(data(&[(
        l(&[("__name__", "up"), ("instance", "a")]),
        0.0,
    )])));
    // Before the restart the manager had run (and restored) from T0 to `down_at`.
    let (m1, _) = manager(SLOW, Arc::clone(&store)).await;
    let mut t = T0;
    while t <= down_at {
        m1.eval_all_at(t).await;
        t += MIN;
    }
    drop(m1);
    let (m2, _) = manager(SLOW, Arc::clone(&store)).await;
    m2.eval_all_at(back_at).await;
    let g = m2.groups().await;
    g[0].rules[0].alerts[0].active_at_ms
}

#[tokio::test]
async fn for_state_is_restored_after_a_restart() {
    // The alert became active at the first evaluation; ALERTS_FOR_STATE says so from the
    // second one on (after the restore).
    let active = T0;
    // Down after 5m, back 10m later: 25m were left (> 10m grace), shifted by the downtime.
    assert_eq!(
        restored_active_at(T0 + 5 * MIN, T0 + 15 * MIN).await,
        active + 10 * MIN
    );
    // Down after 28m (3m left < 10m grace), back at 40m: fires 10m after the restart.
    assert_eq!(
        restored_active_at(T0 + 28 * MIN, T0 + 40 * MIN).await,
        T0 + 40 * MIN + 10 * MIN - 30 * MIN
    );
    // Down after 50m (had fired), back at 55m: keeps its ActiveAt and fires again at once.
    assert_eq!(
        restored_active_at(T0 + 50 * MIN, T0 + 55 * MIN).await,
        active
    );
}

#[tokio::test]
async fn evaluation_times_are_aligned_per_group() {
    let f = parse_rule_file("r.yml", ALERT).unwrap();
    let g = GroupState::new(f.groups[0].clone(), &opts(), false);
    let a = g.eval_timestamp(T0 + 12_345);
    let b = g.eval_timestamp(T0 + 12_345 + 30_000);
    assert_eq!(b - a, 30_000);
    assert!(a <= T0 + 12_345 && a > T0 + 12_345 - 30_000);
    assert_eq!(g.eval_timestamp(a), a);
}

/// Tokio's (paused) time from T0, plus a jump the test can add to simulate a stall.
struct TokioClock(tokio::time::Instant, i64, std::sync::atomic::AtomicI64);

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        self.1
            + self.0.elapsed().as_millis() as i64
            + self.2.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn missed_iterations_are_skipped_and_counted() {
    let store = Arc::new(MemoryRuleStore::new(MemoryQuerier::new()));
    let text = "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: t\n    expr: time()\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let clock = Arc::new(TokioClock(
        tokio::time::Instant::now(),
        T0,
        std::sync::atomic::AtomicI64::new(0),
    ));
    m.start(Arc::clone(&clock) as Arc<dyn Clock>, stop.clone(), &tracker);
    tokio::time::sleep(Duration::from_secs(25)).await;
    // The clock leaps 35s while the task sleeps: three slots have passed unseen.
    clock.2.store(35_000, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.cancel();
    tracker.close();
    tracker.wait().await;
    let got = values(&store, "t").await;
    let ts: Vec<i64> = got[0].1.iter().map(|s| s.t).collect();
    assert!(ts.windows(2).any(|w| w[1] - w[0] == 40_000), "{ts:?}");
    assert!(ts.iter().all(|t| (t - ts[0]) % 10_000 == 0), "{ts:?}");
    assert_eq!(m.metrics().missed("r.yml;g"), 3);
}

#[tokio::test(start_paused = true)]
async fn scheduler_evaluates_on_the_interval() {
    let store = Arc::new(MemoryRuleStore::new(MemoryQuerier::new()));
    let text = "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: t\n    expr: time()\n";
    let (m, _) = manager(text, Arc::clone(&store)).await;
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let clock = Arc::new(TokioClock(
        tokio::time::Instant::now(),
        T0,
        std::sync::atomic::AtomicI64::new(0),
    ));
    m.start(clock, stop.clone(), &tracker);
    tokio::time::sleep(Duration::from_secs(35)).await;
    stop.cancel();
    tracker.close();
    tracker.wait().await;
    let got = values(&store, "t").await;
    let ts: Vec<i64> = got[0].1.iter().map(|s| s.t).collect();
    assert!(ts.len() >= 3, "{ts:?}");
    for w in ts.windows(2) {
        assert_eq!(w[1] - w[0], 10_000);
    }
}

#[test]
fn rule_files_are_found_by_glob() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "groups:\n- name: g\n  rules:\n  - record: x\n    expr: vector(1)\n";
    std::fs::create_dir(dir.path().join("team")).unwrap();
    for f in ["b.yml", "a.yml", "team/c.yml", "notes.txt"] {
        std::fs::write(dir.path().join(f), rule).unwrap();
    }
    let base = dir.path().display().to_string();
    let files = load_rule_files(&[
        format!("{base}/*.yml"),
        format!("{base}/*/c.yml"),
        format!("{base}/a.yml"),
        format!("{base}/none-*.yml"),
    ])
    .unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.name.trim_start_matches(&base).to_string())
        .collect();
    assert_eq!(names, vec!["/a.yml", "/b.yml", "/team/c.yml"]);
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups: [{name: g, rules: [{record: x}]}]",
    )
    .unwrap();
    let e = load_rule_files(&[format!("{base}/*.yml")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.yml"), "{e}");
    assert!(e.contains("field 'expr' must be set"), "{e}");
    let e = load_rule_files(&[format!("{base}/missing.yml")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.yml"), "{e}");
}
