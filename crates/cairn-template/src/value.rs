//! The dynamic value templates operate on, and how Go's `fmt` prints it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

/// A dynamic value as templates see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Go's `nil` (and the result of a missing field on a non-string map).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer (Go's `int`).
    Int(i64),
    /// A floating point number (Go's `float64`).
    Float(f64),
    /// A string.
    String(String),
    /// A list (Go's slice).
    List(Vec<Value>),
    /// A map with string keys, iterated in key order as Go does.
    Map(BTreeMap<String, Value>),
    /// An instant (Go's `time.Time`), printed like Go's default format.
    Time(DateTime<Utc>),
    /// A duration (Go's `time.Duration`), printed like Go's `1h2m3.5s`.
    Duration(TimeDelta),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Value {
        Value::List(l)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Value {
        Value::Map(m)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Value {
        Value::Time(t)
    }
}

impl From<TimeDelta> for Value {
    fn from(d: TimeDelta) -> Value {
        Value::Duration(d)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Value {
        Value::Map(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Value {
    /// A map of strings to strings, the shape of a label set (`$labels`, `.CommonLabels`).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .collect(),
        )
    }

    /// A Prometheus query result sample as `query` returns it and `first`, `label`,
    /// `value` and `sortByLabel` expect: `{Labels: {..}, Value: v}`.
    pub fn sample<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>, value: f64) -> Value {
        let mut m = BTreeMap::new();
        m.insert("Labels".to_owned(), Value::string_map(labels));
        m.insert("Value".to_owned(), Value::Float(value));
        Value::Map(m)
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key`, if this is a map holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// Go's truthiness: false, 0, "", nil and empty lists and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
            Value::Duration(d) => !d.is_zero(),
        }
    }
}
