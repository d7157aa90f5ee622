//! Loki stream labels in selector syntax (`{app="api", env="prod"}`), parsed as Loki parses
//! them (with Prometheus' metric parser): an optional metric name, quoted or bare label
//! names, values in double quotes, single quotes or backticks with Go escapes, an optional
//! trailing comma. Errors carry the parser's `line:col: parse error: ...` text, so a sender
//! sees the message Loki would have given it.

/// Parses `input` into its label pairs in the order written (duplicates kept: the caller
/// reports them). A metric name (`foo{...}` or a lone quoted string in the braces) becomes
/// `__name__`.
pub(crate) fn parse_label_set(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = Parser { s: input, pos: 0 };
    p.metric().map_err(|e| e.render(input))
}

/// Loki's rendering of a label set for messages: sorted by name, `name="value"` with Go
/// quoting, joined by `, `.
pub(crate) fn format_label_set(pairs: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from("{");
    for (i, (n, v)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(n);
        out.push('=');
        out.push_str(&go_quote(v));
    }
    out.push('}');
    out
}

/// True for a label name Prometheus' lexer reads bare: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_bare_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

struct ParseError {
    pos: usize,
    msg: String,
}

impl ParseError {
    fn render(&self, input: &str) -> String {
        let pos = self.pos.min(input.len());
        let before = &input.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let last_nl = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(-1, |i| i as i64);
        let col = pos as i64 - last_nl;
        format!("{line}:{col}: parse error: {}", self.msg)
    }
}

/// A token, for the parser's "unexpected ..." messages.
enum Tok<'a> {
    Eof,
    Ident(&'a str),
    Str(&'a str),
    Punct(&'static str),
    Op(&'static str),
    Number(&'a str),
}

impl Tok<'_> {
    /// Prometheus' `Item.desc()`.
    fn desc(&self) -> String {
        match self {
            Tok::Eof => "end of input".to_string(),
            Tok::Ident(s) => format!("identifier {}", go_quote(s)),
            Tok::Str(raw) => format!("string {}", go_quote_trunc(raw)),
            Tok::Punct(p) => go_quote(p),
            Tok::Op(o) => format!("<op:{o}>"),
            Tok::Number(n) => format!("number {}", go_quote_trunc(n)),
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            pos,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// `metric: metric_identifier label_set | label_set`, then end of input.
    fn metric(&mut self) -> PResult<Vec<(String, String)>> {
        self.skip_space();
        let mut out = Vec::new();
        if let Some(c) = self.peek()
            && (c == '_' || c == ':' || c.is_ascii_alphabetic())
        {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == '_' || c == ':' || c.is_ascii_alphanumeric() {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            out.push(("__name__".to_string(), self.s[start..self.pos].to_string()));
            self.skip_space();
        }
        match self.peek() {
            None => return Ok(out),
            Some('{') => {
                self.pos += 1;
                self.label_set(&mut out)?;
            }
            Some(_) => {
                let (at, tok) = self.outside_token()?;
                return self.err(at, format!("unexpected {}", tok.desc()));
            }
        }
        self.skip_space();
        if self.peek().is_some() {
            let (at, tok) = self.outside_token()?;
            return self.err(at, format!("unexpected {}", tok.desc()));
        }
        Ok(out)
    }

    /// A token after the label set, for the "unexpected" message; lexer errors first.
    fn outside_token(&mut self) -> PResult<(usize, Tok<'a>)> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Ok((at, Tok::Eof));
        };
        if c == '_' || c == ':' || c.is_ascii_alphabetic() {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == '_' || c == ':' || c.is_ascii_alphanumeric() {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            return Ok((at, Tok::Ident(&self.s[start..self.pos])));
        }
        if c == '"' || c == '\'' || c == '`' {
            let raw = self.string()?;
            return Ok((at, Tok::Str(raw.0)));
        }
        if c.is_ascii_digit() {
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
            {
                self.pos += 1;
            }
            return Ok((at, Tok::Number(&self.s[start..self.pos])));
        }
        match c {
            '{' => Ok((at, Tok::Punct("{"))),
            ',' => Ok((at, Tok::Punct(","))),
            '(' => Ok((at, Tok::Punct("("))),
            '[' => Ok((at, Tok::Punct("["))),
            '=' => Ok((at, Tok::Punct("="))),
            '+' => Ok((at, Tok::Op("+"))),
            '-' => Ok((at, Tok::Op("-"))),
            '*' => Ok((at, Tok::Op("*"))),
            '/' => Ok((at, Tok::Op("/"))),
            '%' => Ok((at, Tok::Op("%"))),
            '^' => Ok((at, Tok::Op("^"))),
            ')' => self.err(at, "unexpected right parenthesis ')'"),
            ']' => self.err(at, "unexpected right bracket ']'"),
            c => self.err(at, format!("unexpected character: {}", go_quote_rune(c))),
        }
    }

    /// The inside of `{...}` (the `{` consumed): items separated by commas, an optional
    /// trailing comma, then `}`.
    fn label_set(&mut self, out: &mut Vec<(String, String)>) -> PResult<()> {
        loop {
            // An item, or `}` right after `{` or after a comma.
            let (at, tok) = self.inside_token()?;
            match tok {
                InTok::RBrace => return Ok(()),
                InTok::Ident(name) => {
                    let (at2, t2) = self.inside_token()?;
                    if !matches!(t2, InTok::Eql) {
                        return self.err(
                            at2,
                            format!("unexpected {} in label set, expected \"=\"", t2.desc()),
                        );
                    }
                    let value = self.expect_string()?;
                    out.push((name.to_string(), value));
                }
                InTok::Str(_, name) => {
                    let save = self.pos;
                    let (_, t2) = self.inside_token()?;
                    if matches!(t2, InTok::Eql) {
                        let value = self.expect_string()?;
                        out.push((name, value));
                    } else {
                        // A lone quoted string names the metric.
                        self.pos = save;
                        out.push(("__name__".to_string(), name));
                    }
                }
                other => {
                    return self.err(
                        at,
                        format!(
                            "unexpected {} in label set, expected identifier or \"}}\"",
                            other.desc()
                        ),
                    );
                }
            }
            let (at, tok) = self.inside_token()?;
            match tok {
                InTok::Comma => continue,
                InTok::RBrace => return Ok(()),
                other => {
                    return self.err(
                        at,
                        format!(
                            "unexpected {} in label set, expected \",\" or \"}}\"",
                            other.desc()
                        ),
                    );
                }
            }
        }
    }

    fn expect_string(&mut self) -> PResult<String> {
        let (at, tok) = self.inside_token()?;
        match tok {
            InTok::Str(_, v) => Ok(v),
            other => self.err(
                at,
                format!("unexpected {} in label set, expected string", other.desc()),
            ),
        }
    }

    /// The next token inside braces (`lexInsideBraces`), spaces skipped.
    fn inside_token(&mut self) -> PResult<(usize, InTok<'a>)> {
        self.skip_space();
        let at = self.pos;
        let Some(c) = self.peek() else {
            return self.err(at, "unexpected end of input inside braces");
        };
        let tok = match c {
            c if c == '_' || c.is_ascii_alphabetic() => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                InTok::Ident(&self.s[start..self.pos])
            }
            ',' => {
                self.pos += 1;
                InTok::Comma
            }
            '"' | '\'' | '`' => {
                let (raw, value) = self.string()?;
                InTok::Str(raw, value)
            }
            '=' => {
                self.pos += 1;
                if self.peek() == Some('~') {
                    self.pos += 1;
                    InTok::Op("=~")
                } else {
                    InTok::Eql
                }
            }
            '!' => {
                self.pos += 1;
                match self.peek() {
                    Some('~') => {
                        self.pos += 1;
                        InTok::Op("!~")
                    }
                    Some('=') => {
                        self.pos += 1;
                        InTok::Op("!=")
                    }
                    other => {
                        let shown = other.map_or_else(|| "'\\uffff'".to_string(), go_quote_rune);
                        return self.err(
                            at,
                            format!("unexpected character after '!' inside braces: {shown}"),
                        );
                    }
                }
            }
            '{' => return self.err(at, "unexpected left brace '{'"),
            '}' => {
                self.pos += 1;
                InTok::RBrace
            }
            c => {
                return self.err(
                    at,
                    format!("unexpected character inside braces: {}", go_quote_rune(c)),
                );
            }
        };
        Ok((at, tok))
    }

    /// A quoted string at `pos` (its opening quote not consumed): the raw text and the
    /// unquoted value. Octal and `\x` escapes give bytes, so the value is built as bytes and
    /// any invalid UTF-8 they make is replaced.
    fn string(&mut self) -> PResult<(&'a str, String)> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let quote = bytes[start];
        let mut i = start + 1;
        let mut val: Vec<u8> = Vec::new();
        if quote == b'`' {
            loop {
                let Some(c) = self.s[i..].chars().next() else {
                    return self.err(start, "unterminated raw string");
                };
                if c == '\u{fffd}' {
                    return self.err(start, "invalid UTF-8 rune");
                }
                i += c.len_utf8();
                if c == '`' {
                    break;
                }
                let mut b = [0u8; 4];
                val.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        } else {
            loop {
                let Some(c) = self.s[i..].chars().next() else {
                    return self.err(start, "unterminated quoted string");
                };
                i += c.len_utf8();
                match c {
                    '\n' => return self.err(start, "unterminated quoted string"),
                    '\u{fffd}' => return self.err(start, "invalid UTF-8 rune"),
                    '\\' => {
                        i = self.escape(start, i, quote as char, &mut val)?;
                    }
                    c if c as u32 == u32::from(quote) => break,
                    c => {
                        let mut b = [0u8; 4];
                        val.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                    }
                }
            }
        }
        self.pos = i;
        let value = match String::from_utf8(val) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok((&self.s[start..i], value))
    }

    /// One escape after a backslash at `i`; returns the position after it.
    fn escape(&self, start: usize, mut i: usize, quote: char, val: &mut Vec<u8>) -> PResult<usize> {
        let Some(c) = self.s[i..].chars().next() else {
            return self.err(start, "escape sequence not terminated");
        };
        i += c.len_utf8();
        let simple = match c {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            val.push(b);
            return Ok(i);
        }
        let (n, base, max, first) = match c {
            '0'..='7' => (3, 8, 255u32, Some(c)),
            'x' => (2, 16, 255, None),
            'u' => (4, 16, 0x10ffff, None),
            'U' => (8, 16, 0x10ffff, None),
            c => return self.err(start, format!("unknown escape sequence {}", go_unicode(c))),
        };
        let mut x: u32 = 0;
        let mut digits = 0;
        let mut pending = first;
        while digits < n {
            let d = match pending.take() {
                Some(d) => d,
                None => {
                    let Some(d) = self.s[i..].chars().next() else {
                        return self.err(start, "escape sequence not terminated");
                    };
                    i += d.len_utf8();
                    d
                }
            };
            let Some(v) = d.to_digit(16).filter(|&v| v < base) else {
                return self.err(
                    start,
                    format!("illegal character {} in escape sequence", go_unicode(d)),
                );
            };
            x = x * base + v;
            digits += 1;
        }
        if x > max || (0xd800..0xe000).contains(&x) {
            return self.err(start, "escape sequence is an invalid Unicode code point");
        }
        if c == 'u' || c == 'U' {
            let ch = char::from_u32(x).unwrap_or('\u{fffd}');
            let mut b = [0u8; 4];
            val.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
        } else {
            val.push(x as u8);
        }
        Ok(i)
    }
}

enum InTok<'a> {
    Ident(&'a str),
    Str(&'a str, String),
    Comma,
    Eql,
    RBrace,
    Op(&'static str),
}

impl InTok<'_> {
    fn desc(&self) -> String {
        match self {
            InTok::Ident(s) => Tok::Ident(s).desc(),
            InTok::Str(raw, _) => Tok::Str(raw).desc(),
            InTok::Comma => Tok::Punct(",").desc(),
            InTok::Eql => Tok::Punct("=").desc(),
            InTok::RBrace => Tok::Punct("}").desc(),
            InTok::Op(o) => Tok::Op(o).desc(),
        }
    }
}

/// Close to Go's `unicode.IsPrint` for the characters that matter in messages.
fn is_print(c: char) -> bool {
    !c.is_control() && (c == ' ' || !c.is_whitespace()) && c != '\u{fffd}' && c != '\u{feff}'
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%.10q...` for long token texts.
fn go_quote_trunc(s: &str) -> String {
    if s.chars().count() > 10 {
        let head: String = s.chars().take(10).collect();
        format!("{}...", go_quote(&head))
    } else {
        go_quote(s)
    }
}

/// Go's `strconv.QuoteRune`.
fn go_quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U`: `U+0078 'x'`, or just `U+000A` when not printable.
fn go_unicode(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<(String, String)> {
        parse_label_set(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn accepts_what_prometheus_metric_syntax_accepts() {
        assert_eq!(ok(r#"{a="b", c="d"}"#), pairs(&[("a", "b"), ("c", "d")]));
        assert_eq!(
            ok(r#"  {a = 'b' ,c=`d\n`,}  "#),
            pairs(&[("a", "b"), ("c", "d\\n")])
        );
        assert_eq!(ok("{}"), pairs(&[]));
        assert_eq!(ok(""), pairs(&[]));
        assert_eq!(
            ok(r#"up{job="x"}"#),
            pairs(&[("__name__", "up"), ("job", "x")])
        );
        assert_eq!(ok("ns:metric"), pairs(&[("__name__", "ns:metric")]));
        assert_eq!(
            ok(r#"{"service.name"="api", "my metric"}"#),
            pairs(&[("service.name", "api"), ("__name__", "my metric")])
        );
        // Keywords are plain names inside braces.
        assert_eq!(
            ok(r#"{by="1", on="2"}"#),
            pairs(&[("by", "1"), ("on", "2")])
        );
    }

    #[test]
    fn go_escapes() {
        assert_eq!(
            ok(r#"{a="tab\there \"q\" \\ \u00e9 \U0001F600 \x41\101 \a\v"}"#)[0].1,
            "tab\there \"q\" \\ é 😀 AA \u{7}\u{b}"
        );
        assert_eq!(ok(r#"{a='it\'s'}"#)[0].1, "it's");
        // Octal/hex escapes are bytes: two of them may make one character.
        assert_eq!(ok(r#"{a="\xc3\xa9"}"#)[0].1, "é");
        assert_eq!(ok(r#"{a="\xff"}"#)[0].1, "\u{fffd}");
    }

    #[test]
    fn errors_read_like_the_prometheus_parser() {
        // The two texts pinned by Loki's own tests.
        let cases = [
            (r#"{ab""#, r#"1:4: parse error: unterminated quoted string"#),
            (
                "{",
                "1:2: parse error: unexpected end of input inside braces",
            ),
            (
                r#"{a="b""#,
                "1:7: parse error: unexpected end of input inside braces",
            ),
            (
                r#"{a.b="c"}"#,
                "1:3: parse error: unexpected character inside braces: '.'",
            ),
            (
                r#"{a=b}"#,
                r#"1:4: parse error: unexpected identifier "b" in label set, expected string"#,
            ),
            (
                r#"{a="1" b="2"}"#,
                r#"1:8: parse error: unexpected identifier "b" in label set, expected "," or "}""#,
            ),
            (
                r#"{a=~"1"}"#,
                r#"1:3: parse error: unexpected <op:=~> in label set, expected "=""#,
            ),
            (
                r#"{,}"#,
                r#"1:2: parse error: unexpected "," in label set, expected identifier or "}""#,
            ),
            (
                r#"{a="1",,}"#,
                r#"1:8: parse error: unexpected "," in label set, expected identifier or "}""#,
            ),
            ("{{", "1:2: parse error: unexpected left brace '{'"),
            (
                r#"{a!x}"#,
                "1:3: parse error: unexpected character after '!' inside braces: 'x'",
            ),
            (
                r#"{a="\q"}"#,
                "1:4: parse error: unknown escape sequence U+0071 'q'",
            ),
            (
                r#"{a="\xZZ"}"#,
                "1:4: parse error: illegal character U+005A 'Z' in escape sequence",
            ),
            (
                r#"{a="\uD800"}"#,
                "1:4: parse error: escape sequence is an invalid Unicode code point",
            ),
            ("{a=`b", "1:4: parse error: unterminated raw string"),
            (
                "{a=\"b\nc\"}",
                "1:4: parse error: unterminated quoted string",
            ),
            (
                r#"{a="b"} x"#,
                r#"1:9: parse error: unexpected identifier "x""#,
            ),
            (r#"{a="b"}}"#, "1:8: parse error: unexpected character: '}'"),
            (
                r#"{a="b"})"#,
                "1:8: parse error: unexpected right parenthesis ')'",
            ),
            (
                r#"{a="b"} 12"#,
                r#"1:9: parse error: unexpected number "12""#,
            ),
            (r#"{a="b"},"#, r#"1:8: parse error: unexpected ",""#),
            (
                "  \n {a=1}",
                "2:5: parse error: unexpected character inside braces: '1'",
            ),
            (
                r#"foo bar"#,
                r#"1:5: parse error: unexpected identifier "bar""#,
            ),
            ("{a=\"\u{fffd}\"}", "1:4: parse error: invalid UTF-8 rune"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_label_set(input).unwrap_err(), want, "{input:?}");
        }
    }

    #[test]
    fn formats_like_loki_label_sets() {
        assert_eq!(
            format_label_set(&[("z", "1"), ("a", "q\"\n")]),
            r#"{a="q\"\n", z="1"}"#
        );
        assert!(
            is_bare_label_name("_a1") && !is_bare_label_name("1a") && !is_bare_label_name("a.b")
        );
        assert!(!is_bare_label_name(""));
    }
}
