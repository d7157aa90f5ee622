//! Evaluation of a TraceQL search over one trace, as Tempo's engine runs it
//! (`pkg/traceql/ast_execute.go`): the pipeline starts from one spanset holding every span of
//! the trace, and each stage turns spansets into spansets.
//!
//! A query is compiled once ([`Compiled::new`]: type checked, regexes built) and then run over
//! any number of traces ([`Compiled::evaluate`]). Spans are numbered by their position in a
//! [`TraceIndex`], which also holds the tree the parent ids draw for the structural operators.

mod field;
mod index;
mod value;

pub use index::{SpanRef, TraceIndex};
pub use value::{EvalError, Value};

use cairn_model::Trace;

use crate::{
    Aggregate, AggregateOp, Attribute, BinaryOp, Error, Expr, FieldExpr, Pipeline, Query, Result,
    ScalarExpr, SpansetExpr, SpansetOp, Stage,
};
use field::{CField, single_value};
pub(crate) use field::{kind, static_value, status};
pub(crate) use value::{binary, compile_regex};

/// Spans of one trace that a query matched together, with what the pipeline computed about
/// them (`by()` values, aggregates).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanset<'a> {
    /// The spans, as positions in the trace's [`TraceIndex`].
    pub spans: Vec<usize>,
    /// The last aggregate computed over the spanset (`count()`...), if any.
    pub scalar: Option<Value<'a>>,
    /// Named values: `by(x)` and aggregates (`count()`), in the order they were added.
    pub attributes: Vec<(String, Value<'a>)>,
}

impl<'a> Spanset<'a> {
    fn with_spans(&self, spans: Vec<usize>) -> Spanset<'a> {
        Spanset {
            spans,
            scalar: self.scalar.clone(),
            attributes: self.attributes.clone(),
        }
    }

    fn set_attribute(&mut self, name: String, v: Value<'a>) {
        match self.attributes.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => self.attributes.push((name, v)),
        }
    }
}

/// What a search matched in one trace: the trace's index and the spansets.
#[derive(Debug)]
pub struct Matches<'a> {
    /// The trace, indexed; span numbers in the spansets are positions in it.
    pub index: TraceIndex<'a>,
    /// The spansets, none of them empty.
    pub spansets: Vec<Spanset<'a>>,
}

/// A search query ready to run over many traces.
#[derive(Debug, Clone)]
pub struct Compiled {
    pipeline: CPipeline,
    attributes: Vec<Attribute>,
}

#[derive(Debug, Clone)]
struct CPipeline {
    stages: Vec<CStage>,
}

#[derive(Debug, Clone)]
enum CStage {
    Spanset(CSpanset),
    ScalarFilter {
        op: BinaryOp,
        lhs: CScalar,
        rhs: CScalar,
    },
    By {
        expr: CField,
        label: String,
    },
    Coalesce,
    Select,
}

#[derive(Debug, Clone)]
enum CSpanset {
    Filter(CField),
    Op {
        op: SpansetOp,
        lhs: Box<CSpanset>,
        rhs: Box<CSpanset>,
    },
    Pipeline(CPipeline),
}

#[derive(Debug, Clone)]
enum CScalar {
    Aggregate {
        op: AggregateOp,
        expr: Option<CField>,
        label: String,
    },
    Static(Value<'static>),
    Op {
        op: BinaryOp,
        lhs: Box<CScalar>,
        rhs: Box<CScalar>,
    },
}

fn eval_err(e: EvalError) -> Error {
    Error::Eval(e.to_string())
}

impl Compiled {
    /// Type checks a search query and prepares it. Metrics queries are refused: they run
    /// through [`crate::MetricsEvaluator`].
    pub fn new(q: &Query) -> Result<Compiled> {
        crate::validate(q)?;
        match &q.expr {
            Expr::Spans(p) => Compiled::from_pipeline(p),
            Expr::Metrics(_) => Err(Error::Invalid(
                "a metrics query cannot run as a search".into(),
            )),
        }
    }

    /// Prepares a (validated) pipeline.
    pub(crate) fn from_pipeline(p: &Pipeline) -> Result<Compiled> {
        let pipeline = compile_pipeline(p).map_err(|e| match e {
            EvalError::Unsupported(what) => Error::Unsupported(what),
            other => eval_err(other),
        })?;
        let mut attributes = Vec::new();
        collect_pipeline(p, &mut attributes);
        Ok(Compiled {
            pipeline,
            attributes,
        })
    }

    /// Every attribute and intrinsic the query reads or selects, in query order: what a
    /// search result shows for each span.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// Runs the query over a trace.
    pub fn evaluate<'a>(&self, trace: &'a Trace) -> Result<Matches<'a>> {
        let index = TraceIndex::new(trace);
        let spansets = self.evaluate_index(&index)?;
        Ok(Matches { index, spansets })
    }

    /// Runs the query over an indexed trace.
    pub fn evaluate_index<'a>(&self, ix: &TraceIndex<'a>) -> Result<Vec<Spanset<'a>>> {
        if ix.is_empty() {
            return Ok(Vec::new());
        }
        let all = Spanset {
            spans: (0..ix.len()).collect(),
            scalar: None,
            attributes: Vec::new(),
        };
        let mut out = self.pipeline.eval(ix, vec![all]).map_err(eval_err)?;
        out.retain(|s| !s.spans.is_empty());
        Ok(out)
    }
}

/// Compiles and runs a search query over one trace.
pub fn evaluate<'a>(q: &Query, trace: &'a Trace) -> Result<Matches<'a>> {
    Compiled::new(q)?.evaluate(trace)
}

fn compile_pipeline(p: &Pipeline) -> Result<CPipeline, EvalError> {
    let stages = p
        .stages
        .iter()
        .map(|s| {
            Ok(match s {
                Stage::Spanset(e) => CStage::Spanset(compile_spanset(e)?),
                Stage::ScalarFilter(f) => CStage::ScalarFilter {
                    op: f.op,
                    lhs: compile_scalar(&f.lhs)?,
                    rhs: compile_scalar(&f.rhs)?,
                },
                Stage::By(e) => CStage::By {
                    expr: CField::compile(e)?,
                    label: format!("by({e})"),
                },
                Stage::Coalesce => CStage::Coalesce,
                Stage::Select(_) => CStage::Select,
            })
        })
        .collect::<Result<_, EvalError>>()?;
    Ok(CPipeline { stages })
}

fn compile_spanset(e: &SpansetExpr) -> Result<CSpanset, EvalError> {
    Ok(match e {
        SpansetExpr::Filter(f) => CSpanset::Filter(CField::compile(&f.expr)?),
        SpansetExpr::Op { op, lhs, rhs } => CSpanset::Op {
            op: *op,
            lhs: Box::new(compile_spanset(lhs)?),
            rhs: Box::new(compile_spanset(rhs)?),
        },
        SpansetExpr::Pipeline(p) => CSpanset::Pipeline(compile_pipeline(p)?),
    })
}

fn compile_aggregate(a: &Aggregate) -> Result<CScalar, EvalError> {
    Ok(CScalar::Aggregate {
        op: a.op,
        expr: a.expr.as_ref().map(CField::compile).transpose()?,
        label: a.to_string(),
    })
}

fn compile_scalar(e: &ScalarExpr) -> Result<CScalar, EvalError> {
    Ok(match e {
        ScalarExpr::Aggregate(a) => compile_aggregate(a)?,
        ScalarExpr::Static(s) => CScalar::Static(static_value(s)),
        ScalarExpr::Op { op, lhs, rhs } => CScalar::Op {
            op: *op,
            lhs: Box::new(compile_scalar(lhs)?),
            rhs: Box::new(compile_scalar(rhs)?),
        },
        // `({ a } | count()) > 1`: Tempo's engine runs none of these.
        ScalarExpr::Pipeline { .. } => {
            return Err(EvalError::Unsupported(format!("scalar filter lhs ({e})")));
        }
    })
}

fn collect_field(e: &FieldExpr, out: &mut Vec<Attribute>) {
    match e {
        FieldExpr::Static(_) => {}
        FieldExpr::Attribute(a) => {
            if !out.contains(a) {
                out.push(a.clone())
            }
        }
        FieldExpr::Binary { lhs, rhs, .. } => {
            collect_field(lhs, out);
            collect_field(rhs, out);
        }
        FieldExpr::Unary { expr, .. } => collect_field(expr, out),
    }
}

fn collect_scalar(e: &ScalarExpr, out: &mut Vec<Attribute>) {
    match e {
        ScalarExpr::Aggregate(a) => {
            if let Some(x) = &a.expr {
                collect_field(x, out)
            }
        }
        ScalarExpr::Static(_) => {}
        ScalarExpr::Op { lhs, rhs, .. } => {
            collect_scalar(lhs, out);
            collect_scalar(rhs, out);
        }
        ScalarExpr::Pipeline {
            pipeline,
            aggregate,
        } => {
            collect_pipeline(pipeline, out);
            if let Some(x) = &aggregate.expr {
                collect_field(x, out)
            }
        }
    }
}

fn collect_spanset(e: &SpansetExpr, out: &mut Vec<Attribute>) {
    match e {
        SpansetExpr::Filter(f) => collect_field(&f.expr, out),
        SpansetExpr::Op { lhs, rhs, .. } => {
            collect_spanset(lhs, out);
            collect_spanset(rhs, out);
        }
        SpansetExpr::Pipeline(p) => collect_pipeline(p, out),
    }
}

pub(crate) fn collect_pipeline(p: &Pipeline, out: &mut Vec<Attribute>) {
    for s in &p.stages {
        match s {
            Stage::Spanset(e) => collect_spanset(e, out),
            Stage::ScalarFilter(f) => {
                collect_scalar(&f.lhs, out);
                collect_scalar(&f.rhs, out);
            }
            Stage::By(e) => collect_field(e, out),
            Stage::Coalesce => {}
            Stage::Select(attrs) => {
                for a in attrs {
                    if !out.contains(a) {
                        out.push(a.clone())
                    }
                }
            }
        }
    }
}

/// The value of an attribute or intrinsic of a span, as a search result shows it.
pub fn span_value<'a>(ix: &TraceIndex<'a>, span: usize, a: &Attribute) -> Value<'a> {
    single_value(ix, span, a)
}

impl CPipeline {
    fn eval<'a>(
        &self,
        ix: &TraceIndex<'a>,
        mut input: Vec<Spanset<'a>>,
    ) -> Result<Vec<Spanset<'a>>, EvalError> {
        for stage in &self.stages {
            input = stage.eval(ix, input)?;
            if input.is_empty() {
                break;
            }
        }
        Ok(input)
    }
}

impl CStage {
    fn eval<'a>(
        &self,
        ix: &TraceIndex<'a>,
        input: Vec<Spanset<'a>>,
    ) -> Result<Vec<Spanset<'a>>, EvalError> {
        match self {
            CStage::Spanset(e) => e.eval(ix, &input),
            CStage::ScalarFilter { op, lhs, rhs } => {
                let mut out = Vec::new();
                for mut ss in input {
                    let Some(l) = lhs.eval(ix, &mut ss)? else {
                        continue;
                    };
                    let Some(r) = rhs.eval(ix, &mut ss)? else {
                        continue;
                    };
                    if let Value::Bool(true) = binary(*op, l, r, None)? {
                        out.push(ss);
                    }
                }
                Ok(out)
            }
            CStage::By { expr, label } => {
                let mut out = Vec::new();
                for ss in input {
                    let mut groups: Vec<(Value<'a>, Spanset<'a>)> = Vec::new();
                    for &s in &ss.spans {
                        let v = expr.eval(ix, s)?;
                        match groups.iter_mut().find(|(k, _)| *k == v) {
                            Some((_, g)) => g.spans.push(s),
                            None => {
                                let mut g = Spanset {
                                    spans: vec![s],
                                    scalar: None,
                                    attributes: ss.attributes.clone(),
                                };
                                g.set_attribute(label.clone(), v.clone());
                                groups.push((v, g));
                            }
                        }
                    }
                    out.extend(groups.into_iter().map(|(_, g)| g));
                }
                Ok(out)
            }
            CStage::Coalesce => {
                let spans: Vec<usize> = input.into_iter().flat_map(|s| s.spans).collect();
                Ok(vec![Spanset {
                    spans,
                    scalar: None,
                    attributes: Vec::new(),
                }])
            }
            // The attributes are read when the result is written (`Compiled::attributes`).
            CStage::Select => Ok(input),
        }
    }
}

impl CScalar {
    /// The value over a spanset; `None` when an aggregate had no value to aggregate, which
    /// drops the spanset as Tempo does. Aggregates are recorded on the spanset.
    fn eval<'a>(
        &self,
        ix: &TraceIndex<'a>,
        ss: &mut Spanset<'a>,
    ) -> Result<Option<Value<'a>>, EvalError> {
        match self {
            CScalar::Static(v) => Ok(Some(v.clone())),
            CScalar::Op { op, lhs, rhs } => {
                let (Some(l), Some(r)) = (lhs.eval(ix, ss)?, rhs.eval(ix, ss)?) else {
                    return Ok(None);
                };
                binary(*op, l, r, None).map(Some)
            }
            CScalar::Aggregate { op, expr, label } => {
                let v = aggregate(ix, &ss.spans, *op, expr.as_ref())?;
                if let Some(v) = &v {
                    ss.scalar = Some(v.clone());
                    ss.set_attribute(label.clone(), v.clone());
                }
                Ok(v)
            }
        }
    }
}

fn aggregate<'a>(
    ix: &TraceIndex<'a>,
    spans: &[usize],
    op: AggregateOp,
    expr: Option<&CField>,
) -> Result<Option<Value<'a>>, EvalError> {
    let expr = match (op, expr) {
        (AggregateOp::Count, _) | (_, None) => return Ok(Some(Value::Int(spans.len() as i64))),
        (_, Some(e)) => e,
    };
    let mut acc: Option<Value<'a>> = None;
    let mut count = 0usize;
    for &s in spans {
        let v = expr.eval(ix, s)?;
        if v.is_nil() {
            continue;
        }
        count += 1;
        acc = Some(match (acc, op) {
            (None, _) => v,
            (Some(mut a), AggregateOp::Sum | AggregateOp::Avg) => {
                a.sum_into(&v);
                a
            }
            (Some(a), AggregateOp::Max) => {
                if v.compare(&a).is_gt() {
                    v
                } else {
                    a
                }
            }
            (Some(a), AggregateOp::Min) => {
                if v.compare(&a).is_lt() {
                    v
                } else {
                    a
                }
            }
            (Some(a), AggregateOp::Count) => a,
        });
    }
    Ok(match (acc, op) {
        (Some(a), AggregateOp::Avg) => Some(a.divide_by(count as f64)),
        (a, _) => a,
    })
}

impl CSpanset {
    fn eval<'a>(
        &self,
        ix: &TraceIndex<'a>,
        input: &[Spanset<'a>],
    ) -> Result<Vec<Spanset<'a>>, EvalError> {
        match self {
            CSpanset::Filter(f) => {
                let mut out = Vec::new();
                for ss in input {
                    let mut kept = Vec::new();
                    for &s in &ss.spans {
                        if let Value::Bool(true) = f.eval(ix, s)? {
                            kept.push(s);
                        }
                    }
                    if !kept.is_empty() {
                        out.push(ss.with_spans(kept));
                    }
                }
                Ok(out)
            }
            CSpanset::Pipeline(p) => p.eval(ix, input.to_vec()),
            CSpanset::Op { op, lhs, rhs } => {
                let mut out = Vec::new();
                for ss in input {
                    let cur = std::slice::from_ref(ss);
                    let l = lhs.eval(ix, cur)?;
                    let r = rhs.eval(ix, cur)?;
                    let matched = match op {
                        SpansetOp::And if !l.is_empty() && !r.is_empty() => unique_spans(&l, &r),
                        SpansetOp::Union if !l.is_empty() || !r.is_empty() => unique_spans(&l, &r),
                        SpansetOp::And | SpansetOp::Union => Vec::new(),
                        rel => relate(ix, *rel, &l, &r)?,
                    };
                    if !matched.is_empty() {
                        out.push(ss.with_spans(matched));
                    }
                }
                Ok(out)
            }
        }
    }
}

/// The spans of both sides once each: the side with fewer spans first, as Tempo lists them.
fn unique_spans(a: &[Spanset<'_>], b: &[Spanset<'_>]) -> Vec<usize> {
    let count = |x: &[Spanset<'_>]| x.iter().map(|s| s.spans.len()).sum::<usize>();
    let (small, large) = if count(a) < count(b) { (a, b) } else { (b, a) };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in small.iter().chain(large).flat_map(|s| &s.spans) {
        if seen.insert(*s) {
            out.push(*s);
        }
    }
    out
}

/// A structural operator: which right-hand spans (and for the union forms, left-hand spans)
/// stand in the relation. Both sides must be one spanset each, as in Tempo. Each test walks
/// the tree once per span, never pairs of spans, so `{ } >> { }` stays linear in the spans
/// times the depth.
fn relate(
    ix: &TraceIndex<'_>,
    op: SpansetOp,
    lhs: &[Spanset<'_>],
    rhs: &[Spanset<'_>],
) -> Result<Vec<usize>, EvalError> {
    if rhs.is_empty() {
        return Ok(Vec::new());
    }
    if lhs.len() > 1 || rhs.len() > 1 {
        return Err(EvalError::MultipleSpansets);
    }
    let l: &[usize] = lhs.first().map_or(&[], |s| &s.spans);
    let r: &[usize] = &rhs[0].spans;
    use SpansetOp::*;
    let (rel, negated, union) = match op {
        Child | NotChild | UnionChild => (Rel::Child, op == NotChild, op == UnionChild),
        Parent | NotParent | UnionParent => (Rel::Parent, op == NotParent, op == UnionParent),
        Descendant | NotDescendant | UnionDescendant => {
            (Rel::Descendant, op == NotDescendant, op == UnionDescendant)
        }
        Ancestor | NotAncestor | UnionAncestor => {
            (Rel::Ancestor, op == NotAncestor, op == UnionAncestor)
        }
        Sibling | NotSibling | UnionSibling => (Rel::Sibling, op == NotSibling, op == UnionSibling),
        And | Union => return Ok(Vec::new()),
    };
    let in_l = members(ix, l);
    let rights: Vec<usize> = r
        .iter()
        .copied()
        .filter(|&x| rel.holds(ix, x, &in_l) != negated)
        .collect();
    if !union {
        return Ok(rights);
    }
    // The left spans that stand in the converse relation to some right span.
    let in_r = members(ix, r);
    let conv = rel.converse();
    let mut out: Vec<usize> = rights
        .into_iter()
        .chain(l.iter().copied().filter(|&y| conv.holds(ix, y, &in_r)))
        .collect();
    out.sort_by_key(|&s| (ix.nested(s).0, s));
    out.dedup();
    Ok(out)
}

/// How a span `x` stands to some member of a set.
#[derive(Clone, Copy)]
enum Rel {
    /// x is a child of a member.
    Child,
    /// x is the parent of a member.
    Parent,
    /// x descends from a member.
    Descendant,
    /// x is an ancestor of a member.
    Ancestor,
    /// x shares its parent with another member (spans without a parent share "none").
    Sibling,
}

impl Rel {
    fn converse(self) -> Rel {
        match self {
            Rel::Child => Rel::Parent,
            Rel::Parent => Rel::Child,
            Rel::Descendant => Rel::Ancestor,
            Rel::Ancestor => Rel::Descendant,
            Rel::Sibling => Rel::Sibling,
        }
    }

    fn holds(self, ix: &TraceIndex<'_>, x: usize, set: &Members) -> bool {
        match self {
            Rel::Child => ix.parent(x).is_some_and(|p| set.has[p]),
            Rel::Parent => ix.children(x).iter().any(|&c| set.has[c]),
            Rel::Descendant => {
                let mut cur = x;
                // The step bound guards against parent ids that loop.
                for _ in 0..ix.len() {
                    match ix.parent(cur) {
                        Some(p) if set.has[p] => return true,
                        Some(p) => cur = p,
                        None => return false,
                    }
                }
                false
            }
            Rel::Ancestor => set.ancestors[x],
            Rel::Sibling => {
                let n = set.by_parent(ix.parent(x));
                n > usize::from(set.has[x])
            }
        }
    }
}

/// A set of spans with what the relations ask of it.
struct Members {
    has: Vec<bool>,
    /// Spans that are an ancestor of some member.
    ancestors: Vec<bool>,
    /// Members per parent (`None` key last).
    parents: std::collections::HashMap<Option<usize>, usize>,
}

impl Members {
    fn by_parent(&self, p: Option<usize>) -> usize {
        self.parents.get(&p).copied().unwrap_or(0)
    }
}

fn members(ix: &TraceIndex<'_>, spans: &[usize]) -> Members {
    let n = ix.len();
    let mut has = vec![false; n];
    let mut ancestors = vec![false; n];
    let mut parents = std::collections::HashMap::new();
    for &s in spans {
        has[s] = true;
        *parents.entry(ix.parent(s)).or_insert(0) += 1;
        let mut cur = s;
        for _ in 0..n {
            match ix.parent(cur) {
                // Already marked: everything above is marked too.
                Some(p) if ancestors[p] => break,
                Some(p) => {
                    ancestors[p] = true;
                    cur = p;
                }
                None => break,
            }
        }
    }
    Members {
        has,
        ancestors,
        parents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_pipelines_are_refused() {
        let q = crate::parse("({ } | count()) > 1").expect("parses");
        assert!(matches!(
            Compiled::from_pipeline(match &q.expr {
                Expr::Spans(p) => p,
                Expr::Metrics(_) => unreachable!("a search"),
            }),
            Err(Error::Unsupported(_))
        ));
    }
}
