//! Prometheus' template functions (`template/template.go`): the humanizers, query result
//! helpers, string and link helpers. `query` needs the engine and is inserted by the caller.

use chrono::{DateTime, TimeDelta, Utc};

use crate::builtins::{func, query_escape, str_arg};
use crate::fmt::{format_float, quote, sprint_value, type_name};
use crate::funcs::{Arity, Funcs};
use crate::methods::duration_secs;
use crate::value::Value;

/// The definitions Prometheus prepends to every alert label and annotation template; the
/// data is then `{Labels, ExternalLabels, ExternalURL, Value}`.
pub const ALERT_PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Prometheus' `convertToFloat`: floats, ints, numeric strings and durations (in seconds).
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::String(s) => parse_go_float(s),
        Value::Duration(d) => Ok(duration_secs(*d)),
        other => Err(format!("can't convert {} to float", type_name(other))),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input, with its error message.
pub(crate) fn parse_go_float(s: &str) -> Result<f64, String> {
    let invalid = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    if s.contains('_')
        || s.starts_with(|c: char| c.is_whitespace())
        || s.ends_with(char::is_whitespace)
    {
        return Err(invalid());
    }
    s.parse::<f64>().map_err(|_| invalid())
}

fn g4(v: f64) -> String {
    format_float(v, 'g', Some(4))
}

/// Prometheus' `humanize`: SI prefixes, 4 significant digits.
pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

/// Prometheus' `humanize1024`: binary prefixes, 4 significant digits.
pub(crate) fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Prometheus' `humanizeDuration` of seconds: `1d 2h 3m 4s`, `1.234s`, `100ms`.
pub(crate) fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        // Go's int64(v) saturates differently, but durations this long are not meaningful.
        let d = if v >= i64::MAX as f64 {
            i64::MAX
        } else {
            v as i64
        };
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {mins}m {secs}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {mins}m {secs}s");
        }
        if mins != 0 {
            return format!("{sign}{mins}m {secs}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// Prometheus' `floatToTime`: seconds to an instant, at millisecond precision like
/// `model.Time`.
pub(crate) fn float_to_time(v: f64) -> Result<DateTime<Utc>, String> {
    let ns = v * 1e9;
    if !(ns <= i64::MAX as f64 && ns >= i64::MIN as f64) || ns.is_nan() {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            sprint_value(&Value::Float(v))
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| format!("timestamp {ms} out of range"))
}

fn humanize_timestamp(v: &Value) -> Result<String, String> {
    let t = match v {
        Value::Time(t) => *t,
        other => {
            let f = to_float(other)?;
            if f.is_nan() || f.is_infinite() {
                return Ok(g4(f));
            }
            float_to_time(f)?
        }
    };
    Ok(sprint_value(&Value::Time(t)))
}

/// Prometheus' `model.ParseDuration` in seconds: `1h30m`, `2d`, `1w`, `10ms`.
pub(crate) fn parse_prom_duration(s: &str) -> Result<f64, String> {
    let err = || format!("not a valid duration string: {}", quote(s));
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    if s == "0" {
        return Ok(0.0);
    }
    let units: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut next_unit = 0;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(idx) = units.iter().position(|(u, _)| *u == unit) else {
            return Err(err());
        };
        if idx < next_unit {
            return Err(err());
        }
        next_unit = idx + 1;
        total_ms = n
            .checked_mul(units[idx].1)
            .and_then(|x| total_ms.checked_add(x))
            .ok_or_else(|| "duration out of range".to_owned())?;
    }
    Ok(total_ms as f64 / 1000.0)
}

/// Go's `net.SplitHostPort`, `None` where Go returns an error.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(':')?;
    let host = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')? + 1;
        if end + 1 != i {
            return None;
        }
        &s[1..end]
    } else {
        let host = &s[..i];
        if host.contains(':') {
            return None;
        }
        host
    };
    if host.contains(['[', ']']) {
        return None;
    }
    Some((host, &s[i + 1..]))
}

fn strip_domain(host_port: &str) -> String {
    let (host, port) = split_host_port(host_port).unwrap_or((host_port, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host_port.to_owned();
    }
    let host = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        host.to_owned()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word, leaving the
/// rest as it is.
pub(crate) fn go_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !(c.is_alphanumeric()) && c.is_whitespace()
        };
    }
    out
}

/// Compiles a Go regular expression (RE2 syntax, which the `regex` crate shares).
pub(crate) fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("error parsing regexp: {e}"))
}

fn sample_labels(v: &Value) -> Option<&std::collections::BTreeMap<String, Value>> {
    match v {
        Value::Map(m) => match m.get("Labels") {
            Some(Value::Map(l)) => Some(l),
            _ => None,
        },
        _ => None,
    }
}

fn label_of(v: &Value, name: &str) -> Value {
    sample_labels(v)
        .and_then(|l| l.get(name))
        .cloned()
        .unwrap_or_else(|| Value::String(String::new()))
}

fn one_float(f: fn(f64) -> String) -> crate::funcs::Func {
    func(move |a: &[Value]| Ok(Value::String(f(to_float(&a[0])?))))
}

/// The URL parts `externalURL` and `pathPrefix` return.
pub(crate) fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(i) => {
            let path = &after_scheme[i..];
            path.split(['?', '#']).next().unwrap_or(path)
        }
        None => "",
    }
}

/// Installs `externalURL`, `pathPrefix` and `now` for one evaluation context.
pub(crate) fn install_context(f: &mut Funcs, external_url: &str, now: DateTime<Utc>) {
    let url = external_url.to_owned();
    let path = url_path(external_url).to_owned();
    f.insert(
        "externalURL",
        Arity::Exactly(0),
        func(move |_| Ok(Value::String(url.clone()))),
    );
    f.insert(
        "pathPrefix",
        Arity::Exactly(0),
        func(move |_| Ok(Value::String(path.clone()))),
    );
    let secs = now.timestamp_millis() as f64 / 1000.0;
    f.insert(
        "now",
        Arity::Exactly(0),
        func(move |_| Ok(Value::Float(secs))),
    );
}

/// Installs Prometheus' functions.
pub(crate) fn install(f: &mut Funcs) {
    f.insert(
        "first",
        Arity::Exactly(1),
        func(|a| match &a[0] {
            Value::List(l) => l
                .first()
                .cloned()
                .ok_or_else(|| "first() called on vector with no elements".to_owned()),
            other => Err(format!(
                "wrong type for value; expected template.queryResult; got {}",
                type_name(other)
            )),
        }),
    );
    f.insert(
        "label",
        Arity::Exactly(2),
        func(|a| Ok(label_of(&a[1], str_arg(&a[0])?))),
    );
    f.insert(
        "value",
        Arity::Exactly(1),
        func(|a| match &a[0] {
            Value::Map(m) => Ok(m.get("Value").cloned().unwrap_or(Value::Float(0.0))),
            other => Err(format!(
                "wrong type for value; expected *template.sample; got {}",
                type_name(other)
            )),
        }),
    );
    f.insert(
        "strvalue",
        Arity::Exactly(1),
        func(|a| Ok(label_of(&a[0], "__value__"))),
    );
    f.insert(
        "sortByLabel",
        Arity::Exactly(2),
        func(|a| {
            let label = str_arg(&a[0])?;
            let Value::List(l) = &a[1] else {
                return Err(format!(
                    "wrong type for value; expected template.queryResult; got {}",
                    type_name(&a[1])
                ));
            };
            let mut l = l.clone();
            l.sort_by(|x, y| {
                let (x, y) = (label_of(x, label), label_of(y, label));
                x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or(""))
            });
            Ok(Value::List(l))
        }),
    );
    f.insert(
        "args",
        Arity::AtLeast(0),
        func(|a| {
            Ok(a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect())
        }),
    );
    // The caller replaces this with one backed by the query engine; until then templates
    // that query still parse (for config checks) and fail only when executed.
    f.insert(
        "query",
        Arity::Exactly(1),
        func(|_| Err("no query engine is available to templates here".into())),
    );
    // Executed by the engine (it needs the template set); listed so templates parse.
    f.insert(
        "tmpl",
        Arity::Exactly(2),
        func(|_| Err("tmpl is executed by the template engine".into())),
    );
    install_strings(f);
    f.insert(
        "title",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(go_title(str_arg(&a[0])?)))),
    );
    f.insert(
        "stripPort",
        Arity::Exactly(1),
        func(|a| {
            let s = str_arg(&a[0])?;
            Ok(Value::String(
                split_host_port(s).map_or(s, |(h, _)| h).to_owned(),
            ))
        }),
    );
    f.insert(
        "stripDomain",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(strip_domain(str_arg(&a[0])?)))),
    );
    f.insert("humanize", Arity::Exactly(1), one_float(humanize));
    f.insert("humanize1024", Arity::Exactly(1), one_float(humanize1024));
    f.insert(
        "humanizeDuration",
        Arity::Exactly(1),
        one_float(humanize_duration),
    );
    f.insert(
        "humanizePercentage",
        Arity::Exactly(1),
        one_float(|v| format!("{}%", g4(v * 100.0))),
    );
    f.insert(
        "humanizeTimestamp",
        Arity::Exactly(1),
        func(|a| humanize_timestamp(&a[0]).map(Value::String)),
    );
    f.insert(
        "toTime",
        Arity::Exactly(1),
        func(|a| match &a[0] {
            Value::Time(t) => Ok(Value::Time(*t)),
            other => float_to_time(to_float(other)?).map(Value::Time),
        }),
    );
    f.insert(
        "toDuration",
        Arity::Exactly(1),
        func(|a| {
            let secs = to_float(&a[0])?;
            let ns = secs * 1e9;
            if !(ns <= i64::MAX as f64 && ns >= i64::MIN as f64) || ns.is_nan() {
                return Err(format!(
                    "{} cannot be represented as a nanoseconds duration since it overflows int64",
                    sprint_value(&Value::Float(secs))
                ));
            }
            Ok(Value::Duration(TimeDelta::nanoseconds(ns as i64)))
        }),
    );
    f.insert(
        "parseDuration",
        Arity::Exactly(1),
        func(|a| parse_prom_duration(str_arg(&a[0])?).map(Value::Float)),
    );
    f.insert(
        "urlQueryEscape",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(query_escape(str_arg(&a[0])?)))),
    );
    f.insert(
        "graphLink",
        Arity::Exactly(1),
        func(|a| {
            Ok(Value::String(format!(
                "/graph?g0.expr={}&g0.tab=0",
                query_escape(str_arg(&a[0])?)
            )))
        }),
    );
    f.insert(
        "tableLink",
        Arity::Exactly(1),
        func(|a| {
            Ok(Value::String(format!(
                "/graph?g0.expr={}&g0.tab=1",
                query_escape(str_arg(&a[0])?)
            )))
        }),
    );
    install_context(f, "", Utc::now());
}

/// The string helpers Prometheus and Alertmanager share.
pub(crate) fn install_strings(f: &mut Funcs) {
    f.insert(
        "toUpper",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(str_arg(&a[0])?.to_uppercase()))),
    );
    f.insert(
        "toLower",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(str_arg(&a[0])?.to_lowercase()))),
    );
    f.insert(
        "match",
        Arity::Exactly(2),
        func(|a| {
            Ok(Value::Bool(
                regex(str_arg(&a[0])?)?.is_match(str_arg(&a[1])?),
            ))
        }),
    );
    f.insert(
        "reReplaceAll",
        Arity::Exactly(3),
        func(|a| {
            let re = regex(str_arg(&a[0])?)?;
            Ok(Value::String(
                re.replace_all(str_arg(&a[2])?, str_arg(&a[1])?)
                    .into_owned(),
            ))
        }),
    );
    f.insert(
        "safeHtml",
        Arity::Exactly(1),
        func(|a| Ok(Value::String(str_arg(&a[0])?.to_owned()))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_port_matches_go() {
        assert_eq!(split_host_port("a:1"), Some(("a", "1")));
        assert_eq!(split_host_port("[::1]:80"), Some(("::1", "80")));
        assert_eq!(split_host_port(":80"), Some(("", "80")));
        assert_eq!(split_host_port("a"), None);
        assert_eq!(split_host_port("::1"), None);
        assert_eq!(split_host_port("[::1]"), None);
        assert_eq!(split_host_port("[a]b:1"), None);
    }

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_prom_duration("1h2m10ms"), Ok(3720.01));
        assert_eq!(parse_prom_duration("1w2d"), Ok(777_600.0));
        assert_eq!(parse_prom_duration("0"), Ok(0.0));
        assert_eq!(parse_prom_duration("1y"), Ok(31_536_000.0));
        assert!(parse_prom_duration("").is_err());
        assert!(
            parse_prom_duration("1m1h").is_err(),
            "units must be in order"
        );
        assert!(parse_prom_duration("1.5h").is_err());
        assert!(parse_prom_duration("5x").is_err());
        assert!(parse_prom_duration("99999999999999999999y").is_err());
    }

    #[test]
    fn titles() {
        assert_eq!(
            go_title("hello wORLD foo_bar-baz"),
            "Hello WORLD Foo_bar-Baz"
        );
        assert_eq!(url_path("http://h:9090/p/q?x=1"), "/p/q");
        assert_eq!(url_path("http://h:9090"), "");
    }
}
