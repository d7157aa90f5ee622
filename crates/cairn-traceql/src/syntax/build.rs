//! Helpers of the grammar's actions: the normalisations of the tree and the constant folding
//! Tempo does while parsing, with its error messages.

use super::ast::*;

/// `lhs op rhs` between spansets.
pub(crate) fn spanset_op(op: SpansetOp, lhs: SpansetExpr, rhs: SpansetExpr) -> SpansetExpr {
    SpansetExpr::Op {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// `( pipeline )` as an operand: a pipeline of one spanset expression is that expression.
pub(crate) fn wrap_pipeline(mut p: Pipeline) -> SpansetExpr {
    if p.stages.len() == 1
        && matches!(p.stages.first(), Some(Stage::Spanset(_)))
        && let Some(Stage::Spanset(e)) = p.stages.pop()
    {
        return e;
    }
    SpansetExpr::Pipeline(p)
}

/// The pipeline a spanset expression at the top of a query stands for.
pub(crate) fn as_pipeline(e: SpansetExpr) -> Pipeline {
    match e {
        SpansetExpr::Pipeline(p) => p,
        e => Pipeline {
            stages: vec![Stage::Spanset(e)],
        },
    }
}

/// Second stages after a metrics expression: a pipeline takes them as its own.
pub(crate) fn chain(m: MetricsExpr, stages: Vec<SecondStage>) -> MetricsExpr {
    if stages.is_empty() {
        return m;
    }
    match m {
        MetricsExpr::Pipeline {
            pipeline,
            first,
            mut second,
        } => {
            second.extend(stages);
            MetricsExpr::Pipeline {
                pipeline,
                first,
                second,
            }
        }
        MetricsExpr::Chained { expr, mut second } => {
            second.extend(stages);
            MetricsExpr::Chained { expr, second }
        }
        m => MetricsExpr::Chained {
            expr: Box::new(m),
            second: stages,
        },
    }
}

/// The number of a metrics scalar operation; durations are refused (Tempo's
/// `metricScalarFloat`).
pub(crate) fn metric_scalar_float(s: &Static, errs: &mut Vec<String>) -> f64 {
    if matches!(s, Static::Duration(_)) {
        errs.push("duration cannot be used as a scalar operand in metric arithmetic".into());
    }
    s.as_f64().unwrap_or(0.0)
}

/// The number a metrics filter compares with; durations count in seconds.
pub(crate) fn metrics_filter_value(s: &Static) -> f64 {
    match s {
        Static::Duration(d) => *d as f64 / 1e9,
        s => s.as_f64().unwrap_or(0.0),
    }
}

/// `lhs op rhs` between two constants, as Tempo folds them: integer arithmetic between
/// integers (wrapping like Go), float arithmetic otherwise, durations refused.
pub(crate) fn fold_arith(op: BinaryOp, lhs: Static, rhs: Static, errs: &mut Vec<String>) -> Static {
    if matches!(lhs, Static::Duration(_)) || matches!(rhs, Static::Duration(_)) {
        errs.push("duration cannot be used in scalar arithmetic".into());
        return Static::Nil;
    }
    if let (Static::Int(a), Static::Int(b)) = (&lhs, &rhs) {
        let (a, b) = (*a, *b);
        return match op {
            BinaryOp::Add => Static::Int(a.wrapping_add(b)),
            BinaryOp::Sub => Static::Int(a.wrapping_sub(b)),
            BinaryOp::Mul => Static::Int(a.wrapping_mul(b)),
            BinaryOp::Div if b == 0 => {
                errs.push("division by zero".into());
                Static::Nil
            }
            BinaryOp::Div => Static::Int(a.wrapping_div(b)),
            _ => Static::Nil,
        };
    }
    let (Some(a), Some(b)) = (lhs.as_f64(), rhs.as_f64()) else {
        return Static::Nil;
    };
    match op {
        BinaryOp::Add => Static::Float(a + b),
        BinaryOp::Sub => Static::Float(a - b),
        BinaryOp::Mul => Static::Float(a * b),
        BinaryOp::Div => Static::Float(a / b),
        _ => Static::Nil,
    }
}

/// `-x` of a constant, keeping its type.
pub(crate) fn fold_neg(s: Static, errs: &mut Vec<String>) -> Static {
    match s {
        Static::Int(i) => Static::Int(i.wrapping_neg()),
        Static::Float(f) => Static::Float(-f),
        Static::Duration(d) => Static::Duration(d.wrapping_neg()),
        Static::Nil => Static::Nil,
        other => {
            errs.push(format!(
                "expression (-{}) expected a numeric, but got {:?}",
                other, other
            ));
            Static::Nil
        }
    }
}
