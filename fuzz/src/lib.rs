//! The bodies of cairn-wire's fuzz targets, shared by the libFuzzer entry points in
//! `fuzz_targets/` and the stable `replay` binary. Each one panics only on a real bug: a
//! decoder panicking, or accepting input into an inconsistent batch.

mod logql;
mod logs;
mod metrics;
mod traceql;
mod traces;

pub use logql::logql;
pub use logs::{
    content_encoding, fluent_http, forward, loki_push_json, loki_push_proto, otlp_logs,
};
pub use metrics::otlp_metrics;
pub use traceql::traceql;
pub use traces::otlp_traces;

use cairn_model::WriteBatch;
use cairn_wire::{
    DecodeLimits, DecodeReport, decode_chunked_read_response, decode_read_request, decode_v1,
    decode_v2, decompress_snappy, encode_read_request, snappy_compress,
};

/// Decoded-size cap for the snappy target, like the server's default.
const MAX_DECODED: usize = 32 << 20;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the replay binary.
pub const TARGETS: [(&str, Target); 14] = [
    ("remote_write_v1", remote_write_v1),
    ("remote_write_v2", remote_write_v2),
    ("remote_read", remote_read),
    ("snappy", snappy),
    ("loki_push_json", loki_push_json),
    ("loki_push_proto", loki_push_proto),
    ("fluent_http", fluent_http),
    ("forward", forward),
    ("otlp_logs", otlp_logs),
    ("otlp_traces", otlp_traces),
    ("otlp_metrics", otlp_metrics),
    ("content_encoding", content_encoding),
    ("logql", logql),
    ("traceql", traceql),
];

/// Limits small enough that fuzzed inputs reach the limit checks.
fn limits() -> DecodeLimits {
    DecodeLimits {
        max_labels_per_series: 8,
        max_label_name_len: 16,
        max_label_value_len: 32,
        max_series_per_request: 16,
    }
}

/// Remote write 1.0 decoding, without and with limits.
pub fn remote_write_v1(data: &[u8]) {
    for limits in [DecodeLimits::default(), limits()] {
        let mut batch = WriteBatch::default();
        if let Ok(report) = decode_v1(data, &limits, &mut batch) {
            check_batch(&batch, &report);
        }
    }
}

/// Remote write 2.0 decoding, without and with limits.
pub fn remote_write_v2(data: &[u8]) {
    for limits in [DecodeLimits::default(), limits()] {
        let mut batch = WriteBatch::default();
        if let Ok(report) = decode_v2(data, &limits, &mut batch) {
            check_batch(&batch, &report);
        }
    }
}

/// Remote read request decoding (what decodes must survive a re-encode unchanged), and the
/// chunked response stream decoder on the same bytes.
pub fn remote_read(data: &[u8]) {
    let _ = decode_chunked_read_response(data);
    if let Ok(req) = decode_read_request(data) {
        let again = decode_read_request(&encode_read_request(&req))
            .expect("a re-encoded read request decodes");
        assert_eq!(again, req);
    }
}

/// Snappy block decoding with a cap; what decodes must round-trip.
pub fn snappy(data: &[u8]) {
    let mut out = Vec::new();
    match decompress_snappy(data, MAX_DECODED, &mut out) {
        Ok(()) => {
            let mut back = Vec::new();
            decompress_snappy(&snappy_compress(&out), out.len(), &mut back)
                .expect("compressed output decompresses");
            assert_eq!(back, out);
        }
        Err(_) => assert!(out.is_empty()),
    }
}

fn check_batch(b: &WriteBatch<'_>, report: &DecodeReport) {
    assert_eq!(report.series, b.series.len());
    assert_eq!(report.samples, b.samples.len());
    assert_eq!(report.histograms, b.histograms.len());
    assert_eq!(report.exemplars, b.exemplars.len());
    let mut next = (0, 0, 0, 0);
    for s in &b.series {
        assert!(s.labels.start >= next.0 && s.labels.start <= s.labels.end);
        assert!(s.labels.end <= b.labels.len());
        assert_eq!(s.samples.start, next.1);
        assert_eq!(s.exemplars.start, next.2);
        assert_eq!(s.histograms.start, next.3);
        assert!(s.samples.end <= b.samples.len() && s.samples.start <= s.samples.end);
        assert!(s.exemplars.end <= b.exemplars.len() && s.exemplars.start <= s.exemplars.end);
        assert!(s.histograms.end <= b.histograms.len() && s.histograms.start <= s.histograms.end);
        for e in &b.exemplars[s.exemplars.clone()] {
            assert!(e.labels.start >= s.labels.end && e.labels.start <= e.labels.end);
            assert!(e.labels.end <= b.labels.len());
        }
        let labels = b.series_labels(s);
        assert!(
            labels
                .iter()
                .any(|l| l.name == "__name__" && !l.value.is_empty())
        );
        next = (
            s.labels.end,
            s.samples.end,
            s.exemplars.end,
            s.histograms.end,
        );
    }
    assert_eq!(next.1, b.samples.len());
    assert_eq!(next.2, b.exemplars.len());
    assert_eq!(next.3, b.histograms.len());
}
