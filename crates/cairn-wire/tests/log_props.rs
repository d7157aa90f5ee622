//! Property tests of the log decoders: what the encoders write decodes back unchanged, any
//! cut of a forward stream gives the same messages, and no input makes a decoder panic.

use cairn_model::{Labels, LogEntry};
use cairn_wire::{
    FieldValue, FluentHttpFormat, FluentRecord, ForwardDecoder, ForwardMessage, ForwardMode,
    LogDecodeLimits, OtlpLogMapping, TimeKey, decode_content_encoding, decode_fluent_http,
    decode_loki_push, decode_otlp_logs, encode_forward, encode_loki_push_proto,
};
use proptest::prelude::*;

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
}

/// Values with the characters that need escaping in a selector.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{1,8}",
        "[\"\\\\\n\t a]{1,4}",
        "\\PC{1,6}".prop_filter("no U+FFFD", |s| !s.contains('\u{fffd}')),
    ]
}

fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(label_name(), label_value(), 1..4)
        .prop_map(|m| m.into_iter().collect())
}

/// A selector as a Go client writes it: `strconv.Quote`-style escapes.
fn selector(pairs: &[(String, String)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            let mut q = String::from("\"");
            for c in v.chars() {
                match c {
                    '"' => q.push_str("\\\""),
                    '\\' => q.push_str("\\\\"),
                    '\n' => q.push_str("\\n"),
                    '\t' => q.push_str("\\t"),
                    c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
                    c => q.push(c),
                }
            }
            q.push('"');
            format!("{n}={q}")
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

fn entry() -> impl Strategy<Value = LogEntry> {
    (
        any::<i64>(),
        "\\PC{0,20}",
        prop::collection::btree_map("[a-z_]{1,5}", "\\PC{0,5}", 0..3),
    )
        .prop_map(|(ts_ns, line, md)| LogEntry {
            ts_ns,
            line,
            metadata: md.into_iter().collect(),
        })
}

/// Streams as (label pairs, entries).
type Streams = Vec<(Vec<(String, String)>, Vec<LogEntry>)>;

fn streams() -> impl Strategy<Value = Streams> {
    prop::collection::vec((labels(), prop::collection::vec(entry(), 0..4)), 0..4)
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    let leaf = prop_oneof![
        Just(FieldValue::Null),
        any::<bool>().prop_map(FieldValue::Bool),
        any::<i64>().prop_map(FieldValue::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(FieldValue::UInt),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(FieldValue::Float),
        "\\PC{0,10}".prop_map(FieldValue::Str),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(FieldValue::Bin),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(FieldValue::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(FieldValue::Map),
        ]
    })
}

fn record() -> impl Strategy<Value = FluentRecord> {
    (
        prop::option::of(0i64..4_000_000_000_000_000_000),
        prop::collection::vec(("[a-z]{1,4}", field_value()), 0..4),
        prop::collection::vec(("[a-z]{1,4}", field_value()), 0..4),
    )
        .prop_map(|(ts_ns, metadata, fields)| FluentRecord {
            ts_ns,
            tag: Some("app.log".into()),
            metadata,
            fields,
        })
}

fn mode() -> impl Strategy<Value = ForwardMode> {
    prop_oneof![
        Just(ForwardMode::Message),
        Just(ForwardMode::Forward),
        Just(ForwardMode::PackedForward),
        Just(ForwardMode::CompressedPackedForward),
    ]
}

fn collect(d: &mut ForwardDecoder, out: &mut Vec<ForwardMessage>) {
    while let Some(m) = d.next_message().expect("encoded messages decode") {
        out.push(m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn loki_protobuf_round_trip(s in streams()) {
        let wire: Vec<(String, Vec<LogEntry>)> = s.iter().map(|(l, e)| (selector(l), e.clone())).collect();
        let got = decode_loki_push(None, &encode_loki_push_proto(&wire), &LogDecodeLimits::unlimited()).unwrap();
        prop_assert!(got.errors.is_empty(), "{:?}", got.errors);
        prop_assert_eq!(got.batch.streams.len(), s.len());
        for (stream, (l, e)) in got.batch.streams.iter().zip(&s) {
            let want = Labels::from_pairs(l.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap();
            prop_assert_eq!(&stream.labels, &want);
            prop_assert_eq!(&stream.entries, e);
        }
    }

    #[test]
    fn loki_json_round_trip(s in streams()) {
        let body = serde_json::json!({
            "streams": s.iter().map(|(l, e)| serde_json::json!({
                "stream": l.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>(),
                "values": e.iter().map(|x| serde_json::json!([
                    x.ts_ns.to_string(),
                    x.line,
                    x.metadata.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect::<serde_json::Map<_, _>>(),
                ])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        let got = decode_loki_push(Some("application/json"), &bytes, &LogDecodeLimits::unlimited()).unwrap();
        prop_assert!(got.errors.is_empty(), "{:?}", got.errors);
        for (stream, (l, e)) in got.batch.streams.iter().zip(&s) {
            let want = Labels::from_pairs(l.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap();
            prop_assert_eq!(&stream.labels, &want);
            prop_assert_eq!(&stream.entries, e);
        }
    }

    /// The forward decoder gives the same messages however the byte stream is cut, and the
    /// records are the ones encoded.
    #[test]
    fn forward_any_chunking(
        batches in prop::collection::vec((mode(), prop::collection::vec(record(), 1..4)), 1..4),
        cuts in prop::collection::vec(1usize..40, 1..8),
    ) {
        let mut stream = Vec::new();
        for (m, recs) in &batches {
            stream.extend(encode_forward("app.log", recs, *m, Some("c1")));
        }
        let mut whole = Vec::new();
        let mut d = ForwardDecoder::new(LogDecodeLimits::default());
        d.feed(&stream);
        collect(&mut d, &mut whole);
        let mut pieces = Vec::new();
        let mut d = ForwardDecoder::new(LogDecodeLimits::default());
        let (mut at, mut i) = (0, 0);
        while at < stream.len() {
            let n = cuts[i % cuts.len()].min(stream.len() - at);
            d.feed(&stream[at..at + n]);
            collect(&mut d, &mut pieces);
            at += n;
            i += 1;
        }
        prop_assert_eq!(&pieces, &whole);
        prop_assert_eq!(d.buffered(), 0);
        let got: Vec<FluentRecord> = whole.iter().flat_map(|m| match m {
            ForwardMessage::Events { records, .. } => records.clone(),
            _ => vec![],
        }).collect();
        let mut want: Vec<FluentRecord> = batches.iter().flat_map(|(m, r)| {
            r.iter().cloned().map(move |mut x| {
                // Message mode carries no per-record metadata.
                if *m == ForwardMode::Message { x.metadata.clear(); }
                x
            })
        }).collect();
        // Records whose keys repeat keep them all; nothing to normalise there.
        for w in &mut want { w.tag = Some("app.log".into()); }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn no_decoder_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let l = LogDecodeLimits { max_depth: 8, max_entries: 50, ..LogDecodeLimits::default() };
        let _ = decode_loki_push(Some("application/json"), &data, &l);
        let _ = decode_loki_push(None, &data, &l);
        for f in [FluentHttpFormat::Json, FluentHttpFormat::JsonLines, FluentHttpFormat::JsonStream, FluentHttpFormat::Msgpack, FluentHttpFormat::Gelf] {
            let _ = decode_fluent_http(f, &data, &TimeKey::default(), &l);
        }
        let mut d = ForwardDecoder::new(l);
        d.feed(&data);
        for _ in 0..64 {
            match d.next_message() {
                Ok(None) => break,
                Err(_) if d.is_broken() => break,
                _ => {}
            }
        }
        let m = OtlpLogMapping::default();
        let _ = decode_otlp_logs(Some("application/x-protobuf"), &data, &m, 0, &l);
        let _ = decode_otlp_logs(Some("application/json"), &data, &m, 0, &l);
        for enc in ["gzip", "deflate", "zstd"] {
            if let Ok(out) = decode_content_encoding(Some(enc), &data, 4096) {
                prop_assert!(out.len() <= 4096);
            }
        }
    }
}
