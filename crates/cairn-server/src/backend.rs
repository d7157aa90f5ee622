//! What the front doors need from the storage engine, as a trait: the HTTP handlers depend on
//! it, the storage engine's adapter in `storage.rs` implements it.

use async_trait::async_trait;
use cairn_model::{Querier, TenantId, WriteBatch};

/// What an append wrote and refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) samples_written: usize,
    /// Refused samples per stable reason (a metric label value).
    pub(crate) rejected_by_reason: Vec<(&'static str, usize)>,
    /// Messages for the first refused samples.
    pub(crate) messages: Vec<String>,
}

/// Why the store could not take or answer a request as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoreFailure {
    /// Retrying later may help (WAL or object store trouble, shutting down): answer 503.
    pub(crate) transient: bool,
    pub(crate) message: String,
}

/// The storage engine as the front doors see it.
#[async_trait]
pub(crate) trait MetricsStore: Querier {
    /// Appends the batch's series for `tenant`; `Ok` means it is durable in the WAL.
    async fn append(
        &self,
        tenant: &TenantId,
        batch: &WriteBatch<'_>,
    ) -> Result<Appended, StoreFailure>;

    /// The same store as a plain [`Querier`] (for the PromQL engine).
    fn querier(&self) -> &dyn Querier;

    /// Cuts the head into blocks and uploads them now; returns a JSON summary.
    async fn flush(&self) -> Result<serde_json::Value, StoreFailure>;
}
