use super::*;

fn tid(n: u8) -> TraceId {
    let mut b = [0u8; 16];
    b[15] = n;
    TraceId(b)
}

fn sid(n: u8) -> SpanId {
    SpanId([0, 0, 0, 0, 0, 0, 0, n])
}

fn span(t: u8, s: u8, start: u64, kind: SpanKind) -> Span {
    Span {
        trace_id: tid(t),
        span_id: sid(s),
        name: format!("op{s}"),
        kind,
        start_ns: start,
        end_ns: start + 10,
        ..Default::default()
    }
}

fn service(name: &str) -> Resource {
    Resource {
        attributes: vec![Attribute::new("service.name", name)],
        dropped_attributes_count: 0,
    }
}

fn group(res: Resource, scope: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: res,
        schema_url: String::new(),
        scopes: vec![ScopeSpans {
            scope: Scope {
                name: scope.into(),
                ..Default::default()
            },
            schema_url: String::new(),
            spans,
        }],
    }
}

fn ids(t: &Trace) -> Vec<(u8, SpanKind)> {
    t.spans()
        .map(|(_, _, s)| (s.span_id.0[7], s.kind))
        .collect()
}

#[test]
fn combine_keeps_the_first_copy_of_each_span_id_and_kind() {
    use SpanKind::*;
    let mut t = Trace::new(tid(1));
    let first = span(1, 1, 100, Server);
    let mut copy = first.clone();
    copy.name = "a later copy".into();
    assert_eq!(
        t.combine(vec![group(
            service("a"),
            "lib",
            vec![first, span(1, 2, 50, Client)]
        )]),
        2
    );
    // The same id with another kind is another span (Zipkin's shared client/server ids).
    assert_eq!(
        t.combine(vec![group(
            service("a"),
            "lib",
            vec![copy, span(1, 1, 100, Client), span(9, 3, 1, Server)]
        )]),
        1
    );
    assert_eq!(t.span_count(), 3);
    assert_eq!(ids(&t), vec![(1, Server), (2, Client), (1, Client)]);
    let kept = t.spans().next().unwrap().2;
    assert_eq!(kept.name, "op1");
    // One resource and one scope group: the parts were equal.
    assert_eq!(t.resources().len(), 1);
    assert_eq!(t.resources()[0].scopes.len(), 1);
}

#[test]
fn parts_with_other_resources_or_scopes_get_their_own_groups() {
    let mut t = Trace::new(tid(1));
    t.combine(vec![group(
        service("a"),
        "lib",
        vec![span(1, 1, 30, SpanKind::Server)],
    )]);
    t.combine(vec![group(
        service("b"),
        "lib",
        vec![span(1, 2, 20, SpanKind::Server)],
    )]);
    t.combine(vec![group(
        service("a"),
        "other",
        vec![span(1, 3, 10, SpanKind::Server)],
    )]);
    // A part whose spans are all duplicates adds no empty group.
    t.combine(vec![group(
        service("c"),
        "lib",
        vec![span(1, 1, 30, SpanKind::Server)],
    )]);
    assert_eq!(t.resources().len(), 2);
    assert_eq!(t.resources()[0].scopes.len(), 2);
    t.sort();
    // Sorted by first span start: service a's "other" scope (10) first, then b (20).
    let names: Vec<_> = t
        .resources()
        .iter()
        .map(|r| r.resource.service_name().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(t.resources()[0].scopes[0].scope.name, "other");
    assert_eq!(t.time_range_ns(), Some((10, 40)));
}

#[test]
fn sort_orders_spans_events_and_links_as_tempo() {
    let mut s1 = span(1, 5, 100, SpanKind::Internal);
    s1.events = vec![
        Event {
            time_ns: 3,
            name: "b".into(),
            ..Default::default()
        },
        Event {
            time_ns: 3,
            name: "a".into(),
            ..Default::default()
        },
        Event {
            time_ns: 1,
            name: "z".into(),
            ..Default::default()
        },
    ];
    s1.links = vec![
        Link {
            trace_id: tid(2),
            span_id: sid(1),
            ..Default::default()
        },
        Link {
            trace_id: tid(1),
            span_id: sid(9),
            ..Default::default()
        },
        Link {
            trace_id: tid(1),
            span_id: sid(3),
            ..Default::default()
        },
    ];
    let s2 = span(1, 7, 100, SpanKind::Internal);
    let s3 = span(1, 6, 90, SpanKind::Internal);
    let mut t = Trace::from_resources(tid(1), vec![group(service("a"), "l", vec![s2, s1, s3])]);
    t.sort();
    assert_eq!(ids(&t).iter().map(|x| x.0).collect::<Vec<_>>(), [6, 5, 7]);
    let s = &t.resources()[0].scopes[0].spans[1];
    let ev: Vec<_> = s.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(ev, ["z", "a", "b"]);
    let links: Vec<_> = s
        .links
        .iter()
        .map(|l| (l.trace_id.0[15], l.span_id.0[7]))
        .collect();
    assert_eq!(links, [(1, 3), (1, 9), (2, 1)]);
}

#[test]
fn root_is_the_earliest_parentless_span() {
    let mut child = span(1, 2, 5, SpanKind::Client);
    child.parent_span_id = Some(sid(1));
    let root = span(1, 1, 10, SpanKind::Server);
    let t = Trace::from_resources(
        tid(1),
        vec![
            group(service("front"), "l", vec![root]),
            group(service("back"), "l", vec![child]),
        ],
    );
    let (res, s) = t.root().unwrap();
    assert_eq!(res.service_name(), Some("front"));
    assert_eq!(s.span_id, sid(1));
    assert!(Trace::new(tid(1)).root().is_none());
    assert!(Trace::new(tid(1)).is_empty());
}

#[test]
fn split_by_trace_keeps_resource_and_scope() {
    let batch = TraceBatch {
        resources: vec![
            group(
                service("a"),
                "l1",
                vec![
                    span(2, 1, 1, SpanKind::Server),
                    span(1, 2, 1, SpanKind::Server),
                    span(2, 3, 1, SpanKind::Server),
                ],
            ),
            group(service("b"), "l2", vec![span(1, 4, 1, SpanKind::Server)]),
        ],
    };
    assert_eq!(batch.span_count(), 4);
    assert_eq!(batch.spans().count(), 4);
    let parts = batch.split_by_trace();
    assert_eq!(parts.len(), 2);
    let (id1, p1) = &parts[0];
    assert_eq!(*id1, tid(1));
    assert_eq!(p1.len(), 2);
    assert_eq!(p1[0].resource.service_name(), Some("a"));
    assert_eq!(p1[1].scopes[0].scope.name, "l2");
    let (id2, p2) = &parts[1];
    assert_eq!(*id2, tid(2));
    assert_eq!(p2.len(), 1);
    assert_eq!(p2[0].scopes[0].spans.len(), 2);
    // Merging the parts back gives every span once.
    let mut t = Trace::new(tid(2));
    assert_eq!(t.merge(Trace::from_resources(tid(2), p2.clone())), 2);
    assert_eq!(t.merge(Trace::from_resources(tid(1), p1.clone())), 0);
}

#[test]
fn kinds_and_codes_follow_otlp_numbers_and_names() {
    for (i, k) in SpanKind::ALL.iter().enumerate() {
        assert_eq!(SpanKind::from_i32(i as i32), *k);
        assert_eq!(*k as u8 as usize, i);
        assert_eq!(SpanKind::from_name(k.otlp_name()), Some(*k));
    }
    assert_eq!(SpanKind::from_i32(42), SpanKind::Unspecified);
    assert_eq!(SpanKind::from_name("SERVER"), None);
    assert_eq!(StatusCode::from_i32(2), StatusCode::Error);
    assert_eq!(
        StatusCode::from_name("STATUS_CODE_OK"),
        Some(StatusCode::Ok)
    );
    assert_eq!(StatusCode::Error.traceql_name(), "error");
}
