//! The LogQL target: any text the parser accepts runs through the engine (log and metric
//! queries) over a small in-memory store; nothing may panic.

use std::sync::LazyLock;
use std::time::Duration;

use cairn_logql::{Engine, EngineOptions, Expr, MemoryLogQuerier, Pipeline, QueryParams, parse};
use cairn_model::{Direction, Labels, LogEntry, TenantId};

const S: i64 = 1_000_000_000;

/// Lines of the usual shapes (JSON, logfmt, nginx, ANSI colours, broken input).
const LINES: &[&str] = &[
    r#"{"level":"error","status":503,"msg":"upstream \"timeout\"","user":{"id":"u1","tags":["a","b"]},"latency":"1.5s","size":"2KB"}"#,
    r#"level=info status=200 msg="hello world" latency=20ms size=512 ip=10.0.0.1"#,
    r#"192.168.1.5 - - [10/Oct/2000:13:55:36 -0700] "GET /index.html HTTP/1.0" 200 2326"#,
    "\u{1b}[31mred\u{1b}[0m plain text with \u{fffd} and ünïcödé",
    r#"{"_entry":"level=warn n=1","app":"x","bad": tru"#,
    "",
    "key=\"unterminated value",
];

static STORE: LazyLock<MemoryLogQuerier> = LazyLock::new(|| {
    let mut q = MemoryLogQuerier::new().with_chunk_entries(3);
    let t = TenantId::default_tenant();
    for (i, app) in ["api", "web"].iter().enumerate() {
        let labels = Labels::from_pairs([("app", *app), ("env", "prod"), ("level", "info")])
            .expect("static labels are valid");
        let entries: Vec<LogEntry> = (0..12)
            .map(|k| {
                let mut e = LogEntry::new(k * 5 * S + i as i64, LINES[k as usize % LINES.len()]);
                if k % 3 == 0 {
                    e.metadata.push(("trace_id".into(), format!("t{k}")));
                    e.metadata.push(("level".into(), "debug".into()));
                }
                e
            })
            .collect();
        q.add(&t, labels, &entries);
    }
    q
});

/// Parses `data` as a query and, when it parses, runs it.
pub fn logql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = parse(text) else {
        return;
    };
    // The printed form must parse again.
    let printed = expr.to_string();
    assert!(
        parse(&printed).is_ok(),
        "printed form {printed:?} of {text:?} does not parse"
    );
    if let Expr::Log(l) = &expr
        && let Ok(p) = Pipeline::new(l)
    {
        let labels =
            Labels::from_pairs([("app", "api"), ("level", "x")]).expect("static labels are valid");
        let mut sp = p.for_stream(&labels);
        let md = vec![("trace_id".to_owned(), "t".to_owned())];
        for line in LINES {
            let _ = sp.process(7, line, &md);
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(_) => return,
    };
    let engine = Engine::new(EngineOptions {
        max_series: 1000,
        max_entries: 1000,
        max_samples: 100_000,
        timeout: Some(Duration::from_secs(2)),
        cancel: None,
    });
    let t = TenantId::default_tenant();
    let mut range = QueryParams::range(0, 60 * S, 10 * S);
    range.direction = Direction::Forward;
    let _ = rt.block_on(engine.execute(&*STORE, &t, &expr, &range));
    let _ = rt.block_on(engine.execute(&*STORE, &t, &expr, &QueryParams::instant(60 * S)));
}
