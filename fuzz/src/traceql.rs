//! The TraceQL target: any text the parser accepts validates without panicking, and its
//! canonical printed form parses back to the same tree.

use cairn_traceql::{parse, validate};

/// Parses, validates and round-trips a query through its printed form.
pub fn traceql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse(text) else {
        return;
    };
    let _ = validate(&query);
    let printed = query.to_string();
    let again = parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(again, query, "{text:?} printed as {printed:?}");
}
