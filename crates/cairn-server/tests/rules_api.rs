//! The rule engine behind a real `App`: recording rules written through the store and
//! queryable, `/api/v1/rules` and `/api/v1/alerts` as Prometheus answers them (field names,
//! order, filters), and `POST /-/reload` keeping the old rules when a file is bad.

#[path = "support/app.rs"]
mod app;

use app::{TestApp, series};
use axum::http::StatusCode;

const RULES: &str = r#"
groups:
  - name: example
    interval: 15s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.job }} is down"
"#;

async fn start(rules: &str) -> (TestApp, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rules.yml");
    std::fs::write(&file, rules).expect("write rules");
    let yaml = format!("rules:\n  rule_files: [{:?}]\n", file.display().to_string());
    let app = TestApp::start_in(&yaml, dir).await;
    let r = app
        .write_v1(&[
            series(
                &[("__name__", "up"), ("job", "api"), ("instance", "a")],
                &[(10_000, 1.0), (25_000, 1.0), (40_000, 0.0)],
            ),
            series(
                &[("__name__", "up"), ("job", "api"), ("instance", "b")],
                &[(10_000, 1.0), (25_000, 1.0), (40_000, 1.0)],
            ),
        ])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    (app, file)
}

#[tokio::test]
async fn recorded_series_and_alerts_are_served_as_prometheus_does() {
    let (app, file) = start(RULES).await;
    app.app.eval_rules_at(40_000).await;

    let r = app.get("/api/v1/query?query=job:up:sum&time=40", &[]).await;
    assert_eq!(
        r.text(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"job:up:sum","job":"api"},"value":[40,"1"]}]}}"#
    );

    let r = app.get("/api/v1/alerts", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.text(),
        r#"{"status":"success","data":{"alerts":[{"labels":{"alertname":"InstanceDown","instance":"a","job":"api","severity":"page"},"annotations":{"summary":"a of api is down"},"state":"firing","activeAt":"1970-01-01T00:00:40Z","value":"0e+00"}]}}"#
    );

    let r = app.get("/api/v1/rules", &[]).await;
    let text = r.text();
    let file = file.display().to_string();
    let want_prefix = format!(
        r#"{{"status":"success","data":{{"groups":[{{"name":"example","file":{file:?},"rules":[{{"name":"job:up:sum","query":"sum by (job) (up)","health":"ok","evaluationTime":"#
    );
    assert!(text.starts_with(&want_prefix), "{text}");
    let j = r.json();
    let g = &j["data"]["groups"][0];
    assert_eq!(g["interval"], 15.0);
    assert_eq!(g["limit"], 0);
    assert_eq!(g["lastEvaluation"], "1970-01-01T00:00:40Z");
    let alert = &g["rules"][1];
    let keys: Vec<&str> = alert
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = vec![
        "state",
        "name",
        "query",
        "duration",
        "keepFiringFor",
        "labels",
        "annotations",
        "alerts",
        "health",
        "evaluationTime",
        "lastEvaluation",
        "type",
    ];
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["type"], "alerting");
    assert_eq!(alert["duration"], 0.0);
    assert_eq!(alert["alerts"][0]["labels"]["instance"], "a");
    // The order of fields in the text is Prometheus' order.
    let a = text.find(r#"{"state":"firing","name":"InstanceDown","query":"up == 0","duration":0,"keepFiringFor":0,"labels":{"severity":"page"},"annotations":"#);
    assert!(a.is_some(), "{text}");
}

#[tokio::test]
async fn rules_filters() {
    let (app, _) = start(RULES).await;
    app.app.eval_rules_at(40_000).await;
    let names = |r: &app::Resp| -> Vec<String> {
        r.json()["data"]["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_array().expect("rules").clone())
            .map(|r| r["name"].as_str().expect("name").to_string())
            .collect()
    };
    let r = app.get("/api/v1/rules?type=record", &[]).await;
    assert_eq!(names(&r), vec!["job:up:sum"]);
    let r = app.get("/api/v1/rules?type=alert", &[]).await;
    assert_eq!(names(&r), vec!["InstanceDown"]);
    let r = app
        .get("/api/v1/rules?rule_name[]=InstanceDown&rule_name[]=x", &[])
        .await;
    assert_eq!(names(&r), vec!["InstanceDown"]);
    let r = app.get("/api/v1/rules?rule_group[]=nope", &[]).await;
    assert!(names(&r).is_empty());
    let r = app
        .get("/api/v1/rules?match[]=%7Bseverity%3D%22page%22%7D", &[])
        .await;
    assert_eq!(names(&r), vec!["InstanceDown"]);
    let r = app
        .get("/api/v1/rules?type=alert&exclude_alerts=true", &[])
        .await;
    assert!(r.json()["data"]["groups"][0]["rules"][0]["alerts"].is_null());
    let r = app.get("/api/v1/rules?type=bogus", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["errorType"], "bad_data");
}

#[tokio::test]
async fn reload_keeps_old_rules_on_error_and_state_when_unchanged() {
    let (app, file) = start(RULES).await;
    app.app.eval_rules_at(40_000).await;
    std::fs::write(
        &file,
        "groups:\n- name: x\n  rules:\n  - record: bad-name\n    expr: up\n",
    )
    .expect("write");
    let r = app.post("/-/reload", &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.text().contains("invalid recording rule name: bad-name"),
        "{}",
        r.text()
    );
    let r = app.get("/api/v1/rules", &[]).await;
    assert_eq!(r.json()["data"]["groups"][0]["name"], "example");

    let more = format!("{RULES}      - record: extra\n        expr: vector(1)\n");
    std::fs::write(&file, more).expect("write");
    let r = app.post("/-/reload", &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get("/api/v1/rules", &[]).await;
    let j = r.json();
    let rules = j["data"]["groups"][0]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 3);
    // The unchanged alerting rule kept its firing alert across the reload.
    assert_eq!(rules[1]["state"], "firing");
    assert_eq!(rules[2]["health"], "unknown");
}

#[tokio::test]
async fn rules_pagination() {
    let two = format!(
        "{RULES}  - name: second\n    rules:\n      - record: x\n        expr: vector(1)\n"
    );
    let (app, _) = start(&two).await;
    let r = app.get("/api/v1/rules?group_limit=1", &[]).await;
    let j = r.json();
    assert_eq!(j["data"]["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(j["data"]["groups"][0]["name"], "example");
    let token = j["data"]["groupNextToken"]
        .as_str()
        .expect("a token")
        .to_string();
    let r = app
        .get(
            &format!("/api/v1/rules?group_limit=1&group_next_token={token}"),
            &[],
        )
        .await;
    let j = r.json();
    assert_eq!(j["data"]["groups"][0]["name"], "second");
    assert!(j["data"].get("groupNextToken").is_none());
    let r = app.get("/api/v1/rules?group_limit=0", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.get("/api/v1/rules?group_next_token=abc", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .get("/api/v1/rules?group_limit=1&group_next_token=nope", &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("were rule groups changed?"),
        "{}",
        r.text()
    );
}
