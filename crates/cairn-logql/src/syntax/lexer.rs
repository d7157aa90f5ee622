//! The LogQL lexer. Loki scans queries with Go's `text/scanner` in its Go-tokens mode and
//! turns the scanner's tokens into grammar tokens with a few lookaheads of its own (function
//! names only before `(`, durations and byte sizes glued to numbers, `[5m]` ranges). The
//! scanner is [`cairn_syntax::scanner`], shared with TraceQL; error positions are its token
//! position, invalidated (line 0) whenever the lexer advances by single characters, as
//! Loki's messages show.

use cairn_syntax::gofmt::{parse_duration, parse_prom_duration, unquote_prometheus};
use cairn_syntax::scanner::{EOF, FLOAT, INT, RAW_STRING, STRING, Scanner, as_char, is_letter};

use crate::error::ParseError;
use crate::gofmt;

use super::tokens::{self as t};

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
        self.sc.errors()
    }

    /// Records an error at the current token position (the parser reports through this).
    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        self.sc.report(msg);
    }

    fn try_scan_duration(&mut self, number: &str) -> Option<i64> {
        let glued = |r: i32| {
            as_char(r).is_some_and(char::is_numeric) || is_duration_rune(r) || r == '.' as i32
        };
        self.sc
            .scan_suffix(number, glued, |text| parse_duration(text).ok())
    }

    fn try_scan_bytes(&mut self, number: &str) -> Option<u64> {
        let glued = |r: i32| {
            as_char(r).is_some_and(char::is_numeric) || is_bytes_rune(r) || r == '.' as i32
        };
        self.sc
            .scan_suffix(number, glued, |text| gofmt::parse_bytes(text).ok())
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
                    return match unquote_prometheus(&text) {
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
                        return match parse_prom_duration(&text) {
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
}
