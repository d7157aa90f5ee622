//! Writing traces as a block: rows of spans sorted by (trace id, start, span id), row groups
//! of whole traces, the id filter and what `meta.json` says of each row group.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, FixedSizeBinaryBuilder, Float64Builder, Int32Builder, Int64Builder,
    ListArray, RecordBatch, StringBuilder, StructArray, UInt32Builder, UInt64Builder,
};
use arrow::buffer::OffsetBuffer;
use bytes::Bytes;
use cairn_model::{AttrValue, Attribute, Resource, Scope, Span, Trace, TraceId};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::overflow::Overflow;
use super::schema::{
    DEDICATED, SERVICE_NAME, attr_fields, attr_item, event_fields, link_fields, schema,
    struct_item, type_name, value_json,
};
use super::{RowGroupMeta, TRACE_SCHEMA_VERSION, TagNames};
use crate::block::SCHEMA_VERSION_KEY;
use crate::error::{Error, Result};
use crate::logs::filter::FilterBuilder;

fn parquet_err(e: parquet::errors::ParquetError) -> Error {
    Error::Internal(format!("encoding trace block: {e}"))
}

fn arrow_err(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("building trace block columns: {e}"))
}

/// Rows per data page, at most.
const PAGE_ROWS: usize = 4096;

/// Columns written without a dictionary (see [`props`]).
const PLAIN_COLUMNS: [&str; 6] = [
    "span_id",
    "parent_span_id",
    "start_unix_nano",
    "duration_nano",
    "attrs.list.element.value_int",
    "events.list.element.time_unix_nano",
];

/// The hash a trace id has in a block's id filter.
pub(crate) fn id_key(id: &TraceId) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Typed attribute lists, flattened.
#[derive(Default)]
struct AttrCols {
    key: StringBuilder,
    ty: StringBuilder,
    s: StringBuilder,
    i: Int64Builder,
    d: Float64Builder,
    b: BooleanBuilder,
    json: StringBuilder,
    len: i32,
    offsets: Vec<i32>,
}

impl AttrCols {
    fn push(&mut self, a: &Attribute) {
        self.key.append_value(&a.key);
        self.ty.append_value(type_name(&a.value));
        let (mut s, mut i, mut d, mut b, mut j) = (None, None, None, None, None);
        match &a.value {
            AttrValue::String(v) => s = Some(v.as_str()),
            AttrValue::Int(v) => i = Some(*v),
            AttrValue::Double(v) => d = Some(*v),
            AttrValue::Bool(v) => b = Some(*v),
            AttrValue::Empty => {}
            other => j = Some(value_json(other).to_string()),
        }
        self.s.append_option(s);
        self.i.append_option(i);
        self.d.append_option(d);
        self.b.append_option(b);
        self.json.append_option(j);
        self.len += 1;
    }

    /// Closes one list (one row's or one event's attributes).
    fn end_list(&mut self) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets.push(self.len);
    }

    fn finish(&mut self) -> Result<ListArray> {
        let values = StructArray::try_new(
            attr_fields(),
            vec![
                Arc::new(self.key.finish()) as ArrayRef,
                Arc::new(self.ty.finish()),
                Arc::new(self.s.finish()),
                Arc::new(self.i.finish()),
                Arc::new(self.d.finish()),
                Arc::new(self.b.finish()),
                Arc::new(self.json.finish()),
            ],
            None,
        )
        .map_err(arrow_err)?;
        let offsets = finish_offsets(&mut self.offsets, &mut self.len);
        ListArray::try_new(attr_item(), offsets, Arc::new(values), None).map_err(arrow_err)
    }
}

fn finish_offsets(offsets: &mut Vec<i32>, len: &mut i32) -> OffsetBuffer<i32> {
    if offsets.is_empty() {
        offsets.push(0);
    }
    let o = OffsetBuffer::new(std::mem::take(offsets).into());
    *len = 0;
    o
}

#[derive(Default)]
struct EventCols {
    time: UInt64Builder,
    name: StringBuilder,
    attrs: AttrCols,
    dropped: UInt32Builder,
    len: i32,
    offsets: Vec<i32>,
}

impl EventCols {
    fn push_span(&mut self, s: &Span) {
        for e in &s.events {
            self.time.append_value(e.time_ns);
            self.name.append_value(&e.name);
            for a in &e.attributes {
                self.attrs.push(a);
            }
            self.attrs.end_list();
            self.dropped.append_value(e.dropped_attributes_count);
            self.len += 1;
        }
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets.push(self.len);
    }

    fn finish(&mut self) -> Result<ListArray> {
        let values = StructArray::try_new(
            event_fields(),
            vec![
                Arc::new(self.time.finish()) as ArrayRef,
                Arc::new(self.name.finish()),
                Arc::new(self.attrs.finish()?),
                Arc::new(self.dropped.finish()),
            ],
            None,
        )
        .map_err(arrow_err)?;
        let offsets = finish_offsets(&mut self.offsets, &mut self.len);
        ListArray::try_new(struct_item(event_fields()), offsets, Arc::new(values), None)
            .map_err(arrow_err)
    }
}

struct LinkCols {
    trace_id: FixedSizeBinaryBuilder,
    span_id: FixedSizeBinaryBuilder,
    state: StringBuilder,
    attrs: AttrCols,
    dropped: UInt32Builder,
    flags: UInt32Builder,
    len: i32,
    offsets: Vec<i32>,
}

impl Default for LinkCols {
    fn default() -> Self {
        LinkCols {
            trace_id: FixedSizeBinaryBuilder::new(16),
            span_id: FixedSizeBinaryBuilder::new(8),
            state: StringBuilder::new(),
            attrs: AttrCols::default(),
            dropped: UInt32Builder::new(),
            flags: UInt32Builder::new(),
            len: 0,
            offsets: Vec::new(),
        }
    }
}

impl LinkCols {
    fn push_span(&mut self, s: &Span) -> Result<()> {
        for l in &s.links {
            self.trace_id
                .append_value(l.trace_id.as_bytes())
                .map_err(arrow_err)?;
            self.span_id
                .append_value(l.span_id.as_bytes())
                .map_err(arrow_err)?;
            self.state.append_value(&l.trace_state);
            for a in &l.attributes {
                self.attrs.push(a);
            }
            self.attrs.end_list();
            self.dropped.append_value(l.dropped_attributes_count);
            self.flags.append_value(l.flags);
            self.len += 1;
        }
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets.push(self.len);
        Ok(())
    }

    fn finish(&mut self) -> Result<ListArray> {
        let values = StructArray::try_new(
            link_fields(),
            vec![
                Arc::new(self.trace_id.finish()) as ArrayRef,
                Arc::new(self.span_id.finish()),
                Arc::new(self.state.finish()),
                Arc::new(self.attrs.finish()?),
                Arc::new(self.dropped.finish()),
                Arc::new(self.flags.finish()),
            ],
            None,
        )
        .map_err(arrow_err)?;
        let offsets = finish_offsets(&mut self.offsets, &mut self.len);
        ListArray::try_new(struct_item(link_fields()), offsets, Arc::new(values), None)
            .map_err(arrow_err)
    }
}

/// The columns of the rows of one row group.
struct RowCols {
    trace_id: FixedSizeBinaryBuilder,
    trace_start: UInt64Builder,
    trace_end: UInt64Builder,
    root_service: StringBuilder,
    root_name: StringBuilder,
    res_service: StringBuilder,
    res_attrs: AttrCols,
    res_dropped: UInt32Builder,
    res_url: StringBuilder,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attrs: AttrCols,
    scope_dropped: UInt32Builder,
    scope_url: StringBuilder,
    span_id: FixedSizeBinaryBuilder,
    parent: FixedSizeBinaryBuilder,
    state: StringBuilder,
    flags: UInt32Builder,
    name: StringBuilder,
    kind: Int32Builder,
    start: UInt64Builder,
    duration: UInt64Builder,
    status_code: Int32Builder,
    status_message: StringBuilder,
    dedicated_str: [StringBuilder; 4],
    dedicated_int: [Int64Builder; 2],
    attrs: AttrCols,
    dropped: UInt32Builder,
    events: EventCols,
    dropped_events: UInt32Builder,
    links: LinkCols,
    dropped_links: UInt32Builder,
    rows: usize,
}

impl Default for RowCols {
    fn default() -> Self {
        RowCols {
            trace_id: FixedSizeBinaryBuilder::new(16),
            trace_start: UInt64Builder::new(),
            trace_end: UInt64Builder::new(),
            root_service: StringBuilder::new(),
            root_name: StringBuilder::new(),
            res_service: StringBuilder::new(),
            res_attrs: AttrCols::default(),
            res_dropped: UInt32Builder::new(),
            res_url: StringBuilder::new(),
            scope_name: StringBuilder::new(),
            scope_version: StringBuilder::new(),
            scope_attrs: AttrCols::default(),
            scope_dropped: UInt32Builder::new(),
            scope_url: StringBuilder::new(),
            span_id: FixedSizeBinaryBuilder::new(8),
            parent: FixedSizeBinaryBuilder::new(8),
            state: StringBuilder::new(),
            flags: UInt32Builder::new(),
            name: StringBuilder::new(),
            kind: Int32Builder::new(),
            start: UInt64Builder::new(),
            duration: UInt64Builder::new(),
            status_code: Int32Builder::new(),
            status_message: StringBuilder::new(),
            dedicated_str: Default::default(),
            dedicated_int: Default::default(),
            attrs: AttrCols::default(),
            dropped: UInt32Builder::new(),
            events: EventCols::default(),
            dropped_events: UInt32Builder::new(),
            links: LinkCols::default(),
            dropped_links: UInt32Builder::new(),
            rows: 0,
        }
    }
}

/// What a row carries of its trace.
struct TraceCols<'a> {
    id: TraceId,
    start: u64,
    end: u64,
    root_service: &'a str,
    root_name: &'a str,
}

impl RowCols {
    fn push(
        &mut self,
        t: &TraceCols<'_>,
        resource: &Resource,
        res_url: &str,
        scope: &Scope,
        scope_url: &str,
        s: &Span,
    ) -> Result<()> {
        self.trace_id
            .append_value(t.id.as_bytes())
            .map_err(arrow_err)?;
        self.trace_start.append_value(t.start);
        self.trace_end.append_value(t.end);
        self.root_service.append_value(t.root_service);
        self.root_name.append_value(t.root_name);
        // The first string `service.name` moves to its column.
        let svc = resource
            .attributes
            .iter()
            .position(|a| a.key == SERVICE_NAME)
            .filter(|&i| matches!(resource.attributes[i].value, AttrValue::String(_)));
        self.res_service
            .append_option(svc.and_then(|i| resource.attributes[i].value.as_str()));
        for (i, a) in resource.attributes.iter().enumerate() {
            if Some(i) != svc {
                self.res_attrs.push(a);
            }
        }
        self.res_attrs.end_list();
        self.res_dropped
            .append_value(resource.dropped_attributes_count);
        self.res_url.append_value(res_url);
        self.scope_name.append_value(&scope.name);
        self.scope_version.append_value(&scope.version);
        for a in &scope.attributes {
            self.scope_attrs.push(a);
        }
        self.scope_attrs.end_list();
        self.scope_dropped
            .append_value(scope.dropped_attributes_count);
        self.scope_url.append_value(scope_url);
        self.span_id
            .append_value(s.span_id.as_bytes())
            .map_err(arrow_err)?;
        match s.parent_span_id {
            Some(p) => self.parent.append_value(p.as_bytes()).map_err(arrow_err)?,
            None => self.parent.append_null(),
        }
        self.state.append_value(&s.trace_state);
        self.flags.append_value(s.flags);
        self.name.append_value(&s.name);
        self.kind.append_value(s.kind as i32);
        self.start.append_value(s.start_ns);
        self.duration.append_value(s.duration_ns());
        self.status_code.append_value(s.status.code as i32);
        self.status_message.append_value(&s.status.message);
        let moved = dedicated_positions(&s.attributes);
        let (mut si, mut ii) = (0, 0);
        for (k, (_, _, int)) in DEDICATED.iter().enumerate() {
            let v = moved[k].map(|i| &s.attributes[i].value);
            if *int {
                let x = match v {
                    Some(AttrValue::Int(x)) => Some(*x),
                    _ => None,
                };
                self.dedicated_int[ii].append_option(x);
                ii += 1;
            } else {
                self.dedicated_str[si].append_option(v.and_then(AttrValue::as_str));
                si += 1;
            }
        }
        for (i, a) in s.attributes.iter().enumerate() {
            if !moved.contains(&Some(i)) {
                self.attrs.push(a);
            }
        }
        self.attrs.end_list();
        self.dropped.append_value(s.dropped_attributes_count);
        self.events.push_span(s);
        self.dropped_events.append_value(s.dropped_events_count);
        self.links.push_span(s)?;
        self.dropped_links.append_value(s.dropped_links_count);
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.trace_start.finish()),
            Arc::new(self.trace_end.finish()),
            Arc::new(self.root_service.finish()),
            Arc::new(self.root_name.finish()),
            Arc::new(self.res_service.finish()),
            Arc::new(self.res_attrs.finish()?),
            Arc::new(self.res_dropped.finish()),
            Arc::new(self.res_url.finish()),
            Arc::new(self.scope_name.finish()),
            Arc::new(self.scope_version.finish()),
            Arc::new(self.scope_attrs.finish()?),
            Arc::new(self.scope_dropped.finish()),
            Arc::new(self.scope_url.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.parent.finish()),
            Arc::new(self.state.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()),
        ];
        let (mut si, mut ii) = (0, 0);
        for (_, _, int) in DEDICATED {
            if int {
                cols.push(Arc::new(self.dedicated_int[ii].finish()));
                ii += 1;
            } else {
                cols.push(Arc::new(self.dedicated_str[si].finish()));
                si += 1;
            }
        }
        cols.extend([
            Arc::new(self.attrs.finish()?) as ArrayRef,
            Arc::new(self.dropped.finish()),
            Arc::new(self.events.finish()?),
            Arc::new(self.dropped_events.finish()),
            Arc::new(self.links.finish()?),
            Arc::new(self.dropped_links.finish()),
        ]);
        self.rows = 0;
        RecordBatch::try_new(schema(), cols).map_err(arrow_err)
    }
}

/// For each dedicated key, the position of the first attribute of that key, if it has the
/// column's type.
pub(crate) fn dedicated_positions(attrs: &[Attribute]) -> [Option<usize>; 6] {
    let mut out = [None; 6];
    for (k, (key, _, int)) in DEDICATED.iter().enumerate() {
        out[k] = attrs.iter().position(|a| a.key == *key).filter(|&i| {
            matches!(
                (&attrs[i].value, int),
                (AttrValue::Int(_), true) | (AttrValue::String(_), false)
            )
        });
    }
    out
}

/// An encoded block, ready to upload.
pub(crate) struct EncodedTraceBlock {
    pub(crate) data: Bytes,
    pub(crate) filter: Vec<u8>,
    pub(crate) row_groups: Vec<RowGroupMeta>,
    pub(crate) tags: TagNames,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) num_traces: u64,
    pub(crate) num_spans: u64,
    pub(crate) dedicated_overflow: Vec<String>,
}

/// Writes traces, in ascending id order, as one block.
pub(crate) struct TraceBlockWriter {
    writer: ArrowWriter<Vec<u8>>,
    rows: RowCols,
    row_group_spans: usize,
    row_groups: Vec<RowGroupMeta>,
    current: Option<RowGroupMeta>,
    tags: [BTreeSet<String>; 5],
    overflow: Overflow,
    keys: Vec<u64>,
    last: Option<TraceId>,
}

fn props(level: i32) -> Result<WriterProperties> {
    let zstd =
        ZstdLevel::try_new(level).map_err(|e| Error::Config(format!("zstd level {level}: {e}")))?;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            SCHEMA_VERSION_KEY.to_string(),
            TRACE_SCHEMA_VERSION.to_string(),
        )]))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true);
    // Ids, times and integer attribute values are nearly all distinct: a dictionary only adds
    // its page and an index per value (1.6 to 2 bytes per span each on the benchmark
    // corpus); plain values under zstd are smaller and cheaper to write.
    for col in PLAIN_COLUMNS {
        let path = ColumnPath::new(col.split('.').map(str::to_string).collect());
        b = b.set_column_dictionary_enabled(path, false);
    }
    // Statistics of the values inside lists (attributes, events, links) prune nothing, as
    // readers filter on the top-level columns, and cost a comparison per value to keep.
    let descr = ArrowSchemaConverter::new()
        .convert(&schema())
        .map_err(parquet_err)?;
    for c in descr.columns() {
        if c.path().parts().len() > 1 {
            b = b.set_column_statistics_enabled(c.path().clone(), EnabledStatistics::None);
        }
    }
    Ok(b
        // Small pages, so that a lookup decodes the pages of its rows, not the row group.
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        // Row groups are cut by the writer at trace boundaries, never by size.
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .build())
}

impl TraceBlockWriter {
    /// A writer whose row groups hold at least `row_group_spans` spans (but whole traces).
    pub(crate) fn new(zstd_level: i32, row_group_spans: usize) -> Result<Self> {
        let writer = ArrowWriter::try_new(Vec::new(), schema(), Some(props(zstd_level)?))
            .map_err(parquet_err)?;
        Ok(TraceBlockWriter {
            writer,
            rows: RowCols::default(),
            row_group_spans: row_group_spans.max(1),
            row_groups: Vec::new(),
            current: None,
            tags: Default::default(),
            overflow: Overflow::default(),
            keys: Vec::new(),
            last: None,
        })
    }

    /// Traces written so far.
    pub(crate) fn num_traces(&self) -> usize {
        self.keys.len()
    }

    /// Adds one trace; ids must ascend strictly.
    pub(crate) fn push(&mut self, trace: &Trace) -> Result<()> {
        let id = trace.id();
        if self.last.is_some_and(|l| l >= id) {
            return Err(Error::Internal(format!(
                "trace {} written out of order",
                id.to_hex()
            )));
        }
        let Some((start, end)) = trace.time_range_ns() else {
            return Ok(());
        };
        self.last = Some(id);
        self.keys.push(id_key(&id));
        let (root_service, root_name) = match trace.root() {
            Some((r, s)) => (r.service_name().unwrap_or(""), s.name.as_str()),
            None => ("", ""),
        };
        let t = TraceCols {
            id,
            start,
            end,
            root_service,
            root_name,
        };
        let mut spans: Vec<_> = trace
            .resources()
            .iter()
            .flat_map(|r| {
                r.scopes
                    .iter()
                    .flat_map(move |ss| ss.spans.iter().map(move |s| (r, ss, s)))
            })
            .collect();
        spans.sort_by_key(|(_, _, s)| (s.start_ns, s.span_id));
        for (r, ss, s) in &spans {
            self.rows
                .push(&t, &r.resource, &r.schema_url, &ss.scope, &ss.schema_url, s)?;
            self.note_span_tags(s);
            self.overflow.note(&r.resource, s);
        }
        // Once per group, not per span: a resource is shared by many of its spans.
        for r in trace.resources() {
            self.note_group_tags(&r.resource, r.scopes.iter().map(|ss| &ss.scope));
        }
        let hex = id.to_hex();
        let g = self.current.get_or_insert_with(|| RowGroupMeta {
            min_id: hex.clone(),
            max_id: hex.clone(),
            min_time: i64::MAX,
            max_time: i64::MIN,
            traces: 0,
            spans: 0,
        });
        g.max_id = hex;
        g.min_time = g.min_time.min(ns_i64(start));
        g.max_time = g.max_time.max(ns_i64(end));
        g.traces += 1;
        g.spans += spans.len() as u64;
        if g.spans >= self.row_group_spans as u64 {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn note_group_tags<'a>(&mut self, r: &Resource, scopes: impl Iterator<Item = &'a Scope>) {
        let [_, resource, _, _, scope] = &mut self.tags;
        for a in &r.attributes {
            if !resource.contains(&a.key) {
                resource.insert(a.key.clone());
            }
        }
        for a in scopes.flat_map(|sc| &sc.attributes) {
            if !scope.contains(&a.key) {
                scope.insert(a.key.clone());
            }
        }
    }

    fn note_span_tags(&mut self, s: &Span) {
        let [span, _, event, link, _] = &mut self.tags;
        for a in &s.attributes {
            if !span.contains(&a.key) {
                span.insert(a.key.clone());
            }
        }
        for a in s.events.iter().flat_map(|e| &e.attributes) {
            if !event.contains(&a.key) {
                event.insert(a.key.clone());
            }
        }
        for a in s.links.iter().flat_map(|l| &l.attributes) {
            if !link.contains(&a.key) {
                link.insert(a.key.clone());
            }
        }
    }

    fn flush_row_group(&mut self) -> Result<()> {
        let Some(g) = self.current.take() else {
            return Ok(());
        };
        let batch = self.rows.finish()?;
        self.writer.write(&batch).map_err(parquet_err)?;
        self.writer.flush().map_err(parquet_err)?;
        self.row_groups.push(g);
        Ok(())
    }

    /// Finishes the file; `bits_per_key` sizes the id filter.
    pub(crate) fn finish(mut self, bits_per_key: u32) -> Result<EncodedTraceBlock> {
        self.flush_row_group()?;
        let data = self.writer.into_inner().map_err(parquet_err)?;
        let filter = FilterBuilder::default().build(&self.keys, bits_per_key);
        let [span, resource, event, link, scope] = self.tags;
        let min_time = self
            .row_groups
            .iter()
            .map(|g| g.min_time)
            .min()
            .unwrap_or(0);
        let max_time = self
            .row_groups
            .iter()
            .map(|g| g.max_time)
            .max()
            .unwrap_or(0);
        let num_spans = self.row_groups.iter().map(|g| g.spans).sum();
        Ok(EncodedTraceBlock {
            data: Bytes::from(data),
            filter,
            row_groups: self.row_groups,
            tags: TagNames {
                span: span.into_iter().collect(),
                resource: resource.into_iter().collect(),
                event: event.into_iter().collect(),
                link: link.into_iter().collect(),
                scope: scope.into_iter().collect(),
            },
            min_time,
            max_time,
            num_traces: self.keys.len() as u64,
            num_spans,
            dedicated_overflow: self.overflow.keys(),
        })
    }
}

/// A span time as the signed nanoseconds block metas use.
pub(crate) fn ns_i64(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}
