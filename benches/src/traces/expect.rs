//! The answers the benchmark's queries must give, tallied while the traces are generated
//! and written as a small JSON file for the query checker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::generate::GenTrace;
use super::plan::{TracePlan, WINDOWS};
use super::topology::{SERVICES, service_index};

/// The service whose error traces the first search looks for.
pub const ERROR_SERVICE: &str = "payment";

/// The first search: traces with an error span of [`ERROR_SERVICE`].
pub fn service_error_query(service: &str) -> String {
    format!("{{ resource.service.name = \"{service}\" && status = error }}")
}

/// The second search: traces with more than two spans answering 5xx.
pub const HTTP_5XX_QUERY: &str = "{ span.http.status_code >= 500 } | count() > 2";

/// One search and the number of traces it must find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchExpect {
    /// A short name (`service_errors_1h`).
    pub name: String,
    /// The TraceQL query.
    pub q: String,
    /// Window start, Unix seconds (every trace of the window starts after it).
    pub start_s: i64,
    /// Window end, Unix seconds (every trace of the window ends before it).
    pub end_s: i64,
    /// Traces that must match.
    pub traces: u64,
    /// Spans of all traces in the window (what the search has to consider).
    pub window_spans: u64,
}

/// A trace to look up by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleTrace {
    /// 32 hex digits.
    pub trace_id: String,
    /// Spans it has.
    pub spans: u64,
}

/// Everything the checker needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceExpect {
    /// The corpus seed.
    pub seed: u64,
    /// First nanosecond of the corpus window.
    pub start_ns: i64,
    /// End of the corpus window.
    pub end_ns: i64,
    /// Traces generated.
    pub traces: u64,
    /// Spans generated.
    pub spans: u64,
    /// Spans with status error.
    pub error_spans: u64,
    /// Spans per `service.name`.
    pub spans_by_service: BTreeMap<String, u64>,
    /// The searches with their answers.
    pub searches: Vec<SearchExpect>,
    /// Traces to look up by id, spread over the window.
    pub samples: Vec<SampleTrace>,
}

/// Counts of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct WindowTally {
    spans: u64,
    service_errors: u64,
    http_5xx: u64,
}

/// Running counts over the traces one sender generated; merge them, then [`Tally::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    error_service: u8,
    traces: u64,
    spans: u64,
    error_spans: u64,
    by_service: Vec<u64>,
    windows: Vec<WindowTally>,
    /// (trace index, id, spans).
    samples: Vec<(u64, [u8; 16], u64)>,
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tally {
    /// Empty counts; `error_service` names the service of the first search.
    pub fn new(error_service: &str) -> Tally {
        Tally {
            error_service: service_index(error_service) as u8,
            traces: 0,
            spans: 0,
            error_spans: 0,
            by_service: vec![0; SERVICES.len()],
            windows: vec![WindowTally::default(); WINDOWS.len()],
            samples: Vec::new(),
        }
    }

    /// Counts one trace.
    pub(crate) fn add(&mut self, plan: &TracePlan, t: &GenTrace) {
        self.traces += 1;
        self.spans += t.facts.len() as u64;
        let mut svc_error = false;
        let mut n5xx = 0;
        for f in &t.facts {
            self.by_service[f.service as usize] += 1;
            if f.error {
                self.error_spans += 1;
                svc_error |= f.service == self.error_service;
            }
            n5xx += u32::from(f.old_5xx);
        }
        for (w, (_, len)) in self.windows.iter_mut().zip(WINDOWS) {
            if t.start_ns as i64 >= plan.spec.end_ns - len {
                w.spans += t.facts.len() as u64;
                w.service_errors += u64::from(svc_error);
                w.http_5xx += u64::from(n5xx > 2);
            }
        }
        if plan.is_sample(t.index) {
            self.samples
                .push((t.index, t.trace_id, t.facts.len() as u64));
        }
    }

    /// Adds another sender's counts.
    pub fn merge(&mut self, o: &Tally) {
        self.traces += o.traces;
        self.spans += o.spans;
        self.error_spans += o.error_spans;
        for (a, b) in self.by_service.iter_mut().zip(&o.by_service) {
            *a += b;
        }
        for (a, b) in self.windows.iter_mut().zip(&o.windows) {
            a.spans += b.spans;
            a.service_errors += b.service_errors;
            a.http_5xx += b.http_5xx;
        }
        self.samples.extend_from_slice(&o.samples);
    }

    /// Spans counted so far.
    pub fn spans(&self) -> u64 {
        self.spans
    }

    /// The expectation file's content.
    pub fn finish(mut self, plan: &TracePlan) -> TraceExpect {
        self.samples.sort_unstable_by_key(|s| s.0);
        let service = SERVICES[self.error_service as usize].name;
        let mut searches = Vec::new();
        for (w, (name, len)) in self.windows.iter().zip(WINDOWS) {
            let start_s = (plan.spec.end_ns - len).div_euclid(1_000_000_000);
            let end_s = plan.spec.end_ns.div_euclid(1_000_000_000) + 1;
            searches.push(SearchExpect {
                name: format!("service_errors_{name}"),
                q: service_error_query(service),
                start_s,
                end_s,
                traces: w.service_errors,
                window_spans: w.spans,
            });
            searches.push(SearchExpect {
                name: format!("http_5xx_count_{name}"),
                q: HTTP_5XX_QUERY.to_string(),
                start_s,
                end_s,
                traces: w.http_5xx,
                window_spans: w.spans,
            });
        }
        TraceExpect {
            seed: plan.spec.seed,
            start_ns: plan.spec.start_ns,
            end_ns: plan.spec.end_ns,
            traces: self.traces,
            spans: self.spans,
            error_spans: self.error_spans,
            spans_by_service: SERVICES
                .iter()
                .zip(&self.by_service)
                .map(|(s, n)| (s.name.to_string(), *n))
                .collect(),
            searches,
            samples: self
                .samples
                .iter()
                .map(|(_, id, n)| SampleTrace {
                    trace_id: hex(id),
                    spans: *n,
                })
                .collect(),
        }
    }
}
