//! TraceQL for Cairn: Tempo's trace query language, parsed, type checked and run over traces.
//!
//! A query string is parsed ([`parse`]) into a [`Query`] with Tempo's grammar and Tempo's
//! syntax errors (`parse error at line 1, col 5: syntax error: unexpected ...`): spanset
//! filters over intrinsics and scoped attributes, spanset and structural operators, pipelines
//! with aggregates, `by`, `coalesce` and `select`, hints, and TraceQL metrics (first stages such
//! as `rate()` and `quantile_over_time()`, `topk`/`bottomk` and filters as second stages,
//! arithmetic between metrics queries). The tree prints ([`std::fmt::Display`]) in a canonical
//! form that parses back to the same tree. [`validate`] type checks a parsed query as Tempo's
//! `validate()` does, telling wrong queries ([`Error::Invalid`]) from constructs Tempo parses
//! but does not run ([`Error::Unsupported`]); [`parse_and_validate`] does both.
//!
//! A search runs over one trace at a time, with no I/O: [`Compiled::new`] prepares a query
//! once, [`Compiled::evaluate`] runs it over a [`cairn_model::Trace`] and gives the matched
//! [`Spanset`]s, with Tempo's typing rules (a mismatched comparison is false, `nil` equals
//! nothing, ints stay ints, regexes are anchored), unscoped attributes read from the span then
//! its resource, event and link conditions true when any event or link satisfies them, and
//! parent/child from the span ids within the trace. [`trace_result`] and [`search_trace`]
//! write a matched trace as Tempo's `/api/search` answers it ([`TraceSearchMetadata`]);
//! [`search_parts`] runs over a trace held in several parts, [`combine_results`] and
//! [`SearchResults`] merge answers as Tempo's combiner; [`tag_values`] collects a tag's values
//! over matched spans ([`parse_attribute`] reads a tag name).
//!
//! A metrics query runs in a [`MetricsEvaluator`] fed trace by trace over a [`QueryRange`] and
//! finishes into the series `/api/metrics/query_range` answers ([`QueryRangeResponse`]);
//! quantiles come from power-of-two buckets as Tempo computes them (exact to a power of two),
//! and exemplars (trace and span ids) are kept on request.
//!
//! [`pushdown`] derives from a query what a trace must hold for the query to match it (a
//! necessary condition over span fields), which storage checks on its columns to leave out
//! traces before reading them whole.
//!
//! The conformance suite (`tests/conformance/`) pins the answers on hand-built traces.

mod error;
mod eval;
mod metrics;
mod pushdown;
mod search;
mod syntax;
mod validate;

pub use error::{Error, ParseError, Result};
pub use eval::{
    Compiled, EvalError, Matches, SpanRef, Spanset, TraceIndex, Value, evaluate, span_value,
};
pub use metrics::{
    Exemplar, MetricsEvaluator, QueryRange, QueryRangeResponse, Sample, TimeSeries, log2_quantile,
};
pub use pushdown::{FieldTest, PushField, SpanCondition, TraceCondition, pushdown};
pub use search::{
    AnyValue, ArrayValue, DEFAULT_SPANS_PER_SPANSET, KeyValue, ROOT_SPAN_NOT_YET_RECEIVED,
    SearchResults, SearchSpan, ServiceStats, SpanSet, TagValue, TraceSearchMetadata,
    combine_results, parse_attribute, search_parts, search_trace, tag_values, trace_result,
};
pub use syntax::*;
pub use validate::validate;

/// Parses and type checks a query: what a query endpoint runs before planning.
pub fn parse_and_validate(input: &str) -> Result<Query> {
    let q = parse(input)?;
    validate(&q)?;
    Ok(q)
}
