//! The engine: runs a parsed query over a [`LogQuerier`], a log query as one scan in the
//! requested direction that stops at the limit, a metric query as one scan per range
//! aggregation over the whole query range.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_model::{Direction, Labels, LogQuerier, LogSelectRequest, ScanStats, TenantId};

use crate::error::{Error, Result};
use crate::metric;
use crate::pipeline::{self, Pipeline, StreamPipeline};
use crate::streams::Streams;
use crate::syntax::{Expr, LogExpr};

/// Engine limits and switches.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Metric queries: Loki's `max_query_series` (0: none).
    pub max_series: usize,
    /// Most entries a log query may ask for, Loki's `max_entries_limit_per_query` (0: none).
    pub max_entries: usize,
    /// Bound on the samples a metric query holds at once (0: none).
    pub max_samples: usize,
    /// Give up after this long.
    pub timeout: Option<Duration>,
    /// Set by the caller when the client went away.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// The parameters of one query.
#[derive(Clone, Debug)]
pub struct QueryParams {
    /// Log queries: first nanosecond (inclusive); metric queries: first step.
    pub start_ns: i64,
    /// Log queries: end (exclusive); metric queries: last step (inclusive).
    pub end_ns: i64,
    /// Step of a metric query; 0 with `start_ns == end_ns` is an instant query.
    pub step_ns: i64,
    /// Loki's `interval` for log queries: at most one entry per interval (0: none).
    pub interval_ns: i64,
    /// The order of a log query's entries.
    pub direction: Direction,
    /// Most entries a log query returns (0: no limit).
    pub limit: u32,
}

impl QueryParams {
    /// An instant query at `t_ns`.
    pub fn instant(t_ns: i64) -> QueryParams {
        QueryParams {
            start_ns: t_ns,
            end_ns: t_ns,
            step_ns: 0,
            interval_ns: 0,
            direction: Direction::Backward,
            limit: 100,
        }
    }

    /// A range query.
    pub fn range(start_ns: i64, end_ns: i64, step_ns: i64) -> QueryParams {
        QueryParams {
            start_ns,
            end_ns,
            step_ns,
            interval_ns: 0,
            direction: Direction::Backward,
            limit: 100,
        }
    }

    /// Whether this is an instant query: start equals end and no step (Loki's
    /// `GetRangeType`); a range query of a single step, start == end with a step, is not.
    pub fn is_instant(&self) -> bool {
        self.step_ns == 0 && self.start_ns == self.end_ns
    }
}

/// What a query did, for Loki's `stats` object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineStats {
    /// What the store read.
    pub store: ScanStats,
    /// Entries handed to pipelines.
    pub lines_processed: u64,
    /// Bytes of those lines.
    pub bytes_processed: u64,
    /// Bytes of their structured metadata.
    pub structured_metadata_bytes: u64,
    /// Entries that passed the pipelines.
    pub post_filter_lines: u64,
    /// Entries returned (log queries) or points returned (metric queries).
    pub entries_returned: u64,
    /// Wall time of the whole execution.
    pub exec_time: Duration,
}

impl EngineStats {
    pub(crate) fn add_scan(&mut self, s: &ScanStats) {
        self.store.add(s);
    }
}

/// The answer of a query.
#[derive(Clone, Debug)]
pub enum QueryValue {
    /// A log query's entries.
    Streams(Streams),
    /// A metric query's value: Vector (instant), Matrix (range) or Scalar, the same type PromQL
    /// answers with, so rules and SLOs take either.
    Metric(cairn_promql::Value),
}

/// A query's value with what it cost.
#[derive(Clone, Debug)]
pub struct QueryResult {
    /// The answer.
    pub value: QueryValue,
    /// What it cost.
    pub stats: EngineStats,
    /// Warnings for the response.
    pub warnings: Vec<String>,
}

/// The LogQL engine.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

/// Checks the deadline and the cancel flag of one execution.
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Guard {
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(c) = &self.cancel
            && c.load(Ordering::Relaxed)
        {
            return Err(Error::Canceled);
        }
        if let Some(d) = self.deadline
            && Instant::now() >= d
        {
            return Err(Error::Timeout);
        }
        Ok(())
    }
}

impl Engine {
    /// An engine with these options.
    pub fn new(opts: EngineOptions) -> Engine {
        Engine { opts }
    }

    /// Its options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Runs a parsed query: an instant query (`start_ns == end_ns`, `step_ns == 0`) answers a
    /// vector or a scalar, a range query (a step > 0) a matrix.
    pub async fn execute(
        &self,
        querier: &dyn LogQuerier,
        tenant: &TenantId,
        expr: &Expr,
        params: &QueryParams,
    ) -> Result<QueryResult> {
        let started = Instant::now();
        let guard = Guard {
            deadline: self.opts.timeout.map(|t| started + t),
            cancel: self.opts.cancel.clone(),
        };
        let mut stats = EngineStats::default();
        let mut warnings = Vec::new();
        let value = match expr {
            Expr::Log(l) => {
                if params.is_instant() {
                    return Err(Error::InstantLogQuery);
                }
                QueryValue::Streams(
                    self.log_query(querier, tenant, l, params, &guard, &mut stats)
                        .await?,
                )
            }
            Expr::Sample(s) => {
                // Only an instant query goes without a step.
                if params.step_ns < 0 || (params.step_ns == 0 && !params.is_instant()) {
                    return Err(Error::BadParameter(
                        "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
                    ));
                }
                let ctx = metric::Ctx {
                    querier,
                    tenant,
                    params,
                    opts: &self.opts,
                    guard: &guard,
                };
                QueryValue::Metric(metric::evaluate(&ctx, s, &mut stats, &mut warnings).await?)
            }
        };
        stats.exec_time = started.elapsed();
        Ok(QueryResult {
            value,
            stats,
            warnings,
        })
    }

    async fn log_query(
        &self,
        querier: &dyn LogQuerier,
        tenant: &TenantId,
        expr: &LogExpr,
        params: &QueryParams,
        guard: &Guard,
        stats: &mut EngineStats,
    ) -> Result<Streams> {
        let max = self.opts.max_entries;
        if max > 0 && params.limit as usize > max {
            return Err(Error::Limit(format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({} > {max})",
                params.limit
            )));
        }
        let limit = match params.limit {
            0 if max > 0 => max,
            0 => usize::MAX,
            l => l as usize,
        };
        let pipeline = Pipeline::new(expr)?;
        let req = LogSelectRequest {
            matchers: expr.matchers.clone(),
            start_ns: params.start_ns,
            end_ns: params.end_ns,
            direction: params.direction,
            line_contains: pipeline::line_contains(&expr.stages),
            with_metadata: true,
            max_streams: 0,
        };
        let mut scan = querier.select_logs(tenant, &req).await?;
        let mut per_stream: HashMap<Labels, StreamPipeline> = HashMap::new();
        let mut out = Streams::new();
        let forward = params.direction == Direction::Forward;
        let mut last: Option<i64> = None;
        let mut kept: Vec<(i64, String, Arc<pipeline::LabelsResult>)> = Vec::new();
        'scan: loop {
            guard.check()?;
            let Some(chunk) = scan.next_chunk().await? else {
                break;
            };
            stats.lines_processed += chunk.entries.len() as u64;
            stats.bytes_processed += chunk.lines.len() as u64;
            stats.structured_metadata_bytes += chunk
                .metadata
                .iter()
                .map(|(n, v)| (n.len() + v.len()) as u64)
                .sum::<u64>();
            kept.clear();
            let mut local: Vec<StreamPipeline> = chunk
                .streams
                .iter()
                .map(|l| {
                    per_stream
                        .remove(l)
                        .unwrap_or_else(|| pipeline.for_stream(l))
                })
                .collect();
            for (i, e) in chunk.entries.iter().enumerate() {
                if i % 4096 == 4095 {
                    guard.check()?;
                }
                let Some(sp) = local.get_mut(e.stream as usize) else {
                    return Err(Error::Internal(format!(
                        "log chunk entry refers to stream {} of {}",
                        e.stream,
                        chunk.streams.len()
                    )));
                };
                if let Some(p) = sp.process(e.ts_ns, chunk.line(e), chunk.metadata(e)) {
                    kept.push((e.ts_ns, p.line.to_owned(), p.labels));
                }
            }
            for (l, sp) in chunk.streams.iter().zip(local) {
                per_stream.insert(l.clone(), sp);
            }
            stats.post_filter_lines += kept.len() as u64;
            kept.sort_by(|a, b| {
                let t = if forward {
                    a.0.cmp(&b.0)
                } else {
                    b.0.cmp(&a.0)
                };
                t.then_with(|| a.2.all.cmp(&b.2.all))
            });
            for (ts, line, labels) in kept.drain(..) {
                if params.interval_ns > 0
                    && let Some(l) = last
                {
                    let due = if forward {
                        ts >= l.saturating_add(params.interval_ns)
                    } else {
                        ts <= l.saturating_sub(params.interval_ns)
                    };
                    if !due {
                        continue;
                    }
                }
                last = Some(ts);
                out.push(ts, line, labels);
                if out.len() >= limit {
                    break 'scan;
                }
            }
        }
        stats.add_scan(&scan.stats());
        stats.entries_returned = out.len() as u64;
        Ok(out)
    }
}
