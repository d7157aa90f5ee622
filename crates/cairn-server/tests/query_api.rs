//! The Prometheus query API (`/api/v1/query`, `/query_range`, `/format_query`,
//! `/query_exemplars`, buildinfo, metadata) against a real storage engine: exact bytes,
//! parameter forms, errors with Prometheus' types, codes and words, and the query limits.

#[path = "support/app.rs"]
mod app;

use app::{Resp, TestApp, enc, series};
use axum::http::StatusCode;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

async fn seeded(yaml: &str) -> TestApp {
    let app = TestApp::start(yaml).await;
    let r = app
        .write_v1(&[
            series(
                &[("__name__", "up"), ("job", "api"), ("instance", "a")],
                &[(10_000, 1.0), (25_000, 0.5), (40_000, 1e-7)],
            ),
            series(
                &[("__name__", "up"), ("job", "db"), ("instance", "b<&>")],
                &[(10_000, 2.0), (25_000, 3.0), (40_000, 4.0)],
            ),
        ])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    app
}

fn assert_body(r: &Resp, status: StatusCode, want: &str) {
    assert_eq!(r.text(), want);
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
}

fn bad_data(message: &str) -> String {
    let mut escaped = String::new();
    for c in message.chars() {
        if c == '"' {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!(r#"{{"status":"error","errorType":"bad_data","error":"{escaped}"}}"#)
}

#[tokio::test]
async fn grafana_health_check_in_every_form() {
    let app = seeded("").await;
    let want = r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#;
    let r = app.get("/api/v1/query?query=1%2B1&time=4", &[]).await;
    assert_body(&r, StatusCode::OK, want);
    let r = app
        .post("/api/v1/query", &[FORM], b"query=1%2B1&time=4".to_vec())
        .await;
    assert_body(&r, StatusCode::OK, want);
    let r = app
        .get("/prometheus/api/v1/query?query=1%2B1&time=4", &[])
        .await;
    assert_body(&r, StatusCode::OK, want);
    // RFC 3339 and fractional times; a string result.
    let r = app
        .get(
            &format!(
                "/api/v1/query?query=time()&time={}",
                enc("2024-01-01T00:00:00.5Z")
            ),
            &[],
        )
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1704067200.5,"1704067200.5"]}}"#,
    );
    let r = app
        .get(
            &format!("/api/v1/query?query={}&time=4.1", enc("\"a<b\"")),
            &[],
        )
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        r#"{"status":"success","data":{"resultType":"string","result":[4.1,"a\u003cb"]}}"#,
    );
}

#[tokio::test]
async fn vectors_and_matrices_are_byte_exact() {
    let app = seeded("").await;
    let r = app.get("/api/v1/query?query=up&time=40", &[]).await;
    assert_body(
        &r,
        StatusCode::OK,
        concat!(
            r#"{"status":"success","data":{"resultType":"vector","result":["#,
            r#"{"metric":{"__name__":"up","instance":"a","job":"api"},"value":[40,"1e-07"]},"#,
            r#"{"metric":{"__name__":"up","instance":"b\u003c\u0026\u003e","job":"db"},"value":[40,"4"]}"#,
            "]}}"
        ),
    );
    let body = format!(
        "query={}&start=10&end=40&step=15s",
        enc("up{job=\"db\"} / 2")
    );
    let r = app
        .post("/api/v1/query_range", &[FORM], body.into_bytes())
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        concat!(
            r#"{"status":"success","data":{"resultType":"matrix","result":["#,
            r#"{"metric":{"instance":"b\u003c\u0026\u003e","job":"db"},"values":[[10,"1"],[25,"1.5"],[40,"2"]]}"#,
            "]}}"
        ),
    );
    // Float step and sub-second times, special values.
    let r = app
        .get(
            &format!(
                "/api/v1/query_range?query={}&start=0.5&end=1.5&step=0.5",
                enc("vector(1/0) or vector(time())")
            ),
            &[],
        )
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0.500,"+Inf"],[1,"+Inf"],[1.500,"+Inf"]]}]}}"#,
    );
    // `limit` truncates with Prometheus' warning after `data`.
    let r = app.get("/api/v1/query?query=up&time=40&limit=1", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .ends_with(r#"}]},"warnings":["results truncated due to limit"]}"#),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn parameter_errors_read_like_prometheus() {
    let app = seeded("").await;
    for (path, want) in [
        (
            "/api/v1/query_range?query=1&start=10&end=5&step=1",
            r#"invalid parameter "end": end timestamp must not be before start time"#,
        ),
        (
            "/api/v1/query_range?query=1&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/api/v1/query_range?query=1&start=0&end=2&step=0",
            r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
        ),
        (
            "/api/v1/query_range?query=1&start=0&end=2",
            r#"invalid parameter "step": cannot parse "" to a valid duration"#,
        ),
        (
            "/api/v1/query_range?query=1&end=2&step=1",
            r#"invalid parameter "start": cannot parse "" to a valid timestamp"#,
        ),
        (
            "/api/v1/query?query=1&time=abc",
            r#"invalid parameter "time": Invalid time value for 'time': cannot parse "abc" to a valid timestamp"#,
        ),
        (
            "/api/v1/query?query=1&time=1&timeout=x",
            r#"invalid parameter "timeout": cannot parse "x" to a valid duration"#,
        ),
        (
            "/api/v1/query?query=1&time=1&lookback_delta=x",
            r#"error parsing lookback delta duration: cannot parse "x" to a valid duration"#,
        ),
        (
            "/api/v1/query?query=1&limit=x",
            r#"invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax"#,
        ),
        (
            "/api/v1/query?query=",
            r#"invalid parameter "query": 1:1: parse error: no expression found in input"#,
        ),
        (
            "/api/v1/query_range?query=up%5B5m%5D&start=0&end=2&step=1",
            r#"invalid expression type "range vector" for range query, must be Scalar or instant Vector"#,
        ),
        (
            "/api/v1/query_exemplars?query=up&start=5&end=1",
            "end timestamp must not be before start timestamp",
        ),
        ("/api/v1/series", "no match[] parameter provided"),
        (
            "/api/v1/labels?start=x",
            r#"invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp"#,
        ),
        ("/api/v1/metadata?limit=x", "limit must be a number"),
        (
            "/api/v1/metadata?limit_per_metric=x",
            "limit_per_metric must be a number",
        ),
    ] {
        let r = app.get(path, &[]).await;
        assert_body(&r, StatusCode::BAD_REQUEST, &bad_data(want));
    }
    // A parse error names the position, Prometheus style.
    let r = app.get("/api/v1/query?query=foo(", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().starts_with(
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:"#
        ),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn stats_objects_have_prometheus_fields_in_order() {
    let app = seeded("").await;
    let r = app
        .get(
            "/api/v1/query_range?query=up&start=10&end=40&step=15&stats=all",
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    let keys = [
        "\"resultType\"",
        "\"result\"",
        "\"stats\":{\"timings\":{\"evalTotalTime\":",
        "\"resultSortTime\"",
        "\"queryPreparationTime\"",
        "\"innerEvalTime\"",
        "\"execQueueTime\"",
        "\"execTotalTime\"",
        "\"samples\":{\"totalQueryableSamplesPerStep\":[[10,",
        "\"totalQueryableSamples\":6,",
        "\"peakSamples\"",
    ];
    let mut at = 0;
    for k in keys {
        let found = text[at..]
            .find(k)
            .unwrap_or_else(|| panic!("{k} after {at}: {text}"));
        at += found + k.len();
    }
    let v = r.json();
    assert_eq!(
        v["data"]["stats"]["samples"]["totalQueryableSamplesPerStep"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Any other value of `stats` gives the object without the per-step samples.
    let r = app
        .get("/api/v1/query?query=up&time=40&stats=true", &[])
        .await;
    let v = r.json();
    assert!(
        v["data"]["stats"]["timings"]["execTotalTime"].is_number(),
        "{v}"
    );
    assert!(v["data"]["stats"]["samples"]["totalQueryableSamplesPerStep"].is_null());
    assert_eq!(v["data"]["stats"]["samples"]["totalQueryableSamples"], 6);
    // Without `stats`, no object.
    let r = app.get("/api/v1/query?query=up&time=40", &[]).await;
    assert!(!r.text().contains("stats"), "{}", r.text());
}

#[tokio::test]
async fn format_query_exemplars_and_buildinfo() {
    let app = seeded("").await;
    let r = app
        .get(
            &format!(
                "/api/v1/format_query?query={}",
                enc("sum(rate(foo[5m]))by(a)")
            ),
            &[],
        )
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        r#"{"status":"success","data":"sum by (a) (rate(foo[5m]))"}"#,
    );
    let r = app
        .post(
            "/api/v1/format_query",
            &[FORM],
            b"query=a%20%20%2B%20b".to_vec(),
        )
        .await;
    assert_body(&r, StatusCode::OK, r#"{"status":"success","data":"a + b"}"#);
    let r = app.get("/api/v1/format_query?query=foo(", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The seeded series carry no exemplars.
    let r = app
        .get("/api/v1/query_exemplars?query=up&start=0&end=100", &[])
        .await;
    assert_body(&r, StatusCode::OK, r#"{"status":"success","data":[]}"#);
    let r = app
        .post(
            "/prometheus/api/v1/query_exemplars",
            &[FORM],
            b"query=up".to_vec(),
        )
        .await;
    assert_body(&r, StatusCode::OK, r#"{"status":"success","data":[]}"#);
    let r = app.get("/api/v1/query_exemplars?query=1", &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get("/api/v1/query_exemplars?query=up(", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = app.get("/api/v1/status/buildinfo", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    assert!(!text.contains("features"), "{text}");
    let order = [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).expect("field present"))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.starts_with(r#"{"status":"success","data":{"version":"#));

    let r = app.get("/api/v1/metadata?limit=0", &[]).await;
    assert_body(&r, StatusCode::OK, r#"{"status":"success","data":{}}"#);
}

#[tokio::test]
async fn limits_answer_422_and_are_counted() {
    let app = seeded("query:\n  max_samples: 4\n").await;
    let r = app.get("/api/v1/query?query=up%5B1m%5D&time=40", &[]).await;
    assert_body(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#,
    );
    let app2 = seeded("query:\n  max_series: 1\n").await;
    let r = app2.get("/api/v1/query?query=up&time=40", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains(r#""errorType":"execution""#));
    let r = app2
        .get("/api/v1/query?query=up%7Bjob%3D%22db%22%7D&time=40", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let m = app.get("/metrics", &[]).await.text();
    assert!(
        m.contains(r#"cairn_query_refusals_total{reason="too_many_samples"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"cairn_query_duration_seconds_count{endpoint="query"} 1"#),
        "{m}"
    );
    assert!(m.contains("cairn_queries_running 0"), "{m}");
    assert!(m.contains("cairn_queries_queued 0"), "{m}");
}

/// A query that keeps a slot busy for a while: many passes over 50 series of 4 hours.
async fn busy_app(yaml: &str) -> (TestApp, String) {
    let app = TestApp::start(yaml).await;
    let samples: Vec<(i64, f64)> = (0..960).map(|k| (k * 15_000, k as f64)).collect();
    let many: Vec<_> = (0..50)
        .map(|i| series(&[("__name__", "load"), ("i", &i.to_string())], &samples))
        .collect();
    let r = app.write_v1(&many).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let expr: Vec<String> = (0..8)
        .map(|k| format!("sum(rate(load[{}m]))", 5 + k))
        .collect();
    let path = format!(
        "/api/v1/query_range?query={}&start=3600&end=14400&step=1",
        enc(&expr.join(" + "))
    );
    (app, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_and_a_queued_query_times_out() {
    let (app, heavy) = busy_app("query:\n  max_concurrent: 1\n  max_queued: 1\n").await;
    let app = std::sync::Arc::new(app);
    let first = {
        let app = std::sync::Arc::clone(&app);
        let heavy = heavy.clone();
        tokio::spawn(async move { app.get(&heavy, &[]).await })
    };
    // Wait until the heavy query holds the only slot.
    let running = |m: &str| m.contains("cairn_queries_running 1");
    let mut tries = 0;
    while !running(&app.get("/metrics", &[]).await.text()) {
        tries += 1;
        assert!(tries < 500, "the heavy query never started");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // One waits in the queue (with a short timeout of its own)...
    let queued = {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            app.get("/api/v1/query?query=1&time=1&timeout=1s", &[])
                .await
        })
    };
    let mut tries = 0;
    while !app
        .get("/metrics", &[])
        .await
        .text()
        .contains("cairn_queries_queued 1")
    {
        tries += 1;
        assert!(tries < 400, "the second query never queued");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // ...so the next is refused at once.
    let r = app.get("/api/v1/query?query=1&time=1", &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(
        r.text().contains(r#""errorType":"unavailable""#),
        "{}",
        r.text()
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = queued.await.expect("joins");
    let first = first.await.expect("joins");
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_body(
        &r,
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in query queue"}"#,
    );
    let m = app.get("/metrics", &[]).await.text();
    assert!(
        m.contains(r#"cairn_query_refusals_total{reason="queue_full"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"cairn_query_refusals_total{reason="timeout"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn a_query_past_its_timeout_answers_503_timeout() {
    let (app, heavy) = busy_app("").await;
    let r = app.get(&format!("{heavy}&timeout=0.05"), &[]).await;
    assert_body(
        &r,
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
    );
}

fn with_exemplars(
    labels: &[(&str, &str)],
    samples: &[(i64, f64)],
    exemplars: &[(&str, f64, i64)],
) -> cairn_wire::encode::OwnedSeries {
    let mut s = series(labels, samples);
    for &(trace, value, t) in exemplars {
        s.exemplars.push(cairn_wire::encode::OwnedExemplar {
            labels: vec![("trace_id".into(), trace.into())],
            value,
            timestamp_ms: t,
        });
    }
    s
}

#[tokio::test]
async fn exemplars_are_stored_and_served_per_tenant() {
    let app = TestApp::start("multitenancy: { enabled: true }").await;
    let a = [("x-scope-orgid", "team-a")];
    let body = cairn_wire::encode::encode_v1(
        &[
            with_exemplars(
                &[("__name__", "req_total"), ("job", "api")],
                &[(10_000, 1.0), (20_000, 2.0)],
                &[("aaa", 0.25, 10_000), ("bbb", 1e-7, 20_500)],
            ),
            with_exemplars(
                &[("__name__", "lat_bucket"), ("le", "0.5"), ("job", "api")],
                &[(10_000, 3.0)],
                &[("ccc", 0.4, 9_999)],
            ),
        ],
        &[],
    );
    let r = app.write_raw(app::V1, &body, &a).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    let r = app
        .get(
            &format!(
                "/api/v1/query_exemplars?query={}&start=10&end=21",
                enc(r#"rate(req_total[5m]) / on(job) lat_bucket{le="0.5"}"#)
            ),
            &a,
        )
        .await;
    // lat_bucket's exemplar is before the window: the series is left out.
    let req = concat!(
        r#"{"seriesLabels":{"__name__":"req_total","job":"api"},"exemplars":["#,
        r#"{"labels":{"trace_id":"aaa"},"value":"0.25","timestamp":10},"#,
        r#"{"labels":{"trace_id":"bbb"},"value":"1e-07","timestamp":20.500}]}"#
    );
    assert_body(
        &r,
        StatusCode::OK,
        &format!(r#"{{"status":"success","data":[{req}]}}"#),
    );
    // Without a window, every series, sorted by labels.
    let lat = concat!(
        r#"{"seriesLabels":{"__name__":"lat_bucket","job":"api","le":"0.5"},"exemplars":["#,
        r#"{"labels":{"trace_id":"ccc"},"value":"0.4","timestamp":9.999}]}"#
    );
    let r = app
        .post(
            "/api/v1/query_exemplars",
            &[FORM, a[0]],
            format!("query={}", enc(r#"{job="api"}"#)).into_bytes(),
        )
        .await;
    assert_body(
        &r,
        StatusCode::OK,
        &format!(r#"{{"status":"success","data":[{lat},{req}]}}"#),
    );
    // Another tenant sees none of them.
    let r = app
        .get(
            &format!("/api/v1/query_exemplars?query={}", enc(r#"{job="api"}"#)),
            &[("x-scope-orgid", "team-b")],
        )
        .await;
    assert_body(&r, StatusCode::OK, r#"{"status":"success","data":[]}"#);
    app.shutdown().await;
}
