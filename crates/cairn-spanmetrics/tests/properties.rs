//! Properties over random span streams: counters never decrease while a series lives,
//! histogram buckets are cumulative with `+Inf` equal to `_count`, every value is finite and
//! not negative, and one collection writes each series once at its time.

#[path = "support/spans.rs"]
mod spans;

use std::collections::{BTreeMap, HashMap};

use cairn_model::{Labels, SpanKind, StatusCode, TraceBatch};
use cairn_spanmetrics::{Generator, GeneratorConfig};
use proptest::prelude::*;
use spans::{SpanExt, batch, resource, span};

const CONFIG: &str = "
processors: [span-metrics, service-graphs, service-graphs-connection-info]
stale_duration: 1m
processor:
  span_metrics:
    span_multiplier_key: ratio
    enable_target_info: true
    histogram_buckets: [0.001, 0.01, 0.1, 1, 10]
  service_graphs:
    max_items: 5
    span_multiplier_key: ratio
    enable_messaging_system_latency_histogram: true
";

#[derive(Clone, Debug)]
struct SpanSpec {
    service: u8,
    trace: u8,
    id: u8,
    parent: Option<u8>,
    kind: u8,
    name: u8,
    error: bool,
    start_ms: u64,
    dur_ms: u64,
    ratio: Option<f64>,
}

#[derive(Clone, Debug)]
enum Step {
    Observe(Vec<SpanSpec>),
    Collect,
}

fn span_spec() -> impl Strategy<Value = SpanSpec> {
    (
        (0u8..3, 0u8..4, 1u8..6, proptest::option::of(1u8..6), 0u8..6),
        (0u8..3, any::<bool>(), 0u64..1_000, 0u64..20_000),
        proptest::option::of(prop_oneof![Just(0.1), Just(0.5), Just(1.0)]),
    )
        .prop_map(
            |((service, trace, id, parent, kind), (name, error, start_ms, dur_ms), ratio)| {
                SpanSpec {
                    service,
                    trace,
                    id,
                    parent,
                    kind,
                    name,
                    error,
                    start_ms,
                    dur_ms,
                    ratio,
                }
            },
        )
}

fn steps() -> impl Strategy<Value = Vec<(u64, Step)>> {
    let step = prop_oneof![
        3 => proptest::collection::vec(span_spec(), 1..8).prop_map(Step::Observe),
        1 => Just(Step::Collect),
    ];
    proptest::collection::vec((0u64..40_000, step), 1..40)
}

fn to_batch(specs: &[SpanSpec]) -> TraceBatch {
    let services = ["a", "b", "c"];
    let names = ["GET /", "SELECT", "send"];
    let groups = specs
        .iter()
        .map(|s| {
            let mut sp = span(
                s.trace,
                s.id,
                s.parent,
                SpanKind::from_i32(i32::from(s.kind)),
                names[usize::from(s.name)],
                0,
            )
            .times(s.start_ms, s.dur_ms);
            if s.error {
                sp = sp.status(StatusCode::Error);
            }
            if let Some(r) = s.ratio {
                sp = sp.attr("ratio", r);
            }
            let res = resource(services[usize::from(s.service)], &[("host.name", "h")]);
            (res, vec![sp])
        })
        .collect();
    batch(groups)
}

fn cumulative(name: &str) -> bool {
    ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .any(|s| name.ends_with(s))
}

fn le_value(l: &Labels) -> f64 {
    match l.get("le") {
        Some("+Inf") => f64::INFINITY,
        Some(v) => v.parse().unwrap_or(f64::NAN),
        None => f64::NAN,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn counters_never_decrease_and_buckets_are_cumulative(steps in steps()) {
        let cfg: GeneratorConfig = serde_yaml_ng::from_str(CONFIG).expect("config parses");
        let mut g = Generator::new(cfg).expect("config is valid");
        let mut now: i64 = 1_000_000;
        let mut previous: HashMap<Labels, f64> = HashMap::new();
        for (advance, step) in steps.into_iter().chain([(70_000, Step::Collect)]) {
            now += advance as i64;
            match step {
                Step::Observe(specs) => g.observe(&to_batch(&specs), now),
                Step::Collect => {
                    let out = g.collect(now);
                    let mut current: HashMap<Labels, f64> = HashMap::new();
                    // Buckets by their series without `le`: (le, value).
                    let mut buckets: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
                    for (labels, sample) in &out {
                        prop_assert!(sample.v.is_finite() && sample.v >= 0.0, "{labels} {sample:?}");
                        prop_assert!(sample.t <= now);
                        if sample.t != now {
                            // Only a new series' leading zero is written before `now`.
                            prop_assert_eq!(sample.v, 0.0);
                            prop_assert!(!previous.contains_key(labels), "zero for a live series {}", labels);
                            continue;
                        }
                        prop_assert!(current.insert(labels.clone(), sample.v).is_none(), "{} twice", labels);
                        let name = labels.metric_name().unwrap_or_default();
                        if cumulative(name)
                            && let Some(before) = previous.get(labels)
                        {
                            prop_assert!(sample.v >= *before, "{} went from {} to {}", labels, before, sample.v);
                        }
                        if name.ends_with("_bucket") {
                            buckets
                                .entry(labels.without(|n| n == "le"))
                                .or_default()
                                .push((le_value(labels), sample.v));
                        }
                        if name.ends_with("_info") {
                            prop_assert_eq!(sample.v, 1.0);
                        }
                    }
                    for (series, mut bs) in buckets {
                        bs.sort_by(|a, b| a.0.total_cmp(&b.0));
                        for w in bs.windows(2) {
                            prop_assert!(w[0].1 <= w[1].1, "{} not cumulative: {:?}", series, bs);
                        }
                        let last = bs.last().copied().unwrap_or((0.0, 0.0));
                        prop_assert_eq!(last.0, f64::INFINITY);
                        let base = series.metric_name().unwrap_or_default().trim_end_matches("_bucket").to_string();
                        let count = series.to_builder().set("__name__", &format!("{base}_count")).build();
                        prop_assert_eq!(current.get(&count).copied(), Some(last.1), "{}", series);
                    }
                    prop_assert_eq!(g.stats().active_series, current.len());
                    previous = current;
                }
            }
        }
        // 70 s after the last step every edge is past its wait (the last collection settled
        // them, which may have made new series); a minute later every series is stale.
        prop_assert_eq!(g.stats().graph.pending, 0);
        prop_assert!(g.collect(now + 60_001).is_empty());
    }
}
