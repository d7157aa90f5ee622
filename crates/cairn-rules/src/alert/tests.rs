use super::*;
use cairn_model::stale_nan;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn cand(instance: &str, v: f64) -> Candidate {
    Candidate {
        labels: labels(&[("alertname", "A"), ("instance", instance)]),
        annotations: BTreeMap::new(),
        value: v,
    }
}

const MIN: i64 = 60_000;

fn step(ts: i64, for_ms: i64, keep: i64) -> Step {
    Step {
        ts,
        for_ms,
        keep_firing_for_ms: keep,
        limit: 0,
    }
}

fn restored() -> AlertingState {
    AlertingState {
        restored: true,
        ..AlertingState::default()
    }
}

fn state_of(s: &AlertingState, instance: &str) -> Option<AlertState> {
    s.active
        .get(&labels(&[("alertname", "A"), ("instance", instance)]))
        .map(|a| a.state)
}

#[test]
fn pending_then_firing_after_for() {
    let mut s = restored();
    let out = s
        .update(vec![cand("a", 1.0)], step(0, 2 * MIN, 0), None)
        .unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Pending));
    // ALERTS{alertstate="pending"} and ALERTS_FOR_STATE with activeAt in seconds.
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].0,
        labels(&[
            ("__name__", "ALERTS"),
            ("alertname", "A"),
            ("alertstate", "pending"),
            ("instance", "a")
        ])
    );
    assert_eq!(out[1].0.metric_name(), Some("ALERTS_FOR_STATE"));
    assert_eq!(out[1].1, 0.0);
    s.update(vec![cand("a", 1.0)], step(MIN, 2 * MIN, 0), None)
        .unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Pending));
    s.update(vec![cand("a", 1.0)], step(2 * MIN, 2 * MIN, 0), None)
        .unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Firing));
    let a = s.active.values().next().unwrap();
    assert_eq!(a.fired_at_ms, Some(2 * MIN));
    assert_eq!(a.active_at_ms, 0);
}

#[test]
fn for_zero_fires_at_once() {
    let mut s = restored();
    s.update(vec![cand("a", 1.0)], step(0, 0, 0), None).unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Firing));
}

#[test]
fn pending_alert_that_vanishes_is_deleted() {
    let mut s = restored();
    s.update(vec![cand("a", 1.0)], step(0, 5 * MIN, 0), None)
        .unwrap();
    let out = s.update(vec![], step(MIN, 5 * MIN, 0), None).unwrap();
    assert!(s.active.is_empty());
    assert!(out.is_empty());
    // Coming back starts a new pending period.
    s.update(vec![cand("a", 1.0)], step(2 * MIN, 5 * MIN, 0), None)
        .unwrap();
    assert_eq!(s.active.values().next().unwrap().active_at_ms, 2 * MIN);
}

#[test]
fn firing_alert_resolves_and_is_kept_15m() {
    let mut s = restored();
    s.update(vec![cand("a", 1.0)], step(0, 0, 0), None).unwrap();
    let out = s.update(vec![], step(MIN, 0, 0), None).unwrap();
    assert!(out.is_empty(), "inactive alerts get no series");
    assert_eq!(state_of(&s, "a"), Some(AlertState::Inactive));
    assert_eq!(s.active.values().next().unwrap().resolved_at_ms, Some(MIN));
    s.update(vec![], step(16 * MIN, 0, 0), None).unwrap();
    assert_eq!(
        state_of(&s, "a"),
        Some(AlertState::Inactive),
        "15m is not past yet"
    );
    s.update(vec![], step(16 * MIN + 1, 0, 0), None).unwrap();
    assert!(s.active.is_empty());
}

#[test]
fn resolved_alert_that_returns_is_a_new_alert() {
    let mut s = restored();
    s.update(vec![cand("a", 1.0)], step(0, MIN, 0), None)
        .unwrap();
    s.update(vec![cand("a", 1.0)], step(MIN, MIN, 0), None)
        .unwrap();
    s.update(vec![], step(2 * MIN, MIN, 0), None).unwrap();
    s.update(vec![cand("a", 1.0)], step(3 * MIN, MIN, 0), None)
        .unwrap();
    let a = s.active.values().next().unwrap();
    assert_eq!(a.state, AlertState::Pending);
    assert_eq!(a.active_at_ms, 3 * MIN);
    assert_eq!(a.resolved_at_ms, None);
}

#[test]
fn keep_firing_for_holds_then_resolves() {
    let mut s = restored();
    let keep = 2 * MIN;
    s.update(vec![cand("a", 1.0)], step(0, 0, keep), None)
        .unwrap();
    let out = s.update(vec![], step(MIN, 0, keep), None).unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Firing));
    assert_eq!(out.len(), 2, "a kept alert still writes ALERTS");
    assert_eq!(
        s.active.values().next().unwrap().keep_firing_since_ms,
        Some(MIN)
    );
    s.update(vec![], step(2 * MIN, 0, keep), None).unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Firing));
    s.update(vec![], step(3 * MIN, 0, keep), None).unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Inactive));
    assert_eq!(
        s.active.values().next().unwrap().resolved_at_ms,
        Some(3 * MIN)
    );
}

#[test]
fn keep_firing_for_resets_when_condition_returns() {
    let mut s = restored();
    let keep = 2 * MIN;
    s.update(vec![cand("a", 1.0)], step(0, 0, keep), None)
        .unwrap();
    s.update(vec![], step(MIN, 0, keep), None).unwrap();
    s.update(vec![cand("a", 1.0)], step(2 * MIN, 0, keep), None)
        .unwrap();
    assert_eq!(s.active.values().next().unwrap().keep_firing_since_ms, None);
    s.update(vec![], step(3 * MIN, 0, keep), None).unwrap();
    s.update(vec![], step(4 * MIN, 0, keep), None).unwrap();
    assert_eq!(state_of(&s, "a"), Some(AlertState::Firing));
}

#[test]
fn flapping_alert_never_fires_with_for() {
    let mut s = restored();
    for i in 0..10 {
        let found = if i % 2 == 0 {
            vec![cand("a", 1.0)]
        } else {
            vec![]
        };
        s.update(found, step(i * MIN, 2 * MIN, 0), None).unwrap();
        assert_ne!(state_of(&s, "a"), Some(AlertState::Firing));
    }
}

#[test]
fn value_and_annotations_refresh_each_evaluation() {
    let mut s = restored();
    s.update(vec![cand("a", 1.0)], step(0, MIN, 0), None)
        .unwrap();
    let mut c = cand("a", 7.0);
    c.annotations.insert("x".into(), "new".into());
    s.update(vec![c], step(MIN, MIN, 0), None).unwrap();
    let a = s.active.values().next().unwrap();
    assert_eq!(a.value, 7.0);
    assert_eq!(a.annotations["x"], "new");
    assert_eq!(a.active_at_ms, 0);
}

#[test]
fn limit_drops_every_alert() {
    let mut s = restored();
    let mut st = step(0, 0, 0);
    st.limit = 1;
    let e = s
        .update(vec![cand("a", 1.0), cand("b", 1.0)], st, None)
        .unwrap_err();
    assert_eq!(e, "exceeded limit of 1 with 2 alerts");
    assert!(s.active.is_empty());
}

#[test]
fn no_series_before_restore() {
    let mut s = AlertingState::default();
    let out = s.update(vec![cand("a", 1.0)], step(0, 0, 0), None).unwrap();
    assert!(out.is_empty());
}

#[test]
fn sending_follows_resend_delay_and_resolution() {
    let mut s = restored();
    let interval = 30_000;
    s.update(vec![cand("a", 1.0)], step(0, MIN, 0), None)
        .unwrap();
    assert!(
        s.due(0, MIN, interval).is_empty(),
        "pending alerts are never sent"
    );
    s.update(vec![cand("a", 1.0)], step(MIN, MIN, 0), None)
        .unwrap();
    let sent = s.due(MIN, MIN, interval);
    assert_eq!(sent.len(), 1);
    // endsAt = now + 4 * max(resend_delay, interval).
    assert_eq!(sent[0].valid_until_ms, MIN + 4 * MIN);
    assert!(s.due(MIN + 30_000, MIN, interval).is_empty());
    assert!(
        s.due(2 * MIN, MIN, interval).is_empty(),
        "strictly after the resend delay"
    );
    assert_eq!(s.due(2 * MIN + 30_000, MIN, interval).len(), 1);
    s.update(vec![], step(3 * MIN, MIN, 0), None).unwrap();
    let sent = s.due(3 * MIN, MIN, interval);
    assert_eq!(sent.len(), 1, "resolution is sent at once");
    assert_eq!(sent[0].resolved_at_ms, Some(3 * MIN));
    assert!(s.due(3 * MIN + 30_000, MIN, interval).is_empty());
    assert_eq!(
        s.due(4 * MIN + 30_000, MIN, interval).len(),
        1,
        "resolved alerts are re-sent"
    );
}

fn restore_case(active_at_s: i64, down_at_ms: i64, now: i64, for_ms: i64) -> i64 {
    let mut s = AlertingState::default();
    s.update(vec![cand("a", 1.0)], step(now, for_ms, 0), None)
        .unwrap();
    let mut last = HashMap::new();
    last.insert(cand("a", 1.0).labels, (down_at_ms, active_at_s as f64));
    s.restore(&last, now, for_ms, 10 * MIN);
    assert!(s.restored);
    s.active.values().next().unwrap().active_at_ms
}

#[test]
fn restore_keeps_an_alert_that_was_firing() {
    // Active since 0, for 30m, down at 40m: it had fired; ActiveAt stays.
    assert_eq!(restore_case(0, 40 * MIN, 50 * MIN, 30 * MIN), 0);
}

#[test]
fn restore_gives_a_grace_period() {
    // Active since 0, for 30m, down at 25m (5m left < 10m grace), back at 50m:
    // ActiveAt = now + grace - for, so it fires 10m after the restart.
    assert_eq!(
        restore_case(0, 25 * MIN, 50 * MIN, 30 * MIN),
        50 * MIN + 10 * MIN - 30 * MIN
    );
}

#[test]
fn restore_shifts_by_the_downtime() {
    // Active since 0, for 60m, down at 10m (50m left), back at 30m: shifted by 20m.
    assert_eq!(restore_case(0, 10 * MIN, 30 * MIN, 60 * MIN), 20 * MIN);
}

#[test]
fn restore_ignores_stale_series() {
    let mut s = AlertingState::default();
    s.update(vec![cand("a", 1.0)], step(50 * MIN, 30 * MIN, 0), None)
        .unwrap();
    let mut last = HashMap::new();
    last.insert(cand("a", 1.0).labels, (40 * MIN, stale_nan()));
    s.restore(&last, 50 * MIN, 30 * MIN, 10 * MIN);
    assert_eq!(s.active.values().next().unwrap().active_at_ms, 50 * MIN);
}

#[test]
fn changes_report_transitions() {
    let mut s = restored();
    let mut ch = Vec::new();
    s.update(vec![cand("a", 1.0)], step(0, MIN, 0), Some(&mut ch))
        .unwrap();
    assert_eq!(ch, vec![(cand("a", 1.0).labels, AlertState::Pending)]);
    ch.clear();
    s.update(vec![cand("a", 1.0)], step(MIN, MIN, 0), Some(&mut ch))
        .unwrap();
    assert_eq!(ch, vec![(cand("a", 1.0).labels, AlertState::Firing)]);
    ch.clear();
    s.update(vec![], step(2 * MIN, MIN, 0), Some(&mut ch))
        .unwrap();
    assert_eq!(ch, vec![(cand("a", 1.0).labels, AlertState::Inactive)]);
}
