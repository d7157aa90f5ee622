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

#[test]
fn syntax_errors_read_like_lokis() {
    let cases = [
        (
            "unk({ foo = \"bar\" }[5m])",
            "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER",
        ),
        (
            "rate({ foo = \"bar\" }[5minutes])",
            "parse error at line 0, col 21: unknown unit \"minutes\" in duration \"5minutes\"",
        ),
        (
            "label_replace(rate({ foo = \"bar\" }[5m]),\"\")",
            "parse error at line 1, col 43: syntax error: unexpected ), expecting ,",
        ),
        (
            "rate({ foo = \"bar\" }[5)",
            "parse error at line 0, col 21: missing closing ']' in duration",
        ),
        (
            "min({ foo = \"bar\" }[5m])",
            "parse error at line 0, col 20: syntax error: unexpected RANGE",
        ),
        (
            "{ foo = \"bar\" }|logfmt|addr>=ip(\"1.2.3.4\")",
            "parse error at line 1, col 30: syntax error: unexpected ip",
        ),
        (
            "bottomk(he,count_over_time({ foo = \"bar\" }[5h]))",
            "parse error at line 1, col 9: syntax error: unexpected IDENTIFIER",
        ),
        (
            "stddev({ foo = \"bar\" })",
            "parse error at line 1, col 23: syntax error: unexpected )",
        ),
        (
            "{foo=\"bar}",
            "parse error at line 1, col 6: literal not terminated",
        ),
        (
            "{foo=\"bar\"",
            "parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,",
        ),
        (
            "{foo=\"bar\"} |~",
            "parse error at line 1, col 15: syntax error: unexpected $end, expecting STRING or ip",
        ),
        (
            "{foo=\"bar\"} \"foo\"",
            "parse error at line 1, col 13: syntax error: unexpected STRING",
        ),
        (
            "bool 1 > 1 > bool 1",
            "parse error at line 1, col 1: syntax error: unexpected bool",
        ),
        (
            "vector(abc)",
            "parse error at line 1, col 8: syntax error: unexpected IDENTIFIER, expecting NUMBER",
        ),
        (
            "#{app=\"foo\"} | json",
            "parse error at line 1, col 20: syntax error: unexpected $end",
        ),
        (
            "count without (rate({namespace=\"apps\"}[15s]))",
            "parse error at line 1, col 16: syntax error: unexpected RATE, expecting IDENTIFIER or )",
        ),
        (
            "quantile_over_time(foo,{namespace=\"tns\"} | unwrap latency [5m])",
            "parse error at line 1, col 20: syntax error: unexpected IDENTIFIER, expecting NUMBER or { or (",
        ),
    ];
    for (q, want) in cases {
        assert_eq!(err(q), want, "{q}");
    }
}

#[test]
fn semantic_errors_read_like_lokis() {
    let empty = "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";
    let cases = [
        (
            "absent_over_time({ foo = \"bar\" }[5h]) by (foo)",
            "parse error : grouping not allowed for absent_over_time aggregation",
        ),
        (
            "approx_topk(2, count_over_time({ foo = \"bar\" }[5h])) by (foo)",
            "parse error : grouping not allowed for approx_topk aggregation",
        ),
        (
            "label_replace(rate({ foo = \"bar\" }[5m]),\"foo\",\"$1\",\"bar\",\"^^^^x43\\\\q\")",
            "parse error : invalid regex in label_replace: error parsing regexp: invalid escape sequence: `\\q`",
        ),
        (
            "sum(3 ,count_over_time({ foo = \"bar\" }[5h]))",
            "parse error : unsupported parameter for operation sum(3,",
        ),
        (
            "topk(count_over_time({ foo = \"bar\" }[5h]))",
            "parse error : parameter required for operation topk",
        ),
        (
            "bottomk(1.2,count_over_time({ foo = \"bar\" }[5h]))",
            "parse error : invalid parameter bottomk(1.2,",
        ),
        (
            "topk(0,count_over_time({ foo = \"bar\" }[5h]))",
            "parse error : invalid parameter (must be greater than 0) topk(0",
        ),
        (
            "{app=\"foo\"} | logfmt | status_code > 0x10",
            "parse error : unable to parse literal as a float: strconv.ParseFloat: parsing \"0x10\": invalid syntax",
        ),
        (
            "{foo=\"bar\"} + {foo=\"bar\"}",
            "parse error : unexpected type for left leg of binary operation (+): *syntax.MatchersExpr",
        ),
        (
            "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) - ({foo=\"bar\"} |= \"x\")",
            "parse error : unexpected type for right leg of binary operation (-): *syntax.PipelineExpr",
        ),
        (
            "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) or 1",
            "parse error : unexpected literal for right leg of logical/set binary operation (or): 1.000000",
        ),
        (
            "1 unless sum(count_over_time({foo=\"bar\"}[5m])) by (foo)",
            "parse error : unexpected literal for left leg of logical/set binary operation (unless): 1.000000",
        ),
        (
            "sum_over_time({namespace=\"tns\"} | json | unwrap latency [5m]) by (foo)",
            "parse error : grouping not allowed for sum_over_time aggregation",
        ),
        (
            "sum_over_time(50,{namespace=\"tns\"} | unwrap latency [5m])",
            "parse error : parameter 50 not supported for operation sum_over_time",
        ),
        (
            "quantile_over_time({namespace=\"tns\"} | unwrap latency [5m])",
            "parse error : parameter required for operation quantile_over_time",
        ),
        (
            "count_over_time({app=\"foo\"} | json | unwrap foo [5m])",
            "parse error : invalid aggregation count_over_time with unwrap",
        ),
        (
            "sort by (a) (count_over_time({app=\"foo\"}[5m]))",
            "parse error : sort and sort_desc doesn't allow grouping by ",
        ),
        (
            "{a=~\"(\"}",
            "parse error : error parsing regexp: missing closing ): `(`",
        ),
        (
            "{a=\"b\"} | regexp \"(a)\"",
            "parse error : invalid regexp parser: at least one named capture must be supplied",
        ),
        (
            "{a=\"b\"} | pattern \"<a><b>\"",
            "parse error : invalid pattern parser: found consecutive capture '<a><b>': invalid expression",
        ),
        ("count_over_time({foo!=\"bar\"}[5m])", empty),
        (
            "1 + count_over_time({app=~\".+\"}[5m]) + count_over_time({app=~\".*\"}[5m])",
            empty,
        ),
        ("{app=~\".*\"}", empty),
        ("{}", empty),
    ];
    for (q, want) in cases {
        assert_eq!(err(q), want, "{q}");
    }
}

#[test]
fn canonical_forms_are_lokis() {
    let same = [
        r#"{foo="bar", bar!="baz"} != "bip" !~ ".+bop""#,
        r#"{foo="bar"} |= "baz" |~ "blip" |> "qux" !> "waldo" != "flip" !~ "flap""#,
        r#"{foo="bar", bar!="baz"} |= "" |= ip("::1")"#,
        r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt --strict --keep-empty"#,
        r#"{foo="bar"} |= "baz" | logfmt | b>=10GB"#,
        r#"{foo="bar"} | logfmt --strict --keep-empty b="foo" | b=ip("127.0.0.1") | level="error""#,
        r#"{foo="bar"} | regexp "(?P<foo>foo|bar)" | ( ( foo<5.01 , bar>20ms ) or foo="bar" ) | line_format "blip{{.boop}}bap" | label_format foo=bar,bar="blip{{.blop}}""#,
        r#"{foo="bar"} | logfmt | counter>-1 | counter>=-1 | counter<-1 | counter<=-1 | counter!=-1 | counter==-1"#,
    ];
    for q in same {
        assert_eq!(canon(q), q);
    }
    let cases = [
        ("1 > 1 > 1", "0"),
        (
            "1 > bool 1 > count_over_time({foo=\"bar\"}[1m])",
            "(0 > count_over_time({foo=\"bar\"}[1m]))",
        ),
        ("2 * 3", "6"),
        ("1 / 0", "NaN"),
        ("1000000", "1e+06"),
        ("vector(5)", "vector(5.000000)"),
        ("{a=\"b\"} |= \"x\" or \"y\"", "{a=\"b\"} |= \"x\" or \"y\""),
        (
            "{a=\"b\"} != \"x\" or \"y\" or \"z\"",
            "{a=\"b\"} != \"x\" != \"y\" != \"z\"",
        ),
        (
            "{a=\"b\"} |= \"x\" or ip(\"1.2.3.4\") or \"z\"",
            "{a=\"b\"} |= \"x\" or ip(\"1.2.3.4\") or \"z\"",
        ),
        (
            "sum by(a) (rate({a=\"b\"}[5m]))",
            "sum by (a)(rate({a=\"b\"}[5m]))",
        ),
        (
            "sum(rate({a=\"b\"}[5m])) without ()",
            "sum without ()(rate({a=\"b\"}[5m]))",
        ),
        (
            "topk(3, rate({a=\"b\"}[90s] offset 1h))",
            "topk(3,rate({a=\"b\"}[1m30s] offset 1h0m0s))",
        ),
        (
            "avg_over_time({a=\"b\"} | unwrap bytes(x) | __error__=\"\" [5m]) by (c)",
            "avg_over_time({a=\"b\"} | unwrap bytes(x) | __error__=\"\"[5m]) by (c)",
        ),
        (
            "rate({a=\"b\"}[5m]) + on(x) group_left(y) rate({a=\"c\"}[5m])",
            "(rate({a=\"b\"}[5m]) + on (x) group_left (y) rate({a=\"c\"}[5m]))",
        ),
        (
            "rate({a=\"b\"}[5m]) > bool ignoring(x) rate({a=\"c\"}[5m])",
            "(rate({a=\"b\"}[5m]) > bool ignoring (x)  rate({a=\"c\"}[5m]))",
        ),
        (
            "label_replace(rate({a=\"b\"}[5m]), \"d\", \"$1\", \"s\", \"(.*)\")",
            "label_replace(rate({a=\"b\"}[5m]),\"d\",\"$1\",\"s\",\"(.*)\")",
        ),
        (
            "{a=\"b\"} | json x=\"a.b[0]\", y",
            "{a=\"b\"} | json x=\"a.b[0]\",y=\"y\"",
        ),
        (
            "{a=\"b\"} | drop a, b=\"c\" | keep d",
            "{a=\"b\"} | drop a,b=\"c\" | keep d",
        ),
        (
            "{a=\"b\"} | x > 1s and y < 2KB or z = 3",
            "{a=\"b\"} | ( ( x>1s , y<2.0kB ) or z==3 )",
        ),
    ];
    for (q, want) in cases {
        assert_eq!(canon(q), want, "{q}");
    }
}

#[test]
fn formatter_splits_long_queries() {
    let q = r#"{job="loki", instance="localhost"}|= "error" != "memcached" |= ip("192.168.0.1") |logfmt"#;
    let e = parse(q).unwrap();
    assert_eq!(
        super::pretty::pretty_width(&e, 20),
        "{job=\"loki\", instance=\"localhost\"}\n  |= \"error\"\n  != \"memcached\"\n  |= ip(\"192.168.0.1\")\n  | logfmt"
    );
    let q = r#"count_over_time({job="loki", instance="localhost"}|logfmt[1m])"#;
    assert_eq!(
        super::pretty::pretty_width(&parse(q).unwrap(), 20),
        "count_over_time(\n  {job=\"loki\", instance=\"localhost\"}\n    | logfmt [1m]\n)"
    );
    // Short queries print on one line.
    assert_eq!(
        pretty(&parse(r#"{a="b"} | json"#).unwrap()),
        r#"{a="b"} | json"#
    );
}

#[test]
fn zero_b_is_binary_only_right_after_the_previous_token() {
    // Loki's scanner decides on a binary prefix from its saved look-ahead: after a blank,
    // `0B` and `0b1` are decimal literals without digits; glued to the operator, `0B` is a
    // binary literal, which the literal's float conversion then refuses.
    assert_eq!(
        err("{foo=\"bar\"} | logfmt | bytes < 0B"),
        "parse error at line 1, col 32: decimal literal has no digits"
    );
    assert_eq!(
        err("{foo=\"bar\"} | logfmt | x > 0b1"),
        "parse error at line 1, col 28: decimal literal has no digits"
    );
    assert_eq!(
        err("{foo=\"bar\"} | logfmt | bytes<0B"),
        "parse error : unable to parse literal as a float: strconv.ParseFloat: parsing \"0B\": invalid syntax"
    );
    assert_eq!(
        canon("{foo=\"bar\"} | logfmt | bytes < 1B"),
        "{foo=\"bar\"} | logfmt | bytes<1B"
    );
}

#[test]
fn regexp_parser_names_each_label_once() {
    // Go's regexp takes two groups of one name; Loki's regexp parser then refuses the second.
    assert_eq!(
        err("{app=\"a\"} | regexp `(?P<x>.)(?P<x>.)`"),
        "parse error : invalid regexp parser: duplicate extracted label name 'x'"
    );
    assert_eq!(
        err("{app=\"a\"} | regexp `(?P<x>.)(?<y>.)(?P<y>.)`"),
        "parse error : invalid regexp parser: duplicate extracted label name 'y'"
    );
    assert_eq!(
        canon("{app=\"a\"} | regexp `(?P<x>.)(?P<y>.)`"),
        "{app=\"a\"} | regexp \"(?P<x>.)(?P<y>.)\""
    );
}

#[test]
fn regexp_parser_duplicate_names_are_named() {
    let e = parse(r#"count_over_time({app="a"} | regexp `(?P<x>.)(?P<x>.)` [1m])"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse error : invalid regexp parser: duplicate extracted label name 'x'"
    );
}
