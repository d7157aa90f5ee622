//! Tempo's TraceQL examples (`testdata/examples.yaml`, see its README): every query gets the
//! outcome Tempo's tests expect, and every query that parses prints in a canonical form that
//! parses back to the same tree.

use std::collections::BTreeMap;

use cairn_traceql::{Error, parse, validate};

fn examples() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/examples.yaml");
    let text = std::fs::read_to_string(path).expect("examples.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("examples.yaml is a map of lists")
}

fn list(name: &str) -> Vec<String> {
    let all = examples();
    let l = all.get(name).cloned().unwrap_or_default();
    assert!(!l.is_empty(), "examples.yaml has a {name} list");
    l
}

/// The canonical form parses back to the same tree, and prints the same again.
fn round_trip(q: &str) -> Result<(), String> {
    let first = parse(q).map_err(|e| format!("{q:?} does not parse: {e}"))?;
    let printed = first.to_string();
    let second =
        parse(&printed).map_err(|e| format!("{q:?} printed as {printed:?}, which fails: {e}"))?;
    if second != first {
        return Err(format!(
            "{q:?} printed as {printed:?} parses differently:\n  {first:?}\n  {second:?}"
        ));
    }
    if second.to_string() != printed {
        return Err(format!(
            "{q:?}: printing is not stable: {printed:?} then {second}"
        ));
    }
    Ok(())
}

fn check_all(name: &str, check: impl Fn(&str) -> Result<(), String>) {
    let queries = list(name);
    let problems: Vec<String> = queries.iter().filter_map(|q| check(q).err()).collect();
    assert!(
        problems.is_empty(),
        "{} of {} {name} queries fail:\n{}",
        problems.len(),
        queries.len(),
        problems.join("\n")
    );
}

#[test]
fn valid_queries_parse_and_validate() {
    check_all("valid", |q| {
        let p = parse(q).map_err(|e| format!("{q:?}: {e}"))?;
        validate(&p).map_err(|e| format!("{q:?} fails validation: {e}"))
    });
}

#[test]
fn parse_failures_fail_to_parse() {
    check_all("parse_fails", |q| match parse(q) {
        Ok(p) => Err(format!("{q:?} parses, as {p}")),
        Err(e) if e.msg.is_empty() => Err(format!("{q:?}: empty message")),
        Err(_) => Ok(()),
    });
}

#[test]
fn validation_failures_parse_then_fail_validation() {
    check_all("validate_fails", |q| {
        let p = parse(q).map_err(|e| format!("{q:?}: {e}"))?;
        match validate(&p) {
            Err(Error::Invalid(_)) => Ok(()),
            Err(e) => Err(format!("{q:?}: wrong kind of error: {e:?}")),
            Ok(()) => Err(format!("{q:?} validates")),
        }
    });
}

#[test]
fn unsupported_queries_parse_then_are_unsupported() {
    check_all("unsupported", |q| {
        let p = parse(q).map_err(|e| format!("{q:?}: {e}"))?;
        match validate(&p) {
            Err(Error::Unsupported(_)) => Ok(()),
            Err(e) => Err(format!("{q:?}: wrong kind of error: {e:?}")),
            Ok(()) => Err(format!("{q:?} validates")),
        }
    });
}

#[test]
fn parsed_queries_round_trip_through_their_canonical_form() {
    for name in ["valid", "validate_fails", "unsupported"] {
        check_all(name, round_trip);
    }
}
