//! Choosing which blocks to compact together.
//!
//! Ranges are window sizes in ms, ascending (e.g. 2h, 12h, 24h). Blocks are grouped by the
//! aligned window of a range that contains them entirely; a window holding two or more
//! blocks is merged into one block one level up. At the smallest range this merges
//! overlapping blocks (out-of-order data); at larger ranges it only merges windows that are
//! closed, i.e. some live block ends after the window, so that a window still being filled
//! by the head is not rewritten over and over.

use std::collections::BTreeMap;

use ulid::Ulid;

use crate::block::BlockMeta;

/// What one compaction step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactionOutcome {
    /// The blocks merged (empty when there was nothing to do).
    pub sources: Vec<Ulid>,
    /// The block written in their place.
    pub output: Option<BlockMeta>,
}

impl CompactionOutcome {
    /// True when the step merged nothing.
    pub fn is_noop(&self) -> bool {
        self.output.is_none()
    }
}

/// The first group of blocks to merge, if any.
pub(crate) fn plan_compaction(blocks: &[BlockMeta], ranges_ms: &[i64]) -> Option<Vec<Ulid>> {
    let spans: Vec<(Ulid, i64, i64)> = blocks
        .iter()
        .map(|b| (b.ulid, b.min_time, b.max_time))
        .collect();
    plan_compaction_spans(&spans, ranges_ms)
}

/// [`plan_compaction`] over `(ulid, min_time, max_time)` of any signal's blocks (times in
/// the unit of `ranges`).
pub(crate) fn plan_compaction_spans(
    blocks: &[(Ulid, i64, i64)],
    ranges: &[i64],
) -> Option<Vec<Ulid>> {
    let ranges_ms = ranges;
    let newest = blocks.iter().map(|b| b.2).max()?;
    let mut ranges: Vec<i64> = ranges_ms.iter().copied().filter(|&r| r > 0).collect();
    ranges.sort_unstable();
    ranges.dedup();
    for (i, &r) in ranges.iter().enumerate() {
        let mut windows: BTreeMap<i64, Vec<&(Ulid, i64, i64)>> = BTreeMap::new();
        for b in blocks {
            let w = b.1.div_euclid(r);
            if b.2.div_euclid(r) == w {
                windows.entry(w).or_default().push(b);
            }
        }
        for (w, group) in windows {
            let window_end = w.saturating_add(1).saturating_mul(r);
            let closed = newest >= window_end;
            if group.len() >= 2 && (i == 0 || closed) {
                return Some(group.iter().map(|b| b.0).collect());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn meta(min: i64, max: i64) -> BlockMeta {
        BlockMeta {
            ulid: Ulid::new(),
            min_time: min,
            max_time: max,
            num_series: 1,
            num_samples: 1,
            level: 0,
            sources: vec![],
            schema_version: 1,
            bytes: 1,
        }
    }

    #[test]
    fn merges_overlaps_first_then_closed_windows() {
        let ranges = [2 * H, 12 * H];
        // Two blocks in the same 2h window overlap: merged at the smallest range.
        let a = meta(0, 2 * H - 1);
        let b = meta(H, H + 10);
        let c = meta(2 * H, 4 * H - 1);
        let g = plan_compaction(&[a.clone(), b.clone(), c.clone()], &ranges).unwrap();
        assert_eq!(g, vec![a.ulid, b.ulid]);
        // Adjacent 2h blocks of a 12h window that is still open: left alone.
        assert_eq!(plan_compaction(&[a.clone(), c.clone()], &ranges), None);
        // Once a block past the window exists, the window is merged.
        let d = meta(12 * H, 12 * H + 5);
        let g = plan_compaction(&[a.clone(), c.clone(), d], &ranges).unwrap();
        assert_eq!(g, vec![a.ulid, c.ulid]);
        assert_eq!(plan_compaction(&[], &ranges), None);
    }
}
