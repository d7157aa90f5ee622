//! The values on the parser's stack and the accessors the actions read them with; a value
//! of an unexpected kind (which the grammar rules out) reads as a neutral default.

use super::super::ast::*;

/// A semantic value on the parser's stack.
#[derive(Clone, Debug, Default)]
pub(crate) enum Val {
    #[default]
    None,
    Str(String),
    Int(i64),
    Float(f64),
    Dur(i64),
    Query(Box<Query>),
    Pipeline(Pipeline),
    Spanset(SpansetExpr),
    Stage(Stage),
    ScalarFilter(ScalarFilter),
    Op(BinaryOp),
    Scalar(ScalarExpr),
    Aggregate(Aggregate),
    Field(FieldExpr),
    Static(Static),
    Attr(Attribute),
    Attrs(Vec<Attribute>),
    Floats(Vec<f64>),
    First(FirstStage),
    Second(SecondStage),
    Seconds(Vec<SecondStage>),
    Metrics(MetricsExpr),
    Hint(Hint),
    Hints(Vec<Hint>),
}

pub(super) type Args = Vec<Val>;

pub(super) fn take(a: &mut Args, i: usize) -> Val {
    std::mem::take(&mut a[i])
}

pub(super) fn s(a: &mut Args, i: usize) -> String {
    match take(a, i) {
        Val::Str(s) => s,
        _ => String::new(),
    }
}

pub(super) fn int(a: &Args, i: usize) -> i64 {
    match a[i] {
        Val::Int(v) => v,
        _ => 0,
    }
}

pub(super) fn pipeline(a: &mut Args, i: usize) -> Pipeline {
    match take(a, i) {
        Val::Pipeline(p) => p,
        _ => Pipeline { stages: Vec::new() },
    }
}

pub(super) fn spanset(a: &mut Args, i: usize) -> SpansetExpr {
    match take(a, i) {
        Val::Spanset(e) => e,
        _ => SpansetExpr::Filter(SpansetFilter {
            expr: FieldExpr::Static(Static::Bool(true)),
        }),
    }
}

pub(super) fn filter(a: &mut Args, i: usize) -> SpansetFilter {
    match spanset(a, i) {
        SpansetExpr::Filter(f) => f,
        _ => SpansetFilter {
            expr: FieldExpr::Static(Static::Bool(true)),
        },
    }
}

pub(super) fn op(a: &mut Args, i: usize) -> BinaryOp {
    match take(a, i) {
        Val::Op(o) => o,
        _ => BinaryOp::Eq,
    }
}

pub(super) fn scalar_expr(a: &mut Args, i: usize) -> ScalarExpr {
    match take(a, i) {
        Val::Scalar(e) => e,
        Val::Static(s) => ScalarExpr::Static(s),
        Val::Aggregate(g) => ScalarExpr::Aggregate(g),
        _ => ScalarExpr::Static(Static::Nil),
    }
}

pub(super) fn aggregate(a: &mut Args, i: usize) -> Aggregate {
    match take(a, i) {
        Val::Aggregate(g) => g,
        _ => Aggregate {
            op: AggregateOp::Count,
            expr: None,
        },
    }
}

pub(super) fn field(a: &mut Args, i: usize) -> FieldExpr {
    match take(a, i) {
        Val::Field(f) => f,
        Val::Static(s) => FieldExpr::Static(s),
        Val::Attr(x) => FieldExpr::Attribute(x),
        _ => FieldExpr::Static(Static::Nil),
    }
}

pub(super) fn stat(a: &mut Args, i: usize) -> Static {
    match take(a, i) {
        Val::Static(s) => s,
        _ => Static::Nil,
    }
}

pub(super) fn attr(a: &mut Args, i: usize) -> Attribute {
    match take(a, i) {
        Val::Attr(x) => x,
        _ => Attribute::Intrinsic(Intrinsic::Duration),
    }
}

pub(super) fn attrs(a: &mut Args, i: usize) -> Vec<Attribute> {
    match take(a, i) {
        Val::Attrs(v) => v,
        _ => Vec::new(),
    }
}

pub(super) fn floats(a: &mut Args, i: usize) -> Vec<f64> {
    match take(a, i) {
        Val::Floats(v) => v,
        _ => Vec::new(),
    }
}

pub(super) fn first_stage(a: &mut Args, i: usize) -> FirstStage {
    match take(a, i) {
        Val::First(f) => f,
        _ => FirstStage::Aggregate {
            op: MetricsOp::Rate,
            attr: None,
            quantiles: Vec::new(),
            by: Vec::new(),
        },
    }
}

pub(super) fn seconds(a: &mut Args, i: usize) -> Vec<SecondStage> {
    match take(a, i) {
        Val::Seconds(v) => v,
        Val::Second(s) => vec![s],
        _ => Vec::new(),
    }
}

pub(super) fn metrics(a: &mut Args, i: usize) -> MetricsExpr {
    match take(a, i) {
        Val::Metrics(m) => m,
        _ => MetricsExpr::Pipeline {
            pipeline: Pipeline { stages: Vec::new() },
            first: first_stage(a, i),
            second: Vec::new(),
        },
    }
}

pub(super) fn query(a: &mut Args, i: usize) -> Query {
    match take(a, i) {
        Val::Query(q) => *q,
        _ => Query {
            expr: Expr::Spans(Pipeline { stages: Vec::new() }),
            hints: Vec::new(),
        },
    }
}

pub(super) fn num(a: &Args, i: usize) -> f64 {
    match a[i] {
        Val::Float(f) => f,
        Val::Int(v) => v as f64,
        _ => 0.0,
    }
}

pub(super) fn dur(a: &Args, i: usize) -> i64 {
    match a[i] {
        Val::Dur(d) => d,
        _ => 0,
    }
}
