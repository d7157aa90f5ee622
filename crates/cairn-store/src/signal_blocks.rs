//! The live blocks of one tenant and one signal (logs, traces): catalog changes through the
//! shared catalog, consistent snapshots for queries, deferred deletion of replaced blocks,
//! and retention. What differs per signal (the meta, the reader, how blocks are merged) is
//! behind [`SignalBlock`]; compaction is written per signal on top of [`SignalBlocks`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use cairn_model::TenantId;
use object_store::ObjectStore;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ulid::Ulid;

use crate::cache::BlockCache;
use crate::catalog::{Catalog, Signal, commit_change, load_catalog_of};
use crate::error::Result;

/// The meta of a block as the catalog lists it.
pub(crate) trait SignalMeta:
    Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    /// The block's id.
    fn ulid(&self) -> Ulid;
    /// First timestamp, ns.
    fn min_time(&self) -> i64;
    /// Last timestamp, ns, inclusive.
    fn max_time(&self) -> i64;
}

/// Read access to one block of a signal.
pub(crate) trait SignalBlock: Send + Sync + 'static {
    /// What `meta.json` and the catalog say about a block.
    type Meta: SignalMeta;
    /// Where the signal's catalog lives.
    const SIGNAL: Signal;
    /// A reader of the block `meta` names.
    fn open(
        store: Arc<dyn ObjectStore>,
        cache: Arc<BlockCache>,
        tenant: TenantId,
        meta: Self::Meta,
    ) -> Self;
    /// The block's meta.
    fn meta(&self) -> &Self::Meta;
    /// Deletes every object of block `ulid`.
    fn delete(
        store: &Arc<dyn ObjectStore>,
        tenant: &TenantId,
        ulid: Ulid,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// An immutable view of a tenant's live blocks, sorted by (min_time, ulid).
pub(crate) struct Snapshot<B> {
    pub(crate) version: u64,
    pub(crate) blocks: Vec<Arc<B>>,
}

impl<B> Default for Snapshot<B> {
    fn default() -> Self {
        Snapshot {
            version: 0,
            blocks: Vec::new(),
        }
    }
}

/// The live blocks of one tenant and signal.
pub(crate) struct SignalBlocks<B: SignalBlock> {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) tenant: TenantId,
    cache: Arc<BlockCache>,
    state: RwLock<Arc<Snapshot<B>>>,
    commit_lock: tokio::sync::Mutex<()>,
    retired: Mutex<Vec<Arc<B>>>,
}

fn sort_metas<M: SignalMeta>(blocks: &mut [M]) {
    blocks.sort_by_key(|b| (b.min_time(), b.ulid()));
}

impl<B: SignalBlock> SignalBlocks<B> {
    /// Loads the tenant's catalog of the signal (absent: empty).
    pub(crate) async fn open(
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        cache: Arc<BlockCache>,
    ) -> Result<Self> {
        let c: Catalog<B::Meta> = load_catalog_of(&store, &tenant, B::SIGNAL).await?;
        let b = SignalBlocks {
            store,
            tenant,
            cache,
            state: RwLock::new(Arc::new(Snapshot::default())),
            commit_lock: tokio::sync::Mutex::new(()),
            retired: Mutex::new(Vec::new()),
        };
        b.install(c);
        Ok(b)
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot<B>> {
        Arc::clone(&self.state.read())
    }

    /// Metas of the live blocks.
    pub(crate) fn metas(&self) -> Vec<B::Meta> {
        self.snapshot()
            .blocks
            .iter()
            .map(|b| b.meta().clone())
            .collect()
    }

    fn install(&self, c: Catalog<B::Meta>) -> Vec<Arc<B>> {
        let mut state = self.state.write();
        if c.version <= state.version && state.version != 0 {
            return Vec::new();
        }
        let old: BTreeMap<Ulid, &Arc<B>> =
            state.blocks.iter().map(|b| (b.meta().ulid(), b)).collect();
        let mut blocks: Vec<Arc<B>> = c
            .blocks
            .into_iter()
            .map(|m| match old.get(&m.ulid()) {
                Some(b) => Arc::clone(b),
                None => Arc::new(B::open(
                    Arc::clone(&self.store),
                    Arc::clone(&self.cache),
                    self.tenant.clone(),
                    m,
                )),
            })
            .collect();
        blocks.sort_by_key(|b| (b.meta().min_time(), b.meta().ulid()));
        let kept: BTreeSet<Ulid> = blocks.iter().map(|b| b.meta().ulid()).collect();
        let dropped = state
            .blocks
            .iter()
            .filter(|b| !kept.contains(&b.meta().ulid()))
            .cloned()
            .collect();
        *state = Arc::new(Snapshot {
            version: c.version,
            blocks,
        });
        dropped
    }

    /// Applies `change` to the catalog (retried against concurrent writers); `false` from
    /// `change` leaves it alone. Returns whether a new version was written.
    pub(crate) async fn commit(
        &self,
        change: impl FnMut(&mut Vec<B::Meta>) -> bool,
    ) -> Result<bool> {
        let _guard = self.commit_lock.lock().await;
        let written = commit_change(
            &self.store,
            &self.tenant,
            B::SIGNAL,
            |c: &Catalog<B::Meta>| {
                self.install(c.clone());
            },
            change,
            sort_metas,
        )
        .await?;
        match written {
            Some(next) => {
                let dropped = self.install(next);
                self.retired.lock().extend(dropped);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Adds freshly written blocks in one catalog change; returns once the catalog names them.
    pub(crate) async fn add_blocks(&self, metas: &[B::Meta]) -> Result<()> {
        self.commit(|blocks| {
            for m in metas {
                if !blocks.iter().any(|b| b.ulid() == m.ulid()) {
                    blocks.push(m.clone());
                }
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Replaces the blocks `group` by `output` in one catalog change, if they are all still
    /// live; returns whether it did.
    pub(crate) async fn replace(&self, group: &[Ulid], output: &B::Meta) -> Result<bool> {
        self.commit(|blocks| {
            if !group.iter().all(|u| blocks.iter().any(|b| b.ulid() == *u)) {
                return false;
            }
            blocks.retain(|b| !group.contains(&b.ulid()));
            blocks.push(output.clone());
            true
        })
        .await
    }

    /// Deletes the objects of blocks that left the catalog and that no snapshot holds.
    pub(crate) async fn delete_retired(&self) -> Result<usize> {
        let ready: Vec<Arc<B>> = {
            let mut retired = self.retired.lock();
            let (ready, keep): (Vec<_>, Vec<_>) =
                retired.drain(..).partition(|b| Arc::strong_count(b) == 1);
            *retired = keep;
            ready
        };
        let mut n = 0;
        for b in ready {
            if let Err(e) = B::delete(&self.store, &self.tenant, b.meta().ulid()).await {
                self.retired.lock().push(b);
                return Err(e);
            }
            n += 1;
        }
        Ok(n)
    }

    /// Drops blocks entirely older than `now_ns - retention_ns`; returns how many.
    pub(crate) async fn apply_retention(&self, now_ns: i64, retention_ns: i64) -> Result<usize> {
        let cutoff = now_ns.saturating_sub(retention_ns);
        let mut dropped = 0;
        self.commit(|blocks| {
            let before = blocks.len();
            blocks.retain(|b| b.max_time() >= cutoff);
            dropped = before - blocks.len();
            dropped > 0
        })
        .await?;
        self.delete_retired().await?;
        Ok(dropped)
    }
}
