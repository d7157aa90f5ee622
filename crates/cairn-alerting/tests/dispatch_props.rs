//! Properties of the dispatcher's timeline over random alert streams.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_alerting::{
    Config, Dispatcher, NotificationLog, PostableAlert, RecordingNotifier, Silences,
};
use cairn_model::Labels;
use chrono::{DateTime, Utc};
use proptest::prelude::*;

const GROUP_WAIT: i64 = 30;
const GROUP_INTERVAL: i64 = 120;
const TICK: i64 = 10;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// A notification seen: time, group key, and (alert id, status) of each alert.
type Sent = (i64, String, Vec<(String, String)>);

#[derive(Debug, Clone)]
struct Post {
    at: i64,
    name: u8,
    cluster: u8,
    /// Seconds after `at` at which the sender says it ends; `None` leaves it to the timeout.
    ends_after: Option<i64>,
}

fn posts() -> impl Strategy<Value = Vec<Post>> {
    prop::collection::vec(
        (0..1800i64, 0..3u8, 0..2u8, prop::option::of(0..2000i64)),
        1..25,
    )
    .prop_map(|v| {
        let mut v: Vec<Post> = v
            .into_iter()
            .map(|(at, name, cluster, ends_after)| Post {
                at: at - at % TICK,
                name,
                cluster,
                ends_after,
            })
            .collect();
        v.sort_by_key(|p| p.at);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn flushes_are_spaced_and_firing_alerts_are_told(posts in posts()) {
        let config = Config::from_yaml(&format!(
            "route: {{receiver: r, group_by: [cluster], group_wait: {GROUP_WAIT}s, \
             group_interval: {GROUP_INTERVAL}s, repeat_interval: 1h}}\n\
             receivers: [{{name: r, webhook_configs: [{{url: 'http://h/'}}]}}]"
        ))
        .unwrap();
        let n = Arc::new(RecordingNotifier::new());
        let d = Dispatcher::new(
            config,
            Arc::clone(&n) as Arc<dyn cairn_alerting::Notifier>,
            Arc::new(Silences::new()),
            Arc::new(NotificationLog::new()),
            "",
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut log: Vec<Sent> = Vec::new();
        let mut next = 0;
        let mut t = 0;
        while t <= 1800 + 2000 + GROUP_INTERVAL * 2 {
            while next < posts.len() && posts[next].at == t {
                let p = &posts[next];
                let name = format!("A{}", p.name);
                let cluster = format!("c{}", p.cluster);
                let errs = d.put_alerts(
                    vec![PostableAlert {
                        labels: Labels::from_pairs([
                            ("alertname", name.as_str()),
                            ("cluster", cluster.as_str()),
                        ])
                        .unwrap(),
                        annotations: BTreeMap::new(),
                        starts_at: Some(at(p.at)),
                        ends_at: p.ends_after.map(|e| at(p.at + e)),
                        generator_url: String::new(),
                    }],
                    at(t),
                );
                prop_assert!(errs.is_empty());
                next += 1;
            }
            rt.block_on(d.tick(at(t)));
            for call in n.take() {
                let alerts = call
                    .message
                    .alerts
                    .iter()
                    .map(|a| (a.labels["alertname"].clone() + &a.labels["cluster"], a.status.clone()))
                    .collect();
                log.push((t, call.message.group_key.clone(), alerts));
            }
            t += TICK;
        }

        // Two notifications of one group are at least group_interval apart, unless the first
        // resolved everything, which ends the group (a new one starts with group_wait).
        let mut last: BTreeMap<&str, (i64, bool)> = BTreeMap::new();
        for (t, key, alerts) in &log {
            let firing = alerts.iter().any(|(_, s)| s == "firing");
            if let Some((prev, prev_firing)) = last.insert(key.as_str(), (*t, firing)) {
                prop_assert!(
                    !prev_firing || t - prev >= GROUP_INTERVAL,
                    "{key} at {prev} and {t}"
                );
            }
        }
        // An alert still firing group_wait + group_interval after it was posted has been
        // notified as firing by then.
        for p in &posts {
            let id = format!("A{}c{}", p.name, p.cluster);
            let deadline = p.at + GROUP_WAIT + GROUP_INTERVAL + TICK;
            let still_firing = posts.iter().filter(|q| format!("A{}c{}", q.name, q.cluster) == id && q.at <= deadline).all(|q| {
                let end = q.at + q.ends_after.unwrap_or(300);
                end > deadline
            });
            if still_firing {
                let told = log.iter().any(|(t, _, alerts)| {
                    *t >= p.at && *t <= deadline
                        && alerts.iter().any(|(a, s)| *a == id && s == "firing")
                }) || log.iter().any(|(t, _, alerts)| {
                    *t < p.at && alerts.iter().any(|(a, s)| *a == id && s == "firing")
                });
                prop_assert!(told, "{id} posted at {} not told by {deadline}: {log:?}", p.at);
            }
        }
        // Every notification carries at least one alert.
        for (_, _, alerts) in &log {
            prop_assert!(!alerts.is_empty());
        }
    }
}
