//! Loki's parser hints: which labels a metric query needs, so that `| json` and `| logfmt`
//! extract only those (or none), and which label filters can drop a line as soon as a parser
//! sets their label. They change results in the corner cases where Loki's do (a parser that
//! extracts nothing reports no error), so they follow Loki's rules exactly.

use std::sync::Arc;

use super::label_filter::LabelFilterStage;
use super::state::{DUP_SUFFIX, ERROR_LABEL, LabelState};

/// The hints of one pipeline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hints {
    no_labels: bool,
    required: Vec<String>,
    preserve_error: bool,
    filters: Vec<(String, Arc<LabelFilterStage>)>,
}

impl Hints {
    /// Loki's `NewParserHint`: `required` are the labels the stages read, `groups` the
    /// labels the aggregation keeps (with `without` and `no_labels` as the extractor's
    /// grouping), `unwrap` the unwrapped label; `filters` the single-label filters of the
    /// pipeline, in order.
    pub(crate) fn new(
        required: &[String],
        groups: &[String],
        without: bool,
        no_labels: bool,
        unwrap: Option<&str>,
        filters: Vec<(String, Arc<LabelFilterStage>)>,
    ) -> Hints {
        let mut hints: Vec<String> = Vec::new();
        let mut add = |l: &str| {
            if l.is_empty() {
                return;
            }
            if !hints.iter().any(|h| h == l) {
                hints.push(l.to_owned());
            }
            if let Some(t) = l.strip_suffix(DUP_SUFFIX)
                && !t.is_empty()
                && !hints.iter().any(|h| h == t)
            {
                hints.push(t.to_owned());
            }
        };
        for l in required.iter().chain(groups) {
            add(l);
        }
        if let Some(u) = unwrap {
            add(u);
        }
        let preserve_error = hints.iter().any(|h| h == ERROR_LABEL);
        if no_labels {
            if hints.is_empty() {
                return Hints {
                    no_labels: true,
                    ..Hints::default()
                };
            }
            return Hints {
                required: hints,
                preserve_error,
                filters,
                ..Hints::default()
            };
        }
        if without || groups.is_empty() {
            return Hints {
                filters,
                ..Hints::default()
            };
        }
        Hints {
            required: hints,
            preserve_error,
            ..Hints::default()
        }
    }

    /// Whether a parser should extract `key` at all.
    pub(crate) fn should_extract(&self, key: &str) -> bool {
        self.required.is_empty() || self.required.iter().any(|r| r == key)
    }

    /// Whether some wanted label starts with `prefix` (nested JSON objects).
    pub(crate) fn should_extract_prefix(&self, prefix: &str) -> bool {
        self.required.is_empty() || self.required.iter().any(|r| r.starts_with(prefix))
    }

    /// Whether parsers can skip the line entirely.
    pub(crate) fn no_labels(&self, st: &LabelState) -> bool {
        self.no_labels || self.all_required_extracted(st)
    }

    /// Whether every wanted label was set on this line.
    pub(crate) fn all_required_extracted(&self, st: &LabelState) -> bool {
        if self.required.is_empty() || st.extracted_count() < self.required.len() {
            return false;
        }
        self.required.iter().all(|r| st.extracted(r))
    }

    /// Whether `__error__` is among the wanted labels.
    pub(crate) fn preserve_error(&self) -> bool {
        self.preserve_error
    }

    /// After a parser set `name`: false when the first filter on that label rejects the line.
    pub(crate) fn should_continue(&self, name: &str, st: &mut LabelState) -> bool {
        match self.filters.iter().find(|(n, _)| n == name) {
            Some((_, f)) => f.test(st),
            None => true,
        }
    }
}
