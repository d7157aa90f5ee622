//! The patterns of a query's lines, as Loki answers `/loki/api/v1/patterns`: one Drain per
//! stream and level (the level of `detected_level`, unknown ones counted as `unknown`), the
//! stream's format guessed from its first line, lines counted per step; the clusters of all
//! streams merged by pattern and level, those with fewer than 30 lines dropped and the 300
//! largest kept (Loki's pattern querier), largest first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cairn_model::Labels;

use super::{Drain, DrainConfig, LogFormat};

/// The finest step: Loki's pattern ingesters keep one sample per 10 s.
pub const MIN_PATTERN_STEP_NS: i64 = 10_000_000_000;

/// The levels Loki keeps apart; any other level counts as the first, `unknown`.
const LEVELS: [&str; 8] = [
    "unknown", "debug", "info", "warn", "error", "fatal", "critical", "trace",
];

/// How a query's patterns are mined.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternOptions {
    /// Drain's parameters.
    pub drain: DrainConfig,
    /// Width of the count buckets, raised to [`MIN_PATTERN_STEP_NS`].
    pub step_ns: i64,
    /// Patterns with fewer lines are left out (Loki: 30).
    pub min_lines: u64,
    /// Most patterns answered, the largest kept (Loki: 300).
    pub max_patterns: usize,
}

impl Default for PatternOptions {
    fn default() -> Self {
        PatternOptions {
            drain: DrainConfig::default(),
            step_ns: MIN_PATTERN_STEP_NS,
            min_lines: 30,
            max_patterns: 300,
        }
    }
}

/// One pattern of the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternSeries {
    /// The pattern, `<_>` for what varies.
    pub pattern: String,
    /// Its level (`unknown` when the lines had none Loki knows).
    pub level: &'static str,
    /// (bucket start in ms since the epoch, lines), ascending, every bucket from the first to
    /// the last with lines present (empty ones as 0).
    pub samples: Vec<(i64, u64)>,
}

impl PatternSeries {
    /// Lines over all buckets.
    pub fn total(&self) -> u64 {
        self.samples.iter().map(|&(_, n)| n).sum()
    }
}

/// A stream registered with [`PatternMiner::stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamSlot(u32);

#[derive(Debug)]
struct StreamDrains {
    format: Option<LogFormat>,
    drains: [Option<Drain>; LEVELS.len()],
}

/// Mines the patterns of a query's lines, fed stream by stream in time order.
#[derive(Debug)]
pub struct PatternMiner {
    config: Arc<DrainConfig>,
    step_ns: i64,
    min_lines: u64,
    max_patterns: usize,
    slots: HashMap<Labels, StreamSlot>,
    streams: Vec<StreamDrains>,
    lines: u64,
    clustered: u64,
}

impl PatternMiner {
    /// A miner with these options.
    pub fn new(opts: PatternOptions) -> PatternMiner {
        PatternMiner {
            config: Arc::new(opts.drain),
            step_ns: opts.step_ns.max(MIN_PATTERN_STEP_NS),
            min_lines: opts.min_lines,
            max_patterns: opts.max_patterns,
            slots: HashMap::new(),
            streams: Vec::new(),
            lines: 0,
            clustered: 0,
        }
    }

    /// The width of the count buckets.
    pub fn step_ns(&self) -> i64 {
        self.step_ns
    }

    /// The slot of the stream `labels`, registered on first use.
    pub fn stream(&mut self, labels: &Labels) -> StreamSlot {
        if let Some(&s) = self.slots.get(labels) {
            return s;
        }
        let s = StreamSlot(self.streams.len() as u32);
        self.streams.push(StreamDrains {
            format: None,
            drains: Default::default(),
        });
        self.slots.insert(labels.clone(), s);
        s
    }

    /// Counts one line of the stream `slot` with its level (`detected_level`).
    pub fn add(&mut self, slot: StreamSlot, ts_ns: i64, level: &str, line: &str) {
        self.lines += 1;
        let Some(s) = self.streams.get_mut(slot.0 as usize) else {
            return;
        };
        let format = *s.format.get_or_insert_with(|| LogFormat::detect(line));
        let lvl = LEVELS
            .iter()
            .position(|l| l.eq_ignore_ascii_case(level))
            .unwrap_or(0);
        let config = &self.config;
        let step_ns = self.step_ns;
        let drain =
            s.drains[lvl].get_or_insert_with(|| Drain::new(Arc::clone(config), format, step_ns));
        if drain.train(ts_ns, line) {
            self.clustered += 1;
        }
    }

    /// Lines fed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Lines a cluster counted so far (the others were too short, too long, malformed or
    /// held back by a limiter).
    pub fn clustered(&self) -> u64 {
        self.clustered
    }

    /// The answer: patterns merged over streams, filtered and ordered as Loki does.
    pub fn finish(self) -> Vec<PatternSeries> {
        let mut merged: HashMap<(String, usize), BTreeMap<i64, u64>> = HashMap::new();
        for s in &self.streams {
            for (lvl, d) in s.drains.iter().enumerate() {
                let Some(d) = d else { continue };
                for c in d.clusters() {
                    let p = c.pattern();
                    if p.is_empty() {
                        continue;
                    }
                    let m = merged.entry((p, lvl)).or_default();
                    for &(t, n) in c.samples() {
                        *m.entry(t).or_default() += n;
                    }
                }
            }
        }
        let step_ms = (self.step_ns / 1_000_000).max(1);
        let mut out: Vec<(u64, PatternSeries)> = merged
            .into_iter()
            .filter_map(|((pattern, lvl), buckets)| {
                let total: u64 = buckets.values().sum();
                (total >= self.min_lines && total > 0).then(|| {
                    (
                        total,
                        PatternSeries {
                            pattern,
                            level: LEVELS[lvl],
                            samples: filled(&buckets, step_ms),
                        },
                    )
                })
            })
            .collect();
        out.sort_by(|(ta, a), (tb, b)| {
            tb.cmp(ta)
                .then_with(|| a.pattern.cmp(&b.pattern))
                .then_with(|| a.level.cmp(b.level))
        });
        out.truncate(self.max_patterns);
        out.into_iter().map(|(_, s)| s).collect()
    }
}

/// The buckets from the first to the last, empty ones as 0.
fn filled(buckets: &BTreeMap<i64, u64>, step_ms: i64) -> Vec<(i64, u64)> {
    let (Some((&first, _)), Some((&last, _))) =
        (buckets.first_key_value(), buckets.last_key_value())
    else {
        return Vec::new();
    };
    let n = ((last - first) / step_ms + 1) as usize;
    let mut out = Vec::with_capacity(n);
    let mut t = first;
    while t <= last {
        out.push((t, buckets.get(&t).copied().unwrap_or(0)));
        t += step_ms;
    }
    out
}
