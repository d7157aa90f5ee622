//! Property tests: decoders never panic on any input, and what they accept is consistent.

use cairn_model::{Sample, WriteBatch};
use cairn_wire::encode::{
    BucketSpan, HistogramCount, OwnedExemplar, OwnedHistogram, OwnedSeries, encode_v1, encode_v2,
};
use cairn_wire::{
    DecodeLimits, decode_chunked_read_response, decode_read_request, decode_v1, decode_v2,
    decompress_snappy, snappy_compress,
};
use proptest::prelude::*;

/// Every range is inside its arena; accepted series follow each other in the arenas.
fn assert_consistent(b: &WriteBatch<'_>) {
    let (mut l, mut s, mut e, mut h) = (0, 0, 0, 0);
    for sr in &b.series {
        assert!(sr.labels.start >= l && sr.labels.start <= sr.labels.end);
        assert!(sr.labels.end <= b.labels.len());
        assert_eq!(sr.samples.start, s);
        assert!(sr.samples.start <= sr.samples.end && sr.samples.end <= b.samples.len());
        assert_eq!(sr.exemplars.start, e);
        assert!(sr.exemplars.start <= sr.exemplars.end && sr.exemplars.end <= b.exemplars.len());
        assert_eq!(sr.histograms.start, h);
        assert!(
            sr.histograms.start <= sr.histograms.end && sr.histograms.end <= b.histograms.len()
        );
        for ex in &b.exemplars[sr.exemplars.clone()] {
            assert!(ex.labels.start >= sr.labels.end);
            assert!(ex.labels.start <= ex.labels.end && ex.labels.end <= b.labels.len());
        }
        let labels = b.series_labels(sr);
        assert!(
            labels
                .iter()
                .any(|l| l.name == "__name__" && !l.value.is_empty())
        );
        l = sr.labels.end;
        s = sr.samples.end;
        e = sr.exemplars.end;
        h = sr.histograms.end;
    }
    assert_eq!(
        (s, e, h),
        (b.samples.len(), b.exemplars.len(), b.histograms.len())
    );
}

fn check_all(buf: &[u8]) {
    let limits = DecodeLimits::default();
    let mut batch = WriteBatch::default();
    if let Ok(r) = decode_v1(buf, &limits, &mut batch) {
        assert_consistent(&batch);
        assert_eq!(
            (r.series, r.samples),
            (batch.series.len(), batch.samples.len())
        );
    }
    if let Ok(r) = decode_v2(buf, &limits, &mut batch) {
        assert_consistent(&batch);
        assert_eq!(
            (r.series, r.samples),
            (batch.series.len(), batch.samples.len())
        );
        assert_eq!(r.exemplars, batch.exemplars.len());
        assert_eq!(r.histograms, batch.histograms.len());
    }
    let _ = decode_read_request(buf);
    let _ = decode_chunked_read_response(buf);
    let mut out = Vec::new();
    if decompress_snappy(buf, 1 << 20, &mut out).is_err() {
        assert!(out.is_empty());
    }
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("job".to_string()),
        Just("instance".to_string()),
        "[a-z_.][a-z0-9_. ]{0,8}",
        "\\PC{1,6}",
    ]
}

fn series() -> impl Strategy<Value = OwnedSeries> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:. ]{0,12}",
        prop::collection::btree_map(label_name(), "\\PC{0,8}|[a\n]{1,3}", 0..5),
        prop::collection::vec((any::<i64>(), any::<u64>()), 0..5),
        prop::collection::vec((any::<i64>(), any::<u64>(), "\\PC{0,4}"), 0..2),
    )
        .prop_map(|(name, labels, samples, exemplars)| {
            let mut l: Vec<(String, String)> = labels
                .into_iter()
                .filter(|(n, _)| n != "__name__")
                .collect();
            // Put the name somewhere in the middle: senders need not sort.
            l.insert(l.len() / 2, ("__name__".to_string(), name));
            OwnedSeries {
                labels: l,
                samples: samples
                    .into_iter()
                    .map(|(t, v)| Sample::new(t, f64::from_bits(v)))
                    .collect(),
                exemplars: exemplars
                    .into_iter()
                    .map(|(t, v, id)| OwnedExemplar {
                        labels: vec![("trace_id".to_string(), id)],
                        value: f64::from_bits(v),
                        timestamp_ms: t,
                    })
                    .collect(),
                histograms: Vec::new(),
            }
        })
}

/// The batch back as owned series (labels, samples, exemplars).
fn owned(b: &WriteBatch<'_>) -> Vec<OwnedSeries> {
    let pairs = |r: std::ops::Range<usize>| -> Vec<(String, String)> {
        b.labels[r]
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect()
    };
    b.series
        .iter()
        .map(|s| OwnedSeries {
            labels: pairs(s.labels.clone()),
            samples: b.series_samples(s).to_vec(),
            exemplars: b.exemplars[s.exemplars.clone()]
                .iter()
                .map(|e| OwnedExemplar {
                    labels: pairs(e.labels.clone()),
                    value: e.value,
                    timestamp_ms: e.timestamp_ms,
                })
                .collect(),
            histograms: Vec::new(),
        })
        .collect()
}

/// A valid integer or float histogram: spans matching the buckets, counts adding up.
fn histogram() -> impl Strategy<Value = OwnedHistogram> {
    let side = prop::collection::vec((0i32..4, prop::collection::vec(0u64..1000, 0..4)), 0..3);
    (
        -4i32..=8,
        side.clone(),
        side,
        0u64..10,
        any::<bool>(),
        any::<i64>(),
        any::<bool>(),
    )
        .prop_map(|(schema, neg, pos, zero, float, ts, nan_sum)| {
            let spans = |side: &[(i32, Vec<u64>)]| -> Vec<BucketSpan> {
                side.iter()
                    .enumerate()
                    .map(|(i, (off, b))| BucketSpan {
                        offset: if i == 0 { off - 2 } else { *off },
                        length: b.len() as u32,
                    })
                    .collect()
            };
            let counts = |side: &[(i32, Vec<u64>)]| -> Vec<u64> {
                side.iter().flat_map(|(_, b)| b.iter().copied()).collect()
            };
            let deltas = |c: &[u64]| -> Vec<i64> {
                let mut prev = 0i64;
                c.iter()
                    .map(|&x| {
                        let d = x as i64 - prev;
                        prev = x as i64;
                        d
                    })
                    .collect()
            };
            let (nc, pc) = (counts(&neg), counts(&pos));
            let total = zero + nc.iter().sum::<u64>() + pc.iter().sum::<u64>();
            let mut h = OwnedHistogram {
                sum: if nan_sum { f64::NAN } else { 1.25 },
                schema,
                zero_threshold: 1e-128,
                negative_spans: spans(&neg),
                positive_spans: spans(&pos),
                timestamp_ms: ts,
                ..Default::default()
            };
            if float {
                h.count = HistogramCount::Float(total as f64);
                h.zero_count = HistogramCount::Float(zero as f64);
                h.negative_counts = nc.iter().map(|&c| c as f64).collect();
                h.positive_counts = pc.iter().map(|&c| c as f64).collect();
            } else {
                h.count = HistogramCount::Int(total);
                h.zero_count = HistogramCount::Int(zero);
                h.negative_deltas = deltas(&nc);
                h.positive_deltas = deltas(&pc);
            }
            h
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&buf);
    }

    #[test]
    fn round_trip_v1_and_v2(series in prop::collection::vec(series(), 0..6)) {
        let limits = DecodeLimits::default();
        let mut batch = WriteBatch::default();
        let b1 = encode_v1(&series, &[]);
        let r = decode_v1(&b1, &limits, &mut batch).unwrap();
        prop_assert!(r.is_clean(), "{:?}", r);
        prop_assert_eq!(owned(&batch), series.clone());
        let b2 = encode_v2(&series, &[]);
        let r = decode_v2(&b2, &limits, &mut batch).unwrap();
        prop_assert!(r.is_clean(), "{:?}", r);
        prop_assert_eq!(owned(&batch), series.clone());
        let mut out = Vec::new();
        decompress_snappy(&snappy_compress(&b2), b2.len(), &mut out).unwrap();
        prop_assert_eq!(out, b2);
    }

    #[test]
    fn valid_histograms_are_accepted(hs in prop::collection::vec(histogram(), 1..4)) {
        let s = OwnedSeries {
            labels: vec![("__name__".into(), "h".into())],
            histograms: hs.clone(),
            ..Default::default()
        };
        let want: Vec<_> = hs.iter().map(|h| h.to_ref()).collect();
        let limits = DecodeLimits::default();
        let (b1, b2) = (encode_v1(std::slice::from_ref(&s), &[]), encode_v2(std::slice::from_ref(&s), &[]));
        for v2 in [false, true] {
            let mut batch = WriteBatch::default();
            let r = if v2 {
                decode_v2(&b2, &limits, &mut batch)
            } else {
                decode_v1(&b1, &limits, &mut batch)
            };
            let r = r.unwrap();
            prop_assert!(r.is_clean(), "{:?}", r.rejected);
            prop_assert_eq!(r.histograms, hs.len());
            let got = &batch.histograms;
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert_eq!(
                    (g.timestamp_ms, g.count, g.sum.to_bits(), g.schema),
                    (w.timestamp_ms, w.count, w.sum.to_bits(), w.schema)
                );
            }
        }
    }

    #[test]
    fn mutated_payloads_never_panic(
        series in prop::collection::vec(series(), 1..4),
        v2 in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut buf = if v2 { encode_v2(&series, &[]) } else { encode_v1(&series, &[]) };
        for (at, byte, kind) in edits {
            if buf.is_empty() {
                break;
            }
            let i = at.index(buf.len());
            match kind {
                0 => buf[i] = byte,
                1 => buf.truncate(i),
                _ => buf.insert(i, byte),
            }
        }
        check_all(&buf);
        check_all(&snappy_compress(&buf));
    }
}
