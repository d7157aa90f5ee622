//! One trace gathered from many requests, as Tempo's combiner gathers it
//! (`pkg/model/trace/combine.go`, `sort.go`).

use std::collections::HashSet;

use super::{Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind, TraceId};

/// The spans of one trace id, gathered from any number of requests or blocks.
///
/// A span is identified by its span id and kind (Zipkin clients give the client and server
/// halves of a call the same span id): the first copy seen is kept, later copies are dropped.
/// Parts with an equal resource (and schema URL) share one resource group, and within it
/// parts with an equal scope share one scope group, so a trace sent in a hundred requests
/// by one process reads back as one group. [`Trace::sort`] orders everything as Tempo does.
#[derive(Clone, Default)]
pub struct Trace {
    id: TraceId,
    resources: Vec<ResourceSpans>,
    seen: HashSet<(SpanId, SpanKind)>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("id", &self.id)
            .field("resources", &self.resources)
            .finish()
    }
}

impl PartialEq for Trace {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.resources == other.resources
    }
}

impl Trace {
    /// An empty trace.
    pub fn new(id: TraceId) -> Self {
        Trace {
            id,
            resources: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// A trace made of the given groups (deduplicated and merged as by [`Trace::combine`]).
    pub fn from_resources(id: TraceId, resources: Vec<ResourceSpans>) -> Self {
        let mut t = Trace::new(id);
        t.combine(resources);
        t
    }

    /// The trace id.
    pub fn id(&self) -> TraceId {
        self.id
    }

    /// The resource groups.
    pub fn resources(&self) -> &[ResourceSpans] {
        &self.resources
    }

    /// The resource groups, owned.
    pub fn into_resources(self) -> Vec<ResourceSpans> {
        self.resources
    }

    /// How many spans the trace holds.
    pub fn span_count(&self) -> usize {
        self.seen.len()
    }

    /// Whether the trace holds no span.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Every span with its resource and scope.
    pub fn spans(&self) -> impl Iterator<Item = (&Resource, &Scope, &Span)> {
        self.resources.iter().flat_map(|r| {
            r.scopes
                .iter()
                .flat_map(move |s| s.spans.iter().map(move |sp| (&r.resource, &s.scope, sp)))
        })
    }

    /// Earliest start and latest end over the spans, `None` for an empty trace.
    pub fn time_range_ns(&self) -> Option<(u64, u64)> {
        self.spans().fold(None, |acc, (_, _, s)| match acc {
            None => Some((s.start_ns, s.end_ns)),
            Some((a, b)) => Some((a.min(s.start_ns), b.max(s.end_ns))),
        })
    }

    /// The root span (no parent) that starts first, with its resource, as Tempo picks the
    /// root for `rootServiceName` and `rootName`.
    pub fn root(&self) -> Option<(&Resource, &Span)> {
        self.spans()
            .filter(|(_, _, s)| s.is_root())
            .min_by_key(|(_, _, s)| (s.start_ns, s.span_id))
            .map(|(r, _, s)| (r, s))
    }

    /// Adds the spans of one part of the trace; returns how many were new. Spans of another
    /// trace id are not this trace's and are left out.
    pub fn combine(&mut self, part: Vec<ResourceSpans>) -> usize {
        let mut added = 0;
        for rs in part {
            let ResourceSpans {
                resource,
                schema_url,
                scopes,
            } = rs;
            // Moved into the trace by the first scope with new spans, not cloned.
            let mut owned = Some((resource, schema_url));
            let mut ri = None;
            for ss in scopes {
                let ScopeSpans {
                    scope,
                    schema_url: scope_url,
                    mut spans,
                } = ss;
                let id = self.id;
                let seen = &mut self.seen;
                spans.retain(|s| s.trace_id == id && seen.insert((s.span_id, s.kind)));
                if spans.is_empty() {
                    continue;
                }
                added += spans.len();
                if ri.is_none()
                    && let Some((res, url)) = owned.take()
                {
                    ri = Some(self.resource_group(res, url));
                }
                let Some(r) = ri else { continue };
                let group = &mut self.resources[r].scopes;
                match group
                    .iter_mut()
                    .find(|g| g.scope == scope && g.schema_url == scope_url)
                {
                    Some(g) => g.spans.extend(spans),
                    None => group.push(ScopeSpans {
                        scope,
                        schema_url: scope_url,
                        spans,
                    }),
                }
            }
        }
        added
    }

    /// Merges another part of the same trace (see [`Trace::combine`]).
    pub fn merge(&mut self, other: Trace) -> usize {
        if other.id != self.id {
            return 0;
        }
        self.combine(other.resources)
    }

    fn resource_group(&mut self, resource: Resource, schema_url: String) -> usize {
        if let Some(i) = self
            .resources
            .iter()
            .position(|g| g.resource == resource && g.schema_url == schema_url)
        {
            return i;
        }
        self.resources.push(ResourceSpans {
            resource,
            schema_url,
            scopes: Vec::new(),
        });
        self.resources.len() - 1
    }

    /// Sorts as Tempo's `SortTrace`: events by (time, name), links by (trace id, span id),
    /// spans by (start, span id), scope groups by their first span, resource groups by
    /// their first scope's first span. Attribute order is left as sent.
    pub fn sort(&mut self) {
        for rs in &mut self.resources {
            for ss in &mut rs.scopes {
                for span in &mut ss.spans {
                    span.events
                        .sort_by(|a, b| (a.time_ns, &a.name).cmp(&(b.time_ns, &b.name)));
                    span.links.sort_by_key(|l| (l.trace_id, l.span_id));
                }
                ss.spans.sort_by_key(|s| (s.start_ns, s.span_id));
            }
            rs.scopes
                .sort_by_key(|s| s.spans.first().map(|s| (s.start_ns, s.span_id)));
        }
        self.resources.sort_by_key(|r| {
            r.scopes
                .first()
                .and_then(|s| s.spans.first())
                .map(|s| (s.start_ns, s.span_id))
        });
    }
}
