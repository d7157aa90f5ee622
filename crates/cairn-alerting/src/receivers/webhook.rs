//! The generic webhook: Alertmanager's version 4 JSON body, already cut to `max_alerts` by
//! the dispatcher.

use super::metrics::Labels;
use super::retry::{self, Attempt, FailReason, Failure};
use super::{Endpoint, HttpNotifier, auth_headers, permanent, secret};
use crate::config::WebhookConfig;
use crate::notify::Notification;

/// Delivers one notification through a webhook config.
pub(crate) async fn deliver(
    h: &HttpNotifier,
    labels: &Labels,
    c: &WebhookConfig,
    e: &Endpoint,
    n: &Notification,
) -> Result<u32, Failure> {
    let url = secret(c.url.as_ref(), c.url_file.as_ref())?
        .ok_or_else(|| permanent(FailReason::Config, "no url or url_file".to_string()))?;
    let mut message = n.message.clone();
    // Cutting here too keeps the contract when a caller did not.
    message.truncate(c.max_alerts);
    let body = serde_json::to_vec(&message)
        .map_err(|err| permanent(FailReason::Config, format!("encoding the message: {err}")))?;
    let headers = auth_headers(c.http_config.as_ref())?;
    retry::run(h.policy(), |_| {
        let (url, headers, body) = (&url, headers.clone(), body.clone());
        async move {
            h.post(labels, e, url, headers, body, |_| Attempt::Done)
                .await
                .0
        }
    })
    .await
}
