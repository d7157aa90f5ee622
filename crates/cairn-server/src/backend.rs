//! What the front doors need from the storage engine, as a trait: the HTTP handlers depend on
//! it, the storage engine's adapter in `storage.rs` implements it.

use std::ops::ControlFlow;

use async_trait::async_trait;
use cairn_model::{
    LogBatch, LogQuerier, Matcher, Querier, TenantId, Trace, TraceBatch, TraceId, WriteBatch,
};
use cairn_store::{ExemplarSeries, TagNames, TraceFilter};
use tokio_util::sync::CancellationToken;

/// What an append wrote and refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) samples_written: usize,
    /// Exemplars stored (refused ones do not fail a write, as in Prometheus).
    pub(crate) exemplars_written: usize,
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

    /// Exemplars of `tenant` in `[start_ms, end_ms]` of the series matching any of
    /// `selectors`, sorted by series labels.
    fn exemplars(
        &self,
        tenant: &TenantId,
        selectors: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Vec<ExemplarSeries>;

    /// The same store as a plain [`Querier`] (for the PromQL engine).
    fn querier(&self) -> &dyn Querier;

    /// Cuts the head into blocks and uploads them now; returns a JSON summary.
    async fn flush(&self) -> Result<serde_json::Value, StoreFailure>;
}

/// How a refused log entry is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogRefusalKind {
    /// The entry itself is wrong (out of order past the window...): 400.
    BadEntry,
    /// A new stream over the tenant's stream limit: 429.
    StreamLimit,
}

/// A log entry (or whole stream) the store refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogRefusal {
    /// Index of the stream in the batch.
    pub(crate) stream: usize,
    /// Index of the entry in the stream; `None` for the whole stream.
    pub(crate) entry: Option<usize>,
    pub(crate) kind: LogRefusalKind,
    /// Stable reason (a metric label value).
    pub(crate) reason: &'static str,
    /// Loki's message.
    pub(crate) message: String,
}

/// What a log append wrote and refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogsAppended {
    /// Entries made durable (duplicates not counted).
    pub(crate) entries: u64,
    /// Entries equal to stored ones, accepted but not stored twice.
    pub(crate) duplicates: u64,
    pub(crate) refused: Vec<LogRefusal>,
}

/// The log side of the storage engine as the front doors see it.
#[async_trait]
pub(crate) trait LogsStore: LogQuerier {
    /// Appends `batch` for `tenant`, refusing new streams past `max_streams` (0: no limit);
    /// `Ok` means what was not refused is durable in the WAL.
    async fn append_logs(
        &self,
        tenant: &TenantId,
        batch: &LogBatch,
        max_streams: usize,
    ) -> Result<LogsAppended, StoreFailure>;

    /// The same store as a plain [`LogQuerier`] (for the LogQL engine).
    fn log_querier(&self) -> &dyn LogQuerier;

    /// Cuts the log head into blocks and uploads them now; returns a JSON summary.
    async fn flush_logs(&self) -> Result<serde_json::Value, StoreFailure>;
}

/// What a trace append wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TracesAppended {
    /// Spans made durable (repeats not counted).
    pub(crate) spans: u64,
    /// Spans equal to stored ones (same trace, span id and kind), accepted but not stored
    /// twice.
    pub(crate) duplicates: u64,
}

/// The trace side of the storage engine as the front doors see it.
#[async_trait]
pub(crate) trait TracesStore: Send + Sync {
    /// Appends `batch` for `tenant`; `Ok` means every span is durable in the WAL.
    async fn append_traces(
        &self,
        tenant: &TenantId,
        batch: TraceBatch,
    ) -> Result<TracesAppended, StoreFailure>;

    /// The spans of trace `id`, merged and sorted; only blocks overlapping `range` (ns,
    /// inclusive) are read when given. `None` when no span is stored.
    async fn trace_by_id(
        &self,
        tenant: &TenantId,
        id: &TraceId,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Trace>, StoreFailure>;

    /// Cuts the trace head into blocks and uploads them now; returns a JSON summary.
    async fn flush_traces(&self) -> Result<serde_json::Value, StoreFailure>;

    /// Calls `f` with every trace of `tenant` having a span in `[start_ns, end_ns]`, source by
    /// source (the head, then blocks: a trace not yet compacted may come once per source),
    /// until `f` breaks or `cancel` fires. Block traces that `filter` (necessary for what `f`
    /// looks for) rules out on their columns are left out.
    async fn scan_traces(
        &self,
        tenant: &TenantId,
        range: (u64, u64),
        filter: &TraceFilter,
        cancel: &CancellationToken,
        f: &mut (dyn FnMut(Trace) -> ControlFlow<()> + Send),
    ) -> Result<TraceScanStats, StoreFailure>;

    /// Attribute names of `tenant`'s spans in `range`, by scope.
    async fn trace_tag_names(
        &self,
        tenant: &TenantId,
        range: (u64, u64),
    ) -> Result<TagNames, StoreFailure>;
}

/// What a trace scan read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TraceScanStats {
    /// Traces handed to the callback.
    pub(crate) traces: u64,
    /// Blocks overlapping the range.
    pub(crate) blocks: u64,
}
