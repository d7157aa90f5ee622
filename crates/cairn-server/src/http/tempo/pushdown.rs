//! A TraceQL query's pushdown condition as the trace store's filter: the store tests its
//! columns with the query language's own comparisons.

use std::sync::Arc;

use cairn_store::{SpanField, SpanFilter, TraceFilter, ValueTest};
use cairn_traceql::{FieldTest, PushField, Query, SpanCondition, TraceCondition};

/// A TraceQL field test run by the store.
#[derive(Debug)]
struct Test(FieldTest);

impl ValueTest for Test {
    fn test_str(&self, v: &str) -> bool {
        self.0.test_str(v)
    }

    fn test_int(&self, v: i64) -> bool {
        self.0.test_int(v)
    }

    fn test_nil(&self) -> bool {
        self.0.test_nil()
    }
}

fn field(f: &PushField) -> SpanField {
    match f {
        PushField::Name => SpanField::Name,
        PushField::Status => SpanField::StatusCode,
        PushField::Kind => SpanField::Kind,
        PushField::Duration => SpanField::Duration,
        PushField::Span(k) => SpanField::SpanAttr(k.clone()),
        PushField::Resource(k) => SpanField::ResourceAttr(k.clone()),
        PushField::Unscoped(k) => SpanField::Attr(k.clone()),
    }
}

fn span(c: &SpanCondition) -> SpanFilter {
    match c {
        SpanCondition::True => SpanFilter::True,
        SpanCondition::Test(t) => SpanFilter::Test {
            field: field(t.field()),
            test: Arc::new(Test(t.clone())),
        },
        SpanCondition::And(xs) => SpanFilter::And(xs.iter().map(span).collect()),
        SpanCondition::Or(xs) => SpanFilter::Or(xs.iter().map(span).collect()),
    }
}

fn trace(c: &TraceCondition) -> TraceFilter {
    match c {
        TraceCondition::All => TraceFilter::All,
        TraceCondition::Any(s) => TraceFilter::Any(span(s)),
        TraceCondition::And(xs) => TraceFilter::And(xs.iter().map(trace).collect()),
        TraceCondition::Or(xs) => TraceFilter::Or(xs.iter().map(trace).collect()),
    }
}

/// The store filter for the traces `q` can match (a search) or count (a metrics query).
pub(super) fn trace_filter(q: &Query) -> TraceFilter {
    trace(&cairn_traceql::pushdown(q))
}

#[cfg(test)]
mod tests;
