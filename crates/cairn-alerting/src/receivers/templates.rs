//! Notification texts: Cairn's default templates, the users' `templates:` files, and the data
//! they are executed over (Alertmanager's `template.Data`).
//!
//! The data follows the convention of `cairn_template::Funcs::alertmanager`: plain maps and
//! lists whose Go methods (`.Alerts.Firing`, `.CommonLabels.SortedPairs`, `.Remove`,
//! `.Names`, `.Values`) the template engine provides.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use cairn_template::{Funcs, Template, Value};

use crate::error::{Error, Result};
use crate::notify::WebhookMessage;

/// Cairn's default notification templates. They produce the shapes of Alertmanager's
/// defaults (for example the title `[FIRING:2] HighLatency (api prod)`) under the same names,
/// so that users' templates calling `slack.default.title` or `pagerduty.default.description`
/// keep working.
pub const DEFAULT_TEMPLATES: &str = r#"
{{ define "__alertmanager" }}Cairn{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ urlquery .Receiver }}{{ end }}

{{/* "[FIRING:3] <group label values> (<other common label values>)" */}}
{{ define "__subject" -}}
[{{ toUpper .Status }}{{ if eq .Status "firing" }}:{{ len .Alerts.Firing }}{{ end }}]
{{- " " }}{{ join " " .GroupLabels.SortedPairs.Values }}
{{- if gt (len .CommonLabels) (len .GroupLabels) }}
{{- with .CommonLabels.Remove .GroupLabels.Names }} ({{ join " " .Values }}){{ end }}
{{- end }}
{{- end }}
{{ define "__description" }}{{ end }}

{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}

{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}
{{/* One line per alert: its name in bold, then its summary or description when it has one. */}}
{{ define "slack.default.text" -}}
{{ range .Alerts }}*{{ .Labels.alertname }}*
{{- with .Annotations.summary }} {{ . }}{{ else }}{{ with .Annotations.description }} {{ . }}{{ end }}{{ end }}
{{ end }}
{{- end }}

{{ define "pagerduty.default.description" }}{{ template "__subject" . }}{{ end }}
{{ define "pagerduty.default.client" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "pagerduty.default.clientURL" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "pagerduty.default.instances" }}{{ template "__text_alert_list" . }}{{ end }}

{{ define "webhook.default.url" }}{{ end }}
"#;

/// The name a config text is wrapped under so that it sees every definition.
const TEXT: &str = "__cairn_config_text";

/// The parsed defaults plus users' files, and every config text rendered so far.
pub(crate) struct Templates {
    base: Template,
    cache: Mutex<HashMap<String, Arc<Template>>>,
}

impl Templates {
    /// Parses the defaults, then the files `globs` name (later definitions win, so users may
    /// redefine a default).
    pub(crate) fn load(globs: &[String], dir: Option<&Path>) -> Result<Templates> {
        let mut base = Template::parse("default.tmpl", DEFAULT_TEMPLATES, &Funcs::alertmanager())
            .map_err(|e| Error::Config(format!("default templates: {e}")))?;
        for g in globs {
            for path in expand_glob(g, dir)? {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!("reading template file {}: {e}", path.display()))
                })?;
                base.add(&text)
                    .map_err(|e| Error::Config(format!("template file {}: {e}", path.display())))?;
            }
        }
        Ok(Templates {
            base,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Executes a config text (e.g. `{{ template "slack.default.title" . }}`) over `data`.
    pub(crate) fn render(&self, text: &str, data: &Value) -> std::result::Result<String, String> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        self.compiled(text)?
            .execute_named(TEXT, data)
            .map_err(|e| format!("template {text:?}: {e}"))
    }

    /// Parses a config text once, so that a syntax error shows when the config is loaded.
    pub(crate) fn check(&self, text: &str) -> std::result::Result<(), String> {
        if text.contains("{{") {
            self.compiled(text)?;
        }
        Ok(())
    }

    fn compiled(&self, text: &str) -> std::result::Result<Arc<Template>, String> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(text)
            .cloned();
        if let Some(t) = cached {
            return Ok(t);
        }
        let mut t = self.base.clone();
        t.add(&format!("{{{{ define \"{TEXT}\" }}}}{text}{{{{ end }}}}"))
            .map_err(|e| format!("template {text:?}: {e}"))?;
        let t = Arc::new(t);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // The texts come from the config, so the cache stays small; the bound is a backstop.
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(text.to_string(), Arc::clone(&t));
        Ok(t)
    }

    /// Renders `configured`, or the default template `default_name` when unset.
    pub(crate) fn render_or(
        &self,
        configured: Option<&str>,
        default_name: &str,
        data: &Value,
    ) -> std::result::Result<String, String> {
        match configured {
            Some(t) => self.render(t, data),
            None => self
                .base
                .execute_named(default_name, data)
                .map_err(|e| format!("template {default_name:?}: {e}")),
        }
    }
}

/// Paths a `templates:` entry names; `*` and `?` may appear in the file name part only.
fn expand_glob(glob: &str, dir: Option<&Path>) -> Result<Vec<std::path::PathBuf>> {
    let full = match dir {
        Some(d) if Path::new(glob).is_relative() => d.join(glob),
        _ => Path::new(glob).to_path_buf(),
    };
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = full.parent().unwrap_or(Path::new("."));
    if parent.to_string_lossy().contains(['*', '?', '[']) {
        return Err(Error::Config(format!(
            "templates: {glob:?}: wildcards are supported in the file name only"
        )));
    }
    if !name.contains(['*', '?']) {
        return Ok(vec![full]);
    }
    // A glob matching nothing is no error, as in Alertmanager.
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

/// Shell-style matching of `*` and `?`.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The data notification templates see, built from a message: `Receiver`, `Status`,
/// `Alerts` (each with `Status`, `Labels`, `Annotations`, `StartsAt`, `EndsAt`,
/// `GeneratorURL`, `Fingerprint`), `GroupLabels`, `CommonLabels`, `CommonAnnotations`,
/// `ExternalURL`, and Cairn's `GroupKey` and `TruncatedAlerts`.
pub fn template_data(m: &WebhookMessage) -> Value {
    let alerts: Vec<Value> = m
        .alerts
        .iter()
        .map(|a| {
            Value::Map(BTreeMap::from([
                ("Status".to_string(), Value::String(a.status.clone())),
                ("Labels".to_string(), string_map(&a.labels)),
                ("Annotations".to_string(), string_map(&a.annotations)),
                ("StartsAt".to_string(), Value::Time(a.starts_at)),
                ("EndsAt".to_string(), Value::Time(a.ends_at)),
                (
                    "GeneratorURL".to_string(),
                    Value::String(a.generator_url.clone()),
                ),
                (
                    "Fingerprint".to_string(),
                    Value::String(a.fingerprint.clone()),
                ),
            ]))
        })
        .collect();
    Value::Map(BTreeMap::from([
        ("Receiver".to_string(), Value::String(m.receiver.clone())),
        ("Status".to_string(), Value::String(m.status.clone())),
        ("Alerts".to_string(), Value::List(alerts)),
        ("GroupLabels".to_string(), string_map(&m.group_labels)),
        ("CommonLabels".to_string(), string_map(&m.common_labels)),
        (
            "CommonAnnotations".to_string(),
            string_map(&m.common_annotations),
        ),
        (
            "ExternalURL".to_string(),
            Value::String(m.external_url.clone()),
        ),
        ("GroupKey".to_string(), Value::String(m.group_key.clone())),
        (
            "TruncatedAlerts".to_string(),
            Value::Int(i64::try_from(m.truncated_alerts).unwrap_or(i64::MAX)),
        ),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.tmpl", "slack.tmpl"));
        assert!(wildcard("a?c", "abc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("*.tmpl", "slack.tmpl.bak"));
        assert!(wildcard("*a*b", "xxaxxb"));
        assert!(!wildcard("a", "b"));
    }

    #[test]
    fn globs_expand_in_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.tmpl"), "").unwrap();
        std::fs::write(dir.path().join("b.tmpl"), "").unwrap();
        std::fs::write(dir.path().join("c.txt"), "").unwrap();
        let got = expand_glob("*.tmpl", Some(dir.path())).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.tmpl", "b.tmpl"]);
        assert!(expand_glob("/x/*/y.tmpl", None).is_err());
        assert!(
            expand_glob("/nonexistent-dir/*.tmpl", None)
                .unwrap()
                .is_empty()
        );
    }
}
