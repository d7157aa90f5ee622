//! The query API through the real binary: answers byte for byte equal to a real Prometheus
//! (Debian's 2.42, whose JSON for these endpoints is that of 3.x), on expressions that need no
//! stored data and on data Prometheus scraped and remote-wrote into Cairn; and a query whose
//! client disconnects mid-flight stops working.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::http;
use support::peers::{Prometheus, ScrapeTarget};
use support::{LabelSet, MatchType, TestServer, TimeSeries, labels};

fn enc(s: &str) -> String {
    http::urlencode(s)
}

#[test]
fn answers_are_byte_identical_to_prometheus() {
    let prom = Prometheus::start("global:\n  scrape_interval: 1h\n");
    let cairn = TestServer::start();
    let q = |e: &str, rest: &str| format!("/api/v1/query?query={}&{rest}", enc(e));
    let r = |e: &str, rest: &str| format!("/api/v1/query_range?query={}&{rest}", enc(e));
    let cases = [
        q("1+1", "time=4"),
        q("1+1", "time=4.1"),
        q("vector(0.1)", "time=1712345678.123"),
        q(
            r#"label_replace(vector(1e-7), "l", "a<b&c\"d\\é", "", "")"#,
            "time=10.5",
        ),
        q(
            r#"label_replace(vector(-1/0), "z", "x", "", "") or vector(0/0)"#,
            "time=1",
        ),
        q(r#""a<b""#, "time=3"),
        q("time()", &format!("time={}", enc("2024-01-01T00:00:00.5Z"))),
        q("1e21 + 123456789012", "time=0.001"),
        r("vector(time())", "start=0&end=2.5&step=0.5"),
        r("0/0", "start=1&end=3&step=1"),
        r(
            r#"label_replace(vector(1), "a", "x", "", "") or label_replace(vector(time()), "a", "y", "", "")"#,
            "start=0&end=60&step=30s",
        ),
        r("1", "start=0&end=11000&step=1"),
        // Errors.
        r("1", "start=10&end=5&step=1"),
        r("1", "start=0&end=11001&step=1"),
        r("1", "start=0&end=2&step=0"),
        r("1", "start=0&end=2"),
        r("1", "end=2&step=1"),
        r("vector(1)[5m:1m]", "start=0&end=2&step=1"),
        q("1", "time=abc"),
        q("1", "time=1&timeout=x"),
        q("", "time=1"),
        "/api/v1/query_exemplars?query=up".to_string(),
        "/api/v1/query_exemplars?query=up&start=5&end=1".to_string(),
        format!(
            "/api/v1/format_query?query={}",
            enc("sum(rate(foo[5m]))by(a)")
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"a{b="c"}   offset 5m  /  on(x) group_left  b"#)
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(
                r#"sum by (job, instance, mode) (rate(node_cpu_seconds_total{mode!="idle",instance=~"host-.*",job="node"}[5m])) / on (instance) group_left count by (instance) (node_cpu_seconds_total{mode="idle"})"#
            )
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(
                r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="api",handler="/api/v1/query"}[5m]))) > 0.5"#
            )
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"topk(5, foo) or bottomk(3, bar) unless baz"#)
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"foo[5m:30s] offset 1h"#)
        ),
        format!("/api/v1/format_query?query={}", enc(r#"-(a ^ b) % c"#)),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"label_replace(up, "a", "$1", "instance", "(.*):.*")"#)
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"max_over_time((rate(foo[1m]) > bool 0)[10m:])"#)
        ),
        format!(
            "/api/v1/format_query?query={}",
            enc(r#"a @ 100 + b @ start()"#)
        ),
        "/api/v1/series".to_string(),
        "/api/v1/labels?start=x".to_string(),
        "/api/v1/metadata?limit=x".to_string(),
    ];
    for path in &cases {
        let want = http::get(&format!("{}{path}", prom.url())).expect("prometheus answers");
        let got = http::get(&format!("{}{path}", cairn.url())).expect("cairn answers");
        assert_eq!(
            (got.status, got.text()),
            (want.status, want.text()),
            "GET {path}"
        );
        // The same request as a form POST answers the same (metadata is GET only, in
        // Prometheus too).
        if let Some((p, form)) = path
            .split_once('?')
            .filter(|(p, _)| !p.ends_with("metadata"))
        {
            let got = http::post(
                &format!("{}{p}", cairn.url()),
                &[("content-type", "application/x-www-form-urlencoded")],
                form.as_bytes(),
            )
            .expect("cairn answers");
            assert_eq!(
                (got.status, got.text()),
                (want.status, want.text()),
                "POST {path}"
            );
        }
    }
    // Build information: the same fields in the same order, and no `features`.
    let want = http::get(&format!("{}/api/v1/status/buildinfo", prom.url())).expect("answers");
    let got = http::get(&format!("{}/api/v1/status/buildinfo", cairn.url())).expect("answers");
    assert_eq!(keys(&got.text()), keys(&want.text()));
}

#[test]
fn answers_over_scraped_data_are_byte_identical_to_prometheus() {
    let cairn = TestServer::start();
    let target = ScrapeTarget::start();
    let job = "bytes";
    let prom = Prometheus::start(&format!(
        r#"
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ["{target}"]
remote_write:
  - url: {cairn}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 50ms
      max_backoff: 1s
"#,
        target = target.addr(),
        cairn = cairn.url(),
    ));
    let started = support::now_ms();
    let deadline = Instant::now() + Duration::from_secs(40);
    while target.scrapes() < 8 {
        assert!(Instant::now() < deadline, "prometheus does not scrape");
        thread::sleep(Duration::from_millis(200));
    }
    // Times off the millisecond grid of scrapes: fractional seconds on both ends.
    let t = support::now_ms() - 1500;
    let (t0, t1) = (
        format!("{}.250", (started + 2000) / 1000),
        format!("{}.750", t / 1000),
    );
    let sel = format!("{{job=\"{job}\"}}");
    let paths = [
        format!(
            "/api/v1/query_range?query={}&start={t0}&end={t1}&step=1.5",
            enc(&sel)
        ),
        format!(
            "/api/v1/query_range?query={}&start={t0}&end={t1}&step=0.5",
            enc("node_load1 * 1e-9")
        ),
        format!(
            "/api/v1/query_range?query={}&start={t0}&end={t1}&step=2",
            enc("node_cpu_seconds_total{mode=~\"idle|user\"} > 0")
        ),
        format!("/api/v1/series?match[]={}&start={t0}&end={t1}", enc(&sel)),
        format!("/api/v1/labels?match[]={}&start={t0}&end={t1}", enc(&sel)),
        format!(
            "/api/v1/label/mode/values?match[]={}&start={t0}&end={t1}",
            enc(&sel)
        ),
    ];
    // Remote write delivers within a few seconds; until then Cairn may lack the newest points.
    let deadline = Instant::now() + Duration::from_secs(30);
    for path in &paths {
        let want = http::get(&format!("{}{path}", prom.url())).expect("prometheus answers");
        assert_eq!(want.status, 200, "{path}: {}", want.text());
        assert!(
            want.body.len() > 40,
            "{path}: too little data: {}",
            want.text()
        );
        loop {
            let got = http::get(&format!("{}{path}", cairn.url())).expect("cairn answers");
            if got.text() == want.text() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path}\n cairn: {}\n  prom: {}",
                got.text(),
                want.text()
            );
            thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The object keys of a JSON text, in order of appearance.
fn keys(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("\":") {
        let head = &rest[..i];
        if let Some(start) = head.rfind('"') {
            out.push(head[start + 1..].to_string());
        }
        rest = &rest[i + 2..];
    }
    out
}

/// Metric value of `name` (a full series string, labels included) in a `/metrics` text.
fn metric(url: &str, name: &str) -> f64 {
    let text = http::get(&format!("{url}/metrics"))
        .expect("metrics answer")
        .text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Sends a query on a raw socket and closes it after `after` without reading the answer.
fn query_and_hang_up(url: &str, path: &str, after: Duration) {
    let authority = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(authority).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    thread::sleep(after);
    s.shutdown(std::net::Shutdown::Both)
        .expect("close the socket");
}

#[test]
fn a_disconnected_client_cancels_its_query() {
    let cairn = TestServer::start();
    // 150 series of 4 hours at 15s.
    let series: Vec<TimeSeries> = (0..150)
        .map(|i| TimeSeries {
            labels: labels(&[("__name__", "load"), ("i", &i.to_string())]),
            samples: (0..960).map(|k| (k * 15_000, (k * i) as f64)).collect(),
        })
        .collect();
    for chunk in series.chunks(50) {
        let r = cairn.write_v1(chunk).expect("write");
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let back = cairn.read(0, 15_000_000, &[(MatchType::Eq, "i", "7")]);
    let want: LabelSet = labels(&[("__name__", "load"), ("i", "7")]);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].labels, want);
    // Many evaluated nodes, each checking for cancellation, each a full pass over the data.
    let terms: Vec<String> = (0..8)
        .map(|k| format!("sum(rate(load[{}m]))", 5 + k))
        .collect();
    let expr = terms.join(" + ");
    let path = format!(
        "/api/v1/query_range?query={}&start=3600&end=14400&step=1",
        enc(&expr)
    );

    // How long the query takes when nobody hangs up.
    let started = Instant::now();
    let full = http::request(
        "GET",
        &format!("{}{path}", cairn.url()),
        &[],
        b"",
        Duration::from_secs(300),
    )
    .expect("the query answers");
    let full_time = started.elapsed();
    eprintln!("the full query took {full_time:?}");
    assert_eq!(full.status, 200, "{}", full.text());
    assert!(
        full_time > Duration::from_millis(400),
        "the query must be heavy enough to be canceled mid-way: took {full_time:?}"
    );

    let running = "cairn_queries_running";
    let canceled = r#"cairn_query_refusals_total{reason="canceled"}"#;
    let started = Instant::now();
    query_and_hang_up(cairn.url(), &path, full_time / 5);
    // The evaluation stops at its next check: it leaves the running count long before a
    // full run would have ended.
    loop {
        if metric(cairn.url(), running) == 0.0 {
            break;
        }
        assert!(
            started.elapsed() < full_time * 3 / 4,
            "the canceled query still runs after {:?} (a full run takes {full_time:?})",
            started.elapsed()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(metric(cairn.url(), canceled), 1.0);
    // The server still answers queries.
    let mut s = TcpStream::connect(cairn.url().trim_start_matches("http://")).expect("connect");
    write!(
        s,
        "GET /api/v1/query?query=1%2B1&time=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(
        answer.ends_with(r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#),
        "{answer}"
    );
}
