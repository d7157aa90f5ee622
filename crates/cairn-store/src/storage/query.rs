//! Queries over head and blocks as one store.
//!
//! The head is read before the blocks: a cut adds a block to the catalog before it drops the
//! samples from the head, so a sample being moved is seen at least once; the merge removes
//! the duplicate timestamps.

use std::collections::BTreeSet;

use async_trait::async_trait;
use cairn_model::{
    LabelValuesRequest, Labels, Matcher, MetricMetadata, Querier, QueryError, QueryErrorKind,
    SelectRequest, Series, SeriesRequest, TenantId,
};

use super::Storage;
use crate::blocks::merge_samples;
use crate::error::{Error, StorageErrorKind};
use crate::exemplars::ExemplarSeries;
use crate::head::TenantHead;
use crate::label_order::cmp_labels;

impl Storage {
    /// The exemplars of `tenant` in `[start_ms, end_ms]` of the series matching any of
    /// `selectors` (each a list of matchers that must all match), sorted by series labels.
    pub fn exemplars(
        &self,
        tenant: &TenantId,
        selectors: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Vec<ExemplarSeries> {
        self.exemplars.select(tenant, start_ms, end_ms, selectors)
    }
}

/// The query error kind of a storage error.
pub(crate) fn to_query_error(e: Error) -> QueryError {
    let kind = match &e {
        Error::LimitExceeded(_) => QueryErrorKind::LimitExceeded,
        Error::Shutdown => QueryErrorKind::Unavailable,
        Error::ObjectStore {
            kind: StorageErrorKind::Transient,
            ..
        } => QueryErrorKind::Unavailable,
        _ => QueryErrorKind::Internal,
    };
    QueryError::new(kind, e.to_string())
}

/// Merges two series lists sorted by labels.
pub(crate) fn merge_series(head: Vec<Series>, blocks: Vec<Series>) -> Vec<Series> {
    if blocks.is_empty() {
        return head;
    }
    if head.is_empty() {
        return blocks;
    }
    let mut out = Vec::with_capacity(head.len().max(blocks.len()));
    let mut a = head.into_iter().peekable();
    let mut b = blocks.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(x), Some(y)) => match cmp_labels(&x.labels, &y.labels) {
                std::cmp::Ordering::Less => Some(true),
                std::cmp::Ordering::Greater => Some(false),
                std::cmp::Ordering::Equal => None,
            },
        };
        match take_a {
            Some(true) => out.extend(a.next()),
            Some(false) => out.extend(b.next()),
            None => {
                if let (Some(x), Some(y)) = (a.next(), b.next()) {
                    out.push(Series {
                        labels: x.labels,
                        // Blocks first: the head's copy of a timestamp is the same sample.
                        samples: merge_samples(y.samples, x.samples),
                    });
                }
            }
        }
    }
    out
}

fn check_limits(series: &[Series], req: &SelectRequest) -> Result<(), QueryError> {
    if req.max_series > 0 && series.len() > req.max_series {
        return Err(QueryError::new(
            QueryErrorKind::LimitExceeded,
            format!(
                "query selects {} series, the limit is {}",
                series.len(),
                req.max_series
            ),
        ));
    }
    if req.max_samples > 0 {
        let n: usize = series.iter().map(|s| s.samples.len()).sum();
        if n > req.max_samples {
            return Err(QueryError::new(
                QueryErrorKind::LimitExceeded,
                format!(
                    "query touches {n} samples, the limit is {}",
                    req.max_samples
                ),
            ));
        }
    }
    Ok(())
}

impl Storage {
    /// Runs `f` on the tenant's head off the reactor (a head scan and chunk decoding can
    /// take milliseconds); an absent head gives the default.
    async fn on_head<T: Default + Send + 'static>(
        &self,
        tenant: &TenantId,
        f: impl FnOnce(&TenantHead) -> T + Send + 'static,
    ) -> Result<T, QueryError> {
        let Some(th) = self.head.get(tenant) else {
            return Ok(T::default());
        };
        tokio::task::spawn_blocking(move || f(&th))
            .await
            .map_err(|e| {
                QueryError::new(QueryErrorKind::Internal, format!("head read failed: {e}"))
            })
    }

    async fn head_labels(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        let selectors = req.selectors.clone();
        let (mint, maxt) = (req.start_ms, req.end_ms);
        self.on_head(tenant, move |th| th.series_labels(&selectors, mint, maxt))
            .await
    }
}

#[async_trait]
impl Querier for Storage {
    async fn select(
        &self,
        tenant: &TenantId,
        req: &SelectRequest,
    ) -> Result<Vec<Series>, QueryError> {
        let matchers = req.matchers.clone();
        let (mint, maxt) = (req.start_ms, req.end_ms);
        let head = self
            .on_head(tenant, move |th| th.select(&matchers, mint, maxt))
            .await?;
        check_limits(&head, req)?;
        let blocks = match self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            Some(tb) => tb.select(req).await.map_err(to_query_error)?,
            None => Vec::new(),
        };
        let merged = merge_series(head, blocks);
        check_limits(&merged, req)?;
        Ok(merged)
    }

    async fn series(
        &self,
        tenant: &TenantId,
        req: &SeriesRequest,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut all: BTreeSet<Labels> = self.head_labels(tenant, req).await?.into_iter().collect();
        if let Some(tb) = self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            all.extend(tb.series(req).await.map_err(to_query_error)?);
        }
        let mut out: Vec<Labels> = all.into_iter().collect();
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
        let mut names: BTreeSet<String> = BTreeSet::new();
        for l in self.head_labels(tenant, req).await? {
            for lr in l.iter() {
                if !names.contains(lr.name) {
                    names.insert(lr.name.to_string());
                }
            }
        }
        if let Some(tb) = self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            names.extend(tb.label_names(req).await.map_err(to_query_error)?);
        }
        let mut out: Vec<String> = names.into_iter().collect();
        if req.limit > 0 {
            out.truncate(req.limit);
        }
        Ok(out)
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        req: &LabelValuesRequest,
    ) -> Result<Vec<String>, QueryError> {
        let mut values: BTreeSet<String> = BTreeSet::new();
        for l in self.head_labels(tenant, &req.series).await? {
            if let Some(v) = l.get(&req.name)
                && !values.contains(v)
            {
                values.insert(v.to_string());
            }
        }
        if let Some(tb) = self
            .known_tenant_blocks(tenant)
            .await
            .map_err(to_query_error)?
        {
            values.extend(tb.label_values(req).await.map_err(to_query_error)?);
        }
        let mut out: Vec<String> = values.into_iter().collect();
        if req.series.limit > 0 {
            out.truncate(req.series.limit);
        }
        Ok(out)
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<(String, MetricMetadata)>, QueryError> {
        Ok(self
            .head
            .get(tenant)
            .map(|th| th.metadata(metric))
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use cairn_model::Sample;

    use super::*;

    fn s(labels: &[(&str, &str)], ts: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            samples: ts.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
        }
    }

    #[test]
    fn merge_dedupes_timestamps_and_keeps_label_order() {
        let head = vec![
            s(&[("a", "1")], &[(2, 2.0), (3, 3.0)]),
            s(&[("a", "3")], &[(1, 1.0)]),
        ];
        let blocks = vec![
            s(&[("a", "1")], &[(1, 1.0), (2, 2.0)]),
            s(&[("a", "2")], &[(5, 5.0)]),
        ];
        let got = merge_series(head, blocks);
        assert_eq!(
            got,
            vec![
                s(&[("a", "1")], &[(1, 1.0), (2, 2.0), (3, 3.0)]),
                s(&[("a", "2")], &[(5, 5.0)]),
                s(&[("a", "3")], &[(1, 1.0)]),
            ]
        );
    }
}
