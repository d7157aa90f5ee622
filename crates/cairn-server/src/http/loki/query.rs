//! `/loki/api/v1/query` and `/loki/api/v1/query_range`: LogQL through `cairn-logql`, with
//! Loki's parameter checks and words, admission through the query slots shared with PromQL,
//! cancellation when the client goes away, and Loki's JSON (`streams`, `matrix`, `vector`,
//! `scalar`, with its `stats` object).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cairn_logql::{Engine, EngineOptions, EngineStats, Expr, QueryParams, QueryResult, QueryValue};
use cairn_model::TenantId;
use cairn_promql::Value;

use super::index::{LokiRequest, bad};
use super::json::{CATEGORIZE_LABELS, ENCODING_FLAGS_HEADER, EntryOut, point, query_response};
use super::params;
use crate::backend::LogsStore;
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::http::json::{Json, respond};
use crate::http::slots::{Admission, CancelOnDrop, admit, run_query};

/// A query request: the Loki request and whether the client asked for categorized labels.
pub(crate) struct QueryRequest {
    pub(crate) inner: LokiRequest,
    pub(crate) categorize: bool,
}

impl FromRequest<Arc<AppState>> for QueryRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let categorize = wants_categories(req.headers());
        let inner = LokiRequest::from_request(req, state).await?;
        Ok(QueryRequest { inner, categorize })
    }
}

/// Whether `X-Loki-Response-Encoding-Flags` names `categorize-labels` (Grafana sends it when
/// it can show structured metadata and parsed labels apart from stream labels).
pub(crate) fn wants_categories(headers: &HeaderMap) -> bool {
    headers
        .get_all(ENCODING_FLAGS_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim() == CATEGORIZE_LABELS)
}

/// `GET|POST /loki/api/v1/query_range`.
pub(crate) async fn query_range(
    State(state): State<Arc<AppState>>,
    req: QueryRequest,
) -> Result<Response, ApiError> {
    let p = &req.inner.params;
    let r = params::range(p, crate::logs::now_ns()).map_err(bad)?;
    let expr = parse(&r.query)?;
    let qp = QueryParams {
        start_ns: r.start_ns,
        end_ns: r.end_ns,
        step_ns: r.step_ns,
        interval_ns: r.interval_ns,
        direction: r.direction,
        limit: r.limit,
    };
    run(&state, "loki_query_range", req, expr, qp).await
}

/// `GET|POST /loki/api/v1/query`: an instant metric query (Loki refuses log queries here).
pub(crate) async fn query(
    State(state): State<Arc<AppState>>,
    req: QueryRequest,
) -> Result<Response, ApiError> {
    let p = &req.inner.params;
    let r = params::instant(p, crate::logs::now_ns()).map_err(bad)?;
    let expr = parse(&r.query)?;
    let qp = QueryParams {
        limit: r.limit,
        direction: r.direction,
        ..QueryParams::instant(r.time_ns)
    };
    run(&state, "loki_query", req, expr, qp).await
}

/// Parses `query` as Loki does: an empty query is a parse error like any other.
fn parse(q: &str) -> Result<Expr, ApiError> {
    cairn_logql::parse(q).map_err(|e| bad(e.to_string()))
}

/// A LogQL failure as Loki answers it: plain text, Loki's status for the kind.
pub(crate) fn logql_error(e: cairn_logql::Error) -> ApiError {
    let status =
        StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let err = ApiError::new(status, "", e.to_string(), Style::Text);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        err.retry()
    } else {
        err
    }
}

/// Checks the tenant's query limits that Loki's frontend checks before running anything.
fn check_limits(
    state: &AppState,
    tenant: &TenantId,
    expr: &Expr,
    qp: &QueryParams,
) -> Result<(), ApiError> {
    let limits = &state.config.limits_for(tenant).logs;
    if !qp.is_instant() {
        check_length(limits, qp.start_ns, qp.end_ns)?;
    }
    let max_entries = limits.max_entries_limit_per_query;
    if matches!(expr, Expr::Log(_)) && max_entries > 0 && qp.limit as usize > max_entries {
        return Err(bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({} > {max_entries})",
            qp.limit
        )));
    }
    Ok(())
}

/// Loki's `max_query_length` check of a range.
pub(crate) fn check_length(
    limits: &crate::config::LogLimits,
    start_ns: i64,
    end_ns: i64,
) -> Result<(), ApiError> {
    let max_len = limits.max_query_length;
    if max_len.is_zero() {
        return Ok(());
    }
    let len_ns = end_ns.saturating_sub(start_ns);
    let max_ns = i64::try_from(max_len.as_nanos()).unwrap_or(i64::MAX);
    if len_ns > max_ns {
        return Err(bad(format!(
            "the query time range exceeds the limit (query length: {}, limit: {})",
            cairn_logql::format_go_duration(len_ns),
            cairn_logql::format_prom_duration(max_ns),
        )));
    }
    Ok(())
}

/// Admits the query, runs it on its own task (canceled when the client goes away), and writes
/// Loki's answer.
async fn run(
    state: &AppState,
    endpoint: &'static str,
    req: QueryRequest,
    expr: Expr,
    qp: QueryParams,
) -> Result<Response, ApiError> {
    let QueryRequest { inner, categorize } = req;
    let LokiRequest { tenant, store, .. } = inner;
    check_limits(state, &tenant, &expr, &qp)?;
    let (result, queued) = execute(state, endpoint, store, tenant, expr, qp).await?;
    Ok(respond(StatusCode::OK, render(&result, queued, categorize)))
}

/// Runs one query through the shared query slots; returns its result and the time it waited.
pub(crate) async fn execute(
    state: &AppState,
    endpoint: &'static str,
    store: Arc<dyn LogsStore>,
    tenant: TenantId,
    expr: Expr,
    qp: QueryParams,
) -> Result<(QueryResult, Duration), ApiError> {
    let cfg = &state.config.query;
    let limits = state.config.limits_for(&tenant).logs.clone();
    let metrics = &state.query_metrics;
    let Admission {
        slot,
        arrived,
        queued,
        timeout,
    } = admit(state).await?;
    let guard = CancelOnDrop::new(metrics.clone());
    let engine = Engine::new(EngineOptions {
        max_series: limits.max_query_series,
        max_entries: limits.max_entries_limit_per_query,
        max_samples: cfg.max_samples,
        timeout: Some(timeout.saturating_sub(queued)),
        cancel: Some(guard.flag()),
    });
    let work = async move {
        let out = engine
            .execute(store.log_querier(), &tenant, &expr, &qp)
            .await;
        drop(slot);
        out
    };
    let out = run_query(work, guard, endpoint, arrived, Style::Text).await?;
    match out {
        Ok(r) => Ok((r, queued)),
        Err(e) => {
            match e.kind() {
                cairn_logql::ErrorKind::Timeout => metrics.refuse("timeout"),
                cairn_logql::ErrorKind::Limit => metrics.refuse("too_many_series"),
                _ => {}
            }
            Err(logql_error(e))
        }
    }
}

/// Loki's body for a query result.
fn render(r: &QueryResult, queued: Duration, categorize: bool) -> String {
    let stats = stats_json(&r.stats, queued);
    let (kind, result, categorize) = match &r.value {
        QueryValue::Streams(s) => ("streams", streams_json(s, categorize), categorize),
        QueryValue::Metric(v) => {
            let (kind, body) = metric_json(v);
            (kind, body, false)
        }
    };
    query_response(kind, &result, &stats, &r.warnings, categorize)
}

/// The `result` of a log query.
pub(crate) fn streams_json(s: &cairn_logql::Streams, categorize: bool) -> String {
    let groups = if categorize {
        s.categorized()
    } else {
        s.flat()
    };
    let mut j = Json::new();
    j.raw("[");
    for (i, g) in groups.iter().enumerate() {
        j.sep(i);
        super::json::stream(
            &mut j,
            &g.labels,
            g.entries.iter().map(|e| EntryOut {
                ts_ns: e.ts_ns,
                line: &e.line,
                metadata: &e.metadata,
                parsed: &e.parsed,
            }),
            categorize,
        );
    }
    j.raw("]");
    j.finish()
}

/// The `resultType` and `result` of a metric query.
fn metric_json(v: &Value) -> (&'static str, String) {
    let mut j = Json::new();
    let kind = match v {
        Value::Scalar { t_ms, v } => {
            point(&mut j, *t_ms, *v);
            "scalar"
        }
        Value::String { t_ms, v } => {
            j.raw("[");
            super::json::time(&mut j, *t_ms);
            j.raw(",").str(v).raw("]");
            "string"
        }
        Value::Vector(samples) => {
            j.raw("[");
            for (i, s) in samples.iter().enumerate() {
                j.sep(i).raw("{").key("metric").labels(&s.labels);
                j.raw(",").key("value");
                point(&mut j, s.t_ms, s.v);
                j.raw("}");
            }
            j.raw("]");
            "vector"
        }
        Value::Matrix(series) => {
            j.raw("[");
            for (i, s) in series.iter().enumerate() {
                j.sep(i).raw("{").key("metric").labels(&s.labels);
                j.raw(",").key("values").raw("[");
                for (k, p) in s.samples.iter().enumerate() {
                    j.sep(k);
                    point(&mut j, p.t, p.v);
                }
                j.raw("]}");
            }
            j.raw("]");
            "matrix"
        }
    };
    (kind, j.finish())
}

/// Loki's `stats` object (`pkg/logqlmodel/stats`): the head's reads are reported as the
/// ingesters', the blocks' as the store's, as Loki splits recent and stored data.
pub(crate) fn stats_json(s: &EngineStats, queued: Duration) -> String {
    let exec = s.exec_time.as_secs_f64();
    let per_sec = |n: u64| {
        if exec > 0.0 {
            (n as f64 / exec) as i64
        } else {
            0
        }
    };
    let st = &s.store;
    let total_bytes = s.bytes_processed + s.structured_metadata_bytes;
    let mut j = Json::new();
    j.raw("{").key("summary").raw("{");
    j.key("bytesProcessedPerSecond").int(per_sec(total_bytes));
    j.raw(",")
        .key("linesProcessedPerSecond")
        .int(per_sec(s.lines_processed));
    j.raw(",")
        .key("totalBytesProcessed")
        .int(total_bytes as i64);
    j.raw(",")
        .key("totalLinesProcessed")
        .int(s.lines_processed as i64);
    j.raw(",").key("execTime").num(exec);
    j.raw(",").key("queueTime").num(queued.as_secs_f64());
    j.raw(",").key("subqueries").int(0);
    j.raw(",")
        .key("totalEntriesReturned")
        .int(s.entries_returned as i64);
    j.raw(",").key("splits").int(0);
    j.raw(",").key("shards").int(0);
    j.raw(",")
        .key("totalPostFilterLines")
        .int(s.post_filter_lines as i64);
    j.raw(",")
        .key("totalStructuredMetadataBytesProcessed")
        .int(s.structured_metadata_bytes as i64);
    j.raw("}");

    j.raw(",").key("querier").raw("{").key("store");
    store_json(
        &mut j,
        StoreCounts {
            chunks_ref: st.chunks_ref,
            chunks_downloaded: st.chunks_downloaded,
            download_time: st.fetch_ns as f64 / 1e9,
            head_bytes: 0,
            head_lines: 0,
            decompressed_bytes: st.decompressed_bytes,
            decompressed_lines: st.decompressed_lines,
            compressed_bytes: st.compressed_bytes,
            duplicates: st.duplicates,
        },
    );
    j.raw(",").key("querierExecTime").num(exec);
    j.raw("}");

    let from_head = st.head_lines > 0;
    j.raw(",").key("ingester").raw("{");
    j.key("totalReached").int(i64::from(from_head));
    j.raw(",")
        .key("totalChunksMatched")
        .int(i64::from(from_head));
    j.raw(",").key("totalBatches").int(i64::from(from_head));
    j.raw(",").key("totalLinesSent").int(st.head_lines as i64);
    j.raw(",").key("store");
    store_json(
        &mut j,
        StoreCounts {
            head_bytes: st.head_bytes,
            head_lines: st.head_lines,
            ..StoreCounts::default()
        },
    );
    j.raw("}");

    j.raw(",").key("cache").raw("{");
    for (i, c) in [
        "chunk",
        "index",
        "result",
        "statsResult",
        "volumeResult",
        "seriesResult",
        "labelResult",
        "instantMetricResult",
        "logResult",
        "taskResult",
    ]
    .iter()
    .enumerate()
    {
        j.sep(i).key(c).raw(
            r#"{"entriesFound":0,"entriesRequested":0,"entriesStored":0,"bytesReceived":0,"bytesSent":0,"requests":0,"downloadTime":0,"queryLengthServed":0}"#,
        );
    }
    j.raw("}");
    j.raw(",").key("index").raw("{");
    j.key("totalChunks").int(st.chunks_ref as i64);
    j.raw(",")
        .key("postFilterChunks")
        .int(st.chunks_ref.saturating_sub(st.chunks_skipped_by_index) as i64);
    j.raw(",").key("shardsDuration").int(0);
    j.raw(",")
        .key("usedBloomFilters")
        .raw(if st.chunks_skipped_by_index > 0 {
            "true"
        } else {
            "false"
        });
    j.raw("}}");
    j.finish()
}

#[derive(Default)]
struct StoreCounts {
    chunks_ref: u64,
    chunks_downloaded: u64,
    download_time: f64,
    head_bytes: u64,
    head_lines: u64,
    decompressed_bytes: u64,
    decompressed_lines: u64,
    compressed_bytes: u64,
    duplicates: u64,
}

fn store_json(j: &mut Json, c: StoreCounts) {
    j.raw("{");
    j.key("totalChunksRef").int(c.chunks_ref as i64);
    j.raw(",")
        .key("totalChunksDownloaded")
        .int(c.chunks_downloaded as i64);
    j.raw(",").key("chunksDownloadTime").num(c.download_time);
    j.raw(",")
        .key("queryReferencedStructuredMetadata")
        .raw("false");
    j.raw(",").key("chunk").raw("{");
    j.key("headChunkBytes").int(c.head_bytes as i64);
    j.raw(",").key("headChunkLines").int(c.head_lines as i64);
    j.raw(",")
        .key("decompressedBytes")
        .int(c.decompressed_bytes as i64);
    j.raw(",")
        .key("decompressedLines")
        .int(c.decompressed_lines as i64);
    j.raw(",")
        .key("compressedBytes")
        .int(c.compressed_bytes as i64);
    j.raw(",").key("totalDuplicates").int(c.duplicates as i64);
    j.raw(",").key("postFilterLines").int(0);
    j.raw(",").key("headChunkStructuredMetadataBytes").int(0);
    j.raw(",").key("decompressedStructuredMetadataBytes").int(0);
    j.raw("}");
    j.raw(",").key("chunkRefsFetchTime").int(0);
    j.raw(",").key("congestionControlLatency").int(0);
    j.raw(",").key("pipelineWrapperFilteredLines").int(0);
    j.raw("}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorize_flag_is_read_from_any_list_position() {
        let mut h = HeaderMap::new();
        assert!(!wants_categories(&h));
        h.insert(
            ENCODING_FLAGS_HEADER,
            "other, categorize-labels".parse().unwrap(),
        );
        assert!(wants_categories(&h));
    }

    #[test]
    fn stats_have_lokis_sections_and_numbers() {
        let s = EngineStats {
            lines_processed: 10,
            bytes_processed: 1000,
            post_filter_lines: 3,
            entries_returned: 3,
            exec_time: Duration::from_millis(500),
            ..EngineStats::default()
        };
        let v: serde_json::Value = serde_json::from_str(&stats_json(&s, Duration::ZERO)).unwrap();
        assert_eq!(v["summary"]["totalLinesProcessed"], 10);
        assert_eq!(v["summary"]["bytesProcessedPerSecond"], 2000);
        assert_eq!(v["summary"]["totalPostFilterLines"], 3);
        assert_eq!(v["summary"]["execTime"], 0.5);
        for k in ["querier", "ingester", "cache", "index"] {
            assert!(v[k].is_object(), "{k} missing");
        }
        assert!(v["cache"]["chunk"]["entriesFound"].is_number());
    }

    #[test]
    fn metric_results_in_lokis_shapes() {
        use cairn_model::{Labels, Sample, Series};
        let l = Labels::from_pairs([("level", "info")]).unwrap();
        let (k, body) = metric_json(&Value::Matrix(vec![Series {
            labels: l.clone(),
            samples: vec![Sample { t: 1_000, v: 0.5 }, Sample { t: 2_500, v: 2.0 }],
        }]));
        assert_eq!(k, "matrix");
        assert_eq!(
            body,
            r#"[{"metric":{"level":"info"},"values":[[1,"0.5"],[2.5,"2"]]}]"#
        );
        let (k, body) = metric_json(&Value::Vector(vec![cairn_promql::InstantSample {
            labels: l,
            t_ms: 1_000,
            v: 1e21,
        }]));
        assert_eq!(k, "vector");
        assert_eq!(
            body,
            r#"[{"metric":{"level":"info"},"value":[1,"1000000000000000000000"]}]"#
        );
        let (k, body) = metric_json(&Value::Scalar { t_ms: 0, v: 2.0 });
        assert_eq!((k, body.as_str()), ("scalar", r#"[0,"2"]"#));
    }
}
