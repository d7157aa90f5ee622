//! SLOs through the real binary: `cairn slo generate` compiles a Sloth file, the server runs
//! the rules, `GET /api/v1/slos` shows where the SLO stands with its page alert firing, and
//! `cairn slo status` prints it; `cairn slo validate` reports errors with file, SLO and field.

#[allow(unused_imports)]
mod support;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::TestServer;
use support::proto::{TimeSeries, labels};

const SLO: &str = r#"
version: "prometheus/v1"
service: "api"
labels:
  team: web
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

fn cairn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
}

#[test]
fn slo_generate_run_and_status() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let slo = dir.path().join("api-slo.yml");
    std::fs::write(&slo, SLO).expect("write slo");
    let rules = dir.path().join("api-rules.yml");
    let out = cairn()
        .args(["slo", "generate"])
        .arg(&slo)
        .arg("-o")
        .arg(&rules)
        .output()
        .expect("run cairn slo generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let generated = std::fs::read_to_string(&rules).expect("generated rule file");
    assert!(generated.contains("sloth-slo-alerts-"), "{generated}");

    // The server compiles the SLO file itself when the config names it under `slos:`.
    let config = format!(
        "slos:\n  files: [{:?}]\nrules:\n  evaluation_interval: 1s\n",
        slo.display().to_string()
    );
    let server = TestServer::builder().config(&config).start();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as i64;
    // Ten minutes of 10 requests a second, half of them failing: a 500x burn.
    let series = |code: &str| TimeSeries {
        labels: labels(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("code", code),
        ]),
        samples: (0..=40)
            .map(|i| (now - 600_000 + i * 15_000, i as f64 * 75.0))
            .collect(),
    };
    let r = server
        .write_v1(&[series("200"), series("500")])
        .expect("write");
    assert_eq!(r.status, 204, "{}", r.text());

    let deadline = Instant::now() + Duration::from_secs(60);
    let slo = loop {
        let d = server.api_data("/api/v1/slos");
        let s = d["slos"][0].clone();
        let page_firing = s["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["severity"] == "page" && x["state"] == "firing")
        });
        // The groups evaluate at their own offsets: wait for the budget too, not only for
        // the alert.
        if page_firing && s["current_sli"].is_number() && s["error_budget_remaining"].is_number() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the SLO to burn: {d}\n{}",
            server.log_tail(40)
        );
        thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(slo["id"], "api-availability");
    assert_eq!(slo["objective"], 99.9);
    assert_eq!(slo["window_seconds"], 30 * 86400);
    let sli = slo["current_sli"].as_f64().expect("sli");
    assert!((sli - 0.5).abs() < 0.01, "{slo}");
    let burn: &Value = &slo["burn_rates"][0];
    assert_eq!(burn["window"], "5m");
    assert!(
        (burn["burn_rate"].as_f64().expect("burn rate") - 500.0).abs() < 10.0,
        "{slo}"
    );
    assert_eq!(slo["exhaustion_forecast_seconds"], 0.0, "{slo}");

    let out = cairn()
        .args(["slo", "status", "--url", server.url()])
        .output()
        .expect("run cairn slo status");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.starts_with("SLO "), "{table}");
    assert!(table.contains("api-availability"), "{table}");
    assert!(table.contains("page:firing"), "{table}");
}

#[test]
fn slo_validate_names_file_slo_and_field() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, SLO).expect("write");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, SLO.replace("objective: 99.9", "objective: 190")).expect("write");
    let out = cairn()
        .args(["slo", "validate"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 SLOs OK"));
    let out = cairn()
        .args(["slo", "validate"])
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yml: slo \"availability\": objective: 190 is not a percentage"),
        "{err}"
    );
}
