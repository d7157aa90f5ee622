//! The lexer: template text into text runs and action tokens, following Go's
//! `text/template/parse/lex.go` (trim markers, comments, raw strings, number syntax).

use crate::error::Error;

/// One lexical item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Ident(String),
    Keyword(&'static str),
    Field(String),
    Var(String),
    Dot,
    Str(String),
    Char(char),
    Number(String),
    Bool(bool),
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Assign,
    Declare,
    Comma,
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
    pub(crate) end: usize,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

/// Go's `isSpace` inside actions and for trimming.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// 1-based line and 0-based byte column of `pos` in `src` (the column as Go prints it in
/// execution errors).
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

/// Go's `%#U` rendering of a character, used in "unrecognized character" errors.
pub(crate) fn char_u(c: char) -> String {
    if c.is_control() || c.is_whitespace() && c != ' ' {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

pub(crate) struct Lexer<'a> {
    name: &'a str,
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    paren_depth: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(name: &'a str, src: &'a str) -> Lexer<'a> {
        Lexer {
            name,
            src,
            pos: 0,
            tokens: Vec::new(),
            paren_depth: 0,
        }
    }

    fn error(&self, pos: usize, message: String) -> Error {
        let (line, col) = line_col(self.src, pos);
        Error::Parse {
            name: self.name.to_owned(),
            line,
            col: col + 1,
            message,
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn emit(&mut self, tok: Tok, start: usize) {
        self.tokens.push(Token {
            tok,
            pos: start,
            end: self.pos,
        });
    }

    /// Lexes the whole input.
    pub(crate) fn run(mut self) -> Result<Vec<Token>, Error> {
        let mut trim_next_text = false;
        loop {
            let rest = self.rest();
            let Some(open) = rest.find("{{") else {
                let mut text = rest;
                if trim_next_text {
                    text = text.trim_start_matches(is_space);
                }
                if !text.is_empty() {
                    let start = self.src.len() - text.len();
                    self.pos = self.src.len();
                    self.emit(Tok::Text(text.to_owned()), start);
                }
                self.emit(Tok::Eof, self.src.len());
                return Ok(self.tokens);
            };
            let after = &rest[open + 2..];
            let left_trim = after.starts_with('-') && after[1..].starts_with(is_space);
            let mut text = &rest[..open];
            if trim_next_text {
                text = text.trim_start_matches(is_space);
            }
            if left_trim {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                let start = self.pos + (text.as_ptr() as usize - rest.as_ptr() as usize);
                self.tokens.push(Token {
                    tok: Tok::Text(text.to_owned()),
                    pos: start,
                    end: start + text.len(),
                });
            }
            let delim_pos = self.pos + open;
            self.pos = delim_pos + 2 + if left_trim { 2 } else { 0 };
            trim_next_text = if self.rest().starts_with("/*") {
                self.comment(delim_pos)?
            } else {
                self.emit(Tok::LeftDelim, delim_pos);
                self.action(delim_pos)?
            };
        }
    }

    /// Lexes a comment; returns whether it ends with a right trim marker.
    fn comment(&mut self, start: usize) -> Result<bool, Error> {
        let Some(end) = self.rest().find("*/") else {
            return Err(self.error(start, "unclosed comment".into()));
        };
        self.pos += end + 2;
        let (at, trim) = self.at_right_delim();
        if !at {
            return Err(self.error(start, "comment ends before closing delimiter".into()));
        }
        self.pos += if trim { 4 } else { 2 };
        Ok(trim)
    }

    /// Whether the input is at a right delimiter, and whether it has a trim marker.
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        let mut chars = r.chars();
        if let (Some(c), Some('-')) = (chars.next(), chars.next())
            && is_space(c)
            && r[c.len_utf8() + 1..].starts_with("}}")
        {
            return (true, true);
        }
        (r.starts_with("}}"), false)
    }

    /// Lexes the inside of an action; returns whether it ends with a right trim marker.
    fn action(&mut self, open_pos: usize) -> Result<bool, Error> {
        loop {
            let (at, trim) = self.at_right_delim();
            if at && self.paren_depth == 0 {
                let start = self.pos;
                self.pos += if trim { 4 } else { 2 };
                self.emit(Tok::RightDelim, start);
                return Ok(trim);
            }
            if at {
                return Err(self.error(self.pos, "unclosed left paren".into()));
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                return Err(self.error(open_pos, "unclosed action".into()));
            };
            match c {
                c if is_space(c) => {
                    while let Some(c) = self.peek() {
                        if !is_space(c) || self.at_right_delim().1 {
                            break;
                        }
                        self.pos += c.len_utf8();
                    }
                    if self.pos == start {
                        // A space that starts a right trim marker.
                        self.pos += 1;
                    }
                    self.emit(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err(self.error(start, "expected :=".into()));
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return Err(self.error(start, "unexpected right paren".into()));
                    }
                    self.pos += 1;
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen, start);
                }
                '"' => {
                    let s = self.quoted(start)?;
                    self.emit(Tok::Str(s), start);
                }
                '`' => {
                    let Some(end) = self.rest()[1..].find('`') else {
                        return Err(self.error(start, "unterminated raw quoted string".into()));
                    };
                    let s = self.rest()[1..1 + end].to_owned();
                    self.pos += end + 2;
                    self.emit(Tok::Str(s), start);
                }
                '\'' => {
                    let ch = self.char_constant(start)?;
                    self.emit(Tok::Char(ch), start);
                }
                '$' => {
                    self.pos += 1;
                    self.take_alnum();
                    let name = self.src[start..self.pos].to_owned();
                    self.check_terminator()?;
                    self.emit(Tok::Var(name), start);
                }
                '.' => {
                    if self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
                        self.number(start)?;
                    } else {
                        self.pos += 1;
                        self.take_alnum();
                        if self.pos == start + 1 {
                            self.emit(Tok::Dot, start);
                        } else {
                            let name = self.src[start + 1..self.pos].to_owned();
                            self.check_terminator()?;
                            self.emit(Tok::Field(name), start);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    self.take_alnum();
                    let word = &self.src[start..self.pos];
                    self.check_terminator()?;
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_owned()),
                        },
                    };
                    self.emit(tok, start);
                }
                c => {
                    return Err(self.error(
                        start,
                        format!("unrecognized character in action: {}", char_u(c)),
                    ));
                }
            }
        }
    }

    fn take_alnum(&mut self) {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    /// Go requires a word to be followed by a space, punctuation or the delimiter.
    fn check_terminator(&self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(c) if is_space(c) || ".,|:()".contains(c) => Ok(()),
            Some('}') if self.rest().starts_with("}}") => Ok(()),
            Some(c) => Err(self.error(self.pos, format!("bad character {}", char_u(c)))),
        }
    }

    fn number(&mut self, start: usize) -> Result<(), Error> {
        let bytes = self.src.as_bytes();
        let mut i = self.pos;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        let mut exp: &[u8] = b"eE";
        if bytes.len() > i + 1 && bytes[i] == b'0' {
            match bytes[i + 1] {
                b'x' | b'X' => {
                    i += 2;
                    digits = b"0123456789abcdefABCDEF_";
                    exp = b"pP";
                }
                b'o' | b'O' => {
                    i += 2;
                    digits = b"01234567_";
                    exp = b"";
                }
                b'b' | b'B' => {
                    i += 2;
                    digits = b"01_";
                    exp = b"";
                }
                _ => {}
            }
        }
        let take = |i: &mut usize, set: &[u8]| {
            while *i < bytes.len() && set.contains(&bytes[*i]) {
                *i += 1;
            }
        };
        take(&mut i, digits);
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            take(&mut i, digits);
        }
        if !exp.is_empty() && i < bytes.len() && exp.contains(&bytes[i]) {
            i += 1;
            if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                i += 1;
            }
            take(&mut i, b"0123456789_");
        }
        self.pos = i;
        let text = &self.src[start..i];
        if self.peek().is_some_and(is_alnum) || text == "+" || text == "-" {
            self.take_alnum();
            return Err(self.error(
                start,
                format!("bad number syntax: {:?}", &self.src[start..self.pos]),
            ));
        }
        self.emit(Tok::Number(text.to_owned()), start);
        Ok(())
    }

    fn quoted(&mut self, start: usize) -> Result<String, Error> {
        let mut out = String::new();
        let mut chars = self.rest()[1..].char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.error(start, "unterminated quoted string".into()));
            };
            match c {
                '"' => {
                    self.pos += i + 2;
                    return Ok(out);
                }
                '\n' => return Err(self.error(start, "unterminated quoted string".into())),
                '\\' => {
                    let Some((_, e)) = chars.next() else {
                        return Err(self.error(start, "unterminated quoted string".into()));
                    };
                    match unescape(e, &mut chars, '"') {
                        Some(Esc::Char(c)) => out.push(c),
                        Some(Esc::Byte(b)) => out.push(char::from(b)),
                        None => return Err(self.error(start, "invalid syntax".into())),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn char_constant(&mut self, start: usize) -> Result<char, Error> {
        let mut chars = self.rest()[1..].char_indices();
        let bad = |l: &Self| l.error(start, "malformed character constant".into());
        let ch = match chars.next() {
            Some((_, '\\')) => {
                let Some((_, e)) = chars.next() else {
                    return Err(bad(self));
                };
                match unescape(e, &mut chars, '\'') {
                    Some(Esc::Char(c)) => c,
                    Some(Esc::Byte(b)) => char::from(b),
                    None => return Err(bad(self)),
                }
            }
            Some((_, '\'')) | Some((_, '\n')) | None => return Err(bad(self)),
            Some((_, c)) => c,
        };
        match chars.next() {
            Some((i, '\'')) => {
                self.pos += i + 2;
                Ok(ch)
            }
            _ => Err(bad(self)),
        }
    }
}

enum Esc {
    Char(char),
    Byte(u8),
}

/// Go's escape sequences in interpreted string and character literals.
fn unescape(e: char, chars: &mut std::str::CharIndices<'_>, quote: char) -> Option<Esc> {
    let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let (_, c) = chars.next()?;
            v = v * 16 + c.to_digit(16)?;
        }
        Some(v)
    };
    Some(match e {
        'a' => Esc::Char('\x07'),
        'b' => Esc::Char('\x08'),
        'f' => Esc::Char('\x0c'),
        'n' => Esc::Char('\n'),
        'r' => Esc::Char('\r'),
        't' => Esc::Char('\t'),
        'v' => Esc::Char('\x0b'),
        '\\' => Esc::Char('\\'),
        c if c == quote => Esc::Char(c),
        'x' => Esc::Byte(u8::try_from(hex(chars, 2)?).ok()?),
        'u' => Esc::Char(char::from_u32(hex(chars, 4)?)?),
        'U' => Esc::Char(char::from_u32(hex(chars, 8)?)?),
        '0'..='7' => {
            let mut v = e.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.1.to_digit(8)?;
            }
            Esc::Byte(u8::try_from(v).ok()?)
        }
        _ => return None,
    })
}
