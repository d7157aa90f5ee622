//! PagerDuty: Events API v2 (`routing_key`), and v1 (`service_key`) for old integrations.
//! One incident per aggregation group: the dedup key is the SHA-256 of the group key, the
//! event is a trigger while anything fires and a resolve once everything is resolved.
//!
//! SLO context convention: `custom_details.slo` carries what the alerts say about the SLO,
//! taken from the common labels and annotations (falling back to the first alert):
//! `service` (label `sloth_service`), `slo` (`sloth_slo`), `slo_id` (`sloth_id`),
//! `alert` (`sloth_severity`: page or ticket), `window` (`sloth_window`), and the annotations
//! `objective`, `burn_rate`, `error_budget_remaining` (or `budget_left`), `long_window`,
//! `short_window`, `period`, `time_to_exhaustion`. Annotations `runbook_url`,
//! `dashboard_url` and `slo_url` become event links.

use std::collections::BTreeMap;

use cairn_template::Value;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::metrics::Labels;
use super::retry::{self, Attempt, FailReason, Failure};
use super::{Endpoint, HttpNotifier, auth_headers, permanent, secret, truncate_chars};
use crate::config::{DEFAULT_PAGERDUTY_URL, PAGERDUTY_SEVERITIES, PagerdutyConfig};
use crate::notify::{Notification, WebhookMessage};

/// PagerDuty's Events API v1 endpoint, used for `service_key` configs.
const V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";
/// The API's limit on `payload.summary`.
const MAX_SUMMARY_CHARS: usize = 1024;
/// The API's limit on one event.
const MAX_EVENT_BYTES: usize = 512 * 1024;

/// Where the SLO context comes from: output key, label names, annotation names.
const SLO_KEYS: [(&str, &[&str], &[&str]); 12] = [
    ("service", &["sloth_service", "service"], &[]),
    ("slo", &["sloth_slo", "slo"], &[]),
    ("slo_id", &["sloth_id"], &[]),
    ("alert", &["sloth_severity"], &[]),
    ("window", &["sloth_window"], &[]),
    (
        "objective",
        &["sloth_objective"],
        &["objective", "slo_objective"],
    ),
    ("burn_rate", &[], &["burn_rate"]),
    (
        "error_budget_remaining",
        &[],
        &["error_budget_remaining", "budget_left", "budget_remaining"],
    ),
    ("long_window", &[], &["long_window"]),
    ("short_window", &[], &["short_window"]),
    ("period", &[], &["period", "slo_period"]),
    ("time_to_exhaustion", &[], &["time_to_exhaustion"]),
];

/// Link annotations and their link texts.
const LINK_ANNOTATIONS: [(&str, &str); 3] = [
    ("runbook_url", "Runbook"),
    ("dashboard_url", "Dashboard"),
    ("slo_url", "SLO"),
];

/// The dedup key of a group: SHA-256 of the group key in hex, as Alertmanager computes it.
pub fn pagerduty_dedup_key(group_key: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, group_key.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SLO context of a message (see the module documentation for the keys).
pub fn slo_context(m: &WebhookMessage) -> BTreeMap<String, String> {
    let first = m
        .alerts
        .iter()
        .find(|a| a.status == "firing")
        .or_else(|| m.alerts.first());
    let mut out = BTreeMap::new();
    for (key, labels, annotations) in SLO_KEYS {
        let from_labels = labels.iter().find_map(|l| {
            m.common_labels
                .get(*l)
                .or_else(|| first.and_then(|a| a.labels.get(*l)))
        });
        let from_annotations = annotations.iter().find_map(|l| {
            m.common_annotations
                .get(*l)
                .or_else(|| first.and_then(|a| a.annotations.get(*l)))
        });
        if let Some(v) = from_annotations.or(from_labels).filter(|v| !v.is_empty()) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out
}

/// Maps a severity word (label `severity` or `sloth_severity`) to PagerDuty's four levels.
fn map_severity(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "page" | "p1" | "fatal" | "emergency" => "critical",
        "error" | "high" | "p2" | "major" => "error",
        "warning" | "warn" | "ticket" | "medium" | "p3" | "minor" => "warning",
        "info" | "low" | "p4" | "p5" | "none" => "info",
        _ => "error",
    }
}

fn severity_of(m: &WebhookMessage) -> &'static str {
    ["severity", "sloth_severity"]
        .iter()
        .find_map(|k| m.common_labels.get(*k))
        .map_or("error", |s| map_severity(s))
}

#[derive(Debug, Serialize)]
struct Link {
    href: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
}

#[derive(Debug, Serialize)]
struct Image {
    src: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    href: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    alt: String,
}

#[derive(Debug, Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    custom_details: Map<String, Json>,
}

/// An Events API v2 event.
#[derive(Debug, Serialize)]
struct Event {
    routing_key: String,
    event_action: &'static str,
    dedup_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Payload>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
}

/// An Events API v1 event.
#[derive(Debug, Serialize)]
struct EventV1 {
    service_key: String,
    event_type: &'static str,
    incident_key: String,
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    details: Map<String, Json>,
}

/// The details a config asks for: Alertmanager's defaults (`firing`, `resolved`,
/// `num_firing`, `num_resolved`) under the configured ones, plus the SLO context.
fn details(
    h: &HttpNotifier,
    c: &PagerdutyConfig,
    m: &WebhookMessage,
    data: &Value,
) -> Result<Map<String, Json>, String> {
    let t = &h.templates;
    let mut out = Map::new();
    let count = |s: &str| m.alerts.iter().filter(|a| a.status == s).count();
    for (key, text) in [
        (
            "firing",
            r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
        ),
        (
            "resolved",
            r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
        ),
    ] {
        if !c.details.contains_key(key) {
            out.insert(key.to_string(), Json::String(t.render(text, data)?));
        }
    }
    out.insert(
        "num_firing".into(),
        Json::String(count("firing").to_string()),
    );
    out.insert(
        "num_resolved".into(),
        Json::String(count("resolved").to_string()),
    );
    for (k, v) in &c.details {
        out.insert(k.clone(), Json::String(t.render(v, data)?));
    }
    let slo = slo_context(m);
    if !slo.is_empty() && !out.contains_key("slo") {
        let obj: Map<String, Json> = slo.into_iter().map(|(k, v)| (k, Json::String(v))).collect();
        out.insert("slo".into(), Json::Object(obj));
    }
    Ok(out)
}

fn render_opt(h: &HttpNotifier, s: &Option<String>, data: &Value) -> Result<String, String> {
    match s {
        Some(s) => h.templates.render(s, data),
        None => Ok(String::new()),
    }
}

/// The `[FIRING:n] ...` subject computed without templates, used only if the default
/// template itself fails, so that a page is never lost to a template bug.
fn fallback_subject(m: &WebhookMessage) -> String {
    let firing = m.alerts.iter().filter(|a| a.status == "firing").count();
    let status = if m.status == "firing" {
        format!("FIRING:{firing}")
    } else {
        "RESOLVED".to_string()
    };
    let group: Vec<&str> = m.group_labels.values().map(String::as_str).collect();
    let extra: Vec<&str> = m
        .common_labels
        .iter()
        .filter(|(k, _)| !m.group_labels.contains_key(*k))
        .map(|(_, v)| v.as_str())
        .collect();
    if extra.is_empty() {
        format!("[{status}] {}", group.join(" "))
    } else {
        format!("[{status}] {} ({})", group.join(" "), extra.join(" "))
    }
}

fn summary(
    h: &HttpNotifier,
    c: &PagerdutyConfig,
    m: &WebhookMessage,
    data: &Value,
) -> Result<String, String> {
    let s = match &c.description {
        Some(t) => h.templates.render(t, data)?,
        None => h
            .templates
            .render_or(None, "pagerduty.default.description", data)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "default pagerduty description failed; using the plain subject");
                fallback_subject(m)
            }),
    };
    Ok(truncate_chars(s.trim(), MAX_SUMMARY_CHARS))
}

fn build_v2(
    h: &HttpNotifier,
    c: &PagerdutyConfig,
    routing_key: String,
    m: &WebhookMessage,
    data: &Value,
) -> Result<Vec<u8>, String> {
    let t = &h.templates;
    let resolved = m.status == "resolved";
    let client = t.render_or(c.client.as_deref(), "pagerduty.default.client", data)?;
    let client_url = t.render_or(c.client_url.as_deref(), "pagerduty.default.clientURL", data)?;
    let mut links = Vec::new();
    for l in c.links.iter().flatten() {
        let href = t.render(&l.href, data)?;
        if !href.is_empty() {
            links.push(Link {
                href,
                text: t.render(&l.text, data)?,
            });
        }
    }
    for (key, text) in LINK_ANNOTATIONS {
        if let Some(href) = m.common_annotations.get(key).filter(|u| !u.is_empty())
            && !links.iter().any(|l| &l.href == href)
        {
            links.push(Link {
                href: href.clone(),
                text: text.to_string(),
            });
        }
    }
    let mut images = Vec::new();
    for i in c.images.iter().flatten() {
        let src = t.render(&i.src, data)?;
        if !src.is_empty() {
            images.push(Image {
                src,
                href: t.render(&i.href, data)?,
                alt: t.render(&i.alt, data)?,
            });
        }
    }
    let payload = if resolved {
        None
    } else {
        let severity = match &c.severity {
            Some(s) => {
                let s = t.render(s, data)?;
                if PAGERDUTY_SEVERITIES.contains(&s.as_str()) {
                    s
                } else {
                    map_severity(&s).to_string()
                }
            }
            None => severity_of(m).to_string(),
        };
        let source = match &c.source {
            Some(s) => t.render(s, data)?,
            None => client.clone(),
        };
        let timestamp = m
            .alerts
            .iter()
            .filter(|a| a.status == "firing")
            .map(|a| a.starts_at)
            .min()
            .map(|ts| ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        Some(Payload {
            summary: summary(h, c, m, data)?,
            source: if source.is_empty() {
                "Cairn".to_string()
            } else {
                source
            },
            severity,
            timestamp,
            component: render_opt(h, &c.component, data)?,
            group: render_opt(h, &c.group, data)?,
            class: render_opt(h, &c.class, data)?,
            custom_details: details(h, c, m, data)?,
        })
    };
    let mut event = Event {
        routing_key,
        event_action: if resolved { "resolve" } else { "trigger" },
        dedup_key: pagerduty_dedup_key(&m.group_key),
        payload,
        client,
        client_url,
        links,
        images,
    };
    let mut body = serde_json::to_vec(&event).map_err(|e| format!("encoding the event: {e}"))?;
    if body.len() > MAX_EVENT_BYTES {
        // As Alertmanager does: the details go, the page stays.
        if let Some(p) = &mut event.payload {
            p.custom_details = Map::from_iter([(
                "error".to_string(),
                Json::String(format!(
                    "custom details removed: the event exceeded the {MAX_EVENT_BYTES} byte limit"
                )),
            )]);
        }
        body = serde_json::to_vec(&event).map_err(|e| format!("encoding the event: {e}"))?;
        if body.len() > MAX_EVENT_BYTES {
            return Err(format!(
                "event of {} bytes exceeds the {MAX_EVENT_BYTES} byte limit",
                body.len()
            ));
        }
    }
    Ok(body)
}

fn build_v1(
    h: &HttpNotifier,
    c: &PagerdutyConfig,
    service_key: String,
    m: &WebhookMessage,
    data: &Value,
) -> Result<Vec<u8>, String> {
    let t = &h.templates;
    let resolved = m.status == "resolved";
    let event = EventV1 {
        service_key,
        event_type: if resolved { "resolve" } else { "trigger" },
        incident_key: pagerduty_dedup_key(&m.group_key),
        description: summary(h, c, m, data)?,
        client: t.render_or(c.client.as_deref(), "pagerduty.default.client", data)?,
        client_url: t.render_or(c.client_url.as_deref(), "pagerduty.default.clientURL", data)?,
        details: details(h, c, m, data)?,
    };
    serde_json::to_vec(&event).map_err(|e| format!("encoding the event: {e}"))
}

/// Delivers one notification through a PagerDuty config.
pub(crate) async fn deliver(
    h: &HttpNotifier,
    labels: &Labels,
    c: &PagerdutyConfig,
    e: &Endpoint,
    n: &Notification,
    data: &Value,
) -> Result<u32, Failure> {
    let config_err = |m: String| permanent(FailReason::Config, m);
    let routing_key = secret(c.routing_key.as_ref(), c.routing_key_file.as_ref())?;
    let (url, body) = match routing_key {
        Some(key) => (
            c.url
                .clone()
                .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.to_string()),
            build_v2(h, c, key, &n.message, data).map_err(config_err)?,
        ),
        None => {
            let key = secret(c.service_key.as_ref(), c.service_key_file.as_ref())?
                .ok_or_else(|| config_err("no routing_key or service_key".to_string()))?;
            let url = match c.url.as_deref() {
                None | Some(DEFAULT_PAGERDUTY_URL) => V1_URL.to_string(),
                Some(u) => u.to_string(),
            };
            (
                url,
                build_v1(h, c, key, &n.message, data).map_err(config_err)?,
            )
        }
    };
    let headers = auth_headers(c.http_config.as_ref())?;
    retry::run(h.policy(), |_| {
        let (url, headers, body) = (&url, headers.clone(), body.clone());
        async move {
            let (attempt, reply) = h.post(labels, e, url, headers, body, |_| Attempt::Done).await;
            if let (Attempt::Permanent { .. }, Some(r)) = (&attempt, &reply) {
                // PagerDuty explains a 400 in the body (no secret in it): worth a log line.
                tracing::warn!(receiver = %n.receiver, status = r.status, body = %r.snippet(), "pagerduty refused the event");
            }
            attempt
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_is_sha256_hex_of_the_group_key() {
        // The FIPS 180-2 test vector.
        assert_eq!(pagerduty_dedup_key("abc").len(), 64);
        assert_eq!(
            pagerduty_dedup_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn severities_map_to_the_four_levels() {
        assert_eq!(map_severity("page"), "critical");
        assert_eq!(map_severity("Critical"), "critical");
        assert_eq!(map_severity("ticket"), "warning");
        assert_eq!(map_severity("info"), "info");
        assert_eq!(map_severity("whatever"), "error");
    }
}
