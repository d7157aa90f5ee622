//! One immutable block of traces on the object store.
//!
//! Layout: `<tenant>/traces/blocks/<ULID>/{data.parquet, ids.bloom, meta.json}`, `meta.json`
//! written last (the catalog names only complete blocks).
//!
//! `data.parquet` (zstd; dictionary encoding except for the columns whose values are nearly
//! all distinct: `span_id`, `parent_span_id`, `start_unix_nano`, `duration_nano`, the span
//! attributes' `value_int` and the events' `time_unix_nano`, plain under zstd; page
//! statistics on the top-level columns only; `cairn.schema_version` in the key-value
//! metadata) holds one row per span, sorted by trace id, then start, then span id,
//! in the spirit of Tempo's vParquet4 flattened to one level:
//! - trace-level columns, repeated on each of the trace's rows: `trace_id`
//!   FixedSizeBinary(16), `trace_start_unix_nano`, `trace_end_unix_nano` UInt64,
//!   `root_service_name`, `root_span_name`;
//! - the span's resource: `resource_service_name` (the first string `service.name`,
//!   null when none), `resource_attrs` (the other attributes), dropped count, schema URL;
//!   its scope: `scope_name`, `scope_version`, `scope_attrs`, dropped count, schema URL;
//! - the span: `span_id` FixedSizeBinary(8), `parent_span_id` (null for a root),
//!   `trace_state`, `flags`, `name`, `kind` and `status_code` (OTLP numbers),
//!   `start_unix_nano`, `duration_nano`, `status_message`;
//! - dedicated columns `http_method`, `http_request_method`, `http_url`, `url_full` (Utf8)
//!   and `http_status_code`, `http_response_status_code` (Int64), each holding the first
//!   span attribute of that key when it has that type (null otherwise);
//! - `attrs` (the other span attributes), `events` and `links` (lists of structs with their
//!   own `attrs`), and the three dropped counts.
//!
//! Attribute lists are lists of `{key, type, value_string, value_int, value_double,
//! value_bool, value_json}`: `type` names the OTLP type, scalars sit in their typed column,
//! bytes, arrays and key/value lists in `value_json` (OTLP/JSON's `AnyValue` shape, bytes
//! as hex under `bytesHex`).
//!
//! A row group holds whole traces (at least `row_group_spans` spans unless it is the last);
//! `meta.json` lists each row group's id range and time range, so a lookup reads one row
//! group (its `trace_id` column, then only the pages holding the trace's rows: pages hold at
//! most 4096 rows) and a scan skips the row groups outside its time range. `ids.bloom` is a Bloom
//! filter of the block's trace ids (the log line filter's layout over the xxh3 of the id)
//! that lets lookups skip the block. `meta.json` also names every attribute key in the
//! block, by scope, for the tag name endpoints.
//!
//! `meta.json` also lists, as `dedicated_overflow`, the dedicated keys (`service.name`, the
//! span keys above) of which some attribute stayed in the generic lists (a second one, or
//! one of another type), so that a scan knows where a dedicated column alone answers.
//!
//! A scan with a filter (`scan` module) reads a row group in two phases: first `trace_id`,
//! the filter's columns (strings as dictionaries) and, when the row group straddles the
//! scan's range, the trace start and end; then the full rows of the traces kept only, by a
//! row selection, so that only their pages are decoded.
//!
//! Read back, a trace is the trace written except for attribute order: the `service.name`
//! taken into its column comes back first among the resource attributes, and the dedicated
//! span attributes come back last, in the column order above.

mod decode;
mod encode;
mod overflow;
mod read;
mod scan;
mod schema;

use std::sync::Arc;

use bytes::Bytes;
use cairn_model::TenantId;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::{Error, Result};
use crate::objstore::os_err;

pub(crate) use encode::{EncodedTraceBlock, TraceBlockWriter, ns_i64};
pub(crate) use read::TraceBlockReader;
pub(crate) use scan::{Resolved, resolve};
pub(crate) use schema::{type_name, value_json};

/// The schema of `data.parquet`, for the format's pinning test.
#[cfg(test)]
pub(crate) fn schema_for_tests() -> arrow::datatypes::SchemaRef {
    schema::schema()
}

/// Version of the trace block format, in `meta.json` and in the Parquet file.
pub const TRACE_SCHEMA_VERSION: u32 = 1;

pub(crate) const DATA_FILE: &str = "data.parquet";
pub(crate) const FILTER_FILE: &str = "ids.bloom";
pub(crate) const META_FILE: &str = "meta.json";

/// What `meta.json` says of one row group.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RowGroupMeta {
    /// Smallest trace id, hex.
    pub min_id: String,
    /// Largest trace id, hex.
    pub max_id: String,
    /// Earliest span start, ns.
    pub min_time: i64,
    /// Latest span end, ns.
    pub max_time: i64,
    /// Traces in it.
    pub traces: u64,
    /// Spans (rows) in it.
    pub spans: u64,
}

/// Attribute keys of a block, by where they sit, each sorted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TagNames {
    /// Span attributes.
    pub span: Vec<String>,
    /// Resource attributes.
    pub resource: Vec<String>,
    /// Event attributes.
    pub event: Vec<String>,
    /// Link attributes.
    pub link: Vec<String>,
    /// Instrumentation scope attributes.
    pub scope: Vec<String>,
}

/// What `meta.json` says about a trace block.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TraceBlockMeta {
    /// The block's id, also its directory name.
    #[serde(with = "crate::block::ulid_str")]
    pub ulid: Ulid,
    /// Earliest span start, ns.
    pub min_time: i64,
    /// Latest span end, ns.
    pub max_time: i64,
    /// Number of traces.
    pub num_traces: u64,
    /// Number of spans.
    pub num_spans: u64,
    /// Compaction level: 0 for blocks cut from the head.
    pub level: u32,
    /// The blocks this one was compacted from.
    #[serde(with = "crate::block::ulid_vec")]
    pub sources: Vec<Ulid>,
    /// [`TRACE_SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Total bytes of the block's files.
    pub bytes: u64,
    /// The row groups of `data.parquet`, in file order (ascending ids).
    pub row_groups: Vec<RowGroupMeta>,
    /// Attribute keys in the block.
    pub tags: TagNames,
    /// The dedicated keys (`service.name` of resources, the `http.*` and `url.full` span
    /// keys) that also occur in the generic attribute lists, where their columns alone do not
    /// answer for them; `None` in blocks written before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated_overflow: Option<Vec<String>>,
}

impl TraceBlockMeta {
    /// True when the block holds spans in `[start, end]` (both inclusive).
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_time <= end && self.max_time >= start
    }
}

/// The directory of a trace block.
pub(crate) fn block_dir(tenant: &TenantId, ulid: Ulid) -> Path {
    Path::from_iter([
        tenant.as_str(),
        "traces",
        "blocks",
        ulid.to_string().as_str(),
    ])
}

/// One file of a trace block.
pub(crate) fn block_file(tenant: &TenantId, ulid: Ulid, file: &str) -> Path {
    block_dir(tenant, ulid).join(file)
}

/// Uploads an encoded block (`meta.json` last) and returns its meta.
pub(crate) async fn put_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    encoded: EncodedTraceBlock,
    level: u32,
    sources: Vec<Ulid>,
) -> Result<TraceBlockMeta> {
    let ulid = Ulid::new();
    let files = [
        (DATA_FILE, encoded.data),
        (FILTER_FILE, Bytes::from(encoded.filter)),
    ];
    let bytes = files.iter().map(|(_, b)| b.len() as u64).sum();
    let puts = files.into_iter().map(|(name, data)| {
        let path = block_file(tenant, ulid, name);
        async move {
            store
                .put(&path, PutPayload::from(data))
                .await
                .map_err(os_err("put", &path))
        }
    });
    futures::future::try_join_all(puts).await?;
    let meta = TraceBlockMeta {
        ulid,
        min_time: encoded.min_time,
        max_time: encoded.max_time,
        num_traces: encoded.num_traces,
        num_spans: encoded.num_spans,
        level,
        sources,
        schema_version: TRACE_SCHEMA_VERSION,
        bytes,
        row_groups: encoded.row_groups,
        tags: encoded.tags,
        dedicated_overflow: Some(encoded.dedicated_overflow),
    };
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| Error::Internal(format!("encoding meta.json: {e}")))?;
    let path = block_file(tenant, ulid, META_FILE);
    store
        .put(&path, PutPayload::from(Bytes::from(json)))
        .await
        .map_err(os_err("put", &path))?;
    Ok(meta)
}

/// Deletes every object of a trace block, `meta.json` first.
pub(crate) async fn delete_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    ulid: Ulid,
) -> Result<()> {
    for name in [META_FILE, DATA_FILE, FILTER_FILE] {
        let path = block_file(tenant, ulid, name);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(os_err("delete", &path)(e)),
        }
    }
    Ok(())
}
