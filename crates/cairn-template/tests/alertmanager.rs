//! Alertmanager notification templates over the data convention documented on
//! `Funcs::alertmanager`.

use std::collections::BTreeMap;

use cairn_template::{Funcs, Template, Value};
use chrono::{DateTime, Utc};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("valid")
}

fn alert(status: &str, labels: &[(&str, &str)], summary: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Status".to_owned(), Value::from(status));
    m.insert(
        "Labels".to_owned(),
        Value::string_map(labels.iter().copied()),
    );
    m.insert(
        "Annotations".to_owned(),
        Value::string_map([("summary", summary)]),
    );
    m.insert("StartsAt".to_owned(), Value::Time(at(1_700_000_000)));
    m.insert("EndsAt".to_owned(), Value::Time(at(1_700_000_600)));
    m.insert("GeneratorURL".to_owned(), Value::from("http://prom/graph"));
    m.insert("Fingerprint".to_owned(), Value::from("abc123"));
    Value::Map(m)
}

fn data() -> Value {
    let common = [
        ("alertname", "HighLatency"),
        ("env", "prod"),
        ("service", "api"),
    ];
    let mut a1: Vec<(&str, &str)> = common.to_vec();
    a1.push(("instance", "a"));
    let mut a2: Vec<(&str, &str)> = common.to_vec();
    a2.push(("instance", "b"));
    let mut a3: Vec<(&str, &str)> = common.to_vec();
    a3.push(("instance", "c"));
    let mut d = BTreeMap::new();
    d.insert("Receiver".to_owned(), Value::from("team-x"));
    d.insert("Status".to_owned(), Value::from("firing"));
    d.insert(
        "Alerts".to_owned(),
        Value::List(vec![
            alert("firing", &a1, "slow on a"),
            alert("resolved", &a2, "slow on b"),
            alert("firing", &a3, "slow on c"),
        ]),
    );
    d.insert(
        "GroupLabels".to_owned(),
        Value::string_map([("alertname", "HighLatency")]),
    );
    d.insert("CommonLabels".to_owned(), Value::string_map(common));
    d.insert("CommonAnnotations".to_owned(), Value::string_map([]));
    d.insert("ExternalURL".to_owned(), Value::from("http://am:9093"));
    Value::Map(d)
}

fn expand(text: &str) -> String {
    Template::parse("t", text, &Funcs::alertmanager())
        .and_then(|t| t.execute(&data()))
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn slack_style_title_and_text() {
    let defs = r#"
{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "slack.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.text" }}{{ range .Alerts.Firing }}- {{ .Annotations.summary }} ({{ .Labels.instance }})
{{ end }}{{ range .Alerts.Resolved }}resolved: {{ .Labels.instance }}{{ end }}{{ end }}
"#;
    let mut t = Template::parse(
        "main",
        r#"{{ template "slack.title" . }}"#,
        &Funcs::alertmanager(),
    )
    .expect("parses");
    t.add(defs).expect("adds");
    assert_eq!(
        t.execute(&data()).expect("runs"),
        "[FIRING:2] HighLatency (prod api)"
    );
    assert_eq!(
        t.execute_named("slack.text", &data()).expect("runs"),
        "- slow on a (a)\n- slow on c (c)\nresolved: b"
    );
}

#[test]
fn kv_methods() {
    assert_eq!(
        expand("{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}"),
        "alertname=HighLatency;env=prod;service=api;"
    );
    assert_eq!(
        expand("{{ .CommonLabels.Names }}"),
        "[alertname env service]"
    );
    assert_eq!(
        expand("{{ .CommonLabels.Values | join \",\" }}"),
        "HighLatency,prod,api"
    );
    assert_eq!(
        expand("{{ (.CommonLabels.Remove (stringSlice \"env\")).Names }}"),
        "[alertname service]"
    );
    assert_eq!(
        expand("{{ .CommonLabels.SortedPairs.Names }}"),
        "[alertname env service]"
    );
    assert_eq!(
        expand("{{ .CommonLabels.String }}"),
        "alertname=HighLatency, env=prod, service=api"
    );
    assert_eq!(expand("[{{ .CommonAnnotations.summary }}]"), "[]");
    // Label sets print as Alertmanager's KV.String(), in actions and fmt functions alike.
    assert_eq!(
        expand("{{ .GroupLabels }} | {{ .CommonLabels }}"),
        "alertname=HighLatency | alertname=HighLatency, env=prod, service=api"
    );
    assert_eq!(
        expand("{{ printf \"%s|%v|%q\" .GroupLabels .GroupLabels .GroupLabels }}"),
        "alertname=HighLatency|alertname=HighLatency|\"alertname=HighLatency\""
    );
    assert_eq!(
        expand("{{ print .GroupLabels }}|{{ .CommonAnnotations }}|"),
        "alertname=HighLatency||"
    );
    // Prometheus' label maps stay Go maps.
    let t = Template::parse("t", "{{ . }}", &Funcs::prometheus()).expect("parses");
    assert_eq!(
        t.execute(&Value::string_map([("b", "2"), ("a", "1")]))
            .expect("runs"),
        "map[a:1 b:2]"
    );
    assert_eq!(
        expand("{{ len .Alerts }} {{ len .Alerts.Resolved }}"),
        "3 1"
    );
    assert_eq!(expand("{{ (index .Alerts 0).Labels.instance }}"), "a");
}

#[test]
fn alertmanager_functions() {
    assert_eq!(expand("{{ \"hello wORLD\" | title }}"), "Hello World");
    assert_eq!(expand("{{ \"  x \" | trimSpace }}|"), "x|");
    assert_eq!(expand("{{ stringSlice \"a\" \"b\" | join \"-\" }}"), "a-b");
    assert_eq!(expand("{{ \"a%20b+c\" | urlUnescape }}"), "a b c");
    assert_eq!(
        expand("{{ \"http://x/?a=1&b=2\" | safeUrl }}"),
        "http://x/?a=1&b=2"
    );
    assert_eq!(expand("{{ reReplaceAll \"-.*\" \"\" \"a-b\" }}"), "a");
    assert_eq!(
        expand("{{ match \"^High\" .CommonLabels.alertname }}"),
        "true"
    );
    assert_eq!(
        expand(
            "{{ range .Alerts }}{{ .StartsAt | date \"2006-01-02T15:04:05Z07:00\" }}{{ break }}{{ end }}"
        ),
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(
        expand(
            "{{ range .Alerts }}{{ (.StartsAt | tz \"UTC\").Format \"15:04\" }}{{ break }}{{ end }}"
        ),
        "22:13"
    );
    assert_eq!(
        expand("{{ range .Alerts }}{{ .EndsAt.Sub .StartsAt }}{{ break }}{{ end }}"),
        "10m0s"
    );
    assert_eq!(expand("{{ 3725 | humanizeDuration }}"), "1h 2m 5s");
    assert_eq!(
        expand("{{ .GroupLabels | toJson }}"),
        r#"{"alertname":"HighLatency"}"#
    );
    assert_eq!(
        expand("{{ stringSlice \"<a>\" | toJson }} {{ 1.5 | toJson }} {{ 0.0000001 | toJson }}"),
        r#"["\u003ca\u003e"] 1.5 1e-7"#
    );
    let since = expand(
        "{{ range .Alerts }}{{ (since .StartsAt).Seconds | printf \"%.0f\" }}{{ break }}{{ end }}",
    );
    assert!(since.parse::<f64>().expect("a number") > 0.0, "{since}");
    assert!(
        Template::parse("t", "{{ humanize 1 }}", &Funcs::alertmanager()).is_err(),
        "humanize is Prometheus-only"
    );
    let e = Template::parse("t", "{{ \"%zz\" | urlUnescape }}", &Funcs::alertmanager())
        .and_then(|t| t.execute(&Value::Nil))
        .expect_err("bad escape");
    assert!(e.to_string().contains("invalid URL escape \"%zz\""), "{e}");
}
