//! `kill -9` at a random moment loses no acknowledged log entry and stores none twice.
//!
//! Concurrent writers push Loki push API batches (JSON) of their own streams with increasing
//! nanosecond timestamps and remember what was answered 204. The server is SIGKILLed at a
//! random moment (optionally while flushes run), restarted on the same data directory, and
//! the writers resend the batch that was in flight, as Promtail would. After three cycles the
//! server is stopped and its data directory is read through the log store itself
//! (`LogQuerier::select_logs`): every acknowledged entry exactly once, nothing never sent.
//! The seed is printed; `CAIRN_E2E_SEED` replays.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use cairn_model::{Direction, LogQuerier, LogSelectRequest, Matcher, TenantId};
use cairn_store::{
    BlockCache, LogStore, LogStoreConfig, ObjectStoreConfig, StoreConfig, build_object_store,
};
use support::{Rng, TestServer, http};

const WRITERS: usize = 4;
const ENTRIES_PER_BATCH: i64 = 25;
const CYCLES: usize = 3;

/// An entry as the test knows it: (writer, timestamp, line).
type Entry = (usize, i64, String);

struct Writer {
    id: usize,
    rng: Rng,
    next_ts: i64,
    seq: u64,
    pending: Option<Vec<Entry>>,
    acked: Vec<Entry>,
    sent: BTreeSet<Entry>,
    error: Option<String>,
    acked_this_cycle: usize,
}

impl Writer {
    fn next_batch(&mut self) -> Vec<Entry> {
        let mut out = Vec::new();
        for _ in 0..ENTRIES_PER_BATCH {
            // Now and then two entries share a timestamp: both are kept.
            if self.rng.range(0, 8) != 0 {
                self.next_ts += 1 + self.rng.range(0, 1_000_000) as i64;
            }
            self.seq += 1;
            let e = (
                self.id,
                self.next_ts,
                format!(
                    "writer={} seq={} payload={:x} \u{e9}t\u{e9}",
                    self.id,
                    self.seq,
                    self.rng.next_u64()
                ),
            );
            self.sent.insert(e.clone());
            out.push(e);
        }
        out
    }

    fn body(batch: &[Entry]) -> Vec<u8> {
        let values: Vec<serde_json::Value> = batch
            .iter()
            .map(|(_, t, l)| serde_json::json!([t.to_string(), l]))
            .collect();
        let id = batch.first().map_or(0, |e| e.0);
        serde_json::to_vec(&serde_json::json!({
            "streams": [{
                "stream": {"job": "crash", "writer": id.to_string()},
                "values": values,
            }]
        }))
        .expect("encode push body")
    }

    fn run(&mut self, url: &str, stop: &AtomicBool) {
        self.acked_this_cycle = 0;
        while !stop.load(Ordering::Relaxed) {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => self.next_batch(),
            };
            let r = http::post(
                &format!("{url}/loki/api/v1/push"),
                &[("content-type", "application/json")],
                &Self::body(&batch),
            );
            match r {
                Ok(r) if r.status == 204 => {
                    self.acked.extend(batch);
                    self.acked_this_cycle += 1;
                }
                Ok(r) if r.status == 429 || r.status >= 500 => {
                    self.pending = Some(batch);
                    thread::sleep(Duration::from_millis(20));
                }
                Ok(r) => {
                    self.error = Some(format!(
                        "POST /loki/api/v1/push (writer {}): expected 204, got {}: {}",
                        self.id,
                        r.status,
                        r.text()
                    ));
                    return;
                }
                Err(_) => {
                    self.pending = Some(batch);
                    return;
                }
            }
        }
    }
}

fn now_ns() -> i64 {
    support::now_ms() * 1_000_000
}

fn crash_cycles(test: &str, flush_during_kill: bool) {
    let mut rng = Rng::from_env(test);
    let mut server = TestServer::start();
    let start_ts = now_ns() - 60_000_000_000;
    let mut writers: Vec<Writer> = (0..WRITERS)
        .map(|id| Writer {
            id,
            rng: rng.fork(),
            next_ts: start_ts,
            seq: 0,
            pending: None,
            acked: Vec::new(),
            sent: BTreeSet::new(),
            error: None,
            acked_this_cycle: 0,
        })
        .collect();
    for cycle in 0..CYCLES {
        let delay = Duration::from_millis(rng.range(300, 1500));
        eprintln!("{test}: cycle {cycle}: kill -9 after {delay:?}");
        let stop = Arc::new(AtomicBool::new(false));
        let url = server.url().to_string();
        let handles: Vec<_> = writers
            .drain(..)
            .map(|mut w| {
                let (url, stop) = (url.clone(), Arc::clone(&stop));
                thread::spawn(move || {
                    w.run(&url, &stop);
                    w
                })
            })
            .collect();
        let flusher = flush_during_kill.then(|| {
            let (url, stop) = (url.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut flushes = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    match http::post(&format!("{url}/api/v1/admin/flush"), &[], b"") {
                        Ok(r) if (200..300).contains(&r.status) => flushes += 1,
                        Ok(r) => panic!(
                            "POST /api/v1/admin/flush: expected 2xx, got {}: {}",
                            r.status,
                            r.text()
                        ),
                        Err(_) => break,
                    }
                }
                flushes
            })
        });
        thread::sleep(delay);
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            writers.push(h.join().expect("writer thread panicked"));
        }
        if let Some(f) = flusher {
            let n = f.join().expect("flusher thread panicked");
            eprintln!("{test}: cycle {cycle}: {n} flushes completed before the kill");
        }
        for w in &writers {
            if let Some(e) = &w.error {
                panic!("{test}: cycle {cycle}: {e}");
            }
        }
        let acked: usize = writers.iter().map(|w| w.acked_this_cycle).sum();
        eprintln!("{test}: cycle {cycle}: {acked} batches acknowledged");
        assert!(
            acked > 0,
            "{test}: cycle {cycle}: no push was acknowledged in {delay:?}, the test proves nothing"
        );
        server.restart();
    }
    // Resend what was in flight: entries maybe stored before the kill come again and must
    // not be stored twice.
    for w in &mut writers {
        if let Some(batch) = w.pending.take() {
            let r = http::post(
                &format!("{}/loki/api/v1/push", server.url()),
                &[("content-type", "application/json")],
                &Writer::body(&batch),
            )
            .expect("resend the in-flight batch");
            assert_eq!(r.status, 204, "resending an in-flight batch: {}", r.text());
            w.acked.extend(batch);
        }
    }
    // The streams are listed by the series API of the running server.
    let series = server.api_data(&format!(
        "/loki/api/v1/series?match[]={}&start={}&end={}",
        http::urlencode("{job=\"crash\"}"),
        start_ts - 1,
        now_ns() + 60_000_000_000
    ));
    assert_eq!(
        series.as_array().map(Vec::len),
        Some(WRITERS),
        "series: {series}"
    );
    let status = server.stop();
    assert!(status.success(), "cairn exited with {status}");
    verify(server.data_dir(), &writers, start_ts);
}

fn verify(data_dir: &std::path::Path, writers: &[Writer], start_ts: i64) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stored: Vec<Entry> = rt.block_on(async {
        let store = build_object_store(&ObjectStoreConfig::Local {
            path: data_dir.join("objects"),
        })
        .expect("object store");
        let logs = LogStore::open(
            LogStoreConfig::from_store(&StoreConfig::new(data_dir)),
            store,
            Arc::new(BlockCache::new(64 << 20)),
            &mut prometheus_client::registry::Registry::default(),
        )
        .await
        .expect("open the log store of the data directory");
        let req = LogSelectRequest {
            matchers: vec![Matcher::equal("job", "crash")],
            start_ns: start_ts - 1,
            end_ns: i64::MAX,
            direction: Direction::Forward,
            line_contains: vec![],
            with_metadata: false,
            max_streams: 0,
        };
        let tenant = TenantId::new(TenantId::DEFAULT).expect("tenant");
        let mut scan = logs.select_logs(&tenant, &req).await.expect("select");
        let mut out = Vec::new();
        while let Some(c) = scan.next_chunk().await.expect("chunk") {
            for e in &c.entries {
                let w: usize = c
                    .labels(e)
                    .get("writer")
                    .and_then(|w| w.parse().ok())
                    .expect("writer label");
                out.push((w, e.ts_ns, c.line(e).to_string()));
            }
        }
        logs.shutdown().await.expect("shutdown");
        out
    });
    let mut seen: BTreeMap<&Entry, usize> = BTreeMap::new();
    for e in &stored {
        *seen.entry(e).or_default() += 1;
    }
    let mut acked = 0usize;
    for w in writers {
        for e in &w.acked {
            acked += 1;
            assert_eq!(
                seen.get(e).copied(),
                Some(1),
                "acknowledged entry {e:?} read back {} times",
                seen.get(e).copied().unwrap_or(0)
            );
        }
    }
    let sent: BTreeSet<&Entry> = writers.iter().flat_map(|w| &w.sent).collect();
    for (e, n) in &seen {
        assert!(sent.contains(e), "read back {e:?}, which was never sent");
        assert_eq!(*n, 1, "{e:?} read back {n} times");
    }
    eprintln!(
        "verified {acked} acknowledged entries ({} stored)",
        stored.len()
    );
}

#[test]
fn kill9_loses_no_acknowledged_log_entry() {
    crash_cycles("kill9_loses_no_acknowledged_log_entry", false);
}

#[test]
fn kill9_during_flush_loses_no_acknowledged_log_entry() {
    crash_cycles("kill9_during_flush_loses_no_acknowledged_log_entry", true);
}
