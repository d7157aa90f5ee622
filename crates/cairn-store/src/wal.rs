//! The write-ahead log: one implementation, one instance per signal (metrics in
//! `<data_dir>/wal/`, logs in `<data_dir>/wal-logs/`), each for all tenants, as numbered segment files
//! (`00000001`, `00000002`, ...) of framed, checksummed records (see [`record`]).
//!
//! Every segment is self-contained: a series' record is logged the first time the series
//! appears in it, so segments older than a checkpoint can be deleted whole. On replay a bad
//! record in the last segment is a torn write and the file is cut there; anywhere else it is
//! corruption and replay refuses to go on.

pub(crate) mod record;
mod writer;

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

pub(crate) use record::Record;
pub(crate) use writer::{WalHandle, WalOptions, WalSeries};

use crate::error::{Error, Result};

/// The file name of segment `n`.
pub(crate) fn segment_name(n: u32) -> String {
    format!("{n:08}")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Io { path, source }
}

/// The segment numbers present in `dir`, ascending; other files are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 8
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = name.parse::<u32>()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Fsyncs a directory so that created and deleted entries survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// What a replay read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReplayStats {
    /// Segments read.
    pub(crate) segments: usize,
    /// Records read.
    pub(crate) records: u64,
    /// Bytes cut from a torn tail.
    pub(crate) torn_bytes: u64,
    /// The last segment number (0 when none).
    pub(crate) last_segment: u32,
}

/// Reads every segment of `dir` in order and hands each record to `apply`.
pub(crate) fn replay(
    dir: &Path,
    mut apply: impl FnMut(Record) -> Result<()>,
) -> Result<ReplayStats> {
    let segments = list_segments(dir)?;
    let mut stats = ReplayStats::default();
    for (i, &n) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let path = dir.join(segment_name(n));
        read_segment(&path, is_last, &mut stats, &mut apply)?;
        stats.segments += 1;
        stats.last_segment = n;
    }
    Ok(stats)
}

fn read_segment(
    path: &Path,
    is_last: bool,
    stats: &mut ReplayStats,
    apply: &mut impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let data = fs::read(path).map_err(io_err(path))?;
    let mut off = 0usize;
    while off < data.len() {
        let bad = match frame_at(&data, off) {
            Ok((ty, payload)) => {
                let rec = record::decode(ty, payload).map_err(|reason| Error::WalCorrupt {
                    segment: path.display().to_string(),
                    offset: off as u64,
                    reason,
                })?;
                apply(rec)?;
                stats.records += 1;
                off += record::HEADER_LEN + payload.len();
                continue;
            }
            Err(reason) => reason,
        };
        if !is_last {
            return Err(Error::WalCorrupt {
                segment: path.display().to_string(),
                offset: off as u64,
                reason: bad,
            });
        }
        let cut = (data.len() - off) as u64;
        tracing::warn!(
            segment = %path.display(),
            offset = off,
            bytes = cut,
            reason = %bad,
            "torn write at the end of the wal, cutting it"
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(off as u64).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
        stats.torn_bytes += cut;
        break;
    }
    Ok(())
}

/// The record at `off`: its type and payload, or why it is unreadable.
fn frame_at(data: &[u8], off: usize) -> std::result::Result<(u8, &[u8]), String> {
    let rest = &data[off..];
    if rest.len() < record::HEADER_LEN {
        return Err(format!("truncated header ({} bytes)", rest.len()));
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > record::MAX_PAYLOAD {
        return Err(format!("record length {len} is implausible"));
    }
    if rest.len() < record::HEADER_LEN + len {
        return Err(format!(
            "truncated record ({} of {} payload bytes)",
            rest.len() - record::HEADER_LEN,
            len
        ));
    }
    let body = &rest[8..record::HEADER_LEN + len];
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    Ok((body[0], &body[1..]))
}

/// The WAL directory under `data_dir`.
pub(crate) fn wal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("wal")
}

#[cfg(test)]
mod tests;
