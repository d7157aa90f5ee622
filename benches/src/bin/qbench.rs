//! Query benchmark driver: runs the same PromQL queries against several Prometheus-compatible
//! systems loaded with the same data, times them (warm-up runs, then N timed runs on one
//! keep-alive connection, median and p90 from request start to the last body byte), checks
//! that the answers agree, and prints a Markdown table and `RESULT` lines.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use cairn_benches::{Connection, Target, Workload, WorkloadSpec, percent_encode};
use clap::Parser;
use hyper::Method;
use serde_json::Value as Json;

/// Times PromQL queries against several systems and compares their answers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// `name=http://host:port` of a system under test; the first is the reference of the
    /// result check.
    #[arg(long = "system", required = true)]
    systems: Vec<String>,
    /// `name=PID` of a system's server process, to measure its CPU time per query.
    #[arg(long = "pid")]
    pids: Vec<String>,
    /// First millisecond of the loaded data (the loader's `--start`).
    #[arg(long)]
    data_start_ms: i64,
    /// End of the loaded data in milliseconds (start + steps x interval).
    #[arg(long)]
    data_end_ms: i64,
    /// Series loaded (to find the hosts' scrape offsets).
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Seed of the loaded data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs per query and system.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timeout of one run in seconds.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    /// Only the queries with these names.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Relative tolerance of the result check.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
}

const INTERVAL_MS: i64 = 15_000;

/// One benchmark query.
struct QuerySpec {
    name: &'static str,
    expr: &'static str,
    /// None: instant at the evaluation time; Some((range, step)) in ms: a range query ending
    /// at the evaluation time.
    range: Option<(i64, i64)>,
    /// The selector whose samples the query reads, and the window it looks back over at each
    /// step, to count the samples scanned.
    selector: &'static str,
    window_ms: i64,
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn queries() -> Vec<QuerySpec> {
    let cpu = r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#;
    let cpu_sel = r#"node_cpu_seconds_total{mode!="idle"}"#;
    let hist =
        r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"#;
    let hist_sel = "http_request_duration_seconds_bucket";
    vec![
        QuerySpec {
            name: "cpu_rate_instant",
            expr: cpu,
            range: None,
            selector: cpu_sel,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "cpu_rate_1h",
            expr: cpu,
            range: Some((HOUR, 15_000)),
            selector: cpu_sel,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "cpu_rate_4h",
            expr: cpu,
            range: Some((4 * HOUR, 60_000)),
            selector: cpu_sel,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "histogram_p99_instant",
            expr: hist,
            range: None,
            selector: hist_sel,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "histogram_p99_1h",
            expr: hist,
            range: Some((HOUR, 15_000)),
            selector: hist_sel,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "topk_network_instant",
            expr: "topk(10, rate(node_network_receive_bytes_total[5m]))",
            range: None,
            selector: "node_network_receive_bytes_total",
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "count_by_name_instant",
            expr: r#"count by (__name__) ({__name__=~".+"})"#,
            range: None,
            selector: r#"{__name__=~".+"}"#,
            window_ms: 5 * MIN,
        },
        QuerySpec {
            name: "wide_regex_instant",
            expr: r#"count by (__name__) ({__name__=~"node_(cpu|disk|network|filesystem)_.+", instance=~"10\\.0\\.[0-9]+\\.[0-9]*[13579]:9100"})"#,
            range: None,
            selector: r#"{__name__=~"node_(cpu|disk|network|filesystem)_.+", instance=~"10\\.0\\.[0-9]+\\.[0-9]*[13579]:9100"}"#,
            window_ms: 5 * MIN,
        },
    ]
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The request path of `expr` evaluated at `t` (instant) or over `range` ending at `t`.
/// `nocache=1` keeps VictoriaMetrics from answering repeated runs from its rollup result
/// cache (the others ignore the parameter).
fn query_path(expr: &str, t: i64, range: Option<(i64, i64)>) -> String {
    let q = percent_encode(expr);
    match range {
        None => format!("/api/v1/query?query={q}&time={}&nocache=1", seconds(t)),
        Some((r, step)) => format!(
            "/api/v1/query_range?query={q}&start={}&end={}&step={}&nocache=1",
            seconds(t - r),
            seconds(t),
            seconds(step)
        ),
    }
}

struct System {
    name: String,
    conn: Connection,
    pid: Option<u32>,
}

/// utime + stime of a process in ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A query's answer: label set (sorted pairs, rendered) -> points.
type Answer = BTreeMap<String, Vec<(f64, f64)>>;

fn parse_value(v: &Json) -> anyhow::Result<(f64, f64)> {
    let t = v
        .get(0)
        .and_then(Json::as_f64)
        .context("point without a time")?;
    let s = v
        .get(1)
        .and_then(Json::as_str)
        .context("point without a value")?;
    let x = match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().with_context(|| format!("value {s:?}"))?,
    };
    Ok((t, x))
}

fn parse_answer(body: &[u8]) -> anyhow::Result<Answer> {
    let j: Json = serde_json::from_slice(body).context("response is not JSON")?;
    if j.get("status").and_then(Json::as_str) != Some("success") {
        bail!("query failed: {}", String::from_utf8_lossy(body));
    }
    let data = j.get("data").context("no data")?;
    let mut out = Answer::new();
    match data.get("resultType").and_then(Json::as_str) {
        Some("scalar") => {
            let p = parse_value(data.get("result").context("no result")?)?;
            out.insert("scalar".to_string(), vec![p]);
        }
        Some("vector") | Some("matrix") => {
            for s in data
                .get("result")
                .and_then(Json::as_array)
                .context("no result array")?
            {
                let mut labels: Vec<(String, String)> = s
                    .get("metric")
                    .and_then(Json::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                labels.sort();
                let key = labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let mut points = Vec::new();
                if let Some(v) = s.get("value") {
                    points.push(parse_value(v)?);
                }
                if let Some(vs) = s.get("values").and_then(Json::as_array) {
                    for v in vs {
                        points.push(parse_value(v)?);
                    }
                }
                out.insert(format!("{{{key}}}"), points);
            }
        }
        other => bail!("unexpected result type {other:?}"),
    }
    Ok(out)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= tol * a.abs().max(b.abs())
}

/// Differences between a reference answer and another, as (count, first example).
fn compare(reference: &Answer, other: &Answer, tol: f64) -> (usize, usize, Option<String>) {
    let mut diffs = 0;
    let mut compared = 0;
    let mut first = None;
    let mut note = |d: &mut usize, s: String| {
        *d += 1;
        if first.is_none() {
            first = Some(s);
        }
    };
    for (k, pa) in reference {
        match other.get(k) {
            None => note(&mut diffs, format!("missing series {k}")),
            Some(pb) => {
                let mut j = 0;
                for &(t, a) in pa {
                    while j < pb.len() && pb[j].0 < t {
                        j += 1;
                    }
                    compared += 1;
                    match pb.get(j) {
                        Some(&(tb, b)) if tb == t => {
                            if !close(a, b, tol) {
                                note(&mut diffs, format!("{k} at {t}: {a} vs {b}"));
                            }
                        }
                        _ => note(&mut diffs, format!("{k}: no point at {t}")),
                    }
                }
                let extra = pb.len().saturating_sub(pa.len());
                if extra > 0 && pb.iter().any(|p| !pa.iter().any(|q| q.0 == p.0)) {
                    note(&mut diffs, format!("{k}: {extra} extra points"));
                }
            }
        }
    }
    for k in other.keys().filter(|k| !reference.contains_key(*k)) {
        note(&mut diffs, format!("extra series {k}"));
    }
    (diffs, compared, first)
}

struct Measured {
    runs: Vec<Duration>,
    cpu_s_per_run: Option<f64>,
    answer: Answer,
    points: usize,
}

fn quantile(runs: &[Duration], q: f64) -> Duration {
    let mut r = runs.to_vec();
    r.sort();
    if r.is_empty() {
        return Duration::ZERO;
    }
    let i = ((q * r.len() as f64).ceil() as usize).clamp(1, r.len()) - 1;
    r[i]
}

async fn measure(sys: &mut System, path: &str, args: &Args) -> anyhow::Result<Measured> {
    let timeout = Duration::from_secs(args.timeout_s);
    let mut body = Bytes::new();
    for _ in 0..args.warmup {
        let r = sys
            .conn
            .request(Method::GET, Some(path), &[], Bytes::new(), timeout)
            .await?;
        if !r.status.is_success() {
            bail!(
                "{} answered {}: {}",
                sys.name,
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        body = r.body;
    }
    let cpu0 = sys.pid.and_then(cpu_ticks);
    let mut runs = Vec::with_capacity(args.runs);
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        let r = sys
            .conn
            .request(Method::GET, Some(path), &[], Bytes::new(), timeout)
            .await?;
        runs.push(t.elapsed());
        if !r.status.is_success() {
            bail!(
                "{} answered {}: {}",
                sys.name,
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        body = r.body;
    }
    let cpu1 = sys.pid.and_then(cpu_ticks);
    let cpu_s_per_run = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some((b - a) as f64 / args.clk_tck as f64 / runs.len() as f64),
        _ => None,
    };
    let answer = parse_answer(&body)?;
    let points = answer.values().map(Vec::len).sum();
    Ok(Measured {
        runs,
        cpu_s_per_run,
        answer,
        points,
    })
}

/// Samples of `selector` in the windows the query reads: the union of `(t - window, t]`
/// over the query's steps.
async fn samples_scanned(
    sys: &mut System,
    q: &QuerySpec,
    t: i64,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let span = q.window_ms + q.range.map_or(0, |(r, _)| r);
    let expr = format!("sum(count_over_time({}[{}s]))", q.selector, span / 1000);
    let r = sys
        .conn
        .request(
            Method::GET,
            Some(&query_path(&expr, t, None)),
            &[],
            Bytes::new(),
            timeout,
        )
        .await?;
    let a = parse_answer(&r.body)?;
    Ok(a.values()
        .next()
        .and_then(|p| p.first())
        .map_or(0.0, |p| p.1))
}

fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 10.0 {
        format!("{m:.1} ms")
    } else {
        format!("{m:.2} ms")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pids: BTreeMap<String, u32> = args
        .pids
        .iter()
        .map(|p| {
            let (n, v) = p.split_once('=').context("--pid name=PID")?;
            Ok((n.to_string(), v.parse().context("PID")?))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut systems = Vec::new();
    for s in &args.systems {
        let (name, url) = s.split_once('=').context("--system name=url")?;
        systems.push(System {
            name: name.to_string(),
            conn: Connection::new(Target::parse(url)?),
            pid: pids.get(name).copied(),
        });
    }

    // Evaluate at the last full minute before the last scrape round: a multiple of every
    // step (as Grafana aligns), and, since the data start is a multiple of the interval, a
    // time that no window boundary shares with a sample unless a host scrapes at offset 0.
    // That keeps Prometheus 2.42's left-closed windows and 3.x's left-open ones equal.
    let t = (args.data_end_ms - INTERVAL_MS).div_euclid(MIN) * MIN;
    let w = Workload::new(WorkloadSpec {
        series: args.series,
        seed: args.seed,
        interval_ms: INTERVAL_MS,
        start_ms: args.data_start_ms,
    });
    let on_boundary = (0..w.len())
        .filter(|&i| (w.timestamp(i, 0) - t).rem_euclid(INTERVAL_MS) == 0)
        .count();
    eprintln!(
        "evaluation time {t} ({} hosts, {on_boundary} series with samples on window boundaries)",
        w.hosts()
    );
    drop(w);

    let timeout = Duration::from_secs(args.timeout_s);
    let names: Vec<String> = systems.iter().map(|s| s.name.clone()).collect();
    let mut rows = Vec::new();
    for q in queries() {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == q.name) {
            continue;
        }
        let path = query_path(q.expr, t, q.range);
        // Counted on Cairn when it is there: Prometheus 2.x drops the metric name before
        // `sum`, so `count_over_time` of a selector spanning several metrics fails there.
        let counter = names.iter().position(|n| n == "cairn").unwrap_or(0);
        let scanned = match samples_scanned(&mut systems[counter], &q, t, timeout).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!(
                    "{}: counting samples on {} failed: {e:#}",
                    q.name, names[counter]
                );
                0.0
            }
        };
        let mut results: Vec<Option<Measured>> = Vec::new();
        for sys in &mut systems {
            match measure(sys, &path, &args).await {
                Ok(m) => {
                    println!(
                        "RESULT query={} system={} median_s={:.6} p90_s={:.6} min_s={:.6} runs={} cpu_s_per_run={} points={} series={} samples_scanned={scanned:.0}",
                        q.name,
                        sys.name,
                        quantile(&m.runs, 0.5).as_secs_f64(),
                        quantile(&m.runs, 0.9).as_secs_f64(),
                        quantile(&m.runs, 0.0).as_secs_f64(),
                        m.runs.len(),
                        m.cpu_s_per_run
                            .map_or("-".to_string(), |c| format!("{c:.4}")),
                        m.points,
                        m.answer.len(),
                    );
                    results.push(Some(m));
                }
                Err(e) => {
                    eprintln!("{} on {}: {e:#}", q.name, sys.name);
                    results.push(None);
                }
            }
        }
        let mut checks = Vec::new();
        if let Some(Some(reference)) = results.first() {
            for (i, r) in results.iter().enumerate().skip(1) {
                let Some(r) = r else { continue };
                let (d, n, first) = compare(&reference.answer, &r.answer, args.tolerance);
                let verdict = if d == 0 {
                    format!("{} = {} ({n} points)", names[i], names[0])
                } else {
                    format!(
                        "{} differs from {} at {d} of {n} points (e.g. {})",
                        names[i],
                        names[0],
                        first.unwrap_or_default()
                    )
                };
                eprintln!("CHECK query={} {verdict}", q.name);
                checks.push(if d == 0 {
                    format!("{}: same", names[i])
                } else {
                    format!("{}: {d}/{n} differ", names[i])
                });
            }
        }
        rows.push((q, scanned, results, checks));
    }

    // The table: latencies side by side, the ratio of each Cairn variant to each other
    // system, samples scanned per second of wall time and per CPU second (one core busy
    // for a second) of the server process.
    let mains: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].starts_with("cairn"))
        .collect();
    let others: Vec<usize> = (0..names.len())
        .filter(|&i| !names[i].starts_with("cairn"))
        .collect();
    let mut header = String::from("| query | kind |");
    let mut sep = String::from("| --- | --- |");
    for n in &names {
        header.push_str(&format!(" {n} median | {n} p90 |"));
        sep.push_str(" ---: | ---: |");
    }
    for &c in &mains {
        for &o in &others {
            header.push_str(&format!(" {}/{} |", names[c], names[o]));
            sep.push_str(" ---: |");
        }
    }
    header.push_str(" samples scanned |");
    sep.push_str(" ---: |");
    for &c in &mains {
        header.push_str(&format!(
            " {0} samples/s | {0} samples/s per core |",
            names[c]
        ));
        sep.push_str(" ---: | ---: |");
    }
    header.push_str(&format!(" answers vs {} |", names[0]));
    sep.push_str(" --- |");
    println!();
    println!("{header}");
    println!("{sep}");
    for (q, scanned, results, checks) in &rows {
        let kind = match q.range {
            None => "instant".to_string(),
            Some((r, s)) => format!("range {}h, step {}s", r / HOUR, s / 1000),
        };
        let mut line = format!("| `{}` | {kind} |", q.name);
        let med: Vec<Option<Duration>> = results
            .iter()
            .map(|r| r.as_ref().map(|m| quantile(&m.runs, 0.5)))
            .collect();
        for r in results {
            match r {
                Some(m) => line.push_str(&format!(
                    " {} | {} |",
                    ms(quantile(&m.runs, 0.5)),
                    ms(quantile(&m.runs, 0.9))
                )),
                None => line.push_str(" failed | failed |"),
            }
        }
        for &c in &mains {
            for &o in &others {
                match (med[c], med[o]) {
                    (Some(a), Some(b)) if !b.is_zero() => {
                        line.push_str(&format!(" {:.2} |", a.as_secs_f64() / b.as_secs_f64()))
                    }
                    _ => line.push_str(" - |"),
                }
            }
        }
        line.push_str(&format!(" {scanned:.0} |"));
        for &c in &mains {
            let wall = med[c].map_or("-".to_string(), |d| {
                format!("{:.1}M", scanned / d.as_secs_f64() / 1e6)
            });
            let per_core = results[c]
                .as_ref()
                .and_then(|m| m.cpu_s_per_run)
                .filter(|c| *c > 0.0)
                .map_or("-".to_string(), |c| format!("{:.1}M", scanned / c / 1e6));
            line.push_str(&format!(" {wall} | {per_core} |"));
        }
        line.push_str(&format!(
            " {} |",
            if checks.is_empty() {
                "-".to_string()
            } else {
                checks.join("; ")
            }
        ));
        println!("{line}");
    }
    Ok(())
}
