//! `kill -9` at a random moment loses no acknowledged sample and duplicates none.
//!
//! Concurrent writers send remote write 1.0 batches of their own series with increasing
//! timestamps and remember what was answered 204. The server is SIGKILLed at a random moment
//! (optionally while flushes run), restarted on the same data directory, and the writers resend
//! the batch that was in flight, as Prometheus would. After three cycles everything is read back
//! through remote read and compared bit for bit. The seed is printed; `CAIRN_E2E_SEED` replays.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use support::{LabelSet, MatchType, Rng, STALE_NAN_BITS, TestServer, TimeSeries, http, labels};

const METRIC: &str = "crash_test_samples";
const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 6;
const SAMPLES_PER_BATCH: i64 = 4;
const CYCLES: usize = 3;

/// One writer's memory across kill/restart cycles.
struct Writer {
    id: usize,
    rng: Rng,
    next_ts: i64,
    /// The batch sent when the server died: resent first after the restart.
    pending: Option<Vec<TimeSeries>>,
    acked: Vec<TimeSeries>,
    /// Every sample ever sent, acknowledged or not, by series and timestamp.
    sent: HashMap<(LabelSet, i64), u64>,
    /// A 4xx or an unexpected status: the test fails with it.
    error: Option<String>,
    acked_this_cycle: usize,
}

impl Writer {
    fn series_labels(&self, s: usize) -> LabelSet {
        labels(&[
            ("__name__", METRIC),
            ("writer", &self.id.to_string()),
            ("series", &s.to_string()),
        ])
    }

    /// Values with awkward bits: the stale marker, -0.0, infinities, subnormals, plain floats.
    fn value(&mut self) -> f64 {
        match self.rng.range(0, 16) {
            0 => f64::from_bits(STALE_NAN_BITS),
            1 => -0.0,
            2 => {
                let v = f64::from_bits(self.rng.next_u64());
                if v.is_nan() { f64::NEG_INFINITY } else { v }
            }
            _ => (self.rng.next_u64() >> 11) as f64 / (1u64 << 40) as f64 - 1000.0,
        }
    }

    fn next_batch(&mut self) -> Vec<TimeSeries> {
        let t0 = self.next_ts;
        self.next_ts += SAMPLES_PER_BATCH;
        (0..SERIES_PER_WRITER)
            .map(|s| {
                let labels = self.series_labels(s);
                let samples: Vec<(i64, f64)> = (0..SAMPLES_PER_BATCH)
                    .map(|i| (t0 + i, self.value()))
                    .collect();
                for &(t, v) in &samples {
                    self.sent.insert((labels.clone(), t), v.to_bits());
                }
                TimeSeries { labels, samples }
            })
            .collect()
    }

    /// Writes until the server goes away or `stop` is set.
    fn run(&mut self, url: &str, stop: &AtomicBool) {
        self.acked_this_cycle = 0;
        while !stop.load(Ordering::Relaxed) {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => self.next_batch(),
            };
            match support::server::write_v1_to(url, &batch) {
                Ok(r) if r.status == 204 || r.status == 200 => {
                    self.acked.extend(batch);
                    self.acked_this_cycle += 1;
                }
                Ok(r) if r.status == 429 || r.status >= 500 => {
                    self.pending = Some(batch);
                    thread::sleep(Duration::from_millis(20));
                }
                Ok(r) => {
                    self.error = Some(format!(
                        "POST /api/v1/write (writer {}): expected 204, got {}: {}",
                        self.id,
                        r.status,
                        r.text()
                    ));
                    return;
                }
                Err(_) => {
                    // The server died mid-request: the batch is not acknowledged.
                    self.pending = Some(batch);
                    return;
                }
            }
        }
    }
}

fn crash_cycles(test: &str, flush_during_kill: bool) {
    let mut rng = Rng::from_env(test);
    // Writers keep their own clocks, so one writes behind another's newest sample; a flush
    // cuts the head at the newest sample, and only the out-of-order window lets the slower
    // writers' samples in after it (as Prometheus' ingesters need too).
    let mut server = TestServer::builder()
        .config("storage:\n  out_of_order_window: 1h\n")
        .start();
    let start_ts = support::now_ms() - 120_000;
    let mut writers: Vec<Writer> = (0..WRITERS)
        .map(|id| Writer {
            id,
            rng: rng.fork(),
            next_ts: start_ts,
            pending: None,
            acked: Vec::new(),
            sent: HashMap::new(),
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
            "{test}: cycle {cycle}: no write was acknowledged in {delay:?}, the test proves nothing"
        );
        server.restart();
    }
    // One more round of resends, so that in-flight batches of the last cycle are written
    // twice (once maybe before the kill, once now): duplicates must collapse.
    for w in &mut writers {
        if let Some(batch) = w.pending.take() {
            let r = server.write_v1(&batch).expect("resend the in-flight batch");
            assert_eq!(r.status, 204, "resending an in-flight batch: {}", r.text());
            w.acked.extend(batch);
        }
    }

    verify(&server, &writers, start_ts);
}

fn verify(server: &TestServer, writers: &[Writer], start_ts: i64) {
    let end = writers.iter().map(|w| w.next_ts).max().unwrap_or(start_ts);
    let got = server.read(
        start_ts - 1,
        end + 1,
        &[(MatchType::Eq, "__name__", METRIC)],
    );
    let mut stored: BTreeMap<LabelSet, BTreeMap<i64, u64>> = BTreeMap::new();
    for s in got {
        let series = stored.entry(s.labels.clone()).or_default();
        for (t, v) in s.samples {
            if let Some(old) = series.insert(t, v.to_bits()) {
                panic!(
                    "remote read returned {:?} at t={t} twice (bits {old:#x} and {:#x})",
                    s.labels,
                    v.to_bits()
                );
            }
        }
    }
    let mut acked_samples = 0usize;
    for w in writers {
        for s in &w.acked {
            let series = stored.get(&s.labels);
            for &(t, v) in &s.samples {
                acked_samples += 1;
                let found = series.and_then(|m| m.get(&t));
                assert_eq!(
                    found,
                    Some(&v.to_bits()),
                    "acknowledged sample {:?} t={t} bits {:#x}: remote read returned {:?}",
                    s.labels,
                    v.to_bits(),
                    found.map(|b| format!("{b:#x}"))
                );
            }
        }
    }
    // Nothing may appear that was never sent (a torn WAL record misread as data).
    let sent: HashMap<&(LabelSet, i64), &u64> = writers.iter().flat_map(|w| &w.sent).collect();
    for (labels, samples) in &stored {
        for (&t, bits) in samples {
            let key = (labels.clone(), t);
            assert_eq!(
                sent.get(&key).copied(),
                Some(bits),
                "remote read returned {labels:?} t={t} bits {bits:#x}, which was never sent"
            );
        }
    }
    eprintln!("verified {acked_samples} acknowledged samples");
}

#[test]
fn kill9_loses_no_acknowledged_sample() {
    crash_cycles("kill9_loses_no_acknowledged_sample", false);
}

#[test]
fn kill9_during_flush_loses_no_acknowledged_sample() {
    crash_cycles("kill9_during_flush_loses_no_acknowledged_sample", true);
}
