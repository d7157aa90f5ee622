//! Cairn's front doors: the HTTP server (Prometheus remote write and read, the Prometheus
//! series and label APIs, health, readiness and self-metrics), tenancy and per-tenant limits,
//! the YAML configuration, and the wiring and ordered shutdown of the components.
//!
//! Invariants: a write is answered 2xx only when the storage engine says it is durable and
//! nothing in it was refused; bad input is always a 4xx, never a 5xx (senders retry 5xx
//! forever); transient trouble is 503 or 429 with `Retry-After`, never 500, which is kept for
//! bugs. The listener answers `/-/healthy` from the first moment and `/-/ready` only once the
//! WAL is replayed. Shutdown stops accepting, drains in-flight requests, then shuts the
//! storage engine down (WAL fsync, uploads), all within `server.shutdown_timeout`.

mod alertmanager;
mod backend;
mod config;
mod error;
mod forward;
mod grpc;
mod http;
mod logs;
mod metrics;
mod metrics_generator;
mod rules;
mod server;
mod storage;

pub use config::{
    AlertmanagerConfig, AlertmanagerSource, Config, FluentBitConfig, ForwardConfig, Limits,
    LogFormat, LogLimits, LogStorageConfig, LogsConfig, MultitenancyConfig, ObjectStoreConfig,
    OtlpConfig, QueryConfig, RulesConfig, S3Config, ServerConfig, SlosConfig, StorageConfig,
    TracesConfig,
};
pub use error::{Error, Result};
pub use rules::load_rules;
pub use server::{App, Listeners, init_logging, run, run_until, shutdown_signal};
