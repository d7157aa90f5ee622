//! Choosing the remote write protocol version from the request headers.

use std::borrow::Cow;

use crate::error::{Result, WireError};

/// A remote write protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Remote write 1.0, `prometheus.WriteRequest`.
    V1,
    /// Remote write 2.0, `io.prometheus.write.v2.Request`.
    V2,
}

impl Protocol {
    /// The `proto=` parameter value that names this version.
    pub fn proto_name(self) -> &'static str {
        match self {
            Protocol::V1 => "prometheus.WriteRequest",
            Protocol::V2 => "io.prometheus.write.v2.Request",
        }
    }

    /// The full Content-Type a sender of this version uses.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::V1 => "application/x-protobuf;proto=prometheus.WriteRequest",
            Protocol::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        }
    }
}

/// Picks the protocol from the Content-Type and Content-Encoding headers (absent or empty
/// headers mean remote write 1.0 and snappy, as Prometheus' own receiver assumes).
///
/// Only snappy is accepted as encoding: `identity` is refused like `gzip`, because the protocol
/// requires a snappy body and an uncompressed one would bypass the decoded-size cap.
pub fn negotiate(content_type: Option<&str>, content_encoding: Option<&str>) -> Result<Protocol> {
    if let Some(enc) = content_encoding.map(str::trim).filter(|e| !e.is_empty())
        && !enc.eq_ignore_ascii_case("snappy")
    {
        return Err(WireError::UnsupportedEncoding(enc.to_string()));
    }
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Protocol::V1);
    };
    let unsupported = || WireError::UnsupportedMediaType(ct.to_string());
    let (media, mut params) = match ct.find(';') {
        Some(i) => (&ct[..i], &ct[i + 1..]),
        None => (ct, ""),
    };
    if !media.trim().eq_ignore_ascii_case("application/x-protobuf") {
        return Err(unsupported());
    }
    loop {
        params = params.trim_start_matches([' ', '\t', ';']);
        if params.is_empty() {
            return Ok(Protocol::V1);
        }
        let (name, value, rest) = next_param(params).ok_or_else(unsupported)?;
        params = rest;
        if name.eq_ignore_ascii_case("proto") {
            return match value.as_ref() {
                "prometheus.WriteRequest" => Ok(Protocol::V1),
                "io.prometheus.write.v2.Request" => Ok(Protocol::V2),
                _ => Err(unsupported()),
            };
        }
    }
}

/// Splits `name=value` (value a token or a quoted string) off the front of `s`, returning the
/// rest after the next `;`.
fn next_param(s: &str) -> Option<(&str, Cow<'_, str>, &str)> {
    let eq = s.find('=')?;
    let name = s[..eq].trim();
    if name.is_empty() || name.contains(';') {
        return None;
    }
    let after = s[eq + 1..].trim_start();
    if let Some(q) = after.strip_prefix('"') {
        let mut value = String::new();
        let mut escaped = false;
        for (i, c) in q.char_indices() {
            if escaped {
                value.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let rest = q[i + 1..].trim_start();
                if !(rest.is_empty() || rest.starts_with(';')) {
                    return None;
                }
                return Some((name, Cow::Owned(value), rest));
            } else {
                value.push(c);
            }
        }
        None
    } else {
        let end = after.find(';').unwrap_or(after.len());
        let value = after[..end].trim();
        if value.is_empty() || value.contains([' ', '\t', '"']) {
            return None;
        }
        Some((name, Cow::Borrowed(value), &after[end..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(s: &str) -> Result<Protocol> {
        negotiate(Some(s), None)
    }

    #[test]
    fn versions_from_content_type() {
        assert_eq!(negotiate(None, None).unwrap(), Protocol::V1);
        assert_eq!(ct("").unwrap(), Protocol::V1);
        assert_eq!(ct("application/x-protobuf").unwrap(), Protocol::V1);
        assert_eq!(ct("Application/X-Protobuf").unwrap(), Protocol::V1);
        assert_eq!(
            ct("application/x-protobuf;proto=prometheus.WriteRequest").unwrap(),
            Protocol::V1
        );
        assert_eq!(
            ct("application/x-protobuf;proto=io.prometheus.write.v2.Request").unwrap(),
            Protocol::V2
        );
        assert_eq!(
            ct(" application/x-protobuf ; charset=utf-8 ;  PROTO = \"io.prometheus.write.v2.Request\" ")
                .unwrap(),
            Protocol::V2
        );
        assert_eq!(
            ct("application/x-protobuf; foo=\"a;b\\\"c\"; proto=io.prometheus.write.v2.Request")
                .unwrap(),
            Protocol::V2
        );
        for p in [Protocol::V1, Protocol::V2] {
            assert_eq!(ct(p.content_type()).unwrap(), p);
        }
    }

    #[test]
    fn other_media_types_and_protos_are_415() {
        for bad in [
            "application/json",
            "text/plain",
            "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            "application/x-protobuf;proto=",
            "application/x-protobuf;proto",
            "application/x-protobuf;proto=\"unterminated",
            "application/x-protobuf;proto=prometheus.writerequest",
        ] {
            let e = ct(bad).unwrap_err();
            assert!(
                matches!(e, WireError::UnsupportedMediaType(_)),
                "{bad}: {e}"
            );
            assert_eq!(e.http_status(), 415);
        }
    }

    #[test]
    fn only_snappy_encoding() {
        assert_eq!(negotiate(None, Some("snappy")).unwrap(), Protocol::V1);
        assert_eq!(negotiate(None, Some(" SNAPPY ")).unwrap(), Protocol::V1);
        assert_eq!(negotiate(None, Some("")).unwrap(), Protocol::V1);
        for bad in ["gzip", "deflate", "zstd", "identity", "br", "snappy, gzip"] {
            let e = negotiate(None, Some(bad)).unwrap_err();
            assert!(matches!(e, WireError::UnsupportedEncoding(_)), "{bad}");
            assert_eq!(e.http_status(), 415);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
