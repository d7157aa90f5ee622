//! The query entry points: parse, plan, fetch each selector once, evaluate, shape the result.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_model::{Labels, Querier, Sample, SelectRequest, Series, TenantId};
use futures::future::try_join_all;
use promql_parser::parser::{self, Expr};

use crate::error::{Error, Result};
use crate::eval::{Evaluator, Fetched, Grid, NameLabels, Val, finish_names};
use crate::plan::Planner;
use crate::value::{Annotations, Answer, InstantSample, QueryStats, Value};

/// Prometheus refuses range queries with more points than this per series.
const MAX_POINTS: i64 = 11_000;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta_ms: i64,
    /// Most samples a query may hold in memory (0: no limit).
    pub max_samples: usize,
    /// Most series a query may select from storage (0: no limit).
    pub max_series: usize,
    /// Most points per series of a range query (Prometheus: 11,000).
    pub max_points: i64,
    /// Longest a query may run (None: no limit).
    pub timeout: Option<Duration>,
    /// Set from elsewhere (e.g. when the client disconnects) to stop the query at its next
    /// check: between fetches and after each evaluated node.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Step of subqueries written without one (Prometheus: the global evaluation interval).
    pub default_subquery_step_ms: i64,
    /// Prometheus' experimental `type-and-unit-labels`: `__type__` and `__unit__` go
    /// wherever `__name__` goes.
    pub type_and_unit_labels: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            max_series: 0,
            max_points: MAX_POINTS,
            timeout: Some(Duration::from_secs(120)),
            cancel: None,
            default_subquery_step_ms: 60_000,
            type_and_unit_labels: false,
        }
    }
}

/// A PromQL engine over any [`Querier`]. Queries must run inside a tokio runtime: evaluation
/// is handed to its blocking pool.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

/// Parses a PromQL expression.
pub fn parse(expr: &str) -> Result<Expr> {
    let e = parser::parse(expr).map_err(|message| Error::Parse {
        position: error_position(expr, &message),
        message,
    })?;
    check_string_literals(expr)?;
    Ok(e)
}

/// Refuses string literals whose escapes (`\xff`, `\377`) spell invalid UTF-8: the parser
/// would silently turn such bytes into other characters, Prometheus keeps them and rejects
/// them where a label name or value is made from them.
fn check_string_literals(expr: &str) -> Result<()> {
    let mut chars = expr.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '`' => {
                for (_, c) in chars.by_ref() {
                    if c == '`' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4];
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        break;
                    }
                    if d != '\\' {
                        bytes.extend_from_slice(d.encode_utf8(&mut buf).as_bytes());
                        continue;
                    }
                    let Some((_, e)) = chars.next() else { break };
                    let digits = match e {
                        'x' => Some((2, 16)),
                        '0'..='7' => Some((2, 8)),
                        _ => None,
                    };
                    match digits {
                        Some((n, radix)) => {
                            let mut text = String::new();
                            if radix == 8 {
                                text.push(e);
                            }
                            for _ in 0..n {
                                if let Some((_, h)) = chars.next() {
                                    text.push(h);
                                }
                            }
                            if let Ok(b) = u8::from_str_radix(&text, radix) {
                                bytes.push(b);
                            }
                        }
                        None => bytes.push(b'a'),
                    }
                }
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(Error::Parse {
                        position: Some(start),
                        message: "invalid UTF-8 in string literal".to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The parser reports no offsets; point at the fragment its message quotes, when that
/// fragment occurs once in the query (otherwise the guess could mislead).
fn error_position(expr: &str, message: &str) -> Option<usize> {
    let quoted = message.split('\'').nth(1).filter(|q| !q.is_empty())?;
    let first = expr.find(quoted)?;
    (expr.matches(quoted).count() == 1).then_some(first)
}

impl Engine {
    /// An engine with `opts`.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's settings.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` at `t_ms`.
    pub async fn instant(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        t_ms: i64,
    ) -> Result<Value> {
        Ok(self
            .instant_annotated(querier, tenant, expr, t_ms)
            .await?
            .value)
    }

    /// Evaluates `expr` at `t_ms`, with the warnings and infos of the evaluation.
    pub async fn instant_annotated(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        t_ms: i64,
    ) -> Result<Answer> {
        Ok(self.instant_stats(querier, tenant, expr, t_ms).await?.0)
    }

    /// [`Engine::instant_annotated`] with what the query cost.
    pub async fn instant_stats(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        t_ms: i64,
    ) -> Result<(Answer, QueryStats)> {
        let started = Instant::now();
        let e = Box::new(parse(expr)?);
        let g = Grid {
            start: t_ms,
            end: t_ms,
            step: 1,
        };
        self.run(querier, tenant, expr, e, g, false, started).await
    }

    /// Evaluates `expr` at `start_ms, start_ms + step_ms, ... <= end_ms`.
    pub async fn range(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value> {
        Ok(self
            .range_annotated(querier, tenant, expr, start_ms, end_ms, step_ms)
            .await?
            .value)
    }

    /// [`Engine::range`] with the warnings and infos of the evaluation.
    pub async fn range_annotated(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Answer> {
        Ok(self
            .range_stats(querier, tenant, expr, start_ms, end_ms, step_ms)
            .await?
            .0)
    }

    /// [`Engine::range_annotated`] with what the query cost.
    pub async fn range_stats(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<(Answer, QueryStats)> {
        let started = Instant::now();
        if step_ms <= 0 {
            return Err(Error::BadParameter {
                name: "step",
                message: "zero or negative query resolution step widths are not accepted. Try a positive integer".to_string(),
            });
        }
        if end_ms < start_ms {
            return Err(Error::BadParameter {
                name: "end",
                message: "end timestamp must not be before start time".to_string(),
            });
        }
        if (end_ms - start_ms) / step_ms > self.opts.max_points {
            let n = if self.opts.max_points == MAX_POINTS {
                "11,000".to_string()
            } else {
                self.opts.max_points.to_string()
            };
            return Err(Error::BadQuery(format!(
                "exceeded maximum resolution of {n} points per timeseries. Try decreasing the query resolution (?step=XX)"
            )));
        }
        let e = Box::new(parse(expr)?);
        let g = Grid {
            start: start_ms,
            end: end_ms,
            step: step_ms,
        };
        self.run(querier, tenant, expr, e, g, true, started).await
    }

    /// Plans and fetches on the caller's task, then evaluates on the blocking pool: evaluation
    /// is CPU work that must not stall the reactor, and a panic in it becomes an internal
    /// error instead of taking the server down. The timeout covers fetching too.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        query: &str,
        e: Box<Expr>,
        g: Grid,
        is_range: bool,
        started: Instant,
    ) -> Result<(Answer, QueryStats)> {
        let mut planner = Planner {
            query_start: g.start,
            query_end: g.end,
            lookback: self.opts.lookback_delta_ms,
            subquery_step: self.opts.default_subquery_step_ms,
            fetches: HashMap::new(),
        };
        // Fetched series are keyed by node address: the tree is boxed so that moving it to
        // the blocking pool moves no node.
        planner.walk(&e, &g)?;
        let prepared = Instant::now();
        let fetch = self.fetch(querier, tenant, planner);
        let data = match self.opts.timeout {
            Some(t) => {
                let left = t.saturating_sub(started.elapsed());
                tokio::time::timeout(left, fetch)
                    .await
                    .map_err(|_| Error::Timeout {
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    })??
            }
            None => fetch.await?,
        };
        self.check_canceled()?;
        let opts = self.opts.clone();
        let query = query.to_string();
        let (answer, mut stats) = tokio::task::spawn_blocking(move || {
            let inner = Instant::now();
            let out = evaluate(&opts, &query, &e, &data, g, is_range, started);
            out.map(|(answer, sort_time, points)| {
                let stats = sample_stats(&data, &g, is_range, points);
                (answer, (stats, inner.elapsed(), sort_time))
            })
        })
        .await
        .map_err(|e| Error::Internal(format!("evaluation task failed: {e}")))?
        .map(|(answer, (mut stats, inner, sort))| {
            stats.inner_eval_time = inner.as_secs_f64();
            stats.result_sort_time = sort.as_secs_f64();
            (answer, stats)
        })?;
        stats.query_preparation_time = prepared.duration_since(started).as_secs_f64();
        stats.eval_total_time = prepared.elapsed().as_secs_f64();
        stats.exec_total_time = started.elapsed().as_secs_f64();
        Ok((answer, stats))
    }

    fn check_canceled(&self) -> Result<()> {
        match &self.opts.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::Canceled),
            _ => Ok(()),
        }
    }

    async fn fetch(
        &self,
        querier: &dyn Querier,
        tenant: &TenantId,
        planner: Planner,
    ) -> Result<Fetched> {
        let max_samples = self.opts.max_samples;
        let max_series = self.opts.max_series;
        let jobs = planner.fetches.into_iter().map(|(key, f)| async move {
            let mut merged: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
            let alternatives = f.matchers.len();
            for matchers in f.matchers {
                self.check_canceled()?;
                let req = SelectRequest {
                    matchers,
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                    max_series,
                    max_samples,
                };
                let got = querier
                    .select(tenant, &req)
                    .await
                    .map_err(|e| limit_error(e, max_samples, max_series))?;
                if alternatives == 1 {
                    return Ok::<_, Error>((key, got));
                }
                for s in got {
                    merged.entry(s.labels).or_insert(s.samples);
                }
            }
            let series = merged
                .into_iter()
                .map(|(labels, samples)| Series { labels, samples })
                .collect();
            Ok((key, series))
        });
        let fetched: Fetched = try_join_all(jobs).await?.into_iter().collect();
        let total: usize = fetched.values().flatten().map(|s| s.samples.len()).sum();
        if max_samples > 0 && total > max_samples {
            return Err(Error::TooManySamples { limit: max_samples });
        }
        let series: usize = fetched.values().map(Vec::len).sum();
        if max_series > 0 && series > max_series {
            return Err(Error::TooManySeries { limit: max_series });
        }
        Ok(fetched)
    }
}

/// The storage stops loading at the limits it was given; its refusal becomes the engine's
/// own limit error, so that clients read Prometheus' words.
fn limit_error(e: cairn_model::QueryError, max_samples: usize, max_series: usize) -> Error {
    if e.kind != cairn_model::QueryErrorKind::LimitExceeded {
        return Error::Storage(e);
    }
    if max_series > 0 && e.message.contains("series") {
        Error::TooManySeries { limit: max_series }
    } else if max_samples > 0 {
        Error::TooManySamples { limit: max_samples }
    } else {
        Error::Storage(e)
    }
}

fn evaluate(
    opts: &EngineOptions,
    query: &str,
    e: &Expr,
    data: &Fetched,
    g: Grid,
    is_range: bool,
    started: Instant,
) -> Result<(Answer, Duration, usize)> {
    let mut ev = Evaluator {
        data,
        query,
        query_start: g.start,
        query_end: g.end,
        query_step: if is_range { g.step } else { 0 },
        lookback: opts.lookback_delta_ms,
        subquery_step: opts.default_subquery_step_ms,
        deadline: opts.timeout.map(|t| started + t),
        started,
        max_samples: opts.max_samples,
        fetched_samples: data.values().flatten().map(|s| s.samples.len()).sum(),
        is_range_query: is_range,
        ann: Annotations::default(),
        cancel: opts.cancel.as_deref(),
    };
    let val = ev.eval(e, &g)?;
    let shaping = Instant::now();
    let names = NameLabels {
        type_and_unit: opts.type_and_unit_labels,
    };
    let value = if is_range {
        range_value(val, &g, names)?
    } else {
        instant_value(val, g.start, names)?
    };
    let points = match &value {
        Value::Scalar { .. } | Value::String { .. } => 1,
        Value::Vector(v) => v.len(),
        Value::Matrix(m) => m.iter().map(|s| s.samples.len()).sum(),
    };
    Ok((
        Answer {
            value,
            annotations: ev.ann,
        },
        shaping.elapsed(),
        points,
    ))
}

/// Samples read, peak estimate and (range queries) samples per step.
fn sample_stats(data: &Fetched, g: &Grid, is_range: bool, points: usize) -> QueryStats {
    let total: usize = data.values().flatten().map(|s| s.samples.len()).sum();
    let mut per_step = Vec::new();
    if is_range || g.len() == 1 {
        let mut counts = vec![0i64; g.len()];
        for s in data.values().flatten().flat_map(|s| s.samples.iter()) {
            let i = if s.t <= g.start {
                0
            } else {
                usize::try_from((s.t - g.start + g.step - 1) / g.step).unwrap_or(usize::MAX)
            };
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            } else if let Some(c) = counts.last_mut() {
                *c += 1;
            }
        }
        per_step = counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| (g.time(i), c))
            .collect();
    }
    QueryStats {
        total_queryable_samples: total as i64,
        peak_samples: (total + points) as i64,
        per_step,
        ..QueryStats::default()
    }
}

fn instant_value(val: Val, t: i64, names: NameLabels) -> Result<Value> {
    Ok(match val {
        Val::Scalar(v) => Value::Scalar {
            t_ms: t,
            v: v.first().copied().unwrap_or(f64::NAN),
        },
        Val::Str(s) => Value::String { t_ms: t, v: s },
        Val::Vector(series) => Value::Vector(
            finish_names(series, names)?
                .into_iter()
                .filter_map(|s| {
                    s.vals.first().copied().flatten().map(|v| InstantSample {
                        labels: s.labels,
                        t_ms: t,
                        v,
                    })
                })
                .collect(),
        ),
        Val::Matrix(m) => {
            let mut out: Vec<Series> = m
                .series
                .iter()
                .filter_map(|s| {
                    let w = m.window(&s.samples, 0);
                    if w.is_empty() {
                        return None;
                    }
                    let labels = if s.drop_name {
                        s.labels.without(|n| names.is_name_label(n))
                    } else {
                        s.labels.clone()
                    };
                    Some(Series {
                        labels,
                        samples: w.to_vec(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(out)
        }
    })
}

fn range_value(val: Val, g: &Grid, names: NameLabels) -> Result<Value> {
    let series = match val {
        Val::Scalar(v) => vec![Series {
            labels: Labels::empty(),
            samples: v
                .into_iter()
                .enumerate()
                .map(|(i, v)| Sample::new(g.time(i), v))
                .collect(),
        }],
        Val::Vector(series) => finish_names(series, names)?
            .into_iter()
            .map(|s| Series {
                labels: s.labels,
                samples: s
                    .vals
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample::new(g.time(i), v)))
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .collect(),
        other => {
            return Err(Error::BadParameter {
                name: "query",
                message: format!(
                    "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                    other.type_name()
                ),
            });
        }
    };
    let mut series = series;
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(series))
}
