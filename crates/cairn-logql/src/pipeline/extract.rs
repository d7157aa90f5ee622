//! Sample extraction for metric queries: a pipeline, then one value per kept line (1 for
//! counting, the line's bytes, or an unwrapped label), with the labels the aggregation keeps.

use std::sync::Arc;

use cairn_model::Labels;

use super::label_filter::LabelFilterStage;
use super::state::{ERR_SAMPLE, Grouping};
use super::{MetricHints, Pipeline, StreamPipeline, remove_line_format};
use crate::error::{Error, ParseError, Result};
use crate::gofmt;
use crate::syntax::{self, RangeOp, Stage, UnwrapConv};

/// What a line contributes.
#[derive(Clone, Debug)]
pub(crate) enum SampleSpec {
    Count,
    Bytes,
    Unwrap {
        label: String,
        conv: Option<UnwrapConv>,
    },
}

/// A compiled extractor for one log range.
#[derive(Clone, Debug)]
pub(crate) struct Extractor {
    pipeline: Pipeline,
    spec: SampleSpec,
    grouping: Grouping,
    post: Arc<[Arc<LabelFilterStage>]>,
    contains: Vec<String>,
}

impl Extractor {
    /// The literals every line the extractor keeps contains (the store's hint).
    pub(crate) fn line_contains(&self) -> &[String] {
        &self.contains
    }

    /// Loki's `RangeAggregationExpr.extractor`: `outer` is the grouping of an enclosing `sum`
    /// pushed down into a range aggregation that has none.
    pub(crate) fn new(
        agg: &syntax::RangeAgg,
        outer: Option<&syntax::Grouping>,
    ) -> Result<Extractor> {
        let mut groups: Vec<String> = Vec::new();
        let mut without = false;
        let mut no_labels = false;
        for g in [agg.grouping.as_ref(), outer].into_iter().flatten() {
            groups = g.labels.clone();
            without = g.without;
            no_labels = g.is_singleton();
        }
        if agg.op == RangeOp::Absent {
            no_labels = true;
        }
        groups.sort();
        let range = &agg.range;
        let stages: Vec<Stage> = if matches!(agg.op, RangeOp::Bytes | RangeOp::BytesRate) {
            range.selector.stages.clone()
        } else {
            remove_line_format(&range.selector.stages)
        };
        let (spec, post) = match &range.unwrap {
            Some(u) => {
                let mut post = Vec::with_capacity(u.post_filters.len());
                for f in &u.post_filters {
                    // Loki checks `ip()` patterns only in pipeline stages, not after unwrap.
                    let st = LabelFilterStage::build(f, false)
                        .map_err(|e| Error::Parse(ParseError::unpositioned(e)))?;
                    post.push(Arc::new(st));
                }
                if groups.is_empty() || without {
                    without = true;
                    groups.push(u.label.clone());
                    groups.sort();
                }
                (
                    SampleSpec::Unwrap {
                        label: u.label.clone(),
                        conv: u.conv,
                    },
                    post,
                )
            }
            None => (
                match agg.op {
                    RangeOp::Bytes | RangeOp::BytesRate => SampleSpec::Bytes,
                    _ => SampleSpec::Count,
                },
                Vec::new(),
            ),
        };
        let grouping = Grouping {
            groups,
            without,
            no_labels,
        };
        // Loki gives the hints only a post filter that is a single filter.
        let hint_post: Vec<Arc<LabelFilterStage>> = if post.len() == 1 {
            post.clone()
        } else {
            Vec::new()
        };
        let unwrap_label = match &spec {
            SampleSpec::Unwrap { label, .. } => Some(label.as_str()),
            _ => None,
        };
        let mut required_post = Vec::new();
        for p in &post {
            p.required(&mut required_post);
        }
        let pipeline = Pipeline::build(
            &stages,
            Some(MetricHints {
                grouping: &grouping,
                unwrap: unwrap_label,
                post: &hint_post,
                extra_required: &required_post,
            }),
        )?;
        Ok(Extractor {
            pipeline,
            spec,
            grouping,
            post: post.into(),
            contains: super::line_contains(&stages),
        })
    }

    /// The extractor for one stream.
    pub(crate) fn for_stream(&self, labels: &Labels) -> StreamExtractor {
        StreamExtractor {
            sp: self.pipeline.for_stream(labels),
            spec: self.spec.clone(),
            grouping: self.grouping.clone(),
            post: Arc::clone(&self.post),
        }
    }
}

/// An extractor bound to one stream.
#[derive(Debug)]
pub(crate) struct StreamExtractor {
    sp: StreamPipeline,
    spec: SampleSpec,
    grouping: Grouping,
    post: Arc<[Arc<LabelFilterStage>]>,
}

/// Converts an unwrapped value.
fn convert(v: &str, conv: Option<UnwrapConv>) -> Result<f64, String> {
    match conv {
        None => super::label_filter::parse_f64(v),
        Some(UnwrapConv::Bytes) => gofmt::parse_bytes(v).map(|b| b as f64),
        Some(UnwrapConv::Duration | UnwrapConv::DurationSeconds) => {
            gofmt::parse_go_duration(v).map(|ns| ns as f64 / 1e9)
        }
    }
}

impl StreamExtractor {
    /// The sample a line yields, with its series labels.
    pub(crate) fn process(
        &mut self,
        ts_ns: i64,
        line: &str,
        metadata: &[(String, String)],
    ) -> Option<(f64, Labels)> {
        let replaced = self.sp.run(ts_ns, line, metadata)?;
        let cur = if replaced { &self.sp.line } else { line };
        let v = match &self.spec {
            SampleSpec::Count => 1.0,
            SampleSpec::Bytes => cur.len() as f64,
            SampleSpec::Unwrap { label, conv } => {
                let s = match self.sp.st.get(label) {
                    Some(s) if !s.is_empty() => s,
                    _ => return None,
                };
                let v = match convert(s, *conv) {
                    Ok(v) => v,
                    Err(e) => {
                        self.sp.st.set_err(ERR_SAMPLE);
                        self.sp.st.set_err_details(&e);
                        0.0
                    }
                };
                for p in self.post.iter() {
                    if !p.test(&mut self.sp.st) {
                        return None;
                    }
                }
                v
            }
        };
        Some((v, self.sp.st.grouped(&self.grouping)))
    }
}
