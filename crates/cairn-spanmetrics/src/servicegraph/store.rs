//! Halves of edges waiting for their pair, by key, in arrival order so that the oldest
//! expire first.

use std::collections::{BTreeMap, HashMap, VecDeque};

use cairn_model::{SpanId, SpanKind, TraceId};

use super::ConnectionType;

/// Which edge a span belongs to: its trace and the client span's id (a server span's
/// parent); `None` for a root server span, which no client span can complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EdgeKey {
    /// The trace.
    pub(crate) trace: TraceId,
    /// The client span, or `None` for a root server span.
    pub(crate) span: Option<SpanId>,
}

/// A request between two nodes as far as its spans have told.
#[derive(Clone, Debug, Default)]
pub(crate) struct Edge {
    /// The trace of the request.
    pub(crate) trace: TraceId,
    /// Whether the server half is a root span.
    pub(crate) root: bool,
    /// The kind of the last span seen.
    pub(crate) kind: SpanKind,
    pub(crate) connection_type: ConnectionType,
    pub(crate) client_service: String,
    pub(crate) server_service: String,
    pub(crate) client_latency_s: f64,
    pub(crate) server_latency_s: f64,
    pub(crate) client_end_ns: u64,
    pub(crate) server_start_ns: u64,
    /// Either side ended in error.
    pub(crate) failed: bool,
    /// Dimension values by key.
    pub(crate) dimensions: BTreeMap<String, String>,
    /// The uninstrumented peer named by the last span's attributes.
    pub(crate) peer_node: String,
    /// How many requests the edge stands for.
    pub(crate) multiplier: f64,
}

impl Edge {
    fn is_complete(&self) -> bool {
        !self.client_service.is_empty() && !self.server_service.is_empty()
    }
}

/// Which half of an edge a span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Side {
    /// A client or producer span.
    Client,
    /// A server or consumer span.
    Server,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

impl Edge {
    fn side(&self) -> Side {
        if self.server_service.is_empty() {
            Side::Client
        } else {
            Side::Server
        }
    }
}

struct Stored {
    edge: Edge,
    /// Tells this edge from an earlier one under the same key still in the queue.
    generation: u64,
}

/// What an upsert did.
#[derive(Debug)]
pub(crate) enum Upsert {
    /// The edge has both halves: count it. `true` when the span made it alone.
    Complete(Edge, bool),
    /// A first half, now waiting.
    Stored,
    /// A half added to a waiting edge that is still not complete.
    Updated,
    /// A first half refused: the store is full.
    Full,
    /// A first half refused: its other half was filtered out.
    CounterpartDropped,
}

/// Waiting halves, at most `max_items`, each for `wait_ms`.
pub(crate) struct EdgeStore {
    edges: HashMap<EdgeKey, Stored>,
    /// (expiry, key, generation) in insertion order, which is expiry order.
    queue: VecDeque<(i64, EdgeKey, u64)>,
    /// Halves filtered out, with when the mark expires: their other half is dropped too.
    dropped: HashMap<(EdgeKey, Side), i64>,
    next_generation: u64,
    wait_ms: i64,
    max_items: usize,
}

impl EdgeStore {
    pub(crate) fn new(wait_ms: i64, max_items: usize) -> Self {
        EdgeStore {
            edges: HashMap::new(),
            queue: VecDeque::new(),
            dropped: HashMap::new(),
            next_generation: 0,
            wait_ms,
            max_items,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.edges.len()
    }

    /// Applies `update` to the edge of `key` (a new one if none waits) and says what became
    /// of it; a complete edge leaves the store.
    pub(crate) fn upsert(
        &mut self,
        key: EdgeKey,
        side: Side,
        now_ms: i64,
        update: impl FnOnce(&mut Edge),
    ) -> Upsert {
        if let Some(stored) = self.edges.get_mut(&key) {
            update(&mut stored.edge);
            if !stored.edge.is_complete() {
                return Upsert::Updated;
            }
            let done = self.edges.remove(&key).map(|s| s.edge).unwrap_or_default();
            return Upsert::Complete(done, false);
        }
        if self.dropped.contains_key(&(key, side.other())) {
            return Upsert::CounterpartDropped;
        }
        let mut edge = Edge {
            trace: key.trace,
            root: key.span.is_none(),
            multiplier: 1.0,
            ..Edge::default()
        };
        update(&mut edge);
        if edge.is_complete() {
            return Upsert::Complete(edge, true);
        }
        if self.edges.len() >= self.max_items {
            return Upsert::Full;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.queue
            .push_back((now_ms.saturating_add(self.wait_ms), key, generation));
        self.edges.insert(key, Stored { edge, generation });
        Upsert::Stored
    }

    /// Marks the `side` half of `key` as filtered out for `wait`, so that the other half is
    /// dropped rather than left to expire into a skewed or virtual edge. Says whether a
    /// waiting other half was dropped now. Marks beyond `max_items` are not kept.
    pub(crate) fn drop_side(&mut self, key: EdgeKey, side: Side, now_ms: i64) -> bool {
        let mut dropped_waiting = false;
        if self
            .edges
            .get(&key)
            .is_some_and(|s| !s.edge.is_complete() && s.edge.side() != side)
        {
            self.edges.remove(&key);
            dropped_waiting = true;
        }
        let expiry = now_ms.saturating_add(self.wait_ms);
        if let Some(e) = self.dropped.get_mut(&(key, side)) {
            *e = expiry;
        } else if self.dropped.len() < self.max_items {
            self.dropped.insert((key, side), expiry);
        }
        dropped_waiting
    }

    /// Removes and returns, oldest first, the edges whose wait ended at or before `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: i64) -> Vec<Edge> {
        self.dropped.retain(|_, expiry| *expiry > now_ms);
        let mut out = Vec::new();
        while let Some(&(expiry, key, generation)) = self.queue.front() {
            if expiry > now_ms {
                break;
            }
            self.queue.pop_front();
            // An edge completed earlier left its queue entry behind; skip it.
            if self
                .edges
                .get(&key)
                .is_some_and(|s| s.generation == generation)
                && let Some(s) = self.edges.remove(&key)
            {
                out.push(s.edge);
            }
        }
        // Completed edges leave entries behind; when they dominate, drop them at once so the
        // queue stays proportional to the store.
        if self.queue.len() > 2 * self.edges.len() + 1024 {
            let edges = &self.edges;
            self.queue
                .retain(|(_, k, g)| edges.get(k).is_some_and(|s| s.generation == *g));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> EdgeKey {
        EdgeKey {
            trace: TraceId([n; 16]),
            span: Some(SpanId([n; 8])),
        }
    }

    #[test]
    fn pairs_and_expires_in_order() {
        let mut s = EdgeStore::new(10, 2);
        assert!(matches!(
            s.upsert(key(1), Side::Client, 0, |e| e.client_service = "a".into()),
            Upsert::Stored
        ));
        assert!(matches!(
            s.upsert(key(2), Side::Server, 5, |e| e.server_service = "b".into()),
            Upsert::Stored
        ));
        assert!(matches!(
            s.upsert(key(3), Side::Server, 5, |e| e.server_service = "c".into()),
            Upsert::Full
        ));
        match s.upsert(key(1), Side::Server, 6, |e| e.server_service = "b".into()) {
            Upsert::Complete(e, false) => assert_eq!(
                (e.client_service, e.server_service),
                ("a".into(), "b".into())
            ),
            other => panic!("{other:?}"),
        }
        assert!(s.expire(9).is_empty());
        // Key 1 completed: its queue entry does not expire anything; key 2 expires at 15.
        assert!(s.expire(14).is_empty());
        let gone = s.expire(15);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].server_service, "b");
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_key_reused_after_completion_keeps_its_own_expiry() {
        let mut s = EdgeStore::new(10, 10);
        s.upsert(key(1), Side::Client, 0, |e| e.client_service = "a".into());
        s.upsert(key(1), Side::Server, 1, |e| e.server_service = "b".into());
        s.upsert(key(1), Side::Client, 8, |e| e.client_service = "a".into());
        assert!(
            s.expire(10).is_empty(),
            "the old entry must not expire the new edge"
        );
        assert_eq!(s.expire(18).len(), 1);
    }

    #[test]
    fn a_dropped_half_takes_its_other_half_with_it() {
        let mut s = EdgeStore::new(10, 10);
        s.upsert(key(1), Side::Client, 0, |e| e.client_service = "a".into());
        assert!(
            s.drop_side(key(1), Side::Server, 1),
            "the waiting client half goes"
        );
        assert_eq!(s.len(), 0);
        assert!(matches!(
            s.upsert(key(1), Side::Client, 2, |e| e.client_service = "a".into()),
            Upsert::CounterpartDropped
        ));
        // The mark lasts `wait`.
        assert!(s.expire(11).is_empty());
        assert!(matches!(
            s.upsert(key(1), Side::Client, 12, |e| e.client_service = "a".into()),
            Upsert::Stored
        ));
    }
}
