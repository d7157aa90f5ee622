//! `/api/v1/query` and `/api/v1/query_range`: PromQL through `cairn-promql`, with
//! Prometheus' parameter checks (in its order and words), admission through the query slots,
//! cancellation when the client goes away, and Prometheus' JSON bytes.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cairn_model::TenantId;
use cairn_promql::{Answer, Engine, EngineOptions, ErrorKind, QueryStats, Value};
use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use super::AppState;
use super::error::{ApiError, Style};
use super::json::{Json, success};
use super::params::{ApiRequest, Params, parse_time};
use super::slots::{CancelOnDrop, Refused, effective_timeout, run_query};
use crate::config::parse_duration;

/// `GET|POST /api/v1/query`.
pub(crate) async fn query(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let limit = p.limit()?;
    let t = time_param(&p, "time", now_ms())?;
    let req = common(&p)?;
    let text = p.get("query").unwrap_or_default().to_string();
    execute(&state, "query", &req, tenant, text, Kind::Instant(t))
        .await
        .map(|(answer, stats)| respond(answer, stats, limit, &req))
}

/// `GET|POST /api/v1/query_range`.
pub(crate) async fn query_range(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let limit = p.limit()?;
    let start =
        parse_time(p.get("start").unwrap_or_default()).map_err(|e| param_error("start", &e))?;
    let end = parse_time(p.get("end").unwrap_or_default()).map_err(|e| param_error("end", &e))?;
    if end < start {
        return Err(param_error(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step = parse_duration_param(p.get("step").unwrap_or_default())
        .map_err(|e| param_error("step", &e))?;
    if step <= 0 {
        return Err(param_error(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > state.config.query.max_points {
        return Err(ApiError::bad_data(
            if state.config.query.max_points == 11_000 {
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".to_string()
            } else {
                format!(
                    "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                    state.config.query.max_points
                )
            },
            Style::Json,
        ));
    }
    let mut req = common(&p)?;
    req.is_range = true;
    match req.expr.value_type() {
        ValueType::Scalar | ValueType::Vector => {}
        other => {
            return Err(ApiError::bad_data(
                format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_name(other)
                ),
                Style::Json,
            ));
        }
    }
    let text = p.get("query").unwrap_or_default().to_string();
    let kind = Kind::Range { start, end, step };
    execute(&state, "query_range", &req, tenant, text, kind)
        .await
        .map(|(answer, stats)| respond(answer, stats, limit, &req))
}

/// The parameters both endpoints share, checked in Prometheus' order after the times.
struct Common {
    expr: Expr,
    timeout: Option<Duration>,
    lookback_delta: Option<Duration>,
    /// `stats` given (any value): include the `stats` object.
    stats: bool,
    /// `stats=all`: also the samples per step.
    stats_all: bool,
    is_range: bool,
}

fn common(p: &Params) -> Result<Common, ApiError> {
    let timeout = match p.get("timeout") {
        Some(t) => Some(ms_duration(
            parse_duration_param(t).map_err(|e| param_error("timeout", &e))?,
        )),
        None => None,
    };
    let lookback_delta = match p.get("lookback_delta") {
        Some(l) => Some(ms_duration(parse_duration_param(l).map_err(|e| {
            ApiError::bad_data(
                format!("error parsing lookback delta duration: {e}"),
                Style::Json,
            )
        })?)),
        None => None,
    };
    let expr = parse_query(p)?;
    let stats = p.get("stats");
    Ok(Common {
        expr,
        timeout,
        lookback_delta,
        stats: stats.is_some(),
        stats_all: stats == Some("all"),
        is_range: false,
    })
}

fn ms_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Parses `query`; errors read `invalid parameter "query": 1:5: parse error: ...`.
pub(crate) fn parse_query(p: &Params) -> Result<Expr, ApiError> {
    let text = p.get("query").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(param_error(
            "query",
            "1:1: parse error: no expression found in input",
        ));
    }
    cairn_promql::parse(text).map_err(|e| match e {
        cairn_promql::Error::Parse { position, message } => {
            let (line, col) = line_col(text, position.unwrap_or(0));
            param_error("query", &format!("{line}:{col}: parse error: {message}"))
        }
        other => param_error("query", &other.to_string()),
    })
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An optional time parameter, with Prometheus' error text.
pub(crate) fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => parse_time(v)
            .map_err(|e| param_error(name, &format!("Invalid time value for '{name}': {e}"))),
    }
}

fn param_error(name: &str, e: &str) -> ApiError {
    ApiError::bad_data(format!("invalid parameter \"{name}\": {e}"), Style::Json)
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration in milliseconds: float seconds (`15`, `0.5`) or Prometheus syntax (`15s`,
/// `1h30m`); negative float seconds pass so that `step` can be refused with its own words.
fn parse_duration_param(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if !ms.is_finite() || ms.abs() > 9.2e15 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms.round() as i64);
    }
    parse_duration(s)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// An instant query at a time, or a range query.
enum Kind {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

/// Admits the query (waiting for a slot within its timeout), runs it on its own task with a
/// cancel flag raised if the client goes away, and maps failures to Prometheus' answers.
///
/// The task holds the slot until the engine returns, so `cairn_queries_running` counts
/// evaluations still using CPU, not requests still connected: a canceled query leaves it
/// only once its work has stopped.
async fn execute(
    state: &AppState,
    endpoint: &'static str,
    req: &Common,
    tenant: TenantId,
    text: String,
    kind: Kind,
) -> Result<(Answer, QueryStats), ApiError> {
    let store = Arc::clone(state.store(Style::Json)?);
    let cfg = &state.config.query;
    let metrics = &state.query_metrics;
    let arrived = Instant::now();
    let timeout = effective_timeout(cfg.timeout, req.timeout);
    let slot = state
        .query_slots
        .acquire(arrived + timeout, metrics)
        .await
        .map_err(|r| match r {
            Refused::QueueFull => ApiError::unavailable(
                "too many queries are waiting to run (query.max_queued), retry shortly",
                Style::Json,
            ),
            Refused::Timeout => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "query timed out in query queue",
                Style::Json,
            ),
        })?;
    let queued = arrived.elapsed();
    let guard = CancelOnDrop::new(metrics.clone());
    let engine = Engine::new(EngineOptions {
        lookback_delta_ms: i64::try_from(
            req.lookback_delta
                .filter(|d| !d.is_zero())
                .unwrap_or(cfg.lookback_delta)
                .as_millis(),
        )
        .unwrap_or(i64::MAX),
        max_samples: cfg.max_samples,
        max_series: cfg.max_series,
        max_points: cfg.max_points,
        timeout: Some(timeout.saturating_sub(queued)),
        cancel: Some(guard.flag()),
        ..EngineOptions::default()
    });
    let work = async move {
        let q = store.querier();
        let out = match kind {
            Kind::Instant(t) => engine.instant_stats(q, &tenant, &text, t).await,
            Kind::Range { start, end, step } => {
                engine
                    .range_stats(q, &tenant, &text, start, end, step)
                    .await
            }
        };
        drop(slot);
        out
    };
    let out = run_query(work, guard, endpoint, arrived, Style::Json).await?;
    match out {
        Ok((answer, mut stats)) => {
            stats.exec_queue_time = queued.as_secs_f64();
            stats.exec_total_time += queued.as_secs_f64();
            Ok((answer, stats))
        }
        Err(e) => {
            match &e {
                cairn_promql::Error::Timeout { .. } => metrics.refuse("timeout"),
                cairn_promql::Error::TooManySamples { .. } => metrics.refuse("too_many_samples"),
                cairn_promql::Error::TooManySeries { .. } => metrics.refuse("too_many_series"),
                _ => {}
            }
            Err(promql_error(e))
        }
    }
}

fn promql_error(e: cairn_promql::Error) -> ApiError {
    let kind = e.kind();
    let status = match kind {
        ErrorKind::BadData => StatusCode::BAD_REQUEST,
        ErrorKind::Execution => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Timeout | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Canceled => StatusCode::from_u16(499).expect("499 is a valid status code"),
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let err = ApiError::new(status, kind.error_type(), e.to_string(), Style::Json);
    if kind == ErrorKind::Unavailable {
        err.retry()
    } else {
        err
    }
}

/// Writes `data` (`resultType`, `result`, `stats`) and the envelope.
fn respond(answer: Answer, stats: QueryStats, limit: usize, req: &Common) -> Response {
    let mut warnings = answer.annotations.warnings;
    let mut keep = |n: usize| {
        if limit > 0 && n > limit {
            warnings.push("results truncated due to limit".to_string());
            limit
        } else {
            n
        }
    };
    let mut j = Json::new();
    j.raw("{");
    match &answer.value {
        Value::Scalar { t_ms, v } => {
            j.key("resultType").str("scalar").raw(",").key("result");
            j.scalar_point(*t_ms, *v);
        }
        Value::String { t_ms, v } => {
            j.key("resultType").str("string").raw(",").key("result");
            j.raw("[").time(*t_ms).raw(",").str(v).raw("]");
        }
        Value::Vector(samples) => {
            j.key("resultType")
                .str("vector")
                .raw(",")
                .key("result")
                .raw("[");
            for (i, s) in samples.iter().take(keep(samples.len())).enumerate() {
                j.sep(i).raw("{").key("metric").labels(&s.labels);
                j.raw(",").key("value").point(s.t_ms, s.v).raw("}");
            }
            j.raw("]");
        }
        Value::Matrix(series) => {
            j.key("resultType")
                .str("matrix")
                .raw(",")
                .key("result")
                .raw("[");
            for (i, s) in series.iter().take(keep(series.len())).enumerate() {
                j.sep(i).raw("{").key("metric").labels(&s.labels);
                j.raw(",").key("values").raw("[");
                for (k, p) in s.samples.iter().enumerate() {
                    j.sep(k).point(p.t, p.v);
                }
                j.raw("]}");
            }
            j.raw("]");
        }
    }
    if req.stats {
        j.raw(",").key("stats");
        write_stats(&mut j, &stats, req.stats_all);
    }
    j.raw("}");
    success(&j.finish(), &warnings, &answer.annotations.infos)
}

/// Prometheus' `stats` object: `timings` then `samples`, fields in its order.
fn write_stats(j: &mut Json, s: &QueryStats, per_step: bool) {
    j.raw("{").key("timings").raw("{");
    for (i, (k, v)) in [
        ("evalTotalTime", s.eval_total_time),
        ("resultSortTime", s.result_sort_time),
        ("queryPreparationTime", s.query_preparation_time),
        ("innerEvalTime", s.inner_eval_time),
        ("execQueueTime", s.exec_queue_time),
        ("execTotalTime", s.exec_total_time),
    ]
    .into_iter()
    .enumerate()
    {
        j.sep(i).key(k).num(v);
    }
    j.raw("},").key("samples").raw("{");
    if per_step && !s.per_step.is_empty() {
        j.key("totalQueryableSamplesPerStep").raw("[");
        for (i, (t, n)) in s.per_step.iter().enumerate() {
            j.sep(i).raw("[").time(*t).raw(",").int(*n).raw("]");
        }
        j.raw("],");
    }
    j.key("totalQueryableSamples")
        .int(s.total_queryable_samples);
    j.raw(",").key("peakSamples").int(s.peak_samples);
    j.raw("}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_positions() {
        assert_eq!(parse_duration_param("15"), Ok(15_000));
        assert_eq!(parse_duration_param("0.5"), Ok(500));
        assert_eq!(parse_duration_param("1m"), Ok(60_000));
        assert_eq!(parse_duration_param("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_param("-1"), Ok(-1000));
        assert_eq!(
            parse_duration_param("fast"),
            Err("cannot parse \"fast\" to a valid duration".to_string())
        );
        assert_eq!(line_col("a\nbc(", 5), (2, 4));
        assert_eq!(line_col("foo(", 4), (1, 5));
    }
}
