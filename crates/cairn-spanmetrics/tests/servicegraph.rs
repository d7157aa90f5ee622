//! The service graph: pairing in any order and batch, failures, messaging, database and
//! virtual node edges, expiry, limits and dimensions, with the values Tempo's documented
//! semantics give.

#[path = "support/spans.rs"]
mod spans;

use cairn_model::{SpanKind, StatusCode};
use cairn_spanmetrics::{Generator, GeneratorConfig};
use spans::{Scrape, SpanExt, batch, of, resource, span};

const REQ: &str = "traces_service_graph_request_total";
const FAILED: &str = "traces_service_graph_request_failed_total";
const SERVER_BUCKET: &str = "traces_service_graph_request_server_seconds_bucket";
const SERVER_SUM: &str = "traces_service_graph_request_server_seconds_sum";
const CLIENT_BUCKET: &str = "traces_service_graph_request_client_seconds_bucket";
const CLIENT_SUM: &str = "traces_service_graph_request_client_seconds_sum";
const CLIENT_COUNT: &str = "traces_service_graph_request_client_seconds_count";
const MSG_SUM: &str = "traces_service_graph_request_messaging_system_seconds_sum";
const MSG_BUCKET: &str = "traces_service_graph_request_messaging_system_seconds_bucket";
const INFO: &str = "traces_service_graph_connection_info";
const UNPAIRED: &str = "traces_service_graph_unpaired_spans_total";
const DROPPED: &str = "traces_service_graph_dropped_spans_total";

const T0: i64 = 1_000_000;
/// Default `wait` is 10 s.
const AFTER_WAIT: i64 = T0 + 10_000;

fn generator(yaml: &str) -> Generator {
    let cfg: GeneratorConfig = serde_yaml_ng::from_str(yaml).expect("test config parses");
    Generator::new(cfg).expect("test config is valid")
}

const AB: [(&str, &str); 2] = [("client", "a"), ("server", "b")];

fn close(v: Option<f64>, want: f64) -> bool {
    v.is_some_and(|v| (v - want).abs() < 1e-9)
}

#[test]
fn a_client_and_its_server_span_make_one_request() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Client, "call b", 100)],
            ),
            (
                resource("b", &[]),
                vec![span(1, 3, Some(2), SpanKind::Server, "handle", 80)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1_000));
    assert_eq!(s.get(REQ, &AB), Some(1.0));
    assert!(s.series_of(FAILED).is_empty());
    // Default buckets 0.1 doubling to 12.8: 80 ms and 100 ms are both in le=0.1 (inclusive).
    assert_eq!(
        s.get(
            SERVER_BUCKET,
            &[("client", "a"), ("le", "0.1"), ("server", "b")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            CLIENT_BUCKET,
            &[("client", "a"), ("le", "0.1"), ("server", "b")]
        ),
        Some(1.0)
    );
    assert_eq!(s.series_of(CLIENT_BUCKET).len(), 9, "8 buckets and +Inf");
    assert!(close(s.get(SERVER_SUM, &AB), 0.08));
    assert!(close(s.get(CLIENT_SUM, &AB), 0.1));
    assert_eq!(s.get(CLIENT_COUNT, &AB), Some(1.0));
    assert!(s.series_of(UNPAIRED).is_empty());
    let st = g.stats().graph;
    assert_eq!((st.edges, st.completed, st.pending), (1, 1, 0));
}

#[test]
fn halves_pair_across_batches_in_either_order() {
    let mut g = generator("processors: [service-graphs-request]");
    g.observe(
        &of(
            "b",
            vec![span(1, 3, Some(2), SpanKind::Server, "handle", 80)],
        ),
        T0,
    );
    assert_eq!(g.stats().graph.pending, 1);
    assert!(Scrape(g.collect(T0 + 1_000)).series_of(REQ).is_empty());
    g.observe(
        &of(
            "a",
            vec![span(1, 2, Some(1), SpanKind::Client, "call", 100)],
        ),
        T0 + 5_000,
    );
    g.observe(
        &of("a", vec![span(2, 2, None, SpanKind::Client, "call", 100)]),
        T0 + 6_000,
    );
    g.observe(
        &of(
            "b",
            vec![span(2, 9, Some(2), SpanKind::Server, "handle", 80)],
        ),
        T0 + 7_000,
    );
    let s = Scrape(g.collect(T0 + 8_000));
    assert_eq!(s.get(REQ, &AB), Some(2.0));
    assert_eq!(g.stats().graph.pending, 0);
}

#[test]
fn spans_of_different_traces_never_pair() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &of(
            "a",
            vec![span(1, 2, Some(1), SpanKind::Client, "call", 100)],
        ),
        T0,
    );
    g.observe(
        &of(
            "b",
            vec![span(2, 3, Some(2), SpanKind::Server, "handle", 80)],
        ),
        T0,
    );
    let s = Scrape(g.collect(AFTER_WAIT));
    assert!(s.series_of(REQ).is_empty());
    assert_eq!(s.get(UNPAIRED, &[("client", "a")]), Some(1.0));
    assert_eq!(s.get(UNPAIRED, &[("server", "b")]), Some(1.0));
}

#[test]
fn an_error_on_either_side_fails_the_request() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![
                    span(1, 2, Some(1), SpanKind::Client, "call", 100),
                    span(1, 4, Some(1), SpanKind::Client, "call", 100).status(StatusCode::Error),
                ],
            ),
            (
                resource("b", &[]),
                vec![
                    span(1, 3, Some(2), SpanKind::Server, "handle", 80).status(StatusCode::Error),
                    span(1, 5, Some(4), SpanKind::Server, "handle", 80),
                ],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1_000));
    assert_eq!(s.get(REQ, &AB), Some(2.0));
    assert_eq!(s.get(FAILED, &AB), Some(2.0));
}

#[test]
fn producer_and_consumer_go_through_a_messaging_system() {
    let mut g = generator(
        "processors: [service-graphs]
processor:
  service_graphs: {enable_messaging_system_latency_histogram: true}",
    );
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Producer, "send", 100)],
            ),
            (
                resource("b", &[]),
                vec![span(1, 3, Some(2), SpanKind::Consumer, "receive", 30).times(150, 30)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1_000));
    let l = [
        ("client", "a"),
        ("connection_type", "messaging_system"),
        ("server", "b"),
    ];
    assert_eq!(s.get(REQ, &l), Some(1.0));
    // The producer ends at 100 ms, the consumer starts at 150 ms: 50 ms in the queue.
    assert!(close(s.get(MSG_SUM, &l), 0.05));
    let le = [
        ("client", "a"),
        ("connection_type", "messaging_system"),
        ("le", "0.1"),
        ("server", "b"),
    ];
    assert_eq!(s.get(MSG_BUCKET, &le), Some(1.0));
}

#[test]
fn messaging_latency_is_off_by_default() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Producer, "send", 100)],
            ),
            (
                resource("b", &[]),
                vec![span(1, 3, Some(2), SpanKind::Consumer, "recv", 30).times(150, 30)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1_000));
    assert!(s.series_of(MSG_SUM).is_empty());
}

#[test]
fn a_database_call_is_an_edge_at_once_named_by_the_best_attribute() {
    let mut g = generator("processors: [service-graphs]");
    let db = |id: u8| span(1, id, Some(1), SpanKind::Client, "query", 40);
    g.observe(
        &of(
            "a",
            vec![
                db(2).attr("db.system", "postgresql"),
                db(3)
                    .attr("db.system", "postgresql")
                    .attr("db.name", "orders"),
                db(4)
                    .attr("db.name", "orders")
                    .attr("peer.service", "pg-main"),
                db(5)
                    .attr("db.system", "mysql")
                    .attr("server.address", "db.local"),
                db(6)
                    .attr("db.namespace", "inventory")
                    .attr("network.peer.address", "10.0.0.1")
                    .attr("network.peer.port", 5432i64),
                db(7)
                    .attr("db.system", "redis")
                    .attr("network.peer.address", "10.0.0.2"),
            ],
        ),
        T0,
    );
    // Well within `wait`: database edges need no server span.
    let s = Scrape(g.collect(T0 + 1));
    let db_edge = |server| {
        [
            ("client", "a"),
            ("connection_type", "database"),
            ("server", server),
        ]
    };
    for server in [
        "postgresql",
        "orders",
        "pg-main",
        "db.local",
        "10.0.0.1:5432",
        "10.0.0.2",
    ] {
        assert_eq!(s.get(REQ, &db_edge(server)), Some(1.0), "{server}");
    }
    assert_eq!(s.series_of(REQ).len(), 6);
    // Both latencies are the client's.
    assert!(close(s.get(SERVER_SUM, &db_edge("orders")), 0.04));
    assert!(close(s.get(CLIENT_SUM, &db_edge("orders")), 0.04));
    assert_eq!(g.stats().graph.pending, 0);
}

#[test]
fn a_root_server_span_without_client_is_called_by_user_or_its_peer() {
    let mut g = generator(
        "processors: [service-graphs]
processor:
  service_graphs: {enable_virtual_node_label: true}",
    );
    g.observe(
        &of(
            "b",
            vec![
                span(1, 1, None, SpanKind::Server, "GET /", 80),
                span(2, 1, None, SpanKind::Server, "GET /", 80).attr("peer.service", "frontend"),
            ],
        ),
        T0,
    );
    let s = Scrape(g.collect(AFTER_WAIT - 1));
    assert!(s.series_of(REQ).is_empty(), "still waiting for a client");
    let s = Scrape(g.collect(AFTER_WAIT));
    let edge = |client| {
        [
            ("client", client),
            ("connection_type", "virtual_node"),
            ("server", "b"),
            ("virtual_node", "client"),
        ]
    };
    assert_eq!(s.get(REQ, &edge("user")), Some(1.0));
    assert_eq!(s.get(REQ, &edge("frontend")), Some(1.0));
    assert!(s.series_of(UNPAIRED).is_empty());
}

#[test]
fn a_client_span_naming_its_peer_makes_a_virtual_server() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &of(
            "a",
            vec![
                span(1, 2, Some(1), SpanKind::Client, "charge", 300)
                    .attr("peer.service", "payments"),
            ],
        ),
        T0,
    );
    let s = Scrape(g.collect(AFTER_WAIT));
    let l = [
        ("client", "a"),
        ("connection_type", "virtual_node"),
        ("server", "payments"),
    ];
    assert_eq!(s.get(REQ, &l), Some(1.0));
    // Without the label option there is no `virtual_node` label.
    assert!(
        s.series_of(REQ)
            .iter()
            .all(|l| l.get("virtual_node").is_none())
    );
}

#[test]
fn halves_without_pair_or_peer_are_unpaired_after_wait() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![
                    span(1, 2, Some(1), SpanKind::Client, "call", 100),
                    span(2, 2, Some(1), SpanKind::Producer, "send", 100),
                ],
            ),
            (
                resource("b", &[]),
                vec![span(3, 3, Some(9), SpanKind::Server, "handle", 80)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(AFTER_WAIT - 1));
    assert!(s.series_of(UNPAIRED).is_empty());
    assert_eq!(g.stats().graph.pending, 3);
    let s = Scrape(g.collect(AFTER_WAIT));
    assert_eq!(s.get(UNPAIRED, &[("client", "a")]), Some(1.0));
    assert_eq!(
        s.get(
            UNPAIRED,
            &[("client", "a"), ("connection_type", "messaging_system")]
        ),
        Some(1.0)
    );
    assert_eq!(s.get(UNPAIRED, &[("server", "b")]), Some(1.0));
    assert!(s.series_of(REQ).is_empty());
    let st = g.stats().graph;
    assert_eq!((st.unpaired, st.pending), (3, 0));
    // A late server span finds nothing to pair with: it waits in its turn.
    g.observe(
        &of("b", vec![span(1, 3, Some(2), SpanKind::Server, "h", 80)]),
        AFTER_WAIT + 1,
    );
    assert_eq!(g.stats().graph.pending, 1);
}

#[test]
fn spans_beyond_max_items_are_dropped() {
    let mut g = generator(
        "processors: [service-graphs]
processor:
  service_graphs: {max_items: 1}",
    );
    g.observe(
        &of(
            "a",
            vec![
                span(1, 2, Some(1), SpanKind::Client, "call", 100),
                span(2, 2, Some(1), SpanKind::Client, "call", 100),
            ],
        ),
        T0,
    );
    // A span completing a waiting edge is never dropped.
    g.observe(
        &of("b", vec![span(1, 3, Some(2), SpanKind::Server, "h", 80)]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1));
    assert_eq!(s.get(DROPPED, &[("client", "a")]), Some(1.0));
    assert_eq!(s.get(REQ, &AB), Some(1.0));
    assert_eq!(g.stats().graph.dropped_spans, 1);
}

#[test]
fn dimensions_come_from_either_side_or_both_with_prefixes() {
    let pair = |env_a: &str, env_b: &str| {
        batch(vec![
            (
                resource("a", &[("env", env_a)]),
                vec![span(1, 2, Some(1), SpanKind::Client, "c", 100)],
            ),
            (
                resource("b", &[("env", env_b)]),
                vec![span(1, 3, Some(2), SpanKind::Server, "s", 80)],
            ),
        ])
    };
    let mut g = generator(
        "processors: [service-graphs-request]
processor:
  service_graphs: {dimensions: [env], enable_client_server_prefix: true}",
    );
    g.observe(&pair("prod", "staging"), T0);
    let s = Scrape(g.collect(T0 + 1));
    let l = [
        ("client", "a"),
        ("client_env", "prod"),
        ("server", "b"),
        ("server_env", "staging"),
    ];
    assert_eq!(s.get(REQ, &l), Some(1.0));

    let mut g = generator(
        "processors: [service-graphs-request]
processor:
  service_graphs: {dimensions: [env]}",
    );
    g.observe(&pair("prod", "prod"), T0);
    let s = Scrape(g.collect(T0 + 1));
    assert_eq!(
        s.get(REQ, &[("client", "a"), ("env", "prod"), ("server", "b")]),
        Some(1.0)
    );
}

#[test]
fn span_multiplier_scales_edges() {
    let mut g = generator(
        "processors: [service-graphs-request]
processor:
  service_graphs: {span_multiplier_key: ratio}",
    );
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Client, "c", 100).attr("ratio", 0.25)],
            ),
            (
                resource("b", &[]),
                vec![span(1, 3, Some(2), SpanKind::Server, "s", 80).attr("ratio", 0.25)],
            ),
        ]),
        T0,
    );
    assert_eq!(Scrape(g.collect(T0 + 1)).get(REQ, &AB), Some(4.0));
}

#[test]
fn internal_spans_and_nameless_services_stay_out_of_the_graph() {
    let mut g = generator("processors: [service-graphs]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Internal, "work", 1)],
            ),
            (
                resource("", &[]),
                vec![span(1, 3, Some(1), SpanKind::Client, "call", 1)],
            ),
        ]),
        T0,
    );
    assert_eq!(g.stats().graph.pending, 0);
    assert!(g.collect(AFTER_WAIT).is_empty());
}

#[test]
fn connection_info_alone() {
    let mut g = generator("processors: [service-graphs-connection-info]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(1, 2, Some(1), SpanKind::Client, "c", 100)],
            ),
            (
                resource("b", &[]),
                vec![span(1, 3, Some(2), SpanKind::Server, "s", 80)],
            ),
        ]),
        T0,
    );
    let s = Scrape(g.collect(T0 + 1));
    assert_eq!(s.names(), vec![INFO.to_string()]);
    assert_eq!(s.get(INFO, &AB), Some(1.0));
}

#[test]
fn edge_latencies_carry_the_trace_as_exemplar() {
    let mut g = generator("processors: [service-graphs-latency]");
    g.observe(
        &batch(vec![
            (
                resource("a", &[]),
                vec![span(5, 2, Some(1), SpanKind::Client, "c", 300)],
            ),
            (
                resource("b", &[]),
                vec![span(5, 3, Some(2), SpanKind::Server, "s", 250)],
            ),
        ]),
        T0,
    );
    let c = g.collect_with_exemplars(T0 + 1);
    let mut got: Vec<(String, String, String)> = c
        .exemplars
        .iter()
        .map(|e| {
            (
                e.series.metric_name().unwrap_or_default().to_string(),
                e.series.get("le").unwrap_or_default().to_string(),
                e.labels.get("traceID").unwrap_or_default().to_string(),
            )
        })
        .collect();
    got.sort();
    let trace = "05".repeat(16);
    assert_eq!(
        got,
        vec![
            (CLIENT_BUCKET.to_string(), "0.4".to_string(), trace.clone()),
            (SERVER_BUCKET.to_string(), "0.4".to_string(), trace),
        ]
    );
}
