//! Record accessors as Fluent Bit's `loki` output takes them: `$key`, `$key['sub'][0]`, the
//! tag (`$TAG`, `$TAG[n]`) inside value templates, and, for convenience, dotted paths
//! (`kubernetes.namespace_name`).

use std::fmt::Write as _;

use crate::logs::FieldValue;

/// One step of an accessor path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A path into a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Accessor {
    /// The path as Fluent Bit reads it.
    pub(crate) path: Vec<Seg>,
    /// For `$a.b` (one Fluent Bit key holding dots): the nested reading `a` → `b`, tried
    /// when the record has no key `a.b`.
    pub(crate) dotted: Option<Vec<Seg>>,
}

impl Accessor {
    /// Parses `$key['sub'][0]` (Fluent Bit) or a dotted path without `$`.
    pub(crate) fn parse(s: &str) -> Result<Accessor, String> {
        let s = s.trim();
        let Some(body) = s.strip_prefix('$') else {
            if s.is_empty() || s.split('.').any(str::is_empty) {
                return Err(format!("invalid key path {s:?}"));
            }
            return Ok(Accessor {
                path: s.split('.').map(|k| Seg::Key(k.to_string())).collect(),
                dotted: None,
            });
        };
        let b = body.as_bytes();
        let first_ok = b
            .first()
            .is_some_and(|&c| c == b'_' || c.is_ascii_alphabetic());
        if !first_ok {
            return Err(format!(
                "invalid record accessor {s:?}: the key must start with a letter or '_'"
            ));
        }
        let mut i = 0;
        while i < b.len()
            && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-' | b'/'))
        {
            i += 1;
        }
        let key = &body[..i];
        let mut path = vec![Seg::Key(key.to_string())];
        let mut rest = &body[i..];
        while !rest.is_empty() {
            let Some(inner) = rest.strip_prefix('[') else {
                return Err(format!(
                    "invalid record accessor {s:?}: unexpected {rest:?}"
                ));
            };
            if let Some(q) = inner.strip_prefix('\'') {
                // A quoted subkey; '' stands for one quote.
                let mut sub = String::new();
                let mut chars = q.char_indices().peekable();
                let mut end = None;
                while let Some((j, c)) = chars.next() {
                    if c == '\'' {
                        if chars.peek().map(|&(_, c)| c) == Some('\'') {
                            sub.push('\'');
                            chars.next();
                        } else {
                            end = Some(j);
                            break;
                        }
                    } else {
                        sub.push(c);
                    }
                }
                let Some(j) = end else {
                    return Err(format!("invalid record accessor {s:?}: unterminated quote"));
                };
                let after = &q[j + 1..];
                let Some(after) = after.strip_prefix(']') else {
                    return Err(format!("invalid record accessor {s:?}: expected ']'"));
                };
                path.push(Seg::Key(sub));
                rest = after;
            } else {
                let Some(close) = inner.find(']') else {
                    return Err(format!("invalid record accessor {s:?}: expected ']'"));
                };
                let n: usize = inner[..close].trim().parse().map_err(|_| {
                    format!(
                        "invalid record accessor {s:?}: bad index {:?}",
                        &inner[..close]
                    )
                })?;
                path.push(Seg::Index(n));
                rest = &inner[close + 1..];
            }
        }
        let dotted = (key.contains('.') && !key.split('.').any(str::is_empty)).then(|| {
            let mut d: Vec<Seg> = key.split('.').map(|k| Seg::Key(k.to_string())).collect();
            d.extend(path[1..].iter().cloned());
            d
        });
        Ok(Accessor { path, dotted })
    }

    /// The value at this path, if the record has it.
    pub(crate) fn get<'r>(&self, fields: &'r [(String, FieldValue)]) -> Option<&'r FieldValue> {
        lookup(fields, &self.path).or_else(|| self.dotted.as_ref().and_then(|d| lookup(fields, d)))
    }

    /// Fluent Bit's label name for `$key['a'][0]`: `key_a_0`, then sanitised.
    pub(crate) fn label_name(&self) -> String {
        let mut name = String::new();
        for (i, s) in self.path.iter().enumerate() {
            if i > 0 {
                name.push('_');
            }
            match s {
                Seg::Key(k) => name.push_str(k),
                Seg::Index(n) => {
                    let _ = write!(name, "{n}");
                }
            }
        }
        sanitize_label_name(&name)
    }

    /// Removes the value at this path from the record (what `remove_keys` does).
    pub(crate) fn remove(&self, fields: &mut Vec<(String, FieldValue)>) {
        if !remove_path(fields, &self.path)
            && let Some(d) = &self.dotted
        {
            remove_path(fields, d);
        }
    }
}

fn lookup<'r>(fields: &'r [(String, FieldValue)], path: &[Seg]) -> Option<&'r FieldValue> {
    let (Seg::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut v = fields
        .iter()
        .rev()
        .find(|(k, _)| k == first)
        .map(|(_, v)| v)?;
    for s in rest {
        v = match (s, v) {
            (Seg::Key(k), FieldValue::Map(m)) => {
                m.iter().rev().find(|(mk, _)| mk == k).map(|(_, v)| v)?
            }
            (Seg::Index(i), FieldValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn remove_path(fields: &mut Vec<(String, FieldValue)>, path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => {
            let before = fields.len();
            fields.retain(|(fk, _)| fk != k);
            fields.len() != before
        }
        [Seg::Key(k), rest @ ..] => fields
            .iter_mut()
            .filter(|(fk, _)| fk == k)
            .fold(false, |done, (_, v)| remove_in(v, rest) || done),
        _ => false,
    }
}

fn remove_in(v: &mut FieldValue, path: &[Seg]) -> bool {
    match (v, path) {
        (FieldValue::Map(m), [Seg::Key(_), ..]) => remove_path(m, path),
        (FieldValue::Array(a), [Seg::Index(i)]) if *i < a.len() => {
            a.remove(*i);
            true
        }
        (FieldValue::Array(a), [Seg::Index(i), rest @ ..]) => match a.get_mut(*i) {
            Some(x) => remove_in(x, rest),
            None => false,
        },
        _ => false,
    }
}

/// Fluent Bit's `pack_label_key`: a leading digit gets a `_` in front, anything but ASCII
/// letters, digits and `_` becomes `_`.
pub(crate) fn sanitize_label_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.push('_');
    }
    out.extend(s.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// A value as Fluent Bit's record accessor renders it into text (`ra_translate_keymap`):
/// strings as they are, integers in decimal, floats with `%f`, booleans, `null`, bytes in
/// hex, maps as JSON; arrays render as nothing.
pub(crate) fn value_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Str(s) => s.clone(),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::UInt(u) => u.to_string(),
        FieldValue::Float(f) => format!("{f:.6}"),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Null => "null".into(),
        FieldValue::Bin(b) => b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        }),
        FieldValue::Map(_) => {
            let mut s = String::new();
            super::line::write_json(&mut s, v, true);
            s
        }
        FieldValue::Array(_) => String::new(),
    }
}

/// A piece of a value template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(String),
    Field(Accessor),
    Tag,
    TagAt(usize),
}

/// A value template: literal text with `$accessor`, `$TAG` and `$TAG[n]` in it. As in
/// Fluent Bit, an accessor ends at `.`, space, `,` or `"` outside its quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) parts: Vec<Part>,
}

impl Template {
    pub(crate) fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' || i + 1 >= b.len() {
                let c = s[i..].chars().next().unwrap_or('$');
                lit.push(c);
                i += c.len_utf8();
                continue;
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            if s[i + 1..].starts_with("TAG") {
                let after = &s[i + 4..];
                if let Some(inner) = after.strip_prefix('[')
                    && let Some(close) = inner.find(']')
                {
                    let n = inner[..close]
                        .trim()
                        .parse()
                        .map_err(|_| format!("invalid tag part in {s:?}"))?;
                    parts.push(Part::TagAt(n));
                    i += 4 + close + 2;
                } else {
                    parts.push(Part::Tag);
                    i += 4;
                }
                continue;
            }
            let mut end = i + 1;
            let mut quotes = 0;
            while end < b.len() {
                match b[end] {
                    b'\'' => quotes += 1,
                    b'.' if quotes % 2 == 1 => {}
                    b'.' | b' ' | b',' | b'"' => break,
                    _ => {}
                }
                end += 1;
            }
            parts.push(Part::Field(Accessor::parse(&s[i..end])?));
            i = end;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// The accessors the template reads (for the keys removed from the line).
    pub(crate) fn accessors(&self) -> impl Iterator<Item = &Accessor> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(a) => Some(a),
            _ => None,
        })
    }

    /// The text for a record; missing fields render as nothing.
    pub(crate) fn render(&self, fields: &[(String, FieldValue)], tag: Option<&str>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(a) => {
                    if let Some(v) = a.get(fields) {
                        out.push_str(&value_text(v));
                    }
                }
                Part::Tag => out.push_str(tag.unwrap_or("")),
                Part::TagAt(n) => {
                    if let Some(t) = tag {
                        // A tag without dots is its own part 0, as in Fluent Bit.
                        if let Some(part) = t.split('.').nth(*n) {
                            out.push_str(part);
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::FieldValue as V;

    fn rec() -> Vec<(String, V)> {
        vec![
            ("log".into(), V::Str("hello".into())),
            (
                "kubernetes".into(),
                V::Map(vec![
                    ("namespace_name".into(), V::Str("prod".into())),
                    (
                        "labels".into(),
                        V::Map(vec![("app".into(), V::Str("shop".into()))]),
                    ),
                    ("ports".into(), V::Array(vec![V::Int(80), V::Int(443)])),
                ]),
            ),
            ("a.b".into(), V::Str("literal".into())),
            ("n".into(), V::Float(1.5)),
        ]
    }

    #[test]
    fn paths() {
        let r = rec();
        let get = |s: &str| Accessor::parse(s).unwrap().get(&r).cloned();
        assert_eq!(
            get("$kubernetes['namespace_name']"),
            Some(V::Str("prod".into()))
        );
        assert_eq!(
            get("kubernetes.namespace_name"),
            Some(V::Str("prod".into()))
        );
        assert_eq!(
            get("$kubernetes.namespace_name"),
            Some(V::Str("prod".into()))
        );
        assert_eq!(get("$kubernetes['ports'][1]"), Some(V::Int(443)));
        assert_eq!(get("$a.b"), Some(V::Str("literal".into())));
        assert_eq!(get("$kubernetes['missing']"), None);
        assert_eq!(
            Accessor::parse("$kubernetes['labels']['app']")
                .unwrap()
                .label_name(),
            "kubernetes_labels_app"
        );
        assert_eq!(
            Accessor::parse("$kubernetes.namespace_name")
                .unwrap()
                .label_name(),
            "kubernetes_namespace_name"
        );
        assert_eq!(
            Accessor::parse("$k['it''s']").unwrap().path[1],
            Seg::Key("it's".into())
        );
        for bad in ["$1abc", "$", "$a[", "$a['x'", "$a[x]", "a..b", ""] {
            assert!(Accessor::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(sanitize_label_name("9lives.x-y"), "_9lives_x_y");
    }

    #[test]
    fn removal() {
        let mut r = rec();
        Accessor::parse("$kubernetes['labels']")
            .unwrap()
            .remove(&mut r);
        Accessor::parse("n").unwrap().remove(&mut r);
        Accessor::parse("$kubernetes['ports'][0]")
            .unwrap()
            .remove(&mut r);
        let k = &r[1].1;
        assert_eq!(k.get("labels"), None);
        assert_eq!(k.get("ports"), Some(&V::Array(vec![V::Int(443)])));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn templates() {
        let r = rec();
        let t = Template::parse("ns-$kubernetes['namespace_name'].$TAG[1]/$TAG n=$n").unwrap();
        assert_eq!(
            t.render(&r, Some("kube.var.log")),
            "ns-prod.var/kube.var.log n=1.500000"
        );
        assert_eq!(
            Template::parse("$TAG[0]")
                .unwrap()
                .render(&r, Some("nodots")),
            "nodots"
        );
        assert_eq!(
            Template::parse("static").unwrap().parts,
            vec![Part::Lit("static".into())]
        );
        assert_eq!(value_text(&V::Bin(vec![0xde, 0xad])), "dead");
        assert_eq!(
            value_text(&V::Map(vec![("é".into(), V::Int(1))])),
            r#"{"\u00e9":1}"#
        );
        assert_eq!(value_text(&V::Array(vec![V::Int(1)])), "");
    }
}
