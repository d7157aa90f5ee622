//! The WAL writer: one thread that owns the open segment and commits in groups.
//!
//! Appenders send their encoded records over a bounded channel and wait for the answer;
//! when the channel is full the sender waits (back-pressure reaches the HTTP handler, which
//! holds the request open). The thread takes every request queued at that moment, writes them
//! in order and issues one `fdatasync`, then answers all of them: the fsync is shared by all
//! the appends that queued while the previous one ran. Large payloads (a log push is
//! megabytes) go to the file as they came, never copied into the group's buffer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use cairn_model::TenantId;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use super::{record, segment_name, sync_dir};
use crate::error::{Error, Result};
use crate::head::MemSeries;
use crate::metrics::WalMetrics;

/// Most bytes gathered into one group commit.
const MAX_GROUP_BYTES: usize = 8 << 20;
/// Payloads at least this large are written from their own buffer instead of being copied
/// into the group's.
const OWN_BUFFER_BYTES: usize = 64 << 10;

/// The bytes of one group commit, in order: small records gathered in `tail`, large payloads
/// kept as they came.
#[derive(Default)]
struct Group {
    parts: Vec<Vec<u8>>,
    tail: Vec<u8>,
    len: usize,
}

impl Group {
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Closes the small-record buffer so that what follows comes after it.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            self.parts.push(std::mem::take(&mut self.tail));
        }
    }

    fn push(&mut self, payload: Vec<u8>) {
        self.len += payload.len();
        if payload.len() < OWN_BUFFER_BYTES {
            self.tail.extend_from_slice(&payload);
        } else {
            self.seal_tail();
            self.parts.push(payload);
        }
    }

    /// Writes the first `limit` bytes, in order.
    fn write_to(&mut self, f: &mut File, limit: usize) -> std::io::Result<()> {
        self.seal_tail();
        let mut left = limit;
        for p in &self.parts {
            let n = p.len().min(left);
            f.write_all(&p[..n])?;
            left -= n;
            if left == 0 {
                break;
            }
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.parts.clear();
        self.tail.clear();
        self.len = 0;
    }
}

/// Where and how the WAL writes.
#[derive(Clone, Debug)]
pub(crate) struct WalOptions {
    /// The WAL directory.
    pub(crate) dir: PathBuf,
    /// A segment is closed once it holds this many bytes.
    pub(crate) segment_bytes: u64,
    /// Requests queued before senders wait.
    pub(crate) queue: usize,
}

type Reply<T> = oneshot::Sender<std::result::Result<T, String>>;

/// What the WAL logs of a series (metrics) or stream (logs) before the first record that
/// refers to it in a segment: its reference and canonical label bytes.
pub(crate) trait WalSeries: Send + Sync + 'static {
    /// The reference records use.
    fn wal_ref(&self) -> u64;
    /// Canonical label bytes.
    fn wal_labels(&self) -> &[u8];
    /// The segment that last logged it (0: none); only the writer thread touches it.
    fn logged_segment(&self) -> &AtomicU32;
}

impl WalSeries for MemSeries {
    fn wal_ref(&self) -> u64 {
        self.sref
    }

    fn wal_labels(&self) -> &[u8] {
        self.labels.encoded()
    }

    fn logged_segment(&self) -> &AtomicU32 {
        &self.logged_segment
    }
}

enum Req<S> {
    Append {
        tenant: TenantId,
        series: Vec<Arc<S>>,
        payload: Vec<u8>,
        done: Reply<()>,
    },
    Rotate(Reply<u32>),
    RemoveBefore(u32, Reply<usize>),
    Close(Reply<()>),
}

/// The handle to the WAL writer thread; `S` is what its series records describe.
pub(crate) struct WalHandle<S: WalSeries = MemSeries> {
    tx: mpsc::Sender<Req<S>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    fsyncs: Arc<AtomicU64>,
    /// Fault injection for tests: the next this many writes fail halfway.
    #[cfg(test)]
    fail_writes: Arc<AtomicU32>,
}

impl<S: WalSeries> WalHandle<S> {
    /// Starts the writer on a new segment numbered `first_segment`; `existing` segments are
    /// already on disk.
    pub(crate) fn start(
        opts: WalOptions,
        first_segment: u32,
        existing: usize,
        metrics: WalMetrics,
    ) -> Result<Self> {
        std::fs::create_dir_all(&opts.dir).map_err(|source| Error::Io {
            path: opts.dir.display().to_string(),
            source,
        })?;
        let fsyncs = Arc::new(AtomicU64::new(0));
        let fail_writes = Arc::new(AtomicU32::new(0));
        metrics.segments.set(existing as i64);
        let mut w = Writer::<S> {
            dir: opts.dir.clone(),
            segment_bytes: opts.segment_bytes.max(1),
            seg: first_segment.saturating_sub(1),
            file: None,
            size: 0,
            metrics,
            fsyncs: Arc::clone(&fsyncs),
            fail_writes: Arc::clone(&fail_writes),
            _series: std::marker::PhantomData,
        };
        w.open_next().map_err(|reason| Error::Wal {
            segment: opts.dir.display().to_string(),
            reason,
        })?;
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let thread = std::thread::Builder::new()
            .name("cairn-wal".into())
            .spawn(move || w.run(rx))
            .map_err(|source| Error::Io {
                path: opts.dir.display().to_string(),
                source,
            })?;
        Ok(WalHandle {
            tx,
            thread: Mutex::new(Some(thread)),
            fsyncs,
            #[cfg(test)]
            fail_writes,
        })
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Req<S>) -> Result<T> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(make(done))
            .await
            .map_err(|_| Error::Shutdown)?;
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(reason)) => Err(Error::Wal {
                segment: "current".into(),
                reason,
            }),
            Err(_) => Err(Error::Shutdown),
        }
    }

    /// Writes `payload` (framed records of `tenant`), preceded by the records of the `series`
    /// not yet logged in the current segment; returns once fsynced.
    pub(crate) async fn append(
        &self,
        tenant: TenantId,
        series: Vec<Arc<S>>,
        payload: Vec<u8>,
    ) -> Result<()> {
        self.call(|done| Req::Append {
            tenant,
            series,
            payload,
            done,
        })
        .await
    }

    /// Closes the current segment and starts the next; returns the new segment's number.
    pub(crate) async fn rotate(&self) -> Result<u32> {
        self.call(Req::Rotate).await
    }

    /// Deletes the segments numbered below `seg`; returns how many.
    pub(crate) async fn remove_before(&self, seg: u32) -> Result<usize> {
        self.call(|done| Req::RemoveBefore(seg, done)).await
    }

    /// Syncs and stops the writer; later calls fail with [`Error::Shutdown`].
    pub(crate) async fn close(&self) -> Result<()> {
        let r = self.call(Req::Close).await;
        let thread = self.thread.lock().take();
        if let Some(t) = thread {
            // The thread has answered Close and is returning; joining cannot block for long.
            tokio::task::spawn_blocking(move || t.join()).await.ok();
        }
        tracing::info!(fsyncs = self.fsyncs(), "wal closed");
        match r {
            Err(Error::Shutdown) => Ok(()),
            other => other,
        }
    }

    /// Makes the next `n` group commits fail after writing half their bytes.
    #[cfg(test)]
    pub(crate) fn fail_next_writes(&self, n: u32) {
        self.fail_writes.store(n, Ordering::Release);
    }

    /// Number of fdatasync calls so far.
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

struct Writer<S> {
    dir: PathBuf,
    segment_bytes: u64,
    seg: u32,
    file: Option<File>,
    size: u64,
    metrics: WalMetrics,
    fsyncs: Arc<AtomicU64>,
    fail_writes: Arc<AtomicU32>,
    _series: std::marker::PhantomData<fn() -> S>,
}

impl<S: WalSeries> Writer<S> {
    fn run(mut self, mut rx: mpsc::Receiver<Req<S>>) {
        let mut buf = Group::default();
        let mut waiters: Vec<Reply<()>> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(req) = next.take() {
                match req {
                    Req::Append {
                        tenant,
                        series,
                        payload,
                        done,
                    } => {
                        self.add(&mut buf, &tenant, &series, payload);
                        waiters.push(done);
                    }
                    Req::Rotate(done) => {
                        self.commit(&mut buf, &mut waiters);
                        let r = self.open_next().map(|()| self.seg);
                        done.send(r).ok();
                    }
                    Req::RemoveBefore(seg, done) => {
                        self.commit(&mut buf, &mut waiters);
                        done.send(self.remove_before(seg)).ok();
                    }
                    Req::Close(done) => {
                        self.commit(&mut buf, &mut waiters);
                        let r = match &self.file {
                            Some(f) => f.sync_all().map_err(|e| e.to_string()),
                            None => Ok(()),
                        };
                        done.send(r).ok();
                        return;
                    }
                }
                if buf.len < MAX_GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            self.commit(&mut buf, &mut waiters);
        }
        // Every handle is gone (the storage was dropped without shutdown): what was answered
        // is already synced.
    }

    fn add(&mut self, buf: &mut Group, tenant: &TenantId, series: &[Arc<S>], payload: Vec<u8>) {
        let seg = self.seg;
        // `swap` also skips a series listed twice.
        let fresh: Vec<&Arc<S>> = series
            .iter()
            .filter(|s| s.logged_segment().swap(seg, Ordering::Relaxed) != seg)
            .collect();
        if !fresh.is_empty() {
            let before = buf.tail.len();
            record::encode_series(
                &mut buf.tail,
                tenant,
                fresh.iter().map(|s| (s.wal_ref(), s.wal_labels())),
            );
            buf.len += buf.tail.len() - before;
        }
        buf.push(payload);
    }

    /// Writes and syncs `buf`, then answers the waiters.
    fn commit(&mut self, buf: &mut Group, waiters: &mut Vec<Reply<()>>) {
        if buf.is_empty() && waiters.is_empty() {
            return;
        }
        let r = self.write_sync(buf);
        buf.clear();
        for w in waiters.drain(..) {
            w.send(r.clone()).ok();
        }
        if r.is_ok()
            && self.size >= self.segment_bytes
            && let Err(e) = self.open_next()
        {
            tracing::error!(error = %e, "cannot start a new wal segment");
        }
    }

    fn write_sync(&mut self, buf: &mut Group) -> std::result::Result<(), String> {
        if self.file.is_none() {
            self.open_next()?;
        }
        let Some(f) = self.file.as_mut() else {
            return Err("no open wal segment".into());
        };
        let start = Instant::now();
        let inject = self
            .fail_writes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        let r = if inject {
            buf.write_to(f, buf.len / 2)
                .and_then(|()| Err(std::io::Error::other("injected write failure")))
        } else {
            buf.write_to(f, buf.len).and_then(|()| f.sync_data())
        };
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.metrics.fsync.observe(start.elapsed().as_secs_f64());
        match r {
            Ok(()) => {
                self.size += buf.len as u64;
                self.metrics.bytes.inc_by(buf.len as u64);
                Ok(())
            }
            Err(e) => {
                let name = segment_name(self.seg);
                tracing::error!(segment = %name, error = %e, "wal write failed; starting a new segment");
                // Cut what may have been half written so that this segment stays readable,
                // and continue in a fresh one (whose series records are logged again).
                if let Some(f) = self.file.take() {
                    f.set_len(self.size).ok();
                    f.sync_all().ok();
                }
                Err(format!("segment {name}: {e}"))
            }
        }
    }

    fn open_next(&mut self) -> std::result::Result<(), String> {
        let next = self.seg + 1;
        let path = self.dir.join(segment_name(next));
        let f = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        sync_dir(&self.dir).map_err(|e| e.to_string())?;
        if let Some(old) = self.file.take() {
            old.sync_all().ok();
        }
        self.file = Some(f);
        self.seg = next;
        self.size = 0;
        self.metrics.segments.inc();
        tracing::debug!(segment = next, "wal segment started");
        Ok(())
    }

    fn remove_before(&mut self, seg: u32) -> std::result::Result<usize, String> {
        let segs = super::list_segments(&self.dir).map_err(|e| e.to_string())?;
        let mut n = 0;
        for s in segs.into_iter().filter(|&s| s < seg && s != self.seg) {
            let path = self.dir.join(segment_name(s));
            std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
            self.metrics.segments.dec();
            n += 1;
        }
        sync_dir(&self.dir).map_err(|e| e.to_string())?;
        Ok(n)
    }
}
