//! How Drain cuts a line into tokens and writes a cluster's tokens back as a pattern, as
//! Loki's pattern ingester does (`pkg/pattern/drain/line_tokenizer.go`): plain lines split on
//! spaces, `=` and punctuation; logfmt lines become key, value, key, value...; JSON lines give
//! the punctuation tokens of their message field. A pattern's runs of `<_>` collapse to one.

use std::sync::OnceLock;

use regex::Regex;

use crate::pipeline::LogfmtDecoder;

/// What stands for a variable part of a line in a pattern.
pub(crate) const PARAM: &str = "<_>";

/// Most tokens the punctuation tokenizer cuts; the rest of the line is the last token.
const MAX_PUNCTUATION_TOKENS: usize = 127;

/// How a stream's lines are written, guessed from its first line (Loki's `DetectLogFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// `key=value` pairs.
    Logfmt,
    /// A JSON object.
    Json,
    /// Anything else: free text.
    Unknown,
}

impl LogFormat {
    /// Loki's guess: braces at both ends are JSON, a line of `key=value` pairs separated by
    /// single spaces is logfmt, the rest is free text.
    pub fn detect(line: &str) -> LogFormat {
        static LOGFMT: OnceLock<Regex> = OnceLock::new();
        let b = line.as_bytes();
        if b.len() < 2 {
            return LogFormat::Unknown;
        }
        if b[0] == b'{' && b[b.len() - 1] == b'}' {
            return LogFormat::Json;
        }
        // Loki's expression, with Go's ASCII `\w` and `\S` spelled out.
        let re = LOGFMT.get_or_init(|| {
            Regex::new(
                r#"^([0-9A-Za-z_]+?=([^"][^\t\n\f\r ]*?|".+?") )*?([0-9A-Za-z_]+?=([^"][^\t\n\f\r ]*?|".+?"))+$"#,
            )
            .expect("the logfmt expression is valid")
        });
        if re.is_match(line) {
            LogFormat::Logfmt
        } else {
            LogFormat::Unknown
        }
    }

    /// Loki's name of the format.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Logfmt => "logfmt",
            LogFormat::Json => "json",
            LogFormat::Unknown => "unknown",
        }
    }
}

/// The tokens of one line: spans into a buffer (a copy of the line, or decoded logfmt keys
/// and values), and where the line had spaces. Reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    text: String,
    spans: Vec<(u32, u32)>,
    /// For each space, the index of the token it follows (-1 before the first token).
    pub(crate) spaces: Vec<i32>,
}

impl Tokens {
    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.spaces.clear();
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Token `i`.
    pub(crate) fn get(&self, i: usize) -> &str {
        let (a, b) = self.spans[i];
        &self.text[a as usize..b as usize]
    }

    /// The tokens in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans
            .iter()
            .map(|&(a, b)| &self.text[a as usize..b as usize])
    }

    fn push_text(&mut self, s: &str) {
        let a = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((a, self.text.len() as u32));
    }

    fn push_bytes(&mut self, b: &[u8]) {
        self.push_text(&String::from_utf8_lossy(b));
    }
}

/// The tokenizer of a stream's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tokenizer {
    Punctuation,
    Logfmt,
    Json,
}

impl Tokenizer {
    pub(crate) fn for_format(f: LogFormat) -> Tokenizer {
        match f {
            LogFormat::Logfmt => Tokenizer::Logfmt,
            LogFormat::Json => Tokenizer::Json,
            LogFormat::Unknown => Tokenizer::Punctuation,
        }
    }

    /// Cuts `line` into `out`; false when the line yields no tokens at all (too long, a
    /// malformed logfmt line, a JSON line without a message field): Drain skips it.
    pub(crate) fn tokenize(
        self,
        line: &str,
        max_len: usize,
        json_fields: &[String],
        out: &mut Tokens,
    ) -> bool {
        match self {
            Tokenizer::Punctuation => punctuation(line, max_len, out),
            Tokenizer::Logfmt => logfmt(line, max_len, out),
            Tokenizer::Json => {
                let Some(msg) = json_fields.iter().find_map(|k| json_string_field(line, k)) else {
                    return false;
                };
                punctuation(msg, max_len, out)
            }
        }
    }

    /// The pattern of a cluster's tokens, placeholders deduplicated.
    pub(crate) fn join<S: AsRef<str>>(self, tokens: &[S], spaces: &[i32]) -> String {
        let joined = match self {
            Tokenizer::Punctuation => join_spaced(tokens, spaces),
            Tokenizer::Logfmt => join_logfmt(tokens),
            Tokenizer::Json => format!("{PARAM}{}{PARAM}", join_spaced(tokens, spaces)),
        };
        dedup_params(&joined)
    }
}

/// Splitting on ASCII bytes: a space, `=`, or punctuation other than `_ - . : /`.
const fn ascii_splits() -> [bool; 128] {
    let mut t = [false; 128];
    let punct = b"!\"#%&'()*,;?@[\\]{}";
    let mut i = 0;
    while i < punct.len() {
        t[punct[i] as usize] = true;
        i += 1;
    }
    t[b' ' as usize] = true;
    t[b'=' as usize] = true;
    t
}

static ASCII_SPLITS: [bool; 128] = ascii_splits();

/// Whether `c` is in Unicode's punctuation categories (Go's `unicode.IsPunct`).
fn is_punct(c: char) -> bool {
    static RANGES: OnceLock<Vec<(char, char)>> = OnceLock::new();
    let ranges = RANGES.get_or_init(|| {
        let hir = regex_syntax::parse(r"\p{P}").expect("\\p{P} is a valid class");
        match hir.kind() {
            regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(cls)) => {
                cls.ranges().iter().map(|r| (r.start(), r.end())).collect()
            }
            _ => Vec::new(),
        }
    });
    let i = ranges.partition_point(|&(_, hi)| hi < c);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= c)
}

/// Loki's punctuation tokenizer: splits on spaces (remembered, not tokens), on `=` and on
/// punctuation other than `_ - . : /` (each a token of its own); letters, digits, symbols,
/// tabs and the rest stay inside tokens. After 127 tokens the rest of the line is one token.
/// Unlike Go, a multi-byte punctuation character is cut whole, not at its first byte.
fn punctuation(line: &str, max_len: usize, out: &mut Tokens) -> bool {
    if line.len() > max_len {
        return false;
    }
    out.clear();
    out.text.push_str(line);
    let b = line.as_bytes();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        if out.spans.len() >= MAX_PUNCTUATION_TOKENS {
            break;
        }
        let c = b[i];
        let (split, width) = if c < 0x80 {
            (ASCII_SPLITS[c as usize], 1)
        } else {
            let ch = line[i..].chars().next().unwrap_or('\u{fffd}');
            (is_punct(ch), ch.len_utf8())
        };
        if split {
            if i > start {
                out.spans.push((start as u32, i as u32));
            }
            if c == b' ' {
                out.spaces.push(out.spans.len() as i32 - 1);
            } else {
                out.spans.push((i as u32, (i + width) as u32));
            }
            start = i + width;
        }
        i += width;
    }
    if start < b.len() {
        out.spans.push((start as u32, b.len() as u32));
    }
    true
}

/// Tokens written back with the spaces where the line had them. Loki loses every space of a
/// line that starts with one; here leading spaces are written first.
fn join_spaced<S: AsRef<str>>(tokens: &[S], spaces: &[i32]) -> String {
    let mut out = String::with_capacity(tokens.iter().map(|t| t.as_ref().len() + 1).sum());
    let mut s = 0;
    while s < spaces.len() && spaces[s] < 0 {
        out.push(' ');
        s += 1;
    }
    for (i, t) in tokens.iter().enumerate() {
        out.push_str(t.as_ref());
        while s < spaces.len() && spaces[s] == i as i32 {
            out.push(' ');
            s += 1;
        }
    }
    out
}

/// Keys whose values vary with every line: Loki replaces them by `<_>` before clustering.
fn is_variable_field(key: &[u8]) -> bool {
    key.eq_ignore_ascii_case(b"ts")
        || key == b"t"
        || key.eq_ignore_ascii_case(b"traceid")
        || key.eq_ignore_ascii_case(b"time")
        || key.eq_ignore_ascii_case(b"timestamp")
}

/// Loki's logfmt tokenizer: key and value of every pair, values unquoted; a malformed line
/// gives nothing.
fn logfmt(line: &str, max_len: usize, out: &mut Tokens) -> bool {
    if line.len() > max_len {
        return false;
    }
    out.clear();
    let mut dec = LogfmtDecoder::new(line.as_bytes());
    while !dec.eol() && dec.scan() {
        let key = dec.key();
        out.push_bytes(key);
        if is_variable_field(key) {
            out.push_text(PARAM);
        } else {
            out.push_bytes(dec.value());
        }
    }
    dec.err().is_none()
}

/// Pairs written back as go-logfmt encodes them; a key left empty by its filter makes the
/// whole pattern empty, as the encoder's error does in Loki.
fn join_logfmt<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut out = String::new();
    for (n, pair) in tokens.chunks(2).enumerate() {
        if n > 0 {
            out.push(' ');
        }
        let before = out.len();
        out.extend(pair[0].as_ref().chars().filter(|&c| !needs_quotes(c)));
        if out.len() == before {
            return String::new();
        }
        out.push('=');
        let v = pair.get(1).map_or("", AsRef::as_ref);
        if v.chars().any(needs_quotes) {
            quote_into(&mut out, v);
        } else {
            out.push_str(v);
        }
    }
    out
}

/// go-logfmt: characters a key drops and that make a value quoted.
fn needs_quotes(c: char) -> bool {
    c <= ' ' || c == '=' || c == '"' || c == '\u{7f}' || c == '\u{fffd}'
}

/// go-logfmt's quoting (Go's JSON string escapes, `\u00xx` for other control bytes).
fn quote_into(out: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Collapses runs of `<_>` into one (Loki's `deduplicatePlaceholders`).
pub(crate) fn dedup_params(line: &str) -> String {
    let Some(first) = line.find("<_><_>") else {
        return line.to_string();
    };
    let b = line.as_bytes();
    let is_param = |i: usize| b.get(i..i + 3) == Some(PARAM.as_bytes());
    let mut out = String::with_capacity(line.len());
    let mut low = 0;
    let mut i = first;
    while i + 5 < b.len() {
        if is_param(i) {
            let mut high = i + 3;
            while high + 2 < b.len() && is_param(high) {
                high += 3;
            }
            out.push_str(&line[low..i + 3]);
            low = high;
            // Go's loop steps past `high`, which is never a placeholder.
            i = high;
        }
        i += 1;
    }
    out.push_str(&line[low..]);
    out
}

/// The raw text of the string value of top-level `key` in a JSON object, escapes kept, as
/// jsonparser's `Get` finds it (arrays and other objects' contents are skipped unread, the
/// rest of the line is not validated).
pub(crate) fn json_string_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let b = line.as_bytes();
    let mut level = 0i32;
    let mut key_level = 0i32;
    let mut last_matched = true;
    let mut i = 0usize;
    let value_at = loop {
        let c = *b.get(i)?;
        match c {
            b'"' => {
                i += 1;
                let key_begin = i;
                let (end, escaped) = string_end(&b[i..])?;
                i += end;
                let key_end = i - 1;
                i += next_token(&b[i..])?;
                if b[i] == b':' {
                    if level < 1 {
                        return None;
                    }
                    if level > 1 {
                        return None;
                    }
                    if key_equals(&line[key_begin..key_end], escaped, key)? {
                        last_matched = true;
                        if key_level == level - 1 {
                            key_level += 1;
                            if key_level == 1 {
                                break i + 1;
                            }
                        }
                    } else {
                        last_matched = false;
                    }
                } else {
                    i -= 1;
                }
            }
            b'{' => {
                if last_matched {
                    level += 1;
                } else {
                    i += block_end(&b[i..], b'{', b'}')? - 1;
                }
            }
            b'}' => {
                level -= 1;
                if level == key_level {
                    key_level -= 1;
                }
            }
            b'[' => i += block_end(&b[i..], b'[', b']')? - 1,
            b':' => return None,
            _ => {}
        }
        i += 1;
    };
    let start = value_at + next_token(b.get(value_at..)?)?;
    if b[start] != b'"' {
        return None;
    }
    let (end, _) = string_end(&b[start + 1..])?;
    Some(&line[start + 1..start + end])
}

/// A key compared as jsonparser does: unescaped when it holds escapes (an invalid escape
/// ends the search: `None`).
fn key_equals(raw: &str, escaped: bool, key: &str) -> Option<bool> {
    if !escaped {
        return Some(raw == key);
    }
    let unescaped: String = serde_json::from_str(&format!("\"{raw}\"")).ok()?;
    Some(unescaped == key)
}

/// The offset just past the closing quote of a string whose opening quote is before `d`, and
/// whether a backslash was met.
fn string_end(d: &[u8]) -> Option<(usize, bool)> {
    let mut escaped = false;
    for (i, &c) in d.iter().enumerate() {
        if c == b'"' {
            if !escaped {
                return Some((i + 1, false));
            }
            let backslashes = d[..i].iter().rev().take_while(|&&x| x == b'\\').count();
            if backslashes % 2 == 0 {
                return Some((i + 1, true));
            }
        } else if c == b'\\' {
            escaped = true;
        }
    }
    None
}

/// The offset of the first byte that is not JSON whitespace.
fn next_token(d: &[u8]) -> Option<usize> {
    d.iter()
        .position(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
}

/// The offset just past the block that opens at `d[0]`, strings skipped.
fn block_end(d: &[u8], open: u8, close: u8) -> Option<usize> {
    let mut level = 0;
    let mut i = 0;
    while i < d.len() {
        let c = d[i];
        if c == b'"' {
            i += string_end(&d[i + 1..])?.0;
        } else if c == open {
            level += 1;
        } else if c == close {
            level -= 1;
            if level == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}
