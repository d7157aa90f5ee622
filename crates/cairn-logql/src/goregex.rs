//! Go's RE2 semantics on Rust's `regex`: the two engines share their syntax, but Rust gives the
//! Perl classes `\d`, `\w`, `\s` and the word boundaries `\b`, `\B` their Unicode meaning where Go
//! keeps them ASCII. LogQL's regular expressions are Go's, so every pattern of a line filter,
//! label filter or parser goes through [`compile`], which rewrites those escapes to their ASCII
//! forms before compiling.

use crate::syntax::go_regex_error;

/// Compiles a Go regular expression (unanchored); errors are Go's texts.
pub(crate) fn compile(pattern: &str) -> Result<regex::Regex, String> {
    let translated = translate(pattern);
    regex::Regex::new(&translated).map_err(|e| go_regex_error(pattern, &e))
}

/// Compiles a Go regular expression anchored at both ends, as Loki anchors label filters:
/// `^(?:pattern)$`.
pub(crate) fn compile_anchored(pattern: &str) -> Result<regex::Regex, String> {
    let translated = format!("^(?:{})$", translate(pattern));
    regex::Regex::new(&translated).map_err(|e| go_regex_error(pattern, &e))
}

/// Rewrites the Perl classes and word boundaries of `pattern` to their ASCII meaning; the rest is
/// copied unchanged (a malformed pattern stays malformed, so the compiler reports it).
pub(crate) fn translate(pattern: &str) -> String {
    if !pattern.contains('\\') {
        return pattern.to_owned();
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // Depth of `[...]` nesting (Rust allows nested classes; Go does not, but a `[` inside a
    // class is then a literal for Go and a nested class for Rust: both end at the same `]` for
    // the patterns Go accepts).
    let mut class_depth = 0usize;
    // Right after `[` or `[^`, a `]` is a literal.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = if class_depth > 0 {
                    match n {
                        'd' => Some("[:digit:]"),
                        'D' => Some("[:^digit:]"),
                        'w' => Some("[:word:]"),
                        'W' => Some("[:^word:]"),
                        's' => Some(r"\t\n\f\r "),
                        'S' => Some("[:^space:]"),
                        _ => None,
                    }
                } else {
                    match n {
                        'd' => Some("[0-9]"),
                        'D' => Some("[^0-9]"),
                        'w' => Some("[0-9A-Za-z_]"),
                        'W' => Some("[^0-9A-Za-z_]"),
                        's' => Some(r"[\t\n\f\r ]"),
                        'S' => Some(r"[^\t\n\f\r ]"),
                        'b' => Some(r"(?-u:\b)"),
                        'B' => Some(r"(?-u:\B)"),
                        _ => None,
                    }
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' => {
                if class_depth > 0 && !class_start && chars.peek() == Some(&':') {
                    // A POSIX class `[:alpha:]` inside a bracket expression.
                    out.push('[');
                    for d in chars.by_ref() {
                        out.push(d);
                        if d == ']' {
                            break;
                        }
                    }
                    continue;
                }
                class_depth += 1;
                out.push('[');
                class_start = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                continue;
            }
            ']' if class_depth > 0 && !class_start => {
                class_depth -= 1;
                out.push(']');
            }
            c => out.push(c),
        }
        class_start = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"), "Arabic-Indic digits are not \\d in Go");
        let re = compile(r"^\w+$").unwrap();
        assert!(re.is_match("a_1"));
        assert!(!re.is_match("é"));
        let re = compile(r"^[\d\s]+$").unwrap();
        assert!(re.is_match("1 2\t3"));
        assert!(!re.is_match("1\u{a0}2"));
        let re = compile(r"\bfoo\b").unwrap();
        assert!(re.is_match("a foo b"));
        assert!(
            re.is_match("éfooé"),
            "é is not a word character for Go's \\b"
        );
    }

    #[test]
    fn literals_and_classes_survive() {
        assert_eq!(translate(r"a\.b"), r"a\.b");
        assert_eq!(translate(r"[]\d]"), r"[][:digit:]]");
        assert_eq!(translate(r"[[:alpha:]\w]"), r"[[:alpha:][:word:]]");
        assert!(compile(r"[^\]x]").unwrap().is_match("y"));
    }

    #[test]
    fn anchored_and_errors() {
        let re = compile_anchored("fo+").unwrap();
        assert!(re.is_match("foo"));
        assert!(!re.is_match("xfoo"));
        assert!(
            compile("(")
                .unwrap_err()
                .starts_with("error parsing regexp")
        );
    }
}
