//! Pushes the generated Kubernetes log corpus to a Loki push endpoint (Cairn, Loki or any
//! receiver of `POST /loki/api/v1/push`), in time order per stream.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use cairn_benches::{
    Corpus, CorpusSpec, Format, LineCache, LogLoadConfig, NEEDLE, NEEDLE_ONE_IN, PushFormat,
    Target, cpu_seconds, run_logs,
};
use clap::Parser;

/// Loki push load generator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Push endpoint.
    #[arg(long, default_value = "http://127.0.0.1:3100/loki/api/v1/push")]
    url: String,
    /// Raw line bytes to generate, in GB (10^9 bytes); the corpus lands within a few
    /// percent of it (the exact figure is printed).
    #[arg(long, default_value_t = 10.0)]
    gigabytes: f64,
    /// Hours of data, ending at `--end`.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// End of the window: unix seconds, milliseconds or nanoseconds; default now, rounded
    /// down to the minute.
    #[arg(long)]
    end: Option<i64>,
    /// Clusters (1 to 6).
    #[arg(long, default_value_t = 3)]
    clusters: usize,
    /// Seed of the corpus.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent connections (one agent each).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Raw line bytes per request (Promtail's `batchsize`).
    #[arg(long, default_value_t = 1 << 20)]
    batch_bytes: u64,
    /// Body encoding.
    #[arg(long, default_value = "protobuf", value_parser = ["protobuf", "json"])]
    format: String,
    /// Tenant (`X-Scope-OrgID`).
    #[arg(long)]
    tenant: Option<String>,
    /// Retries per request on 429, 5xx or a connection error.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Slice of the window agents move through together, in seconds (0: automatic).
    #[arg(long, default_value_t = 0)]
    slice_s: u64,
    /// Generate, encode and compress without sending (the loader's own cost).
    #[arg(long)]
    dry_run: bool,
    /// Progress line every this many seconds (0: none).
    #[arg(long, default_value_t = 10)]
    progress_s: u64,
    /// Kernel clock ticks per second, for the CPU figure.
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Print the plan (streams by format, expected lines) and exit.
    #[arg(long)]
    plan_only: bool,
    /// Print this many lines of one stream of each container kind, and exit.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Walk the whole corpus counting the information its generator put into it (random
    /// bits as the lines and timestamps show them), print the lower bound on stored bytes
    /// per raw byte that follows, and exit.
    #[arg(long)]
    info: bool,
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
    if args.gigabytes.is_nan() || args.gigabytes <= 0.0 || args.hours.is_nan() || args.hours <= 0.0
    {
        bail!("--gigabytes and --hours must be positive");
    }
    if args.clusters == 0 || args.clusters > 6 {
        bail!("--clusters must be between 1 and 6");
    }
    let end_ns = match args.end {
        Some(t) => to_ns(t),
        None => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as i64;
            now - now.rem_euclid(60_000_000_000)
        }
    };
    let spec = CorpusSpec {
        seed: args.seed,
        start_ns: end_ns - (args.hours * 3.6e12) as i64,
        end_ns,
        target_bytes: (args.gigabytes * 1e9) as u64,
        clusters: args.clusters,
    };
    let cpu0 = cpu_seconds(None, args.clk_tck).unwrap_or(0.0);
    let built = Instant::now();
    let corpus = Arc::new(Corpus::new(spec));
    let plan_cpu = cpu_seconds(None, args.clk_tck).unwrap_or(0.0) - cpu0;
    let mut by_format = [(0usize, 0f64); 3];
    for (i, s) in corpus.streams().iter().enumerate() {
        let f = match s.format() {
            Format::Nginx => 0,
            Format::Json => 1,
            Format::Logfmt => 2,
        };
        by_format[f].0 += 1;
        by_format[f].1 += corpus.expected_lines(i);
    }
    let nodes = corpus
        .streams()
        .iter()
        .map(|s| s.node)
        .max()
        .map_or(0, |n| n + 1);
    println!(
        "corpus: {} streams on {} nodes in {} clusters, {:.0} to {:.0} ns ({} h), expected {:.0} lines, target {:.2} GB raw (planned in {:.1?}); streams/lines by format: nginx {} / {:.0}, json {} / {:.0}, logfmt {} / {:.0}; needle {NEEDLE:?} in 1 of {NEEDLE_ONE_IN} lines",
        corpus.streams().len(),
        nodes,
        args.clusters,
        spec.start_ns as f64,
        spec.end_ns as f64,
        args.hours,
        by_format.iter().map(|f| f.1).sum::<f64>(),
        args.gigabytes,
        built.elapsed(),
        by_format[0].0,
        by_format[0].1,
        by_format[1].0,
        by_format[1].1,
        by_format[2].0,
        by_format[2].1,
    );
    if args.sample > 0 {
        let mut seen = std::collections::BTreeSet::new();
        let mut cache = LineCache::default();
        let mut buf = Vec::new();
        for (i, s) in corpus.streams().iter().enumerate() {
            let kind = (s.label("namespace"), s.label("container"));
            if !seen.insert(kind) {
                continue;
            }
            println!("{}", s.selector);
            let mut c = corpus.cursor(i);
            for _ in 0..args.sample {
                if !corpus.advance(&mut c) {
                    break;
                }
                buf.clear();
                corpus.write(&mut c, &mut cache, &mut buf);
                println!("  {} {}", c.ts_ns, String::from_utf8_lossy(&buf));
            }
        }
        return Ok(());
    }
    if args.info {
        print_info(&corpus);
        return Ok(());
    }
    if args.plan_only {
        // Streams and expected raw share per workload.
        let mut apps: std::collections::BTreeMap<(String, String), (usize, f64)> =
            std::collections::BTreeMap::new();
        for (i, s) in corpus.streams().iter().enumerate() {
            let key = (
                s.label("namespace").unwrap_or("").to_string(),
                s.label("container").unwrap_or("").to_string(),
            );
            let e = apps.entry(key).or_default();
            e.0 += 1;
            e.1 += corpus.expected_lines(i);
        }
        for ((ns, c), (n, lines)) in apps {
            println!("  {ns}/{c}: {n} streams, {lines:.0} lines");
        }
        for frac in [0.0, 0.25, 0.5, 0.75] {
            let t = spec.start_ns + ((spec.end_ns - spec.start_ns) as f64 * frac) as i64;
            let alive = corpus
                .streams()
                .iter()
                .filter(|s| s.birth_ns <= t && t < s.death_ns)
                .count();
            println!("  streams alive at {t}: {alive}");
        }
        return Ok(());
    }
    let n_streams = corpus.streams().len();
    let config = LogLoadConfig {
        target: Target::parse(&args.url)?,
        connections: args.connections,
        batch_bytes: args.batch_bytes,
        format: if args.format == "json" {
            PushFormat::Json
        } else {
            PushFormat::Protobuf
        },
        max_retries: args.max_retries,
        request_timeout: Duration::from_secs(args.timeout_s),
        dry_run: args.dry_run,
        tenant: args.tenant.clone(),
        slice_ns: (args.slice_s as i64).saturating_mul(1_000_000_000),
        max_skew_slices: 2,
    };
    let every = Duration::from_secs(args.progress_s.max(1));
    let quiet = args.progress_s == 0;
    let report = run_logs(corpus, config, every, |r| {
        if !quiet {
            let s = r.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "progress: {:.0} s, {} lines ok, {:.1} MB raw ({:.1} MB/s), {} failed, {} retries",
                s,
                r.lines_ok,
                r.bytes_ok as f64 / 1e6,
                r.bytes_ok as f64 / 1e6 / s,
                r.lines_failed,
                r.retries
            );
        }
    })
    .await?;
    let cpu = cpu_seconds(None, args.clk_tck).unwrap_or(0.0) - cpu0 - plan_cpu;
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let mb = report.bytes_ok as f64 / 1e6;
    println!(
        "{} {} lines, {:.1} MB raw in {:.2} s = {:.1} MB/s ({:.0} lines/s); loader CPU {:.2} s = {:.1} MB/s per core ({:.2} s in snappy); {} requests ok, {} 4xx, {} given up, {} retries; {:.1} MB bodies, {:.1} MB on the wire",
        if args.dry_run {
            "generated (dry run)"
        } else {
            "sent"
        },
        report.lines_ok,
        mb,
        secs,
        mb / secs,
        report.lines_ok as f64 / secs,
        cpu,
        if cpu > 0.0 { mb / cpu } else { 0.0 },
        report.compress.as_secs_f64(),
        report.requests_ok,
        report.requests_4xx,
        report.requests_given_up,
        report.retries,
        report.body_bytes as f64 / 1e6,
        report.wire_bytes as f64 / 1e6,
    );
    println!(
        "RESULT lines_ok={} bytes_ok={} lines_failed={} bytes_failed={} requests_ok={} requests_4xx={} given_up={} retries={} body_bytes={} wire_bytes={} elapsed_s={secs:.3} mb_per_s={:.2} loader_cpu_s={cpu:.2} loader_mb_per_cpu_s={:.1} snappy_s={:.2} plan_cpu_s={plan_cpu:.2} streams={} start_ns={} end_ns={} seed={} clusters={} target_bytes={} dry_run={}",
        report.lines_ok,
        report.bytes_ok,
        report.lines_failed,
        report.bytes_failed,
        report.requests_ok,
        report.requests_4xx,
        report.requests_given_up,
        report.retries,
        report.body_bytes,
        report.wire_bytes,
        mb / secs,
        if cpu > 0.0 { mb / cpu } else { 0.0 },
        report.compress.as_secs_f64(),
        n_streams,
        spec.start_ns,
        spec.end_ns,
        spec.seed,
        spec.clusters,
        spec.target_bytes,
        args.dry_run,
    );
    if report.lines_failed > 0 {
        std::process::exit(2);
    }
    Ok(())
}

/// Lines, raw bytes, timestamp bits and line bits of one format.
#[derive(Default, Clone, Copy)]
struct Info {
    lines: u64,
    bytes: u64,
    time_bits: f64,
    line_bits: f64,
}

impl Info {
    fn add(&mut self, o: &Info) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.time_bits += o.time_bits;
        self.line_bits += o.line_bits;
    }

    fn row(&self, name: &str) {
        let bits = self.time_bits + self.line_bits;
        let n = self.lines.max(1) as f64;
        println!(
            "| {name} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.4} | {:.1} |",
            self.lines,
            self.bytes,
            self.bytes as f64 / n,
            self.time_bits / n,
            self.line_bits / n,
            bits / 8.0 / n,
            bits / 8.0 / self.bytes.max(1) as f64,
            self.bytes as f64 * 8.0 / bits.max(1.0),
        );
    }
}

/// Walks every stream with a counting cursor (two threads) and prints the information
/// content of the corpus by format.
fn print_info(corpus: &Corpus) {
    let n = corpus.streams().len();
    let walk = |part: usize, parts: usize| {
        let mut by = [Info::default(); 3];
        let mut cache = LineCache::default();
        let mut buf = Vec::new();
        for i in (part..n).step_by(parts) {
            let f = match corpus.streams()[i].format() {
                Format::Nginx => 0,
                Format::Json => 1,
                Format::Logfmt => 2,
            };
            let mut c = corpus.tracking_cursor(i);
            let mut info = Info::default();
            while corpus.advance(&mut c) {
                buf.clear();
                corpus.write(&mut c, &mut cache, &mut buf);
                info.lines += 1;
                info.bytes += buf.len() as u64;
            }
            info.time_bits = c.time_info_bits();
            info.line_bits = c.line_info_bits();
            by[f].add(&info);
        }
        by
    };
    let parts = std::thread::available_parallelism().map_or(1, |p| p.get().min(4));
    let results: Vec<[Info; 3]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..parts)
            .map(|p| s.spawn(move || walk(p, parts)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut by = [Info::default(); 3];
    for r in &results {
        for (a, b) in by.iter_mut().zip(r) {
            a.add(b);
        }
    }
    let mut all = Info::default();
    for b in &by {
        all.add(b);
    }
    println!(
        "| format | lines | raw bytes | bytes/line | timestamp bits/line | line bits/line | information bytes/line | bound: bytes per raw byte | bound: ratio |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    by[0].row("nginx");
    by[1].row("json");
    by[2].row("logfmt");
    all.row("all");
    let bits = all.time_bits + all.line_bits;
    println!(
        "RESULT lines={} raw_bytes={} time_bits={:.0} line_bits={:.0} info_bytes={:.0} bound_bytes_per_raw_byte={:.5}",
        all.lines,
        all.bytes,
        all.time_bits,
        all.line_bits,
        bits / 8.0,
        bits / 8.0 / all.bytes.max(1) as f64
    );
}
