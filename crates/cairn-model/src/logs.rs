//! Logs: the streams and entries that the log decoders produce and the store keeps, and the
//! read interface ([`LogQuerier`]) that LogQL, the Loki API and the log rules consume.
//!
//! A stream is a label set (Loki's "indexed labels"); an entry is a nanosecond timestamp, a
//! line of UTF-8 text and optional structured metadata (name/value pairs kept beside the line,
//! not indexed). Within one stream, entries equal in timestamp and line are the same entry:
//! the store keeps one, and reads never return it twice.

use async_trait::async_trait;

use crate::{Labels, Matcher, QueryError, TenantId};

/// One log entry of a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogEntry {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The line, UTF-8 (decoders replace invalid bytes with U+FFFD).
    pub line: String,
    /// Structured metadata: name/value pairs in the order given, names unique and non-empty.
    pub metadata: Vec<(String, String)>,
}

impl LogEntry {
    /// An entry without structured metadata.
    pub fn new(ts_ns: i64, line: impl Into<String>) -> Self {
        LogEntry {
            ts_ns,
            line: line.into(),
            metadata: Vec::new(),
        }
    }

    /// Bytes this entry counts for in limits and statistics: the line plus the names and
    /// values of its structured metadata (Loki counts the same).
    pub fn size(&self) -> usize {
        self.line.len()
            + self
                .metadata
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }
}

/// The entries of one stream in a write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStream {
    /// The stream's labels.
    pub labels: Labels,
    /// Its entries, in the order they arrived (not necessarily sorted).
    pub entries: Vec<LogEntry>,
}

/// What one ingest request carries: streams with their entries. A stream's labels may
/// appear more than once; the store treats them as one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogBatch {
    /// The streams.
    pub streams: Vec<LogStream>,
}

impl LogBatch {
    /// Number of entries over all streams.
    pub fn num_entries(&self) -> usize {
        self.streams.iter().map(|s| s.entries.len()).sum()
    }

    /// Bytes over all entries ([`LogEntry::size`]).
    pub fn num_bytes(&self) -> usize {
        self.streams
            .iter()
            .flat_map(|s| s.entries.iter())
            .map(LogEntry::size)
            .sum()
    }
}

/// The order in which a log query wants entries: oldest first or newest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first (Loki's default).
    #[default]
    Backward,
}

impl Direction {
    /// Loki's parameter value (`forward`, `backward`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// Select the entries of the streams matching all `matchers` with `start_ns <= ts < end_ns`.
#[derive(Clone, Debug)]
pub struct LogSelectRequest {
    /// All must match the stream labels.
    pub matchers: Vec<Matcher>,
    /// First nanosecond, inclusive.
    pub start_ns: i64,
    /// Last nanosecond, exclusive (Loki's `[start, end)`).
    pub end_ns: i64,
    /// The order in which the scan hands out its chunks.
    pub direction: Direction,
    /// Substrings (case-sensitive, non-empty) that every line the caller keeps contains. A
    /// hint: the store may use it to skip data and to leave out lines lacking one of them,
    /// and the caller still applies its own filters.
    pub line_contains: Vec<String>,
    /// Whether the caller reads structured metadata; when false the store may leave it out.
    pub with_metadata: bool,
    /// Refuse with [`crate::QueryErrorKind::LimitExceeded`] past this many matching streams
    /// (0: no limit).
    pub max_streams: usize,
}

/// One entry of a [`LogChunk`], pointing into the chunk's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkEntry {
    /// Index into [`LogChunk::streams`].
    pub stream: u32,
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Byte range of the line in [`LogChunk::lines`].
    pub line: (u32, u32),
    /// Range of its structured metadata in [`LogChunk::metadata`].
    pub metadata: (u32, u32),
}

/// A slice of a log scan: every selected entry with a timestamp in `[min_ns, max_ns]`, over
/// all matching streams, in columnar buffers that avoid one allocation per line.
///
/// Invariants: entries are sorted by (stream, timestamp) ascending whatever the scan's
/// direction; streams are listed once each, sorted by labels; an entry equal to another in
/// stream, timestamp and line appears once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogChunk {
    /// First nanosecond covered, inclusive.
    pub min_ns: i64,
    /// Last nanosecond covered, inclusive.
    pub max_ns: i64,
    /// The streams the entries refer to.
    pub streams: Vec<Labels>,
    /// The entries.
    pub entries: Vec<ChunkEntry>,
    /// The lines, back to back.
    pub lines: String,
    /// Structured metadata of every entry, back to back.
    pub metadata: Vec<(String, String)>,
}

impl LogChunk {
    /// The line of `e`.
    pub fn line(&self, e: &ChunkEntry) -> &str {
        &self.lines[e.line.0 as usize..e.line.1 as usize]
    }

    /// The structured metadata of `e`.
    pub fn metadata(&self, e: &ChunkEntry) -> &[(String, String)] {
        &self.metadata[e.metadata.0 as usize..e.metadata.1 as usize]
    }

    /// The stream labels of `e`.
    pub fn labels(&self, e: &ChunkEntry) -> &Labels {
        &self.streams[e.stream as usize]
    }

    /// Appends an entry of stream index `stream` (already in [`LogChunk::streams`]); keeping
    /// the sort order is the caller's duty.
    pub fn push(&mut self, stream: u32, ts_ns: i64, line: &str, metadata: &[(String, String)]) {
        let l0 = self.lines.len() as u32;
        self.lines.push_str(line);
        let m0 = self.metadata.len() as u32;
        self.metadata.extend_from_slice(metadata);
        self.entries.push(ChunkEntry {
            stream,
            ts_ns,
            line: (l0, self.lines.len() as u32),
            metadata: (m0, self.metadata.len() as u32),
        });
    }
}

/// What a scan read, for Loki's `stats` object and for limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Entries read from the in-memory head.
    pub head_lines: u64,
    /// Line bytes read from the in-memory head.
    pub head_bytes: u64,
    /// Entries decoded from blocks.
    pub decompressed_lines: u64,
    /// Line bytes decoded from blocks.
    pub decompressed_bytes: u64,
    /// Compressed bytes read from blocks (object store or cache).
    pub compressed_bytes: u64,
    /// Block row groups (Loki's "chunks") that the time range and matchers selected.
    pub chunks_ref: u64,
    /// Of those, read.
    pub chunks_downloaded: u64,
    /// Of those, skipped by the line-filter index.
    pub chunks_skipped_by_index: u64,
    /// Entries dropped as duplicates.
    pub duplicates: u64,
    /// Nanoseconds spent fetching and decoding.
    pub fetch_ns: u64,
}

impl ScanStats {
    /// Adds `o` to these.
    pub fn add(&mut self, o: &ScanStats) {
        self.head_lines += o.head_lines;
        self.head_bytes += o.head_bytes;
        self.decompressed_lines += o.decompressed_lines;
        self.decompressed_bytes += o.decompressed_bytes;
        self.compressed_bytes += o.compressed_bytes;
        self.chunks_ref += o.chunks_ref;
        self.chunks_downloaded += o.chunks_downloaded;
        self.chunks_skipped_by_index += o.chunks_skipped_by_index;
        self.duplicates += o.duplicates;
        self.fetch_ns += o.fetch_ns;
    }
}

/// A running scan: its chunks come in the request's direction (forward: ascending
/// `min_ns`; backward: descending), never overlapping in time, so a caller that needs only
/// the first N entries in that order can stop early.
#[async_trait]
pub trait LogScan: Send {
    /// The next chunk, or `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<LogChunk>, QueryError>;

    /// What was read so far.
    fn stats(&self) -> ScanStats;
}

/// Streams (label sets) having entries in a time range and matching any of several
/// selectors.
#[derive(Clone, Debug)]
pub struct LogSeriesRequest {
    /// A stream qualifies when it matches every matcher of at least one selector; an empty
    /// list selects every stream.
    pub selectors: Vec<Vec<Matcher>>,
    /// First nanosecond, inclusive.
    pub start_ns: i64,
    /// Last nanosecond, exclusive.
    pub end_ns: i64,
}

/// Per-stream counts over a time range, optionally in buckets.
#[derive(Clone, Debug)]
pub struct LogStatsRequest {
    /// All must match the stream labels.
    pub matchers: Vec<Matcher>,
    /// First nanosecond, inclusive.
    pub start_ns: i64,
    /// Last nanosecond, exclusive.
    pub end_ns: i64,
    /// Bucket width; `None` for one bucket over the whole range. Buckets start at
    /// `start_ns + k * step`.
    pub step_ns: Option<i64>,
}

/// Counts of one stream (or one bucket of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Entries.
    pub entries: u64,
    /// Bytes ([`LogEntry::size`]).
    pub bytes: u64,
    /// Stored units holding them (head streams and block row groups): Loki's "chunks".
    pub chunks: u64,
}

impl LogCounts {
    /// Adds `o` to these.
    pub fn add(&mut self, o: LogCounts) {
        self.entries += o.entries;
        self.bytes += o.bytes;
        self.chunks += o.chunks;
    }
}

/// The counts of one stream over a [`LogStatsRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamCounts {
    /// The stream.
    pub labels: Labels,
    /// Per bucket: the bucket's start and its counts; buckets without entries are left out.
    /// Counts are as precise as the store's units: a unit partly inside the range counts in
    /// proportion to the part inside, rounded.
    pub buckets: Vec<(i64, LogCounts)>,
}

/// Read access to stored logs, implemented by the storage engine and by test fakes.
///
/// Answers see the in-memory head and the persisted blocks as one store: no entry twice, none
/// missing, during compaction too.
#[async_trait]
pub trait LogQuerier: Send + Sync {
    /// Starts a scan of the entries a request selects.
    async fn select_logs(
        &self,
        tenant: &TenantId,
        req: &LogSelectRequest,
    ) -> Result<Box<dyn LogScan>, QueryError>;

    /// Label sets of the streams a request selects, sorted and unique.
    async fn log_series(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<Labels>, QueryError>;

    /// Label names used by the selected streams, sorted and unique.
    async fn log_label_names(
        &self,
        tenant: &TenantId,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError>;

    /// Values of label `name` over the selected streams, sorted and unique.
    async fn log_label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        req: &LogSeriesRequest,
    ) -> Result<Vec<String>, QueryError>;

    /// Entry and byte counts per matching stream, sorted by labels.
    async fn log_stream_counts(
        &self,
        tenant: &TenantId,
        req: &LogStatsRequest,
    ) -> Result<Vec<StreamCounts>, QueryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_buffers_round_trip() {
        let mut c = LogChunk {
            streams: vec![Labels::from_pairs([("app", "a")]).unwrap()],
            ..LogChunk::default()
        };
        c.push(0, 5, "hello", &[("trace_id".into(), "abc".into())]);
        c.push(0, 6, "world", &[]);
        let e: Vec<_> = c.entries.clone();
        assert_eq!(c.line(&e[0]), "hello");
        assert_eq!(c.line(&e[1]), "world");
        assert_eq!(c.metadata(&e[0]), &[("trace_id".into(), "abc".into())]);
        assert!(c.metadata(&e[1]).is_empty());
        assert_eq!(c.labels(&e[1]).get("app"), Some("a"));
    }

    #[test]
    fn sizes_count_metadata() {
        let mut e = LogEntry::new(1, "abc");
        e.metadata.push(("k".into(), "vv".into()));
        assert_eq!(e.size(), 6);
        let b = LogBatch {
            streams: vec![LogStream {
                labels: Labels::empty(),
                entries: vec![e.clone(), e],
            }],
        };
        assert_eq!((b.num_entries(), b.num_bytes()), (2, 12));
    }
}
