//! The loader against a real HTTP server that decodes every push: every line arrives once,
//! in time order per stream, retries follow 429 and 5xx, 4xx counts as failed, and the data
//! does not depend on the number of connections.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::AtomicUsize;

use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::*;
use crate::logs::corpus::LineCache;
use crate::logs::plan::CorpusSpec;
use crate::logs::testproto::PushRequest;

fn corpus() -> Arc<Corpus> {
    Arc::new(Corpus::new(CorpusSpec {
        seed: 9,
        start_ns: 1_764_720_000_000_000_000,
        end_ns: 1_764_720_000_000_000_000 + 1_800_000_000_000,
        target_bytes: 3_000_000,
        clusters: 2,
    }))
}

/// Every line of the corpus by selector: (timestamp, line).
fn generated(corpus: &Corpus) -> HashMap<String, Vec<(i64, String)>> {
    let mut out: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    let mut cache = LineCache::default();
    let mut buf = Vec::new();
    for (i, s) in corpus.streams().iter().enumerate() {
        let mut c = corpus.cursor(i);
        while corpus.advance(&mut c) {
            buf.clear();
            corpus.write(&mut c, &mut cache, &mut buf);
            out.entry(s.selector.clone())
                .or_default()
                .push((c.ts_ns, String::from_utf8(buf.clone()).expect("utf-8")));
        }
    }
    out
}

#[derive(Default)]
struct Received {
    streams: Mutex<HashMap<String, Vec<(i64, String)>>>,
    requests: AtomicUsize,
    max_request_line_bytes: AtomicUsize,
    tenants: Mutex<Vec<String>>,
}

/// Serves the push endpoint: answers the n-th request with `script[n]` (204 past its end)
/// and records the entries of requests answered 2xx.
async fn serve(script: Vec<u16>) -> (String, Arc<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got = Arc::new(Received::default());
    let script = Arc::new(script);
    let g = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (g, script) = (Arc::clone(&g), Arc::clone(&script));
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (g, script) = (Arc::clone(&g), Arc::clone(&script));
                    async move {
                        let n = g.requests.fetch_add(1, Ordering::SeqCst);
                        let status = script.get(n).copied().unwrap_or(204);
                        assert_eq!(req.uri().path(), "/loki/api/v1/push");
                        assert_eq!(
                            req.headers()
                                .get("content-type")
                                .and_then(|v| v.to_str().ok()),
                            Some("application/x-protobuf")
                        );
                        if let Some(t) = req.headers().get("x-scope-orgid") {
                            g.tenants
                                .lock()
                                .expect("lock")
                                .push(t.to_str().unwrap_or("").to_string());
                        }
                        let body = req.into_body().collect().await.expect("body").to_bytes();
                        if status == 204 {
                            let mut raw = Vec::new();
                            cairn_wire::decompress_snappy(&body, 1 << 26, &mut raw)
                                .expect("snappy");
                            let push = <PushRequest as prost::Message>::decode(raw.as_slice())
                                .expect("PushRequest");
                            let raw_lines: usize = push
                                .streams
                                .iter()
                                .flat_map(|s| s.entries.iter())
                                .map(|e| e.line.len())
                                .sum();
                            g.max_request_line_bytes
                                .fetch_max(raw_lines, Ordering::SeqCst);
                            let mut streams = g.streams.lock().expect("lock");
                            for s in push.streams {
                                let v = streams.entry(s.labels).or_default();
                                for e in s.entries {
                                    let t = e.timestamp.unwrap_or_default();
                                    v.push((
                                        t.seconds * 1_000_000_000 + i64::from(t.nanos),
                                        e.line,
                                    ));
                                }
                            }
                        }
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"")));
                        *resp.status_mut() = StatusCode::from_u16(status).expect("status");
                        if status == 429 {
                            resp.headers_mut().insert(
                                "retry-after",
                                hyper::header::HeaderValue::from_static("0"),
                            );
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}/loki/api/v1/push"), got)
}

fn config(url: &str, connections: usize, dry_run: bool) -> LogLoadConfig {
    LogLoadConfig {
        target: Target::parse(url).expect("url"),
        connections,
        batch_bytes: 64 << 10,
        format: PushFormat::Protobuf,
        max_retries: 3,
        request_timeout: Duration::from_secs(10),
        dry_run,
        tenant: Some("bench".into()),
        slice_ns: 300_000_000_000,
        max_skew_slices: 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_arrives_once_in_order_after_retries() {
    let corpus = corpus();
    let want = generated(&corpus);
    let lines: usize = want.values().map(Vec::len).sum();
    let bytes: usize = want.values().flatten().map(|(_, l)| l.len()).sum();
    // The first request is throttled, the second fails, then everything is accepted.
    let (url, got) = serve(vec![429, 503]).await;
    let report = run_logs(
        Arc::clone(&corpus),
        config(&url, 3, false),
        Duration::from_secs(60),
        |_| {},
    )
    .await
    .expect("runs");
    assert_eq!(report.retries, 2, "{:?}", report.errors);
    assert_eq!(report.lines_ok as usize, lines);
    assert_eq!(report.bytes_ok as usize, bytes);
    assert_eq!(report.lines_failed, 0);
    assert!(report.wire_bytes < report.body_bytes);
    let streams = got.streams.lock().expect("lock");
    assert_eq!(*streams, want);
    for v in streams.values() {
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0), "out of order");
    }
    let tenants = got.tenants.lock().expect("lock");
    assert!(!tenants.is_empty() && tenants.iter().all(|t| t == "bench"));
    // Requests are cut by raw line bytes, never past the batch size.
    let biggest = got.max_request_line_bytes.load(Ordering::SeqCst);
    assert!(biggest <= 64 << 10 && biggest > 60 << 10, "{biggest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_count_as_failed_and_are_not_retried() {
    let corpus = corpus();
    let (url, got) = serve(vec![400]).await;
    let report = run_logs(
        corpus,
        config(&url, 1, false),
        Duration::from_secs(60),
        |_| {},
    )
    .await
    .expect("runs");
    assert_eq!(report.requests_4xx, 1);
    assert_eq!(report.retries, 0);
    assert!(report.lines_failed > 0);
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].starts_with("400"), "{:?}", report.errors);
    assert_eq!(
        got.requests.load(Ordering::SeqCst) as u64,
        report.requests_ok + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_does_not_depend_on_connections() {
    let corpus = corpus();
    let mut totals = Vec::new();
    for c in [1, 2, 5] {
        let r = run_logs(
            Arc::clone(&corpus),
            config("http://127.0.0.1:1/", c, true),
            Duration::from_secs(60),
            |_| {},
        )
        .await
        .expect("dry run");
        totals.push((r.lines_ok, r.bytes_ok));
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]), "{totals:?}");
    assert!(totals[0].0 > 1_000);
}
