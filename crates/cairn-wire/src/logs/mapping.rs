//! Records to streams, as Fluent Bit's `loki` output builds its push requests
//! (`plugins/out_loki/loki.c`): stream labels from static values, record accessors and
//! Kubernetes labels (`job="fluent-bit"` when none), the line as the record in JSON or
//! `key=value` form without the keys used as labels or listed in `remove_keys`,
//! `drop_single_key`, and structured metadata from fields and maps.

mod accessor;
mod line;

use std::collections::HashMap;

use cairn_model::{Labels, LogBatch, LogEntry, LogStream};

use self::accessor::{Accessor, Template, sanitize_label_name, value_text};
use super::fluent::{FieldValue, FluentRecord};
use super::selector::is_bare_label_name;
use crate::error::{Result, WireError};

pub(crate) use line::write_json;

/// How the line is written (Fluent Bit's `line_format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LineFormat {
    /// The record as JSON (the default).
    #[default]
    Json,
    /// `key=value` pairs separated by spaces.
    KeyValue,
}

/// Fluent Bit's `drop_single_key`: what to do with a record left with one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DropSingleKey {
    /// Keep the record as it is (the default).
    #[default]
    Off,
    /// The line is the field's value (a string in JSON quotes with `line_format json`).
    On,
    /// Like `On`, but a string value is the line as is, without quotes.
    Raw,
}

/// The options of Fluent Bit's `loki` output that shape streams, plus Cairn's `tag_label`.
/// Strings are written as in a Fluent Bit configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMappingConfig {
    /// `labels`: `name=value` (the value may use `$accessor`, `$TAG`, `$TAG[n]`) or a bare
    /// `$accessor` (named after its path).
    pub labels: Vec<String>,
    /// `label_keys`: accessors (`$kubernetes['namespace_name']`) or dotted paths
    /// (`kubernetes.namespace_name`) whose values become labels named after the path.
    pub label_keys: Vec<String>,
    /// `remove_keys`: fields taken out of the line.
    pub remove_keys: Vec<String>,
    /// `structured_metadata`: like `labels`, into the entry's structured metadata.
    pub structured_metadata: Vec<String>,
    /// `structured_metadata_map_keys`: accessors to maps whose entries all become structured
    /// metadata.
    pub structured_metadata_map_keys: Vec<String>,
    /// `line_format`.
    pub line_format: LineFormat,
    /// `drop_single_key`.
    pub drop_single_key: DropSingleKey,
    /// `auto_kubernetes_labels`: every string of `$kubernetes['labels']` becomes a label.
    pub auto_kubernetes_labels: bool,
    /// Adds the record's tag as this label (not a Fluent Bit option: the forward protocol and
    /// the `http` output's `header_tag` carry a tag the sender's `loki` output would have had
    /// in `$TAG`).
    pub tag_label: Option<String>,
    /// Fluent Bit's `json.escape_unicode` (default on): non-ASCII characters of JSON lines as
    /// `\uXXXX`.
    pub escape_unicode: bool,
}

impl Default for RecordMappingConfig {
    /// Fluent Bit's defaults: no labels (so `job="fluent-bit"`), JSON lines, unicode escaped.
    fn default() -> Self {
        RecordMappingConfig {
            labels: Vec::new(),
            label_keys: Vec::new(),
            remove_keys: Vec::new(),
            structured_metadata: Vec::new(),
            structured_metadata_map_keys: Vec::new(),
            line_format: LineFormat::Json,
            drop_single_key: DropSingleKey::Off,
            auto_kubernetes_labels: false,
            tag_label: None,
            escape_unicode: true,
        }
    }
}

/// A compiled [`RecordMappingConfig`].
#[derive(Clone, Debug)]
pub struct RecordMapping {
    labels: Vec<Rule>,
    metadata: Vec<Rule>,
    metadata_maps: Vec<Accessor>,
    remove: Vec<Accessor>,
    line_format: LineFormat,
    drop_single_key: DropSingleKey,
    kubernetes_labels: Option<Accessor>,
    tag_label: Option<String>,
    escape_unicode: bool,
}

/// One `labels` / `structured_metadata` item.
#[derive(Clone, Debug)]
enum Rule {
    /// `name=template`.
    Named(String, Template),
    /// `$accessor`: named after its path.
    Field(Accessor, String),
}

impl Default for RecordMapping {
    fn default() -> Self {
        RecordMapping::new(&RecordMappingConfig::default())
            .expect("the default configuration is valid")
    }
}

impl RecordMapping {
    /// Compiles a configuration, with Fluent Bit's checks (`name=value` pairs with a value,
    /// accessors not starting with a digit, `label_keys` and map keys being accessors) and a
    /// check that label names are valid.
    pub fn new(cfg: &RecordMappingConfig) -> Result<RecordMapping> {
        let bad = |m: String| WireError::InvalidMapping(m);
        let mut remove: Vec<Accessor> = Vec::new();
        let mut labels = Vec::new();
        for item in &cfg.labels {
            labels.push(parse_rule(item, "labels", true).map_err(bad)?);
        }
        for key in &cfg.label_keys {
            let a = Accessor::parse(key).map_err(|e| bad(format!("label_keys: {e}")))?;
            let name = a.label_name();
            labels.push(Rule::Field(a, name));
        }
        let mut metadata = Vec::new();
        for item in &cfg.structured_metadata {
            metadata.push(parse_rule(item, "structured_metadata", false).map_err(bad)?);
        }
        let mut metadata_maps = Vec::new();
        for key in &cfg.structured_metadata_map_keys {
            if !key.trim_start().starts_with('$') {
                return Err(bad(format!(
                    "structured_metadata_map_keys: invalid structured metadata map key {key:?}, the name must start with '$'"
                )));
            }
            metadata_maps.push(
                Accessor::parse(key)
                    .map_err(|e| bad(format!("structured_metadata_map_keys: {e}")))?,
            );
        }
        // Keys that fed labels or metadata leave the line, as in Fluent Bit.
        for r in labels.iter().chain(&metadata) {
            match r {
                Rule::Field(a, _) => remove.push(a.clone()),
                Rule::Named(_, t) => remove.extend(t.accessors().cloned()),
            }
        }
        remove.extend(metadata_maps.iter().cloned());
        for key in &cfg.remove_keys {
            remove.push(Accessor::parse(key).map_err(|e| bad(format!("remove_keys: {e}")))?);
        }
        if let Some(t) = &cfg.tag_label
            && !is_bare_label_name(t)
        {
            return Err(bad(format!("tag_label: invalid label name {t:?}")));
        }
        Ok(RecordMapping {
            labels,
            metadata,
            metadata_maps,
            remove,
            line_format: cfg.line_format,
            drop_single_key: cfg.drop_single_key,
            kubernetes_labels: cfg.auto_kubernetes_labels.then(|| {
                Accessor::parse("$kubernetes['labels']").expect("a fixed accessor parses")
            }),
            tag_label: cfg.tag_label.clone(),
            escape_unicode: cfg.escape_unicode,
        })
    }
}

fn parse_rule(item: &str, option: &str, is_label: bool) -> std::result::Result<Rule, String> {
    let item = item.trim();
    if item.starts_with('$') {
        let a = Accessor::parse(item).map_err(|e| format!("{option}: {e}"))?;
        let name = a.label_name();
        return Ok(Rule::Field(a, name));
    }
    let Some((name, value)) = item.split_once('=') else {
        return Err(format!("{option}: invalid key value pair on {item:?}"));
    };
    let (name, value) = (name.trim(), value.trim());
    if value.is_empty() {
        return Err(format!("{option}: invalid key value pair on {item:?}"));
    }
    if is_label && !is_bare_label_name(name) {
        return Err(format!("{option}: invalid label name {name:?}"));
    }
    if name.is_empty() {
        return Err(format!("{option}: invalid key value pair on {item:?}"));
    }
    let t = Template::parse(value).map_err(|e| format!("{option}: {e}"))?;
    Ok(Rule::Named(name.to_string(), t))
}

/// Turns records into streams with `mapping`; records without a time get `now_ns`.
///
/// Returns the batch (streams in order of first appearance, entries in record order) and a
/// note for each label that had to be left out (a name that sanitising left empty).
pub fn map_records(
    records: Vec<FluentRecord>,
    mapping: &RecordMapping,
    now_ns: i64,
) -> (LogBatch, Vec<String>) {
    let mut batch = LogBatch::default();
    let mut notes = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for rec in records {
        let labels = mapping.labels_of(&rec, &mut notes);
        let entry = LogEntry {
            ts_ns: rec.ts_ns.unwrap_or(now_ns),
            line: mapping.line_of(&rec),
            metadata: mapping.metadata_of(&rec),
        };
        match index.get(&labels) {
            Some(&i) => batch.streams[i].entries.push(entry),
            None => {
                index.insert(labels.clone(), batch.streams.len());
                batch.streams.push(LogStream {
                    labels,
                    entries: vec![entry],
                });
            }
        }
    }
    (batch, notes)
}

impl RecordMapping {
    fn labels_of(&self, rec: &FluentRecord, notes: &mut Vec<String>) -> Labels {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let set = |name: String, value: String, pairs: &mut Vec<(String, String)>| {
            // An empty value means no label, as Fluent Bit skips empty translations; a
            // repeated name keeps the last value, as Loki's JSON decoding does.
            if value.is_empty() {
                return;
            }
            match pairs.iter_mut().find(|(n, _)| *n == name) {
                Some(p) => p.1 = value,
                None => pairs.push((name, value)),
            }
        };
        let tag = rec.tag.as_deref();
        for r in &self.labels {
            match r {
                Rule::Named(n, t) => set(n.clone(), t.render(&rec.fields, tag), &mut pairs),
                Rule::Field(a, n) => {
                    if let Some(v) = a.get(&rec.fields) {
                        set(n.clone(), value_text(v), &mut pairs);
                    }
                }
            }
        }
        if let Some(k8s) = &self.kubernetes_labels
            && let Some(FieldValue::Map(m)) = k8s.get(&rec.fields)
        {
            for (k, v) in m {
                if let FieldValue::Str(s) = v {
                    set(sanitize_label_name(k), s.clone(), &mut pairs);
                }
            }
        }
        if let (Some(name), Some(t)) = (&self.tag_label, tag) {
            set(name.clone(), t.to_string(), &mut pairs);
        }
        pairs.retain(|(n, _)| {
            let ok = !n.is_empty();
            if !ok {
                notes.push("label with an empty name left out".to_string());
            }
            ok
        });
        if pairs.is_empty() {
            pairs.push(("job".into(), "fluent-bit".into()));
        }
        Labels::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .expect("names are non-empty and unique")
    }

    fn metadata_of(&self, rec: &FluentRecord) -> Vec<(String, String)> {
        let mut md: Vec<(String, String)> = Vec::new();
        let put = |name: String, value: String, md: &mut Vec<(String, String)>| {
            if name.is_empty() || value.is_empty() {
                return;
            }
            // Explicit `structured_metadata` entries override map keys (they come later).
            match md.iter_mut().find(|(n, _)| *n == name) {
                Some(p) => p.1 = value,
                None => md.push((name, value)),
            }
        };
        for a in &self.metadata_maps {
            if let Some(FieldValue::Map(m)) = a.get(&rec.fields) {
                for (k, v) in m {
                    let value = match v {
                        FieldValue::Str(s) => s.clone(),
                        v => {
                            let mut s = String::new();
                            write_json(&mut s, v, self.escape_unicode);
                            s
                        }
                    };
                    put(sanitize_label_name(k), value, &mut md);
                }
            }
        }
        let tag = rec.tag.as_deref();
        for r in &self.metadata {
            match r {
                Rule::Named(n, t) => put(n.clone(), t.render(&rec.fields, tag), &mut md),
                Rule::Field(a, n) => {
                    if let Some(v) = a.get(&rec.fields) {
                        put(n.clone(), value_text(v), &mut md);
                    }
                }
            }
        }
        md
    }

    fn line_of(&self, rec: &FluentRecord) -> String {
        let mut fields = rec.fields.clone();
        for a in &self.remove {
            a.remove(&mut fields);
        }
        let mut out = String::new();
        if self.drop_single_key != DropSingleKey::Off && fields.len() == 1 {
            let v = &fields[0].1;
            match (self.line_format, v) {
                (LineFormat::Json, FieldValue::Str(s))
                    if self.drop_single_key == DropSingleKey::Raw =>
                {
                    out.push_str(s)
                }
                (LineFormat::Json, v) => write_json(&mut out, v, self.escape_unicode),
                (LineFormat::KeyValue, FieldValue::Str(s)) => out.push_str(s),
                (LineFormat::KeyValue, v) => line::write_kv_value(&mut out, v),
            }
            return out;
        }
        match self.line_format {
            LineFormat::Json => line::write_json_map(&mut out, &fields, self.escape_unicode),
            LineFormat::KeyValue => line::write_kv_line(&mut out, &fields),
        }
        out
    }
}

#[cfg(test)]
mod tests;
