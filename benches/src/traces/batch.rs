//! Cutting the spans of consecutive traces into export requests of about `batch_spans`
//! spans grouped by resource, as the Collector's batch processor does: a request closes
//! when it is full, so the spans of a trace may be split over two requests.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::expect::Tally;
use super::generate::Generator;
use super::plan::TracePlan;

/// Spans waiting, per resource.
#[derive(Debug)]
pub(crate) struct Batcher {
    slots: Vec<Vec<Span>>,
    used: Vec<u32>,
    spans: usize,
}

impl Batcher {
    pub(crate) fn new(resources: usize) -> Batcher {
        Batcher {
            slots: vec![Vec::new(); resources],
            used: Vec::new(),
            spans: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    pub(crate) fn push(&mut self, resource: u32, span: Span) {
        let slot = &mut self.slots[resource as usize];
        if slot.is_empty() {
            self.used.push(resource);
        }
        slot.push(span);
        self.spans += 1;
    }

    /// The waiting spans as one request (resources in the order first seen); empties the
    /// batcher.
    pub(crate) fn take(&mut self, g: &Generator) -> ExportTraceServiceRequest {
        let res = &g.resources;
        let resource_spans = self
            .used
            .drain(..)
            .map(|r| ResourceSpans {
                resource: Some(res.resources[r as usize].clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(res.scopes[res.service_of[r as usize]].clone()),
                    spans: std::mem::take(&mut self.slots[r as usize]),
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
                }],
                schema_url: String::new(),
            })
            .collect();
        self.spans = 0;
        ExportTraceServiceRequest { resource_spans }
    }
}

/// Generates the traces `part`, `part + parts`, ... of the plan in order, hands each full
/// request (and its span count) to `sink`, and returns their tally. Stops early when `sink`
/// returns false.
pub(crate) fn generate_part(
    plan: &TracePlan,
    g: &Generator,
    error_service: &str,
    part: u64,
    parts: u64,
    batch_spans: usize,
    mut sink: impl FnMut(ExportTraceServiceRequest, usize) -> bool,
) -> Tally {
    let mut tally = Tally::new(error_service);
    let mut batcher = Batcher::new(g.resources.resources.len());
    let mut index = part;
    while index < plan.traces {
        let t = g.trace(index, plan.start_of(index));
        tally.add(plan, &t);
        for s in t.spans {
            batcher.push(s.resource, s.span);
            if batcher.len() >= batch_spans.max(1) {
                let n = batcher.len();
                if !sink(batcher.take(g), n) {
                    return tally;
                }
            }
        }
        index += parts.max(1);
    }
    if batcher.len() > 0 {
        let n = batcher.len();
        sink(batcher.take(g), n);
    }
    tally
}
