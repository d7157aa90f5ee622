//! Log ingestion shared by every log front door (Loki push, Fluent Bit `http`, the forward
//! protocol, OTLP): validation against the tenant's limits, the ingestion rate limit, the
//! durable append, self-metrics, and the hand-off to live tails.
//!
//! Order and answers follow Loki's distributor: invalid streams and entries are left out and
//! reported (400, the valid rest is written); a push over the rate limit is refused whole
//! (429); new streams over the stream limit are refused (429, the rest is written); store
//! trouble is 503 and nothing was acknowledged. Success is 204.

mod level;
mod rate;
mod tail;
mod validate;

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use cairn_model::{LogBatch, TenantId};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

pub(crate) use level::{DETECTED_LEVEL, detect as detect_level};
pub(crate) use rate::RateLimiter;
pub(crate) use tail::{TailHub, TailSubscription};
pub(crate) use validate::{group_errors, valid_label_name};

use crate::backend::{LogRefusalKind, LogsStore};
use crate::config::LogLimits;

/// `cairn_logs_push_requests_total{format,code}`: log pushes by front door and answer.
pub(crate) const LOG_PUSH_REQUESTS: &str = "cairn_logs_push_requests";
/// `cairn_logs_discarded_entries_total{reason}` and `..._bytes_total{reason}`: entries the
/// front doors refused (before the store, which counts its own refusals), by Loki's reasons.
pub(crate) const LOG_DISCARDED_ENTRIES: &str = "cairn_logs_discarded_entries";
/// Bytes of those entries.
pub(crate) const LOG_DISCARDED_BYTES: &str = "cairn_logs_discarded_bytes";

type MetricLabels = Vec<(&'static str, String)>;

/// Handles on the log ingestion metrics.
#[derive(Clone)]
pub(crate) struct LogMetrics {
    requests: Family<MetricLabels, Counter>,
    discarded_entries: Family<MetricLabels, Counter>,
    discarded_bytes: Family<MetricLabels, Counter>,
}

impl LogMetrics {
    /// Creates and registers the metrics.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = LogMetrics {
            requests: Family::default(),
            discarded_entries: Family::default(),
            discarded_bytes: Family::default(),
        };
        registry.register(
            LOG_PUSH_REQUESTS,
            "Log pushes by format (loki, fluentbit, forward, otlp) and answer code",
            m.requests.clone(),
        );
        registry.register(
            LOG_DISCARDED_ENTRIES,
            "Log entries refused before the store by Loki's reason names",
            m.discarded_entries.clone(),
        );
        registry.register(
            LOG_DISCARDED_BYTES,
            "Bytes of log entries refused before the store by Loki's reason names",
            m.discarded_bytes.clone(),
        );
        m
    }

    /// Counts one answered push.
    pub(crate) fn request(&self, format: &'static str, code: StatusCode) {
        self.requests
            .get_or_create(&vec![
                ("format", format.to_string()),
                ("code", code.as_u16().to_string()),
            ])
            .inc();
    }

    fn discarded(&self, reason: &str, entries: u64, bytes: u64) {
        let l = vec![("reason", reason.to_string())];
        self.discarded_entries.get_or_create(&l).inc_by(entries);
        self.discarded_bytes.get_or_create(&l).inc_by(bytes);
    }
}

/// What a push answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PushAnswer {
    /// 204 when everything was written; see the module docs for the others.
    pub(crate) status: StatusCode,
    /// The error text for any status but 204.
    pub(crate) message: String,
    /// Entries made durable.
    pub(crate) written: u64,
    /// Entries refused (by validation, the rate limit or the store).
    pub(crate) rejected: u64,
}

impl PushAnswer {
    fn new(status: StatusCode, message: impl Into<String>, written: u64, rejected: u64) -> Self {
        PushAnswer {
            status,
            message: message.into(),
            written,
            rejected,
        }
    }

    /// True when the sender should send the same data again later (429, 5xx).
    pub(crate) fn retryable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error()
    }
}

/// Everything a push needs from the server.
pub(crate) struct LogIngest<'a> {
    pub(crate) store: &'a Arc<dyn LogsStore>,
    pub(crate) limits: &'a LogLimits,
    pub(crate) rate: &'a RateLimiter,
    pub(crate) metrics: &'a LogMetrics,
    pub(crate) tail: &'a TailHub,
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl LogIngest<'_> {
    /// Validates, rate-limits and durably appends `batch` for `tenant` (module docs).
    pub(crate) async fn push(&self, tenant: &TenantId, batch: LogBatch) -> PushAnswer {
        let limits = self.limits;
        let v = validate::validate(batch, limits, now_ns());
        for (reason, d) in &v.discarded {
            self.metrics.discarded(reason, d.entries, d.bytes);
        }
        let invalid = (!v.errors.is_empty()).then(|| group_errors(&v.errors));
        let invalid_entries: u64 = v.discarded.iter().map(|(_, d)| d.entries).sum();
        let batch = v.batch;
        if batch.streams.is_empty() {
            return match invalid {
                Some(m) => PushAnswer::new(StatusCode::BAD_REQUEST, m, 0, invalid_entries),
                None => PushAnswer::new(StatusCode::NO_CONTENT, "", 0, 0),
            };
        }
        let (entries, bytes) = (batch.num_entries() as u64, batch.num_bytes() as u64);
        if !self.rate.allow(
            tenant,
            bytes,
            limits.ingestion_rate,
            limits.ingestion_burst_size,
            Instant::now(),
        ) {
            self.metrics
                .discarded(validate::reason::RATE_LIMITED, entries, bytes);
            return PushAnswer::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "ingestion rate limit exceeded for user {tenant} (limit: {} bytes/sec) while attempting to ingest '{entries}' lines totaling '{bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
                    limits.ingestion_rate
                ),
                0,
                entries + invalid_entries,
            );
        }
        let out = match self
            .store
            .append_logs(tenant, &batch, limits.max_streams_per_tenant)
            .await
        {
            Ok(o) => o,
            Err(f) if f.transient => {
                return PushAnswer::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    f.message,
                    0,
                    entries + invalid_entries,
                );
            }
            Err(f) => {
                return PushAnswer::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    f.message,
                    0,
                    entries + invalid_entries,
                );
            }
        };
        self.tail.publish(tenant, &batch, &out.refused);
        let mut errors = v.errors;
        let mut stream_limit = None;
        for r in &out.refused {
            match r.kind {
                LogRefusalKind::BadEntry => errors.push(r.message.clone()),
                LogRefusalKind::StreamLimit => {
                    stream_limit.get_or_insert_with(|| r.message.clone());
                }
            }
        }
        let written = out.entries;
        let refused: u64 = out
            .refused
            .iter()
            .map(|r| match r.entry {
                Some(_) => 1,
                None => batch
                    .streams
                    .get(r.stream)
                    .map_or(0, |s| s.entries.len() as u64),
            })
            .sum();
        let rejected = invalid_entries + refused;
        if let Some(m) = stream_limit {
            // Loki names one stream only: which one hit the limit says little.
            return PushAnswer::new(StatusCode::TOO_MANY_REQUESTS, m, written, rejected);
        }
        if errors.is_empty() {
            PushAnswer::new(StatusCode::NO_CONTENT, "", written, 0)
        } else {
            PushAnswer::new(
                StatusCode::BAD_REQUEST,
                group_errors(&errors),
                written,
                rejected,
            )
        }
    }
}
