//! The canonical printed form of a query: one space around operators, every compound operand
//! in parentheses, strings in Go's double-quoted form, durations as Go prints them. Parsing the
//! printed form of a parsed query gives the same tree.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use super::lexer::is_attribute_rune;
use cairn_syntax::gofmt;

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if !self.hints.is_empty() {
            f.write_str(" with(")?;
            for (i, h) in self.hints.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}={}", h.name, FieldStatic(&h.value))?;
            }
            f.write_char(')')?;
        }
        Ok(())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Spans(p) => write!(f, "{p}"),
            Expr::Metrics(m) => write_metrics(f, m, true),
        }
    }
}

impl Display for Pipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, s) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(e) => write!(f, "{e}"),
            Stage::ScalarFilter(s) => write!(f, "{s}"),
            Stage::By(e) => write!(f, "by({e})"),
            Stage::Coalesce => f.write_str("coalesce()"),
            Stage::Select(attrs) => {
                f.write_str("select(")?;
                write_list(f, attrs)?;
                f.write_char(')')
            }
        }
    }
}

fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, a) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

impl SpansetExpr {
    fn has_pipeline(&self) -> bool {
        match self {
            SpansetExpr::Filter(_) => false,
            SpansetExpr::Pipeline(_) => true,
            SpansetExpr::Op { lhs, rhs, .. } => lhs.has_pipeline() || rhs.has_pipeline(),
        }
    }

    /// `wrap_filters`: operands among parenthesised pipelines must be parenthesised too.
    fn write_operand(&self, f: &mut Formatter<'_>, wrap_filters: bool) -> fmt::Result {
        match self {
            SpansetExpr::Filter(x) if !wrap_filters => write!(f, "{x}"),
            SpansetExpr::Filter(x) => write!(f, "({x})"),
            SpansetExpr::Pipeline(p) => write!(f, "({p})"),
            SpansetExpr::Op { .. } => {
                f.write_char('(')?;
                self.write_op(f, wrap_filters)?;
                f.write_char(')')
            }
        }
    }

    fn write_op(&self, f: &mut Formatter<'_>, wrap_filters: bool) -> fmt::Result {
        match self {
            SpansetExpr::Op { op, lhs, rhs } => {
                lhs.write_operand(f, wrap_filters)?;
                write!(f, " {} ", op.symbol())?;
                rhs.write_operand(f, wrap_filters)
            }
            other => other.write_operand(f, wrap_filters),
        }
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(x) => write!(f, "{x}"),
            SpansetExpr::Pipeline(p) => write!(f, "({p})"),
            SpansetExpr::Op { .. } => self.write_op(f, self.has_pipeline()),
        }
    }
}

impl Display for SpansetFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{{ {} }}", self.expr)
    }
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_scalar_operand(f, &self.lhs)?;
        write!(f, " {} ", self.op.symbol())?;
        write_scalar_operand(f, &self.rhs)
    }
}

fn write_scalar_operand(f: &mut Formatter<'_>, e: &ScalarExpr) -> fmt::Result {
    match e {
        ScalarExpr::Aggregate(a) => write!(f, "{a}"),
        ScalarExpr::Static(s) => write_number(f, s),
        ScalarExpr::Op { .. } => write!(f, "({e})"),
        ScalarExpr::Pipeline {
            pipeline,
            aggregate,
        } => write!(f, "({pipeline} | {aggregate})"),
    }
}

impl Display for ScalarExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ScalarExpr::Op { op, lhs, rhs } => {
                write_scalar_operand(f, lhs)?;
                write!(f, " {} ", op.symbol())?;
                write_scalar_operand(f, rhs)
            }
            other => write_scalar_operand(f, other),
        }
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            None => write!(f, "{}()", self.op.name()),
            Some(e) => write!(f, "{}({e})", self.op.name()),
        }
    }
}

impl FieldExpr {
    fn write_operand(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Static(_) | FieldExpr::Attribute(_) => write!(f, "{self}"),
            _ => write!(f, "({self})"),
        }
    }
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldExpr::Static(s) => write!(f, "{}", FieldStatic(s)),
            FieldExpr::Attribute(a) => write!(f, "{a}"),
            FieldExpr::Binary { op, lhs, rhs } => {
                lhs.write_operand(f)?;
                write!(f, " {} ", op.symbol())?;
                rhs.write_operand(f)
            }
            FieldExpr::Unary { op, expr } => match op {
                UnaryOp::Neg => {
                    f.write_char('-')?;
                    expr.write_operand(f)
                }
                UnaryOp::Not => {
                    f.write_char('!')?;
                    expr.write_operand(f)
                }
                UnaryOp::Exists => {
                    expr.write_operand(f)?;
                    f.write_str(" != nil")
                }
                UnaryOp::NotExists => {
                    expr.write_operand(f)?;
                    f.write_str(" = nil")
                }
            },
        }
    }
}

/// A literal where any literal may stand (filters, hints): the smallest integer is written
/// `minInt`, as a negative literal would be a negation there.
struct FieldStatic<'a>(&'a Static);

impl Display for FieldStatic<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Static::Int(i64::MIN) => f.write_str("minInt"),
            s => write!(f, "{s}"),
        }
    }
}

impl Display for Static {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Static::Nil => f.write_str("nil"),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(v) => write_float(f, *v),
            Static::String(s) => f.write_str(&gofmt::quote(s)),
            Static::Bool(b) => write!(f, "{b}"),
            Static::Duration(d) => f.write_str(&gofmt::format_go_duration(*d)),
            Static::Status(s) => f.write_str(s.name()),
            Static::Kind(k) => f.write_str(k.name()),
        }
    }
}

/// A float that the lexer reads back as the same float: always with a point or an exponent;
/// the values no literal spells are written as the division that makes them.
fn write_float(f: &mut Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_nan() {
        f.write_str("(0.0 / 0.0)")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 {
            "(1.0 / 0.0)"
        } else {
            "(-1.0 / 0.0)"
        })
    } else {
        write!(f, "{v:?}")
    }
}

/// A folded number of a scalar or metrics context, where `-` folds into the literal.
fn write_number(f: &mut Formatter<'_>, s: &Static) -> fmt::Result {
    match s {
        Static::Int(i64::MIN) => write!(f, "({} - 1)", i64::MIN + 1),
        s => write!(f, "{s}"),
    }
}

/// A float of metrics arithmetic and filters: integral values as integers.
fn write_metrics_number(f: &mut Formatter<'_>, v: f64) -> fmt::Result {
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        write!(f, "{}", v as i64)
    } else {
        write_float(f, v)
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Intrinsic(i) => f.write_str(i.name()),
            Attribute::Named {
                scope,
                parent,
                name,
            } => {
                if *parent {
                    f.write_str("parent.")?;
                }
                if *scope != Scope::None {
                    write!(f, "{}.", scope.name())?;
                }
                if !*parent && *scope == Scope::None {
                    f.write_char('.')?;
                }
                if needs_quotes(name) {
                    f.write_char('"')?;
                    for c in name.chars() {
                        if c == '"' || c == '\\' {
                            f.write_char('\\')?;
                        }
                        f.write_char(c)?;
                    }
                    f.write_char('"')
                } else {
                    f.write_str(name)
                }
            }
        }
    }
}

/// Whether an attribute name must be quoted to read back: empty, with characters that end a
/// name or open a quote, or starting like a scope the lexer would take as one.
fn needs_quotes(name: &str) -> bool {
    name.is_empty()
        || name
            .chars()
            .any(|c| c == '"' || !is_attribute_rune(c as i32))
        || name.starts_with("span.")
        || name.starts_with("resource.")
}

impl Display for MetricsExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_metrics(f, self, true)
    }
}

fn write_seconds(f: &mut Formatter<'_>, second: &[SecondStage]) -> fmt::Result {
    for s in second {
        match s {
            SecondStage::TopK(n) => write!(f, " | topk({n})")?,
            SecondStage::BottomK(n) => write!(f, " | bottomk({n})")?,
            SecondStage::Filter { op, value } => {
                write!(f, " {} ", op.symbol())?;
                write_metrics_number(f, *value)?;
            }
        }
    }
    Ok(())
}

/// `root`: at the top of the query, where a pipeline and second stages stand bare.
fn write_metrics(f: &mut Formatter<'_>, m: &MetricsExpr, root: bool) -> fmt::Result {
    if !root {
        f.write_char('(')?;
    }
    match m {
        MetricsExpr::Pipeline {
            pipeline,
            first,
            second,
        } => {
            write!(f, "{pipeline} | {first}")?;
            write_seconds(f, second)?;
        }
        MetricsExpr::Math { op, lhs, rhs } => {
            write_metrics(f, lhs, false)?;
            write!(f, " {} ", op.symbol())?;
            write_metrics(f, rhs, false)?;
        }
        MetricsExpr::Scalar {
            op,
            expr,
            value,
            scalar_on_left,
        } => {
            if *scalar_on_left {
                write_metrics_number(f, *value)?;
                write!(f, " {} ", op.symbol())?;
                write_metrics(f, expr, false)?;
            } else {
                write_metrics(f, expr, false)?;
                write!(f, " {} ", op.symbol())?;
                write_metrics_number(f, *value)?;
            }
        }
        MetricsExpr::Chained { expr, second } => {
            write_metrics(f, expr, true)?;
            write_seconds(f, second)?;
        }
    }
    if !root {
        f.write_char(')')?;
    }
    Ok(())
}

impl Display for FirstStage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FirstStage::Aggregate {
                op,
                attr,
                quantiles,
                by,
            } => {
                write!(f, "{}(", op.name())?;
                if let Some(a) = attr {
                    write!(f, "{a}")?;
                }
                for q in quantiles {
                    f.write_str(", ")?;
                    write_float(f, *q)?;
                }
                f.write_char(')')?;
                if !by.is_empty() {
                    f.write_str(" by (")?;
                    write_list(f, by)?;
                    f.write_char(')')?;
                }
                Ok(())
            }
            FirstStage::Compare {
                filter,
                top_n,
                start,
                end,
            } => {
                write!(f, "compare({filter}")?;
                if *start != 0 || *end != 0 {
                    write!(f, ", {top_n}, {start}, {end}")?;
                } else if *top_n != 10 {
                    write!(f, ", {top_n}")?;
                }
                f.write_char(')')
            }
        }
    }
}
