//! Parser tests: Tempo's own error cases (`pkg/traceql/parse_test.go`) with their exact
//! messages and positions, and the shape of trees for precedence and normalisation.

use super::*;
use crate::ParseError;

/// (query, message, line, column) as Tempo's `parse_test.go` expects them.
const ERRORS: &[(&str, &str, usize, usize)] = &[
    ("", "syntax error: unexpected $end", 0, 0),
    ("{ .a } | { .b", "syntax error: unexpected $end", 1, 14),
    ("{ .a | .b }", "syntax error: unexpected |", 1, 6),
    (
        "({ .a } | { .b }",
        "syntax error: unexpected $end, expecting ) or |",
        1,
        17,
    ),
    (
        "({ .a } | { .b }) + ({ .a } | { .b })",
        "syntax error: unexpected +, expecting with",
        1,
        19,
    ),
    (
        "by(.a) && { .b }",
        "syntax error: unexpected &&, expecting with",
        0,
        8,
    ),
    ("by()", "syntax error: unexpected )", 1, 4),
    ("coalesce()", "syntax error: unexpected coalesce", 1, 1),
    (
        "select(.a) && { .b }",
        "syntax error: unexpected &&, expecting with",
        0,
        12,
    ),
    ("select()", "syntax error: unexpected )", 1, 8),
    (
        "{ true } &&",
        "syntax error: unexpected $end, expecting { or (",
        1,
        12,
    ),
    (
        "(avg(.foo) > count()) + sum(.bar)",
        "syntax error: unexpected +, expecting with",
        1,
        23,
    ),
    ("count(", "syntax error: unexpected $end, expecting )", 1, 7),
    (
        "count(avg)",
        "syntax error: unexpected avg, expecting )",
        1,
        7,
    ),
    (
        "count(.thing)",
        "syntax error: unexpected ., expecting )",
        1,
        7,
    ),
    ("wharblgarbl", "syntax error: unexpected IDENTIFIER", 1, 1),
    ("{ 2 <> 3}", "syntax error: unexpected >", 1, 6),
    ("{ 2 = .b ", "syntax error: unexpected $end", 1, 10),
    ("{ + }", "syntax error: unexpected +", 1, 3),
    (
        "{ . foo }",
        "syntax error: unexpected END_ATTRIBUTE, expecting IDENTIFIER",
        1,
        3,
    ),
    (
        r#"{ . "foo" }"#,
        "syntax error: unexpected END_ATTRIBUTE, expecting IDENTIFIER",
        1,
        3,
    ),
    ("{ .foo .bar }", "syntax error: unexpected .", 1, 8),
    (
        "{ parent. }",
        "syntax error: unexpected END_ATTRIBUTE, expecting IDENTIFIER or resource. or span.",
        0,
        3,
    ),
    (".3foo", "syntax error: unexpected IDENTIFIER", 1, 3),
    (r#"{ ."foo }"#, r#"unexpected EOF, expecting ""#, 0, 3),
    ("{} | topk(10)", "syntax error: unexpected topk", 1, 6),
    (
        "{} | topk(10) with(sample=0.1)",
        "syntax error: unexpected topk",
        1,
        6,
    ),
    (
        "{} | rate() | topk(-1)",
        "syntax error: unexpected -, expecting INTEGER",
        1,
        20,
    ),
    ("{} | bottomk(10)", "syntax error: unexpected bottomk", 1, 6),
    (
        "{} | bottomk(10) with(sample=0.1)",
        "syntax error: unexpected bottomk",
        1,
        6,
    ),
    (
        "{} | rate() | bottomk(-1)",
        "syntax error: unexpected -, expecting INTEGER",
        1,
        23,
    ),
    (
        "{} > 10",
        "syntax error: unexpected INTEGER, expecting { or (",
        1,
        6,
    ),
    (
        "{} = 10",
        "syntax error: unexpected =, expecting with",
        1,
        4,
    ),
];

#[test]
fn syntax_errors_read_as_tempo_words_them() {
    let mut problems = Vec::new();
    for &(q, msg, line, col) in ERRORS {
        let want = ParseError::new(msg, line, col);
        match parse(q) {
            Ok(p) => problems.push(format!("{q:?} parses as {p}")),
            Err(e) if e != want => problems.push(format!("{q:?}: got {e}, want {want}")),
            Err(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn error_display_has_tempo_prefixes() {
    assert_eq!(
        parse("{ + }").unwrap_err().to_string(),
        "parse error at line 1, col 3: syntax error: unexpected +"
    );
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "parse error : syntax error: unexpected $end"
    );
}

#[test]
fn action_errors_come_first() {
    let e = parse("{ .a = foo }").unwrap_err();
    assert_eq!(e.msg, "unknown identifier: foo");
    for q in [
        "100s + ({} | rate())",
        "({} | rate()) - 50ms",
        "2s * ({} | count_over_time())",
    ] {
        let e = parse(q).unwrap_err();
        assert_eq!(
            e.msg, "duration cannot be used as a scalar operand in metric arithmetic",
            "{q}"
        );
    }
    let e = parse("({} | rate()) > (10s * 2)").unwrap_err();
    assert_eq!(e.msg, "duration cannot be used in scalar arithmetic");
    let e = parse("({} | rate()) * 100000000000000000000000000000").unwrap_err();
    assert_eq!(
        e.msg,
        "strconv.Atoi: parsing \"100000000000000000000000000000\": value out of range"
    );
    assert!(parse("{} | count_over_time() / {} | count_over_time()").is_err());
    assert!(parse("({} | count_over_time()) / ").is_err());
    assert!(parse("/ ({} | count_over_time())").is_err());
}

fn filter_expr(q: &str) -> FieldExpr {
    match parse(q).unwrap().expr {
        Expr::Spans(p) => match p.stages.into_iter().next() {
            Some(Stage::Spanset(SpansetExpr::Filter(f))) => f.expr,
            other => panic!("not a filter: {other:?}"),
        },
        other => panic!("not a search: {other:?}"),
    }
}

fn attr(name: &str) -> Box<FieldExpr> {
    Box::new(FieldExpr::Attribute(Attribute::Named {
        scope: Scope::None,
        parent: false,
        name: name.into(),
    }))
}

#[test]
fn field_precedence_is_tempos() {
    // `&&` binds as loosely as `||`, comparisons bind looser than arithmetic, `^` to the right.
    assert_eq!(
        filter_expr("{ .a || .b && .c }"),
        FieldExpr::Binary {
            op: BinaryOp::And,
            lhs: Box::new(FieldExpr::Binary {
                op: BinaryOp::Or,
                lhs: attr("a"),
                rhs: attr("b")
            }),
            rhs: attr("c"),
        }
    );
    assert_eq!(
        filter_expr("{ .a ^ .b ^ .c }"),
        FieldExpr::Binary {
            op: BinaryOp::Pow,
            lhs: attr("a"),
            rhs: Box::new(FieldExpr::Binary {
                op: BinaryOp::Pow,
                lhs: attr("b"),
                rhs: attr("c")
            }),
        }
    );
    assert_eq!(
        filter_expr("{ .a + .b = .c }").to_string(),
        "(.a + .b) = .c"
    );
}

#[test]
fn empty_filter_is_true() {
    for q in ["{}", "{ }", "{                    }", "{ true }"] {
        let p = parse(q).unwrap();
        assert_eq!(p.to_string(), "{ true }");
        assert_eq!(filter_expr(q), FieldExpr::Static(Static::Bool(true)));
    }
}

#[test]
fn spanset_operators_and_structure() {
    let p = parse("{ .a } && { .b } >> { .c }").unwrap();
    assert_eq!(p.to_string(), "{ .a } && ({ .b } >> { .c })");
    let p = parse("({ .a } | count() > 1) && ({ .b })").unwrap();
    assert_eq!(p.to_string(), "({ .a } | count() > 1) && ({ .b })");
    let Expr::Spans(pl) = &p.expr else {
        panic!("search")
    };
    assert!(matches!(
        &pl.stages[..],
        [Stage::Spanset(SpansetExpr::Op {
            op: SpansetOp::And,
            lhs,
            rhs
        })] if matches!(**lhs, SpansetExpr::Pipeline(_)) && matches!(**rhs, SpansetExpr::Filter(_))
    ));
}

#[test]
fn attributes_and_intrinsics() {
    for (q, printed) in [
        (
            "{ span.http.status_code >= 500 }",
            "{ span.http.status_code >= 500 }",
        ),
        (
            "{ resource.service.name = \"a\" }",
            "{ resource.service.name = \"a\" }",
        ),
        ("{ parent.span.a = 1 }", "{ parent.span.a = 1 }"),
        ("{ span:duration > 1s }", "{ duration > 1s }"),
        ("{ trace:rootService = `a` }", "{ rootServiceName = \"a\" }"),
        ("{ span.\"a b\" = 1 }", "{ span.\"a b\" = 1 }"),
        ("{ .\"span.x\" = 1 }", "{ .\"span.x\" = 1 }"),
        ("{ .a = minInt }", "{ .a = minInt }"),
        ("{ duration > 1.5s }", "{ duration > 1.5s }"),
        ("{ duration > 90m }", "{ duration > 1h30m0s }"),
        ("{ .a = 1e300 }", "{ .a = 1e300 }"),
        ("{ .a != nil && nil = .b }", "(.a != nil) && (.b = nil)"),
    ] {
        let got = parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).to_string();
        let want = if printed.starts_with('{') {
            printed.to_string()
        } else {
            format!("{{ {printed} }}")
        };
        assert_eq!(got, want, "{q}");
    }
}

#[test]
fn metrics_shapes() {
    for (q, printed) in [
        (
            "{} | rate() by (span.a, name)",
            "{ true } | rate() by (span.a, name)",
        ),
        (
            "{} | quantile_over_time(duration, 0, .9, 1) | topk(3) > 2s",
            "{ true } | quantile_over_time(duration, 0.0, 0.9, 1.0) | topk(3) > 2",
        ),
        ("({} | rate()) > 10", "{ true } | rate() > 10"),
        ("5 + ({} | rate()) * 10", "5 + (({ true } | rate()) * 10)"),
        ("1 + 2 + ({} | rate())", "3 + ({ true } | rate())"),
        (
            "({} | rate()) + ({} | rate()) | topk(5)",
            "({ true } | rate()) + ({ true } | rate()) | topk(5)",
        ),
        (
            "{} | compare({status=error})",
            "{ true } | compare({ status = error })",
        ),
        (
            "{} | compare({status=error}, 5)",
            "{ true } | compare({ status = error }, 5)",
        ),
        (
            "{} | rate() with(sample=0.1, most_recent=true)",
            "{ true } | rate() with(sample=0.1, most_recent=true)",
        ),
    ] {
        let got = parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).to_string();
        assert_eq!(got, printed, "{q}");
    }
}
