//! `| logfmt` (with `--strict` and `--keep-empty`) and `| logfmt a, b="c"`, over a decoder that
//! reads key/value pairs as go-logfmt does, with its error texts.

use std::borrow::Cow;
use std::collections::HashMap;

use super::hints::Hints;
use super::state::{Cat, DUP_SUFFIX, ERR_LOGFMT, ERROR_LABEL, LabelState};
use super::{StageOut, sanitize_key};

/// go-logfmt's decoder over one line.
pub(crate) struct Decoder<'a> {
    line: &'a [u8],
    pos: usize,
    key: Option<&'a [u8]>,
    value: Option<Cow<'a, [u8]>>,
    err: Option<String>,
}

fn has_rune_error(b: &[u8]) -> bool {
    memchr::memmem::find(b, "\u{fffd}".as_bytes()).is_some()
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Decoder<'a> {
        Decoder {
            line,
            pos: 0,
            key: None,
            value: None,
            err: None,
        }
    }

    pub(crate) fn eol(&self) -> bool {
        self.pos >= self.line.len()
    }

    pub(crate) fn key(&self) -> &'a [u8] {
        self.key.unwrap_or(b"")
    }

    pub(crate) fn value(&self) -> &[u8] {
        self.value.as_deref().unwrap_or(b"")
    }

    pub(crate) fn err(&self) -> Option<&str> {
        self.err.as_deref()
    }

    fn syntax_error(&mut self, msg: &str) {
        self.err = Some(format!(
            "logfmt syntax error at pos {} : {msg}",
            self.pos + 1
        ));
    }

    fn unexpected(&mut self, c: u8) {
        let q = if c == b'"' {
            "'\"'".to_owned()
        } else {
            format!("'{}'", c as char)
        };
        self.err = Some(format!(
            "logfmt syntax error at pos {} : unexpected {q}",
            self.pos + 1
        ));
    }

    /// Skips to the end of a malformed value.
    fn skip_value(&mut self) -> bool {
        match self.line[self.pos..].iter().position(|&c| c <= b' ') {
            Some(p) => self.pos += p,
            None => self.pos = self.line.len(),
        }
        false
    }

    /// Reads the next pair; false at the end of the line or on a malformed pair.
    pub(crate) fn scan(&mut self) -> bool {
        self.key = None;
        self.value = None;
        let line = self.line;
        match line[self.pos..].iter().position(|&c| c > b' ') {
            Some(p) => self.pos += p,
            None => {
                self.pos = line.len();
                return false;
            }
        }
        // The key.
        let start = self.pos;
        let mut multibyte = false;
        let mut i = self.pos;
        loop {
            if i >= line.len() {
                self.pos = line.len();
                if self.pos > start {
                    let k = &line[start..self.pos];
                    if multibyte && has_rune_error(k) {
                        self.syntax_error("invalid key");
                        return false;
                    }
                    self.key = Some(k);
                }
                return true;
            }
            let c = line[i];
            if c == b'=' {
                self.pos = i;
                if self.pos > start {
                    let k = &line[start..self.pos];
                    if multibyte && has_rune_error(k) {
                        self.syntax_error("invalid key");
                        return self.skip_value();
                    }
                    self.key = Some(k);
                }
                if self.key.is_none() {
                    self.unexpected(c);
                    return self.skip_value();
                }
                break;
            } else if c == b'"' {
                self.pos = i;
                self.unexpected(c);
                return self.skip_value();
            } else if c <= b' ' {
                self.pos = i;
                if self.pos > start {
                    let k = &line[start..self.pos];
                    if multibyte && has_rune_error(k) {
                        self.syntax_error("invalid key");
                        return false;
                    }
                    self.key = Some(k);
                }
                return true;
            } else if c >= 0x80 {
                multibyte = true;
            }
            i += 1;
        }
        // The equal sign.
        self.pos += 1;
        if self.pos >= line.len() {
            return true;
        }
        let c = line[self.pos];
        if c <= b' ' {
            return true;
        }
        if c == b'"' {
            return self.quoted_value();
        }
        let start = self.pos;
        for (p, &c) in line[self.pos..].iter().enumerate() {
            if c == b'=' || c == b'"' {
                self.pos += p;
                self.unexpected(c);
                return self.skip_value();
            }
            if c <= b' ' {
                self.pos += p;
                if self.pos > start {
                    self.value = Some(Cow::Borrowed(&line[start..self.pos]));
                }
                return true;
            }
        }
        self.pos = line.len();
        if self.pos > start {
            self.value = Some(Cow::Borrowed(&line[start..self.pos]));
        }
        true
    }

    fn quoted_value(&mut self) -> bool {
        let line = self.line;
        let start = self.pos;
        let mut has_esc = false;
        let mut esc = false;
        for (p, &c) in line[self.pos + 1..].iter().enumerate() {
            if esc {
                esc = false;
            } else if c == b'\\' {
                has_esc = true;
                esc = true;
            } else if c == b'"' {
                self.pos += p + 2;
                if has_esc {
                    match unquote(&line[start + 1..self.pos - 1]) {
                        Some(v) => self.value = Some(Cow::Owned(v)),
                        None => {
                            self.syntax_error("invalid quoted value");
                            return false;
                        }
                    }
                } else {
                    let s = start + 1;
                    let e = self.pos - 1;
                    if e > s {
                        self.value = Some(Cow::Borrowed(&line[s..e]));
                    }
                }
                return true;
            }
        }
        self.pos = line.len();
        self.syntax_error("unterminated quoted value");
        false
    }
}

fn u4(s: &[u8]) -> Option<u32> {
    if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
        return None;
    }
    let h = std::str::from_utf8(&s[2..6]).ok()?;
    u32::from_str_radix(h, 16).ok()
}

/// Go's `encoding/json` string unquoting (the body between the quotes).
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut r = 0;
    while r < s.len() {
        let c = s[r];
        if c == b'\\' {
            r += 1;
            let e = *s.get(r)?;
            match e {
                b'"' | b'\\' | b'/' | b'\'' => {
                    out.push(e);
                    r += 1;
                }
                b'b' => {
                    out.push(8);
                    r += 1;
                }
                b'f' => {
                    out.push(12);
                    r += 1;
                }
                b'n' => {
                    out.push(b'\n');
                    r += 1;
                }
                b'r' => {
                    out.push(b'\r');
                    r += 1;
                }
                b't' => {
                    out.push(b'\t');
                    r += 1;
                }
                b'u' => {
                    r -= 1;
                    let mut rr = u4(&s[r..])?;
                    r += 6;
                    if (0xd800..0xe000).contains(&rr) {
                        match u4(&s[r..]) {
                            Some(r2) if (0xdc00..0xe000).contains(&r2) && rr < 0xdc00 => {
                                rr = 0x10000 + ((rr - 0xd800) << 10) + (r2 - 0xdc00);
                                r += 6;
                            }
                            _ => rr = 0xfffd,
                        }
                    }
                    let ch = char::from_u32(rr).unwrap_or('\u{fffd}');
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                _ => return None,
            }
        } else if c == b'"' {
            return None;
        } else {
            out.push(c);
            r += 1;
        }
    }
    Some(out)
}

fn clean_value(v: &[u8]) -> Cow<'_, str> {
    let s = String::from_utf8_lossy(v);
    if s.contains('\u{fffd}') {
        Cow::Owned(s.replace('\u{fffd}', " "))
    } else {
        s
    }
}

/// Bound on the keys a parser remembers the sanitized form of.
const MAX_KEYS: usize = 1024;

fn sanitized<'k>(keys: &'k mut HashMap<Vec<u8>, String>, raw: &[u8]) -> Cow<'k, str> {
    if keys.contains_key(raw) {
        return Cow::Borrowed(keys.get(raw).map(String::as_str).unwrap_or(""));
    }
    let k = sanitize_key(&String::from_utf8_lossy(raw));
    if keys.len() < MAX_KEYS {
        keys.insert(raw.to_vec(), k.clone());
    }
    Cow::Owned(k)
}

/// `| logfmt [--strict] [--keep-empty]`.
#[derive(Debug, Default)]
pub(crate) struct LogfmtParser {
    pub(crate) strict: bool,
    pub(crate) keep_empty: bool,
    keys: HashMap<Vec<u8>, String>,
}

impl LogfmtParser {
    pub(crate) fn new(strict: bool, keep_empty: bool) -> LogfmtParser {
        LogfmtParser {
            strict,
            keep_empty,
            keys: HashMap::new(),
        }
    }

    pub(crate) fn process(&mut self, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
        if hints.no_labels(st) {
            return StageOut::Keep;
        }
        let mut dec = Decoder::new(line.as_bytes());
        while !dec.eol() {
            if !dec.scan() {
                if self.strict {
                    break;
                }
                continue;
            }
            let k = sanitized(&mut self.keys, dec.key());
            if k.is_empty() {
                continue;
            }
            let key: Cow<'_, str> = if st.base_has(&k) || st.has_in(&k, Cat::Meta) {
                Cow::Owned(format!("{k}{DUP_SUFFIX}"))
            } else {
                k
            };
            if !hints.should_extract(&key) || st.extracted(&key) {
                continue;
            }
            let v = clean_value(dec.value());
            if !self.keep_empty && v.is_empty() {
                continue;
            }
            st.set(Cat::Parsed, &key, &v);
            if !hints.should_continue(&key, st) {
                return StageOut::Drop;
            }
            if hints.all_required_extracted(st) {
                break;
            }
        }
        if self.strict
            && let Some(e) = dec.err()
        {
            st.add_error(ERR_LOGFMT, Some(e), hints);
            if !hints.should_continue(ERROR_LABEL, st) {
                return StageOut::Drop;
            }
        }
        StageOut::Keep
    }
}

/// `| logfmt a, b="c"`.
#[derive(Debug)]
pub(crate) struct LogfmtExprParser {
    /// (label, line key) pairs.
    keys: Vec<(String, String)>,
    strict: bool,
}

/// Parses a `| logfmt` expression: a key, or quoted strings.
fn parse_expr(expr: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut had_key = false;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\n' {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            if !out.is_empty() {
                return Err("syntax error: unexpected KEY".into());
            }
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[s..i].iter().collect());
            had_key = true;
            continue;
        }
        if c == '"' {
            if had_key {
                return Err("syntax error: unexpected STRING".into());
            }
            i += 1;
            let s = i;
            while i < chars.len() && chars[i] != '"' && chars[i] != ']' {
                i += 1;
            }
            out.push(chars[s..i].iter().collect());
            i += 1;
            continue;
        }
        return Err(format!("unexpected char {c}"));
    }
    if out.is_empty() {
        return Err("syntax error: unexpected $end".into());
    }
    Ok(out)
}

impl LogfmtExprParser {
    pub(crate) fn new(
        exprs: &[crate::syntax::Extraction],
        strict: bool,
    ) -> Result<LogfmtExprParser, String> {
        let mut keys: Vec<(String, String)> = Vec::new();
        for e in exprs {
            let path = parse_expr(&e.expr)
                .map_err(|err| format!("cannot parse expression [{}]: {err}", e.expr))?;
            // Go's `fmt.Sprintf("%v", path...)`: the first part, the rest as extra arguments.
            let mut orig = path[0].clone();
            if path.len() > 1 {
                let extra: Vec<String> = path[1..].iter().map(|p| format!("string={p}")).collect();
                orig.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
            }
            match keys.iter_mut().find(|(id, _)| *id == e.name) {
                Some(slot) => slot.1 = orig,
                None => keys.push((e.name.clone(), orig)),
            }
        }
        Ok(LogfmtExprParser { keys, strict })
    }

    pub(crate) fn process(&self, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
        if hints.no_labels(st) {
            return StageOut::Keep;
        }
        for (id, _) in &self.keys {
            if !st.base_has(id) && !st.has_in(id, Cat::Meta) {
                st.set(Cat::Parsed, id, "");
            }
        }
        let is_id = |k: &str| self.keys.iter().any(|(id, _)| id == k);
        let mut dec = Decoder::new(line.as_bytes());
        while !dec.eol() {
            if !dec.scan() {
                if self.strict {
                    break;
                }
                continue;
            }
            let k = sanitize_key(&String::from_utf8_lossy(dec.key()));
            if k.is_empty() || (!is_id(&k) && !hints.should_extract(&k)) {
                continue;
            }
            if !is_id(&k) && st.extracted(&k) {
                continue;
            }
            let raw = dec.value();
            let val: &[u8] = if has_rune_error(raw) { b"" } else { raw };
            let mut key = k;
            if let Some((id, _)) = self.keys.iter().find(|(_, orig)| *orig == key) {
                key = id.clone();
            }
            if is_id(&key) {
                if st.base_has(&key) || st.has_in(&key, Cat::Meta) {
                    key.push_str(DUP_SUFFIX);
                    if st.extracted(&key) || !hints.should_extract(&key) {
                        break;
                    }
                }
                st.set(Cat::Parsed, &key, &String::from_utf8_lossy(val));
                if hints.all_required_extracted(st) {
                    break;
                }
            }
        }
        if self.strict
            && let Some(e) = dec.err()
        {
            st.add_error(ERR_LOGFMT, Some(e), hints);
        }
        StageOut::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(line: &str) -> (Vec<(String, String)>, Option<String>) {
        let mut d = Decoder::new(line.as_bytes());
        let mut out = Vec::new();
        while !d.eol() {
            if d.scan() {
                out.push((
                    String::from_utf8_lossy(d.key()).into_owned(),
                    String::from_utf8_lossy(d.value()).into_owned(),
                ));
            }
        }
        (out, d.err().map(str::to_owned))
    }

    #[test]
    fn decodes_like_go_logfmt() {
        let (p, e) = pairs(r#"a=1 b="x y" c= d e="q\"t""#);
        assert_eq!(
            p,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "".into()),
                ("d".into(), "".into()),
                ("e".into(), "q\"t".into()),
            ]
        );
        assert!(e.is_none());
        let (p, e) = pairs(r#"good=1 bad="unterminated"#);
        assert_eq!(p, vec![("good".into(), "1".into())]);
        assert_eq!(
            e.as_deref(),
            Some("logfmt syntax error at pos 25 : unterminated quoted value")
        );
        let (_, e) = pairs("=x");
        assert_eq!(
            e.as_deref(),
            Some("logfmt syntax error at pos 1 : unexpected '='")
        );
    }

    #[test]
    fn expressions() {
        assert_eq!(parse_expr("status").unwrap(), vec!["status"]);
        assert_eq!(parse_expr(r#""a.b""#).unwrap(), vec!["a.b"]);
        assert!(parse_expr("").is_err());
    }
}
