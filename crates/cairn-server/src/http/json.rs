//! A small JSON writer producing the bytes Prometheus produces: keys in the order written
//! (never re-sorted), strings escaped as Go's `encoding/json` does (HTML characters and
//! U+2028/U+2029 as `\u` escapes), sample values as Go formats floats, timestamps as
//! seconds with at most three decimals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::Labels;

/// Appends JSON text to a buffer; the caller is responsible for commas via [`Json::sep`].
#[derive(Debug, Default)]
pub(crate) struct Json {
    buf: String,
}

impl Json {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Json::default()
    }

    /// Raw JSON text, written as is.
    pub(crate) fn raw(&mut self, s: &str) -> &mut Self {
        self.buf.push_str(s);
        self
    }

    /// A comma when `i > 0`: call at the start of every element but the first.
    pub(crate) fn sep(&mut self, i: usize) -> &mut Self {
        if i > 0 {
            self.buf.push(',');
        }
        self
    }

    /// A quoted, escaped string.
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        escape_into(&mut self.buf, s);
        self
    }

    /// `"key":`.
    pub(crate) fn key(&mut self, k: &str) -> &mut Self {
        self.str(k);
        self.buf.push(':');
        self
    }

    /// A JSON number formatted as Go's `encoding/json` (jsoniter) prints a float64.
    pub(crate) fn num(&mut self, v: f64) -> &mut Self {
        if v.is_finite() {
            self.buf.push_str(&format_value(v));
        } else {
            // JSON has no NaN or infinity; never produced for the numbers written here.
            self.buf.push('0');
        }
        self
    }

    /// An integer.
    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.buf.push_str(&v.to_string());
        self
    }

    /// A timestamp in milliseconds as seconds (`1712345678.123`, `4`).
    pub(crate) fn time(&mut self, t_ms: i64) -> &mut Self {
        self.buf.push_str(&seconds(t_ms));
        self
    }

    /// `[t,"v"]`: one sample of a vector or matrix, its time as Prometheus' `jsonutil`
    /// writes it (the fraction always has three digits: `10.500`).
    pub(crate) fn point(&mut self, t_ms: i64, v: f64) -> &mut Self {
        self.buf.push('[');
        self.buf.push_str(&sample_seconds(t_ms));
        self.buf.push(',');
        self.str(&format_value(v));
        self.buf.push(']');
        self
    }

    /// `[t,"v"]` of a scalar result: the time is a plain float (`4.1`) and the value never
    /// uses an exponent (Prometheus' `Scalar.MarshalJSON` formats with `'f'`).
    pub(crate) fn scalar_point(&mut self, t_ms: i64, v: f64) -> &mut Self {
        self.buf.push('[');
        self.time(t_ms);
        self.buf.push(',');
        let text = if v.is_finite() {
            format!("{v}")
        } else {
            format_value(v)
        };
        self.str(&text);
        self.buf.push(']');
        self
    }

    /// A label set as an object, in the labels' (sorted) order.
    pub(crate) fn labels(&mut self, labels: &Labels) -> &mut Self {
        self.buf.push('{');
        for (i, l) in labels.iter().enumerate() {
            self.sep(i).key(l.name).str(l.value);
        }
        self.buf.push('}');
        self
    }

    /// An array of strings.
    pub(crate) fn strs<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Self {
        self.buf.push('[');
        for (i, s) in items.iter().enumerate() {
            self.sep(i).str(s.as_ref());
        }
        self.buf.push(']');
        self
    }

    /// The text written so far.
    pub(crate) fn finish(self) -> String {
        self.buf
    }
}

/// `{"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}` as a 200 response.
pub(crate) fn success(data: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut j = Json::new();
    j.raw("{").key("status").str("success");
    j.raw(",").key("data").raw(data);
    if !warnings.is_empty() {
        j.raw(",").key("warnings").strs(warnings);
    }
    if !infos.is_empty() {
        j.raw(",").key("infos").strs(infos);
    }
    j.raw("}");
    respond(StatusCode::OK, j.finish())
}

/// `{"status":"error","errorType":...,"error":...}`.
pub(crate) fn error_body(error_type: &str, message: &str) -> String {
    let mut j = Json::new();
    j.raw("{").key("status").str("error");
    j.raw(",").key("errorType").str(error_type);
    j.raw(",").key("error").str(message);
    j.raw("}");
    j.finish()
}

/// A response with `body` as `application/json`.
pub(crate) fn respond(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Seconds of a vector or matrix sample: whole seconds, then `.` and the milliseconds as
/// three digits when there are any (`4`, `10.500`, `1712345678.123`), as Prometheus'
/// `jsonutil.MarshalTimestamp` writes them.
pub(crate) fn sample_seconds(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    let (whole, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac:03}")
    }
}

/// Seconds with at most three decimals, shortest form (`4`, `4.1`, `1712345678.123`), as Go
/// prints `float64(t) / 1000` (scalar and string results, per-step statistics).
pub(crate) fn seconds(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    let (whole, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:03}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

/// Formats a float as Prometheus does (Go's `strconv.FormatFloat(v, 'f', -1, 64)`, or `'e'`
/// for magnitudes below 1e-6 or from 1e21 on; `NaN`, `+Inf`, `-Inf`).
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust prints `1e-7` / `1.5e21`; Go writes the exponent signed with two digits at least.
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').expect("`{:e}` output has an exponent");
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{v}")
}

/// Go's `encoding/json` string escaping with HTML escaping on, as Prometheus' jsoniter
/// configuration writes it.
fn escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_formatted_like_go() {
        for (v, s) in [
            (2.0, "2"),
            (0.1, "0.1"),
            (-1.5, "-1.5"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (6.61e-7, "6.61e-07"),
            (1e21, "1e+21"),
            (1.234e300, "1.234e+300"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(format_value(v), s, "{v:?}");
        }
    }

    #[test]
    fn times_have_at_most_three_decimals() {
        assert_eq!(seconds(4000), "4");
        assert_eq!(seconds(4100), "4.1");
        assert_eq!(seconds(1_712_345_678_123), "1712345678.123");
        assert_eq!(seconds(1), "0.001");
        assert_eq!(seconds(-1500), "-1.5");
        assert_eq!(seconds(-1), "-0.001");
        assert_eq!(seconds(0), "0");
        assert_eq!(sample_seconds(10_500), "10.500");
        assert_eq!(sample_seconds(10_050), "10.050");
        assert_eq!(sample_seconds(-1_500), "-1.500");
        assert_eq!(sample_seconds(4_000), "4");
    }

    #[test]
    fn strings_are_escaped_like_go() {
        let mut j = Json::new();
        j.str("a<b>&\"\\\n\t\u{1}\u{2028}é");
        assert_eq!(j.finish(), r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\u2028é""#);
    }

    #[test]
    fn envelope_keeps_prometheus_key_order() {
        let body = error_body("bad_data", "x");
        assert_eq!(
            body,
            r#"{"status":"error","errorType":"bad_data","error":"x"}"#
        );
    }
}
