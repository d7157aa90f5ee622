//! Multiwindow multi-burn-rate windows per SLO period: the SRE workbook's defaults for 30 and
//! 28 days (as Sloth ships them) and Sloth's `AlertWindows` spec for any other period.

use std::time::Duration;

use serde::Deserialize;

use crate::duration::parse_duration;
use crate::error::{Error, Result};

/// One alert's windows and the share of the budget it may burn in its long window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Percent of the period's error budget spent over the long window that triggers.
    pub error_budget_percent: f64,
    /// The short window, which makes the alert reset quickly.
    pub short: Duration,
    /// The long window.
    pub long: Duration,
}

/// The four window pairs for one SLO period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertWindows {
    /// The SLO period these windows are for.
    pub period: Duration,
    /// Page, quick (30d: 2% in 1h, 5m short).
    pub page_quick: Window,
    /// Page, slow (30d: 5% in 6h, 30m short).
    pub page_slow: Window,
    /// Ticket, quick (30d: 10% in 1d, 2h short).
    pub ticket_quick: Window,
    /// Ticket, slow (30d: 10% in 3d, 6h short).
    pub ticket_slow: Window,
}

impl AlertWindows {
    /// The workbook's windows for `period_days` days (Sloth ships 30 and 28).
    pub fn google(period_days: u64) -> Self {
        let h = |n: u64| Duration::from_secs(n * 3600);
        let m = |n: u64| Duration::from_secs(n * 60);
        AlertWindows {
            period: Duration::from_secs(period_days * 86400),
            page_quick: Window {
                error_budget_percent: 2.0,
                short: m(5),
                long: h(1),
            },
            page_slow: Window {
                error_budget_percent: 5.0,
                short: m(30),
                long: h(6),
            },
            ticket_quick: Window {
                error_budget_percent: 10.0,
                short: h(2),
                long: h(24),
            },
            ticket_slow: Window {
                error_budget_percent: 10.0,
                short: h(6),
                long: h(72),
            },
        }
    }

    /// Burn rate factor of `w`: `(budget% / 100 * period_h) / long_h`, computed in Sloth's order
    /// so that the printed numbers match.
    pub fn factor(&self, w: &Window) -> f64 {
        let period_h = self.period.as_secs_f64() / 3600.0;
        let hours = w.error_budget_percent * period_h / 100.0;
        hours / (w.long.as_secs_f64() / 3600.0)
    }

    /// All the windows, in `(page quick, page slow, ticket quick, ticket slow)` order.
    pub fn all(&self) -> [Window; 4] {
        [
            self.page_quick,
            self.page_slow,
            self.ticket_quick,
            self.ticket_slow,
        ]
    }
}

/// The windows to use per period: the built-in 30d and 28d, replaced or extended by
/// `AlertWindows` files.
#[derive(Clone, Debug)]
pub struct WindowsCatalog {
    windows: Vec<AlertWindows>,
}

impl Default for WindowsCatalog {
    fn default() -> Self {
        WindowsCatalog {
            windows: vec![AlertWindows::google(30), AlertWindows::google(28)],
        }
    }
}

impl WindowsCatalog {
    /// Adds (or replaces) the windows of one period.
    pub fn insert(&mut self, w: AlertWindows) {
        self.windows.retain(|x| x.period != w.period);
        self.windows.push(w);
    }

    /// The windows for `period`.
    pub fn get(&self, period: Duration) -> Option<&AlertWindows> {
        self.windows.iter().find(|w| w.period == period)
    }

    /// The periods that have windows.
    pub fn periods(&self) -> Vec<Duration> {
        self.windows.iter().map(|w| w.period).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertWindows {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    slo_period: String,
    page: RawQuickSlow,
    ticket: RawQuickSlow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuickSlow {
    quick: RawWindow,
    slow: RawWindow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWindow {
    error_budget_percent: f64,
    short_window: String,
    long_window: String,
}

/// Reads a Sloth `sloth.slok.dev/v1` `AlertWindows` document.
pub fn parse_alert_windows(value: serde_yaml_ng::Value) -> Result<AlertWindows> {
    let raw: RawAlertWindows =
        serde_yaml_ng::from_value(value).map_err(|e| Error::Windows(e.to_string()))?;
    if raw.api_version != "sloth.slok.dev/v1" || raw.kind != "AlertWindows" {
        return Err(Error::Windows(format!(
            "expected apiVersion sloth.slok.dev/v1 and kind AlertWindows, got {} {}",
            raw.api_version, raw.kind
        )));
    }
    let period = parse_duration(&raw.spec.slo_period)
        .map_err(|e| Error::Windows(format!("spec.sloPeriod: {e}")))?;
    let window = |name: &str, w: &RawWindow| -> Result<Window> {
        let d = |field: &str, s: &str| {
            parse_duration(s).map_err(|e| Error::Windows(format!("spec.{name}.{field}: {e}")))
        };
        let short = d("shortWindow", &w.short_window)?;
        let long = d("longWindow", &w.long_window)?;
        if !(w.error_budget_percent > 0.0 && w.error_budget_percent <= 100.0) {
            return Err(Error::Windows(format!(
                "spec.{name}.errorBudgetPercent: {} is not in (0, 100]",
                w.error_budget_percent
            )));
        }
        if short >= long {
            return Err(Error::Windows(format!(
                "spec.{name}: shortWindow must be shorter than longWindow"
            )));
        }
        if long > period {
            return Err(Error::Windows(format!(
                "spec.{name}.longWindow: longer than the slo period"
            )));
        }
        Ok(Window {
            error_budget_percent: w.error_budget_percent,
            short,
            long,
        })
    };
    Ok(AlertWindows {
        period,
        page_quick: window("page.quick", &raw.spec.page.quick)?,
        page_slow: window("page.slow", &raw.spec.page.slow)?,
        ticket_quick: window("ticket.quick", &raw.spec.ticket.quick)?,
        ticket_slow: window("ticket.slow", &raw.spec.ticket.slow)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbook_factors() {
        let w = AlertWindows::google(30);
        let f: Vec<f64> = w.all().iter().map(|x| w.factor(x)).collect();
        assert_eq!(f, vec![14.4, 6.0, 3.0, 1.0]);
        let w = AlertWindows::google(28);
        assert_eq!(w.factor(&w.page_quick), 13.44);
        assert!((w.factor(&w.page_slow) - 5.6).abs() < 1e-12);
    }

    #[test]
    fn custom_windows() {
        let text = "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 7d\n  page:\n    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}\n    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}\n  ticket:\n    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}\n    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}\n";
        let w = parse_alert_windows(serde_yaml_ng::from_str(text).unwrap()).unwrap();
        assert_eq!(w.period, Duration::from_secs(7 * 86400));
        assert!((w.factor(&w.page_quick) - 13.44).abs() < 1e-9);
        let bad = text.replace("longWindow: 3d", "longWindow: 8d");
        let e = parse_alert_windows(serde_yaml_ng::from_str(&bad).unwrap()).unwrap_err();
        assert!(e.to_string().contains("ticket.slow.longWindow"), "{e}");
    }
}
