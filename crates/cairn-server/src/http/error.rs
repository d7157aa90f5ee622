//! `ApiError`: the one way every handler answers with an error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::{QueryError, QueryErrorKind};

/// How the error body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `{"status":"error","errorType":...,"error":...}` (Prometheus HTTP API).
    Json,
    /// A `text/plain` line (remote write and read, admin).
    Text,
}

/// An error answer: status, Prometheus `errorType`, message and body style.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
    pub(crate) style: Style,
    pub(crate) retry_after: bool,
}

impl ApiError {
    /// An error with an explicit status.
    pub(crate) fn new(
        status: StatusCode,
        error_type: &'static str,
        message: impl Into<String>,
        style: Style,
    ) -> Self {
        ApiError {
            status,
            error_type,
            message: message.into(),
            style,
            retry_after: false,
        }
    }

    /// 400 `bad_data`.
    pub(crate) fn bad_data(message: impl Into<String>, style: Style) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_data", message, style)
    }

    /// 503 `unavailable` with `Retry-After: 1`.
    pub(crate) fn unavailable(message: impl Into<String>, style: Style) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            message,
            style,
        )
        .retry()
    }

    /// 500 `internal`: a bug.
    pub(crate) fn internal(message: impl Into<String>, style: Style) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message,
            style,
        )
    }

    /// Adds `Retry-After: 1`.
    pub(crate) fn retry(mut self) -> Self {
        self.retry_after = true;
        self
    }

    /// Maps a query failure to Prometheus' error types and status codes.
    pub(crate) fn from_query(e: QueryError, style: Style) -> Self {
        let (status, ty) = match e.kind {
            QueryErrorKind::BadData => (StatusCode::BAD_REQUEST, "bad_data"),
            QueryErrorKind::LimitExceeded => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
            QueryErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            QueryErrorKind::Canceled => (
                StatusCode::from_u16(499).expect("499 is a valid status code"),
                "canceled",
            ),
            QueryErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let err = Self::new(status, ty, e.message, style);
        if e.kind == QueryErrorKind::Unavailable {
            err.retry()
        } else {
            err
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), error = %self.message, "request failed");
        }
        let mut resp = match self.style {
            Style::Json => super::json::respond(
                self.status,
                super::json::error_body(self.error_type, &self.message),
            ),
            Style::Text => {
                let mut body = self.message;
                if !body.ends_with('\n') {
                    body.push('\n');
                }
                (self.status, body).into_response()
            }
        };
        if self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}
