//! An in-memory [`Querier`] over a fixed set of series, for tests and the promqltest runner.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cairn_model::{
    LabelValuesRequest, Labels, Matcher, MetricMetadata, Querier, QueryError, QueryErrorKind,
    Sample, SelectRequest, Series, SeriesRequest, TenantId,
};

/// Series held in memory per tenant, answering every [`Querier`] call by scanning.
#[derive(Clone, Debug, Default)]
pub struct MemoryQuerier {
    tenants: BTreeMap<String, BTreeMap<Labels, Vec<Sample>>>,
}

impl MemoryQuerier {
    /// An empty store.
    pub fn new() -> Self {
        MemoryQuerier::default()
    }

    /// Adds samples to a series of `tenant`, keeping samples sorted by time; a sample at an
    /// existing timestamp replaces the old one.
    pub fn add(&mut self, tenant: &TenantId, labels: Labels, samples: &[Sample]) {
        let series = self
            .tenants
            .entry(tenant.as_str().to_string())
            .or_default()
            .entry(labels)
            .or_default();
        for s in samples {
            match series.binary_search_by_key(&s.t, |x| x.t) {
                Ok(i) => series[i] = *s,
                Err(i) => series.insert(i, *s),
            }
        }
    }

    /// Removes every series of every tenant.
    pub fn clear(&mut self) {
        self.tenants.clear();
    }

    fn matching<'a>(
        &'a self,
        tenant: &TenantId,
        selectors: &'a [Vec<Matcher>],
    ) -> impl Iterator<Item = (&'a Labels, &'a Vec<Sample>)> + 'a {
        self.tenants
            .get(tenant.as_str())
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |(labels, _)| {
                selectors.is_empty() || selectors.iter().any(|ms| matches_all(labels, ms))
            })
    }

    fn series_in_range<'a>(
        &'a self,
        tenant: &TenantId,
        req: &'a SeriesRequest,
    ) -> impl Iterator<Item = &'a Labels> + 'a {
        self.matching(tenant, &req.selectors)
            .filter(|(_, samples)| {
                samples
                    .iter()
                    .any(|s| s.t >= req.start_ms && s.t <= req.end_ms)
            })
            .map(|(l, _)| l)
    }
}

fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

fn limit_error(what: &str, limit: usize) -> QueryError {
    QueryError::new(
        QueryErrorKind::LimitExceeded,
        format!("query would select more than {limit} {what}"),
    )
}

#[async_trait]
impl Querier for MemoryQuerier {
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> Result<Vec<Series>, QueryError> {
        let selectors = [req.matchers.clone()];
        let mut out = Vec::new();
        let mut total = 0usize;
        for (labels, samples) in self.matching(tenant, &selectors) {
            let lo = samples.partition_point(|s| s.t < req.start_ms);
            let hi = samples.partition_point(|s| s.t <= req.end_ms);
            if lo >= hi {
                continue;
            }
            total += hi - lo;
            if req.max_samples > 0 && total > req.max_samples {
                return Err(limit_error("samples", req.max_samples));
            }
            out.push(Series {
                labels: labels.clone(),
                samples: samples[lo..hi].to_vec(),
            });
            if req.max_series > 0 && out.len() > req.max_series {
                return Err(limit_error("series", req.max_series));
            }
        }
        Ok(out)
    }

    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut out: Vec<Labels> = self.series_in_range(tenant, req).cloned().collect();
        if req.limit > 0 {
            out.truncate(req.limit);
        }
        Ok(out)
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut names: Vec<String> = self
            .series_in_range(tenant, req)
            .flat_map(|l| l.iter().map(|r| r.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        if req.limit > 0 {
            names.truncate(req.limit);
        }
        Ok(names)
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut values: Vec<String> = self
            .series_in_range(tenant, &req.series)
            .filter_map(|l| l.get(&req.name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        if req.series.limit > 0 {
            values.truncate(req.series.limit);
        }
        Ok(values)
    }

    async fn metadata(
        &self,
        _tenant: &TenantId,
        _metric: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::MatchOp;

    #[tokio::test]
    async fn select_filters_by_matchers_and_time() {
        let tenant = TenantId::default_tenant();
        let mut q = MemoryQuerier::new();
        let a = Labels::from_pairs([("__name__", "up"), ("job", "a")]).unwrap();
        let b = Labels::from_pairs([("__name__", "up"), ("job", "b")]).unwrap();
        q.add(
            &tenant,
            a.clone(),
            &[Sample::new(0, 1.0), Sample::new(10, 2.0)],
        );
        q.add(&tenant, b, &[Sample::new(20, 3.0)]);
        let req = SelectRequest {
            matchers: vec![Matcher::new(MatchOp::Regex, "job", "a|b").unwrap()],
            start_ms: 5,
            end_ms: 15,
            max_series: 0,
            max_samples: 0,
        };
        let got = q.select(&tenant, &req).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels, a);
        assert_eq!(got[0].samples, vec![Sample::new(10, 2.0)]);
        let other = TenantId::new("other").unwrap();
        assert!(q.select(&other, &req).await.unwrap().is_empty());
    }
}
