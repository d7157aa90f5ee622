//! The TraceQL lexer, after Tempo's `lexer.go`: Go's scanner for numbers, strings, words and
//! operators; operators and scope prefixes (`span.`, `trace:`) made of several characters
//! found by extending the scanned text one character at a time; durations glued to numbers;
//! and an attribute mode after `.`/`span.`/... that reads an attribute name raw (dots and
//! quoted parts included) up to the first character that cannot be in one, then reports
//! `END_ATTRIBUTE`.

use cairn_syntax::gofmt::{self, parse_duration, unquote};
use cairn_syntax::scanner::{self, EOF, Scanner, as_char, is_space};

use crate::error::ParseError;

use super::tokens as t;

/// A value carried by a token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokVal {
    None,
    Str(String),
    Int(i64),
    Float(f64),
    Dur(i64),
}

/// A grammar token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: u8,
    pub(crate) val: TokVal,
}

impl Token {
    fn new(kind: u8) -> Self {
        Token {
            kind,
            val: TokVal::None,
        }
    }
}

/// Whether `c` can be part of an unquoted attribute name (Tempo's `isAttributeRune`).
pub(crate) fn is_attribute_rune(c: i32) -> bool {
    if c == EOF || is_space(c) {
        return false;
    }
    !matches!(
        as_char(c),
        Some('{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ',')
    )
}

fn is_duration_rune(c: i32) -> bool {
    matches!(
        as_char(c),
        Some('n' | 's' | 'u' | 'm' | 'h' | 'µ' | 'd' | 'w' | 'y')
    )
}

fn starts_attribute(tok: u8) -> bool {
    matches!(
        tok,
        t::DOT
            | t::RESOURCE_DOT
            | t::SPAN_DOT
            | t::PARENT_DOT
            | t::EVENT_DOT
            | t::LINK_DOT
            | t::INSTRUMENTATION_DOT
    )
}

fn is_scope(tok: u8) -> bool {
    matches!(
        tok,
        t::PARENT_DOT
            | t::SPAN_DOT
            | t::RESOURCE_DOT
            | t::SPAN_COLON
            | t::TRACE_COLON
            | t::EVENT_COLON
            | t::LINK_COLON
            | t::INSTRUMENTATION_COLON
            | t::EVENT_DOT
            | t::LINK_DOT
            | t::INSTRUMENTATION_DOT
    )
}

/// Tempo's lexer over a scanner.
pub(crate) struct Lexer<'a> {
    sc: Scanner<'a>,
    parsing_attribute: bool,
    current_scope: u8,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a [char]) -> Self {
        Lexer {
            sc: Scanner::new(src),
            parsing_attribute: false,
            current_scope: 0,
        }
    }

    /// Errors reported so far, in order.
    pub(crate) fn errors(&self) -> &[ParseError] {
        self.sc.errors()
    }

    /// Records an error at the current token position (the parser reports through this).
    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        self.sc.report(msg);
    }

    /// The next token; after an error, `$end`.
    pub(crate) fn lex(&mut self) -> Token {
        if self.parsing_attribute && !is_attribute_rune(self.sc.peek()) {
            self.parsing_attribute = false;
            return Token::new(t::END_ATTRIBUTE);
        }
        if self.parsing_attribute {
            if let Some(tok) = self.try_scope_attribute() {
                self.current_scope = tok;
                return Token::new(tok);
            }
            return match self.parse_attribute() {
                Ok(name) => Token {
                    kind: t::IDENTIFIER,
                    val: TokVal::Str(name),
                },
                Err(msg) => {
                    self.error(msg);
                    Token::new(t::END)
                }
            };
        }

        let r = self.sc.scan();
        match r {
            EOF => return Token::new(t::END),
            scanner::STRING | scanner::RAW_STRING => {
                return match unquote(&self.sc.token_text()) {
                    Ok(s) => Token {
                        kind: t::STRING,
                        val: TokVal::Str(s),
                    },
                    Err(msg) => {
                        self.error(msg);
                        Token::new(t::END)
                    }
                };
            }
            scanner::INT => {
                let text = self.sc.token_text();
                if let Some(d) = self.try_scan_duration(&text) {
                    return Token {
                        kind: t::DURATION,
                        val: TokVal::Dur(d),
                    };
                }
                return match atoi(&text) {
                    Ok(i) => Token {
                        kind: t::INTEGER,
                        val: TokVal::Int(i),
                    },
                    Err(msg) => {
                        self.error(msg);
                        Token::new(t::END)
                    }
                };
            }
            scanner::FLOAT => {
                let text = self.sc.token_text();
                if let Some(d) = self.try_scan_duration(&text) {
                    return Token {
                        kind: t::DURATION,
                        val: TokVal::Dur(d),
                    };
                }
                return match gofmt::parse_float(&text) {
                    Ok(f) => Token {
                        kind: t::FLOAT,
                        val: TokVal::Float(f),
                    },
                    Err(msg) => {
                        self.error(msg);
                        Token::new(t::END)
                    }
                };
            }
            _ => {}
        }

        // Operators and prefixes sharing a start: extend the text while it stays a token.
        let text = self.sc.token_text();
        let mut multi: Option<u8> = None;
        let mut next = text.clone();
        loop {
            // Go appends `string(rune(-1))`, U+FFFD, at the end of input: never a token.
            next.push(as_char(self.sc.peek()).unwrap_or('\u{FFFD}'));
            match t::lookup(&next) {
                Some(tok) => {
                    multi = Some(tok);
                    self.sc.next_char();
                }
                None => break,
            }
        }
        if let Some(tok) = multi {
            if is_scope(tok) {
                self.current_scope = tok;
            }
            self.parsing_attribute = starts_attribute(tok);
            return Token::new(tok);
        }
        if let Some(tok) = t::lookup(&text) {
            self.parsing_attribute = starts_attribute(tok);
            return Token::new(tok);
        }
        Token {
            kind: t::IDENTIFIER,
            val: TokVal::Str(text),
        }
    }

    /// `span.` or `resource.` right after `parent.` (Tempo's `tryScopeAttribute`).
    fn try_scope_attribute(&mut self) -> Option<u8> {
        const LONGEST_SCOPE: usize = 9;
        let mut s = self.sc.clone();
        let mut text = String::new();
        loop {
            let r = s.peek();
            if r == EOF {
                break;
            }
            if r == '.' as i32 {
                text.extend(as_char(s.next_char()));
                break;
            }
            if !is_attribute_rune(r) || text.len() > LONGEST_SCOPE {
                break;
            }
            text.extend(as_char(s.next_char()));
        }
        let tok = t::lookup(&text)?;
        if (tok == t::SPAN_DOT || tok == t::RESOURCE_DOT) && self.current_scope == t::PARENT_DOT {
            for _ in 0..text.chars().count() {
                self.sc.next_char();
            }
            return Some(tok);
        }
        None
    }

    /// An attribute name: raw characters and `"quoted"` parts, up to a character that ends it.
    fn parse_attribute(&mut self) -> Result<String, String> {
        let mut name = String::new();
        let mut r = self.sc.peek();
        loop {
            if r == '"' as i32 {
                name.push_str(&self.parse_quoted_attribute()?);
            } else if is_attribute_rune(r) {
                name.extend(as_char(self.sc.next_char()));
            } else {
                break;
            }
            r = self.sc.peek();
        }
        Ok(name)
    }

    fn parse_quoted_attribute(&mut self) -> Result<String, String> {
        let mut out = String::new();
        self.sc.next_char();
        let mut r = self.sc.peek();
        while r != EOF {
            if r == '"' as i32 {
                self.sc.next_char();
                break;
            } else if r == '\\' as i32 {
                self.sc.next_char();
                let e = self.sc.peek();
                if e == '"' as i32 || e == '\\' as i32 {
                    out.extend(as_char(e));
                    self.sc.next_char();
                } else {
                    return Err("invalid escape sequence".into());
                }
            } else {
                out.extend(as_char(r));
                self.sc.next_char();
            }
            r = self.sc.peek();
        }
        if r == EOF {
            return Err("unexpected EOF, expecting \"".into());
        }
        Ok(out)
    }

    fn try_scan_duration(&mut self, number: &str) -> Option<i64> {
        let glued = |r: i32| {
            as_char(r).is_some_and(char::is_numeric) || is_duration_rune(r) || r == '.' as i32
        };
        self.sc
            .scan_suffix(number, glued, |text| parse_duration(text).ok())
    }
}

/// Go's `strconv.Atoi` on a 64-bit platform, with its error texts.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            gofmt::quote(s)
        ));
    }
    s.parse::<i64>().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: value out of range",
            gofmt::quote(s)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<&'static str> {
        let chars: Vec<char> = q.chars().collect();
        let mut lx = Lexer::new(&chars);
        let mut out = Vec::new();
        loop {
            let tok = lx.lex();
            if tok.kind == t::END {
                break;
            }
            out.push(t::NAMES[tok.kind as usize]);
        }
        out
    }

    #[test]
    fn operators_extend_while_they_stay_tokens() {
        assert_eq!(
            kinds("!>> !> != !~ &>> &~ >= >> <<"),
            ["!>>", "!>", "!=", "!~", "&>>", "&~", ">=", ">>", "<<"]
        );
    }

    #[test]
    fn attributes_are_read_raw() {
        assert_eq!(
            kinds("{ span.http.status_code >= 500 }"),
            [
                "{",
                "span.",
                "IDENTIFIER",
                "END_ATTRIBUTE",
                ">=",
                "INTEGER",
                "}"
            ]
        );
        assert_eq!(
            kinds("parent.resource.a"),
            ["parent.", "resource.", "IDENTIFIER", "END_ATTRIBUTE"]
        );
        assert_eq!(kinds("span:id"), ["span:", "id"]);
        let chars: Vec<char> = r#"."a \"b\"".c"#.chars().collect();
        let mut lx = Lexer::new(&chars);
        assert_eq!(lx.lex().kind, t::DOT);
        assert_eq!(lx.lex().val, TokVal::Str("a \"b\".c".into()));
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(kinds("1 1.5 1s 1.5ms 2d 1h30m"), {
            [
                "INTEGER", "FLOAT", "DURATION", "DURATION", "DURATION", "DURATION",
            ]
        });
        assert_eq!(atoi("12"), Ok(12));
        assert!(
            atoi("100000000000000000000")
                .unwrap_err()
                .contains("out of range")
        );
    }
}
