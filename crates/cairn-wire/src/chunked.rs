//! Remote read's STREAMED_XOR_CHUNKS response: a stream of frames, each
//! `uvarint(len) | crc32c(data) as u32 big-endian | data`, where data is a
//! `ChunkedReadResponse` holding one series' XOR chunks. Large series span several frames.

use cairn_model::{Labels, Series};

use crate::error::{Result, WireError};
use crate::pb::{Reader, Writer};
use crate::v1::decode_label;
use crate::xor::{MAX_SAMPLES_PER_CHUNK, decode_xor, encode_xor};

/// The Content-Type of a STREAMED_XOR_CHUNKS response.
pub const CHUNKED_READ_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// Prometheus' frame size target for chunked read responses.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// `Chunk.Encoding.XOR`.
const XOR_ENCODING: u64 = 1;

const CRC32C_TABLE: [u32; 256] = crc32c_table();

const fn crc32c_table() -> [u32; 256] {
    // Castagnoli polynomial, reflected.
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// CRC-32C (Castagnoli), the checksum of chunked read frames.
fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC32C_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn write_frame(out: &mut Vec<u8>, data: &[u8]) {
    let mut w = Writer::default();
    w.varint(data.len() as u64);
    out.extend_from_slice(&w.buf);
    out.extend_from_slice(&crc32c(data).to_be_bytes());
    out.extend_from_slice(data);
}

/// Appends the frames answering query `query_index` with `series` to `out`: one series per
/// frame, chunks of at most 120 samples, a new frame (repeating the labels) once a frame's
/// chunks pass `max_frame_bytes`. Series without samples send nothing, as in Prometheus.
pub fn encode_chunked_read_response(
    query_index: i64,
    series: &[Series],
    max_frame_bytes: usize,
    out: &mut Vec<u8>,
) {
    for s in series {
        let mut labels = Writer::default();
        for l in s.labels.iter() {
            labels.message(1, |w| {
                w.bytes(1, l.name.as_bytes());
                w.bytes(2, l.value.as_bytes());
            });
        }
        let budget = max_frame_bytes.saturating_sub(labels.buf.len());
        let mut chunks = Writer::default();
        let mut parts = s.samples.chunks(MAX_SAMPLES_PER_CHUNK).peekable();
        while let Some(part) = parts.next() {
            let (Some(first), Some(last)) = (part.first(), part.last()) else {
                continue;
            };
            chunks.message(2, |w| {
                w.int(1, first.t);
                w.int(2, last.t);
                w.uint(3, XOR_ENCODING);
                w.bytes(4, &encode_xor(part));
            });
            if chunks.buf.len() < budget && parts.peek().is_some() {
                continue;
            }
            let mut frame = Writer::default();
            frame.message(1, |w| {
                w.buf.extend_from_slice(&labels.buf);
                w.buf.extend_from_slice(&chunks.buf);
            });
            frame.int(2, query_index);
            write_frame(out, &frame.buf);
            chunks.buf.clear();
        }
    }
}

/// Decodes a whole STREAMED_XOR_CHUNKS stream into (query index, series) pairs, one per
/// `ChunkedSeries` in frame order (a series split over frames appears once per frame).
pub fn decode_chunked_read_response(mut stream: &[u8]) -> Result<Vec<(i64, Series)>> {
    let err = |r: String| WireError::protobuf("ChunkedReadResponse", r);
    let mut out = Vec::new();
    while !stream.is_empty() {
        let mut r = Reader::new(stream, "ChunkedReadResponse frame");
        let len = r.varint()?;
        let head = stream.len() - r.remaining();
        let Some(rest) = stream.get(head..) else {
            return Err(err("truncated frame header".into()));
        };
        let len = usize::try_from(len).map_err(|_| err(format!("frame length {len}")))?;
        if rest.len() < 4 || rest.len() - 4 < len {
            return Err(err(format!("frame of {len} bytes is truncated")));
        }
        let want = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let data = &rest[4..4 + len];
        if crc32c(data) != want {
            return Err(err(format!(
                "frame checksum mismatch ({:#010x} != {want:#010x})",
                crc32c(data)
            )));
        }
        stream = &rest[4 + len..];
        let mut m = Reader::new(data, "ChunkedReadResponse");
        let mut query_index = 0;
        let mut series = Vec::new();
        while let Some((f, wt)) = m.next_field()? {
            match f {
                1 => series.push(decode_chunked_series(m.len_field(f, wt)?)?),
                2 => query_index = m.varint_field(f, wt)? as i64,
                _ => m.skip(wt)?,
            }
        }
        out.extend(series.into_iter().map(|s| (query_index, s)));
    }
    Ok(out)
}

fn decode_chunked_series(buf: &[u8]) -> Result<Series> {
    let err = |r: String| WireError::protobuf("ChunkedSeries", r);
    let mut pairs = Vec::new();
    let mut samples = Vec::new();
    let mut r = Reader::new(buf, "ChunkedSeries");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let l = decode_label(r.len_field(f, wt)?, 0, "chunked series label")?;
                pairs.push((l.name, l.value));
            }
            2 => {
                let mut c = Reader::new(r.len_field(f, wt)?, "Chunk");
                let (mut kind, mut data) = (0, &[][..]);
                while let Some((f, wt)) = c.next_field()? {
                    match f {
                        3 => kind = c.varint_field(f, wt)?,
                        4 => data = c.len_field(f, wt)?,
                        _ => c.skip(wt)?,
                    }
                }
                if kind != XOR_ENCODING {
                    return Err(err(format!("chunk encoding {kind} is not XOR")));
                }
                samples.extend(decode_xor(data).ok_or_else(|| err("malformed XOR chunk".into()))?);
            }
            _ => r.skip(wt)?,
        }
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| err(e.to_string()))?;
    Ok(Series { labels, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{Sample, stale_nan};

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    fn series(name: &str, n: i64) -> Series {
        Series {
            labels: Labels::from_pairs([("__name__", name), ("job", "api")]).unwrap(),
            samples: (0..n)
                .map(|i| Sample::new(i * 15_000, i as f64 / 3.0))
                .collect(),
        }
    }

    #[test]
    fn stream_round_trip_and_frame_splitting() {
        let mut a = series("a", 300);
        a.samples[7].v = stale_nan();
        let input = vec![a.clone(), series("empty", 0), series("b", 5)];
        let mut out = Vec::new();
        encode_chunked_read_response(3, &input, DEFAULT_MAX_FRAME_BYTES, &mut out);
        let got = decode_chunked_read_response(&out).unwrap();
        assert_eq!(got, vec![(3, a.clone()), (3, series("b", 5))]);
        assert_eq!(got[0].1.samples[7].v.to_bits(), stale_nan().to_bits());

        // A tiny frame budget puts each 120-sample chunk in its own frame.
        let mut out = Vec::new();
        encode_chunked_read_response(0, std::slice::from_ref(&a), 10, &mut out);
        let got = decode_chunked_read_response(&out).unwrap();
        assert_eq!(got.len(), 3);
        let merged: Vec<Sample> = got.into_iter().flat_map(|(_, s)| s.samples).collect();
        assert_eq!(merged, a.samples);
    }

    #[test]
    fn corrupt_frames_are_refused() {
        let mut out = Vec::new();
        encode_chunked_read_response(0, &[series("a", 10)], DEFAULT_MAX_FRAME_BYTES, &mut out);
        for n in 0..out.len() {
            assert!(decode_chunked_read_response(&out[..n]).is_err() || n == 0);
        }
        let last = out.len() - 1;
        out[last] ^= 1;
        let e = decode_chunked_read_response(&out).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }
}
