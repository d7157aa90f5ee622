//! Building the object store from configuration, and mapping its errors to ours.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

use crate::error::{Error, Result, StorageErrorKind};

/// Where blocks and catalogs live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// A directory on the local file system (created if missing).
    Local {
        /// The root directory.
        path: PathBuf,
    },
    /// An S3 bucket or an S3-compatible server.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region, e.g. `us-east-1`.
        region: String,
        /// Endpoint URL for S3-compatible servers; `None` for AWS.
        endpoint: Option<String>,
        /// Key prefix under which everything is stored (may be empty).
        prefix: String,
        /// Path-style requests (`endpoint/bucket/key`), needed by most S3-compatible servers.
        path_style: bool,
        /// Allow plain HTTP endpoints.
        allow_http: bool,
        /// Access key; falls back to the usual AWS sources when absent.
        access_key_id: Option<String>,
        /// Secret key; falls back to the usual AWS sources when absent.
        secret_access_key: Option<String>,
        /// Session token for temporary credentials.
        session_token: Option<String>,
    },
}

/// Builds the object store. Credentials not given fall back to the usual AWS sources (env
/// vars, profile, IMDS) through `AmazonS3Builder::from_env()`; the prefix is applied with
/// `PrefixStore`.
pub fn build_object_store(cfg: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>> {
    match cfg {
        ObjectStoreConfig::Local { path } => {
            std::fs::create_dir_all(path).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            let fs = LocalFileSystem::new_with_prefix(path)
                .map_err(|e| Error::Config(format!("local path {}: {e}", path.display())))?;
            Ok(Arc::new(fs))
        }
        ObjectStoreConfig::S3 {
            bucket,
            region,
            endpoint,
            prefix,
            path_style,
            allow_http,
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            if bucket.is_empty() {
                return Err(Error::Config("s3 bucket is empty".into()));
            }
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_region(region)
                .with_allow_http(*allow_http)
                .with_virtual_hosted_style_request(!*path_style);
            if let Some(e) = endpoint {
                b = b.with_endpoint(e);
            }
            if let Some(k) = access_key_id {
                b = b.with_access_key_id(k);
            }
            if let Some(s) = secret_access_key {
                b = b.with_secret_access_key(s);
            }
            if let Some(t) = session_token {
                b = b.with_token(t);
            }
            let s3 = b
                .build()
                .map_err(|e| Error::Config(format!("s3 bucket {bucket:?}: {e}")))?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Ok(Arc::new(s3))
            } else {
                Ok(Arc::new(PrefixStore::new(s3, prefix)))
            }
        }
    }
}

/// The kind of an object store error.
pub(crate) fn error_kind(e: &object_store::Error) -> StorageErrorKind {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => StorageErrorKind::NotFound,
        E::AlreadyExists { .. } => StorageErrorKind::AlreadyExists,
        E::Precondition { .. } | E::NotModified { .. } => StorageErrorKind::PreconditionFailed,
        E::Generic { .. } | E::JoinError { .. } => StorageErrorKind::Transient,
        _ => StorageErrorKind::Permanent,
    }
}

/// Wraps an object store error with the operation and path that failed.
pub(crate) fn os_err(
    op: &'static str,
    path: &object_store::path::Path,
) -> impl FnOnce(object_store::Error) -> Error {
    let path = path.to_string();
    move |source| Error::ObjectStore {
        op,
        path,
        kind: error_kind(&source),
        source,
    }
}
