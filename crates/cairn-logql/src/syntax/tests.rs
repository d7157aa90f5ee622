use super::*;

fn err(q: &str) -> String {
    match parse(q) {
        Ok(e) => panic!("{q} parsed as {e}"),
        Err(e) => e.to_string(),
    }
}

fn canon(q: &str) -> String {
    match parse(q) {
        Ok(e) => e.to_string(),
        Err(e) => panic!("{q}: {e}"),
    }
}

#[test]
fn smoke() {
    assert_eq!(canon(r#"{foo="bar"}"#), r#"{foo="bar"}"#);
}

#[test]
fn deferred_errors_come_in_tree_order() {
    let q = "avg(\n\t\t\t\t\tlabel_replace(\n\t\t\t\t\t\tcount_over_time({ foo = \"bar\" }[5h]) or 0,\n\t\t\t\t\t\t\"bar\",\n\t\t\t\t\t\t\"$1$2\",\n\t\t\t\t\t\t\"foo\",\n\t\t\t\t\t\t\"(.*).(.*)\"\n\t\t\t\t\t)\n\t\t\t\t) by (bar,foo)";
    assert_eq!(
        err(q),
        "parse error : unexpected literal for right leg of logical/set binary operation (or): 0.000000"
    );
    let q = "avg(label_replace(count_over_time({ foo = \"bar\" }[5h]) or sum_over_time({ foo = \"bar\" }[5h]),\"bar\",\"$1$2\",\"foo\",\"(.*).(.*)\")) by (bar,foo)";
    assert_eq!(
        err(q),
        "parse error : invalid aggregation sum_over_time without unwrap"
    );
}
