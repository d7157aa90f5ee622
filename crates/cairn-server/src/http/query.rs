//! The Prometheus read API that Grafana needs for metric and label browsing: `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/metadata`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use cairn_model::{LabelValuesRequest, SeriesRequest};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, Style};
use super::params::{ApiRequest, Params, unescape_label_name};

const TRUNCATED: &str = "results truncated due to limit";

/// `{"status":"success","data":...}` plus warnings when there are any.
fn success(data: Value, warnings: Vec<&str>) -> Response {
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    axum::Json(body).into_response()
}

/// The selectors, range and limit shared by the three endpoints; asks the store for one more
/// than the limit so that truncation can be reported.
fn series_request(p: &Params, require_match: bool) -> Result<(SeriesRequest, usize), ApiError> {
    let selectors = p.selectors()?;
    if require_match && selectors.is_empty() {
        return Err(ApiError::bad_data(
            "no match[] parameter provided",
            Style::Json,
        ));
    }
    let (start_ms, end_ms) = p.time_range()?;
    let limit = p.limit()?;
    Ok((
        SeriesRequest {
            selectors,
            start_ms,
            end_ms,
            limit: if limit == 0 { 0 } else { limit + 1 },
        },
        limit,
    ))
}

fn truncate<T>(mut v: Vec<T>, limit: usize) -> (Vec<T>, Vec<&'static str>) {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        (v, vec![TRUNCATED])
    } else {
        (v, Vec::new())
    }
}

/// `GET|POST /api/v1/series`.
pub(crate) async fn series(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let (req, limit) = series_request(&p, true)?;
    let store = state.store(Style::Json)?;
    let found = store
        .series(&tenant, &req)
        .await
        .map_err(|e| ApiError::from_query(e, Style::Json))?;
    let (found, warnings) = truncate(found, limit);
    let data: Vec<BTreeMap<&str, &str>> = found
        .iter()
        .map(|l| l.iter().map(|l| (l.name, l.value)).collect())
        .collect();
    Ok(success(json!(data), warnings))
}

/// `GET|POST /api/v1/labels`.
pub(crate) async fn labels(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let (req, limit) = series_request(&p, false)?;
    let store = state.store(Style::Json)?;
    let names = store
        .label_names(&tenant, &req)
        .await
        .map_err(|e| ApiError::from_query(e, Style::Json))?;
    let (names, warnings) = truncate(names, limit);
    Ok(success(json!(names), warnings))
}

/// `GET /api/v1/label/<name>/values`; `<name>` may be `U__`-escaped.
pub(crate) async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let name = unescape_label_name(&name).map_err(|e| ApiError::bad_data(e, Style::Json))?;
    if name.is_empty() {
        return Err(ApiError::bad_data("invalid label name: \"\"", Style::Json));
    }
    let (series, limit) = series_request(&p, false)?;
    let store = state.store(Style::Json)?;
    let values = store
        .label_values(&tenant, &LabelValuesRequest { name, series })
        .await
        .map_err(|e| ApiError::from_query(e, Style::Json))?;
    let (values, warnings) = truncate(values, limit);
    Ok(success(json!(values), warnings))
}

/// `GET /api/v1/metadata` (`metric`, `limit`, `limit_per_metric`).
pub(crate) async fn metadata(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let limit = p.limit()?;
    let per_metric = match p.get("limit_per_metric") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::bad_data(
                format!("invalid parameter \"limit_per_metric\": cannot parse {v:?}"),
                Style::Json,
            )
        })?,
    };
    let store = state.store(Style::Json)?;
    let entries = store
        .metadata(&tenant, p.get("metric"))
        .await
        .map_err(|e| ApiError::from_query(e, Style::Json))?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (metric, md) in entries {
        if limit > 0 && out.len() >= limit && !out.contains_key(&metric) {
            continue;
        }
        let list = out.entry(metric).or_default();
        if per_metric == 0 || list.len() < per_metric {
            list.push(json!({"type": md.metric_type.as_str(), "help": md.help, "unit": md.unit}));
        }
    }
    Ok(success(json!(out), Vec::new()))
}
