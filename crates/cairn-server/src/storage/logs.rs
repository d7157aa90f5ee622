//! The log store behind the [`LogsStore`] trait the log front doors use.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_model::{
    Labels, LogBatch, LogQuerier, LogScan, LogSelectRequest, LogSeriesRequest, LogStatsRequest,
    QueryError, StreamCounts, TenantId,
};
use cairn_store::{LogRejectReason, LogStore, LogStoreConfig, StoreConfig};

use super::failure;
use crate::backend::{LogRefusal, LogRefusalKind, LogsAppended, LogsStore, StoreFailure};
use crate::config::Config;

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The log store's configuration for `config`, sharing `store`'s directory and retention.
pub(crate) fn log_store_config(config: &Config, store: &StoreConfig) -> LogStoreConfig {
    let l = &config.storage.logs;
    let mut c = LogStoreConfig::from_store(store);
    c.block_range_ns = ns(l.block_range);
    c.out_of_order_window_ns = ns(l.out_of_order_window);
    c.head_max_bytes = l.head_max_size;
    c.head_max_age = l.head_max_age;
    c.head_chunk_bytes = usize::try_from(l.head_chunk_size).unwrap_or(usize::MAX);
    c.compaction_ranges_ns = l.compaction_ranges.iter().copied().map(ns).collect();
    c.zstd_level = l.zstd_level;
    c.filter_bits_per_key = l.filter_bits_per_key;
    c
}

/// [`LogStore`] as the handlers see it.
pub(crate) struct LogsBackend(pub(crate) Arc<LogStore>);

#[async_trait]
impl LogQuerier for LogsBackend {
    async fn select_logs(
        &self,
        tenant: &TenantId,
        req: &LogSelectRequest,
    ) -> Result<Box<dyn LogScan>, QueryError> {
        self.0.select_logs(tenant, req).await
    }

    async fn log_series(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        self.0.log_series(tenant, req).await
    }

    async fn log_label_names(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.log_label_names(tenant, req).await
    }

    async fn log_label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.log_label_values(tenant, name, req).await
    }

    async fn log_stream_counts(
        &self,
        tenant: &TenantId,
        req: &LogStatsRequest,
    ) -> Result<Vec<StreamCounts>, QueryError> {
        self.0.log_stream_counts(tenant, req).await
    }
}

#[async_trait]
impl LogsStore for LogsBackend {
    async fn append_logs(
        &self,
        tenant: &TenantId,
        batch: &LogBatch,
        max_streams: usize,
    ) -> Result<LogsAppended, StoreFailure> {
        let out = self
            .0
            .append(tenant, batch, max_streams)
            .await
            .map_err(failure)?;
        Ok(LogsAppended {
            entries: out.entries,
            duplicates: out.duplicates,
            refused: out
                .refused
                .into_iter()
                .map(|r| LogRefusal {
                    stream: r.stream,
                    entry: r.entry,
                    kind: match r.reason {
                        LogRejectReason::TooFarBehind => LogRefusalKind::BadEntry,
                        LogRejectReason::StreamLimit => LogRefusalKind::StreamLimit,
                    },
                    reason: r.reason.as_str(),
                    message: r.message,
                })
                .collect(),
        })
    }

    fn log_querier(&self) -> &dyn LogQuerier {
        self
    }

    async fn flush_logs(&self) -> Result<serde_json::Value, StoreFailure> {
        let out = self.0.flush().await.map_err(failure)?;
        Ok(serde_json::json!({
            "blocks": out.blocks,
            "entries": out.entries,
            "streamsRemoved": out.streams_removed,
        }))
    }
}
