//! Trace query benchmark driver: looks traces up by id (`/api/traces/<id>`) and runs the
//! benchmark's TraceQL searches (`/api/search`) against a Tempo-compatible API loaded by
//! `traceload`, times them (warm-up runs, then timed runs on one keep-alive connection, to
//! the last body byte), measures the server's CPU from `/proc/PID/stat`, checks every
//! answer against the expectations `traceload` wrote, and prints `RESULT` lines and a
//! Markdown table. Exits with 1 when an answer is wrong or an endpoint is missing.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use cairn_benches::{Connection, Target, TraceExpect, cpu_seconds, ms, percent_encode, quantile};
use cairn_wire::{TraceDecodeLimits, decode_otlp_traces};
use clap::Parser;
use hyper::{Method, StatusCode};
use serde_json::Value as Json;

/// Times trace lookups and TraceQL searches and checks their answers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Base URL of the Tempo API.
    #[arg(long, default_value = "http://127.0.0.1:3200")]
    url: String,
    /// The expectations `traceload --expect` wrote.
    #[arg(long)]
    expect: std::path::PathBuf,
    /// PID of the server, to measure its CPU time.
    #[arg(long)]
    pid: Option<u32>,
    /// Tenant (`X-Scope-OrgID`).
    #[arg(long)]
    tenant: Option<String>,
    /// Traces to look up (at most the samples in the expectations).
    #[arg(long, default_value_t = 300)]
    lookups: usize,
    /// Ask for trace lookups in this encoding.
    #[arg(long, default_value = "protobuf", value_parser = ["protobuf", "json"])]
    accept: String,
    /// Timed runs per search.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Untimed runs before them (for lookups: passes over the first ten ids).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// The `limit` of the searches: large enough to return every match.
    #[arg(long, default_value_t = 100_000)]
    limit: usize,
    /// Timeout of one request in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_s: u64,
    /// Only `lookup` or the searches with these names.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Kernel clock ticks per second (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

/// Counts the spans of a trace-by-id answer: OTLP `TracesData` protobuf, or Tempo's JSON
/// (`batches` in v1, `trace.resourceSpans` in v2, `resourceSpans` as OTLP/JSON writes).
fn count_spans(content_type: &str, body: &[u8]) -> anyhow::Result<u64> {
    if content_type.contains("protobuf") {
        let d = decode_otlp_traces(
            Some("application/x-protobuf"),
            body,
            &TraceDecodeLimits::unlimited(),
        )
        .context("undecodable protobuf trace")?;
        return Ok(d.batch.span_count() as u64 + d.report.rejected_spans);
    }
    let v: Json = serde_json::from_slice(body).context("undecodable JSON trace")?;
    let root = v.get("trace").unwrap_or(&v);
    let batches = root
        .get("batches")
        .or_else(|| root.get("resourceSpans"))
        .and_then(Json::as_array)
        .context("no batches or resourceSpans in the answer")?;
    let mut n = 0;
    for b in batches {
        let scopes = b
            .get("scopeSpans")
            .or_else(|| b.get("instrumentationLibrarySpans"))
            .and_then(Json::as_array);
        for s in scopes.into_iter().flatten() {
            n += s.get("spans").and_then(Json::as_array).map_or(0, Vec::len) as u64;
        }
    }
    Ok(n)
}

/// The distinct trace ids of a search answer.
fn search_ids(body: &[u8]) -> anyhow::Result<HashSet<String>> {
    let v: Json = serde_json::from_slice(body).context("undecodable search answer")?;
    let traces = v
        .get("traces")
        .and_then(Json::as_array)
        .context("no traces array in the search answer")?;
    traces
        .iter()
        .map(|t| {
            t.get("traceID")
                .and_then(Json::as_str)
                // Tempo trims leading zeros of ids; compare them trimmed.
                .map(|s| s.trim_start_matches('0').to_ascii_lowercase())
                .context("a trace without traceID")
        })
        .collect()
}

struct Client {
    conn: Connection,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

impl Client {
    async fn get(&mut self, path: &str, extra: &[(&str, &str)]) -> Answer {
        let mut h: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        h.extend_from_slice(extra);
        let t = Instant::now();
        let r = self
            .conn
            .request(Method::GET, Some(path), &h, Bytes::new(), self.timeout)
            .await?;
        let took = t.elapsed();
        // The loader's Response keeps no headers; sniff the body instead.
        let ct = if r.body.first() == Some(&b'{') {
            "application/json"
        } else {
            "application/protobuf"
        };
        Ok((r.status, ct.to_string(), r.body, took))
    }
}

type Answer = anyhow::Result<(StatusCode, String, Bytes, Duration)>;

/// Checks a lookup's answer against the expected span count; returns its time when the
/// server answered 2xx, and notes what was wrong in `bad`.
fn check_lookup(id: &str, want: u64, got: Answer, bad: &mut Vec<String>) -> Option<Duration> {
    match got {
        Ok((s, ct, body, took)) if s.is_success() => {
            match count_spans(&ct, &body) {
                Ok(n) if n == want => {}
                Ok(n) => bad.push(format!("{id}: {n} spans, want {want}")),
                Err(e) => bad.push(format!("{id}: {e:#}")),
            }
            Some(took)
        }
        Ok((s, _, body, _)) => {
            bad.push(format!(
                "{id}: {s} {}",
                String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
            ));
            None
        }
        Err(e) => {
            bad.push(format!("{id}: {e:#}"));
            None
        }
    }
}

/// A rate with a k or M suffix and three significant digits or so.
fn per_second(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn cpu(pid: Option<u32>, tck: u64) -> Option<f64> {
    pid.and_then(|p| cpu_seconds(Some(p), tck))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let expect: TraceExpect = serde_json::from_slice(
        &std::fs::read(&args.expect)
            .with_context(|| format!("reading {}", args.expect.display()))?,
    )
    .with_context(|| format!("parsing {}", args.expect.display()))?;
    let target = Target::parse(&args.url)?;
    let mut headers = Vec::new();
    if let Some(t) = &args.tenant {
        headers.push(("x-scope-orgid".to_string(), t.clone()));
    }
    let mut client = Client {
        conn: Connection::new(target),
        headers,
        timeout: Duration::from_secs(args.timeout_s),
    };
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let accept = if args.accept == "json" {
        "application/json"
    } else {
        "application/protobuf"
    };
    let mut wrong = 0usize;
    let mut rows = Vec::new();

    if wanted("lookup") {
        let samples: Vec<_> = expect.samples.iter().take(args.lookups).collect();
        let mut bad = Vec::new();
        for _ in 0..args.warmup {
            for s in samples.iter().take(10) {
                let r = client
                    .get(
                        &format!("/api/traces/{}", s.trace_id),
                        &[("accept", accept)],
                    )
                    .await;
                check_lookup(&s.trace_id, s.spans, r, &mut bad);
            }
        }
        bad.clear();
        let cpu0 = cpu(args.pid, args.clk_tck);
        let mut times = Vec::new();
        for s in &samples {
            let r = client
                .get(
                    &format!("/api/traces/{}", s.trace_id),
                    &[("accept", accept)],
                )
                .await;
            if let Some(t) = check_lookup(&s.trace_id, s.spans, r, &mut bad) {
                times.push(t);
            }
        }
        let cpu_per = cpu0
            .zip(cpu(args.pid, args.clk_tck))
            .map(|(a, b)| format!("{:.1} ms", (b - a) * 1000.0 / samples.len().max(1) as f64))
            .unwrap_or_else(|| "-".into());
        let verdict = if bad.is_empty() && !samples.is_empty() {
            "ok".to_string()
        } else {
            wrong += 1;
            format!(
                "WRONG: {} of {} lookups ({})",
                bad.len(),
                samples.len(),
                bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            )
        };
        eprintln!("CHECK lookup {verdict}");
        let (p50, p99, max) = (
            quantile(&times, 0.5),
            quantile(&times, 0.99),
            quantile(&times, 1.0),
        );
        println!(
            "RESULT query=lookup ids={} p50_s={:.6} p99_s={:.6} max_s={:.6} cpu_per_lookup={cpu_per} check={}",
            samples.len(),
            p50.as_secs_f64(),
            p99.as_secs_f64(),
            max.as_secs_f64(),
            if bad.is_empty() { "ok" } else { "wrong" }
        );
        rows.push(format!(
            "| lookup by id (`/api/traces/<id>`, {accept}) | {} ids, {:.1} spans each on average | p50 {}, p99 {}, max {} | {cpu_per} per lookup | - | {verdict} |",
            samples.len(),
            samples.iter().map(|s| s.spans).sum::<u64>() as f64 / samples.len().max(1) as f64,
            ms(p50),
            ms(p99),
            ms(max),
        ));
    }

    for s in &expect.searches {
        if !wanted(&s.name) {
            continue;
        }
        let path = format!(
            "/api/search?q={}&start={}&end={}&limit={}&spss=3",
            percent_encode(&s.q),
            s.start_s,
            s.end_s,
            args.limit
        );
        let mut times = Vec::new();
        let mut cpus = Vec::new();
        let mut verdict = String::from("ok");
        let mut found = 0;
        for run in 0..args.warmup + args.runs {
            let c0 = cpu(args.pid, args.clk_tck);
            let r = client.get(&path, &[("accept", "application/json")]).await;
            let c1 = cpu(args.pid, args.clk_tck);
            let got = match r {
                Ok((st, _, body, took)) if st.is_success() => {
                    search_ids(&body).map(|ids| (ids.len(), took))
                }
                Ok((st, _, body, _))
                    if st == StatusCode::NOT_FOUND || st == StatusCode::NOT_IMPLEMENTED =>
                {
                    Err(anyhow::anyhow!(
                        "the search endpoint is not there ({st}: {})",
                        String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
                    ))
                }
                Ok((st, _, body, _)) => Err(anyhow::anyhow!(
                    "{st}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)]).trim()
                )),
                Err(e) => Err(e),
            };
            match got {
                Ok((n, took)) => {
                    found = n;
                    if n >= args.limit {
                        verdict = format!(
                            "WRONG: {n} traces fill the limit {}; raise --limit",
                            args.limit
                        );
                    } else if n as u64 != s.traces {
                        verdict = format!("WRONG: {n} traces, want {}", s.traces);
                    }
                    if run >= args.warmup {
                        times.push(took);
                        if let (Some(a), Some(b)) = (c0, c1) {
                            cpus.push(b - a);
                        }
                    }
                }
                Err(e) => {
                    verdict = format!("WRONG: {e:#}");
                    break;
                }
            }
            if verdict != "ok" {
                break;
            }
        }
        if verdict != "ok" {
            wrong += 1;
        }
        eprintln!("CHECK query={} {verdict}", s.name);
        let cpu_run = if cpus.is_empty() {
            None
        } else {
            Some(cpus.iter().sum::<f64>() / cpus.len() as f64)
        };
        let rate = cpu_run
            .filter(|c| *c > 0.0)
            .map(|c| per_second(s.window_spans as f64 / c))
            .unwrap_or_else(|| "-".into());
        let (p50, p90) = (quantile(&times, 0.5), quantile(&times, 0.9));
        println!(
            "RESULT query={} median_s={:.6} p90_s={:.6} runs={} cpu_s_per_run={} found={found} expected={} window_spans={} check={}",
            s.name,
            p50.as_secs_f64(),
            p90.as_secs_f64(),
            times.len(),
            cpu_run.map_or("-".into(), |c| format!("{c:.3}")),
            s.traces,
            s.window_spans,
            if verdict == "ok" { "ok" } else { "wrong" }
        );
        rows.push(format!(
            "| `{}` over {} | {} traces expected, {found} found | median {}, p90 {} | {} per run | {rate} spans/s per core | {verdict} |",
            // A pipe inside a Markdown table cell ends the cell unless escaped.
            s.q.replace('|', "\\|"),
            s.name.rsplit('_').next().unwrap_or(""),
            s.traces,
            ms(p50),
            ms(p90),
            cpu_run.map_or("-".into(), |c| format!("{c:.2} s")),
        ));
    }
    println!();
    println!("| query | answer | time | server CPU | window spans per CPU-s | check |");
    println!("| --- | --- | --- | ---: | ---: | --- |");
    for r in &rows {
        println!("{r}");
    }
    if wrong > 0 {
        eprintln!("{wrong} lookups or searches gave a wrong answer or failed");
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_spans_of_every_answer_shape() {
        let v1 =
            br#"{"batches":[{"resource":{},"scopeSpans":[{"spans":[{},{}]},{"spans":[{}]}]}]}"#;
        assert_eq!(count_spans("application/json", v1).expect("v1"), 3);
        let v2 =
            br#"{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]},{"scopeSpans":[]}]}}"#;
        assert_eq!(count_spans("application/json", v2).expect("v2"), 1);
        assert!(count_spans("application/json", b"{}").is_err());
        assert!(count_spans("application/protobuf", b"\xff\xff").is_err());
    }

    #[test]
    fn search_answers_count_distinct_trimmed_ids() {
        let body =
            br#"{"traces":[{"traceID":"00ab"},{"traceID":"AB"},{"traceID":"cd"}],"metrics":{}}"#;
        assert_eq!(search_ids(body).expect("ids").len(), 2);
        assert!(search_ids(br#"{"metrics":{}}"#).is_err());
    }

    #[test]
    fn rates_keep_their_digits() {
        assert_eq!(per_second(125_900.0), "125.9 k");
        assert_eq!(per_second(12_345_678.0), "12.35 M");
        assert_eq!(per_second(42.0), "42");
    }
}
