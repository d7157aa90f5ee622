//! TraceQL metrics: `/api/metrics/query_range` (series of samples at each step) and
//! `/api/metrics/query` (one value per series over the whole range), in Tempo's JSON.
//!
//! The query runs over every trace with a span in the range (head and blocks); spans are
//! placed in steps by their start time, as Tempo does.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cairn_traceql::{Expr, MetricsEvaluator};
use serde_json::json;

use super::params::{metrics_range, traceql_param};
use super::pushdown::trace_filter;
use super::scan::scan;
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::logs::now_ns;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_data(msg, Style::Text)
}

async fn run(
    state: Arc<AppState>,
    headers: HeaderMap,
    q: HashMap<String, String>,
    instant: bool,
) -> Result<cairn_traceql::QueryRangeResponse, ApiError> {
    let tenant = state.tenant(&headers, Style::Text)?;
    let text =
        traceql_param(&q).ok_or_else(|| bad("missing query: give a TraceQL metrics query in q"))?;
    let query = cairn_traceql::parse_and_validate(text)
        .map_err(|e| bad(format!("invalid TraceQL query: {e}")))?;
    if !matches!(query.expr, Expr::Metrics(_)) {
        return Err(bad(
            "invalid TraceQL query: not a metrics query (rate(), count_over_time(), ...); searches run on /api/search",
        ));
    }
    let range = metrics_range(&q, now_ns() as u64, instant).map_err(bad)?;
    let eval = MetricsEvaluator::new(&query, range)
        .map_err(|e| bad(format!("invalid TraceQL query: {e}")))?;
    let endpoint = if instant {
        "tempo_metrics_query"
    } else {
        "tempo_metrics_query_range"
    };
    let filter = trace_filter(&query);
    let (eval, _) = scan(
        &state,
        tenant,
        (range.start_ns, range.end_ns),
        filter,
        endpoint,
        eval,
        |eval: &mut MetricsEvaluator, t| {
            eval.observe(&t)
                .map_err(|e| format!("cannot evaluate the query: {e}"))?;
            Ok(ControlFlow::Continue(()))
        },
    )
    .await?;
    Ok(eval.finish())
}

/// `GET /api/metrics/query_range`.
pub(super) async fn query_range(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let out = run(state, headers, q, false).await?;
    Ok(Json(json!({
        "series": out.series,
        "metrics": {},
    }))
    .into_response())
}

/// `GET /api/metrics/query`: `{"series": [{"labels", "value", "promLabels"}]}`
/// (`tempopb.QueryInstantResponse`).
pub(super) async fn query_instant(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let out = run(state, headers, q, true).await?;
    let series: Vec<_> = out
        .series
        .into_iter()
        .filter_map(|s| {
            let v = s.samples.last()?.value;
            let mut o = json!({ "labels": s.labels, "value": v });
            if !s.prom_labels.is_empty() {
                o["promLabels"] = json!(s.prom_labels);
            }
            Some(o)
        })
        .collect();
    Ok(Json(json!({ "series": series, "metrics": {} })).into_response())
}
