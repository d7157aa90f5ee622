//! The rule engine through the real binary: a rule file named in the config is evaluated on
//! its interval, the recorded series is queryable, the alert shows in `/api/v1/alerts`, and
//! it is POSTed to an Alertmanager (a real HTTP server in the test) as Prometheus posts it.

#[allow(unused_imports)]
mod support;

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::TestServer;
use support::http::{JsonRecorder, Received, urlencode};
use support::proto::{TimeSeries, labels};

/// An Alertmanager stand-in: answers 200 to every POST and keeps what it received.
fn alertmanager() -> (String, Received) {
    let r = JsonRecorder::start();
    (r.url, r.received)
}

fn wait_until<T>(what: &str, cairn: &TestServer, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            cairn.log_tail(40)
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn rules_record_alert_and_notify() {
    let (am_url, received) = alertmanager();
    let dir = tempfile::tempdir().expect("temporary directory");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        r#"groups:
  - name: e2e
    interval: 1s
    rules:
      - record: job:temperature:max
        expr: max by (job) (temperature)
      - alert: TooHot
        expr: job:temperature:max > 30
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} is at {{ $value }} degrees"
"#,
    )
    .expect("write rules");
    let config = format!(
        "rules:\n  rule_files: [{:?}]\n  external_labels: {{cluster: e2e}}\n  alertmanagers: [{am_url:?}]\n",
        rules.display().to_string()
    );
    let cairn = TestServer::builder().config(&config).start();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as i64;
    let series = vec![
        TimeSeries {
            labels: labels(&[("__name__", "temperature"), ("job", "oven"), ("i", "1")]),
            samples: vec![(now - 1000, 35.0), (now, 42.0)],
        },
        TimeSeries {
            labels: labels(&[("__name__", "temperature"), ("job", "oven"), ("i", "2")]),
            samples: vec![(now, 20.0)],
        },
    ];
    let r = cairn.write_v1(&series).expect("write");
    assert_eq!(r.status, 204, "{}", r.text());

    let recorded = wait_until("the recorded series", &cairn, || {
        let d = cairn.api_data(&format!(
            "/api/v1/query?query={}",
            urlencode("job:temperature:max")
        ));
        let r = d["result"].as_array()?.first()?.clone();
        Some(r)
    });
    assert_eq!(recorded["metric"]["job"], "oven");
    assert_eq!(recorded["value"][1], "42");

    let alert = wait_until("the firing alert", &cairn, || {
        let d = cairn.api_data("/api/v1/alerts");
        d["alerts"].as_array()?.first().cloned()
    });
    assert_eq!(alert["labels"]["alertname"], "TooHot");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["annotations"]["summary"], "oven is at 42 degrees");
    assert_eq!(alert["value"], "4.2e+01");

    let rules_api = cairn.api_data("/api/v1/rules");
    assert_eq!(rules_api["groups"][0]["name"], "e2e");
    assert_eq!(rules_api["groups"][0]["rules"][1]["health"], "ok");

    let (path, body) = wait_until("the alert at the Alertmanager", &cairn, || {
        received.lock().expect("log").first().cloned()
    });
    assert_eq!(path, "/api/v2/alerts");
    let sent = &body[0];
    assert_eq!(sent["labels"]["alertname"], "TooHot");
    assert_eq!(sent["labels"]["cluster"], "e2e");
    assert_eq!(sent["annotations"]["summary"], "oven is at 42 degrees");
    assert!(
        sent["generatorURL"]
            .as_str()
            .is_some_and(|u| u.ends_with("/graph?g0.expr=job%3Atemperature%3Amax+%3E+30&g0.tab=1")),
        "{sent}"
    );
    assert!(sent["startsAt"].is_string() && sent["endsAt"].is_string());
}

/// `cairn check rules` answers as `promtool check rules` does, on the shipped example and on
/// a bad file.
#[test]
fn check_rules_reports_like_promtool() {
    let bin = env!("CARGO_BIN_EXE_cairn");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/rules/example.yml"
    );
    let out = std::process::Command::new(bin)
        .args(["check", "rules", example])
        .output()
        .expect("run cairn");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!("Checking {example}\n  SUCCESS: 4 rules found\n\n")
    );

    let dir = tempfile::tempdir().expect("temporary directory");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n",
    )
    .expect("write");
    let out = std::process::Command::new(bin)
        .args(["check", "rules", &bad.display().to_string()])
        .output()
        .expect("run cairn");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("  FAILED:\n"), "{stderr}");
    assert!(
        stderr.contains("4: group \"g\", rule 1, \"A\": could not parse expression"),
        "{stderr}"
    );
}

/// A pending alert's `for` state survives a `kill -9`: after the restart its `activeAt` is
/// restored from `ALERTS_FOR_STATE` (shifted by the downtime), not reset to the restart.
#[test]
fn for_state_survives_a_crash() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - alert: Slow\n        expr: load > 1\n        for: 1h\n",
    )
    .expect("write rules");
    let config = format!(
        "rules:\n  rule_files: [{:?}]\n",
        rules.display().to_string()
    );
    let mut cairn = TestServer::builder().config(&config).start();
    let now_ms = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as i64
    };
    let write = |cairn: &TestServer| {
        let t = now_ms();
        let s = vec![TimeSeries {
            labels: labels(&[("__name__", "load"), ("host", "a")]),
            samples: vec![(t, 5.0)],
        }];
        let r = cairn.write_v1(&s).expect("write");
        assert_eq!(r.status, 204, "{}", r.text());
    };
    write(&cairn);
    let active_at = |cairn: &TestServer| -> Option<chrono::DateTime<chrono::Utc>> {
        let d = cairn.api_data("/api/v1/alerts");
        let a = d["alerts"].as_array()?.first()?.clone();
        assert_eq!(a["state"], "pending");
        chrono::DateTime::parse_from_rfc3339(a["activeAt"].as_str()?)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let first = wait_until("the pending alert", &cairn, || active_at(&cairn));
    // Let the alert age (and ALERTS_FOR_STATE be written) for a while.
    thread::sleep(Duration::from_secs(8));
    cairn.kill9();
    thread::sleep(Duration::from_secs(2));
    cairn.restart();
    let restarted = chrono::Utc::now();
    write(&cairn);
    // Wait for the restore (after the first evaluation), then compare.
    thread::sleep(Duration::from_secs(3));
    let second = wait_until("the restored alert", &cairn, || active_at(&cairn));
    // Restored: the original activeAt shifted by the downtime (about 2s), well before the
    // restart; without the restore it would be after the restart.
    assert!(
        second < restarted,
        "{second} is not before the restart at {restarted}"
    );
    // The shift is the downtime (from the last ALERTS_FOR_STATE sample to the restore, a
    // few seconds), clearly less than the alert's age at the restart.
    let shift = (second - first).num_milliseconds();
    let age = (restarted - first).num_milliseconds();
    assert!(
        shift >= 0 && shift <= age - 3_000,
        "shifted by {shift}ms, age {age}ms"
    );
}

/// `cairn check config` also checks the rule files the config names.
#[test]
fn check_config_checks_rule_files() {
    let bin = env!("CARGO_BIN_EXE_cairn");
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(\n",
    )
    .expect("write");
    let config = dir.path().join("cairn.yaml");
    std::fs::write(&config, "rules:\n  rule_files: ['*.yml']\n").expect("write");
    let out = std::process::Command::new(bin)
        .args(["check", "config", &config.display().to_string()])
        .output()
        .expect("run cairn");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("r.yml: 4: group \"g\", rule 1, \"x\""),
        "{stderr}"
    );
    std::fs::write(
        dir.path().join("r.yml"),
        "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(up)\n",
    )
    .expect("write");
    let out = std::process::Command::new(bin)
        .args(["check", "config", &config.display().to_string()])
        .output()
        .expect("run cairn");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "config OK\n");
}
