use super::*;

const GOOD: &str = r#"
groups:
  - name: example
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: sre
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: db
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
  - name: other
    rules:
      - record: x
        expr: "1"
"#;

#[test]
fn parses_groups_and_rules() {
    let f = parse_rule_file("a.yml", GOOD).unwrap();
    assert_eq!(f.groups.len(), 2);
    let g = &f.groups[0];
    assert_eq!(g.name, "example");
    assert_eq!(g.file, "a.yml");
    assert_eq!(g.interval, Some(Duration::from_secs(30)));
    assert_eq!(g.query_offset, Some(Duration::from_secs(60)));
    assert_eq!(g.limit, 10);
    let rec = &g.rules[0];
    assert_eq!(rec.name, "job:up:sum");
    assert_eq!(rec.kind, RuleKind::Recording);
    // The rule's own label wins over the group's.
    assert_eq!(rec.labels.get("team").map(String::as_str), Some("db"));
    assert_eq!(rec.line, Some(10));
    let alert = &g.rules[1];
    assert_eq!(alert.line, Some(14));
    assert_eq!(alert.labels.get("team").map(String::as_str), Some("sre"));
    match &alert.kind {
        RuleKind::Alerting {
            for_,
            keep_firing_for,
            annotations,
        } => {
            assert_eq!(*for_, Duration::from_secs(300));
            assert_eq!(*keep_firing_for, Duration::from_secs(600));
            assert!(annotations["summary"].contains("$labels.instance"));
        }
        RuleKind::Recording => panic!("expected an alerting rule"),
    }
    assert_eq!(f.groups[1].interval, None);
}

fn err(text: &str) -> String {
    parse_rule_file("r.yml", text).unwrap_err().to_string()
}

#[test]
fn refuses_repeated_group_names() {
    let e = err("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n");
    assert_eq!(e, "r.yml: groupname: \"a\" is repeated in the same file");
}

#[test]
fn refuses_unknown_keys_with_position() {
    let e = err("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    bogus: 1\n");
    assert!(e.starts_with("r.yml: "), "{e}");
    assert!(e.contains("unknown field `bogus`"), "{e}");
    assert!(e.contains("line 6"), "{e}");
}

#[test]
fn errors_name_group_rule_and_line() {
    let e = err(
        "groups:\n- name: g\n  rules:\n  - record: ok\n    expr: up\n  - record: bad\n    expr: sum(\n",
    );
    assert!(
        e.starts_with("r.yml: 6: group \"g\", rule 2, \"bad\": could not parse expression: "),
        "{e}"
    );
    let e = err("groups:\n- name: g\n  rules:\n  - record: 'bad-name'\n    expr: up\n");
    assert!(e.ends_with("invalid recording rule name: bad-name"), "{e}");
    let e =
        err("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      0x: y\n");
    assert!(e.ends_with("invalid label name: 0x"), "{e}");
    let e = err("groups:\n- name: g\n  rules:\n  - record: a\n    alert: b\n    expr: up\n");
    assert!(
        e.ends_with("only one of 'record' and 'alert' must be set"),
        "{e}"
    );
    let e = err("groups:\n- name: g\n  rules:\n  - expr: up\n");
    assert!(e.ends_with("one of 'record' or 'alert' must be set"), "{e}");
    let e = err("groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    for: 5m\n");
    assert!(e.ends_with("invalid field 'for' in recording rule"), "{e}");
    let e = err("groups:\n- name: g\n  rules:\n  - alert: a\n");
    assert!(e.ends_with("field 'expr' must be set in rule"), "{e}");
    let e = err("groups:\n- name: g\n  rules:\n  - alert: a\n    expr: up\n    for: 5x\n");
    assert!(
        e.contains("invalid for: unknown unit \"x\" in duration \"5x\""),
        "{e}"
    );
}

#[test]
fn refuses_templates_that_do_not_parse() {
    let e = err(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ $labels.x '\n",
    );
    assert!(
        e.contains("group \"g\", rule 1, \"A\": template for \"s\""),
        "{e}"
    );
    let e = err(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ nosuchfunc 1 }}'\n",
    );
    assert!(e.contains("nosuchfunc"), "{e}");
}

#[test]
fn empty_file_has_no_groups() {
    assert!(parse_rule_file("e.yml", "").unwrap().groups.is_empty());
    assert!(
        parse_rule_file("e.yml", "groups: []\n")
            .unwrap()
            .groups
            .is_empty()
    );
}

#[test]
fn durations_follow_prometheus() {
    let f = parse_rule_file(
        "d.yml",
        "groups:\n- name: g\n  interval: 1h30m\n  query_offset: 0\n  rules:\n  - alert: a\n    expr: up\n    for: 500ms\n    keep_firing_for: 2d\n",
    )
    .unwrap();
    let g = &f.groups[0];
    assert_eq!(g.interval, Some(Duration::from_secs(5400)));
    assert_eq!(g.query_offset, Some(Duration::ZERO));
    let RuleKind::Alerting {
        for_,
        keep_firing_for,
        ..
    } = &g.rules[0].kind
    else {
        panic!("not an alerting rule: {:?}", g.rules[0].kind);
    };
    assert_eq!(*for_, Duration::from_millis(500));
    assert_eq!(*keep_firing_for, Duration::from_secs(172_800));
    for bad in ["1m1h", "5", "1.5h", "\"\""] {
        let e = err(&format!(
            "groups:\n- name: g\n  interval: {bad}\n  rules:\n  - record: a\n    expr: up\n"
        ));
        assert!(e.contains("invalid interval: "), "{bad}: {e}");
    }
}

/// Every rule file shipped in `config/rules/` parses (so examples never rot).
#[test]
fn shipped_examples_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/rules");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let f = parse_rule_file(&p.display().to_string(), &text).unwrap();
        assert!(!f.groups.is_empty());
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn query_string_is_normalised_like_prometheus() {
    let f = parse_rule_file(
        "r.yml",
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: |\n      sum by(job)(rate(x[5m]))>0\n",
    )
    .unwrap();
    assert_eq!(
        f.groups[0].rules[0].query_string(),
        "sum by (job) (rate(x[5m])) > 0"
    );
}
