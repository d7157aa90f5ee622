//! Bodies of the log decoders' fuzz targets. Each panics only on a bug: a decoder panicking,
//! a batch breaking its invariants, or two ways of reading the same bytes disagreeing.

use cairn_model::LogBatch;
use cairn_wire::{
    FluentHttpFormat, ForwardDecoder, ForwardMessage, LogDecodeLimits, OtlpLogMapping,
    RecordMapping, RecordMappingConfig, TimeFormat, TimeKey, WireError, decode_content_encoding,
    decode_fluent_http, decode_loki_push, decode_loki_push_legacy, decode_otlp_logs, map_otlp_logs,
    map_records, snappy_compress,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message as _;

/// Limits small enough that fuzzed inputs reach the limit checks.
fn small() -> LogDecodeLimits {
    LogDecodeLimits {
        max_decoded_bytes: 1 << 16,
        max_entries: 64,
        max_depth: 8,
        max_streams: 8,
    }
}

fn check_batch(b: &LogBatch) {
    for s in &b.streams {
        for e in &s.entries {
            let mut names: Vec<&str> = e.metadata.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.iter().all(|n| !n.is_empty()), "empty metadata name");
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "repeated metadata name");
        }
    }
}

/// Loki push JSON.
pub fn loki_push_json(data: &[u8]) {
    for limits in [LogDecodeLimits::default(), small()] {
        if let Ok(p) = decode_loki_push(Some("application/json"), data, &limits) {
            check_batch(&p.batch);
            assert!(p.batch.streams.iter().all(|s| !s.labels.is_empty()));
            let total = p.batch.streams.len() + p.errors.len();
            assert!(p.errors.iter().all(|e| e.stream < total));
            if limits.max_entries != 0 {
                assert!(p.batch.num_entries() <= limits.max_entries);
            }
        }
        // The same bytes as the legacy `/api/prom/push` body.
        if let Ok(p) = decode_loki_push_legacy(data, &limits) {
            check_batch(&p.batch);
            if limits.max_entries != 0 {
                assert!(p.batch.num_entries() <= limits.max_entries);
            }
        }
    }
}

/// Loki push protobuf: the input is the protobuf, snappy-compressed here so that the
/// fuzzer works on the message itself.
pub fn loki_push_proto(data: &[u8]) {
    let body = snappy_compress(data);
    for limits in [LogDecodeLimits::default(), small()] {
        if let Ok(p) = decode_loki_push(None, &body, &limits) {
            check_batch(&p.batch);
            assert!(p.batch.streams.iter().all(|s| !s.labels.is_empty()));
        }
    }
    // Raw (not snappy) bytes must be refused or read, never panic.
    let _ = decode_loki_push(Some("application/x-protobuf"), data, &small());
}

/// Fluent Bit http formats (first byte picks the format and date format), then mapping.
pub fn fluent_http(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let formats = [
        FluentHttpFormat::Json,
        FluentHttpFormat::JsonLines,
        FluentHttpFormat::JsonStream,
        FluentHttpFormat::Msgpack,
        FluentHttpFormat::Gelf,
    ];
    let dates = [
        TimeFormat::Double,
        TimeFormat::Epoch,
        TimeFormat::EpochMs,
        TimeFormat::Iso8601,
        TimeFormat::JavaSqlTimestamp,
    ];
    let format = formats[usize::from(sel) % formats.len()];
    let time = TimeKey {
        key: Some("date".into()),
        format: dates[usize::from(sel / 8) % dates.len()],
    };
    let limits = small();
    let Ok(records) = decode_fluent_http(format, body, &time, &limits) else {
        return;
    };
    assert!(records.len() <= limits.max_entries);
    let mapping = RecordMapping::new(&RecordMappingConfig {
        labels: vec!["job=fuzz".into(), "$kubernetes['namespace_name']".into()],
        label_keys: vec!["app".into()],
        remove_keys: vec!["secret".into()],
        structured_metadata: vec!["trace=$trace_id".into()],
        structured_metadata_map_keys: vec!["$kubernetes['labels']".into()],
        auto_kubernetes_labels: true,
        ..RecordMappingConfig::default()
    })
    .expect("the fuzz mapping is valid");
    let n = records.len();
    let (batch, _) = map_records(records, &mapping, 0);
    assert_eq!(batch.num_entries(), n);
    assert!(batch.streams.iter().all(|s| !s.labels.is_empty()));
}

/// The forward decoder: the stream cut where the first bytes say gives the same messages as
/// the whole stream at once.
pub fn forward(data: &[u8]) {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let whole = run_forward(stream, &[stream.len().max(1)]);
    let sizes = [1 + usize::from(cut % 7), 1 + usize::from(cut / 7 % 13), 64];
    let pieces = run_forward(stream, &sizes);
    // Compared as text: a NaN field is not equal to itself.
    assert_eq!(format!("{whole:?}"), format!("{pieces:?}"));
}

fn run_forward(stream: &[u8], sizes: &[usize]) -> Vec<Result<ForwardMessage, String>> {
    let mut d = ForwardDecoder::new(small());
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < stream.len() {
        let n = sizes[i % sizes.len()].min(stream.len() - at);
        d.feed(&stream[at..at + n]);
        at += n;
        i += 1;
        loop {
            match d.next_message() {
                Ok(None) => break,
                Ok(Some(m)) => out.push(Ok(m)),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    if d.is_broken() {
                        assert!(d.next_message().is_err());
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// OTLP logs: protobuf and JSON; what JSON accepts must map the same after a protobuf
/// round trip.
pub fn otlp_logs(data: &[u8]) {
    let m = OtlpLogMapping::default();
    let limits = small();
    if let Ok(b) = decode_otlp_logs(Some("application/x-protobuf"), data, &m, 0, &limits) {
        check_batch(&b);
    }
    if let Ok(req) = serde_json::from_slice::<ExportLogsServiceRequest>(data) {
        let again = ExportLogsServiceRequest::decode(req.encode_to_vec().as_slice())
            .expect("an encoded request decodes");
        let a = map_otlp_logs(req, &m, 0);
        check_batch(&a);
        assert_eq!(
            format!("{a:?}"),
            format!("{:?}", map_otlp_logs(again, &m, 0))
        );
    }
}

/// Content-Encoding: the first byte picks the encoding; output never passes the cap.
pub fn content_encoding(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let enc = ["gzip", "deflate", "zstd", "identity", "snappy"][usize::from(sel) % 5];
    match decode_content_encoding(Some(enc), body, 1 << 16) {
        Ok(out) => assert!(out.len() <= 1 << 16),
        Err(WireError::UnsupportedLogEncoding(_)) => panic!("{enc} is supported"),
        Err(_) => {}
    }
}
