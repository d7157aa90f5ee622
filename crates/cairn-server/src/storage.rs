//! Wiring of the storage engine: the server's configuration mapped into the engine's, and
//! the engine behind the [`MetricsStore`] trait the handlers use (the log store behind
//! `LogsStore` in `storage/logs.rs`, the trace store behind `TracesStore` in
//! `storage/traces.rs`).

mod logs;
mod traces;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_model::{
    LabelValuesRequest, Labels, Matcher, MetricMetadata, Querier, QueryError, SelectRequest,
    Series, SeriesRequest, TenantId, WriteBatch,
};
use cairn_store::{ExemplarSeries, RejectReason, Storage, StoreConfig};

pub(crate) use logs::{LogsBackend, log_store_config};
pub(crate) use traces::{TracesBackend, trace_store_config};

use crate::backend::{Appended, MetricsStore, StoreFailure};
use crate::config::{Config, ObjectStoreConfig};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The storage engine's configuration for `config`.
pub(crate) fn store_config(config: &Config) -> StoreConfig {
    let st = &config.storage;
    let object_store = match &st.object_store {
        ObjectStoreConfig::Local { .. } => cairn_store::ObjectStoreConfig::Local {
            path: config
                .local_object_path()
                .expect("a local object store has a local path"),
        },
        ObjectStoreConfig::S3(s3) => cairn_store::ObjectStoreConfig::S3 {
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            endpoint: s3.endpoint.clone(),
            prefix: s3.prefix.clone(),
            path_style: s3.path_style,
            allow_http: s3.allow_http,
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            session_token: s3.session_token.clone(),
        },
    };
    let retention_overrides: HashMap<TenantId, i64> = config
        .overrides
        .iter()
        .filter_map(|(t, l)| l.retention.map(|r| (t.clone(), ms(r))))
        .collect();
    StoreConfig {
        data_dir: st.data_dir.clone(),
        object_store,
        block_range_ms: ms(st.block_range),
        out_of_order_window_ms: ms(st.out_of_order_window),
        retention_ms: ms(config.limits.retention.unwrap_or(st.retention)),
        retention_overrides,
        compaction_ranges_ms: st.compaction_ranges.iter().copied().map(ms).collect(),
        compaction_interval: st.compaction_interval,
        wal_segment_bytes: st.wal_segment_size,
        cache_bytes: usize::try_from(st.cache_max_size).unwrap_or(usize::MAX),
        max_exemplars: st.exemplars.max_exemplars,
    }
}

/// Only a bug inside the engine is a 500; everything else (WAL, object store, shutdown,
/// catalog races) may pass when retried.
fn failure(e: cairn_store::Error) -> StoreFailure {
    StoreFailure {
        transient: !matches!(e, cairn_store::Error::Internal(_)),
        message: e.to_string(),
    }
}

/// [`Storage`] as the handlers see it.
pub(crate) struct StorageBackend(pub(crate) Arc<Storage>);

#[async_trait]
impl Querier for StorageBackend {
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> Result<Vec<Series>, QueryError> {
        self.0.select(tenant, req).await
    }

    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        self.0.series(tenant, req).await
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.label_names(tenant, req).await
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.label_values(tenant, req).await
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
        self.0.metadata(tenant, metric).await
    }
}

#[async_trait]
impl MetricsStore for StorageBackend {
    async fn append(
        &self,
        tenant: &TenantId,
        batch: &WriteBatch<'_>,
    ) -> Result<Appended, StoreFailure> {
        let out = self.0.append(tenant, batch).await.map_err(failure)?;
        Ok(Appended {
            samples_written: usize::try_from(out.samples_accepted).unwrap_or(usize::MAX),
            exemplars_written: usize::try_from(out.exemplars_accepted).unwrap_or(usize::MAX),
            rejected_by_reason: RejectReason::ALL
                .iter()
                .map(|r| {
                    (
                        r.as_str(),
                        usize::try_from(out.rejected(*r)).unwrap_or(usize::MAX),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
            messages: out
                .samples_rejected
                .into_iter()
                .map(|r| r.message)
                .collect(),
        })
    }

    fn exemplars(
        &self,
        tenant: &TenantId,
        selectors: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Vec<ExemplarSeries> {
        self.0.exemplars(tenant, selectors, start_ms, end_ms)
    }

    fn querier(&self) -> &dyn Querier {
        self
    }

    async fn flush(&self) -> Result<serde_json::Value, StoreFailure> {
        let out = self.0.flush().await.map_err(failure)?;
        Ok(serde_json::json!({
            "blocks": out.blocks,
            "samples": out.samples,
            "seriesRemoved": out.series_removed,
        }))
    }
}
