//! Per-request limits and the report of what a decode accepted and rejected.

use std::fmt;

/// Response header with the number of float samples a 2.0 request had written.
pub const SAMPLES_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// Response header with the number of histogram samples a 2.0 request had written.
pub const HISTOGRAMS_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// Response header with the number of exemplars a 2.0 request had written.
pub const EXEMPLARS_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

/// Per-series and per-request limits applied while decoding; 0 means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most labels a series may carry.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_len: usize,
    /// Longest label value, in bytes.
    pub max_label_value_len: usize,
    /// Most series a request may carry; later series are rejected with `too_many_series`.
    pub max_series_per_request: usize,
}

/// Why a series was left out of the batch. [`RejectReason::as_str`] is stable: it is the
/// `reason` label of the rejected-samples metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The series has no labels at all.
    EmptyLabelSet,
    /// No `__name__` label, or an empty one.
    MissingMetricName,
    /// A label with an empty name.
    EmptyLabelName,
    /// The same label name twice.
    DuplicateLabelName,
    /// More labels than [`DecodeLimits::max_labels_per_series`].
    TooManyLabels,
    /// A label name longer than [`DecodeLimits::max_label_name_len`].
    LabelNameTooLong,
    /// A label value longer than [`DecodeLimits::max_label_value_len`].
    LabelValueTooLong,
    /// A 2.0 symbol reference out of range, or an odd number of label references.
    InvalidSymbolRef,
    /// A 2.0 series carrying both float samples and histograms.
    SamplesAndHistograms,
    /// A native histogram that fails validation (schema, spans, counts).
    InvalidHistogram,
    /// Exemplars on a series without `__name__`.
    ExemplarWithoutMetricName,
    /// The series came after [`DecodeLimits::max_series_per_request`] others.
    TooManySeries,
}

impl RejectReason {
    /// Every reason, for pre-registering metric label values.
    pub const ALL: [RejectReason; 12] = [
        RejectReason::EmptyLabelSet,
        RejectReason::MissingMetricName,
        RejectReason::EmptyLabelName,
        RejectReason::DuplicateLabelName,
        RejectReason::TooManyLabels,
        RejectReason::LabelNameTooLong,
        RejectReason::LabelValueTooLong,
        RejectReason::InvalidSymbolRef,
        RejectReason::SamplesAndHistograms,
        RejectReason::InvalidHistogram,
        RejectReason::ExemplarWithoutMetricName,
        RejectReason::TooManySeries,
    ];

    /// The stable snake_case name used as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::EmptyLabelSet => "empty_label_set",
            RejectReason::MissingMetricName => "missing_metric_name",
            RejectReason::EmptyLabelName => "empty_label_name",
            RejectReason::DuplicateLabelName => "duplicate_label_name",
            RejectReason::TooManyLabels => "too_many_labels",
            RejectReason::LabelNameTooLong => "label_name_too_long",
            RejectReason::LabelValueTooLong => "label_value_too_long",
            RejectReason::InvalidSymbolRef => "invalid_symbol_ref",
            RejectReason::SamplesAndHistograms => "samples_and_histograms",
            RejectReason::InvalidHistogram => "invalid_histogram",
            RejectReason::ExemplarWithoutMetricName => "exemplar_without_metric_name",
            RejectReason::TooManySeries => "too_many_series",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One series left out of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Its position among the request's series (0-based).
    pub series_index: usize,
    /// Why.
    pub reason: RejectReason,
    /// Human-readable: the series' labels (truncated) and the problem.
    pub message: String,
    /// How many float samples it carried.
    pub samples: usize,
    /// How many histogram samples it carried.
    pub histograms: usize,
    /// How many exemplars it carried.
    pub exemplars: usize,
}

/// What a decode put in the batch and what it left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeReport {
    /// Series accepted into the batch.
    pub series: usize,
    /// Float samples in accepted series.
    pub samples: usize,
    /// Histogram samples in accepted series.
    pub histograms: usize,
    /// Exemplars in accepted series.
    pub exemplars: usize,
    /// Series left out, in request order.
    pub rejected: Vec<Rejection>,
}

impl DecodeReport {
    /// True when nothing was rejected.
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty()
    }

    /// Float samples in rejected series.
    pub fn rejected_samples(&self) -> usize {
        self.rejected.iter().map(|r| r.samples).sum()
    }

    /// The remote write 2.0 response headers and their values (counts of what was accepted),
    /// to send on every 2.0 response: Prometheus reads a 2xx without them as a 1.0-only
    /// receiver and drops the batch.
    pub fn written_headers(&self) -> [(&'static str, usize); 3] {
        [
            (SAMPLES_WRITTEN_HEADER, self.samples),
            (HISTOGRAMS_WRITTEN_HEADER, self.histograms),
            (EXEMPLARS_WRITTEN_HEADER, self.exemplars),
        ]
    }

    /// A response body listing the first `max` rejections, one a line, and how many more.
    pub fn rejection_text(&self, max: usize) -> String {
        let mut s = String::new();
        for r in self.rejected.iter().take(max) {
            s.push_str(&r.message);
            s.push('\n');
        }
        if self.rejected.len() > max {
            s.push_str(&format!(
                "... and {} more rejected series\n",
                self.rejected.len() - max
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_are_unique_snake_case() {
        let names: std::collections::HashSet<_> =
            RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), RejectReason::ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn rejection_text_is_bounded() {
        let r = Rejection {
            series_index: 0,
            reason: RejectReason::EmptyLabelSet,
            message: "series #0: empty label set".into(),
            samples: 2,
            histograms: 0,
            exemplars: 0,
        };
        let report = DecodeReport {
            rejected: vec![r.clone(), r.clone(), r],
            ..Default::default()
        };
        let t = report.rejection_text(2);
        assert_eq!(t.lines().count(), 3);
        assert!(t.contains("1 more"));
        assert_eq!(report.rejected_samples(), 6);
        let ok = DecodeReport {
            samples: 3,
            histograms: 2,
            exemplars: 1,
            ..Default::default()
        };
        assert_eq!(
            ok.written_headers(),
            [
                ("X-Prometheus-Remote-Write-Samples-Written", 3),
                ("X-Prometheus-Remote-Write-Histograms-Written", 2),
                ("X-Prometheus-Remote-Write-Exemplars-Written", 1),
            ]
        );
    }
}
