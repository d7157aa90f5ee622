//! Where the traces go in time: how many, and when each starts.
//!
//! Traces are spread evenly (with jitter) over the window, except in gaps of [`GAP_NS`]
//! before each query window's start and before the end: no trace starts there, and no
//! trace lasts longer than a gap, so every trace lies wholly inside or wholly outside each
//! query window, whatever a backend takes as a trace's time (its start, its end or its
//! span), and the window edges can be rounded to seconds.

use super::generate::{Generator, MAX_TRACE_NS};
use crate::rng::Rng;

/// Length of the gaps before window edges.
pub const GAP_NS: i64 = 30_000_000_000;
const _: () = assert!(MAX_TRACE_NS as i64 <= GAP_NS);

/// The query windows, by name and length, ending at the end of the data.
pub const WINDOWS: &[(&str, i64)] = &[("1h", 3_600_000_000_000), ("24h", 86_400_000_000_000)];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceSpec {
    /// Seed of everything.
    pub seed: u64,
    /// First nanosecond of the window.
    pub start_ns: i64,
    /// End of the window (exclusive).
    pub end_ns: i64,
    /// Spans wanted; the corpus lands within a few percent (the exact count is reported).
    pub target_spans: u64,
    /// How many traces to list as lookup samples.
    pub samples: u64,
}

/// How many traces to draw when estimating the mean span count.
const ESTIMATE_TRACES: u64 = 4_000;

/// A spec turned into a number of traces and their start times.
#[derive(Debug, Clone)]
pub struct TracePlan {
    /// The spec.
    pub spec: TraceSpec,
    /// Traces in the corpus.
    pub traces: u64,
    /// Mean spans per trace measured on a sample of traces.
    pub mean_spans: f64,
    /// Allowed start intervals, in time order.
    intervals: Vec<(i64, i64)>,
    usable_ns: i64,
}

impl TracePlan {
    /// Plans `spec`: estimates the spans per trace on the first traces the seed gives.
    pub fn new(spec: TraceSpec) -> TracePlan {
        let g = Generator::new(spec.seed);
        let probe = ESTIMATE_TRACES.min(spec.target_spans.max(1));
        let spans: usize = (0..probe).map(|i| g.trace(i, 0).spans.len()).sum();
        let mean_spans = spans as f64 / probe.max(1) as f64;
        let traces = ((spec.target_spans as f64 / mean_spans.max(1.0)).round() as u64).max(1);
        TracePlan::with_traces(spec, traces, mean_spans)
    }

    /// Plans `spec` with a given number of traces.
    pub fn with_traces(spec: TraceSpec, traces: u64, mean_spans: f64) -> TracePlan {
        let mut cuts: Vec<i64> = WINDOWS
            .iter()
            .map(|w| spec.end_ns - w.1)
            .filter(|&b| b > spec.start_ns)
            .collect();
        cuts.push(spec.end_ns);
        cuts.sort_unstable();
        let mut intervals = Vec::new();
        let mut from = spec.start_ns;
        for b in cuts {
            let to = b - GAP_NS;
            if to > from {
                intervals.push((from, to));
            }
            from = from.max(b);
        }
        let usable_ns = intervals.iter().map(|(a, b)| b - a).sum();
        TracePlan {
            spec,
            traces,
            mean_spans,
            intervals,
            usable_ns,
        }
    }

    /// Start of trace `index`'s root span: evenly spread, jittered within its slot.
    pub fn start_of(&self, index: u64) -> u64 {
        let mut rng = Rng::derive(self.spec.seed ^ 0x57a7, index);
        let slot = self.usable_ns as f64 / self.traces as f64;
        let mut x = ((index as f64 + rng.f64()) * slot) as i64;
        x = x.clamp(0, (self.usable_ns - 1).max(0));
        for &(a, b) in &self.intervals {
            if x < b - a {
                return (a + x).max(0) as u64;
            }
            x -= b - a;
        }
        self.intervals
            .last()
            .map_or(self.spec.start_ns, |i| i.1 - 1)
            .max(0) as u64
    }

    /// Whether trace `index` is a lookup sample.
    pub fn is_sample(&self, index: u64) -> bool {
        let stride = (self.traces / self.spec.samples.max(1)).max(1);
        index % stride == stride / 2 && index / stride < self.spec.samples
    }
}
