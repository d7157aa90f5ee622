use cairn_model::METRIC_NAME;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::name_cases::{METRIC_NAME_CASES, NameCase};
use super::*;

#[test]
fn metric_names_are_prometheus_names() {
    let mut failures = Vec::new();
    for NameCase(test, ns, with_suffixes, utf8, name, unit, kind, want, want_unit, want_err) in
        METRIC_NAME_CASES
    {
        let namer = MetricNamer {
            namespace: ns.to_string(),
            with_suffixes: *with_suffixes,
            utf8_allowed: *utf8,
        };
        let got = namer.build(name, unit, *kind);
        let ok = match (&got, want_err.is_empty()) {
            (Ok(g), true) => g == want,
            (Err(e), false) => e == want_err,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{test}: {name:?} {unit:?} -> {got:?}, want {want:?} / {want_err:?}"
            ));
        }
        if *with_suffixes && unit_name(unit, *utf8) != *want_unit {
            failures.push(format!(
                "{test}: unit {unit:?} -> {:?}, want {want_unit:?}",
                unit_name(unit, *utf8)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(METRIC_NAME_CASES.len() > 80);
}

/// `labelTestCases` of prometheus/otlptranslator `label_namer_test.go` (their expected
/// answers): label, plain, preserving runs, sanitizing a leading `_`, both; an `Err` is the
/// error for that configuration (and for the ones derived from it, as their test does).
#[allow(clippy::type_complexity)]
const LABEL_CASES: &[(&str, &str, &str, &str, &str, &str, &str, &str)] = &[
    // label, sanitized, multiple, underscore, multiple+underscore, error, multiple error, utf8 error
    (
        "label:with:colons",
        "label_with_colons",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "LabelWithCapitalLetters",
        "LabelWithCapitalLetters",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "label!with&special$chars)",
        "label_with_special_chars_",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "label_with_foreign_characters_字符",
        "label_with_foreign_characters_",
        "label_with_foreign_characters___",
        "",
        "",
        "",
        "",
        "",
    ),
    ("label.with.dots", "label_with_dots", "", "", "", "", "", ""),
    (".foo", "_foo", "", "key_foo", "", "", "", ""),
    ("123label", "key_123label", "", "", "", "", "", ""),
    (
        "_label_starting_with_underscore",
        "_label_starting_with_underscore",
        "",
        "key_label_starting_with_underscore",
        "",
        "",
        "",
        "",
    ),
    (
        "__label_starting_with_2underscores",
        "_label_starting_with_2underscores",
        "__label_starting_with_2underscores",
        "key_label_starting_with_2underscores",
        "__label_starting_with_2underscores",
        "",
        "",
        "",
    ),
    (
        "ようこそ",
        "",
        "",
        "",
        "",
        r#"normalization for label name "ようこそ" resulted in invalid name "_""#,
        r#"normalization for label name "ようこそ" resulted in invalid name "____""#,
        "",
    ),
    (
        "label__with__double__underscores",
        "label_with_double_underscores",
        "label__with__double__underscores",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "label.name__with&&special##chars",
        "label_name_with_special_chars",
        "label_name__with__special__chars",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "__reserved__label__name__",
        "__reserved_label_name__",
        "__reserved__label__name__",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "trailing_underscores___",
        "trailing_underscores_",
        "trailing_underscores___",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "",
        "",
        "",
        "",
        "",
        "label name is empty",
        "",
        "label name is empty",
    ),
    (
        "__",
        "",
        "",
        "",
        "",
        r#"normalization for label name "__" resulted in invalid name "_""#,
        r#"normalization for label name "__" resulted in invalid name "__""#,
        r#"label name "__" contains only underscores"#,
    ),
];

#[test]
fn label_names_are_prometheus_names() {
    let or = |a: &'static str, b: &'static str| if a.is_empty() { b } else { a };
    for &(label, plain, multi, under, both, err, multi_err, utf8_err) in LABEL_CASES {
        let namer = |p: bool, u: bool| LabelNamer {
            utf8_allowed: false,
            underscore_sanitization: u,
            preserve_multiple_underscores: p,
        };
        if err.is_empty() {
            assert_eq!(
                namer(false, false).build(label),
                Ok(plain.into()),
                "{label}"
            );
            assert_eq!(
                namer(false, true).build(label),
                Ok(or(under, plain).into()),
                "{label}"
            );
        } else {
            assert_eq!(namer(false, false).build(label), Err(err.into()), "{label}");
        }
        let want_err = or(multi_err, err);
        if want_err.is_empty() {
            assert_eq!(
                namer(true, false).build(label),
                Ok(or(multi, plain).into()),
                "{label}"
            );
            let want = or(both, or(under, or(multi, plain)));
            assert_eq!(namer(true, true).build(label), Ok(want.into()), "{label}");
        } else {
            assert_eq!(
                namer(true, false).build(label),
                Err(want_err.into()),
                "{label}"
            );
        }
        let utf8 = LabelNamer {
            utf8_allowed: true,
            ..LabelNamer::default()
        };
        if utf8_err.is_empty() {
            assert_eq!(utf8.build(label), Ok(label.into()));
        } else {
            assert_eq!(utf8.build(label), Err(utf8_err.into()));
        }
    }
}

// Request builders.

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| kv(k, v)).collect()
}

const T: u64 = 1_700_000_000_000_000_000;
const T_MS: i64 = 1_700_000_000_000;

fn number(attrs: &[(&str, &str)], t: u64, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: kvs(attrs),
        time_unix_nano: t,
        start_time_unix_nano: t.saturating_sub(60_000_000_000),
        value: Some(number_data_point::Value::AsDouble(v)),
        ..NumberDataPoint::default()
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(data),
        ..Metric::default()
    }
}

fn gauge(points: Vec<NumberDataPoint>) -> Data {
    Data::Gauge(Gauge {
        data_points: points,
    })
}

fn sum(points: Vec<NumberDataPoint>, monotonic: bool, temporality: AggregationTemporality) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality as i32,
        is_monotonic: monotonic,
    })
}

fn request_with_scope(
    resource: &[(&str, &str)],
    scope: InstrumentationScope,
    metrics: Vec<Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: kvs(resource),
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope),
                metrics,
                schema_url: "https://schema.com".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn request(resource: &[(&str, &str)], metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    request_with_scope(resource, InstrumentationScope::default(), metrics)
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

fn series_named<'a>(m: &'a MappedMetrics, name: &str) -> Vec<&'a MappedSeries> {
    m.series
        .iter()
        .filter(|s| s.labels.iter().any(|(n, v)| n == METRIC_NAME && v == name))
        .collect()
}

/// Cases of `TestPrometheusConverter_createAttributes` in Prometheus'
/// `storage/remote/otlptranslator/prometheusremotewrite/helper_test.go` (their expected label
/// sets), through a gauge named `test_metric`.
#[test]
#[allow(clippy::type_complexity)]
fn attributes_as_prometheus_creates_them() {
    let resource = [
        ("service.name", "service name"),
        ("service.instance.id", "service ID"),
        ("existent-attr", "resource value"),
        ("metric-attr", "resource value"),
        ("job", "resource value"),
        ("instance", "resource value"),
    ];
    let point = [
        ("metric-attr", "metric value"),
        ("metric-attr-other", "metric value other"),
    ];
    let scope = InstrumentationScope {
        name: "test-scope".into(),
        version: "1.0.0".into(),
        attributes: kvs(&[("attr1", "value1"), ("attr2", "value2")]),
        dropped_attributes_count: 0,
    };
    let base = [
        ("__name__", "test_metric"),
        ("instance", "service ID"),
        ("job", "service name"),
        ("metric_attr", "metric value"),
        ("metric_attr_other", "metric value other"),
    ];
    let scoped = [
        ("otel_scope_name", "test-scope"),
        ("otel_scope_schema_url", "https://schema.com"),
        ("otel_scope_version", "1.0.0"),
        ("otel_scope_attr1", "value1"),
        ("otel_scope_attr2", "value2"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let plain = |promote: &[&str], all: bool, ignore: &[&str], scope_on: bool| OtlpMetricsMapping {
        promote_resource_attributes: promote.iter().map(|s| s.to_string()).collect(),
        promote_all_resource_attributes: all,
        ignore_resource_attributes: ignore.iter().map(|s| s.to_string()).collect(),
        promote_scope_metadata: scope_on,
        label_name_underscore_sanitization: false,
        label_name_preserve_multiple_underscores: false,
        ..OtlpMetricsMapping::default()
    };
    let cases: Vec<(
        &str,
        OtlpMetricsMapping,
        InstrumentationScope,
        Vec<(&str, &str)>,
    )> = vec![
        (
            "no promotion, no scope",
            plain(&[], false, &[], false),
            scope.clone(),
            with(&[]),
        ),
        (
            "scope promotion",
            plain(&[], false, &[], true),
            scope.clone(),
            with(&scoped),
        ),
        (
            "scope promotion without a scope",
            plain(&[], false, &[], true),
            InstrumentationScope::default(),
            with(&[]),
        ),
        (
            "resource attribute promotion",
            plain(&["non-existent-attr", "existent-attr"], false, &[], true),
            scope.clone(),
            with(&[&[("existent_attr", "resource value")][..], &scoped].concat()),
        ),
        (
            "conflicting promoted attributes are ignored",
            plain(
                &[
                    "non-existent-attr",
                    "existent-attr",
                    "metric-attr",
                    "job",
                    "instance",
                ],
                false,
                &[],
                true,
            ),
            scope.clone(),
            with(&[&[("existent_attr", "resource value")][..], &scoped].concat()),
        ),
        (
            "promote all",
            plain(&[], true, &[], true),
            scope.clone(),
            with(
                &[
                    &[
                        ("existent_attr", "resource value"),
                        ("service_name", "service name"),
                        ("service_instance_id", "service ID"),
                    ][..],
                    &scoped,
                ]
                .concat(),
            ),
        ),
        (
            "promote all but service.instance.id",
            plain(&[], true, &["service.instance.id"], true),
            scope.clone(),
            with(
                &[
                    &[
                        ("existent_attr", "resource value"),
                        ("service_name", "service name"),
                    ][..],
                    &scoped,
                ]
                .concat(),
            ),
        ),
    ];
    for (name, mapping, scope, want) in cases {
        let req = request_with_scope(
            &resource,
            scope,
            vec![metric(
                "test_metric",
                "",
                gauge(vec![number(&point, T, 1.0)]),
            )],
        );
        let m = map_otlp_metrics(&req, &mapping);
        let got = series_named(&m, "test_metric");
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].labels, labels(&want), "{name}");
    }

    // The sanitization cases of the same test.
    let resource = [
        ("service.name", "service name"),
        ("service.instance.id", "service ID"),
        ("_private", "private value"),
        ("__reserved__", "reserved value"),
        ("label___multi", "multi value"),
    ];
    let point = [
        ("_metric_private", "private metric"),
        ("metric___multi", "multi metric"),
    ];
    let cases: Vec<(&[&str], bool, bool, Vec<(&str, &str)>)> = vec![
        (
            &["_private"],
            true,
            true,
            vec![
                ("key_private", "private value"),
                ("key_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ],
        ),
        (
            &["_private"],
            false,
            true,
            vec![
                ("_private", "private value"),
                ("_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ],
        ),
        (
            &["label___multi"],
            false,
            false,
            vec![
                ("label_multi", "multi value"),
                ("_metric_private", "private metric"),
                ("metric_multi", "multi metric"),
            ],
        ),
        (
            &["_private", "label___multi"],
            true,
            true,
            vec![
                ("key_private", "private value"),
                ("label___multi", "multi value"),
                ("key_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ],
        ),
        (
            &["__reserved__"],
            true,
            false,
            vec![
                ("__reserved__", "reserved value"),
                ("key_metric_private", "private metric"),
                ("metric_multi", "multi metric"),
            ],
        ),
    ];
    for (promote, underscore, preserve, extra) in cases {
        let mapping = OtlpMetricsMapping {
            promote_resource_attributes: promote.iter().map(|s| s.to_string()).collect(),
            label_name_underscore_sanitization: underscore,
            label_name_preserve_multiple_underscores: preserve,
            ..OtlpMetricsMapping::default()
        };
        let req = request(
            &resource,
            vec![metric(
                "test_metric",
                "",
                gauge(vec![number(&point, T, 1.0)]),
            )],
        );
        let m = map_otlp_metrics(&req, &mapping);
        let mut want = vec![
            ("__name__", "test_metric"),
            ("instance", "service ID"),
            ("job", "service name"),
        ];
        want.extend(extra);
        assert_eq!(
            series_named(&m, "test_metric")[0].labels,
            labels(&want),
            "{promote:?}"
        );
    }

    // Colliding names: values joined with `;` in the order of the original names.
    let req = request(
        &resource,
        vec![metric(
            "test_metric",
            "",
            gauge(vec![number(
                &[("a.b", "2"), ("a-b", "1"), ("a_b", "3")],
                T,
                1.0,
            )]),
        )],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    let s = series_named(&m, "test_metric")[0];
    assert!(
        s.labels.contains(&("a_b".into(), "1;2;3".into())),
        "{:?}",
        s.labels
    );
}

#[test]
fn gauges_sums_histograms_and_summaries() {
    let resource = [
        ("service.name", "checkout"),
        ("service.namespace", "shop"),
        ("service.instance.id", "pod-1"),
        ("host.name", "node-a"),
    ];
    let hist = HistogramDataPoint {
        attributes: kvs(&[("http.route", "/a")]),
        time_unix_nano: T,
        count: 6,
        sum: Some(3.5),
        bucket_counts: vec![1, 2, 3],
        explicit_bounds: vec![0.25, 1.0],
        exemplars: vec![
            Exemplar {
                value: Some(exemplar::Value::AsDouble(0.1)),
                time_unix_nano: T - 1_000_000,
                trace_id: vec![0xab; 16],
                span_id: vec![0xcd; 8],
                ..Exemplar::default()
            },
            Exemplar {
                value: Some(exemplar::Value::AsDouble(7.0)),
                ..Exemplar::default()
            },
        ],
        ..HistogramDataPoint::default()
    };
    let summary = SummaryDataPoint {
        time_unix_nano: T,
        count: 4,
        sum: 10.0,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 2.0,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 4.0,
            },
        ],
        ..SummaryDataPoint::default()
    };
    let mut int_point = number(&[], T, 0.0);
    int_point.value = Some(number_data_point::Value::AsInt(-3));
    let req = request(
        &resource,
        vec![
            metric("queue.size", "{item}", gauge(vec![number(&[], T, 12.0)])),
            metric(
                "http.requests",
                "1",
                sum(
                    vec![
                        number(&[("code", "200")], T, 5.0),
                        number(&[("code", "500")], T, 1.0),
                    ],
                    true,
                    AggregationTemporality::Cumulative,
                ),
            ),
            metric(
                "sessions.active",
                "",
                sum(vec![int_point], false, AggregationTemporality::Cumulative),
            ),
            metric("cpu.utilization", "1", gauge(vec![number(&[], T, 0.5)])),
            metric(
                "http.server.duration",
                "s",
                Data::Histogram(Histogram {
                    data_points: vec![hist],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
            ),
            metric(
                "rpc.latency",
                "ms",
                Data::Summary(Summary {
                    data_points: vec![summary],
                }),
            ),
        ],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    assert_eq!(
        m.report,
        OtlpMetricsReport {
            data_points: 7,
            ..OtlpMetricsReport::default()
        }
    );
    let id = [("job", "shop/checkout"), ("instance", "pod-1")];
    let find = |extra: &[(&str, &str)]| -> Vec<(i64, f64)> {
        let mut want = id.to_vec();
        want.extend_from_slice(extra);
        let want = labels(&want);
        let s = m
            .series
            .iter()
            .find(|s| s.labels == want)
            .unwrap_or_else(|| panic!("no series {want:?} in {:#?}", m.series));
        s.samples.iter().map(|s| (s.t, s.v)).collect::<Vec<_>>()
    };
    assert_eq!(find(&[("__name__", "queue_size")]), [(T_MS, 12.0)]);
    assert_eq!(
        find(&[("__name__", "http_requests_total"), ("code", "200")]),
        [(T_MS, 5.0)]
    );
    assert_eq!(find(&[("__name__", "sessions_active")]), [(T_MS, -3.0)]);
    assert_eq!(
        find(&[("__name__", "cpu_utilization_ratio")]),
        [(T_MS, 0.5)]
    );
    let route = ("http_route", "/a");
    let h = "http_server_duration_seconds";
    assert_eq!(
        find(&[("__name__", &format!("{h}_sum")), route]),
        [(T_MS, 3.5)]
    );
    assert_eq!(
        find(&[("__name__", &format!("{h}_count")), route]),
        [(T_MS, 6.0)]
    );
    let bucket = format!("{h}_bucket");
    assert_eq!(
        find(&[("__name__", &bucket), route, ("le", "0.25")]),
        [(T_MS, 1.0)]
    );
    assert_eq!(
        find(&[("__name__", &bucket), route, ("le", "1")]),
        [(T_MS, 3.0)]
    );
    assert_eq!(
        find(&[("__name__", &bucket), route, ("le", "+Inf")]),
        [(T_MS, 6.0)]
    );
    let r = "rpc_latency_milliseconds";
    assert_eq!(find(&[("__name__", r), ("quantile", "0.5")]), [(T_MS, 2.0)]);
    assert_eq!(
        find(&[("__name__", r), ("quantile", "0.99")]),
        [(T_MS, 4.0)]
    );
    assert_eq!(find(&[("__name__", &format!("{r}_sum"))]), [(T_MS, 10.0)]);
    assert_eq!(find(&[("__name__", &format!("{r}_count"))]), [(T_MS, 4.0)]);
    // target_info: the non-identifying attributes, at the one point time.
    assert_eq!(
        find(&[("__name__", "target_info"), ("host_name", "node-a")]),
        [(T_MS, 1.0)]
    );

    // Exemplars go to the first bucket whose bound holds them, the rest to +Inf.
    let with_ex: Vec<_> = m
        .series
        .iter()
        .filter(|s| !s.exemplars.is_empty())
        .collect();
    assert_eq!(with_ex.len(), 2);
    let first = &with_ex[0];
    assert!(first.labels.contains(&("le".into(), "0.25".into())));
    assert_eq!(
        first.exemplars[0],
        MappedExemplar {
            labels: labels(&[
                ("span_id", "cdcdcdcdcdcdcdcd"),
                ("trace_id", "abababababababababababababababab"),
            ]),
            value: 0.1,
            timestamp_ms: T_MS - 1,
        }
    );
    assert!(with_ex[1].labels.contains(&("le".into(), "+Inf".into())));
    assert_eq!(with_ex[1].exemplars[0].timestamp_ms, T_MS);

    // Metadata per family.
    let md = |f: &str| m.metadata.iter().find(|x| x.family == f).cloned();
    assert_eq!(
        md("http_server_duration_seconds"),
        Some(MappedMetadata {
            family: "http_server_duration_seconds".into(),
            metric_type: MetricType::Histogram,
            help: "http.server.duration help".into(),
            unit: "seconds".into(),
        })
    );
    assert_eq!(
        md("http_requests_total").map(|x| x.metric_type),
        Some(MetricType::Counter)
    );
    assert_eq!(
        md("sessions_active").map(|x| x.metric_type),
        Some(MetricType::Gauge)
    );
    assert_eq!(
        md("rpc_latency_milliseconds").map(|x| x.metric_type),
        Some(MetricType::Summary)
    );
}

#[test]
fn no_recorded_value_is_a_stale_marker() {
    let mut p = number(&[], T, 3.0);
    p.flags = FLAG_NO_RECORDED_VALUE;
    let req = request(
        &[("service.name", "a")],
        vec![metric("g", "", gauge(vec![p]))],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    let v = series_named(&m, "g")[0].samples[0].v;
    assert_eq!(v.to_bits(), cairn_model::stale_nan().to_bits());
}

#[test]
fn delta_and_exponential_are_refused_the_rest_kept() {
    let req = request(
        &[("service.name", "a")],
        vec![
            metric(
                "deltas",
                "",
                sum(
                    vec![number(&[], T, 1.0), number(&[("x", "y")], T, 2.0)],
                    true,
                    AggregationTemporality::Delta,
                ),
            ),
            metric(
                "latency",
                "s",
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint::default()],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
            ),
            metric("kept", "", gauge(vec![number(&[], T, 1.0)])),
        ],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    assert_eq!(m.report.rejected_data_points, 3);
    assert_eq!(m.report.data_points, 1);
    assert_eq!(
        m.report.error_message(),
        "invalid temporality and type combination for metric \"deltas\"; exponential histogram \
         \"latency\": native histograms are not supported yet"
    );
    assert_eq!(series_named(&m, "kept").len(), 1);
    assert!(series_named(&m, "deltas_total").is_empty());
    let p = partial_success(&m.report).expect("partial");
    assert_eq!(p.rejected_data_points, 3);
}

#[test]
fn target_info_spans_the_resource_points() {
    let later = T + 400_000_000_000; // 400s later
    let req = request(
        &[("service.name", "a"), ("k8s.pod.name", "p")],
        vec![metric(
            "g",
            "",
            gauge(vec![number(&[], T, 1.0), number(&[], later, 2.0)]),
        )],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    let ti = series_named(&m, "target_info");
    assert_eq!(ti.len(), 1);
    assert_eq!(
        ti[0].labels,
        labels(&[
            ("__name__", "target_info"),
            ("job", "a"),
            ("k8s_pod_name", "p")
        ])
    );
    let times: Vec<i64> = ti[0].samples.iter().map(|s| s.t - T_MS).collect();
    assert_eq!(times, [0, 150_000, 300_000, 400_000]);

    // A point at time zero among current ones: bounded, the newest steps kept.
    let req = request(
        &[("service.name", "a"), ("k8s.pod.name", "p")],
        vec![metric(
            "g",
            "",
            gauge(vec![number(&[], 0, 1.0), number(&[], T, 2.0)]),
        )],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    let samples = &series_named(&m, "target_info")[0].samples;
    assert_eq!(samples.len(), 66);
    assert_eq!(samples.last().map(|s| s.t), Some(T_MS));
    assert!(samples.windows(2).all(|w| w[0].t < w[1].t));

    // Only identifying attributes: no target_info; kept with the option.
    let req = request(
        &[("service.name", "a"), ("service.instance.id", "i")],
        vec![metric("g", "", gauge(vec![number(&[], T, 1.0)]))],
    );
    let m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    assert!(series_named(&m, "target_info").is_empty());
    let req = request(
        &[("service.name", "a"), ("host.name", "h")],
        vec![metric("g", "", gauge(vec![number(&[], T, 1.0)]))],
    );
    let keep = OtlpMetricsMapping {
        keep_identifying_resource_attributes: true,
        ..OtlpMetricsMapping::default()
    };
    let m = map_otlp_metrics(&req, &keep);
    assert_eq!(
        series_named(&m, "target_info")[0].labels,
        labels(&[
            ("__name__", "target_info"),
            ("host_name", "h"),
            ("job", "a"),
            ("service_name", "a"),
        ])
    );
}

#[test]
fn strategies_name_the_same_metric_differently() {
    let req = request(
        &[("service.name", "a")],
        vec![metric(
            "http.server.requests",
            "By/s",
            sum(
                vec![number(&[("http.method", "GET")], T, 1.0)],
                true,
                AggregationTemporality::Cumulative,
            ),
        )],
    );
    let want = [
        (
            TranslationStrategy::UnderscoreEscapingWithSuffixes,
            "http_server_requests_bytes_per_second_total",
            "http_method",
        ),
        (
            TranslationStrategy::NoUtf8EscapingWithSuffixes,
            "http.server.requests_bytes_per_second_total",
            "http.method",
        ),
        (
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
            "http_server_requests",
            "http_method",
        ),
        (
            TranslationStrategy::NoTranslation,
            "http.server.requests",
            "http.method",
        ),
    ];
    for (strategy, name, label) in want {
        let mapping = OtlpMetricsMapping {
            translation_strategy: strategy,
            ..OtlpMetricsMapping::default()
        };
        let m = map_otlp_metrics(&req, &mapping);
        let s = series_named(&m, name);
        assert_eq!(s.len(), 1, "{strategy}: {:?}", m.series);
        assert!(s[0].labels.iter().any(|(n, _)| n == label), "{strategy}");
        assert_eq!(
            TranslationStrategy::from_name(strategy.name()),
            Some(strategy)
        );
    }
}

#[test]
fn bodies_decode_in_both_formats_and_fill_a_batch() {
    let req = request(
        &[("service.name", "a")],
        vec![metric("g", "", gauge(vec![number(&[("k", "v")], T, 1.5)]))],
    );
    let pb = req.encode_to_vec();
    let json = serde_json::to_vec(&req).expect("serializable");
    let mapping = OtlpMetricsMapping::default();
    for (ct, body) in [
        ("application/x-protobuf", &pb),
        ("application/json; charset=utf-8", &json),
    ] {
        let m = decode_otlp_metrics(Some(ct), body, &mapping).expect("decodes");
        let mut batch = WriteBatch::default();
        let report = m.fill_batch(&DecodeLimits::default(), &mut batch);
        assert!(report.is_clean());
        assert_eq!(batch.series.len(), 1);
        assert_eq!(batch.samples, vec![Sample::new(T_MS, 1.5)]);
        assert_eq!(batch.metadata[0].metric_family_name, "g");
    }
    // OTLP/JSON as the specification writes it: integers as strings, camelCase names.
    let text = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
      "scopeMetrics":[{"metrics":[{"name":"reqs","sum":{"aggregationTemporality":2,"isMonotonic":true,
      "dataPoints":[{"timeUnixNano":"1700000000000000000","asInt":"7"}]}}]}]}]}"#;
    let m = decode_otlp_metrics(Some("application/json"), text.as_bytes(), &mapping).expect("json");
    assert_eq!(
        series_named(&m, "reqs_total")[0].samples,
        vec![Sample::new(T_MS, 7.0)]
    );

    let bad = decode_otlp_metrics(Some("application/x-protobuf"), b"\x0a\xff", &mapping);
    assert_eq!(bad.map(|_| ()).map_err(|e| e.http_status()), Err(400));
    let bad = decode_otlp_metrics(Some("application/json"), b"{", &mapping);
    assert_eq!(bad.map(|_| ()).map_err(|e| e.http_status()), Err(400));
    let bad = decode_otlp_metrics(Some("text/plain"), b"", &mapping);
    assert_eq!(bad.map(|_| ()).map_err(|e| e.http_status()), Err(415));
}

#[test]
fn limits_reject_series_and_count_them() {
    let req = request(
        &[("service.name", "a")],
        vec![metric(
            "g",
            "",
            gauge(vec![
                number(&[("k", "short")], T, 1.0),
                number(&[("k", "much too long")], T, 2.0),
            ]),
        )],
    );
    let mut m = map_otlp_metrics(&req, &OtlpMetricsMapping::default());
    let limits = DecodeLimits {
        max_label_value_len: 8,
        ..DecodeLimits::default()
    };
    let mut batch = WriteBatch::default();
    let report = m.fill_batch(&limits, &mut batch);
    assert_eq!(batch.series.len(), 1);
    assert_eq!(report.rejected.len(), 1);
    let mut r = m.report.clone();
    r.add_rejections(&report);
    m.report = r;
    assert_eq!(m.report.rejected_data_points, 1);
    assert!(
        m.report.error_message().contains("over the limit of 8"),
        "{}",
        m.report.error_message()
    );
}

#[test]
fn json_answers_carry_partial_success() {
    let mut r = OtlpMetricsReport::default();
    assert_eq!(encode_metrics_response(&r, OtlpFormat::Json), b"{}");
    assert!(encode_metrics_response(&r, OtlpFormat::Protobuf).is_empty());
    r.refuse(2, "bad".into());
    assert_eq!(
        String::from_utf8(encode_metrics_response(&r, OtlpFormat::Json)).expect("utf-8"),
        r#"{"partialSuccess":{"errorMessage":"bad","rejectedDataPoints":"2"}}"#
    );
    let pb = encode_metrics_response(&r, OtlpFormat::Protobuf);
    let back = ExportMetricsServiceResponse::decode(pb.as_slice()).expect("decodes");
    assert_eq!(
        back.partial_success.map(|p| p.rejected_data_points),
        Some(2)
    );
}
