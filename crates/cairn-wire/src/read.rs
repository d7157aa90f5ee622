//! Remote read (`prometheus.ReadRequest` / `ReadResponse`), SAMPLES response type.
//!
//! Read requests are small and rare, so these decoders produce owned values.

use cairn_model::{Labels, MatchOp, Matcher, Sample, Series};

use crate::error::{Result, WireError};
use crate::pb::{Reader, Writer, utf8};
use crate::v1::{decode_label, decode_sample};

/// A response type a reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseType {
    /// One `ReadResponse` with every sample.
    Samples,
    /// A stream of `ChunkedReadResponse` frames of XOR chunks.
    StreamedXorChunks,
}

/// A decoded `ReadRequest`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadRequest {
    /// The queries, answered in order.
    pub queries: Vec<Query>,
    /// Response types the client accepts, in preference order (empty: SAMPLES only).
    pub accepted_response_types: Vec<ResponseType>,
}

/// One query of a read request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// First millisecond, inclusive.
    pub start_ms: i64,
    /// Last millisecond, inclusive.
    pub end_ms: i64,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Hints about the PromQL around the query, if sent.
    pub hints: Option<ReadHints>,
}

/// `ReadHints`: what the querying PromQL will do with the data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadHints {
    /// Query step.
    pub step_ms: i64,
    /// The function around the selector.
    pub func: String,
    /// Start of the selection.
    pub start_ms: i64,
    /// End of the selection.
    pub end_ms: i64,
    /// Aggregation labels.
    pub grouping: Vec<String>,
    /// True for `by`, false for `without`.
    pub by: bool,
    /// Range of the range selector.
    pub range_ms: i64,
}

/// Decodes a (decompressed) `ReadRequest`; regex matchers are compiled, and a bad pattern or
/// an unknown matcher type is an error.
pub fn decode_read_request(buf: &[u8]) -> Result<ReadRequest> {
    let mut req = ReadRequest::default();
    let mut r = Reader::new(buf, "ReadRequest");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let i = req.queries.len();
                req.queries.push(decode_query(r.len_field(f, wt)?, i)?);
            }
            2 => r.repeated_varint(f, wt, |v| {
                // Unknown values come from newer clients: they are not ours to answer.
                match v {
                    0 => req.accepted_response_types.push(ResponseType::Samples),
                    1 => req
                        .accepted_response_types
                        .push(ResponseType::StreamedXorChunks),
                    _ => {}
                }
                Ok(())
            })?,
            _ => r.skip(wt)?,
        }
    }
    Ok(req)
}

fn decode_query(buf: &[u8], qi: usize) -> Result<Query> {
    let mut q = Query::default();
    let mut r = Reader::new(buf, "Query");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => q.start_ms = r.varint_field(f, wt)? as i64,
            2 => q.end_ms = r.varint_field(f, wt)? as i64,
            3 => q.matchers.push(decode_matcher(r.len_field(f, wt)?, qi)?),
            4 => q.hints = Some(decode_hints(r.len_field(f, wt)?, qi)?),
            _ => r.skip(wt)?,
        }
    }
    Ok(q)
}

fn decode_matcher(buf: &[u8], qi: usize) -> Result<Matcher> {
    let mut r = Reader::new(buf, "LabelMatcher");
    let (mut ty, mut name, mut value) = (0u64, "", "");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => ty = r.varint_field(f, wt)?,
            2 => {
                name = utf8(r.len_field(f, wt)?, || {
                    format!("queries[{qi}] matcher name")
                })?
            }
            3 => {
                value = utf8(r.len_field(f, wt)?, || {
                    format!("queries[{qi}] matcher value")
                })?
            }
            _ => r.skip(wt)?,
        }
    }
    let op = match ty {
        0 => MatchOp::Equal,
        1 => MatchOp::NotEqual,
        2 => MatchOp::Regex,
        3 => MatchOp::NotRegex,
        _ => {
            return Err(WireError::InvalidReadRequest(format!(
                "queries[{qi}] matcher on {name:?} has unknown type {ty}"
            )));
        }
    };
    Ok(Matcher::new(op, name, value)?)
}

fn decode_hints(buf: &[u8], qi: usize) -> Result<ReadHints> {
    let mut h = ReadHints::default();
    let mut r = Reader::new(buf, "ReadHints");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => h.step_ms = r.varint_field(f, wt)? as i64,
            2 => h.func = utf8(r.len_field(f, wt)?, || format!("queries[{qi}] hints func"))?.into(),
            3 => h.start_ms = r.varint_field(f, wt)? as i64,
            4 => h.end_ms = r.varint_field(f, wt)? as i64,
            5 => h.grouping.push(
                utf8(r.len_field(f, wt)?, || {
                    format!("queries[{qi}] hints grouping")
                })?
                .into(),
            ),
            6 => h.by = r.varint_field(f, wt)? != 0,
            7 => h.range_ms = r.varint_field(f, wt)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(h)
}

fn match_type(op: MatchOp) -> u64 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex => 2,
        MatchOp::NotRegex => 3,
    }
}

/// Encodes a `ReadRequest` (not compressed), as Prometheus sends it.
pub fn encode_read_request(req: &ReadRequest) -> Vec<u8> {
    let mut w = Writer::default();
    for q in &req.queries {
        w.message(1, |w| {
            w.int(1, q.start_ms);
            w.int(2, q.end_ms);
            for m in &q.matchers {
                w.message(3, |w| {
                    w.uint(1, match_type(m.op));
                    w.bytes(2, m.name.as_bytes());
                    w.bytes(3, m.value.as_bytes());
                });
            }
            if let Some(h) = &q.hints {
                w.message(4, |w| {
                    w.int(1, h.step_ms);
                    w.bytes(2, h.func.as_bytes());
                    w.int(3, h.start_ms);
                    w.int(4, h.end_ms);
                    for g in &h.grouping {
                        w.bytes(5, g.as_bytes());
                    }
                    w.uint(6, u64::from(h.by));
                    w.int(7, h.range_ms);
                });
            }
        });
    }
    w.packed_varints(
        2,
        req.accepted_response_types.iter().map(|t| match t {
            ResponseType::Samples => 0,
            ResponseType::StreamedXorChunks => 1,
        }),
    );
    w.buf
}

/// Encodes a `ReadResponse` with one `QueryResult` per query (not compressed: the server
/// compresses).
pub fn encode_read_response(results: &[Vec<Series>]) -> Vec<u8> {
    let mut w = Writer::default();
    for result in results {
        w.message(1, |w| {
            for s in result {
                w.message(1, |w| {
                    for l in s.labels.iter() {
                        w.message(1, |w| {
                            w.bytes(1, l.name.as_bytes());
                            w.bytes(2, l.value.as_bytes());
                        });
                    }
                    for smp in &s.samples {
                        w.message(2, |w| {
                            w.double(1, smp.v);
                            w.int(2, smp.t);
                        });
                    }
                });
            }
        });
    }
    w.buf
}

/// Decodes a (decompressed) `ReadResponse`, one list of series per query result.
pub fn decode_read_response(buf: &[u8]) -> Result<Vec<Vec<Series>>> {
    let mut out = Vec::new();
    let mut r = Reader::new(buf, "ReadResponse");
    while let Some((f, wt)) = r.next_field()? {
        if f != 1 {
            r.skip(wt)?;
            continue;
        }
        let mut result = Vec::new();
        let mut qr = Reader::new(r.len_field(f, wt)?, "QueryResult");
        while let Some((f, wt)) = qr.next_field()? {
            if f != 1 {
                qr.skip(wt)?;
                continue;
            }
            let index = result.len();
            result.push(decode_read_series(qr.len_field(f, wt)?, index)?);
        }
        out.push(result);
    }
    Ok(out)
}

fn decode_read_series(buf: &[u8], index: usize) -> Result<Series> {
    let mut pairs = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut r = Reader::new(buf, "TimeSeries");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let l = decode_label(r.len_field(f, wt)?, index, "label")?;
                pairs.push((l.name, l.value));
            }
            2 => samples.push(decode_sample(r.len_field(f, wt)?)?),
            _ => r.skip(wt)?,
        }
    }
    let labels = Labels::from_pairs(pairs)
        .map_err(|e| WireError::protobuf("ReadResponse", format!("timeseries[{index}]: {e}")))?;
    Ok(Series { labels, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ReadRequest {
        ReadRequest {
            queries: vec![
                Query {
                    start_ms: -1000,
                    end_ms: 5000,
                    matchers: vec![
                        Matcher::equal("__name__", "up"),
                        Matcher::new(MatchOp::NotEqual, "job", "x").unwrap(),
                        Matcher::new(MatchOp::Regex, "instance", "a.*|b").unwrap(),
                        Matcher::new(MatchOp::NotRegex, "zone", "eu-.+").unwrap(),
                    ],
                    hints: Some(ReadHints {
                        step_ms: 15_000,
                        func: "rate".into(),
                        start_ms: 1,
                        end_ms: 2,
                        grouping: vec!["job".into(), "env".into()],
                        by: true,
                        range_ms: 300_000,
                    }),
                },
                Query {
                    start_ms: 0,
                    end_ms: 1,
                    matchers: vec![Matcher::equal("a", "")],
                    hints: None,
                },
            ],
            accepted_response_types: vec![ResponseType::StreamedXorChunks, ResponseType::Samples],
        }
    }

    #[test]
    fn read_request_round_trip() {
        let req = request();
        assert_eq!(
            decode_read_request(&encode_read_request(&req)).unwrap(),
            req
        );
        assert_eq!(decode_read_request(&[]).unwrap(), ReadRequest::default());
    }

    #[test]
    fn unpacked_and_unknown_response_types() {
        let mut w = Writer::default();
        w.uint(2, 1);
        w.uint(2, 7);
        w.uint(2, 0);
        w.uint(9, 1);
        let req = decode_read_request(&w.buf).unwrap();
        assert_eq!(
            req.accepted_response_types,
            vec![ResponseType::StreamedXorChunks, ResponseType::Samples]
        );
    }

    #[test]
    fn bad_regex_and_unknown_matcher_type_are_errors() {
        let mut w = Writer::default();
        w.message(1, |w| {
            w.message(3, |w| {
                w.uint(1, 2);
                w.bytes(2, b"job");
                w.bytes(3, b"(");
            })
        });
        let e = decode_read_request(&w.buf).unwrap_err();
        assert!(matches!(e, WireError::Matcher(_)), "{e}");
        assert!(e.to_string().contains("job"), "{e}");
        let mut w = Writer::default();
        w.message(1, |w| w.message(3, |w| w.uint(1, 4)));
        let e = decode_read_request(&w.buf).unwrap_err();
        assert!(matches!(e, WireError::InvalidReadRequest(_)), "{e}");
        let mut w = Writer::default();
        w.message(1, |w| w.message(3, |w| w.bytes(3, &[0xff, 0xfe])));
        let e = decode_read_request(&w.buf).unwrap_err();
        assert!(matches!(e, WireError::InvalidUtf8 { .. }), "{e}");
    }

    #[test]
    fn read_response_round_trip_keeps_stale_bits() {
        let stale = cairn_model::stale_nan();
        let results = vec![
            vec![
                Series {
                    labels: Labels::from_pairs([("__name__", "up"), ("job", "a b.c")]).unwrap(),
                    samples: vec![
                        Sample::new(1, 1.0),
                        Sample::new(2, stale),
                        Sample::new(3, f64::NEG_INFINITY),
                    ],
                },
                Series {
                    labels: Labels::from_pairs([("__name__", "x")]).unwrap(),
                    samples: vec![],
                },
            ],
            vec![],
        ];
        let back = decode_read_response(&encode_read_response(&results)).unwrap();
        assert_eq!(back, results);
        assert_eq!(
            back[0][0].samples[1].v.to_bits(),
            cairn_model::STALE_NAN_BITS
        );
    }

    #[test]
    fn truncations_never_panic() {
        let buf = encode_read_request(&request());
        for n in 0..buf.len() {
            let _ = decode_read_request(&buf[..n]);
        }
        assert!(decode_read_request(&buf[..buf.len() - 1]).is_err());
    }
}
