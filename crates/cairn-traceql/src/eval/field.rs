//! Field expressions compiled for evaluation, and what they read from a span: intrinsics and
//! attributes in every scope, as Tempo's storage layer hands them to its engine.
//!
//! Event and link values are many per span (one per event or link); a comparison with one of
//! them is true when it is true for any of them, which is how Tempo's fetch layer matches
//! spans by their events and links. `x = nil` is true when no value is present at all.

use std::borrow::Cow;

use cairn_model::{Attribute as Attr, SpanKind, StatusCode, find_attr};

use super::index::{SpanRef, TraceIndex};
use super::value::{EvalError, Value, binary, compile_regex};
use crate::{Attribute, BinaryOp, FieldExpr, Intrinsic, Kind, Scope, Static, Status, UnaryOp};

/// A field expression ready to run.
#[derive(Debug, Clone)]
pub(crate) enum CField {
    Static(Value<'static>),
    Attr(Attribute),
    Binary {
        op: BinaryOp,
        lhs: Box<CField>,
        rhs: Box<CField>,
        /// The right operand compiled, when it is a literal regex.
        regex: Option<regex::Regex>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<CField>,
        text: String,
    },
}

impl CField {
    pub(crate) fn compile(e: &FieldExpr) -> Result<CField, EvalError> {
        Ok(match e {
            FieldExpr::Static(s) => CField::Static(static_value(s)),
            FieldExpr::Attribute(a) => CField::Attr(a.clone()),
            FieldExpr::Binary { op, lhs, rhs } => {
                let l = CField::compile(lhs)?;
                let mut r = CField::compile(rhs)?;
                // Trace ids print without leading zeros; a literal written with them still
                // names the same trace.
                if let (
                    CField::Attr(Attribute::Intrinsic(Intrinsic::TraceId | Intrinsic::LinkTraceId)),
                    CField::Static(Value::Str(s)),
                    BinaryOp::Eq | BinaryOp::Neq,
                ) = (&l, &mut r, op)
                {
                    let t = s.trim_start_matches('0').to_lowercase();
                    *s = Cow::Owned(if t.is_empty() { "0".into() } else { t });
                }
                let regex = match (&r, op) {
                    (CField::Static(Value::Str(s)), BinaryOp::Re | BinaryOp::Nre) => {
                        Some(compile_regex(s)?)
                    }
                    _ => None,
                };
                CField::Binary {
                    op: *op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                    regex,
                }
            }
            FieldExpr::Unary { op, expr } => CField::Unary {
                op: *op,
                expr: Box::new(CField::compile(expr)?),
                text: e.to_string(),
            },
        })
    }

    /// The expression's value for span `i`.
    pub(crate) fn eval<'a>(&self, ix: &TraceIndex<'a>, i: usize) -> Result<Value<'a>, EvalError> {
        match self {
            CField::Static(v) => Ok(v.clone()),
            CField::Attr(a) => {
                if is_multi(a) {
                    let mut vals = Vec::new();
                    multi_values(ix, i, a, &mut vals);
                    Ok(vals.into_iter().next().unwrap_or(Value::Nil))
                } else {
                    Ok(single_value(ix, i, a))
                }
            }
            CField::Binary {
                op,
                lhs,
                rhs,
                regex,
            } => {
                if op.is_boolean() && (lhs.is_multi() || rhs.is_multi()) {
                    return self.eval_any(ix, i);
                }
                let l = lhs.eval(ix, i)?;
                match (op, &l) {
                    (BinaryOp::And, Value::Bool(false)) => return Ok(Value::Bool(false)),
                    (BinaryOp::Or, Value::Bool(true)) => return Ok(Value::Bool(true)),
                    _ => {}
                }
                let r = rhs.eval(ix, i)?;
                binary(*op, l, r, regex.as_ref())
            }
            CField::Unary { op, expr, text } => {
                if let (UnaryOp::Exists | UnaryOp::NotExists, CField::Attr(a)) = (op, &**expr)
                    && is_multi(a)
                {
                    let mut vals = Vec::new();
                    multi_values(ix, i, a, &mut vals);
                    let any = vals.iter().any(|v| !v.is_nil());
                    return Ok(Value::Bool(any == (*op == UnaryOp::Exists)));
                }
                let v = expr.eval(ix, i)?;
                match op {
                    UnaryOp::Exists => Ok(Value::Bool(!v.is_nil())),
                    UnaryOp::NotExists => Ok(Value::Bool(v.is_nil())),
                    // A missing operand stays missing, so that a filter does not fail on
                    // the spans that lack an attribute.
                    _ if v.is_nil() => Ok(Value::Nil),
                    UnaryOp::Not => match v {
                        Value::Bool(b) => Ok(Value::Bool(!b)),
                        other => Err(EvalError::UnaryType(
                            text.clone(),
                            "boolean",
                            other.type_name(),
                        )),
                    },
                    UnaryOp::Neg => match v {
                        Value::Int(n) => Ok(Value::Int(n.wrapping_neg())),
                        Value::Float(f) => Ok(Value::Float(-f)),
                        Value::Duration(d) => Ok(Value::Duration(d.wrapping_neg())),
                        other => Err(EvalError::UnaryType(
                            text.clone(),
                            "numeric",
                            other.type_name(),
                        )),
                    },
                }
            }
        }
    }

    fn is_multi(&self) -> bool {
        matches!(self, CField::Attr(a) if is_multi(a))
    }

    /// A comparison with an event or link value: true when any pair compares true.
    fn eval_any<'a>(&self, ix: &TraceIndex<'a>, i: usize) -> Result<Value<'a>, EvalError> {
        let CField::Binary {
            op,
            lhs,
            rhs,
            regex,
        } = self
        else {
            return self.eval(ix, i);
        };
        let side = |f: &CField| -> Result<Vec<Value<'a>>, EvalError> {
            match f {
                CField::Attr(a) if is_multi(a) => {
                    let mut v = Vec::new();
                    multi_values(ix, i, a, &mut v);
                    if v.is_empty() {
                        v.push(Value::Nil);
                    }
                    Ok(v)
                }
                other => Ok(vec![other.eval(ix, i)?]),
            }
        };
        let ls = side(lhs)?;
        let rs = side(rhs)?;
        for l in &ls {
            for r in &rs {
                if binary(*op, l.clone(), r.clone(), regex.as_ref())? == Value::Bool(true) {
                    return Ok(Value::Bool(true));
                }
            }
        }
        Ok(Value::Bool(false))
    }
}

/// A literal as a value.
pub(crate) fn static_value(s: &Static) -> Value<'static> {
    match s {
        Static::Nil => Value::Nil,
        Static::Int(i) => Value::Int(*i),
        Static::Float(f) => Value::Float(*f),
        Static::String(s) => Value::Str(Cow::Owned(s.clone())),
        Static::Bool(b) => Value::Bool(*b),
        Static::Duration(d) => Value::Duration(*d),
        Static::Status(s) => Value::Status(*s),
        Static::Kind(k) => Value::Kind(*k),
    }
}

/// Whether a span has many values of this attribute (one per event or link).
fn is_multi(a: &Attribute) -> bool {
    match a {
        Attribute::Named { scope, .. } => matches!(scope, Scope::Event | Scope::Link),
        Attribute::Intrinsic(i) => matches!(
            i,
            Intrinsic::EventName
                | Intrinsic::EventTimeSinceStart
                | Intrinsic::LinkTraceId
                | Intrinsic::LinkSpanId
        ),
    }
}

fn attr<'a>(attrs: &'a [Attr], name: &str) -> Value<'a> {
    find_attr(attrs, name).map_or(Value::Nil, Value::from_attr)
}

pub(crate) fn status(c: StatusCode) -> Status {
    match c {
        StatusCode::Unset => Status::Unset,
        StatusCode::Ok => Status::Ok,
        StatusCode::Error => Status::Error,
    }
}

pub(crate) fn kind(k: SpanKind) -> Kind {
    match k {
        SpanKind::Unspecified => Kind::Unspecified,
        SpanKind::Internal => Kind::Internal,
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
    }
}

/// The value of a one-per-span attribute or intrinsic of span `i`; the first event's or
/// link's for the many-valued ones.
pub(crate) fn single_value<'a>(ix: &TraceIndex<'a>, i: usize, a: &Attribute) -> Value<'a> {
    let SpanRef {
        span,
        resource,
        scope,
    } = ix.span(i);
    match a {
        Attribute::Named {
            scope: sc, name, ..
        } => match sc {
            Scope::Span => attr(&span.attributes, name),
            Scope::Resource => attr(&resource.attributes, name),
            Scope::Instrumentation => attr(&scope.attributes, name),
            Scope::None => match attr(&span.attributes, name) {
                Value::Nil => attr(&resource.attributes, name),
                v => v,
            },
            Scope::Event | Scope::Link => {
                let mut v = Vec::new();
                multi_values(ix, i, a, &mut v);
                v.into_iter().next().unwrap_or(Value::Nil)
            }
        },
        Attribute::Intrinsic(intr) => match intr {
            Intrinsic::Duration => Value::Duration(span.duration_ns() as i64),
            Intrinsic::Name => Value::Str(Cow::Borrowed(&span.name)),
            Intrinsic::Status => Value::Status(status(span.status.code)),
            Intrinsic::StatusMessage => Value::Str(Cow::Borrowed(&span.status.message)),
            Intrinsic::Kind => Value::Kind(kind(span.kind)),
            Intrinsic::ChildCount => Value::Int(ix.children(i).len() as i64),
            Intrinsic::Parent => Value::Nil,
            Intrinsic::TraceRootService => ix
                .root()
                .and_then(|r| r.resource.service_name())
                .map_or(Value::Nil, |s| Value::Str(Cow::Borrowed(s))),
            Intrinsic::TraceRootSpan => ix
                .root()
                .map_or(Value::Nil, |r| Value::Str(Cow::Borrowed(&r.span.name))),
            Intrinsic::TraceDuration => ix.time_range_ns().map_or(Value::Nil, |(s, e)| {
                Value::Duration(e.saturating_sub(s) as i64)
            }),
            Intrinsic::TraceId => Value::Str(Cow::Owned(span.trace_id.to_hex_trimmed())),
            Intrinsic::SpanId => Value::Str(Cow::Owned(span.span_id.to_hex())),
            Intrinsic::ParentId => span
                .parent_span_id
                .map_or(Value::Nil, |p| Value::Str(Cow::Owned(p.to_hex()))),
            Intrinsic::NestedSetLeft => Value::Int(ix.nested(i).0),
            Intrinsic::NestedSetRight => Value::Int(ix.nested(i).1),
            Intrinsic::NestedSetParent => Value::Int(ix.parent(i).map_or(-1, |p| ix.nested(p).0)),
            Intrinsic::InstrumentationName => Value::Str(Cow::Borrowed(&scope.name)),
            Intrinsic::InstrumentationVersion => Value::Str(Cow::Borrowed(&scope.version)),
            Intrinsic::EventName
            | Intrinsic::EventTimeSinceStart
            | Intrinsic::LinkTraceId
            | Intrinsic::LinkSpanId => {
                let mut v = Vec::new();
                multi_values(ix, i, a, &mut v);
                v.into_iter().next().unwrap_or(Value::Nil)
            }
        },
    }
}

/// The present values of an event or link attribute or intrinsic of span `i`.
fn multi_values<'a>(ix: &TraceIndex<'a>, i: usize, a: &Attribute, out: &mut Vec<Value<'a>>) {
    let span = ix.span(i).span;
    let present = |v: Value<'a>, out: &mut Vec<Value<'a>>| {
        if !v.is_nil() {
            out.push(v)
        }
    };
    match a {
        Attribute::Named {
            scope: Scope::Event,
            name,
            ..
        } => {
            for e in &span.events {
                present(attr(&e.attributes, name), out);
            }
        }
        Attribute::Named {
            scope: Scope::Link,
            name,
            ..
        } => {
            for l in &span.links {
                present(attr(&l.attributes, name), out);
            }
        }
        Attribute::Intrinsic(Intrinsic::EventName) => out.extend(
            span.events
                .iter()
                .map(|e| Value::Str(Cow::Borrowed(&e.name))),
        ),
        Attribute::Intrinsic(Intrinsic::EventTimeSinceStart) => out.extend(
            span.events
                .iter()
                .map(|e| Value::Duration(e.time_ns as i64 - span.start_ns as i64)),
        ),
        Attribute::Intrinsic(Intrinsic::LinkTraceId) => out.extend(
            span.links
                .iter()
                .map(|l| Value::Str(Cow::Owned(l.trace_id.to_hex_trimmed()))),
        ),
        Attribute::Intrinsic(Intrinsic::LinkSpanId) => out.extend(
            span.links
                .iter()
                .map(|l| Value::Str(Cow::Owned(l.span_id.to_hex()))),
        ),
        other => present(single_value(ix, i, other), out),
    }
}
