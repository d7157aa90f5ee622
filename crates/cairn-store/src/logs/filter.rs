//! The line-filter index: one split-block Bloom filter (Parquet's SBBF layout) per run of a
//! stream's rows in a block, over the tokens of its lines, so that `|= "needle"` skips the
//! runs that cannot hold the needle without decompressing them.
//!
//! Layout of a filter: a power of two of 256-bit blocks (eight little-endian u32 words); a
//! key (an xxh3 hash) sets one bit in each word of block `(hash >> 32) mod blocks`, chosen by
//! the low 32 bits times Parquet's eight salts.
//!
//! Tokens are the maximal runs of ASCII letters and digits and of non-ASCII bytes; the
//! filter holds, for every token, the token itself and, when it has at least
//! [`AFFIX`] bytes, its first and last [`AFFIX`] bytes as separate keys. A needle can only
//! be checked by what it proves about the tokens of a line holding it:
//! - a token of the needle with a delimiter on both sides (inside the needle) is a whole
//!   token of the line;
//! - its last token, with a delimiter before it, starts a token of the line (prefix key);
//! - its first token, with a delimiter after it, ends a token of the line (suffix key);
//! - a needle that is one token without delimiters may sit anywhere inside a token: it
//!   proves nothing and the run is read.
//!
//! So `needle-7f3e9a41` checks the suffix key `edle` and the prefix key `7f3e`, `GET
//! /api/v1/orders HTTP` checks the tokens `api`, `v1`, `orders`, the suffix `GET` (too short:
//! skipped) and the prefix `HTTP`. A filter never refuses a run that holds the needle.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bytes of the prefix and suffix keys.
pub(crate) const AFFIX: usize = 4;

const SEED_TOKEN: u64 = 0x746f6b;
const SEED_PREFIX: u64 = 0x707265;
const SEED_SUFFIX: u64 = 0x737566;

const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Calls `f` with every token of `text` and whether it touches the start and the end of
/// `text`.
fn tokens(text: &[u8], mut f: impl FnMut(&[u8], bool, bool)) {
    let mut i = 0;
    while i < text.len() {
        if !is_token_byte(text[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && is_token_byte(text[i]) {
            i += 1;
        }
        f(&text[start..i], start == 0, i == text.len());
    }
}

fn token_key(t: &[u8]) -> u64 {
    xxh3_64_with_seed(t, SEED_TOKEN)
}

/// The key of a token's first or last [`AFFIX`] bytes: a 64-bit mix of the four bytes and
/// the key kind, much cheaper than hashing a slice.
fn affix_key(b: &[u8], seed: u64) -> u64 {
    let mut x = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) | seed << 32;
    // splitmix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The keys of a run's lines, with most repeats dropped on the way by a small
/// direct-mapped table of keys seen (lines of one stream share most of their tokens), so
/// that the filter is built from about the distinct keys.
#[derive(Debug)]
pub(crate) struct KeyCollector {
    pub(crate) keys: Vec<u64>,
    seen: Box<[u64]>,
}

impl Default for KeyCollector {
    fn default() -> Self {
        KeyCollector {
            keys: Vec::new(),
            seen: vec![0u64; 4096].into_boxed_slice(),
        }
    }
}

impl KeyCollector {
    /// Forgets the keys of the previous run.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.seen.fill(0);
    }

    fn add(&mut self, h: u64) {
        let slot = &mut self.seen[(h as usize) & 4095];
        if *slot != h {
            *slot = h;
            self.keys.push(h);
        }
    }

    /// Adds the keys of a line.
    pub(crate) fn line(&mut self, line: &[u8]) {
        tokens(line, |t, _, _| {
            self.add(token_key(t));
            if t.len() >= AFFIX {
                self.add(affix_key(&t[..AFFIX], SEED_PREFIX));
                self.add(affix_key(&t[t.len() - AFFIX..], SEED_SUFFIX));
            }
        });
    }
}

/// The keys every line containing `needle` has (see the module docs); empty when the
/// needle proves nothing.
pub(crate) fn needle_keys(needle: &str) -> Vec<u64> {
    let mut out = Vec::new();
    tokens(needle.as_bytes(), |t, at_start, at_end| {
        match (at_start, at_end) {
            (false, false) => out.push(token_key(t)),
            (false, true) if t.len() >= AFFIX => {
                out.push(affix_key(&t[..AFFIX], SEED_PREFIX));
            }
            (true, false) if t.len() >= AFFIX => {
                out.push(affix_key(&t[t.len() - AFFIX..], SEED_SUFFIX));
            }
            _ => {}
        }
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// Builds filters without sorting keys: a filter sized for every key given (repeats
/// included) takes them all, counting those that set a new bit (the distinct keys, nearly
/// exactly at that low fill), and is then folded in halves (block `i` ORed into block
/// `i - n/2`, which the power-of-two block count and the `hash mod blocks` placement allow)
/// down to the size the distinct keys need.
#[derive(Debug, Default)]
pub(crate) struct FilterBuilder {
    words: Vec<u32>,
}

impl FilterBuilder {
    /// A filter of `keys` with `bits_per_key / 2` to `bits_per_key` bits for each distinct
    /// one; empty when `bits_per_key` is 0 or there is no key.
    pub(crate) fn build(&mut self, keys: &[u64], bits_per_key: u32) -> Vec<u8> {
        if bits_per_key == 0 || keys.is_empty() {
            return Vec::new();
        }
        let blocks_for = |n: usize| {
            (n as u64 * u64::from(bits_per_key))
                .div_ceil(256)
                .max(1)
                .next_power_of_two() as usize
        };
        let mut blocks = blocks_for(keys.len());
        self.words.clear();
        self.words.resize(blocks * 8, 0);
        let mut distinct = 0usize;
        for &h in keys {
            let b = block_of(h, blocks);
            let m = mask(h as u32);
            let mut new = false;
            for (w, m) in self.words[b * 8..b * 8 + 8].iter_mut().zip(m) {
                new |= *w & m != m;
                *w |= m;
            }
            distinct += usize::from(new);
        }
        // Folded while larger than the distinct keys need: between half and all of
        // `bits_per_key` bits per key.
        let want = (distinct as u64 * u64::from(bits_per_key)).div_ceil(256) as usize;
        while blocks > want.max(1) {
            let half = blocks / 2;
            let (lo, hi) = self.words.split_at_mut(half * 8);
            for (a, b) in lo.iter_mut().zip(hi.iter()) {
                *a |= *b;
            }
            self.words.truncate(half * 8);
            blocks = half;
        }
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

fn block_of(h: u64, blocks: usize) -> usize {
    // `blocks` is a power of two.
    ((h >> 32) as usize) & (blocks - 1)
}

fn mask(key: u32) -> [u32; 8] {
    let mut m = [0u32; 8];
    for (i, s) in SALT.iter().enumerate() {
        m[i] = 1 << (key.wrapping_mul(*s) >> 27);
    }
    m
}

/// True when `filter` may hold every key (an empty filter may hold anything).
pub(crate) fn may_contain_all(filter: &[u8], keys: &[u64]) -> bool {
    let blocks = filter.len() / 32;
    if filter.is_empty()
        || keys.is_empty()
        || !filter.len().is_multiple_of(32)
        || !blocks.is_power_of_two()
    {
        return true;
    }
    keys.iter().all(|&h| {
        let b = block_of(h, blocks);
        let m = mask(h as u32);
        (0..8).all(|i| {
            let o = b * 32 + i * 4;
            let w = u32::from_le_bytes([filter[o], filter[o + 1], filter[o + 2], filter[o + 3]]);
            w & m[i] == m[i]
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_of(lines: &[&str]) -> Vec<u8> {
        let mut keys = KeyCollector::default();
        for l in lines {
            keys.line(l.as_bytes());
        }
        FilterBuilder::default().build(&keys.keys, 10)
    }

    #[test]
    fn needles_prove_whole_tokens_prefixes_and_suffixes() {
        let k = needle_keys("needle-7f3e9a41");
        assert_eq!(k.len(), 2);
        assert!(
            needle_keys("7f3e9a41").is_empty(),
            "one bare token proves nothing"
        );
        assert!(
            needle_keys("ab-cd").is_empty(),
            "edges shorter than the affix"
        );
        assert_eq!(needle_keys("x GET /api/v1/orders HTTP").len(), 5);
        assert!(needle_keys(" - ").is_empty());
    }

    #[test]
    fn a_filter_never_refuses_a_run_holding_the_needle() {
        let lines = [
            r#"10.0.0.1 - - "GET /search?q=xneedle-7f3e9a41y&page=2 HTTP/1.1" 200"#,
            r#"{"level":"info","ref":"needle-7f3e9a41","msg":"ok"}"#,
            "ts=2024-01-01T00:00:00Z level=warn msg=\"GET /api/v1/orders HTTP/2.0\"",
        ];
        let f = filter_of(&lines);
        for needle in [
            "needle-7f3e9a41",
            "dle-7f3e9",
            "\"ref\":\"needle",
            "GET /api/v1/orders HTTP",
            "/api/v1/",
            "level=warn",
            "q=xneedle-7f3e9a41y&",
        ] {
            assert!(lines.iter().any(|l| l.contains(needle)));
            assert!(may_contain_all(&f, &needle_keys(needle)), "{needle}");
        }
    }

    #[test]
    fn a_filter_refuses_most_runs_without_the_needle() {
        let mut refused = 0;
        for i in 0..200u64 {
            let lines: Vec<String> = (0..100)
                .map(|j| {
                    format!(
                        "GET /product/{} status=200 trace_id={:032x}",
                        i * 100 + j,
                        (i * 7919 + j) * 104729
                    )
                })
                .collect();
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let f = filter_of(&refs);
            if !may_contain_all(&f, &needle_keys("ref=needle-7f3e9a41 ")) {
                refused += 1;
            }
            assert!(may_contain_all(&f, &needle_keys(" status=200 ")));
        }
        assert!(refused >= 195, "{refused} of 200 refused");
    }
}
