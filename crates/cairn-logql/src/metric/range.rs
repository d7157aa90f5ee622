//! Range aggregations: one forward scan over the whole query range, each sample kept only as
//! long as a window still needs it; windows are `(t - offset - range, t - offset]`.

use std::collections::{HashMap, VecDeque};

use cairn_model::{Direction, Labels, LogSelectRequest, MatchOp};

use super::{Ctx, Steps};
use crate::engine::EngineStats;
use crate::error::{Error, Result};
use crate::labels;
use crate::pipeline::{ERROR_LABEL, Extractor, PRESERVE_ERROR_LABEL, StreamExtractor};
use crate::syntax::{self, RangeAgg, RangeOp};

/// The samples of one output series still inside some window.
struct Series {
    labels: Labels,
    samples: VecDeque<(i64, f64)>,
}

/// Loki's check that no sample carries an unrequested `__error__`.
fn check_error(l: &Labels) -> Result<()> {
    let mut err = None;
    let mut preserve = false;
    for x in l.iter() {
        if x.name == ERROR_LABEL {
            err = Some(x.value);
        } else if x.name == PRESERVE_ERROR_LABEL && x.value == "true" {
            preserve = true;
        }
    }
    match err {
        Some(e) if !preserve => Err(Error::Pipeline {
            error: e.to_owned(),
            series: l.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The labels `absent_over_time` answers with: the selector's equality matchers, without any
/// name that also appears in another matcher.
fn absent_labels(agg: &RangeAgg) -> Labels {
    let ms = &agg.range.selector.matchers;
    let mut set: Vec<(&str, &str)> = Vec::new();
    let mut drop: Vec<&str> = Vec::new();
    for m in ms {
        if m.name == cairn_model::METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !set.iter().any(|(n, _)| *n == m.name) {
            set.push((&m.name, &m.value));
        } else {
            drop.push(&m.name);
        }
    }
    set.retain(|(n, _)| !drop.contains(n));
    labels::from_pairs(set)
}

/// The value of a range aggregation over a window's samples (time-ordered).
fn aggregate(
    op: RangeOp,
    param: Option<f64>,
    unwrap: bool,
    s: &[(i64, f64)],
    range_ns: i64,
    end_ns: i64,
) -> f64 {
    let secs = range_ns as f64 / 1e9;
    let sum = || s.iter().map(|x| x.1).sum::<f64>();
    match op {
        RangeOp::Count => s.len() as f64,
        RangeOp::Rate if !unwrap => s.len() as f64 / secs,
        RangeOp::Rate => sum() / secs,
        RangeOp::Bytes | RangeOp::Sum => sum(),
        RangeOp::BytesRate => sum() / secs,
        RangeOp::Avg => {
            let (mut mean, mut count) = (0.0f64, 0.0f64);
            for &(_, v) in s {
                count += 1.0;
                if mean.is_infinite() {
                    if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                        continue;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        continue;
                    }
                }
                mean += v / count - mean / count;
            }
            mean
        }
        RangeOp::Max => s
            .iter()
            .skip(1)
            .fold(s[0].1, |m, &(_, v)| if v > m || m.is_nan() { v } else { m }),
        RangeOp::Min => s
            .iter()
            .skip(1)
            .fold(s[0].1, |m, &(_, v)| if v < m || m.is_nan() { v } else { m }),
        RangeOp::Stdvar | RangeOp::Stddev => {
            let (mut aux, mut count, mut mean) = (0.0f64, 0.0f64, 0.0f64);
            for &(_, v) in s {
                count += 1.0;
                let delta = v - mean;
                mean += delta / count;
                aux += delta * (v - mean);
            }
            if op == RangeOp::Stddev {
                (aux / count).sqrt()
            } else {
                aux / count
            }
        }
        RangeOp::Quantile => {
            let mut vals: Vec<f64> = s.iter().map(|x| x.1).collect();
            quantile(param.unwrap_or(0.0), &mut vals)
        }
        RangeOp::First => s[0].1,
        RangeOp::Last => s[s.len() - 1].1,
        RangeOp::RateCounter => extrapolated_rate(s, range_ns, end_ns),
        RangeOp::Absent => 1.0,
    }
}

/// Loki's `Quantile` (Prometheus' `quantile` over a sorted copy).
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Go's sort of the heap orders NaN first, as `math.IsNaN(a) && !math.IsNaN(b)` is "less".
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    vals[lower as usize] * (1.0 - w) + vals[upper as usize] * w
}

/// Loki's `rate_counter`: Prometheus' extrapolated counter rate, with the window taken from
/// the query (nanoseconds).
fn extrapolated_rate(s: &[(i64, f64)], range_ns: i64, end_ns: i64) -> f64 {
    if s.len() < 2 {
        return 0.0;
    }
    let start_ns = end_ns - range_ns;
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.1 - first.1;
    let mut prev = 0.0;
    for &(_, v) in s {
        if v < prev {
            result += prev;
        }
        prev = v;
    }
    let mut to_start = (first.0 - start_ns) as f64 / 1e9;
    let mut to_end = (end_ns - last.0) as f64 / 1e9;
    let sampled = (last.0 - first.0) as f64 / 1e9;
    let avg = sampled / (s.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    let mut to_zero = to_start;
    if result > 0.0 && first.1 >= 0.0 {
        to_zero = sampled * (first.1 / result);
    }
    if to_zero < to_start {
        to_start = to_zero;
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let interval = sampled + to_start + to_end;
    result * (interval / sampled) / (range_ns as f64 / 1e9)
}

/// Evaluates one range aggregation at every step.
pub(crate) async fn eval(
    ctx: &Ctx<'_>,
    agg: &RangeAgg,
    outer: Option<&syntax::Grouping>,
    stats: &mut EngineStats,
) -> Result<Steps> {
    let steps = ctx.steps();
    let n = steps.len();
    let range = agg.range.range_ns;
    let offset = agg.range.offset_ns;
    let extractor = Extractor::new(agg, outer)?;
    let unwrap = agg.range.unwrap.is_some();
    let (first, last) = (steps[0], steps[n - 1]);
    let req = LogSelectRequest {
        matchers: agg.range.selector.matchers.clone(),
        start_ns: first
            .saturating_sub(offset)
            .saturating_sub(range)
            .saturating_add(1),
        end_ns: last.saturating_sub(offset).saturating_add(1),
        direction: Direction::Forward,
        line_contains: extractor.line_contains().to_vec(),
        with_metadata: true,
        max_streams: 0,
    };
    let mut out: Steps = vec![Vec::new(); n];
    let absent = (agg.op == RangeOp::Absent).then(|| absent_labels(agg));
    let mut series: Vec<Series> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut per_stream: HashMap<Labels, StreamExtractor> = HashMap::new();
    let mut held = 0usize;
    let mut emitted = 0usize;
    let max_samples = ctx.opts.max_samples;
    let mut next = 0usize;
    let mut fresh: Vec<(usize, i64, f64)> = Vec::new();

    let finalize = |i: usize,
                    series: &mut Vec<Series>,
                    out: &mut Steps,
                    held: &mut usize,
                    emitted: &mut usize|
     -> Result<()> {
        let hi = steps[i] - offset;
        let lo = hi - range;
        let mut any = false;
        for s in series.iter_mut() {
            while s.samples.front().is_some_and(|x| x.0 <= lo) {
                s.samples.pop_front();
                *held -= 1;
            }
            let k = s.samples.partition_point(|x| x.0 <= hi);
            if k == 0 {
                continue;
            }
            check_error(&s.labels)?;
            any = true;
            if absent.is_some() {
                continue;
            }
            let (a, b) = s.samples.as_slices();
            let v = if k <= a.len() {
                aggregate(agg.op, agg.param, unwrap, &a[..k], range, hi)
            } else {
                let mut w: Vec<(i64, f64)> = Vec::with_capacity(k);
                w.extend_from_slice(a);
                w.extend_from_slice(&b[..k - a.len()]);
                aggregate(agg.op, agg.param, unwrap, &w, range, hi)
            };
            out[i].push((s.labels.clone(), v));
            *emitted += 1;
        }
        if let Some(l) = &absent
            && !any
        {
            out[i].push((l.clone(), 1.0));
            *emitted += 1;
        }
        Ok(())
    };

    let mut scan = ctx.querier.select_logs(ctx.tenant, &req).await?;
    loop {
        ctx.guard.check()?;
        let Some(chunk) = scan.next_chunk().await? else {
            break;
        };
        stats.lines_processed += chunk.entries.len() as u64;
        stats.bytes_processed += chunk.lines.len() as u64;
        let mut local: Vec<StreamExtractor> = chunk
            .streams
            .iter()
            .map(|l| {
                per_stream
                    .remove(l)
                    .unwrap_or_else(|| extractor.for_stream(l))
            })
            .collect();
        fresh.clear();
        for (j, e) in chunk.entries.iter().enumerate() {
            if j % 4096 == 4095 {
                ctx.guard.check()?;
            }
            let Some(ex) = local.get_mut(e.stream as usize) else {
                return Err(Error::Internal(format!(
                    "log chunk entry refers to stream {} of {}",
                    e.stream,
                    chunk.streams.len()
                )));
            };
            if let Some((v, l)) = ex.process(e.ts_ns, chunk.line(e), chunk.metadata(e)) {
                let idx = match index.get(&l) {
                    Some(i) => *i,
                    None => {
                        series.push(Series {
                            labels: l.clone(),
                            samples: VecDeque::new(),
                        });
                        index.insert(l, series.len() - 1);
                        series.len() - 1
                    }
                };
                fresh.push((idx, e.ts_ns, v));
            }
        }
        for (l, ex) in chunk.streams.iter().zip(local) {
            per_stream.insert(l.clone(), ex);
        }
        stats.post_filter_lines += fresh.len() as u64;
        fresh.sort_by_key(|x| (x.0, x.1));
        for &(idx, ts, v) in &fresh {
            series[idx].samples.push_back((ts, v));
        }
        held += fresh.len();
        if max_samples > 0 && held + emitted > max_samples {
            return Err(samples_limit(max_samples));
        }
        while next < n && steps[next] - offset <= chunk.max_ns {
            finalize(next, &mut series, &mut out, &mut held, &mut emitted)?;
            next += 1;
        }
        // Series with nothing left in any window are forgotten, bounding memory.
        if series.len() > 1024
            && series.iter().filter(|s| s.samples.is_empty()).count() > series.len() / 2
        {
            series.retain(|s| !s.samples.is_empty());
            index.clear();
            for (i, s) in series.iter().enumerate() {
                index.insert(s.labels.clone(), i);
            }
        }
    }
    while next < n {
        finalize(next, &mut series, &mut out, &mut held, &mut emitted)?;
        next += 1;
    }
    if max_samples > 0 && emitted > max_samples {
        return Err(samples_limit(max_samples));
    }
    stats.add_scan(&scan.stats());
    Ok(out)
}

pub(crate) fn samples_limit(max: usize) -> Error {
    Error::Limit(format!(
        "the query hit the max number of samples limit (limit: {max} samples)"
    ))
}
