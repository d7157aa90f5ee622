//! Log queries through the engine over the in-memory store; expected answers follow Loki's
//! documented semantics (direction, limit, interval, stream grouping, categorized labels).

use cairn_logql::{
    Engine, EngineOptions, Error, MemoryLogQuerier, QueryParams, QueryValue, Streams, parse,
};
use cairn_model::{Direction, Labels, LogEntry, TenantId};

const S: i64 = 1_000_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn store(chunk: usize) -> MemoryLogQuerier {
    let t = TenantId::default_tenant();
    let mut q = MemoryLogQuerier::new().with_chunk_entries(chunk);
    let a: Vec<LogEntry> = (0..10)
        .map(|i| LogEntry::new(i * 2 * S, format!("level=info n={i} app=a")))
        .collect();
    let b: Vec<LogEntry> = (0..10)
        .map(|i| {
            let mut e = LogEntry::new((i * 2 + 1) * S, format!("level=error n={i} app=b"));
            e.metadata.push(("trace_id".into(), format!("t{i}")));
            e
        })
        .collect();
    q.add(&t, labels(&[("app", "a"), ("env", "prod")]), &a);
    q.add(&t, labels(&[("app", "b"), ("env", "prod")]), &b);
    q
}

async fn run(q: &MemoryLogQuerier, query: &str, p: &QueryParams) -> Result<Streams, Error> {
    let e = Engine::new(EngineOptions::default());
    let expr = parse(query).unwrap();
    match e
        .execute(q, &TenantId::default_tenant(), &expr, p)
        .await?
        .value
    {
        QueryValue::Streams(s) => Ok(s),
        QueryValue::Metric(_) => panic!("metric answer to a log query"),
    }
}

fn params(dir: Direction, limit: u32) -> QueryParams {
    let mut p = QueryParams::range(0, 100 * S, S);
    p.direction = dir;
    p.limit = limit;
    p
}

fn times(s: &Streams) -> Vec<i64> {
    s.entries().map(|(t, _, _)| t / S).collect()
}

#[tokio::test]
async fn direction_and_limit_across_chunks() {
    for chunk in [1, 3, 1000] {
        let q = store(chunk);
        let s = run(&q, r#"{env="prod"}"#, &params(Direction::Backward, 5))
            .await
            .unwrap();
        assert_eq!(times(&s), vec![19, 18, 17, 16, 15], "chunk {chunk}");
        let s = run(&q, r#"{env="prod"}"#, &params(Direction::Forward, 3))
            .await
            .unwrap();
        assert_eq!(times(&s), vec![0, 1, 2], "chunk {chunk}");
        let s = run(
            &q,
            r#"{env="prod"} |= "error""#,
            &params(Direction::Forward, 100),
        )
        .await
        .unwrap();
        assert_eq!(times(&s), vec![1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    }
}

#[tokio::test]
async fn range_end_is_exclusive() {
    let q = store(4);
    let mut p = params(Direction::Forward, 100);
    p.start_ns = 2 * S;
    p.end_ns = 5 * S;
    let s = run(&q, r#"{env="prod"}"#, &p).await.unwrap();
    assert_eq!(times(&s), vec![2, 3, 4]);
}

#[tokio::test]
async fn interval_keeps_one_entry_per_interval() {
    let q = store(2);
    let mut p = params(Direction::Forward, 100);
    p.interval_ns = 5 * S;
    let s = run(&q, r#"{env="prod"}"#, &p).await.unwrap();
    assert_eq!(times(&s), vec![0, 5, 10, 15]);
    p.direction = Direction::Backward;
    let s = run(&q, r#"{env="prod"}"#, &p).await.unwrap();
    assert_eq!(times(&s), vec![19, 14, 9, 4]);
}

#[tokio::test]
async fn flat_and_categorized_streams() {
    let q = store(7);
    let s = run(
        &q,
        r#"{env="prod"} | logfmt | n < 2 | line_format "{{.level}}""#,
        &params(Direction::Forward, 100),
    )
    .await
    .unwrap();
    let flat = s.flat();
    let names: Vec<String> = flat.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        names,
        vec![
            r#"{app="a", app_extracted="a", env="prod", level="info", n="0"}"#,
            r#"{app="a", app_extracted="a", env="prod", level="info", n="1"}"#,
            r#"{app="b", app_extracted="b", env="prod", level="error", n="0", trace_id="t0"}"#,
            r#"{app="b", app_extracted="b", env="prod", level="error", n="1", trace_id="t1"}"#,
        ]
    );
    assert_eq!(flat[0].entries[0].line, "info");
    let cat = s.categorized();
    assert_eq!(cat.len(), 2);
    assert_eq!(cat[1].labels.to_string(), r#"{app="b", env="prod"}"#);
    let e = &cat[1].entries[1];
    assert_eq!(e.metadata, vec![("trace_id".into(), "t1".into())]);
    assert_eq!(
        e.parsed,
        vec![
            ("app_extracted".into(), "b".into()),
            ("level".into(), "error".into()),
            ("n".into(), "1".into())
        ]
    );
}

#[tokio::test]
async fn instant_log_queries_are_refused() {
    let q = store(10);
    let e = run(&q, r#"{env="prod"}"#, &QueryParams::instant(5 * S))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert_eq!(
        e.to_string(),
        "log queries are not supported as an instant query type, please change your query to a range query type"
    );
}

#[tokio::test]
async fn entry_limit_and_cancel() {
    let q = store(10);
    let engine = Engine::new(EngineOptions {
        max_entries: 5,
        ..EngineOptions::default()
    });
    let expr = parse(r#"{env="prod"}"#).unwrap();
    let e = engine
        .execute(
            &q,
            &TenantId::default_tenant(),
            &expr,
            &params(Direction::Forward, 6),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "max entries limit per query exceeded, limit > max_entries_limit_per_query (6 > 5)"
    );
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let engine = Engine::new(EngineOptions {
        cancel: Some(flag),
        ..EngineOptions::default()
    });
    let e = engine
        .execute(
            &q,
            &TenantId::default_tenant(),
            &expr,
            &params(Direction::Forward, 6),
        )
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 499);
}
