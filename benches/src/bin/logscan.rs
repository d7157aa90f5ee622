//! Scans a stopped Cairn's log store directly through `LogQuerier::select_logs`, to measure
//! line-filter scan speed without the LogQL engine: each query is timed (wall and this
//! process' CPU) and reported with what the store read.
//!
//! ```sh
//! target/release/logscan --data-dir $WORK/cairn/data --end-ns E --query 'needle_24h:app=checkout:24h:needle-7f3e9a41'
//! ```

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use cairn_benches::cpu_seconds;
use cairn_model::{Direction, LogQuerier, LogSelectRequest, Matcher, TenantId};
use cairn_store::{
    BlockCache, LogStore, LogStoreConfig, ObjectStoreConfig, StoreConfig, build_object_store,
};
use clap::Parser;

/// Direct log scans over a data directory.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The `storage.data_dir` of a stopped Cairn (blocks in `objects/`).
    #[arg(long)]
    data_dir: std::path::PathBuf,
    /// End of the scanned ranges, ns (default: the newest block's end).
    #[arg(long)]
    end_ns: Option<i64>,
    /// Tenant.
    #[arg(long, default_value = TenantId::DEFAULT)]
    tenant: String,
    /// `name:label=value[,label=value]:hours:needle[:limit[:forward]]`; needle may be empty.
    #[arg(long)]
    query: Vec<String>,
    /// Timed runs per query (the first run is a warm-up).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Kernel clock ticks per second.
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

struct Query {
    name: String,
    matchers: Vec<Matcher>,
    hours: f64,
    needle: Option<String>,
    limit: usize,
    direction: Direction,
}

fn parse_query(q: &str) -> anyhow::Result<Query> {
    let parts: Vec<&str> = q.split(':').collect();
    if parts.len() < 4 {
        bail!("query {q:?}: want name:matchers:hours:needle[:limit[:forward]]");
    }
    let matchers = parts[1]
        .split(',')
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (n, v) = m.split_once('=').context("matcher without =")?;
            Ok(Matcher::equal(n, v))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Query {
        name: parts[0].to_string(),
        matchers,
        hours: parts[2].parse().context("hours")?,
        needle: (!parts[3].is_empty()).then(|| parts[3].to_string()),
        limit: parts.get(4).map_or(Ok(0), |l| l.parse()).context("limit")?,
        direction: if parts.get(5) == Some(&"forward") {
            Direction::Forward
        } else {
            Direction::Backward
        },
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let queries: Vec<Query> = args
        .query
        .iter()
        .map(|q| parse_query(q))
        .collect::<anyhow::Result<_>>()?;
    let store = build_object_store(&ObjectStoreConfig::Local {
        path: args.data_dir.join("objects"),
    })?;
    let logs = LogStore::open(
        LogStoreConfig::from_store(&StoreConfig::new(&args.data_dir)),
        store,
        Arc::new(BlockCache::new(512 << 20)),
        &mut prometheus_client::registry::Registry::default(),
    )
    .await?;
    let tenant = TenantId::new(&args.tenant)?;
    let blocks = logs.blocks_of(&tenant).await?;
    let stored: u64 = blocks.iter().map(|b| b.bytes).sum();
    let raw: u64 = blocks.iter().map(|b| b.raw_bytes).sum();
    let filter: u64 = blocks.iter().map(|b| b.filter_bytes).sum();
    println!(
        "blocks={} stored_bytes={stored} raw_bytes={raw} filter_bytes={filter} ratio={:.4}",
        blocks.len(),
        stored as f64 / raw.max(1) as f64
    );
    let end = args
        .end_ns
        .or_else(|| blocks.iter().map(|b| b.max_time + 1).max())
        .context("no blocks and no --end-ns")?;
    println!(
        "| query | runs | median wall s | CPU s per run | lines read | line GB read | GB/s per core | hits | runs skipped by index / selected |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for q in &queries {
        let req = LogSelectRequest {
            matchers: q.matchers.clone(),
            start_ns: end - (q.hours * 3.6e12) as i64,
            end_ns: end,
            direction: q.direction,
            line_contains: q.needle.iter().cloned().collect(),
            with_metadata: false,
            max_streams: 0,
        };
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut last = None;
        for run in 0..=args.runs {
            let c0 = cpu_seconds(None, args.clk_tck).unwrap_or(0.0);
            let t0 = Instant::now();
            let mut scan = logs.select_logs(&tenant, &req).await?;
            let mut hits = 0usize;
            while let Some(c) = scan.next_chunk().await? {
                hits += c.entries.len();
                if q.limit > 0 && hits >= q.limit {
                    hits = q.limit;
                    break;
                }
            }
            let wall = t0.elapsed().as_secs_f64();
            let cpu = cpu_seconds(None, args.clk_tck).unwrap_or(0.0) - c0;
            if run > 0 {
                walls.push(wall);
                cpus.push(cpu);
            }
            last = Some((scan.stats(), hits));
        }
        walls.sort_by(f64::total_cmp);
        let wall = walls[walls.len() / 2];
        let cpu = cpus.iter().sum::<f64>() / cpus.len().max(1) as f64;
        let (st, hits) = last.context("no run")?;
        let lines = st.decompressed_lines + st.head_lines;
        let bytes = (st.decompressed_bytes + st.head_bytes) as f64 / 1e9;
        println!(
            "| {} | {} | {wall:.3} | {cpu:.3} | {lines} | {bytes:.3} | {:.2} | {hits} | {} / {} |",
            q.name,
            args.runs,
            bytes / cpu.max(1e-9),
            st.chunks_skipped_by_index,
            st.chunks_ref
        );
    }
    logs.shutdown().await?;
    Ok(())
}
