//! Remote write status rules (protocols.md sections 1-3) against a real storage engine.

#[path = "support/app.rs"]
mod app;

use app::{TestApp, V1, V2, enc, series};
use axum::http::StatusCode;
use cairn_model::{Matcher, Series};
use cairn_model::{MetricType, STALE_NAN_BITS, stale_nan};
use cairn_wire::encode::{
    BucketSpan, HistogramCount, OwnedExemplar, OwnedHistogram, OwnedMetadata, encode_v1, encode_v2,
};
use cairn_wire::{
    Query, ReadRequest, ResponseType, decode_read_response, encode_read_request, snappy_compress,
};

fn up(job: &str, t: i64, v: f64) -> cairn_wire::encode::OwnedSeries {
    series(&[("__name__", "up"), ("job", job)], &[(t, v)])
}

async fn remote_read(
    app: &TestApp,
    matchers: Vec<Matcher>,
    headers: &[(&str, &str)],
) -> Vec<Series> {
    let req = ReadRequest {
        queries: vec![Query {
            start_ms: 0,
            end_ms: i64::MAX / 4,
            matchers,
            hints: None,
        }],
        accepted_response_types: vec![ResponseType::Samples],
    };
    let mut h = vec![
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "snappy"),
    ];
    h.extend_from_slice(headers);
    let r = app
        .post(
            "/api/v1/read",
            &h,
            snappy_compress(&encode_read_request(&req)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    let mut raw = Vec::new();
    cairn_wire::decompress_snappy(&r.body, 64 << 20, &mut raw).expect("snappy response");
    let mut results = decode_read_response(&raw).expect("read response decodes");
    assert_eq!(results.len(), 1);
    results.remove(0)
}

#[tokio::test]
async fn methods_and_aliases() {
    let app = TestApp::start("").await;
    for path in ["/api/v1/write", "/api/v1/push", "/api/v1/receive"] {
        let r = app.get(path, &[]).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
        let r = app
            .post(
                path,
                &[("content-type", V1)],
                snappy_compress(&encode_v1(&[up("a", 1000, 1.0)], &[])),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::NO_CONTENT,
            "POST {path}: {}",
            r.text()
        );
    }
    let r = app
        .send(
            axum::http::Request::put("/api/v1/write")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    app.shutdown().await;
}

#[tokio::test]
async fn unsupported_encodings_and_types_are_415() {
    let app = TestApp::start("").await;
    let body = snappy_compress(&encode_v1(&[up("a", 1000, 1.0)], &[]));
    for enc in ["gzip", "deflate", "zstd", "identity"] {
        let r = app
            .post(
                "/api/v1/write",
                &[("content-type", V1), ("content-encoding", enc)],
                body.clone(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{enc}: {}",
            r.text()
        );
        assert!(r.text().contains(enc), "{}", r.text());
    }
    for ct in [
        "application/json",
        "text/plain",
        "application/x-protobuf;proto=io.prometheus.write.v3.Request",
    ] {
        let r = app
            .post("/api/v1/write", &[("content-type", ct)], body.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{ct}: {}",
            r.text()
        );
    }
    // A 415 to a 2.0 content type cannot happen; an unknown one carries no 2.0 headers.
    let r = app
        .post(
            "/api/v1/write",
            &[("content-type", "application/json")],
            body,
        )
        .await;
    assert_eq!(r.written(), None);
    app.shutdown().await;
}

/// A remote write 2.0 body with hand-made label references.
fn v2_raw(symbols: &[&str], refs: &[u64]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(num: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(num << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }
    let mut out = Vec::new();
    for s in symbols {
        field(4, s.as_bytes(), &mut out);
    }
    let mut packed = Vec::new();
    for r in refs {
        varint(*r, &mut packed);
    }
    let mut sample = Vec::new();
    sample.push(0x09);
    sample.extend_from_slice(&1.0f64.to_le_bytes());
    sample.push(0x10);
    varint(1000, &mut sample);
    let mut ts = Vec::new();
    field(1, &packed, &mut ts);
    field(2, &sample, &mut ts);
    field(5, &ts, &mut out);
    out
}

fn histogram(t: i64) -> OwnedHistogram {
    OwnedHistogram {
        count: HistogramCount::Int(3),
        sum: 5.0,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: HistogramCount::Int(1),
        positive_spans: vec![BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![1, 0],
        timestamp_ms: t,
        ..Default::default()
    }
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let app = TestApp::start("").await;
    let r = app
        .post(
            "/api/v1/write",
            &[("content-type", V1)],
            b"\x20\xff\xff\xff\xffnot snappy".to_vec(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "corrupt snappy: {}",
        r.text()
    );
    let r = app
        .write_raw(V1, b"\x0a\xff\xff\xff\xff\x0f garbage", &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "bad protobuf: {}",
        r.text()
    );
    let r = app
        .write_raw(V2, b"\x22\x01x\x2a\x05\x0a\x03\x01", &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "bad protobuf v2: {}",
        r.text()
    );
    assert_eq!(
        r.written(),
        Some((0, 0, 0)),
        "2.0 error answers carry zero counts"
    );

    let cases: Vec<(&str, Vec<cairn_wire::encode::OwnedSeries>)> = vec![
        (
            "missing name",
            vec![series(&[("job", "a")], &[(1000, 1.0)])],
        ),
        (
            "empty name",
            vec![series(&[("__name__", ""), ("job", "a")], &[(1000, 1.0)])],
        ),
        ("no labels", vec![series(&[], &[(1000, 1.0)])]),
        (
            "duplicate labels",
            vec![series(
                &[("__name__", "m"), ("a", "1"), ("a", "2")],
                &[(1000, 1.0)],
            )],
        ),
    ];
    for (what, s) in cases {
        for (ct, body) in [(V1, encode_v1(&s, &[])), (V2, encode_v2(&s, &[]))] {
            let r = app.write_raw(ct, &body, &[]).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{what} ({ct}): {}",
                r.text()
            );
            assert!(!r.body.is_empty(), "{what}: a 400 explains itself");
        }
    }
    let r = app
        .write_raw(V2, &v2_raw(&["", "__name__", "m"], &[1, 7]), &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "bad symbol ref: {}",
        r.text()
    );
    let r = app
        .write_raw(V2, &v2_raw(&["", "__name__", "m"], &[1, 2, 1]), &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "odd refs: {}", r.text());
    let r = app
        .write_raw(V2, &v2_raw(&["", "__name__", "m"], &[1, 2]), &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "the hand-made body itself is fine: {}",
        r.text()
    );

    let mut both = series(&[("__name__", "h")], &[(1000, 1.0)]);
    both.histograms.push(histogram(1000));
    let r = app.write_v2(&[both]).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "samples+histograms: {}",
        r.text()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn native_histograms_are_refused_and_the_rest_written() {
    let app = TestApp::start("").await;
    let mut h = series(&[("__name__", "latency")], &[]);
    h.histograms.push(histogram(1000));
    for write in [0, 1] {
        let ok = up(&format!("w{write}"), 1000, 1.0);
        let r = if write == 0 {
            app.write_v1(&[h.clone(), ok]).await
        } else {
            app.write_v2(&[h.clone(), ok]).await
        };
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(
            r.text().contains("native histograms are not supported yet"),
            "{}",
            r.text()
        );
        if write == 1 {
            assert_eq!(r.written(), Some((1, 0, 0)));
        } else {
            assert_eq!(r.written(), None, "no 2.0 headers on 1.0 answers");
        }
    }
    let names = app.api("/api/v1/label/__name__/values", &[]).await;
    assert_eq!(names, serde_json::json!(["up"]));
    let jobs = app.api("/api/v1/label/job/values", &[]).await;
    assert_eq!(jobs, serde_json::json!(["w0", "w1"]));
    app.shutdown().await;
}

#[tokio::test]
async fn size_caps_are_413() {
    let app =
        TestApp::start("limits: { max_decoded_size: 1KiB, max_request_body_size: 2KiB }").await;
    let big: Vec<_> = (0..40)
        .map(|i| up(&format!("job-{i:04}"), 1000, 1.0))
        .collect();
    let body = encode_v1(&big, &[]);
    assert!(body.len() > 1024);
    let r = app.write_raw(V1, &body, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(
        r.text()
            .contains(&format!("decoded body is {} bytes, limit 1024", body.len())),
        "{}",
        r.text()
    );
    let r = app.write_raw(V2, &encode_v2(&big, &[]), &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.written(), Some((0, 0, 0)));
    // Incompressible bytes over the compressed cap.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = app
        .post("/api/v1/write", &[("content-type", V1)], noise)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    app.shutdown().await;
}

#[tokio::test]
async fn success_is_204_with_exact_v2_counts() {
    let app = TestApp::start("").await;
    let r = app
        .write_v1(&[up("a", 1000, 1.0), up("b", 1000, 2.0)])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(r.written(), None);

    let mut with_exemplar = series(
        &[("__name__", "req_total"), ("job", "x")],
        &[(1000, 1.0), (2000, 2.0)],
    );
    with_exemplar.exemplars.push(OwnedExemplar {
        labels: vec![("trace_id".into(), "abc".into())],
        value: 1.0,
        timestamp_ms: 1500,
    });
    let r = app.write_v2(&[with_exemplar, up("c", 1000, 3.0)]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(r.written(), Some((3, 0, 1)));

    // Partial: one bad series, one good; one rejected sample (duplicate timestamp, new value).
    let bad = series(&[("job", "nameless")], &[(1000, 1.0)]);
    let dup = up("a", 1000, 99.0);
    let good = up("d", 5000, 4.0);
    let r = app.write_v2(&[bad, dup, good]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.written(), Some((1, 0, 0)), "{}", r.text());
    let text = r.text();
    assert!(text.contains("1 samples written"), "{text}");

    let metrics = app.get("/metrics", &[]).await.text();
    assert!(
        metrics.contains("cairn_exemplars_appended_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cairn_ingest_requests_total{version="2.0",code="400"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cairn_ingest_rejected_samples_total{reason="missing_metric_name"} 1"#),
        "{metrics}"
    );
    // The storage engine counts the refused duplicate; each family is declared once, or
    // Prometheus refuses the whole scrape.
    assert!(
        metrics.contains(r#"cairn_ingest_samples_rejected_total{reason="duplicate_timestamp"} 1"#),
        "{metrics}"
    );
    let mut families: Vec<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let declared = families.len();
    families.sort_unstable();
    families.dedup();
    assert_eq!(
        families.len(),
        declared,
        "a metric family is declared twice:\n{metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn metadata_only_is_204() {
    let app = TestApp::start("").await;
    let md = OwnedMetadata {
        metric_family_name: "up".into(),
        metric_type: MetricType::Gauge,
        help: "is it up".into(),
        unit: String::new(),
    };
    let r = app.write_raw(V1, &encode_v1(&[], &[md]), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = app.write_raw(V1, &[], &[]).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "empty request: {}",
        r.text()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn unsorted_and_utf8_labels_round_trip_with_stale_nan() {
    let app = TestApp::start("").await;
    let s = series(
        &[
            ("zone", "eu"),
            ("__name__", "http.requests total"),
            ("a b", "line1\nline2"),
            ("ünï", "çødé"),
        ],
        &[
            (1000, 1.5),
            (2000, stale_nan()),
            (3000, f64::NAN),
            (4000, f64::INFINITY),
        ],
    );
    let r = app.write_v1(&[s]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let got = remote_read(
        &app,
        vec![Matcher::equal("__name__", "http.requests total")],
        &[],
    )
    .await;
    assert_eq!(got.len(), 1);
    let names: Vec<&str> = got[0].labels.iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        ["__name__", "a b", "zone", "ünï"],
        "labels come back sorted"
    );
    assert_eq!(got[0].labels.get("a b"), Some("line1\nline2"));
    let bits: Vec<(i64, u64)> = got[0]
        .samples
        .iter()
        .map(|s| (s.t, s.v.to_bits()))
        .collect();
    assert_eq!(
        bits,
        vec![
            (1000, 1.5f64.to_bits()),
            (2000, STALE_NAN_BITS),
            (3000, f64::NAN.to_bits()),
            (4000, f64::INFINITY.to_bits())
        ]
    );
    let q = format!(
        "/api/v1/series?match[]={}",
        enc(r#"{"http.requests total"}"#)
    );
    let data = app.api(&q, &[]).await;
    assert_eq!(data[0]["ünï"], "çødé");
    app.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let app = TestApp::start("multitenancy: { enabled: true }").await;
    let body = snappy_compress(&encode_v1(&[up("a", 1000, 1.0)], &[]));
    let r = app
        .post("/api/v1/write", &[("content-type", V1)], body.clone())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("no org id"), "{}", r.text());
    let r = app
        .post(
            "/api/v1/write",
            &[("content-type", V1), ("x-scope-orgid", "a/b")],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("a/b"), "{}", r.text());
    let r = app
        .post(
            "/api/v1/write",
            &[("content-type", V1), ("x-scope-orgid", "team-a")],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = app
        .write_raw(
            V1,
            &encode_v1(&[up("b-only", 1000, 1.0)], &[]),
            &[("x-scope-orgid", "team-b")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let q = format!("/api/v1/series?match[]={}", enc("up"));
    let a = app.api(&q, &[("x-scope-orgid", "team-a")]).await;
    let b = app.api(&q, &[("x-scope-orgid", "team-b")]).await;
    let c = app.api(&q, &[("x-scope-orgid", "team-c")]).await;
    assert_eq!(a, serde_json::json!([{"__name__": "up", "job": "a"}]));
    assert_eq!(b, serde_json::json!([{"__name__": "up", "job": "b-only"}]));
    assert_eq!(c, serde_json::json!([]));
    let r = app.get(&q, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let got = remote_read(
        &app,
        vec![Matcher::equal("__name__", "up")],
        &[("x-scope-orgid", "team-b")],
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels.get("job"), Some("b-only"));
    app.shutdown().await;
}

#[tokio::test]
async fn tenancy_off_ignores_the_header() {
    let app = TestApp::start("").await;
    let r = app
        .write_raw(
            V1,
            &encode_v1(&[up("a", 1000, 1.0)], &[]),
            &[("x-scope-orgid", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let q = format!("/api/v1/series?match[]={}", enc("up"));
    assert_eq!(app.api(&q, &[]).await.as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.api(&q, &[("x-scope-orgid", "y")])
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    app.shutdown().await;
}

#[tokio::test]
async fn write_slots_shed_with_429() {
    let app = TestApp::start("server: { max_inflight_writes: 1 }").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let slow = axum::http::Request::post("/api/v1/write")
        .header("content-type", V1)
        .body(axum::body::Body::from_stream(stream))
        .unwrap();
    let router = app.router.clone();
    let held = tokio::spawn(async move {
        use tower::ServiceExt;
        router.oneshot(slow).await.unwrap().status()
    });
    // Wait until the slow request holds the only slot (/metrics takes none).
    let mut holding = false;
    for _ in 0..400 {
        let m = app.get("/metrics", &[]).await.text();
        if m.contains("cairn_ingest_inflight_requests 1") {
            holding = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(holding, "the slow request never took the write slot");
    let shed = app.write_v1(&[up("b", 1000, 1.0)]).await;
    assert_eq!(
        shed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        shed.text()
    );
    assert_eq!(shed.header("retry-after"), Some("1"));
    let body = snappy_compress(&encode_v1(&[up("a", 1000, 1.0)], &[]));
    tx.send(Ok(bytes::Bytes::from(body))).await.unwrap();
    drop(tx);
    assert_eq!(held.await.unwrap(), StatusCode::NO_CONTENT);
    let r = app.write_v1(&[up("b", 1000, 1.0)]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "the slot is free again");
    let metrics = app.get("/metrics", &[]).await.text();
    assert!(
        metrics.contains("cairn_ingest_shed_requests_total 1"),
        "{metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = TestApp::start("").await;
    let r = app.write_v1(&[up("a", 1000, 1.0)]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let dir = app.shutdown().await;
    let app = TestApp::start_in("", dir).await;
    let got = remote_read(&app, vec![Matcher::equal("job", "a")], &[]).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].samples.len(), 1);
    app.shutdown().await;
}
