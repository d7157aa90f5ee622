//! The config file as written: every field optional, unknown fields refused. Validation into
//! typed values happens in the parent module, which knows each field's key path.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A byte size as written: a plain integer or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSize {
    Int(u64),
    Str(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) server: Option<RawServer>,
    pub(crate) storage: Option<RawStorage>,
    pub(crate) multitenancy: Option<RawMultitenancy>,
    pub(crate) limits: Option<RawLimits>,
    pub(crate) overrides: Option<BTreeMap<String, RawLimits>>,
    pub(crate) alertmanager: Option<super::alertmanager::RawAlertmanager>,
    pub(crate) query: Option<super::query::RawQuery>,
    pub(crate) rules: Option<super::rules::RawRules>,
    pub(crate) slos: Option<super::slos::RawSlos>,
    pub(crate) logs: Option<super::logs::RawLogs>,
    pub(crate) traces: Option<super::traces::RawTraces>,
    pub(crate) otlp: Option<super::otlp::RawOtlp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) listen: Option<String>,
    pub(crate) log_format: Option<String>,
    pub(crate) log_level: Option<String>,
    pub(crate) shutdown_timeout: Option<String>,
    pub(crate) max_inflight_writes: Option<usize>,
    pub(crate) forward_listen: Option<String>,
    pub(crate) otlp_grpc_listen: Option<String>,
    pub(crate) otlp_http_listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    pub(crate) data_dir: Option<String>,
    pub(crate) object_store: Option<RawObjectStore>,
    pub(crate) block_range: Option<String>,
    pub(crate) out_of_order_window: Option<String>,
    pub(crate) retention: Option<String>,
    pub(crate) compaction: Option<RawCompaction>,
    pub(crate) wal: Option<RawWal>,
    pub(crate) cache: Option<RawCache>,
    pub(crate) logs: Option<super::log_storage::RawLogStorage>,
    pub(crate) exemplars: Option<RawExemplars>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExemplars {
    pub(crate) max_exemplars: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObjectStore {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) local: Option<RawLocal>,
    pub(crate) s3: Option<RawS3>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLocal {
    pub(crate) path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3 {
    pub(crate) bucket: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) path_style: Option<bool>,
    pub(crate) allow_http: Option<bool>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
    pub(crate) session_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCompaction {
    pub(crate) ranges: Option<Vec<String>>,
    pub(crate) interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWal {
    pub(crate) segment_size: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCache {
    pub(crate) max_size: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMultitenancy {
    pub(crate) enabled: Option<bool>,
    pub(crate) default_tenant: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) max_request_body_size: Option<RawSize>,
    pub(crate) max_decoded_size: Option<RawSize>,
    pub(crate) max_labels_per_series: Option<usize>,
    pub(crate) max_label_name_length: Option<usize>,
    pub(crate) max_label_value_length: Option<usize>,
    pub(crate) max_series_per_request: Option<usize>,
    pub(crate) retention: Option<String>,
    pub(crate) logs: Option<super::log_limits::RawLogLimits>,
}
