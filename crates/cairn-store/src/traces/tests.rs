//! Tests of the trace store: durable appends and replay, traces joined across appends,
//! cuts read back exactly, lookups reading one row group, compaction joining split traces,
//! retention, scans pruned by time, attribute names and values.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId,
    SpanKind, Status, StatusCode, TenantId, Trace, TraceBatch, TraceId,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::StoreConfig;
use crate::objstore::{ObjectStoreConfig, build_object_store};

const S: u64 = 1_000_000_000;
/// 2024-01-01T00:00:00Z.
const T0: u64 = 1_704_067_200 * S;

fn tenant() -> TenantId {
    TenantId::new("team-a").unwrap()
}

fn config(dir: &Path) -> TraceStoreConfig {
    TraceStoreConfig::from_store(&StoreConfig::new(dir))
}

async fn open_with(dir: &Path, cfg: TraceStoreConfig) -> Arc<TraceStore> {
    let store = build_object_store(&ObjectStoreConfig::Local {
        path: dir.join("objects"),
    })
    .unwrap();
    let cache = Arc::new(BlockCache::new(64 << 20));
    TraceStore::open(cfg, store, cache, &mut Registry::default())
        .await
        .unwrap()
}

fn tid(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[15] = 1;
    TraceId(b)
}

fn sid(n: u64) -> SpanId {
    SpanId((n + 1).to_be_bytes())
}

/// A plain span of trace `t`.
fn span(t: u64, n: u64, parent: Option<u64>, start: u64, dur: u64) -> Span {
    Span {
        trace_id: tid(t),
        span_id: sid(n),
        parent_span_id: parent.map(sid),
        name: format!("op-{n}"),
        kind: SpanKind::Server,
        start_ns: start,
        end_ns: start + dur,
        attributes: vec![Attribute::new("n", n as i64)],
        ..Default::default()
    }
}

fn batch_of(service: &str, spans: Vec<Span>) -> TraceBatch {
    TraceBatch {
        resources: vec![ResourceSpans {
            resource: Resource {
                attributes: vec![Attribute::new("service.name", service)],
                dropped_attributes_count: 0,
            },
            schema_url: String::new(),
            scopes: vec![ScopeSpans {
                scope: Scope {
                    name: "lib".into(),
                    ..Default::default()
                },
                schema_url: String::new(),
                spans,
            }],
        }],
    }
}

/// A batch using every field of the model: two resources, scopes with attributes, every
/// attribute type (nested arrays and lists, bytes, NaN), events, links, dropped counts,
/// trace state, flags, statuses, dedicated HTTP attributes.
fn rich_batch(t: u64) -> TraceBatch {
    let kv = AttrValue::KvList(vec![
        Attribute::new("a", 1i64),
        Attribute::new(
            "b",
            AttrValue::Array(vec![AttrValue::Bool(true), AttrValue::Empty]),
        ),
        Attribute::new("a", "again"),
    ]);
    let attrs = |n: u64| {
        vec![
            Attribute::new("str", format!("v{n}")),
            Attribute::new("int", -(n as i64)),
            Attribute::new("dbl", 0.1 + n as f64),
            Attribute::new("nan", f64::NAN),
            Attribute::new("inf", f64::NEG_INFINITY),
            Attribute::new("bool", n.is_multiple_of(2)),
            Attribute::new("bytes", AttrValue::Bytes(vec![0, 1, 0xff, n as u8])),
            Attribute::new(
                "arr",
                AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Double(2.5), "x".into()]),
            ),
            Attribute::new("kv", kv.clone()),
            Attribute::new("empty", AttrValue::Empty),
            // A second `http.method` stays among the generic attributes.
            Attribute::new("http.method", 7i64),
            Attribute::new("http.method", "GET"),
            Attribute::new("http.request.method", "POST"),
            Attribute::new("url.full", "https://example.com/a?b=c"),
            Attribute::new("http.status_code", 200i64),
            Attribute::new("http.response.status_code", 503i64),
        ]
    };
    let mut root = span(t, 0, None, T0 + 10 * S, 5 * S);
    root.attributes = attrs(0);
    root.trace_state = "k=v".into();
    root.flags = 0x101;
    root.status = Status {
        code: StatusCode::Error,
        message: "boom".into(),
    };
    root.dropped_attributes_count = 3;
    root.dropped_events_count = 4;
    root.dropped_links_count = 5;
    root.events = vec![
        Event {
            time_ns: T0 + 11 * S,
            name: "exception".into(),
            attributes: vec![Attribute::new("exception.message", "bad")],
            dropped_attributes_count: 2,
        },
        Event {
            time_ns: T0 + 12 * S,
            name: "later".into(),
            attributes: vec![],
            dropped_attributes_count: 0,
        },
    ];
    root.links = vec![Link {
        trace_id: tid(999),
        span_id: sid(77),
        trace_state: "x=y".into(),
        attributes: vec![Attribute::new("link.kind", "follows")],
        dropped_attributes_count: 1,
        flags: 1,
    }];
    let mut child = span(t, 1, Some(0), T0 + 11 * S, S);
    child.kind = SpanKind::Client;
    child.attributes = attrs(1);
    let mut other = span(t, 2, Some(1), T0 + 12 * S, S);
    other.kind = SpanKind::Consumer;
    other.status.code = StatusCode::Ok;
    TraceBatch {
        resources: vec![
            ResourceSpans {
                resource: Resource {
                    attributes: vec![
                        Attribute::new("service.name", "frontend"),
                        Attribute::new("k8s.pod.name", "pod-1"),
                        Attribute::new("host.cores", 8i64),
                    ],
                    dropped_attributes_count: 1,
                },
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
                scopes: vec![
                    ScopeSpans {
                        scope: Scope {
                            name: "io.opentelemetry.http".into(),
                            version: "1.2.3".into(),
                            attributes: vec![Attribute::new("scope.attr", true)],
                            dropped_attributes_count: 6,
                        },
                        schema_url: "https://scope/schema".into(),
                        spans: vec![root],
                    },
                    ScopeSpans {
                        scope: Scope {
                            name: "db".into(),
                            ..Default::default()
                        },
                        schema_url: String::new(),
                        spans: vec![child],
                    },
                ],
            },
            ResourceSpans {
                // No service.name at all.
                resource: Resource {
                    attributes: vec![Attribute::new("service.name", 5i64)],
                    dropped_attributes_count: 0,
                },
                schema_url: String::new(),
                scopes: vec![ScopeSpans {
                    scope: Scope::default(),
                    schema_url: String::new(),
                    spans: vec![other],
                }],
            },
        ],
    }
}

/// The trace the store should answer for the spans of `batch`.
fn expected(id: TraceId, batch: TraceBatch) -> Trace {
    let mut t = Trace::new(id);
    for (i, part) in batch.split_by_trace() {
        if i == id {
            t.combine(part);
        }
    }
    t.sort();
    t
}

/// Trace equality that treats NaN as equal to itself (the model's `PartialEq` does not).
fn same(a: &Trace, b: &Trace) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

async fn scan_ids(s: &TraceStore, start: u64, end: u64) -> (Vec<TraceId>, ScanStats) {
    let mut ids = Vec::new();
    let stats = s
        .scan(&tenant(), start, end, &CancellationToken::new(), |t| {
            ids.push(t.id());
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    (ids, stats)
}

#[test]
fn wal_record_keeps_every_field() {
    let b = rich_batch(1);
    let mut buf = Vec::new();
    record::encode_trace_spans(&mut buf, &tenant(), b.resources.iter());
    let rec = record::decode(buf[8], &buf[record::HEADER_LEN..]).unwrap();
    let Record::TraceSpans {
        tenant: t,
        resources,
    } = rec
    else {
        panic!("not a trace record");
    };
    assert_eq!(t, tenant());
    assert_eq!(format!("{resources:?}"), format!("{:?}", b.resources));
}

/// The column names of `data.parquet`, in order: a change here is a format change (bump
/// `TRACE_SCHEMA_VERSION`).
#[test]
fn block_schema_is_pinned() {
    let names: Vec<String> = block::schema_for_tests()
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    let want = [
        "trace_id:FixedSizeBinary(16)",
        "trace_start_unix_nano:UInt64",
        "trace_end_unix_nano:UInt64",
        "root_service_name:Utf8",
        "root_span_name:Utf8",
        "resource_service_name:Utf8",
        "resource_attrs:List(",
        "resource_dropped_attributes_count:UInt32",
        "resource_schema_url:Utf8",
        "scope_name:Utf8",
        "scope_version:Utf8",
        "scope_attrs:List(",
        "scope_dropped_attributes_count:UInt32",
        "scope_schema_url:Utf8",
        "span_id:FixedSizeBinary(8)",
        "parent_span_id:FixedSizeBinary(8)",
        "trace_state:Utf8",
        "flags:UInt32",
        "name:Utf8",
        "kind:Int32",
        "start_unix_nano:UInt64",
        "duration_nano:UInt64",
        "status_code:Int32",
        "status_message:Utf8",
        "http_method:Utf8",
        "http_request_method:Utf8",
        "http_url:Utf8",
        "url_full:Utf8",
        "http_status_code:Int64",
        "http_response_status_code:Int64",
        "attrs:List(",
        "dropped_attributes_count:UInt32",
        "events:List(",
        "dropped_events_count:UInt32",
        "links:List(",
        "dropped_links_count:UInt32",
    ];
    assert_eq!(names.len(), want.len(), "{names:#?}");
    for (n, w) in names.iter().zip(want) {
        assert!(n.starts_with(w), "{n} is not {w}");
    }
    assert_eq!(TRACE_SCHEMA_VERSION, 1);
}

#[tokio::test]
async fn appends_are_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), config(dir.path())).await;
    let o = s.append(&tenant(), rich_batch(1)).await.unwrap();
    assert_eq!((o.spans, o.duplicates, o.traces), (3, 0, 1));
    s.append(&tenant(), batch_of("api", vec![span(2, 0, None, T0, S)]))
        .await
        .unwrap();
    let bytes = s.head.bytes();
    // No flush, no shutdown: the process dies here.
    drop(s);
    let s = open_with(dir.path(), config(dir.path())).await;
    assert_eq!(s.head.bytes(), bytes);
    let got = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    assert!(same(&got, &expected(tid(1), rich_batch(1))), "{got:?}");
    assert!(
        s.find_trace(&tenant(), &tid(2), None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.find_trace(&tenant(), &tid(3), None)
            .await
            .unwrap()
            .is_none()
    );
    // Another tenant sees nothing.
    let other = TenantId::new("other").unwrap();
    assert!(s.find_trace(&other, &tid(1), None).await.unwrap().is_none());
}

#[tokio::test]
async fn spans_over_many_appends_are_one_trace() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), config(dir.path())).await;
    // Children first, the root last, one span per request, one repeated.
    for n in (0..20u64).rev() {
        let parent = (n > 0).then_some(0);
        let b = batch_of("api", vec![span(1, n, parent, T0 + n * S, S)]);
        s.append(&tenant(), b).await.unwrap();
    }
    let o = s
        .append(
            &tenant(),
            batch_of("api", vec![span(1, 3, Some(0), T0 + 3 * S, S)]),
        )
        .await
        .unwrap();
    assert_eq!((o.spans, o.duplicates), (0, 1));
    let t = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.span_count(), 20);
    // One resource group and one scope group, spans sorted by start.
    assert_eq!(t.resources().len(), 1);
    assert_eq!(t.resources()[0].scopes.len(), 1);
    let starts: Vec<u64> = t.spans().map(|(_, _, s)| s.start_ns).collect();
    assert!(starts.is_sorted());
    assert_eq!(t.root().unwrap().1.span_id, sid(0));
    // The same after a cut.
    s.flush().await.unwrap();
    let b = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    assert!(same(&b, &t));
}

#[tokio::test]
async fn a_cut_block_reads_back_the_same_trace() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.row_group_spans = 5;
    let s = open_with(dir.path(), cfg).await;
    s.append(&tenant(), rich_batch(7)).await.unwrap();
    // Fillers around it, so the block has several row groups.
    for t in 0..40u64 {
        if t == 7 {
            continue;
        }
        let spans = (0..3)
            .map(|n| span(t, n, (n > 0).then_some(0), T0 + t * S, S))
            .collect();
        s.append(&tenant(), batch_of("filler", spans))
            .await
            .unwrap();
    }
    let head = s
        .find_trace(&tenant(), &tid(7), None)
        .await
        .unwrap()
        .unwrap();
    let want = expected(tid(7), rich_batch(7));
    assert!(same(&head, &want));
    let out = s.flush().await.unwrap();
    assert_eq!(out.blocks.len(), 1);
    let meta = &out.blocks[0];
    assert_eq!((meta.num_traces, meta.num_spans), (40, 120));
    assert!(meta.row_groups.len() >= 10, "{:?}", meta.row_groups);
    assert!(meta.row_groups.iter().all(|g| g.spans % 3 == 0));
    assert!(meta.tags.span.contains(&"http.method".to_string()));
    assert!(meta.tags.resource.contains(&"service.name".to_string()));
    assert_eq!(meta.tags.scope, vec!["scope.attr".to_string()]);
    assert_eq!(meta.tags.link, vec!["link.kind".to_string()]);
    assert_eq!(meta.tags.event, vec!["exception.message".to_string()]);
    // The head is empty now: the answer comes from the block, reading one row group.
    let before = s.metrics.row_groups_read.get();
    let got = s
        .find_trace(&tenant(), &tid(7), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.metrics.row_groups_read.get() - before, 1);
    assert!(same(&got, &want), "{got:#?}\n{want:#?}");
    // A range that misses the block skips it; unknown ids read nothing.
    assert!(
        s.find_trace(&tenant(), &tid(7), Some((T0 + 3600 * S, T0 + 7200 * S)))
            .await
            .unwrap()
            .is_none()
    );
    let before = s.metrics.row_groups_read.get();
    assert!(
        s.find_trace(&tenant(), &tid(1000), None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.metrics.row_groups_read.get(), before);
    // After a restart, from the block alone.
    s.shutdown().await.unwrap();
    drop(s);
    let s = open_with(dir.path(), config(dir.path())).await;
    let got = s
        .find_trace(&tenant(), &tid(7), None)
        .await
        .unwrap()
        .unwrap();
    assert!(same(&got, &want));
}

#[tokio::test]
async fn dedicated_columns_move_attributes_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), config(dir.path())).await;
    let mut sp = span(1, 0, None, T0, S);
    sp.attributes = vec![
        Attribute::new("http.status_code", 404i64),
        Attribute::new("a", "b"),
        Attribute::new("http.method", "PUT"),
    ];
    let mut b = batch_of("api", vec![sp]);
    b.resources[0].resource.attributes = vec![
        Attribute::new("host", "h"),
        Attribute::new("service.name", "api"),
    ];
    s.append(&tenant(), b).await.unwrap();
    s.flush().await.unwrap();
    let t = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    let (r, _, sp) = t.spans().next().unwrap();
    let keys: Vec<&str> = sp.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["a", "http.method", "http.status_code"]);
    let keys: Vec<&str> = r.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["service.name", "host"]);
}

#[tokio::test]
async fn compaction_joins_a_trace_split_across_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), config(dir.path())).await;
    s.append(&tenant(), batch_of("a", vec![span(1, 0, None, T0, 10 * S)]))
        .await
        .unwrap();
    s.append(&tenant(), batch_of("a", vec![span(2, 0, None, T0, S)]))
        .await
        .unwrap();
    s.flush().await.unwrap();
    s.append(
        &tenant(),
        batch_of("b", vec![span(1, 1, Some(0), T0 + S, S)]),
    )
    .await
    .unwrap();
    s.append(
        &tenant(),
        batch_of("b", vec![span(3, 0, None, T0 + 2 * S, S)]),
    )
    .await
    .unwrap();
    s.flush().await.unwrap();
    assert_eq!(s.blocks_of(&tenant()).await.unwrap().len(), 2);
    // Before compaction a scan meets trace 1 once per block, the newest block first.
    let (ids, _) = scan_ids(&s, T0, T0 + 60 * S).await;
    assert_eq!(ids, vec![tid(1), tid(3), tid(1), tid(2)]);
    let whole = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(whole.span_count(), 2);
    let c = s.compact_tenant_once(&tenant()).await.unwrap();
    assert_eq!(c.sources.len(), 2);
    let m = c.output.unwrap();
    assert_eq!((m.num_traces, m.num_spans, m.level), (3, 4, 1));
    let blocks = s.blocks_of(&tenant()).await.unwrap();
    assert_eq!(blocks.len(), 1);
    let (ids, _) = scan_ids(&s, T0, T0 + 60 * S).await;
    assert_eq!(ids, vec![tid(1), tid(2), tid(3)]);
    let after = s
        .find_trace(&tenant(), &tid(1), None)
        .await
        .unwrap()
        .unwrap();
    assert!(same(&after, &whole));
    assert_eq!(after.resources().len(), 2);
    // Nothing more to do.
    assert!(
        s.compact_tenant_once(&tenant())
            .await
            .unwrap()
            .output
            .is_none()
    );
}

#[tokio::test]
async fn retention_drops_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention_ns = 24 * 3600 * S as i64;
    let s = open_with(dir.path(), cfg).await;
    s.append(&tenant(), batch_of("a", vec![span(1, 0, None, T0, S)]))
        .await
        .unwrap();
    s.flush().await.unwrap();
    s.append(
        &tenant(),
        batch_of("a", vec![span(2, 0, None, T0 + 48 * 3600 * S, S)]),
    )
    .await
    .unwrap();
    s.flush().await.unwrap();
    assert_eq!(s.blocks_of(&tenant()).await.unwrap().len(), 2);
    s.compact_and_retain((T0 + 50 * 3600 * S) as i64).await;
    let left = s.blocks_of(&tenant()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(
        s.find_trace(&tenant(), &tid(1), None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_trace(&tenant(), &tid(2), None)
            .await
            .unwrap()
            .is_some()
    );
    // The dropped block's files are gone.
    let n = std::fs::read_dir(dir.path().join("objects/team-a/traces/blocks"))
        .unwrap()
        .filter(|d| d.as_ref().unwrap().path().join("data.parquet").exists())
        .count();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn scans_prune_row_groups_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.row_group_spans = 1;
    let s = open_with(dir.path(), cfg).await;
    // Trace ids ascend with time, so each row group (one trace) covers one minute.
    for t in 0..30u64 {
        let b = batch_of("a", vec![span(t, 0, None, T0 + t * 60 * S, S)]);
        s.append(&tenant(), b).await.unwrap();
    }
    s.flush().await.unwrap();
    let (ids, stats) = scan_ids(&s, T0 + 10 * 60 * S, T0 + 12 * 60 * S).await;
    assert_eq!(ids, vec![tid(10), tid(11), tid(12)]);
    assert_eq!(stats.row_groups_read, 3);
    assert_eq!(stats.row_groups_skipped, 27);
    // Breaking stops the scan.
    let mut n = 0;
    s.scan(
        &tenant(),
        T0,
        T0 + 3600 * S,
        &CancellationToken::new(),
        |_| {
            n += 1;
            if n == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    // A cancelled token stops before reading.
    let c = CancellationToken::new();
    c.cancel();
    let st = s
        .scan(&tenant(), T0, T0 + 3600 * S, &c, |_| {
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    assert!(st.canceled);
    assert_eq!(st.row_groups_read, 0);
}

#[tokio::test]
async fn tag_names_and_values_cover_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), config(dir.path())).await;
    s.append(&tenant(), rich_batch(1)).await.unwrap();
    s.flush().await.unwrap();
    let mut sp = span(2, 0, None, T0, S);
    sp.attributes = vec![
        Attribute::new("only.in.head", "x"),
        Attribute::new("n", 42i64),
    ];
    s.append(&tenant(), batch_of("api", vec![sp]))
        .await
        .unwrap();
    let names = s.tag_names(&tenant(), (T0, T0 + 60 * S)).await.unwrap();
    assert!(names.span.contains(&"only.in.head".to_string()));
    assert!(names.span.contains(&"url.full".to_string()));
    assert!(names.resource.contains(&"k8s.pod.name".to_string()));
    assert_eq!(names.scope, vec!["scope.attr".to_string()]);
    let c = CancellationToken::new();
    let vals = s
        .tag_values(&tenant(), TagScope::Span, "n", (T0, T0 + 60 * S), 0, &c)
        .await
        .unwrap();
    // `n` is 2 on the rich trace's plain span and 42 in the head.
    assert_eq!(vals, vec![AttrValue::Int(2), AttrValue::Int(42)]);
    let vals = s
        .tag_values(
            &tenant(),
            TagScope::Resource,
            "service.name",
            (T0, T0 + 60 * S),
            0,
            &c,
        )
        .await
        .unwrap();
    assert_eq!(
        vals,
        vec![
            AttrValue::Int(5),
            AttrValue::String("api".into()),
            AttrValue::String("frontend".into())
        ]
    );
    let vals = s
        .tag_values(
            &tenant(),
            TagScope::Resource,
            "service.name",
            (T0, T0 + 60 * S),
            1,
            &c,
        )
        .await
        .unwrap();
    assert_eq!(vals.len(), 1);
}

#[tokio::test]
async fn a_full_head_refuses_appends_until_a_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.head_max_bytes = 1 << 20;
    let s = open_with(dir.path(), cfg).await;
    // No background cuts run here: appends go on until the head passes twice its bound.
    let mut refused = None;
    for t in 0..100_000u64 {
        let spans = (0..20).map(|n| span(t, n, None, T0 + n * S, S)).collect();
        match s.append(&tenant(), batch_of("api", spans)).await {
            Ok(_) => {}
            Err(e) => {
                refused = Some((t, e));
                break;
            }
        }
    }
    let (t, e) = refused.expect("the head never refused an append");
    assert!(
        matches!(e, Error::HeadFull { limit, .. } if limit == 2 << 20),
        "{e}"
    );
    assert!(e.to_string().contains("retry later"), "{e}");
    // Nothing of the refused batch was stored; everything before it was.
    assert!(
        s.find_trace(&tenant(), &tid(t), None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_trace(&tenant(), &tid(t - 1), None)
            .await
            .unwrap()
            .is_some()
    );
    s.flush().await.unwrap();
    let b = batch_of("api", vec![span(t, 0, None, T0, S)]);
    assert_eq!(s.append(&tenant(), b).await.unwrap().spans, 1);
}
