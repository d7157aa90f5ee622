//! nginx lines: the `combined` access log format of a site's nginx, the ingress-nginx
//! controller's longer format, and the error log lines nginx writes to the same container
//! output now and then.

use super::Ctx;
use crate::logs::NEEDLE;
use crate::logs::catalog::{INGRESS_ROUTES, Route};
use crate::logs::fields::{
    Kind, Shown, latency_ms, lognormal, note_lognormal, pick, push_client_ip, push_path,
    push_pod_ip, status, weighted,
};
use crate::logs::text::{push_fixed, push_hex, push_u64};
use crate::logs::vocab;

const USERS: &[&str] = &["alice", "deploy", "ci-bot", "monitor"];

/// `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status
/// $body_bytes_sent "$http_referer" "$http_user_agent"`.
pub(super) fn write_site(routes: &[Route], ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    if !ctx.needle && ctx.rng.chance(0.002 + 0.02 * f64::from(ctx.stress)) {
        write_error_log(ctx, routes, out);
        return;
    }
    let route = weighted_route(ctx, routes);
    // `combined` has no request time.
    let req = Request::draw(ctx, route, Shown::Hidden);
    req.push_prefix(ctx, route, out);
}

/// ingress-nginx's default `log-format-upstream`: combined, then `$request_length
/// $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr
/// $upstream_response_length $upstream_response_time $upstream_status $req_id`.
pub(super) fn write_ingress(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    let route = weighted_route(ctx, INGRESS_ROUTES);
    let req = Request::draw(ctx, route, Shown::Round(1.0));
    req.push_prefix(ctx, route, out);
    let rng = &mut *ctx.rng;
    out.push(b' ');
    let (median, sigma) = match route.method {
        "GET" | "HEAD" => (480.0, 0.35),
        _ => (1_300.0, 0.6),
    };
    let req_len = lognormal(rng, median, sigma);
    note_lognormal(rng, req_len, median, sigma, Shown::Floor(1.0));
    push_u64(out, req_len as u64);
    out.push(b' ');
    push_fixed(out, req.latency_ms.round() as u64, 3);
    out.extend_from_slice(b" [");
    out.extend_from_slice(route.upstream.as_bytes());
    out.extend_from_slice(b"] [] ");
    // A 503 without an upstream is the controller finding no ready endpoint.
    if req.status == 503 && rng.chance(0.5) {
        out.extend_from_slice(b"- - - - ");
    } else {
        let port = route
            .upstream
            .rsplit('-')
            .next()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("8080");
        push_pod_ip(
            out,
            ctx.source.cluster,
            rng.index(12) ^ hash(route.upstream),
            48,
        );
        out.push(b':');
        out.extend_from_slice(port.as_bytes());
        out.push(b' ');
        push_u64(out, req.bytes);
        out.push(b' ');
        let upstream_ms = (req.latency_ms * 0.97 - 0.3).max(0.0);
        push_fixed(out, upstream_ms.round() as u64, 3);
        out.push(b' ');
        push_u64(out, u64::from(req.status));
        out.push(b' ');
    }
    push_hex(out, rng.next_u64(), 16);
    push_hex(out, rng.next_u64(), 16);
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn weighted_route<'r>(ctx: &mut Ctx<'_>, routes: &'r [Route]) -> &'r Route {
    let total: u32 = routes.iter().map(|r| r.weight).sum();
    let mut x = ctx.rng.index_uncounted(u64::from(total.max(1))) as u32;
    for r in routes {
        if x < r.weight {
            ctx.rng.note_p(f64::from(r.weight) / f64::from(total));
            return r;
        }
        x -= r.weight;
    }
    &routes[routes.len() - 1]
}

struct Request {
    status: u16,
    bytes: u64,
    latency_ms: f64,
}

impl Request {
    /// Draws a request whose latency the line shows as `latency`.
    fn draw(ctx: &mut Ctx<'_>, route: &Route, latency: Shown) -> Request {
        let rng = &mut *ctx.rng;
        let status = status(rng, route.kind, ctx.stress);
        let latency_ms = latency_ms(rng, route.median_ms, status, ctx.stress, latency);
        let bytes = match status {
            304 | 204 | 499 => 0,
            301 | 302 => 162,
            404 => 555,
            500..=599 => 157,
            400..=499 => 174,
            _ => {
                let sigma = match route.kind {
                    Kind::Page => 0.35,
                    Kind::Api => 0.9,
                    Kind::Static => 0.8,
                    Kind::Health => 0.0,
                };
                let median = f64::from(route.size);
                let x = lognormal(rng, median, sigma);
                note_lognormal(rng, x, median, sigma, Shown::Floor(1.0));
                x.max(1.0) as u64
            }
        };
        Request {
            status,
            bytes,
            latency_ms,
        }
    }

    /// The combined-format part, shared by both access logs.
    fn push_prefix(&self, ctx: &mut Ctx<'_>, route: &Route, out: &mut Vec<u8>) {
        let rng = &mut *ctx.rng;
        let health = route.kind == Kind::Health;
        if health {
            // Probes come from the node's kubelet.
            push_pod_ip(
                out,
                ctx.source.cluster,
                u64::from(ctx.source.worker_pid),
                200,
            );
        } else {
            push_client_ip(out, rng, ctx.source.salt);
        }
        out.extend_from_slice(b" - ");
        if !health && rng.chance(0.003) {
            out.extend_from_slice(pick(rng, USERS).as_bytes());
        } else {
            out.push(b'-');
        }
        out.extend_from_slice(b" [");
        ctx.time.push_nginx(out, ctx.ts_ns);
        out.extend_from_slice(b"] \"");
        out.extend_from_slice(route.method.as_bytes());
        out.push(b' ');
        let path_start = out.len();
        push_path(out, rng, route.path);
        if ctx.needle {
            let sep = if out[path_start..].contains(&b'?') {
                b'&'
            } else {
                b'?'
            };
            out.push(sep);
            out.extend_from_slice(b"ref=");
            out.extend_from_slice(NEEDLE.as_bytes());
        }
        out.extend_from_slice(if health || rng.chance(0.7) {
            b" HTTP/1.1\" "
        } else {
            b" HTTP/2.0\" "
        });
        push_u64(out, u64::from(self.status));
        out.push(b' ');
        push_u64(out, self.bytes);
        out.extend_from_slice(b" \"");
        let internal = match route.kind {
            Kind::Health => 0.0,
            Kind::Static => 0.75,
            Kind::Page => 0.35,
            Kind::Api => 0.6,
        };
        let x = rng.f64();
        let external = if route.kind == Kind::Page { 0.2 } else { 0.0 };
        if x < internal {
            rng.note_p(internal);
            out.extend_from_slice(b"https://");
            out.extend_from_slice(ctx.source.host.as_bytes());
            push_path(out, rng, "/products/{id}");
        } else if x < internal + external {
            rng.note_p(external);
            out.extend_from_slice(pick(rng, vocab::EXTERNAL_REFERERS).as_bytes());
        } else {
            rng.note_p(1.0 - internal - external);
            out.push(b'-');
        }
        out.extend_from_slice(b"\" \"");
        let ua = match route.kind {
            Kind::Health if route.path == "/metrics" => vocab::SCRAPE_UA,
            Kind::Health => vocab::PROBE_UA,
            Kind::Api => weighted(rng, vocab::API_UAS),
            Kind::Page | Kind::Static => weighted(rng, vocab::BROWSER_UAS),
        };
        out.extend_from_slice(ua.as_bytes());
        out.push(b'"');
    }
}

/// nginx's error log: `YYYY/MM/DD HH:MM:SS [level] pid#tid: *conn message, client: ...,
/// server: ..., request: "...", host: "..."`.
fn write_error_log(ctx: &mut Ctx<'_>, routes: &[Route], out: &mut Vec<u8>) {
    let route = weighted_route(ctx, routes);
    let rng = &mut *ctx.rng;
    ctx.time.push_slashed(out, ctx.ts_ns);
    let x = rng.f64();
    rng.note_p(match x {
        x if x < 0.45 => 0.45,
        x if x < 0.85 => 0.2,
        _ => 0.15,
    });
    let (level, text): (&[u8], &[u8]) = if x < 0.45 {
        (
            b" [error] ",
            b"upstream timed out (110: Connection timed out) while reading response header from upstream",
        )
    } else if x < 0.65 {
        (
            b" [error] ",
            b"connect() failed (111: Connection refused) while connecting to upstream",
        )
    } else if x < 0.85 {
        (
            b" [warn] ",
            b"an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/4/21/0000012214 while reading upstream",
        )
    } else {
        (
            b" [error] ",
            b"open() \"/usr/share/nginx/html/wp-login.php\" failed (2: No such file or directory)",
        )
    };
    out.extend_from_slice(level);
    push_u64(out, u64::from(ctx.source.worker_pid));
    out.push(b'#');
    push_u64(out, u64::from(ctx.source.worker_pid));
    out.extend_from_slice(b": *");
    push_u64(out, 10_000 + rng.index(5_000_000));
    out.push(b' ');
    out.extend_from_slice(text);
    out.extend_from_slice(b", client: ");
    push_client_ip(out, rng, ctx.source.salt);
    out.extend_from_slice(b", server: ");
    out.extend_from_slice(ctx.source.host.as_bytes());
    out.extend_from_slice(b", request: \"");
    out.extend_from_slice(route.method.as_bytes());
    out.push(b' ');
    let path_start = out.len();
    push_path(out, rng, route.path);
    let path_end = out.len();
    out.extend_from_slice(b" HTTP/1.1\"");
    if text.starts_with(b"upstream") || text.starts_with(b"connect") || text.starts_with(b"an ") {
        out.extend_from_slice(b", upstream: \"http://");
        push_pod_ip(out, ctx.source.cluster, rng.index(8), 48);
        out.extend_from_slice(b":3000");
        out.extend_from_within(path_start..path_end);
        out.push(b'"');
    }
    out.extend_from_slice(b", host: \"");
    out.extend_from_slice(ctx.source.host.as_bytes());
    out.push(b'"');
}
