//! Router-level tests of the Alertmanager API v2: every endpoint and its errors.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn_alerting::{Notifier, RecordingNotifier};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::alertmanager::AlertmanagerService;
use crate::config::{AlertmanagerSource, Config};
use crate::http::{AppState, router};

const AM_YAML: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db-pager
receivers:
  - name: default
  - name: db-pager
    webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
"#;

struct Api {
    app: Router,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.storage.data_dir = dir.path().to_path_buf();
        cfg.alertmanager.source = AlertmanagerSource::Inline(AM_YAML.to_string());
        let mut st = AppState::new(Arc::new(cfg));
        let rec = Arc::new(RecordingNotifier::new());
        let factory: crate::alertmanager::NotifierFactory =
            Arc::new(move |_: &cairn_alerting::Config| Ok(Arc::clone(&rec) as Arc<dyn Notifier>));
        let svc = AlertmanagerService::open(&st.config, factory, &mut st.registry)
            .await
            .unwrap();
        assert!(st.alertmanager.set(svc).is_ok());
        Api {
            app: router(Arc::new(st)),
            _dir: dir,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, v)
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

fn alert(labels: Value) -> Value {
    json!({"labels": labels, "annotations": {"summary": "s"}, "generatorURL": "http://prom/graph"})
}

#[tokio::test]
async fn post_and_get_alerts() {
    let api = Api::new().await;
    let now = Utc::now();
    let (s, _) = api
        .call(
            "POST",
            "/alertmanager/api/v2/alerts",
            Some(json!([
                alert(json!({"alertname": "DbDown", "team": "db", "severity": "critical", "empty": ""})),
                alert(json!({"alertname": "DbDown", "team": "db", "severity": "warning"})),
                {"labels": {"alertname": "Old"}, "startsAt": ts(now - Duration::hours(2)), "endsAt": ts(now - Duration::hours(1))},
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Both prefixes serve the same API.
    for prefix in ["/alertmanager/api/v2", "/api/v2"] {
        let (s, v) = api.call("GET", &format!("{prefix}/alerts"), None).await;
        assert_eq!(s, StatusCode::OK);
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), 2, "the resolved alert is not listed: {v}");
        let fps: Vec<&str> = list
            .iter()
            .map(|a| a["fingerprint"].as_str().unwrap())
            .collect();
        assert!(fps.windows(2).all(|w| w[0] < w[1]), "sorted by fingerprint");
        let crit = list
            .iter()
            .find(|a| a["labels"]["severity"] == "critical")
            .unwrap();
        assert_eq!(crit["fingerprint"].as_str().unwrap().len(), 16);
        assert_eq!(
            crit["labels"],
            json!({"alertname": "DbDown", "team": "db", "severity": "critical"}),
            "empty label values are dropped"
        );
        assert_eq!(crit["receivers"], json!([{"name": "db-pager"}]));
        assert_eq!(crit["annotations"], json!({"summary": "s"}));
        assert_eq!(crit["generatorURL"], "http://prom/graph");
        assert_eq!(
            crit["status"],
            json!({"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []})
        );
        for k in ["startsAt", "endsAt", "updatedAt"] {
            let t = crit[k].as_str().unwrap();
            assert!(
                DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'),
                "{k}: {t}"
            );
        }
        let warn = list
            .iter()
            .find(|a| a["labels"]["severity"] == "warning")
            .unwrap();
        assert_eq!(warn["status"]["state"], "suppressed");
        assert_eq!(warn["status"]["inhibitedBy"], json!([crit["fingerprint"]]));
    }

    // Filters.
    let get = |q: &'static str| api.call("GET", q, None);
    let n = |v: Value| v.as_array().map_or(usize::MAX, Vec::len);
    assert_eq!(
        n(get("/api/v2/alerts?filter=severity%3D%22critical%22")
            .await
            .1),
        1
    );
    assert_eq!(
        n(
            get("/api/v2/alerts?filter=team%3Ddb&filter=severity%3D~%22w.*%22")
                .await
                .1
        ),
        1
    );
    assert_eq!(n(get("/api/v2/alerts?inhibited=false").await.1), 1);
    assert_eq!(n(get("/api/v2/alerts?active=false").await.1), 1);
    assert_eq!(n(get("/api/v2/alerts?receiver=db-.*").await.1), 2);
    assert_eq!(n(get("/api/v2/alerts?receiver=default").await.1), 0);
    let (s, v) = get("/api/v2/alerts?filter=%7Bfoo").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = get("/api/v2/alerts?silenced=maybe").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v.as_str().unwrap().contains("silenced"), "{v}");
    let (s, v) = get("/api/v2/alerts?receiver=(").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v.as_str()
            .unwrap()
            .starts_with("failed to parse receiver param"),
        "{v}"
    );

    // Groups.
    let (s, v) = get("/api/v2/alerts/groups").await;
    assert_eq!(s, StatusCode::OK);
    let groups = v.as_array().unwrap();
    assert_eq!(groups.len(), 1, "{v}");
    assert_eq!(groups[0]["labels"], json!({"alertname": "DbDown"}));
    assert_eq!(groups[0]["receiver"], json!({"name": "db-pager"}));
    assert_eq!(groups[0]["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(n(get("/api/v2/alerts/groups?receiver=default").await.1), 0);
    assert_eq!(
        n(get("/api/v2/alerts/groups?filter=alertname%3DNope").await.1),
        0
    );
}

#[tokio::test]
async fn invalid_alerts_are_refused_and_valid_ones_kept() {
    let api = Api::new().await;
    let now = Utc::now();
    let (s, v) = api
        .call(
            "POST",
            "/api/v2/alerts",
            Some(json!([
                {"labels": {}},
                {"labels": {"only": ""}},
                {"labels": {"alertname": "Backwards"}, "startsAt": ts(now), "endsAt": ts(now - Duration::minutes(1))},
                {"labels": {"alertname": "Good"}},
            ])),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let msg = v.as_str().unwrap();
    assert_eq!(
        msg.matches("at least one label pair required").count(),
        2,
        "{msg}"
    );
    assert!(msg.contains("start time must be before end time"), "{msg}");
    let (_, v) = api.call("GET", "/api/v2/alerts", None).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["labels"]["alertname"], "Good");

    for body in [json!({"labels": {"a": "b"}}), json!([{"labels": "x"}])] {
        let (s, _) = api.call("POST", "/api/v2/alerts", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    let (s, v) = api
        .call(
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"a": "b"}, "startsAt": "yesterday"}])),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v.as_str().unwrap().contains("startsAt"), "{v}");
}

fn silence(matchers: Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({"matchers": matchers, "startsAt": ts(start), "endsAt": ts(end), "createdBy": "sre", "comment": "maintenance"})
}

#[tokio::test]
async fn silences_lifecycle_and_validation() {
    let api = Api::new().await;
    let now = Utc::now();
    let m = json!([{"name": "team", "value": "db", "isRegex": false, "isEqual": true}]);
    let (s, v) = api
        .call(
            "POST",
            "/alertmanager/api/v2/silences",
            Some(silence(m.clone(), now, now + Duration::hours(1))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["silenceID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);

    // The silence mutes matching alerts.
    api.call(
        "POST",
        "/api/v2/alerts",
        Some(json!([alert(json!({"alertname": "X", "team": "db"}))])),
    )
    .await;
    let (_, v) = api.call("GET", "/api/v2/alerts", None).await;
    assert_eq!(v[0]["status"]["state"], "suppressed");
    assert_eq!(v[0]["status"]["silencedBy"], json!([id]));
    let (_, v) = api.call("GET", "/api/v2/alerts?silenced=false", None).await;
    assert_eq!(v, json!([]));

    let (s, v) = api
        .call("GET", &format!("/api/v2/silence/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"]["state"], "active");
    assert_eq!(v["matchers"], m);
    assert_eq!(v["createdBy"], "sre");
    assert_eq!(v["comment"], "maintenance");
    assert!(v["updatedAt"].is_string());

    // Extending an active silence keeps its id; changing its matchers issues a new one.
    let mut upd = v.clone();
    upd["endsAt"] = json!(ts(now + Duration::hours(3)));
    let (s, v) = api.call("POST", "/api/v2/silences", Some(upd)).await;
    assert_eq!(
        (s, v["silenceID"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let mut other = silence(
        json!([{"name": "team", "value": "web", "isRegex": false}]),
        now,
        now + Duration::hours(1),
    );
    other["id"] = json!(id);
    let (s, v) = api.call("POST", "/api/v2/silences", Some(other)).await;
    assert_eq!(s, StatusCode::OK);
    let id2 = v["silenceID"].as_str().unwrap().to_string();
    assert_ne!(id2, id);

    // Filters and order: active before expired.
    let (_, v) = api.call("GET", "/api/v2/silences", None).await;
    let states: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["active", "expired"]);
    let (_, v) = api
        .call("GET", "/api/v2/silences?filter=team%3D%22web%22", None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["id"], id2.as_str());

    // Expire.
    let (s, _) = api
        .call("DELETE", &format!("/api/v2/silence/{id2}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = api
        .call("GET", &format!("/api/v2/silence/{id2}"), None)
        .await;
    assert_eq!(v["status"]["state"], "expired");

    // Errors.
    let unknown = "7b0f5a54-9d0a-4e1c-8a55-000000000000";
    let (s, _) = api
        .call("GET", &format!("/api/v2/silence/{unknown}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .call("DELETE", &format!("/api/v2/silence/{unknown}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut ghost = silence(m.clone(), now, now + Duration::hours(1));
    ghost["id"] = json!(unknown);
    let (s, _) = api.call("POST", "/api/v2/silences", Some(ghost)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let cases = [
        (
            silence(json!([]), now, now + Duration::hours(1)),
            "at least one matcher required",
        ),
        (
            silence(
                json!([{"name": "a", "value": ".*", "isRegex": true}]),
                now,
                now + Duration::hours(1),
            ),
            "must not match the empty string",
        ),
        (
            silence(m.clone(), now + Duration::hours(1), now),
            "start time must be before end time",
        ),
        (
            silence(
                m.clone(),
                now - Duration::hours(2),
                now - Duration::hours(1),
            ),
            "end time can't be in the past",
        ),
        (
            silence(
                json!([{"name": "a", "value": "(", "isRegex": true}]),
                now,
                now + Duration::hours(1),
            ),
            "failed to convert API silence",
        ),
        (json!({"matchers": []}), "parsing silence body"),
    ];
    for (body, want) in cases {
        let (s, v) = api.call("POST", "/api/v2/silences", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{want}: {v}");
        assert!(v.as_str().unwrap().contains(want), "{want}: {v}");
    }
}

#[tokio::test]
async fn status_receivers_and_reload() {
    let api = Api::new().await;
    let (s, v) = api.call("GET", "/alertmanager/api/v2/status", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["cluster"]["status"], "disabled");
    assert_eq!(v["cluster"]["peers"], json!([]));
    for k in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(v["versionInfo"][k].is_string(), "{k}: {v}");
    }
    assert!(
        v["config"]["original"]
            .as_str()
            .unwrap()
            .contains("db-pager")
    );
    assert!(DateTime::parse_from_rfc3339(v["uptime"].as_str().unwrap()).is_ok());

    let (s, v) = api.call("GET", "/api/v2/receivers", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!([{"name": "default"}, {"name": "db-pager"}]));

    let (s, _) = api.call("POST", "/alertmanager/-/reload", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api.call("GET", "/alertmanager/-/healthy", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn unavailable_until_the_alert_manager_is_loaded() {
    let app = router(Arc::new(AppState::new(Arc::new(Config::default()))));
    let r = app
        .oneshot(Request::get("/api/v2/alerts").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
