//! Hostile templates: bounded nesting, steps, recursion and output; random input never
//! panics.

use cairn_template::{Funcs, Limits, Template, Value};
use proptest::prelude::*;

fn run(text: &str, limits: Limits) -> Result<String, String> {
    Template::parse("t", text, &Funcs::prometheus())
        .map(|t| t.with_limits(limits))
        .and_then(|t| t.execute(&Value::Nil))
        .map_err(|e| e.to_string())
}

#[test]
fn deep_nesting_is_refused_at_parse_time() {
    let deep = format!("{}x{}", "{{if 1}}".repeat(150), "{{end}}".repeat(150));
    let e = Template::parse("t", &deep, &Funcs::builtins()).expect_err("too deep");
    assert!(
        e.to_string().contains("nesting deeper than 100 levels"),
        "{e}"
    );
    let ok = format!("{}x{}", "{{if 1}}".repeat(50), "{{end}}".repeat(50));
    assert_eq!(run(&ok, Limits::default()).expect("runs"), "x");
    let parens = format!("{{{{{}1{}}}}}", "(".repeat(150), ")".repeat(150));
    assert!(Template::parse("t", &parens, &Funcs::builtins()).is_err());
}

#[test]
fn infinite_recursion_stops_at_the_depth_limit() {
    let e = run(
        r#"{{define "r"}}x{{template "r" .}}{{end}}{{template "r" .}}"#,
        Limits::default(),
    )
    .expect_err("recursion");
    assert!(e.contains("exceeded maximum template depth (100)"), "{e}");
}

/// Half the stack of tokio's worker and blocking threads, so that the bounds keep a
/// two-fold margin in unoptimised builds.
const STACK: usize = 1 << 20;

/// Parses and runs a template with the default limits on a thread with a small stack.
fn run_on_small_stack(text: String) -> Result<String, String> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            Template::parse("t", &text, &Funcs::prometheus())
                .and_then(|t| t.execute(&Value::Nil))
                .map_err(|e| e.to_string())
        })
        .expect("spawns")
        .join()
        .expect("no stack overflow")
}

#[test]
fn recursion_through_nesting_fits_a_small_stack() {
    // 98 levels of if/with per call, recursing: without a nesting bound this overflows.
    let nested = format!(
        "{}{{{{template \"r\" .}}}}{}",
        "{{if 1}}{{with 2}}".repeat(49),
        "{{end}}{{end}}".repeat(49)
    );
    let e = run_on_small_stack(format!(
        "{{{{define \"r\"}}}}{nested}{{{{end}}}}{{{{template \"r\" .}}}}"
    ))
    .expect_err("too deep");
    assert!(e.contains("nesting deeper than 150 levels"), "{e}");
    // The same through parenthesised pipelines and `tmpl`.
    let parens = format!("{}tmpl \"r\" .{}", "(".repeat(90), ")".repeat(90));
    let e = run_on_small_stack(format!(
        "{{{{define \"r\"}}}}{{{{{parens}}}}}{{{{end}}}}{{{{template \"r\" .}}}}"
    ))
    .expect_err("too deep");
    assert!(e.contains("nesting deeper than 150 levels"), "{e}");
    let range = format!(
        "{}{{{{template \"r\" .}}}}{}",
        "{{range 1}}".repeat(95),
        "{{end}}".repeat(95)
    );
    let e = run_on_small_stack(format!(
        "{{{{define \"r\"}}}}{range}{{{{end}}}}{{{{template \"r\" .}}}}"
    ))
    .expect_err("too deep");
    assert!(e.contains("nesting deeper than"), "{e}");
    // Parsing and running at the parse depth limit fits too.
    let deep = format!(
        "{}{{{{{}1{}}}}}{}",
        "{{if 1}}".repeat(90),
        "(".repeat(9),
        ")".repeat(9),
        "{{end}}".repeat(90)
    );
    assert_eq!(run_on_small_stack(deep).expect("runs"), "1");
}

#[test]
fn output_is_bounded() {
    let limits = Limits {
        max_output_bytes: 1000,
        ..Limits::default()
    };
    let e = run("{{range 100000}}0123456789{{end}}", limits).expect_err("too big");
    assert!(e.contains("output larger than 1000 bytes"), "{e}");
    assert_eq!(
        run("{{range 10}}0123456789{{end}}", limits)
            .expect("fits")
            .len(),
        100
    );
    // Doubling a string through a variable is stopped by the value size check.
    let e = run(
        "{{$x := \"0123456789\"}}{{range 40}}{{$x = printf \"%s%s\" $x $x}}{{end}}",
        Limits {
            max_output_bytes: 1 << 20,
            ..Limits::default()
        },
    )
    .expect_err("too big");
    assert!(e.contains("result larger than"), "{e}");
    // Output captured by `tmpl` counts against the same limit.
    let e = run(
        "{{define \"d\"}}{{range 50}}0123456789{{end}}{{end}}{{range 10}}{{tmpl \"d\" .}}{{end}}",
        limits,
    )
    .expect_err("too big");
    assert!(e.contains("output larger than 1000 bytes"), "{e}");
    // A huge printf width is clamped instead of allocated.
    assert_eq!(
        run("{{printf \"%999999999d\" 1 | len}}", Limits::default()).expect("runs"),
        "10000"
    );
}

#[test]
fn steps_are_bounded() {
    let limits = Limits {
        max_steps: 10_000,
        ..Limits::default()
    };
    let e = run("{{range 1000}}{{range 1000}}{{end}}{{end}}", limits).expect_err("too long");
    assert!(e.contains("execution stopped after 10000 steps"), "{e}");
    let e = run("{{range 1000000000000}}{{end}}", limits).expect_err("too long");
    assert!(e.contains("execution stopped"), "{e}");
}

fn template_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{{",
        "}}",
        "{{- ",
        " -}}",
        "{{/*",
        "*/}}",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "$x",
        ":=",
        "=",
        "$",
        ".",
        ".a",
        ".b.c",
        "(",
        ")",
        "|",
        ",",
        "\"s\"",
        "`r`",
        "'c'",
        "1",
        "-2",
        "1.5e3",
        "0x1f",
        "nil",
        "true",
        "printf",
        "\"%d %s %v %.2f %*d\"",
        "len",
        "index",
        "slice",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "humanize",
        "tmpl",
        "first",
        "query",
        " ",
        "\n",
        "x",
        "\"",
        "\\",
        "é",
        "\u{a0}",
        "}",
        "{",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

/// Mostly well-formed actions, so that execution paths are exercised, not only the parser.
fn action_text() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        ".",
        ".a",
        ".a.b",
        "$",
        "$.a",
        "1",
        "-1.5",
        "\"s\"",
        "nil",
        "true",
        "(len .a)",
        "(index .a 0)",
        "(printf \"%v\" .)",
        "(slice \"abc\" 1)",
        "(humanize 1234)",
        "(eq 1 1.0)",
        "(query \"up\")",
        "(args 1 2)",
        "(.a.Names)",
        "(.m.SortedPairs)",
        "(.a.Firing)",
        "(1 | toTime)",
    ]);
    let func = prop::sample::select(vec![
        "",
        "len ",
        "index ",
        "slice ",
        "print ",
        "printf \"%d%s%v\" ",
        "eq ",
        "lt ",
        "and ",
        "or ",
        "not ",
        "humanize ",
        "humanizeDuration ",
        "first ",
        "label \"x\" ",
        "value ",
        "title ",
        "html ",
        "js ",
        "urlquery ",
        "toUpper ",
        "sortByLabel \"a\" ",
        "tmpl \"d\" ",
    ]);
    let action = (func, prop::collection::vec(word, 1..3))
        .prop_map(|(f, w)| format!("{{{{{f}{}}}}}", w.join(" ")));
    let control = prop::sample::select(vec![
        "{{if .a}}",
        "{{else}}",
        "{{end}}",
        "{{range .a}}",
        "{{range $i, $v := .m}}",
        "{{with .m}}",
        "{{break}}",
        "{{continue}}",
        "{{template \"d\" .}}",
        "{{$x := .a}}",
        "{{$x = 1}}",
        "text",
        "{{- \" \" -}}",
    ]);
    let piece = prop_oneof![action.boxed(), control.prop_map(str::to_owned).boxed()];
    prop::collection::vec(piece, 0..12).prop_map(|v| {
        format!(
            "{{{{define \"d\"}}}}{{{{template \"d\" .}}}}{{{{end}}}}{}",
            v.concat()
        )
    })
}

proptest! {
    #[test]
    fn random_actions_never_panic(text in action_text()) {
        let limits = Limits { max_steps: 10_000, max_output_bytes: 10_000, max_call_depth: 20, max_nesting: 150 };
        if let Ok(t) = Template::parse("t", &text, &Funcs::prometheus()) {
            let t = t.with_limits(limits);
            let m: Value = [("x", "y"), ("alertname", "A")].into_iter().collect();
            let data: Value = [
                ("a", Value::from(vec![Value::from(1i64), Value::from("s"), m.clone()])),
                ("m", m),
            ]
            .into_iter()
            .collect();
            let _ = t.execute(&data);
            let _ = t.execute_named("d", &Value::from(3i64));
        }
    }

    #[test]
    fn random_templates_never_panic(text in template_text()) {
        let limits = Limits { max_steps: 10_000, max_output_bytes: 10_000, max_call_depth: 20, max_nesting: 150 };
        if let Ok(t) = Template::parse("t", &text, &Funcs::prometheus()) {
            let t = t.with_limits(limits);
            let data: Value = [("a", Value::from(vec![Value::from(1i64)]))].into_iter().collect();
            let _ = t.execute(&data);
            let _ = t.execute(&Value::Nil);
        }
    }

    #[test]
    fn random_bytes_never_panic(text in ".{0,60}") {
        if let Ok(t) = Template::parse("t", &text, &Funcs::alertmanager()) {
            let _ = t.execute(&Value::Nil);
        }
    }

    #[test]
    fn printf_never_panics(format in ".{0,20}", n in any::<i64>(), f in any::<f64>()) {
        let t = Template::parse("t", "{{printf .f .n .x .s}}", &Funcs::builtins()).expect("parses");
        let data: Value = [
            ("f", Value::from(format)),
            ("n", Value::from(n)),
            ("x", Value::from(f)),
            ("s", Value::from("s")),
        ]
        .into_iter()
        .collect();
        let _ = t.execute(&data);
    }
}
