//! Prometheus' template functions, with the expected outputs of Prometheus'
//! `template/template_test.go` cases.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_template::{Arity, Funcs, Template, Value};
use chrono::DateTime;

fn sample(labels: &[(&str, &str)], value: f64) -> Value {
    let mut m = BTreeMap::new();
    m.insert(
        "Labels".to_owned(),
        Value::string_map(labels.iter().copied()),
    );
    m.insert("Value".to_owned(), Value::Float(value));
    Value::Map(m)
}

/// Prometheus' functions with `query` answering `result` and the test external URL.
fn funcs(result: Vec<Value>) -> Funcs {
    let mut f = Funcs::prometheus();
    f.insert(
        "query",
        Arity::Exactly(1),
        Arc::new(move |_: &[Value]| Ok(Value::List(result.clone()))),
    );
    let ts = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
    f.set_prometheus_context("http://testhost:9090/path/prefix", ts);
    f
}

fn expand_with(text: &str, data: &Value, result: Vec<Value>) -> Result<String, String> {
    Template::parse("test", text, &funcs(result))
        .and_then(|t| t.execute(data))
        .map_err(|e| e.to_string())
}

fn expand(text: &str, data: &Value) -> String {
    expand_with(text, data, Vec::new()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn floats(v: &[f64]) -> Value {
    Value::List(v.iter().map(|f| Value::Float(*f)).collect())
}

fn ints(v: &[i64]) -> Value {
    Value::List(v.iter().map(|i| Value::Int(*i)).collect())
}

fn strs(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| Value::from(*s)).collect())
}

#[test]
fn query_helpers() {
    let a = sample(&[("__name__", "metric"), ("instance", "a")], 11.0);
    let b = sample(&[("__name__", "metric"), ("instance", "b")], 21.0);
    let q = |text: &str, r: Vec<Value>| expand_with(text, &Value::Nil, r).expect("expands");
    assert_eq!(
        q(
            "{{ query \"1.5\" | first | value }}",
            vec![sample(&[], 1.5)]
        ),
        "1.5"
    );
    assert_eq!(
        q(
            "{{ query \"metric{instance='a'}\" | first | value }}",
            vec![a.clone()]
        ),
        "11"
    );
    assert_eq!(
        q(
            "{{ query \"metric\" | first | label \"instance\" }}",
            vec![a.clone()]
        ),
        "a"
    );
    assert_eq!(
        q(
            "{{ query \"metric\" | first | label \"foo\" }}",
            vec![a.clone()]
        ),
        ""
    );
    assert_eq!(
        q(
            "{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}",
            vec![a.clone()]
        ),
        ""
    );
    let v = sample(&[("__name__", "metric"), ("__value__", "a")], 11.0);
    assert_eq!(q("{{ query \"metric\" | first | strvalue }}", vec![v]), "a");
    assert_eq!(
        q(
            "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
            vec![b, a]
        ),
        "a:11: b:21: "
    );
    assert_eq!(
        expand_with("{{ query \"missing\" | first }}", &Value::Nil, Vec::new()).expect_err("fails"),
        "template: test:1:21: executing \"test\" at <first>: error calling first: first() called on vector with no elements"
    );
}

#[test]
fn basics_from_prometheus() {
    let n = &Value::Nil;
    assert_eq!(expand("plain text", n), "plain text");
    assert_eq!(expand("{{ 1 }}", n), "1");
    assert_eq!(expand("{{ \"<b>\" }}", n), "<b>");
    assert_eq!(expand("{{ \"<b>\" | safeHtml }}", n), "<b>");
    assert_eq!(
        expand(
            "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
            n
        ),
        "1 2"
    );
    assert_eq!(expand("{{ .Foo }}", n), "<no value>");
    assert_eq!(
        expand("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", n),
        "xa"
    );
    assert_eq!(expand("{{ \"aa bb CC\" | title }}", n), "Aa Bb CC");
    assert_eq!(expand("{{ \"aa bb CC\" | toUpper }}", n), "AA BB CC");
    assert_eq!(expand("{{ \"aA bB CC\" | toLower }}", n), "aa bb cc");
    assert_eq!(
        expand("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", n),
        "true false"
    );
    assert_eq!(
        expand("{{ graphLink \"up\" }}", n),
        "/graph?g0.expr=up&g0.tab=0"
    );
    assert_eq!(
        expand("{{ tableLink \"up\" }}", n),
        "/graph?g0.expr=up&g0.tab=1"
    );
    assert_eq!(
        expand(
            "{{ define \"a\" }}x{{ end }}{{ $name := \"a\"}}{{ tmpl $name . }}",
            n
        ),
        "x"
    );
    assert_eq!(expand("{{ pathPrefix }}", n), "/path/prefix");
    assert_eq!(
        expand("{{ externalURL }}", n),
        "http://testhost:9090/path/prefix"
    );
    assert_eq!(expand("{{ now }}", n), "1.7e+09");
    assert_eq!(
        expand("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", n),
        "3720.01"
    );
    assert_eq!(expand("{{ urlQueryEscape \"a b/c\" }}", n), "a+b%2Fc");
    assert_eq!(
        expand_with("{{", n, Vec::new()).expect_err("fails"),
        "template: test:1: unclosed action"
    );
    assert!(
        expand_with("{{ nosuch }}", n, Vec::new())
            .expect_err("fails")
            .contains("function \"nosuch\" not defined")
    );
}

#[test]
fn strip_port_and_domain() {
    let cases = [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        (
            "[2001:0DB8::1]:12345",
            "2001:0DB8::1",
            "[2001:0DB8::1]:12345",
        ),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ];
    for (input, port, domain) in cases {
        let d = Value::from(input);
        assert_eq!(expand("{{ . | stripPort }}", &d), port, "stripPort {input}");
        assert_eq!(
            expand("{{ . | stripDomain }}", &d),
            domain,
            "stripDomain {input}"
        );
    }
}

#[test]
fn humanize() {
    let t = "{{ range . }}{{ humanize . }}:{{ end }}";
    assert_eq!(
        expand(t, &floats(&[0.0, 1.0, 1234567.0, 0.12])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        expand(t, &strs(&["0.0", "1.0", "1234567.0", ".12"])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        expand(t, &ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0:-1:1:1.235M:9.223E:"
    );
    assert_eq!(
        expand_with("{{ humanize \"one\" }}", &Value::Nil, Vec::new()).expect_err("fails"),
        "template: test:1:3: executing \"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
    assert_eq!(
        expand(t, &floats(&[0.001234, -0.5, 1e-30, 1e30])),
        "1.234m:-500m:1e-06y:1e+06Y:"
    );
}

#[test]
fn humanize1024() {
    let t = "{{ range . }}{{ humanize1024 . }}:{{ end }}";
    assert_eq!(
        expand(t, &floats(&[0.0, 1.0, 1048576.0, 0.12])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        expand(t, &strs(&["0.0", "1.0", "1048576.0", ".12"])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        expand(t, &ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0:-1:1:1.177Mi:8Ei:"
    );
}

#[test]
fn humanize_duration() {
    let t = "{{ range . }}{{ humanizeDuration . }}:{{ end }}";
    assert_eq!(
        expand(
            t,
            &floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        expand(t, &strs(&["0", "1", "60", "3600", "86400"])),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:"
    );
    assert_eq!(
        expand(
            t,
            &floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        expand(t, &ints(&[0, -1, 1, 1234567])),
        "0s:-1s:1s:14d 6h 56m 7s:"
    );
    assert_eq!(
        expand("{{ humanizeDuration 3601 }}", &Value::Nil),
        "1h 0m 1s"
    );
    assert_eq!(
        expand("{{ 90 | toDuration | humanizeDuration }}", &Value::Nil),
        "1m 30s"
    );
}

#[test]
fn humanize_inf_nan() {
    let t = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    let want = "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:";
    assert_eq!(
        expand(t, &floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])),
        want
    );
    assert_eq!(expand(t, &strs(&["+Inf", "-Inf", "NaN"])), want);
}

#[test]
fn humanize_percentage() {
    assert_eq!(
        expand(
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            &Value::Nil
        ),
        "-22.22%:0%:12.35%:123.5%"
    );
    let t = "{{ range . }}{{ humanizePercentage . }}:{{ end }}";
    assert_eq!(
        expand(t, &ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:"
    );
    assert_eq!(
        expand("{{ humanizePercentage 0.1234 }}", &Value::Nil),
        "12.34%"
    );
    assert_eq!(
        expand_with(
            "{{ \"one\" | humanizePercentage }}",
            &Value::Nil,
            Vec::new()
        )
        .expect_err("fails"),
        "template: test:1:11: executing \"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
}

#[test]
fn humanize_timestamp_and_to_time() {
    let t = "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}";
    assert_eq!(
        expand(t, &ints(&[0, -1, 1, 1234567, 9223372036])),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"
    );
    assert_eq!(
        expand_with(t, &ints(&[i64::MIN, i64::MAX]), Vec::new()).expect_err("fails"),
        "template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"
    );
    assert_eq!(
        expand("{{ 1435065584.128 | humanizeTimestamp }}", &Value::Nil),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        expand("{{ \"1435065584.128\" | humanizeTimestamp }}", &Value::Nil),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        expand(
            "{{ (1435065584.128 | toTime).Format \"2006\" }}",
            &Value::Nil
        ),
        "2015"
    );
    assert_eq!(
        expand(
            "{{ (\"1435065584.128\" | toTime).Format \"2006\" }}",
            &Value::Nil
        ),
        "2015"
    );
    assert_eq!(
        expand(
            "{{ (1435065584 | toTime).Format \"Mon Jan _2 15:04:05 MST 2006 -07:00 .000 3PM\" }}",
            &Value::Nil
        ),
        "Tue Jun 23 13:19:44 UTC 2015 +00:00 .000 1PM"
    );
}

#[test]
fn alert_template_preamble() {
    // Prometheus prepends these definitions to every alert label and annotation template.
    let preamble = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";
    let mut data = BTreeMap::new();
    data.insert(
        "Labels".to_owned(),
        Value::string_map([("instance", "host:9100"), ("job", "node")]),
    );
    data.insert(
        "ExternalLabels".to_owned(),
        Value::string_map([("cluster", "eu1")]),
    );
    data.insert("ExternalURL".to_owned(), Value::from("http://prom"));
    data.insert("Value".to_owned(), Value::Float(0.98765));
    let data = Value::Map(data);
    let text = format!(
        "{preamble}{{{{ $labels.instance | stripPort }}}} ({{{{ $externalLabels.cluster }}}}) at {{{{ $value | humanizePercentage }}}}, raw {{{{ $value }}}}{{{{ $labels.missing }}}}"
    );
    assert_eq!(expand(&text, &data), "host (eu1) at 98.77%, raw 0.98765");
}

#[test]
fn one_parse_serves_evaluations_with_different_queries() {
    let text = "{{ query \"up\" | first | value | humanize }} at {{ now }}";
    let t = Template::parse("__alert_Up", text, &Funcs::prometheus())
        .expect("query placeholder parses");
    let e = t
        .execute(&Value::Nil)
        .expect_err("placeholder fails at execution");
    assert!(
        e.to_string()
            .contains("error calling query: no query engine"),
        "{e}"
    );
    for (v, secs, want) in [(1.0, 100, "1 at 100"), (2500.0, 200, "2.5k at 200")] {
        let mut f = Funcs::prometheus();
        f.insert(
            "query",
            Arity::Exactly(1),
            Arc::new(move |_: &[Value]| Ok(Value::List(vec![Value::sample([("job", "x")], v)]))),
        );
        f.set_prometheus_context("", DateTime::from_timestamp(secs, 0).expect("valid"));
        assert_eq!(t.execute_with(&Value::Nil, &f).expect("runs"), want);
    }
}
