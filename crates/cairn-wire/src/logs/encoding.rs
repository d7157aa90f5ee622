//! Content-Encoding of log request bodies, undone with the decoded size capped while
//! decompressing: a small body that inflates to gigabytes stops at the cap.

use std::borrow::Cow;
use std::io::Read;

use crate::error::{Result, WireError};

/// Undoes a request's Content-Encoding, refusing to produce more than `max_decoded` bytes
/// (0: no cap).
///
/// - absent, empty or `identity`: the body as is (still checked against the cap);
/// - `gzip` (and `x-gzip`): any number of concatenated gzip members, as Go's reader and
///   Fluent Bit's `compress gzip` produce;
/// - `deflate`: zlib-wrapped deflate as HTTP defines it, and raw deflate as Go's
///   `compress/flate` (Loki) reads it, told apart by the zlib header;
/// - `zstd`: one or more zstd frames, with the decoder window bounded;
/// - `snappy`: the body as is, as Loki tolerates it: a Loki protobuf push body is a raw
///   snappy block already and its decoder undoes it.
///
/// Anything else is [`WireError::UnsupportedLogEncoding`] (415). An empty body decodes to an
/// empty body whatever the encoding.
pub fn decode_content_encoding<'a>(
    encoding: Option<&str>,
    body: &'a [u8],
    max_decoded: usize,
) -> Result<Cow<'a, [u8]>> {
    let cap = if max_decoded == 0 {
        usize::MAX
    } else {
        max_decoded
    };
    let enc = encoding.map(str::trim).unwrap_or("");
    let lower = enc.to_ascii_lowercase();
    match lower.as_str() {
        "" | "identity" | "snappy" => {
            if body.len() > cap {
                return Err(WireError::TooLarge {
                    decoded: body.len(),
                    limit: cap,
                });
            }
            Ok(Cow::Borrowed(body))
        }
        _ if body.is_empty() && is_known(&lower) => Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => gunzip(body, cap).map(Cow::Owned),
        "deflate" => inflate(body, cap).map(Cow::Owned),
        "zstd" => unzstd(body, cap).map(Cow::Owned),
        _ => Err(WireError::UnsupportedLogEncoding(enc.to_string())),
    }
}

fn is_known(lower: &str) -> bool {
    matches!(lower, "gzip" | "x-gzip" | "deflate" | "zstd")
}

/// Decompresses concatenated gzip members with a cap (used by the forward decoder too).
pub(crate) fn gunzip(body: &[u8], cap: usize) -> Result<Vec<u8>> {
    read_capped(
        flate2::read::MultiGzDecoder::new(body),
        body.len(),
        cap,
        "gzip",
    )
}

/// Decompresses zlib-wrapped or raw deflate with a cap.
fn inflate(body: &[u8], cap: usize) -> Result<Vec<u8>> {
    if looks_like_zlib(body) {
        read_capped(
            flate2::read::ZlibDecoder::new(body),
            body.len(),
            cap,
            "deflate",
        )
    } else {
        read_capped(
            flate2::read::DeflateDecoder::new(body),
            body.len(),
            cap,
            "deflate",
        )
    }
}

/// Decompresses zstd frames with a cap (used by the forward decoder too).
pub(crate) fn unzstd(body: &[u8], cap: usize) -> Result<Vec<u8>> {
    let err = |e: std::io::Error| WireError::Decompress {
        encoding: "zstd",
        reason: e.to_string(),
    };
    let mut dec = zstd::stream::read::Decoder::with_buffer(body).map_err(err)?;
    // A frame may ask for a window of up to 2 GiB; 128 MiB is what zstd itself allows by
    // default and what every sender uses.
    dec.window_log_max(27).map_err(err)?;
    read_capped(dec, body.len(), cap, "zstd")
}

/// A zlib stream starts with CMF/FLG: deflate method, window at most 32 KiB, and a header
/// check making the 16-bit big-endian value a multiple of 31. A raw deflate stream starting
/// with those two bytes by chance would also have to set the preset-dictionary bit pattern
/// right; it is vanishingly rare and would fail loudly, never silently.
fn looks_like_zlib(b: &[u8]) -> bool {
    match b {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

fn read_capped(
    r: impl Read,
    compressed: usize,
    cap: usize,
    encoding: &'static str,
) -> Result<Vec<u8>> {
    // Text compresses 5-10x; start there and let the vector grow, never past the cap + 1.
    let mut out = Vec::with_capacity(compressed.saturating_mul(4).min(cap).min(64 << 20));
    let limit = (cap as u64).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Decompress {
            encoding,
            reason: e.to_string(),
        })?;
    if out.len() > cap {
        return Err(WireError::DecompressedTooLarge { limit: cap });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn identity_and_snappy_borrow_the_body() {
        for enc in [
            None,
            Some(""),
            Some("identity"),
            Some(" Identity "),
            Some("snappy"),
        ] {
            let got = decode_content_encoding(enc, b"abc", 10).unwrap();
            assert!(matches!(got, Cow::Borrowed(b"abc")), "{enc:?}");
        }
        let e = decode_content_encoding(None, b"abcdef", 5).unwrap_err();
        assert_eq!(e.http_status(), 413);
    }

    #[test]
    fn gzip_with_several_members() {
        let mut body = gzip(b"hello ");
        body.extend(gzip(b"world"));
        let got = decode_content_encoding(Some("gzip"), &body, 1 << 20).unwrap();
        assert_eq!(&*got, b"hello world");
        let got = decode_content_encoding(Some("X-GZIP"), &body, 0).unwrap();
        assert_eq!(&*got, b"hello world");
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"zlib wrapped").unwrap();
        let z = z.finish().unwrap();
        assert!(looks_like_zlib(&z));
        assert_eq!(
            &*decode_content_encoding(Some("deflate"), &z, 100).unwrap(),
            b"zlib wrapped"
        );
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(b"raw deflate").unwrap();
        let r = r.finish().unwrap();
        assert_eq!(
            &*decode_content_encoding(Some("deflate"), &r, 100).unwrap(),
            b"raw deflate"
        );
    }

    #[test]
    fn zstd_frames() {
        let mut body = zstd::encode_all(&b"one "[..], 3).unwrap();
        body.extend(zstd::encode_all(&b"two"[..], 3).unwrap());
        assert_eq!(
            &*decode_content_encoding(Some("zstd"), &body, 100).unwrap(),
            b"one two"
        );
    }

    #[test]
    fn bombs_stop_at_the_cap() {
        let big = vec![b'a'; 10 << 20];
        for (enc, body) in [
            ("gzip", gzip(&big)),
            ("zstd", zstd::encode_all(&big[..], 3).unwrap()),
        ] {
            assert!(body.len() < 100 << 10, "{enc} compresses well");
            let e = decode_content_encoding(Some(enc), &body, 1 << 20).unwrap_err();
            assert!(
                matches!(e, WireError::DecompressedTooLarge { limit } if limit == 1 << 20),
                "{e}"
            );
            assert_eq!(e.http_status(), 413);
            // Exactly at the cap is fine.
            let ok = decode_content_encoding(Some(enc), &body, 10 << 20).unwrap();
            assert_eq!(ok.len(), 10 << 20);
        }
    }

    #[test]
    fn corrupt_bodies_are_400_and_unknown_encodings_415() {
        let mut g = gzip(b"some text to compress");
        let n = g.len();
        g[n - 6] ^= 0xff; // breaks the CRC
        for (enc, body) in [
            ("gzip", g),
            ("gzip", b"not gzip".to_vec()),
            ("zstd", b"not zstd".to_vec()),
            ("deflate", vec![0xff; 8]),
        ] {
            let e = decode_content_encoding(Some(enc), &body, 100).unwrap_err();
            assert!(matches!(e, WireError::Decompress { .. }), "{enc}: {e}");
            assert_eq!(e.http_status(), 400);
        }
        let e = decode_content_encoding(Some("br"), b"x", 100).unwrap_err();
        assert_eq!(e.to_string(), r#"Content-Encoding "br" not supported"#);
        assert_eq!(e.http_status(), 415);
        assert!(
            decode_content_encoding(Some("gzip"), b"", 100)
                .unwrap()
                .is_empty()
        );
    }
}
