//! The trace benchmark: a generated corpus of OTLP traces from a web shop of fifteen
//! services, a loader that sends it to an OTLP/HTTP traces endpoint, and the answers its
//! lookups and TraceQL searches must give.
//!
//! The shop is the OpenTelemetry demo's: Envoy in front of a Node frontend calling Go, Java,
//! .NET, Python, Rust, PHP, Ruby and C++ services over gRPC and HTTP, Postgres and Redis
//! clients, and a Kafka topic with two consumers. A trace is one request walked down that
//! call graph (client/server span pairs, depth 4 to 8, fan-outs of up to a dozen calls),
//! with the attributes the instrumentations write (current and older HTTP conventions
//! side by side, `rpc.*`, `db.*`, `messaging.*`, `k8s.*` resources, user, session and
//! order ids), failures that propagate up to callers that need the answer, exception
//! events and links from consumers to producers.
//!
//! Every trace is determined by the seed and its index, and its start by the
//! [`TracePlan`]: the same spec gives the same traces whatever the loader's connections
//! and batch sizes, so the expectations tallied while generating hold for any run.

mod attrs;
mod batch;
mod expect;
mod generate;
mod load;
mod plan;
mod resources;
mod topology;

pub use expect::{
    ERROR_SERVICE, HTTP_5XX_QUERY, SampleTrace, SearchExpect, Tally, TraceExpect,
    service_error_query,
};
pub use load::{TraceLoadConfig, TraceLoadReport, run_traces};
pub use plan::{GAP_NS, TracePlan, TraceSpec, WINDOWS};

/// The names of the services (`service.name`), in a fixed order.
pub fn service_names() -> Vec<&'static str> {
    topology::SERVICES.iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests;
