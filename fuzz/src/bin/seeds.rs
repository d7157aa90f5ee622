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
    let logs = log_seeds();
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
    for (target, inputs) in seeds
        .into_iter()
        .chain(logs)
        .chain(trace_seeds())
        .chain(metric_seeds())
    {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, data) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), data)?;
        }
        println!("{}: {} seeds", dir.display(), inputs.len());
    }
    Ok(())
}

/// Seeds for the OTLP metrics target: OTLP/JSON requests (format byte 1) with every metric
/// kind, as the SDKs write them, and the same under the other strategies.
fn metric_seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let json = br#"{"resourceMetrics": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}, {"key": "host.name", "value": {"stringValue": "h"}}]}, "scopeMetrics": [{"scope": {"name": "lib", "version": "1"}, "metrics": [{"name": "http.requests", "unit": "1", "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [{"timeUnixNano": "1700000000000000000", "asInt": "3", "attributes": [{"key": "code", "value": {"intValue": "200"}}], "exemplars": [{"asDouble": 1, "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173"}]}]}}, {"name": "cpu", "unit": "1", "gauge": {"dataPoints": [{"timeUnixNano": "1700000000000000000", "asDouble": 0.5, "flags": 1}]}}, {"name": "latency", "unit": "s", "histogram": {"aggregationTemporality": 2, "dataPoints": [{"timeUnixNano": "1700000000000000000", "count": "3", "sum": 1.5, "bucketCounts": ["1", "1", "1"], "explicitBounds": [0.1, 1]}]}}, {"name": "rpc", "unit": "ms", "summary": {"dataPoints": [{"timeUnixNano": "1700000000000000000", "count": "2", "sum": 3, "quantileValues": [{"quantile": 0.5, "value": 1}]}]}}, {"name": "d", "sum": {"aggregationTemporality": 1, "dataPoints": [{"asInt": "1"}]}}]}]}]}"#;
    let seeds = [1u8, 3, 5, 7, 0x19]
        .iter()
        .map(|&head| {
            let mut v = vec![head];
            v.extend_from_slice(json);
            v
        })
        .collect();
    vec![("otlp_metrics", seeds)]
}

/// Seeds for the OTLP traces target: a protobuf request with every field kind and an
/// OTLP/JSON one as the SDKs write it.
fn trace_seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
    use prost::Message as _;

    let kv = |k: &str, v: any_value::Value| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    };
    let span = |id: u8, parent: Option<u8>| Span {
        trace_id: vec![0x5b; 16],
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, 0, p])
            .unwrap_or_default(),
        name: format!("op{id}"),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_000_100_000,
        attributes: vec![
            kv("http.status_code", any_value::Value::IntValue(503)),
            kv(
                "tags",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::DoubleValue(1.5)),
                    }],
                }),
            ),
        ],
        events: vec![span::Event {
            time_unix_nano: 1_700_000_000_000_050_000,
            name: "exception".into(),
            ..Default::default()
        }],
        links: vec![span::Link {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            ..Default::default()
        }],
        status: Some(Status {
            message: "boom".into(),
            code: 2,
        }),
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("svc".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span(1, None), span(2, Some(1)), span(2, Some(1))],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let json = br#"{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}, "scopeSpans": [{"scope": {"name": "lib"}, "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173", "parentSpanId": "eee19b7ec3c1b174", "flags": 257, "name": "GET", "kind": 3, "startTimeUnixNano": "1544712660300000000", "endTimeUnixNano": "1544712660301000000", "attributes": [{"key": "b", "value": {"bytesValue": "AAH+/w=="}}, {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "a", "value": {"doubleValue": "NaN"}}]}}}], "events": [{"timeUnixNano": "1544712660300500000", "name": "e"}], "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}], "status": {"code": 2}}]}]}]}"#.to_vec();
    vec![("otlp_traces", vec![req.encode_to_vec(), json])]
}

/// Seeds for the log decoders, built with cairn-wire's encoders.
fn log_seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    use cairn_model::LogEntry;
    use cairn_wire::{FieldValue, FluentRecord, ForwardMode, Handshake, HandshakeConfig, Ping};

    let entry = LogEntry {
        ts_ns: 1_700_000_000_123_456_789,
        line: "GET /index.html 200".into(),
        metadata: vec![("trace_id".into(), "0af7651916cd43dd".into())],
    };
    let proto = cairn_wire::encode_loki_push_proto(&[
        (
            r#"{app="web", env="prod"}"#.into(),
            vec![entry.clone(), entry],
        ),
        (r#"{ab""#.into(), vec![]),
    ]);
    let mut raw_proto = Vec::new();
    cairn_wire::decompress_snappy(&proto, 1 << 20, &mut raw_proto)
        .expect("own encoding decompresses");
    let json = br#"{"streams":[{"stream":{"app":"web"},"values":[["1700000000000000000","line",{"k":"v"}],["1","x"]]},{"stream":{"a.b":"c"},"values":[]}]}"#.to_vec();
    let record = |i: i64| FluentRecord {
        ts_ns: Some(1_700_000_000_000_000_000 + i),
        tag: None,
        metadata: vec![("m".into(), FieldValue::Int(i))],
        fields: vec![
            ("log".into(), FieldValue::Str(format!("line {i}"))),
            (
                "kubernetes".into(),
                FieldValue::Map(vec![
                    ("namespace_name".into(), FieldValue::Str("prod".into())),
                    (
                        "labels".into(),
                        FieldValue::Map(vec![("app".into(), FieldValue::Str("shop".into()))]),
                    ),
                ]),
            ),
        ],
    };
    let records: Vec<FluentRecord> = (0..3).map(record).collect();
    let mut forward = Vec::new();
    for mode in [
        ForwardMode::Message,
        ForwardMode::Forward,
        ForwardMode::PackedForward,
        ForwardMode::CompressedPackedForward,
    ] {
        forward.push(
            [
                vec![3u8],
                cairn_wire::encode_forward("app.log", &records, mode, Some("chunk-1")),
            ]
            .concat(),
        );
    }
    let hs = Handshake::new(
        HandshakeConfig {
            shared_key: "k".into(),
            self_hostname: "h".into(),
            users: vec![],
        },
        [1; 16],
        [2; 16],
    );
    let ping = Ping::for_client("client", b"salt", hs.nonce(), "k", None);
    forward.push([vec![0u8], ping.encode(), vec![0xc0]].concat());
    // A packed forward message's entries are a Fluent Bit chunk: the msgpack format's body.
    let packed = cairn_wire::encode_forward("t", &records, ForwardMode::PackedForward, None);
    let chunk_start = packed
        .iter()
        .position(|&b| b == 0xc4 || b == 0xc5)
        .map_or(0, |p| p + 2);
    let chunk = packed[chunk_start..].to_vec();
    let fluent = vec![
        [vec![0u8], br#"[{"date":1700000000.123457,"log":"hello","kubernetes":{"namespace_name":"prod"}}]"#.to_vec()].concat(),
        [vec![1u8], b"{\"date\":1700000000.5,\"log\":\"a\"}\n{\"date\":1.0,\"log\":\"b\"}\n".to_vec()].concat(),
        [vec![2u8], br#"{"date":"2023-11-14T22:13:20.123456Z","log":"a"}{"log":"b"}"#.to_vec()].concat(),
        [vec![3u8], chunk].concat(),
        [vec![4u8], b"{\"version\":\"1.1\",\"short_message\":\"hi\",\"_k\":1,\"timestamp\":1700000000.123}\n".to_vec()].concat(),
    ];
    let otlp = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"scope":{"name":"lib"},"logRecords":[{"timeUnixNano":"1544712660300000000","severityNumber":10,"traceId":"5B8EFFF798038103D269B633813FC60C","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}},"attributes":[{"key":"k","value":{"arrayValue":{"values":[{"doubleValue":1.5}]}}}]}]}]}]}"#.to_vec();
    let text = b"hello hello hello hello".repeat(20);
    let mut gz = flate2_free_gzip(&text);
    gz.insert(0, 0);
    vec![
        ("loki_push_json", vec![json]),
        ("loki_push_proto", vec![raw_proto]),
        ("fluent_http", fluent),
        ("forward", forward),
        ("otlp_logs", vec![otlp]),
        ("content_encoding", vec![gz, [vec![3u8], text].concat()]),
    ]
}

/// A gzip member holding `data` in one stored (uncompressed) deflate block, so the seeds
/// need no compression library: header, block, CRC-32 and length.
fn flate2_free_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let n = data.len() as u16;
    out.push(1);
    out.extend(n.to_le_bytes());
    out.extend((!n).to_le_bytes());
    out.extend(data);
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}
