//! Snappy block format, with the decoded size checked before any allocation.

use crate::error::{Result, WireError};

/// Decompresses a snappy block (never the framed format) into `out`, reusing its allocation.
///
/// The decoded length in the block's preamble is checked against `max_decoded` first, so a
/// small body announcing gigabytes is refused with [`WireError::TooLarge`] without allocating.
pub fn decompress_snappy(body: &[u8], max_decoded: usize, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    let decoded = snap::raw::decompress_len(body).map_err(|e| WireError::Snappy(e.to_string()))?;
    if decoded > max_decoded {
        return Err(WireError::TooLarge {
            decoded,
            limit: max_decoded,
        });
    }
    out.resize(decoded, 0);
    match snap::raw::Decoder::new().decompress(body, out) {
        Ok(n) if n == decoded => Ok(()),
        Ok(n) => {
            out.clear();
            Err(WireError::Snappy(format!(
                "block decoded to {n} bytes, preamble announced {decoded}"
            )))
        }
        Err(e) => {
            out.clear();
            Err(WireError::Snappy(e.to_string()))
        }
    }
}

/// Compresses `data` as one snappy block.
///
/// # Panics
/// If `data` is larger than the snappy block format can describe (about 4 GiB).
pub fn snappy_compress(data: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(data)
        .expect("snappy blocks hold inputs up to 4 GiB, encoders are given far less")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_reuses_buffer() {
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let c = snappy_compress(&data);
        let mut out = Vec::with_capacity(64 * 1024);
        let cap = out.capacity();
        decompress_snappy(&c, data.len(), &mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(out.capacity(), cap);
        decompress_snappy(&snappy_compress(b""), 0, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn size_cap_checked_before_decoding() {
        let c = snappy_compress(&[7u8; 1000]);
        let mut out = Vec::new();
        let e = decompress_snappy(&c, 999, &mut out).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::TooLarge {
                    decoded: 1000,
                    limit: 999
                }
            ),
            "{e}"
        );
        assert_eq!(e.http_status(), 413);
        assert_eq!(out.capacity(), 0);
        // A 4-byte body that announces ~256 MiB.
        let bomb = [0x80u8, 0x80, 0x80, 0x80, 0x01];
        let e = decompress_snappy(&bomb, 32 << 20, &mut out).unwrap_err();
        assert!(matches!(e, WireError::TooLarge { .. }), "{e}");
        assert_eq!(out.capacity(), 0);
    }

    #[test]
    fn corrupt_and_framed_bodies_are_400() {
        let mut out = Vec::new();
        let c = snappy_compress(b"hello hello hello hello hello");
        for bad in [&c[..c.len() - 3], &[0xffu8; 3][..], &[5u8, 0x00][..]] {
            let e = decompress_snappy(bad, 1 << 20, &mut out).unwrap_err();
            assert!(matches!(e, WireError::Snappy(_)), "{e}");
            assert_eq!(e.http_status(), 400);
        }
        let mut framed = Vec::new();
        {
            use std::io::Write;
            let mut w = snap::write::FrameEncoder::new(&mut framed);
            w.write_all(b"hello hello hello").unwrap();
        }
        assert!(decompress_snappy(&framed, 1 << 20, &mut out).is_err());
    }
}
