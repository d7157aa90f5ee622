use std::collections::{BTreeMap, HashMap};

use cairn_model::{AttrValue, StatusCode, find_attr};
use cairn_wire::{TraceDecodeLimits, decode_content_encoding, decode_otlp_traces};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use super::batch::generate_part;
use super::expect::{ERROR_SERVICE, Tally, TraceExpect};
use super::generate::{Generator, MAX_TRACE_NS};
use super::plan::{GAP_NS, TracePlan, TraceSpec, WINDOWS};
use super::topology::SERVICES;

const HOUR: i64 = 3_600_000_000_000;
const END: i64 = 1_780_000_000_000_000_000;

fn plan(spans: u64, hours: i64) -> TracePlan {
    TracePlan::new(TraceSpec {
        seed: 7,
        start_ns: END - hours * HOUR,
        end_ns: END,
        target_spans: spans,
        samples: 50,
    })
}

/// Every request of the plan, sent over `parts` connections, and the merged tally.
fn requests(plan: &TracePlan, parts: u64, batch: usize) -> (Vec<(Vec<u8>, usize)>, TraceExpect) {
    let g = Generator::new(plan.spec.seed);
    let mut out = Vec::new();
    let mut tally = Tally::new(ERROR_SERVICE);
    for part in 0..parts {
        let t = generate_part(plan, &g, ERROR_SERVICE, part, parts, batch, |req, n| {
            out.push((req.encode_to_vec(), n));
            true
        });
        tally.merge(&t);
    }
    (out, tally.finish(plan))
}

fn decode(body: &[u8]) -> cairn_wire::DecodedTraces {
    decode_otlp_traces(
        Some("application/x-protobuf"),
        body,
        &TraceDecodeLimits::default(),
    )
    .expect("a generated request decodes")
}

#[test]
fn same_spec_same_traces_whatever_the_connections() {
    let p = plan(20_000, 2);
    let (a, ea) = requests(&p, 1, 1000);
    let (b, eb) = requests(&p, 1, 1000);
    assert_eq!(a, b, "two runs give the same bytes");
    assert_eq!(ea, eb);
    let (c, ec) = requests(&p, 3, 700);
    assert_eq!(
        ea, ec,
        "expectations do not depend on connections or batches"
    );
    let spans = |reqs: &[(Vec<u8>, usize)]| {
        let mut v: Vec<_> = reqs
            .iter()
            .flat_map(|(body, _)| {
                decode(body)
                    .batch
                    .spans()
                    .map(|(r, _, s)| {
                        (
                            s.trace_id,
                            s.span_id,
                            r.service_name().map(str::to_owned),
                            s.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort_by_key(|x| (x.0, x.1));
        v
    };
    assert_eq!(spans(&a), spans(&c));
    let other = TracePlan::new(TraceSpec { seed: 8, ..p.spec });
    let (d, _) = requests(&other, 1, 1000);
    assert_ne!(a, d, "another seed gives other traces");
}

#[test]
fn requests_are_valid_otlp_of_the_batch_size() {
    let p = plan(30_000, 2);
    let (reqs, e) = requests(&p, 2, 1000);
    let mut total = 0;
    let mut trace_requests: HashMap<_, std::collections::HashSet<usize>> = HashMap::new();
    for (i, (body, n)) in reqs.iter().enumerate() {
        let d = decode(body);
        assert_eq!(d.report.rejected_spans, 0, "{:?}", d.report.reasons);
        assert_eq!(d.report.truncated_attributes, 0);
        assert_eq!(d.batch.span_count(), *n);
        assert!(*n <= 1000);
        // Grouped by resource: one entry per pod.
        let mut pods: Vec<_> = d
            .batch
            .resources
            .iter()
            .map(|r| find_attr(&r.resource.attributes, "k8s.pod.name").cloned())
            .collect();
        let len = pods.len();
        pods.sort_by_key(|p| format!("{p:?}"));
        pods.dedup();
        assert_eq!(pods.len(), len, "a pod appears once per request");
        total += n;
        for (_, _, s) in d.batch.spans() {
            trace_requests.entry(s.trace_id).or_default().insert(i);
        }
    }
    assert_eq!(total as u64, e.spans);
    let split = trace_requests.values().filter(|r| r.len() > 1).count();
    assert!(split > 0, "some traces span two requests");
    assert!(trace_requests.values().all(|r| r.len() <= 2));
    // gzip as the loader sends it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &reqs[0].0).expect("gzip");
    let z = gz.finish().expect("gzip");
    let raw = decode_content_encoding(Some("gzip"), &z, 64 << 20).expect("gunzip");
    assert_eq!(decode(&raw).batch.span_count(), reqs[0].1);
    assert!(ExportTraceServiceRequest::decode(reqs[0].0.as_slice()).is_ok());
}

/// The expectations recomputed from the decoded requests alone.
#[test]
fn expectations_match_the_decoded_spans() {
    let p = plan(120_000, 3);
    let (reqs, e) = requests(&p, 2, 1000);
    let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = 0;
    // Per trace: start, spans, error span of the service, spans with http.status_code >= 500.
    let mut traces: HashMap<[u8; 16], (u64, u64, bool, u32)> = HashMap::new();
    for (body, _) in &reqs {
        let d = decode(body);
        for (r, _, s) in d.batch.spans() {
            let svc = r.service_name().expect("every resource names its service");
            *by_service.entry(svc.to_string()).or_default() += 1;
            let t = traces
                .entry(s.trace_id.0)
                .or_insert((u64::MAX, 0, false, 0));
            t.0 = t.0.min(s.start_ns);
            t.1 += 1;
            if s.status.code == StatusCode::Error {
                errors += 1;
                t.2 |= svc == ERROR_SERVICE;
            }
            if let Some(AttrValue::Int(code)) = find_attr(&s.attributes, "http.status_code")
                && *code >= 500
            {
                t.3 += 1;
            }
        }
    }
    assert_eq!(e.spans_by_service, by_service);
    assert_eq!(e.error_spans, errors);
    assert_eq!(e.traces, traces.len() as u64);
    for (name, len) in WINDOWS {
        let from = (p.spec.end_ns - len) as u64;
        let inside = traces.values().filter(|t| t.0 >= from);
        let (mut spans, mut svc_err, mut many_5xx) = (0, 0, 0);
        for t in inside {
            spans += t.1;
            svc_err += u64::from(t.2);
            many_5xx += u64::from(t.3 > 2);
        }
        let find = |prefix: &str| {
            e.searches
                .iter()
                .find(|s| s.name == format!("{prefix}_{name}"))
                .expect("every window has both searches")
        };
        assert_eq!(find("service_errors").traces, svc_err, "{name}");
        assert_eq!(find("http_5xx_count").traces, many_5xx, "{name}");
        assert_eq!(find("service_errors").window_spans, spans);
        assert!(
            svc_err > 0 && many_5xx > 0,
            "{name}: the searches find something"
        );
        assert!(svc_err < traces.len() as u64 / 20 && many_5xx < traces.len() as u64 / 10);
    }
    assert_eq!(e.samples.len(), 50);
    for s in &e.samples {
        let id = cairn_model::TraceId::from_hex(&s.trace_id).expect("hex id");
        assert_eq!(traces[&id.0].1, s.spans, "{}", s.trace_id);
    }
    // Samples come from all over the window.
    let first = traces[&cairn_model::TraceId::from_hex(&e.samples[0].trace_id)
        .expect("hex")
        .0]
        .0;
    let last = traces[&cairn_model::TraceId::from_hex(&e.samples[49].trace_id)
        .expect("hex")
        .0]
        .0;
    assert!(
        last - first > 2 * HOUR as u64,
        "samples spread: {first} .. {last}"
    );
}

#[test]
fn spans_look_like_an_instrumented_shop() {
    let p = plan(60_000, 2);
    let g = Generator::new(p.spec.seed);
    let (mut spans, mut errors, mut events, mut exceptions, mut links) = (0, 0, 0, 0, 0);
    let mut depths = BTreeMap::new();
    let mut services = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    for i in 0..p.traces {
        let start = p.start_of(i);
        let t = g.trace(i, start);
        let end = t
            .spans
            .iter()
            .map(|s| s.span.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        assert!(end - t.start_ns <= MAX_TRACE_NS);
        // Not in a gap before a window edge.
        for (_, len) in WINDOWS
            .iter()
            .map(|w| (w.0, p.spec.end_ns - w.1))
            .chain([("end", p.spec.end_ns)])
        {
            assert!(
                !(len - GAP_NS..len).contains(&(start as i64)),
                "trace {i} starts in a gap"
            );
        }
        assert!(start as i64 >= p.spec.start_ns && (end as i64) < p.spec.end_ns);
        let max_depth = t.facts.iter().map(|f| f.depth).max().unwrap_or(0);
        *depths.entry(max_depth).or_insert(0u64) += 1;
        for (s, f) in t.spans.iter().zip(&t.facts) {
            spans += 1;
            let n = s.span.attributes.len();
            assert!(
                (8..=20).contains(&n),
                "{} has {n} attributes: {:?}",
                s.span.name,
                s.span.attributes
            );
            assert!(s.span.start_time_unix_nano >= t.start_ns && s.span.end_time_unix_nano <= end);
            errors += u64::from(f.error);
            events += s.span.events.len();
            exceptions += s
                .span
                .events
                .iter()
                .filter(|e| e.name == "exception")
                .count();
            links += s.span.links.len();
            services.insert(f.service);
            names.insert(s.span.name.clone());
        }
        // One root, and every parent is a span of the trace.
        let ids: std::collections::HashSet<_> =
            t.spans.iter().map(|s| s.span.span_id.clone()).collect();
        assert_eq!(
            t.spans
                .iter()
                .filter(|s| s.span.parent_span_id.is_empty())
                .count(),
            1
        );
        assert!(
            t.spans
                .iter()
                .all(|s| s.span.parent_span_id.is_empty() || ids.contains(&s.span.parent_span_id))
        );
        assert_eq!(ids.len(), t.spans.len(), "span ids are unique in a trace");
    }
    let ratio = errors as f64 / spans as f64;
    assert!((0.01..=0.05).contains(&ratio), "error spans {ratio}");
    assert!(exceptions > 0 && events > exceptions && links > 0);
    assert_eq!(services.len(), SERVICES.len(), "every service shows up");
    assert!(names.len() > 40, "{} span names", names.len());
    assert!(depths.keys().all(|d| (3..=8).contains(d)), "{depths:?}");
    assert!(depths.len() >= 4, "{depths:?}");
    let mean = spans as f64 / p.traces as f64;
    assert!((10.0..40.0).contains(&mean), "mean spans per trace {mean}");
    assert!(
        (spans as f64 - 60_000.0).abs() < 60_000.0 * 0.05,
        "{spans} spans"
    );
}
