//! The service across restarts: silences and the notification log come back from the
//! snapshot, a re-posted firing alert does not notify again, its resolve does.

use std::sync::Arc;

use cairn_alerting::{Notifier, PostableAlert, RecordingNotifier, Silence};
use cairn_model::Labels;
use chrono::{Duration, Utc};
use prometheus_client::registry::Registry;

use super::*;
use crate::config::{AlertmanagerSource, Config};

const AM_YAML: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1m
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
"#;

async fn open(dir: &std::path::Path) -> (Arc<AlertmanagerService>, Arc<RecordingNotifier>) {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.alertmanager.source = AlertmanagerSource::Inline(AM_YAML.to_string());
    let rec = Arc::new(RecordingNotifier::new());
    let r = Arc::clone(&rec);
    let factory: NotifierFactory =
        Arc::new(move |_: &cairn_alerting::Config| Ok(Arc::clone(&r) as Arc<dyn Notifier>));
    let svc = AlertmanagerService::open(&cfg, factory, &mut Registry::default())
        .await
        .unwrap();
    (svc, rec)
}

fn firing(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> PostableAlert {
    PostableAlert {
        labels: Labels::from_pairs([("alertname", "DiskFull"), ("instance", "a")]).unwrap(),
        starts_at: Some(start),
        ends_at: end,
        ..Default::default()
    }
}

#[tokio::test]
async fn restart_neither_pages_twice_nor_loses_the_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc::now();
    let started = t0 - Duration::minutes(10);

    let (svc, rec) = open(dir.path()).await;
    assert!(svc.put_alerts(vec![firing(started, None)]).is_empty());
    svc.dispatcher().tick(t0 + Duration::seconds(2)).await;
    let sent = rec.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.status, "firing");
    let silence_id = svc
        .silences()
        .set(
            Silence {
                id: String::new(),
                matchers: cairn_alerting::parse_matchers("alertname=Other").unwrap(),
                starts_at: t0,
                ends_at: t0 + Duration::hours(1),
                created_by: "sre".into(),
                comment: "c".into(),
                updated_at: t0,
            },
            t0,
        )
        .unwrap();
    svc.persist().await.unwrap();
    assert!(dir.path().join("alertmanager/state.json").exists());
    drop(svc);

    // Restart: the sender re-posts the firing alert.
    let (svc, rec) = open(dir.path()).await;
    assert!(
        svc.silences().get(&silence_id).is_some(),
        "silence survived"
    );
    assert!(svc.put_alerts(vec![firing(started, None)]).is_empty());
    svc.dispatcher()
        .tick(Utc::now() + Duration::seconds(3))
        .await;
    assert!(rec.take().is_empty(), "no second page after the restart");

    // The resolve still goes out.
    let now = Utc::now();
    assert!(svc.put_alerts(vec![firing(started, Some(now))]).is_empty());
    svc.dispatcher().tick(now + Duration::minutes(2)).await;
    let sent = rec.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].message.status, "resolved");

    // Control: without the persisted log the same re-post would page again.
    let empty = tempfile::tempdir().unwrap();
    let (svc, rec) = open(empty.path()).await;
    svc.put_alerts(vec![firing(started, None)]);
    svc.dispatcher()
        .tick(Utc::now() + Duration::seconds(3))
        .await;
    assert_eq!(rec.take().len(), 1);
}

#[tokio::test]
async fn persist_writes_only_on_change_and_a_corrupt_file_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, _) = open(dir.path()).await;
    let path = dir.path().join("alertmanager/state.json");
    svc.persist().await.unwrap();
    assert!(!path.exists(), "nothing changed since the (empty) load");
    let now = Utc::now();
    svc.silences()
        .set(
            Silence {
                id: String::new(),
                matchers: cairn_alerting::parse_matchers("a=b").unwrap(),
                starts_at: now,
                ends_at: now + Duration::hours(1),
                created_by: String::new(),
                comment: String::new(),
                updated_at: now,
            },
            now,
        )
        .unwrap();
    svc.persist().await.unwrap();
    let first = std::fs::metadata(&path).unwrap().modified().unwrap();
    svc.persist().await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), first);
    drop(svc);

    std::fs::write(&path, b"{ torn").unwrap();
    let (svc, _) = open(dir.path()).await;
    assert!(svc.silences().list().is_empty());
    let aside = std::fs::read_dir(dir.path().join("alertmanager"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
    assert!(aside, "the unreadable snapshot is kept for inspection");
}

#[tokio::test]
async fn reload_keeps_alerts_and_refuses_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("am.yml");
    std::fs::write(&file, AM_YAML).unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.alertmanager.source = AlertmanagerSource::File(file.clone());
    let mut registry = Registry::default();
    let factory = http_notifiers(&cfg.alertmanager, &mut registry);
    let svc = AlertmanagerService::open(&cfg, factory, &mut registry)
        .await
        .unwrap();
    svc.put_alerts(vec![firing(Utc::now(), None)]);
    std::fs::write(
        &file,
        AM_YAML
            .replace("receiver: hook", "receiver: renamed")
            .replace("name: hook", "name: renamed"),
    )
    .unwrap();
    svc.reload().unwrap();
    assert!(svc.original_config().contains("renamed"));
    let d = svc.dispatcher();
    assert_eq!(d.alerts().len(), 1, "alerts survive a reload");
    assert_eq!(d.groups()[0].receiver, "renamed");
    std::fs::write(&file, "route: {receiver: nobody}\n").unwrap();
    assert!(svc.reload().is_err());
    assert!(svc.original_config().contains("renamed"), "old config kept");
}

#[tokio::test]
async fn the_object_store_copy_survives_the_loss_of_the_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, _) = open(dir.path()).await;
    let now = Utc::now();
    let id = svc
        .silences()
        .set(
            Silence {
                id: String::new(),
                matchers: cairn_alerting::parse_matchers("job=db").unwrap(),
                starts_at: now,
                ends_at: now + Duration::hours(1),
                created_by: "sre".into(),
                comment: "kept in the bucket".into(),
                updated_at: now,
            },
            now,
        )
        .unwrap();
    svc.persist().await.unwrap();
    drop(svc);
    let copy = dir.path().join("objects/anonymous/state/alertmanager.json");
    assert!(copy.is_file(), "copied under <tenant>/state/ in the bucket");

    std::fs::remove_dir_all(dir.path().join("alertmanager")).unwrap();
    let (svc, _) = open(dir.path()).await;
    let s = svc
        .silences()
        .get(&id)
        .expect("restored from the object store");
    assert_eq!(s.comment, "kept in the bucket");
}
