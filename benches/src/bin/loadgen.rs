//! Writes a node_exporter-like fleet to a Prometheus remote-write receiver, in time order.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use cairn_benches::{LoadConfig, Protocol, Target, Workload, WorkloadSpec, instance_of};
use clap::Parser;

/// Remote-write load generator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Remote write endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9009/api/v1/write")]
    url: String,
    /// Number of series.
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Hours of data.
    #[arg(long, default_value_t = 4.0)]
    hours: f64,
    /// Scrape interval (`15s`, `500ms`, `1m`).
    #[arg(long, default_value = "15s")]
    interval: String,
    /// First timestamp: unix seconds or milliseconds; default now minus `hours`.
    #[arg(long)]
    start: Option<i64>,
    /// Concurrent HTTP/1.1 keep-alive connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Series per request.
    #[arg(long, default_value_t = 2000)]
    batch_series: usize,
    /// Consecutive scrapes per series in one request.
    #[arg(long, default_value_t = 1)]
    steps_per_request: usize,
    /// Remote write version.
    #[arg(long, default_value = "v1", value_parser = ["v1", "v2"])]
    protocol: String,
    /// Seed of the data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Retries per request on 5xx, 429 or a connection error.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Encode and compress without sending (the generator's own cost).
    #[arg(long)]
    dry_run: bool,
    /// Progress line every this many seconds (0: none).
    #[arg(long, default_value_t = 10)]
    progress_s: u64,
}

fn parse_interval(s: &str) -> anyhow::Result<i64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        bail!("interval {s:?}: expected a number with ms, s or m");
    };
    let n: i64 = num.parse().with_context(|| format!("interval {s:?}"))?;
    if n <= 0 {
        bail!("interval {s:?} must be positive");
    }
    Ok(n * mult)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let interval_ms = parse_interval(&args.interval)?;
    if args.hours.is_nan() || args.hours <= 0.0 {
        bail!("--hours {} must be positive", args.hours);
    }
    let steps = (args.hours * 3_600_000.0 / interval_ms as f64).round() as u64;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let start_ms = match args.start {
        Some(s) if s < 100_000_000_000 => s * 1000,
        Some(ms) => ms,
        None => {
            let s = now_ms - (args.hours * 3_600_000.0) as i64;
            s - s.rem_euclid(interval_ms)
        }
    };
    let spec = WorkloadSpec {
        series: args.series,
        seed: args.seed,
        interval_ms,
        start_ms,
    };
    let built = Instant::now();
    let workload = Workload::new(spec);
    println!(
        "workload: {} series on {} hosts, {} steps of {} ms from {} ms: {} samples (built in {:.1?})",
        workload.len(),
        workload.hosts(),
        steps,
        interval_ms,
        start_ms,
        workload.len() as u64 * steps,
        built.elapsed()
    );
    println!(
        "example series: node_cpu_seconds_total{{instance=\"{}\",cpu=\"0\",mode=\"idle\"}}",
        instance_of(0)
    );
    let protocol = if args.protocol == "v2" {
        Protocol::V2
    } else {
        Protocol::V1
    };
    let config = LoadConfig {
        target: Target::parse(&args.url)?,
        connections: args.connections,
        batch_series: args.batch_series,
        steps_per_request: args.steps_per_request,
        steps,
        protocol,
        max_retries: args.max_retries,
        request_timeout: Duration::from_secs(args.timeout_s),
        dry_run: args.dry_run,
    };
    let started = Instant::now();
    let mut last_print = Instant::now();
    let every = Duration::from_secs(args.progress_s);
    let report = cairn_benches::run(workload, spec, config, |step, r| {
        if args.progress_s > 0 && last_print.elapsed() >= every {
            last_print = Instant::now();
            let s = started.elapsed().as_secs_f64();
            eprintln!(
                "progress: step {step}/{steps}, {} samples ok, {:.0} samples/s, {} failed, {} retries",
                r.samples_ok,
                r.samples_ok as f64 / s,
                r.samples_failed,
                r.retries
            );
        }
    })
    .await?;
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        report.samples_ok as f64 / secs
    } else {
        0.0
    };
    println!(
        "samples sent: {} in {:.2} s = {:.0} samples/s ({} requests ok, {} 4xx, {} given up, {} retries, {} failed samples; {:.1} MB protobuf, {:.1} MB snappy)",
        report.samples_ok,
        secs,
        rate,
        report.requests_ok,
        report.requests_4xx,
        report.requests_given_up,
        report.retries,
        report.samples_failed,
        report.bytes_raw as f64 / 1e6,
        report.bytes_sent as f64 / 1e6
    );
    let last_ms = start_ms + (steps.saturating_sub(1) as i64) * interval_ms + interval_ms;
    println!(
        "RESULT samples_ok={} samples_failed={} elapsed_s={secs:.3} samples_per_s={rate:.0} requests_ok={} requests_4xx={} given_up={} retries={} bytes_raw={} bytes_sent={} series={} start_ms={start_ms} end_ms={last_ms}",
        report.samples_ok,
        report.samples_failed,
        report.requests_ok,
        report.requests_4xx,
        report.requests_given_up,
        report.retries,
        report.bytes_raw,
        report.bytes_sent,
        args.series,
    );
    if report.samples_failed > 0 {
        std::process::exit(2);
    }
    Ok(())
}
