//! Reading rows of `data.parquet` back into traces.

use arrow::array::{
    Array, AsArray, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array,
    ListArray, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array,
};
use cairn_model::{
    AttrValue, Attribute, Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId,
    SpanKind, Status, StatusCode, Trace, TraceId,
};

use super::schema::{DEDICATED, SERVICE_NAME, value_from_json};

type R<T> = std::result::Result<T, String>;

fn col<'a>(b: &'a RecordBatch, name: &str) -> R<&'a dyn Array> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| format!("no {name} column"))
}

fn typed<'a, T: 'static>(a: &'a dyn Array, name: &str) -> R<&'a T> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column {name} has type {}", a.data_type()))
}

fn field<'a, T: 'static>(s: &'a StructArray, name: &str) -> R<&'a T> {
    let a = s
        .column_by_name(name)
        .ok_or_else(|| format!("no {name} field"))?;
    typed(a.as_ref(), name)
}

/// A typed attribute list column.
struct Attrs<'a> {
    list: &'a ListArray,
    key: &'a StringArray,
    ty: &'a StringArray,
    s: &'a StringArray,
    i: &'a Int64Array,
    d: &'a Float64Array,
    b: &'a BooleanArray,
    json: &'a StringArray,
}

impl<'a> Attrs<'a> {
    fn new(a: &'a dyn Array, name: &str) -> R<Self> {
        let list: &ListArray = typed(a, name)?;
        let v = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| format!("{name} items are not structs"))?;
        Ok(Attrs {
            list,
            key: field(v, "key")?,
            ty: field(v, "type")?,
            s: field(v, "value_string")?,
            i: field(v, "value_int")?,
            d: field(v, "value_double")?,
            b: field(v, "value_bool")?,
            json: field(v, "value_json")?,
        })
    }

    fn get(&self, row: usize) -> R<Vec<Attribute>> {
        let o = self.list.value_offsets();
        let (lo, hi) = (o[row] as usize, o[row + 1] as usize);
        let mut out = Vec::with_capacity(hi - lo);
        for j in lo..hi {
            let value = match self.ty.value(j) {
                "empty" => AttrValue::Empty,
                "string" => AttrValue::String(self.s.value(j).to_string()),
                "int" => AttrValue::Int(self.i.value(j)),
                "double" => AttrValue::Double(self.d.value(j)),
                "bool" => AttrValue::Bool(self.b.value(j)),
                "bytes" | "array" | "kvlist" => {
                    let v: serde_json::Value = serde_json::from_str(self.json.value(j))
                        .map_err(|e| format!("attribute json: {e}"))?;
                    value_from_json(&v)?
                }
                other => return Err(format!("unknown attribute type {other}")),
            };
            out.push(Attribute {
                key: self.key.value(j).to_string(),
                value,
            });
        }
        Ok(out)
    }
}

fn fsb<'a>(b: &'a RecordBatch, name: &str) -> R<&'a FixedSizeBinaryArray> {
    typed(col(b, name)?, name)
}

fn utf8<'a>(b: &'a RecordBatch, name: &str) -> R<&'a StringArray> {
    typed(col(b, name)?, name)
}

fn u32c<'a>(b: &'a RecordBatch, name: &str) -> R<&'a UInt32Array> {
    typed(col(b, name)?, name)
}

fn u64c<'a>(b: &'a RecordBatch, name: &str) -> R<&'a UInt64Array> {
    typed(col(b, name)?, name)
}

fn i32c<'a>(b: &'a RecordBatch, name: &str) -> R<&'a Int32Array> {
    typed(col(b, name)?, name)
}

fn trace_id(v: &[u8]) -> R<TraceId> {
    TraceId::from_bytes(v).map_err(|e| e.to_string())
}

fn span_id(v: &[u8]) -> R<SpanId> {
    SpanId::from_bytes(v).map_err(|e| e.to_string())
}

/// Appends the rows of `b` whose trace `keep` accepts to `out`, joining rows of the trace
/// `out` ends with (rows come sorted by trace id).
pub(crate) fn decode_batch(
    b: &RecordBatch,
    keep: &dyn Fn(&TraceId) -> bool,
    out: &mut Vec<Trace>,
) -> R<()> {
    let tid = fsb(b, "trace_id")?;
    let res_svc = utf8(b, "resource_service_name")?;
    let res_attrs = Attrs::new(col(b, "resource_attrs")?, "resource_attrs")?;
    let res_dropped = u32c(b, "resource_dropped_attributes_count")?;
    let res_url = utf8(b, "resource_schema_url")?;
    let scope_name = utf8(b, "scope_name")?;
    let scope_version = utf8(b, "scope_version")?;
    let scope_attrs = Attrs::new(col(b, "scope_attrs")?, "scope_attrs")?;
    let scope_dropped = u32c(b, "scope_dropped_attributes_count")?;
    let scope_url = utf8(b, "scope_schema_url")?;
    let sid = fsb(b, "span_id")?;
    let parent = fsb(b, "parent_span_id")?;
    let state = utf8(b, "trace_state")?;
    let flags = u32c(b, "flags")?;
    let name = utf8(b, "name")?;
    let kind = i32c(b, "kind")?;
    let start = u64c(b, "start_unix_nano")?;
    let duration = u64c(b, "duration_nano")?;
    let status_code = i32c(b, "status_code")?;
    let status_message = utf8(b, "status_message")?;
    let dedicated: Vec<&dyn Array> = DEDICATED
        .iter()
        .map(|(_, c, _)| col(b, c))
        .collect::<R<_>>()?;
    let attrs = Attrs::new(col(b, "attrs")?, "attrs")?;
    let dropped = u32c(b, "dropped_attributes_count")?;
    let events: &ListArray = typed(col(b, "events")?, "events")?;
    let ev = events
        .values()
        .as_struct_opt()
        .ok_or_else(|| "events are not structs".to_string())?;
    let ev_time: &UInt64Array = field(ev, "time_unix_nano")?;
    let ev_name: &StringArray = field(ev, "name")?;
    let ev_attrs = Attrs::new(
        ev.column_by_name("attrs").ok_or("no event attrs")?.as_ref(),
        "event attrs",
    )?;
    let ev_dropped: &UInt32Array = field(ev, "dropped_attributes_count")?;
    let dropped_events = u32c(b, "dropped_events_count")?;
    let links: &ListArray = typed(col(b, "links")?, "links")?;
    let lk = links
        .values()
        .as_struct_opt()
        .ok_or_else(|| "links are not structs".to_string())?;
    let lk_tid: &FixedSizeBinaryArray = field(lk, "trace_id")?;
    let lk_sid: &FixedSizeBinaryArray = field(lk, "span_id")?;
    let lk_state: &StringArray = field(lk, "trace_state")?;
    let lk_attrs = Attrs::new(
        lk.column_by_name("attrs").ok_or("no link attrs")?.as_ref(),
        "link attrs",
    )?;
    let lk_dropped: &UInt32Array = field(lk, "dropped_attributes_count")?;
    let lk_flags: &UInt32Array = field(lk, "flags")?;
    let dropped_links = u32c(b, "dropped_links_count")?;

    for row in 0..b.num_rows() {
        let id = trace_id(tid.value(row))?;
        if !keep(&id) {
            continue;
        }
        let mut resource_attrs = res_attrs.get(row)?;
        if res_svc.is_valid(row) {
            resource_attrs.insert(0, Attribute::new(SERVICE_NAME, res_svc.value(row)));
        }
        let mut span_attrs = attrs.get(row)?;
        for (k, (key, _, int)) in DEDICATED.iter().enumerate() {
            let a = dedicated[k];
            if !a.is_valid(row) {
                continue;
            }
            let v = if *int {
                AttrValue::Int(typed::<Int64Array>(a, key)?.value(row))
            } else {
                AttrValue::String(typed::<StringArray>(a, key)?.value(row).to_string())
            };
            span_attrs.push(Attribute::new(*key, v));
        }
        let eo = events.value_offsets();
        let mut evs = Vec::new();
        for j in eo[row] as usize..eo[row + 1] as usize {
            evs.push(Event {
                time_ns: ev_time.value(j),
                name: ev_name.value(j).to_string(),
                attributes: ev_attrs.get(j)?,
                dropped_attributes_count: ev_dropped.value(j),
            });
        }
        let lo = links.value_offsets();
        let mut lks = Vec::new();
        for j in lo[row] as usize..lo[row + 1] as usize {
            lks.push(Link {
                trace_id: trace_id(lk_tid.value(j))?,
                span_id: span_id(lk_sid.value(j))?,
                trace_state: lk_state.value(j).to_string(),
                attributes: lk_attrs.get(j)?,
                dropped_attributes_count: lk_dropped.value(j),
                flags: lk_flags.value(j),
            });
        }
        let start_ns = start.value(row);
        let span = Span {
            trace_id: id,
            span_id: span_id(sid.value(row))?,
            parent_span_id: if parent.is_valid(row) {
                Some(span_id(parent.value(row))?)
            } else {
                None
            },
            trace_state: state.value(row).to_string(),
            flags: flags.value(row),
            name: name.value(row).to_string(),
            kind: SpanKind::from_i32(kind.value(row)),
            start_ns,
            end_ns: start_ns.saturating_add(duration.value(row)),
            status: Status {
                code: StatusCode::from_i32(status_code.value(row)),
                message: status_message.value(row).to_string(),
            },
            attributes: span_attrs,
            dropped_attributes_count: dropped.value(row),
            events: evs,
            dropped_events_count: dropped_events.value(row),
            links: lks,
            dropped_links_count: dropped_links.value(row),
        };
        let part = vec![ResourceSpans {
            resource: Resource {
                attributes: resource_attrs,
                dropped_attributes_count: res_dropped.value(row),
            },
            schema_url: res_url.value(row).to_string(),
            scopes: vec![ScopeSpans {
                scope: Scope {
                    name: scope_name.value(row).to_string(),
                    version: scope_version.value(row).to_string(),
                    attributes: scope_attrs.get(row)?,
                    dropped_attributes_count: scope_dropped.value(row),
                },
                schema_url: scope_url.value(row).to_string(),
                spans: vec![span],
            }],
        }];
        match out.last_mut() {
            Some(t) if t.id() == id => {
                t.combine(part);
            }
            _ => out.push(Trace::from_resources(id, part)),
        }
    }
    Ok(())
}
