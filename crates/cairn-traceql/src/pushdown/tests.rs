use super::*;

fn field_name(f: &PushField) -> String {
    match f {
        PushField::Name => "name".into(),
        PushField::Status => "status".into(),
        PushField::Kind => "kind".into(),
        PushField::Duration => "duration".into(),
        PushField::Span(k) => format!("span.{k}"),
        PushField::Resource(k) => format!("resource.{k}"),
        PushField::Unscoped(k) => format!(".{k}"),
    }
}

fn show_span(c: &SpanCondition) -> String {
    match c {
        SpanCondition::True => "true".into(),
        SpanCondition::Test(t) => {
            let f = field_name(&t.field);
            let lit = format!("{:?}", t.literal);
            if t.literal_left {
                format!("{lit} {} {f}", t.op.symbol())
            } else {
                format!("{f} {} {lit}", t.op.symbol())
            }
        }
        SpanCondition::And(xs) => format!(
            "({})",
            xs.iter().map(show_span).collect::<Vec<_>>().join(" and ")
        ),
        SpanCondition::Or(xs) => format!(
            "({})",
            xs.iter().map(show_span).collect::<Vec<_>>().join(" or ")
        ),
    }
}

fn show(c: &TraceCondition) -> String {
    match c {
        TraceCondition::All => "all".into(),
        TraceCondition::Any(s) => format!("any{}", wrap(&show_span(s))),
        TraceCondition::And(xs) => format!(
            "AND[{}]",
            xs.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        TraceCondition::Or(xs) => {
            format!("OR[{}]", xs.iter().map(show).collect::<Vec<_>>().join(", "))
        }
    }
}

fn wrap(s: &str) -> String {
    if s.starts_with('(') {
        s.to_string()
    } else {
        format!("({s})")
    }
}

fn derive(q: &str) -> String {
    let q = crate::parse_and_validate(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    show(&pushdown(&q))
}

#[test]
fn intrinsics_and_dedicated_fields() {
    assert_eq!(
        derive(r#"{ resource.service.name = "payment" && status = error }"#),
        r#"any(resource.service.name = Str("payment") and status = Status(Error))"#
    );
    assert_eq!(
        derive(r#"{ name =~ "GET.*" }"#),
        r#"any(name =~ Str("GET.*"))"#
    );
    assert_eq!(derive("{ kind = server }"), "any(kind = Kind(Server))");
    assert_eq!(
        derive("{ duration > 1s }"),
        "any(duration > Duration(1000000000))"
    );
    assert_eq!(
        derive("{ span.http.status_code >= 500 } | count() > 2"),
        "any(span.http.status_code >= Int(500))"
    );
    assert_eq!(
        derive(r#"{ .http.method = "GET" }"#),
        r#"any(.http.method = Str("GET"))"#
    );
    assert_eq!(
        derive("{ 500 <= span.http.status_code }"),
        "any(Int(500) <= span.http.status_code)"
    );
}

#[test]
fn logic_within_a_filter() {
    assert_eq!(
        derive(r#"{ name = "a" || (kind = client && duration < 5ms) }"#),
        r#"any(name = Str("a") or (kind = Kind(Client) and duration < Duration(5000000)))"#
    );
    // An unknown side of `||` makes the whole disjunction unknown; of `&&`, it drops out.
    assert_eq!(derive(r#"{ name = "a" || event.x = 1 }"#), "all");
    assert_eq!(
        derive(r#"{ name = "a" && event.x = 1 }"#),
        r#"any(name = Str("a"))"#
    );
}

#[test]
fn nothing_to_push() {
    for q in [
        "{}",
        "{ true }",
        "{ !(name = \"a\") }",
        "{ span.a = nil }",
        "{ span.a != nil }",
        "{ event.a = 1 }",
        "{ link:traceID = \"1\" }",
        "{ rootServiceName = \"a\" }",
        "{ span.a = span.b }",
        "{ span.a + 1 = 2 }",
        "{ name = \"a\" } || { }",
        "{ } | count() > 1",
        // Evaluation may fail here, which leaving out traces would hide.
        "{ name = \"a\" && span.a / 2 = 1 }",
        "{ name = \"a\" && !span.b }",
        "{ name = \"a\" } && { span.c = span.d }",
        "({ name = \"a\" } | by(span.x)) > ({ name = \"b\" })",
    ] {
        assert_eq!(derive(q), "all", "{q}");
    }
}

#[test]
fn spanset_operators() {
    assert_eq!(
        derive(r#"{ name = "a" } && { name = "b" }"#),
        r#"AND[any(name = Str("a")), any(name = Str("b"))]"#
    );
    assert_eq!(
        derive(r#"{ name = "a" } || { name = "b" }"#),
        r#"OR[any(name = Str("a")), any(name = Str("b"))]"#
    );
    for op in [">", "<", ">>", "<<", "~", "&>", "&<", "&>>", "&<<", "&~"] {
        assert_eq!(
            derive(&format!(r#"{{ name = "a" }} {op} {{ name = "b" }}"#)),
            r#"AND[any(name = Str("a")), any(name = Str("b"))]"#,
            "{op}"
        );
    }
    // The negated forms keep right-hand spans even with no left-hand span.
    for op in ["!>", "!<", "!>>", "!<<", "!~"] {
        assert_eq!(
            derive(&format!(r#"{{ name = "a" }} {op} {{ name = "b" }}"#)),
            r#"any(name = Str("b"))"#,
            "{op}"
        );
    }
    assert_eq!(
        derive(r#"({ name = "a" } && { name = "b" }) || { kind = client }"#),
        r#"OR[AND[any(name = Str("a")), any(name = Str("b"))], any(kind = Kind(Client))]"#
    );
}

#[test]
fn pipelines() {
    assert_eq!(
        derive(r#"{ name = "a" } | { kind = server } | count() > 1"#),
        r#"AND[any(name = Str("a")), any(kind = Kind(Server))]"#
    );
    assert_eq!(
        derive(r#"({ name = "a" } | count() > 1) && ({ kind = server })"#),
        r#"AND[any(name = Str("a")), any(kind = Kind(Server))]"#
    );
    assert_eq!(
        derive(r#"{ status = error } | by(resource.service.name) | select(span.a)"#),
        "any(status = Status(Error))"
    );
}

#[test]
fn metrics_queries() {
    assert_eq!(
        derive(r#"{ resource.service.name = "a" } | rate() by (name)"#),
        r#"any(resource.service.name = Str("a"))"#
    );
    assert_eq!(
        derive("{ status = error } | quantile_over_time(duration, .9)"),
        "any(status = Status(Error))"
    );
    assert_eq!(
        derive(r#"({ name = "a" } | rate()) / ({ name = "b" } | rate())"#),
        r#"OR[any(name = Str("a")), any(name = Str("b"))]"#
    );
    assert_eq!(derive("{ } | rate()"), "all");
}

#[test]
fn field_tests_answer_as_evaluation() {
    let q = crate::parse_and_validate("{ span.a >= 500 }").expect("parses");
    let TraceCondition::Any(SpanCondition::Test(t)) = pushdown(&q) else {
        panic!("one test")
    };
    assert!(t.test_int(500) && t.test_int(503) && !t.test_int(499));
    assert!(!t.test_str("503"), "a string never compares with an int");
    let q = crate::parse_and_validate("{ status = error && kind != server }").expect("parses");
    let TraceCondition::Any(SpanCondition::And(ts)) = pushdown(&q) else {
        panic!("two tests")
    };
    let [SpanCondition::Test(st), SpanCondition::Test(k)] = &ts[..] else {
        panic!("two tests")
    };
    assert!(st.test_int(StatusCode::Error as i64) && !st.test_int(StatusCode::Ok as i64));
    assert!(k.test_int(SpanKind::Client as i64) && !k.test_int(SpanKind::Server as i64));
    let q = crate::parse_and_validate(r#"{ name =~ "get.*" }"#).expect("parses");
    let TraceCondition::Any(SpanCondition::Test(t)) = pushdown(&q) else {
        panic!("one test")
    };
    assert!(t.test_str("get /a") && !t.test_str("xget"), "anchored");
    let q = crate::parse_and_validate("{ duration > 1.5ms }").expect("parses");
    let TraceCondition::Any(SpanCondition::Test(t)) = pushdown(&q) else {
        panic!("one test")
    };
    assert!(t.test_int(1_500_001) && !t.test_int(1_500_000));
}
