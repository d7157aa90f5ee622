//! The OTLP/gRPC listener (`server.otlp_grpc_listen`, default `:4317`): the logs service
//! `opentelemetry.proto.collector.logs.v1.LogsService/Export`, the traces service
//! `opentelemetry.proto.collector.trace.v1.TraceService/Export` and the metrics service
//! (`grpc/metrics.rs`), gzip and zstd requests, and
//! messages up to the tenant's `limits.max_decoded_size` (tonic's 4 MiB default would refuse
//! the Collector's larger batches).
//!
//! Answers follow the OTLP specification: `OK` (with `partial_success` when some records or
//! spans were refused), `INVALID_ARGUMENT` when nothing could be taken, `RESOURCE_EXHAUSTED` for the
//! rate and stream limits and `UNAVAILABLE` for store trouble, both of which clients retry.
//! The tenant is the `x-scope-orgid` metadata, as the header on HTTP.

mod metrics;

use std::sync::Arc;

use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::http::{AppState, Style};
use crate::logs::PushAnswer;

const FORMAT: &str = "otlp";
/// Requests with more records than this are mapped on the blocking pool.
const BLOCKING_RECORDS: usize = 2_000;

struct Logs {
    state: Arc<AppState>,
}

fn status_of(a: &PushAnswer) -> Status {
    let msg = a.message.trim_end().to_string();
    match a.status {
        StatusCode::TOO_MANY_REQUESTS => Status::resource_exhausted(msg),
        StatusCode::SERVICE_UNAVAILABLE => Status::unavailable(msg),
        s if s.is_client_error() => Status::invalid_argument(msg),
        _ => Status::internal(msg),
    }
}

fn records(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

#[tonic::async_trait]
impl LogsService for Logs {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let result = self.handle(request).await;
        let code = match &result {
            Ok(_) => StatusCode::OK,
            Err(s) => http_status(s.code()),
        };
        self.state.log_metrics.request(FORMAT, code);
        result
    }
}

impl Logs {
    async fn handle(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let state = &self.state;
        let headers = request.metadata().clone().into_headers();
        let tenant = state.tenant(&headers, Style::Text).map_err(|e| {
            if e.status == StatusCode::UNAUTHORIZED {
                Status::unauthenticated(e.message)
            } else {
                Status::invalid_argument(e.message)
            }
        })?;
        let Ok(_permit) = Arc::clone(&state.write_slots).try_acquire_owned() else {
            state.metrics.shed.inc();
            return Err(Status::resource_exhausted(
                "too many write requests in flight, retry later",
            ));
        };
        let store = Arc::clone(
            state
                .logs_store(Style::Text)
                .map_err(|e| Status::unavailable(e.message))?,
        );
        let req = request.into_inner();
        let mapping = state.config.logs.otlp.clone();
        let now = crate::logs::now_ns();
        let batch = if records(&req) > BLOCKING_RECORDS {
            tokio::task::spawn_blocking(move || cairn_wire::map_otlp_logs(req, &mapping, now))
                .await
                .map_err(|e| Status::internal(format!("mapping task failed: {e}")))?
        } else {
            cairn_wire::map_otlp_logs(req, &mapping, now)
        };
        let a = state.log_ingest(&store, &tenant).push(&tenant, batch).await;
        match a.status {
            StatusCode::NO_CONTENT => Ok(Response::new(ExportLogsServiceResponse {
                partial_success: None,
            })),
            StatusCode::BAD_REQUEST if a.written > 0 => {
                Ok(Response::new(ExportLogsServiceResponse {
                    partial_success: Some(ExportLogsPartialSuccess {
                        rejected_log_records: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                        error_message: a.message.trim_end().to_string(),
                    }),
                }))
            }
            _ => Err(status_of(&a)),
        }
    }
}

struct Traces {
    state: Arc<AppState>,
}

/// The gRPC status of an HTTP-style error.
fn status_of_error(e: crate::http::ApiError) -> Status {
    let msg = e.message.trim_end().to_string();
    match e.status {
        StatusCode::UNAUTHORIZED => Status::unauthenticated(msg),
        StatusCode::TOO_MANY_REQUESTS => Status::resource_exhausted(msg),
        StatusCode::SERVICE_UNAVAILABLE => Status::unavailable(msg),
        StatusCode::NOT_FOUND => Status::unimplemented(msg),
        s if s.is_client_error() => Status::invalid_argument(msg),
        _ => Status::internal(msg),
    }
}

#[tonic::async_trait]
impl TraceService for Traces {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let result = self.handle(request).await;
        let code = match &result {
            Ok(_) => StatusCode::OK,
            Err(s) => http_status(s.code()),
        };
        self.state.metrics.trace_request("grpc", code.as_u16());
        result
    }
}

/// The HTTP status a gRPC code stands for, for request metrics.
fn http_status(code: tonic::Code) -> StatusCode {
    match code {
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        tonic::Code::InvalidArgument | tonic::Code::Unauthenticated => StatusCode::BAD_REQUEST,
        tonic::Code::Unimplemented => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl Traces {
    async fn handle(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let state = &self.state;
        let headers = request.metadata().clone().into_headers();
        let tenant = state
            .tenant(&headers, Style::Text)
            .map_err(status_of_error)?;
        let store = Arc::clone(state.traces_store(Style::Text).map_err(status_of_error)?);
        let Ok(_permit) = Arc::clone(&state.write_slots).try_acquire_owned() else {
            state.metrics.shed.inc();
            return Err(Status::resource_exhausted(
                "too many write requests in flight, retry later",
            ));
        };
        let req = request.into_inner();
        let cfg = &state.config.traces;
        let limits = cairn_wire::TraceDecodeLimits {
            max_decoded_bytes: 0,
            max_spans: cfg.max_spans_per_request,
            max_attribute_bytes: cfg.max_attribute_bytes,
        };
        let n: usize = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        let decoded = if n > BLOCKING_RECORDS {
            tokio::task::spawn_blocking(move || cairn_wire::map_otlp_traces(req, &limits))
                .await
                .map_err(|e| Status::internal(format!("mapping task failed: {e}")))?
        } else {
            cairn_wire::map_otlp_traces(req, &limits)
        }
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
        state.metrics.trace_report(&decoded.report);
        crate::http::store_traces(state, &*store, &tenant, decoded.batch)
            .await
            .map_err(status_of_error)?;
        let r = &decoded.report;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (r.rejected_spans > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(r.rejected_spans).unwrap_or(i64::MAX),
                error_message: r.error_message(),
            }),
        }))
    }
}

/// Serves OTLP/gRPC on `listener` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: CancellationToken,
) -> Result<(), String> {
    let max = usize::try_from(state.config.limits.max_decoded_size).unwrap_or(usize::MAX);
    let traces = TraceServiceServer::new(Traces {
        state: Arc::clone(&state),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Zstd)
    .max_decoding_message_size(max);
    let metrics = metrics::Metrics::server(Arc::clone(&state))
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(max);
    let logs = LogsServiceServer::new(Logs { state })
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(max);
    let incoming = tokio_stream_listener(listener);
    tonic::transport::Server::builder()
        .add_service(logs)
        .add_service(traces)
        .add_service(metrics)
        .serve_with_incoming_shutdown(incoming, async move { stop.cancelled().await })
        .await
        .map_err(|e| e.to_string())
}

/// The accepted connections of `listener` as the stream tonic serves.
fn tokio_stream_listener(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| {
            // OTLP exporters send small unary calls: no Nagle delay.
            let _ = s.set_nodelay(true);
            s
        });
        Some((r, l))
    })
}
