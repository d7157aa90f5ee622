//! Runs scripts through the engine: loads go to a `MemoryLogQuerier`, each eval is parsed,
//! executed and its answer converted for [`crate::check`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_logql::{Engine, Error, MemoryLogQuerier, QueryParams, QueryValue, StreamOut};
use cairn_model::{Direction, Labels, LogEntry, TenantId};
use cairn_promql::Value;

use crate::check::{Got, GotEntry, GotMetric, GotStream, Pairs, check};
use crate::script::{Case, Command, Kind, parse_script};

/// How long one case may take before it counts as failed.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The store's chunk sizes every script runs with: the default, and chunks so small that every
/// chunk boundary the engine must handle shows up.
const CHUNKINGS: [Option<usize>; 2] = [None, Some(2)];

/// One case's outcome.
#[derive(Debug)]
pub(crate) struct CaseResult {
    /// The script.
    pub(crate) file: PathBuf,
    /// 1-based line of the eval (or of the malformed line).
    pub(crate) line: usize,
    /// The query (or the script error).
    pub(crate) query: String,
    /// `None` when it passed; the report otherwise.
    pub(crate) failure: Option<String>,
}

/// Runs every case of the script at `path`.
pub(crate) async fn run_file(engine: &Engine, path: &Path) -> Vec<CaseResult> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return vec![CaseResult {
                file: path.to_path_buf(),
                line: 0,
                query: String::new(),
                failure: Some(format!("cannot read the script: {e}")),
            }];
        }
    };
    let script = parse_script(&text);
    let mut results: Vec<CaseResult> = script
        .errors
        .iter()
        .map(|e| CaseResult {
            file: path.to_path_buf(),
            line: e.line,
            query: String::new(),
            failure: Some(format!("malformed script: {}", e.msg)),
        })
        .collect();
    let tenant = TenantId::new("conformance").expect("a valid tenant id");
    let mut per_case: Vec<(usize, String, Vec<String>)> = Vec::new();
    for (pass, chunking) in CHUNKINGS.iter().enumerate() {
        let fresh = || match chunking {
            Some(n) => MemoryLogQuerier::new().with_chunk_entries(*n),
            None => MemoryLogQuerier::new(),
        };
        let mut querier = fresh();
        let mut n = 0;
        for cmd in &script.commands {
            match cmd {
                Command::Clear => querier = fresh(),
                Command::Load(streams) => {
                    for s in streams {
                        // Labels::from_pairs drops empty values, as Loki's push path does.
                        let labels = match Labels::from_pairs(
                            s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                        ) {
                            Ok(l) => l,
                            Err(e) => {
                                if pass == 0 {
                                    results.push(CaseResult {
                                        file: path.to_path_buf(),
                                        line: s.line,
                                        query: String::new(),
                                        failure: Some(format!("bad stream labels: {e}")),
                                    });
                                }
                                continue;
                            }
                        };
                        let entries: Vec<LogEntry> = s
                            .entries
                            .iter()
                            .map(|e| LogEntry {
                                ts_ns: e.ts_ns,
                                line: e.line.clone(),
                                metadata: e.metadata.clone(),
                            })
                            .collect();
                        querier.add(&tenant, labels, &entries);
                    }
                }
                Command::Eval(case) => {
                    let got = run_case(engine, &querier, &tenant, case).await;
                    let verdict = check(case, &got).err();
                    if pass == 0 {
                        per_case.push((case.line, case.query.clone(), Vec::new()));
                    }
                    if let Some(report) = verdict {
                        let label = match chunking {
                            Some(k) => format!("(store chunks of {k} entries) "),
                            None => String::new(),
                        };
                        per_case[n].2.push(format!("{label}{report}"));
                    }
                    n += 1;
                }
            }
        }
    }
    for (line, query, reports) in per_case {
        // When both passes fail the same way, one report says it all.
        let failure = match reports.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            [first, second, ..] => {
                if second.ends_with(first.as_str()) {
                    Some(first.clone())
                } else {
                    Some(format!("{first}\n{second}"))
                }
            }
        };
        results.push(CaseResult {
            file: path.to_path_buf(),
            line,
            query,
            failure,
        });
    }
    results
}

/// The query parameters of a case.
fn params(kind: Kind) -> QueryParams {
    match kind {
        Kind::Instant { at_ns } => QueryParams {
            start_ns: at_ns,
            end_ns: at_ns,
            step_ns: 0,
            interval_ns: 0,
            direction: Direction::Backward,
            limit: 100,
        },
        Kind::Range {
            start_ns,
            end_ns,
            step_ns,
        } => QueryParams {
            start_ns,
            end_ns,
            step_ns,
            interval_ns: 0,
            direction: Direction::Backward,
            limit: 100,
        },
        Kind::Log {
            start_ns,
            end_ns,
            step_ns,
            interval_ns,
            backward,
            limit,
            ..
        } => QueryParams {
            start_ns,
            end_ns,
            step_ns,
            interval_ns,
            direction: if backward {
                Direction::Backward
            } else {
                Direction::Forward
            },
            limit,
        },
    }
}

async fn run_case(
    engine: &Engine,
    querier: &MemoryLogQuerier,
    tenant: &TenantId,
    case: &Case,
) -> Got {
    let expr = match cairn_logql::parse(&case.query) {
        Ok(e) => e,
        Err(e) => return error(&Error::from(e)),
    };
    let params = params(case.kind);
    let run = engine.execute(querier, tenant, &expr, &params);
    match tokio::time::timeout(CASE_TIMEOUT, run).await {
        Err(_) => Got::Error {
            msg: format!("the case took more than {CASE_TIMEOUT:?}"),
            status: 0,
        },
        Ok(Err(e)) => error(&e),
        Ok(Ok(res)) => match res.value {
            QueryValue::Metric(v) => Got::Metric(metric(v)),
            QueryValue::Streams(s) => {
                let categorized = matches!(
                    case.kind,
                    Kind::Log {
                        categorized: true,
                        ..
                    }
                );
                let out = if categorized {
                    s.categorized()
                } else {
                    s.flat()
                };
                Got::Streams(out.into_iter().map(stream).collect())
            }
        },
    }
}

fn error(e: &Error) -> Got {
    Got::Error {
        msg: e.to_string(),
        status: e.http_status(),
    }
}

fn pairs(l: &Labels) -> Pairs {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn sorted(mut p: Vec<(String, String)>) -> Pairs {
    p.sort();
    p
}

fn metric(v: Value) -> GotMetric {
    match v {
        Value::Scalar { t_ms, v } => GotMetric::Scalar { t_ms, v },
        // A string answer has no place in LogQL; showing it as a scalar NaN keeps it a failure.
        Value::String { t_ms, .. } => GotMetric::Scalar { t_ms, v: f64::NAN },
        Value::Vector(samples) => GotMetric::Vector(
            samples
                .into_iter()
                .map(|s| (pairs(&s.labels), s.t_ms, s.v))
                .collect(),
        ),
        Value::Matrix(series) => GotMetric::Matrix(
            series
                .into_iter()
                .map(|s| {
                    (
                        pairs(&s.labels),
                        s.samples.iter().map(|p| (p.t, p.v)).collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn stream(s: StreamOut) -> GotStream {
    GotStream {
        labels: pairs(&s.labels),
        entries: s
            .entries
            .into_iter()
            .map(|e| GotEntry {
                ts_ns: e.ts_ns,
                line: e.line,
                metadata: sorted(e.metadata),
                parsed: sorted(e.parsed),
            })
            .collect(),
    }
}
