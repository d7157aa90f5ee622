//! What both remote write versions do once a series is decoded: check its labels against the
//! rules and limits, then keep it in the batch or roll the arenas back and report it.

use std::fmt::Write as _;

use cairn_model::{LabelRef, METRIC_NAME, SeriesRefs, WriteBatch};

use crate::report::{DecodeLimits, DecodeReport, RejectReason, Rejection};

/// Longest label rendering kept in a rejection message.
const MAX_RENDERED_LABELS: usize = 256;

/// Up to this many labels, duplicates are found by comparing pairs; above, by sorting a copy.
const PAIRWISE_DUPLICATE_CHECK: usize = 16;

/// Per-request scratch space, reused across series so that checks do not allocate per series.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    names: Vec<&'a str>,
}

/// The arena lengths when a series started, to roll back to if it is rejected.
#[derive(Clone, Copy)]
pub(crate) struct Marks {
    labels: usize,
    samples: usize,
    exemplars: usize,
    histograms: usize,
    metadata: usize,
}

impl Marks {
    pub(crate) fn of(batch: &WriteBatch<'_>) -> Self {
        Marks {
            labels: batch.labels.len(),
            samples: batch.samples.len(),
            exemplars: batch.exemplars.len(),
            histograms: batch.histograms.len(),
            metadata: batch.metadata.len(),
        }
    }

    fn rollback(self, batch: &mut WriteBatch<'_>) {
        batch.labels.truncate(self.labels);
        batch.samples.truncate(self.samples);
        batch.exemplars.truncate(self.exemplars);
        batch.histograms.truncate(self.histograms);
        batch.metadata.truncate(self.metadata);
    }
}

/// A problem found while decoding a series; the first one found is reported.
pub(crate) type Problem = Option<(RejectReason, String)>;

/// Records `reason` unless an earlier problem was already found.
pub(crate) fn note(problem: &mut Problem, reason: RejectReason, msg: impl FnOnce() -> String) {
    if problem.is_none() {
        *problem = Some((reason, msg()));
    }
}

/// Everything known about a decoded series, for [`finish`].
pub(crate) struct Decoded {
    pub(crate) index: usize,
    pub(crate) marks: Marks,
    /// End of the series' own labels in the arena (exemplar labels follow).
    pub(crate) labels_end: usize,
    pub(crate) problem: Problem,
}

/// Validates the series whose arenas start at `d.marks` and either keeps it (returns true) or
/// rolls it back and records a [`Rejection`].
pub(crate) fn finish<'a>(
    batch: &mut WriteBatch<'a>,
    d: Decoded,
    limits: &DecodeLimits,
    scratch: &mut Scratch<'a>,
    report: &mut DecodeReport,
) -> bool {
    let m = d.marks;
    let refs = SeriesRefs {
        labels: m.labels..d.labels_end,
        samples: m.samples..batch.samples.len(),
        exemplars: m.exemplars..batch.exemplars.len(),
        histograms: m.histograms..batch.histograms.len(),
    };
    let mut problem = d.problem;
    if limits.max_series_per_request > 0 && d.index >= limits.max_series_per_request {
        problem = Some((
            RejectReason::TooManySeries,
            format!(
                "request carries more than {} series",
                limits.max_series_per_request
            ),
        ));
    }
    if problem.is_none() {
        let labels = &batch.labels[refs.labels.clone()];
        problem = check_labels(labels, !refs.exemplars.is_empty(), limits, scratch);
    }
    match problem {
        None => {
            report.series += 1;
            report.samples += refs.samples.len();
            report.histograms += refs.histograms.len();
            report.exemplars += refs.exemplars.len();
            batch.series.push(refs);
            true
        }
        Some((reason, what)) => {
            let labels = batch.labels.get(refs.labels.clone()).unwrap_or(&[]);
            let message = format!(
                "series #{} {}: {what}",
                d.index,
                render_labels(labels, MAX_RENDERED_LABELS)
            );
            report.rejected.push(Rejection {
                series_index: d.index,
                reason,
                message,
                samples: refs.samples.len(),
                histograms: refs.histograms.len(),
                exemplars: refs.exemplars.len(),
            });
            m.rollback(batch);
            false
        }
    }
}

/// The value of `__name__`, if present.
pub(crate) fn metric_name<'a>(labels: &[LabelRef<'a>]) -> Option<&'a str> {
    labels
        .iter()
        .find(|l| l.name == METRIC_NAME)
        .map(|l| l.value)
}

fn check_labels<'a>(
    labels: &[LabelRef<'a>],
    has_exemplars: bool,
    limits: &DecodeLimits,
    scratch: &mut Scratch<'a>,
) -> Problem {
    if labels.is_empty() {
        return Some((RejectReason::EmptyLabelSet, "empty label set".into()));
    }
    if limits.max_labels_per_series > 0 && labels.len() > limits.max_labels_per_series {
        return Some((
            RejectReason::TooManyLabels,
            format!(
                "{} labels exceed the limit of {}",
                labels.len(),
                limits.max_labels_per_series
            ),
        ));
    }
    for l in labels {
        if l.name.is_empty() {
            return Some((
                RejectReason::EmptyLabelName,
                format!("label with empty name (value {:?})", truncate(l.value, 64)),
            ));
        }
        if limits.max_label_name_len > 0 && l.name.len() > limits.max_label_name_len {
            return Some((
                RejectReason::LabelNameTooLong,
                format!(
                    "label name {:?} is {} bytes, over the limit of {}",
                    truncate(l.name, 64),
                    l.name.len(),
                    limits.max_label_name_len
                ),
            ));
        }
        if limits.max_label_value_len > 0 && l.value.len() > limits.max_label_value_len {
            return Some((
                RejectReason::LabelValueTooLong,
                format!(
                    "value of label {:?} is {} bytes, over the limit of {}",
                    truncate(l.name, 64),
                    l.value.len(),
                    limits.max_label_value_len
                ),
            ));
        }
    }
    if let Some(dup) = duplicate_name(labels, scratch) {
        return Some((
            RejectReason::DuplicateLabelName,
            format!("duplicate label name {:?}", truncate(dup, 64)),
        ));
    }
    if metric_name(labels).is_none_or(str::is_empty) {
        return Some(if has_exemplars {
            (
                RejectReason::ExemplarWithoutMetricName,
                "exemplars on a series without __name__".into(),
            )
        } else {
            (
                RejectReason::MissingMetricName,
                "missing or empty __name__ label".into(),
            )
        });
    }
    None
}

fn duplicate_name<'a>(labels: &[LabelRef<'a>], scratch: &mut Scratch<'a>) -> Option<&'a str> {
    if labels.len() <= PAIRWISE_DUPLICATE_CHECK {
        for (i, a) in labels.iter().enumerate() {
            if labels[i + 1..].iter().any(|b| b.name == a.name) {
                return Some(a.name);
            }
        }
        return None;
    }
    scratch.names.clear();
    scratch.names.extend(labels.iter().map(|l| l.name));
    scratch.names.sort_unstable();
    scratch
        .names
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| w[0])
}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Prometheus' `{a="b", c="d"}` form, cut after about `max` bytes.
pub(crate) fn render_labels(labels: &[LabelRef<'_>], max: usize) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if s.len() > max {
            s.push_str(", ...");
            break;
        }
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{}={:?}", truncate(l.name, 64), truncate(l.value, 64));
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l<'a>(n: &'a str, v: &'a str) -> LabelRef<'a> {
        LabelRef::new(n, v)
    }

    #[test]
    fn duplicate_detection_small_and_large() {
        let mut s = Scratch::default();
        assert_eq!(
            duplicate_name(&[l("a", "1"), l("b", "2"), l("a", "3")], &mut s),
            Some("a")
        );
        assert_eq!(duplicate_name(&[l("a", "1"), l("b", "2")], &mut s), None);
        let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        let mut many: Vec<LabelRef<'_>> = names.iter().map(|n| l(n, "v")).collect();
        assert_eq!(duplicate_name(&many, &mut s), None);
        many.push(l("n7", "x"));
        assert_eq!(duplicate_name(&many, &mut s), Some("n7"));
    }

    #[test]
    fn rendering_is_truncated_on_char_boundaries() {
        let long = "é".repeat(100);
        let labels = vec![l("__name__", &long); 20];
        let r = render_labels(&labels, 256);
        assert!(r.len() < 256 + 200, "{}", r.len());
        assert!(r.ends_with(", ...}"));
        assert_eq!(truncate("héllo", 2), "h");
    }
}
