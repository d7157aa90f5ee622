//! The rule engine as a running service: rule files loaded from `rules.rule_files` and SLO
//! files from `slos.files`, compiled into rule groups (all reloaded on `POST /-/reload` and SIGHUP, keeping the old rules when a file is bad),
//! recording rules written through the storage engine's append path, and alerts POSTed to
//! the configured Alertmanagers.
//!
//! Sending is decoupled from evaluation: the sink queues batches in a bounded channel and a
//! task posts them; when the queue is full the batch is dropped and counted, since a later
//! evaluation re-sends every firing alert anyway.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_model::{
    LabelValuesRequest, Labels, LogQuerier, MetricMetadata, Querier, QueryError, Sample,
    SelectRequest, Series, SeriesRequest, TenantId, WriteBatch,
};
use cairn_promql::{Engine, EngineOptions};
use cairn_rules::{
    AlertSink, Clock, EvalOptions, Manager, OutgoingAlert, QueryLang, RuleFile, RuleMetrics,
    RuleStore, SystemClock, TemplateContext, expand_globs, load_rule_files, load_rule_files_in,
    parse_rule_file,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::{LogsStore, MetricsStore};
use crate::config::{Config, SlosConfig};

/// Batches waiting to be posted; beyond this a batch is dropped.
const QUEUE_BATCHES: usize = 1024;
/// Most alerts per POST (Prometheus' notifier).
const MAX_BATCH: usize = 256;

/// The storage engine as the rule engine's store: metrics, and logs for LogQL rules.
pub(crate) struct StoreRules(
    pub(crate) Arc<dyn MetricsStore>,
    pub(crate) Option<Arc<dyn LogsStore>>,
);

#[async_trait]
impl Querier for StoreRules {
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> Result<Vec<Series>, QueryError> {
        self.0.querier().select(tenant, req).await
    }

    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        self.0.querier().series(tenant, req).await
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.querier().label_names(tenant, req).await
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError> {
        self.0.querier().label_values(tenant, req).await
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
        self.0.querier().metadata(tenant, metric).await
    }
}

#[async_trait]
impl RuleStore for StoreRules {
    async fn append(&self, tenant: &TenantId, series: &[(Labels, Sample)]) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        for (labels, sample) in series {
            batch.push_sample(labels, *sample);
        }
        let appended = self.0.append(tenant, &batch).await.map_err(|f| f.message)?;
        // Out-of-order or duplicate refusals of single samples are not the rule's fault
        // (Prometheus ignores them too); report only when nothing was written.
        if appended.samples_written == 0 && !appended.messages.is_empty() {
            return Err(appended.messages.join("; "));
        }
        Ok(())
    }

    fn log_querier(&self) -> Option<&dyn LogQuerier> {
        self.1.as_deref().map(LogsStore::log_querier)
    }
}

/// Posts alerts to Alertmanagers' `/api/v2/alerts`, in batches, from a background task.
pub(crate) struct HttpAlertSink {
    tx: mpsc::Sender<Vec<OutgoingAlert>>,
    metrics: RuleMetrics,
}

impl AlertSink for HttpAlertSink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        let n = alerts.len() as u64;
        if self.tx.try_send(alerts).is_err() {
            self.metrics.notifications_dropped(n);
            tracing::warn!(alerts = n, "alert queue full, dropping alerts");
        }
    }
}

impl HttpAlertSink {
    /// A sink posting to `urls`; the posting task runs on `tracker` until `stop`.
    fn start(
        urls: Vec<String>,
        metrics: RuleMetrics,
        stop: CancellationToken,
        tracker: &TaskTracker,
    ) -> Arc<HttpAlertSink> {
        let sent = metrics.clone();
        let (tx, mut rx) = mpsc::channel::<Vec<OutgoingAlert>>(QUEUE_BATCHES);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        tracker.spawn(async move {
            loop {
                let alerts = tokio::select! {
                    () = stop.cancelled() => return,
                    a = rx.recv() => match a { Some(a) => a, None => return },
                };
                for chunk in alerts.chunks(MAX_BATCH) {
                    let body = alerts_json(chunk);
                    for u in &urls {
                        let url = format!("{}/api/v2/alerts", u.trim_end_matches('/'));
                        let result = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await;
                        let ok = match result {
                            Ok(r) if r.status().is_success() => true,
                            Ok(r) => {
                                tracing::warn!(%url, status = %r.status(), "alertmanager refused alerts");
                                false
                            }
                            Err(e) => {
                                tracing::warn!(%url, error = %e, "cannot send alerts");
                                false
                            }
                        };
                        sent.notification_sent(u, ok);
                    }
                }
            }
        });
        Arc::new(HttpAlertSink { tx, metrics })
    }
}

/// The Alertmanager API v2 body for `alerts`.
pub(crate) fn alerts_json(alerts: &[OutgoingAlert]) -> String {
    let list: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            serde_json::json!({
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": a.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "endsAt": a.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "generatorURL": a.generator_url,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Every rule group the config names: the rule files of `rules.rule_files`, the Loki ruler
/// files of `rules.log_rule_files`, then the SLO files of `slos.files` compiled into rule
/// groups. Errors name the file.
pub fn load_rules(config: &Config) -> Result<Vec<RuleFile>, String> {
    load(&RuleSources::of(config))
}

/// Where rules come from, as the config names them (kept for reloads).
#[derive(Clone, Debug)]
struct RuleSources {
    rule_files: Vec<String>,
    log_rule_files: Vec<String>,
    slos: SlosConfig,
}

impl RuleSources {
    fn of(config: &Config) -> Self {
        RuleSources {
            rule_files: config.rules.rule_files.clone(),
            log_rule_files: config.rules.log_rule_files.clone(),
            slos: config.slos.clone(),
        }
    }
}

fn load(src: &RuleSources) -> Result<Vec<RuleFile>, String> {
    let slos = &src.slos;
    let mut files = load_rule_files(&src.rule_files).map_err(|e| e.to_string())?;
    files.extend(
        load_rule_files_in(&src.log_rule_files, QueryLang::LogQL).map_err(|e| e.to_string())?,
    );
    let opts = cairn_slo::LoadOptions {
        default_period: slos.default_period,
        ..cairn_slo::LoadOptions::default()
    };
    for path in expand_globs(&slos.files).map_err(|e| e.to_string())? {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let compiled = cairn_slo::compile_file(&name, &text, &opts).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let yaml = compiled.to_yaml(&name);
        files.push(parse_rule_file(&name, &yaml).map_err(|e| e.to_string())?);
        if let Some(yaml) = compiled.to_log_yaml(&name) {
            files.push(cairn_rules::parse_log_rule_file(&name, &yaml).map_err(|e| e.to_string())?);
        }
    }
    Ok(files)
}

/// The running rule engine and how to reload it.
pub(crate) struct RulesService {
    pub(crate) manager: Arc<Manager>,
    sources: RuleSources,
}

impl RulesService {
    /// Creates the manager over `store` and loads the rule files; a bad file fails the start
    /// like a bad config would.
    pub(crate) async fn open(
        config: &Config,
        store: Arc<dyn MetricsStore>,
        logs: Option<Arc<dyn LogsStore>>,
        metrics: RuleMetrics,
        files: Vec<RuleFile>,
    ) -> Arc<RulesService> {
        let r = &config.rules;
        let external_url = r
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.server.listen));
        let tenant = r
            .tenant
            .clone()
            .unwrap_or_else(|| config.multitenancy.default_tenant.clone());
        let opts = EvalOptions {
            tenant: tenant.clone(),
            default_interval: r.evaluation_interval,
            default_query_offset: r.query_offset,
            resend_delay: r.resend_delay,
            outage_tolerance: r.outage_tolerance,
            for_grace_period: r.for_grace_period,
            templates: TemplateContext {
                external_labels: r.external_labels.clone(),
                external_url,
            },
            engine: Engine::new(EngineOptions {
                lookback_delta_ms: i64::try_from(config.query.lookback_delta.as_millis())
                    .unwrap_or(i64::MAX),
                max_samples: config.query.max_samples,
                timeout: Some(config.query.timeout),
                default_subquery_step_ms: i64::try_from(r.evaluation_interval.as_millis())
                    .unwrap_or(60_000),
                ..EngineOptions::default()
            }),
            log_engine: cairn_logql::Engine::new(cairn_logql::EngineOptions {
                max_series: config.limits_for(&tenant).logs.max_query_series,
                max_samples: config.query.max_samples,
                timeout: Some(config.query.timeout),
                ..cairn_logql::EngineOptions::default()
            }),
        };
        let manager = Manager::new(opts, Arc::new(StoreRules(store, logs)), metrics);
        let svc = Arc::new(RulesService {
            manager,
            sources: RuleSources::of(config),
        });
        svc.manager.update(files).await;
        svc
    }

    /// Re-reads the rule files; on error the current rules stay.
    pub(crate) async fn reload(&self) -> Result<(), String> {
        let sources = self.sources.clone();
        let files = tokio::task::spawn_blocking(move || load(&sources))
            .await
            .map_err(|e| format!("rule loading failed: {e}"))??;
        let groups: usize = files.iter().map(|f| f.groups.len()).sum();
        self.manager.update(files).await;
        tracing::info!(groups, "rules loaded");
        Ok(())
    }

    /// Starts evaluation, the Alertmanager sink and the SIGHUP reload.
    pub(crate) fn start(
        self: &Arc<Self>,
        config: &Config,
        stop: CancellationToken,
        tracker: &TaskTracker,
    ) {
        if !config.rules.alertmanagers.is_empty() {
            let sink = HttpAlertSink::start(
                config.rules.alertmanagers.clone(),
                self.manager.metrics().clone(),
                stop.clone(),
                tracker,
            );
            self.manager.add_sink(sink);
        }
        self.start_evaluation(stop, tracker);
    }

    /// Starts evaluation and the SIGHUP reload (without the HTTP sink).
    pub(crate) fn start_evaluation(
        self: &Arc<Self>,
        stop: CancellationToken,
        tracker: &TaskTracker,
    ) {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        self.manager.start(clock, stop.clone(), tracker);
        #[cfg(unix)]
        {
            let me = Arc::clone(self);
            tracker.spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let mut hup = match signal(SignalKind::hangup()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGHUP");
                        return;
                    }
                };
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        _ = hup.recv() => {
                            tracing::info!("SIGHUP received, reloading rule files");
                            if let Err(e) = me.reload().await {
                                tracing::error!(error = %e, "rule reload failed; keeping the current rules");
                            }
                        }
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn alerts_are_encoded_as_alertmanager_api_v2() {
        let t = |s| chrono::Utc.timestamp_opt(s, 0).single().expect("valid");
        let a = OutgoingAlert {
            labels: [("alertname".to_string(), "A".to_string())].into(),
            annotations: [("summary".to_string(), "s".to_string())].into(),
            starts_at: t(60),
            ends_at: t(300),
            generator_url: "http://x/graph?g0.expr=up&g0.tab=1".to_string(),
        };
        assert_eq!(
            alerts_json(&[a]),
            r#"[{"annotations":{"summary":"s"},"endsAt":"1970-01-01T00:05:00.000Z","generatorURL":"http://x/graph?g0.expr=up&g0.tab=1","labels":{"alertname":"A"},"startsAt":"1970-01-01T00:01:00.000Z"}]"#
        );
    }
}
