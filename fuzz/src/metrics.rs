//! Body of the OTLP metrics fuzz target. It panics only on a bug: a decoder or the mapping
//! panicking, a mapped series breaking its invariants (unsorted or repeated label names, no
//! `__name__`, empty values), a batch whose counts disagree with its report, or one request
//! mapped differently from its protobuf round trip.

use cairn_model::{METRIC_NAME, WriteBatch};
use cairn_wire::{
    DecodeLimits, MappedMetrics, OtlpMetricsMapping, TranslationStrategy, decode_otlp_metrics,
    map_otlp_metrics,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message as _;

fn check(m: &MappedMetrics) {
    for s in &m.series {
        assert!(
            s.labels.windows(2).all(|w| w[0].0 < w[1].0),
            "labels unsorted or repeated: {:?}",
            s.labels
        );
        assert!(
            s.labels.iter().all(|(_, v)| !v.is_empty()),
            "empty value kept"
        );
        assert!(
            s.labels.iter().any(|(n, _)| n == METRIC_NAME),
            "series without a name"
        );
        assert!(!s.samples.is_empty(), "series without samples");
    }
    let limits = DecodeLimits {
        max_labels_per_series: 8,
        max_label_name_len: 16,
        max_label_value_len: 32,
        max_series_per_request: 16,
    };
    let mut batch = WriteBatch::default();
    let report = m.fill_batch(&limits, &mut batch);
    assert_eq!(
        report.series + report.rejected.len(),
        m.series.len(),
        "kept + rejected != mapped"
    );
    let samples: usize = batch.series.iter().map(|s| s.samples.len()).sum();
    assert_eq!(
        samples,
        batch.samples.len(),
        "sample arena and series disagree"
    );
    for s in &batch.series {
        assert!(
            s.labels.end <= batch.labels.len(),
            "labels out of the arena"
        );
        assert!(
            s.exemplars.end <= batch.exemplars.len(),
            "exemplars out of the arena"
        );
    }
}

/// First byte: format (bit 0: JSON) and translation strategy (bits 1-2); rest: the body.
pub fn otlp_metrics(data: &[u8]) {
    let Some((&head, body)) = data.split_first() else {
        return;
    };
    let mapping = OtlpMetricsMapping {
        translation_strategy: TranslationStrategy::ALL[usize::from(head >> 1) & 3],
        promote_all_resource_attributes: head & 0x08 != 0,
        promote_scope_metadata: head & 0x10 != 0,
        ..OtlpMetricsMapping::default()
    };
    let json = head & 1 == 1;
    let ct = if json {
        "application/json"
    } else {
        "application/x-protobuf"
    };
    let Ok(m) = decode_otlp_metrics(Some(ct), body, &mapping) else {
        return;
    };
    check(&m);
    if !json && let Ok(req) = ExportMetricsServiceRequest::decode(body) {
        let again = map_otlp_metrics(
            &ExportMetricsServiceRequest::decode(req.encode_to_vec().as_slice())
                .expect("a re-encoded request decodes"),
            &mapping,
        );
        assert_eq!(
            format!("{:?}", again.series),
            format!("{:?}", m.series),
            "protobuf round trip maps differently"
        );
        assert_eq!(
            again.report, m.report,
            "protobuf round trip reports differently"
        );
    }
}
