//! The OTLP resources: one per pod of each service, with the attributes the OpenTelemetry
//! Operator and the SDKs' resource detectors put there (`service.*`, `k8s.*`, `host.*`,
//! `telemetry.sdk.*`, `cloud.*`).

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::attrs::{kv_i, kv_s};
use super::topology::SERVICES;
use crate::rng::Rng;

/// The cluster's name.
pub(crate) const CLUSTER: &str = "prod-eu-west-1";
/// The Kubernetes namespace of the shop.
pub(crate) const NAMESPACE: &str = "shop";

/// Every pod of every service, as OTLP resources, and each service's scope.
#[derive(Debug, Clone)]
pub(crate) struct Resources {
    /// Resource index of the first pod of each service.
    first: Vec<u32>,
    /// The resources.
    pub(crate) resources: Vec<Resource>,
    /// The service of each resource.
    pub(crate) service_of: Vec<usize>,
    /// The pod IP of each resource.
    pub(crate) ip: Vec<String>,
    /// The instrumentation scope of each service.
    pub(crate) scopes: Vec<InstrumentationScope>,
}

fn hex(rng: &mut Rng, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| HEX[rng.index_uncounted(16) as usize] as char)
        .collect()
}

/// An RFC 4122-looking id drawn from `rng`.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-4{}-a{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 3),
        hex(rng, 3),
        hex(rng, 12)
    )
}

impl Resources {
    /// The pods of the shop; names and ids depend only on the seed.
    pub(crate) fn new(seed: u64) -> Resources {
        let mut rng = Rng::derive(seed, 0x5e50_u64);
        let mut r = Resources {
            first: Vec::new(),
            resources: Vec::new(),
            service_of: Vec::new(),
            ip: Vec::new(),
            scopes: Vec::new(),
        };
        for (s, svc) in SERVICES.iter().enumerate() {
            r.first.push(r.resources.len() as u32);
            r.scopes.push(InstrumentationScope {
                name: svc.scope.to_string(),
                version: "0.57.0".to_string(),
                ..Default::default()
            });
            let replicaset = hex(&mut rng, 10);
            for pod in 0..svc.replicas {
                let pod_name = format!("{}-{replicaset}-{}", svc.name, hex(&mut rng, 5));
                let node = format!(
                    "ip-10-0-{}-{}.eu-west-1.compute.internal",
                    16 + rng.index_uncounted(16),
                    rng.index_uncounted(250) + 2
                );
                let ip = format!("10.42.{}.{}", s + 1, pod + 10);
                let (sdk_lang, runtime) = match svc.language {
                    "go" => ("go", "go"),
                    "java" => ("java", "OpenJDK Runtime Environment"),
                    "nodejs" => ("nodejs", "nodejs"),
                    "python" => ("python", "cpython"),
                    "dotnet" => ("dotnet", ".NET"),
                    "ruby" => ("ruby", "ruby"),
                    "php" => ("php", "cli"),
                    "rust" => ("rust", "rustc"),
                    _ => ("cpp", "native"),
                };
                let attributes = vec![
                    kv_s("service.name", svc.name),
                    kv_s("service.namespace", "opentelemetry-demo"),
                    kv_s("service.version", svc.version),
                    kv_s("service.instance.id", uuid(&mut rng)),
                    kv_s("deployment.environment.name", "production"),
                    kv_s("k8s.cluster.name", CLUSTER),
                    kv_s("k8s.namespace.name", NAMESPACE),
                    kv_s("k8s.deployment.name", svc.name),
                    kv_s("k8s.pod.name", pod_name.clone()),
                    kv_s("k8s.pod.uid", uuid(&mut rng)),
                    kv_s("k8s.pod.ip", ip.clone()),
                    kv_s("k8s.node.name", node),
                    kv_s("k8s.container.name", svc.name),
                    kv_s("host.name", pod_name),
                    kv_s("cloud.provider", "aws"),
                    kv_s("cloud.region", "eu-west-1"),
                    kv_s("telemetry.sdk.name", "opentelemetry"),
                    kv_s("telemetry.sdk.language", sdk_lang),
                    kv_s("telemetry.sdk.version", "1.38.0"),
                    kv_s("process.runtime.name", runtime),
                    kv_i("process.pid", 1 + rng.index_uncounted(60) as i64),
                ];
                r.resources.push(Resource {
                    attributes,
                    ..Default::default()
                });
                r.service_of.push(s);
                r.ip.push(ip);
            }
        }
        r
    }

    /// The resource index of pod `replica` of service `service`.
    pub(crate) fn pod(&self, service: usize, replica: u32) -> u32 {
        self.first[service] + replica
    }
}
