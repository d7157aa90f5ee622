//! `status/buildinfo`, `format_query` and `drilldown-limits`: what Grafana asks a Loki about
//! itself.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::index::LokiRequest;
use crate::http::AppState;
use crate::http::json::{Json, respond};

/// The Loki API level Cairn answers to: Grafana's Loki data source and Logs Drilldown gate
/// features on the version, and this is the Loki release whose API Cairn implements. Cairn's
/// own version follows as semver build metadata, which version comparisons ignore.
pub(crate) const LOKI_API_VERSION: &str = "3.5.0";

fn version() -> String {
    format!("{LOKI_API_VERSION}+cairn.{}", env!("CARGO_PKG_VERSION"))
}

/// `GET /loki/api/v1/status/buildinfo`: Loki's bare build object.
pub(crate) async fn buildinfo() -> Response {
    let mut j = Json::new();
    j.raw("{").key("version").str(&version());
    for (k, v) in [
        (
            "revision",
            option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
        ),
        (
            "branch",
            option_env!("CAIRN_GIT_BRANCH").unwrap_or("unknown"),
        ),
        ("buildUser", ""),
        (
            "buildDate",
            option_env!("CAIRN_BUILD_DATE").unwrap_or("unknown"),
        ),
        ("goVersion", ""),
    ] {
        j.raw(",").key(k).str(v);
    }
    j.raw("}");
    respond(StatusCode::OK, j.finish())
}

/// `GET/POST /loki/api/v1/format_query`: `{"status":"success","data":"<pretty>"}`, or 400
/// `{"status":"invalid-query","error":"..."}`.
pub(crate) async fn format_query(req: LokiRequest) -> Response {
    let q = req.params.get("query").unwrap_or("");
    let mut j = Json::new();
    match cairn_logql::parse(q) {
        Ok(e) => {
            j.raw("{").key("status").str("success");
            j.raw(",")
                .key("data")
                .str(&cairn_logql::pretty(&e))
                .raw("}");
            respond(StatusCode::OK, j.finish())
        }
        Err(e) => {
            j.raw("{").key("status").str("invalid-query");
            j.raw(",").key("error").str(&e.to_string()).raw("}");
            respond(StatusCode::BAD_REQUEST, j.finish())
        }
    }
}

/// `GET /loki/api/v1/drilldown-limits`: the tenant's query-side limits as Loki names them,
/// whether patterns are served, and the version (Logs Drilldown reads it at start).
pub(crate) async fn drilldown_limits(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let tenant = match state.tenant(&headers, crate::http::Style::Text) {
        Ok(t) => t,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    let l = &state.config.limits_for(&tenant).logs;
    let mut j = Json::new();
    j.raw("{").key("limits").raw("{");
    j.key("discover_log_levels").raw(if l.discover_log_levels {
        "true"
    } else {
        "false"
    });
    j.raw(",")
        .key("discover_service_name")
        .strs(&l.discover_service_name);
    j.raw(",").key("log_level_fields").strs(&l.log_level_fields);
    j.raw(",")
        .key("max_entries_limit_per_query")
        .int(l.max_entries_limit_per_query as i64);
    j.raw(",")
        .key("max_query_series")
        .int(l.max_query_series as i64);
    j.raw(",")
        .key("allow_structured_metadata")
        .raw(if l.allow_structured_metadata {
            "true"
        } else {
            "false"
        });
    j.raw(",").key("volume_enabled").raw("true");
    j.raw(",").key("pattern_persistence_enabled").raw("false");
    j.raw("}");
    j.raw(",").key("pattern_ingester_enabled").raw("true");
    j.raw(",").key("version").str(&version()).raw("}");
    respond(StatusCode::OK, j.finish())
}
