//! Running a read over a tenant's traces inside a query slot: the shared admission, the
//! query timeout, and cancellation when the client goes away.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::StatusCode;
use cairn_model::{TenantId, Trace};
use cairn_store::TraceFilter;
use tokio_util::sync::CancellationToken;

use crate::backend::TraceScanStats;
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::http::slots::{Admission, CancelOnDrop, admit, run_query};

/// Why a scan step stopped the scan with an error.
pub(super) type StepError = String;

/// Calls `step` with every trace of `tenant` having a span in `range` (ns, inclusive) that
/// `filter` keeps (block traces it rules out are not read), with `acc`, until `step`
/// breaks; returns `acc` and what was read. A step error is a 400 (a
/// query that cannot run on this data), the query timeout a 504.
pub(super) async fn scan<A, F>(
    state: &Arc<AppState>,
    tenant: TenantId,
    range: (u64, u64),
    filter: TraceFilter,
    endpoint: &'static str,
    mut acc: A,
    mut step: F,
) -> Result<(A, TraceScanStats), ApiError>
where
    A: Send + 'static,
    F: FnMut(&mut A, Trace) -> Result<ControlFlow<()>, StepError> + Send + 'static,
{
    let store = Arc::clone(state.traces_store(Style::Text)?);
    let Admission {
        slot,
        arrived,
        timeout,
        ..
    } = admit(state).await?;
    let guard = CancelOnDrop::new(state.query_metrics.clone());
    let flag = guard.flag();
    let deadline = arrived + timeout;
    let work = async move {
        let cancel = CancellationToken::new();
        let mut failed: Option<StepError> = None;
        let mut timed_out = false;
        let stats = {
            let mut f = |t: Trace| {
                if flag.load(Ordering::Relaxed) {
                    cancel.cancel();
                    return ControlFlow::Break(());
                }
                if Instant::now() >= deadline {
                    timed_out = true;
                    cancel.cancel();
                    return ControlFlow::Break(());
                }
                match step(&mut acc, t) {
                    Ok(c) => c,
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                }
            };
            store
                .scan_traces(&tenant, range, &filter, &cancel, &mut f)
                .await
        };
        drop(slot);
        (stats, acc, failed, timed_out)
    };
    let (stats, acc, failed, timed_out) =
        run_query(work, guard, endpoint, arrived, Style::Text).await?;
    if let Some(e) = failed {
        return Err(ApiError::bad_data(e, Style::Text));
    }
    if timed_out {
        state.query_metrics.refuse("timeout");
        return Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "query timed out after {:?} (query.timeout)",
                state.config.query.timeout
            ),
            Style::Text,
        ));
    }
    let stats = stats.map_err(|f| {
        let msg = format!("cannot read traces: {}", f.message);
        if f.transient {
            ApiError::unavailable(msg, Style::Text)
        } else {
            ApiError::internal(msg, Style::Text)
        }
    })?;
    Ok((acc, stats))
}
