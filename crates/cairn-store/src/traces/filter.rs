//! Conditions a scan checks on a block's columns before reading traces whole.
//!
//! A [`TraceFilter`] is what a query needs of a trace: "some span meets this" conditions
//! ([`SpanFilter`]) combined with `and`/`or`. The query layer builds it (the store does not
//! know the query language) and must keep it *necessary*: a trace it rejects is one the query
//! would not match. Its tests ([`ValueTest`]) come from the query layer too, so that they
//! compare values exactly as the query's evaluation does; the store only decides where each
//! field's values sit in a block, and answers "true" where it cannot tell.

use std::sync::Arc;

/// A test of the values of one span field, as the query language compares them.
pub trait ValueTest: Send + Sync + std::fmt::Debug {
    /// Whether a string value passes.
    fn test_str(&self, v: &str) -> bool;
    /// Whether an integer value passes: OTLP's number for the status code and the kind,
    /// nanoseconds for the duration.
    fn test_int(&self, v: i64) -> bool;
    /// Whether a span without the field (an attribute it does not carry) passes.
    fn test_nil(&self) -> bool;
}

/// The span fields a filter can test.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpanField {
    /// The span's name.
    Name,
    /// The status code.
    StatusCode,
    /// The kind.
    Kind,
    /// The duration.
    Duration,
    /// The first span attribute of this key.
    SpanAttr(String),
    /// The first resource attribute of this key.
    ResourceAttr(String),
    /// The span attribute of this key when the span has one, else the resource's.
    Attr(String),
}

/// A condition on one span.
#[derive(Clone, Debug)]
pub enum SpanFilter {
    /// Every span meets it.
    True,
    /// The field's value passes the test.
    Test {
        /// The field.
        field: SpanField,
        /// The test.
        test: Arc<dyn ValueTest>,
    },
    /// Every condition holds.
    And(Vec<SpanFilter>),
    /// Some condition holds.
    Or(Vec<SpanFilter>),
}

/// A condition on a trace, over its spans in one source.
#[derive(Clone, Debug)]
pub enum TraceFilter {
    /// Every trace.
    All,
    /// Some span meets the condition.
    Any(SpanFilter),
    /// Every condition holds.
    And(Vec<TraceFilter>),
    /// Some condition holds.
    Or(Vec<TraceFilter>),
}

impl TraceFilter {
    /// Whether the filter keeps every trace.
    pub fn is_all(&self) -> bool {
        matches!(self, TraceFilter::All)
    }
}
