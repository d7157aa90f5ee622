//! Filter policies: which spans a processor counts, in Tempo's format. A policy has up to
//! three parts, each a list of conditions that must all hold: `include` (every include part
//! of every policy must match), `include_any` (any one matching part lets the span in, even
//! if an `include` fails) and `exclude` (a match keeps the span out, whatever else matched).
//! Conditions read the intrinsics `name`, `status` (`STATUS_CODE_ERROR`, ...) and `kind`
//! (`SPAN_KIND_SERVER`, ...) or attributes scoped `resource.` or `span.`; `strict` compares
//! values of the YAML type given (string, int, float, bool), `regex` searches the string form
//! of intrinsics and string attributes.

use regex::Regex;
use serde::Deserialize;

use cairn_model::{AttrValue, Attribute, Resource, Span};

/// One filter policy (Tempo's `filter_policies` entry).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterPolicy {
    /// Conditions every span counted must meet.
    pub include: Option<PolicyMatch>,
    /// Conditions that let a span in on their own.
    pub include_any: Option<PolicyMatch>,
    /// Conditions that keep a span out.
    pub exclude: Option<PolicyMatch>,
}

/// How a part compares values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchType {
    /// Equal values of the same type.
    #[default]
    Strict,
    /// A regular expression found in the string value.
    Regex,
}

/// One part of a policy: conditions that must all hold.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyMatch {
    /// `strict` or `regex`.
    pub match_type: MatchType,
    /// The conditions.
    pub attributes: Vec<PolicyAttribute>,
}

/// One condition: a key (`name`, `status`, `kind`, `resource.<attr>`, `span.<attr>`) and a
/// value.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAttribute {
    /// What is compared.
    pub key: String,
    /// What it is compared with.
    pub value: FilterValue,
}

/// A condition's value, typed as YAML gave it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (or a regular expression).
    String(String),
}

enum Intrinsic {
    Name,
    Status,
    Kind,
}

enum Test {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Regex(Regex),
}

enum Condition {
    Intrinsic(Intrinsic, Test),
    Resource(String, Test),
    Span(String, Test),
}

/// A part, compiled.
struct Part {
    conditions: Vec<Condition>,
}

/// Compiled filter policies.
#[derive(Default)]
pub(crate) struct SpanFilter {
    include: Vec<Part>,
    include_any: Vec<Part>,
    exclude: Vec<Part>,
}

fn compile_test(match_type: MatchType, value: &FilterValue) -> Result<Test, String> {
    Ok(match (match_type, value) {
        (MatchType::Regex, FilterValue::String(r)) => {
            Test::Regex(Regex::new(r).map_err(|e| format!("invalid regex {r:?}: {e}"))?)
        }
        (MatchType::Regex, v) => return Err(format!("regex value must be a string, got {v:?}")),
        (MatchType::Strict, FilterValue::String(s)) => Test::Str(s.clone()),
        (MatchType::Strict, FilterValue::Int(i)) => Test::Int(*i),
        (MatchType::Strict, FilterValue::Float(f)) => Test::Float(*f),
        (MatchType::Strict, FilterValue::Bool(b)) => Test::Bool(*b),
    })
}

fn compile_part(part: &PolicyMatch) -> Result<Part, String> {
    let mut conditions = Vec::with_capacity(part.attributes.len());
    for a in &part.attributes {
        let test = compile_test(part.match_type, &a.value)?;
        let c = match a.key.as_str() {
            "" => return Err("empty key".into()),
            "name" | "status" | "kind" => {
                let which = match a.key.as_str() {
                    "name" => Intrinsic::Name,
                    "status" => Intrinsic::Status,
                    _ => Intrinsic::Kind,
                };
                if let Test::Str(s) = &test {
                    let known = match which {
                        Intrinsic::Name => true,
                        Intrinsic::Status => cairn_model::StatusCode::from_name(s).is_some(),
                        Intrinsic::Kind => cairn_model::SpanKind::from_name(s).is_some(),
                    };
                    if !known {
                        return Err(format!("unsupported {} value {s:?}", a.key));
                    }
                } else if !matches!(test, Test::Regex(_)) {
                    return Err(format!("{} takes a string value", a.key));
                }
                Condition::Intrinsic(which, test)
            }
            k => {
                if let Some(name) = k.strip_prefix("resource.").filter(|n| !n.is_empty()) {
                    Condition::Resource(name.to_string(), test)
                } else if let Some(name) = k.strip_prefix("span.").filter(|n| !n.is_empty()) {
                    Condition::Span(name.to_string(), test)
                } else {
                    return Err(format!(
                        "unsupported key {k:?}: use name, status, kind, resource.<attribute> or span.<attribute>"
                    ));
                }
            }
        };
        conditions.push(c);
    }
    Ok(Part { conditions })
}

impl SpanFilter {
    /// Compiles `policies`, or says what is wrong with which one.
    pub(crate) fn new(policies: &[FilterPolicy]) -> Result<Self, (usize, String)> {
        let mut f = SpanFilter::default();
        for (i, p) in policies.iter().enumerate() {
            if p.include.is_none() && p.include_any.is_none() && p.exclude.is_none() {
                return Err((i, "a policy needs include, include_any or exclude".into()));
            }
            let parts = [
                (&p.include, &mut f.include, "include"),
                (&p.include_any, &mut f.include_any, "include_any"),
                (&p.exclude, &mut f.exclude, "exclude"),
            ];
            for (part, into, what) in parts {
                if let Some(part) = part {
                    into.push(compile_part(part).map_err(|e| (i, format!("{what}: {e}")))?);
                }
            }
        }
        Ok(f)
    }

    /// Whether the span is counted.
    pub(crate) fn accepts(&self, resource: &Resource, span: &Span) -> bool {
        if self.include.is_empty() && self.include_any.is_empty() && self.exclude.is_empty() {
            return true;
        }
        if self.exclude.iter().any(|p| p.matches(resource, span)) {
            return false;
        }
        if self.include_any.iter().any(|p| p.matches(resource, span)) {
            return true;
        }
        if !self.include.is_empty() {
            return self.include.iter().all(|p| p.matches(resource, span));
        }
        // Only include_any parts, none matched.
        self.include_any.is_empty()
    }
}

impl Part {
    fn matches(&self, resource: &Resource, span: &Span) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::Intrinsic(which, test) => intrinsic_matches(which, test, span),
            Condition::Resource(key, test) => attr_matches(&resource.attributes, key, test),
            Condition::Span(key, test) => attr_matches(&span.attributes, key, test),
        })
    }
}

fn intrinsic_matches(which: &Intrinsic, test: &Test, span: &Span) -> bool {
    let text = match which {
        Intrinsic::Name => span.name.as_str(),
        Intrinsic::Status => span.status.code.otlp_name(),
        Intrinsic::Kind => span.kind.otlp_name(),
    };
    match test {
        Test::Regex(r) => r.is_match(text),
        Test::Str(s) => s == text,
        _ => false,
    }
}

/// The first attribute named `key` decides; a value of another type reads as that type's
/// zero value, as OTLP's getters do.
fn attr_matches(attrs: &[Attribute], key: &str, test: &Test) -> bool {
    let Some(a) = attrs.iter().find(|a| a.key == key) else {
        return false;
    };
    let v = &a.value;
    match test {
        Test::Str(s) => v.as_str().unwrap_or("") == s,
        Test::Regex(r) => r.is_match(v.as_str().unwrap_or("")),
        Test::Int(i) => match v {
            AttrValue::Int(x) => x == i,
            _ => *i == 0,
        },
        Test::Float(f) => match v {
            AttrValue::Double(x) => x == f,
            _ => *f == 0.0,
        },
        Test::Bool(b) => match v {
            AttrValue::Bool(x) => x == b,
            _ => !*b,
        },
    }
}
