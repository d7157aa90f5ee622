//! What runs in each cluster: namespaces, workloads, their containers, the format each
//! container logs in, the endpoints it serves and the events it reports.
//!
//! Namespaces are homogeneous where the benchmark queries them: everything in `shop` logs
//! JSON and everything in `platform` logs logfmt, so `| json` and `| logfmt` over those
//! namespaces parse every line, as they would in a team that standardised its logging.

use super::fields::Kind;

/// One endpoint: what a request line looks like and how heavy it is.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) method: &'static str,
    /// Path template (see `fields::push_path`).
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    pub(crate) weight: u32,
    /// Median latency.
    pub(crate) median_ms: f64,
    /// Median response size in bytes.
    pub(crate) size: u32,
    /// The backend an ingress sends it to (`namespace-service-port`), empty elsewhere.
    pub(crate) upstream: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    kind: Kind,
    weight: u32,
    median_ms: f64,
    size: u32,
) -> Route {
    Route {
        method,
        path,
        kind,
        weight,
        median_ms,
        size,
        upstream: "",
    }
}

const fn u(
    method: &'static str,
    path: &'static str,
    kind: Kind,
    weight: u32,
    median_ms: f64,
    size: u32,
    upstream: &'static str,
) -> Route {
    Route {
        method,
        path,
        kind,
        weight,
        median_ms,
        size,
        upstream,
    }
}

/// Severity of an application event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A field an event carries; the writer draws its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum F {
    User,
    Order,
    Sku,
    /// `amount_cents` and `currency`.
    Amount,
    Items,
    Provider,
    Attempt,
    DurationMs,
    CacheKey,
    Query,
    Count,
    Region,
    Job,
    Channel,
    Topic,
    Model,
    Client,
    Block,
    Target,
}

/// A non-request log event.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) level: Level,
    pub(crate) msg: &'static str,
    pub(crate) fields: &'static [F],
    pub(crate) weight: u32,
    /// For errors: the error text, and which of the language's stack traces comes with it
    /// (`usize::MAX`: none).
    pub(crate) error: &'static str,
    pub(crate) stack: usize,
}

const NO_STACK: usize = usize::MAX;

const fn e(level: Level, msg: &'static str, fields: &'static [F], weight: u32) -> Event {
    Event {
        level,
        msg,
        fields,
        weight,
        error: "",
        stack: NO_STACK,
    }
}

const fn err(
    msg: &'static str,
    fields: &'static [F],
    weight: u32,
    error: &'static str,
    stack: usize,
) -> Event {
    Event {
        level: Level::Error,
        msg,
        fields,
        weight,
        error,
        stack,
    }
}

/// An application: its endpoints and events.
#[derive(Debug)]
pub(crate) struct Service {
    /// Logger name (Java package, Go module, Python logger).
    pub(crate) logger: &'static str,
    /// Source locations for `caller` fields.
    pub(crate) callers: &'static [&'static str],
    /// Per mille of lines that are request logs.
    pub(crate) request_share: u32,
    pub(crate) routes: &'static [Route],
    pub(crate) events: &'static [Event],
}

/// How an application container writes its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppStyle {
    /// logstash-logback-encoder (Spring Boot).
    Logback,
    /// zap's production JSON encoder with ISO 8601 times.
    Zap,
    /// structlog's JSONRenderer.
    Structlog,
    /// pino with string levels.
    Pino,
    /// go-kit/log logfmt (`ts= caller= level= msg=`).
    GoKit,
    /// logrus' text formatter (`time= level= msg=`).
    Logrus,
    /// `level= ts= caller= msg=` (Loki, Thanos).
    LevelFirst,
    /// Grafana's own logfmt (`logger= t= level= msg=`).
    Grafana,
}

impl AppStyle {
    /// True for the JSON styles.
    pub(crate) fn is_json(self) -> bool {
        matches!(
            self,
            AppStyle::Logback | AppStyle::Zap | AppStyle::Structlog | AppStyle::Pino
        )
    }
}

/// What a container writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Writer {
    /// nginx combined access log (and now and then its error log) for a site.
    Nginx(&'static [Route]),
    /// ingress-nginx controller's access log format.
    Ingress,
    /// An application log.
    App(AppStyle, &'static Service),
}

/// The wire format family of a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// nginx access and error logs.
    Nginx,
    /// One JSON object per line.
    Json,
    /// logfmt key=value pairs.
    Logfmt,
}

impl Writer {
    pub(crate) fn format(self) -> Format {
        match self {
            Writer::Nginx(_) | Writer::Ingress => Format::Nginx,
            Writer::App(style, _) if style.is_json() => Format::Json,
            Writer::App(..) => Format::Logfmt,
        }
    }
}

/// One container of a workload's pods.
#[derive(Debug)]
pub(crate) struct ContainerDef {
    pub(crate) name: &'static str,
    /// Share of a production cluster's log bytes.
    pub(crate) weight: f64,
    pub(crate) writer: Writer,
}

/// How pods of a workload are named and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkloadKind {
    /// `<name>-<replica-set hash>-<5 chars>`; rollouts change the hash.
    Deployment,
    /// `<name>-<ordinal>`, stable names.
    StatefulSet,
    /// `<name>-<5 chars>`, one pod per node.
    DaemonSet,
}

/// A workload.
#[derive(Debug)]
pub(crate) struct AppDef {
    pub(crate) namespace: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: WorkloadKind,
    /// Replicas in production: (min, max); max > min means a horizontal pod autoscaler
    /// follows the traffic.
    pub(crate) replicas: (u32, u32),
    pub(crate) containers: &'static [ContainerDef],
    pub(crate) rollouts_per_day: f64,
    pub(crate) incidents_per_day: f64,
}

/// A cluster: its name, region, traffic relative to the first one, and UTC offset of its
/// users (the daily peak is at 14:00 local time).
#[derive(Debug)]
pub(crate) struct ClusterDef {
    pub(crate) name: &'static str,
    pub(crate) region: &'static str,
    pub(crate) traffic: f64,
    pub(crate) utc_offset_h: f64,
    pub(crate) nodes: u32,
    pub(crate) staging: bool,
}

pub(crate) const CLUSTERS: &[ClusterDef] = &[
    ClusterDef {
        name: "prod-eu-west-1",
        region: "eu-west-1",
        traffic: 1.0,
        utc_offset_h: 1.0,
        nodes: 24,
        staging: false,
    },
    ClusterDef {
        name: "prod-us-east-1",
        region: "us-east-1",
        traffic: 1.25,
        utc_offset_h: -5.0,
        nodes: 28,
        staging: false,
    },
    ClusterDef {
        name: "staging-eu-west-1",
        region: "eu-west-1",
        traffic: 0.12,
        utc_offset_h: 1.0,
        nodes: 6,
        staging: true,
    },
    ClusterDef {
        name: "prod-ap-southeast-1",
        region: "ap-southeast-1",
        traffic: 0.6,
        utc_offset_h: 8.0,
        nodes: 16,
        staging: false,
    },
    ClusterDef {
        name: "prod-eu-central-1",
        region: "eu-central-1",
        traffic: 0.8,
        utc_offset_h: 1.0,
        nodes: 20,
        staging: false,
    },
    ClusterDef {
        name: "prod-us-west-2",
        region: "us-west-2",
        traffic: 0.9,
        utc_offset_h: -8.0,
        nodes: 22,
        staging: false,
    },
];

mod apps;
mod services;
mod sites;

pub(crate) use apps::APPS;
pub(crate) use sites::INGRESS_ROUTES;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queried_namespaces_are_homogeneous() {
        for app in APPS {
            for c in app.containers {
                match app.namespace {
                    "shop" => assert_eq!(c.writer.format(), Format::Json, "{}", app.name),
                    "platform" => assert_eq!(c.writer.format(), Format::Logfmt, "{}", app.name),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn names_are_unique_and_valid_kubernetes_names() {
        let mut seen = std::collections::HashSet::new();
        for app in APPS {
            assert!(seen.insert((app.namespace, app.name)));
            assert!(app.replicas.0 >= 1 && app.replicas.0 <= app.replicas.1);
            for n in [app.namespace, app.name] {
                assert!(
                    n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                );
            }
        }
        assert!(CLUSTERS.iter().all(|c| c.nodes > 0));
    }
}
