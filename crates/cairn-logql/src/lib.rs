//! LogQL for Cairn: Loki's query language over the [`cairn_model::LogQuerier`] trait.
//!
//! A query string is parsed ([`parse`]) into a syntax tree reproducing Loki's grammar and error
//! messages. A log query (`{app="api"} |= "error" | json | status >= 500`) runs as one scan of
//! the selected streams in the requested direction, each line through a compiled [`Pipeline`]
//! (line filters, parsers, label filters, formatters), until the limit; its entries come back as
//! [`Streams`], writable flat or categorized as Loki writes them. A metric query
//! (`sum by (level) (rate({app="api"} | json [5m]))`) evaluates every range aggregation in one
//! scan over the whole query range with sliding windows, then vector aggregations and binary
//! operators step by step; its value is a [`cairn_promql::Value`], so rules and SLOs take LogQL
//! like PromQL.
//!
//! Semantics follow Loki 3: windows `(t - range, t]`, steps `start..=end`, label categories
//! (stream, structured metadata, parsed) with `_extracted` suffixes on collisions, `__error__`
//! and `__error_details__` as Loki's stages set them, Loki's parser hints and stage ordering.
//! [`MemoryLogQuerier`] is an in-memory store for tests.

mod detected;
mod drain;
mod engine;
mod error;
mod gofmt;
mod goregex;
mod labels;
mod memory;
mod metric;
mod pattern;
mod pipeline;
mod streams;
mod syntax;

pub use detected::{DetectedField, FieldDetector, field_type};
pub use drain::{
    Cluster, Drain, DrainConfig, LogFormat, MIN_PATTERN_STEP_NS, PatternMiner, PatternOptions,
    PatternSeries, StreamSlot,
};
pub use engine::{Engine, EngineOptions, EngineStats, QueryParams, QueryResult, QueryValue};
pub use error::{Error, ErrorKind, ParseError, Result};
pub use gofmt::{format_go_duration, format_prom_duration};
pub use memory::MemoryLogQuerier;
pub use pipeline::{LabelsResult, Pipeline, Processed, StreamPipeline};
pub use streams::{EntryOut, StreamOut, Streams};
pub use syntax::*;
