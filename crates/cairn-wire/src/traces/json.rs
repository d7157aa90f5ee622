//! OTLP/JSON traces, read as the specification says receivers must: hex ids, enums as
//! integers (names too, as protobuf's JSON parsers accept them), 64-bit integers as strings
//! or numbers, lowerCamelCase keys (and the proto field names), `null` as the default,
//! unknown fields ignored.

use std::fmt;

use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind,
    Status, StatusCode, TraceBatch,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::validate::{Ctx, RawId, link};
use super::{DecodedTraces, TraceDecodeLimits, base64};
use crate::error::{Result, WireError};

pub(super) fn decode(body: &[u8], limits: &TraceDecodeLimits) -> Result<DecodedTraces> {
    // An empty body is an empty request, as for protobuf.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecodedTraces::default());
    }
    let req: Request = serde_json::from_slice(body)
        .map_err(|e| WireError::InvalidTraceBody(format!("invalid OTLP traces JSON: {e}")))?;
    let n = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    limits.check_spans(n)?;
    let mut ctx = Ctx::new(limits);
    let mut batch = TraceBatch::default();
    for rs in req.resource_spans {
        let r = rs.resource.unwrap_or_default();
        let mut resource = Resource {
            attributes: r.attributes.0,
            dropped_attributes_count: r.dropped_attributes_count.0,
        };
        ctx.truncate(&mut resource.attributes);
        let mut group = ResourceSpans {
            resource,
            schema_url: rs.schema_url,
            scopes: Vec::with_capacity(rs.scope_spans.len()),
        };
        for ss in rs.scope_spans {
            let s = ss.scope.unwrap_or_default();
            let mut scope = Scope {
                name: s.name,
                version: s.version,
                attributes: s.attributes.0,
                dropped_attributes_count: s.dropped_attributes_count.0,
            };
            ctx.truncate(&mut scope.attributes);
            let spans: Vec<Span> = ss
                .spans
                .into_iter()
                .filter_map(|s| span(s, &mut ctx))
                .collect();
            if !spans.is_empty() {
                group.scopes.push(ScopeSpans {
                    scope,
                    schema_url: ss.schema_url,
                    spans,
                });
            }
        }
        if !group.scopes.is_empty() {
            batch.resources.push(group);
        }
    }
    Ok(DecodedTraces {
        batch,
        report: ctx.report,
    })
}

fn span(s: JSpan, ctx: &mut Ctx<'_>) -> Option<Span> {
    let status = s.status.unwrap_or_default();
    let mut span = Span {
        trace_state: s.trace_state,
        flags: s.flags.0,
        name: s.name,
        kind: SpanKind::from_i32(s.kind.0),
        start_ns: s.start_time_unix_nano.0,
        end_ns: s.end_time_unix_nano.0,
        status: Status {
            code: StatusCode::from_i32(status.code.0),
            message: status.message,
        },
        attributes: s.attributes.0,
        dropped_attributes_count: s.dropped_attributes_count.0,
        events: s
            .events
            .into_iter()
            .map(|e| Event {
                time_ns: e.time_unix_nano.0,
                name: e.name,
                attributes: e.attributes.0,
                dropped_attributes_count: e.dropped_attributes_count.0,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count.0,
        links: Vec::with_capacity(s.links.len()),
        dropped_links_count: s.dropped_links_count.0,
        ..Default::default()
    };
    for l in s.links {
        let model = Link {
            trace_state: l.trace_state,
            attributes: l.attributes.0,
            dropped_attributes_count: l.dropped_attributes_count.0,
            flags: l.flags.0,
            ..Default::default()
        };
        link(
            model,
            RawId::Hex(&l.trace_id),
            RawId::Hex(&l.span_id),
            &mut span,
        );
    }
    ctx.accept(
        span,
        RawId::Hex(&s.trace_id),
        RawId::Hex(&s.span_id),
        RawId::Hex(&s.parent_span_id),
    )
}

/// `T::default()` for `null`, as proto3 JSON reads it.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> std::result::Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Request {
    #[serde(alias = "resource_spans", deserialize_with = "nullable")]
    resource_spans: Vec<JResourceSpans>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JResourceSpans {
    resource: Option<JResource>,
    #[serde(alias = "scope_spans", deserialize_with = "nullable")]
    scope_spans: Vec<JScopeSpans>,
    #[serde(alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JResource {
    attributes: Attrs,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: U32,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JScopeSpans {
    scope: Option<JScope>,
    #[serde(deserialize_with = "nullable")]
    spans: Vec<JSpan>,
    #[serde(alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JScope {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    version: String,
    attributes: Attrs,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: U32,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JSpan {
    #[serde(alias = "trace_id", deserialize_with = "nullable")]
    trace_id: String,
    #[serde(alias = "span_id", deserialize_with = "nullable")]
    span_id: String,
    #[serde(alias = "trace_state", deserialize_with = "nullable")]
    trace_state: String,
    #[serde(alias = "parent_span_id", deserialize_with = "nullable")]
    parent_span_id: String,
    flags: U32,
    #[serde(deserialize_with = "nullable")]
    name: String,
    kind: Enum<KindNames>,
    #[serde(alias = "start_time_unix_nano")]
    start_time_unix_nano: U64,
    #[serde(alias = "end_time_unix_nano")]
    end_time_unix_nano: U64,
    attributes: Attrs,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: U32,
    #[serde(deserialize_with = "nullable")]
    events: Vec<JEvent>,
    #[serde(alias = "dropped_events_count")]
    dropped_events_count: U32,
    #[serde(deserialize_with = "nullable")]
    links: Vec<JLink>,
    #[serde(alias = "dropped_links_count")]
    dropped_links_count: U32,
    status: Option<JStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JEvent {
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: U64,
    #[serde(deserialize_with = "nullable")]
    name: String,
    attributes: Attrs,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: U32,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JLink {
    #[serde(alias = "trace_id", deserialize_with = "nullable")]
    trace_id: String,
    #[serde(alias = "span_id", deserialize_with = "nullable")]
    span_id: String,
    #[serde(alias = "trace_state", deserialize_with = "nullable")]
    trace_state: String,
    attributes: Attrs,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: U32,
    flags: U32,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JStatus {
    #[serde(deserialize_with = "nullable")]
    message: String,
    code: Enum<CodeNames>,
}

/// An unsigned or signed integer as proto3 JSON writes it: a number or a decimal string.
fn int_visitor<T, E: de::Error>(v: Number<'_>, what: &'static str) -> std::result::Result<T, E>
where
    T: TryFrom<i128> + std::str::FromStr,
{
    let n: i128 = match v {
        Number::Int(i) => i,
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => f as i128,
        Number::Float(f) => {
            return Err(E::custom(format!("{what} must be an integer, got {f}")));
        }
        Number::Str(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| E::custom(format!("{what} must be an integer, got {s:?}")))?,
    };
    T::try_from(n).map_err(|_| E::custom(format!("{what} {n} is out of range")))
}

enum Number<'a> {
    Int(i128),
    Float(f64),
    Str(&'a str),
}

macro_rules! int_newtype {
    ($name:ident, $t:ty, $what:literal) => {
        #[derive(Default, Clone, Copy)]
        struct $name($t);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as a number or a decimal string"))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<$name, E> {
                        int_visitor(Number::Int(i128::from(v)), $what).map($name)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<$name, E> {
                        int_visitor(Number::Int(i128::from(v)), $what).map($name)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<$name, E> {
                        int_visitor(Number::Float(v), $what).map($name)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<$name, E> {
                        int_visitor(Number::Str(v), $what).map($name)
                    }
                    fn visit_unit<E: de::Error>(self) -> std::result::Result<$name, E> {
                        Ok($name::default())
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

int_newtype!(U64, u64, "a uint64");
int_newtype!(U32, u32, "a uint32");
int_newtype!(I64, i64, "an int64");

/// Names an OTLP enum accepts besides its numbers.
trait EnumNames {
    fn number(name: &str) -> Option<i32>;
}

struct KindNames;
impl EnumNames for KindNames {
    fn number(name: &str) -> Option<i32> {
        SpanKind::from_name(name).map(|k| i32::from(k as u8))
    }
}

struct CodeNames;
impl EnumNames for CodeNames {
    fn number(name: &str) -> Option<i32> {
        StatusCode::from_name(name).map(|c| i32::from(c as u8))
    }
}

/// An enum field: its number (as a number or a string), or its name.
struct Enum<N>(i32, std::marker::PhantomData<N>);

impl<N> Default for Enum<N> {
    fn default() -> Self {
        Enum(0, std::marker::PhantomData)
    }
}

impl<'de, N: EnumNames> Deserialize<'de> for Enum<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<N>(std::marker::PhantomData<N>);
        impl<N: EnumNames> Visitor<'_> for V<N> {
            type Value = Enum<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an enum number or name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Enum<N>, E> {
                int_visitor(Number::Int(i128::from(v)), "an enum").map(|n| Enum(n, self.0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Enum<N>, E> {
                int_visitor(Number::Int(i128::from(v)), "an enum").map(|n| Enum(n, self.0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Enum<N>, E> {
                match N::number(v) {
                    Some(n) => Ok(Enum(n, self.0)),
                    None => int_visitor(Number::Str(v), "an enum").map(|n| Enum(n, self.0)),
                }
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Enum<N>, E> {
                Ok(Enum::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A list of `KeyValue`s (`{"key": ..., "value": {...}}`); `null` is the empty list.
#[derive(Default)]
struct Attrs(Vec<Attribute>);

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Kv {
            #[serde(deserialize_with = "nullable")]
            key: String,
            #[serde(deserialize_with = "nullable")]
            value: JValue,
        }
        let kvs: Vec<Kv> = nullable(d)?;
        Ok(Attrs(
            kvs.into_iter()
                .map(|kv| Attribute {
                    key: kv.key,
                    value: kv.value.0,
                })
                .collect(),
        ))
    }
}

/// An `AnyValue` (serde_json stops nesting at 128 levels, so the recursion is bounded): one of `stringValue`, `boolValue`, `intValue`, `doubleValue`,
/// `arrayValue`, `kvlistValue`, `bytesValue` (other keys ignored; none set is empty).
#[derive(Default)]
struct JValue(AttrValue);

impl<'de> Deserialize<'de> for JValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AnyValue object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<JValue, A::Error> {
                let mut out = AttrValue::Empty;
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    let v = match &*k {
                        "stringValue" | "string_value" => {
                            m.next_value::<Option<String>>()?.map(AttrValue::String)
                        }
                        "boolValue" | "bool_value" => {
                            m.next_value::<Option<bool>>()?.map(AttrValue::Bool)
                        }
                        "intValue" | "int_value" => {
                            m.next_value::<Option<I64>>()?.map(|i| AttrValue::Int(i.0))
                        }
                        "doubleValue" | "double_value" => m
                            .next_value::<Option<Double>>()?
                            .map(|x| AttrValue::Double(x.0)),
                        "bytesValue" | "bytes_value" => match m.next_value::<Option<String>>()? {
                            None => None,
                            Some(s) => {
                                Some(AttrValue::Bytes(base64::decode(&s).ok_or_else(|| {
                                    de::Error::custom(format!("bytesValue {s:?} is not base64"))
                                })?))
                            }
                        },
                        "arrayValue" | "array_value" => m
                            .next_value::<Option<Values>>()?
                            .map(|a| AttrValue::Array(a.values.into_iter().map(|v| v.0).collect())),
                        "kvlistValue" | "kvlist_value" => m
                            .next_value::<Option<KvList>>()?
                            .map(|kv| AttrValue::KvList(kv.values.0)),
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                            None
                        }
                    };
                    if let Some(v) = v {
                        out = v;
                    }
                }
                Ok(JValue(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Values {
    #[serde(deserialize_with = "nullable")]
    values: Vec<NullableValue>,
}

/// An array element; `null` is an empty value.
struct NullableValue(AttrValue);

impl<'de> Deserialize<'de> for NullableValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(NullableValue(
            Option::<JValue>::deserialize(d)?.unwrap_or_default().0,
        ))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KvList {
    values: Attrs,
}

/// A double: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` or a numeric string.
struct Double(f64);

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Double;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a double as a number or a string")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Double, E> {
                Ok(Double(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Double, E> {
                match v {
                    "NaN" => Ok(Double(f64::NAN)),
                    "Infinity" => Ok(Double(f64::INFINITY)),
                    "-Infinity" => Ok(Double(f64::NEG_INFINITY)),
                    _ => v
                        .trim()
                        .parse()
                        .map(Double)
                        .map_err(|_| E::custom(format!("doubleValue {v:?} is not a number"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}
