//! `TestServer`: the real `cairn` binary on a random port with a temporary data directory.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, Response};
use super::proto::{self, MatchType, TimeSeries};

/// How long the binary may take to print its address and to become ready (WAL replay included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures a [`TestServer`] before it starts.
#[derive(Default)]
pub(crate) struct TestServerBuilder {
    config: Option<String>,
    data_dir: Option<PathBuf>,
}

impl TestServerBuilder {
    /// Starts the binary with this YAML as `--config`.
    pub(crate) fn config(mut self, yaml: &str) -> Self {
        self.config = Some(yaml.to_string());
        self
    }

    /// Uses `dir` as `--data-dir` instead of a fresh temporary directory.
    pub(crate) fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// Spawns the binary and waits until `/-/ready` answers 200.
    pub(crate) fn start(self) -> TestServer {
        let tmp = tempfile::tempdir().expect("a temporary directory for the test server");
        let data_dir = self.data_dir.unwrap_or_else(|| tmp.path().join("data"));
        std::fs::create_dir_all(&data_dir).expect("create the data directory");
        let config_path = self.config.map(|yaml| {
            let p = tmp.path().join("cairn.yaml");
            std::fs::write(&p, yaml).expect("write the config file");
            p
        });
        let log_path = tmp.path().join("cairn.log");
        let mut s = TestServer {
            child: None,
            url: String::new(),
            otlp_grpc: None,
            otlp_http: None,
            forward: None,
            data_dir,
            config_path,
            log_path,
            starts: 0,
            _tmp: tmp,
        };
        s.spawn();
        s
    }
}

/// A running `cairn serve`; SIGKILLed when dropped.
pub(crate) struct TestServer {
    child: Option<Child>,
    url: String,
    otlp_grpc: Option<String>,
    otlp_http: Option<String>,
    forward: Option<String>,
    data_dir: PathBuf,
    config_path: Option<PathBuf>,
    log_path: PathBuf,
    starts: u32,
    _tmp: tempfile::TempDir,
}

impl TestServer {
    /// A builder for a server with a fresh data directory and no config file.
    pub(crate) fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// A server on embedded defaults.
    pub(crate) fn start() -> TestServer {
        Self::builder().start()
    }

    /// `http://IP:PORT` of the running process.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// `IP:PORT` of the OTLP/gRPC listener.
    pub(crate) fn otlp_grpc_addr(&self) -> &str {
        self.otlp_grpc
            .as_deref()
            .expect("the OTLP/gRPC listener is on")
    }

    /// `http://IP:PORT` of the OTLP/HTTP listener.
    pub(crate) fn otlp_http_url(&self) -> &str {
        self.otlp_http
            .as_deref()
            .expect("the OTLP/HTTP listener is on")
    }

    /// `IP:PORT` of the forward protocol listener.
    pub(crate) fn forward_addr(&self) -> &str {
        self.forward.as_deref().expect("the forward listener is on")
    }

    /// The `--data-dir` of this server.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open the server log");
        writeln!(log, "==== start #{} ====", self.starts).expect("write the server log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.arg("serve");
        if let Some(c) = &self.config_path {
            cmd.arg("--config").arg(c);
        }
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(["--forward-listen", "127.0.0.1:0"])
            .args(["--otlp-grpc-listen", "127.0.0.1:0"])
            .args(["--otlp-http-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.try_clone().expect("clone the log handle")));
        let mut child = cmd.spawn().expect("spawn the cairn binary");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout for the life of the process so that it never blocks on a full
        // pipe, copying every line to the log.
        thread::spawn(move || drain_stdout(stdout, log, tx));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let printed = match rx.recv_timeout(START_TIMEOUT) {
            Ok(p) if !p.url.is_empty() => p,
            _ => self.fail("never printed `listening on http://IP:PORT` on stdout"),
        };
        self.url = printed.url;
        self.otlp_grpc = printed.otlp_grpc;
        self.otlp_http = printed.otlp_http;
        self.forward = printed.forward;
        loop {
            if let Ok(r) = http::get(&format!("{}/-/ready", self.url))
                && r.status == 200
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.fail(&format!(
                    "exited with {status} before /-/ready answered 200"
                ));
            }
            if Instant::now() > deadline {
                self.fail("/-/ready did not answer 200 in time");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Panics with `what` and the tail of the server log.
    fn fail(&mut self, what: &str) -> ! {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        panic!("cairn {what}\n{}", self.log_tail(80));
    }

    /// The last `n` lines of the server's stdout and stderr.
    pub(crate) fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(n);
        format!(
            "---- server log ({}) ----\n{}",
            self.log_path.display(),
            lines[from..].join("\n")
        )
    }

    /// `kill -9` the process and reap it.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // std's Child::kill sends SIGKILL on Unix.
            c.kill().expect("send SIGKILL to cairn");
            c.wait().expect("reap cairn");
        }
    }

    /// Starts the binary again on the same data directory and config (on a new port).
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() of a running server");
        self.spawn();
    }

    /// SIGTERM, then waits up to 30 s for a clean exit; returns the exit status.
    pub(crate) fn stop(&mut self) -> ExitStatus {
        let mut c = self
            .child
            .take()
            .expect("stop() of a server that is not running");
        let ok = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = c.try_wait().expect("wait for cairn") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "cairn did not exit within 30 s of SIGTERM\n{}",
                    self.log_tail(80)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// POSTs a remote write 1.0 request holding `series`.
    pub(crate) fn write_v1(&self, series: &[TimeSeries]) -> std::io::Result<Response> {
        write_v1_to(&self.url, series)
    }

    /// Remote-reads (SAMPLES) the series matching `matchers` in `[start_ms, end_ms]`; panics
    /// on anything but a 200 with a well-formed body.
    pub(crate) fn read(
        &self,
        start_ms: i64,
        end_ms: i64,
        matchers: &[(MatchType, &str, &str)],
    ) -> Vec<TimeSeries> {
        remote_read(&self.url, start_ms, end_ms, matchers)
    }

    /// `POST /api/v1/admin/flush`, asserting a 2xx.
    pub(crate) fn flush(&self) {
        let r = http::post(&format!("{}/api/v1/admin/flush", self.url), &[], b"")
            .expect("POST /api/v1/admin/flush");
        assert!(
            (200..300).contains(&r.status),
            "POST /api/v1/admin/flush: expected 2xx, got {}: {}",
            r.status,
            r.text()
        );
    }

    /// GETs `path_and_query` and returns the `data` of a `"status":"success"` JSON answer.
    pub(crate) fn api_data(&self, path_and_query: &str) -> serde_json::Value {
        api_data(&self.url, path_and_query)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if thread::panicking() {
            eprintln!("{}", self.log_tail(60));
        }
    }
}

/// What the binary prints about where it listens, in order, up to the data directory line.
#[derive(Clone, Debug, Default)]
struct Printed {
    url: String,
    otlp_grpc: Option<String>,
    otlp_http: Option<String>,
    forward: Option<String>,
}

fn first_word_after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let i = line.find(marker)?;
    line[i + marker.len()..].split_whitespace().next()
}

fn drain_stdout(stdout: std::process::ChildStdout, mut log: File, tx: mpsc::Sender<Printed>) {
    let mut printed = Printed::default();
    let mut sent = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log, "{line}");
        if sent {
            continue;
        }
        if let Some(w) = first_word_after(&line, "listening on ") {
            printed.url = w.trim_end_matches('/').to_string();
        } else if let Some(w) = first_word_after(&line, "OTLP/gRPC on ") {
            printed.otlp_grpc = Some(w.to_string());
        } else if let Some(w) = first_word_after(&line, "OTLP/HTTP on ") {
            printed.otlp_http = Some(w.trim_end_matches('/').to_string());
        } else if let Some(w) = first_word_after(&line, "forward protocol on ") {
            printed.forward = Some(w.to_string());
        } else if line.contains("data directory") {
            sent = tx.send(printed.clone()).is_ok();
        }
    }
}

/// POSTs a remote write 1.0 request holding `series` to the server at `url`.
pub(crate) fn write_v1_to(url: &str, series: &[TimeSeries]) -> std::io::Result<Response> {
    write_v1_with(url, &[], series)
}

/// [`write_v1_to`] with extra request headers (e.g. `X-Scope-OrgID`).
pub(crate) fn write_v1_with(
    url: &str,
    extra: &[(&str, &str)],
    series: &[TimeSeries],
) -> std::io::Result<Response> {
    let body = snap::raw::Encoder::new()
        .compress_vec(&proto::encode_write_request(series))
        .expect("test batches are far below snappy's 4 GiB block limit");
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra);
    http::post(&format!("{url}/api/v1/write"), &headers, &body)
}

/// Remote-reads from the server at `url`; panics on anything but a well-formed 200.
pub(crate) fn remote_read(
    url: &str,
    start_ms: i64,
    end_ms: i64,
    matchers: &[(MatchType, &str, &str)],
) -> Vec<TimeSeries> {
    let r = remote_read_with(url, &[], start_ms, end_ms, matchers);
    assert_eq!(
        r.status,
        200,
        "POST /api/v1/read {matchers:?} [{start_ms}, {end_ms}]: expected 200, got {}: {}",
        r.status,
        r.text()
    );
    proto::decode_read_response(&r.body)
        .unwrap_or_else(|e| panic!("POST /api/v1/read: undecodable response: {e}"))
}

/// One remote read request with extra headers, its response as it came.
pub(crate) fn remote_read_with(
    url: &str,
    extra: &[(&str, &str)],
    start_ms: i64,
    end_ms: i64,
    matchers: &[(MatchType, &str, &str)],
) -> Response {
    let body = proto::encode_read_request(start_ms, end_ms, matchers);
    let mut headers = vec![
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Read-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra);
    http::post(&format!("{url}/api/v1/read"), &headers, &body).expect("POST /api/v1/read")
}

/// GETs `path_and_query` from `url` and returns the `data` of a successful Prometheus API
/// answer; panics naming the endpoint otherwise.
pub(crate) fn api_data(url: &str, path_and_query: &str) -> serde_json::Value {
    let r = http::get(&format!("{url}{path_and_query}"))
        .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"));
    assert_eq!(
        r.status,
        200,
        "GET {url}{path_and_query}: expected 200, got {}: {}",
        r.status,
        r.text()
    );
    let mut v = r.json();
    assert_eq!(
        v["status"], "success",
        "GET {url}{path_and_query}: status is not success: {v}"
    );
    v["data"].take()
}
