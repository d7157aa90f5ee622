//! WAL tests: round trip, torn tails, corruption, group commit.

use std::path::Path;
use std::sync::Arc;

use cairn_model::{Labels, TenantId};

use super::record::{SamplesEncoder, encode_series};
use super::*;
use crate::head::MemSeries;
use crate::metrics::StoreMetrics;

fn tenant() -> TenantId {
    TenantId::new("t1").unwrap()
}

fn series(r: u64, name: &str) -> Arc<MemSeries> {
    Arc::new(MemSeries::new(
        r,
        Labels::from_pairs([("__name__", name), ("job", "j")]).unwrap(),
    ))
}

fn samples_payload(r: u64, ts: &[i64]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut enc = SamplesEncoder::new(1000);
    for &t in ts {
        enc.push(&mut buf, &tenant(), r, t, (t as f64).to_bits());
    }
    enc.finish(&mut buf);
    buf
}

fn read_all(dir: &Path) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    replay(dir, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

fn start(dir: &Path, segment_bytes: u64) -> WalHandle {
    let first = list_segments(dir).unwrap().last().copied().unwrap_or(0) + 1;
    WalHandle::start(
        WalOptions {
            dir: dir.to_path_buf(),
            segment_bytes,
            queue: 64,
        },
        first,
        0,
        StoreMetrics::unregistered().wal(),
    )
    .unwrap()
}

#[tokio::test]
async fn round_trip_logs_each_series_once_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let wal = start(dir.path(), 1 << 20);
    let a = series(1, "a");
    let b = series(2, "b");
    wal.append(
        tenant(),
        vec![Arc::clone(&a)],
        samples_payload(1, &[10, 20]),
    )
    .await
    .unwrap();
    wal.append(
        tenant(),
        vec![Arc::clone(&a), Arc::clone(&b), Arc::clone(&b)],
        samples_payload(2, &[30]),
    )
    .await
    .unwrap();
    let seg = wal.rotate().await.unwrap();
    assert_eq!(seg, 2);
    wal.append(tenant(), vec![Arc::clone(&a)], samples_payload(1, &[40]))
        .await
        .unwrap();
    wal.close().await.unwrap();

    let got = read_all(dir.path()).unwrap();
    let t = tenant();
    let want = vec![
        Record::Series {
            tenant: t.clone(),
            series: vec![(1, a.labels.clone())],
        },
        Record::Samples {
            tenant: t.clone(),
            samples: vec![(1, 10, 10f64.to_bits()), (1, 20, 20f64.to_bits())],
        },
        Record::Series {
            tenant: t.clone(),
            series: vec![(2, b.labels.clone())],
        },
        Record::Samples {
            tenant: t.clone(),
            samples: vec![(2, 30, 30f64.to_bits())],
        },
        // The new segment logs series `a` again.
        Record::Series {
            tenant: t.clone(),
            series: vec![(1, a.labels.clone())],
        },
        Record::Samples {
            tenant: t,
            samples: vec![(1, 40, 40f64.to_bits())],
        },
    ];
    assert_eq!(got, want);
    assert_eq!(list_segments(dir.path()).unwrap(), vec![1, 2]);

    // A reopened writer continues in a new segment; removal keeps the later ones.
    let wal = start(dir.path(), 1 << 20);
    assert_eq!(wal.remove_before(2).await.unwrap(), 1);
    wal.close().await.unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![2, 3]);
}

#[tokio::test]
async fn segments_roll_at_size() {
    let dir = tempfile::tempdir().unwrap();
    let wal = start(dir.path(), 4096);
    let a = series(1, "a");
    for i in 0..100 {
        let ts: Vec<i64> = (0..50).map(|j| i * 50 + j).collect();
        wal.append(tenant(), vec![Arc::clone(&a)], samples_payload(1, &ts))
            .await
            .unwrap();
    }
    wal.close().await.unwrap();
    let segs = list_segments(dir.path()).unwrap();
    assert!(segs.len() > 5, "{segs:?}");
    // Every segment starts with the series record, so each can be read alone.
    let mut total = 0;
    for s in segs {
        let data = std::fs::read(dir.path().join(segment_name(s))).unwrap();
        let (ty, _) = frame_at(&data, 0).unwrap();
        assert_eq!(ty, record::TYPE_SERIES);
        let one = tempfile::tempdir().unwrap();
        std::fs::write(one.path().join(segment_name(1)), &data).unwrap();
        for r in read_all(one.path()).unwrap() {
            if let Record::Samples { samples, .. } = r {
                total += samples.len();
            }
        }
    }
    assert_eq!(total, 5000);
}

/// Three records in one segment; returns the file bytes and the start of the last record.
fn three_records() -> (Vec<u8>, usize, Vec<Record>) {
    let labels = Labels::from_pairs([("__name__", "x")]).unwrap();
    let mut buf = Vec::new();
    encode_series(&mut buf, &tenant(), [(1u64, labels.encoded())].into_iter());
    buf.extend(samples_payload(1, &[1, 2, 3]));
    let last = buf.len();
    buf.extend(samples_payload(1, &[4, 5]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(segment_name(1)), &buf).unwrap();
    let recs = read_all(dir.path()).unwrap();
    assert_eq!(recs.len(), 3);
    (buf, last, recs)
}

#[test]
fn torn_tail_is_cut_at_every_offset() {
    let (buf, last, recs) = three_records();
    for cut in last..buf.len() {
        let dir = tempfile::tempdir().unwrap();
        // An older, intact segment first: only the last one may be torn.
        std::fs::write(dir.path().join(segment_name(1)), &buf).unwrap();
        let path = dir.path().join(segment_name(2));
        std::fs::write(&path, &buf[..cut]).unwrap();
        let got = read_all(dir.path()).unwrap();
        assert_eq!(got.len(), 5, "cut at {cut}");
        assert_eq!(got[..3], recs[..]);
        assert_eq!(got[3..], recs[..2], "cut at {cut}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            last as u64,
            "cut at {cut}"
        );
        // Replaying again finds a clean file.
        assert_eq!(read_all(dir.path()).unwrap().len(), 5);
    }
}

#[test]
fn bad_checksum_at_the_tail_is_a_torn_write() {
    let (mut buf, last, recs) = three_records();
    let n = buf.len();
    buf[n - 1] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(segment_name(7)), &buf).unwrap();
    assert_eq!(read_all(dir.path()).unwrap(), recs[..2]);
    let len = std::fs::metadata(dir.path().join(segment_name(7)))
        .unwrap()
        .len();
    assert_eq!(len, last as u64);
}

#[test]
fn corruption_in_an_older_segment_is_an_error() {
    let (mut buf, last, _) = three_records();
    let dir = tempfile::tempdir().unwrap();
    // Damage the payload of the third record of segment 1.
    buf[last + record::HEADER_LEN + 2] ^= 0x01;
    std::fs::write(dir.path().join(segment_name(1)), &buf).unwrap();
    std::fs::write(dir.path().join(segment_name(2)), b"").unwrap();
    let err = read_all(dir.path()).unwrap_err();
    match &err {
        Error::WalCorrupt {
            segment, offset, ..
        } => {
            assert!(segment.ends_with("00000001"), "{segment}");
            assert_eq!(*offset, last as u64);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("00000001") && msg.contains(&last.to_string()),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_shares_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(start(dir.path(), 128 << 20));
    let appends = 400u64;
    let mut tasks = Vec::new();
    for i in 0..appends {
        let wal = Arc::clone(&wal);
        tasks.push(tokio::spawn(async move {
            let s = series(i + 1, &format!("m{i}"));
            wal.append(tenant(), vec![s], samples_payload(i + 1, &[i as i64]))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let fsyncs = wal.fsyncs();
    wal.close().await.unwrap();
    println!("{appends} concurrent appends, {fsyncs} fsyncs");
    assert!(fsyncs < appends, "{fsyncs} fsyncs for {appends} appends");
    let samples: usize = read_all(dir.path())
        .unwrap()
        .into_iter()
        .map(|r| match r {
            Record::Samples { samples, .. } => samples.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(samples as u64, appends);
}
