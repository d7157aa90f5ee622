//! `POST /fluentbit/api/v1/push`: Fluent Bit's `http` output, in any of its formats.
//!
//! The format is the `format` query parameter when given (`json`, `json_lines`,
//! `json_stream`, `msgpack`, `gelf`), else `logs.fluent_bit.format`, else the Content-Type as
//! Fluent Bit sets it: `application/x-ndjson` is `json_lines`, `application/msgpack`
//! `msgpack`, `application/json` `json` when the body is an array and `json_stream`
//! otherwise. `json_date_key` and `json_date_format` may be given as query parameters too, as
//! may `tag` (else the `logs.fluent_bit.tag_header` header, Fluent Bit's `header_tag`).
//! Records become streams by `logs.records`, the options of Fluent Bit's `loki` output.
//! Answers are those of the Loki push API (204, 400, 413, 415, 429, 503).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cairn_wire::{FluentHttpFormat, LogDecodeLimits, RecordMappingConfig, TimeFormat};
use std::collections::HashMap;

use super::AppState;
use super::error::{ApiError, Style};
use super::log_body::{self, header_str, off_reactor, wire_error};
use super::loki::answer;
use crate::logs::PushAnswer;

const FORMAT: &str = "fluentbit";

/// The handler.
pub(crate) async fn push(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let resp = match handle(&state, &query, &headers, body).await {
        Ok(a) => answer(&a),
        Err(e) => e.into_response(),
    };
    state.log_metrics.request(FORMAT, resp.status());
    resp
}

fn format_of(
    query: &HashMap<String, String>,
    configured: Option<FluentHttpFormat>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<FluentHttpFormat, ApiError> {
    if let Some(f) = query.get("format") {
        return FluentHttpFormat::from_name(f).ok_or_else(|| {
            ApiError::bad_data(
                format!("unknown format {f:?}: use json, json_lines, json_stream, msgpack or gelf"),
                Style::Text,
            )
        });
    }
    if let Some(f) = configured {
        return Ok(f);
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match media.as_str() {
        "application/x-ndjson" | "application/jsonlines" | "application/x-jsonlines" => {
            FluentHttpFormat::JsonLines
        }
        "application/msgpack" | "application/x-msgpack" => FluentHttpFormat::Msgpack,
        "application/json" | "" => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => FluentHttpFormat::Json,
            _ => FluentHttpFormat::JsonStream,
        },
        other => {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_data",
                format!(
                    "unsupported content type {other:?}: Fluent Bit's http output sends application/json, application/x-ndjson or application/msgpack"
                ),
                Style::Text,
            ));
        }
    })
}

async fn handle(
    state: &AppState,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<PushAnswer, ApiError> {
    let p = log_body::read(state, headers, body, Style::Text).await?;
    let cfg = &state.config.logs.fluent_bit;
    let format = format_of(
        query,
        cfg.format,
        header_str(headers, header::CONTENT_TYPE.as_str()),
        &p.body,
    )?;
    let mut time = cfg.time.clone();
    if let Some(k) = query.get("json_date_key") {
        time.key = (!k.is_empty() && k != "false").then(|| k.clone());
    }
    if let Some(f) = query.get("json_date_format") {
        time.format = TimeFormat::from_name(f).ok_or_else(|| {
            ApiError::bad_data(
                format!(
                    "unknown json_date_format {f:?}: use double, epoch, epoch_ms, iso8601 or java_sql_timestamp"
                ),
                Style::Text,
            )
        })?;
    }
    let tag = query.get("tag").cloned().or_else(|| {
        cfg.tag_header
            .as_deref()
            .and_then(|h| header_str(headers, h))
            .map(str::to_string)
    });
    let mapping = match query.get("tag_label") {
        // A per-request tag label: the configured mapping with another label name.
        Some(l) => {
            let records = RecordMappingConfig {
                tag_label: (!l.is_empty()).then(|| l.clone()),
                ..state.config.logs.records.clone()
            };
            cairn_wire::RecordMapping::new(&records)
                .map_err(|e| ApiError::bad_data(format!("tag_label: {e}"), Style::Text))?
        }
        None => cfg.mapping.clone(),
    };
    let limits = LogDecodeLimits {
        max_decoded_bytes: p.body.len().max(1),
        ..LogDecodeLimits::default()
    };
    let body = p.body;
    let now = crate::logs::now_ns();
    let batch = off_reactor(body.len(), Style::Text, move || {
        let mut records = cairn_wire::decode_fluent_http(format, &body, &time, &limits)?;
        if let Some(t) = tag {
            for r in &mut records {
                r.tag = Some(t.clone());
            }
        }
        Ok::<_, cairn_wire::WireError>(cairn_wire::map_records(records, &mapping, now).0)
    })
    .await?
    .map_err(|e| wire_error(&e, Style::Text))?;
    let ingest = state.log_ingest(&p.store, &p.tenant);
    Ok(ingest.push(&p.tenant, batch).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn formats_as_fluent_bit_labels_them() {
        let none = q(&[]);
        let f = |ct: Option<&str>, body: &[u8]| format_of(&none, None, ct, body).unwrap();
        assert_eq!(
            f(Some("application/json"), b" [{}]"),
            FluentHttpFormat::Json
        );
        assert_eq!(
            f(Some("application/json"), b"{}{}"),
            FluentHttpFormat::JsonStream
        );
        assert_eq!(
            f(Some("application/x-ndjson"), b"{}\n"),
            FluentHttpFormat::JsonLines
        );
        assert_eq!(
            f(Some("application/msgpack"), b"\x92"),
            FluentHttpFormat::Msgpack
        );
        assert_eq!(
            format_of(
                &q(&[("format", "gelf")]),
                None,
                Some("application/json"),
                b"{}"
            )
            .unwrap(),
            FluentHttpFormat::Gelf
        );
        assert!(format_of(&q(&[("format", "csv")]), None, None, b"").is_err());
        let e = format_of(&none, None, Some("text/csv"), b"").unwrap_err();
        assert_eq!(e.status.as_u16(), 415);
    }
}
