//! The Prometheus series and label APIs and remote read, against a real storage engine.

#[path = "support/app.rs"]
mod app;

use app::{TestApp, enc, series};
use axum::http::StatusCode;
use serde_json::{Value as Json, json};

async fn seeded() -> TestApp {
    let app = TestApp::start("").await;
    let r = app
        .write_v1(&[
            series(
                &[("__name__", "up"), ("job", "api"), ("instance", "a")],
                &[(10_000, 1.0)],
            ),
            series(
                &[("__name__", "up"), ("job", "db"), ("instance", "b")],
                &[(20_000, 1.0)],
            ),
            series(
                &[
                    ("__name__", "http.requests"),
                    ("job", "api"),
                    ("http.status_code", "200"),
                ],
                &[(30_000, 5.0)],
            ),
        ])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    app
}

#[tokio::test]
async fn series_get_and_post() {
    let app = seeded().await;
    let q = format!("/api/v1/series?match[]={}", enc(r#"up{job="api"}"#));
    let data = app.api(&q, &[]).await;
    assert_eq!(
        data,
        json!([{"__name__": "up", "instance": "a", "job": "api"}])
    );

    // Repeated match[] is a union; the second comes from the form body of a POST.
    let body = format!("match[]={}", enc(r#"{__name__="http.requests"}"#));
    let r = app
        .post(
            &format!("/api/v1/series?match[]={}", enc(r#"up{job="db"}"#)),
            &[("content-type", "application/x-www-form-urlencoded")],
            body.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2), "{v}");

    // Grafana's metric listing and Drilldown's selector with a trailing comma.
    let q = format!(
        "/api/v1/series?match[]={}&limit=40000",
        enc(r#"{__name__!=""}"#)
    );
    assert_eq!(app.api(&q, &[]).await.as_array().map(Vec::len), Some(3));
    let q = format!("/api/v1/labels?match[]={}", enc(r#"{__name__=~".+",}"#));
    assert_eq!(
        app.api(&q, &[]).await,
        json!(["__name__", "http.status_code", "instance", "job"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn series_requires_match_and_valid_params() {
    let app = seeded().await;
    for (path, needle) in [
        ("/api/v1/series".to_string(), "match[]"),
        (format!("/api/v1/series?match[]={}", enc("up{")), "match[]"),
        (
            format!("/api/v1/series?match[]={}", enc(r#"{job=~".*"}"#)),
            "non-empty",
        ),
        (
            format!("/api/v1/series?match[]=up&start={}", enc("yesterday")),
            "start",
        ),
        (
            "/api/v1/series?match[]=up&start=20&end=10".to_string(),
            "end",
        ),
        ("/api/v1/series?match[]=up&limit=x".to_string(), "limit"),
        (
            format!("/api/v1/labels?match[]={}", enc("rate(up[5m])")),
            "match[]",
        ),
    ] {
        let r = app.get(&path, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        let v = r.json();
        assert_eq!(v["status"], "error", "{path}");
        assert_eq!(v["errorType"], "bad_data", "{path}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains(needle),
            "{path}: {v}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn time_ranges_select_series() {
    let app = seeded().await;
    // up{job="api"} has data at 10s only, up{job="db"} at 20s only.
    let q = |start: &str, end: &str| {
        format!(
            "/api/v1/series?match[]=up&start={}&end={}",
            enc(start),
            enc(end)
        )
    };
    let jobs = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["job"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(jobs(app.api(&q("15", "25"), &[]).await), ["db"]);
    assert_eq!(
        jobs(
            app.api(&q("1970-01-01T00:00:05Z", "1970-01-01T00:00:12.5Z"), &[])
                .await
        ),
        ["api"]
    );
    assert_eq!(jobs(app.api(&q("0", "100"), &[]).await), ["api", "db"]);
    assert_eq!(
        jobs(app.api(&q("100", "200"), &[]).await),
        Vec::<String>::new()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn limit_truncates_with_a_warning() {
    let app = seeded().await;
    let r = app.get("/api/v1/series?match[]=up&limit=1", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    let v = app
        .get("/api/v1/series?match[]=up&limit=2", &[])
        .await
        .json();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert!(v.get("warnings").is_none(), "{v}");
    let v = app.get("/api/v1/labels?limit=2", &[]).await.json();
    assert_eq!(v["data"], json!(["__name__", "http.status_code"]));
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
    let v = app
        .get("/api/v1/label/job/values?limit=1", &[])
        .await
        .json();
    assert_eq!(v["data"], json!(["api"]));
    app.shutdown().await;
}

#[tokio::test]
async fn label_values_with_escaped_names_and_matchers() {
    let app = seeded().await;
    assert_eq!(
        app.api("/api/v1/label/__name__/values", &[]).await,
        json!(["http.requests", "up"])
    );
    assert_eq!(
        app.api("/api/v1/label/U__http_2e_status__code/values", &[])
            .await,
        json!(["200"])
    );
    let q = format!(
        "/api/v1/label/instance/values?match[]={}",
        enc(r#"up{job="db"}"#)
    );
    assert_eq!(app.api(&q, &[]).await, json!(["b"]));
    assert_eq!(app.api("/api/v1/label/nope/values", &[]).await, json!([]));
    let r = app.get("/api/v1/label/U__bad_zz_/values", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test]
async fn prometheus_prefix_buildinfo_and_health() {
    let app = seeded().await;
    let q = format!("/prometheus/api/v1/series?match[]={}", enc("up"));
    assert_eq!(app.api(&q, &[]).await.as_array().map(Vec::len), Some(2));
    assert_eq!(
        app.api("/prometheus/api/v1/labels", &[])
            .await
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let info = app.api("/api/v1/status/buildinfo", &[]).await;
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info.get("features").is_none(), "{info}");
    assert_eq!(app.get("/-/healthy", &[]).await.status, StatusCode::OK);
    assert_eq!(app.get("/-/ready", &[]).await.status, StatusCode::OK);
    let m = app.get("/metrics", &[]).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(
        text.contains("cairn_http_request_duration_seconds"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "one EOF at the end");
    assert_eq!(text.matches("# EOF").count(), 1);
    let v = app.get("/api/v1/metadata", &[]).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    app.shutdown().await;
}

#[tokio::test]
async fn flush_answers_what_it_did() {
    let app = seeded().await;
    let r = app.post("/api/v1/admin/flush", &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"]["samples"], 3, "{v}");
    assert!(!v["data"]["blocks"].as_array().unwrap().is_empty(), "{v}");
    // Still readable from the blocks.
    let q = format!("/api/v1/series?match[]={}", enc("up"));
    assert_eq!(app.api(&q, &[]).await.as_array().map(Vec::len), Some(2));
    app.shutdown().await;
}

#[tokio::test]
async fn remote_read_rules() {
    use cairn_model::Matcher;
    use cairn_wire::{Query, ReadRequest, ResponseType, encode_read_request, snappy_compress};
    let app = seeded().await;
    let req = |types: Vec<ResponseType>| ReadRequest {
        queries: vec![
            Query {
                start_ms: 0,
                end_ms: 15_000,
                matchers: vec![Matcher::equal("__name__", "up")],
                hints: None,
            },
            Query {
                start_ms: 0,
                end_ms: 100_000,
                matchers: vec![Matcher::equal("job", "api")],
                hints: None,
            },
        ],
        accepted_response_types: types,
    };
    let h = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "snappy"),
    ];
    let r = app
        .post(
            "/api/v1/read",
            &h,
            snappy_compress(&encode_read_request(&req(vec![]))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut raw = Vec::new();
    cairn_wire::decompress_snappy(&r.body, 1 << 20, &mut raw).unwrap();
    let results = cairn_wire::decode_read_response(&raw).unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0].len(),
        1,
        "only up{{job=api}} has data before 15s"
    );
    assert_eq!(results[1].len(), 2);
    // The first accepted type wins: streamed XOR chunks carry the same series and samples.
    let r = app
        .post(
            "/api/v1/read",
            &h,
            snappy_compress(&encode_read_request(&req(vec![
                ResponseType::StreamedXorChunks,
                ResponseType::Samples,
            ]))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some(cairn_wire::CHUNKED_READ_CONTENT_TYPE)
    );
    let frames = cairn_wire::decode_chunked_read_response(&r.body).unwrap();
    for (q, want) in results.iter().enumerate() {
        let got: Vec<_> = frames
            .iter()
            .filter(|(i, _)| *i == q as i64)
            .map(|(_, s)| s.clone())
            .collect();
        assert_eq!(&got, want, "query {q}");
    }
    let r = app.post("/api/v1/read", &h, b"garbage".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v1/read", &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    app.shutdown().await;
}

#[tokio::test]
async fn promql_queries() {
    let app = seeded().await;
    // Grafana's health check.
    let r = app
        .post(
            "/api/v1/query",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"query=1%2B1&time=4".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["data"],
        json!({"resultType": "scalar", "result": [4, "2"]})
    );

    let q = format!("/api/v1/query?query={}&time=25", enc("sum by (job) (up)"));
    let data = app.api(&q, &[]).await;
    assert_eq!(data["resultType"], "vector");
    let mut got: Vec<(String, Json)> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["job"].as_str().unwrap().to_string(),
                s["value"].clone(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("api".to_string(), json!([25, "1"])),
            ("db".to_string(), json!([25, "1"]))
        ]
    );

    let q = format!(
        "/api/v1/query_range?query={}&start=0&end=30&step=10",
        enc(r#"up{job="db"}"#)
    );
    let data = app.api(&q, &[]).await;
    assert_eq!(data["resultType"], "matrix");
    assert_eq!(data["result"][0]["values"], json!([[20, "1"], [30, "1"]]));
    assert_eq!(data["result"][0]["metric"]["job"], "db");

    for (path, status, ty) in [
        ("/api/v1/query".to_string(), 400, "bad_data"),
        (
            format!("/api/v1/query?query={}", enc("up +")),
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=30&step=0".to_string(),
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=30&end=0&step=1".to_string(),
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=30".to_string(),
            400,
            "bad_data",
        ),
        (
            format!(
                "/api/v1/query_range?query={}&start=0&end=30&step=10",
                enc("up[5m]")
            ),
            400,
            "bad_data",
        ),
    ] {
        let r = app.get(&path, &[]).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text());
        assert_eq!(r.json()["errorType"], ty, "{path}");
    }
    app.shutdown().await;
}
