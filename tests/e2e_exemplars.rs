//! Exemplars next to a real Prometheus: Prometheus 2.42 with exemplar storage scrapes an
//! OpenMetrics target whose counters and histogram buckets carry exemplars, keeps them itself
//! and remote-writes them to Cairn (`send_exemplars: true`); `/api/v1/query_exemplars` must
//! answer the same bytes on both for the same selectors and window. Then Cairn is killed
//! (`kill -9`), before and after a flush, and must still serve the same exemplars from its WAL.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::TestServer;
use support::http::{self, urlencode};
use support::peers::Prometheus;

/// An HTTP server answering every scrape with OpenMetrics text whose exemplars change on
/// every scrape.
struct OpenMetricsTarget {
    addr: String,
    stop: Arc<AtomicBool>,
    scrapes: Arc<AtomicU64>,
}

impl OpenMetricsTarget {
    fn start() -> OpenMetricsTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the scrape target");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().expect("target address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = Arc::new(AtomicU64::new(0));
        let (s, n) = (Arc::clone(&stop), Arc::clone(&scrapes));
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let k = n.fetch_add(1, Ordering::Relaxed);
                        let _ = serve(conn, k);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        OpenMetricsTarget {
            addr,
            stop,
            scrapes,
        }
    }
}

impl Drop for OpenMetricsTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The `k`-th scrape's body: a counter family with two series (one exemplar with a
/// timestamp, one without, which takes the scrape's), and a histogram whose buckets carry
/// exemplars with one or two labels; values include ones Go prints with an exponent.
fn body(k: u64) -> String {
    let now = support::now_ms();
    let ts = format!("{}.{:03}", now / 1000, now % 1000);
    let kf = k as f64;
    format!(
        "# TYPE app_requests counter\n\
         # HELP app_requests Requests served.\n\
         app_requests_total{{path=\"/a\"}} {a} # {{trace_id=\"{k:016x}a\"}} 0.5 {ts}\n\
         app_requests_total{{path=\"/b\"}} {b} # {{trace_id=\"{k:016x}b\",span_id=\"{k:08x}\"}} {tiny}\n\
         # TYPE app_latency_seconds histogram\n\
         # HELP app_latency_seconds Request latency.\n\
         app_latency_seconds_bucket{{le=\"0.1\"}} {a} # {{trace_id=\"{k:016x}c\"}} 0.0{d} {ts}\n\
         app_latency_seconds_bucket{{le=\"1\"}} {b} # {{trace_id=\"{k:016x}d\"}} 0.{d}7 {ts}\n\
         app_latency_seconds_bucket{{le=\"+Inf\"}} {c}\n\
         app_latency_seconds_sum {sum}\n\
         app_latency_seconds_count {c}\n\
         # EOF\n",
        a = k,
        b = 2 * k,
        c = 3 * k,
        d = k % 10,
        tiny = 1e-7 * (kf + 1.0),
        sum = 0.25 * kf,
    )
}

fn serve(conn: TcpStream, k: u64) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let body = body(k);
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

/// Polls `f` every 250 ms until it returns `Some`, failing with `what` after `timeout`.
fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        thread::sleep(Duration::from_millis(250));
    }
}

/// `ms` as the decimal seconds the Prometheus API takes.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The raw body of `GET {url}/api/v1/query_exemplars` for `query` in `[start, end]`.
fn exemplars(url: &str, query: &str, start: i64, end: i64) -> (u16, String) {
    let r = http::get(&format!(
        "{url}/api/v1/query_exemplars?query={}&start={}&end={}",
        urlencode(query),
        secs(start),
        secs(end)
    ))
    .expect("GET /api/v1/query_exemplars");
    (r.status, r.text())
}

/// The selectors compared: plain, inside range functions, several per expression, a regex.
const QUERIES: [&str; 5] = [
    "app_requests_total",
    r#"rate(app_latency_seconds_bucket{le!="+Inf"}[1m])"#,
    r#"histogram_quantile(0.9, sum by (le) (rate(app_latency_seconds_bucket[5m]))) / on() group_left sum(rate(app_requests_total{path="/b"}[5m]))"#,
    r#"{__name__=~"app_.+", job="e2e_om"}"#,
    "app_latency_seconds_count",
];

#[test]
fn query_exemplars_matches_prometheus_and_survives_kill9() {
    let mut cairn = TestServer::start();
    let target = OpenMetricsTarget::start();
    let prom = Prometheus::start_with_args(
        &format!(
            r#"
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: e2e_om
    static_configs:
      - targets: ["{target}"]
remote_write:
  - url: {cairn}/api/v1/write
    send_exemplars: true
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 100
      min_backoff: 50ms
      max_backoff: 1s
"#,
            target = target.addr,
            cairn = cairn.url(),
        ),
        &["--enable-feature=exemplar-storage"],
    );
    let started = support::now_ms();
    poll("10 scrapes of the target", Duration::from_secs(40), || {
        (target.scrapes.load(Ordering::Relaxed) >= 10).then_some(())
    });
    // A window that ends in the past, so Prometheus' answer no longer changes while Cairn
    // catches up with remote write.
    let (start, end) = (started - 1000, support::now_ms() - 2000);

    let mut answers = Vec::new();
    for q in QUERIES {
        let (status, want) = exemplars(prom.url(), q, start, end);
        assert_eq!(status, 200, "prometheus {q}: {want}");
        let got = poll(
            &format!("cairn's exemplars for {q} to equal prometheus' {want}"),
            Duration::from_secs(30),
            || {
                let (status, got) = exemplars(cairn.url(), q, start, end);
                (status == 200 && got == want).then_some(got)
            },
        );
        eprintln!("{q}: {} bytes equal on both", got.len());
        answers.push((q, got));
    }
    // The comparison is worth something only if the answers hold many exemplars of every
    // kind: counters with and without their own timestamp, buckets, two-label sets.
    let everything = &answers[3].1;
    let v: serde_json::Value = serde_json::from_str(everything).expect("JSON");
    let per_series: Vec<usize> = v["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|s| s["exemplars"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(per_series.len(), 4, "{everything}");
    assert!(
        per_series.iter().all(|&n| n >= 5),
        "{per_series:?}: {everything}"
    );
    assert!(everything.contains("span_id"), "{everything}");
    assert!(everything.contains("e-07"), "{everything}");
    // A selector of no series with exemplars, and an expression without one.
    let (_, none) = exemplars(cairn.url(), "app_latency_seconds_count", start, end);
    assert_eq!(none, r#"{"status":"success","data":[]}"#);
    let (status, _) = exemplars(cairn.url(), "1 + 1", start, end);
    assert_eq!(status, 204);

    // Acknowledged exemplars survive kill -9 (WAL replay), and a flush (which moves every
    // sample into blocks and truncates the WAL: exemplars live on in its checkpoint).
    drop(prom);
    for flush in [false, true] {
        if flush {
            cairn.flush();
        }
        cairn.kill9();
        cairn.restart();
        for (q, want) in &answers {
            let (status, got) = exemplars(cairn.url(), q, start, end);
            assert_eq!(status, 200, "{q} after kill -9 (flush: {flush}): {got}");
            assert_eq!(&got, want, "{q} after kill -9 (flush: {flush})");
        }
    }
}
