//! The burn-rate page, end to end: the minute-scale demo SLO of `config/slos/` loaded through
//! Cairn's config, traffic remote-written into the real binary, the rule engine's burn-rate
//! alerts routed by the built-in alert manager with `config/alertmanager.yml`, and stand-ins
//! for PagerDuty and Slack (real HTTP servers checking every payload against the services'
//! schemas) recording what arrived when.
//!
//! The scenario: twenty minutes of a slow burn (6x) written with past timestamps so that the
//! ticket's long windows are already full; Slack gets the ticket and PagerDuty nothing. Then a
//! live error spike (500x): PagerDuty gets exactly one trigger within the page's short window
//! plus an evaluation interval plus `group_wait`. Then recovery: PagerDuty gets the resolve
//! with the trigger's `dedup_key`, Slack the ticket's resolve, and nothing else arrives.

#[allow(unused_imports)]
mod support;

// The stand-ins are shared with cairn-alerting's receiver tests; not every part is used here.
#[allow(dead_code)]
#[path = "../crates/cairn-alerting/tests/support/standins.rs"]
mod standins;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use standins::{Kind, Received, StandIn};
use support::proto::{TimeSeries, labels};
use support::{TestServer, now_ms};

/// The demo SLO: 99.9%, page windows 10s/1m and 30s/3m, ticket windows 1m/5m and 2m/10m.
const SLO_FILE: &str = "config/slos/demo-minutes.yml";
/// The routing example: pages to PagerDuty, tickets to Slack.
const ALERTMANAGER_FILE: &str = "config/alertmanager.yml";

/// Rule evaluation interval.
const EVAL: Duration = Duration::from_secs(2);
/// Least time between two sends of a firing alert to the alert manager.
const RESEND: Duration = Duration::from_secs(5);
/// `group_wait` of every route in the test's copy of the routing file.
const GROUP_WAIT: Duration = Duration::from_secs(2);
/// `group_interval` in the test's copy: how soon a resolve follows the alert's end.
const GROUP_INTERVAL: Duration = Duration::from_secs(5);
/// The demo SLO's short windows that decide when its alerts fire and resolve.
const PAGE_QUICK_SHORT: Duration = Duration::from_secs(10);
const PAGE_SLOW_SHORT: Duration = Duration::from_secs(30);
const TICKET_SLOW_SHORT: Duration = Duration::from_secs(120);
/// Slack for a loaded two-core machine on top of each computed bound.
const MARGIN: Duration = Duration::from_secs(15);

/// Requests per second of the demo service.
const RPS: f64 = 10.0;
/// Traffic phases: the fraction of requests that fail.
const SLOW_BURN: u8 = 0;
const SPIKE: u8 = 1;
const HEALTHY: u8 = 2;

fn error_fraction(phase: u8) -> f64 {
    match phase {
        // 6x the 0.1% budget: over the ticket's 4.32x, under the page's 14.4x.
        SLOW_BURN => 0.006,
        // 500x.
        SPIKE => 0.5,
        _ => 0.0,
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What happened when, for the failure message.
struct Timeline {
    t0: Instant,
    marks: Mutex<Vec<(Instant, String)>>,
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            t0: Instant::now(),
            marks: Mutex::new(Vec::new()),
        }
    }

    fn mark(&self, what: &str) -> Instant {
        let now = Instant::now();
        eprintln!("{:>7.1}s  {what}", (now - self.t0).as_secs_f64());
        self.marks
            .lock()
            .expect("timeline lock")
            .push((now, what.to_string()));
        now
    }

    /// Every mark and every request the stand-ins received, in time order.
    fn render(&self, pagerduty: &StandIn, slack: &StandIn) -> String {
        let mut rows: Vec<(Instant, String)> = self.marks.lock().expect("timeline lock").clone();
        for r in pagerduty.raw() {
            rows.push((r.at, format!("PagerDuty <- {}", describe_pagerduty(&r))));
        }
        for r in slack.raw() {
            rows.push((r.at, format!("Slack     <- {}", describe_slack(&r))));
        }
        rows.sort_by_key(|(at, _)| *at);
        let mut out = String::from("---- timeline ----\n");
        for (at, what) in rows {
            let _ = writeln!(
                out,
                "{:>7.1}s  {what}",
                at.saturating_duration_since(self.t0).as_secs_f64()
            );
        }
        out
    }
}

fn describe_pagerduty(r: &Received) -> String {
    let b = &r.body;
    let mut s = format!(
        "{} dedup_key={} severity={} alert={} summary={:?}",
        b["event_action"].as_str().unwrap_or("?"),
        b["dedup_key"].as_str().unwrap_or("-"),
        b["payload"]["severity"].as_str().unwrap_or("-"),
        b["payload"]["custom_details"]["slo"]["alert"]
            .as_str()
            .unwrap_or("-"),
        b["payload"]["summary"].as_str().unwrap_or("-"),
    );
    if !r.problems.is_empty() {
        let _ = write!(s, " SCHEMA VIOLATIONS {:?}", r.problems);
    }
    s
}

fn describe_slack(r: &Received) -> String {
    let a = &r.body["attachments"][0];
    let mut s = format!(
        "color={} title={:?}",
        a["color"].as_str().unwrap_or("-"),
        a["title"].as_str().unwrap_or("-"),
    );
    if !r.problems.is_empty() {
        let _ = write!(s, " SCHEMA VIOLATIONS {:?}", r.problems);
    }
    s
}

/// The two counters of the demo service.
#[derive(Clone, Copy)]
struct Counters {
    ok: f64,
    errors: f64,
}

impl Counters {
    /// Advances both counters by `secs` of traffic in `phase`.
    fn advance(&mut self, phase: u8, secs: f64) {
        let f = error_fraction(phase);
        self.ok += RPS * (1.0 - f) * secs;
        self.errors += RPS * f * secs;
    }
}

fn series(code: &str, samples: Vec<(i64, f64)>) -> TimeSeries {
    TimeSeries {
        labels: labels(&[
            ("__name__", "demo_http_requests_total"),
            ("job", "demo"),
            ("code", code),
        ]),
        samples,
    }
}

fn write(cairn_url: &str, ok: Vec<(i64, f64)>, errors: Vec<(i64, f64)>) -> Result<(), String> {
    let r = support::server::write_v1_to(cairn_url, &[series("200", ok), series("500", errors)])
        .map_err(|e| format!("remote write failed: {e}"))?;
    if r.status == 204 || r.status == 200 {
        Ok(())
    } else {
        Err(format!("remote write answered {}: {}", r.status, r.text()))
    }
}

/// Writes `minutes` of history ending now at 1s resolution; returns the counters and the last
/// timestamp written.
fn write_history(cairn_url: &str, minutes: i64, phase: u8) -> (Counters, i64) {
    let end = now_ms() - 1_000;
    let start = end - minutes * 60_000;
    let mut c = Counters {
        ok: 0.0,
        errors: 0.0,
    };
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    let mut t = start;
    while t <= end {
        ok.push((t, c.ok));
        errors.push((t, c.errors));
        c.advance(phase, 1.0);
        t += 1_000;
    }
    let last = ok.last().map_or(start, |s| s.0);
    c.ok = ok.last().map_or(0.0, |s| s.1);
    c.errors = errors.last().map_or(0.0, |s| s.1);
    if let Err(e) = write(cairn_url, ok, errors) {
        panic!("writing the history: {e}");
    }
    (c, last)
}

/// Live traffic: one sample per series every second at the current time, with the error
/// fraction of the current phase.
struct Traffic {
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Traffic {
    fn start(cairn_url: &str, mut c: Counters, mut last: i64, phase: u8) -> Traffic {
        let phase = Arc::new(AtomicU8::new(phase));
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let url = cairn_url.to_string();
        let (p, s, f) = (Arc::clone(&phase), Arc::clone(&stop), Arc::clone(&failures));
        let handle = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_secs(1));
                let t = now_ms();
                if t <= last {
                    continue;
                }
                c.advance(p.load(Ordering::SeqCst), (t - last) as f64 / 1000.0);
                last = t;
                if let Err(e) = write(&url, vec![(t, c.ok)], vec![(t, c.errors)]) {
                    f.lock().expect("failures lock").push(e);
                }
            }
        });
        Traffic {
            phase,
            stop,
            failures,
            handle: Some(handle),
        }
    }

    fn set(&self, phase: u8) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().expect("failures lock").clone()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Replaces exactly `n` occurrences of `from`, so that a change to the example file fails
/// here instead of silently testing something else.
fn replace_n(text: &str, from: &str, to: &str, n: usize) -> String {
    let found = text.matches(from).count();
    assert_eq!(
        found, n,
        "{ALERTMANAGER_FILE}: expected {n} occurrence(s) of {from:?}, found {found}"
    );
    text.replace(from, to)
}

/// The example routing file with the stand-ins' URLs and a routing key in secret files, and
/// short group timers.
fn alertmanager_copy(dir: &Path, pagerduty: &StandIn, slack: &StandIn) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join(ALERTMANAGER_FILE))
        .unwrap_or_else(|e| panic!("read {ALERTMANAGER_FILE}: {e}"));
    std::fs::write(
        dir.join("slack-webhook-url"),
        format!("{}/services/T0000/B0000/XXXXXXXX\n", slack.url),
    )
    .expect("write the Slack URL file");
    std::fs::write(
        dir.join("pagerduty-routing-key"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .expect("write the routing key file");
    let secrets = format!("{}/", dir.display());
    let mut text = replace_n(&text, "/etc/cairn/secrets/", &secrets, 2);
    text = replace_n(
        &text,
        "global:\n",
        &format!("global:\n  pagerduty_url: {}/v2/enqueue\n", pagerduty.url),
        1,
    );
    let wait = format!("group_wait: {}s", GROUP_WAIT.as_secs());
    text = replace_n(&text, "group_wait: 30s", &wait, 1);
    text = replace_n(&text, "group_wait: 10s", &wait, 2);
    text = replace_n(
        &text,
        "group_interval: 5m",
        &format!("group_interval: {}s", GROUP_INTERVAL.as_secs()),
        1,
    );
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, text).expect("write the routing file");
    path
}

/// The `rules:` and `slos:` sections: the demo SLO loaded from `config/slos/`, evaluated
/// every [`EVAL`]. Firing alerts are re-sent every [`RESEND`] so that the alert manager's
/// deduplication is exercised many times over, not just once.
fn rules_config() -> String {
    let slo = repo_root().join(SLO_FILE);
    format!(
        "rules:\n  evaluation_interval: {}s\n  resend_delay: {}s\nslos:\n  files: [{:?}]\n",
        EVAL.as_secs(),
        RESEND.as_secs(),
        slo.display().to_string()
    )
}

/// The test's view of the run: the stand-ins, the timeline and the server, to fail with all
/// of it in the message.
struct Run<'a> {
    timeline: &'a Timeline,
    pagerduty: &'a StandIn,
    slack: &'a StandIn,
    cairn: &'a TestServer,
    traffic: &'a Traffic,
}

impl Run<'_> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n{}\nremote write failures: {:?}\n{}",
            self.timeline.render(self.pagerduty, self.slack),
            self.traffic.failures(),
            self.cairn.log_tail(40)
        );
    }

    fn check(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    /// Schema-checked requests so far; fails on a violation.
    fn received(&self, s: &StandIn, name: &str) -> Vec<Received> {
        let got = s.raw();
        if let Some(bad) = got.iter().find(|r| !r.problems.is_empty()) {
            self.fail(&format!(
                "{name} received a body that violates its schema: {:?}\n{:#}",
                bad.problems, bad.body
            ));
        }
        got
    }

    /// The number of requests each stand-in received, failing on a schema violation or a
    /// remote write failure.
    fn counts(&self) -> (usize, usize) {
        if let Some(e) = self.traffic.failures().first() {
            self.fail(e);
        }
        (
            self.received(self.pagerduty, "PagerDuty").len(),
            self.received(self.slack, "Slack").len(),
        )
    }

    /// Waits until PagerDuty received `pagerduty` requests and Slack `slack`, at most until
    /// `deadline`; fails at once when either receives more.
    fn wait_until(&self, pagerduty: usize, slack: usize, deadline: Instant, what: &str) {
        loop {
            let (p, s) = self.counts();
            self.check(
                p <= pagerduty && s <= slack,
                &format!(
                    "waiting for {what}: unexpected notification: PagerDuty {p} \
                     (expected {pagerduty}), Slack {s} (expected {slack})"
                ),
            );
            if (p, s) == (pagerduty, slack) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{what} did not arrive in time"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Keeps watching for `d`, failing as soon as anything beyond the expected counts arrives.
    fn quiet_for(&self, d: Duration, pagerduty: usize, slack: usize) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            let (p, s) = self.counts();
            self.check(
                p <= pagerduty && s <= slack,
                &format!(
                    "unexpected notification: PagerDuty {p} (expected {pagerduty}), \
                     Slack {s} (expected {slack})"
                ),
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

fn slack_title(r: &Received) -> String {
    r.body["attachments"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn slack_color(r: &Received) -> String {
    r.body["attachments"][0]["color"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn slo_burn_pages_pagerduty_tickets_slack_and_both_resolve() {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime for the stand-ins");
    let pagerduty = rt.block_on(StandIn::start(Kind::Pagerduty));
    let slack = rt.block_on(StandIn::start(Kind::SlackWebhook));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let am = alertmanager_copy(dir.path(), &pagerduty, &slack);
    let config = format!(
        "{}alertmanager:\n  config_file: {:?}\n",
        rules_config(),
        am.display().to_string()
    );
    let cairn = TestServer::builder().config(&config).start();
    let timeline = Timeline::new();
    timeline.mark("cairn ready");

    // Twenty minutes of a 6x burn: every ticket window is full, no page window is over its
    // factor.
    let (counters, last) = write_history(cairn.url(), 20, SLOW_BURN);
    let traffic = Traffic::start(cairn.url(), counters, last, SLOW_BURN);
    let history_at = timeline.mark("history written (20m of 6x burn); live 6x burn goes on");
    let run = Run {
        timeline: &timeline,
        pagerduty: &pagerduty,
        slack: &slack,
        cairn: &cairn,
        traffic: &traffic,
    };

    // The ticket: recorded at the first evaluation, alerted at the same or the next.
    run.wait_until(
        0,
        1,
        history_at + 2 * EVAL + GROUP_WAIT + MARGIN,
        "the slow burn's ticket",
    );
    timeline.mark("ticket received by Slack");
    let ticket = &run.received(&slack, "Slack")[0];
    let title = slack_title(ticket);
    run.check(
        title.contains("FIRING") && title.contains("DemoAvailability"),
        &format!("the ticket's title is {title:?}"),
    );
    run.check(
        slack_color(ticket) == "warning",
        &format!(
            "a firing ticket is coloured {:?}, expected warning",
            slack_color(ticket)
        ),
    );
    run.check(
        ticket.body.to_string().contains("ticket"),
        "the Slack message does not say it is a ticket",
    );
    // The SLO came in through `slos.files`, compiled with the demo file's windows.
    let slos = cairn.api_data("/api/v1/slos");
    let demo = slos["slos"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["id"] == "demo-requests-availability"));
    run.check(
        demo.is_some_and(|s| s["objective"] == 99.9),
        &format!("/api/v1/slos does not show the demo SLO: {slos}"),
    );
    // A slow burn never pages, however long it lasts.
    run.quiet_for(2 * EVAL + GROUP_WAIT + Duration::from_secs(1), 0, 1);

    traffic.set(SPIKE);
    let spike_at = timeline.mark("error spike starts (500x)");
    let page_bound = PAGE_QUICK_SHORT + EVAL + GROUP_WAIT;
    run.wait_until(
        1,
        1,
        spike_at + page_bound + MARGIN,
        &format!("the page (expected within {page_bound:?} + {MARGIN:?} of the spike)"),
    );
    let trigger = run.received(&pagerduty, "PagerDuty")[0].clone();
    timeline.mark("page received by PagerDuty");
    run.check(
        trigger.body["event_action"] == "trigger",
        "the first PagerDuty event is not a trigger",
    );
    run.check(
        trigger.body["payload"]["severity"] == "critical",
        "the page's PagerDuty severity is not critical",
    );
    run.check(
        trigger.body["payload"]["custom_details"]["slo"]["alert"] == "page",
        "PagerDuty received something other than the page (custom_details.slo.alert)",
    );
    run.check(
        trigger.path == "/v2/enqueue",
        &format!("PagerDuty event sent to {}", trigger.path),
    );
    let dedup_key = trigger.body["dedup_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    run.check(!dedup_key.is_empty(), "the trigger has no dedup_key");
    // The page fires while the spike lasts; it must stay one incident, and the ticket of the
    // same SLO is inhibited meanwhile.
    run.quiet_for(GROUP_INTERVAL * 2, 1, 1);

    traffic.set(HEALTHY);
    let recovery_at = timeline.mark("errors stop");
    let resolve_bound = PAGE_SLOW_SHORT + EVAL + GROUP_INTERVAL;
    run.wait_until(
        2,
        1,
        recovery_at + resolve_bound + MARGIN,
        &format!("the page's resolve (expected within {resolve_bound:?} + {MARGIN:?})"),
    );
    let resolve = run.received(&pagerduty, "PagerDuty")[1].clone();
    timeline.mark("resolve received by PagerDuty");
    run.check(
        resolve.body["event_action"] == "resolve",
        "the second PagerDuty event is not a resolve",
    );
    run.check(
        resolve.body["dedup_key"].as_str() == Some(dedup_key.as_str()),
        "the resolve's dedup_key differs from the trigger's",
    );
    // The 30s short window still holds spike errors for about 30s after they stop.
    run.check(
        resolve.at >= recovery_at + PAGE_SLOW_SHORT / 2,
        "the page resolved while its short window still held the spike",
    );

    let ticket_bound = TICKET_SLOW_SHORT + EVAL + GROUP_INTERVAL;
    run.wait_until(
        2,
        2,
        recovery_at + ticket_bound + MARGIN,
        &format!("the ticket's resolve (expected within {ticket_bound:?} + {MARGIN:?})"),
    );
    timeline.mark("ticket resolve received by Slack");
    let resolved = run.received(&slack, "Slack")[1].clone();
    let title = slack_title(&resolved);
    run.check(
        title.contains("RESOLVED") && title.contains("DemoAvailability"),
        &format!("the ticket's resolve has title {title:?}"),
    );
    run.check(
        slack_color(&resolved) == "good",
        &format!(
            "a resolved ticket is coloured {:?}, expected good",
            slack_color(&resolved)
        ),
    );
    run.check(
        resolved.at >= recovery_at + TICKET_SLOW_SHORT * 3 / 4,
        "the ticket resolved while its 2m short window still held errors",
    );
    // Nothing else follows: no second trigger, no repeated ticket.
    run.quiet_for(GROUP_INTERVAL + EVAL + Duration::from_secs(1), 2, 2);
    timeline.mark("done");
    eprintln!("{}", timeline.render(&pagerduty, &slack));
    let failures = traffic.failures();
    run.check(
        failures.is_empty(),
        &format!("remote write failures: {failures:?}"),
    );
}
