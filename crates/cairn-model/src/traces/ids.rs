//! Trace and span ids, and their hex forms as Tempo reads and writes them.

use std::fmt;
use std::str::FromStr;

/// Why a hex id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("empty {kind}")]
    Empty {
        /// `trace id` or `span id`.
        kind: &'static str,
    },
    /// The string holds a character that is not a hex digit.
    #[error(
        "{kind} {id:?} can only contain hex characters: invalid character {bad:?} at position {pos}"
    )]
    NotHex {
        /// `trace id` or `span id`.
        kind: &'static str,
        /// The id as given (cut to 64 characters).
        id: String,
        /// The first character that is not a hex digit.
        bad: char,
        /// Its position, counting from 1.
        pos: usize,
    },
    /// The string has more hex digits than the id has room for.
    #[error("{kind} {id:?} is longer than {max} hex characters")]
    TooLong {
        /// `trace id` or `span id`.
        kind: &'static str,
        /// The id as given (cut to 64 characters).
        id: String,
        /// 32 for trace ids, 16 for span ids.
        max: usize,
    },
    /// A binary id of the wrong length.
    #[error("{kind} must be {want} bytes, got {got}")]
    Length {
        /// `trace id` or `span id`.
        kind: &'static str,
        /// The length required.
        want: usize,
        /// The length given.
        got: usize,
    },
}

/// A 128-bit trace id.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceId(pub [u8; 16]);

/// A 64-bit span id.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpanId(pub [u8; 8]);

macro_rules! id_impl {
    ($ty:ident, $n:literal, $kind:literal) => {
        impl $ty {
            /// The id from exactly its binary length.
            pub fn from_bytes(b: &[u8]) -> Result<Self, IdError> {
                <[u8; $n]>::try_from(b)
                    .map($ty)
                    .map_err(|_| IdError::Length {
                        kind: $kind,
                        want: $n,
                        got: b.len(),
                    })
            }

            /// Reads up to
            #[doc = concat!(stringify!($n), "*2")]
            /// hex digits in any case, left-padded with zeros (so an id printed without its
            /// leading zeros reads back to the same id), as Tempo reads ids in its API.
            pub fn from_hex(s: &str) -> Result<Self, IdError> {
                let mut out = [0u8; $n];
                parse_hex(s, &mut out, $kind)?;
                Ok($ty(out))
            }

            /// Whether every byte is zero (an invalid id in OTLP).
            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|&b| b == 0)
            }

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }

            /// The
            #[doc = concat!(stringify!($n), "*2")]
            /// lowercase hex digits, leading zeros kept.
            pub fn to_hex(&self) -> String {
                hex_string(&self.0)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.to_hex())
            }
        }

        impl FromStr for $ty {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                $ty::from_hex(s)
            }
        }
    };
}

id_impl!(TraceId, 16, "trace id");
id_impl!(SpanId, 8, "span id");

impl TraceId {
    /// Lowercase hex without leading zeros, as Tempo prints trace ids in search results
    /// (`0` for the zero id, never the empty string).
    pub fn to_hex_trimmed(&self) -> String {
        let full = self.to_hex();
        match full.trim_start_matches('0') {
            "" => "0".to_string(),
            t => t.to_string(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of any bytes.
pub fn hex_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Fills `out` right-aligned with the hex digits of `s`.
fn parse_hex(s: &str, out: &mut [u8], kind: &'static str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| !c.is_ascii_hexdigit()) {
        return Err(IdError::NotHex {
            kind,
            id: shown(s),
            bad: c,
            pos: s[..i].chars().count() + 1,
        });
    }
    let digits = s.as_bytes();
    if digits.len() > out.len() * 2 {
        return Err(IdError::TooLong {
            kind,
            id: shown(s),
            max: out.len() * 2,
        });
    }
    // Walk from the last digit: digit k (from the right) lands in byte len-1-k/2.
    for (k, &c) in digits.iter().rev().enumerate() {
        let v = nibble(c).expect("checked as hex above");
        let byte = &mut out[out.len() - 1 - k / 2];
        if k % 2 == 0 {
            *byte |= v;
        } else {
            *byte |= v << 4;
        }
    }
    Ok(())
}

/// Reads hex of exactly the length of the bytes it stands for (any case), as OTLP/JSON
/// writes ids; `None` if the string is not hex of an even length.
pub fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_read_as_tempo_reads_them() {
        let full = "5B8EFFF798038103D269B633813FC60C";
        let id = TraceId::from_hex(full).unwrap();
        assert_eq!(id.0[0], 0x5b);
        assert_eq!(id.0[15], 0x0c);
        assert_eq!(id.to_hex(), full.to_ascii_lowercase());
        assert_eq!(TraceId::from_hex(&full.to_ascii_lowercase()).unwrap(), id);
        // 16 digits (a 64-bit id, as Jaeger and Zipkin clients send) are left-padded.
        let short = TraceId::from_hex("d269b633813fc60c").unwrap();
        assert_eq!(short.to_hex(), "0000000000000000d269b633813fc60c");
        // An odd number of digits too, as Tempo prints ids without leading zeros.
        let odd = TraceId::from_hex("abc").unwrap();
        assert_eq!(odd.0[14..], [0x0a, 0xbc]);
        assert_eq!(odd.to_hex_trimmed(), "abc");
        assert_eq!(TraceId::default().to_hex_trimmed(), "0");
        assert_eq!("abc".parse::<TraceId>().unwrap(), odd);
        assert_eq!(
            format!("{odd:?}"),
            "TraceId(00000000000000000000000000000abc)"
        );
    }

    #[test]
    fn bad_hex_ids_name_the_problem() {
        assert_eq!(
            TraceId::from_hex("").unwrap_err().to_string(),
            "empty trace id"
        );
        assert_eq!(
            TraceId::from_hex("12g4").unwrap_err().to_string(),
            r#"trace id "12g4" can only contain hex characters: invalid character 'g' at position 3"#
        );
        assert_eq!(
            SpanId::from_hex("0123456789abcdef0")
                .unwrap_err()
                .to_string(),
            r#"span id "0123456789abcdef0" is longer than 16 hex characters"#
        );
        assert!(TraceId::from_hex(&"a".repeat(33)).is_err());
        assert!(matches!(
            SpanId::from_hex("é1"),
            Err(IdError::NotHex {
                bad: 'é',
                pos: 1,
                ..
            })
        ));
    }

    #[test]
    fn binary_ids_need_their_exact_length() {
        assert_eq!(
            TraceId::from_bytes(&[1; 8]).unwrap_err().to_string(),
            "trace id must be 16 bytes, got 8"
        );
        let s = SpanId::from_bytes(&[0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(s.to_hex(), "0000000000000001");
        assert!(!s.is_zero());
        assert!(SpanId::default().is_zero());
    }

    #[test]
    fn exact_hex_bytes() {
        assert_eq!(parse_hex_bytes("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(parse_hex_bytes(""), Some(vec![]));
        assert_eq!(parse_hex_bytes("abc"), None);
        assert_eq!(parse_hex_bytes("zz"), None);
        assert_eq!(parse_hex_bytes("é1"), None);
    }
}
