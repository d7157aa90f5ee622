//! One immutable block of samples on the object store.
//!
//! Layout: `<tenant>/metrics/blocks/<ULID>/{series.parquet, samples.parquet, index.parquet,
//! meta.json}`. `meta.json` is written last, so a block without it is incomplete and ignored;
//! the catalog only ever names complete blocks.
//!
//! - `series.parquet`: `series_id` UInt64, `metric_name` Utf8 (dictionary), `labels`
//!   Map<Utf8, Utf8> in label-name order, one row per series sorted by `series_id`: the same
//!   order as the samples file, so the two merge-join without sorting and an id lookup is a
//!   binary search.
//! - `samples.parquet`: one row per sample sorted by (`series_id`, `timestamp`); `series_id`
//!   UInt64 dictionary/RLE, `timestamp` Int64 DELTA_BINARY_PACKED, and the value in one of two
//!   nullable columns: `value` Float64 BYTE_STREAM_SPLIT (bit-exact, so the stale marker
//!   survives), or, for series whose every value is a decimal with at most 6 fraction digits,
//!   `value_int` Int64 DELTA_BINARY_PACKED with `value_scale` UInt8 (dictionary/RLE): the value
//!   is `value_int / 10^value_scale`, in SQL `coalesce(value, value_int / 10 ^ value_scale)`.
//!   The writer only uses the integer form when that division gives back the exact bits.
//!   zstd, page statistics and a page index so that a query for a few series reads only their
//!   pages.
//! - `index.parquet`: the postings, `name`, `value`, `series_ids` List<UInt64>, sorted by
//!   (name, value).
//!
//! `series_id` is block-local: the series' ordinal in label order (`Labels`' `Ord`), so that
//! the series of one metric, and of one metric and instance, are neighbours in the samples
//! file and a selector reads a few contiguous pages instead of pages all over the file (with
//! hash-ordered ids, a selector matching one series in twenty touched every page). Blocks
//! written before this order (ids were `cairn_model::SeriesId` hashes) stay readable: readers
//! key on labels, never on ids across blocks, and never assume an order of ids beyond
//! "ascending in both files".

mod encode;
mod read;

use std::sync::Arc;

use bytes::Bytes;
use cairn_model::{Series, TenantId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::{Error, Result};
use crate::objstore::os_err;

pub(crate) use encode::SeriesSource;
pub(crate) use read::{BlockReader, CachedReader, LabelIndex, SeriesTable, footer};

/// Version of the block format, in `meta.json` and in each Parquet file's key-value metadata.
pub const SCHEMA_VERSION: u32 = 1;

/// Key of the schema version in the Parquet key-value metadata.
pub(crate) const SCHEMA_VERSION_KEY: &str = "cairn.schema_version";

pub(crate) const SERIES_FILE: &str = "series.parquet";
pub(crate) const SAMPLES_FILE: &str = "samples.parquet";
pub(crate) const INDEX_FILE: &str = "index.parquet";
pub(crate) const META_FILE: &str = "meta.json";

/// What `meta.json` says about a block.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BlockMeta {
    /// The block's id, also its directory name.
    #[serde(with = "ulid_str")]
    pub ulid: Ulid,
    /// First sample timestamp, ms.
    pub min_time: i64,
    /// Last sample timestamp, ms, inclusive.
    pub max_time: i64,
    /// Number of series.
    pub num_series: u64,
    /// Number of samples.
    pub num_samples: u64,
    /// Compaction level: 0 for blocks cut from the head.
    pub level: u32,
    /// The blocks this one was compacted from.
    #[serde(with = "ulid_vec")]
    pub sources: Vec<Ulid>,
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Total bytes of the block's Parquet files.
    pub bytes: u64,
}

impl BlockMeta {
    /// True when the block holds samples in `[start, end]` (both inclusive).
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_time <= end && self.max_time >= start
    }
}

/// The directory of a block.
pub(crate) fn block_dir(tenant: &TenantId, ulid: Ulid) -> Path {
    Path::from_iter([
        tenant.as_str(),
        "metrics",
        "blocks",
        ulid.to_string().as_str(),
    ])
}

/// One file of a block.
pub(crate) fn block_file(tenant: &TenantId, ulid: Ulid, file: &str) -> Path {
    block_dir(tenant, ulid).join(file)
}

/// Writes a block of `series` and returns its meta. Series may come in any order (they are
/// sorted by series id here, and repeated label sets merged); samples are sorted by time here
/// too, keeping the first of equal timestamps, so sorted, deduplicated input just costs a
/// check. Series without samples are skipped; a block with no samples at all is refused with
/// [`Error::EmptyBlock`].
pub async fn write_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    series: Vec<Series>,
    level: u32,
    sources: Vec<Ulid>,
) -> Result<BlockMeta> {
    write_block_from(
        store,
        tenant,
        encode::SortedSeries::new(series),
        level,
        sources,
    )
    .await
}

/// Writes a block of the series `source` yields in block order (see [`SeriesSource`]),
/// pulling and encoding them one at a time so that only the encoded files and one row group
/// of samples are in memory; otherwise as [`write_block`].
pub(crate) async fn write_block_from(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    source: impl SeriesSource + Send + 'static,
    level: u32,
    sources: Vec<Ulid>,
) -> Result<BlockMeta> {
    let ulid = Ulid::new();
    let t = tenant.clone();
    // Parquet encoding and compression are CPU work: keep them off the reactor.
    let encoded = tokio::task::spawn_blocking(move || encode::encode_block(&t, source))
        .await
        .map_err(|e| Error::Internal(format!("block encoder panicked: {e}")))??;
    tracing::debug!(
        tenant = %tenant,
        series = encoded.num_series,
        samples = encoded.num_samples,
        peak_buffered_rows = encoded.peak_buffered_rows,
        "block encoded"
    );
    let files = [
        (SERIES_FILE, encoded.series),
        (SAMPLES_FILE, encoded.samples),
        (INDEX_FILE, encoded.index),
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
    let meta = BlockMeta {
        ulid,
        min_time: encoded.min_time,
        max_time: encoded.max_time,
        num_series: encoded.num_series,
        num_samples: encoded.num_samples,
        level,
        sources,
        schema_version: SCHEMA_VERSION,
        bytes,
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

/// Reads a block's `meta.json`.
pub async fn read_block_meta(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    ulid: Ulid,
) -> Result<BlockMeta> {
    let path = block_file(tenant, ulid, META_FILE);
    let data = store
        .get(&path)
        .await
        .map_err(os_err("get", &path))?
        .bytes()
        .await
        .map_err(os_err("get", &path))?;
    serde_json::from_slice(&data).map_err(|e| Error::Corrupt {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// Deletes every object of a block, `meta.json` first so that a half-deleted block reads as
/// incomplete rather than as a block with missing files.
pub(crate) async fn delete_block(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    ulid: Ulid,
) -> Result<()> {
    let meta = block_file(tenant, ulid, META_FILE);
    match store.delete(&meta).await {
        Ok(()) => {}
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(os_err("delete", &meta)(e)),
    }
    for name in [SERIES_FILE, SAMPLES_FILE, INDEX_FILE] {
        let path = block_file(tenant, ulid, name);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(os_err("delete", &path)(e)),
        }
    }
    Ok(())
}

/// Serde of a ULID as its string, shared by every signal's block meta.
pub(crate) mod ulid_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(crate) fn serialize<S: Serializer>(u: &Ulid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(u)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ulid, D::Error> {
        let s = String::deserialize(d)?;
        Ulid::from_string(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde of a list of ULIDs as strings.
pub(crate) mod ulid_vec {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(crate) fn serialize<S: Serializer>(v: &[Ulid], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for u in v {
            seq.serialize_element(&u.to_string())?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Ulid>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| Ulid::from_string(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
