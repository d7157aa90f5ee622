//! Alerts from logs, end to end: a Loki ruler file (`rules.log_rule_files`) and an SLO over
//! logs (`cairn.query_language: logql`, the minute-scale demo windows) loaded through Cairn's
//! config, JSON log lines pushed live over the Loki push API into the real binary, and a
//! PagerDuty stand-in (a real HTTP server checking every payload against the Events API v2
//! schema) recording the pages.
//!
//! The scenario: healthy traffic, then half of the requests fail: the LogQL alerting rule and
//! the SLO's page alert each open exactly one PagerDuty incident; the errors stop: both
//! incidents get their resolve with the same `dedup_key`. Meanwhile the LogQL recording rule
//! is queryable with PromQL and `/api/v1/slos` shows the SLO burning.

#[allow(unused_imports)]
mod support;

#[allow(dead_code)]
#[path = "../crates/cairn-alerting/tests/support/standins.rs"]
mod standins;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use standins::{Kind, Received, StandIn};
use support::TestServer;

/// Rule evaluation interval of the groups that set none.
const EVAL: Duration = Duration::from_secs(1);
/// Lines per second per service.
const LINES_PER_SEC: u64 = 20;
/// How long a loaded two-core machine may take beyond each computed bound.
const MARGIN: Duration = Duration::from_secs(20);

const HEALTHY: u8 = 0;
const FAILING: u8 = 1;

/// The Loki ruler file: a recording of the api service's lines and an alert on its error
/// lines.
const LOG_RULES: &str = r#"
groups:
  - name: api-log-errors
    rules:
      - record: app:log_lines:count10s
        expr: sum by (app) (count_over_time({app="api"} [10s]))
      - alert: ApiErrorLines
        expr: sum by (app) (count_over_time({app="api"} |= "level=error" [10s])) > 20
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.app }} logs {{ $value }} errors per 10s"
"#;

/// The demo windows of `config/slos/demo-minutes.yml` with an SLI over checkout's JSON
/// request logs.
fn slo_file() -> String {
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/slos/demo-minutes.yml"),
    )
    .expect("config/slos/demo-minutes.yml");
    let windows = demo
        .split("\n---\n")
        .next()
        .expect("the AlertWindows document comes first");
    format!(
        r#"{windows}
---
version: "prometheus/v1"
service: "checkout"
slos:
  - name: "availability-logs"
    objective: 99.9
    sli:
      events:
        error_query: sum(count_over_time({{app="checkout"}} | json | status=~"5.." [{{{{.window}}}}]))
        total_query: sum(count_over_time({{app="checkout"}} | json | status=~".+" [{{{{.window}}}}]))
    alerting:
      name: CheckoutLogAvailability
      page_alert:
        labels:
          severity: critical
      ticket_alert:
        disable: true
    cairn:
      query_language: logql
"#
    )
}

fn alertmanager_file(pagerduty: &StandIn) -> String {
    format!(
        r#"
global:
  pagerduty_url: {}/v2/enqueue
route:
  receiver: pagerduty
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: pagerduty
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
"#,
        pagerduty.url
    )
}

/// Pushes a JSON line for checkout and a logfmt line for api every `1 / LINES_PER_SEC`
/// seconds, half of them failing while the phase is [`FAILING`].
struct Traffic {
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Traffic {
    fn start(url: &str) -> Traffic {
        let phase = Arc::new(AtomicU8::new(HEALTHY));
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let push = format!("{url}/loki/api/v1/push");
        let (p, s, f) = (Arc::clone(&phase), Arc::clone(&stop), Arc::clone(&failures));
        let handle = thread::spawn(move || {
            let mut n: u64 = 0;
            while !s.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(200));
                let batch = LINES_PER_SEC / 5;
                let now = support::now_ms() as i128 * 1_000_000;
                let mut checkout = Vec::new();
                let mut api = Vec::new();
                for i in 0..batch {
                    n += 1;
                    let fail = p.load(Ordering::SeqCst) == FAILING && n.is_multiple_of(2);
                    let ts = (now + i as i128).to_string();
                    let status = if fail { 503 } else { 200 };
                    checkout.push(serde_json::json!([
                        ts,
                        format!(r#"{{"msg":"request","status":{status},"n":{n}}}"#)
                    ]));
                    let level = if fail { "error" } else { "info" };
                    api.push(serde_json::json!([ts, format!("level={level} n={n}")]));
                }
                let body = serde_json::json!({"streams": [
                    {"stream": {"app": "checkout"}, "values": checkout},
                    {"stream": {"app": "api"}, "values": api},
                ]});
                match support::http::post(
                    &push,
                    &[("Content-Type", "application/json")],
                    body.to_string().as_bytes(),
                ) {
                    Ok(r) if r.status == 204 => {}
                    Ok(r) => f.lock().expect("failures lock").push(format!(
                        "push answered {}: {}",
                        r.status,
                        r.text()
                    )),
                    Err(e) => f.lock().expect("failures lock").push(e.to_string()),
                }
            }
        });
        Traffic {
            phase,
            stop,
            failures,
            handle: Some(handle),
        }
    }

    fn set(&self, phase: u8) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().expect("failures lock").clone()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn events(pd: &StandIn) -> Vec<Received> {
    let got = pd.raw();
    if let Some(bad) = got.iter().find(|r| !r.problems.is_empty()) {
        panic!(
            "PagerDuty received a body that violates its schema: {:?}\n{:#}",
            bad.problems, bad.body
        );
    }
    got
}

/// `(event_action, summary, dedup_key)` of every PagerDuty event.
fn summary(pd: &StandIn) -> Vec<(String, String, String)> {
    events(pd)
        .iter()
        .map(|r| {
            let b = &r.body;
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
            (
                s(&b["event_action"]),
                s(&b["payload"]["summary"]),
                s(&b["dedup_key"]),
            )
        })
        .collect()
}

fn wait_for(
    what: &str,
    deadline: Instant,
    cairn: &TestServer,
    pd: &StandIn,
    mut ok: impl FnMut() -> bool,
) {
    while !ok() {
        if Instant::now() > deadline {
            panic!(
                "{what} did not happen in time; PagerDuty got {:?}\n{}",
                summary(pd),
                cairn.log_tail(40)
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
}

fn triggers_for(pd: &StandIn, alert: &str) -> Vec<String> {
    events(pd)
        .iter()
        .filter(|r| r.body["event_action"] == "trigger")
        .filter(|r| r.body.to_string().contains(alert))
        .map(|r| r.body["dedup_key"].as_str().unwrap_or("").to_string())
        .collect()
}

fn resolves_for(pd: &StandIn, key: &str) -> usize {
    events(pd)
        .iter()
        .filter(|r| r.body["event_action"] == "resolve" && r.body["dedup_key"] == key)
        .count()
}

#[test]
fn log_rules_and_log_slos_page_and_resolve() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pagerduty = rt.block_on(StandIn::start(Kind::Pagerduty));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("log-rules.yml"), LOG_RULES).expect("write rules");
    std::fs::write(dir.path().join("slo.yml"), slo_file()).expect("write slo");
    std::fs::write(dir.path().join("am.yml"), alertmanager_file(&pagerduty)).expect("write am");
    let config = format!(
        "rules:\n  evaluation_interval: {}s\n  resend_delay: 2s\n  log_rule_files: [{:?}]\nslos:\n  files: [{:?}]\nalertmanager:\n  config_file: {:?}\n",
        EVAL.as_secs(),
        dir.path().join("log-rules.yml").display().to_string(),
        dir.path().join("slo.yml").display().to_string(),
        dir.path().join("am.yml").display().to_string(),
    );
    let cairn = TestServer::builder().config(&config).start();
    let traffic = Traffic::start(cairn.url());

    // Healthy: the recording holds a full 10s window of 20 lines a second; nothing pages.
    let t0 = Instant::now();
    let recorded = || {
        let v = cairn.api_data("/api/v1/query?query=app%3Alog_lines%3Acount10s");
        let r = &v["result"][0];
        if r["metric"]["app"] != "api" {
            return None;
        }
        r["value"][1].as_str().and_then(|x| x.parse::<f64>().ok())
    };
    wait_for(
        "the LogQL recording of a full window",
        t0 + Duration::from_secs(30) + MARGIN,
        &cairn,
        &pagerduty,
        || recorded().is_some_and(|n| n >= 150.0),
    );
    assert!(
        summary(&pagerduty).is_empty(),
        "healthy traffic paged: {:?}",
        summary(&pagerduty)
    );

    // Half the requests fail: the LogQL alert needs 20 error lines in 10s (2 s of failing
    // traffic), the SLO's page needs the 10s and 1m windows over 21.6x the budget, both
    // within one 10s step of the log SLI plus evaluation and group_wait.
    traffic.set(FAILING);
    let failing = Instant::now();
    let deadline = failing + Duration::from_secs(30) + MARGIN;
    wait_for("both pages", deadline, &cairn, &pagerduty, || {
        !triggers_for(&pagerduty, "ApiErrorLines").is_empty()
            && !triggers_for(&pagerduty, "CheckoutLogAvailability").is_empty()
    });
    let paged = failing.elapsed();
    let slos = cairn.api_data("/api/v1/slos");
    assert_eq!(
        slos["slos"][0]["id"], "checkout-availability-logs",
        "{slos}"
    );
    // The page goes out as soon as the windows burn 21.6x a 0.1 % budget (2.16 % errors), so
    // right then the SLI may show only the first failures; half the requests fail, so it
    // must come down to about 0.5 within the 10s window.
    let sli = || cairn.api_data("/api/v1/slos")["slos"][0]["current_sli"].as_f64();
    wait_for(
        "the SLI to show half the requests failing",
        Instant::now() + Duration::from_secs(20) + MARGIN,
        &cairn,
        &pagerduty,
        || sli().is_some_and(|s| s < 0.9),
    );
    // Keep failing a little: still one incident each (resends are deduplicated).
    thread::sleep(Duration::from_secs(8));
    let api_keys = triggers_for(&pagerduty, "ApiErrorLines");
    let slo_keys = triggers_for(&pagerduty, "CheckoutLogAvailability");
    assert_eq!(api_keys.len(), 1, "{:?}", summary(&pagerduty));
    assert_eq!(slo_keys.len(), 1, "{:?}", summary(&pagerduty));

    // Recovery: the LogQL alert's 10s window empties, the SLO's page resolves when its 30s
    // window holds no error (the demo windows), then group_interval.
    traffic.set(HEALTHY);
    let healthy = Instant::now();
    wait_for(
        "both resolves",
        healthy + Duration::from_secs(60) + MARGIN,
        &cairn,
        &pagerduty,
        || {
            resolves_for(&pagerduty, &api_keys[0]) == 1
                && resolves_for(&pagerduty, &slo_keys[0]) == 1
        },
    );
    assert!(traffic.failures().is_empty(), "{:?}", traffic.failures());
    let all = summary(&pagerduty);
    assert_eq!(
        all.iter().filter(|e| e.0 == "trigger").count(),
        2,
        "exactly two incidents: {all:?}"
    );
    eprintln!(
        "pages {:.1}s after the failures began, resolves {:.1}s after they stopped",
        paged.as_secs_f64(),
        healthy.elapsed().as_secs_f64()
    );
}
