//! The service graph processor: a request between two services is a client (or producer)
//! span and the server (or consumer) span whose parent it is. Each half waits in the
//! [`EdgeStore`] under the key (trace id, client span id) until the other half arrives, in any
//! order and any batch, or until `wait` passes; then the edge is counted
//! (`traces_service_graph_request_total{client, server, connection_type}` and friends).
//!
//! As in Tempo: a client span carrying a database attribute is a complete edge by itself
//! (`connection_type="database"`); a half that expires may still make an edge to a *virtual
//! node* (a root server span called by `user` or by the peer its attributes name; a client
//! span whose peer attributes name the server); other expired halves count in
//! `traces_service_graph_unpaired_spans_total`, and halves refused because `max_items` edges
//! are waiting in `traces_service_graph_dropped_spans_total`.

mod store;

use std::collections::BTreeMap;

use cairn_model::{Attribute, LabelsBuilder, Resource, Span, SpanKind, StatusCode, TraceBatch};

use crate::config::{Enabled, ServiceGraphConfig, compile_filter};
use crate::filter::SpanFilter;
use crate::names::{
    DIM_VIRTUAL_NODE, GRAPH_CLIENT_SECONDS, GRAPH_CONNECTION_INFO, GRAPH_DROPPED_SPANS_TOTAL,
    GRAPH_MESSAGING_SECONDS, GRAPH_REQUEST_FAILED_TOTAL, GRAPH_REQUEST_TOTAL, GRAPH_SERVER_SECONDS,
    GRAPH_UNPAIRED_SPANS_TOTAL, find_value, sanitize_label_name, span_multiplier,
};
use crate::registry::{CounterVec, Family, GaugeVec, HistogramVec, SeriesCtx};
use store::{Edge, EdgeKey, EdgeStore, Side, Upsert};

/// How two nodes talk, the `connection_type` label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ConnectionType {
    /// A direct call (the label is left out).
    #[default]
    Unset,
    /// Through a message queue (producer and consumer spans).
    MessagingSystem,
    /// A database call, known from the client span's attributes.
    Database,
    /// One side is not instrumented.
    VirtualNode,
}

impl ConnectionType {
    fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Unset => "",
            ConnectionType::MessagingSystem => "messaging_system",
            ConnectionType::Database => "database",
            ConnectionType::VirtualNode => "virtual_node",
        }
    }
}

/// One configured dimension: the attribute it reads and the labels it writes.
struct Dimension {
    /// The attribute name.
    name: String,
    /// The label without prefixes.
    label: String,
    /// Key in an edge's dimensions for the client side's value.
    client_key: String,
    /// Label for the client side's value.
    client_label: String,
    /// Key in an edge's dimensions for the server side's value.
    server_key: String,
    /// Label for the server side's value.
    server_label: String,
}

/// What the processor has done since it started, for self-monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Edges created (a first half stored, or a database call completed at once).
    pub edges: u64,
    /// Edges counted as requests (paired, database or virtual node).
    pub completed: u64,
    /// Halves that expired without a pair and made no virtual node edge.
    pub unpaired: u64,
    /// Spans refused because `max_items` edges were waiting.
    pub dropped_spans: u64,
    /// Halves waiting now.
    pub pending: usize,
    /// Spans the filter policies left out.
    pub filtered_spans: u64,
    /// Halves dropped because their other half was filtered out.
    pub dropped_edges: u64,
}

pub(crate) struct ServiceGraph {
    cfg: ServiceGraphConfig,
    filter: SpanFilter,
    store: EdgeStore,
    metrics: GraphMetrics,
}

/// The series, apart from the store so that completing an edge can borrow both.
struct GraphMetrics {
    cfg: ServiceGraphConfig,
    dimensions: Vec<Dimension>,
    request_total: Option<CounterVec>,
    request_failed_total: Option<CounterVec>,
    server_seconds: Option<HistogramVec>,
    client_seconds: Option<HistogramVec>,
    messaging_seconds: Option<HistogramVec>,
    connection_info: Option<GaugeVec>,
    unpaired: CounterVec,
    dropped: CounterVec,
    stats: GraphStats,
}

fn is_client(kind: SpanKind) -> bool {
    matches!(kind, SpanKind::Client | SpanKind::Producer)
}

fn is_server(kind: SpanKind) -> bool {
    matches!(kind, SpanKind::Server | SpanKind::Consumer)
}

fn seconds_between(start_ns: u64, end_ns: u64) -> f64 {
    end_ns.saturating_sub(start_ns) as f64 / 1e9
}

impl ServiceGraph {
    /// The processor for a validated `cfg`.
    pub(crate) fn new(cfg: &ServiceGraphConfig, enabled: &Enabled) -> crate::Result<Self> {
        let mut names = cfg.dimensions.clone();
        if cfg.enable_virtual_node_label {
            names.push(DIM_VIRTUAL_NODE.to_string());
        }
        let dimensions = names
            .into_iter()
            .map(|name| {
                let label = sanitize_label_name(&name);
                let (client_key, server_key) = if cfg.enable_client_server_prefix {
                    (format!("client_{name}"), format!("server_{name}"))
                } else {
                    (name.clone(), name.clone())
                };
                Dimension {
                    client_label: sanitize_label_name(&client_key),
                    server_label: sanitize_label_name(&server_key),
                    client_key,
                    server_key,
                    label,
                    name,
                }
            })
            .collect();
        let hist = |name| HistogramVec::new(name, &cfg.histogram_buckets);
        let latency = enabled.graph_latency;
        Ok(ServiceGraph {
            filter: compile_filter("service_graphs.filter_policies", &cfg.filter_policies)?,
            store: EdgeStore::new(cfg.wait.as_millis() as i64, cfg.max_items),
            metrics: GraphMetrics {
                dimensions,
                request_total: enabled
                    .graph_request
                    .then(|| CounterVec::new(GRAPH_REQUEST_TOTAL)),
                request_failed_total: enabled
                    .graph_request
                    .then(|| CounterVec::new(GRAPH_REQUEST_FAILED_TOTAL)),
                server_seconds: latency.then(|| hist(GRAPH_SERVER_SECONDS)),
                client_seconds: latency.then(|| hist(GRAPH_CLIENT_SECONDS)),
                messaging_seconds: (latency && cfg.enable_messaging_system_latency_histogram)
                    .then(|| hist(GRAPH_MESSAGING_SECONDS)),
                connection_info: enabled
                    .graph_connection_info
                    .then(|| GaugeVec::new(GRAPH_CONNECTION_INFO)),
                unpaired: CounterVec::new(GRAPH_UNPAIRED_SPANS_TOTAL),
                dropped: CounterVec::new(GRAPH_DROPPED_SPANS_TOTAL),
                stats: GraphStats::default(),
                cfg: cfg.clone(),
            },
            cfg: cfg.clone(),
        })
    }

    pub(crate) fn observe(&mut self, batch: &TraceBatch, now_ms: i64, ctx: &mut SeriesCtx) {
        self.expire(now_ms, ctx);
        for rs in &batch.resources {
            // Without a service name a span cannot be a node of the graph.
            let Some(service) = find_value("service.name", &[&rs.resource.attributes]) else {
                continue;
            };
            for span in rs.scopes.iter().flat_map(|s| &s.spans) {
                if is_client(span.kind) || is_server(span.kind) {
                    self.observe_span(&rs.resource, span, &service, now_ms, ctx);
                }
            }
        }
        self.metrics.stats.pending = self.store.len();
    }

    fn observe_span(
        &mut self,
        resource: &Resource,
        span: &Span,
        service: &str,
        now_ms: i64,
        ctx: &mut SeriesCtx,
    ) {
        let client = is_client(span.kind);
        let side = if client { Side::Client } else { Side::Server };
        if !self.filter.accepts(resource, span) {
            self.metrics.stats.filtered_spans += 1;
            let key = if client {
                Some(EdgeKey {
                    trace: span.trace_id,
                    span: Some(span.span_id),
                })
            } else {
                // A root server span has no client half to drop.
                span.parent_span_id.map(|p| EdgeKey {
                    trace: span.trace_id,
                    span: Some(p),
                })
            };
            if let Some(key) = key
                && self.store.drop_side(key, side, now_ms)
            {
                self.metrics.stats.dropped_edges += 1;
            }
            self.metrics.stats.pending = self.store.len();
            return;
        }
        let cfg = &self.cfg;
        let messaging = matches!(span.kind, SpanKind::Producer | SpanKind::Consumer);
        let connection_type = if messaging {
            ConnectionType::MessagingSystem
        } else {
            ConnectionType::Unset
        };
        let multiplier = span_multiplier(
            &cfg.span_multiplier_key,
            cfg.enable_tracestate_span_multiplier,
            span,
            resource,
        );
        let failed = span.status.code == StatusCode::Error;
        let metrics = &mut self.metrics;
        let key = if client {
            EdgeKey {
                trace: span.trace_id,
                span: Some(span.span_id),
            }
        } else {
            EdgeKey {
                trace: span.trace_id,
                span: span.parent_span_id,
            }
        };
        let outcome = self.store.upsert(key, side, now_ms, |e: &mut Edge| {
            e.kind = span.kind;
            e.connection_type = connection_type;
            e.failed |= failed;
            e.multiplier = multiplier;
            if client {
                e.client_service = service.to_string();
                e.client_latency_s = seconds_between(span.start_ns, span.end_ns);
                e.client_end_ns = span.end_ns;
            } else {
                e.server_service = service.to_string();
                e.server_latency_s = seconds_between(span.start_ns, span.end_ns);
                e.server_start_ns = span.start_ns;
            }
            metrics.upsert_dimensions(client, &mut e.dimensions, resource, span);
            // A span without peer attributes keeps what the other half said.
            if let Some(peer) = find_peer(&cfg.peer_attributes, &span.attributes) {
                e.peer_node = peer;
            }
            if client {
                upsert_database_request(e, &cfg.database_name_attributes, resource, span);
            }
        });
        match outcome {
            Upsert::Complete(edge, created) => {
                if created {
                    metrics.stats.edges += 1;
                }
                metrics.complete(&edge, now_ms, ctx);
            }
            Upsert::Stored => metrics.stats.edges += 1,
            Upsert::Updated => {}
            Upsert::CounterpartDropped => metrics.stats.dropped_edges += 1,
            Upsert::Full => {
                let mut b = LabelsBuilder::default();
                b.set(if client { "client" } else { "server" }, service);
                b.set("connection_type", connection_type.as_str());
                metrics.dropped.inc(b.build(), 1.0, now_ms, ctx);
                metrics.stats.dropped_spans += 1;
            }
        }
    }

    /// Ends the wait of every half stored `wait` or longer before `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: i64, ctx: &mut SeriesCtx) {
        for edge in self.store.expire(now_ms) {
            self.metrics.expire(edge, now_ms, ctx);
        }
        self.metrics.stats.pending = self.store.len();
    }

    pub(crate) fn stats(&self) -> GraphStats {
        self.metrics.stats
    }

    pub(crate) fn families(&mut self) -> Vec<Family<'_>> {
        let m = &mut self.metrics;
        let mut out = Vec::new();
        for c in [&mut m.request_total, &mut m.request_failed_total]
            .into_iter()
            .flatten()
        {
            out.push(Family::Counter(c));
        }
        for h in [
            &mut m.server_seconds,
            &mut m.client_seconds,
            &mut m.messaging_seconds,
        ]
        .into_iter()
        .flatten()
        {
            out.push(Family::Histogram(h));
        }
        if let Some(g) = &mut m.connection_info {
            out.push(Family::Gauge(g));
        }
        out.push(Family::Counter(&mut m.unpaired));
        out.push(Family::Counter(&mut m.dropped));
        out
    }
}

/// The first of `keys` among the span's attributes: the name of an uninstrumented peer.
fn find_peer(keys: &[String], attrs: &[Attribute]) -> Option<String> {
    keys.iter().find_map(|k| find_value(k, &[attrs]))
}

/// A client span with a database attribute is a complete edge to the database: the server
/// is named by `peer.service`, `server.address`, `network.peer.address[:port]`, or the
/// database attribute, in that order, and both latencies are the client's.
fn upsert_database_request(e: &mut Edge, db_keys: &[String], resource: &Resource, span: &Span) {
    let lists: [&[Attribute]; 2] = [&resource.attributes, &span.attributes];
    let Some(db_name) = db_keys.iter().find_map(|k| find_value(k, &lists)) else {
        return;
    };
    e.connection_type = ConnectionType::Database;
    e.server_latency_s = seconds_between(span.start_ns, span.end_ns);
    e.server_service = if let Some(v) = find_value("peer.service", &lists) {
        v
    } else if let Some(v) = find_value("server.address", &lists) {
        v
    } else if let Some(host) = find_value("network.peer.address", &lists) {
        match find_value("network.peer.port", &lists) {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    } else {
        db_name
    };
}

impl GraphMetrics {
    fn upsert_dimensions(
        &self,
        client: bool,
        dims: &mut BTreeMap<String, String>,
        resource: &Resource,
        span: &Span,
    ) {
        for d in &self.dimensions {
            if let Some(v) = find_value(&d.name, &[&resource.attributes, &span.attributes]) {
                let key = if client { &d.client_key } else { &d.server_key };
                dims.insert(key.clone(), v);
            }
        }
    }

    /// Counts a request between the edge's two nodes.
    fn complete(&mut self, e: &Edge, now_ms: i64, ctx: &mut SeriesCtx) {
        let mut b = LabelsBuilder::default();
        b.set("client", &e.client_service);
        b.set("server", &e.server_service);
        b.set("connection_type", e.connection_type.as_str());
        let get = |k: &str| e.dimensions.get(k).map_or("", String::as_str);
        for d in &self.dimensions {
            if self.cfg.enable_client_server_prefix {
                if self.cfg.enable_virtual_node_label && d.name == DIM_VIRTUAL_NODE {
                    b.set(DIM_VIRTUAL_NODE, get(&d.name));
                    continue;
                }
                b.set(&d.client_label, get(&d.client_key));
                b.set(&d.server_label, get(&d.server_key));
            } else {
                b.set(&d.label, get(&d.name));
            }
        }
        let labels = b.build();
        let w = e.multiplier;
        if let Some(c) = &mut self.request_total {
            c.inc(labels.clone(), w, now_ms, ctx);
        }
        if let Some(c) = &mut self.request_failed_total
            && e.failed
        {
            c.inc(labels.clone(), w, now_ms, ctx);
        }
        if let Some(h) = &mut self.server_seconds {
            h.observe(
                labels.clone(),
                e.server_latency_s,
                w,
                Some(e.trace),
                now_ms,
                ctx,
            );
        }
        if let Some(h) = &mut self.client_seconds {
            h.observe(
                labels.clone(),
                e.client_latency_s,
                w,
                Some(e.trace),
                now_ms,
                ctx,
            );
        }
        if let Some(h) = &mut self.messaging_seconds
            && e.connection_type == ConnectionType::MessagingSystem
        {
            // A consumer starting before its producer ended means skewed clocks: no value.
            let s = seconds_between(e.client_end_ns, e.server_start_ns);
            if s > 0.0 {
                h.observe(labels.clone(), s, w, Some(e.trace), now_ms, ctx);
            }
        }
        if let Some(g) = &mut self.connection_info {
            g.set(labels, 1.0, now_ms, ctx);
        }
        self.stats.completed += 1;
    }

    /// A half whose pair never came: an edge to a virtual node if the half says who the
    /// other side is, else an unpaired span.
    fn expire(&mut self, mut e: Edge, now_ms: i64, ctx: &mut SeriesCtx) {
        let original = e.connection_type;
        e.connection_type = ConnectionType::VirtualNode;
        if e.client_service.is_empty() {
            // A root server span: called from outside, by the peer it names or by a user.
            if e.root {
                e.client_service = if e.peer_node.is_empty() {
                    "user".to_string()
                } else {
                    e.peer_node.clone()
                };
                if self.cfg.enable_virtual_node_label {
                    e.dimensions
                        .insert(DIM_VIRTUAL_NODE.to_string(), "client".to_string());
                }
                self.complete(&e, now_ms, ctx);
                return;
            }
        } else if e.server_service.is_empty() && !e.peer_node.is_empty() {
            // A call to a service that sends no spans, named by the client's attributes.
            e.server_service = e.peer_node.clone();
            if self.cfg.enable_virtual_node_label {
                e.dimensions
                    .insert(DIM_VIRTUAL_NODE.to_string(), "server".to_string());
            }
            self.complete(&e, now_ms, ctx);
            return;
        }
        let mut b = LabelsBuilder::default();
        b.set("client", &e.client_service);
        b.set("server", &e.server_service);
        b.set("connection_type", original.as_str());
        self.unpaired.inc(b.build(), 1.0, now_ms, ctx);
        self.stats.unpaired += 1;
    }
}
