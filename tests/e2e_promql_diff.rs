//! Differential test of the PromQL engine: a real Prometheus scrapes a target served by this
//! process and remote-writes into Cairn; the same queries then run against both, instant at
//! several times and over ranges with several steps, and every answer must match under
//! Prometheus' comparison rules (labels exact, values within 1e-6 relative, NaN equals NaN,
//! the same timestamps, series order only where the query defines one).
//!
//! Prometheus here is Debian's 2.42, Cairn follows Prometheus 3. Evaluation times are chosen
//! off every sample timestamp (and so every range boundary falls between samples), where the
//! left-closed ranges of 2.42 and the left-open ones of 3.x agree. Where the two versions must
//! differ, the query sent to Prometheus is rewritten into its 2.42 equivalent of the 3.x
//! meaning, and `support/promql_queries.rs` says why (see also README.md, "PromQL conformance").

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use support::diff_target::{DOWN, DiffTarget, FLAPPY_GAP};
use support::peers::Prometheus;
use support::promql_diff::{Answer, Eval, ask, diff, secs};
use support::promql_queries::{Query, boundary_queries, q, queries};
use support::{LabelSet, MatchType, STALE_NAN_BITS, TestServer};

/// How many random expressions run after the fixed list (`CAIRN_PROMQL_DIFF_RANDOM` changes it).
const RANDOM_QUERIES: usize = 150;

/// Whether `expr` holds a subquery (`[range:step]` or `[range:]`).
fn has_subquery(expr: &str) -> bool {
    expr.split('[').skip(1).any(|rest| {
        rest.split(']')
            .next()
            .is_some_and(|inside| inside.contains(':'))
    })
}

/// Polls `f` every 250 ms until it returns `Ok`, failing with its last error after `timeout`.
fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?}: {what}: {e}")
            }
            Err(_) => thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Every sample Prometheus holds in `(end - window, end]`, by series.
fn prometheus_samples(url: &str, end: i64, window_s: i64) -> BTreeMap<LabelSet, Vec<(i64, f64)>> {
    match ask(
        url,
        &format!("{{__name__=~\".+\"}}[{window_s}s]"),
        Eval::Instant(end),
    ) {
        Ok(Answer::Matrix(m)) => m.into_iter().collect(),
        other => panic!("prometheus: raw samples: {other:?}"),
    }
}

/// Every sample Cairn holds in `(end - window, end]` by remote read, without stale markers.
fn cairn_samples(
    cairn: &TestServer,
    end: i64,
    window_s: i64,
) -> BTreeMap<LabelSet, Vec<(i64, f64)>> {
    cairn
        .read(
            end - window_s * 1000 + 1,
            end,
            &[(MatchType::Re, "__name__", ".+")],
        )
        .into_iter()
        .map(|s: support::TimeSeries| {
            let samples: Vec<(i64, f64)> = s
                .samples
                .into_iter()
                .filter(|(_, v)| v.to_bits() != STALE_NAN_BITS)
                .collect();
            (s.labels, samples)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

/// Whether two sample sets are equal, any NaN equal to any NaN (the API prints every NaN
/// alike, remote read keeps the bits).
fn same_samples(
    a: &BTreeMap<LabelSet, Vec<(i64, f64)>>,
    b: &BTreeMap<LabelSet, Vec<(i64, f64)>>,
) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(l, s)| b.get(l).is_some_and(|t| same_series(s, t)))
}

fn same_series(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    let bits = |v: f64| {
        if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        }
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && bits(x.1) == bits(y.1))
}

/// The millisecond-of-second (0..1000) farthest from every sample timestamp's and from 0
/// (where subquery steps of whole seconds fall).
fn quiet_millisecond(samples: &BTreeMap<LabelSet, Vec<(i64, f64)>>) -> (i64, i64) {
    let mut used: BTreeSet<i64> = samples
        .values()
        .flatten()
        .map(|(t, _)| t.rem_euclid(1000))
        .collect();
    used.insert(0);
    (0..1000)
        .map(|m| {
            let d = used
                .iter()
                .map(|u| (m - u).rem_euclid(1000).min((u - m).rem_euclid(1000)))
                .min()
                .unwrap_or(1000);
            (d, m)
        })
        .max()
        .map(|(d, m)| (m, d))
        .expect("1000 candidates")
}

#[test]
fn comparison_rules_catch_differences() {
    use support::promql_diff::almost_equal;
    let l: LabelSet = support::labels(&[("a", "1")]);
    let m: LabelSet = support::labels(&[("a", "2")]);
    let v = |x: f64| Answer::Vector(vec![(l.clone(), 1000, x), (m.clone(), 1000, 1.0)]);
    assert!(diff(&v(1.0), &v(1.0 + 1e-9), false).is_none());
    assert!(diff(&v(1.0), &v(1.0 + 1e-5), false).is_some());
    assert!(diff(&v(f64::NAN), &v(f64::NAN), false).is_none());
    let swapped = Answer::Vector(vec![(m.clone(), 1000, 1.0), (l.clone(), 1000, 1.0)]);
    assert!(diff(&v(1.0), &swapped, false).is_none());
    assert!(diff(&v(1.0), &swapped, true).is_some());
    assert!(
        diff(
            &Answer::Scalar(1000, 1.0),
            &Answer::Scalar(2000, 1.0),
            false
        )
        .is_some()
    );
    assert!(diff(&Answer::Matrix(vec![]), &v(1.0), false).is_some());
    assert!(!almost_equal(0.0, 1e-300));
}

#[test]
fn promql_answers_match_prometheus() {
    let cairn = TestServer::start();
    let target = DiffTarget::start(3);
    let prom = Prometheus::start(&format!(
        r#"
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: api
    static_configs:
      - targets: ["{t0}"]
        labels: {{zone: eu}}
      - targets: ["{t1}"]
        labels: {{zone: us}}
  - job_name: db
    static_configs:
      - targets: ["{t2}"]
remote_write:
  - url: {cairn}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      max_samples_per_send: 500
      min_backoff: 50ms
      max_backoff: 1s
"#,
        t0 = target.addr(0),
        t1 = target.addr(1),
        t2 = target.addr(2),
        cairn = cairn.url(),
    ));
    let minutes = Duration::from_secs(150);
    // Halfway, the head is cut into Parquet blocks: later queries read both.
    poll("scrapes up to the first gap", minutes, || {
        let n = target.min_scrapes();
        if n >= FLAPPY_GAP.end + 5 {
            Ok(())
        } else {
            Err(format!("{n} scrapes"))
        }
    });
    cairn.flush();
    poll(
        "every target scraped past its scripted events",
        minutes,
        || {
            let n = target.min_scrapes();
            if n >= DOWN.end + 18 {
                Ok(())
            } else {
                Err(format!("{n} scrapes"))
            }
        },
    );

    // Cairn has everything up to `sync` once its samples there equal Prometheus' own.
    let sync = support::now_ms() - 2000;
    let window_s = 600;
    let want = prometheus_samples(prom.url(), sync, window_s);
    poll(
        "cairn to hold prometheus' samples",
        Duration::from_secs(30),
        || {
            let got = cairn_samples(&cairn, sync, window_s);
            if same_samples(&got, &want) {
                return Ok(());
            }
            let missing: Vec<_> = want
                .iter()
                .filter(|(l, s)| got.get(*l).is_none_or(|g| !same_series(g, s)))
                .map(|(l, s)| {
                    let g = got.get(l).cloned().unwrap_or_default();
                    let first = s.iter().zip(&g).find(|(a, b)| !same_series(&[**a], &[**b]));
                    format!(
                        "{l:?}: {} vs {} samples, first difference {first:?}",
                        g.len(),
                        s.len()
                    )
                })
                .take(5)
                .collect();
            Err(format!(
                "{} of {} series differ, e.g. {missing:?}",
                want.len() - got.len().min(want.len()),
                want.len()
            ))
        },
    );
    let samples: usize = want.values().map(Vec::len).sum();
    assert!(
        want.len() >= 60 && samples >= 5000,
        "too little data: {} series, {samples} samples",
        want.len()
    );

    // The evaluation times: off every sample, and 15 s before `sync` so that negative offsets
    // read only data both sides hold.
    let on_second = want
        .values()
        .flatten()
        .filter(|(t, _)| t.rem_euclid(1000) == 0)
        .count();
    // Subquery steps fall on whole seconds; a sample there (one run in a few hundred, by the
    // scrape offset Prometheus draws) puts a window boundary on it, where 2.42 and 3.x part.
    let subqueries_comparable = on_second == 0;
    if !subqueries_comparable {
        eprintln!("{on_second} samples on a whole second: subquery differences are only printed");
    }
    let (ms, margin) = quiet_millisecond(&want);
    eprintln!("evaluating at millisecond {ms} of each second, {margin} ms from any sample");
    let end = (sync - 15_000).div_euclid(1000) * 1000 + ms - 1000;
    let first = want
        .values()
        .filter_map(|s| s.first())
        .map(|(t, _)| *t)
        .min()
        .unwrap_or(end);
    let s = |back_s: i64| end - back_s * 1000;
    let evals = [
        Eval::Instant(end),
        Eval::Instant(s(13)),
        Eval::Instant(s(29)),
        Eval::Instant(s(47)),
        Eval::Instant(s(66)),
        Eval::Instant(first.div_euclid(1000) * 1000 + ms + 2000),
        Eval::Range(first - 20_000 + ms - first.rem_euclid(1000), end, 4000),
        Eval::Range(s(45), end, 1000),
        Eval::Range(s(90), s(10), 15_000),
    ];

    // 3.x no longer knows the 2.x name.
    assert_eq!(
        ask(
            cairn.url(),
            "holt_winters(demo_queue_depth[1m], 0.5, 0.5)",
            Eval::Instant(end)
        ),
        Ok(Answer::Error("bad_data".into())),
        "holt_winters must be a parse error, as in Prometheus 3"
    );
    let at = secs(s(31));
    let mut failures = String::new();
    let mut compared = 0;
    let mut informative: BTreeSet<String> = BTreeSet::new();
    let mut run = |query: &Query, eval: Eval, failures: &mut String| {
        let got = ask(cairn.url(), &query.cairn, eval);
        let want = ask(prom.url(), &query.prom, eval);
        compared += 1;
        if want.as_ref().is_ok_and(|w| match w {
            Answer::Vector(v) => !v.is_empty(),
            Answer::Matrix(m) => !m.is_empty(),
            _ => true,
        }) {
            informative.insert(query.cairn.clone());
        }
        let problem = match (&got, &want) {
            (Ok(g), Ok(w)) => diff(g, w, query.ordered),
            _ => Some(format!("  cairn: {got:?}\n  prometheus: {want:?}\n")),
        };
        if let Some(p) = problem {
            let line = format!("{}  {}\n{p}", query.cairn, eval.path(&query.cairn));
            if subqueries_comparable || !has_subquery(&query.cairn) {
                failures.push_str(&line);
                failures.push('\n');
            } else {
                eprintln!("not compared (a sample on a subquery step): {line}");
            }
        }
    };
    let list = queries(&at);
    assert!(list.len() >= 100, "only {} queries", list.len());
    for query in &list {
        for eval in evals {
            run(query, eval, &mut failures);
        }
    }
    // On a sample of instance 0, where the two range semantics part.
    let inst0 = want
        .iter()
        .find(|(l, _)| {
            l.get("__name__").map(String::as_str) == Some("demo_queue_depth")
                && l.get("zone").map(String::as_str) == Some("eu")
        })
        .map(|(_, s)| s.clone())
        .expect("demo_queue_depth of instance 0");
    let on_sample: Vec<i64> = inst0
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t <= end)
        .rev()
        .step_by(17)
        .take(3)
        .collect();
    for query in boundary_queries() {
        for &t in &on_sample {
            run(&query, Eval::Instant(t), &mut failures);
        }
    }
    // Random compositions, reproducible by seed.
    let mut rng = support::Rng::from_env("promql_answers_match_prometheus");
    let random_n = std::env::var("CAIRN_PROMQL_DIFF_RANDOM")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RANDOM_QUERIES);
    let random: Vec<Query> = (0..random_n)
        .map(|_| q(&support::promql_gen::instant_vector(&mut rng, 3)))
        .collect();
    for query in &random {
        for eval in [evals[0], evals[2], evals[4], evals[6], evals[7]] {
            run(query, eval, &mut failures);
        }
    }
    // A query that is empty at every evaluation proves nothing.
    for query in &list {
        if !informative.contains(&query.cairn) {
            let _ = writeln!(
                failures,
                "{}: empty at every evaluation time\n",
                query.cairn
            );
        }
    }
    eprintln!(
        "{} queries ({} rewritten for 2.42) and {random_n} random ones, {compared} \
         comparisons over {} series",
        list.len() + boundary_queries().len(),
        list.iter().filter(|q| q.why.is_some()).count() + boundary_queries().len(),
        want.len()
    );
    assert!(
        failures.is_empty(),
        "answers differ from prometheus':\n{failures}"
    );
}
