//! What a query needs of a trace's spans, for storage to leave out traces before they are
//! read and evaluated ([`pushdown`]).
//!
//! The condition is *necessary*: every trace (or part of a trace held by one source) on which
//! the query matches something meets it; traces that do not meet it would match nothing. It
//! is a tree over two levels: [`TraceCondition`] combines "some span of the trace meets this"
//! ([`SpanCondition`]) with `and`/`or`, so that `{ a } && { b }` asks for a span meeting `a`
//! and a span meeting `b`, while `{ a && b }` asks for one span meeting both. Each test of a
//! span field ([`FieldTest`]) runs the evaluator's own comparison ([`crate::Value`] typing
//! rules, anchored regexes) on the value storage hands it, so it answers as evaluation does.
//!
//! What is not understood becomes "true": `{}`, negations, `nil` tests, event and link
//! values, `parent.` attributes, trace-level intrinsics, comparisons between two fields. A
//! query that may fail while evaluating a span (arithmetic, `!x` or `-x` of a field,
//! comparisons of two fields, structural operators over pipelines) pushes nothing, so that
//! leaving out a trace never hides the error the full evaluation would give.

use std::borrow::Cow;
use std::sync::Arc;

use cairn_model::{SpanKind, StatusCode, Trace};

use crate::eval::{binary, compile_regex, kind, static_value, status};
use crate::{
    Attribute, BinaryOp, Expr, FieldExpr, FirstStage, Intrinsic, MetricsExpr, Pipeline, Query,
    ScalarExpr, Scope, SpansetExpr, SpansetOp, Stage, Static, TraceIndex, UnaryOp, Value,
    span_value,
};

/// A condition on a trace: which of its spans must exist for the query to match it.
#[derive(Clone, Debug)]
pub enum TraceCondition {
    /// Any trace may match.
    All,
    /// Some span of the trace meets the condition.
    Any(SpanCondition),
    /// Every condition holds.
    And(Vec<TraceCondition>),
    /// Some condition holds.
    Or(Vec<TraceCondition>),
}

/// A condition on one span.
#[derive(Clone, Debug)]
pub enum SpanCondition {
    /// Every span meets it.
    True,
    /// A test of one field of the span.
    Test(FieldTest),
    /// Every condition holds.
    And(Vec<SpanCondition>),
    /// Some condition holds.
    Or(Vec<SpanCondition>),
}

/// The span fields a [`FieldTest`] reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PushField {
    /// The span's name.
    Name,
    /// The status code; [`FieldTest::test_int`] takes OTLP's number.
    Status,
    /// The kind; [`FieldTest::test_int`] takes OTLP's number.
    Kind,
    /// The duration; [`FieldTest::test_int`] takes nanoseconds.
    Duration,
    /// The first span attribute of this key.
    Span(String),
    /// The first resource attribute of this key.
    Resource(String),
    /// The span's attribute of this key, else its resource's (`.key`).
    Unscoped(String),
}

/// A comparison of one span field with a literal.
#[derive(Clone, Debug)]
pub struct FieldTest {
    field: PushField,
    op: BinaryOp,
    literal: Value<'static>,
    /// Whether the literal is the left operand (`500 <= span.a`).
    literal_left: bool,
    regex: Option<Arc<regex::Regex>>,
}

impl FieldTest {
    /// The field tested.
    pub fn field(&self) -> &PushField {
        &self.field
    }

    /// Whether a string value of the field passes.
    pub fn test_str(&self, v: &str) -> bool {
        self.test(Value::Str(Cow::Borrowed(v)))
    }

    /// Whether a span without the field (an attribute it does not have) passes.
    pub fn test_nil(&self) -> bool {
        self.test(Value::Nil)
    }

    /// Whether an integer value of the field passes: OTLP's number for the status and the
    /// kind, nanoseconds for the duration, an integer attribute otherwise.
    pub fn test_int(&self, v: i64) -> bool {
        let v = match self.field {
            PushField::Status => {
                Value::Status(status(StatusCode::from_i32(i32::try_from(v).unwrap_or(-1))))
            }
            PushField::Kind => {
                Value::Kind(kind(SpanKind::from_i32(i32::try_from(v).unwrap_or(-1))))
            }
            PushField::Duration => Value::Duration(v),
            _ => Value::Int(v),
        };
        self.test(v)
    }

    /// Whether a value of the field, as evaluation reads it, passes.
    pub fn test(&self, v: Value<'_>) -> bool {
        // Borrowed, so that a string literal is not copied per value.
        let lit = match &self.literal {
            Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            other => other.clone(),
        };
        let (l, r) = if self.literal_left {
            (lit, v)
        } else {
            (v, lit)
        };
        // A comparison of a field with a literal does not fail; were it to, keeping the span
        // lets the evaluation report it.
        !matches!(binary(self.op, l, r, self.regex.as_deref()), Ok(x) if x != Value::Bool(true))
    }

    fn attribute(&self) -> Attribute {
        let named = |scope, name: &String| Attribute::Named {
            scope,
            parent: false,
            name: name.clone(),
        };
        match &self.field {
            PushField::Name => Attribute::Intrinsic(Intrinsic::Name),
            PushField::Status => Attribute::Intrinsic(Intrinsic::Status),
            PushField::Kind => Attribute::Intrinsic(Intrinsic::Kind),
            PushField::Duration => Attribute::Intrinsic(Intrinsic::Duration),
            PushField::Span(n) => named(Scope::Span, n),
            PushField::Resource(n) => named(Scope::Resource, n),
            PushField::Unscoped(n) => named(Scope::None, n),
        }
    }
}

impl SpanCondition {
    fn and(parts: Vec<SpanCondition>) -> SpanCondition {
        let mut out = Vec::new();
        for p in parts {
            match p {
                SpanCondition::True => {}
                SpanCondition::And(xs) => out.extend(xs),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => SpanCondition::True,
            1 => out.pop().unwrap_or(SpanCondition::True),
            _ => SpanCondition::And(out),
        }
    }

    fn or(parts: Vec<SpanCondition>) -> SpanCondition {
        let mut out = Vec::new();
        for p in parts {
            match p {
                SpanCondition::True => return SpanCondition::True,
                SpanCondition::Or(xs) => out.extend(xs),
                other => out.push(other),
            }
        }
        match out.len() {
            1 => out.pop().unwrap_or(SpanCondition::True),
            _ => SpanCondition::Or(out),
        }
    }

    /// Whether span `i` of an indexed trace meets the condition.
    pub fn holds(&self, ix: &TraceIndex<'_>, i: usize) -> bool {
        match self {
            SpanCondition::True => true,
            SpanCondition::Test(t) => t.test(span_value(ix, i, &t.attribute())),
            SpanCondition::And(xs) => xs.iter().all(|x| x.holds(ix, i)),
            SpanCondition::Or(xs) => xs.iter().any(|x| x.holds(ix, i)),
        }
    }
}

impl TraceCondition {
    fn and(parts: Vec<TraceCondition>) -> TraceCondition {
        let mut out = Vec::new();
        for p in parts {
            match p {
                TraceCondition::All => {}
                TraceCondition::And(xs) => out.extend(xs),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => TraceCondition::All,
            1 => out.pop().unwrap_or(TraceCondition::All),
            _ => TraceCondition::And(out),
        }
    }

    fn or(parts: Vec<TraceCondition>) -> TraceCondition {
        let mut out = Vec::new();
        for p in parts {
            match p {
                TraceCondition::All => return TraceCondition::All,
                TraceCondition::Or(xs) => out.extend(xs),
                other => out.push(other),
            }
        }
        match out.len() {
            1 => out.pop().unwrap_or(TraceCondition::All),
            _ => TraceCondition::Or(out),
        }
    }

    fn any(c: SpanCondition) -> TraceCondition {
        match c {
            SpanCondition::True => TraceCondition::All,
            c => TraceCondition::Any(c),
        }
    }

    /// Whether nothing is asked of the trace.
    pub fn is_all(&self) -> bool {
        matches!(self, TraceCondition::All)
    }

    /// Whether a trace meets the condition (what storage decides from its columns).
    pub fn holds(&self, trace: &Trace) -> bool {
        self.holds_index(&TraceIndex::new(trace))
    }

    /// Whether an indexed trace meets the condition.
    pub fn holds_index(&self, ix: &TraceIndex<'_>) -> bool {
        match self {
            TraceCondition::All => true,
            TraceCondition::Any(c) => (0..ix.len()).any(|i| c.holds(ix, i)),
            TraceCondition::And(xs) => xs.iter().all(|x| x.holds_index(ix)),
            TraceCondition::Or(xs) => xs.iter().any(|x| x.holds_index(ix)),
        }
    }
}

/// The condition every trace (or part of one) that `q` matches meets: for a search, the
/// traces it can return; for a metrics query, the traces holding spans it counts.
pub fn pushdown(q: &Query) -> TraceCondition {
    match &q.expr {
        Expr::Spans(p) if !pipeline_may_fail(p) => pipeline(p),
        Expr::Metrics(m) if !metrics_may_fail(m) => metrics(m),
        _ => TraceCondition::All,
    }
}

fn metrics(m: &MetricsExpr) -> TraceCondition {
    match m {
        MetricsExpr::Pipeline {
            pipeline: p, first, ..
        } => match first {
            FirstStage::Aggregate { .. } => pipeline(p),
            // `compare()` measures every span against its selection.
            FirstStage::Compare { .. } => TraceCondition::All,
        },
        MetricsExpr::Math { lhs, rhs, .. } => TraceCondition::or(vec![metrics(lhs), metrics(rhs)]),
        MetricsExpr::Scalar { expr, .. } | MetricsExpr::Chained { expr, .. } => metrics(expr),
    }
}

/// Each spanset stage must leave some span: the conditions of all of them hold.
fn pipeline(p: &Pipeline) -> TraceCondition {
    TraceCondition::and(
        p.stages
            .iter()
            .map(|s| match s {
                Stage::Spanset(e) => spanset(e),
                Stage::ScalarFilter(_) | Stage::By(_) | Stage::Coalesce | Stage::Select(_) => {
                    TraceCondition::All
                }
            })
            .collect(),
    )
}

fn spanset(e: &SpansetExpr) -> TraceCondition {
    match e {
        SpansetExpr::Filter(f) => TraceCondition::any(span(&f.expr)),
        SpansetExpr::Pipeline(p) => pipeline(p),
        SpansetExpr::Op { op, lhs, rhs } => {
            let (l, r) = (spanset(lhs), spanset(rhs));
            use SpansetOp::*;
            match op {
                Union => TraceCondition::or(vec![l, r]),
                // Both sides must match; the structural operators keep right-hand spans
                // standing in a relation to some left-hand span (the union forms both).
                And | Child | Parent | Descendant | Ancestor | Sibling | UnionChild
                | UnionParent | UnionDescendant | UnionAncestor | UnionSibling => {
                    TraceCondition::and(vec![l, r])
                }
                // Right-hand spans in no relation to the left side: the left may be empty.
                NotChild | NotParent | NotDescendant | NotAncestor | NotSibling => r,
            }
        }
    }
}

/// What a span that `e` is true for meets.
fn span(e: &FieldExpr) -> SpanCondition {
    match e {
        FieldExpr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => SpanCondition::and(vec![span(lhs), span(rhs)]),
        FieldExpr::Binary {
            op: BinaryOp::Or,
            lhs,
            rhs,
        } => SpanCondition::or(vec![span(lhs), span(rhs)]),
        FieldExpr::Binary { op, lhs, rhs } => {
            test(*op, lhs, rhs).map_or(SpanCondition::True, SpanCondition::Test)
        }
        _ => SpanCondition::True,
    }
}

fn push_field(a: &Attribute) -> Option<PushField> {
    Some(match a {
        Attribute::Intrinsic(Intrinsic::Name) => PushField::Name,
        Attribute::Intrinsic(Intrinsic::Status) => PushField::Status,
        Attribute::Intrinsic(Intrinsic::Kind) => PushField::Kind,
        Attribute::Intrinsic(Intrinsic::Duration) => PushField::Duration,
        Attribute::Named {
            scope,
            parent: false,
            name,
        } => match scope {
            Scope::Span => PushField::Span(name.clone()),
            Scope::Resource => PushField::Resource(name.clone()),
            Scope::None => PushField::Unscoped(name.clone()),
            Scope::Event | Scope::Link | Scope::Instrumentation => return None,
        },
        _ => return None,
    })
}

fn test(op: BinaryOp, lhs: &FieldExpr, rhs: &FieldExpr) -> Option<FieldTest> {
    use BinaryOp::*;
    let (a, lit, literal_left) = match (lhs, rhs) {
        (FieldExpr::Attribute(a), FieldExpr::Static(s)) => (a, s, false),
        (FieldExpr::Static(s), FieldExpr::Attribute(a)) => (a, s, true),
        _ => return None,
    };
    let regex = match (op, lit, literal_left) {
        (Eq | Neq | Lt | Lte | Gt | Gte, _, _) => None,
        (Re | Nre, Static::String(s), false) => Some(Arc::new(compile_regex(s).ok()?)),
        _ => return None,
    };
    Some(FieldTest {
        field: push_field(a)?,
        op,
        literal: static_value(lit),
        literal_left,
        regex,
    })
}

/// Whether evaluating `e` over some span may fail rather than give a value.
fn field_may_fail(e: &FieldExpr) -> bool {
    let boolean = |x: &FieldExpr| matches!(x, FieldExpr::Binary { op, .. } if op.is_boolean());
    match e {
        FieldExpr::Static(_) | FieldExpr::Attribute(_) => false,
        FieldExpr::Binary { op, lhs, rhs } => {
            let fields = |x: &FieldExpr| !matches!(x, FieldExpr::Static(_));
            let bad = match op {
                BinaryOp::And | BinaryOp::Or => false,
                // A regex read from a span is compiled per span.
                BinaryOp::Re | BinaryOp::Nre => fields(rhs),
                // Two fields may be two arrays.
                op if op.is_boolean() => fields(lhs) && fields(rhs),
                _ => true,
            };
            bad || field_may_fail(lhs) || field_may_fail(rhs)
        }
        FieldExpr::Unary { op, expr } => {
            let bad = match op {
                UnaryOp::Exists | UnaryOp::NotExists => false,
                UnaryOp::Not => !boolean(expr),
                UnaryOp::Neg => !matches!(**expr, FieldExpr::Static(_)),
            };
            bad || field_may_fail(expr)
        }
    }
}

fn scalar_may_fail(e: &ScalarExpr) -> bool {
    match e {
        ScalarExpr::Aggregate(a) => a.expr.as_ref().is_some_and(field_may_fail),
        ScalarExpr::Static(_) => false,
        ScalarExpr::Op { op, lhs, rhs } => {
            matches!(op, BinaryOp::Div | BinaryOp::Mod)
                || scalar_may_fail(lhs)
                || scalar_may_fail(rhs)
        }
        ScalarExpr::Pipeline { .. } => true,
    }
}

fn spanset_may_fail(e: &SpansetExpr) -> bool {
    match e {
        SpansetExpr::Filter(f) => field_may_fail(&f.expr),
        SpansetExpr::Pipeline(p) => pipeline_may_fail(p),
        SpansetExpr::Op { op, lhs, rhs } => {
            // A pipeline operand may give several spansets, which the structural operators
            // refuse.
            let structural = !matches!(op, SpansetOp::And | SpansetOp::Union);
            let piped = |x: &SpansetExpr| matches!(x, SpansetExpr::Pipeline(_));
            (structural && (piped(lhs) || piped(rhs)))
                || spanset_may_fail(lhs)
                || spanset_may_fail(rhs)
        }
    }
}

fn pipeline_may_fail(p: &Pipeline) -> bool {
    p.stages.iter().any(|s| match s {
        Stage::Spanset(e) => spanset_may_fail(e),
        Stage::ScalarFilter(f) => scalar_may_fail(&f.lhs) || scalar_may_fail(&f.rhs),
        Stage::By(e) => field_may_fail(e),
        Stage::Coalesce | Stage::Select(_) => false,
    })
}

fn metrics_may_fail(m: &MetricsExpr) -> bool {
    match m {
        MetricsExpr::Pipeline {
            pipeline, first, ..
        } => {
            pipeline_may_fail(pipeline)
                || matches!(first, FirstStage::Compare { filter, .. } if field_may_fail(&filter.expr))
        }
        MetricsExpr::Math { lhs, rhs, .. } => metrics_may_fail(lhs) || metrics_may_fail(rhs),
        MetricsExpr::Scalar { expr, .. } | MetricsExpr::Chained { expr, .. } => {
            metrics_may_fail(expr)
        }
    }
}

#[cfg(test)]
mod tests;
