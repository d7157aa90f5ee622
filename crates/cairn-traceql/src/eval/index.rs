//! One trace laid out for evaluation: its spans in a flat list (a span is its position in
//! it), each with its resource and scope, and the tree the parent ids draw. A span whose
//! parent id names no span of the trace is a root for structure, as in Tempo, where such
//! spans get no nested-set parent.

use std::collections::HashMap;

use cairn_model::{Resource, Scope, Span, SpanId, SpanKind, Trace};

/// A span of an indexed trace, with what it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct SpanRef<'a> {
    /// The span.
    pub span: &'a Span,
    /// The resource that produced it.
    pub resource: &'a Resource,
    /// The instrumentation scope that produced it.
    pub scope: &'a Scope,
}

/// A trace's spans and their tree.
#[derive(Debug)]
pub struct TraceIndex<'a> {
    trace: &'a Trace,
    spans: Vec<SpanRef<'a>>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Nested-set numbers (left, right), Tempo's `nestedSetLeft`/`nestedSetRight`.
    nested: Vec<(i64, i64)>,
    root: Option<usize>,
    range: Option<(u64, u64)>,
}

impl<'a> TraceIndex<'a> {
    /// Indexes a trace.
    pub fn new(trace: &'a Trace) -> Self {
        let spans: Vec<SpanRef<'a>> = trace
            .spans()
            .map(|(resource, scope, span)| SpanRef {
                span,
                resource,
                scope,
            })
            .collect();
        // Zipkin's client and server halves of a call share one span id.
        let mut by_id: HashMap<SpanId, Vec<usize>> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span.span_id).or_default().push(i);
        }
        let parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = s.span.parent_span_id?;
                let found = match by_id.get(&p).map(Vec::as_slice) {
                    Some([one]) => Some(*one),
                    // As Tempo's nested-set builder: a server's parent is the client half,
                    // anything else's the server half.
                    Some([a, b]) => {
                        let want = if s.span.kind == SpanKind::Server {
                            SpanKind::Client
                        } else {
                            SpanKind::Server
                        };
                        [*a, *b].into_iter().find(|&x| spans[x].span.kind == want)
                    }
                    _ => None,
                };
                found.filter(|&p| p != i)
            })
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        let key = |i: &usize| (spans[*i].span.start_ns, spans[*i].span.span_id);
        for c in &mut children {
            c.sort_by_key(key);
        }
        let mut roots: Vec<usize> = (0..spans.len()).filter(|&i| parent[i].is_none()).collect();
        roots.sort_by_key(key);
        let nested = nested_set(&roots, &children, spans.len());
        let root = trace.root().and_then(|(_, r)| {
            by_id.get(&r.span_id).and_then(|c| {
                c.iter()
                    .copied()
                    .find(|&i| spans[i].span.kind == r.kind && spans[i].span.is_root())
            })
        });
        TraceIndex {
            trace,
            range: trace.time_range_ns(),
            spans,
            parent,
            children,
            nested,
            root,
        }
    }

    /// The trace.
    pub fn trace(&self) -> &'a Trace {
        self.trace
    }

    /// How many spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the trace has no span.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The span at `i`.
    pub fn span(&self, i: usize) -> SpanRef<'a> {
        self.spans[i]
    }

    /// The parent of span `i`, when it is in the trace.
    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }

    /// The children of span `i`, by start time.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Nested-set (left, right) of span `i`; a descendant's pair lies inside its ancestor's.
    pub fn nested(&self, i: usize) -> (i64, i64) {
        self.nested[i]
    }

    /// The root span as Tempo picks it ([`Trace::root`]), if the trace has one.
    pub fn root(&self) -> Option<SpanRef<'a>> {
        self.root.map(|i| self.spans[i])
    }

    /// Earliest start and latest end of the trace.
    pub fn time_range_ns(&self) -> Option<(u64, u64)> {
        self.range
    }

    /// Whether `d` descends from `a`.
    pub fn is_descendant(&self, d: usize, a: usize) -> bool {
        let (dl, dr) = self.nested[d];
        let (al, ar) = self.nested[a];
        al < dl && dr < ar
    }
}

/// Numbers the tree depth first: a span's left on the way down, its right on the way up.
fn nested_set(roots: &[usize], children: &[Vec<usize>], n: usize) -> Vec<(i64, i64)> {
    let mut out = vec![(0, 0); n];
    let mut counter = 0i64;
    // (span, next child to visit); explicit stack so deep traces cannot overflow.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for &r in roots {
        counter += 1;
        out[r].0 = counter;
        stack.push((r, 0));
        while let Some(top) = stack.last_mut() {
            let (s, next) = *top;
            if let Some(&c) = children[s].get(next) {
                top.1 += 1;
                counter += 1;
                out[c].0 = counter;
                stack.push((c, 0));
            } else {
                counter += 1;
                out[s].1 = counter;
                stack.pop();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cairn_model::{ResourceSpans, ScopeSpans, TraceId};

    use super::*;

    fn span(id: u8, parent: Option<u8>, kind: SpanKind) -> Span {
        Span {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([0, 0, 0, 0, 0, 0, 0, id]),
            parent_span_id: parent.map(|p| SpanId([0, 0, 0, 0, 0, 0, 0, p])),
            name: format!("s{id}"),
            kind,
            start_ns: u64::from(id),
            end_ns: u64::from(id) + 10,
            ..Default::default()
        }
    }

    fn trace(spans: Vec<Span>) -> Trace {
        Trace::from_resources(
            TraceId([1; 16]),
            vec![ResourceSpans {
                scopes: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        )
    }

    #[test]
    fn shared_ids_and_loops() {
        // 1 root; 2 client and 2 server share an id; 3 is below the server half.
        let t = trace(vec![
            span(1, None, SpanKind::Server),
            span(2, Some(1), SpanKind::Client),
            span(2, Some(1), SpanKind::Server),
            span(3, Some(2), SpanKind::Internal),
        ]);
        let ix = TraceIndex::new(&t);
        let at = |id: u8, kind: SpanKind| {
            (0..ix.len())
                .find(|&i| ix.span(i).span.span_id.0[7] == id && ix.span(i).span.kind == kind)
                .expect("span present")
        };
        let server = at(2, SpanKind::Server);
        assert_eq!(ix.parent(at(3, SpanKind::Internal)), Some(server));
        assert_eq!(ix.parent(server), Some(at(1, SpanKind::Server)));
        assert!(ix.is_descendant(at(3, SpanKind::Internal), at(1, SpanKind::Server)));

        // Parent ids that loop: no root, nothing numbered, and evaluation still ends.
        let looped = trace(vec![
            span(1, Some(2), SpanKind::Internal),
            span(2, Some(1), SpanKind::Internal),
        ]);
        let ix = TraceIndex::new(&looped);
        assert!(ix.root().is_none());
        assert_eq!(ix.nested(0), (0, 0));
        for q in [
            "{ } >> { }",
            "{ } << { }",
            "{ } &>> { }",
            "{ } ~ { }",
            "{ } !< { }",
        ] {
            let q = crate::parse_and_validate(q).expect("valid");
            let c = crate::Compiled::new(&q).expect("compiles");
            c.evaluate(&looped).expect("evaluates");
        }
    }
}
