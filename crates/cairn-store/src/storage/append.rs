//! The append path: validate under each series' lock, log to the WAL (group commit), apply.

use std::sync::Arc;

use cairn_model::{
    LabelError, LabelRef, Labels, MetricMetadata, Sample, SeriesRefs, WriteBatch, encode_refs_into,
};

use super::Storage;
use crate::error::Result;
use crate::exemplars::{Added, CircularExemplars, Exemplar, ExemplarRejectReason};
use crate::head::{MemSeries, RejectReason, TenantHead};
use crate::wal::record::{SamplesEncoder, encode_exemplars, encode_metadata};

/// Rejections listed in detail per append; the rest are only counted.
const MAX_REJECTION_DETAILS: usize = 16;
/// Samples per WAL samples record.
const SAMPLES_PER_RECORD: usize = 10_000;
/// How many cuts in a row a sample waits out before it is refused as out of bounds.
const MAX_CUT_WAITS: u32 = 8;

/// One refused sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleRejection {
    /// Why.
    pub reason: RejectReason,
    /// The series, in Prometheus' text form.
    pub series: String,
    /// The sample's timestamp.
    pub timestamp_ms: i64,
    /// A message naming reason, series and timestamp.
    pub message: String,
}

/// What an append did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples accepted and durable (including idempotent repeats of stored samples).
    pub samples_accepted: u64,
    /// The first refused samples, in request order (capped; see `rejected_by_reason`).
    pub samples_rejected: Vec<SampleRejection>,
    /// Refused samples by reason, indexed like [`RejectReason::ALL`].
    pub rejected_by_reason: [u64; 4],
    /// Series new to the head.
    pub series_created: u64,
    /// Metadata entries recorded.
    pub metadata_written: u64,
    /// Exemplars stored and durable (duplicates of stored ones are accepted, not counted).
    pub exemplars_accepted: u64,
    /// Refused exemplars by reason, indexed like [`ExemplarRejectReason::ALL`]. As in
    /// Prometheus, a refused exemplar does not fail the write.
    pub exemplars_rejected_by_reason: [u64; 4],
}

impl AppendOutcome {
    /// Total refused samples.
    pub fn rejected_total(&self) -> u64 {
        self.rejected_by_reason.iter().sum()
    }

    /// Refused samples for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected_by_reason[reason.index()]
    }

    /// Refused exemplars for `reason`.
    pub fn exemplars_rejected(&self, reason: ExemplarRejectReason) -> u64 {
        self.exemplars_rejected_by_reason[reason.index()]
    }

    fn reject(&mut self, reason: RejectReason, series: &dyn std::fmt::Display, t: i64) {
        self.rejected_by_reason[reason.index()] += 1;
        if self.samples_rejected.len() < MAX_REJECTION_DETAILS {
            let series = series.to_string();
            self.samples_rejected.push(SampleRejection {
                reason,
                message: format!("{}: series {series}, timestamp {t}", reason.message()),
                series,
                timestamp_ms: t,
            });
        }
    }
}

/// Series touched by an append and the samples accepted for them, in apply order.
struct Prepared {
    series: Vec<Arc<MemSeries>>,
    /// `(index into series, t, value bits)`.
    samples: Vec<(u32, i64, u64)>,
    payload: Vec<u8>,
    metadata: Vec<(String, MetricMetadata)>,
    /// Exemplars accepted by validation: series labels and exemplar, in request order.
    exemplars: Vec<(Labels, Exemplar)>,
    /// Samples in the range of a running cut: `(index of the series in the batch, sample)`.
    deferred: Vec<(usize, Sample)>,
    /// Series created by this pass.
    created: u64,
}

/// Appends `batch`; samples falling in the range of a running cut wait for the cut to end
/// and are then appended like the rest (at most [`MAX_CUT_WAITS`] times), so a cut or a
/// flush never turns an acceptable sample into an error.
pub(super) async fn append(
    storage: &Storage,
    th: &TenantHead,
    batch: &WriteBatch<'_>,
) -> Result<AppendOutcome> {
    let mut outcome = AppendOutcome::default();
    let mut deferred = append_once(storage, th, batch, &mut outcome, false).await?;
    let mut waits = 0;
    while !deferred.is_empty() {
        waits += 1;
        // A cut holds this lock from start to end: taking it waits the running one out.
        drop(storage.cut_lock.lock().await);
        let retry = deferred_batch(batch, &deferred);
        deferred = append_once(storage, th, &retry, &mut outcome, waits >= MAX_CUT_WAITS).await?;
    }
    count(storage, &outcome);
    Ok(outcome)
}

/// A batch of the deferred samples, borrowing the labels of the original one.
fn deferred_batch<'a>(batch: &WriteBatch<'a>, deferred: &[(usize, Sample)]) -> WriteBatch<'a> {
    let mut retry = WriteBatch {
        labels: batch.labels.clone(),
        ..WriteBatch::default()
    };
    for group in deferred.chunk_by(|a, b| a.0 == b.0) {
        let start = retry.samples.len();
        retry.samples.extend(group.iter().map(|(_, s)| *s));
        retry.series.push(SeriesRefs {
            labels: batch.series[group[0].0].labels.clone(),
            samples: start..retry.samples.len(),
            ..SeriesRefs::default()
        });
    }
    retry
}

/// One pass of the append path; returns the samples deferred by a running cut (refused as
/// out of bounds instead when `last_try`).
async fn append_once(
    storage: &Storage,
    th: &TenantHead,
    batch: &WriteBatch<'_>,
    outcome: &mut AppendOutcome,
    last_try: bool,
) -> Result<Vec<(usize, Sample)>> {
    let gate = storage.gate.read().await;
    let mut prepared = prepare(storage, th, batch, outcome, last_try);
    let deferred = std::mem::take(&mut prepared.deferred);
    if prepared.payload.is_empty() {
        drop(gate);
        return Ok(deferred);
    }
    let logged = storage
        .wal
        .append(th.tenant.clone(), prepared.series.clone(), prepared.payload)
        .await;
    if let Err(e) = logged {
        for s in &prepared.series {
            s.data.lock().reset_validation();
        }
        tracing::warn!(tenant = %th.tenant, error = %e, "append failed in the wal");
        return Err(e);
    }
    let mut applied = 0i64;
    let mut i = 0;
    while i < prepared.samples.len() {
        let idx = prepared.samples[i].0;
        let run = prepared.samples[i..]
            .iter()
            .take_while(|x| x.0 == idx)
            .count();
        let mut d = prepared.series[idx as usize].data.lock();
        for &(_, t, v) in &prepared.samples[i..i + run] {
            applied += i64::from(d.apply(t, v));
        }
        i += run;
    }
    for (family, m) in prepared.metadata {
        th.set_metadata(&family, m);
    }
    if !prepared.exemplars.is_empty() {
        // Validated above; a concurrent append to the same series may still have won the
        // race, and that loser is dropped here as Prometheus drops it at commit.
        let (stored, refused) = storage.exemplars.add_all(
            &th.tenant,
            prepared.exemplars.iter().map(|(s, e)| (s, e.clone())),
        );
        outcome.exemplars_accepted += stored;
        for (i, n) in refused.iter().enumerate() {
            outcome.exemplars_rejected_by_reason[i] += n;
        }
    }
    drop(gate);
    storage.metrics.head_samples.inc_by(applied);
    if prepared.created > 0 {
        storage.metrics.head_series.inc_by(prepared.created as i64);
    }
    Ok(deferred)
}

fn count(storage: &Storage, outcome: &AppendOutcome) {
    storage.metrics.samples.inc_by(outcome.samples_accepted);
    for r in ExemplarRejectReason::ALL {
        storage
            .exemplars
            .metrics
            .count_rejected(r, outcome.exemplars_rejected(r));
    }
    for r in RejectReason::ALL {
        let n = outcome.rejected(r);
        if n > 0 {
            storage
                .metrics
                .rejected
                .get_or_create(&[("reason", r.as_str())])
                .inc_by(n);
        }
    }
    if outcome.rejected_total() > 0
        && let Some(first) = outcome.samples_rejected.first()
    {
        tracing::debug!(
            rejected = outcome.rejected_total(),
            first = %first.message,
            "samples rejected"
        );
    }
}

/// Validates the batch against the head, creating new series, and encodes the WAL records.
fn prepare(
    storage: &Storage,
    th: &TenantHead,
    batch: &WriteBatch<'_>,
    outcome: &mut AppendOutcome,
    last_try: bool,
) -> Prepared {
    let (min_valid, cut_floor) = storage.head.min_valid(th);
    let min_valid = if last_try { cut_floor } else { min_valid };
    let window = storage.head.ooo_window_ms;
    let mut scratch: Vec<LabelRef<'_>> = Vec::new();
    let mut encoded: Vec<u8> = Vec::new();
    let mut p = Prepared {
        series: Vec::with_capacity(batch.series.len()),
        samples: Vec::with_capacity(batch.samples.len()),
        payload: Vec::with_capacity(batch.samples.len() * 12 + 64),
        metadata: Vec::new(),
        exemplars: Vec::new(),
        deferred: Vec::new(),
        created: 0,
    };
    // Locked per series with exemplars only, so appends without exemplars never wait on it.
    let exemplar_buf = if batch.exemplars.is_empty() {
        None
    } else {
        storage.exemplars.tenant(&th.tenant)
    };
    let mut enc = SamplesEncoder::new(SAMPLES_PER_RECORD);
    for (series_index, s) in batch.series.iter().enumerate() {
        let samples = batch.series_samples(s);
        let exemplars = &batch.exemplars[s.exemplars.clone()];
        if samples.is_empty() && exemplars.is_empty() {
            continue;
        }
        scratch.clear();
        scratch.extend_from_slice(batch.series_labels(s));
        if let Err(e) = encode_refs_into(&mut scratch, &mut encoded) {
            for sample in samples {
                outcome.reject(RejectReason::InvalidLabels, &e, sample.t);
            }
            outcome.exemplars_rejected_by_reason[ExemplarRejectReason::InvalidLabels.index()] +=
                exemplars.len() as u64;
            continue;
        }
        if samples.is_empty() {
            // Exemplars alone need a series with samples, as in Prometheus' head.
            match th.get(&encoded) {
                Some(ms) => {
                    if let Some(buf) = &exemplar_buf {
                        let buf = buf.lock();
                        validate_exemplars(&buf, &ms.labels, exemplars, batch, &mut p, outcome);
                    }
                }
                None => {
                    outcome.exemplars_rejected_by_reason
                        [ExemplarRejectReason::UnknownSeries.index()] += exemplars.len() as u64;
                }
            }
            continue;
        }
        let (ms, created) = th.get_or_create(&encoded, || storage.head.next_ref());
        outcome.series_created += u64::from(created);
        p.created += u64::from(created);
        let idx = p.series.len() as u32;
        let mut any = false;
        {
            let mut d = ms.data.lock();
            for sample in samples {
                if sample.t < cut_floor && sample.t >= min_valid {
                    p.deferred.push((series_index, *sample));
                    continue;
                }
                let v = sample.v.to_bits();
                match d.validate(sample.t, v, min_valid, window) {
                    Ok(()) => {
                        enc.push(&mut p.payload, &th.tenant, ms.sref, sample.t, v);
                        p.samples.push((idx, sample.t, v));
                        outcome.samples_accepted += 1;
                        any = true;
                    }
                    Err(reason) => outcome.reject(reason, &ms.labels, sample.t),
                }
            }
        }
        if let Some(buf) = &exemplar_buf
            && !exemplars.is_empty()
        {
            let buf = buf.lock();
            validate_exemplars(&buf, &ms.labels, exemplars, batch, &mut p, outcome);
        }
        if any {
            p.series.push(ms);
        }
    }
    enc.finish(&mut p.payload);
    if !p.exemplars.is_empty() {
        encode_exemplars(
            &mut p.payload,
            &th.tenant,
            p.exemplars.iter().map(|(s, e)| (s, e)),
        );
    }
    if !batch.metadata.is_empty() {
        p.metadata = batch
            .metadata
            .iter()
            .filter(|m| !m.metric_family_name.is_empty())
            .map(|m| {
                (
                    m.metric_family_name.to_string(),
                    MetricMetadata {
                        metric_type: m.metric_type,
                        help: m.help.to_string(),
                        unit: m.unit.to_string(),
                    },
                )
            })
            .collect();
        if !p.metadata.is_empty() {
            encode_metadata(
                &mut p.payload,
                &th.tenant,
                p.metadata.iter().map(|(f, m)| (f.as_str(), m)),
            );
            outcome.metadata_written = p.metadata.len() as u64;
        }
    }
    p
}

/// Validates one series' exemplars against the tenant's buffer and the ones of this batch
/// before them; the accepted ones go into `p` (duplicates of the stored newest are dropped).
fn validate_exemplars(
    buf: &CircularExemplars,
    series: &Labels,
    exemplars: &[cairn_model::ExemplarRef],
    batch: &WriteBatch<'_>,
    p: &mut Prepared,
    outcome: &mut AppendOutcome,
) {
    let first_of_series = p.exemplars.len();
    for er in exemplars {
        let mut refs: Vec<LabelRef<'_>> = batch.labels[er.labels.clone()].to_vec();
        let mut bytes = Vec::new();
        let labels = match encode_refs_into(&mut refs, &mut bytes) {
            Ok(()) => Labels::from_encoded_unchecked(&bytes),
            Err(LabelError::Empty) => Labels::empty(),
            Err(_) => {
                outcome.exemplars_rejected_by_reason
                    [ExemplarRejectReason::InvalidLabels.index()] += 1;
                continue;
            }
        };
        let e = Exemplar {
            labels,
            value: er.value,
            timestamp_ms: er.timestamp_ms,
        };
        // The newest accepted one of this batch stands in for the buffer's newest.
        let verdict = match p.exemplars[first_of_series..].last() {
            Some((_, newest)) => crate::exemplars::check_label_length(&e.labels)
                .and_then(|()| crate::exemplars::validate_against(newest, &e)),
            None => buf.validate(series, &e),
        };
        match verdict {
            Ok(Added::Stored) => p.exemplars.push((series.clone(), e)),
            Ok(Added::Duplicate) => {}
            Err(r) => outcome.exemplars_rejected_by_reason[r.index()] += 1,
        }
    }
}
