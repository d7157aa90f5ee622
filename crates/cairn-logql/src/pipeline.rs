//! Log pipelines: the stages after a stream selector, compiled once per query and run per
//! stream, then per line. A line goes through line filters, parsers, label filters and
//! formatters in Loki's order (line filters move ahead of the parsers they follow, as Loki
//! reorders them); its labels keep their category (stream, structured metadata, parsed), which
//! the categorized response encoding needs.

#[allow(
    dead_code,
    reason = "metric evaluation uses the extractor; it lands next"
)]
mod extract;
mod filter;
mod format;
mod hints;
mod ip;
mod json;
mod label_filter;
mod logfmt;
mod state;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use cairn_model::Labels;

use crate::error::{Error, ParseError, Result};
use crate::goregex;
use crate::pattern::Pattern;
use crate::syntax::{LogExpr, NamedMatcher, Stage};

#[allow(
    unused_imports,
    reason = "metric evaluation uses the extractor; it lands next"
)]
pub(crate) use extract::{Extractor, SampleSpec, StreamExtractor};
use filter::LineTest;
use format::{LabelFormat, LineFormat};
use hints::Hints;
use json::{JsonExprParser, JsonParser, UnpackParser};
use label_filter::LabelFilterStage;
pub(crate) use logfmt::Decoder as LogfmtDecoder;
use logfmt::{LogfmtExprParser, LogfmtParser};
use state::{Base, Cat, DUP_SUFFIX, LabelState};
pub(crate) use state::{ERROR_LABEL, Grouping, PRESERVE_ERROR_LABEL};

/// What a stage does with the line.
#[derive(Debug)]
pub(crate) enum StageOut {
    Keep,
    Drop,
    Replace(String),
}

/// Loki's `sanitizeLabelKey`: trims, prefixes a leading digit with `_`, and turns every
/// character outside `[a-zA-Z0-9_]` into `_`.
pub(crate) fn sanitize_key(key: &str) -> String {
    let k = key.trim();
    if k.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(k.len() + 1);
    if k.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in k.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        });
    }
    out
}

/// The labels of a processed line, by category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelsResult {
    /// Stream labels (after `drop`, `keep` and renames).
    pub stream: Labels,
    /// Structured metadata labels (empty values kept).
    pub metadata: Labels,
    /// Parsed labels and `__error__`/`__error_details__` (empty values kept).
    pub parsed: Labels,
    /// All of them together (Loki's flat label set), empty values kept.
    pub all: Labels,
}

impl LabelsResult {
    pub(crate) fn from_stream(stream: Labels) -> LabelsResult {
        LabelsResult {
            all: stream.clone(),
            stream,
            metadata: Labels::empty(),
            parsed: Labels::empty(),
        }
    }
}

/// One line after a pipeline.
#[derive(Clone, Debug)]
pub struct Processed<'a> {
    /// The line after every stage.
    pub line: &'a str,
    /// Its labels by category.
    pub labels: Arc<LabelsResult>,
}

/// A compiled stage.
#[derive(Debug)]
enum Spec {
    Filter(LineTest),
    Label(Arc<LabelFilterStage>),
    Json,
    JsonExpr(JsonExprParser),
    Logfmt { strict: bool, keep_empty: bool },
    LogfmtExpr(LogfmtExprParser),
    Regexp(regex::Regex, Vec<(usize, String)>),
    Pattern(Pattern),
    Unpack,
    LineFormat(LineFormat),
    LabelFormat(LabelFormat),
    Decolorize,
    Drop(Vec<NamedMatcher>),
    Keep(Vec<NamedMatcher>),
}

/// Per-stream state of the stages that keep some.
#[derive(Debug)]
enum Scratch {
    None,
    Json(JsonParser),
    Logfmt(LogfmtParser),
}

#[derive(Debug)]
struct Compiled {
    specs: Vec<Spec>,
    hints: Hints,
}

/// A compiled log pipeline (the stages of a [`LogExpr`]), usable on its own by live tail and
/// `detected_fields`: per stream ([`Pipeline::for_stream`]), then per line.
#[derive(Clone, Debug)]
pub struct Pipeline {
    inner: Arc<Compiled>,
}

/// Loki's `reorderStages`: line filters move ahead of the parsers and formatters before them,
/// but never past a label filter, a `line_format` or an `unpack`.
fn reorder(stages: &[Stage]) -> Vec<Stage> {
    let mut out: Vec<Stage> = Vec::with_capacity(stages.len());
    let mut filters = Vec::new();
    let mut others: Vec<Stage> = Vec::new();
    let flush = |out: &mut Vec<Stage>, filters: &mut Vec<_>, others: &mut Vec<Stage>| {
        if !filters.is_empty() {
            out.push(Stage::LineFilters(std::mem::take(filters)));
        }
        out.append(others);
    };
    for s in stages {
        match s {
            Stage::LabelFilter(_) => {
                flush(&mut out, &mut filters, &mut others);
                out.push(s.clone());
            }
            Stage::LineFilters(f) => filters.extend(f.iter().cloned()),
            Stage::LineFormat(_) | Stage::Unpack => {
                others.push(s.clone());
                flush(&mut out, &mut filters, &mut others);
            }
            _ => others.push(s.clone()),
        }
    }
    flush(&mut out, &mut filters, &mut others);
    out
}

/// Loki's `removeLineformat` for metric queries that do not read the line: a `line_format`
/// goes unless a parser or line filter follows it.
pub(crate) fn remove_line_format(stages: &[Stage]) -> Vec<Stage> {
    let mut out = Vec::with_capacity(stages.len());
    for (i, s) in stages.iter().enumerate() {
        if matches!(s, Stage::LineFormat(_)) {
            let needed = stages[i..].iter().any(|x| {
                matches!(
                    x,
                    Stage::Logfmt { .. }
                        | Stage::LogfmtExtract { .. }
                        | Stage::Json
                        | Stage::JsonExtract(_)
                        | Stage::Regexp(_)
                        | Stage::Pattern(_)
                        | Stage::Unpack
                        | Stage::LineFilters(_)
                )
            });
            if !needed {
                continue;
            }
        }
        out.push(s.clone());
    }
    out
}

fn stage_error(stage: &Stage, err: String) -> Error {
    Error::Parse(ParseError::unpositioned(format!("stage '{stage}' : {err}")))
}

fn compile_stage(s: &Stage) -> Result<Option<Spec>, String> {
    Ok(Some(match s {
        Stage::LineFilters(f) => match LineTest::build(f)? {
            LineTest::True => return Ok(None),
            t => Spec::Filter(t),
        },
        Stage::LabelFilter(f) => {
            let st = LabelFilterStage::build(f, true)?;
            if st.is_noop() {
                return Ok(None);
            }
            Spec::Label(Arc::new(st))
        }
        Stage::Json => Spec::Json,
        Stage::JsonExtract(ex) => Spec::JsonExpr(JsonExprParser::new(ex)?),
        Stage::Logfmt { strict, keep_empty } => Spec::Logfmt {
            strict: *strict,
            keep_empty: *keep_empty,
        },
        Stage::LogfmtExtract { exprs, strict, .. } => {
            Spec::LogfmtExpr(LogfmtExprParser::new(exprs, *strict)?)
        }
        Stage::Regexp(re) => {
            let compiled = goregex::compile(re)?;
            let names = compiled
                .capture_names()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (i, n.to_owned())))
                .collect();
            Spec::Regexp(compiled, names)
        }
        Stage::Pattern(p) => Spec::Pattern(Pattern::parse(p)?),
        Stage::Unpack => Spec::Unpack,
        Stage::LineFormat(t) => Spec::LineFormat(LineFormat::new(t)?),
        Stage::LabelFormat(f) => Spec::LabelFormat(LabelFormat::new(f)?),
        Stage::Decolorize => Spec::Decolorize,
        Stage::Drop(d) => Spec::Drop(d.clone()),
        Stage::Keep(k) => Spec::Keep(k.clone()),
    }))
}

/// The labels every compiled stage reads (Loki's `RequiredLabelNames`).
fn required_labels(specs: &[Spec], out: &mut Vec<String>) {
    let mut add = |n: &String| {
        if !out.contains(n) {
            out.push(n.clone());
        }
    };
    for s in specs {
        match s {
            Spec::Label(f) => {
                let mut v = Vec::new();
                f.required(&mut v);
                v.iter().for_each(&mut add);
            }
            Spec::LineFormat(f) => f.fields().iter().for_each(&mut add),
            Spec::LabelFormat(f) => f.fields().iter().for_each(&mut add),
            _ => {}
        }
    }
}

/// The single-label filters, for the hints.
fn hint_filters(specs: &[Spec]) -> Vec<(String, Arc<LabelFilterStage>)> {
    specs
        .iter()
        .filter_map(|s| match s {
            Spec::Label(f) => f.single_label().map(|n| (n.to_owned(), Arc::clone(f))),
            _ => None,
        })
        .collect()
}

/// How a pipeline is built for a metric extractor.
pub(crate) struct MetricHints<'a> {
    pub(crate) grouping: &'a Grouping,
    pub(crate) unwrap: Option<&'a str>,
    /// The post-unwrap filter when it is a single one (Loki's hints take no other).
    pub(crate) post: &'a [Arc<LabelFilterStage>],
    /// The labels every post-unwrap filter reads.
    pub(crate) extra_required: &'a [String],
}

impl Pipeline {
    /// Compiles the stages of a log query; a stage that cannot be built (bad template,
    /// regular expression or IP pattern) is Loki's `stage '...' : ...` error.
    pub fn new(expr: &LogExpr) -> Result<Pipeline> {
        Pipeline::build(&expr.stages, None)
    }

    pub(crate) fn build(stages: &[Stage], metric: Option<MetricHints<'_>>) -> Result<Pipeline> {
        let mut specs = Vec::with_capacity(stages.len());
        for s in reorder(stages) {
            if let Some(spec) = compile_stage(&s).map_err(|e| stage_error(&s, e))? {
                specs.push(spec);
            }
        }
        let hints = match metric {
            None => Hints::new(&[], &[], false, false, None, hint_filters(&specs)),
            Some(m) => {
                let mut required = Vec::new();
                required_labels(&specs, &mut required);
                for r in m.extra_required {
                    if !required.contains(r) {
                        required.push(r.clone());
                    }
                }
                let mut filters = hint_filters(&specs);
                for p in m.post {
                    if let Some(n) = p.single_label() {
                        filters.push((n.to_owned(), Arc::clone(p)));
                    }
                }
                Hints::new(
                    &required,
                    &m.grouping.groups,
                    m.grouping.without,
                    m.grouping.no_labels,
                    m.unwrap,
                    filters,
                )
            }
        };
        Ok(Pipeline {
            inner: Arc::new(Compiled { specs, hints }),
        })
    }

    /// Whether the pipeline has no stage at all (lines and labels pass unchanged).
    pub fn is_noop(&self) -> bool {
        self.inner.specs.is_empty()
    }

    /// The pipeline for one stream.
    pub fn for_stream(&self, labels: &Labels) -> StreamPipeline {
        let scratch = self
            .inner
            .specs
            .iter()
            .map(|s| match s {
                Spec::Json => Scratch::Json(JsonParser::default()),
                Spec::Logfmt { strict, keep_empty } => {
                    Scratch::Logfmt(LogfmtParser::new(*strict, *keep_empty))
                }
                _ => Scratch::None,
            })
            .collect();
        StreamPipeline {
            inner: Arc::clone(&self.inner),
            st: LabelState::new(Arc::new(Base::new(labels))),
            scratch,
            line: String::new(),
        }
    }
}

/// A pipeline bound to one stream.
#[derive(Debug)]
pub struct StreamPipeline {
    inner: Arc<Compiled>,
    st: LabelState,
    scratch: Vec<Scratch>,
    line: String,
}

impl StreamPipeline {
    /// The stream's labels, unprocessed.
    pub fn stream_labels(&self) -> &Labels {
        &self.st.base.labels
    }

    /// Runs the stages; on `Some`, the line is in `self.line` when `replaced`.
    fn run(&mut self, ts_ns: i64, line: &str, metadata: &[(String, String)]) -> Option<bool> {
        self.st.reset();
        if !metadata.is_empty() {
            self.st.add_metadata(metadata);
        }
        let inner = Arc::clone(&self.inner);
        let hints = &inner.hints;
        let mut replaced = false;
        for (i, spec) in inner.specs.iter().enumerate() {
            let cur: &str = if replaced { &self.line } else { line };
            let out = match spec {
                Spec::Filter(t) => {
                    if t.test(cur.as_bytes()) {
                        StageOut::Keep
                    } else {
                        StageOut::Drop
                    }
                }
                Spec::Label(f) => {
                    if f.test(&mut self.st) {
                        StageOut::Keep
                    } else {
                        StageOut::Drop
                    }
                }
                Spec::Json => match &mut self.scratch[i] {
                    Scratch::Json(p) => p.process(cur, &mut self.st, hints),
                    _ => StageOut::Keep,
                },
                Spec::Logfmt { .. } => match &mut self.scratch[i] {
                    Scratch::Logfmt(p) => p.process(cur, &mut self.st, hints),
                    _ => StageOut::Keep,
                },
                Spec::JsonExpr(p) => p.process(cur, &mut self.st, hints),
                Spec::LogfmtExpr(p) => p.process(cur, &mut self.st, hints),
                Spec::Regexp(re, names) => regexp_stage(re, names, cur, &mut self.st, hints),
                Spec::Pattern(p) => pattern_stage(p, cur, &mut self.st, hints),
                Spec::Unpack => UnpackParser.process(cur, &mut self.st, hints),
                Spec::LineFormat(f) => f.process(ts_ns, cur, &mut self.st),
                Spec::LabelFormat(f) => f.process(ts_ns, cur, &mut self.st),
                Spec::Decolorize => format::decolorize(cur),
                Spec::Drop(d) => {
                    format::drop(d, &mut self.st);
                    StageOut::Keep
                }
                Spec::Keep(k) => {
                    format::keep(k, &mut self.st);
                    StageOut::Keep
                }
            };
            match out {
                StageOut::Keep => {}
                StageOut::Drop => return None,
                StageOut::Replace(s) => {
                    self.line = s;
                    replaced = true;
                }
            }
        }
        Some(replaced)
    }

    /// The line after every stage and its labels by category, or `None` when filtered out.
    pub fn process<'a>(
        &'a mut self,
        ts_ns: i64,
        line: &'a str,
        metadata: &[(String, String)],
    ) -> Option<Processed<'a>> {
        let replaced = self.run(ts_ns, line, metadata)?;
        let labels = self.st.result();
        Some(Processed {
            line: if replaced { &self.line } else { line },
            labels,
        })
    }
}

fn regexp_stage(
    re: &regex::Regex,
    names: &[(usize, String)],
    line: &str,
    st: &mut LabelState,
    hints: &Hints,
) -> StageOut {
    let Some(caps) = re.captures(line) else {
        return StageOut::Keep;
    };
    for (i, name) in names {
        let mut key = sanitize_key(name);
        if key.is_empty() {
            continue;
        }
        if st.base_has(&key) || st.has_in(&key, Cat::Meta) {
            key.push_str(DUP_SUFFIX);
        }
        if !hints.should_extract(&key) || st.extracted(&key) {
            continue;
        }
        let v = caps.get(*i).map(|m| m.as_str()).unwrap_or("");
        st.set(Cat::Parsed, &key, v);
        if !hints.should_continue(&key, st) {
            return StageOut::Drop;
        }
    }
    StageOut::Keep
}

fn pattern_stage(p: &Pattern, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
    if hints.no_labels(st) {
        return StageOut::Keep;
    }
    let matches = p.matches(line);
    for (name, v) in p.names().iter().zip(matches) {
        let key = if st.base_has(name) || st.has_in(name, Cat::Meta) {
            format!("{name}{DUP_SUFFIX}")
        } else {
            name.clone()
        };
        if st.extracted(&key) || !hints.should_extract(&key) {
            continue;
        }
        st.set(Cat::Parsed, &key, v);
        if !hints.should_continue(&key, st) {
            return StageOut::Drop;
        }
    }
    StageOut::Keep
}

/// The literals every line a log expression keeps must contain, from its leading `|=`
/// filters (after Loki's reordering, before any parser): the store's `line_contains` hint.
pub(crate) fn line_contains(stages: &[Stage]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Stage::LineFilters(f)) = reorder(stages).first() {
        filter::required_literals(f, &mut out);
    }
    out
}
