//! The Prometheus read API that Grafana needs for metric and label browsing: `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/metadata`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use cairn_model::{LabelValuesRequest, SeriesRequest};

use super::AppState;
use super::error::{ApiError, Style};
use super::json::Json;
use super::params::{ApiRequest, Params, go_atoi, unescape_label_name};

const TRUNCATED: &str = "results truncated due to limit";

/// `{"status":"success","data":...}` plus warnings when there are any.
fn success(data: Json, warnings: Vec<&str>) -> Response {
    let warnings: Vec<String> = warnings.into_iter().map(String::from).collect();
    super::json::success(&data.finish(), &warnings, &[])
}

fn strings(items: &[String]) -> Json {
    let mut j = Json::new();
    j.strs(items);
    j
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
    let mut j = Json::new();
    j.raw("[");
    for (i, l) in found.iter().enumerate() {
        j.sep(i).labels(l);
    }
    j.raw("]");
    Ok(success(j, warnings))
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
    Ok(success(strings(&names), warnings))
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
    Ok(success(strings(&values), warnings))
}

/// `GET /api/v1/metadata` (`metric`, `limit`, `limit_per_metric`).
pub(crate) async fn metadata(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    // Prometheus: a negative or absent limit means none, and 0 means an empty answer.
    let number = |name: &str| -> Result<Option<usize>, ApiError> {
        match p.get(name) {
            None => Ok(None),
            Some(v) => go_atoi(v)
                .map(|n| usize::try_from(n).ok())
                .map_err(|_| ApiError::bad_data(format!("{name} must be a number"), Style::Json)),
        }
    };
    let limit = number("limit")?;
    let per_metric = number("limit_per_metric")?;
    let store = state.store(Style::Json)?;
    let entries = store
        .metadata(&tenant, p.get("metric"))
        .await
        .map_err(|e| ApiError::from_query(e, Style::Json))?;
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (metric, md) in entries {
        if limit.is_some_and(|l| out.len() >= l) && !out.contains_key(&metric) {
            continue;
        }
        let list = out.entry(metric).or_default();
        if per_metric.is_none_or(|l| list.len() < l) {
            list.push(md);
        }
    }
    let mut j = Json::new();
    j.raw("{");
    for (i, (metric, list)) in out.iter().enumerate() {
        j.sep(i).key(metric).raw("[");
        for (k, md) in list.iter().enumerate() {
            j.sep(k).raw("{").key("type").str(md.metric_type.as_str());
            j.raw(",").key("help").str(&md.help);
            j.raw(",").key("unit").str(&md.unit).raw("}");
        }
        j.raw("]");
    }
    j.raw("}");
    Ok(success(j, Vec::new()))
}
