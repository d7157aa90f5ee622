//! Writes seed corpora built with cairn-wire's encoders: `cargo run --bin seeds -- corpus`
//! creates `corpus/<target>/seed-*` for every target.

use std::path::PathBuf;

use cairn_model::{MatchOp, Matcher, MetricType, Sample, stale_nan};
use cairn_wire::encode::{
    BucketSpan, HistogramCount, OwnedExemplar, OwnedHistogram, OwnedMetadata, OwnedSeries,
    encode_v1, encode_v2, owned_labels,
};
use cairn_wire::{
    Query, ReadHints, ReadRequest, ResponseType, encode_read_request, snappy_compress,
};

fn series() -> Vec<OwnedSeries> {
    let hist = OwnedHistogram {
        count: HistogramCount::Int(4),
        sum: 2.5,
        schema: 2,
        zero_count: HistogramCount::Int(1),
        positive_spans: vec![BucketSpan {
            offset: -1,
            length: 2,
        }],
        positive_deltas: vec![1, 1],
        timestamp_ms: 1_700_000_000_000,
        ..Default::default()
    };
    vec![
        OwnedSeries {
            labels: owned_labels(&[("job", "api"), ("__name__", "http.requests total")]),
            samples: vec![Sample::new(1, 1.0), Sample::new(2, stale_nan())],
            exemplars: vec![OwnedExemplar {
                labels: owned_labels(&[("trace_id", "0af7651916cd43dd")]),
                value: 0.5,
                timestamp_ms: 1,
            }],
            histograms: vec![],
        },
        OwnedSeries {
            labels: owned_labels(&[("__name__", "latency"), ("le", "\n")]),
            histograms: vec![hist],
            ..Default::default()
        },
        OwnedSeries::new(&[("job", "no name")], &[Sample::new(3, f64::INFINITY)]),
    ]
}

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let md = OwnedMetadata {
        metric_family_name: "http.requests total".into(),
        metric_type: MetricType::Counter,
        help: "Requests.".into(),
        unit: "requests".into(),
    };
    let v1 = encode_v1(&series(), std::slice::from_ref(&md));
    let v2 = encode_v2(&series(), &[Some(md.clone()), None, Some(md)]);
    let read = encode_read_request(&ReadRequest {
        queries: vec![Query {
            start_ms: 0,
            end_ms: 60_000,
            matchers: vec![
                Matcher::equal("__name__", "up"),
                Matcher::new(MatchOp::Regex, "job", "api|web")
                    .expect("a literal alternation compiles"),
            ],
            hints: Some(ReadHints {
                step_ms: 15_000,
                func: "rate".into(),
                grouping: vec!["job".into()],
                by: true,
                ..Default::default()
            }),
        }],
        accepted_response_types: vec![ResponseType::Samples],
    });
    let seeds: [(&str, Vec<Vec<u8>>); 4] = [
        ("remote_write_v1", vec![v1.clone(), Vec::new()]),
        ("remote_write_v2", vec![v2.clone(), Vec::new()]),
        ("remote_read", vec![read]),
        (
            "snappy",
            vec![
                snappy_compress(&v1),
                snappy_compress(&v2),
                snappy_compress(b""),
            ],
        ),
    ];
    for (target, inputs) in seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, data) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), data)?;
        }
        println!("{}: {} seeds", dir.display(), inputs.len());
    }
    Ok(())
}
