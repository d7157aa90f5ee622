//! The built-in alert manager through the real binary: an alert posted as Prometheus posts
//! it reaches a webhook (a real HTTP server in the test recording what arrives); after a
//! `kill -9` and restart the re-posted alert does not notify again while its resolve does,
//! and a silence survives; and the unmodified `amtool` (Debian `prometheus-alertmanager`)
//! queries alerts and adds, queries and expires silences.

#[allow(unused_imports)]
mod support;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use support::TestServer;
use support::http;
use support::peers::require_program;

/// A webhook receiver: answers 200 to every POST and keeps the JSON bodies.
struct Webhook {
    url: String,
    received: http::Received,
}

impl Webhook {
    fn start() -> Webhook {
        let r = http::JsonRecorder::start();
        Webhook {
            url: format!("{}/hook", r.url),
            received: r.received,
        }
    }

    fn count(&self) -> usize {
        self.received.lock().expect("webhook log").len()
    }

    /// Waits until at least `n` notifications arrived; returns them.
    fn wait_for(&self, n: usize, timeout: Duration, cairn: &TestServer) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Value> = self
                .received
                .lock()
                .expect("webhook log")
                .iter()
                .map(|(_, body)| body.clone())
                .collect();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} notifications within {timeout:?}, got {}: {got:#?}\n{}",
                got.len(),
                cairn.log_tail(40)
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn post_json(url: &str, body: &Value) -> http::Response {
    http::post(
        url,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

fn post_alert(cairn: &TestServer, starts: &str, ends: &str) {
    let body = json!([{
        "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "page"},
        "annotations": {"summary": "disk almost full"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus/graph",
    }]);
    let r = post_json(
        &format!("{}/alertmanager/api/v2/alerts", cairn.url()),
        &body,
    );
    assert_eq!(r.status, 200, "POST alerts: {}", r.text());
}

#[test]
fn restart_neither_pages_twice_nor_loses_the_resolve() {
    let hook = Webhook::start();
    let config = format!(
        r#"
alertmanager:
  config:
    route:
      receiver: hook
      group_by: [alertname]
      group_wait: 1s
      group_interval: 2s
      repeat_interval: 1h
    receivers:
      - name: hook
        webhook_configs:
          - url: {}
"#,
        hook.url
    );
    let mut cairn = TestServer::builder().config(&config).start();
    let started = rfc3339(Utc::now() - chrono::Duration::minutes(5));
    let firing_until = || rfc3339(Utc::now() + chrono::Duration::hours(1));

    post_alert(&cairn, &started, &firing_until());
    let got = hook.wait_for(1, Duration::from_secs(20), &cairn);
    let first = &got[0];
    assert_eq!(first["version"], "4");
    assert_eq!(first["status"], "firing");
    assert_eq!(first["receiver"], "hook");
    assert_eq!(first["groupLabels"], json!({"alertname": "DiskFull"}));
    assert_eq!(first["alerts"][0]["labels"]["instance"], "db-1");
    let group_key = first["groupKey"].as_str().expect("groupKey").to_string();

    // A silence on something else, to see it come back.
    let now = Utc::now();
    let r = post_json(
        &format!("{}/alertmanager/api/v2/silences", cairn.url()),
        &json!({
            "matchers": [{"name": "alertname", "value": "Other", "isRegex": false, "isEqual": true}],
            "startsAt": rfc3339(now), "endsAt": rfc3339(now + chrono::Duration::hours(2)),
            "createdBy": "sre", "comment": "survives restarts",
        }),
    );
    assert_eq!(r.status, 200, "POST silences: {}", r.text());
    let silence_id = r.json()["silenceID"]
        .as_str()
        .expect("silenceID")
        .to_string();

    // Kill -9 once the notification log names the group on disk.
    let state = cairn.data_dir().join("alertmanager/state.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&state)
        .unwrap_or_default()
        .contains("\"group_key\"")
    {
        assert!(
            Instant::now() < deadline,
            "state.json never recorded the notification"
        );
        thread::sleep(Duration::from_millis(100));
    }
    cairn.kill9();
    cairn.restart();

    let r = http::get(&format!(
        "{}/alertmanager/api/v2/silence/{silence_id}",
        cairn.url()
    ))
    .expect("GET silence");
    assert_eq!(r.status, 200, "the silence survived: {}", r.text());
    assert_eq!(r.json()["comment"], "survives restarts");

    // The sender re-posts the firing alert: the group flushes at once, but the log says
    // it was notified, so nothing is sent during several group intervals.
    post_alert(&cairn, &started, &firing_until());
    thread::sleep(Duration::from_secs(6));
    assert_eq!(hook.count(), 1, "no second page after the restart");
    let alerts = http::get(&format!("{}/alertmanager/api/v2/alerts", cairn.url()))
        .expect("GET alerts")
        .json();
    assert_eq!(alerts.as_array().map(Vec::len), Some(1), "{alerts}");

    // The resolve arrives.
    post_alert(&cairn, &started, &rfc3339(Utc::now()));
    let got = hook.wait_for(2, Duration::from_secs(20), &cairn);
    assert_eq!(got[1]["status"], "resolved", "{:#}", got[1]);
    assert_eq!(got[1]["groupKey"], group_key.as_str());
    assert_eq!(got[1]["alerts"][0]["status"], "resolved");
    thread::sleep(Duration::from_secs(3));
    assert_eq!(hook.count(), 2, "exactly one resolve");
}

fn amtool(cairn: &TestServer, home: &std::path::Path, args: &[&str]) -> String {
    let url = format!("--alertmanager.url={}/alertmanager", cairn.url());
    let out = Command::new("amtool")
        .env("HOME", home)
        .arg(&url)
        .args(args)
        .output()
        .expect("run amtool");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "amtool {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        cairn.log_tail(30)
    );
    stdout
}

#[test]
fn amtool_queries_alerts_and_manages_silences() {
    require_program(
        "amtool",
        "--version",
        "install the Debian package prometheus-alertmanager",
    );
    let home = tempfile::tempdir().expect("a HOME for amtool");
    let cairn = TestServer::start();
    let now = Utc::now();
    post_alert(
        &cairn,
        &rfc3339(now - chrono::Duration::minutes(1)),
        &rfc3339(now + chrono::Duration::hours(1)),
    );

    let out = amtool(&cairn, home.path(), &["alert", "query"]);
    assert!(
        out.contains("DiskFull") && out.contains("disk almost full"),
        "{out}"
    );
    let out = amtool(&cairn, home.path(), &["alert", "query", "alertname=Nope"]);
    assert!(!out.contains("DiskFull"), "{out}");

    let id = amtool(
        &cairn,
        home.path(),
        &[
            "silence",
            "add",
            "alertname=DiskFull",
            "instance=~db-.*",
            "--comment=disk replacement",
            "--author=sre",
            "--duration=2h",
        ],
    )
    .trim()
    .to_string();
    assert_eq!(id.len(), 36, "silence add prints the new id: {id:?}");

    let out = amtool(&cairn, home.path(), &["silence", "query"]);
    assert!(
        out.contains(&id) && out.contains("disk replacement") && out.contains("sre"),
        "{out}"
    );
    let out = amtool(&cairn, home.path(), &["silence", "query", "-q"]);
    assert_eq!(out.trim(), id);
    let out = amtool(
        &cairn,
        home.path(),
        &["silence", "query", "-q", "instance=~db-.*"],
    );
    assert_eq!(out.trim(), id, "filter by one of the silence's matchers");

    // Silenced alerts are hidden unless asked for.
    let out = amtool(&cairn, home.path(), &["alert", "query"]);
    assert!(!out.contains("DiskFull"), "{out}");
    let out = amtool(&cairn, home.path(), &["alert", "query", "--silenced"]);
    assert!(out.contains("DiskFull"), "{out}");

    amtool(&cairn, home.path(), &["silence", "expire", &id]);
    let out = amtool(&cairn, home.path(), &["silence", "query", "-q"]);
    assert_eq!(out.trim(), "", "expired silences are not listed by default");
    let out = amtool(
        &cairn,
        home.path(),
        &["silence", "query", "-q", "--expired"],
    );
    assert_eq!(out.trim(), id);
    let out = amtool(&cairn, home.path(), &["alert", "query"]);
    assert!(out.contains("DiskFull"), "{out}");

    let out = amtool(&cairn, home.path(), &["config", "show"]);
    assert!(out.contains("receiver: default"), "{out}");
}

#[test]
fn prometheus_sends_its_alerts_to_cairn() {
    let hook = Webhook::start();
    let config = format!(
        r#"
alertmanager:
  config:
    route:
      receiver: hook
      group_by: [alertname]
      group_wait: 1s
      group_interval: 5s
    receivers:
      - name: hook
        webhook_configs:
          - url: {}
"#,
        hook.url
    );
    let cairn = TestServer::builder().config(&config).start();
    let rules_dir = tempfile::tempdir().expect("a directory for the rule file");
    // `for:` holds the first send back until Prometheus has discovered Cairn; an alert sent
    // before that (discovery settles after about 5s) is dropped and only re-sent after the
    // resend delay (1m).
    let rules = rules_dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n        for: 10s\n        labels: {severity: page}\n        annotations: {summary: always firing}\n",
    )
    .expect("write the rule file");
    let target = cairn.url().trim_start_matches("http://");
    let prometheus = support::peers::Prometheus::start(&format!(
        r#"
global:
  evaluation_interval: 1s
rule_files: ["{}"]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{target}"]}}]
      path_prefix: /alertmanager
      api_version: v2
"#,
        rules.display()
    ));
    let got = hook.wait_for(1, Duration::from_secs(40), &cairn);
    assert_eq!(got[0]["status"], "firing", "{:#}", got[0]);
    // Prometheus links back to itself under its hostname, on its port.
    let port = prometheus.url().rsplit(':').next().unwrap_or_default();
    let alert = &got[0]["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "AlwaysFiring");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "always firing");
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.contains(&format!(":{port}/graph?g0.expr=vector"))),
        "{alert}"
    );
}

#[test]
fn post_reload_rereads_the_alertmanager_file() {
    let dir = tempfile::tempdir().expect("a directory for alertmanager.yml");
    let am = dir.path().join("alertmanager.yml");
    let write = |receiver: &str| {
        std::fs::write(
            &am,
            format!("route:\n  receiver: {receiver}\nreceivers:\n  - name: {receiver}\n"),
        )
        .expect("write alertmanager.yml")
    };
    write("first");
    let cairn = TestServer::builder()
        .config(&format!("alertmanager:\n  config_file: {}\n", am.display()))
        .start();
    let receivers = || {
        http::get(&format!("{}/alertmanager/api/v2/receivers", cairn.url()))
            .expect("GET receivers")
            .json()
    };
    assert_eq!(receivers(), json!([{"name": "first"}]));
    write("second");
    let r = http::post(&format!("{}/-/reload", cairn.url()), &[], b"").expect("POST /-/reload");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(receivers(), json!([{"name": "second"}]));
    let status = http::get(&format!("{}/alertmanager/api/v2/status", cairn.url()))
        .expect("GET status")
        .json();
    assert!(
        status["config"]["original"]
            .as_str()
            .is_some_and(|c| c.contains("second")),
        "{status}"
    );

    std::fs::write(&am, "route: {receiver: nobody}\n").expect("break alertmanager.yml");
    let r = http::post(&format!("{}/-/reload", cairn.url()), &[], b"").expect("POST /-/reload");
    assert_eq!(r.status, 500);
    assert!(r.text().contains("nobody"), "{}", r.text());
    assert_eq!(receivers(), json!([{"name": "second"}]), "old config kept");
}
