//! LogQL's grammar, rule for rule and in the order of Loki's, with the semantic action of
//! each rule. The order matters: reduce/reduce conflicts go to the earlier rule, and the
//! tables built from it decide Loki's syntax error messages.

use std::sync::LazyLock;

use cairn_model::MatchOp;

use crate::error::ParseError;

use super::ast::*;
use super::build::{self, LfNode, PExpr, PSample};
use super::tokens as t;
use cairn_syntax::{Assoc, Grammar, RuleSpec};

/// A semantic value on the parser's stack.
#[derive(Clone, Debug, Default)]
pub(crate) enum Val {
    #[default]
    None,
    Str(String),
    Dur(i64),
    Bytes(u64),
    Strs(Vec<String>),
    Expr(PExpr),
    Sample(PSample),
    Matcher(cairn_model::Matcher),
    Matchers(Vec<cairn_model::Matcher>),
    Stage(Stage),
    Stages(Vec<Stage>),
    Lf(Box<LfNode>),
    LineMatch(LineMatch),
    Filter(LabelFilter),
    Opts(bool, VectorMatching),
    Named(NamedMatcher),
    Nameds(Vec<NamedMatcher>),
    LabelFmt(LabelFmt),
    LabelFmts(Vec<LabelFmt>),
    Grouping(Grouping),
    Range(Box<LogRange>),
    Unwrap(Unwrap),
    Offset(i64),
    Extraction(Extraction),
    Extractions(Vec<Extraction>),
    RangeOp(RangeOp),
    VectorOp(VectorOp),
    Conv(UnwrapConv),
}

type Args = Vec<Val>;

/// A rule's action: the rule's values in, its value out, or the error that ends the parse.
pub(crate) type Action = fn(Args) -> Result<Val, ParseError>;

fn take(a: &mut Args, i: usize) -> Val {
    std::mem::take(&mut a[i])
}

fn s(a: &mut Args, i: usize) -> String {
    match take(a, i) {
        Val::Str(s) => s,
        _ => String::new(),
    }
}

fn strs(a: &mut Args, i: usize) -> Vec<String> {
    match take(a, i) {
        Val::Strs(v) => v,
        _ => Vec::new(),
    }
}

fn dur(a: &Args, i: usize) -> i64 {
    match a[i] {
        Val::Dur(d) => d,
        _ => 0,
    }
}

fn expr(a: &mut Args, i: usize) -> PExpr {
    match take(a, i) {
        Val::Expr(e) => e,
        Val::Sample(s) => PExpr::Sample(s),
        _ => PExpr::Sample(Ok(SampleExpr::Literal(0.0))),
    }
}

fn sample(a: &mut Args, i: usize) -> PSample {
    match expr(a, i) {
        PExpr::Sample(s) => s,
        PExpr::Log { .. } => Ok(SampleExpr::Literal(0.0)),
    }
}

fn filter(a: &mut Args, i: usize) -> LabelFilter {
    match take(a, i) {
        Val::Filter(f) => f,
        Val::Matcher(m) => LabelFilter::Matcher(m),
        _ => LabelFilter::Number {
            name: String::new(),
            op: CmpOp::Eq,
            value: 0.0,
        },
    }
}

fn opts(a: &mut Args, i: usize) -> (bool, VectorMatching) {
    match take(a, i) {
        Val::Opts(b, m) => (b, m),
        _ => (false, VectorMatching::default()),
    }
}

fn lf(a: &mut Args, i: usize) -> LfNode {
    match take(a, i) {
        Val::Lf(n) => *n,
        _ => LfNode::new(LineMatch::Contains, false, String::new()),
    }
}

fn matchers_of(a: &mut Args, i: usize) -> Vec<cairn_model::Matcher> {
    match take(a, i) {
        Val::Matchers(m) => m,
        _ => Vec::new(),
    }
}

fn first(mut a: Args) -> Result<Val, ParseError> {
    Ok(take(&mut a, 0))
}

fn second(mut a: Args) -> Result<Val, ParseError> {
    Ok(take(&mut a, 1))
}

fn none(_: Args) -> Result<Val, ParseError> {
    Ok(Val::None)
}

/// Every `logRangeExpr` variant: picks the selector, pipeline, range, unwrap and offset
/// wherever the variant has them.
fn log_range(a: Args) -> Result<Val, ParseError> {
    let mut r = LogRange {
        selector: LogExpr {
            matchers: Vec::new(),
            stages: Vec::new(),
        },
        range_ns: 0,
        offset_ns: 0,
        unwrap: None,
    };
    for v in a {
        match v {
            Val::Matchers(m) => r.selector.matchers = m,
            Val::Stages(s) => r.selector.stages = s,
            Val::Dur(d) => r.range_ns = d,
            Val::Unwrap(u) => r.unwrap = Some(u),
            Val::Offset(o) => r.offset_ns = o,
            _ => {}
        }
    }
    Ok(Val::Range(Box::new(r)))
}

fn m(op: MatchOp) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let name = s(&mut a, 0);
        let value = s(&mut a, 2);
        Ok(Val::Matcher(build::matcher(op, &name, &value)?))
    }
}

fn range_agg(mut a: Args) -> Result<Val, ParseError> {
    let Val::RangeOp(op) = take(&mut a, 0) else {
        return Ok(Val::None);
    };
    let mut range = None;
    let mut param = None;
    let mut grouping = None;
    for v in a.into_iter().skip(1) {
        match v {
            Val::Range(r) => range = Some(*r),
            Val::Str(p) => param = Some(p),
            Val::Grouping(g) => grouping = Some(g),
            _ => {}
        }
    }
    let Some(range) = range else {
        return Ok(Val::None);
    };
    Ok(Val::Sample(build::range_agg(op, range, grouping, param)))
}

fn vector_agg(mut a: Args) -> Result<Val, ParseError> {
    let Val::VectorOp(op) = take(&mut a, 0) else {
        return Ok(Val::None);
    };
    let mut inner = None;
    let mut param = None;
    let mut grouping = None;
    for v in a.into_iter().skip(1) {
        match v {
            Val::Expr(PExpr::Sample(s)) | Val::Sample(s) => inner = Some(s),
            Val::Str(p) => param = Some(p),
            Val::Grouping(g) => grouping = Some(g),
            _ => {}
        }
    }
    let inner = inner.unwrap_or(Ok(SampleExpr::Literal(0.0)));
    Ok(Val::Sample(build::vector_agg(inner, op, grouping, param)))
}

fn binop(op: BinOp) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let lhs = expr(&mut a, 0);
        let (b, vm) = opts(&mut a, 2);
        let rhs = expr(&mut a, 3);
        Ok(Val::Sample(build::binop(op, b, vm, lhs, rhs)))
    }
}

fn cmp_filter(op: CmpOp) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let name = s(&mut a, 0);
        Ok(Val::Filter(match take(&mut a, 2) {
            Val::Dur(d) => LabelFilter::Duration {
                name,
                op,
                value_ns: d,
            },
            Val::Bytes(b) => LabelFilter::Bytes { name, op, value: b },
            Val::Sample(Ok(SampleExpr::Literal(v))) => LabelFilter::Number { name, op, value: v },
            Val::Sample(Err(d)) => return Err(d.err),
            _ => LabelFilter::Number {
                name,
                op,
                value: 0.0,
            },
        }))
    }
}

fn group_mod(card: Card, with_labels: bool) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let (b, mut vm) = opts(&mut a, 0);
        vm.card = card;
        if with_labels {
            vm.include = Some(strs(&mut a, 3));
        }
        Ok(Val::Opts(b, vm))
    }
}

fn on_mod(on: bool, with_labels: bool) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let (b, mut vm) = opts(&mut a, 0);
        vm.on = on;
        if with_labels {
            vm.labels = Some(strs(&mut a, 3));
        }
        Ok(Val::Opts(b, vm))
    }
}

fn grouping_rule(without: bool, with_labels: bool) -> impl Fn(Args) -> Result<Val, ParseError> {
    move |mut a| {
        let labels = if with_labels {
            strs(&mut a, 2)
        } else {
            Vec::new()
        };
        Ok(Val::Grouping(Grouping { without, labels }))
    }
}

macro_rules! act {
    ($e:expr) => {{
        // Closures without captures become plain function pointers; the factories above
        // capture only `Copy` data, so they are wrapped in a static per call site.
        fn f(a: Args) -> Result<Val, ParseError> {
            static F: LazyLock<Box<dyn Fn(Args) -> Result<Val, ParseError> + Send + Sync>> =
                LazyLock::new(|| Box::new($e));
            F(a)
        }
        f as Action
    }};
}

fn r(lhs: &'static str, rhs: &'static str, action: Action) -> RuleSpec<Action> {
    RuleSpec {
        lhs,
        rhs,
        prec: None,
        action,
    }
}

#[rustfmt::skip]
fn rules() -> Vec<RuleSpec<Action>> {
    use LineMatch as L;
    vec![
        r("$accept", "root $end", none),
        r("root", "expr", first),
        r("expr", "logExpr", first),
        r("expr", "metricExpr", first),
        r("logExpr", "selector", |mut a| Ok(Val::Expr(PExpr::Log { e: LogExpr { matchers: matchers_of(&mut a, 0), stages: Vec::new() }, pipeline: false }))),
        r("logExpr", "selector pipelineExpr", |mut a| {
            let stages = match take(&mut a, 1) { Val::Stages(s) => s, _ => Vec::new() };
            Ok(Val::Expr(PExpr::Log { e: LogExpr { matchers: matchers_of(&mut a, 0), stages }, pipeline: true }))
        }),
        r("logExpr", "OPEN_PARENTHESIS logExpr CLOSE_PARENTHESIS", second),
        r("metricExpr", "rangeAggregationExpr", first),
        r("metricExpr", "vectorAggregationExpr", first),
        r("metricExpr", "binOpExpr", first),
        r("metricExpr", "literalExpr", first),
        r("metricExpr", "labelReplaceExpr", first),
        r("metricExpr", "vectorExpr", first),
        r("metricExpr", "OPEN_PARENTHESIS metricExpr CLOSE_PARENTHESIS", second),
        r("logRangeExpr", "selector RANGE", log_range),
        r("logRangeExpr", "selector RANGE offsetExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector CLOSE_PARENTHESIS RANGE", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector CLOSE_PARENTHESIS RANGE offsetExpr", log_range),
        r("logRangeExpr", "selector RANGE unwrapExpr", log_range),
        r("logRangeExpr", "selector RANGE offsetExpr unwrapExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector CLOSE_PARENTHESIS RANGE unwrapExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector CLOSE_PARENTHESIS RANGE offsetExpr unwrapExpr", log_range),
        r("logRangeExpr", "selector unwrapExpr RANGE", log_range),
        r("logRangeExpr", "selector unwrapExpr RANGE offsetExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector unwrapExpr CLOSE_PARENTHESIS RANGE", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector unwrapExpr CLOSE_PARENTHESIS RANGE offsetExpr", log_range),
        r("logRangeExpr", "selector pipelineExpr RANGE", log_range),
        r("logRangeExpr", "selector pipelineExpr RANGE offsetExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector pipelineExpr CLOSE_PARENTHESIS RANGE", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector pipelineExpr CLOSE_PARENTHESIS RANGE offsetExpr", log_range),
        r("logRangeExpr", "selector pipelineExpr unwrapExpr RANGE", log_range),
        r("logRangeExpr", "selector pipelineExpr unwrapExpr RANGE offsetExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector pipelineExpr unwrapExpr CLOSE_PARENTHESIS RANGE", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS selector pipelineExpr unwrapExpr CLOSE_PARENTHESIS RANGE offsetExpr", log_range),
        r("logRangeExpr", "selector RANGE pipelineExpr", log_range),
        r("logRangeExpr", "selector RANGE offsetExpr pipelineExpr", log_range),
        r("logRangeExpr", "selector RANGE pipelineExpr unwrapExpr", log_range),
        r("logRangeExpr", "selector RANGE offsetExpr pipelineExpr unwrapExpr", log_range),
        r("logRangeExpr", "OPEN_PARENTHESIS logRangeExpr CLOSE_PARENTHESIS", second),
        r("logRangeExpr", "logRangeExpr error", first),
        r("unwrapExpr", "PIPE UNWRAP IDENTIFIER", |mut a| Ok(Val::Unwrap(Unwrap { label: s(&mut a, 2), conv: None, post_filters: Vec::new() }))),
        r("unwrapExpr", "PIPE UNWRAP convOp OPEN_PARENTHESIS IDENTIFIER CLOSE_PARENTHESIS", |mut a| {
            let conv = match take(&mut a, 2) { Val::Conv(c) => Some(c), _ => None };
            Ok(Val::Unwrap(Unwrap { label: s(&mut a, 4), conv, post_filters: Vec::new() }))
        }),
        r("unwrapExpr", "unwrapExpr PIPE labelFilter", |mut a| {
            let f = filter(&mut a, 2);
            match take(&mut a, 0) {
                Val::Unwrap(mut u) => { u.post_filters.push(f); Ok(Val::Unwrap(u)) }
                v => Ok(v),
            }
        }),
        r("convOp", "BYTES_CONV", |_| Ok(Val::Conv(UnwrapConv::Bytes))),
        r("convOp", "DURATION_CONV", |_| Ok(Val::Conv(UnwrapConv::Duration))),
        r("convOp", "DURATION_SECONDS_CONV", |_| Ok(Val::Conv(UnwrapConv::DurationSeconds))),
        r("rangeAggregationExpr", "rangeOp OPEN_PARENTHESIS logRangeExpr CLOSE_PARENTHESIS", range_agg),
        r("rangeAggregationExpr", "rangeOp OPEN_PARENTHESIS NUMBER COMMA logRangeExpr CLOSE_PARENTHESIS", range_agg),
        r("rangeAggregationExpr", "rangeOp OPEN_PARENTHESIS logRangeExpr CLOSE_PARENTHESIS grouping", range_agg),
        r("rangeAggregationExpr", "rangeOp OPEN_PARENTHESIS NUMBER COMMA logRangeExpr CLOSE_PARENTHESIS grouping", range_agg),
        r("vectorAggregationExpr", "vectorOp OPEN_PARENTHESIS metricExpr CLOSE_PARENTHESIS", vector_agg),
        r("vectorAggregationExpr", "vectorOp grouping OPEN_PARENTHESIS metricExpr CLOSE_PARENTHESIS", vector_agg),
        r("vectorAggregationExpr", "vectorOp OPEN_PARENTHESIS metricExpr CLOSE_PARENTHESIS grouping", vector_agg),
        r("vectorAggregationExpr", "vectorOp OPEN_PARENTHESIS NUMBER COMMA metricExpr CLOSE_PARENTHESIS", vector_agg),
        r("vectorAggregationExpr", "vectorOp OPEN_PARENTHESIS NUMBER COMMA metricExpr CLOSE_PARENTHESIS grouping", vector_agg),
        r("vectorAggregationExpr", "vectorOp grouping OPEN_PARENTHESIS NUMBER COMMA metricExpr CLOSE_PARENTHESIS", vector_agg),
        r("labelReplaceExpr", "LABEL_REPLACE OPEN_PARENTHESIS metricExpr COMMA STRING COMMA STRING COMMA STRING COMMA STRING CLOSE_PARENTHESIS", |mut a| {
            let inner = sample(&mut a, 2);
            Ok(Val::Sample(build::label_replace(inner, s(&mut a, 4), s(&mut a, 6), s(&mut a, 8), s(&mut a, 10))))
        }),
        r("selector", "OPEN_BRACE matchers CLOSE_BRACE", second),
        r("selector", "OPEN_BRACE matchers error", second),
        r("selector", "OPEN_BRACE CLOSE_BRACE", |_| Ok(Val::Matchers(Vec::new()))),
        r("matchers", "matcher", |mut a| Ok(match take(&mut a, 0) { Val::Matcher(m) => Val::Matchers(vec![m]), _ => Val::Matchers(Vec::new()) })),
        r("matchers", "matchers COMMA matcher", |mut a| {
            let mut ms = matchers_of(&mut a, 0);
            if let Val::Matcher(m) = take(&mut a, 2) { ms.push(m) }
            Ok(Val::Matchers(ms))
        }),
        r("matcher", "IDENTIFIER EQ STRING", act!(m(MatchOp::Equal))),
        r("matcher", "IDENTIFIER NEQ STRING", act!(m(MatchOp::NotEqual))),
        r("matcher", "IDENTIFIER RE STRING", act!(m(MatchOp::Regex))),
        r("matcher", "IDENTIFIER NRE STRING", act!(m(MatchOp::NotRegex))),
        r("pipelineExpr", "pipelineStage", |mut a| Ok(match take(&mut a, 0) { Val::Stage(s) => Val::Stages(vec![s]), _ => Val::Stages(Vec::new()) })),
        r("pipelineExpr", "pipelineExpr pipelineStage", |mut a| {
            let mut ss = match take(&mut a, 0) { Val::Stages(s) => s, _ => Vec::new() };
            if let Val::Stage(st) = take(&mut a, 1) { ss.push(st) }
            Ok(Val::Stages(ss))
        }),
        r("pipelineStage", "lineFilters", |mut a| Ok(Val::Stage(Stage::LineFilters(build::flatten_filters(lf(&mut a, 0)))))),
        r("pipelineStage", "PIPE logfmtParser", second),
        r("pipelineStage", "PIPE labelParser", second),
        r("pipelineStage", "PIPE jsonExpressionParser", second),
        r("pipelineStage", "PIPE logfmtExpressionParser", second),
        r("pipelineStage", "PIPE labelFilter", |mut a| Ok(Val::Stage(Stage::LabelFilter(filter(&mut a, 1))))),
        r("pipelineStage", "PIPE lineFormatExpr", second),
        r("pipelineStage", "PIPE decolorizeExpr", second),
        r("pipelineStage", "PIPE labelFormatExpr", second),
        r("pipelineStage", "PIPE dropLabelsExpr", second),
        r("pipelineStage", "PIPE keepLabelsExpr", second),
        r("filter", "PIPE_MATCH", |_| Ok(Val::LineMatch(L::Regex))),
        r("filter", "PIPE_EXACT", |_| Ok(Val::LineMatch(L::Contains))),
        r("filter", "PIPE_PATTERN", |_| Ok(Val::LineMatch(L::Pattern))),
        r("filter", "NRE", |_| Ok(Val::LineMatch(L::NotRegex))),
        r("filter", "NEQ", |_| Ok(Val::LineMatch(L::NotContains))),
        r("filter", "NPA", |_| Ok(Val::LineMatch(L::NotPattern))),
        r("filterOp", "IP", none),
        r("orFilter", "STRING", |mut a| Ok(Val::Lf(Box::new(LfNode::new(L::Contains, false, s(&mut a, 0)))))),
        r("orFilter", "STRING OR orFilter", |mut a| {
            let left = LfNode::new(L::Contains, false, s(&mut a, 0));
            Ok(Val::Lf(Box::new(build::or_filter(left, lf(&mut a, 2)))))
        }),
        r("orFilter", "filterOp OPEN_PARENTHESIS STRING CLOSE_PARENTHESIS", |mut a| Ok(Val::Lf(Box::new(LfNode::new(L::Contains, true, s(&mut a, 2)))))),
        r("lineFilter", "filter STRING", |mut a| {
            let Val::LineMatch(ty) = take(&mut a, 0) else { return Ok(Val::None) };
            Ok(Val::Lf(Box::new(LfNode::new(ty, false, s(&mut a, 1)))))
        }),
        r("lineFilter", "filter filterOp OPEN_PARENTHESIS STRING CLOSE_PARENTHESIS", |mut a| {
            let Val::LineMatch(ty) = take(&mut a, 0) else { return Ok(Val::None) };
            Ok(Val::Lf(Box::new(LfNode::new(ty, true, s(&mut a, 3)))))
        }),
        r("lineFilter", "lineFilter OR orFilter", |mut a| {
            let l = lf(&mut a, 0);
            Ok(Val::Lf(Box::new(build::or_filter(l, lf(&mut a, 2)))))
        }),
        r("lineFilters", "lineFilter", first),
        r("lineFilters", "lineFilters lineFilter", |mut a| {
            let l = lf(&mut a, 0);
            Ok(Val::Lf(Box::new(build::nested_filter(l, lf(&mut a, 1)))))
        }),
        r("parserFlags", "FUNCTION_FLAG", |mut a| Ok(Val::Strs(vec![s(&mut a, 0)]))),
        r("parserFlags", "parserFlags FUNCTION_FLAG", |mut a| {
            let mut v = strs(&mut a, 0);
            v.push(s(&mut a, 1));
            Ok(Val::Strs(v))
        }),
        r("logfmtParser", "LOGFMT", |_| Ok(Val::Stage(Stage::Logfmt { strict: false, keep_empty: false }))),
        r("logfmtParser", "LOGFMT parserFlags", |mut a| {
            let f = strs(&mut a, 1);
            Ok(Val::Stage(Stage::Logfmt { strict: f.iter().any(|x| x == "--strict"), keep_empty: f.iter().any(|x| x == "--keep-empty") }))
        }),
        r("labelParser", "JSON", |_| Ok(Val::Stage(Stage::Json))),
        r("labelParser", "REGEXP STRING", |mut a| {
            let re = s(&mut a, 1);
            build::check_regexp_parser(&re)?;
            Ok(Val::Stage(Stage::Regexp(re)))
        }),
        r("labelParser", "UNPACK", |_| Ok(Val::Stage(Stage::Unpack))),
        r("labelParser", "PATTERN STRING", |mut a| {
            let p = s(&mut a, 1);
            build::check_pattern_parser(&p)?;
            Ok(Val::Stage(Stage::Pattern(p)))
        }),
        r("jsonExpressionParser", "JSON labelExtractionExpressionList", |mut a| Ok(match take(&mut a, 1) {
            Val::Extractions(e) => Val::Stage(Stage::JsonExtract(e)),
            _ => Val::None,
        })),
        r("logfmtExpressionParser", "LOGFMT parserFlags labelExtractionExpressionList", |mut a| {
            let f = strs(&mut a, 1);
            let exprs = match take(&mut a, 2) { Val::Extractions(e) => e, _ => Vec::new() };
            Ok(Val::Stage(Stage::LogfmtExtract { exprs, strict: f.iter().any(|x| x == "--strict"), keep_empty: f.iter().any(|x| x == "--keep-empty") }))
        }),
        r("logfmtExpressionParser", "LOGFMT labelExtractionExpressionList", |mut a| {
            let exprs = match take(&mut a, 1) { Val::Extractions(e) => e, _ => Vec::new() };
            Ok(Val::Stage(Stage::LogfmtExtract { exprs, strict: false, keep_empty: false }))
        }),
        r("lineFormatExpr", "LINE_FMT STRING", |mut a| Ok(Val::Stage(Stage::LineFormat(s(&mut a, 1))))),
        r("decolorizeExpr", "DECOLORIZE", |_| Ok(Val::Stage(Stage::Decolorize))),
        r("labelFormat", "IDENTIFIER EQ IDENTIFIER", |mut a| Ok(Val::LabelFmt(LabelFmt { name: s(&mut a, 0), value: s(&mut a, 2), rename: true }))),
        r("labelFormat", "IDENTIFIER EQ STRING", |mut a| Ok(Val::LabelFmt(LabelFmt { name: s(&mut a, 0), value: s(&mut a, 2), rename: false }))),
        r("labelsFormat", "labelFormat", |mut a| Ok(match take(&mut a, 0) { Val::LabelFmt(f) => Val::LabelFmts(vec![f]), _ => Val::LabelFmts(Vec::new()) })),
        r("labelsFormat", "labelsFormat COMMA labelFormat", |mut a| {
            let mut v = match take(&mut a, 0) { Val::LabelFmts(v) => v, _ => Vec::new() };
            if let Val::LabelFmt(f) = take(&mut a, 2) { v.push(f) }
            Ok(Val::LabelFmts(v))
        }),
        r("labelsFormat", "labelsFormat COMMA error", first),
        r("labelFormatExpr", "LABEL_FMT labelsFormat", |mut a| Ok(match take(&mut a, 1) {
            Val::LabelFmts(v) => Val::Stage(Stage::LabelFormat(v)),
            _ => Val::None,
        })),
        r("labelFilter", "matcher", |mut a| Ok(Val::Filter(filter(&mut a, 0)))),
        r("labelFilter", "ipLabelFilter", first),
        r("labelFilter", "unitFilter", first),
        r("labelFilter", "numberFilter", first),
        r("labelFilter", "OPEN_PARENTHESIS labelFilter CLOSE_PARENTHESIS", second),
        r("labelFilter", "labelFilter labelFilter", |mut a| { let l = filter(&mut a, 0); Ok(Val::Filter(LabelFilter::And(Box::new(l), Box::new(filter(&mut a, 1))))) }),
        r("labelFilter", "labelFilter AND labelFilter", |mut a| { let l = filter(&mut a, 0); Ok(Val::Filter(LabelFilter::And(Box::new(l), Box::new(filter(&mut a, 2))))) }),
        r("labelFilter", "labelFilter COMMA labelFilter", |mut a| { let l = filter(&mut a, 0); Ok(Val::Filter(LabelFilter::And(Box::new(l), Box::new(filter(&mut a, 2))))) }),
        r("labelFilter", "labelFilter OR labelFilter", |mut a| { let l = filter(&mut a, 0); Ok(Val::Filter(LabelFilter::Or(Box::new(l), Box::new(filter(&mut a, 2))))) }),
        r("labelExtractionExpression", "IDENTIFIER EQ STRING", |mut a| Ok(Val::Extraction(Extraction { name: s(&mut a, 0), expr: s(&mut a, 2) }))),
        r("labelExtractionExpression", "IDENTIFIER", |mut a| { let n = s(&mut a, 0); Ok(Val::Extraction(Extraction { name: n.clone(), expr: n })) }),
        r("labelExtractionExpressionList", "labelExtractionExpression", |mut a| Ok(match take(&mut a, 0) { Val::Extraction(e) => Val::Extractions(vec![e]), _ => Val::Extractions(Vec::new()) })),
        r("labelExtractionExpressionList", "labelExtractionExpressionList COMMA labelExtractionExpression", |mut a| {
            let mut v = match take(&mut a, 0) { Val::Extractions(v) => v, _ => Vec::new() };
            if let Val::Extraction(e) = take(&mut a, 2) { v.push(e) }
            Ok(Val::Extractions(v))
        }),
        r("ipLabelFilter", "IDENTIFIER EQ IP OPEN_PARENTHESIS STRING CLOSE_PARENTHESIS", |mut a| Ok(Val::Filter(LabelFilter::Ip { name: s(&mut a, 0), equal: true, pattern: s(&mut a, 4) }))),
        r("ipLabelFilter", "IDENTIFIER NEQ IP OPEN_PARENTHESIS STRING CLOSE_PARENTHESIS", |mut a| Ok(Val::Filter(LabelFilter::Ip { name: s(&mut a, 0), equal: false, pattern: s(&mut a, 4) }))),
        r("unitFilter", "durationFilter", first),
        r("unitFilter", "bytesFilter", first),
        r("durationFilter", "IDENTIFIER GT DURATION", act!(cmp_filter(CmpOp::Gt))),
        r("durationFilter", "IDENTIFIER GTE DURATION", act!(cmp_filter(CmpOp::Ge))),
        r("durationFilter", "IDENTIFIER LT DURATION", act!(cmp_filter(CmpOp::Lt))),
        r("durationFilter", "IDENTIFIER LTE DURATION", act!(cmp_filter(CmpOp::Le))),
        r("durationFilter", "IDENTIFIER NEQ DURATION", act!(cmp_filter(CmpOp::Ne))),
        r("durationFilter", "IDENTIFIER EQ DURATION", act!(cmp_filter(CmpOp::Eq))),
        r("durationFilter", "IDENTIFIER CMP_EQ DURATION", act!(cmp_filter(CmpOp::Eq))),
        r("bytesFilter", "IDENTIFIER GT BYTES", act!(cmp_filter(CmpOp::Gt))),
        r("bytesFilter", "IDENTIFIER GTE BYTES", act!(cmp_filter(CmpOp::Ge))),
        r("bytesFilter", "IDENTIFIER LT BYTES", act!(cmp_filter(CmpOp::Lt))),
        r("bytesFilter", "IDENTIFIER LTE BYTES", act!(cmp_filter(CmpOp::Le))),
        r("bytesFilter", "IDENTIFIER NEQ BYTES", act!(cmp_filter(CmpOp::Ne))),
        r("bytesFilter", "IDENTIFIER EQ BYTES", act!(cmp_filter(CmpOp::Eq))),
        r("bytesFilter", "IDENTIFIER CMP_EQ BYTES", act!(cmp_filter(CmpOp::Eq))),
        r("numberFilter", "IDENTIFIER GT literalExpr", act!(cmp_filter(CmpOp::Gt))),
        r("numberFilter", "IDENTIFIER GTE literalExpr", act!(cmp_filter(CmpOp::Ge))),
        r("numberFilter", "IDENTIFIER LT literalExpr", act!(cmp_filter(CmpOp::Lt))),
        r("numberFilter", "IDENTIFIER LTE literalExpr", act!(cmp_filter(CmpOp::Le))),
        r("numberFilter", "IDENTIFIER NEQ literalExpr", act!(cmp_filter(CmpOp::Ne))),
        r("numberFilter", "IDENTIFIER EQ literalExpr", act!(cmp_filter(CmpOp::Eq))),
        r("numberFilter", "IDENTIFIER CMP_EQ literalExpr", act!(cmp_filter(CmpOp::Eq))),
        r("namedMatcher", "IDENTIFIER", |mut a| Ok(Val::Named(NamedMatcher::Name(s(&mut a, 0))))),
        r("namedMatcher", "matcher", |mut a| Ok(match take(&mut a, 0) { Val::Matcher(m) => Val::Named(NamedMatcher::Matcher(m)), _ => Val::None })),
        r("namedMatchers", "namedMatcher", |mut a| Ok(match take(&mut a, 0) { Val::Named(n) => Val::Nameds(vec![n]), _ => Val::Nameds(Vec::new()) })),
        r("namedMatchers", "namedMatchers COMMA namedMatcher", |mut a| {
            let mut v = match take(&mut a, 0) { Val::Nameds(v) => v, _ => Vec::new() };
            if let Val::Named(n) = take(&mut a, 2) { v.push(n) }
            Ok(Val::Nameds(v))
        }),
        r("dropLabelsExpr", "DROP namedMatchers", |mut a| Ok(match take(&mut a, 1) { Val::Nameds(v) => Val::Stage(Stage::Drop(v)), _ => Val::None })),
        r("keepLabelsExpr", "KEEP namedMatchers", |mut a| Ok(match take(&mut a, 1) { Val::Nameds(v) => Val::Stage(Stage::Keep(v)), _ => Val::None })),
        r("binOpExpr", "expr OR binOpModifier expr", act!(binop(BinOp::Or))),
        r("binOpExpr", "expr AND binOpModifier expr", act!(binop(BinOp::And))),
        r("binOpExpr", "expr UNLESS binOpModifier expr", act!(binop(BinOp::Unless))),
        r("binOpExpr", "expr ADD binOpModifier expr", act!(binop(BinOp::Add))),
        r("binOpExpr", "expr SUB binOpModifier expr", act!(binop(BinOp::Sub))),
        r("binOpExpr", "expr MUL binOpModifier expr", act!(binop(BinOp::Mul))),
        r("binOpExpr", "expr DIV binOpModifier expr", act!(binop(BinOp::Div))),
        r("binOpExpr", "expr MOD binOpModifier expr", act!(binop(BinOp::Mod))),
        r("binOpExpr", "expr POW binOpModifier expr", act!(binop(BinOp::Pow))),
        r("binOpExpr", "expr CMP_EQ binOpModifier expr", act!(binop(BinOp::Eq))),
        r("binOpExpr", "expr NEQ binOpModifier expr", act!(binop(BinOp::Ne))),
        r("binOpExpr", "expr GT binOpModifier expr", act!(binop(BinOp::Gt))),
        r("binOpExpr", "expr GTE binOpModifier expr", act!(binop(BinOp::Ge))),
        r("binOpExpr", "expr LT binOpModifier expr", act!(binop(BinOp::Lt))),
        r("binOpExpr", "expr LTE binOpModifier expr", act!(binop(BinOp::Le))),
        r("boolModifier", "", |_| Ok(Val::Opts(false, VectorMatching::default()))),
        r("boolModifier", "BOOL", |_| Ok(Val::Opts(true, VectorMatching::default()))),
        r("onOrIgnoringModifier", "boolModifier ON OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(on_mod(true, true))),
        r("onOrIgnoringModifier", "boolModifier ON OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(on_mod(true, false))),
        r("onOrIgnoringModifier", "boolModifier IGNORING OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(on_mod(false, true))),
        r("onOrIgnoringModifier", "boolModifier IGNORING OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(on_mod(false, false))),
        r("binOpModifier", "boolModifier", first),
        r("binOpModifier", "onOrIgnoringModifier", first),
        r("binOpModifier", "onOrIgnoringModifier GROUP_LEFT", act!(group_mod(Card::ManyToOne, false))),
        r("binOpModifier", "onOrIgnoringModifier GROUP_LEFT OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(group_mod(Card::ManyToOne, false))),
        r("binOpModifier", "onOrIgnoringModifier GROUP_LEFT OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(group_mod(Card::ManyToOne, true))),
        r("binOpModifier", "onOrIgnoringModifier GROUP_RIGHT", act!(group_mod(Card::OneToMany, false))),
        r("binOpModifier", "onOrIgnoringModifier GROUP_RIGHT OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(group_mod(Card::OneToMany, false))),
        r("binOpModifier", "onOrIgnoringModifier GROUP_RIGHT OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(group_mod(Card::OneToMany, true))),
        r("literalExpr", "NUMBER", |mut a| Ok(Val::Sample(build::literal(&s(&mut a, 0), false)))),
        r("literalExpr", "ADD NUMBER", |mut a| Ok(Val::Sample(build::literal(&s(&mut a, 1), false)))),
        r("literalExpr", "SUB NUMBER", |mut a| Ok(Val::Sample(build::literal(&s(&mut a, 1), true)))),
        r("vectorExpr", "vector OPEN_PARENTHESIS NUMBER CLOSE_PARENTHESIS", |mut a| Ok(Val::Sample(build::vector(&s(&mut a, 2))))),
        r("vector", "VECTOR", none),
        r("vectorOp", "SUM", |_| Ok(Val::VectorOp(VectorOp::Sum))),
        r("vectorOp", "AVG", |_| Ok(Val::VectorOp(VectorOp::Avg))),
        r("vectorOp", "COUNT", |_| Ok(Val::VectorOp(VectorOp::Count))),
        r("vectorOp", "MAX", |_| Ok(Val::VectorOp(VectorOp::Max))),
        r("vectorOp", "MIN", |_| Ok(Val::VectorOp(VectorOp::Min))),
        r("vectorOp", "STDDEV", |_| Ok(Val::VectorOp(VectorOp::Stddev))),
        r("vectorOp", "STDVAR", |_| Ok(Val::VectorOp(VectorOp::Stdvar))),
        r("vectorOp", "BOTTOMK", |_| Ok(Val::VectorOp(VectorOp::Bottomk))),
        r("vectorOp", "TOPK", |_| Ok(Val::VectorOp(VectorOp::Topk))),
        r("vectorOp", "SORT", |_| Ok(Val::VectorOp(VectorOp::Sort))),
        r("vectorOp", "SORT_DESC", |_| Ok(Val::VectorOp(VectorOp::SortDesc))),
        r("vectorOp", "APPROX_TOPK", |_| Ok(Val::VectorOp(VectorOp::ApproxTopk))),
        r("rangeOp", "COUNT_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Count))),
        r("rangeOp", "RATE", |_| Ok(Val::RangeOp(RangeOp::Rate))),
        r("rangeOp", "RATE_COUNTER", |_| Ok(Val::RangeOp(RangeOp::RateCounter))),
        r("rangeOp", "BYTES_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Bytes))),
        r("rangeOp", "BYTES_RATE", |_| Ok(Val::RangeOp(RangeOp::BytesRate))),
        r("rangeOp", "AVG_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Avg))),
        r("rangeOp", "SUM_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Sum))),
        r("rangeOp", "MIN_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Min))),
        r("rangeOp", "MAX_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Max))),
        r("rangeOp", "STDVAR_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Stdvar))),
        r("rangeOp", "STDDEV_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Stddev))),
        r("rangeOp", "QUANTILE_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Quantile))),
        r("rangeOp", "FIRST_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::First))),
        r("rangeOp", "LAST_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Last))),
        r("rangeOp", "ABSENT_OVER_TIME", |_| Ok(Val::RangeOp(RangeOp::Absent))),
        r("offsetExpr", "OFFSET DURATION", |a| Ok(Val::Offset(dur(&a, 1)))),
        r("labels", "IDENTIFIER", |mut a| Ok(Val::Strs(vec![s(&mut a, 0)]))),
        r("labels", "labels COMMA IDENTIFIER", |mut a| { let mut v = strs(&mut a, 0); v.push(s(&mut a, 2)); Ok(Val::Strs(v)) }),
        r("grouping", "BY OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(grouping_rule(false, true))),
        r("grouping", "WITHOUT OPEN_PARENTHESIS labels CLOSE_PARENTHESIS", act!(grouping_rule(true, true))),
        r("grouping", "BY OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(grouping_rule(false, false))),
        r("grouping", "WITHOUT OPEN_PARENTHESIS CLOSE_PARENTHESIS", act!(grouping_rule(true, false))),
    ]
}

/// Precedence levels as Loki declares them, lowest first.
fn precedences() -> Vec<(u8, Assoc)> {
    let mut p = vec![(0, Assoc::Left); t::N_TERMS];
    let levels: [(&[u8], Assoc); 6] = [
        (&[t::OR], Assoc::Left),
        (&[t::AND, t::UNLESS], Assoc::Left),
        (
            &[t::CMP_EQ, t::NEQ, t::LT, t::LTE, t::GT, t::GTE],
            Assoc::Left,
        ),
        (&[t::ADD, t::SUB], Assoc::Left),
        (&[t::MUL, t::DIV, t::MOD], Assoc::Left),
        (&[t::POW], Assoc::Right),
    ];
    for (i, (toks, assoc)) in levels.iter().enumerate() {
        for &k in *toks {
            p[k as usize] = (i as u8 + 1, *assoc);
        }
    }
    p
}

/// The grammar, built once.
pub(crate) static GRAMMAR: LazyLock<Grammar<Action>> =
    LazyLock::new(|| Grammar::new(rules(), t::terminal, t::NAMES, &precedences()));
