//! The corpus plan: which pods run when, hence which streams exist, and how many lines per
//! second each writes at every minute of the window.
//!
//! Each cluster runs the catalog's workloads. Deployments scale with traffic (a horizontal
//! pod autoscaler following the daily curve), are rolled out now and then (new replica-set
//! hash, pods replaced one by one) and lose a pod to a crash now and then; stateful sets and
//! daemon sets keep their pods. Traffic follows the users' day in each cluster's time zone,
//! and incidents (a few minutes of a workload failing) raise both the volume and the share of
//! errors. Rates are scaled so that the expected raw size of all lines is the target.

use super::catalog::{APPS, AppDef, CLUSTERS, ClusterDef, WorkloadKind, Writer};
use super::text::{push_k8s_suffix, push_label_value};
use super::write::Source;
use crate::rng::Rng;

/// Length of a rate step: rates and incident stress are constant within a minute.
pub(crate) const STEP_NS: i64 = 60_000_000_000;

/// What corpus to generate. The same spec always yields the same lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorpusSpec {
    /// Seed of every random choice.
    pub seed: u64,
    /// First nanosecond of the window.
    pub start_ns: i64,
    /// End of the window (exclusive).
    pub end_ns: i64,
    /// Expected raw bytes of all lines.
    pub target_bytes: u64,
    /// Number of clusters (1 to 6, from the catalog's list).
    pub clusters: usize,
}

/// One stream: a container of a pod, alive for part of the window.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// Labels sorted by name.
    pub labels: Vec<(String, String)>,
    /// The labels in selector syntax (`{app="x", cluster="y"}`), as Promtail sends them.
    pub selector: String,
    /// First nanosecond it may write (its pod's start, or the window's start).
    pub birth_ns: i64,
    /// End of its life (its pod's end, or the window's end), exclusive.
    pub death_ns: i64,
    /// Index of the node its pod runs on, over all clusters (agents ship per node).
    pub node: u32,
    pub(crate) instance: u32,
    pub(crate) writer: Writer,
    pub(crate) source: Source,
    /// Lines per second at unit traffic.
    pub(crate) rate: f64,
    pub(crate) seed: u64,
}

impl StreamPlan {
    /// The format family its lines are written in.
    pub fn format(&self) -> super::catalog::Format {
        self.writer.format()
    }

    /// The value of label `name`, if any.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A workload in a cluster: its traffic per minute.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// Traffic factor divided by running replicas, per step.
    pub(crate) per_pod: Vec<f64>,
    /// Incident stress per step.
    pub(crate) stress: Vec<f32>,
}

/// Daily traffic curve: peak at 14:00 local time, trough at 02:00 (0.55 to 1.45).
fn diurnal(t_ns: i64, cluster: &ClusterDef) -> f64 {
    let hours = t_ns as f64 / 3.6e12 + cluster.utc_offset_h;
    let h = hours.rem_euclid(24.0);
    if cluster.staging {
        // Staging is busy when its engineers are.
        let c = (std::f64::consts::TAU * (h - 13.5) / 24.0).cos().max(0.0);
        0.4 + 0.6 * c * c
    } else {
        1.0 + 0.45 * (std::f64::consts::TAU * (h - 14.0) / 24.0).cos()
    }
}

struct Pod {
    name: String,
    node: u32,
    birth_ns: i64,
    death_ns: i64,
}

/// Builds the pods of one workload in one cluster over the window.
struct PodSim<'a> {
    app: &'a AppDef,
    rng: Rng,
    nodes: u32,
    start_ns: i64,
    end_ns: i64,
    done: Vec<Pod>,
    running: Vec<Pod>,
    rs_hash: String,
}

impl PodSim<'_> {
    fn rs_hash(rng: &mut Rng) -> String {
        let mut v = Vec::with_capacity(10);
        push_k8s_suffix(&mut v, rng.next_u64(), 10);
        String::from_utf8(v).expect("alphabet is ASCII")
    }

    fn new_pod(&mut self, ordinal: usize, birth_ns: i64) -> Pod {
        let mut name = Vec::with_capacity(48);
        name.extend_from_slice(self.app.name.as_bytes());
        name.push(b'-');
        match self.app.kind {
            WorkloadKind::Deployment => {
                name.extend_from_slice(self.rs_hash.as_bytes());
                name.push(b'-');
                push_k8s_suffix(&mut name, self.rng.next_u64(), 5);
            }
            WorkloadKind::StatefulSet => name.extend_from_slice(ordinal.to_string().as_bytes()),
            WorkloadKind::DaemonSet => push_k8s_suffix(&mut name, self.rng.next_u64(), 5),
        }
        let node = match self.app.kind {
            WorkloadKind::DaemonSet => ordinal as u32,
            _ => self.rng.index(u64::from(self.nodes)) as u32,
        };
        Pod {
            name: String::from_utf8(name).expect("ASCII name"),
            node,
            birth_ns,
            death_ns: self.end_ns,
        }
    }

    fn stop(&mut self, idx: usize, at_ns: i64) {
        let mut pod = self.running.remove(idx);
        pod.death_ns = at_ns.clamp(pod.birth_ns + 1, self.end_ns);
        if pod.death_ns > self.start_ns {
            self.done.push(pod);
        }
    }

    fn run(mut self, replicas: &[u32], days: f64, staging: bool) -> Vec<Pod> {
        let initial = match self.app.kind {
            WorkloadKind::DaemonSet => self.nodes as usize,
            _ => replicas.first().copied().unwrap_or(1) as usize,
        };
        for i in 0..initial {
            // Pods already running when the window opens.
            let birth = self.start_ns - 1 - self.rng.index(3 * 86_400_000_000_000) as i64;
            let pod = self.new_pod(i, birth);
            self.running.push(pod);
        }
        if self.app.kind == WorkloadKind::Deployment {
            let mut events: Vec<(i64, u8)> = Vec::new();
            let churn = if staging { 3.0 } else { 1.0 };
            let span = (self.end_ns - self.start_ns) as u64;
            let rollouts = poisson(&mut self.rng, self.app.rollouts_per_day * days * churn);
            for _ in 0..rollouts {
                events.push((self.start_ns + self.rng.index(span) as i64, 0));
            }
            // Crash loops and evictions: 2 % of pods a day.
            let crashes = poisson(
                &mut self.rng,
                0.02 * days * f64::from(self.app.replicas.1.max(1)),
            );
            for _ in 0..crashes {
                events.push((self.start_ns + self.rng.index(span) as i64, 1));
            }
            // The autoscaler looks every five minutes.
            let mut t = self.start_ns + 5 * STEP_NS;
            while t < self.end_ns {
                events.push((t, 2));
                t += 5 * STEP_NS;
            }
            events.sort_unstable();
            for (at, kind) in events {
                match kind {
                    0 => self.rollout(at),
                    1 if !self.running.is_empty() => {
                        let i = self.rng.index(self.running.len() as u64) as usize;
                        self.stop(i, at);
                        let birth = at + 3_000_000_000 + self.rng.index(12_000_000_000) as i64;
                        let pod = self.new_pod(0, birth);
                        self.running.push(pod);
                    }
                    _ => {
                        let step = ((at - self.start_ns) / STEP_NS) as usize;
                        let want = replicas.get(step).copied().unwrap_or(1) as usize;
                        while self.running.len() < want {
                            let birth = at + 5_000_000_000 + self.rng.index(35_000_000_000) as i64;
                            let pod = self.new_pod(0, birth);
                            self.running.push(pod);
                        }
                        while self.running.len() > want {
                            // The newest pods go first.
                            let last = self.running.len() - 1;
                            let stop_at = at + self.rng.index(30_000_000_000) as i64;
                            self.stop(last, stop_at);
                        }
                    }
                }
            }
        }
        let end = self.end_ns;
        for pod in self.running.drain(..) {
            if pod.birth_ns < end {
                self.done.push(pod);
            }
        }
        self.done
    }

    /// A rolling update: a new replica set, each old pod replaced 20 s after the previous.
    fn rollout(&mut self, at: i64) {
        self.rs_hash = Self::rs_hash(&mut self.rng);
        let n = self.running.len();
        let mut fresh = Vec::with_capacity(n);
        for i in 0..n {
            let birth = at + i as i64 * 20_000_000_000;
            fresh.push(self.new_pod(i, birth));
        }
        for i in (0..n).rev() {
            self.stop(i, at + i as i64 * 20_000_000_000 + 15_000_000_000);
        }
        self.running = fresh;
    }
}

fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    // Knuth's method: means here are a few units.
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.f64();
        if p <= l || k > 1000 {
            return k;
        }
        k += 1;
    }
}

fn node_name(cluster: u32, def: &ClusterDef, node: u32) -> String {
    let h = (u64::from(node) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(cluster);
    format!(
        "ip-10-{}-{}-{}.{}.compute.internal",
        16 + cluster,
        (h >> 20) % 64,
        2 + (h >> 40) % 250,
        def.region
    )
}

fn site_host(app: &AppDef) -> &'static str {
    match app.name {
        "static-assets" => "static.shop.example",
        "docs" => "docs.shop.example",
        _ => "www.shop.example",
    }
}

/// The plan before the rate scale is known: streams with unit rates.
pub(crate) struct Plan {
    pub(crate) streams: Vec<StreamPlan>,
    pub(crate) instances: Vec<Instance>,
    /// For each stream, its expected bytes-weight at scale 1 (to solve for the scale).
    pub(crate) weight_integral: Vec<f64>,
    /// Byte weight of each stream's container.
    pub(crate) byte_weight: Vec<f64>,
}

/// Lays out clusters, workloads, pods and streams; rates are still per unit weight.
pub(crate) fn lay_out(spec: &CorpusSpec) -> Plan {
    let steps = ((spec.end_ns - spec.start_ns).max(1) + STEP_NS - 1) / STEP_NS;
    let steps = steps as usize;
    let days = (spec.end_ns - spec.start_ns) as f64 / 86_400e9;
    let mut streams = Vec::new();
    let mut instances = Vec::new();
    let mut weight_integral = Vec::new();
    let mut byte_weight = Vec::new();
    let mut node_base = 0u32;
    for (ci, cdef) in CLUSTERS
        .iter()
        .take(spec.clusters.clamp(1, CLUSTERS.len()))
        .enumerate()
    {
        let ci = ci as u32;
        let nodes: Vec<String> = (0..cdef.nodes).map(|n| node_name(ci, cdef, n)).collect();
        let mut crng = Rng::derive(spec.seed, 1_000 + u64::from(ci));
        let salt = crng.next_u64();
        for (ai, app) in APPS.iter().enumerate() {
            let mut arng = Rng::derive(spec.seed, 10_000 + u64::from(ci) * 1_000 + ai as u64);
            // Incidents: a few minutes of the workload failing.
            let mut stress = vec![0f32; steps];
            let rate = app.incidents_per_day * if cdef.staging { 0.5 } else { 1.0 };
            for _ in 0..poisson(&mut arng, rate * days) {
                let at = arng.index(steps as u64) as usize;
                let len = 4 + arng.index(27) as usize;
                let intensity = 0.3 + 0.7 * arng.f64() as f32;
                for s in stress.iter_mut().skip(at).take(len) {
                    *s = s.max(intensity);
                }
            }
            let traffic: Vec<f64> = (0..steps)
                .map(|s| {
                    let t = spec.start_ns + s as i64 * STEP_NS + STEP_NS / 2;
                    cdef.traffic * diurnal(t, cdef) * (1.0 + 1.5 * f64::from(stress[s]))
                })
                .collect();
            let (lo, hi) = if cdef.staging {
                (1, (app.replicas.0 / 2).max(1))
            } else {
                app.replicas
            };
            let replicas: Vec<u32> = traffic
                .iter()
                .map(|f| {
                    if app.kind == WorkloadKind::DaemonSet {
                        cdef.nodes
                    } else {
                        // Replicas follow traffic between the autoscaler's bounds.
                        let x = ((f / cdef.traffic - 0.6) / 0.8).clamp(0.0, 1.0);
                        lo + ((f64::from(hi - lo)) * x).round() as u32
                    }
                })
                .collect();
            let per_pod: Vec<f64> = traffic
                .iter()
                .zip(&replicas)
                .map(|(f, r)| f / f64::from((*r).max(1)))
                .collect();
            let sim = PodSim {
                app,
                rng: Rng::derive(spec.seed, 20_000 + u64::from(ci) * 1_000 + ai as u64),
                nodes: cdef.nodes,
                start_ns: spec.start_ns,
                end_ns: spec.end_ns,
                done: Vec::new(),
                running: Vec::new(),
                rs_hash: PodSim::rs_hash(&mut arng),
            };
            let mut pods = sim.run(&replicas, days, cdef.staging);
            pods.sort_by(|a, b| (a.birth_ns, &a.name).cmp(&(b.birth_ns, &b.name)));
            let instance = instances.len() as u32;
            for pod in pods {
                let birth = pod.birth_ns.max(spec.start_ns);
                let death = pod.death_ns.min(spec.end_ns);
                if death <= birth {
                    continue;
                }
                for c in app.containers {
                    let app_label = if app.namespace == "ingress-nginx" {
                        "ingress-nginx"
                    } else {
                        app.name
                    };
                    let labels = vec![
                        ("app".to_string(), app_label.to_string()),
                        ("cluster".to_string(), cdef.name.to_string()),
                        ("container".to_string(), c.name.to_string()),
                        ("namespace".to_string(), app.namespace.to_string()),
                        (
                            "node".to_string(),
                            nodes[pod.node as usize % nodes.len()].clone(),
                        ),
                        ("pod".to_string(), pod.name.clone()),
                    ];
                    let mut sel = Vec::with_capacity(160);
                    sel.push(b'{');
                    for (i, (n, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            sel.extend_from_slice(b", ");
                        }
                        sel.extend_from_slice(n.as_bytes());
                        sel.push(b'=');
                        push_label_value(&mut sel, v);
                    }
                    sel.push(b'}');
                    // Replicas of one workload do not log exactly alike.
                    let jitter = (0.2 * arng.normal() - 0.02).exp();
                    let idx = streams.len() as u64;
                    let first = ((birth - spec.start_ns) / STEP_NS) as usize;
                    let last = (((death - spec.start_ns) + STEP_NS - 1) / STEP_NS) as usize;
                    let mut integral = 0.0;
                    for (s, rate) in per_pod.iter().enumerate().take(last.min(steps)).skip(first) {
                        let s0 = spec.start_ns + s as i64 * STEP_NS;
                        let lo_ns = s0.max(birth);
                        let hi_ns = (s0 + STEP_NS).min(death);
                        if hi_ns > lo_ns {
                            integral += rate * (hi_ns - lo_ns) as f64 / 1e9;
                        }
                    }
                    weight_integral.push(integral * jitter * c.weight);
                    byte_weight.push(c.weight);
                    streams.push(StreamPlan {
                        labels,
                        selector: String::from_utf8(sel).expect("ASCII selector"),
                        birth_ns: birth,
                        death_ns: death,
                        node: node_base + pod.node,
                        instance,
                        writer: c.writer,
                        source: Source {
                            cluster: ci,
                            salt,
                            pod: pod.name.clone(),
                            host: site_host(app),
                            worker_pid: 20 + (crng.next_u64() % 60) as u32,
                        },
                        rate: jitter,
                        seed: Rng::derive(spec.seed, 1 << 32 | idx).next_u64(),
                    });
                }
            }
            instances.push(Instance { per_pod, stress });
        }
        node_base += cdef.nodes;
    }
    Plan {
        streams,
        instances,
        weight_integral,
        byte_weight,
    }
}
