//! The per-tenant catalog of live blocks.
//!
//! Each version is an immutable object `<tenant>/metrics/catalog/<20-digit version>.json`
//! holding `{version, blocks}`. A writer creates version N+1 with a create-if-absent put; the
//! loser of a race gets `AlreadyExists`, reloads and retries. Readers list the prefix and take
//! the highest version. Immutable versions are used instead of compare-and-swap on one object
//! because the local file system store supports create-if-absent but not conditional updates.

use std::sync::Arc;

use bytes::Bytes;
use cairn_model::TenantId;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::block::BlockMeta;
use crate::error::{Error, Result};
use crate::objstore::os_err;

/// Catalog versions kept behind the newest, for readers that listed just before a change.
pub(crate) const KEEP_VERSIONS: u64 = 10;

/// One version of a tenant's catalog.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Catalog {
    /// The version; 0 is the implicit empty catalog that has no object.
    pub version: u64,
    /// The live blocks, sorted by (min_time, ulid).
    pub blocks: Vec<BlockMeta>,
}

/// The directory of a tenant's catalog versions.
pub(crate) fn catalog_dir(tenant: &TenantId) -> Path {
    Path::from_iter([tenant.as_str(), "metrics", "catalog"])
}

pub(crate) fn catalog_path(tenant: &TenantId, version: u64) -> Path {
    catalog_dir(tenant).join(format!("{version:020}.json").as_str())
}

fn version_of(path: &Path) -> Option<u64> {
    let name = path.filename()?;
    let digits = name.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// All stored versions, ascending.
pub(crate) async fn list_versions(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
) -> Result<Vec<u64>> {
    let dir = catalog_dir(tenant);
    let metas: Vec<_> = store
        .list(Some(&dir))
        .try_collect()
        .await
        .map_err(os_err("list", &dir))?;
    let mut v: Vec<u64> = metas
        .iter()
        .filter_map(|m| version_of(&m.location))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Loads the newest catalog, or the empty version 0 when there is none.
pub async fn load_catalog(store: &Arc<dyn ObjectStore>, tenant: &TenantId) -> Result<Catalog> {
    // A version can be deleted by garbage collection between listing and reading: retry.
    for _ in 0..5 {
        let Some(&latest) = list_versions(store, tenant).await?.last() else {
            return Ok(Catalog::default());
        };
        let path = catalog_path(tenant, latest);
        let data = match store.get(&path).await {
            Ok(r) => r.bytes().await.map_err(os_err("get", &path))?,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(os_err("get", &path)(e)),
        };
        let c: Catalog = serde_json::from_slice(&data).map_err(|e| Error::Corrupt {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        if c.version != latest {
            return Err(Error::Corrupt {
                path: path.to_string(),
                reason: format!("holds version {} under the name of {latest}", c.version),
            });
        }
        return Ok(c);
    }
    Err(Error::CatalogConflict {
        tenant: tenant.to_string(),
    })
}

/// Creates catalog `c.version` if absent. `Err` with kind `AlreadyExists` when another writer
/// got there first.
pub(crate) async fn create_version(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    c: &Catalog,
) -> Result<()> {
    let path = catalog_path(tenant, c.version);
    let json = serde_json::to_vec_pretty(c)
        .map_err(|e| Error::Internal(format!("encoding catalog: {e}")))?;
    let opts = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    store
        .put_opts(&path, PutPayload::from(Bytes::from(json)), opts)
        .await
        .map_err(os_err("create", &path))?;
    Ok(())
}

/// Deletes versions older than `newest - KEEP_VERSIONS`; failures are left for the next run.
pub(crate) async fn delete_old_versions(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    newest: u64,
) -> Result<usize> {
    let mut n = 0;
    for v in list_versions(store, tenant).await? {
        if v + KEEP_VERSIONS >= newest {
            break;
        }
        let path = catalog_path(tenant, v);
        match store.delete(&path).await {
            Ok(()) => n += 1,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(os_err("delete", &path)(e)),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_are_fixed_width() {
        let t = TenantId::new("t1").unwrap();
        let p = catalog_path(&t, 42);
        assert_eq!(p.as_ref(), "t1/metrics/catalog/00000000000000000042.json");
        assert_eq!(version_of(&p), Some(42));
        assert_eq!(version_of(&Path::from("t1/metrics/catalog/42.json")), None);
    }
}
