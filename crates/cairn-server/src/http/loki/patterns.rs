//! `/loki/api/v1/patterns` (Logs Drilldown's Patterns tab): the patterns of the lines of the
//! streams a label selector picks in `[start, end)`, with their level and their line counts
//! per step, in Loki's JSON.
//!
//! Loki mines patterns at ingestion in its pattern ingesters; Cairn mines them when asked,
//! with the same algorithm (`cairn_logql::PatternMiner`: Drain per stream and level), over
//! one forward scan of the store that reads every line of the range once. A tenant's
//! `limits.logs.max_pattern_lines_per_query` bounds the lines read: when the store's counts
//! say the range holds more, the scan starts late enough to read the newest lines within the
//! bound, and the answer says in its `warnings` that it is partial.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cairn_logql::{
    DrainConfig, Error, Expr, MIN_PATTERN_STEP_NS, PatternMiner, PatternOptions, PatternSeries,
};
use cairn_model::{
    Direction, LogChunk, LogQuerier, LogSelectRequest, LogStatsRequest, Matcher, TenantId,
};

use super::index::{LokiRequest, bad};
use super::params;
use super::query::{check_length, logql_error};
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::http::json::{Json, respond};
use crate::http::slots::{Admission, CancelOnDrop, admit, run_query};
use crate::logs::{DETECTED_LEVEL, detect_level};

/// The `endpoint` label of the query duration metric.
const ENDPOINT: &str = "loki_patterns";
/// Lines fed between two looks at the deadline and the cancel flag.
const CHECK_EVERY: usize = 4096;
/// The limit's name in the configuration, for warnings.
const LIMIT_NAME: &str = "limits.logs.max_pattern_lines_per_query";

/// `GET|POST /loki/api/v1/patterns`.
pub(crate) async fn patterns(
    State(state): State<Arc<AppState>>,
    req: LokiRequest,
) -> Result<Response, ApiError> {
    let LokiRequest {
        tenant,
        store,
        params,
    } = req;
    let p = params::patterns(&params, crate::logs::now_ns()).map_err(bad)?;
    let matchers = label_matchers(&p.query)?;
    let limits = state.config.limits_for(&tenant).logs.clone();
    check_length(&limits, p.start_ns, p.end_ns)?;
    let job = Job {
        matchers,
        start_ns: p.start_ns,
        end_ns: p.end_ns,
        max_lines: limits.max_pattern_lines_per_query as u64,
        options: PatternOptions {
            drain: DrainConfig {
                json_fields: limits.pattern_json_fields(),
                ..DrainConfig::default()
            },
            step_ns: p.step_ns,
            ..PatternOptions::default()
        },
        levels: Levels {
            discover: limits.discover_log_levels,
            fields: limits.log_level_fields.clone(),
        },
    };
    let Admission {
        slot,
        arrived,
        timeout,
        ..
    } = admit(&state).await?;
    let metrics = &state.query_metrics;
    let guard = CancelOnDrop::new(metrics.clone());
    let stop = Stop {
        cancel: guard.flag(),
        deadline: arrived + timeout,
    };
    let work = async move {
        let out = mine(store.log_querier(), &tenant, job, stop).await;
        drop(slot);
        out
    };
    let out = run_query(work, guard, ENDPOINT, arrived, Style::Text).await?;
    match out {
        Ok(m) => {
            tracing::debug!(
                lines = m.lines,
                patterns = m.series.len(),
                partial = !m.warnings.is_empty(),
                "patterns mined"
            );
            Ok(respond(StatusCode::OK, render(&m)))
        }
        Err(e) => {
            if matches!(e, Error::Timeout) {
                metrics.refuse("timeout");
            }
            Err(logql_error(e))
        }
    }
}

/// The matchers of a query that must be a bare stream selector, as Loki's
/// `syntax.ParseMatchers` requires.
fn label_matchers(q: &str) -> Result<Vec<Matcher>, ApiError> {
    match cairn_logql::parse(q).map_err(|e| bad(e.to_string()))? {
        Expr::Log(l) if l.stages.is_empty() => Ok(l.matchers),
        _ => Err(bad("only label matchers are supported")),
    }
}

/// How a line's level is found when its entry has no `detected_level`.
#[derive(Clone, Debug)]
struct Levels {
    /// Detect it as ingestion does (`discover_log_levels`); `unknown` otherwise.
    discover: bool,
    fields: Vec<String>,
}

/// What one patterns query reads and how.
#[derive(Clone, Debug)]
struct Job {
    matchers: Vec<Matcher>,
    start_ns: i64,
    end_ns: i64,
    /// 0: no bound.
    max_lines: u64,
    options: PatternOptions,
    levels: Levels,
}

/// The deadline and the cancel flag of one query.
#[derive(Debug)]
struct Stop {
    cancel: Arc<AtomicBool>,
    deadline: Instant,
}

impl Stop {
    fn check(&self) -> Result<(), Error> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Canceled);
        }
        if Instant::now() >= self.deadline {
            return Err(Error::Timeout);
        }
        Ok(())
    }
}

/// A query's answer.
#[derive(Debug)]
struct Mined {
    series: Vec<PatternSeries>,
    /// Lines read.
    lines: u64,
    warnings: Vec<String>,
}

/// How feeding a chunk ended.
#[derive(Debug, PartialEq)]
enum Fed {
    All,
    /// The line bound was reached.
    Capped,
    /// The deadline passed or the client went away.
    Stopped,
}

/// Reads the selected lines and mines their patterns.
async fn mine(
    querier: &dyn LogQuerier,
    tenant: &TenantId,
    job: Job,
    stop: Stop,
) -> Result<Mined, Error> {
    let step_ns = job.options.step_ns.max(MIN_PATTERN_STEP_NS);
    let mut start_ns = job.start_ns;
    let mut warnings = Vec::new();
    if job.max_lines > 0 && job.end_ns > job.start_ns {
        let (from, estimate) = newest_start(querier, tenant, &job, step_ns).await?;
        if from > start_ns {
            warnings.push(format!(
                "partial result: the range holds about {estimate} lines, more than the {} a patterns query reads ({LIMIT_NAME}); the patterns cover the newest lines, from {}",
                job.max_lines,
                rfc3339(from)
            ));
            start_ns = from;
        }
    }
    let req = LogSelectRequest {
        matchers: job.matchers,
        start_ns,
        end_ns: job.end_ns,
        direction: Direction::Forward,
        line_contains: Vec::new(),
        with_metadata: true,
        max_streams: 0,
    };
    let mut scan = querier.select_logs(tenant, &req).await?;
    let mut miner = PatternMiner::new(job.options);
    let stop = Arc::new(stop);
    let levels = Arc::new(job.levels);
    loop {
        stop.check()?;
        let Some(chunk) = scan.next_chunk().await? else {
            break;
        };
        let budget = match job.max_lines {
            0 => u64::MAX,
            n => n.saturating_sub(miner.lines()),
        };
        let (s, l) = (Arc::clone(&stop), Arc::clone(&levels));
        let (m, fed, chunk) = tokio::task::spawn_blocking(move || {
            let fed = feed(&mut miner, &chunk, &l, budget, &s);
            (miner, fed, chunk)
        })
        .await
        .map_err(|e| Error::Internal(format!("pattern mining failed: {e}")))?;
        miner = m;
        match fed {
            Fed::All => {}
            Fed::Stopped => {
                stop.check()?;
                return Err(Error::Timeout);
            }
            Fed::Capped => {
                warnings.push(format!(
                    "partial result: reading stopped at the {} lines a patterns query reads ({LIMIT_NAME}); the patterns cover the lines before {} and some up to {}",
                    job.max_lines,
                    rfc3339(chunk.min_ns),
                    rfc3339(chunk.max_ns)
                ));
                break;
            }
        }
    }
    let lines = miner.lines();
    let series = tokio::task::spawn_blocking(move || miner.finish())
        .await
        .map_err(|e| Error::Internal(format!("pattern mining failed: {e}")))?;
    Ok(Mined {
        series,
        lines,
        warnings,
    })
}

/// Lines in `[from, end)` by the store's counts (exact for the head's recent entries,
/// in proportion for a stored unit partly inside).
async fn lines_from(
    querier: &dyn LogQuerier,
    tenant: &TenantId,
    job: &Job,
    from: i64,
) -> Result<u64, Error> {
    let counts = querier
        .log_stream_counts(
            tenant,
            &LogStatsRequest {
                matchers: job.matchers.clone(),
                start_ns: from,
                end_ns: job.end_ns,
                step_ns: None,
            },
        )
        .await?;
    Ok(counts
        .iter()
        .flat_map(|s| s.buckets.iter())
        .map(|(_, c)| c.entries)
        .sum())
}

/// Where a scan bounded to `job.max_lines` starts to read the newest lines of the range: the
/// earliest step boundary after which the store counts no more lines than the bound (the
/// newest step when even it holds more; the scan then stops at the bound), found by
/// bisection; and the count of the whole range.
async fn newest_start(
    querier: &dyn LogQuerier,
    tenant: &TenantId,
    job: &Job,
    step_ns: i64,
) -> Result<(i64, u64), Error> {
    let total = lines_from(querier, tenant, job, job.start_ns).await?;
    if total <= job.max_lines {
        return Ok((job.start_ns, total));
    }
    let first = job
        .start_ns
        .div_euclid(step_ns)
        .saturating_add(i64::from(job.start_ns.rem_euclid(step_ns) != 0))
        .saturating_mul(step_ns);
    if first >= job.end_ns {
        return Ok((job.start_ns, total));
    }
    let at = |k: i64| first.saturating_add(k.saturating_mul(step_ns));
    let (mut lo, mut hi) = (0, (job.end_ns - 1 - first) / step_ns);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if lines_from(querier, tenant, job, at(mid)).await? <= job.max_lines {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok((at(lo), total))
}

/// Feeds a chunk's entries to the miner, at most `budget` of them.
fn feed(
    miner: &mut PatternMiner,
    chunk: &LogChunk,
    levels: &Levels,
    budget: u64,
    stop: &Stop,
) -> Fed {
    let streams: Vec<_> = chunk
        .streams
        .iter()
        .map(|l| {
            let level = levels.fields.iter().find_map(|f| l.get(f));
            (miner.stream(l), level)
        })
        .collect();
    let mut fed = 0u64;
    for (i, e) in chunk.entries.iter().enumerate() {
        if i % CHECK_EVERY == 0 && stop.check().is_err() {
            return Fed::Stopped;
        }
        if fed >= budget {
            return Fed::Capped;
        }
        let Some(&(slot, stream_level)) = streams.get(e.stream as usize) else {
            continue;
        };
        let line = chunk.line(e);
        let md = chunk.metadata(e);
        let detected;
        let level = match md.iter().find(|(n, _)| n == DETECTED_LEVEL) {
            Some((_, v)) => v.as_str(),
            None if levels.discover => {
                detected = detect_level(&levels.fields, stream_level, md, line);
                detected.as_str()
            }
            None => "unknown",
        };
        miner.add(slot, e.ts_ns, level, line);
        fed += 1;
    }
    Fed::All
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Loki's body (`WriteQueryPatternsResponseJSON`): each pattern with its level and its
/// samples as `[unix seconds, lines]`; warnings when the answer is partial.
fn render(m: &Mined) -> String {
    let mut j = Json::new();
    j.raw("{").key("status").str("success");
    j.raw(",").key("data").raw("[");
    for (i, s) in m.series.iter().enumerate() {
        j.sep(i).raw("{").key("pattern").str(&s.pattern);
        j.raw(",").key("level").str(s.level);
        j.raw(",").key("samples").raw("[");
        for (k, &(t_ms, n)) in s.samples.iter().enumerate() {
            j.sep(k).raw("[").int(t_ms / 1000).raw(",");
            j.int(i64::try_from(n).unwrap_or(i64::MAX)).raw("]");
        }
        j.raw("]}");
    }
    j.raw("]");
    if !m.warnings.is_empty() {
        j.raw(",").key("warnings").strs(&m.warnings);
    }
    j.raw("}");
    j.finish()
}

#[cfg(test)]
mod tests;
