//! Encoders for remote write 1.0 and 2.0 requests from owned values: for tests, fuzz seeds and
//! the load generator. Simplicity first; the receiving side never uses them.

use std::collections::HashMap;

use cairn_model::{HistogramRef, MetricType, Sample};

use crate::pb::Writer;

/// A series to encode; labels in the order they are to be sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnedSeries {
    /// Labels as (name, value), not necessarily sorted.
    pub labels: Vec<(String, String)>,
    /// Float samples.
    pub samples: Vec<Sample>,
    /// Exemplars.
    pub exemplars: Vec<OwnedExemplar>,
    /// Native histogram samples.
    pub histograms: Vec<OwnedHistogram>,
}

impl OwnedSeries {
    /// A series with these labels and float samples, nothing else.
    pub fn new(labels: &[(&str, &str)], samples: &[Sample]) -> Self {
        OwnedSeries {
            labels: owned_labels(labels),
            samples: samples.to_vec(),
            ..Default::default()
        }
    }
}

/// Copies borrowed label pairs.
pub fn owned_labels(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// An exemplar to encode.
#[derive(Clone, Debug, Default)]
pub struct OwnedExemplar {
    /// Labels (e.g. `trace_id`).
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

impl PartialEq for OwnedExemplar {
    /// Bit equality on the value, like [`Sample`].
    fn eq(&self, o: &Self) -> bool {
        self.labels == o.labels
            && self.value.to_bits() == o.value.to_bits()
            && self.timestamp_ms == o.timestamp_ms
    }
}

/// A histogram count: integer histograms count with integers, float histograms with floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HistogramCount {
    /// `count_int` / `zero_count_int`.
    Int(u64),
    /// `count_float` / `zero_count_float`.
    Float(f64),
}

impl Default for HistogramCount {
    fn default() -> Self {
        HistogramCount::Int(0)
    }
}

/// A run of consecutive buckets, `offset` buckets after the previous run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span (or the start index for the first span).
    pub offset: i32,
    /// Number of buckets.
    pub length: u32,
}

/// A native histogram sample to encode, with every field of the protocol's `Histogram`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnedHistogram {
    /// Observation count.
    pub count: HistogramCount,
    /// Sum of observations.
    pub sum: f64,
    /// Bucket schema.
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: HistogramCount,
    /// Negative bucket spans.
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket counts as deltas (integer histograms).
    pub negative_deltas: Vec<i64>,
    /// Negative bucket counts (float histograms).
    pub negative_counts: Vec<f64>,
    /// Positive bucket spans.
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts as deltas (integer histograms).
    pub positive_deltas: Vec<i64>,
    /// Positive bucket counts (float histograms).
    pub positive_counts: Vec<f64>,
    /// Reset hint (0 unknown, 1 yes, 2 no, 3 gauge).
    pub reset_hint: u32,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Custom bucket upper bounds (schema -53).
    pub custom_values: Vec<f64>,
}

impl OwnedHistogram {
    /// What a decoder keeps of this histogram.
    pub fn to_ref(&self) -> HistogramRef {
        HistogramRef {
            timestamp_ms: self.timestamp_ms,
            count: match self.count {
                HistogramCount::Int(c) => c as f64,
                HistogramCount::Float(c) => c,
            },
            sum: self.sum,
            schema: self.schema,
        }
    }
}

/// Metric metadata to encode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedMetadata {
    /// Metric family name (1.0 only: 2.0 takes it from the series).
    pub metric_family_name: String,
    /// Type.
    pub metric_type: MetricType,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// Encodes a remote write 1.0 `WriteRequest` (not compressed).
pub fn encode_v1(series: &[OwnedSeries], metadata: &[OwnedMetadata]) -> Vec<u8> {
    let mut w = Writer::default();
    for s in series {
        w.message(1, |w| {
            for (n, v) in &s.labels {
                label(w, 1, n, v);
            }
            for smp in &s.samples {
                w.message(2, |w| sample(w, smp));
            }
            for e in &s.exemplars {
                w.message(3, |w| {
                    for (n, v) in &e.labels {
                        label(w, 1, n, v);
                    }
                    w.double(2, e.value);
                    w.int(3, e.timestamp_ms);
                });
            }
            for h in &s.histograms {
                w.bytes(4, &histogram_bytes(h));
            }
        });
    }
    for m in metadata {
        w.message(3, |w| {
            w.uint(1, u64::from(m.metric_type.to_wire()));
            w.bytes(2, m.metric_family_name.as_bytes());
            w.bytes(4, m.help.as_bytes());
            w.bytes(5, m.unit.as_bytes());
        });
    }
    w.buf
}

/// Encodes a remote write 2.0 `Request` (not compressed). `metadata_per_series[i]`, when
/// present, is series `i`'s metadata (its `metric_family_name` is not sent).
pub fn encode_v2(series: &[OwnedSeries], metadata_per_series: &[Option<OwnedMetadata>]) -> Vec<u8> {
    let mut symbols = Symbols::default();
    symbols.get("");
    let mut body = Writer::default();
    for (i, s) in series.iter().enumerate() {
        body.message(5, |w| {
            let refs: Vec<u64> = s
                .labels
                .iter()
                .flat_map(|(n, v)| [symbols.get(n), symbols.get(v)])
                .collect();
            w.packed_varints(1, refs);
            for smp in &s.samples {
                w.message(2, |w| sample(w, smp));
            }
            for h in &s.histograms {
                w.bytes(3, &histogram_bytes(h));
            }
            for e in &s.exemplars {
                w.message(4, |w| {
                    let refs: Vec<u64> = e
                        .labels
                        .iter()
                        .flat_map(|(n, v)| [symbols.get(n), symbols.get(v)])
                        .collect();
                    w.packed_varints(1, refs);
                    w.double(2, e.value);
                    w.int(3, e.timestamp_ms);
                });
            }
            if let Some(Some(m)) = metadata_per_series.get(i) {
                w.message(5, |w| {
                    w.uint(1, u64::from(m.metric_type.to_wire()));
                    w.uint(3, symbols.get(&m.help));
                    w.uint(4, symbols.get(&m.unit));
                });
            }
        });
    }
    let mut w = Writer::default();
    for s in &symbols.list {
        w.bytes(4, s.as_bytes());
    }
    w.buf.extend_from_slice(&body.buf);
    w.buf
}

#[derive(Default)]
struct Symbols {
    index: HashMap<String, u64>,
    list: Vec<String>,
}

impl Symbols {
    fn get(&mut self, s: &str) -> u64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u64;
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

fn label(w: &mut Writer, field: u32, name: &str, value: &str) {
    w.message(field, |w| {
        w.bytes(1, name.as_bytes());
        w.bytes(2, value.as_bytes());
    });
}

fn sample(w: &mut Writer, s: &Sample) {
    w.double(1, s.v);
    w.int(2, s.t);
}

/// The `Histogram` message (identical field numbers in 1.0 and 2.0).
pub(crate) fn histogram_bytes(h: &OwnedHistogram) -> Vec<u8> {
    let mut w = Writer::default();
    match h.count {
        HistogramCount::Int(c) => w.uint(1, c),
        HistogramCount::Float(c) => w.double(2, c),
    }
    w.double(3, h.sum);
    w.sint(4, i64::from(h.schema));
    w.double(5, h.zero_threshold);
    match h.zero_count {
        HistogramCount::Int(c) => w.uint(6, c),
        HistogramCount::Float(c) => w.double(7, c),
    }
    let zz = |d: &i64| ((d << 1) ^ (d >> 63)) as u64;
    for s in &h.negative_spans {
        span(&mut w, 8, s);
    }
    w.packed_varints(9, h.negative_deltas.iter().map(zz));
    w.packed_doubles(10, &h.negative_counts);
    for s in &h.positive_spans {
        span(&mut w, 11, s);
    }
    w.packed_varints(12, h.positive_deltas.iter().map(zz));
    w.packed_doubles(13, &h.positive_counts);
    w.uint(14, u64::from(h.reset_hint));
    w.int(15, h.timestamp_ms);
    w.packed_doubles(16, &h.custom_values);
    w.buf
}

fn span(w: &mut Writer, field: u32, s: &BucketSpan) {
    w.message(field, |w| {
        w.sint(1, i64::from(s.offset));
        w.uint(2, u64::from(s.length));
    });
}
