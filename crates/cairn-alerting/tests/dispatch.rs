//! Dispatcher timelines driven by a manual clock: grouping, timing, resolve, routing,
//! inhibition, silences and time intervals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_alerting::{
    Clock, Config, Dispatcher, IntegrationKind, ManualClock, Notification, NotificationLog,
    NotifyReason, PostableAlert, RecordingNotifier, Silence, Silences, parse_matchers,
};
use cairn_model::Labels;
use chrono::{DateTime, TimeDelta, Utc};

struct Harness {
    d: Dispatcher,
    n: Arc<RecordingNotifier>,
    clock: ManualClock,
}

/// Monday 2026-11-23 10:00:00 UTC.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

fn harness(yaml: &str) -> Harness {
    let config = Config::from_yaml(yaml).unwrap();
    let n = Arc::new(RecordingNotifier::new());
    let d = Dispatcher::new(
        config,
        Arc::clone(&n) as Arc<dyn cairn_alerting::Notifier>,
        Arc::new(Silences::new()),
        Arc::new(NotificationLog::new()),
        "http://cairn.example:9009/alertmanager",
    );
    Harness {
        d,
        n,
        clock: ManualClock::new(t0()),
    }
}

impl Harness {
    /// Posts an alert at the clock's time; `end` in seconds from t0, `None` for no endsAt.
    fn post(&self, pairs: &[(&str, &str)], start: i64, end: Option<i64>) {
        let p = PostableAlert {
            labels: Labels::from_pairs(pairs.iter().copied()).unwrap(),
            annotations: BTreeMap::from([("summary".to_string(), "it broke".to_string())]),
            starts_at: Some(at(start)),
            ends_at: end.map(at),
            generator_url: "http://prom/graph".into(),
        };
        let errs = self.d.put_alerts(vec![p], self.clock.now());
        assert!(errs.is_empty(), "{errs:?}");
    }

    /// Moves the clock to t0 + `secs`, ticks, and returns the notifications sent.
    async fn tick(&self, secs: i64) -> Vec<Notification> {
        self.clock.set(at(secs));
        self.d.tick(self.clock.now()).await;
        self.n.take()
    }
}

fn names(n: &Notification) -> Vec<String> {
    n.message
        .alerts
        .iter()
        .map(|a| format!("{}:{}", a.labels["alertname"], a.status))
        .collect()
}

const FAR: Option<i64> = Some(100_000);

const TIMING: &str = r#"
route:
  receiver: hook
  group_by: [cluster]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: 'http://example.org/'}]
"#;

#[tokio::test]
async fn group_wait_interval_and_repeat() {
    let h = harness(TIMING);
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    assert!(h.tick(29).await.is_empty(), "still in group_wait");
    let sent = h.tick(30).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::FirstNotification);
    assert_eq!(sent[0].message.group_key, r#"{}:{cluster="eu"}"#);
    assert_eq!(names(&sent[0]), vec!["A:firing"]);
    assert_eq!(sent[0].integration.kind, IntegrationKind::Webhook);

    // Nothing changed: the group_interval flush sends nothing.
    assert!(h.tick(330).await.is_empty());
    // A new alert joins; it waits for the next group_interval boundary, not group_wait.
    h.clock.set(at(360));
    h.post(&[("alertname", "B"), ("cluster", "eu")], 360, FAR);
    assert!(h.tick(400).await.is_empty());
    assert!(h.tick(629).await.is_empty());
    let sent = h.tick(630).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::NewAlertsAdded);
    assert_eq!(names(&sent[0]), vec!["A:firing", "B:firing"]);

    // Another cluster is its own group with its own group_wait.
    h.clock.set(at(700));
    h.post(&[("alertname", "A"), ("cluster", "us")], 700, FAR);
    assert!(h.tick(729).await.is_empty());
    let sent = h.tick(930).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.group_key, r#"{}:{cluster="us"}"#);

    // Repeat after repeat_interval, at the first flush at or after it.
    let mut t = 930;
    let mut repeats = Vec::new();
    while t < 630 + 3600 + 300 {
        t += 300;
        for n in h.tick(t).await {
            repeats.push((t, n.message.group_key.clone(), n.reason));
        }
    }
    assert_eq!(
        repeats,
        vec![
            (
                630 + 3600,
                r#"{}:{cluster="eu"}"#.to_string(),
                NotifyReason::RepeatIntervalElapsed
            ),
            (
                930 + 3600,
                r#"{}:{cluster="us"}"#.to_string(),
                NotifyReason::RepeatIntervalElapsed
            ),
        ]
    );
}

#[tokio::test]
async fn old_alert_skips_group_wait() {
    let h = harness(TIMING);
    h.clock.set(at(600));
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    assert_eq!(h.tick(600).await.len(), 1);
}

#[tokio::test]
async fn resolve_flow_and_send_resolved() {
    let h = harness(
        r#"
global: {slack_api_url: 'https://hooks.slack.com/x', resolve_timeout: 5m}
route: {receiver: both, group_wait: 30s, group_interval: 5m}
receivers:
  - name: both
    slack_configs: [{channel: '#c'}]
    webhook_configs: [{url: 'http://example.org/'}]
"#,
    );
    h.post(&[("alertname", "A")], 0, FAR);
    h.post(&[("alertname", "B")], 0, None);
    let sent = h.tick(30).await;
    assert_eq!(sent.len(), 2, "one per integration");
    assert_eq!(sent[0].integration.kind, IntegrationKind::Slack);

    // B is resolved by the sender; A keeps firing.
    h.clock.set(at(100));
    h.post(&[("alertname", "B")], 0, Some(100));
    let sent = h.tick(330).await;
    assert_eq!(sent.len(), 1, "slack does not send resolved by default");
    assert_eq!(sent[0].integration.kind, IntegrationKind::Webhook);
    assert_eq!(sent[0].reason, NotifyReason::SomeAlertsResolved);
    assert_eq!(names(&sent[0]), vec!["A:firing", "B:resolved"]);
    assert_eq!(sent[0].message.status, "firing");
    let b = &sent[0].message.alerts[1];
    assert_eq!(b.ends_at, at(100));
    assert_eq!(
        sent[0].message.alerts[0].ends_at,
        cairn_alerting::zero_time()
    );
    // The notified resolved alert leaves the group.
    assert_eq!(h.d.groups()[0].alerts.len(), 1);
    assert_eq!(h.d.alerts().len(), 1);

    // A ends; everything resolved is sent even where send_resolved is false in the dedup
    // stage, but Slack drops resolved-only messages and just logs them.
    h.clock.set(at(400));
    h.post(&[("alertname", "A")], 0, Some(400));
    let sent = h.tick(630).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::AllAlertsResolved);
    assert_eq!(sent[0].message.status, "resolved");
    assert!(
        h.d.groups().is_empty(),
        "an all-resolved group is removed after notifying"
    );
    assert!(h.d.alerts().is_empty());
    assert!(h.tick(930).await.is_empty());
}

#[tokio::test]
async fn resolve_timeout_resolves_silent_alerts() {
    let h = harness(TIMING);
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, None);
    assert_eq!(h.tick(30).await.len(), 1);
    // Without updates the alert resolves resolve_timeout (5m) after it was received.
    assert!(h.tick(299).await.is_empty());
    let sent = h.tick(330).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(names(&sent[0]), vec!["A:resolved"]);
    assert_eq!(sent[0].message.alerts[0].ends_at, at(300));
}

#[tokio::test]
async fn refreshed_alert_stays_firing() {
    let h = harness(TIMING);
    for t in (0..=900).step_by(60) {
        h.clock.set(at(t));
        h.post(&[("alertname", "A"), ("cluster", "eu")], 0, None);
        for n in h.tick(t).await {
            assert_eq!(names(&n), vec!["A:firing"], "at {t}");
        }
    }
    assert!(h.d.alerts()[0].ends_at > at(900));
}

#[tokio::test]
async fn continue_sends_to_every_matching_route() {
    let h = harness(
        r#"
route:
  receiver: default
  group_wait: 10s
  routes:
    - matchers: [severity="page"]
      receiver: pager
      continue: true
    - matchers: [team="db"]
      receiver: db
      group_wait: 1m
receivers:
  - {name: default, webhook_configs: [{url: 'http://d/'}]}
  - {name: pager, webhook_configs: [{url: 'http://p/'}]}
  - {name: db, webhook_configs: [{url: 'http://db/'}]}
"#,
    );
    h.post(
        &[("alertname", "X"), ("severity", "page"), ("team", "db")],
        0,
        FAR,
    );
    h.post(&[("alertname", "Y"), ("team", "web")], 0, FAR);
    let sent = h.tick(10).await;
    let mut got: Vec<_> = sent
        .iter()
        .map(|n| (n.receiver.clone(), n.message.group_key.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("default".to_string(), "{}:{}".to_string()),
            (
                "pager".to_string(),
                r#"{}/{severity="page"}:{}"#.to_string()
            ),
        ]
    );
    let sent = h.tick(60).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].receiver, "db",
        "inherits nothing it overrides: group_wait 1m"
    );
    assert_eq!(names(&sent[0]), vec!["X:firing"]);
}

const INHIBIT: &str = r#"
route: {receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 1m}
receivers: [{name: hook, webhook_configs: [{url: 'http://h/'}]}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
  - source_matchers: ['{alertname="Both"}']
    target_matchers: ['{alertname="Both"}']
"#;

#[tokio::test]
async fn inhibition() {
    let h = harness(INHIBIT);
    h.post(
        &[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "eu"),
        ],
        0,
        Some(600),
    );
    h.post(
        &[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "eu"),
        ],
        0,
        FAR,
    );
    h.post(
        &[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "us"),
        ],
        0,
        FAR,
    );
    // Two alerts matching both sides of a rule do not mute each other.
    h.post(&[("alertname", "Both"), ("i", "1")], 0, FAR);
    h.post(&[("alertname", "Both"), ("i", "2")], 0, FAR);
    let sent = h.tick(0).await;
    let mut got: Vec<_> = sent.iter().map(|n| n.message.group_key.clone()).collect();
    got.sort();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got.iter()
            .any(|k| k.contains(r#"cluster="us""#) && k.contains("Slow"))
    );
    assert!(
        !got.iter()
            .any(|k| k.contains(r#"cluster="eu""#) && k.contains("Slow"))
    );

    // Once the source resolves, the target is notified.
    let sent = h.tick(600).await;
    let mut got: Vec<_> = sent.iter().flat_map(names).collect();
    got.sort();
    assert_eq!(got, vec!["Down:resolved", "Slow:firing"]);
    let slow =
        h.d.alerts()
            .into_iter()
            .find(|a| {
                a.labels.get("cluster") == Some("eu") && a.labels.get("alertname") == Some("Slow")
            })
            .unwrap();
    assert_eq!(h.d.mute_status(&slow, at(600)), (vec![], None));
}

#[tokio::test]
async fn silences_mute_and_unmute() {
    let h = harness(TIMING);
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    assert_eq!(h.tick(30).await.len(), 1);
    let id =
        h.d.silences()
            .set(
                Silence {
                    id: String::new(),
                    matchers: parse_matchers(r#"alertname="B""#).unwrap(),
                    starts_at: at(0),
                    ends_at: at(3000),
                    created_by: "sre".into(),
                    comment: "deploy".into(),
                    updated_at: at(0),
                },
                at(40),
            )
            .unwrap();
    h.clock.set(at(50));
    h.post(&[("alertname", "B"), ("cluster", "eu")], 50, FAR);
    let b =
        h.d.alerts()
            .into_iter()
            .find(|a| a.labels.get("alertname") == Some("B"))
            .unwrap();
    assert_eq!(h.d.mute_status(&b, at(50)).0, vec![id.clone()]);
    assert!(
        h.tick(330).await.is_empty(),
        "B is silenced, A already notified"
    );
    assert!(h.tick(630).await.is_empty());
    h.d.silences().expire(&id, at(700)).unwrap();
    let sent = h.tick(930).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::NewAlertsAdded);
    assert_eq!(names(&sent[0]), vec!["A:firing", "B:firing"]);
}

#[tokio::test]
async fn silenced_group_is_never_sent() {
    let h = harness(TIMING);
    h.d.silences()
        .set(
            Silence {
                id: String::new(),
                matchers: parse_matchers("cluster=eu").unwrap(),
                starts_at: at(0),
                ends_at: at(1000),
                created_by: "sre".into(),
                comment: "x".into(),
                updated_at: at(0),
            },
            at(0),
        )
        .unwrap();
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    assert!(h.tick(30).await.is_empty());
    assert!(h.tick(330).await.is_empty());
    let sent = h.tick(1230).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::FirstNotification);
}

#[tokio::test]
async fn mute_and_active_time_intervals() {
    let h = harness(
        r#"
route:
  receiver: hook
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 1h
  routes:
    - matchers: [team=a]
      mute_time_intervals: [lunch]
    - matchers: [team=b]
      active_time_intervals: [office]
receivers: [{name: hook, webhook_configs: [{url: 'http://h/'}]}]
time_intervals:
  - name: lunch
    time_intervals: [{times: [{start_time: '12:00', end_time: '13:00'}]}]
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
"#,
    );
    // t0 is Monday 10:00.
    h.clock.set(at(2 * 3600 + 60));
    h.post(&[("alertname", "X"), ("team", "a")], 0, FAR);
    assert!(h.tick(2 * 3600 + 60).await.is_empty(), "12:01 is lunch");
    let sent = h.tick(3 * 3600 + 60).await;
    assert_eq!(sent.len(), 1, "13:01 is not");

    h.clock.set(at(8 * 3600));
    h.post(&[("alertname", "Y"), ("team", "b")], 0, FAR);
    let sent = h.tick(8 * 3600).await;
    assert!(
        !sent.iter().any(|n| names(n) == vec!["Y:firing"]),
        "18:00 is outside office hours"
    );
    let mut t = 8 * 3600;
    let mut first = None;
    while first.is_none() && t < 40 * 3600 {
        t += 3600;
        if h.tick(t).await.iter().any(|n| names(n) == vec!["Y:firing"]) {
            first = Some(t);
        }
    }
    assert_eq!(
        first.map(|t| at(t).to_rfc3339()),
        Some("2026-11-24T09:00:00+00:00".to_string())
    );
}

#[tokio::test]
async fn failed_notification_is_retried_next_flush() {
    let h = harness(TIMING);
    h.n.set_failing(true);
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    assert!(h.tick(30).await.is_empty());
    assert!(h.d.nflog().snapshot().is_empty());
    h.n.set_failing(false);
    let sent = h.tick(330).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::FirstNotification);
    assert_eq!(h.d.nflog().snapshot().len(), 1);
}

#[tokio::test]
async fn invalid_alerts_are_reported_and_valid_ones_kept() {
    let h = harness(TIMING);
    let good = PostableAlert {
        labels: Labels::from_pairs([("alertname", "A")]).unwrap(),
        ..Default::default()
    };
    let bad = PostableAlert {
        labels: Labels::from_pairs([("alertname", "B")]).unwrap(),
        starts_at: Some(at(10)),
        ends_at: Some(at(5)),
        ..Default::default()
    };
    let errs =
        h.d.put_alerts(vec![bad, PostableAlert::default(), good], at(0));
    assert_eq!(errs.len(), 2);
    assert_eq!(h.d.alerts().len(), 1);
}

#[tokio::test]
async fn webhook_v4_json_shape() {
    let h = harness(TIMING);
    h.post(&[("alertname", "A"), ("cluster", "eu"), ("i", "1")], 0, FAR);
    h.post(&[("alertname", "A"), ("cluster", "eu"), ("i", "2")], 0, FAR);
    let sent = h.tick(30).await;
    let v = serde_json::to_value(&sent[0].message).unwrap();
    assert_eq!(v["version"], "4");
    assert_eq!(v["receiver"], "hook");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["groupKey"], r#"{}:{cluster="eu"}"#);
    assert_eq!(v["truncatedAlerts"], 0);
    assert_eq!(v["externalURL"], "http://cairn.example:9009/alertmanager");
    assert_eq!(v["groupLabels"], serde_json::json!({"cluster": "eu"}));
    assert_eq!(
        v["commonLabels"],
        serde_json::json!({"alertname": "A", "cluster": "eu"})
    );
    assert_eq!(
        v["commonAnnotations"],
        serde_json::json!({"summary": "it broke"})
    );
    let a = &v["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["startsAt"], "2026-11-23T10:00:00Z");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a["generatorURL"], "http://prom/graph");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
}

#[tokio::test]
async fn run_loop_reads_the_clock() {
    let h = harness(TIMING);
    h.post(&[("alertname", "A"), ("cluster", "eu")], 0, FAR);
    h.clock.set(at(30));
    h.d.run(
        &h.clock,
        Duration::from_millis(5),
        tokio::time::sleep(Duration::from_millis(60)),
    )
    .await;
    let sent = h.n.take();
    assert_eq!(sent.len(), 1, "flushed once, dedup holds the rest");
    assert_eq!(h.d.next_due(), Some(at(330)));
}

#[tokio::test]
async fn webhook_max_alerts_truncates() {
    let h = harness(
        r#"
route: {receiver: hook, group_wait: 0s}
receivers: [{name: hook, webhook_configs: [{url: 'http://h/', max_alerts: 2}]}]
"#,
    );
    for i in ["1", "2", "3"] {
        h.post(&[("alertname", "A"), ("i", i)], 0, FAR);
    }
    let sent = h.tick(0).await;
    assert_eq!(sent[0].message.alerts.len(), 2);
    assert_eq!(sent[0].message.truncated_alerts, 1);
    assert_eq!(sent[0].message.alerts[0].labels["i"], "1");
}
