//! Exemplars through the storage engine: append rules, queries, the WAL across restarts and
//! checkpoints.

use std::path::Path;
use std::sync::Arc;

use cairn_model::{
    ExemplarRef, LabelRef, MatchOp, Matcher, Sample, SeriesRefs, TenantId, WriteBatch,
};
use prometheus_client::registry::Registry;

use super::*;
use crate::exemplars::{ExemplarRejectReason, ExemplarSeries};

const T0: i64 = 1_700_000_000_000 / 7_200_000 * 7_200_000;
const MIN: i64 = 60_000;

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

async fn open(dir: &Path) -> Arc<Storage> {
    Storage::open(StoreConfig::new(dir), &mut Registry::default())
        .await
        .unwrap()
}

/// A series: labels, samples, exemplars as `(trace id, value, t)`.
type Input<'a> = (
    Vec<(&'a str, &'a str)>,
    Vec<(i64, f64)>,
    Vec<(&'a str, f64, i64)>,
);

async fn write(st: &Storage, t: &TenantId, input: &[Input<'_>]) -> AppendOutcome {
    let mut b = WriteBatch::default();
    for (labels, samples, exemplars) in input {
        let l0 = b.labels.len();
        b.labels
            .extend(labels.iter().map(|&(n, v)| LabelRef::new(n, v)));
        let l1 = b.labels.len();
        let s0 = b.samples.len();
        b.samples
            .extend(samples.iter().map(|&(ts, v)| Sample::new(ts, v)));
        let e0 = b.exemplars.len();
        for &(trace, value, ts) in exemplars {
            let el = b.labels.len();
            if !trace.is_empty() {
                b.labels.push(LabelRef::new("trace_id", trace));
            }
            b.exemplars.push(ExemplarRef {
                labels: el..b.labels.len(),
                value,
                timestamp_ms: ts,
            });
        }
        b.series.push(SeriesRefs {
            labels: l0..l1,
            samples: s0..b.samples.len(),
            exemplars: e0..b.exemplars.len(),
            ..Default::default()
        });
    }
    st.append(t, &b).await.unwrap()
}

fn all() -> Vec<Vec<Matcher>> {
    vec![vec![
        Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap(),
    ]]
}

/// An exemplar as `(trace id, value, t)`.
type Flat = (String, f64, i64);

/// `(series, [(trace id, value, t)])` of a query answer.
fn flat(r: &[ExemplarSeries]) -> Vec<(String, Vec<Flat>)> {
    r.iter()
        .map(|s| {
            (
                s.series.to_string(),
                s.exemplars
                    .iter()
                    .map(|e| {
                        (
                            e.labels.get("trace_id").unwrap_or("").to_string(),
                            e.value,
                            e.timestamp_ms,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn ex(trace: &str, v: f64, t: i64) -> Flat {
    (trace.to_string(), v, t)
}

const REQ: &str = "{__name__=\"req_total\", job=\"api\"}";

#[tokio::test]
async fn append_rules_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let st = open(dir.path()).await;
    let t = tenant("team-a");
    let req = vec![("__name__", "req_total"), ("job", "api")];
    let out = write(
        &st,
        &t,
        &[(
            req.clone(),
            vec![(T0, 1.0), (T0 + MIN, 2.0)],
            vec![
                ("aa", 0.5, T0),
                ("bb", 0.7, T0 + MIN),
                // Not newer than bb: out of order within one request.
                ("cc", 0.1, T0 + MIN),
                ("dd", 0.9, T0 + 2 * MIN),
            ],
        )],
    )
    .await;
    assert_eq!(out.samples_accepted, 2);
    assert_eq!(out.exemplars_accepted, 3);
    assert_eq!(out.exemplars_rejected(ExemplarRejectReason::OutOfOrder), 1);

    // A repeat of the newest is accepted silently; an older one is out of order; a long
    // label set is refused; exemplars of a series the head does not know are refused; an
    // exemplar alone on a known series is kept.
    let long = "x".repeat(121);
    let out = write(
        &st,
        &t,
        &[
            (req.clone(), vec![], vec![("dd", 0.9, T0 + 2 * MIN)]),
            (req.clone(), vec![], vec![("ee", 0.9, T0 + MIN)]),
            (
                req.clone(),
                vec![],
                vec![(long.as_str(), 1.0, T0 + 3 * MIN)],
            ),
            (
                vec![("__name__", "unknown"), ("job", "api")],
                vec![],
                vec![("ff", 1.0, T0)],
            ),
            (req.clone(), vec![], vec![("", 1.5, T0 + 4 * MIN)]),
        ],
    )
    .await;
    assert_eq!(out.exemplars_accepted, 1);
    assert_eq!(
        out.exemplars_rejected_by_reason,
        [1, 1, 1, 0],
        "out of order, label length, unknown series"
    );
    assert_eq!(out.rejected_total(), 0);

    let got = st.exemplars(&t, &all(), i64::MIN, i64::MAX);
    assert_eq!(
        flat(&got),
        vec![(
            REQ.to_string(),
            vec![
                ex("aa", 0.5, T0),
                ex("bb", 0.7, T0 + MIN),
                ex("dd", 0.9, T0 + 2 * MIN),
                ex("", 1.5, T0 + 4 * MIN),
            ]
        )]
    );
    // The window is inclusive at both ends.
    let got = st.exemplars(&t, &all(), T0 + MIN, T0 + 2 * MIN);
    assert_eq!(
        flat(&got),
        vec![(
            REQ.to_string(),
            vec![ex("bb", 0.7, T0 + MIN), ex("dd", 0.9, T0 + 2 * MIN)]
        )]
    );
    // Other tenants and other selectors see nothing.
    assert!(
        st.exemplars(&tenant("b"), &all(), i64::MIN, i64::MAX)
            .is_empty()
    );
    let other = vec![vec![Matcher::equal("job", "db")]];
    assert!(st.exemplars(&t, &other, i64::MIN, i64::MAX).is_empty());
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn exemplars_survive_restart_and_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("team-a");
    let req = vec![("__name__", "req_total"), ("job", "api")];
    let want_first = vec![ex("aa", 1.0, T0), ex("bb", 2.0, T0 + MIN)];
    {
        let st = open(dir.path()).await;
        write(
            &st,
            &t,
            &[(
                req.clone(),
                vec![(T0, 1.0), (T0 + MIN, 2.0)],
                vec![("aa", 1.0, T0), ("bb", 2.0, T0 + MIN)],
            )],
        )
        .await;
        // Dropped without shutdown: acknowledged appends are already fsynced.
    }
    let st = open(dir.path()).await;
    assert_eq!(
        flat(&st.exemplars(&t, &all(), i64::MIN, i64::MAX)),
        vec![(REQ.to_string(), want_first.clone())]
    );
    // A flush moves every sample into blocks, empties the head and checkpoints the WAL: the
    // exemplars are logged again, since no block holds them.
    let flushed = st.flush().await.unwrap();
    assert!(!flushed.blocks.is_empty());
    assert_eq!(
        wal::list_segments(&wal::wal_dir(dir.path())).unwrap().len(),
        1
    );
    let out = write(
        &st,
        &t,
        &[(
            req.clone(),
            vec![(T0 + 2 * MIN, 3.0)],
            vec![("cc", 3.0, T0 + 2 * MIN)],
        )],
    )
    .await;
    assert_eq!(out.exemplars_accepted, 1);
    drop(st);
    let st = open(dir.path()).await;
    let mut want = want_first;
    want.push(ex("cc", 3.0, T0 + 2 * MIN));
    assert_eq!(
        flat(&st.exemplars(&t, &all(), i64::MIN, i64::MAX)),
        vec![(REQ.to_string(), want)]
    );
    st.shutdown().await.unwrap();
}

#[tokio::test]
async fn zero_max_exemplars_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StoreConfig::new(dir.path());
    cfg.max_exemplars = 0;
    let st = Storage::open(cfg, &mut Registry::default()).await.unwrap();
    let t = tenant("team-a");
    let out = write(
        &st,
        &t,
        &[(
            vec![("__name__", "req_total")],
            vec![(T0, 1.0)],
            vec![("aa", 1.0, T0)],
        )],
    )
    .await;
    assert_eq!(out.samples_accepted, 1);
    assert_eq!(out.exemplars_accepted, 0);
    assert!(st.exemplars(&t, &all(), i64::MIN, i64::MAX).is_empty());
    st.shutdown().await.unwrap();
}
