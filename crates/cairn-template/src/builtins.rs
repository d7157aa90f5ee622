//! Go's predefined template functions: and or not len index slice print printf println
//! eq ne lt le gt ge html js urlquery.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::fmt::{sprint, sprint_value, sprintf, sprintln, type_name};
use crate::funcs::{Arity, Func, Funcs};
use crate::value::Value;

/// Wraps a closure as a [`Func`].
pub(crate) fn func(f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
    Arc::new(f)
}

/// Checks the argument count like Go's "wrong number of args" error.
pub(crate) fn want(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

/// A string argument, or Go's type error.
pub(crate) fn str_arg(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            type_name(other)
        )),
    }
}

/// Go's `evalArgs`: a single string stays as it is, anything else is `fmt.Sprint`ed.
pub(crate) fn eval_args(args: &[Value], kv: bool) -> String {
    match args {
        [Value::String(s)] => s.clone(),
        _ => sprint(args, kv),
    }
}

/// The zero value a missing key of `m` yields under `missingkey=zero`: `""` for string
/// maps (label sets), nil (printed `<no value>`) otherwise.
pub(crate) fn missing_key_zero(m: &std::collections::BTreeMap<String, Value>) -> Value {
    if m.values().all(|v| matches!(v, Value::String(_))) {
        Value::String(String::new())
    } else {
        Value::Nil
    }
}

fn eq2(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        // Go refuses int against float; comparing the numbers is what users mean.
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Duration(x), Value::Duration(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::List(_) | Value::Map(_), _) => {
            return Err(format!(
                "non-comparable type {}: {}",
                sprint_value(a),
                type_name(a)
            ));
        }
        (_, Value::List(_) | Value::Map(_)) => {
            return Err(format!(
                "non-comparable type {}: {}",
                sprint_value(b),
                type_name(b)
            ));
        }
        (Value::Nil, _) | (_, Value::Nil) => false,
        _ => return Err("incompatible types for comparison".into()),
    })
}

fn cmp2(a: &Value, b: &Value) -> Result<Ordering, String> {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (
            Value::Int(_) | Value::Float(_) | Value::String(_),
            Value::Int(_) | Value::Float(_) | Value::String(_),
        ) => {
            return Err("incompatible types for comparison".into());
        }
        _ => return Err("invalid type for comparison".into()),
    };
    // NaN compares false every way, as in Go.
    Ok(ord.unwrap_or(Ordering::Equal))
}

fn is_nan_pair(a: &Value, b: &Value) -> bool {
    matches!(a, Value::Float(f) if f.is_nan()) || matches!(b, Value::Float(f) if f.is_nan())
}

fn index(args: &[Value]) -> Result<Value, String> {
    let Some((item, indices)) = args.split_first() else {
        return Err("wrong number of args for index: want at least 1 got 0".into());
    };
    let mut cur = item.clone();
    for ix in indices {
        cur = match (&cur, ix) {
            (Value::List(l), Value::Int(i)) => {
                match usize::try_from(*i).ok().and_then(|i| l.get(i)) {
                    Some(v) => v.clone(),
                    None => return Err(format!("error calling index: index out of range: {i}")),
                }
            }
            (Value::String(s), Value::Int(i)) => {
                match usize::try_from(*i).ok().and_then(|i| s.as_bytes().get(i)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err(format!("error calling index: index out of range: {i}")),
                }
            }
            (Value::Map(m), Value::String(k)) => match m.get(k) {
                Some(v) => v.clone(),
                None => missing_key_zero(m),
            },
            (Value::Map(_), other) => {
                return Err(format!(
                    "value has type {}; should be string",
                    type_name(other)
                ));
            }
            (Value::Nil, _) => return Err("index of untyped nil".into()),
            (Value::List(_) | Value::String(_), other) => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    type_name(other)
                ));
            }
            (other, _) => return Err(format!("can't index item of type {}", type_name(other))),
        };
    }
    Ok(cur)
}

fn slice(args: &[Value]) -> Result<Value, String> {
    let Some((item, indices)) = args.split_first() else {
        return Err("wrong number of args for slice: want at least 1 got 0".into());
    };
    let len = match item {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", type_name(other))),
    };
    if indices.len() > 2 {
        return Err(format!("too many slice indexes: {}", indices.len()));
    }
    let mut bounds = [0, len];
    for (n, ix) in indices.iter().enumerate() {
        let Value::Int(i) = ix else {
            return Err(format!(
                "cannot index slice/array with type {}",
                type_name(ix)
            ));
        };
        match usize::try_from(*i) {
            Ok(i) if i <= len => bounds[n] = i,
            _ => return Err(format!("index out of range: {i}")),
        }
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    match item {
        Value::String(s) => match s.get(bounds[0]..bounds[1]) {
            Some(sub) => Ok(Value::String(sub.to_owned())),
            None => Ok(Value::String(
                String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned(),
            )),
        },
        Value::List(l) => Ok(Value::List(l[bounds[0]..bounds[1]].to_vec())),
        _ => Err("can't slice".into()),
    }
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Installs Go's builtins into `f`, with the arities of their Go signatures; with `kv`,
/// string maps print as Alertmanager's label sets do.
pub(crate) fn install(f: &mut Funcs, kv: bool) {
    // `and` and `or` are evaluated lazily by the executor; these eager versions only make
    // the names known to the parser and serve callers that invoke them directly.
    f.insert(
        "and",
        Arity::AtLeast(1),
        func(|a| match a.iter().find(|v| !v.is_true()).or(a.last()) {
            Some(v) => Ok(v.clone()),
            None => Err("wrong number of args for and: want at least 1 got 0".into()),
        }),
    );
    f.insert(
        "or",
        Arity::AtLeast(1),
        func(|a| match a.iter().find(|v| v.is_true()).or(a.last()) {
            Some(v) => Ok(v.clone()),
            None => Err("wrong number of args for or: want at least 1 got 0".into()),
        }),
    );
    f.insert(
        "not",
        Arity::Exactly(1),
        func(|a| Ok(Value::Bool(!a[0].is_true()))),
    );
    f.insert(
        "len",
        Arity::Exactly(1),
        func(|a| match &a[0] {
            Value::String(s) => Ok(Value::Int(s.len() as i64)),
            Value::List(l) => Ok(Value::Int(l.len() as i64)),
            Value::Map(m) => Ok(Value::Int(m.len() as i64)),
            other => Err(format!("len of type {}", type_name(other))),
        }),
    );
    f.insert("index", Arity::AtLeast(1), func(index));
    f.insert("slice", Arity::AtLeast(1), func(slice));
    f.insert(
        "print",
        Arity::AtLeast(0),
        func(move |a| Ok(Value::String(sprint(a, kv)))),
    );
    f.insert(
        "println",
        Arity::AtLeast(0),
        func(move |a| Ok(Value::String(sprintln(a, kv)))),
    );
    f.insert(
        "printf",
        Arity::AtLeast(1),
        func(move |a| match a.split_first() {
            Some((fmt, rest)) => Ok(Value::String(sprintf(str_arg(fmt)?, rest, kv))),
            None => Err("wrong number of args for printf: want at least 1 got 0".into()),
        }),
    );
    f.insert(
        "html",
        Arity::AtLeast(0),
        func(move |a| Ok(Value::String(html_escape(&eval_args(a, kv))))),
    );
    f.insert(
        "js",
        Arity::AtLeast(0),
        func(move |a| Ok(Value::String(js_escape(&eval_args(a, kv))))),
    );
    f.insert(
        "urlquery",
        Arity::AtLeast(0),
        func(move |a| Ok(Value::String(query_escape(&eval_args(a, kv))))),
    );
    // Go's `eq` takes one or more arguments; with one it fails inside the call.
    f.insert(
        "eq",
        Arity::AtLeast(1),
        func(|a| {
            let Some((first, rest)) = a.split_first() else {
                return Err("missing argument for comparison".into());
            };
            if rest.is_empty() {
                return Err("missing argument for comparison".into());
            }
            for b in rest {
                if eq2(first, b)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }),
    );
    f.insert(
        "ne",
        Arity::Exactly(2),
        func(|a| Ok(Value::Bool(!eq2(&a[0], &a[1])?))),
    );
    let ordered = |name: &'static str, test: fn(Ordering) -> bool| {
        func(move |a: &[Value]| {
            let ord = cmp2(&a[0], &a[1])?;
            if is_nan_pair(&a[0], &a[1]) {
                return Ok(Value::Bool(name == "ne"));
            }
            Ok(Value::Bool(test(ord)))
        })
    };
    f.insert(
        "lt",
        Arity::Exactly(2),
        ordered("lt", |o| o == Ordering::Less),
    );
    f.insert(
        "le",
        Arity::Exactly(2),
        ordered("le", |o| o != Ordering::Greater),
    );
    f.insert(
        "gt",
        Arity::Exactly(2),
        ordered("gt", |o| o == Ordering::Greater),
    );
    f.insert(
        "ge",
        Arity::Exactly(2),
        ordered("ge", |o| o != Ordering::Less),
    );
    f.insert(
        "call",
        Arity::AtLeast(1),
        func(|_| Err("call is not supported: values cannot hold functions".into())),
    );
}
