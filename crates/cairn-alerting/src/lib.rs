//! Cairn's alert manager core, following Alertmanager's semantics: an `alertmanager.yml`
//! parses into a validated [`Config`]; the [`Dispatcher`] routes alerts through the routing
//! tree into aggregation groups and flushes each group on Alertmanager's timeline
//! (`group_wait`, `group_interval`, `repeat_interval`) through the pipeline inhibit -> time
//! intervals -> silences -> dedup against the [`NotificationLog`] -> [`Notifier`].
//!
//! Invariants: an alert's identity is the hash of its labels; time never comes from the system
//! inside the pipeline but from the caller (`tick(now)`, or a [`Clock`]), so every timeline is
//! reproducible; a notification is logged only after the notifier accepted it, so a failure
//! is retried at the next flush and a success is never repeated before `repeat_interval`.
//! The pipeline's only I/O is reading the system's zoneinfo when a time interval names a
//! location; delivery is behind the [`Notifier`] trait, which the [`HttpNotifier`] implements
//! for Slack, PagerDuty and webhooks (Go templates, retries, secrets from files).
//! Persistence of silences and the notification log is left to their owners: [`Silences`]
//! and [`NotificationLog`] count their changes, and [`StateSnapshot`] encodes and decodes them
//! (the owner writes the bytes where it likes).

mod alert;
mod clock;
mod config;
mod dispatch;
mod error;
mod inhibit;
mod matchers;
mod nflog;
mod notify;
mod persist;
mod receivers;
mod route;
mod silence;
mod timeinterval;
mod tz;

pub use alert::{Alert, Fingerprint, PostableAlert};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    BasicAuth, Config, DEFAULT_PAGERDUTY_URL, DEFAULT_RESOLVE_TIMEOUT, GlobalConfig,
    HttpAuthorization, HttpConfig, InhibitRule, Integration, IntegrationKind, PagerdutyConfig,
    PagerdutyImage, PagerdutyLink, Receiver, SlackAction, SlackConfig, SlackConfirm, SlackField,
    TlsConfig, WebhookConfig,
};
pub use dispatch::{Dispatcher, GroupInfo, TickReport};
pub use error::{Error, Result};
pub use inhibit::Inhibitor;
pub use matchers::{matches_all, parse_matchers};
pub use nflog::{NflogEntry, NflogKey, NotificationLog, NotifyReason, needs_update};
pub use notify::{
    Notification, Notifier, NotifyFuture, RecordingNotifier, WebhookAlert, WebhookMessage,
    zero_time,
};
pub use persist::{SNAPSHOT_VERSION, StateSnapshot};
pub use receivers::{
    DEFAULT_TEMPLATES, HttpNotifier, NOTIFICATION_LATENCY_SECONDS,
    NOTIFICATION_REQUESTS_FAILED_TOTAL, NOTIFICATION_REQUESTS_TOTAL, NOTIFICATIONS_FAILED_TOTAL,
    NOTIFICATIONS_TOTAL, NotifierOptions, ReceiverMetrics, pagerduty_dedup_key, redact_url,
    slo_context, template_data,
};
pub use route::{
    DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL, GroupBy, Route, RouteOpts,
};
pub use silence::{Silence, SilenceState, Silences};
pub use timeinterval::{Location, TimeInterval, any_contains};
pub use tz::Zone;
