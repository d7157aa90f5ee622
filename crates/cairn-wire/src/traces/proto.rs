//! OTLP protobuf messages (the `opentelemetry-proto` types) to the model and back.

use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind,
    Status, StatusCode,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pbc;
use opentelemetry_proto::tonic::resource::v1 as pbr;
use opentelemetry_proto::tonic::trace::v1 as pbt;
use pbc::any_value::Value;

use super::validate::{Ctx, RawId, link};
use super::{DecodedTraces, TraceDecodeLimits};
use cairn_model::TraceBatch;

pub(super) fn from_request(
    req: ExportTraceServiceRequest,
    limits: &TraceDecodeLimits,
) -> DecodedTraces {
    let mut ctx = Ctx::new(limits);
    let mut batch = TraceBatch::default();
    for rs in req.resource_spans {
        let mut resource = rs.resource.map(resource_from).unwrap_or_default();
        ctx.truncate(&mut resource.attributes);
        let mut group = ResourceSpans {
            resource,
            schema_url: rs.schema_url,
            scopes: Vec::with_capacity(rs.scope_spans.len()),
        };
        for ss in rs.scope_spans {
            let mut scope = ss.scope.map(scope_from).unwrap_or_default();
            ctx.truncate(&mut scope.attributes);
            let spans: Vec<Span> = ss
                .spans
                .into_iter()
                .filter_map(|s| span_from(s, &mut ctx))
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
    DecodedTraces {
        batch,
        report: ctx.report,
    }
}

fn resource_from(r: pbr::Resource) -> Resource {
    Resource {
        attributes: attrs_from(r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
    }
}

fn scope_from(s: pbc::InstrumentationScope) -> Scope {
    Scope {
        name: s.name,
        version: s.version,
        attributes: attrs_from(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

fn span_from(s: pbt::Span, ctx: &mut Ctx<'_>) -> Option<Span> {
    let status = s.status.unwrap_or_default();
    let mut span = Span {
        trace_state: s.trace_state,
        flags: s.flags,
        name: s.name,
        kind: SpanKind::from_i32(s.kind),
        start_ns: s.start_time_unix_nano,
        end_ns: s.end_time_unix_nano,
        status: Status {
            code: StatusCode::from_i32(status.code),
            message: status.message,
        },
        attributes: attrs_from(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .into_iter()
            .map(|e| Event {
                time_ns: e.time_unix_nano,
                name: e.name,
                attributes: attrs_from(e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: Vec::with_capacity(s.links.len()),
        dropped_links_count: s.dropped_links_count,
        ..Default::default()
    };
    for l in s.links {
        let model = Link {
            trace_state: l.trace_state,
            attributes: attrs_from(l.attributes),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
            ..Default::default()
        };
        link(
            model,
            RawId::Bytes(&l.trace_id),
            RawId::Bytes(&l.span_id),
            &mut span,
        );
    }
    ctx.accept(
        span,
        RawId::Bytes(&s.trace_id),
        RawId::Bytes(&s.span_id),
        RawId::Bytes(&s.parent_span_id),
    )
}

fn attrs_from(kvs: Vec<pbc::KeyValue>) -> Vec<Attribute> {
    kvs.into_iter()
        .map(|kv| Attribute {
            key: kv.key,
            value: value_from(kv.value),
        })
        .collect()
}

// prost bounds message nesting at 100 levels, so this recursion is bounded.
fn value_from(v: Option<pbc::AnyValue>) -> AttrValue {
    match v.and_then(|v| v.value) {
        // A string-table index only means something in profiles, which have the table.
        None | Some(Value::StringValueStrindex(_)) => AttrValue::Empty,
        Some(Value::StringValue(s)) => AttrValue::String(s),
        Some(Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(Value::IntValue(i)) => AttrValue::Int(i),
        Some(Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(Value::BytesValue(b)) => AttrValue::Bytes(b),
        Some(Value::ArrayValue(a)) => {
            AttrValue::Array(a.values.into_iter().map(|v| value_from(Some(v))).collect())
        }
        Some(Value::KvlistValue(kv)) => AttrValue::KvList(attrs_from(kv.values)),
    }
}

/// The model's resource groups as OTLP `ResourceSpans`.
pub(super) fn to_resource_spans(groups: &[ResourceSpans]) -> Vec<pbt::ResourceSpans> {
    groups
        .iter()
        .map(|g| pbt::ResourceSpans {
            resource: Some(pbr::Resource {
                attributes: attrs_to(&g.resource.attributes),
                dropped_attributes_count: g.resource.dropped_attributes_count,
                entity_refs: Vec::new(),
            }),
            scope_spans: g
                .scopes
                .iter()
                .map(|s| pbt::ScopeSpans {
                    scope: Some(pbc::InstrumentationScope {
                        name: s.scope.name.clone(),
                        version: s.scope.version.clone(),
                        attributes: attrs_to(&s.scope.attributes),
                        dropped_attributes_count: s.scope.dropped_attributes_count,
                    }),
                    spans: s.spans.iter().map(span_to).collect(),
                    schema_url: s.schema_url.clone(),
                })
                .collect(),
            schema_url: g.schema_url.clone(),
        })
        .collect()
}

fn span_to(s: &Span) -> pbt::Span {
    pbt::Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: s.trace_state.clone(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: s.flags,
        name: s.name.clone(),
        kind: i32::from(s.kind as u8),
        start_time_unix_nano: s.start_ns,
        end_time_unix_nano: s.end_ns,
        attributes: attrs_to(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| pbt::span::Event {
                time_unix_nano: e.time_ns,
                name: e.name.clone(),
                attributes: attrs_to(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .iter()
            .map(|l| pbt::span::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: attrs_to(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: Some(pbt::Status {
            message: s.status.message.clone(),
            code: i32::from(s.status.code as u8),
        }),
    }
}

fn attrs_to(attrs: &[Attribute]) -> Vec<pbc::KeyValue> {
    attrs
        .iter()
        .map(|a| pbc::KeyValue {
            key: a.key.clone(),
            value: Some(value_to(&a.value)),
            ..Default::default()
        })
        .collect()
}

fn value_to(v: &AttrValue) -> pbc::AnyValue {
    let value = match v {
        AttrValue::Empty => None,
        AttrValue::String(s) => Some(Value::StringValue(s.clone())),
        AttrValue::Bool(b) => Some(Value::BoolValue(*b)),
        AttrValue::Int(i) => Some(Value::IntValue(*i)),
        AttrValue::Double(d) => Some(Value::DoubleValue(*d)),
        AttrValue::Bytes(b) => Some(Value::BytesValue(b.clone())),
        AttrValue::Array(a) => Some(Value::ArrayValue(pbc::ArrayValue {
            values: a.iter().map(value_to).collect(),
        })),
        AttrValue::KvList(kv) => Some(Value::KvlistValue(pbc::KeyValueList {
            values: attrs_to(kv),
        })),
    };
    pbc::AnyValue { value }
}
