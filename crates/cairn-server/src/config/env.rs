//! `${VAR}` substitution in a config file's text, before YAML parsing.

/// Replaces every `${NAME}` in `text` with `lookup(NAME)`; `$${` stands for a literal `${`.
/// A `$` not followed by `{` is kept as is. Errors name the missing or malformed variable.
pub(crate) fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {:?}", truncate(&rest[i..], 40)))?;
            let name = &body[..end];
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "invalid environment variable name {name:?} in ${{{name}}}"
                ));
            }
            let value = lookup(name).ok_or_else(|| {
                format!("environment variable {name} is not set (used as ${{{name}}})")
            })?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "BUCKET" => Some("metrics".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_escapes() {
        assert_eq!(substitute("b: ${BUCKET}", &env).unwrap(), "b: metrics");
        assert_eq!(
            substitute("${BUCKET}-${EMPTY}x", &env).unwrap(),
            "metrics-x"
        );
        assert_eq!(substitute("p: $${BUCKET}", &env).unwrap(), "p: ${BUCKET}");
        assert_eq!(substitute("cost: $5 $", &env).unwrap(), "cost: $5 $");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = substitute("k: ${NOPE_VAR}", &env).unwrap_err();
        assert!(e.contains("NOPE_VAR"), "{e}");
        assert!(
            substitute("k: ${BUCKET", &env)
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(substitute("k: ${A-B}", &env).unwrap_err().contains("A-B"));
    }
}
