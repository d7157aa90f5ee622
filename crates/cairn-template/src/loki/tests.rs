//! Loki's template functions through the executor.

use super::*;
use crate::Template;
use crate::funcs::Arity;

fn run(t: &str, data: &[(&str, &str)]) -> String {
    let tpl = Template::parse("line", t, &Funcs::loki()).unwrap();
    tpl.execute_scoped(
        &Value::string_map(data.iter().copied()),
        &[
            (LINE_FUNC, Value::from("the line")),
            (
                TIMESTAMP_FUNC,
                Value::Time(DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
            ),
        ],
    )
    .unwrap()
}

#[test]
fn string_functions() {
    assert_eq!(run("{{ .a | upper }}", &[("a", "x")]), "X");
    assert_eq!(
        run(r#"{{ Replace .a "o" "0" -1 }}"#, &[("a", "foo")]),
        "f00"
    );
    assert_eq!(run(r#"{{ trunc 2 .a }}"#, &[("a", "hello")]), "he");
    assert_eq!(run(r#"{{ trunc -2 .a }}"#, &[("a", "hello")]), "lo");
    assert_eq!(run(r#"{{ substr 1 3 .a }}"#, &[("a", "hello")]), "el");
    assert_eq!(
        run(r#"{{ .a | trimPrefix "he" }}"#, &[("a", "hello")]),
        "llo"
    );
    assert_eq!(
        run(
            r#"{{ regexReplaceAll "(\\w+)@(\\w+)" .a "${2}" }}"#,
            &[("a", "me@host")]
        ),
        "host"
    );
    assert_eq!(run(r#"{{ alignRight 5 .a }}"#, &[("a", "ab")]), "   ab");
    assert_eq!(run(r#"{{ alignLeft 1 .a }}"#, &[("a", "ab")]), "a");
    assert_eq!(run(r#"{{ .a | b64enc }}"#, &[("a", "hi!")]), "aGkh");
    assert_eq!(run(r#"{{ .a | b64dec }}"#, &[("a", "aGk")]), "hi");
    assert_eq!(run(r#"{{ .a | urlencode }}"#, &[("a", "a b&c")]), "a+b%26c");
    assert_eq!(run(r#"{{ default "x" .missing }}"#, &[("a", "1")]), "x");
    assert_eq!(run(r#"{{ count "o" .a }}"#, &[("a", "foo")]), "2");
    assert_eq!(run(r#"{{ indent 2 .a }}"#, &[("a", "x\ny")]), "  x\n  y");
}

#[test]
fn math_and_time() {
    assert_eq!(run(r#"{{ add 1 "2" 3 }}"#, &[]), "6");
    assert_eq!(run(r#"{{ div 7 2 }}"#, &[]), "3");
    assert_eq!(run(r#"{{ addf 1.1 2.2 }}"#, &[]), "3.3");
    assert_eq!(run(r#"{{ round 2.555 2 }}"#, &[]), "2.56");
    assert_eq!(run(r#"{{ __line__ }}"#, &[]), "the line");
    assert_eq!(run(r#"{{ __timestamp__ | unixEpoch }}"#, &[]), "1700000000");
    assert_eq!(
        run(
            r#"{{ __timestamp__ | date "2006-01-02T15:04:05Z07:00" }}"#,
            &[]
        ),
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(
        run(
            r#"{{ toDate "2006-01-02" .d | unixEpoch }}"#,
            &[("d", "2024-02-29")]
        ),
        "1709164800"
    );
    assert_eq!(
        run(
            r#"{{ unixToTime .t | unixEpochMillis }}"#,
            &[("t", "1673798889902")]
        ),
        "1673798889902"
    );
    assert_eq!(run(r#"{{ .d | duration }}"#, &[("d", "1m30s")]), "90");
    assert_eq!(run(r#"{{ .b | bytes }}"#, &[("b", "2KiB")]), "2048");
}

#[test]
fn errors_name_the_function() {
    let tpl = Template::parse("l", "{{ div 1 0 }}", &Funcs::loki()).unwrap();
    let e = tpl.execute(&Value::Nil).unwrap_err().to_string();
    assert!(e.contains("error calling div"), "{e}");
    assert!(Template::parse("l", "{{ nosuchfunc }}", &Funcs::loki()).is_err());
}

/// Executes `t` (named `name`) over string labels, returning the error's text.
fn run_err(name: &str, t: &str, data: &[(&str, &str)]) -> String {
    let tpl = Template::parse(name, t, &Funcs::loki()).unwrap();
    tpl.execute(&Value::string_map(data.iter().copied()))
        .unwrap_err()
        .to_string()
}

/// The arity of every function `line_format` offers, read from the Go signatures: Loki's
/// `functionMap` (pkg/logql/log/fmt.go), the sprig v3.3.0 functions it copies
/// (`functions.go`, `numeric.go`, `defaults.go`, `date.go`, `strings.go`) and Go's builtins.
const GO_SIGNATURES: &[(&str, Arity)] = {
    use Arity::{AtLeast, Exactly};
    &[
        // Go's builtins.
        ("and", AtLeast(1)),
        ("or", AtLeast(1)),
        ("not", Exactly(1)),
        ("len", Exactly(1)),
        ("index", AtLeast(1)),
        ("slice", AtLeast(1)),
        ("print", AtLeast(0)),
        ("println", AtLeast(0)),
        ("printf", AtLeast(1)),
        ("html", AtLeast(0)),
        ("js", AtLeast(0)),
        ("urlquery", AtLeast(0)),
        ("eq", AtLeast(1)),
        ("ne", Exactly(2)),
        ("lt", Exactly(2)),
        ("le", Exactly(2)),
        ("gt", Exactly(2)),
        ("ge", Exactly(2)),
        ("call", AtLeast(1)),
        // Loki's own.
        ("__line__", Exactly(0)),
        ("__timestamp__", Exactly(0)),
        ("ToLower", Exactly(1)),
        ("ToUpper", Exactly(1)),
        ("Replace", Exactly(4)),
        ("Trim", Exactly(2)),
        ("TrimLeft", Exactly(2)),
        ("TrimRight", Exactly(2)),
        ("TrimPrefix", Exactly(2)),
        ("TrimSuffix", Exactly(2)),
        ("TrimSpace", Exactly(1)),
        ("regexReplaceAll", Exactly(3)),
        ("regexReplaceAllLiteral", Exactly(3)),
        ("count", Exactly(2)),
        ("urldecode", Exactly(1)),
        ("urlencode", Exactly(1)),
        ("bytes", Exactly(1)),
        ("duration", Exactly(1)),
        ("duration_seconds", Exactly(1)),
        ("unixEpochMillis", Exactly(1)),
        ("unixEpochNanos", Exactly(1)),
        ("toDateInZone", Exactly(3)),
        ("unixToTime", Exactly(1)),
        ("alignLeft", Exactly(2)),
        ("alignRight", Exactly(2)),
        ("b64dec", Exactly(1)),
        // sprig's.
        ("b64enc", Exactly(1)),
        ("lower", Exactly(1)),
        ("upper", Exactly(1)),
        ("title", Exactly(1)),
        ("trunc", Exactly(2)),
        ("substr", Exactly(3)),
        ("contains", Exactly(2)),
        ("hasPrefix", Exactly(2)),
        ("hasSuffix", Exactly(2)),
        ("indent", Exactly(2)),
        ("nindent", Exactly(2)),
        ("replace", Exactly(3)),
        ("repeat", Exactly(2)),
        ("trim", Exactly(1)),
        ("trimAll", Exactly(2)),
        ("trimSuffix", Exactly(2)),
        ("trimPrefix", Exactly(2)),
        ("int", Exactly(1)),
        ("float64", Exactly(1)),
        ("add", AtLeast(0)),
        ("sub", Exactly(2)),
        ("mul", AtLeast(1)),
        ("div", Exactly(2)),
        ("mod", Exactly(2)),
        ("addf", AtLeast(0)),
        ("subf", AtLeast(1)),
        ("mulf", AtLeast(1)),
        ("divf", AtLeast(1)),
        ("max", AtLeast(1)),
        ("min", AtLeast(1)),
        ("maxf", AtLeast(1)),
        ("minf", AtLeast(1)),
        ("ceil", Exactly(1)),
        ("floor", Exactly(1)),
        ("round", AtLeast(2)),
        ("fromJson", Exactly(1)),
        ("date", Exactly(2)),
        ("toDate", Exactly(2)),
        ("now", Exactly(0)),
        ("unixEpoch", Exactly(1)),
        ("default", AtLeast(1)),
    ]
};

#[test]
fn every_function_has_the_arity_of_its_go_signature() {
    let funcs = Funcs::loki();
    let mut ours: Vec<&str> = funcs.names().collect();
    let mut go: Vec<&str> = GO_SIGNATURES.iter().map(|(n, _)| *n).collect();
    ours.sort_unstable();
    go.sort_unstable();
    assert_eq!(ours, go, "the table lists every function offered");
    for (name, arity) in GO_SIGNATURES {
        assert_eq!(funcs.get(name).map(|e| e.arity), Some(*arity), "{name}");
    }
}

#[test]
fn a_wrong_number_of_arguments_fails_before_the_call() {
    for (name, arity) in GO_SIGNATURES {
        let (given, want) = match arity {
            Arity::Exactly(n) => (n + 1, format!("want {n} got {}", n + 1)),
            Arity::AtLeast(0) => continue,
            Arity::AtLeast(n) => (n - 1, format!("want at least {n} got {}", n - 1)),
        };
        let args = " \"x\"".repeat(given);
        let e = run_err("line", &format!("{{{{ {name}{args} }}}}"), &[]);
        assert!(
            e.ends_with(&format!(": wrong number of args for {name}: {want}")),
            "{name}: {e}"
        );
    }
}

#[test]
fn arity_errors_read_as_go_prints_them() {
    // Loki's fmt_test.go "template_error" and the label formatter's "template error".
    assert_eq!(
        run_err(
            "line",
            "{{.foo | now}}",
            &[("foo", "blip"), ("bar", "blop")]
        ),
        "template: line:1:9: executing \"line\" at <now>: wrong number of args for now: want 0 got 1"
    );
    assert_eq!(
        run_err("label", "{{replace \"test\" .foo}}", &[("foo", "blip")]),
        "template: label:1:2: executing \"label\" at <replace>: wrong number of args for replace: want 3 got 2"
    );
    // Go leaves the piped value out of the count of a variadic call.
    assert!(
        run_err("line", "{{ 1 | round }}", &[]).ends_with("want at least 2 got 0"),
        "round"
    );
    // A bound `__line__` takes no argument either.
    let tpl = Template::parse("line", "{{ __line__ 1 }}", &Funcs::loki()).unwrap();
    let e = tpl
        .execute_scoped(&Value::Nil, &[(LINE_FUNC, Value::from("l"))])
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("wrong number of args for __line__: want 0 got 1"),
        "{e}"
    );
}

#[test]
fn float_arithmetic_goes_through_decimals() {
    let labels = [
        ("foo", "1.5"),
        ("bar", "5"),
        ("baz", "10.5"),
        ("bazz", "20.2"),
    ];
    // Loki's fmt_test.go "mathfloat" and "mathfloatround".
    assert_eq!(
        run(
            "{{ addf .foo 1.5 | subf .bar 1.5 | mulf .baz | divf .bazz }}",
            &labels
        ),
        "3.8476190476190477"
    );
    assert_eq!(
        run(
            "{{ round (addf .foo 1.5 | subf .bar | mulf .baz | divf .bazz) 5 .2}}",
            &[
                ("foo", "1.5"),
                ("bar", "3.5"),
                ("baz", "10.5"),
                ("bazz", "20.4")
            ]
        ),
        "3.88572"
    );
    assert_eq!(run("{{ divf 20.2 5.25 }}", &[]), "3.8476190476190477");
    // float64 division would print 0.6666666666666666.
    assert_eq!(run("{{ divf 2 3 }}", &[]), "0.6666666666666667");
    assert_eq!(run("{{ addf 0.1 0.2 }}", &[]), "0.3");
    assert_eq!(run("{{ mulf 1.1 1.1 }}", &[]), "1.21");
    assert_eq!(run("{{ subf 0.3 0.1 }}", &[]), "0.2");
    assert_eq!(run("{{ addf }}", &[]), "0");
    assert_eq!(run("{{ divf 1 3e20 }}", &[]), "0");
    assert_eq!(run("{{ mulf 1e300 1e300 }}", &[]), "+Inf");
    // Loki's fmt_test.go "max" and "ceilfloor".
    let labels = [("foo", "5.3"), ("bar", "10.5"), ("baz", "15.2")];
    assert_eq!(
        run(
            "minf is {{ minf .foo .bar .baz }} and maxf is {{maxf .foo .bar .baz}}",
            &labels
        ),
        "minf is 5.3 and maxf is 15.2"
    );
    assert_eq!(
        run(
            "ceil is {{ ceil .foo }} and floor is {{floor .foo }}",
            &labels
        ),
        "ceil is 6 and floor is 5"
    );
    assert_eq!(run(r#"{{ maxf 1 "NaN" }}"#, &[]), "NaN");
    assert_eq!(run(r#"{{ minf "NaN" "-Inf" }}"#, &[]), "-Inf");
}

#[test]
fn decimal_failures_are_call_errors() {
    assert!(
        run_err("line", "{{ divf 1 0 }}", &[])
            .ends_with("error calling divf: decimal division by 0")
    );
    assert!(
        run_err("line", r#"{{ addf 1 "NaN" }}"#, &[])
            .ends_with("error calling addf: Cannot create a Decimal from NaN")
    );
    assert!(
        run_err("line", "{{ mulf 1e300 1e300 | subf 1 }}", &[])
            .ends_with("error calling subf: Cannot create a Decimal from +Inf")
    );
}
