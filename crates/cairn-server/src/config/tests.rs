use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config> {
    Config::from_yaml(text, "test.yaml", &no_env)
}

#[test]
fn empty_file_is_the_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(parse("# only a comment\n").unwrap(), c);
    assert_eq!(c.server.listen, "0.0.0.0:9009".parse().unwrap());
    assert_eq!(c.server.log_format, LogFormat::Text);
    assert_eq!(c.server.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(
        c.storage.object_store,
        ObjectStoreConfig::Local { path: None }
    );
    assert_eq!(c.local_object_path(), Some(PathBuf::from("./data/objects")));
    assert_eq!(c.storage.block_range, Duration::from_secs(7200));
    assert_eq!(c.storage.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(
        c.storage.compaction_ranges,
        [2, 12, 24].map(|h| Duration::from_secs(h * 3600)).to_vec()
    );
    assert_eq!(c.storage.wal_segment_size, 128 << 20);
    assert_eq!(c.storage.cache_max_size, 256 << 20);
    assert_eq!(c.storage.exemplars.max_exemplars, 100_000);
    assert!(!c.multitenancy.enabled);
    assert_eq!(c.multitenancy.default_tenant.as_str(), "anonymous");
    assert_eq!(c.limits.max_request_body_size, 10 << 20);
    assert_eq!(c.limits.max_decoded_size, 32 << 20);
    assert_eq!(c.limits.max_labels_per_series, 30);
    assert_eq!(c.limits.max_series_per_request, 0);
    assert_eq!(c.limits.retention, None);
}

#[test]
fn values_are_parsed() {
    let c = parse(
        r#"
server:
  listen: 127.0.0.1:9100
  log_format: json
  shutdown_timeout: 1m30s
storage:
  data_dir: /var/lib/cairn
  block_range: 1h
  out_of_order_window: 10m
  retention: 90d
  compaction: { ranges: [1h, 6h], interval: 30s }
  wal: { segment_size: 64MiB }
  cache: { max_size: 1073741824 }
  exemplars: { max_exemplars: 5000 }
  object_store:
    type: s3
    s3: { bucket: b, endpoint: "http://localhost:9000", path_style: true, allow_http: true, prefix: /p/ }
"#,
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9100);
    assert_eq!(c.server.log_format, LogFormat::Json);
    assert_eq!(c.server.shutdown_timeout, Duration::from_secs(90));
    assert_eq!(c.storage.out_of_order_window, Duration::from_secs(600));
    assert_eq!(c.storage.wal_segment_size, 64 << 20);
    assert_eq!(c.storage.cache_max_size, 1 << 30);
    assert_eq!(c.storage.exemplars.max_exemplars, 5000);
    let ObjectStoreConfig::S3(s3) = &c.storage.object_store else {
        panic!("expected s3: {:?}", c.storage.object_store)
    };
    assert_eq!(s3.bucket, "b");
    assert_eq!(s3.region, "us-east-1");
    assert_eq!(s3.prefix, "p");
    assert!(s3.path_style && s3.allow_http);
    assert_eq!(c.local_object_path(), None);
}

#[test]
fn unknown_key_is_an_error_naming_it() {
    let e = parse("storage:\n  retension: 30d\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("retension"), "{e}");
    assert!(e.contains("test.yaml"), "{e}");
    let e = parse("limits:\n  max_labels: 3\n").unwrap_err().to_string();
    assert!(e.contains("max_labels"), "{e}");
}

#[test]
fn bad_values_name_the_key_path() {
    for (yaml, key) in [
        ("storage:\n  retention: 30x\n", "storage.retention"),
        ("server:\n  listen: nowhere\n", "server.listen"),
        ("server:\n  log_format: xml\n", "server.log_format"),
        (
            "limits:\n  max_decoded_size: 12XB\n",
            "limits.max_decoded_size",
        ),
        (
            "storage:\n  object_store: { type: s3 }\n",
            "storage.object_store.s3.bucket",
        ),
        (
            "storage:\n  compaction: { ranges: [12h, 2h] }\n",
            "storage.compaction.ranges[1]",
        ),
        (
            "overrides:\n  t1:\n    retention: 5q\n",
            "overrides.t1.retention",
        ),
        ("overrides:\n  \"a/b\": {}\n", "overrides.a/b"),
        (
            "multitenancy:\n  default_tenant: \"..\"\n",
            "multitenancy.default_tenant",
        ),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(matches!(e, Error::ConfigValue { .. }), "{yaml}: {e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("test.yaml: {key}: ")),
            "{yaml}: {msg}"
        );
    }
}

#[test]
fn environment_is_substituted() {
    let env = |n: &str| (n == "BUCKET").then(|| "from-env".to_string());
    let c = Config::from_yaml(
        "storage:\n  object_store:\n    type: s3\n    s3: { bucket: \"${BUCKET}\", prefix: \"$${literal}\" }\n",
        "s3.yaml",
        &env,
    )
    .unwrap();
    let ObjectStoreConfig::S3(s3) = &c.storage.object_store else {
        panic!("expected s3")
    };
    assert_eq!(s3.bucket, "from-env");
    assert_eq!(s3.prefix, "${literal}");
    let e = Config::from_yaml("server:\n  listen: ${NOPE}\n", "x.yaml", &env).unwrap_err();
    assert!(e.to_string().contains("NOPE"), "{e}");
    assert!(e.to_string().starts_with("x.yaml: "), "{e}");
}

#[test]
fn overrides_merge_over_the_defaults() {
    let c = parse(
        "limits:\n  max_labels_per_series: 40\noverrides:\n  team-a:\n    max_series_per_request: 5\n    retention: 7d\n",
    )
    .unwrap();
    let a = TenantId::new("team-a").unwrap();
    let b = TenantId::new("team-b").unwrap();
    assert_eq!(c.limits_for(&a).max_series_per_request, 5);
    assert_eq!(c.limits_for(&a).max_labels_per_series, 40);
    assert_eq!(
        c.limits_for(&a).retention,
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(c.limits_for(&b), &c.limits);
    assert_eq!(c.limits_for(&b).retention, None);
}

#[test]
fn s3_credentials_are_not_printed() {
    let c = parse(
        "storage:\n  object_store:\n    type: s3\n    s3: { bucket: b, access_key_id: AKIA, secret_access_key: hunter2 }\n",
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("hunter2") && !dbg.contains("AKIA"), "{dbg}");
}

#[test]
fn traces_section_is_validated_with_key_names() {
    let c = parse("").unwrap();
    assert_eq!(c.traces, TracesConfig::default());
    assert!(c.traces.enabled);
    let c = parse(
        "traces:\n  enabled: false\n  head_max_size: 64MiB\n  head_max_age: 5m\n  row_group_spans: 100\n  compaction_ranges: [30m, 2h]\n  max_attribute_bytes: 0\n",
    )
    .unwrap();
    assert!(!c.traces.enabled);
    assert_eq!(c.traces.head_max_size, 64 << 20);
    assert_eq!(c.traces.head_max_age, Duration::from_secs(300));
    assert_eq!(c.traces.row_group_spans, 100);
    assert_eq!(
        c.traces.compaction_ranges,
        vec![Duration::from_secs(1800), Duration::from_secs(7200)]
    );
    assert_eq!(c.traces.max_attribute_bytes, 0);
    for (yaml, key) in [
        ("traces:\n  zstd_level: 30\n", "traces.zstd_level"),
        ("traces:\n  head_max_size: 1KiB\n", "traces.head_max_size"),
        ("traces:\n  row_group_spans: 0\n", "traces.row_group_spans"),
        (
            "traces:\n  compaction_ranges: [2h, 1h]\n",
            "traces.compaction_ranges[1]",
        ),
        ("traces:\n  head_max_age: soon\n", "traces.head_max_age"),
    ] {
        let e = parse(yaml).unwrap_err().to_string();
        assert!(e.contains(key), "{yaml}: {e}");
    }
    let e = parse("traces:\n  bogus: 1\n").unwrap_err().to_string();
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn otlp_section_takes_prometheus_keys_and_rules() {
    let c = parse("").unwrap();
    assert_eq!(c.otlp.metrics, cairn_wire::OtlpMetricsMapping::default());
    let c = parse(
        "otlp:\n  translation_strategy: NoUTF8EscapingWithSuffixes\n  promote_resource_attributes: [' k8s.pod.name ', cloud.region]\n  promote_scope_metadata: true\n  label_name_underscore_sanitization: false\n",
    )
    .unwrap();
    let m = &c.otlp.metrics;
    assert_eq!(
        m.translation_strategy,
        cairn_wire::TranslationStrategy::NoUtf8EscapingWithSuffixes
    );
    assert_eq!(
        m.promote_resource_attributes,
        ["k8s.pod.name", "cloud.region"]
    );
    assert!(m.promote_scope_metadata);
    assert!(!m.label_name_underscore_sanitization);
    assert!(m.label_name_preserve_multiple_underscores);
    for (yaml, key) in [
        (
            "otlp:\n  translation_strategy: Legacy\n",
            "otlp.translation_strategy",
        ),
        (
            "otlp:\n  promote_all_resource_attributes: true\n  promote_resource_attributes: [a]\n",
            "otlp.promote_resource_attributes",
        ),
        (
            "otlp:\n  ignore_resource_attributes: [a]\n",
            "otlp.ignore_resource_attributes",
        ),
        (
            "otlp:\n  promote_resource_attributes: [a, ' a']\n",
            "otlp.promote_resource_attributes[1]",
        ),
        (
            "otlp:\n  promote_resource_attributes: ['']\n",
            "otlp.promote_resource_attributes[0]",
        ),
    ] {
        let e = parse(yaml).unwrap_err().to_string();
        assert!(e.contains(key), "{yaml}: {e}");
    }
    let e = parse("otlp:\n  bogus: 1\n").unwrap_err().to_string();
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn negative_max_exemplars_is_refused_by_key() {
    let e = parse("storage:\n  exemplars:\n    max_exemplars: -1\n").unwrap_err();
    assert!(
        e.to_string().contains("storage.exemplars.max_exemplars"),
        "{e}"
    );
}
