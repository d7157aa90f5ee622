//! Real peers started by the tests: Prometheus, an S3 server (moto), and a scrape target.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::http;

/// A port that was free a moment ago (peers need a port number in their flags or config).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// Fails the test, naming the package to install, when `program` cannot be run.
pub(crate) fn require_program(program: &str, version_arg: &str, install: &str) {
    match Command::new(program)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => panic!("`{program}` cannot be run ({e}): {install} (or run ./test.sh)"),
    }
}

/// Polls `url` until it answers `want` or `timeout` passes; `child` is checked for an early exit.
fn wait_for(url: &str, want: u16, child: &mut Child, log: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = http::get(url)
            && r.status == want
        {
            return true;
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!(
                "{url}: peer exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A Prometheus server with a temporary TSDB; killed when dropped.
pub(crate) struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML) and waits for `/-/ready`.
    pub(crate) fn start(config: &str) -> Prometheus {
        Prometheus::start_with_args(config, &[])
    }

    /// Starts Prometheus with `config` and extra flags (`--enable-feature=...`).
    pub(crate) fn start_with_args(config: &str, args: &[&str]) -> Prometheus {
        require_program(
            "prometheus",
            "--version",
            "install the Debian package: apt-get install prometheus",
        );
        let tmp = tempfile::tempdir().expect("a temporary directory for prometheus");
        let cfg = tmp.path().join("prometheus.yml");
        std::fs::write(&cfg, config).expect("write prometheus.yml");
        let log = tmp.path().join("prometheus.log");
        // The port is picked before the process binds it; another process may take it in
        // between, so a start that fails is retried on a new port.
        for _ in 0..3 {
            let port = free_port();
            let url = format!("http://127.0.0.1:{port}");
            let mut child = Command::new("prometheus")
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    tmp.path().join("tsdb").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=info")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("create prometheus.log"))
                .spawn()
                .expect("spawn prometheus");
            if wait_for(
                &format!("{url}/-/ready"),
                200,
                &mut child,
                &log,
                Duration::from_secs(30),
            ) {
                return Prometheus {
                    child,
                    url,
                    log,
                    _tmp: tmp,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "prometheus did not become ready:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Prometheus' own log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("---- prometheus log ----\n{}", self.log());
        }
    }
}

/// `moto_server` (an S3-compatible server) with one bucket; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    endpoint: String,
    bucket: String,
    _tmp: tempfile::TempDir,
}

impl Moto {
    /// Starts `moto_server` on a free port and creates `bucket`.
    pub(crate) fn start(bucket: &str) -> Moto {
        require_program("moto_server", "--help", "pip install 'moto[server]'");
        let tmp = tempfile::tempdir().expect("a temporary directory for moto");
        let log = tmp.path().join("moto.log");
        for _ in 0..3 {
            let port = free_port();
            let endpoint = format!("http://127.0.0.1:{port}");
            let mut child = Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("create moto.log"))
                .spawn()
                .expect("spawn moto_server");
            // moto answers the service root with a bucket listing once it is up.
            if wait_for(
                &format!("{endpoint}/"),
                200,
                &mut child,
                &log,
                Duration::from_secs(30),
            ) {
                let r = http::request(
                    "PUT",
                    &format!("{endpoint}/{bucket}"),
                    &[],
                    b"",
                    Duration::from_secs(10),
                )
                .expect("create the bucket");
                assert_eq!(r.status, 200, "create bucket {bucket}: {}", r.text());
                return Moto {
                    child,
                    endpoint,
                    bucket: bucket.to_string(),
                    _tmp: tmp,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "moto_server did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bucket created at start.
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Every key in the bucket, through the S3 ListObjectsV2 API.
    pub(crate) fn list_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{}/{}?list-type=2", self.endpoint, self.bucket);
            if let Some(t) = &token {
                url.push_str("&continuation-token=");
                url.push_str(&http::urlencode(t));
            }
            let r = http::get(&url).expect("list the bucket");
            assert_eq!(r.status, 200, "ListObjectsV2: {}", r.text());
            let xml = r.text();
            keys.extend(xml_values(&xml, "Key"));
            token = xml_values(&xml, "NextContinuationToken").into_iter().next();
            if !xml.contains("<IsTruncated>true</IsTruncated>") || token.is_none() {
                return keys;
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of every `<tag>...</tag>` in `xml`, entities decoded.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(
            rest[..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[j + close.len()..];
    }
    out
}

/// An HTTP server exposing node_exporter-like metrics whose values change on every scrape.
pub(crate) struct ScrapeTarget {
    addr: String,
    stop: Arc<AtomicBool>,
    scrapes: Arc<AtomicU64>,
}

impl ScrapeTarget {
    /// Listens on a free port of 127.0.0.1.
    pub(crate) fn start() -> ScrapeTarget {
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
                        let _ = serve_metrics(conn, k);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ScrapeTarget {
            addr,
            stop,
            scrapes,
        }
    }

    /// `127.0.0.1:PORT`, as a Prometheus static target.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// How many scrapes were answered.
    pub(crate) fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::Relaxed)
    }
}

impl Drop for ScrapeTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers one scrape (the `k`-th) with the text exposition format.
fn serve_metrics(conn: TcpStream, k: u64) -> std::io::Result<()> {
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
    let body = metrics_text(k);
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

/// The exposition of scrape `k`: counters, gauges (one with awkward values) and a classic
/// histogram, all moving with `k`.
fn metrics_text(k: u64) -> String {
    let kf = k as f64;
    let mut s = String::new();
    s.push_str("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n");
    s.push_str("# TYPE node_cpu_seconds_total counter\n");
    for (cpu, mode, rate) in [
        ("0", "idle", 0.93),
        ("0", "user", 0.051),
        ("1", "idle", 0.87),
        ("1", "system", 0.0123),
    ] {
        s.push_str(&format!(
            "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {}\n",
            1000.0 + kf * rate
        ));
    }
    s.push_str("# HELP node_memory_MemAvailable_bytes Memory available.\n");
    s.push_str("# TYPE node_memory_MemAvailable_bytes gauge\n");
    s.push_str(&format!(
        "node_memory_MemAvailable_bytes {}\n",
        8.0e9 + (kf * 0.7).sin() * 1.0e8
    ));
    s.push_str("# HELP node_load1 1m load average.\n");
    s.push_str("# TYPE node_load1 gauge\n");
    s.push_str(&format!("node_load1 {}\n", (kf / 3.0).cos() * 1e-7 + 0.1));
    s.push_str("# HELP node_network_receive_bytes_total Received bytes.\n");
    s.push_str("# TYPE node_network_receive_bytes_total counter\n");
    for dev in ["eth0", "lo"] {
        s.push_str(&format!(
            "node_network_receive_bytes_total{{device=\"{dev}\"}} {}\n",
            (k * 1500 + dev.len() as u64) as f64
        ));
    }
    s.push_str("# HELP http_request_duration_seconds Request latency.\n");
    s.push_str("# TYPE http_request_duration_seconds histogram\n");
    let mut cum = 0u64;
    for (i, le) in ["0.005", "0.05", "0.5", "5", "+Inf"].iter().enumerate() {
        cum += k * (i as u64 + 1);
        s.push_str(&format!(
            "http_request_duration_seconds_bucket{{handler=\"/api\",le=\"{le}\"}} {cum}\n"
        ));
    }
    s.push_str(&format!(
        "http_request_duration_seconds_sum{{handler=\"/api\"}} {}\n",
        kf * 1.337
    ));
    s.push_str(&format!(
        "http_request_duration_seconds_count{{handler=\"/api\"}} {cum}\n"
    ));
    s
}
