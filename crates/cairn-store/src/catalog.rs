//! The per-tenant, per-signal catalog of live blocks.
//!
//! Each version is an immutable object `<tenant>/<signal>/catalog/<20-digit version>.json`
//! holding `{version, blocks}`. A writer creates version N+1 with a create-if-absent put; the
//! loser of a race gets `AlreadyExists`, reloads and retries. Readers list the prefix and take
//! the highest version. Immutable versions are used instead of compare-and-swap on one object
//! because the local file system store supports create-if-absent but not conditional updates.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_model::TenantId;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::block::BlockMeta;
use crate::error::{Error, Result, StorageErrorKind};
use crate::objstore::os_err;

/// How many times a catalog change is retried against concurrent writers.
const COMMIT_ATTEMPTS: usize = 64;

/// The kinds of data the store keeps, each under its own prefix of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Signal {
    /// Samples: `<tenant>/metrics/`.
    Metrics,
    /// Log entries: `<tenant>/logs/`.
    Logs,
    /// Spans: `<tenant>/traces/`.
    Traces,
}

impl Signal {
    /// The path segment under the tenant.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }
}

/// Catalog versions kept behind the newest, for readers that listed just before a change.
pub(crate) const KEEP_VERSIONS: u64 = 10;

/// One version of a tenant's catalog of one signal; `M` is the signal's block meta.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Catalog<M = BlockMeta> {
    /// The version; 0 is the implicit empty catalog that has no object.
    pub version: u64,
    /// The live blocks, sorted by (min_time, ulid).
    pub blocks: Vec<M>,
}

impl<M> Default for Catalog<M> {
    fn default() -> Self {
        Catalog {
            version: 0,
            blocks: Vec::new(),
        }
    }
}

/// The directory of a tenant's catalog versions of `signal`.
pub(crate) fn catalog_dir(tenant: &TenantId, signal: Signal) -> Path {
    Path::from_iter([tenant.as_str(), signal.as_str(), "catalog"])
}

pub(crate) fn catalog_path(tenant: &TenantId, signal: Signal, version: u64) -> Path {
    catalog_dir(tenant, signal).join(format!("{version:020}.json").as_str())
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
    signal: Signal,
) -> Result<Vec<u64>> {
    let dir = catalog_dir(tenant, signal);
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

/// Loads the newest metrics catalog, or the empty version 0 when there is none.
pub async fn load_catalog(store: &Arc<dyn ObjectStore>, tenant: &TenantId) -> Result<Catalog> {
    load_catalog_of(store, tenant, Signal::Metrics).await
}

/// Loads the newest catalog of `signal`, or the empty version 0 when there is none.
pub(crate) async fn load_catalog_of<M: DeserializeOwned>(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    signal: Signal,
) -> Result<Catalog<M>> {
    // A version can be deleted by garbage collection between listing and reading: retry.
    for _ in 0..5 {
        let Some(&latest) = list_versions(store, tenant, signal).await?.last() else {
            return Ok(Catalog::default());
        };
        let path = catalog_path(tenant, signal, latest);
        let data = match store.get(&path).await {
            Ok(r) => r.bytes().await.map_err(os_err("get", &path))?,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(os_err("get", &path)(e)),
        };
        let c: Catalog<M> = serde_json::from_slice(&data).map_err(|e| Error::Corrupt {
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
pub(crate) async fn create_version<M: Serialize>(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    signal: Signal,
    c: &Catalog<M>,
) -> Result<()> {
    let path = catalog_path(tenant, signal, c.version);
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
    signal: Signal,
    newest: u64,
) -> Result<usize> {
    let mut n = 0;
    for v in list_versions(store, tenant, signal).await? {
        if v + KEEP_VERSIONS >= newest {
            break;
        }
        let path = catalog_path(tenant, signal, v);
        match store.delete(&path).await {
            Ok(()) => n += 1,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(os_err("delete", &path)(e)),
        }
    }
    Ok(n)
}

/// Applies `change` to the newest stored catalog of `signal` and creates it as the next
/// version, retrying on conflicts; `change` returns false to abandon, and `seen` is shown
/// every version loaded on the way (so the caller can install it). Returns the version
/// written, `None` when abandoned.
///
/// It starts from the stored newest version, not from a caller's snapshot: garbage
/// collection deletes old versions, so a writer creating a version right after a stale one
/// could succeed in recreating a deleted name that nobody reads. Starting fresh leaves only
/// the milliseconds between load and create for KEEP_VERSIONS others to commit and clean up.
pub(crate) async fn commit_change<M>(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    signal: Signal,
    mut seen: impl FnMut(&Catalog<M>),
    mut change: impl FnMut(&mut Vec<M>) -> bool,
    sort: fn(&mut [M]),
) -> Result<Option<Catalog<M>>>
where
    M: Serialize + DeserializeOwned + Clone,
{
    let mut base: Catalog<M> = load_catalog_of(store, tenant, signal).await?;
    seen(&base);
    for attempt in 0..COMMIT_ATTEMPTS {
        let mut blocks = base.blocks.clone();
        if !change(&mut blocks) {
            return Ok(None);
        }
        sort(&mut blocks);
        let next = Catalog {
            version: base.version + 1,
            blocks,
        };
        match create_version(store, tenant, signal, &next).await {
            Ok(()) => {
                if let Err(e) = delete_old_versions(store, tenant, signal, next.version).await {
                    tracing::warn!(tenant = %tenant, signal = signal.as_str(), error = %e, "deleting old catalog versions failed");
                }
                return Ok(Some(next));
            }
            Err(e) if e.storage_kind() == Some(StorageErrorKind::AlreadyExists) => {
                base = load_catalog_of(store, tenant, signal).await?;
                seen(&base);
                // Spread competing writers apart.
                let jitter = u64::from(Ulid::new().random() as u8 % 20);
                tokio::time::sleep(Duration::from_millis(jitter + attempt as u64)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::CatalogConflict {
        tenant: tenant.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_are_fixed_width() {
        let t = TenantId::new("t1").unwrap();
        let p = catalog_path(&t, Signal::Metrics, 42);
        assert_eq!(p.as_ref(), "t1/metrics/catalog/00000000000000000042.json");
        assert_eq!(
            catalog_path(&t, Signal::Logs, 7).as_ref(),
            "t1/logs/catalog/00000000000000000007.json"
        );
        assert_eq!(version_of(&p), Some(42));
        assert_eq!(version_of(&Path::from("t1/metrics/catalog/42.json")), None);
    }
}
