//! A scrape target for the differential PromQL test: several instances, each answering the
//! text exposition format with counters at different rates (one resets), gauges going up and
//! down, classic histograms and a summary with several label sets, series that vanish and come
//! back, label values that need escaping, and a stretch of failed scrapes (`up` = 0).
//!
//! Values depend only on the instance and on how many scrapes it has answered, so both
//! Prometheus and Cairn see the same numbers whatever the timing.
//!
//! Every counter starts either at 0 or far above its increase per scrape: `rate` extrapolates
//! towards a counter's zero point differently in Prometheus 2.42 and 3.x when that point lies
//! between half an interval and 1.1 intervals before the first sample (3.x caps the
//! extrapolation at half an interval, 2.42 does not), and the comparison must not hinge on it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// Scrapes (counted per instance) during which the `demo_flappy` series are missing.
pub(crate) const FLAPPY_GAP: std::ops::Range<u64> = 25..45;
/// Scrapes from which `demo_late_total` exists.
pub(crate) const LATE_FROM: u64 = 40;
/// Scrapes at which the counter `demo_requests_total{code="500"}` of instance 0 restarts.
pub(crate) const RESET_AT: u64 = 50;
/// Scrapes during which instance 2 answers 503 (Prometheus records `up` 0 and marks its series
/// stale).
pub(crate) const DOWN: std::ops::Range<u64> = 60..70;

/// One HTTP listener per instance; stops serving when dropped.
pub(crate) struct DiffTarget {
    addrs: Vec<String>,
    scrapes: Vec<Arc<AtomicU64>>,
    stop: Arc<AtomicBool>,
}

impl DiffTarget {
    /// Starts `instances` listeners on free ports of 127.0.0.1.
    pub(crate) fn start(instances: usize) -> DiffTarget {
        let stop = Arc::new(AtomicBool::new(false));
        let mut addrs = Vec::new();
        let mut scrapes = Vec::new();
        for i in 0..instances {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a scrape target");
            listener.set_nonblocking(true).expect("non-blocking accept");
            addrs.push(listener.local_addr().expect("target address").to_string());
            let n = Arc::new(AtomicU64::new(0));
            scrapes.push(Arc::clone(&n));
            let s = Arc::clone(&stop);
            thread::spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let k = n.fetch_add(1, Ordering::Relaxed);
                            let _ = answer(conn, i, k);
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        DiffTarget {
            addrs,
            scrapes,
            stop,
        }
    }

    /// `127.0.0.1:PORT` of instance `i`.
    pub(crate) fn addr(&self, i: usize) -> &str {
        &self.addrs[i]
    }

    /// The fewest scrapes any instance has answered.
    pub(crate) fn min_scrapes(&self) -> u64 {
        self.scrapes
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }
}

impl Drop for DiffTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn answer(conn: TcpStream, instance: usize, k: u64) -> std::io::Result<()> {
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
    let (status, body) = if instance == 2 && DOWN.contains(&k) {
        (
            "503 Service Unavailable",
            "down for maintenance\n".to_string(),
        )
    } else {
        ("200 OK", exposition(instance, k))
    };
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

/// The exposition of instance `i` at its scrape `k`.
pub(crate) fn exposition(i: usize, k: u64) -> String {
    let kf = k as f64;
    let fi = i as f64;
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };

    line("# HELP demo_requests_total Requests served.".into());
    line("# TYPE demo_requests_total counter".into());
    for (m, method) in ["GET", "POST"].iter().enumerate() {
        for (c, code) in ["200", "500"].iter().enumerate() {
            let rate = (1.0 + fi) * (3.0 - c as f64 * 2.5) * (1.0 + m as f64 * 0.37);
            let mut v = 100.0 * (fi + 1.0) + kf * rate + (kf * 0.9).sin().abs();
            if i == 0 && *code == "500" && k >= RESET_AT {
                // A process restart: the counter starts again from a small value.
                v = (k - RESET_AT) as f64 * rate;
            }
            line(format!(
                "demo_requests_total{{method=\"{method}\",code=\"{code}\"}} {v}"
            ));
        }
    }

    line("# TYPE demo_temperature_celsius gauge".into());
    for room in ["attic", "cellar"] {
        let base = if room == "attic" { 24.0 } else { 12.5 };
        line(format!(
            "demo_temperature_celsius{{room=\"{room}\"}} {}",
            base + fi + 3.0 * (kf / 7.0 + fi).sin()
        ));
    }
    line("# TYPE demo_queue_depth gauge".into());
    line(format!(
        "demo_queue_depth {}",
        ((k * 7 + i as u64 * 3) % 11) as f64 - 3.0
    ));

    line("# TYPE demo_request_duration_seconds histogram".into());
    for (h, handler) in ["/api/a", "/api/b"].iter().enumerate() {
        let n = k * (2 + h as u64) + 50 * (i as u64 + 1);
        let mut cum = 0u64;
        for (b, le) in ["0.05", "0.1", "0.25", "1", "2.5", "+Inf"]
            .iter()
            .enumerate()
        {
            // Each scrape adds a few observations to each bucket; more slow ones on /api/b.
            cum += n * (b as u64 % 3 + 1) + (k % (b as u64 + 2)) * h as u64;
            line(format!(
                "demo_request_duration_seconds_bucket{{handler=\"{handler}\",le=\"{le}\"}} {cum}"
            ));
        }
        line(format!(
            "demo_request_duration_seconds_sum{{handler=\"{handler}\"}} {}",
            cum as f64 * (0.21 + 0.3 * h as f64)
        ));
        line(format!(
            "demo_request_duration_seconds_count{{handler=\"{handler}\"}} {cum}"
        ));
    }

    line("# TYPE demo_rpc_latency_seconds summary".into());
    for (q, quantile) in ["0.5", "0.9", "0.99"].iter().enumerate() {
        line(format!(
            "demo_rpc_latency_seconds{{quantile=\"{quantile}\"}} {}",
            0.01 * (q as f64 + 1.0) * (2.0 + (kf / 5.0).cos()) * (fi + 1.0)
        ));
    }
    line(format!(
        "demo_rpc_latency_seconds_sum {}",
        kf * 0.031 * (fi + 1.0)
    ));
    line(format!("demo_rpc_latency_seconds_count {}", k * 2));

    line("# TYPE demo_flappy gauge".into());
    if !FLAPPY_GAP.contains(&k) {
        for kind in ["x", "y"] {
            line(format!(
                "demo_flappy{{kind=\"{kind}\"}} {}",
                kf + 5.0 + fi * 10.0 + kind.len() as f64
            ));
        }
    }
    if k >= LATE_FROM {
        line("# TYPE demo_late_total counter".into());
        line(format!(
            "demo_late_total {}",
            (k - LATE_FROM) * 3 + i as u64 * 10
        ));
    }

    line("# TYPE demo_escape gauge".into());
    line(format!(
        "demo_escape{{path=\"C:\\\\dir\\\\file\",quote=\"say \\\"hi\\\"\",nl=\"a\\nb\",utf=\"ünï€\"}} {}",
        fi + 0.5
    ));

    // Values engines disagree on most easily: NaN (not a staleness marker), infinities,
    // near the largest float (small enough that a sum of them all stays finite, whatever
    // its order) and the smallest. Never -0.0: Prometheus 2.42's remote write drops a
    // zero double from the protobuf message (proto3 default), so Cairn receives +0.0.
    line("# TYPE demo_weird gauge".into());
    let nan = if k.is_multiple_of(3) {
        "NaN".to_string()
    } else {
        format!("{}", kf + fi)
    };
    let inf = match k % 4 {
        0 => "+Inf".to_string(),
        1 => "-Inf".to_string(),
        _ => format!("{}", kf * 0.5 + fi),
    };
    line(format!("demo_weird{{kind=\"nan\"}} {nan}"));
    line(format!("demo_weird{{kind=\"inf\"}} {inf}"));
    line(format!(
        "demo_weird{{kind=\"neg\"}} {}",
        -kf * 1.5 - fi - 0.5
    ));
    line(format!(
        "demo_weird{{kind=\"huge\"}} {:e}",
        5e306 * (1.0 + fi * 0.1)
    ));
    line(format!(
        "demo_weird{{kind=\"tiny\"}} {:e}",
        5e-324 * ((k % 3) as f64 + fi)
    ));

    line("# TYPE demo_build_info gauge".into());
    line(format!(
        "demo_build_info{{version=\"1.{i}.0\",revision=\"r{}\"}} 1",
        i * 7
    ));
    s
}
