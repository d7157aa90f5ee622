//! Receivers end to end: alerts go through the Dispatcher (grouping, timing, resolve) into
//! the HttpNotifier, which posts to HTTP servers standing in for Slack, PagerDuty and a
//! webhook; every body is checked against the services' documented schemas.

#[path = "support/standins.rs"]
mod standins;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_alerting::Clock;
use cairn_alerting::{
    Config, Dispatcher, HttpNotifier, ManualClock, NotificationLog, Notifier, NotifierOptions,
    PostableAlert, ReceiverMetrics, Silences, pagerduty_dedup_key,
};
use cairn_model::Labels;
use chrono::{DateTime, TimeDelta, Utc};
use prometheus_client::registry::Registry;
use standins::{Answer, Kind, StandIn};

const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const EXTERNAL_URL: &str = "http://cairn.example:9009/alertmanager";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

fn fast() -> NotifierOptions {
    NotifierOptions {
        give_up_after: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
        slack_channel_interval: Duration::from_millis(1),
        template_dir: None,
    }
}

struct Harness {
    d: Dispatcher,
    clock: ManualClock,
    registry: Registry,
}

fn harness(yaml: &str, options: NotifierOptions) -> Harness {
    let config = Config::from_yaml(yaml).unwrap();
    let mut registry = Registry::default();
    let metrics = ReceiverMetrics::new(&mut registry);
    let notifier = HttpNotifier::new(&config, options, metrics).unwrap();
    let d = Dispatcher::new(
        config,
        Arc::new(notifier) as Arc<dyn Notifier>,
        Arc::new(Silences::new()),
        Arc::new(NotificationLog::new()),
        EXTERNAL_URL,
    );
    Harness {
        d,
        clock: ManualClock::new(t0()),
        registry,
    }
}

impl Harness {
    fn post(&self, pairs: &[(&str, &str)], annotations: &[(&str, &str)], end: Option<i64>) {
        let p = PostableAlert {
            labels: Labels::from_pairs(pairs.iter().copied()).unwrap(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            starts_at: Some(at(0)),
            ends_at: end.map(at),
            generator_url: "http://prom.example/graph?g0.expr=up".into(),
        };
        let errs = self.d.put_alerts(vec![p], self.clock.now());
        assert!(errs.is_empty(), "{errs:?}");
    }

    async fn tick(&self, secs: i64) -> cairn_alerting::TickReport {
        self.clock.set(at(secs));
        self.d.tick(self.clock.now()).await
    }

    fn metrics(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry).unwrap();
        s
    }
}

fn page_config(pd: &StandIn, slack: &StandIn) -> String {
    format!(
        r#"
route:
  receiver: slack-tickets
  group_by: [alertname, service]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: pagerduty-page
receivers:
  - name: pagerduty-page
    pagerduty_configs:
      - routing_key: {ROUTING_KEY}
        url: {pd}/v2/enqueue
  - name: slack-tickets
    slack_configs:
      - api_url: {slack}/services/T000/B000/SECRETPATH
        channel: '#tickets'
        send_resolved: true
"#,
        pd = pd.url,
        slack = slack.url
    )
}

#[tokio::test]
async fn one_trigger_per_group_then_resolve_with_the_same_dedup_key() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let h = harness(&page_config(&pd, &slack), fast());
    let slo = [
        ("summary", "checkout is burning its error budget"),
        ("objective", "99.9"),
        ("burn_rate", "14.4"),
        ("error_budget_remaining", "0.62"),
        ("runbook_url", "https://runbooks.example/checkout"),
    ];
    for instance in ["a", "b"] {
        h.post(
            &[
                ("alertname", "CheckoutErrorBudgetBurn"),
                ("service", "checkout"),
                ("severity", "critical"),
                ("sloth_slo", "requests-availability"),
                ("sloth_window", "1h"),
                ("instance", instance),
            ],
            &slo,
            Some(100_000),
        );
    }
    h.tick(0).await;
    assert!(
        pd.take().is_empty(),
        "group_wait holds the first notification"
    );
    let r = h.tick(30).await;
    assert_eq!((r.sent, r.failed), (1, 0));
    let got = pd.take();
    assert_eq!(got.len(), 1, "one trigger for the group of two alerts");
    let ev = &got[0].body;
    let group_key =
        r#"{}/{severity="critical"}:{alertname="CheckoutErrorBudgetBurn", service="checkout"}"#;
    assert_eq!(h.d.groups()[0].key, group_key);
    assert_eq!(ev["event_action"], "trigger");
    assert_eq!(ev["routing_key"], ROUTING_KEY);
    assert_eq!(ev["dedup_key"], pagerduty_dedup_key(group_key));
    assert_eq!(ev["payload"]["severity"], "critical");
    assert_eq!(ev["payload"]["custom_details"]["num_firing"], "2");
    assert_eq!(ev["payload"]["custom_details"]["num_resolved"], "0");
    let ctx = &ev["payload"]["custom_details"]["slo"];
    assert_eq!(ctx["slo"], "requests-availability");
    assert_eq!(ctx["objective"], "99.9");
    assert_eq!(ctx["burn_rate"], "14.4");
    assert_eq!(ctx["error_budget_remaining"], "0.62");
    assert_eq!(ctx["window"], "1h");
    assert_eq!(ev["links"][0]["href"], "https://runbooks.example/checkout");
    assert_eq!(ev["payload"]["timestamp"], "2026-11-23T10:00:00.000Z");
    assert!(slack.take().is_empty(), "critical alerts page only");

    // Nothing new: later flushes stay quiet.
    h.tick(330).await;
    assert!(pd.take().is_empty());

    // Both resolve; the next flush resolves the incident with the same key.
    h.clock.set(at(400));
    for instance in ["a", "b"] {
        h.post(
            &[
                ("alertname", "CheckoutErrorBudgetBurn"),
                ("service", "checkout"),
                ("severity", "critical"),
                ("sloth_slo", "requests-availability"),
                ("sloth_window", "1h"),
                ("instance", instance),
            ],
            &slo,
            Some(400),
        );
    }
    h.tick(630).await;
    let got = pd.take();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["event_action"], "resolve");
    assert_eq!(got[0].body["dedup_key"], pagerduty_dedup_key(group_key));
    assert!(h.d.groups().is_empty(), "resolved and notified: forgotten");

    let m = h.metrics();
    assert!(
        m.contains(r#"cairn_alertmanager_notifications_total{receiver="pagerduty-page",integration="pagerduty"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"cairn_alertmanager_notification_requests_total{receiver="pagerduty-page",integration="pagerduty"} 2"#),
        "{m}"
    );
}

#[tokio::test]
async fn default_texts_have_alertmanagers_shape() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let h = harness(&page_config(&pd, &slack), fast());
    for env in ["prod"] {
        for instance in ["a", "b"] {
            h.post(
                &[
                    ("alertname", "HighLatency"),
                    ("service", "api"),
                    ("env", env),
                    ("severity", "warning"),
                    ("instance", instance),
                ],
                &[
                    ("summary", "p99 above 1s"),
                    ("dashboard_url", "https://grafana.example/d/api"),
                ],
                Some(100_000),
            );
        }
    }
    h.tick(30).await;
    let got = slack.take();
    assert_eq!(got.len(), 1);
    let m = &got[0].body;
    let a = &m["attachments"][0];
    assert_eq!(a["title"], "[FIRING:2] HighLatency api (prod warning)");
    assert_eq!(
        a["title_link"],
        format!("{EXTERNAL_URL}/#/alerts?receiver=slack-tickets")
    );
    assert_eq!(a["color"], "warning");
    assert_eq!(m["channel"], "#tickets");
    assert_eq!(m["username"], "Cairn");
    assert_eq!(
        a["fallback"],
        format!(
            "[FIRING:2] HighLatency api (prod warning) | {EXTERNAL_URL}/#/alerts?receiver=slack-tickets"
        )
    );
    assert_eq!(
        a["text"],
        "*HighLatency* p99 above 1s\n*HighLatency* p99 above 1s\n"
    );
    assert_eq!(a["actions"][0]["text"], "Dashboard");
    assert_eq!(a["actions"][0]["url"], "https://grafana.example/d/api");
    assert_eq!(
        a["mrkdwn_in"],
        serde_json::json!(["fallback", "pretext", "text"])
    );
    assert!(pd.take().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_until_accepted() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let h = harness(&page_config(&pd, &slack), fast());
    pd.script([Answer::Status(500), Answer::Status(503)]);
    h.post(
        &[("alertname", "A"), ("severity", "critical")],
        &[],
        Some(100_000),
    );
    let r = h.tick(30).await;
    assert_eq!((r.sent, r.failed), (1, 0));
    let got = pd.take();
    assert_eq!(got.len(), 3, "two failures, then accepted");
    assert!(
        got.iter().all(|g| g.body == got[0].body),
        "the same event each time"
    );
    let m = h.metrics();
    assert!(m.contains(r#"cairn_alertmanager_notification_requests_failed_total{receiver="pagerduty-page",integration="pagerduty"} 2"#), "{m}");
    // Delivered: nothing repeats before repeat_interval.
    h.tick(330).await;
    assert!(pd.take().is_empty());
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let h = harness(&page_config(&pd, &slack), fast());
    pd.script([Answer::TooMany(1)]);
    h.post(
        &[("alertname", "A"), ("severity", "critical")],
        &[],
        Some(100_000),
    );
    let r = h.tick(30).await;
    assert_eq!(r.sent, 1);
    let got = pd.take();
    assert_eq!(got.len(), 2);
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= Duration::from_millis(990),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn a_bad_request_is_not_retried_and_the_next_flush_tries_again() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let h = harness(&page_config(&pd, &slack), fast());
    pd.script([Answer::Status(400)]);
    h.post(
        &[("alertname", "A"), ("severity", "critical")],
        &[],
        Some(100_000),
    );
    let r = h.tick(30).await;
    assert_eq!((r.sent, r.failed), (0, 1));
    assert_eq!(pd.take().len(), 1, "a 400 is final");
    let m = h.metrics();
    assert!(m.contains(r#"cairn_alertmanager_notifications_failed_total{receiver="pagerduty-page",integration="pagerduty",reason="client_error"} 1"#), "{m}");
    // Nothing was logged in the nflog: the next flush sends the trigger again.
    let r = h.tick(330).await;
    assert_eq!((r.sent, r.failed), (1, 0));
    let got = pd.take();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["event_action"], "trigger");
}

#[tokio::test]
async fn gives_up_after_the_configured_time() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let options = NotifierOptions {
        give_up_after: Duration::from_millis(300),
        ..fast()
    };
    let h = harness(&page_config(&pd, &slack), options);
    pd.script((0..1000).map(|_| Answer::Status(502)));
    h.post(
        &[("alertname", "A"), ("severity", "critical")],
        &[],
        Some(100_000),
    );
    let started = std::time::Instant::now();
    let r = h.tick(30).await;
    assert_eq!((r.sent, r.failed), (0, 1));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(pd.take().len() >= 2, "retried before giving up");
    let m = h.metrics();
    assert!(m.contains(r#"reason="server_error"} 1"#), "{m}");
}

#[tokio::test]
async fn slack_web_api_with_token_and_ok_false() {
    let api = StandIn::start(Kind::SlackApi).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("slack-token");
    std::fs::write(&token, "xoxb-test-token\n").unwrap();
    let yaml = format!(
        r#"
route:
  receiver: slack
  group_by: [alertname]
receivers:
  - name: slack
    slack_configs:
      - app_token_file: {token}
        app_url: {url}/api/chat.postMessage
        channel: '#alerts'
        title: '{{{{ .CommonLabels.alertname }}}} is {{{{ .Status }}}}'
        fields:
          - title: Service
            value: '{{{{ .CommonLabels.service }}}}'
        actions:
          - type: button
            text: Silence
            url: '{{{{ .ExternalURL }}}}/#/silences/new'
"#,
        token = token.display(),
        url = api.url
    );
    let h = harness(&yaml, fast());
    api.script([
        Answer::Body(r#"{"ok":false,"error":"ratelimited"}"#.into()),
        Answer::Body(r#"{"ok":false,"error":"channel_not_found"}"#.into()),
    ]);
    h.post(
        &[("alertname", "DiskFull"), ("service", "db")],
        &[],
        Some(100_000),
    );
    let r = h.tick(30).await;
    assert_eq!(
        (r.sent, r.failed),
        (0, 1),
        "ok:false with a permanent error fails"
    );
    let got = api.take();
    assert_eq!(
        got.len(),
        2,
        "ratelimited is retried, channel_not_found is not"
    );
    assert_eq!(got[0].path, "/api/chat.postMessage");
    assert_eq!(
        got[0].authorization.as_deref(),
        Some("Bearer xoxb-test-token")
    );
    let a = &got[0].body["attachments"][0];
    assert_eq!(a["title"], "DiskFull is firing");
    assert_eq!(a["fields"][0]["value"], "db");
    assert_eq!(a["fields"][0]["short"], false);
    assert_eq!(
        a["actions"][0]["url"],
        format!("{EXTERNAL_URL}/#/silences/new")
    );
    let r = h.tick(330).await;
    assert_eq!((r.sent, r.failed), (1, 0));
    assert_eq!(api.take().len(), 1);
}

#[tokio::test]
async fn slack_messages_to_one_channel_are_paced() {
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let yaml = format!(
        r#"
route:
  receiver: slack
  group_by: [alertname]
receivers:
  - name: slack
    slack_configs:
      - api_url: {url}/services/T/B/SECRETPATH
        channel: '#alerts'
"#,
        url = slack.url
    );
    let options = NotifierOptions {
        slack_channel_interval: Duration::from_millis(400),
        ..fast()
    };
    let h = harness(&yaml, options);
    for name in ["A", "B", "C"] {
        h.post(&[("alertname", name)], &[], Some(100_000));
    }
    let r = h.tick(30).await;
    assert_eq!(r.sent, 3);
    let got = slack.take();
    assert_eq!(got.len(), 3);
    for w in got.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= Duration::from_millis(390), "gap {gap:?}");
    }
}

#[tokio::test]
async fn slack_429_holds_the_channel_and_secrets_stay_out_of_errors() {
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let yaml = format!(
        r#"
route:
  receiver: slack
receivers:
  - name: slack
    slack_configs:
      - api_url: {url}/services/T/B/SECRETPATH
"#,
        url = slack.url
    );
    let config = Config::from_yaml(&yaml).unwrap();
    let n = HttpNotifier::new(&config, fast(), ReceiverMetrics::default()).unwrap();
    let msg = cairn_alerting::WebhookMessage::new(
        "slack",
        "{}:{}",
        &Labels::empty(),
        &[],
        EXTERNAL_URL,
        t0(),
    );
    let notification = cairn_alerting::Notification {
        receiver: "slack".into(),
        integration: config.receivers[0].integrations()[0],
        reason: cairn_alerting::NotifyReason::FirstNotification,
        message: msg,
    };
    slack.script([Answer::TooMany(1), Answer::Status(404)]);
    let err = n.notify(&notification).await.unwrap_err().to_string();
    let got = slack.take();
    assert_eq!(got.len(), 2);
    assert!(got[1].at - got[0].at >= Duration::from_millis(990));
    assert!(err.contains("404"), "{err}");
    assert!(!err.contains("SECRETPATH"), "secret in error: {err}");
}

#[tokio::test]
async fn webhook_v4_with_max_alerts() {
    let hook = StandIn::start(Kind::Webhook).await;
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("url");
    std::fs::write(&url_file, format!("{}/hook\n", hook.url)).unwrap();
    let yaml = format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
receivers:
  - name: hook
    webhook_configs:
      - url_file: {f}
        max_alerts: 2
        http_config:
          basic_auth: {{username: cairn, password: hunter2}}
"#,
        f = url_file.display()
    );
    let h = harness(&yaml, fast());
    for i in ["1", "2", "3"] {
        h.post(
            &[("alertname", "A"), ("instance", i)],
            &[("summary", "s")],
            Some(100_000),
        );
    }
    h.tick(30).await;
    let got = hook.take();
    assert_eq!(got.len(), 1);
    let b = &got[0].body;
    assert_eq!(got[0].path, "/hook");
    assert_eq!(
        got[0].authorization.as_deref(),
        Some("Basic Y2Fpcm46aHVudGVyMg==")
    );
    assert_eq!(b["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(b["truncatedAlerts"], 1);
    assert_eq!(b["groupLabels"]["alertname"], "A");
    assert_eq!(b["commonAnnotations"]["summary"], "s");
    assert_eq!(b["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
}

#[tokio::test]
async fn routing_key_file_and_payload_limits() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("routing-key");
    std::fs::write(&key_file, format!("{ROUTING_KEY}\n")).unwrap();
    let yaml = format!(
        r#"
route:
  receiver: pd
receivers:
  - name: pd
    pagerduty_configs:
      - routing_key_file: {f}
        url: {url}/v2/enqueue
        description: '{{{{ .CommonAnnotations.summary }}}}'
        severity: warning
        component: checkout
        class: slo
        group: payments
        details:
          huge: '{{{{ .CommonAnnotations.huge }}}}'
        links:
          - href: https://slo.example/checkout
            text: SLO page
        images:
          - src: https://graphs.example/burn.png
            alt: burn rate
"#,
        f = key_file.display(),
        url = pd.url
    );
    let h = harness(&yaml, fast());
    let long_summary = "x".repeat(5000);
    let huge = "y".repeat(600 * 1024);
    h.post(
        &[("alertname", "A")],
        &[("summary", long_summary.as_str()), ("huge", huge.as_str())],
        Some(100_000),
    );
    let r = h.tick(30).await;
    assert_eq!(r.sent, 1);
    let got = pd.take();
    let ev = &got[0].body;
    assert_eq!(ev["routing_key"], ROUTING_KEY);
    let summary = ev["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    assert!(summary.ends_with('…'));
    assert_eq!(ev["payload"]["severity"], "warning");
    assert_eq!(ev["payload"]["component"], "checkout");
    assert_eq!(ev["payload"]["class"], "slo");
    assert_eq!(ev["payload"]["group"], "payments");
    assert!(
        ev["payload"]["custom_details"].get("huge").is_none(),
        "details dropped over 512 KB"
    );
    assert!(ev["payload"]["custom_details"]["error"].is_string());
    assert_eq!(ev["links"][0]["text"], "SLO page");
    assert_eq!(ev["images"][0]["alt"], "burn rate");
}

#[test]
fn the_example_config_routes_pages_and_tickets() {
    let text = include_str!("../../../config/alertmanager.yml");
    let c = Config::from_yaml(text).unwrap();
    let receivers = |pairs: &[(&str, &str)]| -> Vec<String> {
        let l = Labels::from_pairs(pairs.iter().copied()).unwrap();
        c.route
            .matching(&l)
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect()
    };
    assert_eq!(
        receivers(&[("alertname", "X"), ("severity", "critical")]),
        ["pagerduty-page"]
    );
    assert_eq!(
        receivers(&[("alertname", "X"), ("sloth_severity", "page")]),
        ["pagerduty-page"]
    );
    assert_eq!(
        receivers(&[("alertname", "X"), ("sloth_severity", "ticket")]),
        ["slack-tickets"]
    );
    // Building the notifier checks every integration's client settings.
    assert!(HttpNotifier::new(&c, NotifierOptions::default(), ReceiverMetrics::default()).is_ok());
}

#[tokio::test]
async fn stand_ins_reject_bodies_that_break_the_schema() {
    let client = reqwest::Client::new();
    let cases = [
        (
            Kind::Pagerduty,
            serde_json::json!({"routing_key": "short", "event_action": "page",
                "payload": {"summary": "", "severity": "fatal", "source": "x"}}),
            vec!["routing_key", "event_action", "summary", "severity"],
        ),
        (
            Kind::Pagerduty,
            serde_json::json!({"routing_key": ROUTING_KEY, "event_action": "resolve"}),
            vec!["dedup_key"],
        ),
        (
            Kind::SlackApi,
            serde_json::json!({"attachments": [{"color": "red", "title_link": "nope",
                "fields": [{"title": "a"}], "actions": [{"type": "link"}]}]}),
            vec![
                "channel",
                "color",
                "title_link",
                "fields",
                "actions[0].type",
                "fallback",
            ],
        ),
        (
            Kind::Webhook,
            serde_json::json!({"version": "3", "status": "ok", "alerts": [{"fingerprint": "x"}]}),
            vec!["version", "status", "fingerprint", "startsAt"],
        ),
    ];
    for (kind, body, expected) in cases {
        let s = StandIn::start(kind).await;
        let resp = client
            .post(format!("{}/x", s.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{kind:?} accepted {body}");
        let problems = s.raw()[0].problems.join("\n");
        for e in expected {
            assert!(
                problems.contains(e),
                "{kind:?}: no problem about {e}: {problems}"
            );
        }
    }
}

#[tokio::test]
async fn user_templates_redefine_defaults_and_resolves_are_green() {
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("team.tmpl"),
        r#"{{ define "slack.default.title" }}{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} on {{ .CommonLabels.service }}{{ end }}"#,
    )
    .unwrap();
    let yaml = format!(
        r#"
templates: ['*.tmpl']
route:
  receiver: slack
  group_by: [alertname]
receivers:
  - name: slack
    slack_configs:
      - api_url: {url}/services/T/B/SECRETPATH
        send_resolved: true
"#,
        url = slack.url
    );
    let options = NotifierOptions {
        template_dir: Some(dir.path().to_path_buf()),
        ..fast()
    };
    let h = harness(&yaml, options);
    let labels = [
        ("alertname", "QueueFull"),
        ("service", "mq"),
        ("severity", "critical"),
    ];
    h.post(&labels, &[], Some(100_000));
    h.tick(30).await;
    let got = slack.take();
    assert_eq!(
        got[0].body["attachments"][0]["title"],
        "FIRING: QueueFull on mq"
    );
    assert_eq!(got[0].body["attachments"][0]["color"], "danger");
    h.clock.set(at(100));
    h.post(&labels, &[], Some(100));
    h.tick(330).await;
    let got = slack.take();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].body["attachments"][0]["title"],
        "RESOLVED: QueueFull on mq"
    );
    assert_eq!(got[0].body["attachments"][0]["color"], "good");
}

#[test]
fn a_broken_template_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.tmpl"), r#"{{ define "x" }}{{ .Foo "#).unwrap();
    let yaml = "templates: ['bad.tmpl']\nroute: {receiver: r}\nreceivers: [{name: r}]\n";
    let config = Config::from_yaml(yaml).unwrap();
    let options = NotifierOptions {
        template_dir: Some(dir.path().to_path_buf()),
        ..fast()
    };
    let err = HttpNotifier::new(&config, options, ReceiverMetrics::default()).unwrap_err();
    assert!(err.to_string().contains("bad.tmpl"), "{err}");
}

#[tokio::test]
async fn pagerduty_v1_service_key() {
    let pd = StandIn::start(Kind::PagerdutyV1).await;
    let yaml = format!(
        r#"
route:
  receiver: pd
  group_by: [alertname]
receivers:
  - name: pd
    pagerduty_configs:
      - service_key: {ROUTING_KEY}
        url: {url}/generic/2010-04-15/create_event.json
"#,
        url = pd.url
    );
    let h = harness(&yaml, fast());
    h.post(&[("alertname", "Down")], &[], Some(100_000));
    h.tick(30).await;
    h.clock.set(at(60));
    h.post(&[("alertname", "Down")], &[], Some(60));
    h.tick(330).await;
    let got = pd.take();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body["event_type"], "trigger");
    assert_eq!(got[0].body["description"], "[FIRING:1] Down");
    assert_eq!(got[1].body["event_type"], "resolve");
    assert_eq!(got[0].body["incident_key"], got[1].body["incident_key"]);
    assert_eq!(
        got[0].body["incident_key"],
        pagerduty_dedup_key(r#"{}:{alertname="Down"}"#)
    );
}

#[tokio::test]
async fn a_send_cut_short_by_the_caller_is_counted() {
    let pd = StandIn::start(Kind::Pagerduty).await;
    let slack = StandIn::start(Kind::SlackWebhook).await;
    let config = Config::from_yaml(&page_config(&pd, &slack)).unwrap();
    let mut registry = Registry::default();
    let n = HttpNotifier::new(&config, fast(), ReceiverMetrics::new(&mut registry)).unwrap();
    pd.script((0..1000).map(|_| Answer::Status(500)));
    let receiver = config.receiver("pagerduty-page").unwrap();
    let notification = cairn_alerting::Notification {
        receiver: receiver.name.clone(),
        integration: receiver.integrations()[0],
        reason: cairn_alerting::NotifyReason::FirstNotification,
        message: cairn_alerting::WebhookMessage::new(
            &receiver.name,
            "{}:{}",
            &Labels::empty(),
            &[],
            EXTERNAL_URL,
            t0(),
        ),
    };
    let cut = tokio::time::timeout(Duration::from_millis(100), n.notify(&notification)).await;
    assert!(cut.is_err(), "still retrying when the caller gave up");
    let mut s = String::new();
    prometheus_client::encoding::text::encode(&mut s, &registry).unwrap();
    assert!(s.contains(r#"reason="canceled"} 1"#), "{s}");
}

#[test]
fn a_broken_config_text_is_a_config_error() {
    let yaml = "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x\n        title: '{{ .Status '\n";
    let config = Config::from_yaml(yaml).unwrap();
    let err = HttpNotifier::new(&config, fast(), ReceiverMetrics::default()).unwrap_err();
    assert!(err.to_string().contains("receiver \"r\""), "{err}");
}
