//! Traces: spans as Cairn keeps them, grouped as OTLP groups them (resource -> instrumentation
//! scope -> spans), and the [`Trace`] that gathers the spans of one trace id arriving in many
//! requests.
//!
//! Everything is owned and typed: ids are fixed-size arrays ([`TraceId`], [`SpanId`]),
//! attribute values keep their OTLP type ([`AttrValue`]), times are nanoseconds since the Unix
//! epoch as OTLP sends them (`u64`). A decoded span is valid: non-zero ids of the right size,
//! a name, and an end not before its start (the decoders reject the rest). Attribute order
//! is kept as sent, so that a trace read back is the trace written.

mod combine;
mod ids;

pub use combine::Trace;
pub use ids::{IdError, SpanId, TraceId, hex_string, parse_hex_bytes};

/// A typed attribute value (OTLP's `AnyValue`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AttrValue {
    /// No value set (OTLP allows it; kept so a round trip is exact).
    #[default]
    Empty,
    /// A UTF-8 string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float (exact bits kept).
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values.
    Array(Vec<AttrValue>),
    /// A list of key/value pairs (OTLP's `KeyValueList`; keys may repeat, order kept).
    KvList(Vec<Attribute>),
}

impl AttrValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One attribute: a key and its value (OTLP's `KeyValue`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribute {
    /// The key.
    pub key: String,
    /// The value.
    pub value: AttrValue,
}

impl Attribute {
    /// An attribute from a key and anything that converts to a value.
    pub fn new(key: impl Into<String>, value: impl Into<AttrValue>) -> Self {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::String(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::String(s)
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        AttrValue::Int(i)
    }
}

impl From<f64> for AttrValue {
    fn from(d: f64) -> Self {
        AttrValue::Double(d)
    }
}

/// The first value of `key` among `attrs`.
pub fn find_attr<'a>(attrs: &'a [Attribute], key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|a| a.key == key).map(|a| &a.value)
}

/// What a span stands for (OTLP's `SpanKind`, same numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SpanKind {
    /// Not given.
    #[default]
    Unspecified = 0,
    /// An internal operation.
    Internal = 1,
    /// The server side of a synchronous call.
    Server = 2,
    /// The client side of a synchronous call.
    Client = 3,
    /// The sender of an asynchronous message.
    Producer = 4,
    /// The receiver of an asynchronous message.
    Consumer = 5,
}

impl SpanKind {
    /// The kind of an OTLP enum number; numbers OTLP does not define read as `Unspecified`.
    pub fn from_i32(n: i32) -> Self {
        match n {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// The kind of an OTLP enum name (`SPAN_KIND_SERVER`).
    pub fn from_name(s: &str) -> Option<Self> {
        SpanKind::ALL.into_iter().find(|k| k.otlp_name() == s)
    }

    /// The OTLP enum name, as proto-JSON writers print it.
    pub fn otlp_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
            SpanKind::Internal => "SPAN_KIND_INTERNAL",
            SpanKind::Server => "SPAN_KIND_SERVER",
            SpanKind::Client => "SPAN_KIND_CLIENT",
            SpanKind::Producer => "SPAN_KIND_PRODUCER",
            SpanKind::Consumer => "SPAN_KIND_CONSUMER",
        }
    }

    /// The TraceQL name (`unspecified`, `internal`, `server`, ...).
    pub fn traceql_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Every kind, in number order.
    pub const ALL: [SpanKind; 6] = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];
}

/// A span's status code (OTLP's `Status.StatusCode`, same numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset = 0,
    /// Marked successful.
    Ok = 1,
    /// Failed.
    Error = 2,
}

impl StatusCode {
    /// The code of an OTLP enum number; numbers OTLP does not define read as `Unset`.
    pub fn from_i32(n: i32) -> Self {
        match n {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// The code of an OTLP enum name (`STATUS_CODE_ERROR`).
    pub fn from_name(s: &str) -> Option<Self> {
        [StatusCode::Unset, StatusCode::Ok, StatusCode::Error]
            .into_iter()
            .find(|c| c.otlp_name() == s)
    }

    /// The OTLP enum name, as proto-JSON writers print it.
    pub fn otlp_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "STATUS_CODE_UNSET",
            StatusCode::Ok => "STATUS_CODE_OK",
            StatusCode::Error => "STATUS_CODE_ERROR",
        }
    }

    /// The TraceQL name (`unset`, `ok`, `error`).
    pub fn traceql_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// A span's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The code.
    pub code: StatusCode,
    /// A message for developers (empty when none).
    pub message: String,
}

/// Something that happened during a span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// When, in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Its name.
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

/// A link from a span to a span of this or another trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// The linked span's W3C trace state.
    pub trace_state: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
    /// W3C trace flags and the OTLP "remote" bits.
    pub flags: u32,
}

/// One span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    /// Its trace (16 bytes, not all zero).
    pub trace_id: TraceId,
    /// Its id (8 bytes, not all zero).
    pub span_id: SpanId,
    /// The parent span; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The W3C trace state.
    pub trace_state: String,
    /// W3C trace flags and the OTLP "remote" bits.
    pub flags: u32,
    /// The operation name (never empty).
    pub name: String,
    /// The kind.
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End, in nanoseconds since the Unix epoch (not before the start).
    pub end_ns: u64,
    /// The status.
    pub status: Status,
    /// The attributes.
    pub attributes: Vec<Attribute>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
    /// Events, in the order sent until the trace is sorted.
    pub events: Vec<Event>,
    /// Events the sender dropped.
    pub dropped_events_count: u32,
    /// Links, in the order sent until the trace is sorted.
    pub links: Vec<Link>,
    /// Links the sender dropped, plus links whose ids could not be read.
    pub dropped_links_count: u32,
}

impl Span {
    /// `end - start` in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// Whether the span has no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }
}

/// The entity that produced spans (OTLP's `Resource`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    /// Its attributes (`service.name`, `k8s.pod.name`, ...).
    pub attributes: Vec<Attribute>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

impl Resource {
    /// The `service.name` attribute, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        find_attr(&self.attributes, "service.name").and_then(AttrValue::as_str)
    }
}

/// The library that produced spans (OTLP's `InstrumentationScope`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

/// The spans of one instrumentation scope (OTLP's `ScopeSpans`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeSpans {
    /// The scope.
    pub scope: Scope,
    /// The schema URL of the scope's data.
    pub schema_url: String,
    /// The spans.
    pub spans: Vec<Span>,
}

/// The spans of one resource (OTLP's `ResourceSpans`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceSpans {
    /// The resource.
    pub resource: Resource,
    /// The schema URL of the resource's data.
    pub schema_url: String,
    /// Its scopes with their spans.
    pub scopes: Vec<ScopeSpans>,
}

/// What one ingest request carries: spans of any number of traces, grouped by resource and
/// scope as the sender grouped them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceBatch {
    /// The resources with their scopes and spans.
    pub resources: Vec<ResourceSpans>,
}

impl TraceBatch {
    /// How many spans the batch holds.
    pub fn span_count(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .map(|s| s.spans.len())
            .sum()
    }

    /// Every span with its resource and scope.
    pub fn spans(&self) -> impl Iterator<Item = (&Resource, &Scope, &Span)> {
        self.resources.iter().flat_map(|r| {
            r.scopes
                .iter()
                .flat_map(move |s| s.spans.iter().map(move |sp| (&r.resource, &s.scope, sp)))
        })
    }

    /// The batch cut into one part per trace id (ascending), each keeping its spans'
    /// resource and scope, as Tempo's distributor regroups a request before sending each
    /// trace to its ingester. Groups left without spans are dropped.
    pub fn split_by_trace(self) -> Vec<(TraceId, Vec<ResourceSpans>)> {
        let mut parts: std::collections::BTreeMap<TraceId, Vec<ResourceSpans>> =
            std::collections::BTreeMap::new();
        for rs in self.resources {
            let ResourceSpans {
                resource,
                schema_url,
                scopes,
            } = rs;
            // Index of this resource group inside each trace's part.
            let mut res_at: std::collections::HashMap<TraceId, usize> =
                std::collections::HashMap::new();
            for ss in scopes {
                let ScopeSpans {
                    scope,
                    schema_url: scope_url,
                    spans,
                } = ss;
                let mut scope_at: std::collections::HashMap<TraceId, usize> =
                    std::collections::HashMap::new();
                for span in spans {
                    let id = span.trace_id;
                    let part = parts.entry(id).or_default();
                    let ri = *res_at.entry(id).or_insert_with(|| {
                        part.push(ResourceSpans {
                            resource: resource.clone(),
                            schema_url: schema_url.clone(),
                            scopes: Vec::new(),
                        });
                        part.len() - 1
                    });
                    let group = &mut part[ri];
                    let si = *scope_at.entry(id).or_insert_with(|| {
                        group.scopes.push(ScopeSpans {
                            scope: scope.clone(),
                            schema_url: scope_url.clone(),
                            spans: Vec::new(),
                        });
                        group.scopes.len() - 1
                    });
                    group.scopes[si].spans.push(span);
                }
            }
        }
        parts.into_iter().collect()
    }
}

#[cfg(test)]
mod tests;
