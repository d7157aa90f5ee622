//! Log query benchmark driver: runs the benchmark's LogQL queries against a Loki-compatible
//! query API loaded by `logload`, times them (warm-up runs, then timed runs on one
//! keep-alive connection, to the last body byte; median and p90), measures the server's CPU
//! per run from `/proc/PID/stat`, checks every answer against the one the corpus defines,
//! and prints `RESULT` lines and a Markdown table. Exits with 1 when an answer is wrong.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use cairn_benches::{
    Connection, Corpus, CorpusSpec, Expected, JSON_NAMESPACE, LOGFMT_NAMESPACE, LogQuery,
    MetricQuery, NEEDLE, Parser as LineParser, QUERY_APP, Selector, Target, cpu_seconds,
    expected_logs, expected_metric, ms, percent_encode, quantile,
};
use clap::Parser;
use hyper::Method;
use serde_json::Value as Json;

/// Times LogQL queries and checks their answers against the corpus.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Base URL of the Loki API (`/loki/api/v1/query_range` is appended).
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    url: String,
    /// PID of the server, to measure its CPU time per query.
    #[arg(long)]
    pid: Option<u32>,
    /// Corpus: first nanosecond (logload's `start_ns`).
    #[arg(long)]
    start_ns: i64,
    /// Corpus: end nanosecond (logload's `end_ns`).
    #[arg(long)]
    end_ns: i64,
    /// Corpus: target raw bytes (logload's `target_bytes`).
    #[arg(long)]
    target_bytes: u64,
    /// Corpus: clusters.
    #[arg(long, default_value_t = 3)]
    clusters: usize,
    /// Corpus: seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tenant (`X-Scope-OrgID`).
    #[arg(long)]
    tenant: Option<String>,
    /// Timed runs per query.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Timeout of one run in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_s: u64,
    /// Only the queries with these names.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Kernel clock ticks per second (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

const MIN: i64 = 60_000_000_000;
const HOUR: i64 = 60 * MIN;
const RANGE: i64 = 5 * MIN;

#[derive(Clone)]
enum Kind {
    Log { q: LogQuery, limit: usize },
    Metric { q: MetricQuery, step: i64 },
}

struct Spec {
    name: String,
    logql: String,
    selector: Selector,
    kind: Kind,
    span: i64,
}

fn queries() -> Vec<Spec> {
    let app = Selector::App(QUERY_APP.to_string());
    let mut out = Vec::new();
    for (span, tag, step) in [(HOUR, "1h", 15_000_000_000), (24 * HOUR, "24h", 5 * MIN)] {
        for limit in [100, 5000] {
            out.push(Spec {
                name: format!("needle_limit{limit}_{tag}"),
                logql: format!("{{app=\"{QUERY_APP}\"}} |= \"{NEEDLE}\""),
                selector: app.clone(),
                kind: Kind::Log {
                    q: LogQuery::Contains(NEEDLE.to_string()),
                    limit,
                },
                span,
            });
        }
        out.push(Spec {
            name: format!("json_5xx_{tag}"),
            logql: format!("{{app=\"{QUERY_APP}\"}} | json | status >= 500"),
            selector: app.clone(),
            kind: Kind::Log {
                q: LogQuery::JsonStatusAtLeast(500.0),
                limit: 100,
            },
            span,
        });
        out.push(Spec {
            name: format!("json_5xx_count_{tag}"),
            logql: format!(
                "sum(count_over_time({{app=\"{QUERY_APP}\"}} | json | status >= 500 [5m]))"
            ),
            selector: app.clone(),
            kind: Kind::Metric {
                q: MetricQuery::CountJsonStatusAtLeast(500.0),
                step,
            },
            span,
        });
        out.push(Spec {
            name: format!("level_rate_json_{tag}"),
            logql: format!("sum by (level) (rate({{namespace=\"{JSON_NAMESPACE}\"}} | json [5m]))"),
            selector: Selector::Namespace(JSON_NAMESPACE.to_string()),
            kind: Kind::Metric {
                q: MetricQuery::RateByLevelJson,
                step,
            },
            span,
        });
        out.push(Spec {
            name: format!("level_rate_logfmt_{tag}"),
            logql: format!(
                "sum by (level) (rate({{namespace=\"{LOGFMT_NAMESPACE}\"}} | logfmt [5m]))"
            ),
            selector: Selector::Namespace(LOGFMT_NAMESPACE.to_string()),
            kind: Kind::Metric {
                q: MetricQuery::RateByLevelLogfmt,
                step,
            },
            span,
        });
    }
    out
}

fn path(spec: &Spec, end: i64) -> String {
    let start = end - spec.span;
    let q = percent_encode(&spec.logql);
    match &spec.kind {
        Kind::Log { limit, .. } => format!(
            "/loki/api/v1/query_range?query={q}&start={start}&end={end}&limit={limit}&direction=backward"
        ),
        Kind::Metric { step, .. } => format!(
            "/loki/api/v1/query_range?query={q}&start={start}&end={end}&step={}",
            step / 1_000_000_000
        ),
    }
}

/// Checks a streams answer: the right number of entries, the expected timestamps, every line
/// passing the filter. Returns (entries, verdict).
fn check_logs(
    body: &Json,
    q: &LogQuery,
    expected: &(Vec<i64>, usize),
) -> anyhow::Result<(usize, Result<(), String>)> {
    let data = &body["data"];
    if data["resultType"] != "streams" {
        bail!("resultType {} instead of streams", data["resultType"]);
    }
    let mut got = Vec::new();
    for s in data["result"].as_array().context("no result array")? {
        if s["stream"]["app"] != QUERY_APP {
            return Ok((
                0,
                Err(format!(
                    "a stream without app=\"{QUERY_APP}\": {}",
                    s["stream"]
                )),
            ));
        }
        for v in s["values"].as_array().context("no values")? {
            let ts: i64 = v[0]
                .as_str()
                .context("timestamp not a string")?
                .parse()
                .context("timestamp not an integer")?;
            let line = v[1].as_str().context("line not a string")?;
            let ok = match q {
                LogQuery::Contains(s) => line.contains(s.as_str()),
                LogQuery::JsonStatusAtLeast(n) => serde_json::from_str::<Json>(line)
                    .ok()
                    .and_then(|j| j["status"].as_f64())
                    .is_some_and(|s| s >= *n),
            };
            if !ok {
                return Ok((0, Err(format!("line does not match the query: {line}"))));
            }
            got.push(ts);
        }
    }
    let n = got.len();
    got.sort_unstable_by(|a, b| b.cmp(a));
    let (want, total) = expected;
    if got != *want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        return Ok((
            n,
            Err(format!(
                "{n} entries, expected {} (of {total} matching); first difference at {first:?}",
                want.len()
            )),
        ));
    }
    Ok((n, Ok(())))
}

/// Checks a matrix answer point by point (timestamps exact, values within 1e-9 relative).
fn check_matrix(
    body: &Json,
    expected: &BTreeMap<String, Vec<(i64, f64)>>,
) -> anyhow::Result<(usize, Result<(), String>)> {
    let data = &body["data"];
    if data["resultType"] != "matrix" {
        bail!("resultType {} instead of matrix", data["resultType"]);
    }
    let mut got: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in data["result"].as_array().context("no result array")? {
        let metric = s["metric"].as_object().context("no metric")?;
        if metric.keys().any(|k| k != "level") {
            return Ok((0, Err(format!("unexpected labels {}", s["metric"]))));
        }
        let key = metric
            .get("level")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        let mut points = Vec::new();
        for p in s["values"].as_array().context("no values")? {
            let t = p[0].as_f64().context("point time")?;
            let v: f64 = p[1]
                .as_str()
                .context("point value")?
                .parse()
                .context("point value")?;
            points.push(((t * 1e3).round() as i64 * 1_000_000, v));
        }
        got.insert(key, points);
    }
    let n = got.values().map(Vec::len).sum();
    if got.keys().ne(expected.keys()) {
        return Ok((
            n,
            Err(format!(
                "series {:?}, expected {:?}",
                got.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>()
            )),
        ));
    }
    for (k, want) in expected {
        let have = &got[k];
        if have.len() != want.len() {
            return Ok((
                n,
                Err(format!(
                    "{{level={k:?}}}: {} points, expected {}",
                    have.len(),
                    want.len()
                )),
            ));
        }
        for (a, b) in have.iter().zip(want) {
            let close = (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(b.1.abs());
            if a.0 != b.0 || !close {
                return Ok((
                    n,
                    Err(format!(
                        "{{level={k:?}}} at {}: {} , expected {} at {}",
                        a.0, a.1, b.1, b.0
                    )),
                ));
            }
        }
    }
    Ok((n, Ok(())))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spec = CorpusSpec {
        seed: args.seed,
        start_ns: args.start_ns,
        end_ns: args.end_ns,
        target_bytes: args.target_bytes,
        clusters: args.clusters,
    };
    // Queries end at the last five-minute boundary inside the data: a multiple of both steps.
    let end = (args.end_ns - 1).div_euclid(5 * MIN) * 5 * MIN;
    let built = Instant::now();
    let corpus = Corpus::new(spec);
    let from = end - 24 * HOUR - RANGE;
    let scans: Vec<(Selector, Expected)> = [
        (Selector::App(QUERY_APP.to_string()), LineParser::Json),
        (
            Selector::Namespace(JSON_NAMESPACE.to_string()),
            LineParser::Json,
        ),
        (
            Selector::Namespace(LOGFMT_NAMESPACE.to_string()),
            LineParser::Logfmt,
        ),
    ]
    .into_iter()
    .map(|(sel, p)| {
        let e = Expected::scan(&corpus, &sel, NEEDLE, p, from);
        (sel, e)
    })
    .collect();
    for (sel, e) in &scans {
        eprintln!(
            "expected answers: {sel:?}: {} streams, {} lines in the last 24 h, {} parse errors",
            e.streams,
            e.lines_between(end - 24 * HOUR, end),
            e.parse_errors
        );
        if e.parse_errors > 0 {
            bail!(
                "{sel:?}: {} lines of the corpus do not parse",
                e.parse_errors
            );
        }
    }
    eprintln!(
        "answers computed in {:.1?}; queries end at {end}",
        built.elapsed()
    );

    let mut target = Target::parse(&args.url)?;
    target.path = "/".into();
    let mut conn = Connection::new(target);
    let timeout = Duration::from_secs(args.timeout_s);
    let tenant = args.tenant.clone();
    let headers: Vec<(&str, &str)> = tenant
        .as_deref()
        .map(|t| vec![("x-scope-orgid", t)])
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut wrong = 0;
    for q in queries() {
        if !args.only.is_empty() && !args.only.contains(&q.name) {
            continue;
        }
        let exp = &scans
            .iter()
            .find(|(s, _)| *s == q.selector)
            .context("a scan per selector")?
            .1;
        let start = end - q.span;
        let (bytes, expected_n) = match &q.kind {
            Kind::Log { q: lq, limit } => {
                let e = expected_logs(exp, lq, start, end, *limit);
                (exp.bytes_between(start, end - 1, true), e.0.len())
            }
            Kind::Metric { .. } => (exp.bytes_between(start - RANGE, end, false), 0),
        };
        let p = path(&q, end);
        let mut body = Bytes::new();
        let mut runs = Vec::new();
        let mut failed = None;
        let mut cpu0 = None;
        for i in 0..args.warmup + args.runs.max(1) {
            if i == args.warmup {
                runs.clear();
                cpu0 = args
                    .pid
                    .and_then(|pid| cpu_seconds(Some(pid), args.clk_tck));
            }
            let t = Instant::now();
            let r = conn
                .request(Method::GET, Some(&p), &headers, Bytes::new(), timeout)
                .await;
            let took = t.elapsed();
            match r {
                Ok(r) if r.status.is_success() => {
                    runs.push(took);
                    body = r.body;
                }
                Ok(r) => {
                    failed = Some(format!(
                        "{}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ));
                    break;
                }
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        let cpu1 = args
            .pid
            .and_then(|pid| cpu_seconds(Some(pid), args.clk_tck));
        // CPU of the timed runs only.
        let cpu_per_run = match (cpu0, cpu1) {
            (Some(a), Some(b)) if !runs.is_empty() => Some((b - a) / runs.len() as f64),
            _ => None,
        };
        let verdict: Result<(usize, Result<(), String>), String> = match failed {
            Some(e) => Err(e),
            None => serde_json::from_slice::<Json>(&body)
                .map_err(|e| format!("response is not JSON: {e}"))
                .and_then(|j| {
                    let r = match &q.kind {
                        Kind::Log { q: lq, limit } => {
                            check_logs(&j, lq, &expected_logs(exp, lq, start, end, *limit))
                        }
                        Kind::Metric { q: mq, step } => {
                            check_matrix(&j, &expected_metric(exp, mq, start, end, *step, RANGE))
                        }
                    };
                    r.map_err(|e| format!("{e:#}"))
                }),
        };
        let (n, check) = match verdict {
            Ok((n, Ok(()))) => (n, "ok".to_string()),
            Ok((n, Err(e))) => {
                wrong += 1;
                (n, format!("WRONG: {e}"))
            }
            Err(e) => {
                wrong += 1;
                (0, format!("FAILED: {e}"))
            }
        };
        eprintln!("CHECK query={} {check}", q.name);
        let median = quantile(&runs, 0.5);
        let p90 = quantile(&runs, 0.9);
        println!(
            "RESULT query={} median_s={:.6} p90_s={:.6} runs={} cpu_s_per_run={} result_size={n} expected_entries={expected_n} bytes_selected={bytes} response_bytes={} check={}",
            q.name,
            median.as_secs_f64(),
            p90.as_secs_f64(),
            runs.len(),
            cpu_per_run.map_or("-".into(), |c| format!("{c:.4}")),
            body.len(),
            if check == "ok" { "ok" } else { "wrong" },
        );
        rows.push((q, median, p90, cpu_per_run, n, bytes, check));
    }

    println!();
    println!(
        "| query | LogQL | range | median | p90 | server CPU s / run | entries or points | raw GB selected | GB/s (wall) | GB/s per core | answer |"
    );
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (q, median, p90, cpu, n, bytes, check) in &rows {
        let gb = *bytes as f64 / 1e9;
        let wall = if median.is_zero() {
            "-".into()
        } else {
            format!("{:.2}", gb / median.as_secs_f64())
        };
        let core = cpu
            .filter(|c| *c > 0.0)
            .map_or("-".into(), |c| format!("{:.2}", gb / c));
        let extra = match &q.kind {
            Kind::Log { limit, .. } => format!(", limit {limit}, backward"),
            Kind::Metric { step, .. } => format!(", step {}s", step / 1_000_000_000),
        };
        println!(
            "| `{}` | `{}` | {}h{extra} | {} | {} | {} | {n} | {gb:.3} | {wall} | {core} | {check} |",
            q.name,
            q.logql.replace('|', "\\|"),
            q.span / HOUR,
            ms(*median),
            ms(*p90),
            cpu.map_or("-".into(), |c| format!("{c:.3}")),
        );
    }
    if wrong > 0 {
        eprintln!("{wrong} queries gave a wrong answer or failed");
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_answers_are_checked_point_by_point() {
        let body: Json = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"level":"info"},"values":[[1700000300,"0.5"],[1700000600,"1"]]},
                {"metric":{"level":"error"},"values":[[1700000600,"0.0033333333333333335"]]}]}}"#,
        )
        .expect("json");
        let s = 1_000_000_000;
        let mut want = BTreeMap::new();
        want.insert(
            "info".to_string(),
            vec![(1_700_000_300 * s, 0.5), (1_700_000_600 * s, 1.0)],
        );
        want.insert("error".to_string(), vec![(1_700_000_600 * s, 1.0 / 300.0)]);
        assert_eq!(check_matrix(&body, &want).expect("parses"), (3, Ok(())));
        want.insert("warn".to_string(), vec![(1_700_000_600 * s, 1.0)]);
        assert!(check_matrix(&body, &want).expect("parses").1.is_err());
        want.remove("warn");
        want.insert(
            "info".to_string(),
            vec![(1_700_000_300 * s, 0.5), (1_700_000_600 * s, 2.0)],
        );
        assert!(check_matrix(&body, &want).expect("parses").1.is_err());
    }

    #[test]
    fn stream_answers_must_hold_exactly_the_expected_entries() {
        let body: Json = serde_json::from_str(&format!(
            r#"{{"status":"success","data":{{"resultType":"streams","result":[
                {{"stream":{{"app":"{QUERY_APP}","pod":"a"}},"values":[["30","x {NEEDLE}"],["10","y {NEEDLE}"]]}},
                {{"stream":{{"app":"{QUERY_APP}","pod":"b"}},"values":[["20","z {NEEDLE}"]]}}]}}}}"#
        ))
        .expect("json");
        let q = LogQuery::Contains(NEEDLE.to_string());
        assert_eq!(
            check_logs(&body, &q, &(vec![30, 20, 10], 3)).expect("parses"),
            (3, Ok(()))
        );
        assert!(
            check_logs(&body, &q, &(vec![30, 20], 5))
                .expect("parses")
                .1
                .is_err()
        );
        let other = LogQuery::Contains("absent".to_string());
        assert!(
            check_logs(&body, &other, &(vec![30, 20, 10], 3))
                .expect("parses")
                .1
                .is_err()
        );
    }

    #[test]
    fn query_paths_carry_nanosecond_bounds() {
        let q = &queries()[0];
        let p = path(q, 7_200_000_000_000);
        assert!(p.starts_with(
            "/loki/api/v1/query_range?query=%7Bapp%3D%22checkout%22%7D%20%7C%3D%20%22needle-"
        ));
        assert!(p.ends_with("&start=3600000000000&end=7200000000000&limit=100&direction=backward"));
        assert_eq!(queries().len(), 12);
    }
}
