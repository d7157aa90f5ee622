//! Configuration: Tempo's keys and defaults, unknown keys refused, and clear errors for what
//! cannot run.

use std::time::Duration;

use cairn_spanmetrics::{Error, Generator, GeneratorConfig};

fn parse(yaml: &str) -> Result<GeneratorConfig, String> {
    serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
}

fn refused(yaml: &str) -> Error {
    let cfg = parse(yaml).expect("parses");
    match Generator::new(cfg) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_are_tempos() {
    let cfg = parse("{}").expect("empty config parses");
    assert!(cfg.processors.is_empty());
    assert_eq!(cfg.collection_interval, Duration::from_secs(15));
    assert_eq!(cfg.stale_duration, Duration::from_secs(900));
    assert_eq!(cfg.max_active_series, 0);
    let sm = &cfg.processor.span_metrics;
    assert_eq!(
        sm.histogram_buckets,
        vec![
            0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
            8.192, 16.384
        ]
    );
    let d = sm.intrinsic_dimensions;
    assert!(d.service && d.span_name && d.span_kind && d.status_code && !d.status_message);
    assert!(!sm.enable_target_info && sm.enable_instance_label);
    let sg = &cfg.processor.service_graphs;
    assert_eq!(sg.wait, Duration::from_secs(10));
    assert_eq!(sg.max_items, 10_000);
    assert_eq!(
        sg.histogram_buckets,
        vec![0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]
    );
    assert_eq!(
        sg.peer_attributes,
        vec!["peer.service", "db.name", "db.system", "db.system.name"]
    );
    assert_eq!(
        sg.database_name_attributes,
        vec!["db.namespace", "db.name", "db.system", "db.system.name"]
    );
    assert!(!sg.enable_virtual_node_label && !sg.enable_client_server_prefix);
    assert!(!sg.enable_messaging_system_latency_histogram);
}

#[test]
fn a_full_tempo_style_block_parses() {
    let cfg = parse(
        r#"
processors: [span-metrics, service-graphs, service-graphs-connection-info]
collection_interval: 30s
stale_duration: 5m
external_labels: {source: cairn}
processor:
  span_metrics:
    histogram_buckets: [0.1, 0.5, 1]
    intrinsic_dimensions: {status_message: true}
    dimensions: [http.method]
    dimension_mappings:
      - {name: env, source_labels: [deployment.environment], join: ""}
    enable_target_info: true
    target_info_excluded_dimensions: [telemetry.sdk.version]
    span_multiplier_key: X-SampleRatio
    enable_tracestate_span_multiplier: true
  service_graphs:
    wait: 30s
    max_items: 500
    histogram_buckets: [1, 2]
    dimensions: [env]
    enable_client_server_prefix: true
    enable_messaging_system_latency_histogram: true
    peer_attributes: [peer.service]
    enable_virtual_node_label: true
    database_name_attributes: [db.name]
    filter_policies:
      - exclude:
          match_type: strict
          attributes: [{key: resource.service.name, value: shop-backend}]
"#,
    )
    .expect("parses");
    assert_eq!(cfg.collection_interval, Duration::from_secs(30));
    assert_eq!(cfg.processor.service_graphs.wait, Duration::from_secs(30));
    let g = Generator::new(cfg).expect("valid");
    let e = g.enabled();
    assert!(e.span_count && e.span_latency && e.span_size);
    assert!(e.graph_request && e.graph_latency && e.graph_connection_info);
}

#[test]
fn sub_processor_names_turn_on_one_part() {
    let cfg = parse("processors: [span-metrics-latency, service-graphs-request]").expect("parses");
    let e = Generator::new(cfg).expect("valid").enabled();
    assert!(e.span_latency && !e.span_count && !e.span_size);
    assert!(e.graph_request && !e.graph_latency && !e.graph_connection_info);
}

#[test]
fn unknown_keys_are_refused() {
    let err = parse("processor: {service_graphs: {workers: 10}}").expect_err("unknown");
    assert!(err.contains("workers"), "{err}");
    let err = parse("processor: {service_graphs: {wiat: 10s}}").expect_err("typo");
    assert!(err.contains("wiat"), "{err}");
    let err = parse("processor: {service_graphs: {wait: soon}}").expect_err("bad duration");
    assert!(err.contains("soon"), "{err}");
}

#[test]
fn invalid_settings_name_the_key() {
    let e = refused("processors: [local-blocks]");
    assert!(matches!(&e, Error::UnknownProcessor { name, .. } if name == "local-blocks"));
    assert!(e.to_string().contains("span-metrics"), "{e}");

    let e = refused("processor: {span_metrics: {histogram_buckets: [1, 0.5]}}");
    assert!(
        e.to_string().starts_with("span_metrics.histogram_buckets"),
        "{e}"
    );
    let e = refused("processor: {service_graphs: {histogram_buckets: [1, .inf]}}");
    assert!(
        e.to_string()
            .starts_with("service_graphs.histogram_buckets"),
        "{e}"
    );

    let e = refused("processor: {service_graphs: {wait: 0s}}");
    assert!(e.to_string().starts_with("service_graphs.wait"), "{e}");
    let e = refused("processor: {service_graphs: {max_items: 0}}");
    assert!(e.to_string().starts_with("service_graphs.max_items"), "{e}");
    let e = refused("collection_interval: 10m");
    assert!(e.to_string().starts_with("collection_interval"), "{e}");
    let e = refused("external_labels: {\"bad-name\": x}");
    assert!(e.to_string().contains("bad-name"), "{e}");
    let e = refused("processor: {span_metrics: {dimensions: [\"\"]}}");
    assert!(e.to_string().contains("span_metrics.dimensions"), "{e}");
}

#[test]
fn a_mapping_colliding_with_another_label_is_refused() {
    let e = refused(
        "processor:
  span_metrics:
    dimensions: [env]
    dimension_mappings: [{name: env, source_labels: [deployment.environment]}]",
    );
    assert_eq!(
        e.to_string(),
        "dimension_mapping \"env\" produces label \"env\" which collides with dimension \"env\""
    );
    let e = refused("processor: {span_metrics: {dimension_mappings: [{name: env}]}}");
    assert!(matches!(e, Error::NoSourceLabels { .. }), "{e}");
    // A mapping named like an intrinsic label gets the `__` prefix and does not collide.
    let cfg = parse(
        "processor: {span_metrics: {dimension_mappings: [{name: service, source_labels: [x]}]}}",
    )
    .expect("parses");
    assert!(Generator::new(cfg).is_ok());
}

#[test]
fn the_example_config_file_parses() {
    let text = include_str!("../../../config/metrics-generator.yaml");
    let cfg: GeneratorConfig = serde_yaml_ng::from_str(text).expect("example parses");
    Generator::new(cfg).expect("example is valid");
}

#[test]
fn a_generator_can_live_behind_a_shared_lock() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Generator>();
}
