//! Pipeline tests; expected values follow Loki's documentation and its stage semantics.

use cairn_model::Labels;

use super::*;
use crate::syntax::{Expr, parse};

fn pipeline(q: &str) -> Pipeline {
    match parse(q).unwrap() {
        Expr::Log(l) => Pipeline::new(&l).unwrap(),
        Expr::Sample(_) => panic!("not a log query: {q}"),
    }
}

fn stream(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

/// Runs `line` through the query's pipeline; the flat labels and the line, or None.
fn run(q: &str, labels: &[(&str, &str)], line: &str) -> Option<(String, String)> {
    run_md(q, labels, line, &[])
}

fn run_md(
    q: &str,
    labels: &[(&str, &str)],
    line: &str,
    md: &[(&str, &str)],
) -> Option<(String, String)> {
    let p = pipeline(q);
    let mut sp = p.for_stream(&stream(labels));
    let md: Vec<(String, String)> = md
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    sp.process(1_000_000_000, line, &md)
        .map(|p| (p.labels.all.to_string(), p.line.to_owned()))
}

fn labels_of(q: &str, labels: &[(&str, &str)], line: &str) -> String {
    run(q, labels, line).expect("line kept").0
}

#[test]
fn line_filters_chain_and_or() {
    let q = r#"{app="a"} |= "foo" != "bar" |~ "b(a|u)z" or "qux""#;
    assert!(run(q, &[("app", "a")], "foo baz").is_some());
    assert!(run(q, &[("app", "a")], "foo qux").is_some());
    assert!(run(q, &[("app", "a")], "foo bar baz").is_none());
    assert!(run(q, &[("app", "a")], "foo").is_none());
    // `!= "a" or "b"` is `!= "a" != "b"`.
    let q = r#"{app="a"} != "x" or "y""#;
    assert!(run(q, &[("app", "a")], "z").is_some());
    assert!(run(q, &[("app", "a")], "y").is_none());
}

#[test]
fn json_flattens_sanitizes_and_suffixes() {
    let l = labels_of(
        r#"{app="a"} | json"#,
        &[("app", "a"), ("level", "stream")],
        r#"{"level":"parsed","obj":{"x":1,"y":{"z":true}},"a.b":"c","arr":[1,2],"nil":null,"dup":"1","dup":"2","9x":"n"}"#,
    );
    assert_eq!(
        l,
        r#"{_9x="n", a_b="c", app="a", dup="1", level="stream", level_extracted="parsed", obj_x="1", obj_y_z="true"}"#
    );
}

#[test]
fn json_errors_keep_the_labels_found_before() {
    let l = labels_of(
        r#"{app="a"} | json"#,
        &[("app", "a")],
        r#"{"a":"1", "b" "x"}"#,
    );
    assert_eq!(
        l,
        r#"{__error__="JSONParserErr", __error_details__="Malformed JSON error", a="1", app="a"}"#
    );
    let l = labels_of(r#"{app="a"} | json"#, &[("app", "a")], "not json");
    assert_eq!(
        l,
        r#"{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="a"}"#
    );
    // A filter on `__error__` drops it.
    assert!(run(r#"{app="a"} | json | __error__="""#, &[("app", "a")], "x").is_none());
}

#[test]
fn json_expressions() {
    let q = r#"{app="a"} | json who="user.id", tag="tags[0]", age="user.age", raw="user", q="[\"a.b\"]""#;
    let l = labels_of(
        q,
        &[("app", "a")],
        r#"{"user":{"id":"u1"},"tags":["x","y"],"a.b":"dot"}"#,
    );
    assert_eq!(
        l,
        r#"{age="", app="a", q="dot", raw="{\"id\":\"u1\"}", tag="x", who="u1"}"#
    );
}

#[test]
fn logfmt_flags() {
    let line = r#"a-b=1 9x=2 dup=first dup=second msg="hi there" empty="#;
    assert_eq!(
        labels_of(r#"{app="a"} | logfmt"#, &[("app", "a")], line),
        r#"{_9x="2", a_b="1", app="a", dup="first", msg="hi there"}"#
    );
    assert_eq!(
        labels_of(r#"{app="a"} | logfmt --keep-empty"#, &[("app", "a")], line),
        r#"{_9x="2", a_b="1", app="a", dup="first", empty="", msg="hi there"}"#
    );
    let bad = r#"good=1 bad="unterminated"#;
    assert_eq!(
        labels_of(r#"{app="a"} | logfmt"#, &[("app", "a")], bad),
        r#"{app="a", good="1"}"#
    );
    assert_eq!(
        labels_of(r#"{app="a"} | logfmt --strict"#, &[("app", "a")], bad),
        r#"{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 25 : unterminated quoted value", app="a", good="1"}"#
    );
    assert_eq!(
        labels_of(
            r#"{app="a"} | logfmt level, code="status""#,
            &[("app", "a")],
            "level=info status=200 msg=hi"
        ),
        r#"{app="a", code="200", level="info"}"#
    );
}

#[test]
fn metadata_and_collisions() {
    // Stream > metadata > parsed: the loser keeps its value under `_extracted`.
    let got = run_md(
        r#"{app="a"} | logfmt"#,
        &[("app", "a"), ("sl", "s"), ("sm", "s"), ("tri", "s")],
        "sl=p md=p tri=p",
        &[("md", "m"), ("sm", "m"), ("tri", "m")],
    )
    .unwrap()
    .0;
    assert_eq!(
        got,
        r#"{app="a", md="m", md_extracted="p", sl="s", sl_extracted="p", sm="s", sm_extracted="m", tri="s", tri_extracted="p"}"#
    );
}

#[test]
fn regexp_and_pattern() {
    assert_eq!(
        labels_of(
            r#"{app="a"} | regexp `(?P<method>\w+) (?P<path>\S+)`"#,
            &[("app", "a"), ("method", "stream")],
            "PUT /x"
        ),
        r#"{app="a", method="stream", method_extracted="PUT", path="/x"}"#
    );
    assert_eq!(
        labels_of(
            r#"{app="a"} | pattern `<method> <_> <status>`"#,
            &[("app", "a")],
            "GET /home 200"
        ),
        r#"{app="a", method="GET", status="200"}"#
    );
}

#[test]
fn unpack_replaces_the_line() {
    let (l, line) = run(
        r#"{app="a"} | unpack"#,
        &[("app", "a"), ("lvl", "stream")],
        r#"{"lvl":"packed","num":5,"_entry":"code=42"}"#,
    )
    .unwrap();
    assert_eq!(l, r#"{app="a", lvl="stream", lvl_extracted="packed"}"#);
    assert_eq!(line, "code=42");
    assert_eq!(
        labels_of(r#"{app="a"} | unpack"#, &[("app", "a")], "x"),
        r#"{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not", app="a"}"#
    );
}

#[test]
fn duration_fractions_are_exact() {
    // Go's time.ParseDuration reads 1.035µs as 1µs + 35/1000 µs, integers both: 1035ns. Summing
    // the fraction's digits in floats (0.03 + 0.005 = 0.034999...) truncates to 1034ns.
    let line = "d=1.035µs";
    let ge = r#"{app="a"} | logfmt | d >= 1035ns"#;
    assert!(run(ge, &[("app", "a")], line).is_some());
    let lt = r#"{app="a"} | logfmt | d < 1035ns"#;
    assert!(run(lt, &[("app", "a")], line).is_none());
    // The query side reads its duration the same way, and prints it back unchanged.
    let eq = r#"{app="a"} | logfmt | d == 1.035µs"#;
    assert!(run(eq, &[("app", "a")], "d=1035ns").is_some());
    assert!(run(eq, &[("app", "a")], "d=1034ns").is_none());
    assert!(parse(eq).unwrap().to_string().ends_with("d==1.035µs"));
}

#[test]
fn label_filters() {
    let q = r#"{app="a"} | logfmt | status >= 500 and (latency > 1s or size > 1KB)"#;
    assert!(run(q, &[("app", "a")], "status=503 latency=2s size=10").is_some());
    assert!(run(q, &[("app", "a")], "status=503 latency=20ms size=2KB").is_some());
    assert!(run(q, &[("app", "a")], "status=503 latency=20ms size=10").is_none());
    assert!(run(q, &[("app", "a")], "status=404 latency=2s").is_none());
    // A missing label fails a numeric filter; an unparsable one flags the line.
    assert!(run(r#"{app="a"} | logfmt | n > 1"#, &[("app", "a")], "x=1").is_none());
    assert_eq!(
        labels_of(r#"{app="a"} | logfmt | n > 1"#, &[("app", "a")], "n=abc"),
        r#"{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", app="a", n="abc"}"#
    );
    let q = r#"{app="a"} | logfmt | addr = ip("10.0.0.0/8")"#;
    assert!(run(q, &[("app", "a")], "addr=10.1.2.3").is_some());
    assert!(run(q, &[("app", "a")], "addr=11.1.2.3").is_none());
    let q = r#"{app="a"} | logfmt | level=~"err.*", level!="errata""#;
    assert!(run(q, &[("app", "a")], "level=error").is_some());
    assert!(run(q, &[("app", "a")], "level=errata").is_none());
    assert!(run(q, &[("app", "a")], "level=xerror").is_none());
}

#[test]
fn formats() {
    let (l, line) = run(
        r#"{app="a"} | logfmt | line_format "{{.level | upper}} {{.msg}} {{ __line__ | len }}""#,
        &[("app", "a")],
        "level=info msg=hi",
    )
    .unwrap();
    assert_eq!(line, "INFO hi 17");
    assert_eq!(l, r#"{app="a", level="info", msg="hi"}"#);
    let l = labels_of(
        r#"{app="a", method="get"} | label_format route="{{.method}}-ok" | label_format verb=method"#,
        &[("app", "a"), ("method", "get")],
        "x",
    );
    assert_eq!(l, r#"{app="a", route="get-ok", verb="get"}"#);
    // Within one stage, a rename runs before the templates that follow it read the labels.
    let l = labels_of(
        r#"{app="a", method="get"} | label_format verb=method, route="{{.method}}-ok""#,
        &[("app", "a"), ("method", "get")],
        "x",
    );
    assert_eq!(l, r#"{app="a", route="-ok", verb="get"}"#);
    let (_, line) = run(
        r#"{app="a"} | decolorize"#,
        &[("app", "a")],
        "\u{1b}[31mred\u{1b}[0m text",
    )
    .unwrap();
    assert_eq!(line, "red text");
    let l = labels_of(
        r#"{app="a"} | logfmt | line_format "{{ div 1 0 }}""#,
        &[("app", "a")],
        "a=1",
    );
    assert!(l.contains(r#"__error__="TemplateFormatErr""#), "{l}");
}

#[test]
fn drop_and_keep() {
    let base = [("app", "a"), ("code", "500"), ("zone", "eu")];
    assert_eq!(
        labels_of(r#"{app="a"} | drop code, zone"#, &base, "x"),
        r#"{app="a"}"#
    );
    assert_eq!(
        labels_of(r#"{app="a"} | drop code="200""#, &base, "x"),
        r#"{app="a", code="500", zone="eu"}"#
    );
    assert_eq!(
        labels_of(r#"{app="a"} | keep zone"#, &base, "x"),
        r#"{zone="eu"}"#
    );
    assert_eq!(
        labels_of(r#"{app="a"} | keep code="200""#, &base, "x"),
        "{}"
    );
    // The error labels survive `keep`, and `drop __error__` clears them.
    assert_eq!(
        labels_of(r#"{app="a"} | json | keep app"#, &base, "x"),
        r#"{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="a"}"#
    );
    assert_eq!(
        labels_of(
            r#"{app="a"} | json | drop __error__, __error_details__"#,
            &base,
            "x"
        ),
        r#"{app="a", code="500", zone="eu"}"#
    );
}

#[test]
fn categories_in_results() {
    let p = pipeline(r#"{app="a"} | logfmt | drop zone"#);
    let mut sp = p.for_stream(&stream(&[("app", "a"), ("zone", "eu")]));
    let md = vec![("trace".to_owned(), "t1".to_owned())];
    let out = sp.process(1, "level=info", &md).unwrap();
    assert_eq!(out.labels.stream.to_string(), r#"{app="a"}"#);
    assert_eq!(out.labels.metadata.to_string(), r#"{trace="t1"}"#);
    assert_eq!(out.labels.parsed.to_string(), r#"{level="info"}"#);
}

#[test]
fn stage_errors_name_the_stage() {
    let Expr::Log(l) = parse(r#"{app="a"} |~ "(""#).unwrap() else {
        panic!()
    };
    let e = Pipeline::new(&l).unwrap_err().to_string();
    assert_eq!(
        e,
        "parse error : stage '|~ \"(\"' : error parsing regexp: missing closing ): `(`"
    );
    let Expr::Log(l) = parse(r#"{app="a"} | line_format "{{ nosuchfunc }}""#).unwrap() else {
        panic!()
    };
    let e = Pipeline::new(&l).unwrap_err().to_string();
    assert!(e.contains("not defined"), "{e}");
}

#[test]
fn line_contains_hints() {
    let Expr::Log(l) =
        parse(r#"{app="a"} | json |= "x" |= "y" or "z" | level="e" |= "w""#).unwrap()
    else {
        panic!()
    };
    assert_eq!(line_contains(&l.stages), vec!["x".to_owned()]);
}

#[test]
fn reorder_moves_filters_before_parsers_only() {
    let Expr::Log(l) =
        parse(r#"{app="a"} | json |= "a" | level="x" |= "b" | line_format "c" |= "d""#).unwrap()
    else {
        panic!()
    };
    let got: Vec<String> = reorder(&l.stages).iter().map(|s| s.to_string()).collect();
    assert_eq!(
        got,
        vec![
            r#"|= "a""#,
            "| json",
            r#"| level="x""#,
            r#"|= "b""#,
            r#"| line_format "c""#,
            r#"|= "d""#,
        ]
    );
}
