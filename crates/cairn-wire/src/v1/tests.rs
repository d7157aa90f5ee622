use cairn_model::{MetricType, STALE_NAN_BITS, Sample, WriteBatch, stale_nan};

use super::decode_v1;
use crate::encode::{
    BucketSpan, HistogramCount, OwnedExemplar, OwnedHistogram, OwnedMetadata, OwnedSeries,
    encode_v1, owned_labels,
};
use crate::error::WireError;
use crate::pb::Writer;
use crate::report::{DecodeLimits, DecodeReport, RejectReason};
use crate::testutil::{back, check_consistent, expected};

fn hist(ts: i64) -> OwnedHistogram {
    OwnedHistogram {
        count: HistogramCount::Int(3),
        sum: 4.5,
        schema: 1,
        zero_count: HistogramCount::Int(1),
        positive_spans: vec![BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![1, 0],
        timestamp_ms: ts,
        ..Default::default()
    }
}

fn rich() -> Vec<OwnedSeries> {
    vec![
        OwnedSeries {
            labels: owned_labels(&[
                ("zone", "eu west\nline two"),
                ("__name__", "http.requests total"),
                ("job", "api"),
            ]),
            samples: vec![
                Sample::new(1, 1.5),
                Sample::new(2, f64::NAN),
                Sample::new(3, stale_nan()),
                Sample::new(-4, f64::INFINITY),
                Sample::new(i64::MAX, f64::NEG_INFINITY),
            ],
            exemplars: vec![
                OwnedExemplar {
                    labels: owned_labels(&[("trace_id", "abc"), ("span ✓", "é")]),
                    value: 0.25,
                    timestamp_ms: 2,
                },
                OwnedExemplar::default(),
            ],
            histograms: vec![hist(5), OwnedHistogram::default()],
        },
        OwnedSeries::new(&[("__name__", "up")], &[Sample::new(0, 0.0)]),
    ]
}

fn decode(buf: &[u8], limits: &DecodeLimits) -> (Vec<crate::testutil::Back>, DecodeReport) {
    let mut batch = WriteBatch::default();
    let report = decode_v1(buf, limits, &mut batch).unwrap();
    (back(&batch), report)
}

#[test]
fn round_trip_keeps_order_bits_and_everything() {
    let series = rich();
    let md = vec![OwnedMetadata {
        metric_family_name: "http.requests total".into(),
        metric_type: MetricType::Counter,
        help: "Requests.\nAll of them.".into(),
        unit: "requests".into(),
    }];
    let buf = encode_v1(&series, &md);
    let mut batch = WriteBatch::default();
    let report = decode_v1(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        (
            report.series,
            report.samples,
            report.exemplars,
            report.histograms
        ),
        (2, 6, 2, 2)
    );
    let got = back(&batch);
    let want: Vec<_> = series.iter().map(expected).collect();
    assert_eq!(got, want);
    assert_eq!(batch.samples[2].v.to_bits(), STALE_NAN_BITS);
    assert!(batch.samples[1].v.is_nan() && batch.samples[1].v.to_bits() != STALE_NAN_BITS);
    assert_eq!(batch.metadata.len(), 1);
    assert_eq!(batch.metadata[0].metric_family_name, "http.requests total");
    assert_eq!(batch.metadata[0].metric_type, MetricType::Counter);
    assert_eq!(batch.metadata[0].help, "Requests.\nAll of them.");
    assert_eq!(batch.metadata[0].unit, "requests");
}

#[test]
fn decoding_clears_the_batch_and_reuses_it() {
    let buf = encode_v1(&rich(), &[]);
    let mut batch = WriteBatch::default();
    decode_v1(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    decode_v1(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert_eq!(batch.series.len(), 2);
    assert!(decode_v1(&buf[..buf.len() - 1], &DecodeLimits::default(), &mut batch).is_err());
    assert!(batch.series.is_empty() && batch.labels.is_empty());
}

#[test]
fn metadata_only_and_empty_requests_are_valid() {
    let md = vec![OwnedMetadata {
        metric_family_name: "up".into(),
        ..Default::default()
    }];
    let buf = encode_v1(&[], &md);
    let mut batch = WriteBatch::default();
    let r = decode_v1(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert_eq!(r, DecodeReport::default());
    assert_eq!(batch.metadata.len(), 1);
    assert_eq!(batch.metadata[0].metric_type, MetricType::Unknown);
    let r = decode_v1(&[], &DecodeLimits::default(), &mut batch).unwrap();
    assert_eq!(r, DecodeReport::default());
    assert!(batch.metadata.is_empty());
}

fn one(labels: &[(&str, &str)]) -> OwnedSeries {
    OwnedSeries::new(labels, &[Sample::new(1, 1.0), Sample::new(2, 2.0)])
}

/// Encodes `bad` between two good series and checks that only `bad` is left out, for `reason`.
fn rejects(bad: OwnedSeries, limits: DecodeLimits, reason: RejectReason, needle: &str) {
    let good_a = one(&[("__name__", "a"), ("x", "1")]);
    let good_b = one(&[("__name__", "b")]);
    let series = vec![good_a.clone(), bad, good_b.clone()];
    let (got, report) = decode(&encode_v1(&series, &[]), &limits);
    assert_eq!(got, vec![expected(&good_a), expected(&good_b)], "{reason}");
    assert_eq!(report.rejected.len(), 1, "{reason}: {report:?}");
    let r = &report.rejected[0];
    assert_eq!((r.series_index, r.reason), (1, reason), "{}", r.message);
    assert!(r.message.contains(needle), "{reason}: {}", r.message);
    assert!(r.message.starts_with("series #1 {"), "{}", r.message);
    assert_eq!(report.samples, 4);
}

#[test]
fn each_rule_rejects_only_its_series() {
    let none = DecodeLimits::default();
    rejects(
        one(&[]),
        none,
        RejectReason::EmptyLabelSet,
        "empty label set",
    );
    rejects(
        one(&[("job", "x")]),
        none,
        RejectReason::MissingMetricName,
        "__name__",
    );
    rejects(
        one(&[("__name__", ""), ("job", "x")]),
        none,
        RejectReason::MissingMetricName,
        "job",
    );
    rejects(
        one(&[("__name__", "m"), ("", "v")]),
        none,
        RejectReason::EmptyLabelName,
        "\"v\"",
    );
    rejects(
        one(&[("__name__", "m"), ("a", "1"), ("a", "2")]),
        none,
        RejectReason::DuplicateLabelName,
        "\"a\"",
    );
    let max = |f: fn(&mut DecodeLimits)| {
        let mut l = DecodeLimits::default();
        f(&mut l);
        l
    };
    rejects(
        one(&[("__name__", "m"), ("a", "1"), ("b", "2")]),
        max(|l| l.max_labels_per_series = 2),
        RejectReason::TooManyLabels,
        "3 labels",
    );
    rejects(
        one(&[("__name__", "m"), ("long_name", "1")]),
        max(|l| l.max_label_name_len = 8),
        RejectReason::LabelNameTooLong,
        "long_name",
    );
    rejects(
        one(&[("__name__", "m"), ("k", "0123456789")]),
        max(|l| l.max_label_value_len = 9),
        RejectReason::LabelValueTooLong,
        "10 bytes",
    );
    let mut bad_hist = one(&[("__name__", "h")]);
    bad_hist.samples.clear();
    bad_hist.histograms = vec![
        hist(1),
        OwnedHistogram {
            schema: 12,
            ..hist(2)
        },
    ];
    rejects(bad_hist, none, RejectReason::InvalidHistogram, "schema 12");
    let mut ex = one(&[("job", "x")]);
    ex.exemplars = vec![OwnedExemplar::default()];
    rejects(
        ex,
        none,
        RejectReason::ExemplarWithoutMetricName,
        "exemplar",
    );
}

#[test]
fn series_past_the_limit_are_rejected() {
    let series: Vec<_> = (0..5)
        .map(|i| one(&[("__name__", "m"), ("i", &i.to_string())]))
        .collect();
    let limits = DecodeLimits {
        max_series_per_request: 3,
        ..Default::default()
    };
    let (got, report) = decode(&encode_v1(&series, &[]), &limits);
    assert_eq!(got.len(), 3);
    assert_eq!(report.rejected.len(), 2);
    assert!(
        report
            .rejected
            .iter()
            .all(|r| r.reason == RejectReason::TooManySeries)
    );
    assert_eq!(report.rejected[1].series_index, 4);
    assert_eq!(report.rejected_samples(), 4);
}

#[test]
fn limits_at_the_boundary_pass() {
    let limits = DecodeLimits {
        max_labels_per_series: 2,
        max_label_name_len: 8,
        max_label_value_len: 3,
        max_series_per_request: 1,
    };
    let (got, report) = decode(
        &encode_v1(&[one(&[("__name__", "abc"), ("12345678", "")])], &[]),
        &limits,
    );
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(got.len(), 1);
}

#[test]
fn many_labels_duplicate_check() {
    let names: Vec<String> = (0..50).map(|i| format!("l{i}")).collect();
    let mut labels: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    labels.push(("__name__", "m"));
    let (got, report) = decode(&encode_v1(&[one(&labels)], &[]), &DecodeLimits::default());
    assert!(report.is_clean() && got.len() == 1);
    labels.push(("l33", "w"));
    let (_, report) = decode(&encode_v1(&[one(&labels)], &[]), &DecodeLimits::default());
    assert_eq!(report.rejected[0].reason, RejectReason::DuplicateLabelName);
}

#[test]
fn invalid_utf8_is_a_request_error() {
    let label = |name: &[u8], value: &[u8]| {
        let mut w = Writer::default();
        w.message(1, |w| {
            w.message(1, |w| {
                w.bytes(1, name);
                w.bytes(2, value);
            })
        });
        w.buf
    };
    let limits = DecodeLimits::default();
    for (buf, field) in [
        (label(b"\xff", b"v"), "label name"),
        (label(b"__name__", b"ok\xc3"), "label value of \"__name__\""),
    ] {
        let e = decode_v1(&buf, &limits, &mut WriteBatch::default()).unwrap_err();
        assert!(matches!(e, WireError::InvalidUtf8 { .. }), "{e}");
        assert!(e.to_string().contains(field), "{e}");
        assert!(e.to_string().contains("timeseries[0]"), "{e}");
        assert_eq!(e.http_status(), 400);
    }
    let mut w = Writer::default();
    w.message(3, |w| w.bytes(4, b"\xe2\x82"));
    let e = decode_v1(&w.buf, &limits, &mut WriteBatch::default()).unwrap_err();
    assert!(e.to_string().contains("metadata help"), "{e}");
}

#[test]
fn malformed_protobuf_is_a_request_error() {
    let limits = DecodeLimits::default();
    let mut wrong_type = Writer::default();
    wrong_type.uint(1, 5);
    let mut wrong_sample = Writer::default();
    wrong_sample.message(1, |w| w.message(2, |w| w.uint(1, 1)));
    let mut group = Writer::default();
    group.varint((1 << 3) | 3);
    for buf in [
        wrong_type.buf,
        wrong_sample.buf,
        group.buf,
        vec![0x0a, 0x10, 0x00],
    ] {
        let e = decode_v1(&buf, &limits, &mut WriteBatch::default()).unwrap_err();
        assert!(matches!(e, WireError::Protobuf { .. }), "{e}");
    }
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    fn junk(w: &mut Writer) {
        w.uint(99, 7);
        w.double(100, 1.0);
        w.bytes(101, b"junk");
        w.varint((102 << 3) | 5);
        w.buf.extend_from_slice(&[1, 2, 3, 4]);
    }
    let mut w = Writer::default();
    junk(&mut w);
    w.bytes(2, b"reserved field 2");
    w.message(1, |w| {
        junk(w);
        w.message(1, |w| {
            junk(w);
            w.bytes(1, b"__name__");
            w.bytes(2, b"m");
        });
        w.message(2, |w| {
            w.double(1, 2.0);
            junk(w);
            w.int(2, 7);
            w.int(3, 5);
        });
        w.message(3, |w| {
            junk(w);
            w.double(2, 9.0);
        });
    });
    junk(&mut w);
    let (got, report) = decode(&w.buf, &DecodeLimits::default());
    assert!(report.is_clean());
    let mut want = OwnedSeries::new(&[("__name__", "m")], &[Sample::new(7, 2.0)]);
    want.exemplars = vec![OwnedExemplar {
        value: 9.0,
        ..Default::default()
    }];
    assert_eq!(got, vec![expected(&want)]);
}

#[test]
fn interleaved_exemplars_and_labels_keep_ranges() {
    let mut w = Writer::default();
    w.message(1, |w| {
        w.message(1, |w| {
            w.bytes(1, b"a");
            w.bytes(2, b"1");
        });
        w.message(3, |w| {
            w.message(1, |w| {
                w.bytes(1, b"trace_id");
                w.bytes(2, b"t");
            });
            w.double(2, 1.0);
        });
        w.message(1, |w| {
            w.bytes(1, b"__name__");
            w.bytes(2, b"m");
        });
    });
    let (got, _) = decode(&w.buf, &DecodeLimits::default());
    let mut want = OwnedSeries::new(&[("a", "1"), ("__name__", "m")], &[]);
    want.exemplars = vec![OwnedExemplar {
        labels: owned_labels(&[("trace_id", "t")]),
        value: 1.0,
        timestamp_ms: 0,
    }];
    assert_eq!(got, vec![expected(&want)]);
}

#[test]
fn truncation_at_every_offset_never_panics() {
    let buf = encode_v1(&rich(), &[OwnedMetadata::default()]);
    let mut batch = WriteBatch::default();
    for n in 0..buf.len() {
        if decode_v1(&buf[..n], &DecodeLimits::default(), &mut batch).is_ok() {
            check_consistent(&batch);
        }
    }
}

#[test]
fn a_v2_body_is_not_read_as_an_empty_v1_request() {
    let s = OwnedSeries::new(&[("__name__", "m")], &[Sample::new(1, 1.0)]);
    let buf = crate::encode::encode_v2(&[s], &[]);
    let e = decode_v1(&buf, &DecodeLimits::default(), &mut WriteBatch::default()).unwrap_err();
    assert!(e.to_string().contains("remote write 2.0"), "{e}");
}
