//! Traces as JSON, the way Tempo writes them (gogo `jsonpb` with its defaults): proto field
//! order, lowerCamelCase keys, zero values left out, 64-bit integers as strings, enums by
//! name, `bytes` in base64, and empty `resource`, `scope` and `status` objects still written.

use cairn_model::{AttrValue, Attribute, Event, Link, ResourceSpans, ScopeSpans, Span};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::base64;

/// How ids are written in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JsonIds {
    /// Hex, as OTLP/JSON requires (and as every OTLP/JSON reader expects).
    #[default]
    Hex,
    /// Base64, as Tempo writes them (proto3 JSON's encoding of `bytes`).
    Base64,
}

impl JsonIds {
    fn write(self, b: &[u8]) -> String {
        match self {
            JsonIds::Hex => cairn_model::hex_string(b),
            JsonIds::Base64 => base64::encode(b),
        }
    }
}

fn zero_u32(n: &u32) -> bool {
    *n == 0
}

fn zero_u64_str(s: &Option<String>) -> bool {
    s.is_none()
}

fn u64_str(n: u64) -> Option<String> {
    (n != 0).then(|| n.to_string())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JResourceSpans<'a> {
    resource: JResource<'a>,
    scope_spans: Vec<JScopeSpans<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    schema_url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JResource<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attributes: Vec<JAttr<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_attributes_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JScopeSpans<'a> {
    scope: JScope<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    spans: Vec<JSpan<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    schema_url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JScope<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attributes: Vec<JAttr<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_attributes_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JSpan<'a> {
    trace_id: String,
    span_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    trace_state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    #[serde(skip_serializing_if = "zero_u32")]
    flags: u32,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "zero_u64_str")]
    start_time_unix_nano: Option<String>,
    #[serde(skip_serializing_if = "zero_u64_str")]
    end_time_unix_nano: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attributes: Vec<JAttr<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_attributes_count: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    events: Vec<JEvent<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_events_count: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    links: Vec<JLink<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_links_count: u32,
    status: JStatus<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JStatus<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JEvent<'a> {
    #[serde(skip_serializing_if = "zero_u64_str")]
    time_unix_nano: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attributes: Vec<JAttr<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_attributes_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JLink<'a> {
    trace_id: String,
    span_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    trace_state: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attributes: Vec<JAttr<'a>>,
    #[serde(skip_serializing_if = "zero_u32")]
    dropped_attributes_count: u32,
    #[serde(skip_serializing_if = "zero_u32")]
    flags: u32,
}

/// A `KeyValue`.
struct JAttr<'a>(&'a Attribute);

impl Serialize for JAttr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.0.key.is_empty() {
            m.serialize_entry("key", &self.0.key)?;
        }
        m.serialize_entry("value", &JValue(&self.0.value))?;
        m.end()
    }
}

/// An `AnyValue`.
struct JValue<'a>(&'a AttrValue);

impl Serialize for JValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            AttrValue::Empty => {}
            AttrValue::String(v) => m.serialize_entry("stringValue", v)?,
            AttrValue::Bool(v) => m.serialize_entry("boolValue", v)?,
            AttrValue::Int(v) => m.serialize_entry("intValue", &v.to_string())?,
            AttrValue::Double(v) if v.is_finite() => m.serialize_entry("doubleValue", v)?,
            AttrValue::Double(v) => {
                let name = if v.is_nan() {
                    "NaN"
                } else if *v > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                m.serialize_entry("doubleValue", name)?
            }
            AttrValue::Bytes(v) => m.serialize_entry("bytesValue", &base64::encode(v))?,
            AttrValue::Array(a) => {
                m.serialize_entry("arrayValue", &JArray(a))?;
            }
            AttrValue::KvList(kv) => {
                m.serialize_entry("kvlistValue", &JKvList(kv))?;
            }
        }
        m.end()
    }
}

struct JArray<'a>(&'a [AttrValue]);

impl Serialize for JArray<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.0.is_empty() {
            let values: Vec<JValue<'_>> = self.0.iter().map(JValue).collect();
            m.serialize_entry("values", &values)?;
        }
        m.end()
    }
}

struct JKvList<'a>(&'a [Attribute]);

impl Serialize for JKvList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.0.is_empty() {
            m.serialize_entry("values", &attrs(self.0))?;
        }
        m.end()
    }
}

fn attrs(a: &[Attribute]) -> Vec<JAttr<'_>> {
    a.iter().map(JAttr).collect()
}

/// The resource groups in their JSON form.
pub(super) fn resource_spans(groups: &[ResourceSpans], ids: JsonIds) -> Vec<JResourceSpans<'_>> {
    groups
        .iter()
        .map(|g| JResourceSpans {
            resource: JResource {
                attributes: attrs(&g.resource.attributes),
                dropped_attributes_count: g.resource.dropped_attributes_count,
            },
            scope_spans: g.scopes.iter().map(|s| scope_spans(s, ids)).collect(),
            schema_url: &g.schema_url,
        })
        .collect()
}

fn scope_spans(s: &ScopeSpans, ids: JsonIds) -> JScopeSpans<'_> {
    JScopeSpans {
        scope: JScope {
            name: &s.scope.name,
            version: &s.scope.version,
            attributes: attrs(&s.scope.attributes),
            dropped_attributes_count: s.scope.dropped_attributes_count,
        },
        spans: s.spans.iter().map(|sp| span(sp, ids)).collect(),
        schema_url: &s.schema_url,
    }
}

fn span(s: &Span, ids: JsonIds) -> JSpan<'_> {
    JSpan {
        trace_id: ids.write(&s.trace_id.0),
        span_id: ids.write(&s.span_id.0),
        trace_state: &s.trace_state,
        parent_span_id: s.parent_span_id.map(|p| ids.write(&p.0)),
        flags: s.flags,
        name: &s.name,
        kind: (s.kind as u8 != 0).then(|| s.kind.otlp_name()),
        start_time_unix_nano: u64_str(s.start_ns),
        end_time_unix_nano: u64_str(s.end_ns),
        attributes: attrs(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s.events.iter().map(event).collect(),
        dropped_events_count: s.dropped_events_count,
        links: s.links.iter().map(|l| link(l, ids)).collect(),
        dropped_links_count: s.dropped_links_count,
        status: JStatus {
            message: &s.status.message,
            code: (s.status.code as u8 != 0).then(|| s.status.code.otlp_name()),
        },
    }
}

fn event(e: &Event) -> JEvent<'_> {
    JEvent {
        time_unix_nano: u64_str(e.time_ns),
        name: &e.name,
        attributes: attrs(&e.attributes),
        dropped_attributes_count: e.dropped_attributes_count,
    }
}

fn link(l: &Link, ids: JsonIds) -> JLink<'_> {
    JLink {
        trace_id: ids.write(&l.trace_id.0),
        span_id: ids.write(&l.span_id.0),
        trace_state: &l.trace_state,
        attributes: attrs(&l.attributes),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
    }
}
