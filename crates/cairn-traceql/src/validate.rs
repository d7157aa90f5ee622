//! Type checking of a parsed query, rule for rule as Tempo's `validate()`: operand types of
//! every operator, filters that must be boolean, aggregates over numbers that reference the
//! span, valid regular expressions, metrics arguments in range. Messages are Tempo's, with the
//! offending part of the query in our canonical form.

use crate::error::{Error, Result};
use crate::syntax::*;

/// Tempo's limit on `by` attributes of a metrics query.
const MAX_GROUP_BYS: usize = 5;
/// Tempo's limit on `compare()`'s top values.
const MAX_COMPARE_TOP_N: i64 = 1000;

fn invalid(msg: String) -> Error {
    Error::Invalid(msg)
}

/// Checks a parsed query as Tempo does before running it.
pub fn validate(q: &Query) -> Result<()> {
    match &q.expr {
        Expr::Spans(p) => validate_pipeline(p),
        Expr::Metrics(m) => {
            // Tempo checks every pipeline, then every first stage, then the expression.
            let mut parts = Vec::new();
            collect_pipelines(m, &mut parts);
            for (p, _) in &parts {
                validate_pipeline(p)?;
            }
            for (_, first) in &parts {
                validate_first_stage(first)?;
            }
            validate_metrics(m)?;
            let plain = matches!(m, MetricsExpr::Pipeline { second, .. } if second.is_empty());
            if !plain
                && parts
                    .iter()
                    .any(|(_, f)| matches!(f, FirstStage::Compare { .. }))
            {
                return Err(invalid(
                    "`compare()` cannot be used with second stage functions".into(),
                ));
            }
            Ok(())
        }
    }
}

fn collect_pipelines<'a>(m: &'a MetricsExpr, out: &mut Vec<(&'a Pipeline, &'a FirstStage)>) {
    match m {
        MetricsExpr::Pipeline {
            pipeline, first, ..
        } => out.push((pipeline, first)),
        MetricsExpr::Math { lhs, rhs, .. } => {
            collect_pipelines(lhs, out);
            collect_pipelines(rhs, out);
        }
        MetricsExpr::Scalar { expr, .. } | MetricsExpr::Chained { expr, .. } => {
            collect_pipelines(expr, out)
        }
    }
}

fn validate_metrics(m: &MetricsExpr) -> Result<()> {
    match m {
        MetricsExpr::Pipeline { second, .. } => validate_seconds(second),
        MetricsExpr::Math { op, lhs, rhs } => {
            if !op.is_arithmetic() {
                return Err(invalid(format!(
                    "unsupported math operation between queries: {}",
                    op.symbol()
                )));
            }
            validate_metrics(lhs)?;
            validate_metrics(rhs)
        }
        MetricsExpr::Scalar { op, expr, .. } => {
            validate_metrics(expr)?;
            if !op.is_arithmetic() {
                return Err(invalid(format!(
                    "unsupported scalar operation: {}",
                    op.symbol()
                )));
            }
            Ok(())
        }
        MetricsExpr::Chained { expr, second } => {
            validate_metrics(expr)?;
            validate_seconds(second)
        }
    }
}

fn validate_seconds(second: &[SecondStage]) -> Result<()> {
    for s in second {
        match s {
            SecondStage::TopK(n) | SecondStage::BottomK(n) if *n <= 0 => {
                return Err(invalid("limit must be greater than 0".into()));
            }
            SecondStage::Filter { op, .. } if op.is_arithmetic() || !op.is_boolean() => {
                return Err(invalid(format!(
                    "unsupported metrics filter operation: {}",
                    op.symbol()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn validate_first_stage(first: &FirstStage) -> Result<()> {
    match first {
        FirstStage::Aggregate {
            op, quantiles, by, ..
        } => {
            match op {
                MetricsOp::HistogramOverTime | MetricsOp::AvgOverTime
                    if by.len() >= MAX_GROUP_BYS =>
                {
                    return Err(Error::Unsupported(format!(
                        "metrics group by {} values",
                        by.len()
                    )));
                }
                MetricsOp::QuantileOverTime => {
                    if by.len() >= MAX_GROUP_BYS {
                        return Err(Error::Unsupported(format!(
                            "metrics group by {} values",
                            by.len()
                        )));
                    }
                    if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                        return Err(invalid(format!(
                            "quantile must be between 0 and 1: {}",
                            go_float(*q)
                        )));
                    }
                }
                _ => {}
            }
            if by.len() > MAX_GROUP_BYS {
                return Err(Error::Unsupported(format!(
                    "metrics group by {} values",
                    by.len()
                )));
            }
            Ok(())
        }
        FirstStage::Compare {
            filter,
            top_n,
            start,
            end,
        } => {
            validate_filter(filter)?;
            if *top_n <= 0 || *top_n > MAX_COMPARE_TOP_N {
                return Err(invalid(format!(
                    "compare() top number of values must be an integer between 1 and {MAX_COMPARE_TOP_N}"
                )));
            }
            if *start == 0 && *end == 0 {
                return Ok(());
            }
            if *start <= 0 || *end <= 0 {
                return Err(invalid(
                    "compare() timestamps must be positive integer unix nanoseconds".into(),
                ));
            }
            if end <= start {
                return Err(invalid(
                    "compare() end timestamp must be greater than start timestamp".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Go's `%v` of a float, for the few messages that print one.
fn go_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn validate_pipeline(p: &Pipeline) -> Result<()> {
    for s in &p.stages {
        match s {
            Stage::Spanset(e) => validate_spanset(e)?,
            Stage::ScalarFilter(f) => validate_scalar_filter(f)?,
            Stage::By(e) => {
                if !references_span(e) {
                    return Err(invalid(format!(
                        "grouping field expressions must reference the span: {s}"
                    )));
                }
                validate_field(e)?;
            }
            Stage::Coalesce => {}
            Stage::Select(attrs) => {
                for a in attrs {
                    validate_attribute(a)?;
                }
            }
        }
    }
    Ok(())
}

fn validate_spanset(e: &SpansetExpr) -> Result<()> {
    match e {
        SpansetExpr::Filter(f) => validate_filter(f),
        SpansetExpr::Op { lhs, rhs, .. } => {
            validate_spanset(lhs)?;
            validate_spanset(rhs)
        }
        SpansetExpr::Pipeline(p) => validate_pipeline(p),
    }
}

fn validate_filter(f: &SpansetFilter) -> Result<()> {
    validate_field(&f.expr)?;
    let t = field_type(&f.expr);
    if t != StaticType::Attribute && t != StaticType::Boolean {
        return Err(invalid(format!(
            "span filter field expressions must resolve to a boolean: {f}"
        )));
    }
    Ok(())
}

fn validate_scalar_filter(f: &ScalarFilter) -> Result<()> {
    validate_scalar(&f.lhs)?;
    validate_scalar(&f.rhs)?;
    check_operands(f.op, scalar_type(&f.lhs), scalar_type(&f.rhs), || {
        f.to_string()
    })?;
    // As Tempo's message, which leaves its format verb unfilled.
    if !matches!(f.lhs, ScalarExpr::Aggregate(_)) {
        return Err(Error::Unsupported("scalar filter lhs of type (%v)".into()));
    }
    if !matches!(f.rhs, ScalarExpr::Static(_)) {
        return Err(Error::Unsupported("scalar filter rhs of type (%v)".into()));
    }
    Ok(())
}

fn check_operands(
    op: BinaryOp,
    lhs: StaticType,
    rhs: StaticType,
    text: impl Fn() -> String,
) -> Result<()> {
    if !matching_operands(lhs, rhs) {
        return Err(invalid(format!(
            "binary operations must operate on the same type: {}",
            text()
        )));
    }
    if !binary_type_valid(op, lhs) || !binary_type_valid(op, rhs) {
        return Err(invalid(format!(
            "illegal operation for the given types: {}",
            text()
        )));
    }
    Ok(())
}

fn validate_scalar(e: &ScalarExpr) -> Result<()> {
    match e {
        ScalarExpr::Aggregate(a) => validate_aggregate(a),
        ScalarExpr::Static(_) => Ok(()),
        ScalarExpr::Op { op, lhs, rhs } => {
            validate_scalar(lhs)?;
            validate_scalar(rhs)?;
            check_operands(*op, scalar_type(lhs), scalar_type(rhs), || e.to_string())
        }
        ScalarExpr::Pipeline {
            pipeline,
            aggregate,
        } => {
            validate_pipeline(pipeline)?;
            validate_aggregate(aggregate)
        }
    }
}

fn validate_aggregate(a: &Aggregate) -> Result<()> {
    let Some(e) = &a.expr else {
        return Ok(());
    };
    validate_field(e)?;
    let t = field_type(e);
    if t != StaticType::Attribute && !t.is_numeric() {
        return Err(invalid(format!(
            "aggregate field expressions must resolve to a number type: {a}"
        )));
    }
    if !references_span(e) {
        return Err(invalid(format!(
            "aggregate field expressions must reference the span: {a}"
        )));
    }
    Ok(())
}

fn validate_field(e: &FieldExpr) -> Result<()> {
    match e {
        FieldExpr::Static(_) => Ok(()),
        FieldExpr::Attribute(a) => validate_attribute(a),
        FieldExpr::Binary { op, lhs, rhs } => {
            validate_field(lhs)?;
            validate_field(rhs)?;
            check_operands(*op, field_type(lhs), field_type(rhs), || e.to_string())?;
            if matches!(op, BinaryOp::Re | BinaryOp::Nre) {
                let bad_type = || invalid(format!("invalid type for =~ or !~: {rhs}"));
                match &**rhs {
                    FieldExpr::Static(Static::String(re)) => {
                        if regex::Regex::new(re).is_err() {
                            return Err(invalid(format!("invalid regex: {rhs}")));
                        }
                    }
                    _ => return Err(bad_type()),
                }
            }
            Ok(())
        }
        FieldExpr::Unary { op, expr } => {
            validate_field(expr)?;
            if *op == UnaryOp::NotExists
                && let FieldExpr::Attribute(a) = &**expr
            {
                match a {
                    Attribute::Intrinsic(_) => {
                        return Err(invalid(format!(
                            "{a}=nil is not valid because intrinsics cannot be nil"
                        )));
                    }
                    Attribute::Named {
                        scope: Scope::Resource,
                        parent: false,
                        name,
                    } if name == "service.name" => {
                        return Err(invalid(format!(
                            "{a}=nil is not valid because resource.service.name cannot be nil"
                        )));
                    }
                    _ => {}
                }
            }
            let t = field_type(expr);
            if t == StaticType::Attribute {
                return Ok(());
            }
            let ok = match op {
                UnaryOp::Neg => t.is_numeric(),
                UnaryOp::Not => t == StaticType::Boolean,
                UnaryOp::Exists | UnaryOp::NotExists => true,
            };
            if !ok {
                return Err(invalid(format!(
                    "illegal operation for the given type: {e}"
                )));
            }
            Ok(())
        }
    }
}

fn validate_attribute(a: &Attribute) -> Result<()> {
    match a {
        Attribute::Named { parent: true, .. } => Err(Error::Unsupported("parent".into())),
        Attribute::Intrinsic(Intrinsic::Parent) => {
            Err(Error::Unsupported("intrinsic (parent)".into()))
        }
        _ => Ok(()),
    }
}

/// The type Tempo infers for a field expression.
pub(crate) fn field_type(e: &FieldExpr) -> StaticType {
    match e {
        FieldExpr::Static(s) => s.static_type(),
        FieldExpr::Attribute(Attribute::Intrinsic(i)) => i.static_type(),
        FieldExpr::Attribute(Attribute::Named { .. }) => StaticType::Attribute,
        FieldExpr::Binary { op, lhs, rhs } => {
            if op.is_boolean() {
                return StaticType::Boolean;
            }
            match field_type(lhs) {
                StaticType::Attribute => field_type(rhs),
                t => t,
            }
        }
        FieldExpr::Unary { op, expr } => match op {
            UnaryOp::Exists | UnaryOp::NotExists => StaticType::Boolean,
            _ => field_type(expr),
        },
    }
}

fn scalar_type(e: &ScalarExpr) -> StaticType {
    match e {
        ScalarExpr::Aggregate(a) => aggregate_type(a),
        ScalarExpr::Static(s) => s.static_type(),
        ScalarExpr::Op { op, lhs, rhs } => {
            if op.is_boolean() {
                return StaticType::Boolean;
            }
            match scalar_type(lhs) {
                StaticType::Attribute => scalar_type(rhs),
                t => t,
            }
        }
        ScalarExpr::Pipeline { aggregate, .. } => aggregate_type(aggregate),
    }
}

fn aggregate_type(a: &Aggregate) -> StaticType {
    match (&a.op, &a.expr) {
        (AggregateOp::Count, _) | (_, None) => StaticType::Int,
        (_, Some(e)) => field_type(e),
    }
}

/// Whether an expression reads the span (has an attribute or intrinsic).
pub(crate) fn references_span(e: &FieldExpr) -> bool {
    match e {
        FieldExpr::Static(_) => false,
        FieldExpr::Attribute(_) => true,
        FieldExpr::Binary { lhs, rhs, .. } => references_span(lhs) || references_span(rhs),
        FieldExpr::Unary { expr, .. } => references_span(expr),
    }
}

/// Tempo's `isMatchingOperand`: whether two types can meet in a binary operation.
pub(crate) fn matching_operands(a: StaticType, b: StaticType) -> bool {
    a == StaticType::Attribute
        || b == StaticType::Attribute
        || a == b
        || (a.is_numeric() && b.is_numeric())
        || a == StaticType::Nil
        || b == StaticType::Nil
}

/// Tempo's `binaryTypeValid`: whether `op` applies to a value of type `t`.
pub(crate) fn binary_type_valid(op: BinaryOp, t: StaticType) -> bool {
    use BinaryOp as B;
    match t {
        StaticType::Attribute => true,
        StaticType::Boolean => matches!(op, B::And | B::Or | B::Eq | B::Neq),
        StaticType::Int | StaticType::Float | StaticType::Duration => matches!(
            op,
            B::Add
                | B::Sub
                | B::Mul
                | B::Div
                | B::Mod
                | B::Pow
                | B::Eq
                | B::Neq
                | B::Gt
                | B::Gte
                | B::Lt
                | B::Lte
        ),
        StaticType::String => matches!(
            op,
            B::Eq | B::Neq | B::Re | B::Nre | B::Gt | B::Gte | B::Lt | B::Lte
        ),
        StaticType::Nil | StaticType::Status | StaticType::Kind => matches!(op, B::Eq | B::Neq),
    }
}
