//! The corpus: the plan with its rates scaled to the target size, and cursors that walk one
//! stream's lines in time order.
//!
//! Every stream has its own two generators, one for its timestamps and needles and one for
//! its line contents, both seeded from the spec's seed and the stream's index. A stream's
//! lines therefore do not depend on which other streams are generated, in which order, on
//! which connection or in which batch: the loader and the answer checker can each walk any
//! subset of streams and see the same lines.

use super::NEEDLE_ONE_IN;
use super::plan::{CorpusSpec, Instance, STEP_NS, StreamPlan, lay_out};
use super::text::TimeCache;
use super::write::{Ctx, write_line};
use crate::rng::Rng;

/// The streams of a corpus and the state needed to generate their lines.
#[derive(Debug)]
pub struct Corpus {
    spec: CorpusSpec,
    streams: Vec<StreamPlan>,
    instances: Vec<Instance>,
    steps: usize,
}

/// A position in one stream: the current line's timestamp and the generators' states.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// Index of the stream.
    pub stream: u32,
    /// Timestamp of the current line (valid after `advance` returned true).
    pub ts_ns: i64,
    /// Whether the current line carries the needle.
    pub needle: bool,
    sched: Rng,
    content: Rng,
    /// Seconds since the window's start.
    t: f64,
    step: usize,
}

impl Cursor {
    /// Bits of information in the lines and timestamps walked so far, for a cursor made by
    /// [`Corpus::tracking_cursor`] (0 otherwise): what an ideal coder that knows the
    /// generator would need to store them.
    pub fn info_bits(&self) -> f64 {
        self.time_info_bits() + self.line_info_bits()
    }

    /// Of [`Cursor::info_bits`], the timestamps' share (and the needle's coin).
    pub fn time_info_bits(&self) -> f64 {
        self.sched.info_bits()
    }

    /// Of [`Cursor::info_bits`], the lines' share beyond their timestamps.
    pub fn line_info_bits(&self) -> f64 {
        self.content.info_bits()
    }
}

/// Formatting state of whoever writes lines (the current second in calendar form). One per
/// writer, shared across streams: lines come in time order, so most share the second.
#[derive(Debug, Clone, Default)]
pub struct LineCache(TimeCache);

/// Lines drawn per writer to measure its mean line size.
const CALIBRATION_LINES: usize = 3_000;

impl Corpus {
    /// Plans the corpus of `spec`.
    pub fn new(spec: CorpusSpec) -> Corpus {
        let plan = lay_out(&spec);
        let steps = plan.instances.first().map_or(0, |i| i.per_pod.len());
        let mut corpus = Corpus {
            spec,
            streams: plan.streams,
            instances: plan.instances,
            steps,
        };
        // Mean line size per writer, measured on calm traffic; rates are then set so that
        // the expected bytes of all lines is the target.
        let mut means: Vec<(usize, f64)> = Vec::new();
        let mut mean_of = Vec::with_capacity(corpus.streams.len());
        for i in 0..corpus.streams.len() {
            let key = writer_key(&corpus.streams[i]);
            let mean = match means.iter().find(|(k, _)| *k == key) {
                Some((_, m)) => *m,
                None => {
                    let m = corpus.calibrate(i);
                    means.push((key, m));
                    m
                }
            };
            mean_of.push(mean);
        }
        let total: f64 = plan.weight_integral.iter().sum();
        let scale = if total > 0.0 {
            spec.target_bytes as f64 / total
        } else {
            0.0
        };
        for (i, s) in corpus.streams.iter_mut().enumerate() {
            s.rate *= scale * plan.byte_weight[i] / mean_of[i].max(1.0);
        }
        corpus
    }

    fn calibrate(&self, stream: usize) -> f64 {
        let s = &self.streams[stream];
        let mut rng = Rng::derive(self.spec.seed ^ 0xCA11_B4A7, stream as u64);
        let mut time = TimeCache::default();
        let mut out = Vec::with_capacity(4096);
        let mut total = 0usize;
        let ts = self.spec.start_ns + (self.spec.end_ns - self.spec.start_ns) / 2;
        for i in 0..CALIBRATION_LINES {
            out.clear();
            let mut ctx = Ctx {
                ts_ns: ts + i as i64 * 1_000_003,
                stress: 0.0,
                needle: false,
                source: &s.source,
                time: &mut time,
                rng: &mut rng,
            };
            write_line(s.writer, &mut ctx, &mut out);
            total += out.len();
        }
        total as f64 / CALIBRATION_LINES as f64
    }

    /// The spec this corpus was built from.
    pub fn spec(&self) -> &CorpusSpec {
        &self.spec
    }

    /// Every stream of the window.
    pub fn streams(&self) -> &[StreamPlan] {
        &self.streams
    }

    /// Expected number of lines of stream `i` (the integral of its rate).
    pub fn expected_lines(&self, i: usize) -> f64 {
        let s = &self.streams[i];
        let inst = &self.instances[s.instance as usize];
        let mut n = 0.0;
        for (step, per_pod) in inst.per_pod.iter().enumerate() {
            let s0 = self.spec.start_ns + step as i64 * STEP_NS;
            let lo = s0.max(s.birth_ns);
            let hi = (s0 + STEP_NS).min(s.death_ns);
            if hi > lo {
                n += s.rate * per_pod * (hi - lo) as f64 / 1e9;
            }
        }
        n
    }

    /// A cursor before the first line of stream `i`.
    pub fn cursor(&self, i: usize) -> Cursor {
        let s = &self.streams[i];
        let rel = s.birth_ns - self.spec.start_ns;
        Cursor {
            stream: i as u32,
            ts_ns: s.birth_ns,
            needle: false,
            sched: Rng::derive(s.seed, 1),
            content: Rng::derive(s.seed, 2),
            t: rel as f64 / 1e9,
            step: (rel / STEP_NS) as usize,
        }
    }

    /// Moves to the stream's next line; false when the stream has no more lines. Lines of a
    /// stream have strictly increasing timestamps, within `[birth_ns, death_ns)`.
    pub fn advance(&self, c: &mut Cursor) -> bool {
        let s = &self.streams[c.stream as usize];
        let per_pod = &self.instances[s.instance as usize].per_pod;
        // A Poisson process whose rate is constant within each one-minute step: spend an
        // exponential amount of "rate x time" across steps.
        let mut budget = -(1.0 - c.sched.f64()).ln();
        let spent = budget;
        loop {
            if c.step >= self.steps {
                return false;
            }
            let step_end = (c.step as f64 + 1.0) * (STEP_NS as f64 / 1e9);
            let lambda = s.rate * per_pod[c.step];
            if lambda > 0.0 {
                let dt = budget / lambda;
                if c.t + dt < step_end {
                    c.t += dt;
                    // The arrival's density is lambda * exp(-spent) per second; the
                    // timestamp shows it to the nanosecond.
                    c.sched
                        .note(spent * std::f64::consts::LOG2_E - (lambda * 1e-9).log2());
                    break;
                }
                budget -= lambda * (step_end - c.t);
            }
            c.t = step_end;
            c.step += 1;
        }
        let ts = self.spec.start_ns + (c.t * 1e9) as i64;
        let ts = ts.max(c.ts_ns + 1);
        if ts >= s.death_ns {
            c.step = self.steps;
            return false;
        }
        c.ts_ns = ts;
        c.needle = c.sched.index_uncounted(NEEDLE_ONE_IN) == 0;
        let p = 1.0 / NEEDLE_ONE_IN as f64;
        c.sched.note_p(if c.needle { p } else { 1.0 - p });
        true
    }

    /// A cursor before the first line of stream `i` that counts the information of its
    /// lines ([`Cursor::info_bits`]).
    pub fn tracking_cursor(&self, i: usize) -> Cursor {
        let mut c = self.cursor(i);
        c.sched.track();
        c.content.track();
        c
    }

    /// Appends the current line of `c` to `out` (no newline).
    pub fn write(&self, c: &mut Cursor, cache: &mut LineCache, out: &mut Vec<u8>) {
        let s = &self.streams[c.stream as usize];
        let inst = &self.instances[s.instance as usize];
        let stress = inst.stress.get(c.step).copied().unwrap_or(0.0);
        let mut ctx = Ctx {
            ts_ns: c.ts_ns,
            stress,
            needle: c.needle,
            source: &s.source,
            time: &mut cache.0,
            rng: &mut c.content,
        };
        write_line(s.writer, &mut ctx, out);
    }
}

/// Streams sharing a key write the same kind of lines (same container of the same workload).
fn writer_key(s: &StreamPlan) -> usize {
    use super::catalog::Writer;
    match s.writer {
        Writer::Nginx(routes) => routes.as_ptr() as usize,
        Writer::Ingress => 1,
        Writer::App(style, svc) => svc as *const _ as usize ^ style as usize,
    }
}
