//! `/api/v1/format_query` (the expression pretty-printed as Prometheus' `Pretty()` does) and
//! `/api/v1/query_exemplars` (validated, answered empty until exemplars are stored).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promql_parser::parser::Expr;
use promql_parser::util::{ExprVisitor, walk_expr};

use super::error::{ApiError, Style};
use super::json::{Json, success};
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

/// `GET|POST /api/v1/query_exemplars`: Prometheus' parameter checks, then an empty list;
/// an expression without a selector has nothing to look up (204, as Prometheus answers).
pub(crate) async fn query_exemplars(
    ApiRequest { params: p, .. }: ApiRequest,
) -> Result<Response, ApiError> {
    exemplar_params(&p)?;
    let expr = cairn_promql::parse(p.get("query").unwrap_or_default())
        .map_err(|e| ApiError::bad_data(e.to_string(), Style::Json))?;
    if !has_selector(&expr) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(success("[]", &[], &[]))
}

fn exemplar_params(p: &Params) -> Result<(), ApiError> {
    let start = time_param(p, "start", MIN_TIME_MS)?;
    let end = time_param(p, "end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
            Style::Json,
        ));
    }
    Ok(())
}

struct FindSelector(bool);

impl ExprVisitor for FindSelector {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
        if matches!(e, Expr::VectorSelector(_) | Expr::MatrixSelector(_)) {
            self.0 = true;
        }
        Ok(!self.0)
    }
}

fn has_selector(e: &Expr) -> bool {
    let mut v = FindSelector(false);
    let _ = walk_expr(&mut v, e);
    v.0
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
        assert!(has_selector(
            &cairn_promql::parse("sum(up)").expect("valid")
        ));
        assert!(!has_selector(&cairn_promql::parse("1 + 2").expect("valid")));
    }
}
