//! The batch of series that an ingest decoder hands to the storage engine.
//!
//! Everything borrows from the decoded request body: labels are `&str` slices into it, kept
//! in flat arenas that the series index by range, so decoding a request allocates a few
//! vectors, never one string per label.

use std::ops::Range;

use crate::{LabelRef, Labels, Sample};

/// Prometheus metric types, in the order of both remote-write protos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// Unknown or unspecified.
    #[default]
    Unknown,
    /// counter
    Counter,
    /// gauge
    Gauge,
    /// histogram
    Histogram,
    /// gaugehistogram
    GaugeHistogram,
    /// summary
    Summary,
    /// info
    Info,
    /// stateset
    StateSet,
}

impl MetricType {
    /// The wire enum value (both remote-write versions use the same numbering); unknown
    /// numbers map to [`MetricType::Unknown`].
    pub fn from_wire(v: u64) -> Self {
        match v {
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Histogram,
            4 => MetricType::GaugeHistogram,
            5 => MetricType::Summary,
            6 => MetricType::Info,
            7 => MetricType::StateSet,
            _ => MetricType::Unknown,
        }
    }

    /// The wire enum value, which the WAL stores too.
    pub fn to_wire(self) -> u8 {
        match self {
            MetricType::Unknown => 0,
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            MetricType::GaugeHistogram => 4,
            MetricType::Summary => 5,
            MetricType::Info => 6,
            MetricType::StateSet => 7,
        }
    }

    /// The lowercase name the Prometheus API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Unknown => "unknown",
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
        }
    }

    /// Parses [`MetricType::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "unknown" => MetricType::Unknown,
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            _ => return None,
        })
    }
}

/// One series of a batch: ranges into the batch's arenas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesRefs {
    /// Its labels in [`WriteBatch::labels`] (as sent: unsorted, possibly invalid).
    pub labels: Range<usize>,
    /// Its float samples in [`WriteBatch::samples`].
    pub samples: Range<usize>,
    /// Its exemplars in [`WriteBatch::exemplars`].
    pub exemplars: Range<usize>,
    /// Its native histogram samples in [`WriteBatch::histograms`].
    pub histograms: Range<usize>,
}

/// An exemplar; its labels are a range of [`WriteBatch::labels`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarRef {
    /// Exemplar labels (e.g. `trace_id`).
    pub labels: Range<usize>,
    /// Value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// A native histogram sample, decoded and validated; its buckets are not kept here.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramRef {
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Total observation count.
    pub count: f64,
    /// Sum of observations.
    pub sum: f64,
    /// Bucket schema (-4..8 exponential, -53 custom buckets).
    pub schema: i32,
}

/// Metric family metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataRef<'a> {
    /// The metric family name (the series' `__name__` in remote write 2.0).
    pub metric_family_name: &'a str,
    /// Type.
    pub metric_type: MetricType,
    /// Help text.
    pub help: &'a str,
    /// Unit.
    pub unit: &'a str,
}

/// A decoded write request, borrowing from the decompressed body.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch<'a> {
    /// The series, in request order.
    pub series: Vec<SeriesRefs>,
    /// Arena of all series and exemplar labels.
    pub labels: Vec<LabelRef<'a>>,
    /// Arena of all float samples.
    pub samples: Vec<Sample>,
    /// Arena of all exemplars.
    pub exemplars: Vec<ExemplarRef>,
    /// Arena of all native histogram samples.
    pub histograms: Vec<HistogramRef>,
    /// Metric metadata carried by the request.
    pub metadata: Vec<MetadataRef<'a>>,
}

impl<'a> WriteBatch<'a> {
    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.series.clear();
        self.labels.clear();
        self.samples.clear();
        self.exemplars.clear();
        self.histograms.clear();
        self.metadata.clear();
    }

    /// Appends a series of one sample, as the rule engine and the span metrics generators
    /// write the series they compute.
    pub fn push_sample(&mut self, labels: &'a Labels, sample: Sample) {
        let l0 = self.labels.len();
        self.labels.extend(labels.iter());
        let s0 = self.samples.len();
        self.samples.push(sample);
        let e0 = self.exemplars.len();
        self.series.push(SeriesRefs {
            labels: l0..self.labels.len(),
            samples: s0..s0 + 1,
            exemplars: e0..e0,
            ..SeriesRefs::default()
        });
    }

    /// Adds an exemplar to the series pushed last (its labels follow the series' own in the
    /// arena, as the decoders lay them out).
    pub fn push_exemplar(&mut self, labels: &'a Labels, value: f64, timestamp_ms: i64) {
        let l0 = self.labels.len();
        self.labels.extend(labels.iter());
        self.exemplars.push(ExemplarRef {
            labels: l0..self.labels.len(),
            value,
            timestamp_ms,
        });
        if let Some(s) = self.series.last_mut() {
            s.exemplars.end = self.exemplars.len();
        }
    }

    /// The labels of series `s`.
    pub fn series_labels(&self, s: &SeriesRefs) -> &[LabelRef<'a>] {
        &self.labels[s.labels.clone()]
    }

    /// The float samples of series `s`.
    pub fn series_samples(&self, s: &SeriesRefs) -> &[Sample] {
        &self.samples[s.samples.clone()]
    }
}
