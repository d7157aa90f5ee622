//! Times the read side of a system under test: the series list, one series by remote read,
//! or one series by VictoriaMetrics' export API.

use std::time::Duration;

use anyhow::{Context, bail};
use cairn_benches::{Connection, Target, Timing, percent_encode, remote_read, time_get};
use cairn_model::{MatchOp, Matcher};
use clap::{Parser, Subcommand};

/// Read-side probes.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:9009")]
    url: String,
    /// First millisecond of the range.
    #[arg(long)]
    start_ms: i64,
    /// Last millisecond of the range.
    #[arg(long)]
    end_ms: i64,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Timeout of one run in seconds.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// `GET /api/v1/series?match[]={__name__=~".+"}` over the range.
    Series,
    /// `POST /api/v1/read` (SAMPLES) of the series given by `--match name=value` pairs.
    Read {
        /// `name=value` equality matchers.
        #[arg(long = "match", required = true)]
        matchers: Vec<String>,
        /// Path of the remote read endpoint.
        #[arg(long, default_value = "/api/v1/read")]
        path: String,
    },
    /// `GET /api/v1/export` (VictoriaMetrics' JSON lines) of one series selector.
    Export {
        /// A series selector, e.g. `{__name__="up",instance="10.0.0.1:9100"}`.
        #[arg(long)]
        selector: String,
    },
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn report(what: &str, t: &Timing, series: usize, samples: usize) {
    println!(
        "RESULT probe={what} median_s={:.4} min_s={:.4} runs={} bytes={} series={series} samples={samples}",
        t.median().as_secs_f64(),
        t.min().as_secs_f64(),
        t.runs.len(),
        t.bytes
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = Target::parse(&args.url)?;
    let mut conn = Connection::new(base.clone());
    let timeout = Duration::from_secs(args.timeout_s);
    let range = format!(
        "start={}&end={}",
        seconds(args.start_ms),
        seconds(args.end_ms)
    );
    match args.what {
        What::Series => {
            let path = format!(
                "/api/v1/series?match[]={}&{range}",
                percent_encode("{__name__=~\".+\"}")
            );
            let t = time_get(&mut conn, &path, args.repeat, timeout).await?;
            // Every series object carries exactly one metric name.
            let series = memchr_count(&t.body, b"\"__name__\"");
            report("series", &t, series, 0);
        }
        What::Read { matchers, path } => {
            let mut ms = Vec::new();
            for m in &matchers {
                let (n, v) = m
                    .split_once('=')
                    .with_context(|| format!("matcher {m:?}: expected name=value"))?;
                ms.push(
                    Matcher::new(MatchOp::Equal, n, v).with_context(|| format!("matcher {m:?}"))?,
                );
            }
            let r = remote_read(
                &mut conn,
                &path,
                ms,
                args.start_ms,
                args.end_ms,
                args.repeat,
                timeout,
            )
            .await?;
            report("read", &r.timing, r.series, r.samples);
        }
        What::Export { selector } => {
            let path = format!(
                "/api/v1/export?match[]={}&{range}",
                percent_encode(&selector)
            );
            let t = time_get(&mut conn, &path, args.repeat, timeout).await?;
            let text = String::from_utf8_lossy(&t.body);
            let mut series = 0;
            let mut samples = 0;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                series += 1;
                let Some(i) = line.find("\"timestamps\":[") else {
                    bail!(
                        "export line without timestamps: {}",
                        &line[..line.len().min(200)]
                    );
                };
                let rest = &line[i + 14..];
                let list = &rest[..rest.find(']').unwrap_or(rest.len())];
                if !list.trim().is_empty() {
                    samples += list.split(',').count();
                }
            }
            report("export", &t, series, samples);
        }
    }
    Ok(())
}

fn memchr_count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}
