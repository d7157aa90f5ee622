//! Loki's pattern expressions: literals and `<name>` captures (`<_>` captures nothing), used
//! by the `| pattern` parser and the `|>` / `!>` line filters.

/// A piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Capture(String),
    Literal(String),
}

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    nodes: Vec<Node>,
    names: Vec<String>,
}

fn parse_nodes(input: &str) -> Result<Vec<Node>, String> {
    if input.is_empty() {
        return Err(
            "parse error at line 1, col 1: syntax error: unexpected $end, expecting IDENTIFIER or LITERAL"
                .into(),
        );
    }
    let b = input.as_bytes();
    let mut nodes: Vec<Node> = Vec::new();
    let mut i = 0;
    let mut lit = String::new();
    while i < b.len() {
        if b[i] == b'<' {
            let start = i + 1;
            let mut j = start;
            if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
                j += 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'>' {
                    if !lit.is_empty() {
                        nodes.push(Node::Literal(std::mem::take(&mut lit)));
                    }
                    nodes.push(Node::Capture(input[start..j].to_string()));
                    i = j + 1;
                    continue;
                }
            }
        }
        let c = input[i..].chars().next().unwrap_or('\u{fffd}');
        lit.push(c);
        i += c.len_utf8();
    }
    if !lit.is_empty() {
        nodes.push(Node::Literal(lit));
    }
    Ok(nodes)
}

fn no_consecutive_captures(nodes: &[Node]) -> Result<(), String> {
    for w in nodes.windows(2) {
        if let (Node::Capture(a), Node::Capture(b)) = (&w[0], &w[1]) {
            return Err(format!(
                "found consecutive capture '<{a}><{b}>': invalid expression"
            ));
        }
    }
    Ok(())
}

impl Pattern {
    /// A pattern for the `| pattern` parser: at least one named capture, no two captures in
    /// a row, names unique.
    pub(crate) fn parse(input: &str) -> Result<Pattern, String> {
        let nodes = parse_nodes(input)?;
        let names: Vec<String> = nodes
            .iter()
            .filter_map(|n| match n {
                Node::Capture(c) if c != "_" => Some(c.clone()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return Err("at least one capture is required".into());
        }
        no_consecutive_captures(&nodes)?;
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(format!("duplicate capture name ({n}): invalid expression"));
            }
        }
        Ok(Pattern { nodes, names })
    }

    /// A pattern for the `|>` and `!>` line filters: only `<_>` captures.
    pub(crate) fn parse_filter(input: &str) -> Result<Pattern, String> {
        if input.is_empty() {
            return Ok(Pattern {
                nodes: Vec::new(),
                names: Vec::new(),
            });
        }
        let nodes = parse_nodes(input)?;
        no_consecutive_captures(&nodes)?;
        for n in &nodes {
            if let Node::Capture(c) = n
                && c != "_"
            {
                return Err(format!("named captures are not allowed: found '<{c}>'"));
            }
        }
        Ok(Pattern {
            nodes,
            names: Vec::new(),
        })
    }

    /// The capture names, in order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The values of the named captures in `line`, in order; fewer than the names when the
    /// line ends early, none when the leading literal does not match.
    pub(crate) fn matches<'a>(&self, line: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        if line.is_empty() || self.nodes.is_empty() {
            return out;
        }
        let mut rest = line;
        let mut nodes = &self.nodes[..];
        if let Some(Node::Literal(l)) = nodes.first() {
            if !rest.starts_with(l.as_str()) {
                return out;
            }
            rest = &rest[l.len()..];
            nodes = &nodes[1..];
        }
        if nodes.is_empty() {
            return out;
        }
        while !nodes.is_empty() {
            let Node::Capture(c) = &nodes[0] else {
                return out;
            };
            let named = c != "_";
            let Some(Node::Literal(l)) = nodes.get(1) else {
                if named {
                    out.push(rest);
                }
                return out;
            };
            nodes = &nodes[2..];
            match memchr::memmem::find(rest.as_bytes(), l.as_bytes()) {
                None => {
                    if named {
                        out.push(rest);
                    }
                    return out;
                }
                Some(i) => {
                    if named {
                        out.push(&rest[..i]);
                    }
                    rest = &rest[i + l.len()..];
                }
            }
        }
        out
    }

    /// Whether `line` matches the whole pattern (the line filter test).
    pub(crate) fn test(&self, line: &str) -> bool {
        if line.is_empty() || self.nodes.is_empty() {
            return line.is_empty() && self.nodes.is_empty();
        }
        let b = line.as_bytes();
        let mut off = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(l) = n else { continue };
            let Some(j) = memchr::memmem::find(&b[off..], l.as_bytes()) else {
                return false;
            };
            if i != 0 && j == 0 {
                return false;
            }
            off += j + l.len();
        }
        let req_rem = matches!(self.nodes.last(), Some(Node::Capture(_)));
        req_rem == (off != b.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_in_order() {
        let p = Pattern::parse("<ip> - - [<_>] \"<method> <uri> <_>\" <status>").unwrap();
        assert_eq!(p.names(), ["ip", "method", "uri", "status"]);
        let line = r#"1.2.3.4 - - [10/Oct/2000:13:55:36] "GET /a HTTP/1.0" 200"#;
        assert_eq!(p.matches(line), ["1.2.3.4", "GET", "/a", "200"]);
    }

    #[test]
    fn refuses_bad_patterns() {
        assert_eq!(
            Pattern::parse("<a><b>").unwrap_err(),
            "found consecutive capture '<a><b>': invalid expression"
        );
        assert_eq!(
            Pattern::parse("foo").unwrap_err(),
            "at least one capture is required"
        );
        assert_eq!(
            Pattern::parse("<a> <a>").unwrap_err(),
            "duplicate capture name (a): invalid expression"
        );
        assert!(Pattern::parse_filter("<a> x").is_err());
    }

    #[test]
    fn line_filter_test() {
        let p = Pattern::parse_filter("<_> level=error <_>").unwrap();
        assert!(p.test("ts=1 level=error msg=x"));
        assert!(!p.test("ts=1 level=info msg=x"));
        let p = Pattern::parse_filter("GET <_>").unwrap();
        assert!(p.test("GET /x"));
        // As in Loki, a leading literal is not anchored at the start of the line.
        assert!(p.test("POST GET /x"));
        assert!(!p.test("GET "));
    }
}
