//! The query interface between the storage engine and everything that reads it (the
//! Prometheus read APIs, remote read, PromQL, rules).

use async_trait::async_trait;

use crate::{Labels, Matcher, MetricType, Sample, TenantId};

/// A series with its samples in a time range, samples sorted by time without duplicates.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its labels.
    pub labels: Labels,
    /// Its samples.
    pub samples: Vec<Sample>,
}

/// Select the samples of the series matching all `matchers` in `[start_ms, end_ms]`.
#[derive(Clone, Debug)]
pub struct SelectRequest {
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// First millisecond, inclusive.
    pub start_ms: i64,
    /// Last millisecond, inclusive.
    pub end_ms: i64,
    /// Refuse with [`QueryErrorKind::LimitExceeded`] past this many series (0: no limit).
    pub max_series: usize,
    /// Refuse with [`QueryErrorKind::LimitExceeded`] past this many samples (0: no limit).
    pub max_samples: usize,
}

/// Series (label sets) having data in a time range and matching any of several selectors.
#[derive(Clone, Debug)]
pub struct SeriesRequest {
    /// A series qualifies when it matches every matcher of at least one selector; an empty
    /// list selects every series.
    pub selectors: Vec<Vec<Matcher>>,
    /// First millisecond, inclusive.
    pub start_ms: i64,
    /// Last millisecond, inclusive.
    pub end_ms: i64,
    /// Return at most this many (0: no limit); the answer is truncated, not an error.
    pub limit: usize,
}

/// The values of one label over the series a [`SeriesRequest`] selects.
#[derive(Clone, Debug)]
pub struct LabelValuesRequest {
    /// The label name.
    pub name: String,
    /// Which series to look at.
    pub series: SeriesRequest,
}

/// Metadata of one metric family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricMetadata {
    /// Type.
    pub metric_type: MetricType,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// The kinds of query failure; each maps to one Prometheus `errorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The request itself is wrong (`bad_data`).
    BadData,
    /// A series or sample limit was hit (`execution`).
    LimitExceeded,
    /// The storage could not answer now; retrying may help (`unavailable`).
    Unavailable,
    /// The query was canceled (`canceled`).
    Canceled,
    /// A bug (`internal`).
    Internal,
}

/// A query failure.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// What kind.
    pub kind: QueryErrorKind,
    /// What went wrong, for the user.
    pub message: String,
}

impl QueryError {
    /// An error of `kind`.
    pub fn new(kind: QueryErrorKind, message: impl Into<String>) -> Self {
        QueryError {
            kind,
            message: message.into(),
        }
    }
}

/// Read access to stored series, implemented by the storage engine and by test fakes.
///
/// Answers see the in-memory head and the persisted blocks as one store: no sample twice,
/// none missing, during compaction too.
#[async_trait]
pub trait Querier: Send + Sync {
    /// Series matching `req.matchers` with their samples in the range, sorted by labels.
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> Result<Vec<Series>, QueryError>;

    /// Label sets of the series a request selects, sorted and unique.
    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError>;

    /// Label names used by the selected series, sorted and unique.
    async fn label_names(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<String>, QueryError>;

    /// Values of one label over the selected series, sorted and unique.
    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError>;

    /// Metadata per metric family name, optionally for one metric only.
    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError>;
}
