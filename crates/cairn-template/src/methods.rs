//! Field access and the few Go methods templates call on data: `.a.b` on maps, Alertmanager's
//! `KV` methods (`SortedPairs`, `Names`, `Values`, `Remove`), `Alerts` methods (`Firing`,
//! `Resolved`) and the common `time.Time` and `time.Duration` methods.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};

use crate::builtins::{missing_key_zero, str_arg, want};
use crate::fmt::{sprint_value, type_name};
use crate::timefmt::{format_duration, format_time, format_time_default};
use crate::value::Value;

/// Evaluates `.name` on `recv`, with `args` when it is the last field of a command
/// (a method call). `has_args` tells a call with arguments from plain field access.
pub(crate) fn field(
    recv: &Value,
    name: &str,
    args: &[Value],
    has_args: bool,
) -> Result<Value, String> {
    match recv {
        Value::Map(m) => {
            if !has_args && let Some(v) = m.get(name) {
                return Ok(v.clone());
            }
            if let Some(v) = kv_method(m, name, args)? {
                return Ok(v);
            }
            if has_args {
                return Err(format!("{name} is not a method but has arguments"));
            }
            Ok(missing_key_zero(m))
        }
        Value::Nil => {
            if has_args {
                return Err(format!("{name} is not a method but has arguments"));
            }
            Ok(Value::Nil)
        }
        Value::List(l) => match name {
            "Firing" | "Resolved" => {
                want(name, args, 0)?;
                let status = if name == "Firing" {
                    "firing"
                } else {
                    "resolved"
                };
                Ok(Value::List(
                    l.iter()
                        .filter(|a| match a {
                            Value::Map(m) => {
                                m.get("Status").and_then(Value::as_str) == Some(status)
                            }
                            _ => false,
                        })
                        .cloned()
                        .collect(),
                ))
            }
            "Names" | "Values" => {
                want(name, args, 0)?;
                let key = if name == "Names" { "Name" } else { "Value" };
                Ok(Value::List(
                    l.iter()
                        .map(|p| match p {
                            Value::Map(m) => m.get(key).cloned().unwrap_or_default(),
                            _ => Value::Nil,
                        })
                        .collect(),
                ))
            }
            "String" => {
                want(name, args, 0)?;
                Ok(Value::String(pairs_string(l)))
            }
            _ => Err(format!(
                "can't evaluate field {name} in type {}",
                type_name(recv)
            )),
        },
        Value::Time(t) => time_method(t, name, args),
        Value::Duration(d) => duration_method(*d, name, args),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            type_name(other)
        )),
    }
}

/// Alertmanager's `KV.SortedPairs`: `alertname` first, the other names sorted.
pub(crate) fn sorted_pairs(m: &BTreeMap<String, Value>) -> Vec<Value> {
    let pair = |k: &str, v: &Value| {
        let mut p = BTreeMap::new();
        p.insert("Name".to_owned(), Value::String(k.to_owned()));
        p.insert("Value".to_owned(), v.clone());
        Value::Map(p)
    };
    let mut out = Vec::with_capacity(m.len());
    if let Some(v) = m.get("alertname") {
        out.push(pair("alertname", v));
    }
    out.extend(
        m.iter()
            .filter(|(k, _)| *k != "alertname")
            .map(|(k, v)| pair(k, v)),
    );
    out
}

/// Alertmanager's `Pairs.String()`: `name=value, name=value`.
pub(crate) fn pairs_string(l: &[Value]) -> String {
    l.iter()
        .map(|p| match p {
            Value::Map(m) => format!(
                "{}={}",
                m.get("Name").map(sprint_value).unwrap_or_default(),
                m.get("Value").map(sprint_value).unwrap_or_default()
            ),
            other => sprint_value(other),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn kv_method(
    m: &BTreeMap<String, Value>,
    name: &str,
    args: &[Value],
) -> Result<Option<Value>, String> {
    Ok(Some(match name {
        "SortedPairs" => {
            want(name, args, 0)?;
            Value::List(sorted_pairs(m))
        }
        "Names" => {
            want(name, args, 0)?;
            Value::List(
                sorted_pairs(m)
                    .into_iter()
                    .map(|p| pair_part(p, "Name"))
                    .collect(),
            )
        }
        "Values" => {
            want(name, args, 0)?;
            Value::List(
                sorted_pairs(m)
                    .into_iter()
                    .map(|p| pair_part(p, "Value"))
                    .collect(),
            )
        }
        "String" => {
            want(name, args, 0)?;
            Value::String(pairs_string(&sorted_pairs(m)))
        }
        "Remove" => {
            want(name, args, 1)?;
            let keys: Vec<&str> = match &args[0] {
                Value::List(l) => l.iter().filter_map(Value::as_str).collect(),
                Value::String(s) => vec![s.as_str()],
                other => {
                    return Err(format!(
                        "wrong type for value; expected []string; got {}",
                        type_name(other)
                    ));
                }
            };
            Value::Map(
                m.iter()
                    .filter(|(k, _)| !keys.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        _ => return Ok(None),
    }))
}

fn pair_part(p: Value, key: &str) -> Value {
    match p {
        Value::Map(mut m) => m.remove(key).unwrap_or_default(),
        other => other,
    }
}

/// Seconds of a duration as a float, as Go's `Duration.Seconds`.
pub(crate) fn duration_secs(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) / 1e9
}

fn duration_arg(v: &Value) -> Result<TimeDelta, String> {
    match v {
        Value::Duration(d) => Ok(*d),
        Value::Int(ns) => Ok(TimeDelta::nanoseconds(*ns)),
        other => Err(format!(
            "wrong type for value; expected time.Duration; got {}",
            type_name(other)
        )),
    }
}

fn time_method(t: &DateTime<Utc>, name: &str, args: &[Value]) -> Result<Value, String> {
    let none = |v: Value| -> Result<Value, String> {
        want(name, args, 0)?;
        Ok(v)
    };
    match name {
        "Format" => {
            want(name, args, 1)?;
            Ok(Value::String(format_time(t, str_arg(&args[0])?)))
        }
        "String" => none(Value::String(format_time_default(t))),
        "Unix" => none(Value::Int(t.timestamp())),
        "UnixMilli" => none(Value::Int(t.timestamp_millis())),
        "UnixMicro" => none(Value::Int(t.timestamp_micros())),
        "UnixNano" => none(Value::Int(t.timestamp_nanos_opt().unwrap_or(i64::MAX))),
        "UTC" | "Local" => none(Value::Time(*t)),
        "IsZero" => none(Value::Bool(*t == go_zero_time())),
        "Year" => none(Value::Int(i64::from(t.year()))),
        "Month" => none(Value::Int(i64::from(t.month()))),
        "Day" => none(Value::Int(i64::from(t.day()))),
        "Hour" => none(Value::Int(i64::from(t.hour()))),
        "Minute" => none(Value::Int(i64::from(t.minute()))),
        "Second" => none(Value::Int(i64::from(t.second()))),
        "YearDay" => none(Value::Int(i64::from(t.ordinal()))),
        "Weekday" => none(Value::String(format_time(t, "Monday"))),
        "Add" => {
            want(name, args, 1)?;
            let d = duration_arg(&args[0])?;
            t.checked_add_signed(d)
                .map(Value::Time)
                .ok_or_else(|| "time out of range".to_owned())
        }
        "Sub" => {
            want(name, args, 1)?;
            match &args[0] {
                Value::Time(u) => Ok(Value::Duration(t.signed_duration_since(*u))),
                other => Err(format!(
                    "wrong type for value; expected time.Time; got {}",
                    type_name(other)
                )),
            }
        }
        "Before" | "After" | "Equal" => {
            want(name, args, 1)?;
            let Value::Time(u) = &args[0] else {
                return Err(format!(
                    "wrong type for value; expected time.Time; got {}",
                    type_name(&args[0])
                ));
            };
            Ok(Value::Bool(match name {
                "Before" => t < u,
                "After" => t > u,
                _ => t == u,
            }))
        }
        _ => Err(format!("can't evaluate field {name} in type time.Time")),
    }
}

/// Go's zero `time.Time` (January 1, year 1, UTC), which `IsZero` tests for.
pub(crate) fn go_zero_time() -> DateTime<Utc> {
    DateTime::<Utc>::MIN_UTC
        .with_year(1)
        .and_then(|t| t.with_ordinal(1))
        .and_then(|t| t.with_hour(0))
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn duration_method(d: TimeDelta, name: &str, args: &[Value]) -> Result<Value, String> {
    want(name, args, 0)?;
    let secs = duration_secs(d);
    Ok(match name {
        "Seconds" => Value::Float(secs),
        "Minutes" => Value::Float(secs / 60.0),
        "Hours" => Value::Float(secs / 3600.0),
        "Milliseconds" => Value::Int(d.num_milliseconds()),
        "Microseconds" => Value::Int(d.num_microseconds().unwrap_or(i64::MAX)),
        "Nanoseconds" => Value::Int(d.num_nanoseconds().unwrap_or(i64::MAX)),
        "String" => Value::String(format_duration(d)),
        "Abs" => Value::Duration(d.abs()),
        _ => return Err(format!("can't evaluate field {name} in type time.Duration")),
    })
}
