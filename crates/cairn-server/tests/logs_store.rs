//! The log front doors over the real log store: pushes are durable and readable through the
//! Loki index endpoints, the store's refusals come back in Loki's words and codes, a flush
//! cuts the log head, and a restart replays the log WAL.

#[path = "support/app.rs"]
mod app;

use app::{TestApp, enc};
use axum::http::StatusCode;

const JSON: (&str, &str) = ("content-type", "application/json");

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as i64
}

fn push_body(pod: &str, values: &[(i64, &str)]) -> Vec<u8> {
    let values: Vec<serde_json::Value> = values
        .iter()
        .map(|(t, l)| serde_json::json!([t.to_string(), l]))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "streams": [{"stream": {"app": "shop", "pod": pod}, "values": values}]
    }))
    .expect("json")
}

#[tokio::test]
async fn pushes_are_stored_refused_in_lokis_words_and_flushed() {
    let app = TestApp::start("limits:\n  logs:\n    max_streams_per_tenant: 2\n").await;
    let ready = app.get("/-/ready", &[]).await;
    assert_eq!(ready.status, StatusCode::OK);
    let t = now_ns() - 7_200_000_000_000;
    let r = app
        .post(
            "/loki/api/v1/push",
            &[JSON],
            push_body("a", &[(t, "one"), (t + 1, "two"), (t + 1, "two")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    // Two hours behind the stream's newest entry: out of the 1h window.
    let r = app
        .post(
            "/loki/api/v1/push",
            &[JSON],
            push_body("a", &[(t + 7_200_000_000_000, "newest"), (t + 2, "late")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .contains("entry too far behind, entry timestamp is: "),
        "{}",
        r.text()
    );
    // A second stream is fine, a third is over the limit of 2: 429 in Loki's words.
    let r = app
        .post("/loki/api/v1/push", &[JSON], push_body("b", &[(t, "b")]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = app
        .post("/loki/api/v1/push", &[JSON], push_body("c", &[(t, "c")]))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .starts_with("Maximum active stream limit exceeded when trying to create stream"),
        "{}",
        r.text()
    );
    let range = format!("start={}&end={}", t - 1, t + 7_300_000_000_000);
    let series = app
        .api(
            &format!(
                "/loki/api/v1/series?match[]={}&{range}",
                enc("{app=\"shop\"}")
            ),
            &[],
        )
        .await;
    assert_eq!(series.as_array().map(Vec::len), Some(2), "{series}");
    let stats = app
        .get(
            &format!(
                "/loki/api/v1/index/stats?query={}&{range}",
                enc("{pod=\"a\"}")
            ),
            &[],
        )
        .await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text());
    assert_eq!(stats.json()["entries"], 3, "{}", stats.text());
    // A flush cuts the log head too, and says so.
    let f = app.post("/api/v1/admin/flush", &[], Vec::new()).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text());
    assert_eq!(f.json()["data"]["logs"]["entries"], 4, "{}", f.text());
    let stats = app
        .get(
            &format!(
                "/loki/api/v1/index/stats?query={}&{range}",
                enc("{app=\"shop\"}")
            ),
            &[],
        )
        .await;
    assert_eq!(stats.json()["entries"], 4, "{}", stats.text());
    let metrics = app.get("/metrics", &[]).await.text();
    for m in [
        "cairn_logs_entries_appended_total 4",
        "cairn_logs_entries_duplicate_total 1",
        "cairn_logs_entries_refused_total{reason=\"too_far_behind\"} 1",
        "cairn_logs_entries_refused_total{reason=\"stream_limit\"} 1",
        "cairn_logs_blocks_cut_total",
        "cairn_logs_wal_fsync_duration_seconds_count",
    ] {
        assert!(metrics.contains(m), "{m} missing from /metrics");
    }
}

#[tokio::test]
async fn the_log_wal_survives_a_restart() {
    let app = TestApp::start("").await;
    let t = now_ns() - 60_000_000_000;
    let r = app
        .post(
            "/loki/api/v1/push",
            &[JSON],
            push_body("a", &[(t, "kept"), (t + 5, "also kept")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let dir = app.shutdown().await;
    let app = TestApp::start_in("", dir).await;
    let stats = app
        .get(
            &format!(
                "/loki/api/v1/index/stats?query={}&start={}&end={}",
                enc("{app=\"shop\"}"),
                t - 1,
                t + 10
            ),
            &[],
        )
        .await;
    assert_eq!(stats.json()["entries"], 2, "{}", stats.text());
    // Resending is idempotent.
    let r = app
        .post(
            "/loki/api/v1/push",
            &[JSON],
            push_body("a", &[(t, "kept"), (t + 5, "also kept")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let stats = app
        .get(
            &format!(
                "/loki/api/v1/index/stats?query={}&start={}&end={}",
                enc("{app=\"shop\"}"),
                t - 1,
                t + 10
            ),
            &[],
        )
        .await;
    assert_eq!(stats.json()["entries"], 2, "{}", stats.text());
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_field(buf: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(buf, field << 3 | 2);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// `logproto.PushRequest` with one stream, encoded by hand (field numbers from Loki's
/// `push.proto`: streams 1; labels 1, entries 2; timestamp 1 {seconds 1, nanos 2}, line 2).
fn push_proto(labels: &str, entries: &[(i64, String)]) -> Vec<u8> {
    let mut stream = Vec::new();
    put_field(&mut stream, 1, labels.as_bytes());
    for (ts, line) in entries {
        let mut t = Vec::new();
        put_varint(&mut t, 1 << 3);
        put_varint(&mut t, (ts / 1_000_000_000) as u64);
        put_varint(&mut t, 2 << 3);
        put_varint(&mut t, (ts % 1_000_000_000) as u64);
        let mut e = Vec::new();
        put_field(&mut e, 1, &t);
        put_field(&mut e, 2, line.as_bytes());
        put_field(&mut stream, 2, &e);
    }
    let mut req = Vec::new();
    put_field(&mut req, 1, &stream);
    req
}

/// A snappy-compressed protobuf push that compresses well (as real logs do) is taken: its
/// decoded size is bounded by `limits.max_decoded_size`, not by the compressed body's length.
#[tokio::test]
async fn compressible_protobuf_pushes_are_taken() {
    let app = TestApp::start("").await;
    let t = now_ns() - 60_000_000_000;
    let entries: Vec<(i64, String)> = (0..2000)
        .map(|i| {
            (
                t + i,
                format!("GET /api/v1/orders/{} 200 OK took 12ms", i % 10),
            )
        })
        .collect();
    let body = cairn_wire::snappy_compress(&push_proto("{app=\"shop\", pod=\"p\"}", &entries));
    let r = app
        .post(
            "/loki/api/v1/push",
            &[("content-type", "application/x-protobuf")],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let stats = app
        .get(
            &format!(
                "/loki/api/v1/index/stats?query={}&start={}&end={}",
                enc("{app=\"shop\"}"),
                t - 1,
                t + 3000
            ),
            &[],
        )
        .await;
    assert_eq!(stats.json()["entries"], 2000, "{}", stats.text());
}
