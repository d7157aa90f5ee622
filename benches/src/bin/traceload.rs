//! Sends the generated trace corpus to an OTLP/HTTP traces endpoint (`POST /v1/traces`,
//! protobuf, gzip) and writes the expectations the query checker (`traceq`) verifies.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use cairn_benches::{
    ERROR_SERVICE, Target, TraceLoadConfig, TracePlan, TraceSpec, cpu_seconds, run_traces,
    service_names,
};
use clap::Parser;

/// OTLP trace load generator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The OTLP/HTTP traces endpoint.
    #[arg(long, default_value = "http://127.0.0.1:4318/v1/traces")]
    url: String,
    /// Millions of spans to generate (the corpus lands within a few percent; the exact
    /// count is printed).
    #[arg(long, default_value_t = 20.0)]
    mspans: f64,
    /// Hours of data, ending at `--end`.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// End of the window: unix seconds, milliseconds or nanoseconds; default now, rounded
    /// down to the minute.
    #[arg(long)]
    end: Option<i64>,
    /// Seed of the corpus.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent connections (one Collector each).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Spans per request (the batch processor's `send_batch_size`).
    #[arg(long, default_value_t = 1000)]
    batch_spans: usize,
    /// Body compression.
    #[arg(long, default_value = "gzip", value_parser = ["gzip", "none"])]
    compression: String,
    /// Tenant (`X-Scope-OrgID`).
    #[arg(long)]
    tenant: Option<String>,
    /// Retries per request on 429, 502, 503, 504 or a connection error.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Generate, encode and compress without sending (the loader's own cost).
    #[arg(long)]
    dry_run: bool,
    /// Where to write the expectations (JSON).
    #[arg(long)]
    expect: Option<std::path::PathBuf>,
    /// Traces to list for lookups by id.
    #[arg(long, default_value_t = 300)]
    samples: u64,
    /// The service of the `{ resource.service.name = ... && status = error }` search.
    #[arg(long, default_value = ERROR_SERVICE)]
    error_service: String,
    /// Print the plan and exit.
    #[arg(long)]
    plan_only: bool,
    /// Progress line every this many seconds (0: none).
    #[arg(long, default_value_t = 10)]
    progress_s: u64,
    /// Kernel clock ticks per second, for the CPU figure.
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

/// Unix seconds, milliseconds or nanoseconds to nanoseconds.
fn to_ns(t: i64) -> i64 {
    if t < 100_000_000_000 {
        t * 1_000_000_000
    } else if t < 100_000_000_000_000 {
        t * 1_000_000
    } else {
        t
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.mspans > 0.0 && args.hours > 0.0) {
        bail!("--mspans and --hours must be positive");
    }
    if !service_names().contains(&args.error_service.as_str()) {
        bail!(
            "--error-service {}: not a service of the corpus ({})",
            args.error_service,
            service_names().join(", ")
        );
    }
    let end_ns = match args.end {
        Some(t) => to_ns(t),
        None => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as i64;
            now - now.rem_euclid(60_000_000_000)
        }
    };
    let spec = TraceSpec {
        seed: args.seed,
        start_ns: end_ns - (args.hours * 3.6e12) as i64,
        end_ns,
        target_spans: (args.mspans * 1e6) as u64,
        samples: args.samples,
    };
    let cpu0 = cpu_seconds(None, args.clk_tck).unwrap_or(0.0);
    let plan = Arc::new(TracePlan::new(spec));
    let plan_cpu = cpu_seconds(None, args.clk_tck).unwrap_or(0.0) - cpu0;
    println!(
        "corpus: {} traces of {:.1} spans on average (about {:.0} spans), {} services, {} to {} ns ({} h), seed {}",
        plan.traces,
        plan.mean_spans,
        plan.traces as f64 * plan.mean_spans,
        service_names().len(),
        spec.start_ns,
        spec.end_ns,
        args.hours,
        spec.seed,
    );
    if args.plan_only {
        return Ok(());
    }
    let config = TraceLoadConfig {
        target: Target::parse(&args.url)?,
        connections: args.connections,
        batch_spans: args.batch_spans,
        gzip: args.compression == "gzip",
        max_retries: args.max_retries,
        request_timeout: Duration::from_secs(args.timeout_s),
        dry_run: args.dry_run,
        tenant: args.tenant.clone(),
        error_service: args.error_service.clone(),
    };
    let quiet = args.progress_s == 0;
    let (report, expect) = run_traces(
        Arc::clone(&plan),
        config,
        Duration::from_secs(args.progress_s.max(1)),
        |r| {
            if !quiet {
                let s = r.elapsed.as_secs_f64().max(1e-9);
                eprintln!(
                    "progress: {s:.0} s, {} spans ok ({:.0}/s), {} failed, {} retries",
                    r.spans_ok,
                    r.spans_ok as f64 / s,
                    r.spans_failed,
                    r.retries
                );
            }
        },
    )
    .await?;
    let cpu = cpu_seconds(None, args.clk_tck).unwrap_or(0.0) - cpu0 - plan_cpu;
    if let Some(path) = &args.expect {
        std::fs::write(path, serde_json::to_vec_pretty(&expect)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let spans = report.spans_ok + report.spans_failed;
    println!(
        "{} {} spans of {} traces ({:.2}% errors) in {secs:.2} s = {:.0} spans/s; loader CPU {cpu:.2} s = {:.0} spans/s per core ({:.2} s in gzip); {} requests ok, {} refused, {} given up, {} retries; {:.1} MB protobuf, {:.1} MB on the wire ({:.0} / {:.0} bytes per span)",
        if args.dry_run {
            "generated (dry run)"
        } else {
            "sent"
        },
        report.spans_ok,
        expect.traces,
        100.0 * expect.error_spans as f64 / expect.spans.max(1) as f64,
        report.spans_ok as f64 / secs,
        if cpu > 0.0 { spans as f64 / cpu } else { 0.0 },
        report.gzip.as_secs_f64(),
        report.requests_ok,
        report.requests_refused,
        report.requests_given_up,
        report.retries,
        report.body_bytes as f64 / 1e6,
        report.wire_bytes as f64 / 1e6,
        report.body_bytes as f64 / spans.max(1) as f64,
        report.wire_bytes as f64 / spans.max(1) as f64,
    );
    println!(
        "RESULT spans_ok={} spans_failed={} traces={} error_spans={} requests_ok={} refused={} given_up={} retries={} body_bytes={} wire_bytes={} elapsed_s={secs:.3} spans_per_s={:.0} loader_cpu_s={cpu:.2} loader_spans_per_cpu_s={:.0} gzip_s={:.2} plan_cpu_s={plan_cpu:.2} start_ns={} end_ns={} seed={} dry_run={}",
        report.spans_ok,
        report.spans_failed,
        expect.traces,
        expect.error_spans,
        report.requests_ok,
        report.requests_refused,
        report.requests_given_up,
        report.retries,
        report.body_bytes,
        report.wire_bytes,
        report.spans_ok as f64 / secs,
        if cpu > 0.0 { spans as f64 / cpu } else { 0.0 },
        report.gzip.as_secs_f64(),
        spec.start_ns,
        spec.end_ns,
        spec.seed,
        args.dry_run,
    );
    if report.spans_failed > 0 {
        std::process::exit(2);
    }
    Ok(())
}
