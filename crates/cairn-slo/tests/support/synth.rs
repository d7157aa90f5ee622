//! Synthetic SLI data: counters of total and error events, and per-client gauges, driven by
//! a schedule of phases (fast burn, slow burn, burn below every threshold, recovery).
// Each test target uses a part of these helpers.
#![allow(dead_code)]

use cairn_model::{Labels, Sample, TenantId};
use cairn_promql::MemoryQuerier;

pub(crate) const MIN: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;

/// One phase: from `start_ms` on, `rps` requests per second of which `bad` is the error
/// fraction (for gauges: the fraction of clients in the bad state).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phase {
    pub(crate) start_ms: i64,
    pub(crate) rps: f64,
    pub(crate) bad: f64,
}

/// The phase in force at `t`.
pub(crate) fn phase_at(phases: &[Phase], t: i64) -> Phase {
    *phases
        .iter()
        .rev()
        .find(|p| p.start_ms <= t)
        .unwrap_or(&phases[0])
}

/// The schedule used for every SLO: `eb` is the error budget of the SLO the data is for, so
/// that phases burn it at known rates.
pub(crate) fn schedule(eb: f64) -> Vec<Phase> {
    let p = |start_ms: i64, rps: f64, burn: f64| Phase {
        start_ms,
        rps,
        bad: (burn * eb).min(1.0),
    };
    vec![
        // Below every threshold (0.5x) long enough to fill the 3d window.
        p(0, 20.0, 0.5),
        // Fast burn: 20x for 90 minutes pages, then recovery resolves it.
        p(3 * DAY, 20.0, 20.0),
        p(3 * DAY + 90 * MIN, 20.0, 0.2),
        // Slow burn: 2x for 30 hours opens a ticket (1x over 3d and 6h).
        p(3 * DAY + 12 * HOUR, 20.0, 2.0),
        // Recovery.
        p(4 * DAY + 18 * HOUR, 20.0, 0.0),
        // Burn just below the slowest threshold (0.9x).
        p(5 * DAY + 6 * HOUR, 20.0, 0.9),
    ]
}

/// Counters `<metric>{job, code}` with `code="200"` and `code="500"`, one sample per `step_ms`
/// from 0 to `end_ms`.
pub(crate) fn counters(
    q: &mut MemoryQuerier,
    tenant: &TenantId,
    metric: &str,
    job: &str,
    phases: &[Phase],
    step_ms: i64,
    end_ms: i64,
) {
    let (mut ok, mut bad) = (0.0f64, 0.0f64);
    let mut ok_s = Vec::new();
    let mut bad_s = Vec::new();
    let mut t = 0;
    while t <= end_ms {
        ok_s.push(Sample::new(t, ok));
        bad_s.push(Sample::new(t, bad));
        let ph = phase_at(phases, t);
        let n = ph.rps * step_ms as f64 / 1000.0;
        bad += n * ph.bad;
        ok += n * (1.0 - ph.bad);
        t += step_ms;
    }
    for (code, s) in [("200", ok_s), ("500", bad_s)] {
        let l = Labels::from_pairs([("__name__", metric), ("job", job), ("code", code)])
            .expect("valid labels");
        q.add(tenant, l, &s);
    }
}

/// `clients` gauges `<metric>{mac}` of the default tenant: the first `bad` fraction of them at `bad_value`, the
/// others at `good_value`.
pub(crate) fn gauges(
    q: &mut MemoryQuerier,
    metric: &str,
    clients: usize,
    (good_value, bad_value): (f64, f64),
    phases: &[Phase],
    step_ms: i64,
    end_ms: i64,
) {
    for c in 0..clients {
        let mac = format!("00:00:00:00:00:{c:02}");
        let mut s = Vec::new();
        let mut t = 0;
        while t <= end_ms {
            let ph = phase_at(phases, t);
            let n_bad = (ph.bad * clients as f64).round() as usize;
            s.push(Sample::new(
                t,
                if c < n_bad { bad_value } else { good_value },
            ));
            t += step_ms;
        }
        let l = Labels::from_pairs([("__name__", metric), ("mac", mac.as_str())])
            .expect("valid labels");
        q.add(&TenantId::default_tenant(), l, &s);
    }
}
