//! A scan's read of a row group with a [`TraceFilter`], in two phases.
//!
//! First the filter is resolved against the block's `meta.json`: each tested field gets the
//! column that holds it (`name`, `status_code`, `kind`, `duration_nano`,
//! `resource_service_name`, the dedicated `http_*`/`url_full` columns when the block records
//! no other attribute of their key), or a constant when the block has no attribute of that
//! key at all, or "true" when only the attribute lists hold it. A filter that is false for
//! the block skips it; one that is true reads it whole, as a scan without filter does.
//!
//! Otherwise phase one reads only `trace_id`, the tested columns, and `trace_start_unix_nano`
//! and `trace_end_unix_nano` when the row group is not wholly inside the scan's range. String
//! columns come as dictionaries, and a test runs once per dictionary entry; small integers
//! (kind, status, HTTP codes) are tested once per distinct value. Rows are grouped into
//! traces by id (rows are sorted by it), each trace is kept when the filter holds over its
//! rows and it overlaps the range, and phase two reads the kept traces' rows in full through
//! a row selection, so only their pages are decoded.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use cairn_model::Trace;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use super::read::{READ_BATCH_ROWS, corrupt};
use super::schema::{DEDICATED, SERVICE_NAME};
use super::{TraceBlockMeta, TraceBlockReader};
use crate::error::{Error, Result};
use crate::traces::filter::{SpanField, SpanFilter, TraceFilter, ValueTest};

/// How a tested column holds its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColType {
    Str,
    I32,
    I64,
    U64,
}

/// One test on one column.
#[derive(Debug)]
struct Leaf {
    column: &'static str,
    ty: ColType,
    test: Arc<dyn ValueTest>,
}

#[derive(Debug)]
enum RSpan {
    Const(bool),
    Leaf(usize),
    And(Vec<RSpan>),
    Or(Vec<RSpan>),
}

#[derive(Debug)]
enum RTrace {
    Const(bool),
    /// Some row of the trace meets span condition `n`.
    Any(usize),
    And(Vec<RTrace>),
    Or(Vec<RTrace>),
}

/// A filter resolved against one block's columns.
#[derive(Debug)]
pub(crate) struct BlockFilter {
    leaves: Vec<Leaf>,
    spans: Vec<RSpan>,
    trace: RTrace,
}

/// What a filter asks of one block.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// Every trace may match: read the block whole.
    All,
    /// No trace can match: skip the block.
    Nothing,
    /// Check the filter's columns first.
    Filter(Arc<BlockFilter>),
}

enum Place {
    Column(&'static str, ColType),
    /// The block has no attribute of the key.
    Absent,
    /// The attribute lists may hold it.
    Unknown,
}

fn has(sorted: &[String], key: &str) -> bool {
    sorted.binary_search_by(|k| k.as_str().cmp(key)).is_ok()
}

/// Whether the block records that `key`, a dedicated key, never leaves its column.
fn clean(meta: &TraceBlockMeta, key: &str) -> bool {
    meta.dedicated_overflow
        .as_ref()
        .is_some_and(|o| !o.iter().any(|k| k == key))
}

fn span_place(meta: &TraceBlockMeta, key: &str) -> Place {
    if !has(&meta.tags.span, key) {
        return Place::Absent;
    }
    match DEDICATED.iter().find(|(k, _, _)| *k == key) {
        Some((_, col, int)) if clean(meta, key) => {
            Place::Column(col, if *int { ColType::I64 } else { ColType::Str })
        }
        _ => Place::Unknown,
    }
}

fn resource_place(meta: &TraceBlockMeta, key: &str) -> Place {
    if !has(&meta.tags.resource, key) {
        Place::Absent
    } else if key == SERVICE_NAME && clean(meta, key) {
        Place::Column("resource_service_name", ColType::Str)
    } else {
        Place::Unknown
    }
}

fn place(meta: &TraceBlockMeta, field: &SpanField) -> Place {
    match field {
        SpanField::Name => Place::Column("name", ColType::Str),
        SpanField::StatusCode => Place::Column("status_code", ColType::I32),
        SpanField::Kind => Place::Column("kind", ColType::I32),
        SpanField::Duration => Place::Column("duration_nano", ColType::U64),
        SpanField::SpanAttr(k) => span_place(meta, k),
        SpanField::ResourceAttr(k) => resource_place(meta, k),
        // The span's attribute, else the resource's: with the key on one side only, the
        // other side decides.
        SpanField::Attr(k) if !has(&meta.tags.span, k) => resource_place(meta, k),
        SpanField::Attr(k) if !has(&meta.tags.resource, k) => span_place(meta, k),
        SpanField::Attr(_) => Place::Unknown,
    }
}

fn and_span(parts: Vec<RSpan>) -> RSpan {
    let mut out = Vec::new();
    for p in parts {
        match p {
            RSpan::Const(true) => {}
            RSpan::Const(false) => return RSpan::Const(false),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => RSpan::Const(true),
        1 => out.pop().unwrap_or(RSpan::Const(true)),
        _ => RSpan::And(out),
    }
}

fn or_span(parts: Vec<RSpan>) -> RSpan {
    let mut out = Vec::new();
    for p in parts {
        match p {
            RSpan::Const(false) => {}
            RSpan::Const(true) => return RSpan::Const(true),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => RSpan::Const(false),
        1 => out.pop().unwrap_or(RSpan::Const(false)),
        _ => RSpan::Or(out),
    }
}

fn and_trace(parts: Vec<RTrace>) -> RTrace {
    let mut out = Vec::new();
    for p in parts {
        match p {
            RTrace::Const(true) => {}
            RTrace::Const(false) => return RTrace::Const(false),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => RTrace::Const(true),
        1 => out.pop().unwrap_or(RTrace::Const(true)),
        _ => RTrace::And(out),
    }
}

fn or_trace(parts: Vec<RTrace>) -> RTrace {
    let mut out = Vec::new();
    for p in parts {
        match p {
            RTrace::Const(false) => {}
            RTrace::Const(true) => return RTrace::Const(true),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => RTrace::Const(false),
        1 => out.pop().unwrap_or(RTrace::Const(false)),
        _ => RTrace::Or(out),
    }
}

struct Resolver<'a> {
    meta: &'a TraceBlockMeta,
    leaves: Vec<Leaf>,
    spans: Vec<RSpan>,
}

impl Resolver<'_> {
    fn span(&mut self, f: &SpanFilter) -> RSpan {
        match f {
            SpanFilter::True => RSpan::Const(true),
            SpanFilter::Test { field, test } => match place(self.meta, field) {
                Place::Column(column, ty) => {
                    self.leaves.push(Leaf {
                        column,
                        ty,
                        test: Arc::clone(test),
                    });
                    RSpan::Leaf(self.leaves.len() - 1)
                }
                Place::Absent => RSpan::Const(test.test_nil()),
                Place::Unknown => RSpan::Const(true),
            },
            SpanFilter::And(xs) => and_span(xs.iter().map(|x| self.span(x)).collect()),
            SpanFilter::Or(xs) => or_span(xs.iter().map(|x| self.span(x)).collect()),
        }
    }

    fn trace(&mut self, f: &TraceFilter) -> RTrace {
        match f {
            TraceFilter::All => RTrace::Const(true),
            TraceFilter::Any(s) => match self.span(s) {
                RSpan::Const(b) => RTrace::Const(b),
                s => {
                    self.spans.push(s);
                    RTrace::Any(self.spans.len() - 1)
                }
            },
            TraceFilter::And(xs) => and_trace(xs.iter().map(|x| self.trace(x)).collect()),
            TraceFilter::Or(xs) => or_trace(xs.iter().map(|x| self.trace(x)).collect()),
        }
    }
}

/// What `f` asks of the block `meta` describes.
pub(crate) fn resolve(f: &TraceFilter, meta: &TraceBlockMeta) -> Resolved {
    let mut r = Resolver {
        meta,
        leaves: Vec::new(),
        spans: Vec::new(),
    };
    match r.trace(f) {
        RTrace::Const(true) => Resolved::All,
        RTrace::Const(false) => Resolved::Nothing,
        trace => Resolved::Filter(Arc::new(BlockFilter {
            leaves: r.leaves,
            spans: r.spans,
            trace,
        })),
    }
}

/// Test results of small non-negative integers, filled as values come.
struct Memo<'a> {
    test: &'a dyn ValueTest,
    known: Vec<u8>,
}

impl<'a> Memo<'a> {
    fn new(test: &'a dyn ValueTest, size: usize) -> Self {
        Memo {
            test,
            known: vec![0; size],
        }
    }

    fn test(&mut self, v: i64) -> bool {
        match usize::try_from(v).ok().filter(|&i| i < self.known.len()) {
            Some(i) => match self.known[i] {
                0 => {
                    let r = self.test.test_int(v);
                    self.known[i] = 1 + u8::from(r);
                    r
                }
                k => k == 2,
            },
            None => self.test.test_int(v),
        }
    }
}

fn leaf_mask(leaf: &Leaf, a: &dyn Array) -> std::result::Result<Vec<bool>, String> {
    let t = &*leaf.test;
    let bad = || format!("column {} has type {}", leaf.column, a.data_type());
    let n = a.len();
    Ok(match leaf.ty {
        ColType::Str => {
            let nil = t.test_nil();
            if let Some(d) = a.as_dictionary_opt::<Int32Type>() {
                let values = d.values().as_string_opt::<i32>().ok_or_else(bad)?;
                let table: Vec<bool> = (0..values.len())
                    .map(|i| {
                        if values.is_valid(i) {
                            t.test_str(values.value(i))
                        } else {
                            nil
                        }
                    })
                    .collect();
                let keys = d.keys();
                (0..n)
                    .map(|i| {
                        if keys.is_valid(i) {
                            usize::try_from(keys.value(i))
                                .ok()
                                .and_then(|k| table.get(k).copied())
                                .unwrap_or(true)
                        } else {
                            nil
                        }
                    })
                    .collect()
            } else {
                let s = a.as_string_opt::<i32>().ok_or_else(bad)?;
                (0..n)
                    .map(|i| {
                        if s.is_valid(i) {
                            t.test_str(s.value(i))
                        } else {
                            nil
                        }
                    })
                    .collect()
            }
        }
        ColType::I32 => {
            let v = a
                .as_primitive_opt::<arrow::datatypes::Int32Type>()
                .ok_or_else(bad)?;
            let mut memo = Memo::new(t, 64);
            let nil = t.test_nil();
            (0..n)
                .map(|i| {
                    if v.is_valid(i) {
                        memo.test(i64::from(v.value(i)))
                    } else {
                        nil
                    }
                })
                .collect()
        }
        ColType::I64 => {
            let v = a
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .ok_or_else(bad)?;
            let mut memo = Memo::new(t, 1024);
            let nil = t.test_nil();
            (0..n)
                .map(|i| {
                    if v.is_valid(i) {
                        memo.test(v.value(i))
                    } else {
                        nil
                    }
                })
                .collect()
        }
        ColType::U64 => {
            let v = a
                .as_primitive_opt::<arrow::datatypes::UInt64Type>()
                .ok_or_else(bad)?;
            // As evaluation reads a duration: nanoseconds as a signed number.
            v.values().iter().map(|&x| t.test_int(x as i64)).collect()
        }
    })
}

fn span_mask(s: &RSpan, leaves: &[Vec<bool>], n: usize) -> Vec<bool> {
    match s {
        RSpan::Const(b) => vec![*b; n],
        RSpan::Leaf(i) => leaves[*i].clone(),
        RSpan::And(xs) => {
            let mut out = vec![true; n];
            for x in xs {
                for (o, m) in out.iter_mut().zip(span_mask(x, leaves, n)) {
                    *o &= m;
                }
            }
            out
        }
        RSpan::Or(xs) => {
            let mut out = vec![false; n];
            for x in xs {
                for (o, m) in out.iter_mut().zip(span_mask(x, leaves, n)) {
                    *o |= m;
                }
            }
            out
        }
    }
}

impl RTrace {
    fn holds(&self, hits: &[bool]) -> bool {
        match self {
            RTrace::Const(b) => *b,
            RTrace::Any(i) => hits[*i],
            RTrace::And(xs) => xs.iter().all(|x| x.holds(hits)),
            RTrace::Or(xs) => xs.iter().any(|x| x.holds(hits)),
        }
    }
}

/// The trace whose rows phase one is walking.
struct Current {
    id: [u8; 16],
    first: usize,
    rows: usize,
    overlaps: bool,
    hits: Vec<bool>,
}

/// Phase one over the batches of one row group: the row ranges `(first, count)` of the
/// traces to read, ascending. `window` is the scan's range when the row group is not wholly
/// inside it.
fn candidates(
    f: &BlockFilter,
    batches: impl Iterator<Item = std::result::Result<RecordBatch, String>>,
    window: Option<(u64, u64)>,
) -> std::result::Result<(Vec<(usize, usize)>, u64), String> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut seen = 0u64;
    let mut cur: Option<Current> = None;
    let mut finish = |c: Current, out: &mut Vec<(usize, usize)>| {
        seen += 1;
        if c.overlaps && f.trace.holds(&c.hits) {
            match out.last_mut() {
                Some((first, n)) if *first + *n == c.first => *n += c.rows,
                _ => out.push((c.first, c.rows)),
            }
        }
    };
    let mut base = 0usize;
    for b in batches {
        let b = b?;
        let col = |name: &str| {
            b.column_by_name(name)
                .ok_or_else(|| format!("no {name} column"))
        };
        let ids = col("trace_id")?
            .as_fixed_size_binary_opt()
            .ok_or("trace_id is not fixed-size binary")?;
        let times = match window {
            Some(_) => Some((
                col("trace_start_unix_nano")?
                    .as_primitive_opt::<arrow::datatypes::UInt64Type>()
                    .ok_or("trace_start_unix_nano is not UInt64")?,
                col("trace_end_unix_nano")?
                    .as_primitive_opt::<arrow::datatypes::UInt64Type>()
                    .ok_or("trace_end_unix_nano is not UInt64")?,
            )),
            None => None,
        };
        let n = b.num_rows();
        let leaves = f
            .leaves
            .iter()
            .map(|l| leaf_mask(l, col(l.column)?.as_ref()))
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let spans: Vec<Vec<bool>> = f.spans.iter().map(|s| span_mask(s, &leaves, n)).collect();
        for row in 0..n {
            let id = ids.value(row);
            let same = cur.as_ref().is_some_and(|c| c.id[..] == *id);
            if !same {
                if let Some(c) = cur.take() {
                    finish(c, &mut out);
                }
                let overlaps = match (window, times) {
                    (Some((lo, hi)), Some((s, e))) => s.value(row) <= hi && e.value(row) >= lo,
                    _ => true,
                };
                let mut idb = [0u8; 16];
                if id.len() == 16 {
                    idb.copy_from_slice(id);
                }
                cur = Some(Current {
                    id: idb,
                    first: base + row,
                    rows: 0,
                    overlaps,
                    hits: vec![false; f.spans.len()],
                });
            }
            if let Some(c) = cur.as_mut() {
                c.rows += 1;
                for (h, m) in c.hits.iter_mut().zip(&spans) {
                    *h |= m[row];
                }
            }
        }
        base += n;
    }
    if let Some(c) = cur.take() {
        finish(c, &mut out);
    }
    Ok((out, seen))
}

/// The arrow schema to read `data.parquet` with: the tested string columns as dictionaries,
/// so that their values are tested once per dictionary entry.
fn hinted(meta: &ArrowReaderMetadata, f: &BlockFilter) -> Result<ArrowReaderMetadata> {
    let fields: Vec<Field> = meta
        .schema()
        .fields()
        .iter()
        .map(|fl| {
            let dict = fl.data_type() == &DataType::Utf8
                && f.leaves
                    .iter()
                    .any(|l| l.ty == ColType::Str && l.column == fl.name());
            let fl = fl.as_ref().clone();
            if dict {
                fl.with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                fl
            }
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        meta.schema().metadata().clone(),
    ));
    ArrowReaderMetadata::try_new(
        Arc::clone(meta.metadata()),
        ArrowReaderOptions::new().with_schema(schema),
    )
    .map_err(|e| Error::Internal(format!("reading trace columns as dictionaries: {e}")))
}

/// What a filtered read of a row group found.
pub(crate) struct FilteredRead {
    /// The traces kept, in id order.
    pub(crate) traces: Vec<Trace>,
    /// Traces phase one looked at.
    pub(crate) seen: u64,
}

impl TraceBlockReader {
    /// The traces of row group `rg` that `f` keeps and that have a span in `window` (ns,
    /// inclusive), in id order: phase one on the tested columns, phase two on the kept
    /// traces' rows (module docs).
    pub(crate) async fn read_row_group_filtered(
        &self,
        rg: usize,
        f: &Arc<BlockFilter>,
        window: (u64, u64),
        cache_ranges: bool,
    ) -> Result<FilteredRead> {
        let (path, reader, meta) = self.open_data(rg, cache_ranges).await?;
        let g = &self.meta.row_groups[rg];
        let (lo, hi) = (super::ns_i64(window.0), super::ns_i64(window.1));
        let inside = g.min_time >= lo && g.max_time <= hi;
        let total = meta.metadata().row_group(rg).num_rows() as usize;
        let schema = meta.schema();
        let mut cols: Vec<&str> = vec!["trace_id"];
        if !inside {
            cols.extend(["trace_start_unix_nano", "trace_end_unix_nano"]);
        }
        cols.extend(f.leaves.iter().map(|l| l.column));
        let mut roots = Vec::with_capacity(cols.len());
        for c in cols {
            let i = schema
                .index_of(c)
                .map_err(|_| corrupt(&path, format!("no {c} column")))?;
            if !roots.contains(&i) {
                roots.push(i);
            }
        }
        let mask = ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), roots);
        let hinted = hinted(&meta, f)?;
        let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, hinted)
            .with_row_groups(vec![rg])
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&path, e))?;
        let Some(batches) = stream
            .next_row_group()
            .await
            .map_err(|e| corrupt(&path, e))?
        else {
            return Ok(FilteredRead {
                traces: Vec::new(),
                seen: 0,
            });
        };
        let owned = Arc::clone(f);
        let win = (!inside).then_some(window);
        let p = path.clone();
        let (ranges, seen) = tokio::task::spawn_blocking(move || {
            candidates(&owned, batches.map(|b| b.map_err(|e| e.to_string())), win)
                .map_err(|e| corrupt(&p, e))
        })
        .await
        .map_err(|e| Error::Internal(format!("trace filter panicked: {e}")))??;
        if ranges.is_empty() {
            return Ok(FilteredRead {
                traces: Vec::new(),
                seen,
            });
        }
        let traces = self
            .read_rows(rg, &ranges, total, cache_ranges, Arc::new(|_| true))
            .await?;
        Ok(FilteredRead { traces, seen })
    }
}
