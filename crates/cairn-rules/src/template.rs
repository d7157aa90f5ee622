//! Alert label and annotation templates as Prometheus expands them: Go text/template with a
//! preamble defining `$labels`, `$externalLabels`, `$externalURL` and `$value`, Prometheus'
//! functions, and `query` running PromQL at the evaluation time.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_model::{Labels, Querier, TenantId};
use cairn_promql::{Engine, Value as PromValue};
use cairn_template::{Arity, Func, Funcs, Template, Value};

/// Prepended to every template, as Prometheus does, so that templates can use the variables.
const PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Checks that `text` parses as a template (with every function Prometheus offers).
pub(crate) fn check(name: &str, text: &str) -> Result<(), String> {
    let mut funcs = Funcs::prometheus();
    funcs.insert(
        "query",
        Arity::Exactly(1),
        Arc::new(|_: &[Value]| Ok(Value::Nil)),
    );
    Template::parse(name, &format!("{PREAMBLE}{text}"), &funcs)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether a template may call `query` (so that expanding it needs the engine).
pub(crate) fn may_query(text: &str) -> bool {
    text.contains("query")
}

/// What templates can see besides the alert's labels and value.
#[derive(Clone, Debug, Default)]
pub struct TemplateContext {
    /// `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    pub external_url: String,
}

/// Where `query` runs: the engine, the data and the evaluation time.
#[derive(Clone)]
pub(crate) struct QueryEnv {
    pub(crate) engine: Engine,
    pub(crate) querier: Arc<dyn Querier>,
    pub(crate) tenant: TenantId,
    pub(crate) t_ms: i64,
    pub(crate) handle: tokio::runtime::Handle,
}

/// The function set for one expansion; `query` only when an environment is given. The
/// `query` function blocks on the engine, so expansions that use it must run off the
/// reactor (the caller uses `spawn_blocking`).
pub(crate) fn funcs(env: Option<QueryEnv>) -> Funcs {
    let mut funcs = Funcs::prometheus();
    let f: Func = match env {
        Some(env) => Arc::new(move |args: &[Value]| {
            let Some(Value::String(q)) = args.first() else {
                return Err("query expects one string argument".to_string());
            };
            let got = env.handle.block_on(env.engine.instant(
                env.querier.as_ref(),
                &env.tenant,
                q,
                env.t_ms,
            ));
            match got.map_err(|e| e.to_string())? {
                PromValue::Vector(v) => Ok(Value::List(
                    v.into_iter()
                        .map(|s| sample_value(&s.labels, s.v))
                        .collect(),
                )),
                PromValue::Scalar { v, .. } => {
                    Ok(Value::List(vec![sample_value(&Labels::empty(), v)]))
                }
                _ => Err(format!(
                    "query {q:?} must return an instant vector or a scalar"
                )),
            }
        }),
        None => Arc::new(|_: &[Value]| Err("query is not available here".to_string())),
    };
    funcs.insert("query", Arity::Exactly(1), f);
    funcs
}

fn sample_value(labels: &Labels, v: f64) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Labels".to_string(), labels_value(labels));
    m.insert("Value".to_string(), Value::Float(v));
    Value::Map(m)
}

fn labels_value(labels: &Labels) -> Value {
    Value::Map(
        labels
            .iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

/// Expands one template for an alert; a failure becomes the text Prometheus puts in its
/// place.
pub(crate) fn expand(
    name: &str,
    text: &str,
    labels: &Labels,
    value: f64,
    ctx: &TemplateContext,
    funcs: &Funcs,
) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let mut data = BTreeMap::new();
    data.insert("Labels".to_string(), labels_value(labels));
    data.insert(
        "ExternalLabels".to_string(),
        Value::Map(
            ctx.external_labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
    );
    data.insert(
        "ExternalURL".to_string(),
        Value::String(ctx.external_url.clone()),
    );
    data.insert("Value".to_string(), Value::Float(value));
    let result = Template::parse(name, &format!("{PREAMBLE}{text}"), funcs)
        .and_then(|t| t.execute(&Value::Map(data)));
    match result {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, value: f64) -> String {
        let labels = Labels::from_pairs([("instance", "db-1:9100"), ("job", "node")]).unwrap();
        let mut external_labels = BTreeMap::new();
        external_labels.insert("dc".to_string(), "eu1".to_string());
        let ctx = TemplateContext {
            external_labels,
            external_url: "http://cairn:9009".to_string(),
        };
        expand("__alert_A", text, &labels, value, &ctx, &funcs(None))
    }

    #[test]
    fn variables_and_functions_as_prometheus() {
        assert_eq!(run("{{ $labels.instance }}", 0.0), "db-1:9100");
        assert_eq!(run("[{{ $labels.missing }}]", 0.0), "[]");
        assert_eq!(run("{{ $value }}", 0.5), "0.5");
        assert_eq!(run("{{ $value | humanize }}", 1234567.0), "1.235M");
        assert_eq!(run("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
        assert_eq!(run("{{ $value | humanizeDuration }}", 3601.0), "1h 0m 1s");
        assert_eq!(
            run("{{ $externalLabels.dc }} {{ $externalURL }}", 0.0),
            "eu1 http://cairn:9009"
        );
        assert_eq!(run("{{ $labels.instance | stripPort }}", 0.0), "db-1");
        assert_eq!(run("{{ printf \"%.1f\" $value }}", 2.25), "2.2");
        assert_eq!(run("no template", 0.0), "no template");
    }

    #[test]
    fn errors_are_rendered_into_the_text() {
        let got = run("{{ query \"up\" }}", 0.0);
        assert!(got.starts_with("<error expanding template: "), "{got}");
        assert!(got.contains("query is not available here"), "{got}");
        let got = run("{{ humanize \"x\" }}", 0.0);
        assert!(got.starts_with("<error expanding template: "), "{got}");
        assert!(got.ends_with('>'), "{got}");
    }

    #[test]
    fn check_refuses_bad_templates() {
        assert!(check("__alert_A", "{{ $labels.x }}").is_ok());
        assert!(check("__alert_A", "{{ query \"up\" | first | value }}").is_ok());
        assert!(check("__alert_A", "{{ nosuch }}").is_err());
        assert!(check("__alert_A", "{{ if }}").is_err());
    }
}
