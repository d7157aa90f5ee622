use cairn_model::{Labels, MatchOp, Matcher, TenantId};
use prometheus_client::registry::Registry;

use super::*;

fn series(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)]).unwrap()
}

fn ex(trace: &str, value: f64, t: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]).unwrap(),
        value,
        timestamp_ms: t,
    }
}

fn all() -> Vec<Vec<Matcher>> {
    vec![vec![
        Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap(),
    ]]
}

fn timestamps(r: &[ExemplarSeries]) -> Vec<(String, Vec<i64>)> {
    r.iter()
        .map(|s| {
            (
                s.series.to_string(),
                s.exemplars.iter().map(|e| e.timestamp_ms).collect(),
            )
        })
        .collect()
}

#[test]
fn in_order_exemplars_are_stored_and_selected_by_range() {
    let mut b = CircularExemplars::new(10);
    let a = series("a", "x");
    for t in [10, 20, 30] {
        assert_eq!(b.add(&a, ex("t", 1.0, t)), Ok(Added::Stored));
    }
    let got = b.select(15, 30, &all());
    assert_eq!(
        timestamps(&got),
        vec![("{__name__=\"a\", job=\"x\"}".to_string(), vec![20, 30])]
    );
    assert!(b.select(31, 40, &all()).is_empty());
    assert!(b.select(0, 9, &all()).is_empty());
    assert_eq!(b.len(), 3);
    assert_eq!(b.num_series(), 1);
}

#[test]
fn duplicate_of_the_newest_is_a_no_op() {
    let mut b = CircularExemplars::new(10);
    let a = series("a", "x");
    b.add(&a, ex("t", 1.0, 10)).unwrap();
    assert_eq!(b.add(&a, ex("t", 1.0, 10)), Ok(Added::Duplicate));
    assert_eq!(b.len(), 1);
}

#[test]
fn not_newer_than_the_newest_is_out_of_order() {
    let mut b = CircularExemplars::new(10);
    let a = series("a", "x");
    b.add(&a, ex("t", 1.0, 10)).unwrap();
    // Older.
    assert_eq!(
        b.add(&a, ex("t", 1.0, 9)),
        Err(ExemplarRejectReason::OutOfOrder)
    );
    // Same timestamp, another value or other labels (Prometheus 2.x: `Ts <= newest`).
    assert_eq!(
        b.add(&a, ex("t", 2.0, 10)),
        Err(ExemplarRejectReason::OutOfOrder)
    );
    assert_eq!(
        b.add(&a, ex("u", 1.0, 10)),
        Err(ExemplarRejectReason::OutOfOrder)
    );
    // Another series has its own order.
    assert_eq!(b.add(&series("b", "x"), ex("t", 1.0, 5)), Ok(Added::Stored));
    assert_eq!(b.len(), 2);
}

#[test]
fn nan_values_are_never_duplicates() {
    let mut b = CircularExemplars::new(10);
    let a = series("a", "x");
    b.add(&a, ex("t", f64::NAN, 10)).unwrap();
    assert_eq!(
        b.add(&a, ex("t", f64::NAN, 10)),
        Err(ExemplarRejectReason::OutOfOrder)
    );
}

#[test]
fn label_set_length_is_counted_in_runes() {
    let mut b = CircularExemplars::new(10);
    let a = series("a", "x");
    // "trace_id" is 8 runes: 120 more make 128, the limit.
    let at_limit = "é".repeat(120);
    let e = Exemplar {
        labels: Labels::from_pairs([("trace_id", at_limit.as_str())]).unwrap(),
        value: 1.0,
        timestamp_ms: 1,
    };
    assert_eq!(b.add(&a, e), Ok(Added::Stored));
    let over = "a".repeat(121);
    let e = Exemplar {
        labels: Labels::from_pairs([("trace_id", over.as_str())]).unwrap(),
        value: 1.0,
        timestamp_ms: 2,
    };
    assert_eq!(b.add(&a, e), Err(ExemplarRejectReason::LabelLength));
    // Spread over two labels, the sum counts.
    let e = Exemplar {
        labels: Labels::from_pairs([("a", &*"x".repeat(64)), ("b", &*"y".repeat(63))]).unwrap(),
        value: 1.0,
        timestamp_ms: 3,
    };
    assert_eq!(b.add(&a, e), Err(ExemplarRejectReason::LabelLength));
    assert_eq!(b.len(), 1);
}

#[test]
fn a_full_buffer_evicts_the_oldest_entry_of_any_series() {
    let mut b = CircularExemplars::new(3);
    let a = series("a", "x");
    let c = series("c", "x");
    b.add(&a, ex("1", 1.0, 1)).unwrap();
    b.add(&c, ex("2", 1.0, 2)).unwrap();
    b.add(&a, ex("3", 1.0, 3)).unwrap();
    // Evicts a@1: a keeps a@3.
    b.add(&c, ex("4", 1.0, 4)).unwrap();
    assert_eq!(
        timestamps(&b.select(i64::MIN, i64::MAX, &all())),
        vec![
            ("{__name__=\"a\", job=\"x\"}".to_string(), vec![3]),
            ("{__name__=\"c\", job=\"x\"}".to_string(), vec![2, 4]),
        ]
    );
    // Evicts c@2, then a@3 (a's last one: a leaves the index).
    b.add(&c, ex("5", 1.0, 5)).unwrap();
    b.add(&c, ex("6", 1.0, 6)).unwrap();
    assert_eq!(b.num_series(), 1);
    assert_eq!(
        timestamps(&b.select(i64::MIN, i64::MAX, &all())),
        vec![("{__name__=\"c\", job=\"x\"}".to_string(), vec![4, 5, 6])]
    );
    // A series whose previous exemplars were evicted starts afresh, any timestamp goes.
    b.add(&a, ex("7", 1.0, 0)).unwrap();
    let order: Vec<i64> = b.iter().map(|(_, e)| e.timestamp_ms).collect();
    assert_eq!(order, vec![5, 6, 0]);
    assert_eq!(b.len(), 3);
}

#[test]
fn a_buffer_of_one_keeps_the_last_exemplar() {
    let mut b = CircularExemplars::new(1);
    let a = series("a", "x");
    b.add(&a, ex("1", 1.0, 1)).unwrap();
    b.add(&a, ex("2", 1.0, 2)).unwrap();
    b.add(&series("b", "x"), ex("3", 1.0, 3)).unwrap();
    assert_eq!(b.num_series(), 1);
    assert_eq!(
        timestamps(&b.select(i64::MIN, i64::MAX, &all())),
        vec![("{__name__=\"b\", job=\"x\"}".to_string(), vec![3])]
    );
}

#[test]
fn select_matches_any_selector_and_sorts_by_series() {
    let mut b = CircularExemplars::new(10);
    for (n, j, t) in [("b", "y", 1), ("a", "y", 2), ("a", "x", 3), ("c", "x", 4)] {
        b.add(&series(n, j), ex("t", 1.0, t)).unwrap();
    }
    let sel = vec![
        vec![Matcher::equal("__name__", "a")],
        vec![
            Matcher::equal("job", "x"),
            Matcher::new(MatchOp::NotEqual, "__name__", "a").unwrap(),
        ],
    ];
    let names: Vec<String> = b
        .select(i64::MIN, i64::MAX, &sel)
        .iter()
        .map(|s| s.series.to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "{__name__=\"a\", job=\"x\"}",
            "{__name__=\"a\", job=\"y\"}",
            "{__name__=\"c\", job=\"x\"}",
        ]
    );
    assert!(b.select(i64::MIN, i64::MAX, &[]).is_empty());
}

#[test]
fn store_counts_and_disables() {
    let t = TenantId::new("t").unwrap();
    let s = ExemplarStore::new(0, &mut Registry::default());
    let a = series("a", "x");
    assert_eq!(s.add_all(&t, [(&a, ex("t", 1.0, 1))]), (0, [0; 4]));
    assert!(s.get(&t).is_none());

    let s = ExemplarStore::new(2, &mut Registry::default());
    let (stored, refused) = s.add_all(
        &t,
        [
            (&a, ex("t", 1.0, 1)),
            (&a, ex("t", 1.0, 1)),
            (&a, ex("t", 1.0, 0)),
            (&a, ex("t", 1.0, 2)),
            (&a, ex("t", 1.0, 3)),
        ],
    );
    assert_eq!(stored, 3);
    assert_eq!(refused, [1, 0, 0, 0]);
    assert_eq!(s.metrics.appended.get(), 3);
    assert_eq!(s.metrics.in_storage.get(), 2);
    assert_eq!(s.metrics.series.get(), 1);
    // Tenants do not see each other's exemplars.
    let other = TenantId::new("u").unwrap();
    assert!(s.select(&other, i64::MIN, i64::MAX, &all()).is_empty());
    assert_eq!(s.select(&t, i64::MIN, i64::MAX, &all()).len(), 1);
}

/// A plain model of the buffer: every stored exemplar in insertion order, the oldest dropped
/// when more than `max` are stored; order and duplicates checked against the newest stored
/// exemplar of the same series.
#[derive(Default)]
struct Model {
    max: usize,
    stored: std::collections::VecDeque<(Labels, Exemplar)>,
}

impl Model {
    fn add(&mut self, series: &Labels, e: Exemplar) -> Result<Added, ExemplarRejectReason> {
        check_label_length(&e.labels)?;
        if let Some((_, newest)) = self.stored.iter().rev().find(|(s, _)| s == series) {
            if *newest == e {
                return Ok(Added::Duplicate);
            }
            if e.timestamp_ms <= newest.timestamp_ms {
                return Err(ExemplarRejectReason::OutOfOrder);
            }
        }
        self.stored.push_back((series.clone(), e));
        if self.stored.len() > self.max {
            self.stored.pop_front();
        }
        Ok(Added::Stored)
    }

    fn select(&self, start: i64, end: i64) -> Vec<ExemplarSeries> {
        let mut by: std::collections::BTreeMap<Labels, Vec<Exemplar>> = Default::default();
        for (s, e) in &self.stored {
            if e.timestamp_ms >= start && e.timestamp_ms <= end {
                by.entry(s.clone()).or_default().push(e.clone());
            }
        }
        by.into_iter()
            .map(|(series, exemplars)| ExemplarSeries { series, exemplars })
            .collect()
    }
}

proptest::proptest! {
    /// Any sequence of appends over a few series leaves the buffer answering as the model.
    #[test]
    fn buffer_behaves_as_the_model(
        max in 1usize..8,
        ops in proptest::collection::vec((0u8..4, 0i64..30, 0u8..3, 0u8..3), 0..80),
        window in (0i64..30, 0i64..30),
    ) {
        let mut b = CircularExemplars::new(max);
        let mut m = Model { max, ..Model::default() };
        for (s, t, v, trace) in ops {
            let series = series(&format!("m{s}"), "x");
            let e = ex(&format!("t{trace}"), f64::from(v), t);
            proptest::prop_assert_eq!(b.add(&series, e.clone()), m.add(&series, e));
            proptest::prop_assert_eq!(b.len(), m.stored.len());
        }
        let (start, end) = (window.0.min(window.1), window.0.max(window.1));
        proptest::prop_assert_eq!(b.select(start, end, &all()), m.select(start, end));
        let order: Vec<(Labels, i64)> =
            b.iter().map(|(s, e)| (s.clone(), e.timestamp_ms)).collect();
        let want: Vec<(Labels, i64)> =
            m.stored.iter().map(|(s, e)| (s.clone(), e.timestamp_ms)).collect();
        proptest::prop_assert_eq!(order, want);
    }
}
