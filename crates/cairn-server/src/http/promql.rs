//! `/api/v1/query` and `/api/v1/query_range`: PromQL through `cairn-promql`, answered in
//! Prometheus' JSON shapes (times as seconds, values as strings formatted the way Go does).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_model::Labels;
use cairn_promql::{Annotations, Engine, EngineOptions, ErrorKind, Value};
use serde_json::{Map, Value as Json, json};

use super::AppState;
use super::error::{ApiError, Style};
use super::params::{ApiRequest, Params, parse_time};
use crate::config::parse_duration;

/// `GET|POST /api/v1/query`.
pub(crate) async fn query(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let expr = required(&p, "query")?;
    let t = match p.get("time") {
        Some(v) => parse_time(v).map_err(|e| param_error("time", &e))?,
        None => now_ms(),
    };
    let engine = engine(&p)?;
    let limit = p.limit()?;
    let store = state.store(Style::Json)?;
    let querier = store.querier();
    let answer = engine
        .instant_annotated(querier, &tenant, expr, t)
        .await
        .map_err(promql_error)?;
    Ok(respond(answer.value, answer.annotations, limit))
}

/// `GET|POST /api/v1/query_range`.
pub(crate) async fn query_range(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let expr = required(&p, "query")?;
    let start = parse_time(required(&p, "start")?).map_err(|e| param_error("start", &e))?;
    let end = parse_time(required(&p, "end")?).map_err(|e| param_error("end", &e))?;
    let step = parse_step(required(&p, "step")?).map_err(|e| param_error("step", &e))?;
    let engine = engine(&p)?;
    let limit = p.limit()?;
    let store = state.store(Style::Json)?;
    let querier = store.querier();
    let answer = engine
        .range_annotated(querier, &tenant, expr, start, end, step)
        .await
        .map_err(promql_error)?;
    Ok(respond(answer.value, answer.annotations, limit))
}

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    p.get(name).ok_or_else(|| {
        ApiError::bad_data(
            format!("invalid parameter \"{name}\": parameter is missing"),
            Style::Json,
        )
    })
}

fn param_error(name: &str, e: &str) -> ApiError {
    ApiError::bad_data(format!("invalid parameter \"{name}\": {e}"), Style::Json)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration parameter: float seconds (`15`, `0.5`) or Prometheus syntax (`15s`, `1h30m`).
fn parse_duration_param(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        return Ok(Duration::from_secs_f64(secs));
    }
    parse_duration(s).map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// A step in milliseconds; zero is passed on for the engine to refuse with Prometheus' words.
fn parse_step(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    parse_duration(s)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// An engine honouring the request's `timeout` and `lookback_delta`.
fn engine(p: &Params) -> Result<Engine, ApiError> {
    let mut opts = EngineOptions::default();
    if let Some(t) = p.get("timeout") {
        let t = parse_duration_param(t).map_err(|e| param_error("timeout", &e))?;
        if !t.is_zero() {
            opts.timeout = Some(opts.timeout.map_or(t, |d| d.min(t)));
        }
    }
    if let Some(l) = p.get("lookback_delta") {
        let l = parse_duration_param(l).map_err(|e| param_error("lookback_delta", &e))?;
        if !l.is_zero() {
            opts.lookback_delta_ms = i64::try_from(l.as_millis()).unwrap_or(i64::MAX);
        }
    }
    Ok(Engine::new(opts))
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

/// Seconds as a JSON number with at most three decimals (whole seconds as integers).
fn seconds(t_ms: i64) -> Json {
    if t_ms % 1000 == 0 {
        json!(t_ms / 1000)
    } else {
        json!(t_ms as f64 / 1000.0)
    }
}

/// Formats a float as Prometheus does (Go's `strconv.AppendFloat` with `'f'`, or `'e'` for
/// magnitudes below 1e-6 or from 1e21 on; `NaN`, `+Inf`, `-Inf`).
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust prints `1e-7` / `1.5e21`; Go writes the exponent signed with two digits at least.
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').expect("`{:e}` output has an exponent");
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{v}")
}

fn metric(labels: &Labels) -> Json {
    let m: Map<String, Json> = labels
        .iter()
        .map(|l| (l.name.to_string(), Json::String(l.value.to_string())))
        .collect();
    Json::Object(m)
}

fn respond(value: Value, annotations: Annotations, limit: usize) -> Response {
    let mut warnings = annotations.warnings;
    let mut truncated = |n: usize| {
        let over = limit > 0 && n > limit;
        if over {
            warnings.push("results truncated due to limit".to_string());
        }
        if over { limit } else { n }
    };
    let data = match value {
        Value::Scalar { t_ms, v } => {
            json!({"resultType": "scalar", "result": [seconds(t_ms), format_value(v)]})
        }
        Value::String { t_ms, v } => {
            json!({"resultType": "string", "result": [seconds(t_ms), v]})
        }
        Value::Vector(samples) => {
            let n = truncated(samples.len());
            let result: Vec<Json> = samples
                .iter()
                .take(n)
                .map(|s| json!({"metric": metric(&s.labels), "value": [seconds(s.t_ms), format_value(s.v)]}))
                .collect();
            json!({"resultType": "vector", "result": result})
        }
        Value::Matrix(series) => {
            let n = truncated(series.len());
            let result: Vec<Json> = series
                .iter()
                .take(n)
                .map(|s| {
                    let values: Vec<Json> = s
                        .samples
                        .iter()
                        .map(|p| json!([seconds(p.t), format_value(p.v)]))
                        .collect();
                    json!({"metric": metric(&s.labels), "values": values})
                })
                .collect();
            json!({"resultType": "matrix", "result": result})
        }
    };
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    if !annotations.infos.is_empty() {
        body["infos"] = json!(annotations.infos);
    }
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_formatted_like_go() {
        for (v, s) in [
            (2.0, "2"),
            (0.1, "0.1"),
            (-1.5, "-1.5"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1.234e300, "1.234e+300"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(format_value(v), s, "{v:?}");
        }
    }

    #[test]
    fn times_and_steps() {
        assert_eq!(seconds(4000), json!(4));
        assert_eq!(seconds(1_712_345_678_123), json!(1_712_345_678.123));
        assert_eq!(parse_step("15").unwrap(), 15_000);
        assert_eq!(parse_step("0.5").unwrap(), 500);
        assert_eq!(parse_step("1m").unwrap(), 60_000);
        assert!(parse_step("fast").is_err());
        assert_eq!(
            parse_duration_param("30s").unwrap(),
            Duration::from_secs(30)
        );
        assert!(parse_duration_param("-1").is_err());
    }
}
