//! Metric queries.

use cairn_model::{LogQuerier, TenantId};

use crate::engine::{EngineOptions, EngineStats, Guard, QueryParams};
use crate::error::{Error, Result};
use crate::syntax::SampleExpr;

#[allow(dead_code, reason = "metric evaluation lands next")]
/// What an evaluation needs.
pub(crate) struct Ctx<'a> {
    pub(crate) querier: &'a dyn LogQuerier,
    pub(crate) tenant: &'a TenantId,
    pub(crate) params: &'a QueryParams,
    pub(crate) opts: &'a EngineOptions,
    pub(crate) guard: &'a Guard,
}

/// Evaluates a metric query.
pub(crate) async fn evaluate(
    _ctx: &Ctx<'_>,
    _expr: &SampleExpr,
    _stats: &mut EngineStats,
    _warnings: &mut Vec<String>,
) -> Result<cairn_promql::Value> {
    Err(Error::Internal(
        "metric queries are not evaluated yet".into(),
    ))
}
