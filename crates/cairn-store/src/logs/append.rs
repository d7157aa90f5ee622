//! The log append path: validate against the head (out-of-order window, repeats, stream
//! limit), log to the WAL (group commit), then apply to the head.

use std::sync::Arc;

use cairn_model::{LogBatch, LogEntry};

use super::LogStore;
use super::head::{LogStream, touch};
use crate::error::{Error, Result};
use crate::wal::record::encode_log_entries;

/// Why the store refused a log entry or stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogRejectReason {
    /// Older than its stream's newest entry minus the out-of-order window.
    TooFarBehind,
    /// A new stream past the tenant's stream limit.
    StreamLimit,
}

impl LogRejectReason {
    /// Loki's discard reason, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            LogRejectReason::TooFarBehind => "too_far_behind",
            LogRejectReason::StreamLimit => "stream_limit",
        }
    }
}

/// A refused entry, or a whole refused stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRejection {
    /// Index of the stream in the batch.
    pub stream: usize,
    /// Index of the entry in the stream; `None` for the whole stream.
    pub entry: Option<usize>,
    /// Why.
    pub reason: LogRejectReason,
    /// Loki's message for it.
    pub message: String,
}

/// What a log append did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogAppendOutcome {
    /// Entries made durable (repeats not counted).
    pub entries: u64,
    /// Entries equal (timestamp and line) to one the stream holds: accepted, not stored.
    pub duplicates: u64,
    /// Refused entries and streams, in batch order.
    pub refused: Vec<LogRejection>,
    /// Streams new to the head.
    pub streams_created: u64,
}

/// Go's `time.Time.String()` of a UTC nanosecond timestamp: `2006-01-02 15:04:05.999999999
/// +0000 UTC` (fraction without trailing zeros, absent when zero).
pub(crate) fn go_time_string(ts_ns: i64) -> String {
    let (date, frac) = civil(ts_ns);
    let mut s = date.replace('T', " ");
    if frac > 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

/// RFC 3339 to the second, as Go's `time.RFC3339` formats a UTC time.
pub(crate) fn rfc3339(ts_ns: i64) -> String {
    let (date, _) = civil(ts_ns);
    format!("{date}Z")
}

/// `YYYY-MM-DDTHH:MM:SS` and the nanoseconds of the second.
fn civil(ts_ns: i64) -> (String, i64) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let frac = ts_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        ),
        frac,
    )
}

fn too_far_behind(ts: i64, cutoff: i64) -> String {
    format!(
        "entry with timestamp {} ignored, reason: 'entry too far behind, entry timestamp is: {}, oldest acceptable timestamp is: {}'",
        go_time_string(ts),
        rfc3339(ts),
        rfc3339(cutoff)
    )
}

/// Appends `batch` (see [`LogStore::append`]).
pub(super) async fn append(
    store: &LogStore,
    tenant: &cairn_model::TenantId,
    batch: &LogBatch,
    max_streams: usize,
) -> Result<LogAppendOutcome> {
    let mut out = LogAppendOutcome::default();
    let gate = store.gate.read().await;
    if store.is_closed() {
        return Err(Error::Shutdown);
    }
    let th = store.head.tenant(tenant);
    let window = store.cfg.out_of_order_window_ns;
    // Accepted entries per stream, in first-seen order of the streams.
    let mut groups: Vec<(Arc<LogStream>, Vec<&LogEntry>)> = Vec::new();
    for (si, s) in batch.streams.iter().enumerate() {
        if s.entries.is_empty() {
            continue;
        }
        let got = th.get_or_create(
            &s.labels,
            || store.head.next_ref(),
            |n| max_streams == 0 || n < max_streams,
        );
        let Some((stream, created)) = got else {
            out.refused.push(LogRejection {
                stream: si,
                entry: None,
                reason: LogRejectReason::StreamLimit,
                message: format!(
                    "Maximum active stream limit exceeded when trying to create stream {}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '{tenant}'",
                    s.labels
                ),
            });
            continue;
        };
        out.streams_created += u64::from(created);
        let gi = match groups.iter().position(|(g, _)| Arc::ptr_eq(g, &stream)) {
            Some(i) => i,
            None => {
                groups.push((Arc::clone(&stream), Vec::new()));
                groups.len() - 1
            }
        };
        let mut d = stream.data.lock();
        for (ei, e) in s.entries.iter().enumerate() {
            if d.max_ts != i64::MIN && e.ts_ns < d.max_ts.saturating_sub(window) {
                let cutoff = d.max_ts.saturating_sub(window);
                out.refused.push(LogRejection {
                    stream: si,
                    entry: Some(ei),
                    reason: LogRejectReason::TooFarBehind,
                    message: too_far_behind(e.ts_ns, cutoff),
                });
                continue;
            }
            // Only an entry at or before the stream's newest can repeat one: in-order entries
            // (nearly all) cost no lookup. The batch's own accepted entries are checked first,
            // newest first, where a repeat of an in-order entry sits.
            if e.ts_ns <= d.max_ts
                && (groups[gi]
                    .1
                    .iter()
                    .rev()
                    .any(|x| x.ts_ns == e.ts_ns && x.line == e.line)
                    || d.contains(e.ts_ns, &e.line)?)
            {
                out.duplicates += 1;
                continue;
            }
            d.max_ts = d.max_ts.max(e.ts_ns);
            groups[gi].1.push(e);
        }
    }
    groups.retain(|(_, es)| !es.is_empty());
    if groups.is_empty() {
        drop(gate);
        count(store, &out, 0);
        return Ok(out);
    }
    let mut payload = Vec::with_capacity(
        groups
            .iter()
            .flat_map(|(_, es)| es.iter())
            .map(|e| e.size() + 16)
            .sum::<usize>()
            + 64,
    );
    // Records of at most 8 MiB, so a huge push does not make one huge frame.
    let mut start = 0;
    let flat: Vec<(u64, &LogEntry)> = groups
        .iter()
        .flat_map(|(s, es)| es.iter().map(move |e| (s.sref, *e)))
        .collect();
    while start < flat.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < flat.len() && (end == start || bytes < 8 << 20) {
            bytes += flat[end].1.size();
            end += 1;
        }
        encode_log_entries(&mut payload, tenant, flat[start..end].iter().copied());
        start = end;
    }
    let streams: Vec<Arc<LogStream>> = groups.iter().map(|(s, _)| Arc::clone(s)).collect();
    if let Err(e) = store.wal.append(tenant.clone(), streams, payload).await {
        tracing::warn!(tenant = %tenant, error = %e, "log append failed in the wal");
        return Err(e);
    }
    let mut sealed = Vec::new();
    let mut bytes = 0u64;
    for (s, es) in &groups {
        out.entries += es.len() as u64;
        let mut d = s.data.lock();
        let before = d.tail.raw_bytes;
        let c = d.push(es.iter().copied(), store.cfg.head_chunk_bytes)?;
        bytes += match &c {
            Some(c) => c.raw_bytes,
            None => d.tail.raw_bytes,
        }
        .saturating_sub(before);
        drop(d);
        sealed.extend(c);
        touch(s);
    }
    store.head.add_raw_bytes(bytes);
    store.note_append();
    drop(gate);
    if !sealed.is_empty() {
        tokio::task::spawn_blocking(move || {
            for c in sealed {
                c.compress();
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("head chunk compression panicked: {e}")))?;
    }
    count(store, &out, bytes);
    Ok(out)
}

fn count(store: &LogStore, out: &LogAppendOutcome, bytes: u64) {
    let m = &store.metrics;
    m.appended.inc_by(out.entries);
    m.appended_bytes.inc_by(bytes);
    m.duplicates.inc_by(out.duplicates);
    for r in &out.refused {
        m.refused
            .get_or_create(&[("reason", r.reason.as_str())])
            .inc();
    }
    m.head_bytes.set(store.head.raw_bytes() as i64);
    if out.streams_created > 0 {
        m.head_streams.set(store.head.num_streams() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_go_prints_them() {
        // 2022-10-10T13:25:44Z
        let t = 1_665_408_344_000_000_000;
        assert_eq!(go_time_string(t), "2022-10-10 13:25:44 +0000 UTC");
        assert_eq!(
            go_time_string(t + 854_444_845),
            "2022-10-10 13:25:44.854444845 +0000 UTC"
        );
        assert_eq!(
            go_time_string(t + 500_000_000),
            "2022-10-10 13:25:44.5 +0000 UTC"
        );
        assert_eq!(rfc3339(t + 854_444_845), "2022-10-10T13:25:44Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }
}
