//! One series in the head: its labels and its samples in chunks (exact decimals or XOR)
//! plus a small sorted buffer for samples that arrived out of order.

use std::sync::atomic::AtomicU32;

use cairn_model::{Labels, Sample};
use parking_lot::Mutex;

use super::chunk::{Appender, FrozenChunk, SAMPLES_PER_CHUNK};
use crate::head::RejectReason;

/// Out-of-order samples kept raw before they are merged into the chunks; the threshold
/// grows with the series (half its in-order samples) so that a replay feeding many old
/// samples costs amortised linear time, not one re-encode every few samples.
const OOO_MERGE_AT: usize = 32;

/// A series of the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    /// Reference used in WAL records; unique across tenants and restarts.
    pub(crate) sref: u64,
    /// The labels.
    pub(crate) labels: Labels,
    /// WAL segment that last logged this series' record (0: none); only the WAL writer
    /// touches it, so each segment logs the series once.
    pub(crate) logged_segment: AtomicU32,
    /// Samples and validation state.
    pub(crate) data: Mutex<SeriesData>,
}

impl MemSeries {
    /// A new series without samples.
    pub(crate) fn new(sref: u64, labels: Labels) -> Self {
        MemSeries {
            sref,
            labels,
            logged_segment: AtomicU32::new(0),
            data: Mutex::new(SeriesData::default()),
        }
    }
}

/// The samples of a series.
///
/// Validation runs ahead of the data: a sample is validated (and reserves its timestamp),
/// logged to the WAL, then applied; concurrent appends may apply in another order than they
/// validated, so `apply` accepts any timestamp and deduplicates.
///
/// Every series of the head has one, so its fields are kept small: the newest in-order
/// sample is read from the open chunk, which is never empty while the series holds samples
/// (a chunk is frozen only when the next sample is appended), and the frozen chunks and the
/// rarely used out-of-order buffer are boxed without spare capacity.
#[derive(Debug)]
pub(crate) struct SeriesData {
    valid_max_t: i64,
    valid_last: u64,
    frozen: Box<[FrozenChunk]>,
    open: Appender,
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer: 8 bytes in every series for a buffer that is nearly always absent"
    )]
    ooo: Option<Box<Vec<(i64, u64)>>>,
}

impl Default for SeriesData {
    fn default() -> Self {
        SeriesData {
            valid_max_t: i64::MIN,
            valid_last: 0,
            frozen: Box::default(),
            open: Appender::default(),
            ooo: None,
        }
    }
}

impl SeriesData {
    /// Checks a sample with Prometheus' rules and reserves its timestamp when accepted.
    pub(crate) fn validate(
        &mut self,
        t: i64,
        v: u64,
        min_valid_t: i64,
        ooo_window_ms: i64,
    ) -> Result<(), RejectReason> {
        if t < min_valid_t {
            return Err(RejectReason::OutOfBounds);
        }
        if self.valid_max_t == i64::MIN || t > self.valid_max_t {
            self.valid_max_t = t;
            self.valid_last = v;
            return Ok(());
        }
        if t == self.valid_max_t {
            return if v == self.valid_last {
                Ok(())
            } else {
                Err(RejectReason::Duplicate)
            };
        }
        // A resent sample that is already stored is accepted whatever its age, so that a
        // sender retrying a batch whose answer it lost (a crash, a timeout) is not refused.
        // Anything else older than the window is out of order, as in Prometheus.
        match self.lookup(t) {
            Some(old) if old == v => Ok(()),
            _ if t < self.valid_max_t.saturating_sub(ooo_window_ms) => {
                Err(RejectReason::OutOfOrder)
            }
            Some(_) => Err(RejectReason::Duplicate),
            None => Ok(()),
        }
    }

    /// Forgets reservations of samples that were never applied (after a WAL failure).
    pub(crate) fn reset_validation(&mut self) {
        match self.max_t() {
            Some(t) => {
                self.valid_max_t = t;
                self.valid_last = self.open.last();
            }
            None => {
                self.valid_max_t = i64::MIN;
                self.valid_last = 0;
            }
        }
    }

    fn ooo(&self) -> &[(i64, u64)] {
        self.ooo.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Appends a sample newer than every in-order one, freezing the open chunk when full.
    fn push(&mut self, t: i64, v: u64) {
        if self.open.count() >= SAMPLES_PER_CHUNK {
            let full = std::mem::take(&mut self.open).freeze();
            self.open = Appender::after(&full);
            let mut frozen = std::mem::take(&mut self.frozen).into_vec();
            frozen.push(full);
            self.frozen = frozen.into_boxed_slice();
        }
        self.open.append(t, v);
    }

    /// Inserts a sample; a sample already present at `t` is kept (the first write wins).
    /// Returns whether it was inserted.
    pub(crate) fn apply(&mut self, t: i64, v: u64) -> bool {
        let max_t = self.max_t();
        if max_t.is_none_or(|m| t > m) {
            self.push(t, v);
            if self.valid_max_t < t {
                self.valid_max_t = t;
                self.valid_last = v;
            }
            return true;
        }
        if max_t == Some(t) || self.lookup(t).is_some() {
            return false;
        }
        let ooo = self.ooo.get_or_insert_default();
        let pos = ooo.partition_point(|&(ot, _)| ot < t);
        ooo.insert(pos, (t, v));
        let ooo_len = ooo.len();
        let in_order =
            self.frozen.len() * usize::from(SAMPLES_PER_CHUNK) + usize::from(self.open.count());
        if ooo_len >= OOO_MERGE_AT.max(in_order / 2) {
            let mut all = Vec::new();
            self.collect(i64::MIN, i64::MAX, &mut all);
            self.rebuild(&all);
        }
        true
    }

    /// The value at exactly `t`, if any.
    fn lookup(&self, t: i64) -> Option<u64> {
        let ooo = self.ooo();
        if let Ok(i) = ooo.binary_search_by_key(&t, |&(ot, _)| ot) {
            return Some(ooo[i].1);
        }
        for c in &self.frozen {
            if c.min_t() <= t && t <= c.max_t {
                return c.iter().find(|&(ct, _)| ct == t).map(|(_, v)| v);
            }
        }
        if self.open.count() > 0 && self.open.min_t() <= t && t <= self.open.max_t() {
            return self.open.iter().find(|&(ct, _)| ct == t).map(|(_, v)| v);
        }
        None
    }

    /// Appends the samples in `[mint, maxt]`, sorted, as `(t, bits)`.
    pub(crate) fn collect(&self, mint: i64, maxt: i64, out: &mut Vec<(i64, u64)>) {
        let start = out.len();
        // In-order chunks are sorted by time: stop decoding past `maxt`.
        for c in &self.frozen {
            if c.max_t >= mint && c.min_t() <= maxt {
                out.extend(
                    c.iter()
                        .take_while(|&(t, _)| t <= maxt)
                        .filter(|&(t, _)| t >= mint),
                );
            }
        }
        if self.open.count() > 0 && self.open.max_t() >= mint && self.open.min_t() <= maxt {
            out.extend(
                self.open
                    .iter()
                    .take_while(|&(t, _)| t <= maxt)
                    .filter(|&(t, _)| t >= mint),
            );
        }
        let in_order = out.len();
        out.extend(
            self.ooo()
                .iter()
                .copied()
                .filter(|&(t, _)| t >= mint && t <= maxt),
        );
        if out.len() > in_order {
            // Stable: on equal timestamps the in-order sample (written first) stays first.
            out[start..].sort_by_key(|&(t, _)| t);
            let mut tail = out.split_off(start);
            tail.dedup_by_key(|&mut (t, _)| t);
            out.extend(tail);
        }
    }

    /// Appends the samples in `[mint, maxt]` as model samples.
    pub(crate) fn samples(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let mut raw = Vec::new();
        self.collect(mint, maxt, &mut raw);
        out.extend(
            raw.into_iter()
                .map(|(t, v)| Sample::new(t, f64::from_bits(v))),
        );
    }

    /// Replaces the content with `samples` (sorted, unique).
    fn rebuild(&mut self, samples: &[(i64, u64)]) {
        let mut frozen = Vec::new();
        let mut open = Appender::default();
        for &(t, v) in samples {
            if open.count() >= SAMPLES_PER_CHUNK {
                let full = std::mem::take(&mut open).freeze();
                open = Appender::after(&full);
                frozen.push(full);
            }
            open.append(t, v);
        }
        self.frozen = frozen.into_boxed_slice();
        self.open = open;
        self.ooo = None;
    }

    /// Removes every sample before `t`; returns how many were removed.
    pub(crate) fn drop_before(&mut self, t: i64) -> usize {
        match self.min_t() {
            Some(min) if min < t => {}
            _ => return 0,
        }
        let mut all = Vec::new();
        self.collect(i64::MIN, i64::MAX, &mut all);
        let keep_from = all.partition_point(|&(st, _)| st < t);
        self.rebuild(&all[keep_from..]);
        keep_from
    }

    /// Smallest timestamp held.
    pub(crate) fn min_t(&self) -> Option<i64> {
        let chunk_min = match self.frozen.first() {
            Some(c) => Some(c.min_t()),
            None if self.open.count() > 0 => Some(self.open.min_t()),
            None => None,
        };
        let ooo_min = self.ooo().first().map(|&(t, _)| t);
        match (chunk_min, ooo_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Largest timestamp held.
    pub(crate) fn max_t(&self) -> Option<i64> {
        (self.open.count() > 0).then(|| self.open.max_t())
    }

    /// True when the span from the first to the last sample overlaps `[mint, maxt]`.
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        match (self.min_t(), self.max_t()) {
            (Some(lo), Some(hi)) => lo <= maxt && hi >= mint,
            _ => false,
        }
    }

    /// True when no sample is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.count() == 0
    }

    /// Number of samples held.
    pub(crate) fn len(&self) -> usize {
        self.frozen.iter().map(|c| c.len()).sum::<usize>()
            + usize::from(self.open.count())
            + self.ooo().len()
    }

    /// Heap bytes held by the samples.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.frozen
            .iter()
            .map(|c| c.heap_bytes() + std::mem::size_of::<FrozenChunk>())
            .sum::<usize>()
            + self.open.heap_bytes()
            + self.ooo.as_ref().map_or(0, |o| {
                std::mem::size_of::<Vec<(i64, u64)>>() + o.capacity() * 16
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use cairn_model::STALE_NAN_BITS;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => (-100_000i64..100_000).prop_map(|m| (m as f64 / 100.0).to_bits()),
            2 => (0i64..1000).prop_map(|m| ((m * 4096) as f64).to_bits()),
            1 => Just(STALE_NAN_BITS),
            1 => Just((-0.0f64).to_bits()),
            1 => any::<u64>(),
        ]
    }

    proptest! {
        /// Whatever the order and the values, the series holds the first value written at
        /// each timestamp, sorted, bit-exact, as a map would.
        #[test]
        fn apply_matches_a_map(
            ops in proptest::collection::vec((0i64..2000, value()), 0..900),
            drop_at in 0i64..2000,
        ) {
            let mut d = SeriesData::default();
            let mut model = BTreeMap::new();
            for (t, v) in ops {
                let t = t * 15_000;
                let fresh = !model.contains_key(&t);
                model.entry(t).or_insert(v);
                prop_assert_eq!(d.apply(t, v), fresh);
            }
            let mut out = Vec::new();
            d.collect(i64::MIN, i64::MAX, &mut out);
            let want: Vec<(i64, u64)> = model.iter().map(|(&t, &v)| (t, v)).collect();
            prop_assert_eq!(&out, &want);
            prop_assert_eq!(d.len(), want.len());
            prop_assert_eq!(d.max_t(), want.last().map(|x| x.0));
            let cut = drop_at * 15_000;
            let kept = want.partition_point(|&(t, _)| t < cut);
            prop_assert_eq!(d.drop_before(cut), kept);
            out.clear();
            d.collect(i64::MIN, i64::MAX, &mut out);
            prop_assert_eq!(&out[..], &want[kept..]);
            prop_assert_eq!(d.min_t(), want.get(kept).map(|x| x.0));
        }
    }

    #[test]
    fn apply_tolerates_any_order_and_dedupes() {
        let mut d = SeriesData::default();
        for t in (0..300).rev() {
            assert!(d.apply(t * 10, t as u64));
        }
        for t in 0..300 {
            assert!(!d.apply(t * 10, 999));
        }
        let mut out = Vec::new();
        d.collect(i64::MIN, i64::MAX, &mut out);
        let want: Vec<(i64, u64)> = (0..300).map(|t| (t * 10, t as u64)).collect();
        assert_eq!(out, want);
        assert_eq!(d.len(), 300);
        assert_eq!(d.drop_before(1000), 100);
        out.clear();
        d.collect(i64::MIN, i64::MAX, &mut out);
        assert_eq!(out, want[100..]);
        assert_eq!(d.min_t(), Some(1000));
    }
}
