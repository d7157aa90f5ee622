//! The shared vocabulary of Cairn: label sets, label matchers, samples, tenants, Prometheus
//! durations, the batch of series a decoder hands to the storage engine, the [`Querier`]
//! trait that the storage engine implements and the query engines consume, and their log
//! counterparts: [`LogBatch`] for writes and [`LogQuerier`] for reads, and traces: spans grouped
//! by resource and scope in a [`TraceBatch`], gathered per trace id in a [`Trace`].
//!
//! Invariants: a [`Labels`] is always sorted by name with unique, non-empty names; its
//! [`SeriesId`] is the xxh3-64 hash of its canonical encoding (see [`Labels::encoded`]), so the
//! same set of labels has the same id in every process and on disk. No I/O lives here.

mod batch;
mod duration;
mod labels;
mod logs;
mod matcher;
mod query;
mod sample;
mod tenant;
mod traces;

pub use batch::{ExemplarRef, HistogramRef, MetadataRef, MetricType, SeriesRefs, WriteBatch};
pub use duration::{DurationError, format_duration, parse_duration};
pub use labels::{
    LabelError, LabelRef, Labels, LabelsBuilder, METRIC_NAME, SeriesId, encode_refs_into,
};
pub use logs::{
    ChunkEntry, Direction, LogBatch, LogChunk, LogCounts, LogEntry, LogQuerier, LogScan,
    LogSelectRequest, LogSeriesRequest, LogStatsRequest, LogStream, ScanStats, StreamCounts,
};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use query::{
    LabelValuesRequest, MetricMetadata, Querier, QueryError, QueryErrorKind, SelectRequest, Series,
    SeriesRequest,
};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub use tenant::{TenantError, TenantId};
pub use traces::{
    AttrValue, Attribute, Event, IdError, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span,
    SpanId, SpanKind, Status, StatusCode, Trace, TraceBatch, TraceId, find_attr, hex_string,
    parse_hex_bytes,
};
