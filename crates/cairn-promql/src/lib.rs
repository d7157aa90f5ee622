//! PromQL for Cairn: Prometheus 3 query semantics over the [`cairn_model::Querier`] trait,
//! and a runner for Prometheus' promqltest scripts that measures how closely we follow them.
//!
//! A query is parsed with the `promql-parser` crate, planned by one walk over the tree that
//! finds every selector with the full time span it needs (ranges, `offset`, `@`, subqueries,
//! the lookback window), fetched once per selector, then evaluated step-vectorised: each node
//! produces its values for every step of its grid in one go, never re-reading storage.
//!
//! Semantics kept from Prometheus 3: left-open range windows `(t - range, t]`, a 5m lookback
//! for instant selectors in which a stale marker hides the series, `rate`-style
//! extrapolation, and delayed removal of `__name__` (functions flag it; it goes when the
//! final result is built, so label functions can still read it).
//!
//! Not supported yet: native histogram samples (the store keeps floats only), the
//! experimental `info()` function, and syntax `promql-parser` does not read (duration
//! arithmetic, `smoothed`/`anchored` range modifiers).

mod engine;
mod error;
mod eval;
mod memory;
mod plan;
pub mod promqltest;
mod value;

pub use engine::{Engine, EngineOptions, parse};
pub use error::{Error, ErrorKind, Result};
pub use memory::MemoryQuerier;
pub use plan::extract_selectors;
pub use value::{Annotations, Answer, InstantSample, QueryStats, Value};
