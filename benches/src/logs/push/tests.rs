//! The encoders against independent decoders: prost messages declared from Loki's
//! `pkg/push/push.proto` (and `google/protobuf/timestamp.proto`) for the protobuf body,
//! serde_json for the JSON body.

use super::*;
use crate::logs::corpus::Corpus;
use crate::logs::plan::CorpusSpec;

use crate::logs::testproto::PushRequest;

fn streams() -> Vec<crate::logs::plan::StreamPlan> {
    Corpus::new(CorpusSpec {
        seed: 3,
        start_ns: 1_764_720_000_000_000_000,
        end_ns: 1_764_720_000_000_000_000 + 600_000_000_000,
        target_bytes: 200_000,
        clusters: 1,
    })
    .streams()
    .to_vec()
}

/// Entries of three streams, with timestamps on and off second boundaries, before 1970, at
/// zero, and lines long enough for multi-byte length prefixes and with bytes that need
/// escaping in JSON.
fn entries() -> Vec<(usize, i64, Vec<u8>)> {
    let long = "x".repeat(20_000).into_bytes();
    vec![
        (
            0,
            1_764_720_000_123_456_789,
            b"first \"quoted\" line".to_vec(),
        ),
        (
            2,
            1_764_720_001_000_000_000,
            b"on a second boundary".to_vec(),
        ),
        (0, 1_764_720_002_000_000_001, long),
        (1, 0, b"at the epoch".to_vec()),
        (1, 5, b"five nanoseconds, tab\there, newline\nhere".to_vec()),
        (
            2,
            -1_500_000_000,
            "before 1970, caf\u{e9} \u{2603}".as_bytes().to_vec(),
        ),
        (0, 1_764_720_003_000_000_000, Vec::new()),
    ]
}

#[test]
fn protobuf_body_decodes_with_prost() {
    let plans = streams();
    let slots = vec![5u32, 9, 2];
    let mut batch = PushBatch::new(PushFormat::Protobuf, slots.clone());
    for (slot, ts, line) in entries() {
        batch.push(slot, ts, &line);
    }
    assert_eq!(batch.lines(), 7);
    let raw_bytes: u64 = entries().iter().map(|e| e.2.len() as u64).sum();
    assert_eq!(batch.line_bytes(), raw_bytes);
    let mut body = Vec::new();
    batch.encode(&plans, &mut body);
    assert!(batch.is_empty());
    // Sent compressed, as the loader does; decompressed by the project's own snappy reader.
    let wire = cairn_wire::snappy_compress(&body);
    let mut back = Vec::new();
    cairn_wire::decompress_snappy(&wire, 1 << 26, &mut back).expect("valid snappy");
    assert_eq!(back, body);
    let req = <PushRequest as prost::Message>::decode(back.as_slice()).expect("a PushRequest");
    assert_eq!(req.format, "");
    // Streams in order of first use: slot 0, 2, 1.
    let labels: Vec<&str> = req.streams.iter().map(|s| s.labels.as_str()).collect();
    assert_eq!(
        labels,
        [&plans[5].selector, &plans[2].selector, &plans[9].selector]
    );
    let got: Vec<Vec<(i64, i32, String)>> = req
        .streams
        .iter()
        .map(|s| {
            s.entries
                .iter()
                .map(|e| {
                    let t = e.timestamp.clone().unwrap_or_default();
                    (t.seconds, t.nanos, e.line.clone())
                })
                .collect()
        })
        .collect();
    let want = |slot: usize| -> Vec<(i64, i32, String)> {
        entries()
            .into_iter()
            .filter(|e| e.0 == slot)
            .map(|(_, ts, l)| {
                (
                    ts.div_euclid(1_000_000_000),
                    ts.rem_euclid(1_000_000_000) as i32,
                    String::from_utf8(l).expect("utf-8"),
                )
            })
            .collect()
    };
    assert_eq!(got, vec![want(0), want(2), want(1)]);
    // The 1969 entry: seconds -2, nanos 500000000 (Timestamp normalises nanos to [0, 1e9)).
    assert_eq!(got[1][1].0, -2);
    assert_eq!(got[1][1].1, 500_000_000);
    assert!(req.streams.iter().all(|s| {
        s.hash == 0
            && s.entries
                .iter()
                .all(|e| e.structured_metadata.is_empty() && e.parsed.is_empty())
    }));
    // The batch is reusable: a second request holds only what was pushed after.
    batch.push(1, 42, b"again");
    batch.encode(&plans, &mut body);
    let req = <PushRequest as prost::Message>::decode(body.as_slice()).expect("a PushRequest");
    assert_eq!(req.streams.len(), 1);
    assert_eq!(req.streams[0].labels, plans[9].selector);
    assert_eq!(req.streams[0].entries[0].line, "again");
}

#[test]
fn protobuf_encoding_is_byte_identical_to_prost() {
    // Same message built with prost: proto3 leaves zero fields out, as the encoder does.
    let plans = streams();
    let mut batch = PushBatch::new(PushFormat::Protobuf, vec![4, 7, 1]);
    for (slot, ts, line) in entries() {
        batch.push(slot, ts, &line);
    }
    let mut body = Vec::new();
    batch.encode(&plans, &mut body);
    let decoded = <PushRequest as prost::Message>::decode(body.as_slice()).expect("decodes");
    assert_eq!(prost::Message::encode_to_vec(&decoded), body);
}

#[test]
fn json_body_is_lokis_push_json() {
    let plans = streams();
    let mut batch = PushBatch::new(PushFormat::Json, vec![3, 8, 1]);
    for (slot, ts, line) in entries() {
        batch.push(slot, ts, &line);
    }
    let mut body = Vec::new();
    batch.encode(&plans, &mut body);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
    let streams = v["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 3);
    let first = &streams[0];
    let labels = first["stream"].as_object().expect("label map");
    assert_eq!(labels.len(), plans[3].labels.len());
    for (k, val) in &plans[3].labels {
        assert_eq!(labels[k], serde_json::Value::String(val.clone()));
    }
    let values = first["values"].as_array().expect("values");
    assert_eq!(values.len(), 3);
    // Timestamps are strings of nanoseconds, lines unescaped back to the original.
    assert_eq!(values[0][0], "1764720000123456789");
    assert_eq!(values[0][1], "first \"quoted\" line");
    assert_eq!(values[2][1], "");
    let third = streams[2]["values"].as_array().expect("values");
    assert_eq!(third[0][0], "0");
    assert_eq!(third[1][1], "five nanoseconds, tab\there, newline\nhere");
    let second = streams[1]["values"].as_array().expect("values");
    assert_eq!(second[1][0], "-1500000000");
    assert_eq!(second[1][1], "before 1970, caf\u{e9} \u{2603}");
}
