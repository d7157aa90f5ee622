//! Expected streams follow Fluent Bit's `loki` output (`pack_labels`, `pack_record`,
//! `pack_structured_metadata` in `plugins/out_loki/loki.c`) and the examples of its docs.

use cairn_model::{Labels, LogEntry, LogStream};

use super::*;
use crate::logs::FieldValue as V;

fn s(x: &str) -> V {
    V::Str(x.into())
}

fn rec(ts: Option<i64>, tag: Option<&str>, pairs: &[(&str, V)]) -> FluentRecord {
    FluentRecord {
        ts_ns: ts,
        tag: tag.map(str::to_string),
        metadata: vec![],
        fields: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn lbl(p: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(p.iter().copied()).unwrap()
}

fn cfg(f: impl FnOnce(&mut RecordMappingConfig)) -> RecordMapping {
    let mut c = RecordMappingConfig::default();
    f(&mut c);
    RecordMapping::new(&c).unwrap()
}

fn one(r: FluentRecord, m: &RecordMapping) -> (Labels, LogEntry) {
    let (b, notes) = map_records(vec![r], m, 42);
    assert!(notes.is_empty(), "{notes:?}");
    let s = b.streams.into_iter().next().unwrap();
    (s.labels, s.entries.into_iter().next().unwrap())
}

#[test]
fn defaults_give_job_fluent_bit_and_json_lines() {
    let r = rec(
        Some(7),
        Some("app.log"),
        &[("log", s("héllo \"x\"")), ("stream", s("stdout"))],
    );
    let (l, e) = one(r, &RecordMapping::default());
    assert_eq!(l, lbl(&[("job", "fluent-bit")]));
    assert_eq!(
        e,
        LogEntry::new(7, r#"{"log":"h\u00e9llo \"x\"","stream":"stdout"}"#)
    );
    // Without a time the receiver's clock decides.
    let (_, e) = one(
        rec(None, None, &[("a", V::Int(1))]),
        &RecordMapping::default(),
    );
    assert_eq!(e.ts_ns, 42);
}

/// The docs' example: `labels job=fluentbit, $sub['stream']` on
/// `{"key":1,"sub":{"stream":"stdout","id":"some id"},"kubernetes":{...}}`.
#[test]
fn labels_from_static_values_and_accessors_leave_the_line() {
    let r = rec(
        Some(1),
        None,
        &[
            ("key", V::Int(1)),
            (
                "sub",
                V::Map(vec![
                    ("stream".into(), s("stdout")),
                    ("id".into(), s("some id")),
                ]),
            ),
        ],
    );
    let m = cfg(|c| c.labels = vec!["job=fluentbit".into(), "$sub['stream']".into()]);
    let (l, e) = one(r.clone(), &m);
    assert_eq!(l, lbl(&[("job", "fluentbit"), ("sub_stream", "stdout")]));
    assert_eq!(e.line, r#"{"key":1,"sub":{"id":"some id"}}"#);
    // label_keys does the same from a dotted path.
    let m = cfg(|c| c.label_keys = vec!["sub.stream".into()]);
    let (l, e) = one(r, &m);
    assert_eq!(l, lbl(&[("sub_stream", "stdout")]));
    assert_eq!(e.line, r#"{"key":1,"sub":{"id":"some id"}}"#);
}

#[test]
fn key_value_lines_and_drop_single_key() {
    let r = rec(
        Some(1),
        None,
        &[
            ("key", V::Int(1)),
            ("msg", s("hi there")),
            ("f", V::Float(0.5)),
        ],
    );
    let m = cfg(|c| c.line_format = LineFormat::KeyValue);
    assert_eq!(one(r.clone(), &m).1.line, r#"key=1 msg="hi there" f=0.5"#);
    for (format, drop, want) in [
        (LineFormat::Json, DropSingleKey::On, r#""hi there""#),
        (LineFormat::Json, DropSingleKey::Raw, "hi there"),
        (LineFormat::KeyValue, DropSingleKey::On, "hi there"),
        (
            LineFormat::Json,
            DropSingleKey::Off,
            r#"{"msg":"hi there"}"#,
        ),
    ] {
        let m = cfg(|c| {
            c.line_format = format;
            c.drop_single_key = drop;
            c.remove_keys = vec!["key".into(), "$f".into()];
        });
        assert_eq!(one(r.clone(), &m).1.line, want, "{format:?} {drop:?}");
    }
    // A single non-string value: JSON of it, or Fluent Bit's key_value rendering.
    let r = rec(
        Some(1),
        None,
        &[("list", V::Array(vec![V::Int(1), s("a")]))],
    );
    let m = cfg(|c| c.drop_single_key = DropSingleKey::Raw);
    assert_eq!(one(r.clone(), &m).1.line, r#"[1,"a"]"#);
    let m = cfg(|c| {
        c.drop_single_key = DropSingleKey::On;
        c.line_format = LineFormat::KeyValue;
    });
    assert_eq!(one(r, &m).1.line, r#""[1 "a"]""#);
}

#[test]
fn structured_metadata_from_fields_and_maps() {
    let r = rec(
        Some(1),
        None,
        &[
            ("log", s("x")),
            ("trace_id", s("abc")),
            (
                "kubernetes",
                V::Map(vec![
                    ("pod_name".into(), s("p-1")),
                    (
                        "labels".into(),
                        V::Map(vec![
                            ("app".into(), s("shop")),
                            ("ver".into(), V::Int(2)),
                            ("trace".into(), s("overridden")),
                        ]),
                    ),
                ]),
            ),
        ],
    );
    let m = cfg(|c| {
        c.structured_metadata = vec![
            "trace=$trace_id".into(),
            "static=v".into(),
            "$kubernetes['pod_name']".into(),
        ];
        c.structured_metadata_map_keys = vec!["$kubernetes['labels']".into()];
    });
    let (l, e) = one(r, &m);
    assert_eq!(l, lbl(&[("job", "fluent-bit")]));
    assert_eq!(e.line, r#"{"log":"x","kubernetes":{}}"#);
    let md: Vec<(&str, &str)> = e
        .metadata
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        md,
        vec![
            ("app", "shop"),
            ("ver", "2"),
            ("trace", "abc"),
            ("static", "v"),
            ("kubernetes_pod_name", "p-1")
        ]
    );
}

#[test]
fn kubernetes_labels_tags_and_templates() {
    let r = rec(
        Some(1),
        Some("kube.var.log.containers.x"),
        &[(
            "kubernetes",
            V::Map(vec![
                ("namespace_name".into(), s("prod")),
                (
                    "labels".into(),
                    V::Map(vec![
                        ("app.kubernetes.io/name".into(), s("shop")),
                        ("n".into(), V::Int(1)),
                    ]),
                ),
            ]),
        )],
    );
    let m = cfg(|c| {
        c.auto_kubernetes_labels = true;
        c.labels = vec![
            "source=$TAG[1]".into(),
            "ns=k8s-$kubernetes['namespace_name']".into(),
        ];
        c.tag_label = Some("tag".into());
    });
    let (l, _) = one(r, &m);
    assert_eq!(
        l,
        lbl(&[
            ("app_kubernetes_io_name", "shop"),
            ("ns", "k8s-prod"),
            ("source", "var"),
            ("tag", "kube.var.log.containers.x"),
        ])
    );
}

#[test]
fn records_group_into_streams_in_order() {
    let m = cfg(|c| c.label_keys = vec!["$app".into()]);
    let recs = vec![
        rec(Some(1), None, &[("app", s("a")), ("log", s("1"))]),
        rec(Some(2), None, &[("app", s("b")), ("log", s("2"))]),
        rec(Some(3), None, &[("app", s("a")), ("log", s("3"))]),
        rec(Some(4), None, &[("log", s("no app"))]),
    ];
    let (b, _) = map_records(recs, &m, 0);
    let want = vec![
        LogStream {
            labels: lbl(&[("app", "a")]),
            entries: vec![
                LogEntry::new(1, r#"{"log":"1"}"#),
                LogEntry::new(3, r#"{"log":"3"}"#),
            ],
        },
        LogStream {
            labels: lbl(&[("app", "b")]),
            entries: vec![LogEntry::new(2, r#"{"log":"2"}"#)],
        },
        LogStream {
            labels: lbl(&[("job", "fluent-bit")]),
            entries: vec![LogEntry::new(4, r#"{"log":"no app"}"#)],
        },
    ];
    assert_eq!(b.streams, want);
}

#[test]
fn configuration_errors_name_the_option() {
    for (c, want) in [
        (
            RecordMappingConfig {
                labels: vec!["job".into()],
                ..Default::default()
            },
            "labels: invalid key value pair",
        ),
        (
            RecordMappingConfig {
                labels: vec!["job=".into()],
                ..Default::default()
            },
            "labels: invalid key value pair",
        ),
        (
            RecordMappingConfig {
                labels: vec!["my.label=x".into()],
                ..Default::default()
            },
            "invalid label name",
        ),
        (
            RecordMappingConfig {
                label_keys: vec!["$1abc".into()],
                ..Default::default()
            },
            "cannot",
        ),
        (
            RecordMappingConfig {
                structured_metadata_map_keys: vec!["labels".into()],
                ..Default::default()
            },
            "must start with '$'",
        ),
        (
            RecordMappingConfig {
                tag_label: Some("a-b".into()),
                ..Default::default()
            },
            "tag_label",
        ),
    ] {
        let e = RecordMapping::new(&c).unwrap_err().to_string();
        assert!(
            e.contains(want) || (want == "cannot" && e.contains("must start with a letter")),
            "{e}"
        );
    }
}
