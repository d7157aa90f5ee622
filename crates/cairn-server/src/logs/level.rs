//! `detected_level`: the level of an entry, found at ingestion the way Loki finds it, so that
//! Grafana's log volume colours and Logs Drilldown's level filter work on any stream.
//!
//! In order: a `detected_level` already in the structured metadata (normalised); a level
//! label of the stream; a level field of the structured metadata; the OTLP severity number;
//! a level field of a JSON line (strings only, two levels deep) or of a logfmt line; the
//! first level keyword standing as a word in the line; `unknown`.

use std::borrow::Cow;

/// The structured metadata name Loki and Grafana use.
pub(crate) const DETECTED_LEVEL: &str = "detected_level";
/// Structured metadata name of the OTLP severity number.
const OTLP_SEVERITY_NUMBER: &str = "severity_number";
/// How deep into a JSON line a level field is looked for.
const JSON_MAX_DEPTH: usize = 2;

const UNKNOWN: &str = "unknown";

/// Keywords looked for in free text, in Loki's order of preference at equal positions.
const KEYWORDS: [(&str, &str); 9] = [
    ("trace", "trace"),
    ("debug", "debug"),
    ("fatal", "fatal"),
    ("critical", "critical"),
    ("error", "error"),
    ("err", "error"),
    ("warning", "warn"),
    ("warn", "warn"),
    ("info", "info"),
];

/// The standard name of a level value, or `None` when it is none of the known ones.
fn standard(value: &str) -> Option<&'static str> {
    let eq = |w: &str| value.eq_ignore_ascii_case(w);
    Some(if eq("trace") || eq("trc") {
        "trace"
    } else if eq("debug") || eq("dbg") {
        "debug"
    } else if eq("info") || eq("inf") || eq("information") {
        "info"
    } else if eq("warn") || eq("wrn") || eq("warning") {
        "warn"
    } else if eq("error") || eq("err") {
        "error"
    } else if eq("critical") {
        "critical"
    } else if eq("fatal") {
        "fatal"
    } else {
        return None;
    })
}

/// A level value as Loki normalises it: the standard name, or the value itself.
pub(crate) fn normalize(value: &str) -> String {
    standard(value).map_or_else(|| value.to_string(), str::to_string)
}

/// The level of an entry that has no `detected_level` yet (see the module docs).
pub(crate) fn detect(
    fields: &[String],
    stream_level: Option<&str>,
    metadata: &[(String, String)],
    line: &str,
) -> String {
    if let Some(v) = stream_level {
        return normalize(v);
    }
    for f in fields {
        if let Some((_, v)) = metadata.iter().find(|(n, _)| n == f) {
            return normalize(v);
        }
    }
    if let Some((_, n)) = metadata.iter().find(|(n, _)| n == OTLP_SEVERITY_NUMBER) {
        return from_severity_number(n).to_string();
    }
    from_line(fields, line)
}

/// OTLP's severity number ranges (logs data model): 1-4 trace ... 21-24 fatal.
fn from_severity_number(n: &str) -> &'static str {
    match n.trim().parse::<i64>() {
        Err(_) => "info",
        Ok(0) => UNKNOWN,
        Ok(n) if n <= 4 => "trace",
        Ok(n) if n <= 8 => "debug",
        Ok(n) if n <= 12 => "info",
        Ok(n) if n <= 16 => "warn",
        Ok(n) if n <= 20 => "error",
        Ok(n) if n <= 24 => "fatal",
        Ok(_) => UNKNOWN,
    }
}

fn from_line(fields: &[String], line: &str) -> String {
    let value = if is_json(line) {
        json_level(line.as_bytes(), fields)
    } else if line.contains('=') {
        logfmt_value(line, fields)
    } else {
        return keyword(line).to_string();
    };
    match value.as_deref().and_then(standard) {
        Some(l) => l.to_string(),
        None => keyword(line).to_string(),
    }
}

fn is_json(line: &str) -> bool {
    // Byte-wise: `str::trim` walks chars through the Unicode whitespace table.
    let b = line.trim_ascii().as_bytes();
    b.first() == Some(&b'{') && b.last() == Some(&b'}')
}

/// The first level keyword of `line` standing as a word (Loki's boundaries: a keyword may be
/// followed by `:` as in `error: ...`, but not preceded by it as in `misc:error`).
///
/// One pass over the bytes, ignoring ASCII case: at a given start at most one keyword can
/// stand as a word (the shorter of `err`/`error` or `warn`/`warning` is followed by a
/// letter), so the first start where one does is the answer, as the earliest of each
/// keyword's first bounded occurrence would be.
fn keyword(line: &str) -> &'static str {
    let b = line.as_bytes();
    let mut left_ok = true;
    for (i, &c) in b.iter().enumerate() {
        if left_ok
            && matches!(c | 0x20, b't' | b'd' | b'f' | b'c' | b'e' | b'w' | b'i')
            && let Some(level) = keyword_at(b, i)
        {
            return level;
        }
        left_ok = matches!(
            c,
            b' ' | b'\t' | b'\n' | b'[' | b'(' | b'{' | b'"' | b'\'' | b'=' | b'|'
        );
    }
    UNKNOWN
}

/// The keyword starting at `i` and followed by a word boundary, if any.
fn keyword_at(b: &[u8], i: usize) -> Option<&'static str> {
    let right_ok = |j: usize| {
        j >= b.len()
            || matches!(
                b[j],
                b' ' | b'\t'
                    | b'\n'
                    | b'['
                    | b']'
                    | b'('
                    | b')'
                    | b'{'
                    | b'}'
                    | b':'
                    | b','
                    | b'!'
                    | b'"'
                    | b'\''
                    | b'='
                    | b'|'
            )
    };
    let rest = &b[i..];
    KEYWORDS.iter().find_map(|(word, level)| {
        let w = word.as_bytes();
        (rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w) && right_ok(i + w.len()))
            .then_some(*level)
    })
}

/// The value of the first logfmt key equal (ignoring case) to one of `fields`, preferring
/// earlier fields; the whole line is read, as Loki does.
fn logfmt_value<'a>(line: &'a str, fields: &[String]) -> Option<Cow<'a, str>> {
    let mut best: Option<(usize, Cow<'a, str>)> = None;
    for (k, v) in LogfmtPairs::new(line) {
        if let Some(rank) = fields.iter().position(|f| f.eq_ignore_ascii_case(k))
            && best.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            best = Some((rank, v));
            if rank == 0 {
                break;
            }
        }
    }
    best.map(|(_, v)| v)
}

/// A forgiving logfmt tokenizer: `key=value`, `key="quoted \" value"`, bare keys. Values
/// are borrowed from the line unless a quoted one has escapes.
struct LogfmtPairs<'a> {
    rest: &'a str,
}

impl<'a> LogfmtPairs<'a> {
    fn new(line: &'a str) -> Self {
        LogfmtPairs { rest: line }
    }
}

impl<'a> Iterator for LogfmtPairs<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.is_empty() {
                return None;
            }
            let end = self
                .rest
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(self.rest.len());
            let key = &self.rest[..end];
            self.rest = &self.rest[end..];
            if !self.rest.starts_with('=') {
                if key.is_empty() {
                    // A stray character: skip it.
                    let n = self.rest.chars().next().map_or(1, char::len_utf8);
                    self.rest = &self.rest[n..];
                    continue;
                }
                return Some((key, Cow::Borrowed("")));
            }
            self.rest = &self.rest[1..];
            let value = if let Some(q) = self.rest.strip_prefix('"') {
                // Up to the closing quote when no backslash comes first: borrowed.
                if let Some(end) = q.find(['"', '\\'])
                    && q.as_bytes()[end] == b'"'
                {
                    self.rest = &q[end + 1..];
                    if key.is_empty() {
                        continue;
                    }
                    return Some((key, Cow::Borrowed(&q[..end])));
                }
                let mut out = String::new();
                let mut chars = q.char_indices();
                let mut consumed = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                out.push(match n {
                                    'n' => '\n',
                                    't' => '\t',
                                    other => other,
                                });
                            }
                        }
                        '"' => {
                            consumed = i + 1;
                            break;
                        }
                        c => out.push(c),
                    }
                }
                self.rest = &q[consumed.min(q.len())..];
                Cow::Owned(out)
            } else {
                let end = self
                    .rest
                    .find(char::is_whitespace)
                    .unwrap_or(self.rest.len());
                let v = Cow::Borrowed(&self.rest[..end]);
                self.rest = &self.rest[end..];
                v
            };
            if key.is_empty() {
                continue;
            }
            return Some((key, value));
        }
    }
}

/// The string value of the first key of `fields` met in a JSON object, two levels deep.
fn json_level<'a>(line: &'a [u8], fields: &[String]) -> Option<Cow<'a, str>> {
    let mut p = JsonScan { b: line, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return None;
    }
    p.object(0, fields).ok().flatten()
}

/// Just enough of a JSON reader to walk objects, skipping every value it does not need.
struct JsonScan<'a> {
    b: &'a [u8],
    i: usize,
}

type Scan<T> = Result<T, ()>;

impl<'a> JsonScan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Scan<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    /// Reads an object at the cursor; returns a level found in it (or below, to the depth).
    fn object(&mut self, depth: usize, fields: &[String]) -> Scan<Option<Cow<'a, str>>> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(None);
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.expect(b':')?;
            self.ws();
            match self.peek() {
                Some(b'"') => {
                    let v = self.string()?;
                    if fields.iter().any(|f| *f == *key) {
                        return Ok(Some(v));
                    }
                }
                Some(b'{') if depth + 1 < JSON_MAX_DEPTH => {
                    if let Some(v) = self.object(depth + 1, fields)? {
                        return Ok(Some(v));
                    }
                }
                _ => self.skip_value(0)?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(None);
                }
                _ => return Err(()),
            }
        }
    }

    /// A string at the cursor, borrowed from the line unless it has escapes.
    fn string(&mut self) -> Scan<Cow<'a, str>> {
        self.expect(b'"')?;
        let b: &'a [u8] = self.b;
        let start = self.i;
        if let Some(n) = memchr::memchr2(b'"', b'\\', &b[start..])
            && b[start + n] == b'"'
        {
            self.i = start + n + 1;
            return std::str::from_utf8(&b[start..start + n])
                .map(Cow::Borrowed)
                .map_err(|_| ());
        }
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map(Cow::Owned).map_err(|_| ()),
                b'\\' => {
                    let e = self.peek().ok_or(())?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4).ok_or(())?;
                            self.i += 4;
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or(())?;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        Err(())
    }

    fn skip_value(&mut self, nesting: usize) -> Scan<()> {
        if nesting > 64 {
            return Err(());
        }
        self.ws();
        match self.peek().ok_or(())? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let close = if self.peek() == Some(b'{') {
                    b'}'
                } else {
                    b']'
                };
                self.i += 1;
                loop {
                    self.ws();
                    if self.peek() == Some(close) {
                        self.i += 1;
                        return Ok(());
                    }
                    if close == b'}' {
                        self.string()?;
                        self.expect(b':')?;
                    }
                    self.skip_value(nesting + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {}
                        _ => return Err(()),
                    }
                }
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        crate::config::LogLimits::default().log_level_fields
    }

    fn level(line: &str) -> String {
        detect(&fields(), None, &[], line)
    }

    #[test]
    fn json_lines() {
        assert_eq!(level(r#"{"level":"ERROR","msg":"x"}"#), "error");
        assert_eq!(level(r#"{"msg":"x","log":{"severity":"wrn"}}"#), "warn");
        // Numbers are not levels; the keyword search still finds the word "info".
        assert_eq!(level(r#"{"level":3,"msg":"info here"}"#), "info");
        // Three levels deep is past the search depth: the word search decides.
        assert_eq!(level(r#"{"a":{"b":{"level":"debug"}}}"#), "debug");
        assert_eq!(level(r#"{"a":{"b":{"level":"x"}}}"#), "unknown");
        assert_eq!(level(r#"{"msg":"a \"quoted\" fatal"}"#), "fatal");
    }

    #[test]
    fn logfmt_lines_prefer_earlier_fields() {
        assert_eq!(level("lvl=debug level=error msg=x"), "error");
        assert_eq!(level(r#"msg="a b" Level="warning""#), "warn");
        assert_eq!(level("ts=1 msg=hello"), "unknown");
    }

    #[test]
    fn free_text_keywords_need_word_boundaries() {
        assert_eq!(level("2024-01-01 [ERROR] disk full"), "error");
        assert_eq!(level("warn: the first word wins over error"), "warn");
        assert_eq!(level("misc:error is not a level"), "unknown");
        assert_eq!(level("terror everywhere"), "unknown");
        assert_eq!(level("GET /index.html 200"), "unknown");
        assert_eq!(level("err something went wrong"), "error");
    }

    /// The keyword search as a separate search per keyword, lowercasing the line first.
    fn keyword_by_search(line: &str) -> &'static str {
        let lower = line.to_ascii_lowercase();
        let b = lower.as_bytes();
        let left = b" \t\n[({\"'=|";
        let right = b" \t\n[]{}():,!\"'=|";
        let mut best = (usize::MAX, UNKNOWN);
        for (word, level) in KEYWORDS {
            let w = word.as_bytes();
            let found = (0..b.len().saturating_sub(w.len() - 1)).find(|&i| {
                &b[i..i + w.len()] == w
                    && (i == 0 || left.contains(&b[i - 1]))
                    && (i + w.len() == b.len() || right.contains(&b[i + w.len()]))
            });
            if let Some(p) = found
                && p < best.0
            {
                best = (p, level);
            }
        }
        best.1
    }

    #[test]
    fn one_pass_keyword_search_agrees_with_a_search_per_keyword() {
        let pieces = [
            "err", "error", "ERROR", "Warn", "warning", "info", "debug", "trace", "fatal",
            "critical", "x", "é", " ", ":", "[", "]", "=", "\"", "misc:", "t", "in", "|", "(",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                line.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            assert_eq!(keyword(&line), keyword_by_search(&line), "{line:?}");
        }
        assert_eq!(keyword("xERROR: y"), "unknown");
        assert_eq!(keyword("[Error]: y"), "error");
        assert_eq!(keyword("é warn"), "warn");
    }

    #[test]
    fn quoted_logfmt_values_with_and_without_escapes() {
        assert_eq!(level(r#"msg="a \"b\"" level="warn""#), "warn");
        assert_eq!(level(r#"level="er\ror" msg=x"#), "error");
        assert_eq!(level(r#"msg="unterminated level=error"#), "error");
        let pairs: Vec<_> = LogfmtPairs::new(r#"a="x y" b="p\"q" c=z"#).collect();
        assert_eq!(
            pairs,
            vec![
                ("a", Cow::Borrowed("x y")),
                ("b", Cow::Owned("p\"q".to_string())),
                ("c", Cow::Borrowed("z")),
            ]
        );
        // Only the escaped value is copied.
        assert!(matches!(pairs[0].1, Cow::Borrowed(_)) && matches!(pairs[1].1, Cow::Owned(_)));
        assert_eq!(level(r#"{"msg":"a\"b","level":"debug"}"#), "debug");
    }

    #[test]
    fn labels_metadata_and_severity_numbers() {
        let f = fields();
        assert_eq!(detect(&f, Some("WARNING"), &[], "x"), "warn");
        assert_eq!(detect(&f, Some("notice"), &[], "x"), "notice");
        let md = vec![("severity".to_string(), "Err".to_string())];
        assert_eq!(detect(&f, None, &md, "info"), "error");
        let md = vec![("severity_number".to_string(), "17".to_string())];
        assert_eq!(detect(&f, None, &md, "info"), "error");
        let md = vec![("severity_number".to_string(), "0".to_string())];
        assert_eq!(detect(&f, None, &md, "info"), "unknown");
        assert_eq!(normalize("DBG"), "debug");
    }
}
