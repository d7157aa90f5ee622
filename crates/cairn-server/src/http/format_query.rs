//! `/api/v1/format_query` (the expression pretty-printed as Prometheus' `Pretty()` does) and
//! `/api/v1/query_exemplars` (the exemplars of the series the expression selects).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_store::ExemplarSeries;

use super::AppState;
use super::error::{ApiError, Style};
use super::json::{Json, format_value, sample_seconds, success};
use super::params::{ApiRequest, MAX_TIME_MS, MIN_TIME_MS, Params};
use super::promql::{parse_query, time_param};

/// `GET|POST /api/v1/format_query`.
pub(crate) async fn format_query(
    ApiRequest { params: p, .. }: ApiRequest,
) -> Result<Response, ApiError> {
    let expr = parse_query(&p)?;
    let mut j = Json::new();
    j.str(&expr.prettify());
    Ok(success(&j.finish(), &[], &[]))
}

/// `GET|POST /api/v1/query_exemplars`: Prometheus' parameter checks, then the exemplars in
/// `[start, end]` of the series any vector selector of `query` matches (as
/// `parser.ExtractSelectors` finds them); an expression without a selector has nothing to
/// look up (204, as Prometheus answers).
pub(crate) async fn query_exemplars(
    State(state): State<Arc<AppState>>,
    ApiRequest { tenant, params: p }: ApiRequest,
) -> Result<Response, ApiError> {
    let (start, end) = exemplar_params(&p)?;
    let expr = cairn_promql::parse(p.get("query").unwrap_or_default())
        .map_err(|e| ApiError::bad_data(e.to_string(), Style::Json))?;
    let selectors = cairn_promql::extract_selectors(&expr)
        .map_err(|e| ApiError::bad_data(e.to_string(), Style::Json))?;
    if selectors.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let store = state.store(Style::Json)?;
    let found = store.exemplars(&tenant, &selectors, start, end);
    Ok(success(&exemplars_json(&found), &[], &[]))
}

fn exemplar_params(p: &Params) -> Result<(i64, i64), ApiError> {
    let start = time_param(p, "start", MIN_TIME_MS)?;
    let end = time_param(p, "end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
            Style::Json,
        ));
    }
    Ok((start, end))
}

/// Prometheus' JSON of exemplar query results: `seriesLabels`, then `exemplars` with
/// `labels`, `value` as a string and `timestamp` as `jsonutil.MarshalTimestamp` writes it.
fn exemplars_json(found: &[ExemplarSeries]) -> String {
    let mut j = Json::new();
    j.raw("[");
    for (i, s) in found.iter().enumerate() {
        j.sep(i).raw("{").key("seriesLabels").labels(&s.series);
        j.raw(",").key("exemplars").raw("[");
        for (k, e) in s.exemplars.iter().enumerate() {
            j.sep(k).raw("{").key("labels").labels(&e.labels);
            j.raw(",").key("value").str(&format_value(e.value));
            j.raw(",")
                .key("timestamp")
                .raw(&sample_seconds(e.timestamp_ms));
            j.raw("}");
        }
        j.raw("]}");
    }
    j.raw("]");
    j.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from Prometheus' printer tests (`promql/parser/prettier_test.go`) and answers of
    /// Prometheus' own `/api/v1/format_query`.
    #[test]
    fn pretty_matches_prometheus() {
        for (q, want) in [
            ("sum(rate(foo[5m]))by(a)", "sum by (a) (rate(foo[5m]))"),
            ("a   +   b", "a + b"),
            ("foo{a=\"b\"}   offset 5m", "foo{a=\"b\"} offset 5m"),
            ("rate(x[5m:1m])", "rate(x[5m:1m])"),
        ] {
            let e = cairn_promql::parse(q).expect("valid");
            assert_eq!(e.prettify(), want, "{q}");
        }
    }

    /// Prometheus' bytes for exemplars, as its `marshalExemplarJSON` writes them: labels as
    /// a sorted object, the value as a string (`jsonutil.MarshalValue`), the timestamp as
    /// whole seconds plus a three-digit fraction when there is one (`MarshalTimestamp`).
    #[test]
    fn exemplar_json_matches_prometheus() {
        use cairn_model::Labels;
        use cairn_store::Exemplar;
        let s = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied()).unwrap();
        let found = vec![ExemplarSeries {
            series: s(&[("__name__", "test_metric3"), ("foo", "boo"), ("dup", "1")]),
            exemplars: vec![
                Exemplar {
                    labels: s(&[("id", "abc3")]),
                    value: 10.0,
                    timestamp_ms: 4053000,
                },
                Exemplar {
                    labels: s(&[("id", "abc4")]),
                    value: 1e-7,
                    timestamp_ms: 1600000000120,
                },
                Exemplar {
                    labels: Labels::empty(),
                    value: f64::NAN,
                    timestamp_ms: -1500,
                },
            ],
        }];
        assert_eq!(
            exemplars_json(&found),
            concat!(
                r#"[{"seriesLabels":{"__name__":"test_metric3","dup":"1","foo":"boo"},"#,
                r#""exemplars":[{"labels":{"id":"abc3"},"value":"10","timestamp":4053},"#,
                r#"{"labels":{"id":"abc4"},"value":"1e-07","timestamp":1600000000.120},"#,
                r#"{"labels":{},"value":"NaN","timestamp":-1.500}]}]"#
            )
        );
        assert_eq!(exemplars_json(&[]), "[]");
    }
}
