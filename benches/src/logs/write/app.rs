//! Application logs in the JSON and logfmt dialects of the libraries services use
//! (logstash-logback, zap, structlog, pino; go-kit, logrus, Grafana's logger). A line is a
//! request log or an event of the service; its level follows from the status or the event,
//! and errors come with the error text and, in JSON, the stack trace.

use super::Ctx;
use crate::logs::NEEDLE;
use crate::logs::catalog::{AppStyle, Event, F, Level, Route, Service};
use crate::logs::fields::{
    Kind, Shown, amount_cents, latency_ms, lognormal, note_lognormal, pick, push_client_ip,
    push_order_id, push_path, push_pod_ip, push_sku, push_span_id, push_trace_id, push_user_id,
    status, weighted, zipf,
};
use crate::logs::text::{push_fixed, push_go_duration, push_hex, push_json_escaped, push_u64};
use crate::logs::vocab;

/// Writes key/value pairs as JSON members or logfmt pairs.
struct Sink<'o> {
    out: &'o mut Vec<u8>,
    json: bool,
    first: bool,
}

impl Sink<'_> {
    fn key(&mut self, k: &str) {
        if self.json {
            if !self.first {
                self.out.push(b',');
            }
            self.out.push(b'"');
            self.out.extend_from_slice(k.as_bytes());
            self.out.extend_from_slice(b"\":");
        } else {
            if !self.first {
                self.out.push(b' ');
            }
            self.out.extend_from_slice(k.as_bytes());
            self.out.push(b'=');
        }
        self.first = false;
    }

    /// A string value that may need escaping (or, in logfmt, quoting).
    fn str(&mut self, k: &str, v: &[u8]) {
        self.key(k);
        if self.json {
            self.out.push(b'"');
            push_json_escaped(self.out, v);
            self.out.push(b'"');
        } else if v.is_empty()
            || v.iter()
                .any(|&b| b == b' ' || b == b'=' || b == b'"' || b == b'\\' || b < 0x20)
        {
            // logfmt quotes with Go's strconv.Quote rules for these characters.
            self.out.push(b'"');
            push_json_escaped(self.out, v);
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(v);
        }
    }

    /// Opens a string value known to need no escaping (ids, names); close with `close`.
    fn open(&mut self, k: &str) {
        self.key(k);
        if self.json {
            self.out.push(b'"');
        }
    }

    fn close(&mut self) {
        if self.json {
            self.out.push(b'"');
        }
    }

    fn u64(&mut self, k: &str, v: u64) {
        self.key(k);
        push_u64(self.out, v);
    }

    /// A number with `decimals` decimals.
    fn fixed(&mut self, k: &str, v: f64, decimals: u32) {
        self.key(k);
        push_fixed(
            self.out,
            (v.max(0.0) * 10f64.powi(decimals as i32)).round() as u64,
            decimals,
        );
    }

    /// A duration: milliseconds as a number in JSON, Go's duration string in logfmt.
    fn duration(&mut self, ms: f64) {
        if self.json {
            self.fixed("duration_ms", ms, 1);
        } else {
            self.key("duration");
            push_go_duration(self.out, (ms.max(0.0) * 1e6) as u64);
        }
    }
}

fn level_word(style: AppStyle, level: Level) -> &'static str {
    match (style, level) {
        (AppStyle::Logback, Level::Debug) => "DEBUG",
        (AppStyle::Logback, Level::Info) => "INFO",
        (AppStyle::Logback, Level::Warn) => "WARN",
        (AppStyle::Logback, Level::Error) => "ERROR",
        (AppStyle::Structlog | AppStyle::Logrus, Level::Warn) => "warning",
        (_, Level::Debug) => "debug",
        (_, Level::Info) => "info",
        (_, Level::Warn) => "warn",
        (_, Level::Error) => "error",
    }
}

/// What the line reports, drawn before it is written.
enum Body<'s> {
    Request {
        route: &'s Route,
        status: u16,
        latency_ms: f64,
        bytes: u64,
    },
    Event(&'s Event),
}

/// How each style shows a request's latency and size (finest form when written twice).
fn request_shown(style: AppStyle) -> (Shown, Shown) {
    let ns = Shown::Floor(1e-6);
    match style {
        AppStyle::Pino => (Shown::Round(1.0), Shown::Hidden),
        AppStyle::Logrus => (ns, Shown::Hidden),
        AppStyle::Grafana | AppStyle::GoKit | AppStyle::LevelFirst => (ns, Shown::Floor(1.0)),
        AppStyle::Logback => (Shown::Round(1.0), Shown::Floor(1.0)),
        AppStyle::Zap | AppStyle::Structlog => (Shown::Round(0.001), Shown::Floor(1.0)),
    }
}

fn draw<'s>(style: AppStyle, svc: &'s Service, ctx: &mut Ctx<'_>) -> (Level, Body<'s>) {
    let rng = &mut *ctx.rng;
    let share = u64::from(svc.request_share);
    let request = !svc.routes.is_empty() && rng.index_uncounted(1000) < share;
    if !svc.routes.is_empty() {
        let p = share as f64 / 1000.0;
        rng.note_p(if request { p } else { 1.0 - p });
    }
    if request {
        let total: u32 = svc.routes.iter().map(|r| r.weight).sum();
        let mut x = rng.index_uncounted(u64::from(total.max(1))) as u32;
        let mut route = &svc.routes[svc.routes.len() - 1];
        for r in svc.routes {
            if x < r.weight {
                route = r;
                break;
            }
            x -= r.weight;
        }
        rng.note_p(f64::from(route.weight) / f64::from(total.max(1)));
        let (latency, size) = request_shown(style);
        let status = status(rng, route.kind, ctx.stress);
        let latency_ms = latency_ms(rng, route.median_ms, status, ctx.stress, latency);
        let (median, sigma) = if status >= 300 {
            (160.0, 0.3)
        } else {
            (f64::from(route.size), 0.7)
        };
        let x = lognormal(rng, median, sigma);
        note_lognormal(rng, x, median, sigma, size);
        let bytes = if status >= 300 {
            x as u64
        } else {
            x.max(1.0) as u64
        };
        let level = match status {
            500.. => Level::Error,
            400..=499 if status != 404 => Level::Warn,
            _ => Level::Info,
        };
        return (
            level,
            Body::Request {
                route,
                status,
                latency_ms,
                bytes,
            },
        );
    }
    // During an incident the service reports its failures far more often.
    let s = f64::from(ctx.stress);
    let boost = |ev: &Event| -> f64 {
        let w = f64::from(ev.weight);
        match ev.level {
            Level::Error => w * (1.0 + 40.0 * s),
            Level::Warn => w * (1.0 + 4.0 * s),
            _ => w,
        }
    };
    let total: f64 = svc.events.iter().map(boost).sum();
    let mut x = rng.f64() * total;
    for ev in svc.events {
        let w = boost(ev);
        if x < w {
            rng.note_p(w / total);
            return (ev.level, Body::Event(ev));
        }
        x -= w;
    }
    let ev = &svc.events[svc.events.len() - 1];
    (ev.level, Body::Event(ev))
}

/// Appends one application line.
pub(super) fn write(style: AppStyle, svc: &Service, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    let (level, body) = draw(style, svc, ctx);
    let json = style.is_json();
    if json {
        out.push(b'{');
    }
    let mut sink = Sink {
        out,
        json,
        first: true,
    };
    let msg: &[u8] = match &body {
        Body::Request { .. } => match style {
            AppStyle::Structlog => b"request handled",
            AppStyle::GoKit => b"request",
            AppStyle::LevelFirst => b"http request",
            AppStyle::Grafana => b"Request Completed",
            _ => b"request completed",
        },
        Body::Event(ev) => ev.msg.as_bytes(),
    };
    let word = level_word(style, level).as_bytes();
    let caller = svc.callers[ctx.rng.index_uncounted(svc.callers.len() as u64) as usize];
    // Counted only where the line shows it.
    if matches!(
        style,
        AppStyle::Logback | AppStyle::Zap | AppStyle::GoKit | AppStyle::LevelFirst
    ) {
        ctx.rng.note((svc.callers.len() as f64).log2());
    }
    // The head of the line: time, level, logger and message in each library's order.
    match style {
        AppStyle::Logback => {
            sink.open("@timestamp");
            ctx.time.push_iso_ms(sink.out, ctx.ts_ns);
            sink.close();
            sink.str("@version", b"1");
            sink.str("message", msg);
            sink.open("logger_name");
            sink.out.extend_from_slice(svc.logger.as_bytes());
            sink.out.push(b'.');
            sink.out.extend_from_slice(caller.as_bytes());
            sink.close();
            sink.open("thread_name");
            sink.out.extend_from_slice(b"http-nio-8080-exec-");
            push_u64(sink.out, 1 + ctx.rng.index(200));
            sink.close();
            sink.str("level", word);
            let value = match level {
                Level::Debug => 10_000,
                Level::Info => 20_000,
                Level::Warn => 30_000,
                Level::Error => 40_000,
            };
            sink.u64("level_value", value);
        }
        AppStyle::Zap => {
            sink.str("level", word);
            sink.open("ts");
            ctx.time.push_iso_ms(sink.out, ctx.ts_ns);
            sink.close();
            sink.str("logger", svc.logger.as_bytes());
            sink.str("caller", caller.as_bytes());
            sink.str("msg", msg);
        }
        AppStyle::Structlog => sink.str("event", msg),
        AppStyle::Pino => {
            sink.str("level", word);
            sink.open("time");
            ctx.time.push_iso_ms(sink.out, ctx.ts_ns);
            sink.close();
            sink.u64("pid", 1);
            sink.str("hostname", ctx.source.pod.as_bytes());
        }
        AppStyle::GoKit => {
            sink.key("ts");
            ctx.time.push_iso_ns(sink.out, ctx.ts_ns);
            sink.str("caller", caller.as_bytes());
            sink.str("level", word);
            if svc.logger == "prometheus" {
                sink.str(
                    "component",
                    if caller.starts_with("scrape") {
                        b"scrape manager"
                    } else {
                        b"tsdb"
                    },
                );
            }
            sink.str("msg", msg);
        }
        AppStyle::Logrus => {
            sink.key("time");
            sink.out.push(b'"');
            ctx.time.push_iso_s(sink.out, ctx.ts_ns);
            sink.out.push(b'"');
            sink.str("level", word);
            sink.str("msg", msg);
        }
        AppStyle::LevelFirst => {
            sink.str("level", word);
            sink.key("ts");
            ctx.time.push_iso_ns(sink.out, ctx.ts_ns);
            sink.str("caller", caller.as_bytes());
            sink.str("msg", msg);
        }
        AppStyle::Grafana => {
            let logger: &[u8] = match body {
                Body::Request { .. } => b"context",
                Body::Event(_) => b"cleanup",
            };
            sink.str("logger", logger);
            if let Body::Request { .. } = body {
                sink.u64("userId", zipf(ctx.rng, 300));
                sink.u64("orgId", 1);
                sink.key("uname");
                if ctx.rng.chance(0.8) {
                    sink.out.extend_from_slice(
                        pick(ctx.rng, &["alice", "bob", "oncall", "sre-bot"]).as_bytes(),
                    );
                }
            }
            sink.key("t");
            ctx.time.push_iso_ms_offset(sink.out, ctx.ts_ns);
            sink.str("level", word);
            sink.str("msg", msg);
        }
    }
    match body {
        Body::Request {
            route,
            status,
            latency_ms,
            bytes,
        } => write_request(style, route, status, latency_ms, bytes, &mut sink, ctx),
        Body::Event(ev) => write_event(style, svc, ev, &mut sink, ctx),
    }
    if ctx.needle {
        sink.open("ref");
        sink.out.extend_from_slice(NEEDLE.as_bytes());
        sink.close();
    }
    // The tail: what each library appends after the fields.
    match style {
        AppStyle::Structlog => {
            sink.str("logger", svc.logger.as_bytes());
            sink.str("level", word);
            sink.open("timestamp");
            ctx.time.push_iso_us(sink.out, ctx.ts_ns);
            sink.close();
        }
        AppStyle::Pino => sink.str("msg", msg),
        _ => {}
    }
    if let Body::Event(ev) = body
        && json
        && !ev.error.is_empty()
    {
        write_error_json(style, ev, &mut sink);
    }
    if json {
        sink.out.push(b'}');
    }
}

fn write_request(
    style: AppStyle,
    route: &Route,
    status: u16,
    latency_ms: f64,
    bytes: u64,
    sink: &mut Sink<'_>,
    ctx: &mut Ctx<'_>,
) {
    let rng = &mut *ctx.rng;
    let authed = route.kind != Kind::Health && rng.f64() < 0.7;
    // Pino and Grafana do not print the user: the coin is counted where it shows.
    if route.kind != Kind::Health && !matches!(style, AppStyle::Pino | AppStyle::Grafana) {
        rng.note_p(if authed { 0.7 } else { 0.3 });
    }
    match style {
        AppStyle::Pino => {
            // pino-http: {"req":{...},"res":{...},"responseTime":n}
            sink.key("req");
            sink.out.push(b'{');
            let mut inner = Sink {
                out: &mut *sink.out,
                json: true,
                first: true,
            };
            inner.u64("id", rng.index(1 << 20));
            inner.str("method", route.method.as_bytes());
            inner.open("url");
            push_path(inner.out, rng, route.path);
            inner.close();
            inner.open("remoteAddress");
            inner.out.extend_from_slice(b"::ffff:");
            push_pod_ip(inner.out, ctx.source.cluster, rng.index(6), 48);
            inner.close();
            sink.out.extend_from_slice(b"},\"res\":{\"statusCode\":");
            push_u64(sink.out, u64::from(status));
            sink.out.push(b'}');
            sink.u64("responseTime", latency_ms.round() as u64);
        }
        AppStyle::Grafana => {
            sink.str("method", route.method.as_bytes());
            sink.key("path");
            push_path(sink.out, rng, route.path);
            sink.u64("status", u64::from(status));
            sink.key("remote_addr");
            push_client_ip(sink.out, rng, ctx.source.salt);
            sink.u64("time_ms", latency_ms.round() as u64);
            sink.duration(latency_ms);
            sink.u64("size", bytes);
            sink.key("referer");
            sink.str(
                "handler",
                route.path.split('?').next().unwrap_or("/").as_bytes(),
            );
            sink.str("status_source", b"server");
        }
        AppStyle::Logrus => {
            // logrus sorts fields by name.
            sink.duration(latency_ms);
            sink.str("method", route.method.as_bytes());
            sink.key("path");
            push_path(sink.out, rng, route.path);
            sink.u64("status", u64::from(status));
            if authed {
                sink.key("user_id");
                push_user_id(sink.out, rng);
            }
        }
        _ => {
            sink.str("method", route.method.as_bytes());
            sink.open("path");
            push_path(sink.out, rng, route.path);
            sink.close();
            sink.u64("status", u64::from(status));
            if sink.json {
                let decimals = if style == AppStyle::Logback { 0 } else { 3 };
                sink.fixed("latency_ms", latency_ms, decimals);
            } else {
                sink.duration(latency_ms);
            }
            sink.u64("bytes", bytes);
            if style == AppStyle::GoKit {
                sink.key("remote");
                push_client_ip(sink.out, rng, ctx.source.salt);
                sink.out.push(b':');
                push_u64(sink.out, 1024 + rng.index(64_000));
                sink.key("request_id");
                push_hex(sink.out, rng.next_u64(), 16);
                if route.kind == Kind::Api {
                    sink.str("user_agent", weighted(rng, vocab::API_UAS).as_bytes());
                }
            }
            if style == AppStyle::Logback && route.kind != Kind::Health {
                sink.open("client_ip");
                push_client_ip(sink.out, rng, ctx.source.salt);
                sink.close();
            }
            if authed {
                sink.open("user_id");
                push_user_id(sink.out, rng);
                sink.close();
            }
        }
    }
    if sink.json || style == AppStyle::GoKit {
        sink.open("trace_id");
        push_trace_id(sink.out, rng);
        sink.close();
        if sink.json {
            sink.open("span_id");
            push_span_id(sink.out, rng);
            sink.close();
        }
    }
}

const JOBS: &[&str] = &[
    "sync-inventory",
    "expire-carts",
    "send-digests",
    "rotate-keys",
    "reindex-search",
    "cleanup-sessions",
];
const CHANNELS: &[(&str, u32)] = &[("email", 60), ("push", 35), ("sms", 5)];
const TOPICS: &[&str] = &["orders.created", "orders.updated", "payments.captured"];
const MODELS: &[&str] = &["als-v12", "two-tower-v3", "popular-fallback"];
const CLIENTS: &[(&str, u32)] = &[
    ("web", 50),
    ("ios", 25),
    ("android", 20),
    ("partner-acme", 4),
    ("internal-batch", 1),
];
const UPSTREAMS: &[&str] = &[
    "auth.platform:8080",
    "user-service.platform:8080",
    "config-service.platform:8080",
    "checkout.shop:8080",
    "catalog.shop:8080",
];
const DATASOURCES: &[&str] = &["Prometheus", "Loki", "Tempo"];
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn write_event(style: AppStyle, svc: &Service, ev: &Event, sink: &mut Sink<'_>, ctx: &mut Ctx<'_>) {
    let rng = &mut *ctx.rng;
    for f in ev.fields {
        match f {
            F::User => {
                sink.open("user_id");
                push_user_id(sink.out, rng);
                sink.close();
            }
            F::Order => {
                sink.open("order_id");
                push_order_id(sink.out, rng);
                sink.close();
            }
            F::Sku => {
                sink.open("sku");
                push_sku(sink.out, rng);
                sink.close();
            }
            F::Amount => {
                sink.u64("amount_cents", amount_cents(rng));
                sink.str("currency", pick(rng, vocab::CURRENCIES).as_bytes());
            }
            F::Items => sink.u64("items", 1 + zipf(rng, 12)),
            F::Provider => sink.str("provider", pick(rng, vocab::PROVIDERS).as_bytes()),
            F::Attempt => sink.u64("attempt", 1 + rng.index(4)),
            F::DurationMs => {
                let median = 35.0 * (1.0 + 3.0 * f64::from(ctx.stress));
                let ms = lognormal(rng, median, 0.9);
                let shown = if sink.json {
                    Shown::Round(0.1)
                } else {
                    Shown::Floor(1e-6)
                };
                note_lognormal(rng, ms, median, 0.9, shown);
                sink.duration(ms);
            }
            F::CacheKey => {
                sink.open("cache_key");
                sink.out.extend_from_slice(svc.logger.as_bytes());
                sink.out.push(b':');
                push_u64(sink.out, crate::logs::fields::skewed(rng, 500_000, 50));
                sink.close();
            }
            F::Query => {
                let i = zipf(rng, vocab::SEARCH_TERMS.len() as u64) as usize;
                sink.str("query", vocab::SEARCH_TERMS[i].as_bytes());
            }
            F::Count => sink.u64("count", 1 + zipf(rng, 500)),
            F::Region => sink.str("region", pick(rng, vocab::REGIONS).as_bytes()),
            F::Job => sink.str("job", pick(rng, JOBS).as_bytes()),
            F::Channel => sink.str("channel", weighted(rng, CHANNELS).as_bytes()),
            F::Topic => {
                sink.str("topic", pick(rng, TOPICS).as_bytes());
                sink.u64("partition", rng.index(12));
                sink.u64(
                    "offset",
                    18_000_000 + (ctx.ts_ns / 1_000_000_000) as u64 % 10_000_000,
                );
            }
            F::Model => sink.str("model", pick(rng, MODELS).as_bytes()),
            F::Client => sink.str("client_id", weighted(rng, CLIENTS).as_bytes()),
            F::Block => {
                // Two-hour blocks, ULIDs with the block's time.
                let hour2 = (ctx.ts_ns / 7_200_000_000_000 - 1) * 7_200_000;
                sink.u64("mint", hour2 as u64);
                sink.u64("maxt", hour2 as u64 + 7_200_000);
                sink.open("ulid");
                sink.out.extend_from_slice(b"01J");
                let mut v = rng.bits_u64();
                // 12 + 11 Crockford digits of two draws.
                rng.note(115.0);
                for i in 0..23 {
                    if i == 12 {
                        v = rng.bits_u64();
                    }
                    sink.out.push(CROCKFORD[(v & 31) as usize]);
                    v >>= 5;
                }
                sink.close();
            }
            F::Target => match svc.logger {
                "prometheus" => {
                    sink.str("scrape_pool", b"kubernetes-pods");
                    sink.open("target");
                    sink.out.extend_from_slice(b"http://");
                    push_pod_ip(sink.out, ctx.source.cluster, rng.index(400), 400);
                    sink.out.extend_from_slice(b":9090/metrics");
                    sink.close();
                }
                "alertmanager" => {
                    sink.str(
                        "receiver",
                        pick(rng, &["team-shop", "team-platform", "oncall"]).as_bytes(),
                    );
                    sink.str(
                        "integration",
                        pick(rng, &["slack", "pagerduty", "webhook"]).as_bytes(),
                    );
                }
                "context" => sink.str("datasource", pick(rng, DATASOURCES).as_bytes()),
                _ => sink.str("upstream", pick(rng, UPSTREAMS).as_bytes()),
            },
        }
    }
    if !ev.error.is_empty() && !sink.json {
        sink.str("err", ev.error.as_bytes());
    }
    if sink.json && style != AppStyle::Structlog && rng.chance(0.8) {
        sink.open("trace_id");
        push_trace_id(sink.out, rng);
        sink.close();
        sink.open("span_id");
        push_span_id(sink.out, rng);
        sink.close();
    }
}

/// The error part of a JSON line, in each library's shape.
fn write_error_json(style: AppStyle, ev: &Event, sink: &mut Sink<'_>) {
    let stack = |stacks: &[&'static str]| -> Option<&'static str> {
        (ev.stack != usize::MAX).then(|| stacks[ev.stack % stacks.len()])
    };
    let err = ev.error.as_bytes();
    match style {
        AppStyle::Logback => {
            let mut text = err.to_vec();
            if let Some(s) = stack(vocab::JAVA_STACKS) {
                text.push(b'\n');
                text.extend_from_slice(s.as_bytes());
            }
            sink.str("stack_trace", &text);
        }
        AppStyle::Zap => {
            sink.str("error", err);
            if let Some(s) = stack(vocab::GO_STACKS) {
                sink.str("stacktrace", s.as_bytes());
            }
        }
        AppStyle::Structlog => {
            let mut text = Vec::new();
            if let Some(s) = stack(vocab::PYTHON_STACKS) {
                text.extend_from_slice(s.as_bytes());
            }
            text.extend_from_slice(err);
            sink.str("exception", &text);
        }
        AppStyle::Pino => {
            sink.key("err");
            sink.out.push(b'{');
            let mut inner = Sink {
                out: &mut *sink.out,
                json: true,
                first: true,
            };
            let ty: &[u8] = if err.starts_with(b"TypeError") {
                b"TypeError"
            } else {
                b"Error"
            };
            inner.str("type", ty);
            // Node prints `TypeError: <message>`; the message itself has no prefix.
            inner.str("message", err.strip_prefix(b"TypeError: ").unwrap_or(err));
            let mut text = Vec::new();
            if !err.starts_with(b"TypeError") {
                text.extend_from_slice(b"Error: ");
            }
            text.extend_from_slice(err);
            if let Some(s) = stack(vocab::NODE_STACKS) {
                text.push(b'\n');
                text.extend_from_slice(s.as_bytes());
            }
            inner.str("stack", &text);
            sink.out.push(b'}');
        }
        _ => sink.str("error", err),
    }
}
