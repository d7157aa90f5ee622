//! Alertmanager's label matcher grammar: `{a="b", c=~"d.*"}`, braces optional, names and
//! values quoted Go-style or bare, as `amtool` and `matchers:` lists accept them.

use std::collections::BTreeMap;

use cairn_model::{Labels, MatchOp, Matcher};

use crate::error::{Error, Result};

/// Parses a matcher list such as `{job="api",severity=~"page|critical"}` or `env=prod`.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>> {
    let err = |reason: &str| Error::Matcher {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let mut s = input.trim();
    if let Some(rest) = s.strip_prefix('{') {
        s = rest
            .strip_suffix('}')
            .ok_or_else(|| err("missing closing '}'"))?
            .trim();
    } else if s.ends_with('}') {
        return Err(err("missing opening '{'"));
    }
    let chars: Vec<char> = s.chars().collect();
    let mut p = Parser { chars, pos: 0 };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.at_end() {
            break;
        }
        let name = if p.peek() == Some('"') {
            p.quoted().map_err(|r| err(&r))?
        } else {
            let start = p.pos;
            while let Some(c) = p.peek() {
                if c.is_alphanumeric() || c == '_' || c == ':' || c == '.' {
                    p.pos += 1;
                } else {
                    break;
                }
            }
            p.chars[start..p.pos].iter().collect()
        };
        if name.is_empty() {
            return Err(err("expected a label name"));
        }
        p.skip_ws();
        let op = if p.eat("=~") {
            MatchOp::Regex
        } else if p.eat("!~") {
            MatchOp::NotRegex
        } else if p.eat("!=") {
            MatchOp::NotEqual
        } else if p.eat("=") {
            MatchOp::Equal
        } else {
            return Err(err(&format!(
                "expected one of =, !=, =~, !~ after label name {name:?}"
            )));
        };
        p.skip_ws();
        let value = if p.peek() == Some('"') {
            p.quoted().map_err(|r| err(&r))?
        } else {
            let start = p.pos;
            while let Some(c) = p.peek() {
                if c == ',' {
                    break;
                }
                p.pos += 1;
            }
            let v: String = p.chars[start..p.pos].iter().collect();
            let v = v.trim_end().to_string();
            if v.contains('"') {
                return Err(err("unquoted value contains '\"'"));
            }
            v
        };
        let m = Matcher::new(op, &name, &value).map_err(|e| err(&e.to_string()))?;
        out.push(m);
        p.skip_ws();
        if p.at_end() {
            break;
        }
        if !p.eat(",") {
            return Err(err(&format!("expected ',' after matcher on {name:?}")));
        }
    }
    Ok(out)
}

/// Matchers from the deprecated `match` and `match_re` maps.
pub(crate) fn from_maps(
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>> {
    let mut out: Vec<Matcher> = eq.iter().map(|(n, v)| Matcher::equal(n, v)).collect();
    for (n, v) in re {
        out.push(
            Matcher::new(MatchOp::Regex, n, v).map_err(|e| Error::Matcher {
                input: format!("{n}=~{v:?}"),
                reason: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

/// Parses every entry of a `matchers:` list; each entry may itself hold several matchers.
pub(crate) fn parse_list(list: &[String]) -> Result<Vec<Matcher>> {
    let mut out = Vec::new();
    for s in list {
        out.extend(parse_matchers(s)?);
    }
    Ok(out)
}

/// True when every matcher passes for `labels` (an absent label matches as `""`).
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

/// Alertmanager's rendering of a sorted matcher list, used in route and group keys.
pub(crate) fn matchers_key(matchers: &[Matcher]) -> String {
    let mut sorted: Vec<&Matcher> = matchers.iter().collect();
    sorted.sort_by(|a, b| {
        (a.name.as_str(), a.op.as_str(), a.value.as_str()).cmp(&(
            b.name.as_str(),
            b.op.as_str(),
            b.value.as_str(),
        ))
    });
    let parts: Vec<String> = sorted.iter().map(|m| m.to_string()).collect();
    format!("{{{}}}", parts.join(","))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        let n = token.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(token.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    /// A double-quoted string with Go escapes (and Rust's `\u{..}`, which our own
    /// rendering of matchers produces).
    fn quoted(&mut self) -> std::result::Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated quoted string")?;
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.pos += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' | '"' | '\'' => out.push(e),
                        'u' => out.push(self.unicode_escape()?),
                        other => return Err(format!("unknown escape \\{other}")),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn unicode_escape(&mut self) -> std::result::Result<char, String> {
        let braced = self.eat("{");
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) && (braced || self.pos - start < 4)
        {
            self.pos += 1;
        }
        let hex: String = self.chars[start..self.pos].iter().collect();
        if braced && !self.eat("}") {
            return Err("unterminated \\u{...} escape".to_string());
        }
        u32::from_str_radix(&hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("bad unicode escape \\u{hex}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(s: &str) -> Matcher {
        let v = parse_matchers(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn quoted_unquoted_and_braced() {
        assert_eq!(one(r#"a="b""#), Matcher::equal("a", "b"));
        assert_eq!(one("a=b"), Matcher::equal("a", "b"));
        assert_eq!(one(" a = hello world "), Matcher::equal("a", "hello world"));
        let m = one(r#"c=~"d.*""#);
        assert_eq!(m.op, MatchOp::Regex);
        assert!(m.matches("dxx") && !m.matches("xd"));
        let v = parse_matchers(r#"{job="api", severity!~"info|debug",env!=dev}"#).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].op, MatchOp::NotRegex);
        assert_eq!(v[2], Matcher::new(MatchOp::NotEqual, "env", "dev").unwrap());
        assert_eq!(
            one(r#""service.name"="a\"b\\c""#),
            Matcher::equal("service.name", "a\"b\\c")
        );
        assert!(parse_matchers("{}").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_input() {
        for bad in [
            "a",
            "{a=b",
            "a=b}",
            r#"a="b"#,
            "=b",
            r#"a=~"(""#,
            "a=b c=d\"",
        ] {
            let e = parse_matchers(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn key_is_sorted() {
        let v = parse_matchers(r#"b="2",a=~"1""#).unwrap();
        assert_eq!(matchers_key(&v), r#"{a=~"1",b="2"}"#);
    }

    proptest! {
        #[test]
        fn rendering_parses_back(
            name in "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
            value in "[ -~\u{e9}\u{2603}\n\t]{0,12}",
            op in 0..2usize,
        ) {
            let op = [MatchOp::Equal, MatchOp::NotEqual][op];
            let m = Matcher::new(op, &name, &value).unwrap();
            let back = parse_matchers(&format!("{{{m}}}")).unwrap();
            prop_assert_eq!(back, vec![m]);
        }
    }
}
