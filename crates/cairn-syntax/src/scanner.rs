//! Go's `text/scanner` in its Go-tokens mode (comments skipped), which the lexers of Loki and
//! Tempo are built on: identifiers, numbers with Go's literal rules and error texts, Go string
//! literals, comments, and positions. Error positions come from the scanner's token position,
//! which Go invalidates (line 0) whenever a lexer advances by single characters; Loki's and
//! Tempo's messages show that, so this scanner reproduces it.
//!
//! Characters are `i32`s as Go's runes are, so that the token classes below and [`EOF`] can
//! sit beside them.

use crate::error::ParseError;

/// End of input.
pub const EOF: i32 = -1;
const UNREAD: i32 = -2;

/// An identifier (Go's `scanner.Ident`); the token classes are negative, beside characters.
pub const IDENT: i32 = -2;
/// An integer literal (Go's `scanner.Int`).
pub const INT: i32 = -3;
/// A floating-point literal (Go's `scanner.Float`).
pub const FLOAT: i32 = -4;
/// A character literal (Go's `scanner.Char`).
pub const CHAR: i32 = -5;
/// A double-quoted string literal (Go's `scanner.String`).
pub const STRING: i32 = -6;
/// A back-quoted string literal (Go's `scanner.RawString`).
pub const RAW_STRING: i32 = -7;

/// Go's `text/scanner`, over characters, in its Go-tokens mode (comments skipped).
#[derive(Clone)]
pub struct Scanner<'a> {
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

/// Whether `c` is white space (Go's `unicode.IsSpace`).
#[inline]
pub fn is_space(c: i32) -> bool {
    c >= 0 && char::from_u32(c as u32).is_some_and(char::is_whitespace)
}

/// The character `c` stands for; `None` for [`EOF`] and the token classes.
#[inline]
pub fn as_char(c: i32) -> Option<char> {
    if c < 0 {
        None
    } else {
        char::from_u32(c as u32)
    }
}

/// Whether `c` is a letter (Go's `unicode.IsLetter`).
#[inline]
pub fn is_letter(c: i32) -> bool {
    as_char(c).is_some_and(char::is_alphabetic)
}

#[inline]
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
    /// A scanner at the start of `src`.
    pub fn new(src: &'a [char]) -> Self {
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

    /// Records an error of the scanner itself (a malformed literal), as Go's `Scanner.Error`.
    pub fn error(&mut self, msg: impl Into<String>) {
        self.tok_end = self.src_pos.saturating_sub(self.last_char_len);
        self.errors
            .push(ParseError::new(msg, self.pos_line, self.pos_col));
    }

    #[inline]
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

    /// Go's `Scanner.Peek`: the next character, not consumed.
    #[inline]
    pub fn peek(&mut self) -> i32 {
        if self.ch == UNREAD {
            self.ch = self.read();
            if self.ch == 0xFEFF {
                self.ch = self.read();
            }
        }
        self.ch
    }

    /// Go's `Scanner.Next`: one character, and the token position is invalidated.
    #[inline]
    pub fn next_char(&mut self) -> i32 {
        self.tok_pos = None;
        self.pos_line = 0;
        let ch = self.peek();
        if ch != EOF {
            self.ch = self.read();
        }
        ch
    }

    /// Go's `Scanner.TokenText`: the text of the last scanned token, empty once invalidated.
    pub fn token_text(&self) -> String {
        match self.tok_pos {
            Some(p) if self.tok_end >= p => self.src[p..self.tok_end].iter().collect(),
            _ => String::new(),
        }
    }

    /// Records an error at the current token position: how lexers and parser actions report.
    pub fn report(&mut self, msg: impl Into<String>) {
        self.errors
            .push(ParseError::new(msg, self.pos_line, self.pos_col));
    }

    /// Errors recorded so far, in order.
    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }

    /// Skips white space character by character (invalidating the token position, as Go's
    /// `Next` does).
    pub fn trim_space(&mut self) {
        while is_space(self.peek()) {
            self.next_char();
        }
    }

    /// A suffix glued to the number `number` just scanned (`5` then `m` in `5m`): the
    /// characters up to a blank or the end for which `glued` holds, read with Go's `Next`,
    /// parsed together with the number by `parse`. On success they are consumed; otherwise
    /// nothing is, and `None` comes back (Loki's and Tempo's `tryScanDuration`).
    pub fn scan_suffix<T>(
        &mut self,
        number: &str,
        glued: impl Fn(i32) -> bool,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let mut s = self.clone();
        let mut text = number.to_string();
        let mut consumed = 0;
        loop {
            let r = s.peek();
            if r == EOF || is_space(r) || !glued(r) {
                break;
            }
            text.extend(as_char(r));
            s.next_char();
            consumed += 1;
        }
        if consumed == 0 {
            return None;
        }
        let v = parse(&text)?;
        for _ in 0..consumed {
            self.next_char();
        }
        Some(v)
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
                        // Go's scanner opens a binary literal only when `Peek()` gives '0'
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
    pub fn scan(&mut self) -> i32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Token classes (or characters) and texts of `src`, with the scanner's errors.
    fn scan_all(src: &str) -> (Vec<(i32, String)>, Vec<String>) {
        let chars: Vec<char> = src.chars().collect();
        let mut sc = Scanner::new(&chars);
        let mut toks = Vec::new();
        loop {
            let t = sc.scan();
            if t == EOF {
                break;
            }
            toks.push((t, sc.token_text()));
        }
        let errors = sc.errors().iter().map(|e| e.msg.clone()).collect();
        (toks, errors)
    }

    #[test]
    fn tokens_as_go_scans_them() {
        let (toks, errors) = scan_all("foo_1 42 0x1F 1.5e3 .5 \"a\\\"b\" `r` 'c' /* c */ // x\n=~");
        let expected = [
            (IDENT, "foo_1"),
            (INT, "42"),
            (INT, "0x1F"),
            (FLOAT, "1.5e3"),
            (FLOAT, ".5"),
            (STRING, "\"a\\\"b\""),
            (RAW_STRING, "`r`"),
            (CHAR, "'c'"),
            ('=' as i32, "="),
            ('~' as i32, "~"),
        ];
        let expected: Vec<(i32, String)> =
            expected.iter().map(|(t, s)| (*t, s.to_string())).collect();
        assert_eq!(toks, expected);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn malformed_literals_report_go_texts() {
        assert_eq!(scan_all("0x").1, ["hexadecimal literal has no digits"]);
        assert_eq!(scan_all("1_").1, ["'_' must separate successive digits"]);
        assert_eq!(scan_all("0o8").1, ["invalid digit '8' in octal literal"]);
        assert_eq!(scan_all("1e").1, ["exponent has no digits"]);
        assert_eq!(scan_all("\"abc").1, ["literal not terminated"]);
        assert_eq!(scan_all("/* x").1, ["comment not terminated"]);
        assert_eq!(scan_all("'ab'").1, ["invalid char literal"]);
    }

    #[test]
    fn positions_and_their_invalidation() {
        let chars: Vec<char> = "a\n  bc d".chars().collect();
        let mut sc = Scanner::new(&chars);
        sc.scan();
        sc.scan();
        sc.report("at bc");
        // Reading by characters invalidates the position: Go reports line 0 then.
        sc.next_char();
        sc.report("after next");
        sc.scan();
        sc.report("at d");
        let got: Vec<(usize, usize)> = sc.errors().iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(got, [(2, 3), (0, 3), (2, 6)]);
    }

    #[test]
    fn suffixes_glue_only_when_they_parse() {
        let chars: Vec<char> = "5ms x".chars().collect();
        let mut sc = Scanner::new(&chars);
        assert_eq!(sc.scan(), INT);
        let unit = |c: i32| as_char(c).is_some_and(|c| c.is_ascii_alphabetic());
        assert_eq!(sc.scan_suffix("5", unit, |_| None::<()>), None);
        assert_eq!(sc.peek(), 'm' as i32, "nothing consumed on failure");
        assert_eq!(
            sc.scan_suffix("5", unit, |t| Some(t.to_string())),
            Some("5ms".to_string())
        );
        assert_eq!(sc.scan(), IDENT);
        assert_eq!(sc.token_text(), "x");
    }
}
