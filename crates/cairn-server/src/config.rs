//! The server's configuration: one YAML file, every field defaulted, parsed in two stages
//! (raw serde structs refusing unknown keys, then validation into typed values whose errors
//! name the file and the key path). `${VAR}` is replaced from the environment before parsing.

mod alertmanager;
mod env;
mod log_limits;
mod log_storage;
mod logs;
mod otlp;
mod query;
mod raw;
mod rules;
mod slos;
mod traces;
mod units;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_model::TenantId;

use crate::error::{Error, Result};
use raw::{RawConfig, RawLimits, RawSize};

pub use alertmanager::{AlertmanagerConfig, AlertmanagerSource};
pub use log_limits::LogLimits;
pub use log_storage::LogStorageConfig;
pub use logs::{FluentBitConfig, ForwardConfig, LogsConfig};
pub use otlp::OtlpConfig;
pub use query::QueryConfig;
pub use rules::RulesConfig;
pub use slos::SlosConfig;
pub use traces::TracesConfig;

pub(crate) use units::{format_duration, parse_duration};

/// The whole configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `server:` listener, logging, shutdown.
    pub server: ServerConfig,
    /// `storage:` data directory, object store, block and retention settings.
    pub storage: StorageConfig,
    /// `multitenancy:` whether `X-Scope-OrgID` names the tenant.
    pub multitenancy: MultitenancyConfig,
    /// `limits:` the limits of every tenant without an override.
    pub limits: Limits,
    /// `overrides:` per-tenant limits (already merged over `limits`).
    pub overrides: BTreeMap<TenantId, Limits>,
    /// `alertmanager:` the built-in alert manager's configuration source and settings.
    pub alertmanager: AlertmanagerConfig,
    /// `query:` PromQL limits and defaults (timeout, samples, concurrency).
    pub query: QueryConfig,
    /// `rules:` rule files, their evaluation, and where alerts are sent.
    pub rules: RulesConfig,
    /// `slos:` SLO files compiled into rule groups.
    pub slos: SlosConfig,
    /// `logs:` how Fluent Bit, forward and OTLP records become streams.
    pub logs: LogsConfig,
    /// `traces:` the trace store and the limits of trace ingestion.
    pub traces: TracesConfig,
    /// `otlp:` how OTLP metrics become Prometheus series (Prometheus' keys).
    pub otlp: OtlpConfig,
}

/// `server:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// HTTP listen address (`listen`, default `0.0.0.0:9009`).
    pub listen: SocketAddr,
    /// Log output format (`log_format`, default text).
    pub log_format: LogFormat,
    /// Log filter in `tracing` env-filter syntax (`log_level`, default `info`).
    pub log_level: String,
    /// How long a graceful shutdown may take before the process gives up waiting
    /// (`shutdown_timeout`, default 30s).
    pub shutdown_timeout: Duration,
    /// Most write requests handled at once; more are shed with 429 (`max_inflight_writes`,
    /// default 64).
    pub max_inflight_writes: usize,
    /// Fluentd forward protocol listener (`forward_listen`, default `0.0.0.0:24224`; empty:
    /// off).
    pub forward_listen: Option<SocketAddr>,
    /// OTLP/gRPC listener (`otlp_grpc_listen`, default `0.0.0.0:4317`; empty: off).
    pub otlp_grpc_listen: Option<SocketAddr>,
    /// OTLP/HTTP listener (`otlp_http_listen`, default `0.0.0.0:4318`; empty: off). OTLP/HTTP
    /// is also served on `listen`.
    pub otlp_http_listen: Option<SocketAddr>,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `storage:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageConfig {
    /// Local data directory (WAL under `wal/`), default `./data`.
    pub data_dir: PathBuf,
    /// Where blocks go.
    pub object_store: ObjectStoreConfig,
    /// Time range of the blocks cut from the head (default 2h).
    pub block_range: Duration,
    /// How far behind the newest sample of a series a sample may arrive (default 0s).
    pub out_of_order_window: Duration,
    /// Default retention of every tenant (default 30d).
    pub retention: Duration,
    /// Compaction levels, ascending (default 2h, 12h, 24h).
    pub compaction_ranges: Vec<Duration>,
    /// How often the compactor looks for work (default 1m).
    pub compaction_interval: Duration,
    /// WAL segment size in bytes (default 128MiB).
    pub wal_segment_size: u64,
    /// Size bound of the block cache in bytes (default 256MiB).
    pub cache_max_size: u64,
    /// `storage.logs`: the log store.
    pub logs: LogStorageConfig,
    /// `storage.exemplars`: the exemplar buffers.
    pub exemplars: ExemplarsConfig,
}

/// `storage.exemplars`, as Prometheus' section of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExemplarsConfig {
    /// Exemplars kept per tenant in a circular buffer (default 100000; 0 keeps none).
    pub max_exemplars: usize,
}

/// `storage.object_store`: the bucket.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectStoreConfig {
    /// A local directory; `None` means `<data_dir>/objects`.
    Local {
        /// Explicit path, if configured.
        path: Option<PathBuf>,
    },
    /// S3 or an S3-compatible server.
    S3(S3Config),
}

/// `storage.object_store.s3`.
#[derive(Clone, PartialEq)]
pub struct S3Config {
    /// Bucket name (required).
    pub bucket: String,
    /// Region (default us-east-1).
    pub region: String,
    /// Endpoint URL for S3-compatible servers.
    pub endpoint: Option<String>,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Path-style requests (MinIO and most S3-compatible servers).
    pub path_style: bool,
    /// Allow plain-HTTP endpoints.
    pub allow_http: bool,
    /// Static credentials; absent means the usual AWS sources.
    pub access_key_id: Option<String>,
    /// Static credentials.
    pub secret_access_key: Option<String>,
    /// Static credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("access_key_id", &redact(&self.access_key_id))
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .finish()
    }
}

/// `multitenancy:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct MultitenancyConfig {
    /// When on, `X-Scope-OrgID` is required and names the tenant.
    pub enabled: bool,
    /// The tenant of every request when off (default `anonymous`).
    pub default_tenant: TenantId,
}

/// Per-tenant limits (`limits:` and each `overrides.<tenant>:`).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest compressed request body (default 10MiB).
    pub max_request_body_size: u64,
    /// Largest decompressed request body (default 32MiB).
    pub max_decoded_size: u64,
    /// Most labels per series (default 30; 0 = unlimited).
    pub max_labels_per_series: usize,
    /// Longest label name in bytes (default 1024; 0 = unlimited).
    pub max_label_name_length: usize,
    /// Longest label value in bytes (default 2048; 0 = unlimited).
    pub max_label_value_length: usize,
    /// Most series per request (default 0 = unlimited).
    pub max_series_per_request: usize,
    /// Retention of this tenant; `None` means `storage.retention`.
    pub retention: Option<Duration>,
    /// `logs:` the limits of log ingestion and log queries.
    pub logs: LogLimits,
}

impl Default for Config {
    fn default() -> Self {
        validate(RawConfig::default(), "<defaults>").expect("the built-in defaults are valid")
    }
}

impl Config {
    /// Reads, substitutes (from the process environment) and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            file: file.clone(),
            source,
        })?;
        Config::from_yaml(&text, &file, &|name| std::env::var(name).ok())
    }

    /// Parses config text; `file` names it in errors and `env` resolves `${VAR}`.
    pub fn from_yaml(
        text: &str,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let text = env::substitute(text, env).map_err(|message| Error::ConfigEnv {
            file: file.to_string(),
            message,
        })?;
        let syntax = |e: serde_yaml_ng::Error| Error::ConfigSyntax {
            file: file.to_string(),
            message: e.to_string(),
        };
        // An empty document (or one holding only comments) is a valid, all-default config.
        let probe: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(syntax)?;
        let raw = if probe.is_null() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(syntax)?
        };
        validate(raw, file)
    }

    /// The limits of `tenant`: its override, else the defaults.
    pub fn limits_for(&self, tenant: &TenantId) -> &Limits {
        self.overrides.get(tenant).unwrap_or(&self.limits)
    }

    /// The object store directory when it is local (explicit or `<data_dir>/objects`).
    pub fn local_object_path(&self) -> Option<PathBuf> {
        match &self.storage.object_store {
            ObjectStoreConfig::Local { path } => Some(
                path.clone()
                    .unwrap_or_else(|| self.storage.data_dir.join("objects")),
            ),
            ObjectStoreConfig::S3(_) => None,
        }
    }

    /// A human-readable description of where blocks go, for the startup message.
    pub fn object_store_description(&self) -> String {
        match (&self.storage.object_store, self.local_object_path()) {
            (_, Some(p)) => format!("local directory {}", p.display()),
            (ObjectStoreConfig::S3(s3), None) => {
                let mut d = format!("s3://{}/{}", s3.bucket, s3.prefix);
                if let Some(e) = &s3.endpoint {
                    d.push_str(&format!(" (endpoint {e})"));
                }
                d
            }
            (ObjectStoreConfig::Local { .. }, None) => unreachable!("local stores have a path"),
        }
    }
}

/// Validation context: the file name for errors.
struct V<'a> {
    file: &'a str,
}

impl V<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> Error {
        Error::ConfigValue {
            file: self.file.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn duration(&self, key: &str, v: Option<&String>, default: &str) -> Result<Duration> {
        parse_duration(v.map_or(default, String::as_str)).map_err(|m| self.err(key, m))
    }

    fn bytes(&self, key: &str, v: Option<&RawSize>, default: u64) -> Result<u64> {
        match v {
            None => Ok(default),
            Some(RawSize::Int(n)) => Ok(*n),
            Some(RawSize::Str(s)) => units::parse_bytes(s).map_err(|m| self.err(key, m)),
        }
    }

    fn positive<T: PartialEq + Default>(&self, key: &str, v: T, what: &str) -> Result<T> {
        if v == T::default() {
            return Err(self.err(key, format!("{what} must be greater than zero")));
        }
        Ok(v)
    }
}

const MIB: u64 = 1 << 20;

fn validate(raw: RawConfig, file: &str) -> Result<Config> {
    let v = V { file };
    let s = raw.server.unwrap_or_default();
    let listen_text = s.listen.as_deref().unwrap_or("0.0.0.0:9009");
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        v.err(
            "server.listen",
            format!("invalid listen address {listen_text:?}: expected IP:PORT, e.g. 0.0.0.0:9009"),
        )
    })?;
    let log_format = match s.log_format.as_deref().unwrap_or("text") {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(v.err(
                "server.log_format",
                format!("unknown log format {other:?}: use text or json"),
            ));
        }
    };
    let log_level = s.log_level.unwrap_or_else(|| "info".into());
    tracing_subscriber::EnvFilter::try_new(&log_level).map_err(|e| {
        v.err(
            "server.log_level",
            format!("invalid log level {log_level:?}: {e}"),
        )
    })?;
    let optional_listen =
        |key: &str, raw: Option<&String>, default: &str| -> Result<Option<SocketAddr>> {
            let text = raw.map_or(default, String::as_str).trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| {
                v.err(
                    key,
                    format!(
                        "invalid listen address {text:?}: expected IP:PORT, or empty to turn it off"
                    ),
                )
            })
        };
    let server = ServerConfig {
        forward_listen: optional_listen(
            "server.forward_listen",
            s.forward_listen.as_ref(),
            "0.0.0.0:24224",
        )?,
        otlp_grpc_listen: optional_listen(
            "server.otlp_grpc_listen",
            s.otlp_grpc_listen.as_ref(),
            "0.0.0.0:4317",
        )?,
        otlp_http_listen: optional_listen(
            "server.otlp_http_listen",
            s.otlp_http_listen.as_ref(),
            "0.0.0.0:4318",
        )?,
        listen,
        log_format,
        log_level,
        shutdown_timeout: v.duration(
            "server.shutdown_timeout",
            s.shutdown_timeout.as_ref(),
            "30s",
        )?,
        max_inflight_writes: v.positive(
            "server.max_inflight_writes",
            s.max_inflight_writes.unwrap_or(64),
            "max_inflight_writes",
        )?,
    };

    let st = raw.storage.unwrap_or_default();
    let os = st.object_store.unwrap_or_default();
    let object_store = match os.kind.as_deref().unwrap_or("local") {
        "local" => ObjectStoreConfig::Local {
            path: os
                .local
                .and_then(|l| l.path)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        },
        "s3" => {
            let s3 = os.s3.unwrap_or_default();
            let bucket = s3.bucket.filter(|b| !b.is_empty()).ok_or_else(|| {
                v.err(
                    "storage.object_store.s3.bucket",
                    "a bucket is required when storage.object_store.type is s3",
                )
            })?;
            let nonempty = |o: Option<String>| o.filter(|s| !s.is_empty());
            ObjectStoreConfig::S3(S3Config {
                bucket,
                region: nonempty(s3.region).unwrap_or_else(|| "us-east-1".into()),
                endpoint: nonempty(s3.endpoint),
                prefix: s3.prefix.unwrap_or_default().trim_matches('/').to_string(),
                path_style: s3.path_style.unwrap_or(false),
                allow_http: s3.allow_http.unwrap_or(false),
                access_key_id: nonempty(s3.access_key_id),
                secret_access_key: nonempty(s3.secret_access_key),
                session_token: nonempty(s3.session_token),
            })
        }
        other => {
            return Err(v.err(
                "storage.object_store.type",
                format!("unknown object store type {other:?}: use local or s3"),
            ));
        }
    };
    let block_range = v.positive(
        "storage.block_range",
        v.duration("storage.block_range", st.block_range.as_ref(), "2h")?,
        "block_range",
    )?;
    let comp = st.compaction.unwrap_or_default();
    let default_ranges = ["2h", "12h", "24h"].map(String::from).to_vec();
    let mut compaction_ranges = Vec::new();
    for (i, r) in comp.ranges.unwrap_or(default_ranges).iter().enumerate() {
        let key = format!("storage.compaction.ranges[{i}]");
        let d = v.duration(&key, Some(r), "")?;
        if compaction_ranges.last().is_some_and(|prev| *prev >= d) || d.is_zero() {
            return Err(v.err(
                &key,
                "compaction ranges must be non-zero and strictly ascending",
            ));
        }
        compaction_ranges.push(d);
    }
    let storage = StorageConfig {
        data_dir: PathBuf::from(
            st.data_dir
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "./data".into()),
        ),
        object_store,
        block_range,
        out_of_order_window: v.duration(
            "storage.out_of_order_window",
            st.out_of_order_window.as_ref(),
            "0s",
        )?,
        retention: v.positive(
            "storage.retention",
            v.duration("storage.retention", st.retention.as_ref(), "30d")?,
            "retention",
        )?,
        compaction_ranges,
        compaction_interval: v.positive(
            "storage.compaction.interval",
            v.duration("storage.compaction.interval", comp.interval.as_ref(), "1m")?,
            "compaction interval",
        )?,
        wal_segment_size: v.positive(
            "storage.wal.segment_size",
            v.bytes(
                "storage.wal.segment_size",
                st.wal.and_then(|w| w.segment_size).as_ref(),
                128 * MIB,
            )?,
            "segment_size",
        )?,
        cache_max_size: v.bytes(
            "storage.cache.max_size",
            st.cache.and_then(|c| c.max_size).as_ref(),
            256 * MIB,
        )?,
        logs: log_storage::validate(&v, st.logs)?,
        exemplars: ExemplarsConfig {
            max_exemplars: match st.exemplars.and_then(|e| e.max_exemplars) {
                None => cairn_store::DEFAULT_MAX_EXEMPLARS,
                Some(n) => usize::try_from(n).map_err(|_| {
                    v.err(
                        "storage.exemplars.max_exemplars",
                        format!("must not be negative, got {n}"),
                    )
                })?,
            },
        },
    };

    let mt = raw.multitenancy.unwrap_or_default();
    let default_tenant_text = mt
        .default_tenant
        .unwrap_or_else(|| TenantId::DEFAULT.into());
    let multitenancy = MultitenancyConfig {
        enabled: mt.enabled.unwrap_or(false),
        default_tenant: TenantId::new(&default_tenant_text)
            .map_err(|e| v.err("multitenancy.default_tenant", e.to_string()))?,
    };

    let builtin = Limits {
        max_request_body_size: 10 * MIB,
        max_decoded_size: 32 * MIB,
        max_labels_per_series: 30,
        max_label_name_length: 1024,
        max_label_value_length: 2048,
        max_series_per_request: 0,
        retention: None,
        logs: LogLimits::default(),
    };
    let limits = limits(&v, "limits", &builtin, &raw.limits.unwrap_or_default())?;
    let mut overrides = BTreeMap::new();
    for (tenant, raw_limits) in raw.overrides.unwrap_or_default() {
        let key = format!("overrides.{tenant}");
        let id = TenantId::new(&tenant).map_err(|e| v.err(&key, e.to_string()))?;
        overrides.insert(id, self::limits(&v, &key, &limits, &raw_limits)?);
    }
    let alertmanager = alertmanager::validate(&v, raw.alertmanager, file)?;
    let query = query::validate(&v, raw.query)?;
    let rules = rules::validate(&v, raw.rules, file)?;
    let slos = slos::validate(&v, raw.slos, file)?;
    let logs = logs::validate(&v, raw.logs)?;
    let traces = traces::validate(&v, raw.traces)?;
    let otlp = otlp::validate(&v, raw.otlp)?;
    Ok(Config {
        server,
        storage,
        multitenancy,
        limits,
        overrides,
        alertmanager,
        query,
        rules,
        slos,
        logs,
        traces,
        otlp,
    })
}

/// Paths (or globs) as written in the config file at `file`: relative ones are taken from the
/// file's folder, as Prometheus does for `rule_files`.
fn relative_to_file(file: &str, paths: Vec<String>) -> Vec<String> {
    let base = Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    paths
        .into_iter()
        .map(|g| match base {
            Some(b) if Path::new(&g).is_relative() => b.join(&g).display().to_string(),
            _ => g,
        })
        .collect()
}

fn limits(v: &V<'_>, prefix: &str, base: &Limits, raw: &RawLimits) -> Result<Limits> {
    let k = |f: &str| format!("{prefix}.{f}");
    let out = Limits {
        max_request_body_size: v.positive(
            &k("max_request_body_size"),
            v.bytes(
                &k("max_request_body_size"),
                raw.max_request_body_size.as_ref(),
                base.max_request_body_size,
            )?,
            "max_request_body_size",
        )?,
        max_decoded_size: v.positive(
            &k("max_decoded_size"),
            v.bytes(
                &k("max_decoded_size"),
                raw.max_decoded_size.as_ref(),
                base.max_decoded_size,
            )?,
            "max_decoded_size",
        )?,
        max_labels_per_series: raw
            .max_labels_per_series
            .unwrap_or(base.max_labels_per_series),
        max_label_name_length: raw
            .max_label_name_length
            .unwrap_or(base.max_label_name_length),
        max_label_value_length: raw
            .max_label_value_length
            .unwrap_or(base.max_label_value_length),
        max_series_per_request: raw
            .max_series_per_request
            .unwrap_or(base.max_series_per_request),
        retention: match &raw.retention {
            Some(r) => Some(v.positive(
                &k("retention"),
                v.duration(&k("retention"), Some(r), "")?,
                "retention",
            )?),
            None => base.retention,
        },
        logs: log_limits::validate(
            v,
            &k("logs"),
            &base.logs,
            &raw.logs.clone().unwrap_or_default(),
        )?,
    };
    if usize::try_from(out.max_decoded_size).is_err() {
        return Err(v.err(&k("max_decoded_size"), "too large for this platform"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
