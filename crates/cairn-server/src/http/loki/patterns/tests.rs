use std::time::Duration;

use cairn_logql::MemoryLogQuerier;
use cairn_model::{Labels, LogEntry};

use super::*;

const S: i64 = 1_000_000_000;
/// A minute boundary.
const T0: i64 = 1_700_000_040 * S;

fn tenant() -> TenantId {
    TenantId::new("t").unwrap()
}

fn labels(pod: &str) -> Labels {
    Labels::from_pairs([("app", "api"), ("pod", pod)]).unwrap()
}

fn entry(ts_ns: i64, line: String, level: Option<&str>) -> LogEntry {
    let mut e = LogEntry::new(ts_ns, line);
    if let Some(l) = level {
        e.metadata.push((DETECTED_LEVEL.to_string(), l.to_string()));
    }
    e
}

fn served(i: i64) -> String {
    format!(
        r#"level=info msg="request served" path=/api/users/{i} duration={}ms"#,
        i % 17
    )
}

fn job(max_lines: u64, discover: bool) -> Job {
    Job {
        matchers: label_matchers(r#"{app="api"}"#).unwrap(),
        start_ns: T0,
        end_ns: T0 + 600 * S,
        max_lines,
        options: PatternOptions {
            step_ns: 60 * S,
            ..PatternOptions::default()
        },
        levels: Levels {
            discover,
            fields: crate::config::LogLimits::default().log_level_fields,
        },
    }
}

fn stop() -> Stop {
    Stop {
        cancel: Arc::new(AtomicBool::new(false)),
        deadline: Instant::now() + Duration::from_secs(60),
    }
}

/// Two pods logging the same logfmt shape (merged across streams), a rare error shape (under
/// Loki's 30 lines), and a JSON shape without `detected_level` (found from the line).
fn store() -> MemoryLogQuerier {
    let mut q = MemoryLogQuerier::new().with_chunk_entries(7);
    let t = tenant();
    let mut a = Vec::new();
    for i in 0..20 {
        a.push(entry(T0 + i * S, served(i), Some("info")));
    }
    for i in 0..15 {
        a.push(entry(T0 + 120 * S + i * S, served(100 + i), Some("info")));
    }
    for i in 0..5 {
        a.push(entry(
            T0 + 30 * S + i * S,
            format!("level=error msg=\"upstream failed\" upstream=db-{i}"),
            Some("error"),
        ));
    }
    q.add(&t, labels("a"), &a);
    let b: Vec<LogEntry> = (0..10)
        .map(|i| entry(T0 + 40 * S + i * S, served(200 + i), Some("info")))
        .collect();
    q.add(&t, labels("b"), &b);
    let c: Vec<LogEntry> = (0..40)
        .map(|i| {
            entry(
                T0 + 300 * S + i * S,
                format!(r#"{{"level":"warn","msg":"cache miss for key user-{i}"}}"#),
                None,
            )
        })
        .collect();
    q.add(&t, labels("c"), &c);
    q
}

#[tokio::test]
async fn patterns_merge_streams_count_per_step_and_keep_levels() {
    let q = store();
    let m = mine(&q, &tenant(), job(0, true), stop()).await.unwrap();
    assert_eq!(m.lines, 90);
    assert!(m.warnings.is_empty());
    type Row<'a> = (&'a str, &'a str, Vec<(i64, u64)>);
    let got: Vec<Row<'_>> = m
        .series
        .iter()
        .map(|s| (s.pattern.as_str(), s.level, s.samples.clone()))
        .collect();
    let ms = T0 / 1_000_000;
    assert_eq!(
        got,
        vec![
            (
                r#"level=info msg="request served" path=<_> duration=<_>"#,
                "info",
                vec![(ms, 30), (ms + 60_000, 0), (ms + 120_000, 15)]
            ),
            (
                "<_>cache miss for key <_>",
                "warn",
                vec![(ms + 300_000, 40)]
            ),
        ]
    );
}

#[tokio::test]
async fn without_level_discovery_lines_lacking_a_level_are_unknown() {
    let q = store();
    let m = mine(&q, &tenant(), job(0, false), stop()).await.unwrap();
    let json = m
        .series
        .iter()
        .find(|s| s.pattern.contains("cache miss"))
        .unwrap();
    assert_eq!(json.level, "unknown");
}

#[tokio::test]
async fn a_bounded_scan_reads_the_newest_lines_and_says_so() {
    let mut q = MemoryLogQuerier::new().with_chunk_entries(16);
    let lines: Vec<LogEntry> = (0..100)
        .map(|i| entry(T0 + i * S, served(i), Some("info")))
        .collect();
    q.add(&tenant(), labels("a"), &lines);
    let mut j = job(40, true);
    j.end_ns = T0 + 100 * S;
    j.options.step_ns = 10 * S;
    let m = mine(&q, &tenant(), j, stop()).await.unwrap();
    // The newest 40 lines: from T0 + 60 s on, a step boundary.
    assert_eq!(m.lines, 40);
    assert_eq!(m.series.len(), 1);
    assert_eq!(m.series[0].total(), 40);
    assert_eq!(m.series[0].samples[0].0, (T0 + 60 * S) / 1_000_000);
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("partial result: the range holds about 100 lines"),
        "{}",
        m.warnings[0]
    );
    assert!(
        m.warnings[0].contains("2023-11-14T22:15:00Z"),
        "{}",
        m.warnings[0]
    );
}

#[test]
fn feeding_stops_at_the_budget_and_when_told() {
    let mut c = LogChunk {
        streams: vec![labels("a")],
        ..LogChunk::default()
    };
    for i in 0..5 {
        c.push(0, T0 + i * S, &served(i), &[]);
    }
    let levels = job(0, true).levels;
    let mut m = PatternMiner::new(PatternOptions::default());
    assert_eq!(feed(&mut m, &c, &levels, 3, &stop()), Fed::Capped);
    assert_eq!(m.lines(), 3);
    let s = stop();
    s.cancel.store(true, Ordering::Relaxed);
    assert_eq!(feed(&mut m, &c, &levels, 10, &s), Fed::Stopped);
    assert_eq!(m.lines(), 3);
}

#[tokio::test]
async fn a_canceled_query_stops() {
    let q = store();
    let s = stop();
    s.cancel.store(true, Ordering::Relaxed);
    let e = mine(&q, &tenant(), job(0, true), s).await.unwrap_err();
    assert!(matches!(e, Error::Canceled), "{e}");
}

#[test]
fn only_label_matchers_are_accepted() {
    assert_eq!(label_matchers(r#"{app="api"}"#).unwrap().len(), 1);
    for q in [
        r#"{app="api"} |= "error""#,
        r#"{app="api"} | json"#,
        r#"sum(count_over_time({app="api"}[1m]))"#,
    ] {
        let e = label_matchers(q).unwrap_err();
        assert_eq!(e.message, "only label matchers are supported", "{q}");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        label_matchers("").unwrap_err().status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn the_body_is_lokis() {
    let m = Mined {
        series: vec![PatternSeries {
            pattern: "<_> level=info msg=\"done\"".into(),
            level: "info",
            samples: vec![(1_700_000_040_000, 3), (1_700_000_050_000, 0)],
        }],
        lines: 3,
        warnings: Vec::new(),
    };
    assert_eq!(
        render(&m),
        r#"{"status":"success","data":[{"pattern":"\u003c_\u003e level=info msg=\"done\"","level":"info","samples":[[1700000040,3],[1700000050,0]]}]}"#
    );
    let empty = Mined {
        series: Vec::new(),
        lines: 0,
        warnings: vec!["partial result: x".into()],
    };
    assert_eq!(
        render(&empty),
        r#"{"status":"success","data":[],"warnings":["partial result: x"]}"#
    );
}
