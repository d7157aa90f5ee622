//! Span metrics: every metric, label and option checked on hand-built spans, with the values
//! Tempo's documentation and semantics give.

#[path = "support/spans.rs"]
mod spans;

use cairn_model::{AttrValue, Attribute, Resource, SpanKind, StatusCode};
use cairn_spanmetrics::{Generator, GeneratorConfig};
use spans::{Scrape, SpanExt, batch, of, resource, span};

const CALLS: &str = "traces_spanmetrics_calls_total";
const BUCKET: &str = "traces_spanmetrics_latency_bucket";
const SUM: &str = "traces_spanmetrics_latency_sum";
const COUNT: &str = "traces_spanmetrics_latency_count";
const SIZE: &str = "traces_spanmetrics_size_total";
const TARGET_INFO: &str = "traces_target_info";

/// 1 000 000 ms is 40 s into its minute: a new series' zero goes at 959 000 ms.
const T0: i64 = 1_000_000;
const T1: i64 = 1_005_000;
const ZERO_AT: i64 = 959_000;

fn generator(yaml: &str) -> Generator {
    let cfg: GeneratorConfig = serde_yaml_ng::from_str(yaml).expect("test config parses");
    Generator::new(cfg).expect("test config is valid")
}

const GET: [(&str, &str); 4] = [
    ("service", "api"),
    ("span_kind", "SPAN_KIND_SERVER"),
    ("span_name", "GET /"),
    ("status_code", "STATUS_CODE_UNSET"),
];
const SELECT: [(&str, &str); 4] = [
    ("service", "api"),
    ("span_kind", "SPAN_KIND_CLIENT"),
    ("span_name", "SELECT"),
    ("status_code", "STATUS_CODE_ERROR"),
];

fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = base.to_vec();
    v.extend_from_slice(more);
    v
}

#[test]
fn calls_latency_and_size_by_service_name_kind_and_status() {
    let mut g = generator("processors: [span-metrics]");
    g.observe(
        &of(
            "api",
            vec![
                span(1, 1, None, SpanKind::Server, "GET /", 10),
                span(1, 2, Some(1), SpanKind::Server, "GET /", 3_000),
                span(1, 3, Some(2), SpanKind::Client, "SELECT", 20).status(StatusCode::Error),
            ],
        ),
        T0,
    );
    let s = Scrape(g.collect(T1));
    assert_eq!(s.at(T1, CALLS, &GET), Some(2.0));
    assert_eq!(
        s.at(ZERO_AT, CALLS, &GET),
        Some(0.0),
        "a new counter starts at 0"
    );
    assert_eq!(s.at(T1, CALLS, &SELECT), Some(1.0));
    assert_eq!(s.series_of(CALLS).len(), 2);

    // Default buckets: 0.002 doubling to 16.384. 10 ms is in (0.008, 0.016], 3 s in
    // (2.048, 4.096].
    let b = |le: &'static str| with(&GET, &[("le", le)]);
    assert_eq!(s.at(T1, BUCKET, &b("0.008")), Some(0.0));
    assert_eq!(s.at(T1, BUCKET, &b("0.016")), Some(1.0));
    assert_eq!(s.at(T1, BUCKET, &b("2.048")), Some(1.0));
    assert_eq!(s.at(T1, BUCKET, &b("4.096")), Some(2.0));
    assert_eq!(s.at(T1, BUCKET, &b("16.384")), Some(2.0));
    assert_eq!(s.at(T1, BUCKET, &b("+Inf")), Some(2.0));
    assert_eq!(s.at(ZERO_AT, BUCKET, &b("+Inf")), Some(0.0));
    let les: Vec<String> = s
        .series_of(BUCKET)
        .iter()
        .filter(|l| l.get("span_name") == Some("GET /"))
        .filter_map(|l| l.get("le").map(str::to_string))
        .collect();
    assert_eq!(les.len(), 15, "14 buckets and +Inf: {les:?}");
    assert_eq!(s.at(T1, COUNT, &GET), Some(2.0));
    let sum = s.at(T1, SUM, &GET).unwrap_or(f64::NAN);
    assert!((sum - 3.01).abs() < 1e-9, "{sum}");
    let c = |le: &'static str| with(&SELECT, &[("le", le)]);
    assert_eq!(s.at(T1, BUCKET, &c("0.016")), Some(0.0));
    assert_eq!(s.at(T1, BUCKET, &c("0.032")), Some(1.0));

    // The SELECT span's OTLP encoding: trace id 2+16, span id 2+8, parent 2+8, name 2+6,
    // kind 2, start and end 9 each, status {code: 2} 2+2 = 70 bytes.
    assert_eq!(s.at(T1, SIZE, &SELECT), Some(70.0));
}

#[test]
fn counters_accumulate_across_collections_and_start_at_zero_once() {
    let mut g = generator("processors: [span-metrics-count]");
    g.observe(
        &of("api", vec![span(1, 1, None, SpanKind::Server, "GET /", 5)]),
        T0,
    );
    let first = Scrape(g.collect(T1));
    assert_eq!(first.at(T1, CALLS, &GET), Some(1.0));
    assert_eq!(
        first.names(),
        vec![CALLS.to_string()],
        "only the count runs"
    );

    let t2 = T1 + 60_000;
    g.observe(
        &of("api", vec![span(2, 1, None, SpanKind::Server, "GET /", 5)]),
        t2,
    );
    g.observe(
        &of("api", vec![span(3, 1, None, SpanKind::Server, "GET /", 5)]),
        t2,
    );
    let second = Scrape(g.collect(t2));
    assert_eq!(second.0.len(), 1, "no second zero: {:?}", second.0);
    assert_eq!(second.at(t2, CALLS, &GET), Some(3.0));

    // A collection with nothing new repeats the value, as a scrape would.
    let t3 = t2 + 15_000;
    assert_eq!(Scrape(g.collect(t3)).at(t3, CALLS, &GET), Some(3.0));
}

#[test]
fn intrinsic_dimensions_can_be_turned_off_and_status_message_on() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    intrinsic_dimensions: {span_kind: false, status_message: true}",
    );
    let mut sp = span(1, 1, None, SpanKind::Server, "GET /", 5).status(StatusCode::Error);
    sp.status.message = "boom".into();
    g.observe(&of("api", vec![sp]), T0);
    let s = Scrape(g.collect(T1));
    let want = [
        ("service", "api"),
        ("span_name", "GET /"),
        ("status_code", "STATUS_CODE_ERROR"),
        ("status_message", "boom"),
    ];
    assert_eq!(s.at(T1, CALLS, &want), Some(1.0));
    assert_eq!(s.series_of(CALLS).len(), 1);
}

#[test]
fn dimensions_read_resource_then_span_attributes_and_avoid_intrinsics() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    dimensions: [http.method, status.code, region]",
    );
    let spans = vec![
        span(1, 1, None, SpanKind::Server, "GET /", 5)
            .attr("http.method", "GET")
            .attr("status.code", 500i64)
            .attr("region", "us"),
        span(1, 2, None, SpanKind::Server, "GET /", 5),
    ];
    g.observe(
        &batch(vec![(resource("api", &[("region", "eu")]), spans)]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    // The resource's region wins over the span's; status.code collides with the intrinsic
    // label once sanitized and gets a `__` prefix; an int prints in decimal.
    let full = with(
        &GET,
        &[
            ("http_method", "GET"),
            ("__status_code", "500"),
            ("region", "eu"),
        ],
    );
    assert_eq!(s.at(T1, CALLS, &full), Some(1.0));
    // Attributes a span lacks leave their label out.
    assert_eq!(s.at(T1, CALLS, &with(&GET, &[("region", "eu")])), Some(1.0));
    assert_eq!(s.series_of(CALLS).len(), 2);
}

#[test]
fn dimensions_sanitizing_to_one_label_take_the_last_configured() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    dimensions: [deployment.environment, deployment_environment]",
    );
    let sp = span(1, 1, None, SpanKind::Server, "GET /", 5)
        .attr("deployment.environment", "a")
        .attr("deployment_environment", "b");
    g.observe(&of("api", vec![sp]), T0);
    let s = Scrape(g.collect(T1));
    assert_eq!(
        s.at(T1, CALLS, &with(&GET, &[("deployment_environment", "b")])),
        Some(1.0)
    );
}

#[test]
fn dimension_mappings_rename_and_join_attributes() {
    // The example of Tempo's documentation: abc, def, ghi joined by "/".
    let mut g = generator(
        r#"processors: [span-metrics-count]
processor:
  span_metrics:
    dimension_mappings:
      - name: service_instance
        source_labels: ["service.name", "service.namespace", "service.version"]
        join: "/"
      - name: env
        source_labels: ["deployment.environment", "missing"]
        join: "-""#,
    );
    let res = resource(
        "abc",
        &[("service.namespace", "def"), ("service.version", "ghi")],
    );
    let sp = span(1, 1, None, SpanKind::Server, "GET /", 5).attr("deployment.environment", "prod");
    g.observe(&batch(vec![(res, vec![sp])]), T0);
    let s = Scrape(g.collect(T1));
    let want = [
        ("env", "prod"),
        ("service", "abc"),
        ("service_instance", "abc/def/ghi"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("span_name", "GET /"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.at(T1, CALLS, &want), Some(1.0));
}

#[test]
fn target_info_carries_resource_attributes_and_adds_job_and_instance() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    enable_target_info: true
    target_info_excluded_dimensions: [telemetry.sdk.version]",
    );
    let shop = resource(
        "api",
        &[
            ("service.namespace", "shop"),
            ("service.instance.id", "pod-1"),
            ("k8s.pod.name", "p1"),
            ("telemetry.sdk.version", "1.2"),
            ("1bad", "x"),
        ],
    );
    g.observe(
        &batch(vec![
            (shop, vec![span(1, 1, None, SpanKind::Server, "GET /", 5)]),
            (
                resource("web", &[]),
                vec![span(1, 2, None, SpanKind::Server, "GET /", 5)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    let info = [
        ("instance", "pod-1"),
        ("job", "shop/api"),
        ("k8s_pod_name", "p1"),
    ];
    assert_eq!(s.at(T1, TARGET_INFO, &info), Some(1.0));
    // `web` has nothing but its name: no target_info for it.
    assert_eq!(s.series_of(TARGET_INFO).len(), 1);
    let api = with(&GET, &[("instance", "pod-1"), ("job", "shop/api")]);
    assert_eq!(s.at(T1, CALLS, &api), Some(1.0));
    let web = [
        ("job", "web"),
        ("service", "web"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("span_name", "GET /"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.at(T1, CALLS, &web), Some(1.0));
}

#[test]
fn instance_label_can_be_turned_off() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics: {enable_target_info: true, enable_instance_label: false}",
    );
    let res = resource(
        "api",
        &[("service.instance.id", "pod-1"), ("host.name", "h")],
    );
    g.observe(
        &batch(vec![(
            res,
            vec![span(1, 1, None, SpanKind::Server, "GET /", 5)],
        )]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    assert_eq!(s.at(T1, CALLS, &with(&GET, &[("job", "api")])), Some(1.0));
    assert_eq!(
        s.at(T1, TARGET_INFO, &[("host_name", "h"), ("job", "api")]),
        Some(1.0)
    );
}

#[test]
fn without_target_info_there_is_no_job_label() {
    let mut g = generator("processors: [span-metrics-count]");
    let res = resource("api", &[("service.namespace", "shop")]);
    g.observe(
        &batch(vec![(
            res,
            vec![span(1, 1, None, SpanKind::Server, "GET /", 5)],
        )]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    assert_eq!(s.at(T1, CALLS, &GET), Some(1.0));
    assert!(s.series_of(TARGET_INFO).is_empty());
}

#[test]
fn span_multiplier_from_an_attribute_scales_counts_and_histograms() {
    let mut g = generator(
        "processors: [span-metrics]
processor:
  span_metrics: {span_multiplier_key: X-SampleRatio}",
    );
    let sp = span(1, 1, None, SpanKind::Server, "GET /", 500).attr("X-SampleRatio", 0.1);
    g.observe(&of("api", vec![sp]), T0);
    // The ratio on the resource applies when the span has none.
    let res = Resource {
        attributes: vec![
            Attribute::new("service.name", "web"),
            Attribute::new("X-SampleRatio", AttrValue::Double(0.5)),
        ],
        dropped_attributes_count: 0,
    };
    g.observe(
        &batch(vec![(
            res,
            vec![span(2, 1, None, SpanKind::Server, "GET /", 5)],
        )]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    let calls = s.at(T1, CALLS, &GET).unwrap_or(f64::NAN);
    assert!((calls - 10.0).abs() < 1e-9, "{calls}");
    let count = s.at(T1, COUNT, &GET).unwrap_or(f64::NAN);
    assert!((count - 10.0).abs() < 1e-9, "{count}");
    let sum = s.at(T1, SUM, &GET).unwrap_or(f64::NAN);
    assert!((sum - 5.0).abs() < 1e-9, "{sum}");
    let web = [
        ("service", "web"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("span_name", "GET /"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.at(T1, CALLS, &web), Some(2.0));
    // Size is bytes received, never multiplied.
    let one = span(1, 1, None, SpanKind::Server, "GET /", 500).attr("X-SampleRatio", 0.1);
    let size = s.at(T1, SIZE, &GET).unwrap_or(f64::NAN);
    assert!(size > 0.0 && size < 200.0, "{size} for {one:?}");
}

#[test]
fn span_multiplier_from_the_tracestate_threshold() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics: {enable_tracestate_span_multiplier: true}",
    );
    let mut sp = span(1, 1, None, SpanKind::Server, "GET /", 5);
    // th:c rejects 3/4 of the traces: each kept one stands for 4.
    sp.trace_state = "ot=th:c".into();
    let mut plain = span(2, 1, None, SpanKind::Server, "GET /", 5);
    plain.trace_state = "vendor=1".into();
    g.observe(&of("api", vec![sp, plain]), T0);
    assert_eq!(Scrape(g.collect(T1)).at(T1, CALLS, &GET), Some(5.0));
}

#[test]
fn idle_series_expire_after_stale_duration_and_restart_from_zero() {
    let mut g = generator("processors: [span-metrics-count]\nstale_duration: 1m");
    g.observe(
        &of("api", vec![span(1, 1, None, SpanKind::Server, "GET /", 5)]),
        0,
    );
    g.observe(
        &of("api", vec![span(1, 2, None, SpanKind::Client, "SELECT", 5)]),
        50_000,
    );
    let s = Scrape(g.collect(70_000));
    assert_eq!(s.get(CALLS, &GET), None, "idle for 70 s > 1m");
    assert!(s.series_of(CALLS).len() == 1);
    g.observe(
        &of("api", vec![span(2, 1, None, SpanKind::Server, "GET /", 5)]),
        80_000,
    );
    let s = Scrape(g.collect(90_000));
    assert_eq!(
        s.at(59_000, CALLS, &GET),
        Some(0.0),
        "a new life starts at 0"
    );
    assert_eq!(s.at(90_000, CALLS, &GET), Some(1.0));
}

#[test]
fn external_labels_go_on_every_series() {
    let mut g = generator("processors: [span-metrics]\nexternal_labels: {cluster: eu}");
    g.observe(
        &of("api", vec![span(1, 1, None, SpanKind::Server, "GET /", 5)]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    assert!(!s.0.is_empty());
    assert!(s.0.iter().all(|(l, _)| l.get("cluster") == Some("eu")));
}

#[test]
fn a_resource_without_service_name_has_no_service_label() {
    let mut g = generator("processors: [span-metrics-count]");
    g.observe(
        &of("", vec![span(1, 1, None, SpanKind::Internal, "work", 5)]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    let want = [
        ("span_kind", "SPAN_KIND_INTERNAL"),
        ("span_name", "work"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.at(T1, CALLS, &want), Some(1.0));
}

#[test]
fn custom_buckets_and_no_processors() {
    let mut g = generator(
        "processors: [span-metrics-latency]
processor:
  span_metrics: {histogram_buckets: [0.5, 1]}",
    );
    g.observe(
        &of(
            "api",
            vec![span(1, 1, None, SpanKind::Server, "GET /", 500)],
        ),
        T0,
    );
    let s = Scrape(g.collect(T1));
    // 0.5 s is in the 0.5 bucket: `le` is inclusive.
    assert_eq!(s.at(T1, BUCKET, &with(&GET, &[("le", "0.5")])), Some(1.0));
    assert_eq!(s.at(T1, BUCKET, &with(&GET, &[("le", "1")])), Some(1.0));
    assert_eq!(s.series_of(BUCKET).len(), 3);
    assert!(s.series_of(CALLS).is_empty());

    let mut idle = generator("{}");
    assert!(!idle.is_active());
    idle.observe(
        &of("api", vec![span(1, 1, None, SpanKind::Server, "GET /", 5)]),
        T0,
    );
    assert!(idle.collect(T1).is_empty());
}

#[test]
fn latency_buckets_carry_the_last_trace_as_exemplar() {
    let mut g = generator("processors: [span-metrics-latency]");
    g.observe(
        &of(
            "api",
            vec![
                span(7, 1, None, SpanKind::Server, "GET /", 10),
                span(8, 1, None, SpanKind::Server, "GET /", 12),
            ],
        ),
        T0,
    );
    let c = g.collect_with_exemplars(T1);
    // Both land in le=0.016; the later one is the exemplar. No other bucket has one.
    assert_eq!(c.exemplars.len(), 1, "{:?}", c.exemplars);
    let e = &c.exemplars[0];
    assert_eq!(
        e.series,
        spans::series(BUCKET, &with(&GET, &[("le", "0.016")]))
    );
    assert_eq!(e.labels.get("traceID"), Some("08".repeat(16).as_str()));
    assert!((e.value - 0.012).abs() < 1e-12);
    assert_eq!(e.t, T1);
    assert!(g.collect_with_exemplars(T1 + 15_000).exemplars.is_empty());
}

#[test]
fn max_active_series_refuses_new_series_and_counts_them() {
    let mut g = generator("processors: [span-metrics-count]\nmax_active_series: 2");
    let names = ["a", "b", "c"];
    let spans = names
        .iter()
        .map(|n| span(1, 1, None, SpanKind::Server, n, 5))
        .collect();
    g.observe(&of("api", spans), T0);
    // A known series still counts.
    g.observe(
        &of("api", vec![span(1, 2, None, SpanKind::Server, "a", 5)]),
        T0,
    );
    let s = Scrape(g.collect(T1));
    assert_eq!(s.series_of(CALLS).len(), 2);
    let a = [
        ("service", "api"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("span_name", "a"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.at(T1, CALLS, &a), Some(2.0));
    let st = g.stats();
    assert_eq!((st.active_series, st.refused_series, st.spans), (2, 1, 4));
}
