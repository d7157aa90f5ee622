//! TraceQL's grammar, rule for rule and in the order of Tempo's `expr.y`, with the semantic
//! action of each rule. The order matters: reduce/reduce conflicts go to the earlier rule, and
//! the tables built from it decide Tempo's syntax error messages.

use std::sync::LazyLock;

use super::ast::*;
use super::build;
use super::tokens as t;
use cairn_syntax::{Assoc, Grammar, RuleSpec};

mod values;

pub(crate) use values::Val;
use values::*;

/// A rule's action: the rule's values in, its value out; errors it reports (as Tempo's
/// actions call the lexer's `Error`) go to the list and parsing goes on.
pub(crate) type Action = fn(Args, &mut Vec<String>) -> Val;

fn first(mut a: Args, _: &mut Vec<String>) -> Val {
    take(&mut a, 0)
}

fn second(mut a: Args, _: &mut Vec<String>) -> Val {
    take(&mut a, 1)
}

fn none(_: Args, _: &mut Vec<String>) -> Val {
    Val::None
}

fn root(expr: Expr) -> Val {
    Val::Query(Box::new(Query {
        expr,
        hints: Vec::new(),
    }))
}

macro_rules! act {
    (|$a:ident, $e:ident| $body:expr) => {{
        fn f(
            #[allow(unused_mut)] mut $a: Args,
            #[allow(unused_variables)] $e: &mut Vec<String>,
        ) -> Val {
            $body
        }
        f as Action
    }};
    (|$a:ident| $body:expr) => {{
        fn f(#[allow(unused_mut)] mut $a: Args, _: &mut Vec<String>) -> Val {
            $body
        }
        f as Action
    }};
}

macro_rules! spanset_op {
    ($op:expr) => {
        act!(|a| Val::Spanset(build::spanset_op(
            $op,
            spanset(&mut a, 0),
            spanset(&mut a, 2)
        )))
    };
}

macro_rules! scalar_op {
    ($op:expr) => {
        act!(|a| Val::Scalar(ScalarExpr::Op {
            op: $op,
            lhs: Box::new(scalar_expr(&mut a, 0)),
            rhs: Box::new(scalar_expr(&mut a, 2)),
        }))
    };
}

macro_rules! field_op {
    ($op:expr) => {
        act!(|a| Val::Field(FieldExpr::Binary {
            op: $op,
            lhs: Box::new(field(&mut a, 0)),
            rhs: Box::new(field(&mut a, 2)),
        }))
    };
}

macro_rules! unary {
    ($op:expr, $i:expr) => {
        act!(|a| Val::Field(FieldExpr::Unary {
            op: $op,
            expr: Box::new(field(&mut a, $i)),
        }))
    };
}

macro_rules! constant {
    ($v:expr) => {
        act!(|_a| $v)
    };
}

macro_rules! intrinsic {
    ($i:expr) => {
        constant!(Val::Attr(Attribute::Intrinsic($i)))
    };
}

macro_rules! named {
    ($scope:expr, $parent:expr, $i:expr) => {
        act!(|a| Val::Attr(Attribute::Named {
            scope: $scope,
            parent: $parent,
            name: s(&mut a, $i),
        }))
    };
}

macro_rules! metrics_math {
    ($op:expr) => {
        act!(|a| Val::Metrics(MetricsExpr::Math {
            op: $op,
            lhs: Box::new(metrics(&mut a, 0)),
            rhs: Box::new(metrics(&mut a, 2)),
        }))
    };
}

macro_rules! metrics_scalar {
    ($op:expr, left) => {
        act!(|a, e| {
            let value = build::metric_scalar_float(&stat(&mut a, 0), e);
            Val::Metrics(MetricsExpr::Scalar {
                op: $op,
                expr: Box::new(metrics(&mut a, 2)),
                value,
                scalar_on_left: true,
            })
        })
    };
    ($op:expr, right) => {
        act!(|a, e| {
            let value = build::metric_scalar_float(&stat(&mut a, 2), e);
            Val::Metrics(MetricsExpr::Scalar {
                op: $op,
                expr: Box::new(metrics(&mut a, 0)),
                value,
                scalar_on_left: false,
            })
        })
    };
}

macro_rules! fold {
    ($op:expr) => {
        act!(|a, e| Val::Static(build::fold_arith($op, stat(&mut a, 0), stat(&mut a, 2), e)))
    };
}

/// A first stage without attribute: `rate()`, `rate() by (a)`.
macro_rules! m_plain {
    ($op:expr, $by:expr) => {
        act!(|a| {
            let by = match $by {
                Some(i) => attrs(&mut a, i),
                None => Vec::new(),
            };
            Val::First(FirstStage::Aggregate {
                op: $op,
                attr: None,
                quantiles: Vec::new(),
                by,
            })
        })
    };
}

/// A first stage over an attribute: `avg_over_time(duration)`, `... by (a)`.
macro_rules! m_attr {
    ($op:expr, $by:expr) => {
        act!(|a| {
            let by = match $by {
                Some(i) => attrs(&mut a, i),
                None => Vec::new(),
            };
            Val::First(FirstStage::Aggregate {
                op: $op,
                attr: Some(attr(&mut a, 2)),
                quantiles: Vec::new(),
                by,
            })
        })
    };
}

macro_rules! agg {
    ($op:expr) => {
        act!(|a| Val::Aggregate(Aggregate {
            op: $op,
            expr: Some(field(&mut a, 2)),
        }))
    };
}

fn r(lhs: &'static str, rhs: &'static str, action: Action) -> RuleSpec<Action> {
    RuleSpec {
        lhs,
        rhs,
        prec: None,
        action,
    }
}

fn rp(lhs: &'static str, rhs: &'static str, prec: u8, action: Action) -> RuleSpec<Action> {
    RuleSpec {
        lhs,
        rhs,
        prec: Some(prec),
        action,
    }
}

#[rustfmt::skip]
fn rules() -> Vec<RuleSpec<Action>> {
    use BinaryOp as B;
    use SpansetOp as S;
    use Intrinsic as I;
    use Scope as Sc;
    use MetricsOp as M;
    vec![
        r("$accept", "root $end", none),
        // root
        r("root", "spansetPipeline", act!(|a| root(Expr::Spans(pipeline(&mut a, 0))))),
        r("root", "spansetPipelineExpression", act!(|a| root(Expr::Spans(build::as_pipeline(spanset(&mut a, 0)))))),
        r("root", "scalarPipelineExpressionFilter", act!(|a| {
            let f = match take(&mut a, 0) { Val::ScalarFilter(f) => f, _ => return Val::None };
            root(Expr::Spans(Pipeline { stages: vec![Stage::ScalarFilter(f)] }))
        })),
        r("root", "spansetPipeline PIPE metricsAggregation", act!(|a| root(Expr::Metrics(MetricsExpr::Pipeline {
            pipeline: pipeline(&mut a, 0), first: first_stage(&mut a, 2), second: Vec::new() })))),
        r("root", "spansetPipeline PIPE metricsAggregation metricsSecondStagePipeline", act!(|a| root(Expr::Metrics(MetricsExpr::Pipeline {
            pipeline: pipeline(&mut a, 0), first: first_stage(&mut a, 2), second: seconds(&mut a, 3) })))),
        r("root", "metricsExpression", act!(|a| root(Expr::Metrics(metrics(&mut a, 0))))),
        r("root", "metricsExpression metricsSecondStagePipeline", act!(|a| {
            let m = metrics(&mut a, 0);
            root(Expr::Metrics(build::chain(m, seconds(&mut a, 1))))
        })),
        r("root", "root hints", act!(|a| {
            let mut q = query(&mut a, 0);
            if let Val::Hints(h) = take(&mut a, 1) { q.hints = h; }
            Val::Query(Box::new(q))
        })),
        // spansetPipelineExpression
        r("spansetPipelineExpression", "OPEN_PARENS spansetPipelineExpression CLOSE_PARENS", second),
        r("spansetPipelineExpression", "spansetPipelineExpression AND spansetPipelineExpression", spanset_op!(S::And)),
        r("spansetPipelineExpression", "spansetPipelineExpression GT spansetPipelineExpression", spanset_op!(S::Child)),
        r("spansetPipelineExpression", "spansetPipelineExpression LT spansetPipelineExpression", spanset_op!(S::Parent)),
        r("spansetPipelineExpression", "spansetPipelineExpression DESC spansetPipelineExpression", spanset_op!(S::Descendant)),
        r("spansetPipelineExpression", "spansetPipelineExpression ANCE spansetPipelineExpression", spanset_op!(S::Ancestor)),
        r("spansetPipelineExpression", "spansetPipelineExpression OR spansetPipelineExpression", spanset_op!(S::Union)),
        r("spansetPipelineExpression", "spansetPipelineExpression SIBL spansetPipelineExpression", spanset_op!(S::Sibling)),
        r("spansetPipelineExpression", "spansetPipelineExpression NOT_CHILD spansetPipelineExpression", spanset_op!(S::NotChild)),
        r("spansetPipelineExpression", "spansetPipelineExpression NOT_PARENT spansetPipelineExpression", spanset_op!(S::NotParent)),
        r("spansetPipelineExpression", "spansetPipelineExpression NOT_DESC spansetPipelineExpression", spanset_op!(S::NotDescendant)),
        r("spansetPipelineExpression", "spansetPipelineExpression NOT_ANCE spansetPipelineExpression", spanset_op!(S::NotAncestor)),
        r("spansetPipelineExpression", "spansetPipelineExpression NRE spansetPipelineExpression", spanset_op!(S::NotSibling)),
        r("spansetPipelineExpression", "spansetPipelineExpression UNION_CHILD spansetPipelineExpression", spanset_op!(S::UnionChild)),
        r("spansetPipelineExpression", "spansetPipelineExpression UNION_PARENT spansetPipelineExpression", spanset_op!(S::UnionParent)),
        r("spansetPipelineExpression", "spansetPipelineExpression UNION_DESC spansetPipelineExpression", spanset_op!(S::UnionDescendant)),
        r("spansetPipelineExpression", "spansetPipelineExpression UNION_ANCE spansetPipelineExpression", spanset_op!(S::UnionAncestor)),
        r("spansetPipelineExpression", "spansetPipelineExpression UNION_SIBL spansetPipelineExpression", spanset_op!(S::UnionSibling)),
        r("spansetPipelineExpression", "wrappedSpansetPipeline", first),
        r("wrappedSpansetPipeline", "OPEN_PARENS spansetPipeline CLOSE_PARENS", act!(|a| Val::Spanset(build::wrap_pipeline(pipeline(&mut a, 1))))),
        // spansetPipeline
        r("spansetPipeline", "spansetExpression", act!(|a| Val::Pipeline(Pipeline { stages: vec![Stage::Spanset(spanset(&mut a, 0))] }))),
        r("spansetPipeline", "scalarFilter", act!(|a| match take(&mut a, 0) {
            Val::ScalarFilter(f) => Val::Pipeline(Pipeline { stages: vec![Stage::ScalarFilter(f)] }),
            _ => Val::None,
        })),
        r("spansetPipeline", "groupOperation", act!(|a| match take(&mut a, 0) {
            Val::Stage(s) => Val::Pipeline(Pipeline { stages: vec![s] }),
            _ => Val::None,
        })),
        r("spansetPipeline", "selectOperation", act!(|a| match take(&mut a, 0) {
            Val::Stage(s) => Val::Pipeline(Pipeline { stages: vec![s] }),
            _ => Val::None,
        })),
        r("spansetPipeline", "spansetPipeline PIPE spansetExpression", act!(|a| {
            let mut p = pipeline(&mut a, 0);
            p.stages.push(Stage::Spanset(spanset(&mut a, 2)));
            Val::Pipeline(p)
        })),
        r("spansetPipeline", "spansetPipeline PIPE scalarFilter", act!(|a| {
            let mut p = pipeline(&mut a, 0);
            if let Val::ScalarFilter(f) = take(&mut a, 2) { p.stages.push(Stage::ScalarFilter(f)); }
            Val::Pipeline(p)
        })),
        r("spansetPipeline", "spansetPipeline PIPE groupOperation", push_stage),
        r("spansetPipeline", "spansetPipeline PIPE coalesceOperation", push_stage),
        r("spansetPipeline", "spansetPipeline PIPE selectOperation", push_stage),
        r("groupOperation", "BY OPEN_PARENS fieldExpression CLOSE_PARENS", act!(|a| Val::Stage(Stage::By(field(&mut a, 2))))),
        r("coalesceOperation", "COALESCE OPEN_PARENS CLOSE_PARENS", constant!(Val::Stage(Stage::Coalesce))),
        r("selectOperation", "SELECT OPEN_PARENS attributeList CLOSE_PARENS", act!(|a| Val::Stage(Stage::Select(attrs(&mut a, 2))))),
        r("attribute", "intrinsicField", first),
        r("attribute", "attributeField", first),
        r("attribute", "scopedIntrinsicField", first),
        r("attributeList", "attribute", act!(|a| Val::Attrs(vec![attr(&mut a, 0)]))),
        r("attributeList", "attributeList COMMA attribute", act!(|a| {
            let mut v = attrs(&mut a, 0);
            v.push(attr(&mut a, 2));
            Val::Attrs(v)
        })),
        r("numericList", "FLOAT", act!(|a| Val::Floats(vec![num(&a, 0)]))),
        r("numericList", "INTEGER", act!(|a| Val::Floats(vec![num(&a, 0)]))),
        r("numericList", "numericList COMMA FLOAT", push_num),
        r("numericList", "numericList COMMA INTEGER", push_num),
        // spansetExpression
        r("spansetExpression", "OPEN_PARENS spansetExpression CLOSE_PARENS", second),
        r("spansetExpression", "spansetExpression AND spansetExpression", spanset_op!(S::And)),
        r("spansetExpression", "spansetExpression GT spansetExpression", spanset_op!(S::Child)),
        r("spansetExpression", "spansetExpression LT spansetExpression", spanset_op!(S::Parent)),
        r("spansetExpression", "spansetExpression DESC spansetExpression", spanset_op!(S::Descendant)),
        r("spansetExpression", "spansetExpression ANCE spansetExpression", spanset_op!(S::Ancestor)),
        r("spansetExpression", "spansetExpression OR spansetExpression", spanset_op!(S::Union)),
        r("spansetExpression", "spansetExpression SIBL spansetExpression", spanset_op!(S::Sibling)),
        r("spansetExpression", "spansetExpression NOT_CHILD spansetExpression", spanset_op!(S::NotChild)),
        r("spansetExpression", "spansetExpression NOT_PARENT spansetExpression", spanset_op!(S::NotParent)),
        r("spansetExpression", "spansetExpression NRE spansetExpression", spanset_op!(S::NotSibling)),
        r("spansetExpression", "spansetExpression NOT_ANCE spansetExpression", spanset_op!(S::NotAncestor)),
        r("spansetExpression", "spansetExpression NOT_DESC spansetExpression", spanset_op!(S::NotDescendant)),
        r("spansetExpression", "spansetExpression UNION_CHILD spansetExpression", spanset_op!(S::UnionChild)),
        r("spansetExpression", "spansetExpression UNION_PARENT spansetExpression", spanset_op!(S::UnionParent)),
        r("spansetExpression", "spansetExpression UNION_SIBL spansetExpression", spanset_op!(S::UnionSibling)),
        r("spansetExpression", "spansetExpression UNION_ANCE spansetExpression", spanset_op!(S::UnionAncestor)),
        r("spansetExpression", "spansetExpression UNION_DESC spansetExpression", spanset_op!(S::UnionDescendant)),
        r("spansetExpression", "spansetFilter", first),
        r("spansetFilter", "OPEN_BRACE CLOSE_BRACE", constant!(Val::Spanset(SpansetExpr::Filter(SpansetFilter { expr: FieldExpr::Static(Static::Bool(true)) })))),
        r("spansetFilter", "OPEN_BRACE fieldExpression CLOSE_BRACE", act!(|a| Val::Spanset(SpansetExpr::Filter(SpansetFilter { expr: field(&mut a, 1) })))),
        // scalarFilter
        r("scalarFilter", "scalarExpression scalarFilterOperation scalarExpression", scalar_filter),
        r("scalarFilter", "scalarExpression scalarFilterOperation scalar", scalar_filter),
        r("scalarFilter", "scalar scalarFilterOperation scalarExpression", scalar_filter),
        r("scalarFilterOperation", "EQ", constant!(Val::Op(B::Eq))),
        r("scalarFilterOperation", "NEQ", constant!(Val::Op(B::Neq))),
        r("scalarFilterOperation", "LT", constant!(Val::Op(B::Lt))),
        r("scalarFilterOperation", "LTE", constant!(Val::Op(B::Lte))),
        r("scalarFilterOperation", "GT", constant!(Val::Op(B::Gt))),
        r("scalarFilterOperation", "GTE", constant!(Val::Op(B::Gte))),
        // scalar pipeline expressions
        r("scalarPipelineExpressionFilter", "scalarPipelineExpression scalarFilterOperation scalarPipelineExpression", scalar_filter),
        r("scalarPipelineExpressionFilter", "scalarPipelineExpression scalarFilterOperation scalar", scalar_filter),
        r("scalarPipelineExpression", "OPEN_PARENS scalarPipelineExpression CLOSE_PARENS", second),
        r("scalarPipelineExpression", "scalarPipelineExpression ADD scalarPipelineExpression", scalar_op!(B::Add)),
        r("scalarPipelineExpression", "scalarPipelineExpression SUB scalarPipelineExpression", scalar_op!(B::Sub)),
        r("scalarPipelineExpression", "scalarPipelineExpression MUL scalarPipelineExpression", scalar_op!(B::Mul)),
        r("scalarPipelineExpression", "scalarPipelineExpression DIV scalarPipelineExpression", scalar_op!(B::Div)),
        r("scalarPipelineExpression", "scalarPipelineExpression MOD scalarPipelineExpression", scalar_op!(B::Mod)),
        r("scalarPipelineExpression", "scalarPipelineExpression POW scalarPipelineExpression", scalar_op!(B::Pow)),
        r("scalarPipelineExpression", "wrappedScalarPipeline", first),
        r("wrappedScalarPipeline", "OPEN_PARENS scalarPipeline CLOSE_PARENS", second),
        r("scalarPipeline", "spansetPipeline PIPE aggregate", act!(|a| Val::Scalar(ScalarExpr::Pipeline { pipeline: pipeline(&mut a, 0), aggregate: aggregate(&mut a, 2) }))),
        // scalarExpression
        r("scalarExpression", "OPEN_PARENS scalarExpression CLOSE_PARENS", second),
        r("scalarExpression", "scalarExpression ADD scalarExpression", scalar_op!(B::Add)),
        r("scalarExpression", "scalarExpression SUB scalarExpression", scalar_op!(B::Sub)),
        r("scalarExpression", "scalarExpression MUL scalarExpression", scalar_op!(B::Mul)),
        r("scalarExpression", "scalarExpression DIV scalarExpression", scalar_op!(B::Div)),
        r("scalarExpression", "scalarExpression MOD scalarExpression", scalar_op!(B::Mod)),
        r("scalarExpression", "scalarExpression POW scalarExpression", scalar_op!(B::Pow)),
        r("scalarExpression", "scalarExpression ADD scalar", scalar_op!(B::Add)),
        r("scalarExpression", "scalarExpression SUB scalar", scalar_op!(B::Sub)),
        r("scalarExpression", "scalarExpression MUL scalar", scalar_op!(B::Mul)),
        r("scalarExpression", "scalarExpression DIV scalar", scalar_op!(B::Div)),
        r("scalarExpression", "scalarExpression MOD scalar", scalar_op!(B::Mod)),
        r("scalarExpression", "scalarExpression POW scalar", scalar_op!(B::Pow)),
        r("scalarExpression", "scalar ADD scalarExpression", scalar_op!(B::Add)),
        r("scalarExpression", "scalar SUB scalarExpression", scalar_op!(B::Sub)),
        r("scalarExpression", "scalar MUL scalarExpression", scalar_op!(B::Mul)),
        r("scalarExpression", "scalar DIV scalarExpression", scalar_op!(B::Div)),
        r("scalarExpression", "scalar MOD scalarExpression", scalar_op!(B::Mod)),
        r("scalarExpression", "scalar POW scalarExpression", scalar_op!(B::Pow)),
        r("scalarExpression", "aggregate", act!(|a| Val::Scalar(ScalarExpr::Aggregate(aggregate(&mut a, 0))))),
        r("aggregate", "COUNT OPEN_PARENS CLOSE_PARENS", constant!(Val::Aggregate(Aggregate { op: AggregateOp::Count, expr: None }))),
        r("aggregate", "MAX OPEN_PARENS fieldExpression CLOSE_PARENS", agg!(AggregateOp::Max)),
        r("aggregate", "MIN OPEN_PARENS fieldExpression CLOSE_PARENS", agg!(AggregateOp::Min)),
        r("aggregate", "AVG OPEN_PARENS fieldExpression CLOSE_PARENS", agg!(AggregateOp::Avg)),
        r("aggregate", "SUM OPEN_PARENS fieldExpression CLOSE_PARENS", agg!(AggregateOp::Sum)),
        // metrics first stage
        r("metricsAggregation", "RATE OPEN_PARENS CLOSE_PARENS", m_plain!(M::Rate, None)),
        r("metricsAggregation", "RATE OPEN_PARENS CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_plain!(M::Rate, Some(5))),
        r("metricsAggregation", "COUNT_OVER_TIME OPEN_PARENS CLOSE_PARENS", m_plain!(M::CountOverTime, None)),
        r("metricsAggregation", "COUNT_OVER_TIME OPEN_PARENS CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_plain!(M::CountOverTime, Some(5))),
        r("metricsAggregation", "MIN_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS", m_attr!(M::MinOverTime, None)),
        r("metricsAggregation", "MIN_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_attr!(M::MinOverTime, Some(6))),
        r("metricsAggregation", "MAX_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS", m_attr!(M::MaxOverTime, None)),
        r("metricsAggregation", "MAX_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_attr!(M::MaxOverTime, Some(6))),
        r("metricsAggregation", "SUM_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS", m_attr!(M::SumOverTime, None)),
        r("metricsAggregation", "SUM_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_attr!(M::SumOverTime, Some(6))),
        r("metricsAggregation", "AVG_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS", m_attr!(M::AvgOverTime, None)),
        r("metricsAggregation", "AVG_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_attr!(M::AvgOverTime, Some(6))),
        r("metricsAggregation", "QUANTILE_OVER_TIME OPEN_PARENS attribute COMMA numericList CLOSE_PARENS", act!(|a| Val::First(FirstStage::Aggregate {
            op: M::QuantileOverTime, attr: Some(attr(&mut a, 2)), quantiles: floats(&mut a, 4), by: Vec::new() }))),
        r("metricsAggregation", "QUANTILE_OVER_TIME OPEN_PARENS attribute COMMA numericList CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", act!(|a| Val::First(FirstStage::Aggregate {
            op: M::QuantileOverTime, attr: Some(attr(&mut a, 2)), quantiles: floats(&mut a, 4), by: attrs(&mut a, 8) }))),
        r("metricsAggregation", "HISTOGRAM_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS", m_attr!(M::HistogramOverTime, None)),
        r("metricsAggregation", "HISTOGRAM_OVER_TIME OPEN_PARENS attribute CLOSE_PARENS BY OPEN_PARENS attributeList CLOSE_PARENS", m_attr!(M::HistogramOverTime, Some(6))),
        r("metricsAggregation", "COMPARE OPEN_PARENS spansetFilter CLOSE_PARENS", act!(|a| Val::First(FirstStage::Compare { filter: filter(&mut a, 2), top_n: 10, start: 0, end: 0 }))),
        r("metricsAggregation", "COMPARE OPEN_PARENS spansetFilter COMMA INTEGER CLOSE_PARENS", act!(|a| Val::First(FirstStage::Compare { filter: filter(&mut a, 2), top_n: int(&a, 4), start: 0, end: 0 }))),
        r("metricsAggregation", "COMPARE OPEN_PARENS spansetFilter COMMA INTEGER COMMA INTEGER COMMA INTEGER CLOSE_PARENS", act!(|a| Val::First(FirstStage::Compare {
            filter: filter(&mut a, 2), top_n: int(&a, 4), start: int(&a, 6), end: int(&a, 8) }))),
        // metrics second stage
        r("metricsSecondStage", "TOPK OPEN_PARENS INTEGER CLOSE_PARENS", act!(|a| Val::Second(SecondStage::TopK(int(&a, 2))))),
        r("metricsSecondStage", "BOTTOMK OPEN_PARENS INTEGER CLOSE_PARENS", act!(|a| Val::Second(SecondStage::BottomK(int(&a, 2))))),
        r("metricsFilterOperation", "EQ", constant!(Val::Op(B::Eq))),
        r("metricsFilterOperation", "NEQ", constant!(Val::Op(B::Neq))),
        r("metricsFilterOperation", "LT", constant!(Val::Op(B::Lt))),
        r("metricsFilterOperation", "LTE", constant!(Val::Op(B::Lte))),
        r("metricsFilterOperation", "GT", constant!(Val::Op(B::Gt))),
        r("metricsFilterOperation", "GTE", constant!(Val::Op(B::Gte))),
        r("metricsFilter", "metricsFilterOperation scalar", act!(|a| {
            let op = op(&mut a, 0);
            Val::Second(SecondStage::Filter { op, value: build::metrics_filter_value(&stat(&mut a, 1)) })
        })),
        r("metricsSecondStagePipeline", "PIPE metricsSecondStage", act!(|a| Val::Seconds(seconds(&mut a, 1)))),
        r("metricsSecondStagePipeline", "metricsFilter", act!(|a| Val::Seconds(seconds(&mut a, 0)))),
        r("metricsSecondStagePipeline", "metricsSecondStagePipeline PIPE metricsSecondStage", act!(|a| {
            let mut v = seconds(&mut a, 0);
            v.extend(seconds(&mut a, 2));
            Val::Seconds(v)
        })),
        r("metricsSecondStagePipeline", "metricsSecondStagePipeline metricsFilter", act!(|a| {
            let mut v = seconds(&mut a, 0);
            v.extend(seconds(&mut a, 1));
            Val::Seconds(v)
        })),
        // metrics math
        r("metricsExpression", "OPEN_PARENS metricsExpression CLOSE_PARENS", second),
        r("metricsExpression", "metricsExpression ADD metricsExpression", metrics_math!(B::Add)),
        r("metricsExpression", "metricsExpression SUB metricsExpression", metrics_math!(B::Sub)),
        r("metricsExpression", "metricsExpression MUL metricsExpression", metrics_math!(B::Mul)),
        r("metricsExpression", "metricsExpression DIV metricsExpression", metrics_math!(B::Div)),
        r("metricsExpression", "wrappedMetricsPipeline", first),
        rp("metricsExpression", "metricsExpression ADD scalar", t::ADD, metrics_scalar!(B::Add, right)),
        rp("metricsExpression", "metricsExpression SUB scalar", t::SUB, metrics_scalar!(B::Sub, right)),
        rp("metricsExpression", "metricsExpression MUL scalar", t::MUL, metrics_scalar!(B::Mul, right)),
        rp("metricsExpression", "metricsExpression DIV scalar", t::DIV, metrics_scalar!(B::Div, right)),
        rp("metricsExpression", "scalar ADD metricsExpression", t::ADD, metrics_scalar!(B::Add, left)),
        rp("metricsExpression", "scalar SUB metricsExpression", t::SUB, metrics_scalar!(B::Sub, left)),
        rp("metricsExpression", "scalar MUL metricsExpression", t::MUL, metrics_scalar!(B::Mul, left)),
        rp("metricsExpression", "scalar DIV metricsExpression", t::DIV, metrics_scalar!(B::Div, left)),
        // scalar: constants folded while parsing
        r("scalar", "INTEGER", act!(|a| Val::Static(Static::Int(int(&a, 0))))),
        r("scalar", "FLOAT", act!(|a| Val::Static(Static::Float(num(&a, 0))))),
        r("scalar", "DURATION", act!(|a| Val::Static(Static::Duration(dur(&a, 0))))),
        rp("scalar", "SUB scalar", t::UMINUS, act!(|a, e| Val::Static(build::fold_neg(stat(&mut a, 1), e)))),
        r("scalar", "OPEN_PARENS scalar CLOSE_PARENS", second),
        rp("scalar", "scalar MUL scalar", t::MUL, fold!(B::Mul)),
        rp("scalar", "scalar DIV scalar", t::DIV, fold!(B::Div)),
        rp("scalar", "scalar ADD scalar", t::ADD, fold!(B::Add)),
        rp("scalar", "scalar SUB scalar", t::SUB, fold!(B::Sub)),
        r("wrappedMetricsPipeline", "OPEN_PARENS spansetPipeline PIPE metricsAggregation CLOSE_PARENS", act!(|a| Val::Metrics(MetricsExpr::Pipeline {
            pipeline: pipeline(&mut a, 1), first: first_stage(&mut a, 3), second: Vec::new() }))),
        r("wrappedMetricsPipeline", "OPEN_PARENS spansetPipeline PIPE metricsAggregation metricsSecondStagePipeline CLOSE_PARENS", act!(|a| Val::Metrics(MetricsExpr::Pipeline {
            pipeline: pipeline(&mut a, 1), first: first_stage(&mut a, 3), second: seconds(&mut a, 4) }))),
        // hints
        r("hint", "IDENTIFIER EQ static", act!(|a| Val::Hint(Hint { name: s(&mut a, 0), value: stat(&mut a, 2) }))),
        r("hints", "WITH OPEN_PARENS hintList CLOSE_PARENS", second_of_hints),
        r("hintList", "hint", act!(|a| match take(&mut a, 0) { Val::Hint(h) => Val::Hints(vec![h]), _ => Val::Hints(Vec::new()) })),
        r("hintList", "hintList COMMA hint", act!(|a| {
            let mut v = match take(&mut a, 0) { Val::Hints(v) => v, _ => Vec::new() };
            if let Val::Hint(h) = take(&mut a, 2) { v.push(h); }
            Val::Hints(v)
        })),
        // fieldExpression
        r("fieldExpression", "OPEN_PARENS fieldExpression CLOSE_PARENS", second),
        r("fieldExpression", "fieldExpression ADD fieldExpression", field_op!(B::Add)),
        r("fieldExpression", "fieldExpression SUB fieldExpression", field_op!(B::Sub)),
        r("fieldExpression", "fieldExpression MUL fieldExpression", field_op!(B::Mul)),
        r("fieldExpression", "fieldExpression DIV fieldExpression", field_op!(B::Div)),
        r("fieldExpression", "fieldExpression MOD fieldExpression", field_op!(B::Mod)),
        r("fieldExpression", "fieldExpression EQ fieldExpression", field_op!(B::Eq)),
        r("fieldExpression", "fieldExpression NEQ fieldExpression", field_op!(B::Neq)),
        r("fieldExpression", "fieldExpression LT fieldExpression", field_op!(B::Lt)),
        r("fieldExpression", "fieldExpression LTE fieldExpression", field_op!(B::Lte)),
        r("fieldExpression", "fieldExpression GT fieldExpression", field_op!(B::Gt)),
        r("fieldExpression", "fieldExpression GTE fieldExpression", field_op!(B::Gte)),
        r("fieldExpression", "fieldExpression RE fieldExpression", field_op!(B::Re)),
        r("fieldExpression", "fieldExpression NRE fieldExpression", field_op!(B::Nre)),
        r("fieldExpression", "fieldExpression POW fieldExpression", field_op!(B::Pow)),
        r("fieldExpression", "fieldExpression AND fieldExpression", field_op!(B::And)),
        r("fieldExpression", "fieldExpression OR fieldExpression", field_op!(B::Or)),
        r("fieldExpression", "fieldExpression NEQ NIL", unary!(UnaryOp::Exists, 0)),
        r("fieldExpression", "NIL NEQ fieldExpression", unary!(UnaryOp::Exists, 2)),
        r("fieldExpression", "fieldExpression EQ NIL", unary!(UnaryOp::NotExists, 0)),
        r("fieldExpression", "NIL EQ fieldExpression", unary!(UnaryOp::NotExists, 2)),
        r("fieldExpression", "NIL NEQ NIL", constant!(Val::Field(FieldExpr::Static(Static::Bool(false))))),
        r("fieldExpression", "NIL EQ NIL", constant!(Val::Field(FieldExpr::Static(Static::Bool(false))))),
        r("fieldExpression", "SUB fieldExpression", unary!(UnaryOp::Neg, 1)),
        r("fieldExpression", "NOT fieldExpression", unary!(UnaryOp::Not, 1)),
        r("fieldExpression", "static", first),
        r("fieldExpression", "intrinsicField", first),
        r("fieldExpression", "attributeField", first),
        r("fieldExpression", "scopedIntrinsicField", first),
        // static
        r("static", "STRING", act!(|a| Val::Static(Static::String(s(&mut a, 0))))),
        r("static", "INTEGER", act!(|a| Val::Static(Static::Int(int(&a, 0))))),
        r("static", "FLOAT", act!(|a| Val::Static(Static::Float(num(&a, 0))))),
        r("static", "TRUE", constant!(Val::Static(Static::Bool(true)))),
        r("static", "FALSE", constant!(Val::Static(Static::Bool(false)))),
        r("static", "DURATION", act!(|a| Val::Static(Static::Duration(dur(&a, 0))))),
        r("static", "STATUS_OK", constant!(Val::Static(Static::Status(Status::Ok)))),
        r("static", "STATUS_ERROR", constant!(Val::Static(Static::Status(Status::Error)))),
        r("static", "STATUS_UNSET", constant!(Val::Static(Static::Status(Status::Unset)))),
        r("static", "KIND_UNSPECIFIED", constant!(Val::Static(Static::Kind(Kind::Unspecified)))),
        r("static", "KIND_INTERNAL", constant!(Val::Static(Static::Kind(Kind::Internal)))),
        r("static", "KIND_SERVER", constant!(Val::Static(Static::Kind(Kind::Server)))),
        r("static", "KIND_CLIENT", constant!(Val::Static(Static::Kind(Kind::Client)))),
        r("static", "KIND_PRODUCER", constant!(Val::Static(Static::Kind(Kind::Producer)))),
        r("static", "KIND_CONSUMER", constant!(Val::Static(Static::Kind(Kind::Consumer)))),
        r("static", "IDENTIFIER", act!(|a, e| {
            let name = s(&mut a, 0);
            match name.as_str() {
                "minInt" => Val::Static(Static::Int(i64::MIN)),
                "maxInt" => Val::Static(Static::Int(i64::MAX)),
                _ => {
                    e.push(format!("unknown identifier: {name}"));
                    Val::Static(Static::Nil)
                }
            }
        })),
        // intrinsicField
        r("intrinsicField", "IDURATION", intrinsic!(I::Duration)),
        r("intrinsicField", "NAME", intrinsic!(I::Name)),
        r("intrinsicField", "STATUS", intrinsic!(I::Status)),
        r("intrinsicField", "STATUS_MESSAGE", intrinsic!(I::StatusMessage)),
        r("intrinsicField", "KIND", intrinsic!(I::Kind)),
        r("intrinsicField", "PARENT", intrinsic!(I::Parent)),
        r("intrinsicField", "ROOTNAME", intrinsic!(I::TraceRootSpan)),
        r("intrinsicField", "ROOTSERVICENAME", intrinsic!(I::TraceRootService)),
        r("intrinsicField", "TRACEDURATION", intrinsic!(I::TraceDuration)),
        r("intrinsicField", "NESTEDSETLEFT", intrinsic!(I::NestedSetLeft)),
        r("intrinsicField", "NESTEDSETRIGHT", intrinsic!(I::NestedSetRight)),
        r("intrinsicField", "NESTEDSETPARENT", intrinsic!(I::NestedSetParent)),
        // scopedIntrinsicField
        r("scopedIntrinsicField", "TRACE_COLON IDURATION", intrinsic!(I::TraceDuration)),
        r("scopedIntrinsicField", "TRACE_COLON ROOTNAME", intrinsic!(I::TraceRootSpan)),
        r("scopedIntrinsicField", "TRACE_COLON ROOTSERVICE", intrinsic!(I::TraceRootService)),
        r("scopedIntrinsicField", "TRACE_COLON ID", intrinsic!(I::TraceId)),
        r("scopedIntrinsicField", "SPAN_COLON IDURATION", intrinsic!(I::Duration)),
        r("scopedIntrinsicField", "SPAN_COLON NAME", intrinsic!(I::Name)),
        r("scopedIntrinsicField", "SPAN_COLON KIND", intrinsic!(I::Kind)),
        r("scopedIntrinsicField", "SPAN_COLON STATUS", intrinsic!(I::Status)),
        r("scopedIntrinsicField", "SPAN_COLON STATUS_MESSAGE", intrinsic!(I::StatusMessage)),
        r("scopedIntrinsicField", "SPAN_COLON ID", intrinsic!(I::SpanId)),
        r("scopedIntrinsicField", "SPAN_COLON PARENT_ID", intrinsic!(I::ParentId)),
        r("scopedIntrinsicField", "SPAN_COLON CHILDCOUNT", intrinsic!(I::ChildCount)),
        r("scopedIntrinsicField", "EVENT_COLON NAME", intrinsic!(I::EventName)),
        r("scopedIntrinsicField", "EVENT_COLON TIMESINCESTART", intrinsic!(I::EventTimeSinceStart)),
        r("scopedIntrinsicField", "LINK_COLON TRACE_ID", intrinsic!(I::LinkTraceId)),
        r("scopedIntrinsicField", "LINK_COLON SPAN_ID", intrinsic!(I::LinkSpanId)),
        r("scopedIntrinsicField", "INSTRUMENTATION_COLON NAME", intrinsic!(I::InstrumentationName)),
        r("scopedIntrinsicField", "INSTRUMENTATION_COLON VERSION", intrinsic!(I::InstrumentationVersion)),
        // attributeField
        r("attributeField", "DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::None, false, 1)),
        r("attributeField", "RESOURCE_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Resource, false, 1)),
        r("attributeField", "SPAN_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Span, false, 1)),
        r("attributeField", "PARENT_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::None, true, 1)),
        r("attributeField", "PARENT_DOT RESOURCE_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Resource, true, 2)),
        r("attributeField", "PARENT_DOT SPAN_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Span, true, 2)),
        r("attributeField", "EVENT_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Event, false, 1)),
        r("attributeField", "LINK_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Link, false, 1)),
        r("attributeField", "INSTRUMENTATION_DOT IDENTIFIER END_ATTRIBUTE", named!(Sc::Instrumentation, false, 1)),
    ]
}

fn push_stage(mut a: Args, _: &mut Vec<String>) -> Val {
    let mut p = pipeline(&mut a, 0);
    if let Val::Stage(s) = take(&mut a, 2) {
        p.stages.push(s);
    }
    Val::Pipeline(p)
}

fn push_num(mut a: Args, _: &mut Vec<String>) -> Val {
    let mut v = floats(&mut a, 0);
    v.push(num(&a, 2));
    Val::Floats(v)
}

fn scalar_filter(mut a: Args, _: &mut Vec<String>) -> Val {
    let lhs = scalar_expr(&mut a, 0);
    let op = op(&mut a, 1);
    let rhs = scalar_expr(&mut a, 2);
    Val::ScalarFilter(ScalarFilter { op, lhs, rhs })
}

fn second_of_hints(mut a: Args, _: &mut Vec<String>) -> Val {
    take(&mut a, 2)
}

/// Precedence levels as Tempo declares them, lowest first.
fn precedences() -> Vec<(u8, Assoc)> {
    let mut p = vec![(0, Assoc::Left); t::N_TERMS];
    let levels: [(&[u8], Assoc); 10] = [
        (&[t::PIPE], Assoc::Left),
        (&[t::AND, t::OR], Assoc::Left),
        (
            &[
                t::EQ,
                t::NEQ,
                t::LT,
                t::LTE,
                t::GT,
                t::GTE,
                t::NRE,
                t::RE,
                t::DESC,
                t::ANCE,
                t::SIBL,
                t::NOT_CHILD,
                t::NOT_PARENT,
                t::NOT_DESC,
                t::NOT_ANCE,
                t::UNION_CHILD,
                t::UNION_PARENT,
                t::UNION_DESC,
                t::UNION_ANCE,
                t::UNION_SIBL,
            ],
            Assoc::Left,
        ),
        (&[t::INTEGER, t::FLOAT], Assoc::Nonassoc),
        (&[t::ADD, t::SUB], Assoc::Left),
        (&[t::NOT], Assoc::Left),
        (&[t::MUL, t::DIV, t::MOD], Assoc::Left),
        (&[t::POW], Assoc::Right),
        (&[t::UMINUS], Assoc::Nonassoc),
        (&[t::NIL], Assoc::Nonassoc),
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
