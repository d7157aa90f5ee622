//! The constructors the grammar's actions call, with Loki's checks and messages. Loki reports
//! some errors at once (bad regular expressions in matchers, bad parser patterns) and defers
//! others until the tree is complete (bad parameters, illegal groupings); deferred errors
//! surface in tree order, which [`PSample`] keeps by carrying a subtree's first error upwards.

use cairn_model::{MatchOp, Matcher};

use crate::error::ParseError;
use crate::gofmt;
use crate::pattern;

use super::ast::*;

/// A failed metric subtree, reported only once the parse is complete.
#[derive(Clone, Debug)]
pub(crate) struct Deferred {
    pub(crate) err: ParseError,
    /// Whether the failed node was a number literal (Loki checks literals specially).
    pub(crate) literal: bool,
}

/// A metric subtree, or its first deferred error.
pub(crate) type PSample = Result<SampleExpr, Deferred>;

/// What `expr` derives during parsing.
#[derive(Clone, Debug)]
pub(crate) enum PExpr {
    Log { e: LogExpr, pipeline: bool },
    Sample(PSample),
}

fn deferred(msg: impl Into<String>) -> Deferred {
    Deferred {
        err: ParseError::unpositioned(msg),
        literal: false,
    }
}

/// Go's regexp error text for a pattern Rust's regex refuses: `error parsing regexp: <code>:
/// `<fragment>``.
pub(crate) fn go_regex_error(pattern: &str, err: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let mut p = regex_syntax::ast::parse::Parser::new();
    if let Err(e) = p.parse(pattern) {
        let span = e.span();
        let frag = pattern
            .get(span.start.offset..span.end.offset)
            .unwrap_or(pattern);
        let rest = pattern.get(span.start.offset..).unwrap_or(pattern);
        let (code, text) = match e.kind() {
            K::GroupUnclosed => ("missing closing )", pattern),
            K::GroupUnopened => ("unexpected )", pattern),
            K::ClassUnclosed => ("missing closing ]", rest),
            K::EscapeUnrecognized | K::EscapeUnexpectedEof => ("invalid escape sequence", frag),
            K::ClassRangeInvalid => ("invalid character class range", frag),
            K::RepetitionMissing => ("missing argument to repetition operator", frag),
            K::RepetitionCountInvalid | K::RepetitionCountUnclosed => {
                ("invalid repeat count", frag)
            }
            K::GroupNameInvalid | K::GroupNameEmpty | K::GroupNameDuplicate { .. } => {
                ("invalid named capture", frag)
            }
            K::FlagUnrecognized | K::FlagDanglingNegation | K::FlagRepeatedNegation { .. } => {
                ("invalid or unsupported Perl syntax", frag)
            }
            _ => return format!("error parsing regexp: {err}"),
        };
        return format!("error parsing regexp: {code}: `{text}`");
    }
    format!("error parsing regexp: {err}")
}

/// Compiles `pattern` with Go's RE2 semantics; errors in Go's words.
pub(crate) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| go_regex_error(pattern, &e))
}

/// Prometheus' `labels.NewMatcher`; a bad regular expression aborts the parse.
pub(crate) fn matcher(op: MatchOp, name: &str, value: &str) -> Result<Matcher, ParseError> {
    Matcher::new(op, name, value).map_err(|_| {
        let re = format!("^(?s:{value})$");
        let msg = match regex::Regex::new(&re) {
            Err(e) => go_regex_error(value, &e),
            Ok(_) => format!("invalid regular expression {value:?}"),
        };
        ParseError::unpositioned(msg)
    })
}

/// Loki's check that a selector cannot select every stream.
pub(crate) fn validate_matchers(ms: &[Matcher]) -> Result<(), ParseError> {
    if ms.iter().any(|m| !m.matches_empty()) {
        Ok(())
    } else {
        Err(ParseError::unpositioned(
            "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will",
        ))
    }
}

/// A line filter node in Loki's tree shape; `or` chains and the rewriting of negated
/// alternatives are reproduced on it, then it is flattened into [`LineFilter`]s.
#[derive(Clone, Debug)]
pub(crate) struct LfNode {
    pub(crate) ty: LineMatch,
    pub(crate) arg: LineFilterArg,
    pub(crate) left: Option<Box<LfNode>>,
    pub(crate) or: Option<Box<LfNode>>,
    pub(crate) is_or_child: bool,
}

impl LfNode {
    pub(crate) fn new(ty: LineMatch, ip: bool, value: String) -> Self {
        LfNode {
            ty,
            arg: LineFilterArg { ip, value },
            left: None,
            or: None,
            is_or_child: false,
        }
    }
}

/// Loki's `newOrLineFilterExpr`.
pub(crate) fn or_filter(mut left: LfNode, mut right: LfNode) -> LfNode {
    right.ty = left.ty;
    let mut tmp = &mut right;
    while let Some(ref mut o) = tmp.or {
        o.ty = left.ty;
        tmp = o;
    }
    if left.ty.is_positive() {
        right.is_or_child = true;
        let mut tail = &mut left;
        while tail.or.is_some() {
            tail = tail.or.as_mut().expect("checked");
        }
        tail.or = Some(Box::new(right));
        return left;
    }
    nested_filter(left, right)
}

/// Loki's `newNestedLineFilterExpr`.
pub(crate) fn nested_filter(left: LfNode, mut right: LfNode) -> LfNode {
    if right.or.is_some() && !right.ty.is_positive() {
        let mut tmp = right.or.take().expect("checked");
        tmp.is_or_child = false;
        right = nested_filter(right, *tmp);
    }
    let left = match right.left.take() {
        Some(rl) => nested_filter(left, *rl),
        None => left,
    };
    LfNode {
        ty: right.ty,
        arg: right.arg,
        left: Some(Box::new(left)),
        or: right.or,
        is_or_child: right.is_or_child,
    }
}

/// Flattens a node chain, leftmost filter first.
pub(crate) fn flatten_filters(node: LfNode) -> Vec<LineFilter> {
    let mut out = Vec::new();
    let mut cur = Some(Box::new(node));
    while let Some(mut n) = cur {
        let mut args = vec![n.arg.clone()];
        let mut o = n.or.take();
        while let Some(mut on) = o {
            args.push(on.arg.clone());
            o = on.or.take();
        }
        out.push(LineFilter { op: n.ty, args });
        cur = n.left.take();
    }
    out.reverse();
    out
}

/// Loki's `mustNewLiteralExpr`.
pub(crate) fn literal(text: &str, negate: bool) -> PSample {
    match gofmt::parse_float(text) {
        Ok(v) => Ok(SampleExpr::Literal(if negate { -v } else { v })),
        Err(e) => Err(Deferred {
            err: ParseError::unpositioned(format!("unable to parse literal as a float: {e}")),
            literal: true,
        }),
    }
}

/// Loki's `NewVectorExpr`.
pub(crate) fn vector(text: &str) -> PSample {
    gofmt::parse_float(text)
        .map(SampleExpr::VectorLit)
        .map_err(|e| deferred(format!("unable to parse vectorExpr as a float: {e}")))
}

/// Loki's `newRangeAggregationExpr` with its validation.
pub(crate) fn range_agg(
    op: RangeOp,
    range: LogRange,
    grouping: Option<Grouping>,
    param: Option<String>,
) -> PSample {
    use RangeOp::*;
    let name = op.as_str();
    let param = match param {
        Some(p) => {
            if op != Quantile {
                return Err(deferred(format!(
                    "parameter {p} not supported for operation {name}"
                )));
            }
            match gofmt::parse_float(&p) {
                Ok(v) => Some(v),
                Err(e) => {
                    return Err(deferred(format!(
                        "invalid parameter for operation {name}: {e}"
                    )));
                }
            }
        }
        None if op == Quantile => {
            return Err(deferred(format!("parameter required for operation {name}")));
        }
        None => None,
    };
    if grouping.is_some()
        && !matches!(
            op,
            Avg | Stddev | Stdvar | Quantile | Max | Min | First | Last
        )
    {
        return Err(deferred(format!(
            "grouping not allowed for {name} aggregation"
        )));
    }
    if range.unwrap.is_some() {
        if !matches!(
            op,
            Avg | Sum
                | Max
                | Min
                | Stddev
                | Stdvar
                | Quantile
                | Rate
                | RateCounter
                | Absent
                | First
                | Last
        ) {
            return Err(deferred(format!("invalid aggregation {name} with unwrap")));
        }
    } else if !matches!(op, Bytes | BytesRate | Count | Rate | Absent) {
        return Err(deferred(format!(
            "invalid aggregation {name} without unwrap"
        )));
    }
    validate_matchers(&range.selector.matchers).map_err(|err| Deferred {
        err,
        literal: false,
    })?;
    Ok(SampleExpr::Range(Box::new(RangeAgg {
        op,
        param,
        range,
        grouping,
    })))
}

/// Go's `strconv.Atoi`.
fn atoi(s: &str) -> Option<i64> {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Loki's `mustNewVectorAggregationExpr` and the sort grouping check.
pub(crate) fn vector_agg(
    inner: PSample,
    op: VectorOp,
    grouping: Option<Grouping>,
    param: Option<String>,
) -> PSample {
    use VectorOp::*;
    let name = op.as_str();
    let mut k = 0;
    match op {
        Bottomk | Topk | ApproxTopk => {
            let Some(p) = param else {
                return Err(deferred(format!("parameter required for operation {name}")));
            };
            let Some(v) = atoi(&p) else {
                return Err(deferred(format!("invalid parameter {name}({p},")));
            };
            if v <= 0 {
                return Err(deferred(format!(
                    "invalid parameter (must be greater than 0) {name}({p}"
                )));
            }
            if op == ApproxTopk && grouping.is_some() {
                return Err(deferred(format!(
                    "grouping not allowed for {name} aggregation"
                )));
            }
            k = v;
        }
        _ => {
            if let Some(p) = param {
                return Err(deferred(format!(
                    "unsupported parameter for operation {name}({p},"
                )));
            }
        }
    }
    let grouping = grouping.unwrap_or_default();
    if matches!(op, Sort | SortDesc) && !grouping.labels.is_empty() {
        return Err(deferred("sort and sort_desc doesn't allow grouping by "));
    }
    Ok(SampleExpr::Vector(VectorAgg {
        op,
        param: k,
        grouping,
        inner: Box::new(inner?),
    }))
}

/// Loki's `mustNewLabelReplaceExpr`.
pub(crate) fn label_replace(
    inner: PSample,
    dst: String,
    replacement: String,
    src: String,
    regex: String,
) -> PSample {
    let re = compile_regex(&format!("^(?:{regex})$")).map_err(|e| {
        // The message quotes the user's pattern, not the anchored one.
        let msg = match compile_regex(&regex) {
            Err(inner) => inner,
            Ok(_) => e,
        };
        deferred(format!("invalid regex in label_replace: {msg}"))
    })?;
    Ok(SampleExpr::LabelReplace(Box::new(LabelReplace {
        inner: inner?,
        dst,
        replacement,
        src,
        regex,
        re,
    })))
}

/// Merges two numbers the way Loki folds `1 + 2` at parse time (comparisons give 0 or 1,
/// division and modulo by zero give NaN).
pub(crate) fn fold(op: BinOp, l: f64, r: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => {
            if r == 0.0 {
                f64::NAN
            } else {
                l / r
            }
        }
        BinOp::Mod => {
            if r == 0.0 {
                f64::NAN
            } else {
                l % r
            }
        }
        BinOp::Pow => l.powf(r),
        BinOp::Eq => b(l == r),
        BinOp::Ne => b(l != r),
        BinOp::Gt => b(l > r),
        BinOp::Ge => b(l >= r),
        BinOp::Lt => b(l < r),
        BinOp::Le => b(l <= r),
        BinOp::Or | BinOp::And | BinOp::Unless => f64::NAN,
    }
}

/// Loki's `mustNewBinOpExpr`.
pub(crate) fn binop(
    op: BinOp,
    return_bool: bool,
    matching: VectorMatching,
    lhs: PExpr,
    rhs: PExpr,
) -> PSample {
    let s = op.as_str();
    let leg = |side: &str, e: &PExpr| -> Option<Deferred> {
        match e {
            PExpr::Log { pipeline, .. } => Some(deferred(format!(
                "unexpected type for {side} leg of binary operation ({s}): *syntax.{}",
                if *pipeline {
                    "PipelineExpr"
                } else {
                    "MatchersExpr"
                }
            ))),
            PExpr::Sample(_) => None,
        }
    };
    if let Some(d) = leg("left", &lhs) {
        return Err(d);
    }
    if let Some(d) = leg("right", &rhs) {
        return Err(d);
    }
    let (PExpr::Sample(l), PExpr::Sample(r)) = (lhs, rhs) else {
        unreachable!("log legs refused above");
    };
    let lit = |x: &PSample| -> Option<Result<f64, Deferred>> {
        match x {
            Ok(SampleExpr::Literal(v)) => Some(Ok(*v)),
            Err(d) if d.literal => Some(Err(d.clone())),
            _ => None,
        }
    };
    let lv = match lit(&l) {
        Some(Err(d)) => {
            return Err(Deferred {
                literal: false,
                ..d
            });
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    let rv = match lit(&r) {
        Some(Err(d)) => {
            return Err(Deferred {
                literal: false,
                ..d
            });
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    if op.is_set() {
        if let Some(v) = lv {
            return Err(deferred(format!(
                "unexpected literal for left leg of logical/set binary operation ({s}): {}",
                gofmt::float_6(v)
            )));
        }
        if let Some(v) = rv {
            return Err(deferred(format!(
                "unexpected literal for right leg of logical/set binary operation ({s}): {}",
                gofmt::float_6(v)
            )));
        }
    }
    if let (Some(a), Some(b)) = (lv, rv) {
        return Ok(SampleExpr::Literal(fold(op, a, b)));
    }
    let l = l.map_err(|d| Deferred {
        literal: false,
        ..d
    })?;
    let r = r.map_err(|d| Deferred {
        literal: false,
        ..d
    })?;
    Ok(SampleExpr::BinOp(Box::new(BinOpExpr {
        op,
        return_bool,
        matching,
        lhs: l,
        rhs: r,
    })))
}

/// Checks a `| regexp` parser's expression as Loki does at parse time.
pub(crate) fn check_regexp_parser(re: &str) -> Result<(), ParseError> {
    regexp_parser_names(re)
        .map(|_| ())
        .map_err(|e| ParseError::unpositioned(format!("invalid regexp parser: {e}")))
}

/// The named groups of a `| regexp` expression, checked as Loki checks them.
pub(crate) fn regexp_parser_names(re: &str) -> Result<regex::Regex, String> {
    let compiled = match compile_regex(re) {
        Ok(c) => c,
        Err(e) => {
            // Go compiles repeated group names; Loki then refuses them by name.
            let mut p = regex_syntax::ast::parse::Parser::new();
            if let Err(err) = p.parse(re)
                && let regex_syntax::ast::ErrorKind::GroupNameDuplicate { .. } = err.kind()
            {
                let span = err.span();
                let name = re.get(span.start.offset..span.end.offset).unwrap_or(re);
                return Err(format!("duplicate extracted label name '{name}'"));
            }
            return Err(e);
        }
    };
    if compiled.captures_len() <= 1 {
        return Err("at least one named capture must be supplied".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut any = false;
    for n in compiled.capture_names().flatten() {
        any = true;
        if !valid_label_name(n) {
            return Err(format!("invalid extracted label name '{n}'"));
        }
        if !seen.insert(n) {
            return Err(format!("duplicate extracted label name '{n}'"));
        }
    }
    if !any {
        return Err("at least one named capture must be supplied".into());
    }
    Ok(compiled)
}

/// Checks a `| pattern` expression as Loki does at parse time.
pub(crate) fn check_pattern_parser(p: &str) -> Result<(), ParseError> {
    let m = pattern::Pattern::parse(p)
        .map_err(|e| ParseError::unpositioned(format!("invalid pattern parser: {e}")))?;
    for n in m.names() {
        if !valid_label_name(n) {
            return Err(ParseError::unpositioned(format!(
                "invalid pattern parser: invalid capture label name '{n}'"
            )));
        }
    }
    Ok(())
}

/// Prometheus' UTF-8 label name rule: non-empty valid UTF-8 (always true for `&str`).
pub(crate) fn valid_label_name(n: &str) -> bool {
    !n.is_empty()
}
