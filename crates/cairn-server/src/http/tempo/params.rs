//! The query parameters of Tempo's search, tag and metrics endpoints, read as Tempo's
//! `pkg/api` reads them, with its error messages.

use std::collections::HashMap;

use cairn_syntax::gofmt::parse_go_duration;

/// How far back a search, tag or metrics request without `start`/`end` looks (Tempo's
/// metrics default `since`, and about what its live store holds for searches).
pub(super) const DEFAULT_SINCE_NS: u64 = 3_600 * NS_PER_SEC;
/// Traces a search answers when the request gives no `limit` (Tempo's default).
pub(super) const DEFAULT_SEARCH_LIMIT: usize = 20;

const NS_PER_SEC: u64 = 1_000_000_000;

/// A parameter, when present and not empty.
pub(super) fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str).filter(|s| !s.is_empty())
}

/// The TraceQL query of a request: `q`, or `query` as Grafana sends to the metrics API.
pub(super) fn traceql_param(q: &HashMap<String, String>) -> Option<&str> {
    param(q, "q").or_else(|| param(q, "query"))
}

/// What `/api/search` was asked.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct SearchParams {
    /// The TraceQL query (`q`).
    pub(super) query: Option<String>,
    /// Tag conditions (`tags`, logfmt), in the order given.
    pub(super) tags: Vec<(String, String)>,
    /// `minDuration`, ns.
    pub(super) min_duration_ns: u64,
    /// `maxDuration`, ns (0: none).
    pub(super) max_duration_ns: u64,
    /// `limit`.
    pub(super) limit: usize,
    /// `spss` (0: the default).
    pub(super) spss: usize,
    /// `start`..`end` in ns, both inclusive.
    pub(super) range: (u64, u64),
}

fn parse_u32(name: &str, s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|_| format!("invalid {name}: strconv.ParseUint: parsing {s:?}: invalid syntax"))
}

/// `start` and `end` in Unix seconds as Tempo's search and tag endpoints take them; both
/// absent means the last hour before `now_ns`.
pub(super) fn seconds_range(
    q: &HashMap<String, String>,
    now_ns: u64,
) -> Result<(u64, u64), String> {
    let start = param(q, "start")
        .map(|s| parse_u32("start", s))
        .transpose()?
        .unwrap_or(0);
    let end = param(q, "end")
        .map(|s| parse_u32("end", s))
        .transpose()?
        .unwrap_or(0);
    if start == 0 && end == 0 {
        return Ok((now_ns.saturating_sub(DEFAULT_SINCE_NS), now_ns));
    }
    if end <= start {
        return Err(format!(
            "http parameter start must be before end. received start={start} end={end}"
        ));
    }
    Ok((
        u64::from(start) * NS_PER_SEC,
        u64::from(end) * NS_PER_SEC + NS_PER_SEC - 1,
    ))
}

fn go_duration(name: &str, s: &str) -> Result<u64, String> {
    let ns = parse_go_duration(s).map_err(|e| format!("invalid {name}: {e}"))?;
    Ok(u64::try_from(ns).unwrap_or(0))
}

/// Reads `/api/search`'s parameters.
pub(super) fn search_params(
    q: &HashMap<String, String>,
    now_ns: u64,
) -> Result<SearchParams, String> {
    let range = seconds_range(q, now_ns)?;
    let query = param(q, "q").map(str::to_string);
    let tags = match param(q, "tags") {
        Some(_) if query.is_some() => {
            return Err("invalid request: can't specify tags and q in the same query".into());
        }
        Some(t) => parse_tags(t)?,
        None => Vec::new(),
    };
    let min_duration_ns = param(q, "minDuration")
        .map(|s| go_duration("minDuration", s))
        .transpose()?
        .unwrap_or(0);
    let max_duration_ns = param(q, "maxDuration")
        .map(|s| go_duration("maxDuration", s))
        .transpose()?
        .unwrap_or(0);
    if max_duration_ns != 0 && min_duration_ns > max_duration_ns {
        return Err("invalid maxDuration: must be greater than minDuration".into());
    }
    let limit = match param(q, "limit") {
        Some(s) => match parse_u32("limit", s)? {
            0 => return Err("invalid limit: must be a positive number".into()),
            n => n as usize,
        },
        None => DEFAULT_SEARCH_LIMIT,
    };
    let spss = param(q, "spss")
        .map(|s| parse_u32("spss", s))
        .transpose()?
        .unwrap_or(0) as usize;
    Ok(SearchParams {
        query,
        tags,
        min_duration_ns,
        max_duration_ns,
        limit,
        spss,
        range,
    })
}

/// `key=value key2="quoted value"` as Go's logfmt decoder reads it; a key given twice is an
/// error, as Tempo says.
pub(super) fn parse_tags(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] <= b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] > b' ' && b[i] != b'=' && b[i] != b'"' {
            i += 1;
        }
        if i == start {
            return Err(format!("invalid tags: invalid key at pos {}", i + 1));
        }
        let key = s[start..i].to_string();
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    match b[i] {
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b'\\' if i + 1 < b.len() => {
                            let c = b[i + 1];
                            value.push(match c {
                                b'n' => '\n',
                                b't' => '\t',
                                b'r' => '\r',
                                other => other as char,
                            });
                            i += 2;
                        }
                        _ => {
                            let ch = s[i..].chars().next().unwrap_or(' ');
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err(format!(
                        "invalid tags: unterminated quoted value at pos {}",
                        i + 1
                    ));
                }
            } else {
                let vs = i;
                while i < b.len() && b[i] > b' ' {
                    if b[i] == b'=' || b[i] == b'"' {
                        return Err(format!(
                            "invalid tags: unexpected '{}' at pos {}",
                            b[i] as char,
                            i + 1
                        ));
                    }
                    i += 1;
                }
                value = s[vs..i].to_string();
            }
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(format!("invalid tags: tag {key} has been set twice"));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// A metrics request's time range and step, as Tempo's `ParseQueryRangeRequest` reads
/// them: `start`/`end` in Unix seconds (up to 10 digits, or with a fraction), Unix
/// nanoseconds or RFC 3339; `since` (default 1h) before `end` (default now) when `start` is
/// not given; `step` in seconds or as a Go duration, Tempo's default step otherwise.
pub(super) fn metrics_range(
    q: &HashMap<String, String>,
    now_ns: u64,
    instant: bool,
) -> Result<cairn_traceql::QueryRange, String> {
    let since = match param(q, "since") {
        Some(s) => go_duration("since", s)
            .map_err(|e| format!("could not parse 'since' parameter: {e}"))?,
        None => DEFAULT_SINCE_NS,
    };
    let end = match param(q, "end") {
        Some(s) => timestamp(s).map_err(|e| format!("could not parse 'end' parameter: {e}"))?,
        None => now_ns,
    };
    let start = match param(q, "start") {
        Some(s) => timestamp(s).map_err(|e| format!("could not parse 'start' parameter: {e}"))?,
        None => end.min(now_ns).saturating_sub(since),
    };
    if end <= start {
        return Err(format!(
            "invalid start and end: end {end} must be after start {start}"
        ));
    }
    let step_ns = if instant {
        end - start
    } else {
        match param(q, "step") {
            Some(s) => seconds_or_duration(s)?,
            None => cairn_traceql::QueryRange::default_step(start, end),
        }
    };
    if step_ns == 0 {
        return Err("invalid step: must be positive".into());
    }
    Ok(cairn_traceql::QueryRange {
        start_ns: start,
        end_ns: end,
        step_ns,
    })
}

fn timestamp(s: &str) -> Result<u64, String> {
    if s.contains('.')
        && let Ok(f) = s.parse::<f64>()
    {
        if !(0.0..1e11).contains(&f) {
            return Err(format!("timestamp {s:?} out of range"));
        }
        return Ok((f * 1e9).round() as u64);
    }
    match s.parse::<u64>() {
        Ok(n) if s.len() <= 10 => Ok(n * NS_PER_SEC),
        Ok(n) => Ok(n),
        Err(_) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| format!("strconv.ParseInt: parsing {s:?}: invalid syntax")),
    }
}

fn seconds_or_duration(s: &str) -> Result<u64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !(0.0..9.2e9).contains(&f) {
            return Err(format!("cannot parse {s:?}: step must be positive"));
        }
        return Ok((f * 1e9) as u64);
    }
    let ns = parse_go_duration(s).map_err(|_| format!("cannot parse {s:?} to a valid duration"))?;
    u64::try_from(ns).map_err(|_| format!("cannot parse {s:?}: step must be positive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_read_as_logfmt() {
        assert_eq!(
            parse_tags(r#"service.name=cart http.url="api/my api" x="a\"b""#).unwrap(),
            vec![
                ("service.name".to_string(), "cart".to_string()),
                ("http.url".to_string(), "api/my api".to_string()),
                ("x".to_string(), "a\"b".to_string()),
            ]
        );
        assert_eq!(
            parse_tags("a=1 a=2").unwrap_err(),
            "invalid tags: tag a has been set twice"
        );
        assert!(parse_tags(r#"a="open"#).is_err());
    }

    #[test]
    fn search_params_follow_tempo() {
        let now = 20_000 * NS_PER_SEC;
        let p = search_params(
            &q(&[("q", "{}"), ("start", "10"), ("end", "20"), ("spss", "5")]),
            now,
        )
        .unwrap();
        assert_eq!(p.range, (10 * NS_PER_SEC, 21 * NS_PER_SEC - 1));
        assert_eq!((p.limit, p.spss), (DEFAULT_SEARCH_LIMIT, 5));
        assert_eq!(
            search_params(&q(&[("start", "20"), ("end", "10")]), now).unwrap_err(),
            "http parameter start must be before end. received start=20 end=10"
        );
        assert_eq!(
            search_params(&q(&[("limit", "0")]), now).unwrap_err(),
            "invalid limit: must be a positive number"
        );
        assert_eq!(
            search_params(&q(&[("minDuration", "20s"), ("maxDuration", "5s")]), now).unwrap_err(),
            "invalid maxDuration: must be greater than minDuration"
        );
        assert!(
            search_params(&q(&[("minDuration", "10seconds")]), now)
                .unwrap_err()
                .starts_with("invalid minDuration: ")
        );
        assert_eq!(
            search_params(&q(&[("q", "{}"), ("tags", "a=b")]), now).unwrap_err(),
            "invalid request: can't specify tags and q in the same query"
        );
        let d = search_params(&q(&[]), now).unwrap();
        assert_eq!(d.range, (now - DEFAULT_SINCE_NS, now));
    }

    #[test]
    fn metrics_range_reads_seconds_nanos_and_rfc3339() {
        let now = 10_000 * NS_PER_SEC;
        let r = metrics_range(
            &q(&[("start", "100"), ("end", "200"), ("step", "10s")]),
            now,
            false,
        )
        .unwrap();
        assert_eq!(
            (r.start_ns, r.end_ns, r.step_ns),
            (100 * NS_PER_SEC, 200 * NS_PER_SEC, 10 * NS_PER_SEC)
        );
        let r = metrics_range(
            &q(&[
                ("start", "100000000000"),
                ("end", "1970-01-01T00:03:20Z"),
                ("step", "2.5"),
            ]),
            now,
            false,
        )
        .unwrap();
        assert_eq!(
            (r.start_ns, r.end_ns, r.step_ns),
            (100 * NS_PER_SEC, 200 * NS_PER_SEC, 2_500_000_000)
        );
        let r = metrics_range(&q(&[("since", "15m")]), now, true).unwrap();
        assert_eq!((r.start_ns, r.end_ns), (now - 900 * NS_PER_SEC, now));
        assert_eq!(r.step_ns, 900 * NS_PER_SEC);
        assert!(metrics_range(&q(&[("start", "200"), ("end", "100")]), now, false).is_err());
        assert!(metrics_range(&q(&[("step", "fast")]), now, false).is_err());
    }
}
