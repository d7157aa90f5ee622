//! Prometheus rules for Cairn: rule files in Prometheus' format, groups evaluated on their
//! interval at aligned times, recording rules written back through the store's append path,
//! alerting rules with Prometheus' state machine and templates, and backtesting over past
//! data.
//!
//! Invariants: rules of a group run in order at one timestamp and each sees what the rules
//! before it wrote; a series a rule stops producing gets a stale marker at the next
//! evaluation; alert states, `ALERTS`/`ALERTS_FOR_STATE`, resends and `endsAt` follow
//! Prometheus' `rules/alerting.go` exactly; time is always passed in (no evaluation reads the
//! clock), so the state machine is tested without sleeping.

mod alert;
mod backtest;
mod error;
mod file;
mod group;
mod manager;
mod metrics;
mod template;

pub use alert::{Alert, AlertState};
pub use backtest::{Backtest, MemoryRuleStore, backtest, backtest_with, backtest_with_logs};
pub use error::{Error, Result};
pub use file::{
    QueryLang, Rule, RuleFile, RuleGroup, RuleKind, parse_log_rule_file, parse_rule_file,
    parse_rule_file_in,
};
pub use group::{AlertSink, EvalOptions, Health, OutgoingAlert, RuleStore};
pub use manager::{
    Clock, GroupSnapshot, Manager, RuleSnapshot, SystemClock, expand_globs, load_rule_files,
    load_rule_files_in,
};
pub use metrics::RuleMetrics;
pub use template::TemplateContext;
