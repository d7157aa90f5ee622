//! Pipeline, query and pattern mining throughput on lines of the benchmark corpus
//! (`cairn-benches`: nginx, JSON and logfmt services with Kubernetes labels), in bytes (or
//! lines, for patterns) of raw lines per second on one core. Run with `cargo bench -p cairn-logql --bench query`; `LOGQL_BENCH_MB` sets the corpus
//! size (default 32 MB).

use std::hint::black_box;

use cairn_benches::{Corpus, CorpusSpec, Format, LineCache, NEEDLE};
use cairn_logql::{
    Engine, EngineOptions, Expr, MemoryLogQuerier, PatternMiner, PatternOptions, Pipeline,
    QueryParams, QueryValue, parse,
};
use cairn_model::{Labels, LogEntry, TenantId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const MIN: i64 = 60_000_000_000;

struct Stream {
    labels: Labels,
    format: Format,
    entries: Vec<LogEntry>,
}

fn corpus() -> Vec<Stream> {
    let mb: u64 = std::env::var("LOGQL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let c = Corpus::new(CorpusSpec {
        seed: 7,
        start_ns: 0,
        end_ns: 60 * MIN,
        target_bytes: mb * 1_000_000,
        clusters: 1,
    });
    let mut cache = LineCache::default();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for (i, s) in c.streams().iter().enumerate() {
        let labels = Labels::from_pairs(s.labels.iter().map(|(a, b)| (a.as_str(), b.as_str())))
            .expect("corpus labels are valid");
        let mut cur = c.cursor(i);
        let mut entries = Vec::new();
        while c.advance(&mut cur) {
            buf.clear();
            c.write(&mut cur, &mut cache, &mut buf);
            entries.push(LogEntry::new(cur.ts_ns, String::from_utf8_lossy(&buf)));
        }
        out.push(Stream {
            labels,
            format: s.format(),
            entries,
        });
    }
    out
}

fn bytes(streams: &[&Stream]) -> u64 {
    streams
        .iter()
        .flat_map(|s| s.entries.iter())
        .map(|e| e.line.len() as u64)
        .sum()
}

/// Runs a log pipeline over every line; the number of lines kept.
fn run_pipeline(p: &Pipeline, streams: &[&Stream]) -> usize {
    let mut kept = 0;
    for s in streams {
        let mut sp = p.for_stream(&s.labels);
        for e in &s.entries {
            if sp.process(e.ts_ns, &e.line, &e.metadata).is_some() {
                kept += 1;
            }
        }
    }
    kept
}

fn lines(streams: &[&Stream]) -> u64 {
    streams.iter().map(|s| s.entries.len() as u64).sum()
}

/// Mines the patterns of every line as `/loki/api/v1/patterns` does (one Drain per stream);
/// the number of patterns answered.
fn mine_patterns(streams: &[&Stream]) -> usize {
    let mut m = PatternMiner::new(PatternOptions {
        step_ns: MIN,
        ..PatternOptions::default()
    });
    for s in streams {
        let slot = m.stream(&s.labels);
        for e in &s.entries {
            m.add(slot, e.ts_ns, "info", &e.line);
        }
    }
    m.finish().len()
}

fn log_pipeline(q: &str) -> Pipeline {
    match parse(q) {
        Ok(Expr::Log(l)) => Pipeline::new(&l).expect("bench pipelines compile"),
        _ => panic!("not a log query: {q}"),
    }
}

fn benches(c: &mut Criterion) {
    let all = corpus();
    let every: Vec<&Stream> = all.iter().collect();
    let json: Vec<&Stream> = all.iter().filter(|s| s.format == Format::Json).collect();
    let logfmt: Vec<&Stream> = all.iter().filter(|s| s.format == Format::Logfmt).collect();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);

    let needle = log_pipeline(&format!(r#"{{app=~".+"}} |= "{NEEDLE}""#));
    g.throughput(Throughput::Bytes(bytes(&every)));
    g.bench_function("line_filter_needle", |b| {
        b.iter(|| black_box(run_pipeline(&needle, &every)))
    });

    let status = log_pipeline(r#"{app=~".+"} | json | status >= 500"#);
    g.throughput(Throughput::Bytes(bytes(&json)));
    g.bench_function("json_status_ge_500", |b| {
        b.iter(|| black_box(run_pipeline(&status, &json)))
    });

    let lf = log_pipeline(r#"{app=~".+"} | logfmt"#);
    g.throughput(Throughput::Bytes(bytes(&logfmt)));
    g.bench_function("logfmt", |b| {
        b.iter(|| black_box(run_pipeline(&lf, &logfmt)))
    });
    g.finish();

    let nginx: Vec<&Stream> = all.iter().filter(|s| s.format == Format::Nginx).collect();
    let mut g = c.benchmark_group("patterns");
    g.sample_size(10);
    for (name, set) in [
        ("all", &every),
        ("nginx", &nginx),
        ("json", &json),
        ("logfmt", &logfmt),
    ] {
        g.throughput(Throughput::Elements(lines(set)));
        g.bench_function(name, |b| b.iter(|| black_box(mine_patterns(set))));
    }
    g.finish();

    // The whole engine over an in-memory store: scan, extraction and windows.
    let t = TenantId::default_tenant();
    let mut store = MemoryLogQuerier::new().with_chunk_entries(8192);
    for s in &json {
        store.add(&t, s.labels.clone(), &s.entries);
    }
    let engine = Engine::new(EngineOptions::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let expr = parse(r#"sum by (level) (rate({app=~".+"} | json [5m]))"#).expect("query parses");
    let params = QueryParams::range(5 * MIN, 60 * MIN, MIN);
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes(&json)));
    g.bench_function("sum_by_level_rate_json_5m", |b| {
        b.iter(|| {
            let r = rt
                .block_on(engine.execute(&store, &t, &expr, &params))
                .expect("query runs");
            match r.value {
                QueryValue::Metric(v) => black_box(v),
                QueryValue::Streams(_) => unreachable!("a metric query"),
            };
        })
    });
    g.finish();
}

criterion_group!(query, benches);
criterion_main!(query);
