//! Values computed while evaluating, and the binary operators over them with Tempo's typing
//! rules (`pkg/traceql/ast_execute.go`, `enum_statics.go`): operands of types that do not
//! match, or an operator the type does not allow, make the comparison false rather than an
//! error; two ints stay ints, any other numeric mix computes in floats; `nil` equals nothing,
//! not even `nil`.

use std::borrow::Cow;
use std::cmp::Ordering;

use cairn_model::AttrValue;

use crate::{BinaryOp, Kind, Status};

/// A value of a span, an expression or an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Absent.
    Nil,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
    /// A duration in nanoseconds.
    Duration(i64),
    /// A span status.
    Status(Status),
    /// A span kind.
    Kind(Kind),
    /// An array of integers.
    IntArray(Vec<i64>),
    /// An array of floats.
    FloatArray(Vec<f64>),
    /// An array of strings.
    StrArray(Vec<Cow<'a, str>>),
    /// An array of booleans.
    BoolArray(Vec<bool>),
}

/// The type of a [`Value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum VType {
    Nil,
    Int,
    Float,
    Str,
    Bool,
    Duration,
    Status,
    Kind,
    IntArray,
    FloatArray,
    StrArray,
    BoolArray,
}

impl VType {
    fn is_numeric(self) -> bool {
        matches!(self, VType::Int | VType::Float | VType::Duration)
    }

    fn is_array(self) -> bool {
        matches!(
            self,
            VType::IntArray | VType::FloatArray | VType::StrArray | VType::BoolArray
        )
    }

    fn element(self) -> Option<VType> {
        match self {
            VType::IntArray => Some(VType::Int),
            VType::FloatArray => Some(VType::Float),
            VType::StrArray => Some(VType::Str),
            VType::BoolArray => Some(VType::Bool),
            _ => None,
        }
    }

    /// Tempo's `isMatchingOperand`.
    fn matches(self, other: VType) -> bool {
        if self == other
            || (self.is_numeric() && other.is_numeric())
            || self == VType::Nil
            || other == VType::Nil
        {
            return true;
        }
        if let Some(e) = self.element() {
            return e.matches(other);
        }
        if let Some(e) = other.element() {
            return e.matches(self);
        }
        false
    }

    /// Tempo's `binaryTypeValid`.
    fn allows(self, op: BinaryOp) -> bool {
        use BinaryOp::*;
        match self {
            VType::Bool | VType::BoolArray => matches!(op, And | Or | Eq | Neq),
            VType::Float | VType::FloatArray | VType::Int | VType::IntArray | VType::Duration => {
                matches!(
                    op,
                    Add | Sub | Mul | Div | Mod | Pow | Eq | Neq | Gt | Gte | Lt | Lte
                )
            }
            VType::Str | VType::StrArray => {
                matches!(op, Eq | Neq | Re | Nre | Gt | Gte | Lt | Lte)
            }
            VType::Nil | VType::Status | VType::Kind => matches!(op, Eq | Neq),
        }
    }
}

/// Why evaluating an expression failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// `x / 0` between integers.
    #[error("division by zero")]
    DivisionByZero,
    /// `x % 0` between integers.
    #[error("modulo by zero")]
    ModuloByZero,
    /// A regular expression that does not compile.
    #[error("invalid regular expression {0:?}")]
    Regex(String),
    /// Arithmetic or a comparison between two arrays.
    #[error("array operators must consist of a scalar and an array operand")]
    TwoArrays,
    /// Arithmetic on an array.
    #[error("operator {0} is not supported on arrays")]
    ArrayArithmetic(&'static str),
    /// `!x` of a non-boolean or `-x` of a non-number.
    #[error("expression ({0}) expected a {1}, but got {2}")]
    UnaryType(String, &'static str, &'static str),
    /// A structural operator over several spansets of one trace.
    #[error(
        "spanset operators are not supported for multiple spansets per trace. consider using coalesce()"
    )]
    MultipleSpansets,
    /// A construct Tempo's engine does not run either.
    #[error("{0} not yet supported")]
    Unsupported(String),
}

impl<'a> Value<'a> {
    pub(crate) fn vtype(&self) -> VType {
        match self {
            Value::Nil => VType::Nil,
            Value::Int(_) => VType::Int,
            Value::Float(_) => VType::Float,
            Value::Str(_) => VType::Str,
            Value::Bool(_) => VType::Bool,
            Value::Duration(_) => VType::Duration,
            Value::Status(_) => VType::Status,
            Value::Kind(_) => VType::Kind,
            Value::IntArray(_) => VType::IntArray,
            Value::FloatArray(_) => VType::FloatArray,
            Value::StrArray(_) => VType::StrArray,
            Value::BoolArray(_) => VType::BoolArray,
        }
    }

    /// The type's name, as Tempo prints it in errors.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.vtype() {
            VType::Nil => "nil",
            VType::Int => "int",
            VType::Float => "float",
            VType::Str => "string",
            VType::Bool => "bool",
            VType::Duration => "duration",
            VType::Status => "status",
            VType::Kind => "kind",
            VType::IntArray => "[]int",
            VType::FloatArray => "[]float",
            VType::StrArray => "[]string",
            VType::BoolArray => "[]bool",
        }
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The value as a float (durations in nanoseconds); NaN for other types, as Tempo.
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Int(i) | Value::Duration(i) => *i as f64,
            Value::Float(f) => *f,
            _ => f64::NAN,
        }
    }

    /// The value with its borrow ended.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Nil => Value::Nil,
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bool(b) => Value::Bool(b),
            Value::Duration(d) => Value::Duration(d),
            Value::Status(s) => Value::Status(s),
            Value::Kind(k) => Value::Kind(k),
            Value::IntArray(v) => Value::IntArray(v),
            Value::FloatArray(v) => Value::FloatArray(v),
            Value::StrArray(v) => {
                Value::StrArray(v.into_iter().map(|s| Cow::Owned(s.into_owned())).collect())
            }
            Value::BoolArray(v) => Value::BoolArray(v),
        }
    }

    /// An attribute's value as TraceQL sees it: bytes, key/value lists, empty values and
    /// arrays mixing types are not searchable and read as `nil`.
    pub fn from_attr(v: &'a AttrValue) -> Value<'a> {
        match v {
            AttrValue::String(s) => Value::Str(Cow::Borrowed(s)),
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::Int(i) => Value::Int(*i),
            AttrValue::Double(d) => Value::Float(*d),
            AttrValue::Array(items) => array_value(items),
            AttrValue::Empty | AttrValue::Bytes(_) | AttrValue::KvList(_) => Value::Nil,
        }
    }

    /// Tempo's `Static.Equals`.
    pub fn equals(&self, o: &Value<'_>) -> bool {
        use Value::*;
        match (self, o) {
            (Nil, _) | (_, Nil) => false,
            (Int(a) | Duration(a), Int(b) | Duration(b)) => a == b,
            (Int(_) | Duration(_), Float(f)) => self.as_f64() == *f,
            (Float(f), _) => *f == o.as_f64(),
            (Status(a), Status(b)) => a == b,
            (Kind(a), Kind(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (IntArray(a), IntArray(b)) => a == b,
            (FloatArray(a), FloatArray(b)) => a == b,
            (StrArray(a), StrArray(b)) => a == b,
            (BoolArray(a), BoolArray(b)) => a == b,
            _ => false,
        }
    }

    /// Tempo's `Static.compare`, used by `min()` and `max()`: numbers across types by value,
    /// other mixes by type.
    pub(crate) fn compare(&self, o: &Value<'_>) -> Ordering {
        let (ta, tb) = (self.vtype(), o.vtype());
        if ta != tb {
            if ta.is_numeric() && tb.is_numeric() {
                return self.as_f64().total_cmp(&o.as_f64());
            }
            return ta.cmp(&tb);
        }
        match (self, o) {
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Int(a), Value::Int(b)) | (Value::Duration(a), Value::Duration(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    /// Tempo's `sumInto`: values of another type are ignored.
    pub(crate) fn sum_into(&mut self, o: &Value<'_>) {
        match (self, o) {
            (Value::Int(a), Value::Int(b)) | (Value::Duration(a), Value::Duration(b)) => {
                *a = a.wrapping_add(*b)
            }
            (Value::Float(a), Value::Float(b)) => *a += b,
            _ => {}
        }
    }

    /// Tempo's `divideBy`: an integer average is a float, a duration average a duration.
    pub(crate) fn divide_by(&self, n: f64) -> Value<'a> {
        match self {
            Value::Int(i) => Value::Float(*i as f64 / n),
            Value::Duration(d) => Value::Duration(d / n as i64),
            Value::Float(f) => Value::Float(f / n),
            other => other.clone(),
        }
    }
}

fn array_value(items: &[AttrValue]) -> Value<'_> {
    let first = match items.first() {
        None => return Value::Nil,
        Some(f) => f,
    };
    match first {
        AttrValue::String(_) => items
            .iter()
            .map(|v| v.as_str().map(Cow::Borrowed))
            .collect::<Option<Vec<_>>>()
            .map_or(Value::Nil, Value::StrArray),
        AttrValue::Int(_) => items
            .iter()
            .map(|v| match v {
                AttrValue::Int(i) => Some(*i),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map_or(Value::Nil, Value::IntArray),
        AttrValue::Double(_) => items
            .iter()
            .map(|v| match v {
                AttrValue::Double(d) => Some(*d),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map_or(Value::Nil, Value::FloatArray),
        AttrValue::Bool(_) => items
            .iter()
            .map(|v| match v {
                AttrValue::Bool(b) => Some(*b),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map_or(Value::Nil, Value::BoolArray),
        _ => Value::Nil,
    }
}

/// A compiled regular expression, anchored at both ends as Prometheus' matchers (which Tempo
/// uses) anchor them.
pub(crate) fn compile_regex(re: &str) -> Result<regex::Regex, EvalError> {
    regex::Regex::new(&format!("^(?s:{re})$")).map_err(|_| EvalError::Regex(re.to_string()))
}

/// `lhs op rhs`. `regex` is the compiled right operand of `=~`/`!~` when it is a literal.
pub(crate) fn binary<'a>(
    op: BinaryOp,
    lhs: Value<'a>,
    rhs: Value<'a>,
    regex: Option<&regex::Regex>,
) -> Result<Value<'a>, EvalError> {
    let (lt, rt) = (lhs.vtype(), rhs.vtype());
    if !lt.matches(rt) || !lt.allows(op) || !rt.allows(op) {
        // Tempo's engine answers false here, but its storage layer never hands it a span
        // missing an attribute the arithmetic reads; nil keeps that answer here, so that
        // `.a % 2 = .b - 2` cannot hold between two missing attributes.
        if !op.is_boolean() {
            return Ok(Value::Nil);
        }
        return Ok(Value::Bool(false));
    }
    if lt.is_array() || rt.is_array() {
        return array_op(op, lhs, rhs, regex);
    }
    scalar_op(op, &lhs, &rhs, regex)
}

fn scalar_op<'a>(
    op: BinaryOp,
    lhs: &Value<'a>,
    rhs: &Value<'a>,
    regex: Option<&regex::Regex>,
) -> Result<Value<'a>, EvalError> {
    use BinaryOp::*;
    match (lhs, rhs) {
        (Value::Str(a), Value::Str(b)) => match op {
            Gt => return Ok(Value::Bool(a > b)),
            Gte => return Ok(Value::Bool(a >= b)),
            Lt => return Ok(Value::Bool(a < b)),
            Lte => return Ok(Value::Bool(a <= b)),
            Re | Nre => {
                let matched = match regex {
                    Some(r) => r.is_match(a),
                    None => compile_regex(b)?.is_match(a),
                };
                return Ok(Value::Bool(matched == (op == Re)));
            }
            _ => {}
        },
        (Value::Int(a), Value::Int(b)) => {
            let (a, b) = (*a, *b);
            match op {
                Add => return Ok(Value::Int(a.wrapping_add(b))),
                Sub => return Ok(Value::Int(a.wrapping_sub(b))),
                Mul => return Ok(Value::Int(a.wrapping_mul(b))),
                Div => {
                    return a
                        .checked_div(b)
                        .map(Value::Int)
                        .ok_or(EvalError::DivisionByZero);
                }
                Mod => {
                    return a
                        .checked_rem(b)
                        .map(Value::Int)
                        .ok_or(EvalError::ModuloByZero);
                }
                Pow => return Ok(Value::Int((a as f64).powf(b as f64) as i64)),
                Gt => return Ok(Value::Bool(a > b)),
                Gte => return Ok(Value::Bool(a >= b)),
                Lt => return Ok(Value::Bool(a < b)),
                Lte => return Ok(Value::Bool(a <= b)),
                _ => {}
            }
        }
        (Value::Bool(a), Value::Bool(b)) => match op {
            And => return Ok(Value::Bool(*a && *b)),
            Or => return Ok(Value::Bool(*a || *b)),
            _ => {}
        },
        _ => {}
    }
    let (a, b) = (lhs.as_f64(), rhs.as_f64());
    Ok(match op {
        Add => Value::Float(a + b),
        Sub => Value::Float(a - b),
        Mul => Value::Float(a * b),
        Div => Value::Float(a / b),
        Mod => Value::Float(a % b),
        Pow => Value::Float(a.powf(b)),
        Gt => Value::Bool(a > b),
        Gte => Value::Bool(a >= b),
        Lt => Value::Bool(a < b),
        Lte => Value::Bool(a <= b),
        Eq => Value::Bool(lhs.equals(rhs)),
        Neq => Value::Bool(!lhs.is_nil() && !rhs.is_nil() && !lhs.equals(rhs)),
        // Logic between non-booleans: the types were allowed (a nil operand), the answer is no.
        And | Or | Re | Nre => Value::Bool(false),
    })
}

fn elements<'a>(v: Value<'a>) -> Vec<Value<'a>> {
    match v {
        Value::IntArray(a) => a.into_iter().map(Value::Int).collect(),
        Value::FloatArray(a) => a.into_iter().map(Value::Float).collect(),
        Value::StrArray(a) => a.into_iter().map(Value::Str).collect(),
        Value::BoolArray(a) => a.into_iter().map(Value::Bool).collect(),
        other => vec![other],
    }
}

/// A scalar against each element of an array: true when any element compares true, or for
/// `!=` and `!~` when every element does (`not in`, `match none`).
fn array_op<'a>(
    op: BinaryOp,
    lhs: Value<'a>,
    rhs: Value<'a>,
    regex: Option<&regex::Regex>,
) -> Result<Value<'a>, EvalError> {
    if !op.is_boolean() {
        return Err(EvalError::ArrayArithmetic(op.symbol()));
    }
    if lhs.vtype().is_array() && rhs.vtype().is_array() {
        return Err(EvalError::TwoArrays);
    }
    let lhs_is_array = lhs.vtype().is_array();
    let (array, scalar) = if lhs_is_array { (lhs, rhs) } else { (rhs, lhs) };
    let elem_op = if lhs_is_array { flipped(op) } else { op };
    let match_all = matches!(elem_op, BinaryOp::Neq | BinaryOp::Nre);
    let mut count = 0usize;
    let mut matched = 0usize;
    for elem in elements(array) {
        count += 1;
        // A regex is always the right operand, whichever side the array was on.
        let (l, r, re) = match (lhs_is_array, elem_op) {
            (true, BinaryOp::Re | BinaryOp::Nre) => (elem, scalar.clone(), regex),
            (false, BinaryOp::Re | BinaryOp::Nre) => (scalar.clone(), elem, None),
            _ => (scalar.clone(), elem, None),
        };
        let res = scalar_op(elem_op, &l, &r, re)?;
        if res == Value::Bool(true) {
            matched += 1;
            if !match_all {
                break;
            }
        }
    }
    Ok(Value::Bool(if match_all {
        matched == count
    } else {
        matched > 0
    }))
}

fn flipped(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(op: BinaryOp, l: Value<'static>, r: Value<'static>) -> Value<'static> {
        binary(op, l, r, None).expect("evaluates")
    }

    #[test]
    fn typing_rules() {
        use BinaryOp::*;
        assert_eq!(b(Eq, Value::Int(3), Value::Float(3.0)), Value::Bool(true));
        assert_eq!(b(Add, Value::Int(3), Value::Int(4)), Value::Int(7));
        assert_eq!(b(Add, Value::Int(3), Value::Float(0.5)), Value::Float(3.5));
        assert_eq!(b(Eq, Value::Nil, Value::Nil), Value::Bool(false));
        assert_eq!(b(Neq, Value::Nil, Value::Int(1)), Value::Bool(false));
        assert_eq!(b(Gt, Value::Nil, Value::Int(1)), Value::Bool(false));
        assert_eq!(b(Add, Value::Nil, Value::Int(1)), Value::Nil);
        assert_eq!(
            b(Eq, Value::Str("1".into()), Value::Int(1)),
            Value::Bool(false)
        );
        assert_eq!(
            b(Gt, Value::Duration(2_000), Value::Int(1_000)),
            Value::Bool(true)
        );
        assert_eq!(
            b(Re, Value::Str("GET /a".into()), Value::Str("GET".into())),
            Value::Bool(false),
            "regexes are anchored"
        );
        assert_eq!(
            binary(Div, Value::Int(1), Value::Int(0), None),
            Err(EvalError::DivisionByZero)
        );
        assert_eq!(b(Div, Value::Int(7), Value::Int(2)), Value::Int(3));
    }

    #[test]
    fn arrays() {
        use BinaryOp::*;
        let arr = || Value::IntArray(vec![1, 5, 9]);
        assert_eq!(b(Eq, arr(), Value::Int(5)), Value::Bool(true));
        assert_eq!(b(Neq, arr(), Value::Int(5)), Value::Bool(false));
        assert_eq!(b(Neq, arr(), Value::Int(4)), Value::Bool(true));
        // `arr > 8`: some element is above 8.
        assert_eq!(b(Gt, arr(), Value::Int(8)), Value::Bool(true));
        assert_eq!(b(Gt, Value::Int(0), arr()), Value::Bool(false));
        let strs = Value::StrArray(vec!["ab".into(), "cd".into()]);
        assert_eq!(b(Re, strs, Value::Str("c.".into())), Value::Bool(true));
    }
}
