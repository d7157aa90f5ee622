//! `| json`, `| json a="b.c[0]"` and `| unpack`. The scanner reads JSON the way Loki's does: a
//! forgiving single pass that hands out the members of an object as it meets them (labels set
//! before a syntax error stay set), skips arrays and nulls, and reports errors with the same
//! texts (`__error_details__`).

use std::borrow::Cow;
use std::collections::HashMap;

use super::hints::Hints;
use super::state::{Cat, DUP_SUFFIX, ERR_JSON, LabelState};
use super::{StageOut, sanitize_key};

/// A scanning error, with the text Loki reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonErr {
    MalformedJson,
    MalformedString,
    MalformedArray,
    MalformedObject,
    UnknownValueType,
    MalformedStringEscape,
}

impl JsonErr {
    pub(crate) fn message(self) -> &'static str {
        match self {
            JsonErr::MalformedJson => "Malformed JSON error",
            JsonErr::MalformedString => "Value is string, but can't find closing '\"' symbol",
            JsonErr::MalformedArray => "Value is array, but can't find closing ']' symbol",
            JsonErr::MalformedObject => {
                "Value looks like object, but can't find closing '}' symbol"
            }
            JsonErr::UnknownValueType => "Unknown value type",
            JsonErr::MalformedStringEscape => "Encountered an invalid escape sequence in a string",
        }
    }
}

/// The type of a JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Number,
    Object,
    Array,
    Boolean,
    Null,
}

/// Why a member callback stopped the scan.
pub(crate) enum Stop {
    Err(JsonErr),
    /// Every wanted label was found.
    Done,
    /// A label filter rejected the line.
    Drop,
}

impl From<JsonErr> for Stop {
    fn from(e: JsonErr) -> Stop {
        Stop::Err(e)
    }
}

fn next_token(d: &[u8]) -> Option<usize> {
    d.iter()
        .position(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
}

/// Index after the closing quote of a string whose opening quote precedes `d`, and whether
/// it holds escapes.
fn string_end(d: &[u8]) -> Option<(usize, bool)> {
    let mut escaped = false;
    for (i, &c) in d.iter().enumerate() {
        if c == b'"' {
            if !escaped {
                return Some((i + 1, false));
            }
            // Count the backslashes before the quote: an even number means it closes.
            let mut j = i;
            let mut n = 0;
            while j > 0 && d[j - 1] == b'\\' {
                n += 1;
                j -= 1;
            }
            if n % 2 == 0 {
                return Some((i + 1, true));
            }
        } else if c == b'\\' {
            escaped = true;
        }
    }
    None
}

fn block_end(d: &[u8], open: u8, close: u8) -> Option<usize> {
    let mut level = 0i32;
    let mut i = 0;
    while i < d.len() {
        match d[i] {
            b'"' => {
                let (se, _) = string_end(&d[i + 1..])?;
                i += se;
            }
            c if c == open => level += 1,
            c if c == close => {
                level -= 1;
                if level == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn token_end(d: &[u8]) -> usize {
    d.iter()
        .position(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']'))
        .unwrap_or(d.len())
}

/// The value starting at the first token of `d`: its bytes (strings without quotes), type,
/// and the offset just past it.
pub(crate) fn get_value(d: &[u8]) -> Result<(&[u8], Ty, usize), JsonErr> {
    let off = next_token(d).ok_or(JsonErr::MalformedJson)?;
    let rest = &d[off..];
    match rest[0] {
        b'"' => {
            let (end, _) = string_end(&rest[1..]).ok_or(JsonErr::MalformedString)?;
            Ok((&rest[1..end], Ty::String, off + end + 1))
        }
        b'[' => {
            let end = block_end(rest, b'[', b']').ok_or(JsonErr::MalformedArray)?;
            Ok((&rest[..end], Ty::Array, off + end))
        }
        b'{' => {
            let end = block_end(rest, b'{', b'}').ok_or(JsonErr::MalformedObject)?;
            Ok((&rest[..end], Ty::Object, off + end))
        }
        c => {
            let end = token_end(rest);
            let v = &rest[..end];
            let ty = match c {
                b't' | b'f' if v == b"true" || v == b"false" => Ty::Boolean,
                b'u' | b'n' if v == b"null" => Ty::Null,
                b'0'..=b'9' | b'-' => Ty::Number,
                _ => return Err(JsonErr::UnknownValueType),
            };
            Ok((v, ty, off + end))
        }
    }
}

/// A callback receiving an object's members: key, value, type.
type MemberFn<'a> = dyn FnMut(&[u8], &[u8], Ty) -> Result<(), Stop> + 'a;

/// Calls `f` on every member of the object `d`, in order.
pub(crate) fn object_each(d: &[u8], f: &mut MemberFn<'_>) -> Result<(), Stop> {
    let mut off = next_token(d).ok_or(JsonErr::MalformedObject)?;
    if d[off] != b'{' {
        return Err(JsonErr::MalformedObject.into());
    }
    off += 1;
    off += next_token(&d[off..]).ok_or(JsonErr::MalformedJson)?;
    if d[off] == b'}' {
        return Ok(());
    }
    let mut keybuf = Vec::new();
    while off < d.len() {
        match d[off] {
            b'"' => off += 1,
            b'}' => return Ok(()),
            _ => return Err(JsonErr::MalformedObject.into()),
        }
        let (end, escaped) = string_end(&d[off..]).ok_or(JsonErr::MalformedJson)?;
        let raw = &d[off..off + end - 1];
        off += end;
        let key: &[u8] = if escaped {
            keybuf.clear();
            unescape_into(raw, &mut keybuf).map_err(|_| JsonErr::MalformedStringEscape)?;
            &keybuf
        } else {
            raw
        };
        let t = next_token(&d[off..]).ok_or(JsonErr::MalformedJson)?;
        off += t;
        if d[off] != b':' {
            return Err(JsonErr::MalformedJson.into());
        }
        off += 1;
        let (value, ty, used) = get_value(&d[off..])?;
        f(key, value, ty)?;
        off += used;
        let t = next_token(&d[off..]).ok_or(JsonErr::MalformedArray)?;
        off += t;
        match d[off] {
            b'}' => return Ok(()),
            b',' => off += 1,
            _ => return Err(JsonErr::MalformedObject.into()),
        }
        let t = next_token(&d[off..]).ok_or(JsonErr::MalformedArray)?;
        off += t;
    }
    Err(JsonErr::MalformedObject.into())
}

fn hex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

fn u4(d: &[u8]) -> Option<u32> {
    if d.len() < 6 || d[0] != b'\\' || d[1] != b'u' {
        return None;
    }
    Some(hex(d[2])? << 12 | hex(d[3])? << 8 | hex(d[4])? << 4 | hex(d[5])?)
}

/// Decodes the escapes of a JSON string body into `out` (appending).
pub(crate) fn unescape_into(d: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    let mut i = 0;
    while i < d.len() {
        let Some(p) = memchr::memchr(b'\\', &d[i..]) else {
            out.extend_from_slice(&d[i..]);
            break;
        };
        out.extend_from_slice(&d[i..i + p]);
        i += p;
        let e = *d.get(i + 1).ok_or(())?;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        if e != b'u' {
            return Err(());
        }
        let r = u4(&d[i..]).ok_or(())?;
        let (c, used) = if r <= 0xffff && !(0xd800..=0xdfff).contains(&r) {
            (r, 6)
        } else {
            let r2 = u4(&d[i + 6..]).ok_or(())?;
            if r2 < 0xdc00 {
                return Err(());
            }
            (
                0x10000 + ((r.wrapping_sub(0xd800)) << 10) + r2.wrapping_sub(0xdc00),
                12,
            )
        };
        let ch = char::from_u32(c).unwrap_or('\u{fffd}');
        let mut tmp = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
        i += used;
    }
    Ok(())
}

/// Loki's `unescapeJSONString`: the decoded string, `""` when malformed, U+FFFD turned into a
/// space.
pub(crate) fn unescape_string(d: &[u8]) -> String {
    let s: Cow<'_, [u8]> = if memchr::memchr(b'\\', d).is_none() {
        Cow::Borrowed(d)
    } else {
        let mut out = Vec::with_capacity(d.len());
        if unescape_into(d, &mut out).is_err() {
            return String::new();
        }
        Cow::Owned(out)
    };
    let s = String::from_utf8_lossy(&s);
    if s.contains('\u{fffd}') {
        s.replace('\u{fffd}', " ")
    } else {
        s.into_owned()
    }
}

fn read_value(v: &[u8], ty: Ty) -> String {
    match ty {
        Ty::String => unescape_string(v),
        Ty::Number => String::from_utf8_lossy(v).into_owned(),
        Ty::Boolean => {
            if v == b"true" {
                "true".into()
            } else {
                "false".into()
            }
        }
        _ => String::new(),
    }
}

/// Bound on the keys a parser remembers the sanitized form of (Loki's interning limit).
const MAX_KEYS: usize = 1024;

/// `| json`: every scalar member, nested objects flattened with `_`.
#[derive(Debug, Default)]
pub(crate) struct JsonParser {
    keys: HashMap<Vec<u8>, String>,
}

struct JsonRun<'a> {
    st: &'a mut LabelState,
    hints: &'a Hints,
    prefix: Vec<Vec<u8>>,
    keys: &'a mut HashMap<Vec<u8>, String>,
}

impl JsonRun<'_> {
    fn member(&mut self, key: &[u8], value: &[u8], ty: Ty) -> Result<(), Stop> {
        match ty {
            Ty::String | Ty::Number | Ty::Boolean => self.label(key, value, ty)?,
            Ty::Object => {
                let n = self.prefix.len();
                self.prefix.push(key.to_vec());
                let res = if self.hints.should_extract_prefix(&self.sanitized_prefix()) {
                    object_each(value, &mut |k, v, t| self.member(k, v, t))
                } else {
                    Ok(())
                };
                self.prefix.truncate(n);
                return res;
            }
            _ => {}
        }
        if self.hints.all_required_extracted(self.st) {
            return Err(Stop::Done);
        }
        Ok(())
    }

    fn sanitized_prefix(&self) -> String {
        let mut out = String::new();
        for (i, part) in self.prefix.iter().enumerate() {
            let p = String::from_utf8_lossy(part);
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            if i > 0 && !out.is_empty() {
                out.push('_');
            }
            if out.is_empty() && p.starts_with(|c: char| c.is_ascii_digit()) {
                out.push('_');
            }
            for c in p.chars() {
                out.push(if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                });
            }
        }
        out
    }

    fn label(&mut self, key: &[u8], value: &[u8], ty: Ty) -> Result<(), Stop> {
        let name: Cow<'_, str> = if self.prefix.is_empty() {
            if !self.keys.contains_key(key) {
                let k = sanitize_key(&String::from_utf8_lossy(key));
                if self.keys.len() >= MAX_KEYS {
                    self.keys.clear();
                }
                self.keys.insert(key.to_vec(), k);
            }
            let k: &str = self.keys.get(key).map(String::as_str).unwrap_or("");
            if k.is_empty() {
                return Ok(());
            }
            if self.st.base_has(k) || self.st.has_in(k, Cat::Meta) {
                Cow::Owned(format!("{k}{DUP_SUFFIX}"))
            } else {
                Cow::Borrowed(k)
            }
        } else {
            self.prefix.push(key.to_vec());
            let mut k = self.sanitized_prefix();
            if self.st.base_has(&k) || self.st.has_in(&k, Cat::Meta) {
                if let Some(last) = self.prefix.last_mut() {
                    last.extend_from_slice(DUP_SUFFIX.as_bytes());
                }
                k = self.sanitized_prefix();
            }
            self.prefix.pop();
            Cow::Owned(k)
        };
        if !self.hints.should_extract(&name) || self.st.extracted(&name) {
            return Ok(());
        }
        match ty {
            Ty::String
                if memchr::memchr(b'\\', value).is_none()
                    && std::str::from_utf8(value).is_ok_and(|v| !v.contains('\u{fffd}')) =>
            {
                let v = std::str::from_utf8(value).unwrap_or("");
                self.st.set(Cat::Parsed, &name, v);
            }
            Ty::Number => {
                let v = std::str::from_utf8(value).unwrap_or("");
                self.st.set(Cat::Parsed, &name, v);
            }
            _ => self.st.set(Cat::Parsed, &name, &read_value(value, ty)),
        }
        if !self.hints.should_continue(&name, self.st) {
            return Err(Stop::Drop);
        }
        Ok(())
    }
}

impl JsonParser {
    pub(crate) fn process(&mut self, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
        if hints.no_labels(st) {
            return StageOut::Keep;
        }
        let mut run = JsonRun {
            st,
            hints,
            prefix: Vec::new(),
            keys: &mut self.keys,
        };
        match object_each(line.as_bytes(), &mut |k, v, t| run.member(k, v, t)) {
            Ok(()) | Err(Stop::Done) => StageOut::Keep,
            Err(Stop::Drop) => StageOut::Drop,
            Err(Stop::Err(e)) => {
                run.st.add_error(ERR_JSON, Some(e.message()), hints);
                StageOut::Keep
            }
        }
    }
}

/// One step of a `| json` expression path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathPart {
    Key(String),
    Index(usize),
}

/// Parses a `| json` expression (`a.b[0]`, `["a.b"]`), with Loki's error texts.
pub(crate) fn parse_path(expr: &str) -> Result<Vec<PathPart>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ident = |c: char| ident_start(c) || c.is_ascii_digit();
    let syntax = || "syntax error: unexpected $end".to_string();
    let mut expect_field = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\n' {
            i += 1;
            continue;
        }
        if ident_start(c) && (expect_field || out.is_empty()) {
            let s = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            out.push(PathPart::Key(chars[s..i].iter().collect()));
            expect_field = false;
            continue;
        }
        if c == '.' && !out.is_empty() && !expect_field {
            expect_field = true;
            i += 1;
            continue;
        }
        if c == '[' && (!expect_field || out.is_empty()) {
            i += 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            if i >= chars.len() {
                return Err(syntax());
            }
            if chars[i] == '"' {
                i += 1;
                let s = i;
                while i < chars.len() && chars[i] != '"' && chars[i] != ']' {
                    i += 1;
                }
                out.push(PathPart::Key(chars[s..i].iter().collect()));
                if i < chars.len() && chars[i] == '"' {
                    i += 1;
                }
            } else if chars[i].is_ascii_digit() {
                let s = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                if i < chars.len() && chars[i] == '.' {
                    return Err("cannot use float as array index".into());
                }
                let n: usize = chars[s..i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                out.push(PathPart::Index(n));
            } else {
                return Err(format!("syntax error: unexpected {}", chars[i]));
            }
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            if i >= chars.len() || chars[i] != ']' {
                return Err(syntax());
            }
            i += 1;
            expect_field = false;
            continue;
        }
        return Err(format!("unexpected char {c}"));
    }
    if out.is_empty() || expect_field {
        return Err(syntax());
    }
    Ok(out)
}

/// Finds the value at `path` in `d`.
fn lookup<'a>(d: &'a [u8], path: &[PathPart]) -> Result<Option<(&'a [u8], Ty)>, JsonErr> {
    let Some((first, rest)) = path.split_first() else {
        let (v, ty, _) = get_value(d)?;
        return Ok(Some((v, ty)));
    };
    let (v, ty, _) = match get_value(d) {
        Ok(x) => x,
        Err(_) => return Ok(None),
    };
    match (first, ty) {
        (PathPart::Key(k), Ty::Object) => {
            let mut found: Option<&'a [u8]> = None;
            let mut kb = Vec::new();
            let mut off = 1;
            // Walk the members without a callback borrowing `found` mutably twice.
            loop {
                let Some(t) = next_token(&v[off..]) else {
                    return Ok(None);
                };
                off += t;
                if v[off] != b'"' {
                    break;
                }
                off += 1;
                let Some((end, esc)) = string_end(&v[off..]) else {
                    return Ok(None);
                };
                let raw = &v[off..off + end - 1];
                off += end;
                let key: &[u8] = if esc {
                    kb.clear();
                    if unescape_into(raw, &mut kb).is_err() {
                        return Ok(None);
                    }
                    &kb
                } else {
                    raw
                };
                let Some(t) = next_token(&v[off..]) else {
                    return Ok(None);
                };
                off += t;
                if v[off] != b':' {
                    return Ok(None);
                }
                off += 1;
                let start = off;
                let (_, _, used) = get_value(&v[off..])?;
                if key == k.as_bytes() {
                    found = Some(&v[start..start + used]);
                    break;
                }
                off += used;
                let Some(t) = next_token(&v[off..]) else {
                    return Ok(None);
                };
                off += t;
                if v[off] != b',' {
                    break;
                }
                off += 1;
            }
            match found {
                Some(sub) => lookup(sub, rest),
                None => Ok(None),
            }
        }
        (PathPart::Index(n), Ty::Array) => {
            let mut off = 1;
            let mut idx = 0;
            loop {
                let Some(t) = next_token(&v[off..]) else {
                    return Ok(None);
                };
                off += t;
                if v[off] == b']' {
                    return Ok(None);
                }
                let start = off;
                let (_, _, used) = get_value(&v[off..])?;
                if idx == *n {
                    return lookup(&v[start..start + used], rest);
                }
                idx += 1;
                off += used;
                let Some(t) = next_token(&v[off..]) else {
                    return Ok(None);
                };
                off += t;
                if v[off] != b',' {
                    return Ok(None);
                }
                off += 1;
            }
        }
        _ => Ok(None),
    }
}

/// `| json a="b.c[0]", ...`.
#[derive(Debug)]
pub(crate) struct JsonExprParser {
    ids: Vec<String>,
    paths: Vec<Vec<PathPart>>,
}

impl JsonExprParser {
    pub(crate) fn new(exprs: &[crate::syntax::Extraction]) -> Result<JsonExprParser, String> {
        let mut ids = Vec::new();
        let mut paths = Vec::new();
        for e in exprs {
            let p = parse_path(&e.expr)
                .map_err(|err| format!("cannot parse expression [{}]: {err}", e.expr))?;
            ids.push(e.name.clone());
            paths.push(p);
        }
        Ok(JsonExprParser { ids, paths })
    }

    pub(crate) fn process(&self, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
        if line.is_empty() || hints.no_labels(st) {
            return StageOut::Keep;
        }
        let d = line.as_bytes();
        if !matches!(d[0], b'"' | b'{' | b'[') {
            st.add_error(ERR_JSON, None, hints);
            return StageOut::Keep;
        }
        let mut matches = 0;
        for (id, path) in self.ids.iter().zip(&self.paths) {
            match lookup(d, path) {
                Ok(Some((v, ty))) => {
                    let key = if st.base_has(id) || st.has_in(id, Cat::Meta) {
                        format!("{id}{DUP_SUFFIX}")
                    } else {
                        id.clone()
                    };
                    let value = match ty {
                        Ty::Null => String::new(),
                        Ty::Object => String::from_utf8_lossy(v).into_owned(),
                        _ => unescape_string(v),
                    };
                    st.set(Cat::Parsed, &key, &value);
                    matches += 1;
                }
                Ok(None) => {}
                Err(e) => st.add_error(ERR_JSON, Some(e.message()), hints),
            }
        }
        if matches < self.ids.len() {
            for id in &self.ids {
                if st.get(id).is_none() {
                    st.set(Cat::Parsed, id, "");
                }
            }
        }
        StageOut::Keep
    }
}

/// `| unpack`: the string members of a JSON object become labels; `_entry` replaces the line.
#[derive(Debug, Default)]
pub(crate) struct UnpackParser;

impl UnpackParser {
    pub(crate) fn process(&self, line: &str, st: &mut LabelState, hints: &Hints) -> StageOut {
        if line.is_empty() || hints.no_labels(st) {
            return StageOut::Keep;
        }
        if !line.starts_with('{') {
            st.add_error(
                ERR_JSON,
                Some("expecting json object(6), but it is not"),
                hints,
            );
            return StageOut::Keep;
        }
        let mut entry: Option<String> = None;
        let mut pending: Vec<(String, String)> = Vec::new();
        let res = object_each(line.as_bytes(), &mut |k, v, ty| {
            if ty != Ty::String {
                return Ok(());
            }
            if k == b"_entry" {
                let mut out = Vec::with_capacity(v.len());
                unescape_into(v, &mut out).map_err(|_| JsonErr::MalformedStringEscape)?;
                entry = Some(String::from_utf8_lossy(&out).into_owned());
                return Ok(());
            }
            let raw = String::from_utf8_lossy(k);
            let key = if st.base_has(&raw) || st.has_in(&raw, Cat::Meta) {
                format!("{raw}{DUP_SUFFIX}")
            } else {
                raw.into_owned()
            };
            if !hints.should_extract(&key) || st.extracted(&key) {
                return Ok(());
            }
            pending.push((sanitize_key(&key), unescape_string(v)));
            Ok(())
        });
        if let Err(Stop::Err(e)) = res {
            st.add_error(ERR_JSON, Some(e.message()), hints);
            return StageOut::Keep;
        }
        let Some(entry) = entry else {
            return StageOut::Keep;
        };
        for (k, v) in &pending {
            if k.is_empty() {
                continue;
            }
            st.set(Cat::Parsed, k, v);
            if !hints.should_continue(k, st) {
                return StageOut::Drop;
            }
        }
        StageOut::Replace(entry)
    }
}
