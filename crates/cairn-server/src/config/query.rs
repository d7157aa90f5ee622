//! The `query:` section: limits and defaults of PromQL queries served over HTTP.

use std::time::Duration;

use serde::Deserialize;

use super::V;
use crate::error::Result;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuery {
    timeout: Option<String>,
    max_samples: Option<usize>,
    max_series: Option<usize>,
    max_concurrent: Option<usize>,
    max_queued: Option<usize>,
    lookback_delta: Option<String>,
    max_points: Option<i64>,
}

/// `query:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryConfig {
    /// Longest a query may run, queueing included; a request's `timeout` can only shorten it
    /// (`timeout`, default 2m as Prometheus' `--query.timeout`).
    pub timeout: Duration,
    /// Most samples one query may hold in memory; more is a 422 (`max_samples`, default
    /// 50000000 as Prometheus' `--query.max-samples`).
    pub max_samples: usize,
    /// Most series one query may select, 0 for no limit (`max_series`, default 0).
    pub max_series: usize,
    /// Queries evaluated at once; more wait in a queue (`max_concurrent`, default 20 as
    /// Prometheus' `--query.max-concurrency`).
    pub max_concurrent: usize,
    /// Queries that may wait for a slot; beyond it a query is refused with 503
    /// (`max_queued`, default 200).
    pub max_queued: usize,
    /// How far back an instant selector looks (`lookback_delta`, default 5m).
    pub lookback_delta: Duration,
    /// Most points per series of a range query (`max_points`, default 11000 as Prometheus).
    pub max_points: i64,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_series: 0,
            max_concurrent: 20,
            max_queued: 200,
            lookback_delta: Duration::from_secs(300),
            max_points: 11_000,
        }
    }
}

/// Validates the section.
pub(crate) fn validate(v: &V<'_>, raw: Option<RawQuery>) -> Result<QueryConfig> {
    let raw = raw.unwrap_or_default();
    let d = QueryConfig::default();
    Ok(QueryConfig {
        timeout: v.positive(
            "query.timeout",
            v.duration("query.timeout", raw.timeout.as_ref(), "2m")?,
            "timeout",
        )?,
        max_samples: v.positive(
            "query.max_samples",
            raw.max_samples.unwrap_or(d.max_samples),
            "max_samples",
        )?,
        max_series: raw.max_series.unwrap_or(d.max_series),
        max_concurrent: v.positive(
            "query.max_concurrent",
            raw.max_concurrent.unwrap_or(d.max_concurrent),
            "max_concurrent",
        )?,
        max_queued: raw.max_queued.unwrap_or(d.max_queued),
        lookback_delta: v.positive(
            "query.lookback_delta",
            v.duration("query.lookback_delta", raw.lookback_delta.as_ref(), "5m")?,
            "lookback_delta",
        )?,
        max_points: v.positive(
            "query.max_points",
            raw.max_points.unwrap_or(d.max_points),
            "max_points",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn defaults_and_values() {
        let c = Config::from_yaml("", "t.yaml", &|_| None).expect("defaults are valid");
        assert_eq!(c.query, super::QueryConfig::default());
        let c = Config::from_yaml(
            "query:\n  timeout: 30s\n  max_samples: 1000\n  max_concurrent: 2\n  max_queued: 0\n",
            "t.yaml",
            &|_| None,
        )
        .expect("valid");
        assert_eq!(c.query.timeout.as_secs(), 30);
        assert_eq!(c.query.max_samples, 1000);
        assert_eq!(c.query.max_concurrent, 2);
        assert_eq!(c.query.max_queued, 0);
        let err = Config::from_yaml("query:\n  max_concurrent: 0\n", "t.yaml", &|_| None)
            .expect_err("zero is refused");
        assert!(err.to_string().contains("query.max_concurrent"), "{err}");
        assert!(Config::from_yaml("query:\n  bogus: 1\n", "t.yaml", &|_| None).is_err());
    }
}
