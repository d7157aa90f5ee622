//! The steps an operation takes besides running its own code: calls to other services
//! (client spans), database queries, the external API, Kafka publishes; and the attributes
//! and events they share with the server side.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};

use super::super::attrs::{kv_i, kv_s};
use super::super::topology::{Entry, SERVICES, Step, Store};
use super::{GRPC_PORT, HTTP_PORT, Outcome, PRODUCTS, Walk, error_status, lognormal_ns, ok_status};

impl Walk<'_> {
    pub(super) fn message_event(&mut self, kind: &str, at: u64) -> Event {
        Event {
            time_unix_nano: at,
            name: "message".to_string(),
            attributes: vec![
                kv_s("message.type", kind),
                kv_i("message.id", 1),
                kv_i(
                    "message.uncompressed_size",
                    40 + self.rng.index_uncounted(2_000) as i64,
                ),
            ],
            ..Default::default()
        }
    }

    pub(super) fn rpc_attrs(
        &mut self,
        attrs: &mut Vec<KeyValue>,
        service: &str,
        method: &str,
        code: i64,
        server: &str,
        peer_ip: &str,
    ) {
        attrs.extend([
            kv_s("rpc.system", "grpc"),
            kv_s("rpc.service", service),
            kv_s("rpc.method", method),
            kv_i("rpc.grpc.status_code", code),
            kv_s("server.address", server),
            kv_i("server.port", GRPC_PORT),
            kv_s("network.peer.address", peer_ip),
            kv_i(
                "network.peer.port",
                30_000 + self.rng.index_uncounted(30_000) as i64,
            ),
            kv_s("network.transport", "tcp"),
            kv_s("network.type", "ipv4"),
        ]);
        self.ids(attrs);
        if method == "Convert" || method == "GetProduct" {
            attrs.push(kv_s("app.currency.code", self.req.currency));
        }
    }

    pub(super) fn code_attrs(
        &mut self,
        attrs: &mut Vec<KeyValue>,
        service: &str,
        language: &str,
        function: &str,
    ) {
        attrs.extend([
            kv_s("code.function", function),
            kv_s(
                "code.namespace",
                format!("oteldemo.{}", service.replace('-', "_")),
            ),
            kv_s(
                "code.filepath",
                format!("src/{service}/{function}.{language}"),
            ),
            kv_i("code.lineno", 20 + self.rng.index_uncounted(300) as i64),
            kv_i("thread.id", 1 + self.rng.index_uncounted(64) as i64),
            kv_s(
                "thread.name",
                format!("worker-{}", self.rng.index_uncounted(16)),
            ),
        ]);
    }

    /// One step of operation `caller` running on `pod` inside span `parent`.
    pub(super) fn step(
        &mut self,
        step: &Step,
        caller: usize,
        parent: &[u8],
        t: u64,
        pod: u32,
        depth: u8,
    ) -> (u64, Outcome) {
        let g = self.g;
        let caller_op = &g.topology.ops[caller];
        let caller_svc = &SERVICES[caller_op.service];
        match step {
            Step::Inner(op) => {
                let ip = self.ip(pod);
                self.op(*op, parent, t, pod, &ip, depth, None)
            }
            Step::Call(callee) => {
                let callee_op = &g.topology.ops[*callee];
                let callee_pod = self.pick_pod(callee_op.service);
                let my_ip = self.ip(pod);
                if caller_op.entry == Entry::Proxy {
                    // Envoy's one span stands for both sides of its hop.
                    return self.op(*callee, parent, t + 50_000, callee_pod, &my_ip, depth, None);
                }
                let client_id = self.new_id();
                let net_out = lognormal_ns(&mut self.rng, 0.3, 0.4);
                let (end, out) = self.op(
                    *callee,
                    &client_id,
                    t + net_out,
                    callee_pod,
                    &my_ip,
                    depth + 1,
                    None,
                );
                let client_end = end + lognormal_ns(&mut self.rng, 0.3, 0.4);
                let callee_svc = &SERVICES[callee_op.service];
                let callee_ip = self.ip(callee_pod);
                let mut attrs = Vec::with_capacity(20);
                let name = match callee_op.entry {
                    Entry::Http(method, route) => {
                        let path = route.replace("{productId}", PRODUCTS[0]);
                        let url = format!("http://{}:{HTTP_PORT}{path}", callee_svc.name);
                        let code = i64::from(out.http);
                        if caller_svc.old_http {
                            attrs.extend([
                                kv_s("http.method", method),
                                kv_s("http.url", url),
                                kv_s("net.peer.name", callee_svc.name),
                                kv_i("net.peer.port", HTTP_PORT),
                                kv_i("http.status_code", code),
                                kv_s("http.flavor", "1.1"),
                                kv_s("net.sock.peer.addr", callee_ip),
                            ]);
                        } else {
                            attrs.extend([
                                kv_s("http.request.method", method),
                                kv_s("url.full", url),
                                kv_s("server.address", callee_svc.name),
                                kv_i("server.port", HTTP_PORT),
                                kv_i("http.response.status_code", code),
                                kv_s("network.protocol.version", "1.1"),
                                kv_s("network.peer.address", callee_ip),
                            ]);
                        }
                        self.ids(&mut attrs);
                        method.to_string()
                    }
                    Entry::Grpc(service, method) => {
                        let code = if out.failed { 2 } else { 0 };
                        self.rpc_attrs(
                            &mut attrs,
                            service,
                            method,
                            code,
                            callee_svc.name,
                            &callee_ip,
                        );
                        format!("{service}/{method}")
                    }
                    _ => callee_svc.name.to_string(),
                };
                let status = if out.failed {
                    error_status(&out.message)
                } else {
                    ok_status()
                };
                let span = self.span(
                    client_id,
                    parent,
                    name,
                    SpanKind::Client,
                    (t, client_end),
                    attrs,
                    status,
                );
                let old_5xx = caller_svc.old_http
                    && matches!(callee_op.entry, Entry::Http(..))
                    && out.http >= 500;
                self.push(pod, span, depth, old_5xx);
                (client_end, out)
            }
            Step::Db(store, operation, table, statement) => {
                let (median, system, port, host) = match store {
                    Store::Postgres => (1.2, "postgresql", 5432, "postgresql"),
                    Store::Redis => (0.25, "redis", 6379, "valkey-cart"),
                };
                let dur = lognormal_ns(&mut self.rng, median, 0.7);
                let fail = self.rng.chance(0.006);
                let mut attrs = Vec::with_capacity(16);
                attrs.extend([
                    kv_s("db.system", system),
                    kv_s("db.statement", *statement),
                    kv_s("db.operation", *operation),
                    kv_s("server.address", host),
                    kv_i("server.port", port),
                    kv_s(
                        "network.peer.address",
                        format!("10.43.{}.{}", 7 + port % 3, 11 + port % 7),
                    ),
                    kv_i("network.peer.port", port),
                ]);
                match store {
                    Store::Postgres => attrs.extend([
                        kv_s("db.name", "shop"),
                        kv_s("db.sql.table", *table),
                        kv_s("db.user", caller_svc.name),
                    ]),
                    Store::Redis => attrs.extend([
                        kv_i("db.redis.database_index", 0),
                        kv_s("db.redis.key_prefix", *table),
                    ]),
                }
                self.ids(&mut attrs);
                let name = match store {
                    Store::Postgres => format!("{operation} {table}"),
                    Store::Redis => operation.to_string(),
                };
                let mut out = Outcome::ok(0);
                let mut events = Vec::new();
                let status = if fail {
                    let msg = match store {
                        Store::Postgres => {
                            "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)"
                        }
                        Store::Redis => "read tcp 10.42.4.11:43120->10.43.7.12:6379: i/o timeout",
                    };
                    events.push(Event {
                        time_unix_nano: t + dur,
                        name: "exception".to_string(),
                        attributes: vec![
                            kv_s("exception.type", "DatabaseError"),
                            kv_s("exception.message", msg),
                        ],
                        ..Default::default()
                    });
                    out = Outcome {
                        failed: true,
                        http: 0,
                        message: msg.to_string(),
                    };
                    error_status(msg)
                } else {
                    ok_status()
                };
                let id = self.new_id();
                let mut span = self.span(
                    id,
                    parent,
                    name,
                    SpanKind::Client,
                    (t, t + dur),
                    attrs,
                    status,
                );
                span.events = events;
                self.push(pod, span, depth, false);
                (t + dur, out)
            }
            Step::External(method, url) => {
                let dur = lognormal_ns(&mut self.rng, 60.0, 0.4);
                let fail = self.rng.chance(0.02);
                let code: u16 = if fail {
                    [502, 504][self.rng.index_uncounted(2) as usize]
                } else {
                    200
                };
                let mut attrs = Vec::with_capacity(16);
                attrs.extend([
                    kv_s("http.request.method", *method),
                    kv_s("url.full", *url),
                    kv_s("server.address", "api.payments.example.net"),
                    kv_i("server.port", 443),
                    kv_i("http.response.status_code", i64::from(code)),
                    kv_s("network.protocol.version", "1.1"),
                    kv_s("network.peer.address", "198.51.100.23"),
                ]);
                self.ids(&mut attrs);
                let message = if fail {
                    format!("{code} from payment processor")
                } else {
                    String::new()
                };
                let status = if fail {
                    error_status(&message)
                } else {
                    ok_status()
                };
                let id = self.new_id();
                let span = self.span(
                    id,
                    parent,
                    method.to_string(),
                    SpanKind::Client,
                    (t, t + dur),
                    attrs,
                    status,
                );
                // The older attribute is absent here: payment writes the current conventions.
                self.push(pod, span, depth, false);
                (
                    t + dur,
                    Outcome {
                        failed: fail,
                        http: code,
                        message,
                    },
                )
            }
            Step::Publish(topic, consumers) => {
                let dur = lognormal_ns(&mut self.rng, 0.8, 0.5);
                let id = self.new_id();
                let mut attrs = Vec::with_capacity(16);
                attrs.extend([
                    kv_s("messaging.system", "kafka"),
                    kv_s("messaging.destination.name", *topic),
                    kv_s("messaging.operation.type", "publish"),
                    kv_s("messaging.operation.name", "send"),
                    kv_s(
                        "messaging.destination.partition.id",
                        self.rng.index_uncounted(12).to_string(),
                    ),
                    kv_s(
                        "messaging.client.id",
                        format!("producer-{}-1", caller_svc.name),
                    ),
                    kv_i(
                        "messaging.message.body.size",
                        180 + self.rng.index_uncounted(400) as i64,
                    ),
                    kv_s("server.address", "kafka"),
                    kv_i("server.port", 9092),
                ]);
                self.ids(&mut attrs);
                if let Some(o) = &self.req.order_id {
                    attrs.push(kv_s("messaging.kafka.message.key", o.as_str()));
                }
                let span = self.span(
                    id.clone(),
                    parent,
                    format!("{topic} publish"),
                    SpanKind::Producer,
                    (t, t + dur),
                    attrs,
                    ok_status(),
                );
                self.push(pod, span, depth, false);
                let producer_ip = self.ip(pod);
                for &c in consumers {
                    let lag = lognormal_ns(&mut self.rng, 8.0, 1.0);
                    let cpod = self.pick_pod(g.topology.ops[c].service);
                    // Consumers run on their own: their failures are not the producer's.
                    self.op(
                        c,
                        &id,
                        t + dur + lag,
                        cpod,
                        &producer_ip,
                        depth + 1,
                        Some(id.clone()),
                    );
                }
                (t + dur, Outcome::ok(0))
            }
        }
    }
}
