//! Request parameters of the Prometheus HTTP API: GET query string and form-encoded POST body
//! merged, times, series selectors, `U__`-escaped label names; and capped body reading.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use cairn_model::{METRIC_NAME, MatchOp, Matcher, TenantId};
use futures::StreamExt;
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, parse};

use super::AppState;
use super::error::{ApiError, Style};

/// Earliest and latest times a request may name when it names none (Prometheus' own bounds
/// are of this size; halving i64 keeps `end - start` from overflowing downstream).
pub(crate) const MIN_TIME_MS: i64 = i64::MIN / 2;
/// See [`MIN_TIME_MS`].
pub(crate) const MAX_TIME_MS: i64 = i64::MAX / 2;

/// Largest form body accepted on the read API (long `match[]` lists fit easily).
const MAX_FORM_BODY: usize = 8 << 20;

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// More than the limit; reading stopped there.
    TooLarge { limit: usize },
    /// The connection failed mid-body.
    Read(String),
}

/// Reads a body, refusing (without buffering further) past `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Parameters of one request, in order; repeated names (`match[]`) kept.
/// A Prometheus API request: its tenant and its merged parameters, errors answered as JSON.
/// Being an extractor, it consumes the body: it comes last in a handler's arguments.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    /// The request's tenant.
    pub(crate) tenant: TenantId,
    /// Query string and form body merged.
    pub(crate) params: Params,
}

impl FromRequest<Arc<AppState>> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let tenant = state.tenant(&parts.headers, Style::Json)?;
        let params = Params::from_request(&parts.method, &parts.uri, &parts.headers, body).await?;
        Ok(ApiRequest { tenant, params })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Merges the query string and, for a form-encoded POST, the body.
    pub(crate) async fn from_request(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Params, ApiError> {
        let mut p: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if method == Method::POST && is_form {
            let bytes = read_body(body, MAX_FORM_BODY).await.map_err(|e| match e {
                BodyError::TooLarge { limit } => ApiError::bad_data(
                    format!("form body exceeds the limit of {limit} bytes"),
                    Style::Json,
                ),
                BodyError::Read(m) => {
                    ApiError::bad_data(format!("cannot read request body: {m}"), Style::Json)
                }
            })?;
            p.extend(form_urlencoded::parse(&bytes).into_owned());
        }
        Ok(Params(p))
    }

    /// Builds parameters from pairs (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value of `name`, if any and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `start` and `end` as milliseconds, defaulting to the whole range; `end < start` is an
    /// error.
    pub(crate) fn time_range(&self) -> Result<(i64, i64), ApiError> {
        let start = self.time("start", MIN_TIME_MS)?;
        let end = self.time("end", MAX_TIME_MS)?;
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start time",
                Style::Json,
            ));
        }
        Ok((start, end))
    }

    fn time(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_time(v).map_err(|e| {
                ApiError::bad_data(
                    format!("invalid parameter \"{name}\": Invalid time value for '{name}': {e}"),
                    Style::Json,
                )
            }),
        }
    }

    /// `limit`: a non-negative integer, 0 (or absent) meaning no limit.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(0),
            Some(v) => {
                let n = go_atoi(v).map_err(|e| {
                    ApiError::bad_data(format!("invalid parameter \"limit\": {e}"), Style::Json)
                })?;
                usize::try_from(n).map_err(|_| {
                    ApiError::bad_data(
                        "invalid parameter \"limit\": limit must be non-negative",
                        Style::Json,
                    )
                })
            }
        }
    }

    /// Every `match[]` parsed into selectors (each an any-of list of matcher groups).
    pub(crate) fn selectors(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        let mut out = Vec::new();
        for s in self.all("match[]") {
            out.extend(parse_selector(s).map_err(|e| ApiError::bad_data(e, Style::Json))?);
        }
        Ok(out)
    }
}

/// Go's `strconv.Atoi`, with its error text (Prometheus passes it through).
pub(crate) fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// Parses a time: float unix seconds (`1712345678.5`) or RFC 3339 (`2024-04-05T19:34:38.5Z`).
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (secs * 1000.0).round();
        if ms < i64::MIN as f64 || ms > i64::MAX as f64 {
            return Err(format!("timestamp {s:?} is out of range"));
        }
        return Ok(ms as i64);
    }
    parse_rfc3339(s).ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// RFC 3339 with optional fraction, `Z` or a numeric offset; the year may be negative or have
/// more than four digits (Prometheus prints its minimum and maximum times that way).
fn parse_rfc3339(s: &str) -> Option<i64> {
    // Everything below slices by byte offsets.
    if !s.is_ascii() {
        return None;
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let dash = s.find('-')?;
    let year: i64 = digits(&s[..dash], 4, 10)?;
    let year = if neg { -year } else { year };
    let rest = &s[dash + 1..];
    let b = rest.as_bytes();
    if b.len() < 14
        || b[2] != b'-'
        || !matches!(b[5], b'T' | b't' | b' ')
        || b[8] != b':'
        || b[11] != b':'
    {
        return None;
    }
    let month: i64 = digits(&rest[0..2], 2, 2)?;
    let day: i64 = digits(&rest[3..5], 2, 2)?;
    let hour: i64 = digits(&rest[6..8], 2, 2)?;
    let min: i64 = digits(&rest[9..11], 2, 2)?;
    let sec: i64 = digits(&rest[12..14], 2, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut tail = &rest[14..];
    let mut frac_ms = 0i64;
    if let Some(f) = tail.strip_prefix('.') {
        let n = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
        if n == 0 {
            return None;
        }
        let frac = &f[..n];
        let mut padded: String = frac.chars().take(3).collect();
        while padded.len() < 3 {
            padded.push('0');
        }
        frac_ms = padded.parse().ok()?;
        // Round half up on the fourth digit, as float seconds are rounded.
        if frac.as_bytes().get(3).is_some_and(|d| *d >= b'5') {
            frac_ms += 1;
        }
        tail = &f[n..];
    }
    let offset_s = match tail {
        "Z" | "z" => 0,
        _ => {
            let (sign, o) = match tail.as_bytes().first()? {
                b'+' => (1, &tail[1..]),
                b'-' => (-1, &tail[1..]),
                _ => return None,
            };
            let ob = o.as_bytes();
            if ob.len() != 5 || ob[2] != b':' {
                return None;
            }
            let oh: i64 = digits(&o[0..2], 2, 2)?;
            let om: i64 = digits(&o[3..5], 2, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days
        .checked_mul(86_400)?
        .checked_add(hour * 3600 + min * 60 + sec - offset_s)?;
    secs.checked_mul(1000)?.checked_add(frac_ms)
}

fn digits(s: &str, min: usize, max: usize) -> Option<i64> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses one `match[]` value as a PromQL series selector into matcher groups (more than one
/// when the selector uses `or`); the metric name becomes a `__name__` matcher.
pub(crate) fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    let expr = parse(s).map_err(|e| format!("invalid parameter \"match[]\": {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "invalid parameter \"match[]\": {s:?} is not a series selector"
        ));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(format!(
            "invalid parameter \"match[]\": {s:?} is not a plain series selector (no offset or @)"
        ));
    }
    let groups: Vec<Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![vs.matchers.matchers.clone()]
    } else {
        let mut g = vs.matchers.or_matchers.clone();
        if !vs.matchers.matchers.is_empty() {
            g.push(vs.matchers.matchers.clone());
        }
        g
    };
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut ms = Vec::with_capacity(group.len() + 1);
        if let Some(name) = &vs.name {
            ms.push(Matcher::equal(METRIC_NAME, name));
        }
        for m in group {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            ms.push(
                Matcher::new(op, &m.name, &m.value)
                    .map_err(|e| format!("invalid parameter \"match[]\": {e}"))?,
            );
        }
        if ms.iter().all(Matcher::matches_empty) {
            return Err(format!(
                "invalid parameter \"match[]\": {s:?}: vector selector must contain at least one non-empty matcher"
            ));
        }
        out.push(ms);
    }
    Ok(out)
}

/// Undoes Prometheus' `U__` label name escaping (`_` is `__`, other characters `_<hex>_`);
/// names without the prefix are returned as is.
pub(crate) fn unescape_label_name(name: &str) -> Result<String, String> {
    let Some(rest) = name.strip_prefix("U__") else {
        return Ok(name.to_string());
    };
    let bad = || format!("invalid escaped label name {name:?}");
    let mut out = String::with_capacity(rest.len());
    let mut it = rest.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if it.peek().is_some_and(|(_, n)| *n == '_') {
            it.next();
            out.push('_');
            continue;
        }
        let end = rest[i + 1..].find('_').ok_or_else(bad)? + i + 1;
        let hex = &rest[i + 1..end];
        let code = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
        out.push(char::from_u32(code).ok_or_else(bad)?);
        while it.peek().is_some_and(|(j, _)| *j <= end) {
            it.next();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("4").unwrap(), 4000);
        assert_eq!(parse_time("1712345678.5").unwrap(), 1_712_345_678_500);
        assert_eq!(parse_time("-1.5").unwrap(), -1500);
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_time("2024-04-05T19:34:38.5Z").unwrap(),
            1_712_345_678_500
        );
        assert_eq!(
            parse_time("2024-04-05T21:34:38.123456789+02:00").unwrap(),
            1_712_345_678_123
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000);
        assert_eq!(parse_time("1969-12-31T23:59:59Z").unwrap(), -1000);
        // Prometheus' printed minimum and maximum times parse.
        assert!(parse_time("-292273086-05-16T16:47:06Z").unwrap() < -9_000_000_000_000_000);
        assert!(parse_time("292277025-08-18T07:12:54.999999999Z").unwrap() > 9_000_000_000_000_000);
        assert!(parse_time("2024-04-05T19:34:3é").is_err());
        for bad in [
            "",
            "now",
            "NaN",
            "Inf",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-05",
            "2024-04-05T19:34:38",
            "2024-04-05T19:34:38+2",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} should be refused");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_time(&s);
            let _ = parse_selector(&s);
            let _ = unescape_label_name(&s);
            let _ = unescape_label_name(&format!("U__{s}"));
        }

        #[test]
        fn rfc3339_like_inputs_never_panic(s in "-?[0-9é]{1,5}-[0-9é]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9é]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9é]{2}:[0-9]{2})?") {
            let _ = parse_time(&s);
        }
    }

    #[test]
    fn selectors() {
        let g = parse_selector(r#"up{job="a"}"#).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(
            g[0],
            vec![Matcher::equal("__name__", "up"), Matcher::equal("job", "a")]
        );
        let g = parse_selector(r#"{__name__=~".+",}"#).unwrap();
        assert_eq!(g[0][0].op, MatchOp::Regex);
        assert!(g[0][0].matches("x") && !g[0][0].matches(""));
        let g = parse_selector(r#"{"my.metric", "a b"="c"}"#).unwrap();
        assert_eq!(
            g[0],
            vec![
                Matcher::equal("__name__", "my.metric"),
                Matcher::equal("a b", "c")
            ]
        );
        let g = parse_selector(r#"{a="1" or b="2"}"#).unwrap();
        assert_eq!(g.len(), 2);
        for bad in [
            "",
            "up +",
            r#"{a=~".*"}"#,
            "rate(up[5m])",
            "up[5m]",
            "1",
            "up offset 5m",
        ] {
            assert!(parse_selector(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn escaped_label_names() {
        assert_eq!(unescape_label_name("job").unwrap(), "job");
        assert_eq!(
            unescape_label_name("U__http_2e_status__code").unwrap(),
            "http.status_code"
        );
        assert_eq!(unescape_label_name("U__a_20_b").unwrap(), "a b");
        assert_eq!(unescape_label_name("U___1f600_").unwrap(), "\u{1f600}");
        assert!(unescape_label_name("U__a_zz_").is_err());
        assert!(unescape_label_name("U__a_20").is_err());
    }

    #[test]
    fn params_merge_and_limit() {
        let p = Params::from_pairs(&[("match[]", "a"), ("limit", "5"), ("match[]", "b")]);
        assert_eq!(p.all("match[]"), vec!["a", "b"]);
        assert_eq!(p.limit().unwrap(), 5);
        assert!(Params::from_pairs(&[("limit", "-1")]).limit().is_err());
        let p = Params::from_pairs(&[("start", "10"), ("end", "5")]);
        assert!(p.time_range().is_err());
        let p = Params::from_pairs(&[]);
        assert_eq!(p.time_range().unwrap(), (MIN_TIME_MS, MAX_TIME_MS));
    }
}
