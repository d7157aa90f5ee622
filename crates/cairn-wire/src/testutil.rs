//! Helpers shared by the decoders' unit tests.

use cairn_model::{HistogramRef, WriteBatch};

use crate::encode::{OwnedExemplar, OwnedSeries};

/// A decoded series in owned form; histograms as the decoder keeps them.
#[derive(Debug, PartialEq)]
pub(crate) struct Back {
    pub(crate) series: OwnedSeries,
    pub(crate) histograms: Vec<HistogramRef>,
}

/// The batch's series back in owned form, checking every range first.
pub(crate) fn back(batch: &WriteBatch<'_>) -> Vec<Back> {
    check_consistent(batch);
    let pairs = |r: std::ops::Range<usize>| -> Vec<(String, String)> {
        batch.labels[r]
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect()
    };
    batch
        .series
        .iter()
        .map(|s| Back {
            series: OwnedSeries {
                labels: pairs(s.labels.clone()),
                samples: batch.series_samples(s).to_vec(),
                exemplars: batch.exemplars[s.exemplars.clone()]
                    .iter()
                    .map(|e| OwnedExemplar {
                        labels: pairs(e.labels.clone()),
                        value: e.value,
                        timestamp_ms: e.timestamp_ms,
                    })
                    .collect(),
                histograms: Vec::new(),
            },
            histograms: batch.histograms[s.histograms.clone()].to_vec(),
        })
        .collect()
}

/// What `back` returns for a series that was encoded.
pub(crate) fn expected(s: &OwnedSeries) -> Back {
    Back {
        series: OwnedSeries {
            histograms: Vec::new(),
            ..s.clone()
        },
        histograms: s.histograms.iter().map(|h| h.to_ref()).collect(),
    }
}

/// Every range is inside its arena and the series' ranges follow each other.
pub(crate) fn check_consistent(b: &WriteBatch<'_>) {
    let (mut l, mut s, mut e, mut h) = (0, 0, 0, 0);
    for sr in &b.series {
        assert!(sr.labels.start >= l && sr.labels.start <= sr.labels.end);
        assert!(sr.labels.end <= b.labels.len());
        assert!(sr.samples.start == s && sr.samples.end <= b.samples.len());
        assert!(sr.exemplars.start == e && sr.exemplars.end <= b.exemplars.len());
        assert!(sr.histograms.start == h && sr.histograms.end <= b.histograms.len());
        for ex in &b.exemplars[sr.exemplars.clone()] {
            assert!(ex.labels.start >= sr.labels.end && ex.labels.end <= b.labels.len());
        }
        l = sr.labels.end;
        s = sr.samples.end;
        e = sr.exemplars.end;
        h = sr.histograms.end;
    }
    assert_eq!(s, b.samples.len());
    assert_eq!(e, b.exemplars.len());
    assert_eq!(h, b.histograms.len());
}
