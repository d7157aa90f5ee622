//! The LogQL lexer. Loki scans queries with Go's `text/scanner` in its Go-tokens mode and
//! turns the scanner's tokens into grammar tokens with a few lookaheads of its own (function
//! names only before `(`, durations and byte sizes glued to numbers, `[5m]` ranges). Error
//! positions come from the scanner's token position, which Go invalidates (line 0) whenever
//! the lexer advances by single characters: Loki's messages show that, so this scanner
//! reproduces it.

use crate::error::ParseError;
use crate::gofmt;

use super::tokens::{self as t};

const EOF: i32 = -1;
const UNREAD: i32 = -2;

/// Scanner token classes (Go's `scanner.Ident`, `Int`...), as negative values beside chars.
const IDENT: i32 = -2;
const INT: i32 = -3;
const FLOAT: i32 = -4;
const CHAR: i32 = -5;
const STRING: i32 = -6;
const RAW_STRING: i32 = -7;

/// A value carried by a token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokVal {
    None,
    Str(String),
    Dur(i64),
    Bytes(u64),
}

/// A grammar token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: u8,
    pub(crate) val: TokVal,
}

/// Go's `text/scanner`, over characters, in its Go-tokens mode (comments skipped).
#[derive(Clone)]
struct Scanner<'a> {
    src: &'a [char],
    src_pos: usize,
    line: usize,
    column: usize,
    last_line_len: usize,
    last_char_len: usize,
    tok_pos: Option<usize>,
    tok_end: usize,
    ch: i32,
    pos_line: usize,
    pos_col: usize,
    errors: Vec<ParseError>,
}

fn is_space(c: i32) -> bool {
    c >= 0 && char::from_u32(c as u32).is_some_and(char::is_whitespace)
}

fn as_char(c: i32) -> Option<char> {
    if c < 0 {
        None
    } else {
        char::from_u32(c as u32)
    }
}

fn is_letter(c: i32) -> bool {
    as_char(c).is_some_and(char::is_alphabetic)
}

fn is_decimal(c: i32) -> bool {
    (b'0' as i32..=b'9' as i32).contains(&c)
}

fn is_unicode_digit(c: i32) -> bool {
    as_char(c).is_some_and(|c| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric()))
}

fn lower(c: i32) -> i32 {
    (b'a' - b'A') as i32 | c
}

fn is_hex(c: i32) -> bool {
    is_decimal(c) || (b'a' as i32..=b'f' as i32).contains(&lower(c))
}

impl<'a> Scanner<'a> {
    fn new(src: &'a [char]) -> Self {
        Scanner {
            src,
            src_pos: 0,
            line: 1,
            column: 0,
            last_line_len: 0,
            last_char_len: 0,
            tok_pos: None,
            tok_end: 0,
            ch: UNREAD,
            pos_line: 0,
            pos_col: 0,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, msg: impl Into<String>) {
        self.tok_end = self.src_pos.saturating_sub(self.last_char_len);
        self.errors
            .push(ParseError::new(msg, self.pos_line, self.pos_col));
    }

    fn read(&mut self) -> i32 {
        let Some(&c) = self.src.get(self.src_pos) else {
            if self.last_char_len > 0 {
                self.column += 1;
            }
            self.last_char_len = 0;
            return EOF;
        };
        self.src_pos += 1;
        self.last_char_len = 1;
        self.column += 1;
        match c {
            '\0' => self.error("invalid character NUL"),
            '\n' => {
                self.line += 1;
                self.last_line_len = self.column;
                self.column = 0;
            }
            _ => {}
        }
        c as i32
    }

    fn peek(&mut self) -> i32 {
        if self.ch == UNREAD {
            self.ch = self.read();
            if self.ch == 0xFEFF {
                self.ch = self.read();
            }
        }
        self.ch
    }

    /// Go's `Scanner.Next`: one character, and the token position is invalidated.
    fn next_char(&mut self) -> i32 {
        self.tok_pos = None;
        self.pos_line = 0;
        let ch = self.peek();
        if ch != EOF {
            self.ch = self.read();
        }
        ch
    }

    fn token_text(&self) -> String {
        match self.tok_pos {
            Some(p) if self.tok_end >= p => self.src[p..self.tok_end].iter().collect(),
            _ => String::new(),
        }
    }

    fn is_ident_rune(c: i32, i: usize) -> bool {
        c == b'_' as i32 || is_letter(c) || (is_unicode_digit(c) && i > 0)
    }

    fn scan_identifier(&mut self) -> i32 {
        let mut ch = self.read();
        let mut i = 1;
        while Self::is_ident_rune(ch, i) {
            ch = self.read();
            i += 1;
        }
        ch
    }

    fn digits(&mut self, ch0: i32, base: i32, invalid: &mut i32) -> (i32, u8) {
        let mut ch = ch0;
        let mut digsep = 0u8;
        if base <= 10 {
            let max = b'0' as i32 + base;
            while is_decimal(ch) || ch == b'_' as i32 {
                let mut ds = 1;
                if ch == b'_' as i32 {
                    ds = 2;
                } else if ch >= max && *invalid == 0 {
                    *invalid = ch;
                }
                digsep |= ds;
                ch = self.read();
            }
        } else {
            while is_hex(ch) || ch == b'_' as i32 {
                digsep |= if ch == b'_' as i32 { 2 } else { 1 };
                ch = self.read();
            }
        }
        (ch, digsep)
    }

    fn scan_number(&mut self, mut ch: i32, mut seen_dot: bool) -> (i32, i32) {
        let mut base = 10;
        let mut prefix = 0u8;
        let mut digsep = 0u8;
        let mut invalid = 0i32;
        let mut tok = INT;
        if !seen_dot {
            if ch == b'0' as i32 {
                ch = self.read();
                match lower(ch) as u8 {
                    b'x' => {
                        ch = self.read();
                        base = 16;
                        prefix = b'x';
                    }
                    b'o' => {
                        ch = self.read();
                        base = 8;
                        prefix = b'o';
                    }
                    b'b' => {
                        // Loki's scanner opens a binary literal only when `Peek()` gives '0'
                        // or '1'. Mid-scan, `Peek()` returns the look-ahead the previous token
                        // left: this '0' when the number follows that token directly, the
                        // first blank before it otherwise. So `<0B` is a binary literal
                        // without digits and `< 0B` a decimal one: both are errors.
                        if self.ch == b'0' as i32 || self.ch == b'1' as i32 {
                            ch = self.read();
                            base = 2;
                            prefix = b'b';
                        }
                    }
                    _ => {
                        base = 8;
                        prefix = b'0';
                        digsep = 1;
                    }
                }
            }
            let (c, ds) = self.digits(ch, base, &mut invalid);
            ch = c;
            digsep |= ds;
            if ch == b'.' as i32 {
                ch = self.read();
                seen_dot = true;
            }
        }
        if seen_dot {
            tok = FLOAT;
            if prefix == b'o' || prefix == b'b' {
                self.error(format!("invalid radix point in {}", litname(prefix)));
            }
            let (c, ds) = self.digits(ch, base, &mut invalid);
            ch = c;
            digsep |= ds;
        }
        if digsep & 1 == 0 {
            self.error(format!("{} has no digits", litname(prefix)));
        }
        let e = lower(ch);
        if e == b'e' as i32 || (e == b'p' as i32 && prefix == b'x') {
            if e == b'e' as i32 && prefix != 0 && prefix != b'0' {
                let c = as_char(ch).unwrap_or('e');
                self.error(format!("'{c}' exponent requires decimal mantissa"));
            }
            ch = self.read();
            tok = FLOAT;
            if ch == b'+' as i32 || ch == b'-' as i32 {
                ch = self.read();
            }
            let mut none = 0;
            let (c, ds) = self.digits(ch, 10, &mut none);
            ch = c;
            digsep |= ds;
            if ds & 1 == 0 {
                self.error("exponent has no digits");
            }
        } else if prefix == b'x' && tok == FLOAT {
            self.error("hexadecimal mantissa requires a 'p' exponent");
        }
        if tok == INT && invalid != 0 {
            let c = as_char(invalid).unwrap_or('?');
            self.error(format!("invalid digit '{c}' in {}", litname(prefix)));
        }
        if digsep & 2 != 0 {
            self.tok_end = self.src_pos.saturating_sub(self.last_char_len);
            if invalid_sep(&self.token_text()) {
                self.error("'_' must separate successive digits");
            }
        }
        (tok, ch)
    }

    fn scan_digits(&mut self, mut ch: i32, base: u32, mut n: usize) -> i32 {
        while n > 0
            && as_char(ch)
                .and_then(|c| c.to_digit(16))
                .is_some_and(|d| d < base)
        {
            ch = self.read();
            n -= 1;
        }
        if n > 0 {
            self.error("invalid char escape");
        }
        ch
    }

    fn scan_escape(&mut self, quote: i32) -> i32 {
        let ch = self.read();
        match as_char(ch) {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => self.read(),
            _ if ch == quote => self.read(),
            Some('0'..='7') => self.scan_digits(ch, 8, 3),
            Some('x') => {
                let c = self.read();
                self.scan_digits(c, 16, 2)
            }
            Some('u') => {
                let c = self.read();
                self.scan_digits(c, 16, 4)
            }
            Some('U') => {
                let c = self.read();
                self.scan_digits(c, 16, 8)
            }
            _ => {
                self.error("invalid char escape");
                ch
            }
        }
    }

    fn scan_string(&mut self, quote: i32) -> usize {
        let mut ch = self.read();
        let mut n = 0;
        while ch != quote {
            if ch == b'\n' as i32 || ch < 0 {
                self.error("literal not terminated");
                return n;
            }
            if ch == b'\\' as i32 {
                ch = self.scan_escape(quote);
            } else {
                ch = self.read();
            }
            n += 1;
        }
        n
    }

    fn scan_raw_string(&mut self) {
        let mut ch = self.read();
        while ch != b'`' as i32 {
            if ch < 0 {
                self.error("literal not terminated");
                return;
            }
            ch = self.read();
        }
    }

    fn scan_comment(&mut self, ch: i32) -> i32 {
        if ch == b'/' as i32 {
            let mut ch = self.read();
            while ch != b'\n' as i32 && ch >= 0 {
                ch = self.read();
            }
            return ch;
        }
        let mut ch = self.read();
        loop {
            if ch < 0 {
                self.error("comment not terminated");
                break;
            }
            let ch0 = ch;
            ch = self.read();
            if ch0 == b'*' as i32 && ch == b'/' as i32 {
                ch = self.read();
                break;
            }
        }
        ch
    }

    /// Go's `Scanner.Scan`.
    fn scan(&mut self) -> i32 {
        let mut ch = self.peek();
        self.tok_pos = None;
        self.pos_line = 0;
        loop {
            while matches!(as_char(ch), Some('\t' | '\n' | '\r' | ' ')) {
                ch = self.read();
            }
            self.tok_pos = Some(self.src_pos.saturating_sub(self.last_char_len));
            if self.column > 0 {
                self.pos_line = self.line;
                self.pos_col = self.column;
            } else {
                self.pos_line = self.line.saturating_sub(1);
                self.pos_col = self.last_line_len;
            }
            let mut tok = ch;
            if Self::is_ident_rune(ch, 0) {
                tok = IDENT;
                ch = self.scan_identifier();
            } else if is_decimal(ch) {
                (tok, ch) = self.scan_number(ch, false);
            } else {
                match as_char(ch) {
                    None => {}
                    Some('"') => {
                        self.scan_string(b'"' as i32);
                        tok = STRING;
                        ch = self.read();
                    }
                    Some('\'') => {
                        if self.scan_string(b'\'' as i32) != 1 {
                            self.error("invalid char literal");
                        }
                        tok = CHAR;
                        ch = self.read();
                    }
                    Some('.') => {
                        ch = self.read();
                        if is_decimal(ch) {
                            (tok, ch) = self.scan_number(ch, true);
                        }
                    }
                    Some('/') => {
                        ch = self.read();
                        if ch == b'/' as i32 || ch == b'*' as i32 {
                            self.tok_pos = None;
                            ch = self.scan_comment(ch);
                            continue;
                        }
                    }
                    Some('`') => {
                        self.scan_raw_string();
                        tok = RAW_STRING;
                        ch = self.read();
                    }
                    Some(_) => ch = self.read(),
                }
            }
            self.tok_end = self.src_pos.saturating_sub(self.last_char_len);
            self.ch = ch;
            return tok;
        }
    }

    fn trim_space(&mut self) {
        while is_space(self.peek()) {
            self.next_char();
        }
    }
}

fn litname(prefix: u8) -> &'static str {
    match prefix {
        b'x' => "hexadecimal literal",
        b'o' | b'0' => "octal literal",
        b'b' => "binary literal",
        _ => "decimal literal",
    }
}

fn invalid_sep(x: &str) -> bool {
    let b = x.as_bytes();
    let mut x1 = b' ';
    let mut d = b'.';
    let mut i = 0;
    if b.len() >= 2 && b[0] == b'0' {
        x1 = b[1].to_ascii_lowercase();
        if x1 == b'x' || x1 == b'o' || x1 == b'b' {
            d = b'0';
            i = 2;
        }
    }
    while i < b.len() {
        let p = d;
        d = b[i];
        if d == b'_' {
            if p != b'0' {
                return true;
            }
        } else if d.is_ascii_digit() || (x1 == b'x' && d.is_ascii_hexdigit()) {
            d = b'0';
        } else {
            if p == b'_' {
                return true;
            }
            d = b'.';
        }
        i += 1;
    }
    d == b'_'
}

fn is_duration_rune(c: i32) -> bool {
    matches!(
        as_char(c),
        Some('n' | 'u' | 'µ' | 'm' | 's' | 'h' | 'd' | 'w' | 'y')
    )
}

fn is_bytes_rune(c: i32) -> bool {
    matches!(
        as_char(c),
        Some('B' | 'i' | 'k' | 'K' | 'M' | 'G' | 'T' | 'P')
    )
}

/// A Prometheus duration, else a Go one (Loki accepts both after a number).
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    gofmt::parse_prom_duration(s).or_else(|_| gofmt::parse_go_duration(s))
}

/// Prometheus' `strutil.Unquote` for the two quotes the lexer hands it.
fn unquote(s: &str) -> Result<String, String> {
    let err = || "invalid syntax".to_string();
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return Err(err());
    }
    let q = chars[0];
    if chars[chars.len() - 1] != q {
        return Err(err());
    }
    let body = &chars[1..chars.len() - 1];
    if q == '`' {
        if body.contains(&'`') {
            return Err(err());
        }
        return Ok(body.iter().collect());
    }
    if q != '"' && q != '\'' {
        return Err(err());
    }
    if body.contains(&'\n') {
        return Err(err());
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < body.len() {
        let c = body[i];
        if c == q && q == '\'' {
            return Err(err());
        }
        if c == q {
            return Err(err());
        }
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += 1;
            continue;
        }
        let e = *body.get(i + 1).ok_or_else(err)?;
        i += 2;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' | '"' => {
                if e != q {
                    return Err(err());
                }
                Some(e as u8)
            }
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        match e {
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = body.get(i..i + n).ok_or_else(err)?.iter().collect();
                let v = u32::from_str_radix(&digits, 16).map_err(|_| err())?;
                i += n;
                if e == 'x' {
                    out.push(v as u8);
                } else {
                    let c = char::from_u32(v).ok_or_else(err)?;
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            '0'..='7' => {
                let digits: String = body.get(i - 1..i + 2).ok_or_else(err)?.iter().collect();
                let v = u32::from_str_radix(&digits, 8).map_err(|_| err())?;
                if v > 255 {
                    return Err(err());
                }
                i += 2;
                out.push(v as u8);
            }
            _ => return Err(err()),
        }
    }
    // Escapes may spell bytes that are not UTF-8; Rust strings cannot hold them.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Loki's lexer over a scanner.
pub(crate) struct Lexer<'a> {
    sc: Scanner<'a>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a [char]) -> Self {
        Lexer {
            sc: Scanner::new(src),
        }
    }

    /// Errors reported so far, in order.
    pub(crate) fn errors(&self) -> &[ParseError] {
        &self.sc.errors
    }

    /// Records an error at the current token position (the parser reports through this).
    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        let (l, c) = (self.sc.pos_line, self.sc.pos_col);
        self.sc.errors.push(ParseError::new(msg, l, c));
    }

    fn try_scan_duration(&mut self, number: &str) -> Option<i64> {
        let mut s = self.sc.clone();
        let mut text = number.to_string();
        let mut consumed = 0;
        loop {
            let r = s.peek();
            if r == EOF || is_space(r) {
                break;
            }
            if !(as_char(r).is_some_and(char::is_numeric) || is_duration_rune(r) || r == '.' as i32)
            {
                break;
            }
            text.extend(as_char(r));
            s.next_char();
            consumed += 1;
        }
        if consumed == 0 {
            return None;
        }
        let d = parse_duration(&text).ok()?;
        for _ in 0..consumed {
            self.sc.next_char();
        }
        Some(d)
    }

    fn try_scan_bytes(&mut self, number: &str) -> Option<u64> {
        let mut s = self.sc.clone();
        let mut text = number.to_string();
        let mut consumed = 0;
        loop {
            let r = s.peek();
            if r == EOF || is_space(r) {
                break;
            }
            if !(as_char(r).is_some_and(char::is_numeric) || is_bytes_rune(r) || r == '.' as i32) {
                break;
            }
            text.extend(as_char(r));
            s.next_char();
            consumed += 1;
        }
        if consumed == 0 {
            return None;
        }
        let b = gofmt::parse_bytes(&text).ok()?;
        for _ in 0..consumed {
            self.sc.next_char();
        }
        Some(b)
    }

    fn try_scan_flag(&mut self) -> Option<String> {
        let mut text = self.sc.token_text();
        let mut s = self.sc.clone();
        let mut consumed = 0;
        loop {
            let r = s.peek();
            if !(is_letter(r) || r == '-' as i32) {
                break;
            }
            text.extend(as_char(r));
            s.next_char();
            consumed += 1;
        }
        if text != "--strict" && text != "--keep-empty" {
            return None;
        }
        for _ in 0..consumed {
            self.sc.next_char();
        }
        Some(text)
    }

    /// Whether a call follows: `(`, or `by`/`without` then `(` (Loki's `isFunction`).
    fn is_function(sc: &Scanner<'_>) -> bool {
        let mut sc = sc.clone();
        sc.trim_space();
        let mut word = String::new();
        loop {
            let r = sc.next_char();
            let Some(c) = as_char(r) else { return false };
            word.push(c);
            let l = word.to_lowercase();
            if l == "(" {
                return true;
            }
            if l == "by" || l == "without" {
                sc.trim_space();
                return sc.next_char() == '(' as i32;
            }
            if word.chars().count() >= "without".len() {
                // No longer a prefix of anything that could match.
                return false;
            }
        }
    }

    /// The next token (`END` at the end of input or after a lexing error).
    pub(crate) fn lex(&mut self) -> Token {
        let tok = |kind| Token {
            kind,
            val: TokVal::None,
        };
        loop {
            let r = self.sc.scan();
            match r {
                c if c == '#' as i32 => {
                    loop {
                        let n = self.sc.peek();
                        if n == '\n' as i32 || n == EOF {
                            break;
                        }
                        self.sc.next_char();
                    }
                    continue;
                }
                EOF => return tok(t::END),
                INT | FLOAT => {
                    let text = self.sc.token_text();
                    if let Some(d) = self.try_scan_duration(&text) {
                        return Token {
                            kind: t::DURATION,
                            val: TokVal::Dur(d),
                        };
                    }
                    if let Some(b) = self.try_scan_bytes(&text) {
                        return Token {
                            kind: t::BYTES,
                            val: TokVal::Bytes(b),
                        };
                    }
                    return Token {
                        kind: t::NUMBER,
                        val: TokVal::Str(text),
                    };
                }
                c if c == '-' as i32 => {
                    if self.sc.peek() == '-' as i32
                        && let Some(flag) = self.try_scan_flag()
                    {
                        return Token {
                            kind: t::FUNCTION_FLAG,
                            val: TokVal::Str(flag),
                        };
                    }
                    let text = self.sc.token_text();
                    if let Some(d) = self.try_scan_duration(&text) {
                        return Token {
                            kind: t::DURATION,
                            val: TokVal::Dur(d),
                        };
                    }
                }
                STRING | RAW_STRING => {
                    let text = self.sc.token_text();
                    return match unquote(&text) {
                        Ok(s) => Token {
                            kind: t::STRING,
                            val: TokVal::Str(s),
                        },
                        Err(e) => {
                            self.error(e);
                            tok(t::END)
                        }
                    };
                }
                _ => {}
            }
            if r == '[' as i32 {
                let mut text = String::new();
                loop {
                    let c = self.sc.next_char();
                    if c == EOF {
                        break;
                    }
                    if c == ']' as i32 {
                        return match gofmt::parse_prom_duration(&text) {
                            Ok(d) => Token {
                                kind: t::RANGE,
                                val: TokVal::Dur(d),
                            },
                            Err(e) => {
                                self.error(e);
                                tok(t::END)
                            }
                        };
                    }
                    text.extend(as_char(c));
                }
                self.error("missing closing ']' in duration");
                return tok(t::END);
            }
            let text = self.sc.token_text();
            let lower = text.to_lowercase();
            let peek = self.sc.peek();
            let mut next = text.clone();
            next.push(as_char(peek).unwrap_or('\u{fffd}'));
            let next = next.to_lowercase();
            if let Some(k) = t::function(&next) {
                let mut sc = self.sc.clone();
                sc.next_char();
                if Self::is_function(&sc) {
                    self.sc.next_char();
                    return tok(k);
                }
            }
            if let Some(k) = t::function(&lower) {
                if !Self::is_function(&self.sc) {
                    return Token {
                        kind: t::IDENTIFIER,
                        val: TokVal::Str(text),
                    };
                }
                return tok(k);
            }
            if let Some(k) = t::keyword(&next) {
                self.sc.next_char();
                return tok(k);
            }
            if let Some(k) = t::keyword(&lower) {
                return tok(k);
            }
            let _ = CHAR;
            return Token {
                kind: t::IDENTIFIER,
                val: TokVal::Str(text),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<&'static str> {
        let chars: Vec<char> = q.chars().collect();
        let mut l = Lexer::new(&chars);
        let mut out = Vec::new();
        loop {
            let t = l.lex();
            if t.kind == t::END {
                break;
            }
            out.push(t::NAMES[t.kind as usize]);
        }
        out
    }

    #[test]
    fn functions_need_a_call() {
        assert_eq!(
            kinds(r#"rate({a="b"}[5m])"#),
            [
                "RATE",
                "(",
                "{",
                "IDENTIFIER",
                "=",
                "STRING",
                "}",
                "RANGE",
                ")"
            ]
        );
        assert_eq!(kinds("rate > 5"), ["IDENTIFIER", ">", "NUMBER"]);
        assert_eq!(
            kinds("sum by (a) ("),
            ["SUM", "by", "(", "IDENTIFIER", ")", "("]
        );
        assert_eq!(kinds("ip"), ["IDENTIFIER"]);
        assert_eq!(kinds("JSON |= !="), ["json", "|=", "!="]);
    }

    #[test]
    fn numbers_durations_bytes_flags() {
        assert_eq!(
            kinds("5m 20MB 1.5 1h30m"),
            ["DURATION", "BYTES", "NUMBER", "DURATION"]
        );
        assert_eq!(
            kinds("logfmt --strict --keep-empty"),
            ["logfmt", "FUNCTION_FLAG", "FUNCTION_FLAG"]
        );
        assert_eq!(kinds("-5m"), ["DURATION"]);
        assert_eq!(kinds("-5"), ["-", "NUMBER"]);
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("{a=\"b\"} # hello\n|= \"x\""),
            ["{", "IDENTIFIER", "=", "STRING", "}", "|=", "STRING"]
        );
    }

    #[test]
    fn strings_unquote() {
        assert_eq!(unquote(r#""a\"b\n""#), Ok("a\"b\n".into()));
        assert_eq!(unquote("`a\\b`"), Ok("a\\b".into()));
        assert_eq!(unquote(r#""\u00e9\x41""#), Ok("éA".into()));
        assert!(unquote(r#""\q""#).is_err());
    }
}
