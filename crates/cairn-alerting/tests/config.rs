//! Parsing `alertmanager.yml` files: a realistic one, defaults, inheritance, and errors.

use std::time::Duration;

use cairn_alerting::{Config, DEFAULT_PAGERDUTY_URL, GroupBy, IntegrationKind, Route};
use cairn_model::Labels;

fn example() -> Config {
    Config::from_yaml(include_str!("testdata/alertmanager.yml")).unwrap()
}

fn receivers_for(route: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
    let labels = Labels::from_pairs(pairs.iter().copied()).unwrap();
    route
        .matching(&labels)
        .iter()
        .map(|r| r.opts.receiver.clone())
        .collect()
}

#[test]
fn documented_example_parses() {
    let c = example();
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(600));
    assert_eq!(c.receivers.len(), 5);
    assert_eq!(c.templates, vec!["/etc/alertmanager/template/*.tmpl"]);
    let x = c.receiver("team-X-mails").unwrap();
    assert_eq!(
        x.slack_configs[0].api_url.as_deref(),
        Some("https://hooks.slack.com/services/T000/B000/XXXXXXXX"),
        "global slack_api_url fills in"
    );
    let pd = &c.receiver("team-X-pager").unwrap().pagerduty_configs[0];
    assert!(pd.send_resolved, "pagerduty sends resolved by default");
    assert_eq!(pd.url.as_deref(), Some(DEFAULT_PAGERDUTY_URL));
    let wh = &c.receiver("team-Y-mails").unwrap().webhook_configs[0];
    assert!(wh.send_resolved);
    assert_eq!(wh.max_alerts, 20);
    let db = c.receiver("team-DB-pager").unwrap();
    let kinds: Vec<_> = db
        .integrations()
        .iter()
        .map(|i| (i.kind, i.send_resolved))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (IntegrationKind::Slack, false),
            (IntegrationKind::Pagerduty, true)
        ]
    );
    assert!(!c.receiver("team-Y-pager").unwrap().pagerduty_configs[0].send_resolved);
    assert_eq!(c.inhibit_rules.len(), 2);
    assert_eq!(c.inhibit_rules[1].source.len(), 1);
    assert_eq!(c.time_intervals.len(), 2);
}

#[test]
fn routing_of_the_example() {
    let c = example();
    let r = &c.route;
    assert_eq!(
        receivers_for(r, &[("service", "foo1")]),
        vec!["team-X-mails"]
    );
    assert_eq!(
        receivers_for(r, &[("service", "baz"), ("severity", "critical")]),
        vec!["team-X-pager"]
    );
    assert_eq!(
        receivers_for(r, &[("service", "files"), ("severity", "critical")]),
        vec!["team-Y-pager"]
    );
    // owner=team-X continues to the next sibling, which does not match: only team-X-pager.
    assert_eq!(
        receivers_for(r, &[("service", "database"), ("owner", "team-X")]),
        vec!["team-X-pager"]
    );
    assert_eq!(
        receivers_for(r, &[("service", "database"), ("owner", "nobody")]),
        vec!["team-DB-pager"]
    );
    assert_eq!(
        receivers_for(r, &[("service", "other")]),
        vec!["team-X-mails"]
    );
    assert_eq!(
        receivers_for(r, &[("severity", "info"), ("team", "web")]),
        vec!["team-X-mails"]
    );

    // Inheritance: the database child overrides group_by, its children inherit it and the
    // timings from the root.
    let labels = Labels::from_pairs([("service", "database"), ("owner", "team-Y")]).unwrap();
    let m = r.matching(&labels);
    assert_eq!(m.len(), 1);
    let o = &m[0].opts;
    assert_eq!(
        o.group_by,
        GroupBy::Labels(vec![
            "alertname".into(),
            "cluster".into(),
            "database".into()
        ])
    );
    assert_eq!(o.repeat_interval, Duration::from_secs(3 * 3600));
    assert_eq!(o.group_wait, Duration::from_secs(30));
    assert_eq!(m[0].key, r#"{}/{service="database"}/{owner="team-Y"}"#);
    // Time intervals are not inherited.
    let info = Labels::from_pairs([("severity", "info"), ("team", "web")]).unwrap();
    let m = r.matching(&info);
    assert_eq!(m[0].opts.mute_time_intervals, vec!["offhours"]);
    assert_eq!(m[0].key, r#"{}/{severity="info",team=~"^(web|mobile)$"}"#);
}

#[test]
fn defaults_and_continue() {
    let c = Config::from_yaml(
        r#"
route:
  receiver: default
  routes:
    - matchers: ['team="a"']
      receiver: a
      continue: true
      group_by: ['...']
    - matchers: ['{team=~"a|b", env!=dev}']
      receiver: b
      group_wait: 1m
    - receiver: never
receivers: [{name: default}, {name: a}, {name: b}, {name: never}]
"#,
    )
    .unwrap();
    let r = &c.route;
    assert_eq!(r.opts.group_wait, Duration::from_secs(30));
    assert_eq!(r.opts.group_interval, Duration::from_secs(300));
    assert_eq!(r.opts.repeat_interval, Duration::from_secs(4 * 3600));
    assert_eq!(r.opts.group_by, GroupBy::Labels(vec![]));
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(300));
    assert_eq!(receivers_for(r, &[("team", "a")]), vec!["a", "b"]);
    assert_eq!(
        receivers_for(r, &[("team", "a"), ("env", "dev")]),
        vec!["a", "never"]
    );
    assert_eq!(receivers_for(r, &[("team", "b")]), vec!["b"]);
    assert_eq!(receivers_for(r, &[("team", "c")]), vec!["never"]);
    let a = Labels::from_pairs([("team", "a"), ("x", "1")]).unwrap();
    let m = r.matching(&a);
    assert_eq!(m[0].opts.group_by, GroupBy::All);
    assert_eq!(m[0].group_labels(&a), a);
    assert_eq!(m[1].opts.group_wait, Duration::from_secs(60));
    assert_eq!(m[1].group_labels(&a), Labels::empty());
}

#[test]
fn errors_name_the_problem() {
    let cases = [
        (
            "route: {receiver: r, grup_by: [a]}\nreceivers: [{name: r}]",
            "grup_by",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r}]\nbogus: 1",
            "bogus",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://x', colour: red}]}]",
            "colour",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a@b}]}]",
            "email_configs are not supported",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: [{}]}]",
            "opsgenie_configs",
        ),
        (
            "route: {receiver: nope}\nreceivers: [{name: r}]",
            "\"nope\"",
        ),
        (
            "route: {receiver: r, group_wait: 5x}\nreceivers: [{name: r}]",
            "route.group_wait",
        ),
        (
            "route: {receiver: r, routes: [{matchers: ['a=~\"(\"']}]}\nreceivers: [{name: r}]",
            "route.routes[0]",
        ),
        (
            "route: {receiver: r, routes: [{receiver: r, mute_time_intervals: [night]}]}\nreceivers: [{name: r}]",
            "\"night\"",
        ),
        (
            "route: {receiver: r, matchers: ['a=b']}\nreceivers: [{name: r}]",
            "root route must not have matchers",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r}, {name: r}]",
            "defined twice",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{}]}]",
            "routing_key",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{channel: x}]}]",
            "api_url",
        ),
        (
            "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]",
            "'...'",
        ),
        ("receivers: [{name: r}]", "no route"),
        (
            "route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules: [{source_matchers: ['a=~\"[\"']}]",
            "inhibit_rules[0]",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: t, time_intervals: [{weekdays: [someday]}]}]",
            "someday",
        ),
    ];
    for (yaml, want) in cases {
        let e = Config::from_yaml(yaml).unwrap_err().to_string();
        assert!(e.contains(want), "{yaml}\n-> {e}\n(wanted {want:?})");
    }
}

fn receiver_error(receiver_yaml: &str) -> String {
    let yaml = format!("route: {{receiver: r}}\nreceivers:\n  - name: r\n{receiver_yaml}");
    Config::from_yaml(&yaml).unwrap_err().to_string()
}

#[test]
fn receiver_settings_are_validated() {
    let cases = [
        (
            "    pagerduty_configs: [{routing_key: a, routing_key_file: /k}]\n",
            "routing_key and routing_key_file are mutually exclusive",
        ),
        (
            "    pagerduty_configs: [{routing_key: a, service_key: b}]\n",
            "routing_key and service_key are mutually exclusive",
        ),
        (
            "    pagerduty_configs: [{routing_key: a, severity: fatal}]\n",
            "severity \"fatal\"",
        ),
        (
            "    slack_configs: [{api_url: 'http://x', api_url_file: /u}]\n",
            "api_url and api_url_file are mutually exclusive",
        ),
        (
            "    slack_configs: [{api_url: 'http://x', timeout: 10x}]\n",
            "slack_configs[0].timeout",
        ),
        (
            "    webhook_configs: [{url: 'http://x', http_config: {oauth2: {}}}]\n",
            "unknown field `oauth2`",
        ),
        (
            "    webhook_configs: [{url: 'http://x', http_config: {bearer_token: a, basic_auth: {username: u}}}]\n",
            "at most one of authorization, basic_auth and bearer_token",
        ),
        (
            "    slack_configs: [{api_url: 'http://x', fields: [{title: a, value: b, colour: c}]}]\n",
            "unknown field `colour`",
        ),
    ];
    for (yaml, want) in cases {
        let err = receiver_error(yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
}

#[test]
fn global_http_config_is_every_integrations_default() {
    let c = Config::from_yaml(
        r#"
global:
  http_config:
    authorization: {credentials_file: /run/secrets/token}
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://a'}, {url: 'http://b', http_config: {follow_redirects: false}}]
    pagerduty_configs: [{routing_key: k, links: [{href: 'https://x', text: X}], images: [{src: 'https://i'}]}]
"#,
    )
    .unwrap();
    let r = c.receiver("r").unwrap();
    let inherited = r.webhook_configs[0].http_config.as_ref().unwrap();
    assert_eq!(
        inherited
            .authorization
            .as_ref()
            .unwrap()
            .credentials_file
            .as_deref(),
        Some("/run/secrets/token")
    );
    let own = r.webhook_configs[1].http_config.as_ref().unwrap();
    assert!(own.authorization.is_none());
    assert_eq!(own.follow_redirects, Some(false));
    assert!(r.pagerduty_configs[0].http_config.is_some());
    assert_eq!(r.pagerduty_configs[0].links.as_ref().unwrap()[0].text, "X");
}
