//! The payload of a trace spans record: the resource groups of one append, every field of
//! the model kept.
//!
//! `uvarint n` resource groups, each: attributes, `uvarint dropped`, `bytes schema_url`,
//! `uvarint m` scope groups, each: `bytes name, bytes version`, attributes, `uvarint
//! dropped`, `bytes schema_url`, `uvarint k` spans. A span: `16 trace id, 8 span id, 8
//! parent (zero: none), bytes trace_state, uvarint flags, bytes name, u8 kind, u64 LE start,
//! u64 LE end, u8 status code, bytes status message`, attributes, `uvarint dropped`, events
//! (`uvarint n`, each `u64 LE time, bytes name`, attributes, `uvarint dropped`), `uvarint
//! dropped events`, links (`uvarint n`, each `16 trace id, 8 span id, bytes trace_state`,
//! attributes, `uvarint dropped, uvarint flags`), `uvarint dropped links`.
//!
//! Attributes: `uvarint n`, each `bytes key`, value. A value is a tag byte then: 0 empty, 1
//! `bytes` string, 2 `u8` bool, 3 `varint` int, 4 `u64 LE` double bits, 5 `bytes`, 6 `uvarint
//! n` values, 7 attributes.

use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId,
    SpanKind, Status, StatusCode, TraceId,
};

use super::{Cursor, put_bytes, put_uvarint, put_varint};

/// Deepest nesting of arrays and key/value lists accepted on decode.
const MAX_DEPTH: usize = 64;

pub(super) fn put_resources<'a>(
    buf: &mut Vec<u8>,
    groups: impl ExactSizeIterator<Item = &'a ResourceSpans>,
) {
    put_uvarint(buf, groups.len() as u64);
    for rs in groups {
        put_attrs(buf, &rs.resource.attributes);
        put_uvarint(buf, u64::from(rs.resource.dropped_attributes_count));
        put_bytes(buf, rs.schema_url.as_bytes());
        put_uvarint(buf, rs.scopes.len() as u64);
        for ss in &rs.scopes {
            put_bytes(buf, ss.scope.name.as_bytes());
            put_bytes(buf, ss.scope.version.as_bytes());
            put_attrs(buf, &ss.scope.attributes);
            put_uvarint(buf, u64::from(ss.scope.dropped_attributes_count));
            put_bytes(buf, ss.schema_url.as_bytes());
            put_uvarint(buf, ss.spans.len() as u64);
            for s in &ss.spans {
                put_span(buf, s);
            }
        }
    }
}

fn put_span(buf: &mut Vec<u8>, s: &Span) {
    buf.extend_from_slice(s.trace_id.as_bytes());
    buf.extend_from_slice(s.span_id.as_bytes());
    buf.extend_from_slice(&s.parent_span_id.map(|p| p.0).unwrap_or([0; 8]));
    put_bytes(buf, s.trace_state.as_bytes());
    put_uvarint(buf, u64::from(s.flags));
    put_bytes(buf, s.name.as_bytes());
    buf.push(s.kind as u8);
    buf.extend_from_slice(&s.start_ns.to_le_bytes());
    buf.extend_from_slice(&s.end_ns.to_le_bytes());
    buf.push(s.status.code as u8);
    put_bytes(buf, s.status.message.as_bytes());
    put_attrs(buf, &s.attributes);
    put_uvarint(buf, u64::from(s.dropped_attributes_count));
    put_uvarint(buf, s.events.len() as u64);
    for e in &s.events {
        buf.extend_from_slice(&e.time_ns.to_le_bytes());
        put_bytes(buf, e.name.as_bytes());
        put_attrs(buf, &e.attributes);
        put_uvarint(buf, u64::from(e.dropped_attributes_count));
    }
    put_uvarint(buf, u64::from(s.dropped_events_count));
    put_uvarint(buf, s.links.len() as u64);
    for l in &s.links {
        buf.extend_from_slice(l.trace_id.as_bytes());
        buf.extend_from_slice(l.span_id.as_bytes());
        put_bytes(buf, l.trace_state.as_bytes());
        put_attrs(buf, &l.attributes);
        put_uvarint(buf, u64::from(l.dropped_attributes_count));
        put_uvarint(buf, u64::from(l.flags));
    }
    put_uvarint(buf, u64::from(s.dropped_links_count));
}

fn put_attrs(buf: &mut Vec<u8>, attrs: &[Attribute]) {
    put_uvarint(buf, attrs.len() as u64);
    for a in attrs {
        put_bytes(buf, a.key.as_bytes());
        put_value(buf, &a.value);
    }
}

fn put_value(buf: &mut Vec<u8>, v: &AttrValue) {
    match v {
        AttrValue::Empty => buf.push(0),
        AttrValue::String(s) => {
            buf.push(1);
            put_bytes(buf, s.as_bytes());
        }
        AttrValue::Bool(b) => {
            buf.push(2);
            buf.push(u8::from(*b));
        }
        AttrValue::Int(i) => {
            buf.push(3);
            put_varint(buf, *i);
        }
        AttrValue::Double(d) => {
            buf.push(4);
            buf.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        AttrValue::Bytes(b) => {
            buf.push(5);
            put_bytes(buf, b);
        }
        AttrValue::Array(vs) => {
            buf.push(6);
            put_uvarint(buf, vs.len() as u64);
            for v in vs {
                put_value(buf, v);
            }
        }
        AttrValue::KvList(kvs) => {
            buf.push(7);
            put_attrs(buf, kvs);
        }
    }
}

impl Cursor<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64_le(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn u32v(&mut self) -> Result<u32, String> {
        u32::try_from(self.uvarint()?).map_err(|_| "count overflows u32".to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        self.str().map(str::to_string)
    }
}

pub(super) fn get_resources(c: &mut Cursor<'_>) -> Result<Vec<ResourceSpans>, String> {
    let n = c.count(4)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let attributes = get_attrs(c, 0)?;
        let dropped_attributes_count = c.u32v()?;
        let schema_url = c.string()?;
        let m = c.count(6)?;
        let mut scopes = Vec::with_capacity(m);
        for _ in 0..m {
            let name = c.string()?;
            let version = c.string()?;
            let attributes = get_attrs(c, 0)?;
            let dropped_attributes_count = c.u32v()?;
            let schema_url = c.string()?;
            let k = c.count(60)?;
            let mut spans = Vec::with_capacity(k);
            for _ in 0..k {
                spans.push(get_span(c)?);
            }
            scopes.push(ScopeSpans {
                scope: Scope {
                    name,
                    version,
                    attributes,
                    dropped_attributes_count,
                },
                schema_url,
                spans,
            });
        }
        out.push(ResourceSpans {
            resource: Resource {
                attributes,
                dropped_attributes_count,
            },
            schema_url,
            scopes,
        });
    }
    Ok(out)
}

fn get_trace_id(c: &mut Cursor<'_>) -> Result<TraceId, String> {
    TraceId::from_bytes(c.take(16)?).map_err(|e| e.to_string())
}

fn get_span_id(c: &mut Cursor<'_>) -> Result<SpanId, String> {
    SpanId::from_bytes(c.take(8)?).map_err(|e| e.to_string())
}

fn get_span(c: &mut Cursor<'_>) -> Result<Span, String> {
    let trace_id = get_trace_id(c)?;
    let span_id = get_span_id(c)?;
    let parent = span_id_or_zero(c.take(8)?)?;
    let trace_state = c.string()?;
    let flags = c.u32v()?;
    let name = c.string()?;
    let kind = SpanKind::from_i32(i32::from(c.u8()?));
    let start_ns = c.u64_le()?;
    let end_ns = c.u64_le()?;
    let code = StatusCode::from_i32(i32::from(c.u8()?));
    let message = c.string()?;
    let attributes = get_attrs(c, 0)?;
    let dropped_attributes_count = c.u32v()?;
    let n = c.count(11)?;
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let time_ns = c.u64_le()?;
        let name = c.string()?;
        let attributes = get_attrs(c, 0)?;
        let dropped_attributes_count = c.u32v()?;
        events.push(Event {
            time_ns,
            name,
            attributes,
            dropped_attributes_count,
        });
    }
    let dropped_events_count = c.u32v()?;
    let n = c.count(28)?;
    let mut links = Vec::with_capacity(n);
    for _ in 0..n {
        let trace_id = get_trace_id(c)?;
        let span_id = get_span_id(c)?;
        let trace_state = c.string()?;
        let attributes = get_attrs(c, 0)?;
        let dropped_attributes_count = c.u32v()?;
        let flags = c.u32v()?;
        links.push(Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count,
            flags,
        });
    }
    let dropped_links_count = c.u32v()?;
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id: parent,
        trace_state,
        flags,
        name,
        kind,
        start_ns,
        end_ns,
        status: Status { code, message },
        attributes,
        dropped_attributes_count,
        events,
        dropped_events_count,
        links,
        dropped_links_count,
    })
}

fn span_id_or_zero(b: &[u8]) -> Result<Option<SpanId>, String> {
    if b.iter().all(|&x| x == 0) {
        return Ok(None);
    }
    SpanId::from_bytes(b).map(Some).map_err(|e| e.to_string())
}

fn get_attrs(c: &mut Cursor<'_>, depth: usize) -> Result<Vec<Attribute>, String> {
    let n = c.count(2)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = c.string()?;
        let value = get_value(c, depth)?;
        out.push(Attribute { key, value });
    }
    Ok(out)
}

fn get_value(c: &mut Cursor<'_>, depth: usize) -> Result<AttrValue, String> {
    if depth > MAX_DEPTH {
        return Err("attribute values nested too deep".into());
    }
    Ok(match c.u8()? {
        0 => AttrValue::Empty,
        1 => AttrValue::String(c.string()?),
        2 => AttrValue::Bool(c.u8()? != 0),
        3 => AttrValue::Int(c.varint()?),
        4 => AttrValue::Double(f64::from_bits(c.u64_le()?)),
        5 => AttrValue::Bytes(c.bytes()?.to_vec()),
        6 => {
            let n = c.count(1)?;
            let mut vs = Vec::with_capacity(n);
            for _ in 0..n {
                vs.push(get_value(c, depth + 1)?);
            }
            AttrValue::Array(vs)
        }
        7 => AttrValue::KvList(get_attrs(c, depth + 1)?),
        t => return Err(format!("unknown attribute value tag {t}")),
    })
}
