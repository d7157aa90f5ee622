//! The SLO model every input format is read into, before compilation.

use std::collections::BTreeMap;
use std::time::Duration;

/// One SLO, whatever format it was written in.
#[derive(Clone, Debug, PartialEq)]
pub struct SloSpec {
    /// The file it was read from.
    pub file: String,
    /// The service it belongs to.
    pub service: String,
    /// Its name, unique within the service.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Objective in percent, in (0, 100).
    pub objective: f64,
    /// Labels added to every recorded series (file labels merged with the SLO's).
    pub labels: BTreeMap<String, String>,
    /// How errors are measured.
    pub sli: Sli,
    /// The page and ticket alerts.
    pub alerting: Alerting,
    /// The SLO period (rolling window).
    pub period: Duration,
    /// The format it was written in (`prometheus/v1`, `openslo/v1alpha`, `openslo/v1`).
    pub spec_version: String,
    /// Cairn-only settings.
    pub extensions: Extensions,
}

impl SloSpec {
    /// The SLO id, `<service>-<name>` as Sloth builds it.
    pub fn id(&self) -> String {
        format!("{}-{}", self.service, self.name)
    }
}

/// The SLI: queries with a `{{.window}}` placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sli {
    /// Error events over total events, both usually per-second rates.
    Events {
        /// Bad events.
        error_query: String,
        /// All events.
        total_query: String,
    },
    /// A query that already returns the error ratio (0 to 1).
    Raw {
        /// The error ratio.
        error_ratio_query: String,
    },
}

impl Sli {
    /// `events` or `raw`.
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Events { .. } => "events",
            Sli::Raw { .. } => "raw",
        }
    }
}

/// Alerting settings of an SLO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alerting {
    /// The alert name shared by the page and ticket alerts.
    pub name: Option<String>,
    /// Labels of both alerts.
    pub labels: BTreeMap<String, String>,
    /// Annotations of both alerts.
    pub annotations: BTreeMap<String, String>,
    /// The page alert.
    pub page: AlertMeta,
    /// The ticket alert.
    pub ticket: AlertMeta,
}

/// Settings of the page or the ticket alert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertMeta {
    /// No rule is generated.
    pub disable: bool,
    /// Labels of this alert (over the shared ones).
    pub labels: BTreeMap<String, String>,
    /// Annotations of this alert (over the shared ones).
    pub annotations: BTreeMap<String, String>,
}

/// The language of an SLO's SLI queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SliLanguage {
    /// PromQL over the metrics store.
    #[default]
    PromQL,
    /// LogQL metric queries over the log store (`count_over_time` ratios and the like).
    LogQL,
}

/// Cairn-only settings, from the `cairn:` key of a Sloth SLO or `cairn.dev/...` annotations
/// of an OpenSLO SLO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extensions {
    /// The SLI queries' language (`cairn.query_language` in Sloth files, the metric source
    /// type `Loki` in OpenSLO v1).
    pub query_language: SliLanguage,
    /// Page and ticket alerts need at least this many events in their long window.
    pub min_events: Option<u64>,
    /// Generate the `<Name>SLIDataMissing` alert (default: when alerts are generated).
    pub data_missing_alert: bool,
    /// How long the SLI source must be missing before that alert fires.
    pub data_missing_for: Duration,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            query_language: SliLanguage::PromQL,
            min_events: None,
            data_missing_alert: true,
            data_missing_for: Duration::from_secs(15 * 60),
        }
    }
}
