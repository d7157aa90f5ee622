//! `/loki/api/v1/detected_fields` and `/loki/api/v1/detected_field/<name>/values` (Logs
//! Drilldown's field list and value pickers): the newest `line_limit` lines of a log query,
//! parsed as Loki's query frontend parses them (see `cairn_logql::FieldDetector`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cairn_logql::{Expr, FieldDetector, QueryParams, QueryValue};
use cairn_model::Direction;

use super::index::{LokiRequest, bad};
use super::params;
use super::query::execute;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::json::{Json, respond};

/// `GET /loki/api/v1/detected_fields`.
pub(crate) async fn detected_fields(
    State(state): State<Arc<AppState>>,
    req: LokiRequest,
) -> Result<Response, ApiError> {
    let limit = params::fields_limit(&req.params).map_err(bad)?;
    let d = detect(&state, req, limit).await?;
    let fields = d.fields();
    let mut j = Json::new();
    j.raw("{");
    if !fields.is_empty() {
        j.key("fields").raw("[");
        for (i, f) in fields.iter().enumerate() {
            j.sep(i).raw("{").key("label").str(&f.label);
            j.raw(",").key("type").str(f.kind);
            j.raw(",").key("cardinality").int(f.cardinality as i64);
            j.raw(",").key("parsers");
            if f.parsers.is_empty() {
                j.raw("null");
            } else {
                j.strs(&f.parsers);
            }
            if !f.json_path.is_empty() {
                j.raw(",").key("jsonPath").strs(&f.json_path);
            }
            j.raw("}");
        }
        // Loki only names the limit when something was found.
        j.raw("],").key("limit").int(i64::from(limit));
    }
    j.raw("}");
    Ok(respond(StatusCode::OK, j.finish()))
}

/// `GET /loki/api/v1/detected_field/<name>/values`.
pub(crate) async fn detected_field_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: LokiRequest,
) -> Result<Response, ApiError> {
    let limit = params::fields_limit(&req.params).map_err(bad)?;
    let d = detect(&state, req, u32::MAX).await?;
    let values = d.values(&name, limit as usize);
    let mut j = Json::new();
    j.raw("{");
    if !values.is_empty() {
        j.key("values").strs(&values);
        j.raw(",").key("limit").int(i64::from(limit));
    }
    j.raw("}");
    Ok(respond(StatusCode::OK, j.finish()))
}

/// Runs the request's log query over its newest `line_limit` lines and feeds them to a
/// detector keeping at most `limit` fields.
async fn detect(state: &AppState, req: LokiRequest, limit: u32) -> Result<FieldDetector, ApiError> {
    let p = &req.params;
    let query = p.get("query").unwrap_or("");
    let expr = match cairn_logql::parse(query).map_err(|e| bad(e.to_string()))? {
        Expr::Log(l) => l,
        Expr::Sample(_) => {
            return Err(bad(
                "only log queries are accepted here, not metric queries".to_string(),
            ));
        }
    };
    let line_limit = params::line_limit(p).map_err(bad)?;
    let (start_ns, end_ns) = params::bounds(p, crate::logs::now_ns()).map_err(bad)?;
    let max = state
        .config
        .limits_for(&req.tenant)
        .logs
        .max_entries_limit_per_query;
    if max > 0 && line_limit as usize > max {
        return Err(bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({line_limit} > {max})"
        )));
    }
    let qp = QueryParams {
        start_ns,
        end_ns,
        step_ns: end_ns.saturating_sub(start_ns).max(1),
        interval_ns: 0,
        direction: Direction::Backward,
        limit: line_limit,
    };
    let (r, _) = execute(
        state,
        "loki_detected_fields",
        req.store,
        req.tenant,
        Expr::Log(expr),
        qp,
    )
    .await?;
    let mut d = FieldDetector::new(limit as usize);
    if let QueryValue::Streams(s) = &r.value {
        for (_, line, labels) in s.entries() {
            d.add(&labels.stream, line, &labels.metadata, &labels.parsed);
        }
    }
    Ok(d)
}
