//! Expected streams follow Loki's OTLP mapping (`pkg/loghttp/push/otlp.go`,
//! `otlplabels/labels.go`) and its documentation.

use opentelemetry_proto::tonic::common::v1::{ArrayValue, InstrumentationScope, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;

fn av(v: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: av(v),
        ..Default::default()
    }
}

fn st(s: &str) -> Value {
    Value::StringValue(s.into())
}

fn lbl(p: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(p.iter().copied()).unwrap()
}

fn md(e: &LogEntry) -> Vec<(&str, &str)> {
    e.metadata
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

fn request(
    resource: Vec<KeyValue>,
    scope: Option<InstrumentationScope>,
    records: Vec<LogRecord>,
) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope,
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn default_mapping() {
    let req = request(
        vec![
            kv("service.name", st("checkout")),
            kv("k8s.namespace.name", st("shop")),
            kv("host.name", st("h1")),
            kv(
                "deployment",
                Value::KvlistValue(KeyValueList {
                    values: vec![kv("env", st("prod"))],
                }),
            ),
        ],
        Some(InstrumentationScope {
            name: "io.x".into(),
            version: "1.0".into(),
            attributes: vec![kv("lib", st("y"))],
            dropped_attributes_count: 2,
        }),
        vec![LogRecord {
            time_unix_nano: 1_700_000_000_000_000_001,
            observed_time_unix_nano: 1_700_000_000_000_000_002,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: av(st("paid")),
            attributes: vec![
                kv("user.id", Value::IntValue(42)),
                kv("http.status", st("200")),
            ],
            dropped_attributes_count: 1,
            flags: 1,
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            event_name: "checkout.paid".into(),
        }],
    );
    let b = map_otlp_logs(req, &OtlpLogMapping::default(), 0);
    assert_eq!(b.streams.len(), 1);
    assert_eq!(
        b.streams[0].labels,
        lbl(&[("k8s_namespace_name", "shop"), ("service_name", "checkout")])
    );
    let e = &b.streams[0].entries[0];
    assert_eq!(
        (e.ts_ns, e.line.as_str()),
        (1_700_000_000_000_000_001, "paid")
    );
    assert_eq!(
        md(e),
        vec![
            ("user_id", "42"),
            ("http_status", "200"),
            ("observed_timestamp", "1700000000000000002"),
            ("severity_number", "9"),
            ("severity_text", "INFO"),
            ("dropped_attributes_count", "1"),
            ("flags", "1"),
            ("trace_id", "abababababababababababababababab"),
            ("span_id", "0101010101010101"),
            ("event_name", "checkout.paid"),
            ("host_name", "h1"),
            ("deployment_env", "prod"),
            ("lib", "y"),
            ("scope_name", "io.x"),
            ("scope_version", "1.0"),
            ("scope_dropped_attributes_count", "2"),
        ]
    );
}

#[test]
fn service_name_discovery_and_times() {
    let rec = |t: u64, o: u64| LogRecord {
        time_unix_nano: t,
        observed_time_unix_nano: o,
        body: av(Value::KvlistValue(KeyValueList {
            values: vec![kv("b", Value::IntValue(1)), kv("a", st("x"))],
        })),
        ..Default::default()
    };
    let mut req = request(
        vec![kv("k8s.container.name", st("web"))],
        None,
        vec![rec(0, 5), rec(0, 0)],
    );
    req.resource_logs
        .extend(request(vec![kv("host.name", st("h"))], None, vec![rec(7, 0)]).resource_logs);
    let b = map_otlp_logs(req, &OtlpLogMapping::default(), 99);
    assert_eq!(
        b.streams[0].labels,
        lbl(&[("k8s_container_name", "web"), ("service_name", "web")])
    );
    let ts: Vec<i64> = b.streams[0].entries.iter().map(|e| e.ts_ns).collect();
    assert_eq!(ts, vec![5, 99]);
    // Observed time is metadata only when the record has its own time too.
    assert!(b.streams[0].entries[0].metadata.is_empty());
    assert_eq!(b.streams[0].entries[0].line, r#"{"a":"x","b":1}"#);
    assert_eq!(
        b.streams[1].labels,
        lbl(&[("service_name", "unknown_service")])
    );
    assert_eq!(b.streams[1].entries[0].ts_ns, 7);
    // Discovery off: no service_name at all.
    let off = OtlpLogMapping {
        discover_service_name: vec![],
        ..OtlpLogMapping::default()
    };
    let b = map_otlp_logs(
        request(vec![kv("k8s.pod.name", st("p"))], None, vec![rec(1, 0)]),
        &off,
        0,
    );
    assert_eq!(b.streams[0].labels, lbl(&[("k8s_pod_name", "p")]));
}

/// Example 3 of Loki's OTLP docs, plus log attributes as index labels.
#[test]
fn otlp_config_rules() {
    let mapping = OtlpLogMapping {
        resource_attributes: vec![
            OtlpAttributeRule::regex(OtlpAttributeAction::IndexLabel, "service.group").unwrap(),
        ],
        scope_attributes: vec![OtlpAttributeRule::names(
            OtlpAttributeAction::Drop,
            ["method.name"],
        )],
        log_attributes: vec![
            OtlpAttributeRule::names(OtlpAttributeAction::StructuredMetadata, ["user.id"]),
            OtlpAttributeRule::names(OtlpAttributeAction::IndexLabel, ["tenant"]),
            OtlpAttributeRule::regex(OtlpAttributeAction::Drop, ".*").unwrap(),
        ],
        severity_text_as_label: true,
        ..OtlpLogMapping::default()
    };
    mapping.validate().unwrap();
    let req = request(
        vec![
            kv("service.name", st("s")),
            kv("service.group", st("g")),
            kv("service.groups", st("not anchored")),
        ],
        Some(InstrumentationScope {
            attributes: vec![kv("method.name", st("m")), kv("other", st("o"))],
            ..Default::default()
        }),
        vec![LogRecord {
            time_unix_nano: 1,
            severity_text: "WARN".into(),
            attributes: vec![
                kv("user.id", st("u")),
                kv("tenant", st("t1")),
                kv("secret", st("x")),
            ],
            ..Default::default()
        }],
    );
    let b = map_otlp_logs(req, &mapping, 0);
    assert_eq!(
        b.streams[0].labels,
        lbl(&[
            ("service_group", "g"),
            ("service_name", "s"),
            ("severity_text", "WARN"),
            ("tenant", "t1")
        ])
    );
    assert_eq!(
        md(&b.streams[0].entries[0]),
        vec![
            ("user_id", "u"),
            ("severity_text", "WARN"),
            ("service_groups", "not anchored"),
            ("other", "o")
        ]
    );
    // ignore_defaults: service.name is no longer a label, so service_name is discovered.
    let ign = OtlpLogMapping {
        ignore_defaults: true,
        ..OtlpLogMapping::default()
    };
    let b = map_otlp_logs(
        request(
            vec![kv("service.name", st("s"))],
            None,
            vec![LogRecord::default()],
        ),
        &ign,
        3,
    );
    assert_eq!(b.streams[0].labels, Labels::empty());
    assert_eq!(md(&b.streams[0].entries[0]), vec![("service_name", "s")]);
    let bad = OtlpLogMapping {
        scope_attributes: vec![OtlpAttributeRule::names(
            OtlpAttributeAction::IndexLabel,
            ["x"],
        )],
        ..OtlpLogMapping::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "invalid log mapping: index_label action is only supported for resource_attributes"
    );
    assert!(OtlpAttributeRule::regex(OtlpAttributeAction::Drop, "(").is_err());
}

/// The logs example of the OTLP specification (`examples/logs.json`).
const SPEC_EXAMPLE: &str = r#"{
  "resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeLogs": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "logRecords": [{
        "timeUnixNano": "1544712660300000000",
        "observedTimeUnixNano": "1544712660300000000",
        "severityNumber": 10,
        "severityText": "Information",
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "body": {"stringValue": "Example log record"},
        "attributes": [
          {"key": "string.attribute", "value": {"stringValue": "some string"}},
          {"key": "boolean.attribute", "value": {"boolValue": true}},
          {"key": "int.attribute", "value": {"intValue": "10"}},
          {"key": "double.attribute", "value": {"doubleValue": 637.704}},
          {"key": "array.attribute", "value": {"arrayValue": {"values": [{"stringValue": "many"}, {"stringValue": "values"}]}}},
          {"key": "map.attribute", "value": {"kvlistValue": {"values": [{"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}
        ]
      }]
    }]
  }]
}"#;

#[test]
fn otlp_json_and_protobuf_give_the_same_batch() {
    let l = LogDecodeLimits::default();
    let m = OtlpLogMapping::default();
    let b = decode_otlp_logs(Some("application/json"), SPEC_EXAMPLE.as_bytes(), &m, 0, &l).unwrap();
    assert_eq!(b.streams[0].labels, lbl(&[("service_name", "my.service")]));
    let e = &b.streams[0].entries[0];
    assert_eq!(
        (e.ts_ns, e.line.as_str()),
        (1_544_712_660_300_000_000, "Example log record")
    );
    assert_eq!(
        md(e),
        vec![
            ("string_attribute", "some string"),
            ("boolean_attribute", "true"),
            ("int_attribute", "10"),
            ("double_attribute", "637.704"),
            ("array_attribute", r#"["many","values"]"#),
            ("map_attribute_some_map_key", "some value"),
            ("observed_timestamp", "1544712660300000000"),
            ("severity_number", "10"),
            ("severity_text", "Information"),
            ("trace_id", "5b8efff798038103d269b633813fc60c"),
            ("span_id", "eee19b7ec3c1b174"),
            ("my_scope_attribute", "some scope attribute"),
            ("scope_name", "my.library"),
            ("scope_version", "1.0.0"),
        ]
    );
    let req: ExportLogsServiceRequest = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    let pb = req.encode_to_vec();
    let b2 = decode_otlp_logs(Some("application/x-protobuf"), &pb, &m, 0, &l).unwrap();
    assert_eq!(b2, b);
    // Numbers where strings are usual are accepted too.
    let nums = SPEC_EXAMPLE.replace(r#""1544712660300000000""#, "1544712660300000000");
    assert_eq!(
        decode_otlp_logs(Some("application/json"), nums.as_bytes(), &m, 0, &l).unwrap(),
        b
    );
}

#[test]
fn bad_requests() {
    let l = LogDecodeLimits::default();
    let m = OtlpLogMapping::default();
    let e = decode_otlp_logs(Some("text/plain"), b"", &m, 0, &l).unwrap_err();
    assert_eq!(e.http_status(), 415);
    let e = decode_otlp_logs(None, b"", &m, 0, &l).unwrap_err();
    assert_eq!(e.http_status(), 415);
    let e =
        decode_otlp_logs(Some("application/x-protobuf"), b"\x0a\x05\x01", &m, 0, &l).unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(
        e.to_string().starts_with("invalid OTLP logs protobuf"),
        "{e}"
    );
    let e =
        decode_otlp_logs(Some("application/json"), b"{\"resourceLogs\":5}", &m, 0, &l).unwrap_err();
    assert!(e.to_string().starts_with("invalid OTLP logs JSON"), "{e}");
    // An empty request is a success with nothing in it.
    assert_eq!(
        decode_otlp_logs(Some("application/x-protobuf"), b"", &m, 0, &l).unwrap(),
        LogBatch::default()
    );
    let few = LogDecodeLimits {
        max_entries: 1,
        ..l
    };
    let req = request(
        vec![],
        None,
        vec![LogRecord::default(), LogRecord::default()],
    );
    let e = decode_otlp_logs(
        Some("application/x-protobuf"),
        &req.encode_to_vec(),
        &m,
        0,
        &few,
    )
    .unwrap_err();
    assert!(matches!(e, WireError::TooManyEntries { limit: 1 }));
}

#[test]
fn label_names_as_the_otlp_translator_builds_them() {
    for (input, want) in [
        ("k8s.namespace.name", Some("k8s_namespace_name")),
        ("123abc", Some("key_123abc")),
        ("__reserved__", Some("__reserved__")),
        ("a..b--c", Some("a_b_c")),
        ("_private", Some("_private")),
        ("über", Some("_ber")),
        ("___", None),
        ("", None),
    ] {
        assert_eq!(label_name(input).as_deref(), want, "{input:?}");
    }
    // Attributes whose names cannot be labels are left out.
    let req = request(
        vec![kv("", st("x")), kv("...", st("y"))],
        None,
        vec![LogRecord {
            attributes: vec![kv("ok", Value::ArrayValue(ArrayValue { values: vec![] }))],
            ..Default::default()
        }],
    );
    let b = map_otlp_logs(req, &OtlpLogMapping::default(), 1);
    assert_eq!(md(&b.streams[0].entries[0]), vec![("ok", "[]")]);
}
