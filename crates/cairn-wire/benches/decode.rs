//! Decode throughput of remote write 1.0 and 2.0 requests shaped like Prometheus' own (2000
//! series of 10 labels, one sample each, after snappy), and of the log decoders on 10 000
//! lines of about 200 bytes (Loki push protobuf and JSON, Fluent Bit json and msgpack, the
//! forward protocol), without a benchmark framework: `cargo bench -p cairn-wire`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cairn_model::{Sample, WriteBatch};
use cairn_wire::encode::{OwnedSeries, encode_v1, encode_v2};
use cairn_wire::{DecodeLimits, decode_v1, decode_v2, decompress_snappy, snappy_compress};

fn request() -> Vec<OwnedSeries> {
    (0..2000)
        .map(|i| {
            let labels: Vec<(String, String)> = [
                ("__name__", format!("node_cpu_seconds_total_{}", i % 50)),
                ("cluster", "eu-west-1".to_string()),
                ("namespace", format!("team-{}", i % 13)),
                ("pod", format!("api-7d9f8c-{i:05}")),
                ("instance", format!("10.1.{}.{}:9100", i / 250, i % 250)),
                ("job", "node-exporter".to_string()),
                (
                    "mode",
                    ["idle", "user", "system", "iowait"][i % 4].to_string(),
                ),
                ("cpu", (i % 16).to_string()),
                ("region", "eu".to_string()),
                ("env", "prod".to_string()),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
            OwnedSeries {
                labels,
                samples: vec![Sample::new(1_700_000_000_000 + i as i64, i as f64 * 1.5)],
                ..Default::default()
            }
        })
        .collect()
}

fn bench(name: &str, compressed: &[u8], decode: impl for<'a> Fn(&'a [u8], &mut WriteBatch<'a>)) {
    let mut body = Vec::new();
    let (mut runs, start) = (0u32, Instant::now());
    while start.elapsed() < Duration::from_secs(2) {
        decompress_snappy(compressed, 32 << 20, &mut body).expect("benchmark body decompresses");
        let mut batch = WriteBatch::default();
        decode(black_box(&body), &mut batch);
        black_box(&batch);
        runs += 1;
    }
    let per = start.elapsed() / runs;
    println!(
        "{name}: {per:?} per request of 2000 series ({} bytes snappy, {} bytes raw), {:.0} ns/series",
        compressed.len(),
        body.len(),
        per.as_nanos() as f64 / 2000.0
    );
}

#[path = "decode/logs.rs"]
mod logs;

fn main() {
    logs::run();
    let series = request();
    let limits = DecodeLimits::default();
    let v1 = snappy_compress(&encode_v1(&series, &[]));
    let v2 = snappy_compress(&encode_v2(&series, &[]));
    bench("remote write 1.0", &v1, |b, batch| {
        let r = decode_v1(b, &limits, batch).expect("benchmark request decodes");
        assert_eq!(r.series, 2000);
    });
    bench("remote write 2.0", &v2, |b, batch| {
        let r = decode_v2(b, &limits, batch).expect("benchmark request decodes");
        assert_eq!(r.series, 2000);
    });
}
