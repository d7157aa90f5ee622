//! `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`: the request mapped as
//! `POST /v1/metrics` maps it and appended through the same path; `OK` with
//! `partial_success` for refused data points, `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED` and
//! `UNAVAILABLE` as for the other OTLP services.

use std::sync::Arc;

use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use tonic::{Request, Response, Status};

use super::{BLOCKING_RECORDS, http_status, status_of_error};
use crate::http::{AppState, Style};

/// The service.
pub(super) struct Metrics {
    pub(super) state: Arc<AppState>,
}

impl Metrics {
    /// The service over `state`, as tonic serves it.
    pub(super) fn server(state: Arc<AppState>) -> MetricsServiceServer<Metrics> {
        MetricsServiceServer::new(Metrics { state })
    }

    async fn handle(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let state = &self.state;
        let headers = request.metadata().clone().into_headers();
        let tenant = state
            .tenant(&headers, Style::Text)
            .map_err(status_of_error)?;
        let store = Arc::clone(state.store(Style::Text).map_err(status_of_error)?);
        let Ok(_permit) = Arc::clone(&state.write_slots).try_acquire_owned() else {
            state.metrics.shed.inc();
            return Err(Status::resource_exhausted(
                "too many write requests in flight, retry later",
            ));
        };
        let req = request.into_inner();
        let mapping = state.config.otlp.metrics.clone();
        let metrics: usize = req
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .map(|s| s.metrics.len())
            .sum();
        let mapped = if metrics > BLOCKING_RECORDS {
            tokio::task::spawn_blocking(move || cairn_wire::map_otlp_metrics(&req, &mapping))
                .await
                .map_err(|e| Status::internal(format!("mapping task failed: {e}")))?
        } else {
            cairn_wire::map_otlp_metrics(&req, &mapping)
        };
        let report = crate::http::ingest_otlp_metrics(state, &*store, &tenant, mapped)
            .await
            .map_err(status_of_error)?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: cairn_wire::partial_success(&report),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Metrics {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let result = self.handle(request).await;
        let code = match &result {
            Ok(_) => StatusCode::OK,
            Err(s) => http_status(s.code()),
        };
        crate::http::count_otlp_metrics_request(&self.state, "otlp-grpc", code);
        result
    }
}
