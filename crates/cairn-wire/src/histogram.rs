//! Native histograms (the same message, fields 1-16, in remote write 1.0 and 2.0; 2.0 adds
//! field 17), decoded in one pass and validated like Prometheus' `Histogram.Validate`, without
//! keeping the buckets.

use std::cmp::Ordering;

use cairn_model::HistogramRef;

use crate::error::Result;
use crate::pb::{Reader, zigzag32, zigzag64};

/// The schema of histograms with custom bucket bounds (`custom_values`).
const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Float histograms' count may fall short of the bucket sum by this relative amount, because
/// summing floats in a different order rounds differently.
const FLOAT_COUNT_TOLERANCE: f64 = 1e-9;

#[derive(Clone, Copy, Debug)]
enum Count {
    Int(u64),
    Float(f64),
}

/// One side's (positive or negative) spans and buckets, aggregated as they stream by.
#[derive(Default)]
struct Side {
    spans: usize,
    span_buckets: u64,
    /// Offsets plus lengths, for the custom-bucket bound check.
    extent: i64,
    negative_offset: Option<(usize, i32)>,
    first_offset_negative: bool,
    deltas: u64,
    running: i64,
    int_sum: u64,
    float_counts: u64,
    float_sum: f64,
    bad: Option<String>,
}

impl Side {
    fn span(&mut self, buf: &[u8]) -> Result<()> {
        let mut r = Reader::new(buf, "BucketSpan");
        let (mut offset, mut length) = (0i32, 0u32);
        while let Some((f, wt)) = r.next_field()? {
            match f {
                1 => offset = zigzag32(r.varint_field(f, wt)?),
                2 => length = r.varint_field(f, wt)? as u32,
                _ => r.skip(wt)?,
            }
        }
        if offset < 0 {
            if self.spans == 0 {
                self.first_offset_negative = true;
            } else if self.negative_offset.is_none() {
                self.negative_offset = Some((self.spans, offset));
            }
        }
        self.spans += 1;
        self.span_buckets += u64::from(length);
        self.extent = self
            .extent
            .saturating_add(i64::from(offset))
            .saturating_add(i64::from(length));
        Ok(())
    }

    fn delta(&mut self, d: i64) {
        self.deltas += 1;
        match self.running.checked_add(d) {
            Some(v) if v >= 0 => {
                self.running = v;
                match self.int_sum.checked_add(v as u64) {
                    Some(s) => self.int_sum = s,
                    None => self.fail("bucket counts overflow".into()),
                }
            }
            Some(v) => {
                self.running = v;
                self.fail(format!("bucket {} has negative count {v}", self.deltas - 1));
            }
            None => self.fail("bucket delta overflows".into()),
        }
    }

    fn count(&mut self, c: f64) {
        self.float_counts += 1;
        if c < 0.0 {
            self.fail(format!(
                "bucket {} has negative count {c}",
                self.float_counts - 1
            ));
        }
        self.float_sum += c;
    }

    fn fail(&mut self, msg: String) {
        if self.bad.is_none() {
            self.bad = Some(msg);
        }
    }

    /// Checks spans against the buckets present; returns the problem, if any.
    fn check(&self, side: &str, float: bool) -> Option<String> {
        if let Some(b) = &self.bad {
            return Some(format!("{side} buckets: {b}"));
        }
        if let Some((i, off)) = self.negative_offset {
            return Some(format!("{side} span {i} has negative offset {off}"));
        }
        let (buckets, other, kind) = if float {
            (self.float_counts, self.deltas, "integer deltas")
        } else {
            (self.deltas, self.float_counts, "float counts")
        };
        if other > 0 {
            let t = if float { "float" } else { "integer" };
            return Some(format!("{t} histogram carries {side} {kind}"));
        }
        if buckets != self.span_buckets {
            return Some(format!(
                "{side} spans describe {} buckets but {buckets} are present",
                self.span_buckets
            ));
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.spans == 0 && self.deltas == 0 && self.float_counts == 0
    }
}

/// Decodes one `Histogram` message. `Err` means malformed protobuf; `Ok((h, Some(why)))` a
/// well-formed but invalid histogram.
pub(crate) fn decode_histogram(buf: &[u8]) -> Result<(HistogramRef, Option<String>)> {
    let mut r = Reader::new(buf, "Histogram");
    let mut count = Count::Int(0);
    let mut zero = None;
    let (mut sum, mut zero_threshold) = (0.0f64, 0.0f64);
    let (mut schema, mut timestamp_ms) = (0i32, 0i64);
    let (mut neg, mut pos) = (Side::default(), Side::default());
    let (mut n_custom, mut prev_custom, mut custom_bad) = (0usize, f64::NEG_INFINITY, None);
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => count = Count::Int(r.varint_field(f, wt)?),
            2 => count = Count::Float(r.double(f, wt)?),
            3 => sum = r.double(f, wt)?,
            4 => schema = zigzag32(r.varint_field(f, wt)?),
            5 => zero_threshold = r.double(f, wt)?,
            6 => zero = Some(Count::Int(r.varint_field(f, wt)?)),
            7 => zero = Some(Count::Float(r.double(f, wt)?)),
            8 => neg.span(r.len_field(f, wt)?)?,
            9 => r.repeated_varint(f, wt, |v| {
                neg.delta(zigzag64(v));
                Ok(())
            })?,
            10 => r.repeated_double(f, wt, |c| {
                neg.count(c);
                Ok(())
            })?,
            11 => pos.span(r.len_field(f, wt)?)?,
            12 => r.repeated_varint(f, wt, |v| {
                pos.delta(zigzag64(v));
                Ok(())
            })?,
            13 => r.repeated_double(f, wt, |c| {
                pos.count(c);
                Ok(())
            })?,
            15 => timestamp_ms = r.varint_field(f, wt)? as i64,
            16 => r.repeated_double(f, wt, |b| {
                // Comparing as Option also catches NaN bounds.
                if custom_bad.is_none() && b.partial_cmp(&prev_custom) != Some(Ordering::Greater) {
                    custom_bad = Some(format!(
                        "custom bucket bounds not strictly increasing at index {n_custom} ({b})"
                    ));
                }
                prev_custom = b;
                n_custom += 1;
                Ok(())
            })?,
            // 14 reset_hint and 17 start_timestamp are read and not kept.
            14 | 17 => {
                r.varint_field(f, wt)?;
            }
            _ => r.skip(wt)?,
        }
    }
    let float = matches!(count, Count::Float(_));
    let count_f = match count {
        Count::Int(c) => c as f64,
        Count::Float(c) => c,
    };
    let h = HistogramRef {
        timestamp_ms,
        count: count_f,
        sum,
        schema,
    };
    let why = validate(
        count,
        zero,
        sum,
        schema,
        zero_threshold,
        &neg,
        &pos,
        n_custom,
        prev_custom,
        custom_bad,
    )
    .map(|w| {
        let kind = if float { "float" } else { "integer" };
        format!("invalid {kind} histogram at {timestamp_ms}: {w}")
    });
    Ok((h, why))
}

#[allow(clippy::too_many_arguments)]
fn validate(
    count: Count,
    zero: Option<Count>,
    sum: f64,
    schema: i32,
    zero_threshold: f64,
    neg: &Side,
    pos: &Side,
    n_custom: usize,
    last_custom: f64,
    custom_bad: Option<String>,
) -> Option<String> {
    let float = matches!(count, Count::Float(_));
    // An absent zero count, or a zero of the other kind, is zero of the histogram's kind.
    let zero = match (count, zero) {
        (Count::Int(_), None) => Count::Int(0),
        (Count::Float(_), None) => Count::Float(0.0),
        (Count::Int(_), Some(Count::Float(0.0))) => Count::Int(0),
        (Count::Float(_), Some(Count::Int(0))) => Count::Float(0.0),
        (_, Some(z)) => z,
    };
    if schema == CUSTOM_BUCKETS_SCHEMA {
        if let Some(b) = custom_bad {
            return Some(b);
        }
        if n_custom > 0 && last_custom == f64::INFINITY {
            return Some("custom bucket bounds must not end with +Inf".into());
        }
        let zero_count_set = match zero {
            Count::Int(z) => z != 0,
            Count::Float(z) => z != 0.0,
        };
        if zero_count_set || zero_threshold != 0.0 {
            return Some("custom-bucket histogram with a zero bucket".into());
        }
        if !neg.is_empty() {
            return Some("custom-bucket histogram with negative buckets".into());
        }
        if pos.first_offset_negative {
            return Some("custom-bucket histogram with a negative first span offset".into());
        }
        if pos.extent > n_custom as i64 + 1 {
            return Some(format!(
                "spans reach bucket {} but only {} custom bounds are given",
                pos.extent, n_custom
            ));
        }
    } else if (-4..=8).contains(&schema) {
        if n_custom > 0 {
            return Some(format!(
                "exponential schema {schema} with custom bucket bounds"
            ));
        }
    } else {
        return Some(format!("schema {schema} is neither -4..8 nor -53"));
    }
    if let Some(p) = neg
        .check("negative", float)
        .or_else(|| pos.check("positive", float))
    {
        return Some(p);
    }
    match (count, zero) {
        (Count::Int(c), Count::Int(z)) => {
            let Some(total) = z
                .checked_add(neg.int_sum)
                .and_then(|t| t.checked_add(pos.int_sum))
            else {
                return Some("bucket counts overflow".into());
            };
            if sum.is_nan() {
                (total > c)
                    .then(|| format!("count {c} is below zero count plus bucket counts ({total})"))
            } else {
                (total != c).then(|| {
                    format!("count {c} does not match zero count plus bucket counts ({total})")
                })
            }
        }
        (Count::Float(c), Count::Float(z)) => {
            let total = z + neg.float_sum + pos.float_sum;
            (c < total * (1.0 - FLOAT_COUNT_TOLERANCE))
                .then(|| format!("count {c} is below zero count plus bucket counts ({total})"))
        }
        _ => Some("count and zero count mix integer and float".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{BucketSpan, HistogramCount, OwnedHistogram, histogram_bytes};

    type Mutation = Box<dyn Fn(&mut OwnedHistogram)>;

    fn check(h: &OwnedHistogram) -> Option<String> {
        let (r, why) = decode_histogram(&histogram_bytes(h)).unwrap();
        assert_eq!(r.timestamp_ms, h.timestamp_ms);
        assert_eq!(r.schema, h.schema);
        why
    }

    fn int_hist() -> OwnedHistogram {
        // Buckets 2, 1, 3 (deltas 2, -1, 2) plus zero count 1: count 7.
        OwnedHistogram {
            count: HistogramCount::Int(7),
            sum: 10.5,
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: HistogramCount::Int(1),
            positive_spans: vec![
                BucketSpan {
                    offset: -2,
                    length: 2,
                },
                BucketSpan {
                    offset: 3,
                    length: 1,
                },
            ],
            positive_deltas: vec![2, -1, 2],
            timestamp_ms: 1234,
            ..Default::default()
        }
    }

    #[test]
    fn valid_histograms() {
        assert_eq!(check(&int_hist()), None);
        assert_eq!(
            check(&OwnedHistogram::default()),
            None,
            "empty histogram is valid"
        );
        let mut nan_sum = int_hist();
        nan_sum.sum = f64::NAN;
        nan_sum.count = HistogramCount::Int(9);
        assert_eq!(
            check(&nan_sum),
            None,
            "count above buckets allowed with NaN sum"
        );
        let float = OwnedHistogram {
            count: HistogramCount::Float(6.5),
            zero_count: HistogramCount::Float(0.5),
            schema: -4,
            negative_spans: vec![BucketSpan {
                offset: 0,
                length: 2,
            }],
            negative_counts: vec![1.0, 5.0],
            timestamp_ms: -5,
            ..Default::default()
        };
        assert_eq!(check(&float), None);
        let custom = OwnedHistogram {
            count: HistogramCount::Int(3),
            schema: -53,
            custom_values: vec![0.1, 0.5, 1.0],
            positive_spans: vec![BucketSpan {
                offset: 1,
                length: 3,
            }],
            positive_deltas: vec![1, 0, 0],
            ..Default::default()
        };
        assert_eq!(check(&custom), None);
    }

    #[test]
    fn invalid_histograms() {
        let cases: Vec<(&str, Mutation)> = vec![
            ("count", Box::new(|h| h.count = HistogramCount::Int(8))),
            ("count", Box::new(|h| h.count = HistogramCount::Int(6))),
            ("schema", Box::new(|h| h.schema = 9)),
            ("schema", Box::new(|h| h.schema = -5)),
            (
                "negative count",
                Box::new(|h| h.positive_deltas = vec![2, -3, 8]),
            ),
            ("buckets", Box::new(|h| h.positive_deltas.push(0))),
            (
                "negative offset",
                Box::new(|h| h.positive_spans[1].offset = -1),
            ),
            ("float counts", Box::new(|h| h.positive_counts = vec![1.0])),
            (
                "custom bucket bounds",
                Box::new(|h| h.custom_values = vec![1.0]),
            ),
            (
                "mix",
                Box::new(|h| h.zero_count = HistogramCount::Float(1.0)),
            ),
        ];
        for (want, f) in cases {
            let mut h = int_hist();
            f(&mut h);
            let why = check(&h).unwrap_or_else(|| panic!("{want}: accepted {h:?}"));
            assert!(why.contains(want), "{want}: {why}");
        }
        let mut custom = OwnedHistogram {
            count: HistogramCount::Int(1),
            schema: -53,
            custom_values: vec![1.0, 0.5],
            positive_spans: vec![BucketSpan {
                offset: 0,
                length: 1,
            }],
            positive_deltas: vec![1],
            ..Default::default()
        };
        assert!(check(&custom).unwrap().contains("strictly increasing"));
        custom.custom_values = vec![0.5, f64::INFINITY];
        assert!(check(&custom).unwrap().contains("+Inf"));
        custom.custom_values = vec![0.5];
        custom.positive_spans = vec![BucketSpan {
            offset: 2,
            length: 1,
        }];
        assert!(check(&custom).unwrap().contains("spans reach"));
        let float = OwnedHistogram {
            count: HistogramCount::Float(1.0),
            schema: 0,
            positive_spans: vec![BucketSpan {
                offset: 0,
                length: 1,
            }],
            positive_counts: vec![2.0],
            ..Default::default()
        };
        assert!(check(&float).unwrap().contains("below"));
    }

    #[test]
    fn unpacked_deltas_are_accepted() {
        use crate::pb::Writer;
        let mut w = Writer::default();
        w.uint(1, 3);
        w.message(11, |s| s.uint(2, 2));
        w.sint(12, 1);
        w.sint(12, 1);
        w.uint(17, 99);
        let (h, why) = decode_histogram(&w.buf).unwrap();
        assert_eq!(why, None);
        assert_eq!(h.count, 3.0);
    }
}
