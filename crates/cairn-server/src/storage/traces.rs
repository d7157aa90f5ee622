//! The trace store behind the [`TracesStore`] trait the trace front doors use.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_model::{TenantId, Trace, TraceBatch, TraceId};
use cairn_store::{StoreConfig, TagNames, TraceFilter, TraceStore, TraceStoreConfig};
use tokio_util::sync::CancellationToken;

use super::failure;
use crate::backend::{StoreFailure, TraceScanStats, TracesAppended, TracesStore};
use crate::config::Config;

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The trace store's configuration for `config`, sharing `store`'s directory and retention.
pub(crate) fn trace_store_config(config: &Config, store: &StoreConfig) -> TraceStoreConfig {
    let t = &config.traces;
    let mut c = TraceStoreConfig::from_store(store);
    c.head_max_bytes = t.head_max_size;
    c.head_max_age = t.head_max_age;
    c.row_group_spans = t.row_group_spans;
    c.compaction_ranges_ns = t.compaction_ranges.iter().copied().map(ns).collect();
    c.zstd_level = t.zstd_level;
    c.filter_bits_per_key = t.filter_bits_per_key;
    c
}

/// [`TraceStore`] as the handlers see it.
pub(crate) struct TracesBackend(pub(crate) Arc<TraceStore>);

#[async_trait]
impl TracesStore for TracesBackend {
    async fn append_traces(
        &self,
        tenant: &TenantId,
        batch: TraceBatch,
    ) -> Result<TracesAppended, StoreFailure> {
        let out = self.0.append(tenant, batch).await.map_err(failure)?;
        Ok(TracesAppended {
            spans: out.spans,
            duplicates: out.duplicates,
        })
    }

    async fn trace_by_id(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Trace>, StoreFailure> {
        self.0.find_trace(tenant, id, range).await.map_err(failure)
    }

    async fn flush_traces(&self) -> Result<serde_json::Value, StoreFailure> {
        let out = self.0.flush().await.map_err(failure)?;
        Ok(serde_json::json!({
            "blocks": out.blocks.len(),
            "spans": out.spans,
        }))
    }

    async fn scan_traces(
        &self,
        tenant: &TenantId,
        range: (u64, u64),
        filter: &TraceFilter,
        cancel: &CancellationToken,
        f: &mut (dyn FnMut(Trace) -> ControlFlow<()> + Send),
    ) -> Result<TraceScanStats, StoreFailure> {
        let s = self
            .0
            .scan_filtered(tenant, range.0, range.1, filter, cancel, f)
            .await
            .map_err(failure)?;
        Ok(TraceScanStats {
            traces: s.traces,
            blocks: s.blocks,
        })
    }

    async fn trace_tag_names(
        &self,
        tenant: &TenantId,
        range: (u64, u64),
    ) -> Result<TagNames, StoreFailure> {
        self.0.tag_names(tenant, range).await.map_err(failure)
    }
}
