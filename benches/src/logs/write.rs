//! Writing one line: the per-stream context every format needs, and the dispatch to the
//! nginx and application writers.

mod app;
mod nginx;

use super::catalog::Writer;
use super::text::TimeCache;
use crate::rng::Rng;

/// What a stream's lines know about where they come from.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Index of the cluster (its pod network is `10.<16 + cluster>.0.0/16`).
    pub(crate) cluster: u32,
    /// Per-cluster salt for client addresses, so clusters see different clients.
    pub(crate) salt: u64,
    /// The pod's name (pino and nginx print it).
    pub(crate) pod: String,
    /// The public host name of the site.
    pub(crate) host: &'static str,
    /// nginx worker process id.
    pub(crate) worker_pid: u32,
}

/// Everything one line is written from.
pub(crate) struct Ctx<'a> {
    pub(crate) ts_ns: i64,
    /// 0 calm, up to 1 during an incident of the workload.
    pub(crate) stress: f32,
    /// Whether this line carries the needle.
    pub(crate) needle: bool,
    pub(crate) source: &'a Source,
    pub(crate) time: &'a mut TimeCache,
    pub(crate) rng: &'a mut Rng,
}

/// Appends one line (no trailing newline) as `writer` formats it.
pub(crate) fn write_line(writer: Writer, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) {
    match writer {
        Writer::Nginx(routes) => nginx::write_site(routes, ctx, out),
        Writer::Ingress => nginx::write_ingress(ctx, out),
        Writer::App(style, service) => app::write(style, service, ctx, out),
    }
}
