//! The `logs:` section: how records that carry no stream labels of their own (Fluent Bit's
//! `http` output, the forward protocol) become streams, the forward listener's security, and
//! how OTLP log attributes map to labels and structured metadata. Option names are those of
//! Fluent Bit's `loki` output and of Loki's `otlp_config`, so existing configurations carry
//! over.

use serde::Deserialize;

use super::V;
use crate::error::Result;
use cairn_wire::{
    DropSingleKey, FluentHttpFormat, HandshakeConfig, LineFormat, OtlpAttributeAction,
    OtlpAttributeRule, OtlpLogMapping, RecordMapping, RecordMappingConfig, TimeFormat, TimeKey,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    records: Option<RawRecords>,
    fluent_bit: Option<RawFluentBit>,
    forward: Option<RawForward>,
    otlp: Option<RawOtlp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecords {
    labels: Option<Vec<String>>,
    label_keys: Option<Vec<String>>,
    remove_keys: Option<Vec<String>>,
    structured_metadata: Option<Vec<String>>,
    structured_metadata_map_keys: Option<Vec<String>>,
    line_format: Option<String>,
    drop_single_key: Option<serde_yaml_ng::Value>,
    auto_kubernetes_labels: Option<bool>,
    escape_unicode: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFluentBit {
    format: Option<String>,
    json_date_key: Option<serde_yaml_ng::Value>,
    json_date_format: Option<String>,
    tag_header: Option<String>,
    tag_label: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForward {
    tenant: Option<String>,
    tag_label: Option<String>,
    shared_key: Option<String>,
    self_hostname: Option<String>,
    users: Option<Vec<RawUser>>,
    max_message_size: Option<super::raw::RawSize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOtlp {
    resource_attributes: Option<RawResourceAttributes>,
    scope_attributes: Option<Vec<RawAttributeRule>>,
    log_attributes: Option<Vec<RawAttributeRule>>,
    severity_text_as_label: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResourceAttributes {
    ignore_defaults: Option<bool>,
    attributes_config: Option<Vec<RawAttributeRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttributeRule {
    action: String,
    attributes: Option<Vec<String>>,
    regex: Option<String>,
}

/// `logs:` section.
#[derive(Clone, Debug)]
pub struct LogsConfig {
    /// `logs.records`: Fluent Bit's `loki` output options, for Fluent Bit `http` and forward
    /// records.
    pub records: RecordMappingConfig,
    /// `logs.fluent_bit`: the `http` output's format options.
    pub fluent_bit: FluentBitConfig,
    /// `logs.forward`: the forward listener.
    pub forward: ForwardConfig,
    /// `logs.otlp`: Loki's `otlp_config`.
    pub otlp: OtlpLogMapping,
}

impl PartialEq for LogsConfig {
    fn eq(&self, o: &Self) -> bool {
        // OTLP regexes compare by their patterns.
        self.records == o.records
            && self.fluent_bit == o.fluent_bit
            && self.forward == o.forward
            && format!("{:?}", self.otlp) == format!("{:?}", o.otlp)
    }
}

/// `logs.fluent_bit`.
#[derive(Clone, Debug)]
pub struct FluentBitConfig {
    /// `format` when the request says nothing better (default: from the Content-Type).
    pub format: Option<FluentHttpFormat>,
    /// `json_date_key` and `json_date_format` (Fluent Bit's defaults: `date`, `double`).
    pub time: TimeKey,
    /// Header carrying the record tag (Fluent Bit's `header_tag`), if any.
    pub tag_header: Option<String>,
    /// The label the tag becomes (default `tag`; empty: none).
    pub tag_label: Option<String>,
    /// The compiled record mapping with the tag label.
    pub(crate) mapping: RecordMapping,
}

/// `logs.forward`.
#[derive(Clone, Debug)]
pub struct ForwardConfig {
    /// The tenant of every forward connection (the protocol has no headers). With
    /// multi-tenancy on and no tenant here, the forward listener does not start.
    pub tenant: Option<cairn_model::TenantId>,
    /// The label the record tag becomes (default `tag`; empty: none).
    pub tag_label: Option<String>,
    /// The shared-key handshake, when `shared_key` is set.
    pub handshake: Option<HandshakeConfig>,
    /// Largest message accepted (default 64MiB).
    pub max_message_size: usize,
    /// The compiled record mapping with the tag label.
    pub(crate) mapping: RecordMapping,
}

// Compiled mappings are left out of comparisons: they are functions of the options beside
// them.
impl PartialEq for FluentBitConfig {
    fn eq(&self, o: &Self) -> bool {
        self.format == o.format
            && self.time == o.time
            && self.tag_header == o.tag_header
            && self.tag_label == o.tag_label
    }
}

impl PartialEq for ForwardConfig {
    fn eq(&self, o: &Self) -> bool {
        self.tenant == o.tenant
            && self.tag_label == o.tag_label
            && self.handshake == o.handshake
            && self.max_message_size == o.max_message_size
    }
}

fn drop_single_key(
    v: &V<'_>,
    key: &str,
    raw: Option<serde_yaml_ng::Value>,
) -> Result<DropSingleKey> {
    use serde_yaml_ng::Value;
    Ok(match raw {
        None => DropSingleKey::Off,
        Some(Value::Bool(false)) => DropSingleKey::Off,
        Some(Value::Bool(true)) => DropSingleKey::On,
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "off" | "false" => DropSingleKey::Off,
            "on" | "true" => DropSingleKey::On,
            "raw" => DropSingleKey::Raw,
            other => {
                return Err(v.err(key, format!("unknown value {other:?}: use on, off or raw")));
            }
        },
        Some(other) => {
            return Err(v.err(key, format!("expected on, off or raw, got {other:?}")));
        }
    })
}

fn tag_label(v: &V<'_>, key: &str, raw: Option<String>) -> Result<Option<String>> {
    match raw {
        None => Ok(Some("tag".into())),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if crate::logs::valid_label_name(&s) => Ok(Some(s)),
        Some(s) => Err(v.err(key, format!("{s:?} is not a valid label name"))),
    }
}

fn compile(v: &V<'_>, key: &str, cfg: &RecordMappingConfig) -> Result<RecordMapping> {
    RecordMapping::new(cfg).map_err(|e| v.err(key, e.to_string()))
}

fn rules(
    v: &V<'_>,
    key: &str,
    raw: Option<Vec<RawAttributeRule>>,
) -> Result<Vec<OtlpAttributeRule>> {
    let mut out = Vec::new();
    for (i, r) in raw.unwrap_or_default().into_iter().enumerate() {
        let k = format!("{key}[{i}]");
        let action = OtlpAttributeAction::from_name(&r.action).ok_or_else(|| {
            v.err(
                &format!("{k}.action"),
                format!(
                    "unknown action {:?}: use index_label, structured_metadata or drop",
                    r.action
                ),
            )
        })?;
        match (r.attributes, r.regex) {
            (Some(a), None) if !a.is_empty() => out.push(OtlpAttributeRule::names(action, a)),
            (None, Some(re)) => out.push(
                OtlpAttributeRule::regex(action, &re)
                    .map_err(|e| v.err(&format!("{k}.regex"), e.to_string()))?,
            ),
            _ => {
                return Err(v.err(
                    &k,
                    "set exactly one of attributes (a non-empty list) or regex",
                ));
            }
        }
    }
    Ok(out)
}

/// Validates the section.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawLogs>) -> Result<LogsConfig> {
    let raw = raw.unwrap_or_default();
    let r = raw.records.unwrap_or_default();
    let d = RecordMappingConfig::default();
    let records = RecordMappingConfig {
        labels: r.labels.unwrap_or(d.labels),
        label_keys: r.label_keys.unwrap_or(d.label_keys),
        remove_keys: r.remove_keys.unwrap_or(d.remove_keys),
        structured_metadata: r.structured_metadata.unwrap_or(d.structured_metadata),
        structured_metadata_map_keys: r
            .structured_metadata_map_keys
            .unwrap_or(d.structured_metadata_map_keys),
        line_format: match r.line_format.as_deref() {
            None | Some("json") => LineFormat::Json,
            Some("key_value") => LineFormat::KeyValue,
            Some(other) => {
                return Err(v.err(
                    "logs.records.line_format",
                    format!("unknown line format {other:?}: use json or key_value"),
                ));
            }
        },
        drop_single_key: drop_single_key(v, "logs.records.drop_single_key", r.drop_single_key)?,
        auto_kubernetes_labels: r.auto_kubernetes_labels.unwrap_or(d.auto_kubernetes_labels),
        tag_label: None,
        escape_unicode: r.escape_unicode.unwrap_or(d.escape_unicode),
    };
    // Checked on its own so that an error names `logs.records`, not the listener's copy.
    compile(v, "logs.records", &records)?;

    let fb = raw.fluent_bit.unwrap_or_default();
    let format = match fb.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(FluentHttpFormat::from_name(f).ok_or_else(|| {
            v.err(
                "logs.fluent_bit.format",
                format!("unknown format {f:?}: use json, json_lines, json_stream, msgpack or gelf"),
            )
        })?),
    };
    let date_key = match fb.json_date_key {
        None => Some("date".to_string()),
        Some(serde_yaml_ng::Value::Bool(false)) => None,
        Some(serde_yaml_ng::Value::String(s)) if s == "false" || s.is_empty() => None,
        Some(serde_yaml_ng::Value::String(s)) => Some(s),
        Some(other) => {
            return Err(v.err(
                "logs.fluent_bit.json_date_key",
                format!("expected a key name or false, got {other:?}"),
            ));
        }
    };
    let date_format = match fb.json_date_format.as_deref() {
        None => TimeFormat::default(),
        Some(f) => TimeFormat::from_name(f).ok_or_else(|| {
            v.err(
                "logs.fluent_bit.json_date_format",
                format!(
                    "unknown format {f:?}: use double, epoch, epoch_ms, iso8601 or java_sql_timestamp"
                ),
            )
        })?,
    };
    let fb_tag_label = tag_label(v, "logs.fluent_bit.tag_label", fb.tag_label)?;
    let fluent_bit = FluentBitConfig {
        format,
        time: TimeKey {
            key: date_key,
            format: date_format,
        },
        tag_header: fb
            .tag_header
            .filter(|h| !h.is_empty())
            .map(|h| h.to_ascii_lowercase()),
        mapping: compile(
            v,
            "logs.records",
            &RecordMappingConfig {
                tag_label: fb_tag_label.clone(),
                ..records.clone()
            },
        )?,
        tag_label: fb_tag_label,
    };

    let fw = raw.forward.unwrap_or_default();
    let tenant = match fw.tenant.filter(|t| !t.is_empty()) {
        Some(t) => Some(
            cairn_model::TenantId::new(&t)
                .map_err(|e| v.err("logs.forward.tenant", e.to_string()))?,
        ),
        None => None,
    };
    let handshake = match fw.shared_key.filter(|k| !k.is_empty()) {
        Some(shared_key) => Some(HandshakeConfig {
            shared_key,
            self_hostname: fw
                .self_hostname
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "cairn".into()),
            users: fw
                .users
                .unwrap_or_default()
                .into_iter()
                .map(|u| (u.username, u.password))
                .collect(),
        }),
        None => {
            if fw.users.is_some_and(|u| !u.is_empty()) {
                return Err(v.err(
                    "logs.forward.users",
                    "user authentication needs logs.forward.shared_key",
                ));
            }
            None
        }
    };
    let fw_tag_label = tag_label(v, "logs.forward.tag_label", fw.tag_label)?;
    let max_message_size = v.positive(
        "logs.forward.max_message_size",
        v.bytes(
            "logs.forward.max_message_size",
            fw.max_message_size.as_ref(),
            64 << 20,
        )?,
        "max_message_size",
    )?;
    let forward = ForwardConfig {
        tenant,
        handshake,
        max_message_size: usize::try_from(max_message_size).unwrap_or(usize::MAX),
        mapping: compile(
            v,
            "logs.records",
            &RecordMappingConfig {
                tag_label: fw_tag_label.clone(),
                ..records.clone()
            },
        )?,
        tag_label: fw_tag_label,
    };

    let o = raw.otlp.unwrap_or_default();
    let ra = o.resource_attributes.unwrap_or_default();
    let mut otlp = OtlpLogMapping {
        ignore_defaults: ra.ignore_defaults.unwrap_or(false),
        resource_attributes: rules(
            v,
            "logs.otlp.resource_attributes.attributes_config",
            ra.attributes_config,
        )?,
        scope_attributes: rules(v, "logs.otlp.scope_attributes", o.scope_attributes)?,
        log_attributes: rules(v, "logs.otlp.log_attributes", o.log_attributes)?,
        ..OtlpLogMapping::default()
    };
    if let Some(s) = o.severity_text_as_label {
        otlp.severity_text_as_label = s;
    }
    otlp.validate()
        .map_err(|e| v.err("logs.otlp", e.to_string()))?;
    Ok(LogsConfig {
        records,
        fluent_bit,
        forward,
        otlp,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn parse(text: &str) -> crate::Result<Config> {
        Config::from_yaml(text, "t.yaml", &|_| None)
    }

    #[test]
    fn defaults_are_fluent_bits_and_lokis() {
        let c = parse("").expect("defaults are valid");
        let l = &c.logs;
        assert_eq!(l.records.line_format, cairn_wire::LineFormat::Json);
        assert_eq!(l.fluent_bit.time.key.as_deref(), Some("date"));
        assert_eq!(l.fluent_bit.tag_label.as_deref(), Some("tag"));
        assert_eq!(l.forward.tag_label.as_deref(), Some("tag"));
        assert!(l.forward.handshake.is_none());
        assert!(!l.otlp.ignore_defaults);
        assert!(
            l.otlp
                .default_index_labels
                .iter()
                .any(|n| n == "service.name")
        );
    }

    #[test]
    fn values_and_errors() {
        let c = parse(
            "logs:\n  records:\n    label_keys: ['$kubernetes[''namespace_name'']']\n    drop_single_key: raw\n    line_format: key_value\n  fluent_bit:\n    json_date_key: false\n    json_date_format: iso8601\n    tag_label: ''\n  forward:\n    shared_key: s3cret\n    users: [{username: u, password: p}]\n  otlp:\n    resource_attributes:\n      ignore_defaults: true\n      attributes_config:\n        - action: index_label\n          attributes: [service.name]\n    log_attributes:\n      - action: drop\n        regex: 'http\\..*'\n",
        )
        .expect("valid");
        assert_eq!(
            c.logs.records.drop_single_key,
            cairn_wire::DropSingleKey::Raw
        );
        assert_eq!(c.logs.fluent_bit.time.key, None);
        assert_eq!(c.logs.fluent_bit.tag_label, None);
        let h = c.logs.forward.handshake.as_ref().expect("handshake on");
        assert_eq!((h.shared_key.as_str(), h.users.len()), ("s3cret", 1));
        assert!(c.logs.otlp.ignore_defaults);
        for (text, key) in [
            (
                "logs:\n  records:\n    line_format: xml\n",
                "logs.records.line_format",
            ),
            (
                "logs:\n  fluent_bit:\n    format: csv\n",
                "logs.fluent_bit.format",
            ),
            (
                "logs:\n  forward:\n    users: [{username: u, password: p}]\n",
                "logs.forward.users",
            ),
            (
                "logs:\n  otlp:\n    log_attributes:\n      - action: keep\n        attributes: [a]\n",
                "logs.otlp.log_attributes[0].action",
            ),
            (
                "logs:\n  otlp:\n    log_attributes:\n      - action: drop\n",
                "logs.otlp.log_attributes[0]",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        assert!(parse("logs:\n  bogus: 1\n").is_err());
    }
}
