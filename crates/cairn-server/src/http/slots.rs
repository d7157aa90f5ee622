//! Query admission: at most `query.max_concurrent` PromQL queries evaluate at once; others
//! wait in a bounded queue with their timeout already ticking (as Prometheus' active query
//! tracker makes them wait), and are refused with 503 when the queue is full. Also the query
//! metrics, and the guard that cancels a query whose client went away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppState;
use super::error::{ApiError, Style};

type Labels = Vec<(&'static str, String)>;

/// Handles on the query metrics.
#[derive(Clone)]
pub(crate) struct QueryMetrics {
    /// `cairn_query_duration_seconds{endpoint}`: queries that were evaluated, queueing included.
    pub(crate) duration: Family<Labels, Histogram, fn() -> Histogram>,
    /// `cairn_queries_running`.
    pub(crate) running: Gauge,
    /// `cairn_queries_queued`.
    pub(crate) queued: Gauge,
    /// `cairn_query_refusals_total{reason}`: queries refused or stopped, by reason
    /// (`queue_full`, `timeout`, `too_many_samples`, `too_many_series`, `canceled`).
    pub(crate) refusals: Family<Labels, Counter>,
}

fn query_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 10))
}

impl QueryMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = QueryMetrics {
            duration: Family::new_with_constructor(query_histogram),
            running: Gauge::default(),
            queued: Gauge::default(),
            refusals: Family::default(),
        };
        registry.register(
            "cairn_query_duration_seconds",
            "PromQL query latency by endpoint, queueing included",
            m.duration.clone(),
        );
        registry.register(
            "cairn_queries_running",
            "PromQL queries being evaluated",
            m.running.clone(),
        );
        registry.register(
            "cairn_queries_queued",
            "PromQL queries waiting for an evaluation slot",
            m.queued.clone(),
        );
        registry.register(
            "cairn_query_refusals",
            "PromQL queries refused or stopped, by reason",
            m.refusals.clone(),
        );
        m
    }

    /// Counts one refusal.
    pub(crate) fn refuse(&self, reason: &str) {
        self.refusals
            .get_or_create(&vec![("reason", reason.to_string())])
            .inc();
    }
}

/// Why a query got no slot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue is full.
    QueueFull,
    /// The query's timeout passed while it waited.
    Timeout,
}

/// The slots and the queue in front of them.
pub(crate) struct QuerySlots {
    sem: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queued: usize,
}

/// A slot held for the evaluation of one query; counts it as running until dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    running: Gauge,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.dec();
    }
}

impl QuerySlots {
    /// `max_concurrent` slots, at most `max_queued` waiters.
    pub(crate) fn new(max_concurrent: usize, max_queued: usize) -> Self {
        QuerySlots {
            sem: Arc::new(Semaphore::new(max_concurrent)),
            waiting: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A slot, waiting at most until `deadline`.
    pub(crate) async fn acquire(
        &self,
        deadline: Instant,
        metrics: &QueryMetrics,
    ) -> Result<Slot, Refused> {
        let slot = |permit| {
            metrics.running.inc();
            Slot {
                _permit: permit,
                running: metrics.running.clone(),
            }
        };
        if let Ok(p) = Arc::clone(&self.sem).try_acquire_owned() {
            return Ok(slot(p));
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_queued {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            metrics.refuse("queue_full");
            return Err(Refused::QueueFull);
        }
        metrics.queued.inc();
        let left = deadline.saturating_duration_since(Instant::now());
        let got = tokio::time::timeout(left, Arc::clone(&self.sem).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        metrics.queued.dec();
        match got {
            Ok(Ok(p)) => Ok(slot(p)),
            // The semaphore is never closed; treat it like a timeout if it ever were.
            Ok(Err(_)) | Err(_) => {
                metrics.refuse("timeout");
                Err(Refused::Timeout)
            }
        }
    }
}

/// A query admitted to run: its slot, when it arrived and how long it waited, and the time
/// it has in all.
pub(crate) struct Admission {
    pub(crate) slot: Slot,
    pub(crate) arrived: Instant,
    pub(crate) queued: Duration,
    pub(crate) timeout: Duration,
}

/// Waits for one of the query slots (shared by PromQL, LogQL and TraceQL), within
/// `query.timeout`; a full queue is a 503, a wait past the timeout a 504.
pub(crate) async fn admit(state: &AppState) -> Result<Admission, ApiError> {
    let arrived = Instant::now();
    let timeout = effective_timeout(state.config.query.timeout, None);
    let slot = state
        .query_slots
        .acquire(arrived + timeout, &state.query_metrics)
        .await
        .map_err(|r| match r {
            Refused::QueueFull => ApiError::unavailable(
                "too many queries are waiting to run (query.max_queued), retry shortly",
                Style::Text,
            ),
            Refused::Timeout => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "query timed out in query queue",
                Style::Text,
            ),
        })?;
    Ok(Admission {
        slot,
        arrived,
        queued: arrived.elapsed(),
        timeout,
    })
}

/// Sets the query's cancel flag when dropped before [`CancelOnDrop::disarm`]: axum drops
/// the handler's future when the client disconnects, and the evaluation running on the
/// blocking pool then stops at its next check.
pub(crate) struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    armed: bool,
    metrics: QueryMetrics,
}

impl CancelOnDrop {
    /// A guard over a fresh flag.
    pub(crate) fn new(metrics: QueryMetrics) -> Self {
        CancelOnDrop {
            flag: Arc::new(AtomicBool::new(false)),
            armed: true,
            metrics,
        }
    }

    /// The flag to hand to the engine.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// The query finished: dropping no longer cancels.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

/// Runs a query's work on its own task, so that a client going away drops `guard` (and the
/// work sees its flag) without aborting the work midway; then disarms the guard and records
/// the query's duration since it `arrived` under `endpoint`.
pub(crate) async fn run_query<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    guard: CancelOnDrop,
    endpoint: &str,
    arrived: Instant,
    style: Style,
) -> Result<T, ApiError> {
    let out = tokio::spawn(work)
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}"), style))?;
    let metrics = guard.metrics.clone();
    guard.disarm();
    metrics
        .duration
        .get_or_create(&vec![("endpoint", endpoint.to_string())])
        .observe(arrived.elapsed().as_secs_f64());
    Ok(out)
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::Relaxed);
            self.metrics.refuse("canceled");
            tracing::info!("query canceled: the client went away");
        }
    }
}

/// The effective timeout: the request's, when given and shorter than the configured one.
pub(crate) fn effective_timeout(configured: Duration, requested: Option<Duration>) -> Duration {
    match requested {
        Some(r) if !r.is_zero() => r.min(configured),
        _ => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_then_refuse() {
        let mut reg = Registry::default();
        let m = QueryMetrics::register(&mut reg);
        let slots = QuerySlots::new(1, 1);
        let far = Instant::now() + Duration::from_secs(60);
        let first = slots.acquire(far, &m).await.expect("a free slot");
        assert_eq!(m.running.get(), 1);
        // The second waits; its deadline passes while the first still holds the slot.
        let soon = Instant::now() + Duration::from_millis(50);
        let waiter = slots.acquire(soon, &m);
        assert_eq!(waiter.await.err(), Some(Refused::Timeout));
        // With one waiter queued, a third is refused at once.
        let queued = slots.acquire(far, &m);
        tokio::pin!(queued);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut queued)
                .await
                .is_err()
        );
        assert_eq!(m.queued.get(), 1);
        assert_eq!(slots.acquire(far, &m).await.err(), Some(Refused::QueueFull));
        drop(first);
        let second = queued.await.expect("the slot freed");
        assert_eq!(m.running.get(), 1);
        drop(second);
        assert_eq!(m.running.get(), 0);
        assert_eq!(m.queued.get(), 0);
    }

    #[test]
    fn timeout_is_the_smaller() {
        let c = Duration::from_secs(120);
        assert_eq!(effective_timeout(c, None), c);
        assert_eq!(
            effective_timeout(c, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(effective_timeout(c, Some(Duration::from_secs(500))), c);
    }
}
