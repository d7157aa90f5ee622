//! One trace: a request entering the shop through Envoy, walked down the call graph with
//! client/server span pairs, database and messaging spans, failures that propagate up to
//! the callers that cannot do without the answer, exception events and consumer links.
//!
//! Everything a trace holds is drawn from a generator seeded by (seed, trace index), so a
//! trace is the same whichever connection sends it.

mod steps;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use super::attrs::{kv_b, kv_i, kv_s};
use super::resources::{Resources, uuid};
use super::topology::{Action, Entry, SERVICES, Step, Topology};
use crate::rng::Rng;

/// Longest a trace may last; longer draws are compressed to it, so that a trace never
/// straddles the gaps the plan leaves around the query windows' edges.
pub(crate) const MAX_TRACE_NS: u64 = 20_000_000_000;

/// A span and the resource (pod) it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct GenSpan {
    pub(crate) resource: u32,
    pub(crate) span: Span,
}

/// What the expectations need to know of a span, recorded as it is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fact {
    pub(crate) service: u8,
    /// Status error.
    pub(crate) error: bool,
    /// `http.status_code` (the older attribute) present and >= 500.
    pub(crate) old_5xx: bool,
    /// 1 for the root.
    pub(crate) depth: u8,
}

/// A generated trace.
#[derive(Debug, Clone)]
pub(crate) struct GenTrace {
    pub(crate) index: u64,
    pub(crate) trace_id: [u8; 16],
    /// Start of the root span.
    pub(crate) start_ns: u64,
    /// Spans in the order the SDKs export them (a span after its children).
    pub(crate) spans: Vec<GenSpan>,
    /// One per span, same order.
    pub(crate) facts: Vec<Fact>,
}

/// The shop's topology and pods, ready to generate traces.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    seed: u64,
    pub(crate) topology: Topology,
    pub(crate) resources: Resources,
}

const PRODUCTS: &[&str] = &[
    "OLJCESPC7Z",
    "66VCHSJNUP",
    "1YMWWN1N4O",
    "L9ECAV7KIM",
    "2ZYFJ3GM2N",
    "0PUK6V6EV0",
    "LS4PSXUNUM",
    "9SIQT8TOJO",
    "6E92ZMYYFZ",
    "HQTGWGPNH4",
];
const CURRENCIES: &[&str] = &["USD", "EUR", "CAD", "JPY", "GBP", "TRY", "CHF"];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "python-requests/2.32.3",
    "Locust/2.32.4",
];
const GRPC_PORT: i64 = 8080;
const HTTP_PORT: i64 = 8080;

/// An exception type and message per language, for failures a service raises itself.
fn exception(language: &str, k: u64) -> (&'static str, &'static str) {
    let table: &[(&str, &str)] = match language {
        "go" => &[
            ("*errors.errorString", "context deadline exceeded"),
            (
                "*net.OpError",
                "dial tcp 10.43.12.7:5432: connect: connection refused",
            ),
        ],
        "java" | "kotlin" => &[
            (
                "java.lang.NullPointerException",
                "Cannot invoke \"oteldemo.Ad.getText()\" because \"ad\" is null",
            ),
            (
                "io.grpc.StatusRuntimeException",
                "UNAVAILABLE: io exception",
            ),
        ],
        "nodejs" => &[
            (
                "Error",
                "Payment request failed. Invalid token. app.loyalty.level=gold",
            ),
            (
                "TypeError",
                "Cannot read properties of undefined (reading 'units')",
            ),
        ],
        "python" => &[
            ("grpc.RpcError", "failed to connect to all addresses"),
            ("KeyError", "'product_ids'"),
        ],
        "dotnet" => &[
            (
                "StackExchange.Redis.RedisTimeoutException",
                "Timeout performing HGET (5000ms)",
            ),
            (
                "System.InvalidOperationException",
                "Sequence contains no elements",
            ),
        ],
        "ruby" => &[
            ("Net::SMTPFatalError", "550 5.1.1 mailbox unavailable"),
            ("Timeout::Error", "execution expired"),
        ],
        "php" => &[
            (
                "RuntimeException",
                "Quote calculation failed: number of items must be positive",
            ),
            ("ErrorException", "Division by zero"),
        ],
        "rust" => &[
            (
                "reqwest::Error",
                "error sending request for url (http://quote:8080/getquote)",
            ),
            ("anyhow::Error", "tracking id generator exhausted"),
        ],
        _ => &[
            (
                "std::runtime_error",
                "upstream connect error or disconnect/reset before headers",
            ),
            ("std::out_of_range", "unknown currency code"),
        ],
    };
    table[(k % table.len() as u64) as usize]
}

/// How a call ended, as its caller sees it.
#[derive(Debug, Clone)]
struct Outcome {
    failed: bool,
    /// The HTTP status the callee answered (0 when not HTTP).
    http: u16,
    message: String,
}

impl Outcome {
    fn ok(http: u16) -> Outcome {
        Outcome {
            failed: false,
            http,
            message: String::new(),
        }
    }
}

/// What one trace's spans share: the user, the session, the request.
struct Request {
    user_id: String,
    session_id: String,
    request_id: String,
    client_ip: String,
    agent: &'static str,
    currency: &'static str,
    order_id: Option<String>,
}

struct Walk<'a> {
    g: &'a Generator,
    rng: Rng,
    trace_id: Vec<u8>,
    req: Request,
    spans: Vec<GenSpan>,
    facts: Vec<Fact>,
}

fn lognormal_ns(rng: &mut Rng, median_ms: f64, sigma: f64) -> u64 {
    let ms = median_ms * (sigma * rng.normal()).exp();
    (ms.clamp(0.005, 30_000.0) * 1e6) as u64
}

fn ok_status() -> Option<Status> {
    None
}

fn error_status(message: &str) -> Option<Status> {
    Some(Status {
        message: message.to_string(),
        code: StatusCode::Error as i32,
    })
}

impl Generator {
    /// The shop with pods named from `seed`.
    pub(crate) fn new(seed: u64) -> Generator {
        Generator {
            seed,
            topology: Topology::shop(),
            resources: Resources::new(seed),
        }
    }

    /// The id of trace `index` (also what [`Generator::trace`] gives it).
    pub(crate) fn trace_id(&self, index: u64) -> [u8; 16] {
        let mut rng = Rng::derive(self.seed ^ 0x07ac_e1d5, index);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&rng.bits_u64().to_be_bytes());
        id[8..].copy_from_slice(&rng.bits_u64().to_be_bytes());
        if id == [0; 16] {
            id[15] = 1;
        }
        id
    }

    /// Trace `index`, its root starting at `start_ns`.
    pub(crate) fn trace(&self, index: u64, start_ns: u64) -> GenTrace {
        let trace_id = self.trace_id(index);
        let mut rng = Rng::derive(self.seed, index.wrapping_add(1 << 40));
        let req = Request {
            user_id: (1 + rng.index_uncounted(2_000_000)).to_string(),
            session_id: uuid(&mut rng),
            request_id: uuid(&mut rng),
            client_ip: format!(
                "{}.{}.{}.{}",
                23 + rng.index_uncounted(200),
                rng.index_uncounted(256),
                rng.index_uncounted(256),
                1 + rng.index_uncounted(254)
            ),
            agent: AGENTS[rng.index_uncounted(AGENTS.len() as u64) as usize],
            currency: CURRENCIES[rng.index_uncounted(CURRENCIES.len() as u64) as usize],
            order_id: None,
        };
        let u = rng.f64();
        let root = self
            .topology
            .roots
            .iter()
            .find(|r| u < r.1)
            .unwrap_or(&self.topology.roots[self.topology.roots.len() - 1])
            .0;
        let mut w = Walk {
            g: self,
            rng,
            trace_id: trace_id.to_vec(),
            req,
            spans: Vec::with_capacity(64),
            facts: Vec::with_capacity(64),
        };
        let service = self.topology.ops[root].service;
        let pod = w.pick_pod(service);
        let client_ip = w.req.client_ip.clone();
        let (end, _) = w.op(root, &[], 0, pod, &client_ip, 1, None);
        // The trace ends with its last span (a consumer may end after the root).
        let last = w
            .spans
            .iter()
            .map(|s| s.span.end_time_unix_nano)
            .max()
            .unwrap_or(end);
        let (num, den) = if last > MAX_TRACE_NS {
            (MAX_TRACE_NS, last)
        } else {
            (1, 1)
        };
        let at = |t: u64| start_ns + (u128::from(t) * u128::from(num) / u128::from(den)) as u64;
        for s in &mut w.spans {
            s.span.start_time_unix_nano = at(s.span.start_time_unix_nano);
            s.span.end_time_unix_nano = at(s.span.end_time_unix_nano);
            for e in &mut s.span.events {
                e.time_unix_nano = at(e.time_unix_nano);
            }
        }
        GenTrace {
            index,
            trace_id,
            start_ns,
            spans: w.spans,
            facts: w.facts,
        }
    }
}

impl Walk<'_> {
    fn new_id(&mut self) -> Vec<u8> {
        (self.rng.bits_u64() | 1).to_be_bytes().to_vec()
    }

    fn pick_pod(&mut self, service: usize) -> u32 {
        let n = SERVICES[service].replicas;
        let r = self.rng.index_uncounted(u64::from(n)) as u32;
        self.g.resources.pod(service, r)
    }

    fn ip(&self, pod: u32) -> String {
        self.g.resources.ip[pod as usize].clone()
    }

    fn push(&mut self, pod: u32, span: Span, depth: u8, old_5xx: bool) {
        let error = span
            .status
            .as_ref()
            .is_some_and(|s| s.code == StatusCode::Error as i32);
        self.facts.push(Fact {
            service: self.g.resources.service_of[pod as usize] as u8,
            error,
            old_5xx,
            depth,
        });
        self.spans.push(GenSpan {
            resource: pod,
            span,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &self,
        span_id: Vec<u8>,
        parent: &[u8],
        name: String,
        kind: SpanKind,
        (start, end): (u64, u64),
        attributes: Vec<KeyValue>,
        status: Option<Status>,
    ) -> Span {
        let remote = matches!(kind, SpanKind::Server | SpanKind::Consumer) && !parent.is_empty();
        Span {
            trace_id: self.trace_id.clone(),
            span_id,
            parent_span_id: parent.to_vec(),
            // Sampled; the "has is-remote" bit, and "is remote" for spans whose parent came
            // over the wire, as the Go and Java SDKs set them.
            flags: 0x101 | if remote { 0x200 } else { 0 },
            name,
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end.max(start),
            attributes,
            status,
            ..Default::default()
        }
    }

    fn exception_event(&mut self, language: &str, at: u64) -> (Event, &'static str) {
        let (ty, msg) = exception(language, self.rng.index_uncounted(2));
        let frames = 2 + self.rng.index_uncounted(4);
        let mut stack = format!("{ty}: {msg}");
        for f in 0..frames {
            stack.push_str(&format!(
                "\n    at frame{f} (src/handler{}.{language}:{})",
                f,
                10 + self.rng.index_uncounted(400)
            ));
        }
        let event = Event {
            time_unix_nano: at,
            name: "exception".to_string(),
            attributes: vec![
                kv_s("exception.type", ty),
                kv_s("exception.message", msg),
                kv_s("exception.stacktrace", stack),
                kv_b("exception.escaped", false),
            ],
            ..Default::default()
        };
        (event, msg)
    }

    fn ids(&self, attrs: &mut Vec<KeyValue>) {
        attrs.push(kv_s("user.id", self.req.user_id.as_str()));
        attrs.push(kv_s("session.id", self.req.session_id.as_str()));
        if let Some(o) = &self.req.order_id {
            attrs.push(kv_s("order.id", o.as_str()));
        }
    }

    /// Runs operation `op` on pod `pod` as the child of `parent`, starting at `t0`; returns
    /// its end and how it went.
    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        op: usize,
        parent: &[u8],
        t0: u64,
        pod: u32,
        peer_ip: &str,
        depth: u8,
        link: Option<Vec<u8>>,
    ) -> (u64, Outcome) {
        let g = self.g;
        let o = &g.topology.ops[op];
        let svc = &SERVICES[o.service];
        let span_id = self.new_id();
        let own = lognormal_ns(&mut self.rng, o.self_ms, o.sigma);
        let before = own * 2 / 5;
        let own_fail = self.rng.chance(o.fail);
        if matches!(o.entry, Entry::Grpc(_, "PlaceOrder")) {
            self.req.order_id = Some(uuid(&mut self.rng));
        }
        let mut cursor = t0 + before;
        let mut failure: Option<Outcome> = None;
        // A failing operation fails after its first step at the earliest (its first step
        // always runs), so traces keep their depth.
        let n_actions = if own_fail {
            (1 + self.rng.index_uncounted(o.actions.len() as u64) as usize).min(o.actions.len())
        } else {
            o.actions.len()
        };
        'actions: for a in &o.actions[..n_actions] {
            let a: &Action = a;
            if a.p < 1.0 && !self.rng.chance(a.p) {
                continue;
            }
            let times = a.times.0
                + self
                    .rng
                    .index_uncounted(u64::from(a.times.1 - a.times.0 + 1)) as u32;
            let start = cursor;
            let mut end_max = cursor;
            for k in 0..times {
                let t = if a.parallel {
                    start + u64::from(k) * 15_000
                } else {
                    cursor
                };
                let (end, out) = self.step(&a.step, op, &span_id, t, pod, depth + 1);
                end_max = end_max.max(end);
                cursor = if a.parallel { start } else { end + 20_000 };
                if out.failed && a.critical {
                    failure = Some(out);
                    cursor = end_max;
                    break 'actions;
                }
            }
            cursor = end_max.max(cursor);
        }
        let end = cursor + (own - before);
        let mut events = Vec::new();
        if own_fail {
            let (ev, msg) = self.exception_event(svc.language, end - (own - before) / 2);
            events.push(ev);
            let http = match o.entry {
                Entry::Proxy => 503,
                _ => [500, 500, 503, 504][self.rng.index_uncounted(4) as usize],
            };
            failure = Some(Outcome {
                failed: true,
                http,
                message: msg.to_string(),
            });
        }
        let failed = failure.is_some();
        let message = failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        let mut attrs = Vec::with_capacity(20);
        let (name, kind, http) = match o.entry {
            Entry::Proxy => {
                // Envoy's route is the frontend's: the operation it forwards to.
                let (method, route) = match o.actions.first().map(|a| &a.step) {
                    Some(Step::Call(fe)) => match g.topology.ops[*fe].entry {
                        Entry::Http(m, r) => (m, r),
                        _ => ("GET", "/"),
                    },
                    _ => ("GET", "/"),
                };
                let code = match &failure {
                    Some(f) if f.http >= 500 => f.http,
                    Some(_) => 500,
                    None => 200,
                };
                let path = route.replace(
                    "{productId}",
                    PRODUCTS[self.rng.index_uncounted(PRODUCTS.len() as u64) as usize],
                );
                attrs.extend([
                    kv_s("component", "proxy"),
                    kv_s("node_id", "sidecar~10.42.1.10~frontend-proxy"),
                    kv_s("zone", "eu-west-1a"),
                    kv_s("guid:x-request-id", self.req.request_id.as_str()),
                    kv_s("http.url", format!("https://shop.example.com{path}")),
                    kv_s("http.method", method),
                    kv_s("downstream_cluster", "-"),
                    kv_s("user_agent", self.req.agent),
                    kv_s("http.protocol", "HTTP/1.1"),
                    kv_s("peer.address", peer_ip),
                    kv_i(
                        "request_size",
                        if method == "POST" {
                            200 + self.rng.index_uncounted(800) as i64
                        } else {
                            0
                        },
                    ),
                    kv_i(
                        "response_size",
                        300 + self.rng.index_uncounted(20_000) as i64,
                    ),
                    kv_s(
                        "response_flags",
                        if code == 503 && own_fail { "UF" } else { "-" },
                    ),
                    kv_s("upstream_cluster", "frontend"),
                    kv_s("upstream_cluster.name", "frontend"),
                    kv_i("http.status_code", i64::from(code)),
                ]);
                ("ingress".to_string(), SpanKind::Server, code)
            }
            Entry::Http(method, route) => {
                let code = match &failure {
                    Some(f) if f.http >= 500 => f.http,
                    Some(_) => 500,
                    None if self.rng.chance(0.004) => {
                        [400, 401, 404][self.rng.index_uncounted(3) as usize]
                    }
                    None => 200,
                };
                let path = route.replace(
                    "{productId}",
                    PRODUCTS[self.rng.index_uncounted(PRODUCTS.len() as u64) as usize],
                );
                if svc.old_http {
                    attrs.extend([
                        kv_s("http.method", method),
                        kv_s("http.route", route),
                        kv_s("http.target", path),
                        kv_s("http.scheme", "http"),
                        kv_i("http.status_code", i64::from(code)),
                        kv_s("http.flavor", "1.1"),
                        kv_s("net.host.name", svc.name),
                        kv_i("net.host.port", HTTP_PORT),
                        kv_s("net.sock.peer.addr", peer_ip),
                        kv_s("http.user_agent", self.req.agent),
                        kv_s("http.client_ip", self.req.client_ip.as_str()),
                    ]);
                } else {
                    attrs.extend([
                        kv_s("http.request.method", method),
                        kv_s("http.route", route),
                        kv_s("url.path", path),
                        kv_s("url.scheme", "http"),
                        kv_i("http.response.status_code", i64::from(code)),
                        kv_s("network.protocol.version", "1.1"),
                        kv_s("server.address", svc.name),
                        kv_i("server.port", HTTP_PORT),
                        kv_s("network.peer.address", peer_ip),
                        kv_s("client.address", self.req.client_ip.as_str()),
                        kv_s("user_agent.original", self.req.agent),
                    ]);
                }
                self.ids(&mut attrs);
                (format!("{method} {route}"), SpanKind::Server, code)
            }
            Entry::Grpc(service, method) => {
                let code = match &failure {
                    None => 0,
                    Some(_) if own_fail => [4, 13, 14][self.rng.index_uncounted(3) as usize],
                    Some(_) => 2,
                };
                self.rpc_attrs(&mut attrs, service, method, code, svc.name, peer_ip);
                if svc.language == "go" {
                    events.push(self.message_event("RECEIVED", t0 + 1_000));
                    events.push(self.message_event("SENT", end.saturating_sub(1_000)));
                }
                (format!("{service}/{method}"), SpanKind::Server, 0)
            }
            Entry::Consume(topic) => {
                attrs.extend([
                    kv_s("messaging.system", "kafka"),
                    kv_s("messaging.destination.name", topic),
                    kv_s("messaging.operation.type", "process"),
                    kv_s("messaging.operation.name", "process"),
                    kv_s("messaging.consumer.group.name", svc.name),
                    kv_s(
                        "messaging.destination.partition.id",
                        self.rng.index_uncounted(12).to_string(),
                    ),
                    kv_i(
                        "messaging.kafka.offset",
                        self.rng.index_uncounted(1 << 32) as i64,
                    ),
                    kv_s("messaging.client.id", format!("consumer-{}-1", svc.name)),
                    kv_i(
                        "messaging.message.body.size",
                        180 + self.rng.index_uncounted(400) as i64,
                    ),
                    kv_s("server.address", "kafka"),
                    kv_i("server.port", 9092),
                ]);
                self.ids(&mut attrs);
                (format!("{topic} process"), SpanKind::Consumer, 0)
            }
            Entry::Internal(name) => {
                self.code_attrs(&mut attrs, svc.name, svc.language, name);
                self.ids(&mut attrs);
                (name.to_string(), SpanKind::Internal, 0)
            }
        };
        let status = if failed {
            error_status(&message)
        } else {
            ok_status()
        };
        let mut span = self.span(
            span_id.clone(),
            parent,
            name,
            kind,
            (t0, end),
            attrs,
            status,
        );
        span.events = events;
        if let Some(producer) = link {
            span.links.push(Link {
                trace_id: self.trace_id.clone(),
                span_id: producer,
                attributes: vec![kv_s("messaging.operation.type", "publish")],
                flags: 0x101,
                ..Default::default()
            });
        }
        let old_5xx = svc.old_http && http >= 500;
        self.push(pod, span, depth, old_5xx);
        let out = Outcome {
            failed,
            http,
            message,
        };
        (end, out)
    }
}
