//! Log decoders: MB/s of raw line bytes on one core, the figure to hold against the
//! server's ingest target (200 MB/s per core of raw lines).

use std::hint::black_box;
use std::time::{Duration, Instant};

use cairn_model::LogEntry;
use cairn_wire::{
    FieldValue, FluentHttpFormat, FluentRecord, ForwardDecoder, ForwardMode, LogDecodeLimits,
    RecordMapping, RecordMappingConfig, TimeKey, decode_fluent_http, decode_loki_push,
    encode_forward, encode_loki_push_proto, map_records,
};

const LINES: usize = 10_000;
const STREAMS: usize = 10;

/// An access-log line of about 200 bytes, varied so that compression has work to do.
fn line(i: usize) -> String {
    format!(
        "10.{}.{}.{} - - [14/Nov/2023:22:13:{:02} +0000] \"GET /api/v1/orders/{}?page={} HTTP/1.1\" {} {} \"-\" \"Mozilla/5.0 (X11; Linux x86_64) curl/8.{}\" rt={:.3}",
        i % 256,
        i / 7 % 256,
        i / 13 % 256,
        i % 60,
        i * 7919 % 100_000,
        i % 17,
        [200, 200, 200, 404, 500][i % 5],
        i * 31 % 50_000,
        i % 9,
        (i % 1000) as f64 / 997.0
    )
}

fn bench(name: &str, raw_bytes: usize, body_bytes: usize, mut f: impl FnMut()) {
    let (mut runs, start) = (0u32, Instant::now());
    while start.elapsed() < Duration::from_secs(2) || runs < 3 {
        f();
        runs += 1;
    }
    let per = start.elapsed() / runs;
    let secs = per.as_secs_f64();
    println!(
        "{name}: {per:?} per request of {LINES} lines ({body_bytes} body bytes), {:.0} MB/s of raw lines, {:.0} MB/s of body, {:.0} ns/line",
        raw_bytes as f64 / secs / 1e6,
        body_bytes as f64 / secs / 1e6,
        secs * 1e9 / LINES as f64
    );
}

fn records() -> Vec<FluentRecord> {
    (0..LINES)
        .map(|i| FluentRecord {
            ts_ns: Some(1_700_000_000_000_000_000 + i as i64 * 1_000_000),
            tag: None,
            metadata: Vec::new(),
            fields: vec![
                ("log".into(), FieldValue::Str(line(i))),
                ("stream".into(), FieldValue::Str("stdout".into())),
                (
                    "kubernetes".into(),
                    FieldValue::Map(vec![
                        (
                            "pod_name".into(),
                            FieldValue::Str(format!("shop-7d9f8c-{:05}", i % STREAMS)),
                        ),
                        ("namespace_name".into(), FieldValue::Str("prod".into())),
                        ("container_name".into(), FieldValue::Str("nginx".into())),
                    ]),
                ),
            ],
        })
        .collect()
}

/// The JSON Fluent Bit's http output writes for these records (`format json`, date as
/// `double`).
fn fluent_json(recs: &[FluentRecord]) -> Vec<u8> {
    let mut out = String::from("[");
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let ts = r.ts_ns.unwrap_or(0) as f64 / 1e9;
        let mut m = serde_json::Map::new();
        m.insert("date".into(), serde_json::json!(ts));
        for (k, v) in &r.fields {
            m.insert(k.clone(), to_json(v));
        }
        out.push_str(&serde_json::Value::Object(m).to_string());
    }
    out.push(']');
    out.into_bytes()
}

fn to_json(v: &FieldValue) -> serde_json::Value {
    match v {
        FieldValue::Str(s) => serde_json::Value::String(s.clone()),
        FieldValue::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        FieldValue::Int(i) => serde_json::json!(i),
        _ => serde_json::Value::Null,
    }
}

pub(crate) fn run() {
    let limits = LogDecodeLimits::default();
    let raw: usize = (0..LINES).map(|i| line(i).len()).sum();

    // Loki push: 10 streams of 1000 entries, as Promtail and Alloy batch them.
    let streams: Vec<(String, Vec<LogEntry>)> = (0..STREAMS)
        .map(|s| {
            let labels = format!(r#"{{app="shop", container="nginx", namespace="prod", pod="shop-7d9f8c-{s:05}", stream="stdout"}}"#);
            let entries = (0..LINES / STREAMS)
                .map(|j| {
                    let i = s * (LINES / STREAMS) + j;
                    LogEntry::new(1_700_000_000_000_000_000 + i as i64, line(i))
                })
                .collect();
            (labels, entries)
        })
        .collect();
    let proto = encode_loki_push_proto(&streams);
    bench("loki push protobuf (snappy)", raw, proto.len(), || {
        let p = decode_loki_push(None, black_box(&proto), &limits).expect("benchmark body decodes");
        assert_eq!(p.batch.num_entries(), LINES);
        black_box(p);
    });
    let json = serde_json::to_vec(&serde_json::json!({
        "streams": streams.iter().map(|(l, e)| {
            let labels = cairn_wire_bench_labels(l);
            serde_json::json!({
                "stream": labels,
                "values": e.iter().map(|x| serde_json::json!([x.ts_ns.to_string(), x.line])).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    }))
    .expect("benchmark JSON encodes");
    bench("loki push json", raw, json.len(), || {
        let p = decode_loki_push(Some("application/json"), black_box(&json), &limits)
            .expect("benchmark body decodes");
        assert_eq!(p.batch.num_entries(), LINES);
        black_box(p);
    });

    let recs = records();
    let fb_json = fluent_json(&recs);
    let time = TimeKey::default();
    bench("fluent bit http json", raw, fb_json.len(), || {
        let r = decode_fluent_http(FluentHttpFormat::Json, black_box(&fb_json), &time, &limits)
            .expect("benchmark body decodes");
        assert_eq!(r.len(), LINES);
        black_box(r);
    });
    let mapping = RecordMapping::new(&RecordMappingConfig {
        labels: vec!["job=fluent-bit".into()],
        label_keys: vec![
            "$kubernetes['namespace_name']".into(),
            "$kubernetes['pod_name']".into(),
        ],
        remove_keys: vec!["kubernetes".into(), "stream".into()],
        drop_single_key: cairn_wire::DropSingleKey::Raw,
        ..RecordMappingConfig::default()
    })
    .expect("benchmark mapping is valid");
    bench(
        "fluent bit http json + loki mapping",
        raw,
        fb_json.len(),
        || {
            let r = decode_fluent_http(FluentHttpFormat::Json, black_box(&fb_json), &time, &limits)
                .expect("benchmark body decodes");
            let (b, _) = map_records(r, &mapping, 0);
            assert_eq!(b.num_entries(), LINES);
            black_box(b);
        },
    );
    // The msgpack format is the chunk itself: a PackedForward message's entries.
    let packed = encode_forward("t", &recs, ForwardMode::PackedForward, None);
    // [0x93, "t" (2 bytes), bin32 header (5 bytes), entries, options]
    assert_eq!(packed[3], 0xc6, "a bin32 holds the entries");
    let len = u32::from_be_bytes([packed[4], packed[5], packed[6], packed[7]]) as usize;
    let chunk = &packed[8..8 + len];
    bench("fluent bit http msgpack", raw, chunk.len(), || {
        let r = decode_fluent_http(FluentHttpFormat::Msgpack, black_box(chunk), &time, &limits)
            .expect("benchmark body decodes");
        assert_eq!(r.len(), LINES);
        black_box(r);
    });

    // Forward: ten Forward-mode messages of 1000 records, fed in 64 KiB reads.
    let mut stream = Vec::new();
    for part in recs.chunks(LINES / 10) {
        stream.extend(encode_forward(
            "kube.var.log",
            part,
            ForwardMode::Forward,
            Some("c"),
        ));
    }
    bench(
        "forward (Forward mode, 64 KiB reads)",
        raw,
        stream.len(),
        || {
            let mut d = ForwardDecoder::new(limits);
            let mut n = 0;
            for piece in black_box(&stream).chunks(64 << 10) {
                d.feed(piece);
                while let Some(m) = d.next_message().expect("benchmark stream decodes") {
                    if let cairn_wire::ForwardMessage::Events { records, .. } = m {
                        n += records.len();
                    }
                }
            }
            assert_eq!(n, LINES);
        },
    );
    let mut gz = Vec::new();
    for part in recs.chunks(LINES / 10) {
        gz.extend(encode_forward(
            "kube.var.log",
            part,
            ForwardMode::CompressedPackedForward,
            Some("c"),
        ));
    }
    bench(
        "forward (CompressedPackedForward gzip)",
        raw,
        gz.len(),
        || {
            let mut d = ForwardDecoder::new(limits);
            d.feed(black_box(&gz));
            let mut n = 0;
            while let Some(m) = d.next_message().expect("benchmark stream decodes") {
                if let cairn_wire::ForwardMessage::Events { records, .. } = m {
                    n += records.len();
                }
            }
            assert_eq!(n, LINES);
        },
    );
}

/// The label map of a selector written by this benchmark (`name="value"` pairs, no escapes).
fn cairn_wire_bench_labels(sel: &str) -> serde_json::Map<String, serde_json::Value> {
    sel.trim_matches(|c| c == '{' || c == '}')
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::Value::String(v.trim_matches('"').to_string()),
            )
        })
        .collect()
}
