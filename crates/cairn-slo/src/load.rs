//! Reading an SLO file: split it into YAML documents, read each in its format, then check
//! every SLO the same way whatever it was written in.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

use crate::duration::format_duration;
use crate::error::Error;
use crate::openslo::{self, V1Set};
use crate::sloth;
use crate::spec::{Sli, SliLanguage, SloSpec};
use crate::windows::{WindowsCatalog, parse_alert_windows};

/// How to read SLO files.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The period of Sloth `prometheus/v1` SLOs, which cannot set one (Sloth: 30d).
    pub default_period: Duration,
    /// Alert windows per period (built-in 30d and 28d, plus `AlertWindows` files).
    pub windows: WindowsCatalog,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_period: Duration::from_secs(30 * 86400),
            windows: WindowsCatalog::default(),
        }
    }
}

/// The SLOs of one file, validated, with the alert windows they compile with.
#[derive(Clone, Debug)]
pub struct SloFile {
    /// The file's name.
    pub name: String,
    /// Its SLOs, in file order.
    pub slos: Vec<SloSpec>,
    /// The windows catalog, with any `AlertWindows` documents of the file added.
    pub windows: WindowsCatalog,
}

/// Reads and validates an SLO file; every error found is returned, not just the first.
pub fn parse_slo_file(name: &str, text: &str, opts: &LoadOptions) -> Result<SloFile, Vec<Error>> {
    let mut errors = Vec::new();
    let mut windows = opts.windows.clone();
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        match serde_yaml_ng::Value::deserialize(doc) {
            Ok(serde_yaml_ng::Value::Null) => {}
            Ok(v) => docs.push(v),
            Err(e) => {
                errors.push(Error::File {
                    file: name.to_string(),
                    message: format!("document {}: {e}", i + 1),
                });
                // After a syntax error the document stream yields the same error forever.
                break;
            }
        }
    }
    let mut slos = Vec::new();
    let mut v1 = V1Set::default();
    // Windows first: a file may define the windows of the period its SLOs use.
    let mut rest = Vec::new();
    for doc in docs {
        let api = doc
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if api.as_deref() == Some("sloth.slok.dev/v1")
            && doc.get("kind").and_then(|v| v.as_str()) == Some("AlertWindows")
        {
            match parse_alert_windows(doc) {
                Ok(w) => windows.insert(w),
                Err(e) => errors.push(Error::File {
                    file: name.to_string(),
                    message: e.to_string(),
                }),
            }
        } else {
            rest.push((api, doc));
        }
    }
    for (api, doc) in rest {
        if doc.get("version").is_some() {
            slos.extend(sloth::read(name, doc, opts.default_period, &mut errors));
            continue;
        }
        match api.as_deref() {
            Some("openslo/v1alpha") => slos.extend(openslo::read_v1alpha(name, doc, &mut errors)),
            Some("openslo/v1") => v1.add(name, doc, &mut errors),
            Some("sloth.slok.dev/v1") => errors.push(Error::File {
                file: name.to_string(),
                message: format!(
                    "sloth.slok.dev/v1 kind {:?} is not supported (the Kubernetes \
                     PrometheusServiceLevel: use its spec as a prometheus/v1 file)",
                    doc.get("kind").and_then(|v| v.as_str()).unwrap_or("")
                ),
            }),
            other => errors.push(Error::File {
                file: name.to_string(),
                message: format!(
                    "unknown document (apiVersion {other:?}): expected version: prometheus/v1, \
                     apiVersion openslo/v1alpha or openslo/v1, or an AlertWindows spec"
                ),
            }),
        }
    }
    slos.extend(v1.resolve(name, &mut errors));
    if slos.is_empty() && errors.is_empty() {
        errors.push(Error::File {
            file: name.to_string(),
            message: "no slo in file".to_string(),
        });
    }
    let mut ids = BTreeSet::new();
    for slo in &slos {
        validate(slo, &windows, &mut errors);
        if !ids.insert(slo.id()) {
            errors.push(slo_err(
                slo,
                "name",
                format!("duplicate slo id {:?} in the file", slo.id()),
            ));
        }
    }
    if errors.is_empty() {
        Ok(SloFile {
            name: name.to_string(),
            slos,
            windows,
        })
    } else {
        Err(errors)
    }
}

fn slo_err(slo: &SloSpec, field: &str, message: String) -> Error {
    Error::Slo {
        file: slo.file.clone(),
        slo: slo.name.clone(),
        field: field.to_string(),
        message,
    }
}

/// Sloth's rule for service and SLO names.
fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    b.len() >= 2
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn validate(slo: &SloSpec, windows: &WindowsCatalog, errors: &mut Vec<Error>) {
    let err = |field: &str, message: String| slo_err(slo, field, message);
    if !valid_name(&slo.service) {
        errors.push(err(
            "service",
            format!(
                "{:?} must match ^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$",
                slo.service
            ),
        ));
    }
    if !valid_name(&slo.name) {
        errors.push(err(
            "name",
            format!(
                "{:?} must match ^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$",
                slo.name
            ),
        ));
    }
    if !(slo.objective > 0.0 && slo.objective <= 100.0) {
        errors.push(err(
            "objective",
            format!("{} is not a percentage in (0, 100]", slo.objective),
        ));
    }
    for k in slo.labels.keys() {
        if !valid_label_name(k) {
            errors.push(err("labels", format!("{k:?} is not a valid label name")));
        }
    }
    let a = &slo.alerting;
    for (field, map) in [
        ("alerting.labels", &a.labels),
        ("alerting.page_alert.labels", &a.page.labels),
        ("alerting.ticket_alert.labels", &a.ticket.labels),
    ] {
        for k in map.keys() {
            if !valid_label_name(k) {
                errors.push(err(field, format!("{k:?} is not a valid label name")));
            }
        }
    }
    let alerts_on = !a.page.disable || !a.ticket.disable;
    match &a.name {
        None if alerts_on => errors.push(err(
            "alerting.name",
            "required unless page_alert and ticket_alert are both disabled".to_string(),
        )),
        Some(n) if !valid_label_name(n) => errors.push(err(
            "alerting.name",
            format!("{n:?} is not a valid alert name (letters, digits and _)"),
        )),
        _ => {}
    }
    if windows.get(slo.period).is_none() {
        let have: Vec<String> = windows.periods().into_iter().map(format_duration).collect();
        errors.push(err(
            "period",
            format!(
                "no alert windows for a {} period (have {}); add an AlertWindows spec",
                format_duration(slo.period),
                have.join(", ")
            ),
        ));
    }
    let queries: Vec<(&str, &str)> = match &slo.sli {
        Sli::Events {
            error_query,
            total_query,
        } => {
            if error_query.trim() == total_query.trim() {
                errors.push(err(
                    "sli.events",
                    "error_query and total_query must differ".to_string(),
                ));
            }
            vec![
                ("sli.events.error_query", error_query),
                ("sli.events.total_query", total_query),
            ]
        }
        Sli::Raw { error_ratio_query } => {
            if slo.extensions.min_events.is_some() {
                errors.push(err(
                    "cairn.min_events",
                    "needs an events sli (a raw ratio has no event count)".to_string(),
                ));
            }
            vec![("sli.raw.error_ratio_query", error_ratio_query)]
        }
    };
    for (field, q) in queries {
        match render_window(q, "5m") {
            Ok(r) => match slo.extensions.query_language {
                SliLanguage::PromQL => {
                    if let Err(e) = cairn_promql::parse(&r) {
                        let hint = if cairn_logql::parse(&r).is_ok() {
                            " (it is valid LogQL: set cairn.query_language: logql for an SLI over logs)"
                        } else {
                            ""
                        };
                        errors.push(err(
                            field,
                            format!("invalid promql with window 5m: {e}{hint}"),
                        ));
                    }
                }
                SliLanguage::LogQL => match cairn_logql::parse(&r) {
                    Ok(cairn_logql::Expr::Sample(_)) => {}
                    Ok(cairn_logql::Expr::Log(_)) => errors.push(err(
                        field,
                        "a log query counts nothing: use a metric query such as sum(count_over_time({...}[{{.window}}]))".to_string(),
                    )),
                    Err(e) => {
                        errors.push(err(field, format!("invalid logql with window 5m: {e}")))
                    }
                },
            },
            Err(e) => errors.push(err(field, e)),
        }
    }
}

/// Renders the `{{.window}}` placeholder (Go template syntax, spaces allowed) with `window`.
pub(crate) fn render_window(query: &str, window: &str) -> Result<String, String> {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    let mut found = false;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("unclosed {{ in query".to_string());
        };
        let field = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        if field != ".window" {
            return Err(format!(
                "unknown template field {{{{{field}}}}} (only {{{{.window}}}} is defined)"
            ));
        }
        out.push_str(window);
        found = true;
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if !found {
        return Err("query must contain {{.window}}".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_window() {
        assert_eq!(
            render_window("rate(x[{{.window}}]) / rate(y[{{ .window }}])", "1h").unwrap(),
            "rate(x[1h]) / rate(y[1h])"
        );
        assert!(
            render_window("rate(x[5m])", "1h")
                .unwrap_err()
                .contains("{{.window}}")
        );
        assert!(
            render_window("rate(x[{{.w}}])", "1h")
                .unwrap_err()
                .contains("unknown")
        );
    }
}
