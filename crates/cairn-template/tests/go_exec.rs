//! Go `text/template` semantics: each case's expected output is what Go produces for the
//! same template and data (cases follow Go's `exec_test.go` and `fmt` documentation).

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_template::{Arity, Error, Funcs, Template, Value};
use chrono::{DateTime, TimeDelta, Utc};

fn data() -> Value {
    let mut inner = BTreeMap::new();
    inner.insert("x".to_owned(), Value::from("inner-x"));
    let mut m = BTreeMap::new();
    m.insert("s".to_owned(), Value::from("hello"));
    m.insert("empty".to_owned(), Value::from(""));
    m.insert("i".to_owned(), Value::from(17i64));
    m.insert("zero".to_owned(), Value::from(0i64));
    m.insert("f".to_owned(), Value::from(1.5));
    m.insert("t".to_owned(), Value::from(true));
    m.insert(
        "list".to_owned(),
        Value::from(vec![
            Value::from(1i64),
            Value::from(2i64),
            Value::from(3i64),
        ]),
    );
    m.insert(
        "strs".to_owned(),
        Value::from(vec![Value::from("a"), Value::from("b")]),
    );
    m.insert("nolist".to_owned(), Value::List(Vec::new()));
    m.insert("inner".to_owned(), Value::Map(inner));
    m.insert(
        "labels".to_owned(),
        Value::string_map([("job", "api"), ("instance", "a:9090")]),
    );
    m.insert("nil".to_owned(), Value::Nil);
    Value::Map(m)
}

fn funcs() -> Funcs {
    let mut f = Funcs::builtins();
    f.insert(
        "fail",
        Arity::AtLeast(0),
        Arc::new(|_: &[Value]| Err("boom".to_owned())),
    );
    f.insert(
        "count",
        Arity::AtLeast(0),
        Arc::new(|a: &[Value]| Ok(Value::Int(a.len() as i64))),
    );
    f
}

fn run(text: &str) -> String {
    match Template::parse("t", text, &funcs()).and_then(|t| t.execute(&data())) {
        Ok(s) => s,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn run_err(text: &str) -> String {
    match Template::parse("t", text, &funcs()).and_then(|t| t.execute(&data())) {
        Ok(s) => panic!("{text:?}: expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn check(cases: &[(&str, &str)]) {
    for (text, want) in cases {
        assert_eq!(run(text), *want, "template {text:?}");
    }
}

#[test]
fn text_comments_and_trim_markers() {
    check(&[
        ("plain text", "plain text"),
        ("{{/* a comment */}}", ""),
        ("a {{- /* trimmed */ -}} b", "ab"),
        ("{{23 -}}\n < \n{{- 45}}", "23<45"),
        ("x  {{- 3 }}  y", "x3  y"),
        ("{{-3}}", "-3"),
        ("{{ 1 }}\n", "1\n"),
        ("{{- .s -}}\n\t\n", "hello"),
    ]);
}

#[test]
fn literals() {
    check(&[
        ("{{1}}", "1"),
        ("{{-7}}", "-7"),
        ("{{1.5}}", "1.5"),
        ("{{1e3}}", "1000"),
        ("{{1.0}}", "1"),
        ("{{0x1F}}", "31"),
        ("{{0o17}}", "15"),
        ("{{017}}", "15"),
        ("{{0b101}}", "5"),
        ("{{1_000}}", "1000"),
        ("{{'a'}}", "97"),
        ("{{'\\n'}}", "10"),
        (r#"{{"a\tb\u00e9\x41"}}"#, "a\tbéA"),
        ("{{`raw\\n`}}", "raw\\n"),
        ("{{true}} {{false}}", "true false"),
    ]);
    assert!(run_err("{{nil}}").contains("nil is not a command"));
}

#[test]
fn fields_and_missing_keys() {
    check(&[
        ("{{.s}}", "hello"),
        ("{{.inner.x}}", "inner-x"),
        ("{{.labels.job}}", "api"),
        // A missing label prints "" (map[string]string with missingkey=zero).
        ("[{{.labels.nope}}]", "[]"),
        // A missing key of a mixed map prints like Go's invalid value.
        ("{{.nope}}", "<no value>"),
        ("{{.nope.deeper}}", "<no value>"),
        ("{{.nil}}", "<no value>"),
        (
            "{{.}}",
            "map[empty: f:1.5 i:17 inner:map[x:inner-x] labels:map[instance:a:9090 job:api] list:[1 2 3] nil:<nil> nolist:[] s:hello strs:[a b] t:true zero:0]",
        ),
    ]);
    assert!(run_err("{{.s.x}}").contains("can't evaluate field x in type string"));
    let t = Template::parse("t", "{{.a}}", &Funcs::builtins()).expect("parses");
    assert_eq!(t.execute(&Value::Nil).expect("runs"), "<no value>");
}

#[test]
fn variables() {
    check(&[
        ("{{$x := 1}}{{$x}}", "1"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{$.s}}", "hello"),
        ("{{with .inner}}{{$.s}} {{.x}}{{end}}", "hello inner-x"),
        ("{{$x := .inner}}{{$x.x}}", "inner-x"),
        ("{{if $x := .s}}{{$x}}{{end}}", "hello"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{$x := 1}}{{range .list}}{{$x = .}}{{end}}{{$x}}", "3"),
    ]);
    assert!(run_err("{{if true}}{{$y := 1}}{{end}}{{$y}}").contains("undefined variable \"$y\""));
}

#[test]
fn if_else_with() {
    check(&[
        ("{{if .t}}yes{{else}}no{{end}}", "yes"),
        ("{{if .empty}}yes{{else}}no{{end}}", "no"),
        ("{{if .zero}}a{{else if .i}}b{{else}}c{{end}}", "b"),
        ("{{if .zero}}a{{else if .empty}}b{{else}}c{{end}}", "c"),
        ("{{if .nolist}}a{{else}}b{{end}}", "b"),
        ("{{if .nope}}a{{else}}b{{end}}", "b"),
        ("{{with .inner}}{{.x}}{{end}}", "inner-x"),
        ("{{with .empty}}x{{else}}none{{end}}", "none"),
        ("{{with .empty}}x{{else with .s}}{{.}}{{end}}", "hello"),
        ("{{if and .t .i}}both{{end}}", "both"),
        ("{{if or .zero .empty}}x{{else}}neither{{end}}", "neither"),
        ("{{if not .zero}}not{{end}}", "not"),
    ]);
}

#[test]
fn range() {
    check(&[
        ("{{range .list}}<{{.}}>{{end}}", "<1><2><3>"),
        (
            "{{range $i, $v := .list}}{{$i}}={{$v}} {{end}}",
            "0=1 1=2 2=3 ",
        ),
        ("{{range $v := .strs}}{{$v}}{{end}}", "ab"),
        (
            "{{range $k, $v := .labels}}{{$k}}={{$v}};{{end}}",
            "instance=a:9090;job=api;",
        ),
        ("{{range .labels}}{{.}},{{end}}", "a:9090,api,"),
        ("{{range .nolist}}x{{else}}empty{{end}}", "empty"),
        ("{{range .nope}}x{{else}}none{{end}}", "none"),
        (
            "{{range .list}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}",
            "13",
        ),
        (
            "{{range .list}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}",
            "1",
        ),
        ("{{range 3}}{{.}}{{end}}", "012"),
        (
            "{{range $i, $v := .list}}{{range $.strs}}{{$i}}{{.}}{{end}}{{end}}",
            "0a0b1a1b2a2b",
        ),
    ]);
    assert!(run_err("{{range .s}}{{end}}").contains("range can't iterate over hello"));
    assert!(run_err("{{break}}").contains("{{break}} outside {{range}}"));
}

#[test]
fn define_template_block() {
    check(&[
        (r#"{{define "x"}}X{{.}}{{end}}{{template "x" 1}}"#, "X1"),
        (
            r#"{{define "x"}}[{{.}}]{{end}}{{template "x"}}"#,
            "[<no value>]",
        ),
        (r#"{{define "x"}}{{$}}{{end}}{{template "x" .s}}"#, "hello"),
        (r#"{{block "b" .s}}<{{.}}>{{end}}"#, "<hello>"),
        (
            r#"{{define "a"}}A{{template "b" .}}{{end}}{{define "b"}}B{{.}}{{end}}{{template "a" 1}}"#,
            "AB1",
        ),
    ]);
    let mut t =
        Template::parse("main", r#"{{template "slack.title" .}}"#, &funcs()).expect("parses");
    t.add(r#"{{define "slack.title"}}[{{.s}}]{{end}} ignored body"#)
        .expect("adds");
    assert_eq!(t.execute(&data()).expect("runs"), "[hello]");
    assert_eq!(
        t.execute_named("slack.title", &data()).expect("runs"),
        "[hello]"
    );
    // A later definition replaces an earlier one.
    t.add(r#"{{define "slack.title"}}new{{end}}"#)
        .expect("adds");
    assert_eq!(t.execute(&data()).expect("runs"), "new");
    assert!(t.execute_named("missing", &data()).is_err());
    assert!(run_err(r#"{{template "nope"}}"#).contains("template \"nope\" not defined"));
}

#[test]
fn pipelines_and_parens() {
    check(&[
        (r#"{{"x" | printf "%s-%s" "a"}}"#, "a-x"),
        ("{{.list | len}}", "3"),
        ("{{(index .list 1)}}", "2"),
        ("{{(.inner).x}}", "inner-x"),
        ("{{count 1 2 | count 3}}", "2"),
        ("{{printf \"%d\" (len (slice .list 1))}}", "2"),
        ("{{.i | printf \"%03d\"}}", "017"),
    ]);
    assert!(run_err("{{1 | 2}}").contains("non executable command in pipeline stage 2"));
    assert!(run_err("{{.s 1}}").contains("is not a method but has arguments"));
}

#[test]
fn builtins() {
    check(&[
        ("{{or 0 \"\" 3}}", "3"),
        ("{{or 0 \"\"}}", ""),
        ("{{and 1 0 (fail)}}", "0"),
        ("{{or 1 (fail)}}", "1"),
        ("{{and 1 2}}", "2"),
        ("{{not 0}} {{not 1}}", "true false"),
        ("{{len .s}} {{len .list}} {{len .labels}}", "5 3 2"),
        (
            "{{index .list 2}} {{index .labels \"job\"}} {{index .s 0}}",
            "3 api 104",
        ),
        ("[{{index .labels \"nope\"}}]", "[]"),
        ("{{slice .s 1 3}} {{slice .list 1}}", "el [2 3]"),
        (
            "{{print 1 2}} {{print \"a\" 1 \"b\"}} {{print 1.5 true}}",
            "1 2 a1b 1.5 true",
        ),
        ("{{println 1 \"a\"}}", "1 a\n"),
        (
            "{{html \"<a href='x'>&\\\"\"}}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        ("{{js \"it's <b>\\n\"}}", "it\\'s \\u003Cb\\u003E\\u000A"),
        ("{{urlquery \"a b&c=d/é\"}}", "a+b%26c%3Dd%2F%C3%A9"),
        (
            "{{eq 1 1}} {{eq 1 2 3 1}} {{eq \"a\" \"b\"}} {{ne 1 2}}",
            "true true false true",
        ),
        (
            "{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}}",
            "true true true false",
        ),
        ("{{eq .f 1.5}} {{gt .f 1}} {{lt .i 17.5}}", "true true true"),
    ]);
    assert!(run_err("{{index .list 5}}").contains("index out of range: 5"));
    assert!(run_err("{{lt true false}}").contains("invalid type for comparison"));
    assert!(run_err("{{eq \"a\" 1}}").contains("incompatible types for comparison"));
    assert!(run_err("{{eq .list .list}}").contains("non-comparable type"));
    assert!(run_err("{{and 1 (fail)}}").contains("error calling fail: boom"));
}

#[test]
fn printing_like_go_fmt() {
    let t = |s: &str| -> String {
        let parsed = Template::parse("t", "{{.}}", &Funcs::builtins()).expect("parses");
        let _ = s;
        parsed.execute(&Value::Nil).expect("runs")
    };
    assert_eq!(t(""), "<no value>");
    let f = |x: f64| {
        Template::parse("t", "{{.}}", &Funcs::builtins())
            .expect("parses")
            .execute(&Value::Float(x))
            .expect("runs")
    };
    assert_eq!(f(1.0), "1");
    assert_eq!(f(100000.0), "100000");
    assert_eq!(f(1e6), "1e+06");
    assert_eq!(f(1234567.0), "1.234567e+06");
    assert_eq!(f(0.0001), "0.0001");
    assert_eq!(f(0.00001), "1e-05");
    assert_eq!(f(-2.5), "-2.5");
    assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(f(1e21), "1e+21");
    assert_eq!(f(123456789.0), "1.23456789e+08");
    assert_eq!(f(f64::INFINITY), "+Inf");
    assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    assert_eq!(f(f64::NAN), "NaN");
    assert_eq!(f(-0.0), "-0");
    let time = DateTime::<Utc>::from_timestamp_millis(1_435_065_584_128).expect("valid");
    let v = |x: Value| {
        Template::parse("t", "{{.}}", &Funcs::builtins())
            .expect("parses")
            .execute(&x)
            .expect("runs")
    };
    assert_eq!(v(Value::Time(time)), "2015-06-23 13:19:44.128 +0000 UTC");
    assert_eq!(
        v(Value::Duration(
            TimeDelta::seconds(3723) + TimeDelta::milliseconds(500)
        )),
        "1h2m3.5s"
    );
    assert_eq!(
        v(Value::Duration(
            TimeDelta::milliseconds(1) + TimeDelta::microseconds(500)
        )),
        "1.5ms"
    );
    assert_eq!(v(Value::Duration(TimeDelta::seconds(120))), "2m0s");
    assert_eq!(v(Value::Duration(TimeDelta::zero())), "0s");
    assert_eq!(v(Value::Duration(TimeDelta::microseconds(100))), "100µs");
}

#[test]
fn printf_verbs() {
    check(&[
        (r#"{{printf "%.2f" 3.14159}}"#, "3.14"),
        (r#"{{printf "%5.1f|" 3.14159}}"#, "  3.1|"),
        (
            r#"{{printf "%-5d|%05d|%05d" 42 42 -42}}"#,
            "42   |00042|-0042",
        ),
        (
            r#"{{printf "%x %X %#x %o %b %c %+d" 255 255 255 8 5 65 5}}"#,
            "ff FF 0xff 10 101 A +5",
        ),
        (r#"{{printf "%q" "a\"b\n"}}"#, r#""a\"b\n""#),
        (r#"{{printf "%t %v %s" true 1.5 "s"}}"#, "true 1.5 s"),
        (r#"{{printf "%e" 1234.5678}}"#, "1.234568e+03"),
        (
            r#"{{printf "%g %g %.3g" 1234.5678 0.00001234 1234.5678}}"#,
            "1234.5678 1.234e-05 1.23e+03",
        ),
        (r#"{{printf "%6.2f%%" 99.5}}"#, " 99.50%"),
        (r#"{{printf "%x" "hi"}}"#, "6869"),
        (
            r#"{{printf "%8s|%-8s|%.1s" "ab" "ab" "abc"}}"#,
            "      ab|ab      |a",
        ),
        (r#"{{printf "%T %T %T" 1.5 1 "s"}}"#, "float64 int string"),
        (
            r#"{{printf "%v" .list}} {{printf "%v" .labels}}"#,
            "[1 2 3] map[instance:a:9090 job:api]",
        ),
        (r#"{{printf "%s" 1}}"#, "%!s(int=1)"),
        (
            r#"{{printf "%v|%s|%d" nil nil true}}"#,
            "<nil>|%!s(<nil>)|%!d(bool=true)",
        ),
        (
            r#"{{printf "%+.2f|% d|%x|%6.2f" 1.5 5 -255 -1.5}}"#,
            "+1.50| 5|-ff| -1.50",
        ),
        (r#"{{printf "%d"}}"#, "%!d(MISSING)"),
        (r#"{{printf "%d" 1 2}}"#, "1%!(EXTRA int=2)"),
        (r#"{{printf "%.2f" 1}}"#, "%!f(int=1)"),
        (r#"{{printf "%*d|" 4 7}}"#, "   7|"),
        (r#"{{printf "%.4g" 0.000012345}}"#, "1.234e-05"),
        (r#"{{printf "%.4g" 100.0}}"#, "100"),
        (r#"{{printf "%.4g" 12345.0}}"#, "1.234e+04"),
        (r#"{{printf "%.0f" 2.5}} {{printf "%.0f" 3.5}}"#, "2 4"),
        (r#"{{printf "%#v" "x"}}"#, r#""x""#),
    ]);
}

#[test]
fn parse_errors_name_position_and_problem() {
    let parse =
        |text: &str| Template::parse("__alert_X", text, &funcs()).expect_err("must not parse");
    let e = parse("line one\n{{ nosuch 1 }}");
    match &e {
        Error::Parse {
            name,
            line,
            col,
            message,
        } => {
            assert_eq!((name.as_str(), *line, *col), ("__alert_X", 2, 4));
            assert_eq!(message, "function \"nosuch\" not defined");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "template: __alert_X:2: function \"nosuch\" not defined"
    );
    assert!(parse("{{").to_string().contains("unclosed action"));
    assert!(parse("{{ .a ").to_string().contains("unclosed action"));
    assert!(parse("{{if 1}}x").to_string().contains("unexpected EOF"));
    assert!(parse("{{end}}").to_string().contains("unexpected {{end}}"));
    assert!(
        parse("{{ $x }}")
            .to_string()
            .contains("undefined variable \"$x\"")
    );
    assert!(
        parse("{{ \"abc }}")
            .to_string()
            .contains("unterminated quoted string")
    );
    assert!(parse("{{ 3x }}").to_string().contains("bad number syntax"));
    assert!(
        parse("{{ \u{a0} }}")
            .to_string()
            .contains("unrecognized character in action: U+00A0")
    );
    assert!(
        parse("{{ ( 1 }}")
            .to_string()
            .contains("unclosed left paren")
    );
    assert!(
        parse("{{ 1 ) }}")
            .to_string()
            .contains("unexpected right paren")
    );
    assert!(parse("{{/* x }}").to_string().contains("unclosed comment"));
    assert!(
        parse("{{if}}{{end}}")
            .to_string()
            .contains("missing value for if")
    );
    assert!(
        parse("{{define \"a\"}}{{define \"b\"}}{{end}}{{end}}")
            .to_string()
            .contains("unexpected <define>")
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Funcs>();
    assert_send_sync::<Value>();
}

#[test]
fn exec_errors_read_like_go() {
    assert_eq!(
        run_err("{{ fail 1 }}"),
        "template: t:1:3: executing \"t\" at <fail 1>: error calling fail: boom"
    );
    assert_eq!(
        run_err("x\n  {{ 1 | fail }}"),
        "template: t:2:9: executing \"t\" at <fail>: error calling fail: boom"
    );
    let e = Template::parse(
        "t",
        "{{define \"d\"}}{{fail}}{{end}}{{template \"d\"}}",
        &funcs(),
    )
    .and_then(|t| t.execute(&data()))
    .expect_err("fails");
    assert_eq!(
        e.to_string(),
        "template: t:1:16: executing \"d\" at <fail>: error calling fail: boom"
    );
    // Positions in added files name the file, as Go's ParseFiles does.
    let mut t = Template::parse("main", "{{template \"x\" .}}", &funcs()).expect("parses");
    t.add_named("custom.tmpl", "\n{{define \"x\"}}\n  {{fail}}{{end}}")
        .expect("adds");
    assert_eq!(
        t.execute(&data()).expect_err("fails").to_string(),
        "template: custom.tmpl:3:4: executing \"x\" at <fail>: error calling fail: boom"
    );
    let e = t
        .add_named("bad.tmpl", "{{define \"y\"}}\n{{if}}{{end}}{{end}}")
        .expect_err("bad");
    assert_eq!(e.to_string(), "template: bad.tmpl:2: missing value for if");
}
