use cairn_model::{MetricType, STALE_NAN_BITS, Sample, WriteBatch, stale_nan};

use super::decode_v2;
use crate::encode::{
    BucketSpan, HistogramCount, OwnedExemplar, OwnedHistogram, OwnedMetadata, OwnedSeries,
    encode_v2, owned_labels,
};
use crate::error::WireError;
use crate::pb::Writer;
use crate::report::{DecodeLimits, DecodeReport, RejectReason};
use crate::testutil::{Back, back, check_consistent, expected};

type SeriesFn = dyn Fn(&mut Writer);
type Pairs = Vec<(&'static str, &'static str)>;

fn hist(ts: i64) -> OwnedHistogram {
    OwnedHistogram {
        count: HistogramCount::Float(3.5),
        sum: 4.5,
        schema: -53,
        custom_values: vec![0.5, 1.0],
        positive_spans: vec![BucketSpan {
            offset: 0,
            length: 3,
        }],
        positive_counts: vec![1.0, 0.5, 2.0],
        timestamp_ms: ts,
        ..Default::default()
    }
}

fn rich() -> Vec<OwnedSeries> {
    vec![
        OwnedSeries {
            labels: owned_labels(&[
                ("zone", "eu west\n2"),
                ("__name__", "a.b c"),
                ("job", "api"),
            ]),
            samples: vec![
                Sample::new(1, 1.5),
                Sample::new(2, stale_nan()),
                Sample::new(3, f64::NAN),
                Sample::new(i64::MIN, f64::NEG_INFINITY),
            ],
            exemplars: vec![OwnedExemplar {
                labels: owned_labels(&[("trace_id", "abc"), ("job", "api")]),
                value: 0.25,
                timestamp_ms: 2,
            }],
            histograms: vec![],
        },
        OwnedSeries {
            labels: owned_labels(&[("__name__", "h")]),
            histograms: vec![hist(1), OwnedHistogram::default()],
            exemplars: vec![OwnedExemplar::default()],
            ..Default::default()
        },
        OwnedSeries::new(
            &[("__name__", "up"), ("job", "api")],
            &[Sample::new(0, 1.0)],
        ),
    ]
}

fn decode(buf: &[u8], limits: &DecodeLimits) -> (Vec<Back>, DecodeReport) {
    let mut batch = WriteBatch::default();
    let report = decode_v2(buf, limits, &mut batch).unwrap();
    (back(&batch), report)
}

#[test]
fn round_trip_with_metadata() {
    let series = rich();
    let md = vec![
        Some(OwnedMetadata {
            metric_type: MetricType::Counter,
            help: "Help\ntext".into(),
            unit: "seconds".into(),
            ..Default::default()
        }),
        Some(OwnedMetadata::default()),
        Some(OwnedMetadata {
            unit: "bytes".into(),
            ..Default::default()
        }),
    ];
    let buf = encode_v2(&series, &md);
    let mut batch = WriteBatch::default();
    let report = decode_v2(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        (
            report.series,
            report.samples,
            report.histograms,
            report.exemplars
        ),
        (3, 5, 2, 2)
    );
    assert_eq!(
        back(&batch),
        series.iter().map(expected).collect::<Vec<_>>()
    );
    assert_eq!(batch.samples[1].v.to_bits(), STALE_NAN_BITS);
    // Unspecified type with empty help and unit carries nothing: not kept.
    assert_eq!(batch.metadata.len(), 2);
    assert_eq!(batch.metadata[0].metric_family_name, "a.b c");
    assert_eq!(batch.metadata[0].metric_type, MetricType::Counter);
    assert_eq!(batch.metadata[0].help, "Help\ntext");
    assert_eq!(batch.metadata[0].unit, "seconds");
    assert_eq!(batch.metadata[1].metric_family_name, "up");
    assert_eq!(batch.metadata[1].metric_type, MetricType::Unknown);
    assert_eq!(batch.metadata[1].unit, "bytes");
}

#[test]
fn empty_and_metadata_only_requests() {
    let (got, report) = decode(&[], &DecodeLimits::default());
    assert!(got.is_empty() && report == DecodeReport::default());
    let buf = encode_v2(&[], &[]);
    assert_eq!(
        decode(&buf, &DecodeLimits::default()).1,
        DecodeReport::default()
    );
    // A series with metadata and no samples is accepted (exemplar- and metadata-only series).
    let s = OwnedSeries::new(&[("__name__", "m")], &[]);
    let md = [Some(OwnedMetadata {
        metric_type: MetricType::Gauge,
        ..Default::default()
    })];
    let buf = encode_v2(&[s], &md);
    let mut batch = WriteBatch::default();
    let r = decode_v2(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert!(r.is_clean() && r.series == 1 && r.samples == 0);
    assert_eq!(batch.metadata[0].metric_type, MetricType::Gauge);
}

/// Builds a request by hand: `symbols`, then series each written by a closure.
fn request(symbols: &[&str], series: &[&dyn Fn(&mut Writer)]) -> Vec<u8> {
    let mut w = Writer::default();
    for s in symbols {
        w.bytes(4, s.as_bytes());
    }
    for s in series {
        w.message(5, |w| s(w));
    }
    w.buf
}

fn sample(w: &mut Writer, t: i64, v: f64) {
    w.message(2, |w| {
        w.double(1, v);
        w.int(2, t);
    });
}

#[test]
fn symbol_table_must_start_empty() {
    let buf = request(&["__name__", "m"], &[&|w| w.packed_varints(1, [0, 1])]);
    let e = decode_v2(&buf, &DecodeLimits::default(), &mut WriteBatch::default()).unwrap_err();
    assert!(matches!(e, WireError::InvalidSymbolTable(_)), "{e}");
    assert!(e.to_string().contains("__name__"));
    let mut w = Writer::default();
    w.bytes(4, b"");
    w.bytes(4, b"\xff");
    let e = decode_v2(&w.buf, &DecodeLimits::default(), &mut WriteBatch::default()).unwrap_err();
    assert!(e.to_string().contains("symbols[1]"), "{e}");
}

#[test]
fn symbols_after_series_and_split_or_unpacked_refs() {
    let mut w = Writer::default();
    w.message(5, |w| {
        // Two packed chunks splitting a pair, then unpacked refs.
        w.packed_varints(1, [1, 2, 3]);
        w.packed_varints(1, [4]);
        w.uint(1, 5);
        w.uint(1, 6);
        sample(w, 10, 1.0);
    });
    for s in ["", "__name__", "m", "a", "b", "c", "d"] {
        w.bytes(4, s.as_bytes());
    }
    let (got, report) = decode(&w.buf, &DecodeLimits::default());
    assert!(report.is_clean(), "{report:?}");
    let want = OwnedSeries::new(
        &[("__name__", "m"), ("a", "b"), ("c", "d")],
        &[Sample::new(10, 1.0)],
    );
    assert_eq!(got, vec![expected(&want)]);
}

#[test]
fn bad_refs_reject_the_series() {
    let syms = ["", "__name__", "m", "trace_id"];
    let good: &dyn Fn(&mut Writer) = &|w| {
        w.packed_varints(1, [1, 2]);
        sample(w, 1, 1.0);
    };
    let cases: Vec<(&SeriesFn, &str)> = vec![
        (&|w| w.packed_varints(1, [1, 2, 3]), "odd number (3)"),
        (&|w| w.packed_varints(1, [1, 9]), "(1, 9) out of range of 4"),
        (&|w| w.packed_varints(1, [1, u64::MAX]), "out of range"),
        (
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.message(4, |w| w.packed_varints(1, [3]));
            },
            "exemplar has an odd number",
        ),
        (
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.message(4, |w| w.packed_varints(1, [3, 40]));
            },
            "(3, 40)",
        ),
        (
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.message(5, |w| w.uint(3, 4));
            },
            "help_ref 4",
        ),
        (
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.message(5, |w| w.uint(4, 4));
            },
            "unit_ref 4",
        ),
    ];
    for (bad, needle) in cases {
        let buf = request(&syms, &[good, bad, good]);
        let mut batch = WriteBatch::default();
        let report = decode_v2(&buf, &DecodeLimits::default(), &mut batch).unwrap();
        check_consistent(&batch);
        assert_eq!(batch.series.len(), 2, "{needle}");
        assert!(batch.metadata.is_empty(), "{needle}");
        let r = &report.rejected[..];
        assert_eq!(r.len(), 1, "{needle}");
        assert_eq!(
            (r[0].series_index, r[0].reason),
            (1, RejectReason::InvalidSymbolRef)
        );
        assert!(r[0].message.contains(needle), "{needle}: {}", r[0].message);
    }
}

#[test]
fn samples_and_histograms_together_are_rejected() {
    let mut s = OwnedSeries::new(&[("__name__", "m")], &[Sample::new(1, 1.0)]);
    s.histograms = vec![hist(1)];
    let ok = OwnedSeries::new(&[("__name__", "n")], &[Sample::new(1, 1.0)]);
    let (got, report) = decode(&encode_v2(&[s, ok.clone()], &[]), &DecodeLimits::default());
    assert_eq!(got, vec![expected(&ok)]);
    assert_eq!(
        report.rejected[0].reason,
        RejectReason::SamplesAndHistograms
    );
    assert_eq!(
        (report.rejected[0].samples, report.rejected[0].histograms),
        (1, 1)
    );
    assert_eq!((report.samples, report.histograms), (1, 0));
}

#[test]
fn label_rules_apply_to_resolved_labels() {
    let cases: Vec<(Pairs, bool, RejectReason)> = vec![
        (vec![], false, RejectReason::EmptyLabelSet),
        (vec![("job", "x")], false, RejectReason::MissingMetricName),
        (
            vec![("job", "x")],
            true,
            RejectReason::ExemplarWithoutMetricName,
        ),
        (
            vec![("__name__", "m"), ("", "x")],
            false,
            RejectReason::EmptyLabelName,
        ),
        (
            vec![("__name__", "m"), ("__name__", "n")],
            false,
            RejectReason::DuplicateLabelName,
        ),
    ];
    for (labels, exemplar, reason) in cases {
        let mut s = OwnedSeries::new(&labels, &[Sample::new(1, 1.0)]);
        if exemplar {
            s.exemplars = vec![OwnedExemplar::default()];
        }
        let (got, report) = decode(&encode_v2(&[s], &[]), &DecodeLimits::default());
        assert!(got.is_empty(), "{reason}");
        assert_eq!(report.rejected[0].reason, reason);
        assert_eq!(report.exemplars, 0);
    }
    let mut bad = OwnedSeries::new(&[("__name__", "h")], &[]);
    bad.histograms = vec![OwnedHistogram {
        count: HistogramCount::Int(5),
        ..Default::default()
    }];
    let (_, report) = decode(&encode_v2(&[bad], &[]), &DecodeLimits::default());
    assert_eq!(report.rejected[0].reason, RejectReason::InvalidHistogram);
    assert!(
        report.rejected[0].message.contains("count 5"),
        "{:?}",
        report.rejected
    );
}

#[test]
fn start_timestamps_are_accepted_in_every_place() {
    let buf = request(
        &["", "__name__", "m"],
        &[
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.int(6, 1_000);
                w.message(2, |w| {
                    w.double(1, 3.0);
                    w.int(2, 2_000);
                    w.int(3, 1_000);
                });
            },
            &|w| {
                w.packed_varints(1, [1, 2]);
                w.message(3, |w| {
                    w.uint(1, 0);
                    w.int(15, 2_000);
                    w.int(17, 1_000);
                });
            },
        ],
    );
    let mut batch = WriteBatch::default();
    let report = decode_v2(&buf, &DecodeLimits::default(), &mut batch).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(batch.samples, vec![Sample::new(2_000, 3.0)]);
    assert_eq!(batch.histograms[0].timestamp_ms, 2_000);
}

#[test]
fn limits_apply() {
    let series: Vec<_> = (0..4)
        .map(|i| {
            OwnedSeries::new(
                &[("__name__", "m"), ("i", &i.to_string())],
                &[Sample::new(1, 1.0)],
            )
        })
        .collect();
    let limits = DecodeLimits {
        max_series_per_request: 2,
        max_label_value_len: 1,
        ..Default::default()
    };
    let (got, report) = decode(&encode_v2(&series, &[]), &limits);
    assert_eq!(got.len(), 2);
    assert_eq!(
        report.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
        vec![RejectReason::TooManySeries; 2]
    );
}

#[test]
fn truncation_at_every_offset_never_panics() {
    let buf = encode_v2(&rich(), &[Some(OwnedMetadata::default())]);
    let mut batch = WriteBatch::default();
    for n in 0..buf.len() {
        if decode_v2(&buf[..n], &DecodeLimits::default(), &mut batch).is_ok() {
            check_consistent(&batch);
        }
    }
}

#[test]
fn a_v1_body_is_not_read_as_an_empty_v2_request() {
    let s = OwnedSeries::new(&[("__name__", "m")], &[Sample::new(1, 1.0)]);
    let md = [OwnedMetadata::default()];
    for buf in [
        crate::encode::encode_v1(&[s], &[]),
        crate::encode::encode_v1(&[], &md),
    ] {
        let e = decode_v2(&buf, &DecodeLimits::default(), &mut WriteBatch::default()).unwrap_err();
        assert!(
            e.to_string().contains("reserved in remote write 2.0"),
            "{e}"
        );
    }
}
