//! Filter policies, with the examples and rules of Tempo's documentation.

#[path = "support/spans.rs"]
mod spans;

use cairn_model::{SpanKind, StatusCode};
use cairn_spanmetrics::{Error, Generator, GeneratorConfig};
use spans::{Scrape, SpanExt, batch, of, resource, span};

const CALLS: &str = "traces_spanmetrics_calls_total";
const REQ: &str = "traces_service_graph_request_total";
const UNPAIRED: &str = "traces_service_graph_unpaired_spans_total";
const T0: i64 = 1_000_000;

fn generator(yaml: &str) -> Generator {
    let cfg: GeneratorConfig = serde_yaml_ng::from_str(yaml).expect("test config parses");
    Generator::new(cfg).expect("test config is valid")
}

/// The services counted, sorted, with their span names.
fn counted(g: &mut Generator) -> Vec<(String, String)> {
    let s = Scrape(g.collect(T0 + 1));
    let mut v: Vec<(String, String)> = s
        .series_of(CALLS)
        .iter()
        .map(|l| {
            (
                l.get("service").unwrap_or_default().to_string(),
                l.get("span_name").unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn include_by_kind() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    filter_policies:
      - include:
          match_type: strict
          attributes:
            - {key: kind, value: SPAN_KIND_SERVER}",
    );
    g.observe(
        &of(
            "api",
            vec![
                span(1, 1, None, SpanKind::Server, "in", 1),
                span(1, 2, Some(1), SpanKind::Internal, "out", 1),
            ],
        ),
        T0,
    );
    assert_eq!(counted(&mut g), vec![("api".into(), "in".into())]);
    assert_eq!(g.stats().filtered_spans, 1);
}

#[test]
fn include_include_any_and_exclude_together() {
    // Tempo's documented example: EU production spans, plus internal spans of auth-service,
    // never dev tiers.
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    filter_policies:
      - include:
          match_type: regex
          attributes:
            - {key: resource.location, value: eu-.*}
      - include_any:
          match_type: strict
          attributes:
            - {key: kind, value: SPAN_KIND_INTERNAL}
            - {key: resource.service.name, value: auth-service}
      - exclude:
          match_type: regex
          attributes:
            - {key: resource.tier, value: dev-.*}",
    );
    let group = |svc: &str, loc: &str, tier: &str, kind, name: &str| {
        (
            resource(svc, &[("location", loc), ("tier", tier)]),
            vec![span(1, 1, None, kind, name, 1)],
        )
    };
    g.observe(
        &batch(vec![
            group("api", "eu-west", "prod", SpanKind::Server, "eu server"),
            group(
                "auth-service",
                "us-east",
                "prod",
                SpanKind::Internal,
                "auth internal",
            ),
            group("api", "us-east", "prod", SpanKind::Internal, "us internal"),
            group("api", "eu-west", "dev-1", SpanKind::Server, "eu dev"),
            group(
                "auth-service",
                "us-east",
                "dev-2",
                SpanKind::Internal,
                "auth dev",
            ),
            group(
                "auth-service",
                "us-east",
                "prod",
                SpanKind::Server,
                "auth server",
            ),
        ]),
        T0,
    );
    assert_eq!(
        counted(&mut g),
        vec![
            ("api".into(), "eu server".into()),
            ("auth-service".into(), "auth internal".into())
        ]
    );
    assert_eq!(g.stats().filtered_spans, 4);
}

#[test]
fn include_any_alone_keeps_only_its_matches() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    filter_policies:
      - include_any:
          match_type: regex
          attributes: [{key: status, value: STATUS_CODE_(ERROR|OK)}]",
    );
    g.observe(
        &of(
            "api",
            vec![
                span(1, 1, None, SpanKind::Server, "err", 1).status(StatusCode::Error),
                span(1, 2, None, SpanKind::Server, "ok", 1).status(StatusCode::Ok),
                span(1, 3, None, SpanKind::Server, "unset", 1),
            ],
        ),
        T0,
    );
    assert_eq!(
        counted(&mut g),
        vec![("api".into(), "err".into()), ("api".into(), "ok".into())]
    );
}

#[test]
fn strict_values_compare_with_their_yaml_type() {
    let mut g = generator(
        "processors: [span-metrics-count]
processor:
  span_metrics:
    filter_policies:
      - include:
          match_type: strict
          attributes:
            - {key: span.http.status_code, value: 500}
            - {key: span.retry, value: true}
            - {key: name, value: GET}",
    );
    g.observe(
        &of(
            "api",
            vec![
                span(1, 1, None, SpanKind::Server, "GET", 1)
                    .attr("http.status_code", 500i64)
                    .attr("retry", true),
                // A string "500" is not the int 500.
                span(1, 2, None, SpanKind::Server, "GET", 1)
                    .attr("http.status_code", "500")
                    .attr("retry", true),
                span(1, 3, None, SpanKind::Client, "GET", 1).attr("http.status_code", 500i64),
            ],
        ),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1));
    let l = [
        ("service", "api"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("span_name", "GET"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(s.get(CALLS, &l), Some(1.0));
    assert_eq!(s.series_of(CALLS).len(), 1);
}

#[test]
fn a_filtered_half_drops_its_other_half_in_either_order() {
    let mut g = generator(
        "processors: [service-graphs]
processor:
  service_graphs:
    filter_policies:
      - exclude:
          match_type: strict
          attributes: [{key: resource.service.name, value: b}]",
    );
    // Client first, then its filtered server: the waiting client is dropped at once.
    g.observe(
        &of("a", vec![span(1, 2, Some(1), SpanKind::Client, "c", 1)]),
        T0,
    );
    g.observe(
        &of("b", vec![span(1, 3, Some(2), SpanKind::Server, "s", 1)]),
        T0,
    );
    // Filtered server first, then its client: the client is refused.
    g.observe(
        &of("b", vec![span(2, 3, Some(2), SpanKind::Server, "s", 1)]),
        T0,
    );
    g.observe(
        &of("a", vec![span(2, 2, Some(1), SpanKind::Client, "c", 1)]),
        T0,
    );
    // A client of c is not concerned.
    g.observe(
        &of("a", vec![span(3, 2, Some(1), SpanKind::Client, "c", 1)]),
        T0,
    );
    g.observe(
        &of("c", vec![span(3, 3, Some(2), SpanKind::Server, "s", 1)]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 20_000));
    assert_eq!(s.series_of(REQ).len(), 1);
    assert_eq!(s.get(REQ, &[("client", "a"), ("server", "c")]), Some(1.0));
    assert!(
        s.series_of(UNPAIRED).is_empty(),
        "dropped halves are not unpaired"
    );
    let st = g.stats().graph;
    assert_eq!((st.filtered_spans, st.dropped_edges), (2, 2));
}

#[test]
fn invalid_policies_are_refused_with_their_position() {
    let refused = |yaml: &str| -> String {
        let cfg: GeneratorConfig = serde_yaml_ng::from_str(yaml).expect("parses");
        match Generator::new(cfg) {
            Err(e @ Error::FilterPolicy { .. }) => e.to_string(),
            Err(e) => panic!("other error {e}"),
            Ok(_) => panic!("accepted {yaml}"),
        }
    };
    let e = refused("processor: {span_metrics: {filter_policies: [{}]}}");
    assert_eq!(
        e,
        "span_metrics.filter_policies[0]: a policy needs include, include_any or exclude"
    );
    let e = refused(
        "processor: {service_graphs: {filter_policies: [{exclude: {match_type: regex, attributes: [{key: name, value: \"(\"}]}}]}}",
    );
    assert!(
        e.starts_with("service_graphs.filter_policies[0]: exclude: invalid regex"),
        "{e}"
    );
    let e = refused(
        "processor: {span_metrics: {filter_policies: [{include: {attributes: [{key: status, value: ERROR}]}}]}}",
    );
    assert!(e.contains("unsupported status value \"ERROR\""), "{e}");
    let e = refused(
        "processor: {span_metrics: {filter_policies: [{include: {attributes: [{key: event.name, value: x}]}}]}}",
    );
    assert!(e.contains("unsupported key \"event.name\""), "{e}");
    let bad_type: Result<GeneratorConfig, _> = serde_yaml_ng::from_str(
        "processor: {span_metrics: {filter_policies: [{include: {match_type: glob}}]}}",
    );
    assert!(bad_type.is_err());
}
