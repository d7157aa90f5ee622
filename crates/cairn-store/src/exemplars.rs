//! Exemplars: per tenant, a fixed-size circular buffer of the newest exemplars of all series,
//! as Prometheus' `CircularExemplarStorage` keeps them.
//!
//! Each tenant's buffer holds at most `max_exemplars` entries; when it is full the oldest
//! entry (in ingestion order) makes room for the new one, whichever series it belongs to. An
//! index by series labels points at each series' oldest and newest entry, and the entries of
//! one series are linked oldest to newest, so a query walks only the series it matches.
//!
//! Per series, exemplars arrive in time order: one equal to the series' newest exemplar is a
//! duplicate and silently dropped; one not newer than it is out of order and refused. An
//! exemplar's label names and values together may not exceed 128 runes (OpenMetrics).
//!
//! Exemplars live in memory and in the WAL only (a record type of their own, replayed on open
//! and logged again at every checkpoint); they are never written to blocks, so once the
//! process restarts they reach back only as far as the WAL.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::{Labels, Matcher, TenantId};
use parking_lot::{Mutex, RwLock};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::head::matches_all;

/// Exemplars stored.
pub const EXEMPLARS_APPENDED_TOTAL: &str = "cairn_exemplars_appended_total";
/// Exemplars refused as out of order for their series.
pub const EXEMPLARS_OUT_OF_ORDER_TOTAL: &str = "cairn_exemplars_out_of_order_total";
/// Exemplars refused for another reason, by `reason`.
pub const EXEMPLARS_REJECTED_TOTAL: &str = "cairn_exemplars_rejected_total";
/// Exemplars in the circular buffers, all tenants.
pub const EXEMPLARS_IN_STORAGE: &str = "cairn_exemplars_in_storage";
/// Series with at least one exemplar in the circular buffers, all tenants.
pub const EXEMPLARS_SERIES_IN_STORAGE: &str = "cairn_exemplars_series_in_storage";
/// The capacity of each tenant's buffer.
pub const EXEMPLARS_MAX: &str = "cairn_exemplars_max_exemplars";

/// Most runes in an exemplar's label names and values together (OpenMetrics' limit, which
/// Prometheus enforces).
pub const EXEMPLAR_MAX_LABEL_SET_LENGTH: usize = 128;

/// Prometheus' default `storage.exemplars.max_exemplars`.
pub const DEFAULT_MAX_EXEMPLARS: usize = 100_000;

/// No entry (end of a series' list).
const NONE: u32 = u32::MAX;

/// One exemplar: a sample of a series with labels pointing elsewhere (a trace id).
#[derive(Clone, Debug)]
pub struct Exemplar {
    /// Its own labels (`trace_id`, ...), possibly empty.
    pub labels: Labels,
    /// The observed value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

impl PartialEq for Exemplar {
    /// Prometheus' `Exemplar.Equals`: a NaN value never equals anything.
    fn eq(&self, o: &Self) -> bool {
        self.timestamp_ms == o.timestamp_ms && self.value == o.value && self.labels == o.labels
    }
}

/// The exemplars of one series a query found, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarSeries {
    /// The series' labels.
    pub series: Labels,
    /// Its exemplars in the queried range, oldest first.
    pub exemplars: Vec<Exemplar>,
}

/// Why an exemplar was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExemplarRejectReason {
    /// Not newer than the series' newest exemplar.
    OutOfOrder,
    /// Label names and values longer than [`EXEMPLAR_MAX_LABEL_SET_LENGTH`] runes.
    LabelLength,
    /// The series has no sample in the head (Prometheus needs the series to exist).
    UnknownSeries,
    /// The series' or the exemplar's labels are not a valid label set.
    InvalidLabels,
}

impl ExemplarRejectReason {
    /// Every reason, in [`ExemplarRejectReason::index`] order.
    pub const ALL: [ExemplarRejectReason; 4] = [
        ExemplarRejectReason::OutOfOrder,
        ExemplarRejectReason::LabelLength,
        ExemplarRejectReason::UnknownSeries,
        ExemplarRejectReason::InvalidLabels,
    ];

    /// A stable name (a metric label value).
    pub fn as_str(self) -> &'static str {
        match self {
            ExemplarRejectReason::OutOfOrder => "out_of_order",
            ExemplarRejectReason::LabelLength => "label_length",
            ExemplarRejectReason::UnknownSeries => "unknown_series",
            ExemplarRejectReason::InvalidLabels => "invalid_labels",
        }
    }

    /// Prometheus' words for it, where Prometheus has them.
    pub fn message(self) -> &'static str {
        match self {
            ExemplarRejectReason::OutOfOrder => "out of order exemplar",
            ExemplarRejectReason::LabelLength => {
                "label length for exemplar exceeds maximum of 128 UTF-8 characters"
            }
            ExemplarRejectReason::UnknownSeries => "unknown series when trying to add exemplar",
            ExemplarRejectReason::InvalidLabels => "invalid exemplar labels",
        }
    }

    /// Position in [`ExemplarRejectReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What [`CircularExemplars::add`] did with an exemplar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// Stored.
    Stored,
    /// Equal to the series' newest exemplar: nothing to do.
    Duplicate,
}

/// A buffer slot.
#[derive(Debug)]
struct Entry {
    exemplar: Exemplar,
    series: Arc<Labels>,
    /// The next newer entry of the same series, or [`NONE`].
    next: u32,
}

/// A series' span of the buffer.
#[derive(Clone, Copy, Debug)]
struct IndexEntry {
    oldest: u32,
    newest: u32,
}

/// One tenant's circular buffer (Prometheus' `CircularExemplarStorage`, with the buffer
/// allocated as it fills rather than up front).
#[derive(Debug)]
pub(crate) struct CircularExemplars {
    max: usize,
    entries: Vec<Entry>,
    /// The slot the next exemplar goes to (the oldest entry once the buffer is full).
    next: usize,
    index: HashMap<Arc<Labels>, IndexEntry>,
}

/// Checks the exemplar label length limit, in runes of names and values.
pub(crate) fn check_label_length(labels: &Labels) -> Result<(), ExemplarRejectReason> {
    let mut n = 0usize;
    for l in labels.iter() {
        n += l.name.chars().count() + l.value.chars().count();
        if n > EXEMPLAR_MAX_LABEL_SET_LENGTH {
            return Err(ExemplarRejectReason::LabelLength);
        }
    }
    Ok(())
}

impl CircularExemplars {
    /// An empty buffer of capacity `max` (which is not 0).
    pub(crate) fn new(max: usize) -> Self {
        CircularExemplars {
            max: max.min(NONE as usize - 1),
            entries: Vec::new(),
            next: 0,
            index: HashMap::new(),
        }
    }

    /// Exemplars stored.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Series with exemplars stored.
    pub(crate) fn num_series(&self) -> usize {
        self.index.len()
    }

    /// Whether `e` would be stored for `series` (`Ok(Added::Duplicate)`: accepted as a no-op).
    pub(crate) fn validate(
        &self,
        series: &Labels,
        e: &Exemplar,
    ) -> Result<Added, ExemplarRejectReason> {
        check_label_length(&e.labels)?;
        let Some(idx) = self.index.get(series) else {
            return Ok(Added::Stored);
        };
        validate_against(&self.entries[idx.newest as usize].exemplar, e)
    }

    /// Stores `e` for `series`, evicting the oldest entry when the buffer is full.
    pub(crate) fn add(
        &mut self,
        series: &Labels,
        e: Exemplar,
    ) -> Result<Added, ExemplarRejectReason> {
        if self.validate(series, &e)? == Added::Duplicate {
            return Ok(Added::Duplicate);
        }
        let slot = self.next;
        // Evict first, so that a series whose only entry is this slot starts afresh.
        if slot < self.entries.len() {
            let old = &self.entries[slot];
            let old_next = old.next;
            let old_series = Arc::clone(&old.series);
            if old_next == NONE {
                self.index.remove(&*old_series);
            } else if let Some(i) = self.index.get_mut(&*old_series) {
                i.oldest = old_next;
            }
        }
        let slot32 = slot as u32;
        let key = match self.index.get_key_value(series) {
            Some((k, i)) => {
                let k = Arc::clone(k);
                let newest = i.newest as usize;
                self.entries[newest].next = slot32;
                if let Some(i) = self.index.get_mut(&*k) {
                    i.newest = slot32;
                }
                k
            }
            None => {
                let k = Arc::new(series.clone());
                self.index.insert(
                    Arc::clone(&k),
                    IndexEntry {
                        oldest: slot32,
                        newest: slot32,
                    },
                );
                k
            }
        };
        let entry = Entry {
            exemplar: e,
            series: key,
            next: NONE,
        };
        if slot < self.entries.len() {
            self.entries[slot] = entry;
        } else {
            self.entries.push(entry);
        }
        self.next = (slot + 1) % self.max;
        Ok(Added::Stored)
    }

    /// The exemplars in `[start, end]` of the series matching any of `selectors`, sorted by
    /// series labels.
    pub(crate) fn select(
        &self,
        start: i64,
        end: i64,
        selectors: &[Vec<Matcher>],
    ) -> Vec<ExemplarSeries> {
        let mut out = Vec::new();
        for (series, idx) in &self.index {
            if self.entries[idx.oldest as usize].exemplar.timestamp_ms > end
                || self.entries[idx.newest as usize].exemplar.timestamp_ms < start
            {
                continue;
            }
            if !selectors.iter().any(|ms| matches_all(series, ms)) {
                continue;
            }
            let mut exemplars = Vec::new();
            let mut at = idx.oldest;
            while at != NONE {
                let e = &self.entries[at as usize];
                if e.exemplar.timestamp_ms > end {
                    break;
                }
                if e.exemplar.timestamp_ms >= start {
                    exemplars.push(e.exemplar.clone());
                }
                at = e.next;
            }
            if !exemplars.is_empty() {
                out.push(ExemplarSeries {
                    series: (**series).clone(),
                    exemplars,
                });
            }
        }
        out.sort_by(|a, b| a.series.cmp(&b.series));
        out
    }

    /// Every entry, oldest appended first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Labels, &Exemplar)> + '_ {
        let n = self.entries.len();
        // Until the buffer is full, slot 0 is the oldest; afterwards `next` is.
        let first = if n < self.max { 0 } else { self.next };
        (0..n).map(move |i| {
            let e = &self.entries[(first + i) % n];
            (&*e.series, &e.exemplar)
        })
    }
}

/// Prometheus' rule against the series' newest exemplar: equal is a duplicate, not newer is
/// out of order.
pub(crate) fn validate_against(
    newest: &Exemplar,
    e: &Exemplar,
) -> Result<Added, ExemplarRejectReason> {
    if newest == e {
        return Ok(Added::Duplicate);
    }
    if e.timestamp_ms <= newest.timestamp_ms {
        return Err(ExemplarRejectReason::OutOfOrder);
    }
    Ok(Added::Stored)
}

/// The exemplar metrics; clones share the values.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExemplarMetrics {
    appended: Counter,
    out_of_order: Counter,
    rejected: Family<[(&'static str, &'static str); 1], Counter>,
    in_storage: Gauge,
    series: Gauge,
    max: Gauge,
}

impl ExemplarMetrics {
    fn register(&self, registry: &mut Registry) {
        let strip = |n: &'static str| n.strip_suffix("_total").unwrap_or(n);
        registry.register(
            strip(EXEMPLARS_APPENDED_TOTAL),
            "Exemplars stored",
            self.appended.clone(),
        );
        registry.register(
            strip(EXEMPLARS_OUT_OF_ORDER_TOTAL),
            "Exemplars refused as out of order for their series",
            self.out_of_order.clone(),
        );
        registry.register(
            strip(EXEMPLARS_REJECTED_TOTAL),
            "Exemplars refused for another reason than order, by reason",
            self.rejected.clone(),
        );
        registry.register(
            EXEMPLARS_IN_STORAGE,
            "Exemplars in the circular buffers, all tenants",
            self.in_storage.clone(),
        );
        registry.register(
            EXEMPLARS_SERIES_IN_STORAGE,
            "Series with exemplars in the circular buffers, all tenants",
            self.series.clone(),
        );
        registry.register(
            EXEMPLARS_MAX,
            "Capacity of each tenant's exemplar buffer",
            self.max.clone(),
        );
    }

    /// Counts refusals (out of order ones in their own counter).
    pub(crate) fn count_rejected(&self, reason: ExemplarRejectReason, n: u64) {
        if n == 0 {
            return;
        }
        if reason == ExemplarRejectReason::OutOfOrder {
            self.out_of_order.inc_by(n);
        } else {
            self.rejected
                .get_or_create(&[("reason", reason.as_str())])
                .inc_by(n);
        }
    }
}

/// The exemplar buffers of every tenant.
#[derive(Debug)]
pub(crate) struct ExemplarStore {
    max: usize,
    tenants: RwLock<HashMap<TenantId, Arc<Mutex<CircularExemplars>>>>,
    pub(crate) metrics: ExemplarMetrics,
}

impl ExemplarStore {
    /// Buffers of `max` exemplars per tenant (0: exemplars are not kept), metrics registered
    /// in `registry`.
    pub(crate) fn new(max: usize, registry: &mut Registry) -> Self {
        let metrics = ExemplarMetrics::default();
        metrics.register(registry);
        metrics.max.set(i64::try_from(max).unwrap_or(i64::MAX));
        ExemplarStore {
            max,
            tenants: RwLock::new(HashMap::new()),
            metrics,
        }
    }

    /// False when exemplars are disabled (`max_exemplars: 0`).
    pub(crate) fn enabled(&self) -> bool {
        self.max > 0
    }

    /// The buffer of `tenant`, if it has one.
    pub(crate) fn get(&self, tenant: &TenantId) -> Option<Arc<Mutex<CircularExemplars>>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// The buffer of `tenant`, created when new; `None` when disabled.
    pub(crate) fn tenant(&self, tenant: &TenantId) -> Option<Arc<Mutex<CircularExemplars>>> {
        if !self.enabled() {
            return None;
        }
        if let Some(b) = self.get(tenant) {
            return Some(b);
        }
        let mut t = self.tenants.write();
        Some(Arc::clone(t.entry(tenant.clone()).or_insert_with(|| {
            Arc::new(Mutex::new(CircularExemplars::new(self.max)))
        })))
    }

    /// Every tenant with a buffer.
    pub(crate) fn tenants(&self) -> Vec<(TenantId, Arc<Mutex<CircularExemplars>>)> {
        self.tenants
            .read()
            .iter()
            .map(|(t, b)| (t.clone(), Arc::clone(b)))
            .collect()
    }

    /// Adds exemplars to `tenant`'s buffer in order, updating the storage metrics; returns
    /// how many were stored and the refusals by reason (indexed like
    /// [`ExemplarRejectReason::ALL`]), which the caller counts.
    pub(crate) fn add_all<'a>(
        &self,
        tenant: &TenantId,
        exemplars: impl IntoIterator<Item = (&'a Labels, Exemplar)>,
    ) -> (u64, [u64; 4]) {
        let mut stored = 0u64;
        let mut refused = [0u64; 4];
        let Some(buf) = self.tenant(tenant) else {
            return (stored, refused);
        };
        let mut b = buf.lock();
        let (len0, series0) = (b.len(), b.num_series());
        for (series, e) in exemplars {
            match b.add(series, e) {
                Ok(Added::Stored) => stored += 1,
                Ok(Added::Duplicate) => {}
                Err(r) => refused[r.index()] += 1,
            }
        }
        let (len1, series1) = (b.len(), b.num_series());
        drop(b);
        self.metrics.appended.inc_by(stored);
        self.metrics.in_storage.inc_by(len1 as i64 - len0 as i64);
        self.metrics.series.inc_by(series1 as i64 - series0 as i64);
        (stored, refused)
    }

    /// Exemplars of `tenant` in `[start, end]` of the series matching any of `selectors`.
    pub(crate) fn select(
        &self,
        tenant: &TenantId,
        start: i64,
        end: i64,
        selectors: &[Vec<Matcher>],
    ) -> Vec<ExemplarSeries> {
        match self.get(tenant) {
            Some(b) => b.lock().select(start, end, selectors),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
