//! The Loki endpoints answered from stream labels and counts alone, without reading lines:
//! `labels`, `label/<name>/values`, `series`, `index/stats`, `index/volume`,
//! `index/volume_range` and `detected_labels`, as Loki's querier answers them (Grafana's
//! label browser, its log volume histogram and Logs Drilldown's service and label lists).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request};
use axum::response::Response;
use cairn_model::{
    Labels, LogCounts, LogSeriesRequest, LogStatsRequest, MatchOp, Matcher, QueryError, TenantId,
};

use super::json::{data_response, point};
use super::params::{self, DEFAULT_VOLUME_LIMIT};
use crate::backend::LogsStore;
use crate::http::AppState;
use crate::http::error::{ApiError, Style};
use crate::http::json::{Json, respond};
use crate::http::params::Params;

/// A Loki API request: tenant, store and parameters (query string and form body merged);
/// errors are plain text as Loki writes them.
pub(crate) struct LokiRequest {
    pub(crate) tenant: TenantId,
    pub(crate) store: Arc<dyn LogsStore>,
    pub(crate) params: Params,
}

impl FromRequest<Arc<AppState>> for LokiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let tenant = state.tenant(&parts.headers, Style::Text)?;
        let store = Arc::clone(state.logs_store(Style::Text)?);
        let params = Params::from_request(&parts.method, &parts.uri, &parts.headers, body).await?;
        Ok(LokiRequest {
            tenant,
            store,
            params,
        })
    }
}

/// A parameter error: 400 with the text.
pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_data(message, Style::Text)
}

/// A store failure as Loki answers it.
pub(crate) fn store_error(e: QueryError) -> ApiError {
    ApiError::from_query(e, Style::Text)
}

/// The matchers of a stream selector (a LogQL log query; its pipeline is ignored), as
/// Loki's `syntax.ParseMatchers`.
pub(crate) fn selector(q: &str) -> Result<Vec<Matcher>, ApiError> {
    match cairn_logql::parse(q) {
        Ok(cairn_logql::Expr::Log(l)) => Ok(l.matchers),
        Ok(_) => Err(bad(format!(
            "only log selectors are accepted here, got the metric query {q:?}"
        ))),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// The optional `query` selector: absent or empty selects every stream.
fn optional_selector(p: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    match p.get("query") {
        None => Ok(Vec::new()),
        Some(q) => Ok(vec![selector(q)?]),
    }
}

fn series_request(p: &Params, selectors: Vec<Vec<Matcher>>) -> Result<LogSeriesRequest, ApiError> {
    let (start_ns, end_ns) = params::bounds(p, crate::logs::now_ns()).map_err(bad)?;
    Ok(LogSeriesRequest {
        selectors,
        start_ns,
        // Loki's label and series ranges include their end.
        end_ns: end_ns.saturating_add(1),
    })
}

/// `GET /loki/api/v1/labels`.
pub(crate) async fn labels(req: LokiRequest) -> Result<Response, ApiError> {
    let r = series_request(&req.params, optional_selector(&req.params)?)?;
    let names = req
        .store
        .log_label_names(&req.tenant, &r)
        .await
        .map_err(store_error)?;
    Ok(label_list(&names))
}

/// `GET /loki/api/v1/label/<name>/values`.
pub(crate) async fn label_values(
    Path(name): Path<String>,
    req: LokiRequest,
) -> Result<Response, ApiError> {
    let r = series_request(&req.params, optional_selector(&req.params)?)?;
    let values = req
        .store
        .log_label_values(&req.tenant, &name, &r)
        .await
        .map_err(store_error)?;
    Ok(label_list(&values))
}

/// `{"status":"success","data":[...]}`; Loki leaves `data` out when it is empty.
fn label_list(items: &[String]) -> Response {
    let body = if items.is_empty() {
        r#"{"status":"success"}"#.to_string()
    } else {
        let mut j = Json::new();
        j.strs(items);
        data_response(&j.finish())
    };
    respond(axum::http::StatusCode::OK, body)
}

/// `GET/POST /loki/api/v1/series`: `match[]` (or `match`) selectors; a lone `{}` or none
/// selects every stream.
pub(crate) async fn series(req: LokiRequest) -> Result<Response, ApiError> {
    let mut raw: Vec<&str> = req.params.all("match[]");
    raw.extend(req.params.all("match"));
    raw.sort_unstable();
    raw.dedup();
    if raw.len() == 1 && raw[0].replace(' ', "") == "{}" {
        raw.clear();
    }
    let selectors = raw
        .iter()
        .map(|s| selector(s))
        .collect::<Result<Vec<_>, _>>()?;
    let r = series_request(&req.params, selectors)?;
    let streams = req
        .store
        .log_series(&req.tenant, &r)
        .await
        .map_err(store_error)?;
    let mut j = Json::new();
    j.raw("[");
    for (i, s) in streams.iter().enumerate() {
        j.sep(i).labels(s);
    }
    j.raw("]");
    Ok(respond(
        axum::http::StatusCode::OK,
        data_response(&j.finish()),
    ))
}

/// The parameters `/index/*` read: Loki parses them as a range query.
fn range_counts_request(p: &Params) -> Result<(params::RangeParams, Vec<Matcher>), ApiError> {
    let r = params::range(p, crate::logs::now_ns()).map_err(bad)?;
    let m = if r.query.is_empty() {
        Vec::new()
    } else {
        selector(&r.query)?
    };
    Ok((r, m))
}

/// `GET/POST /loki/api/v1/index/stats`: `{"streams":n,"chunks":n,"entries":n,"bytes":n}`.
pub(crate) async fn stats(req: LokiRequest) -> Result<Response, ApiError> {
    let (r, matchers) = range_counts_request(&req.params)?;
    let counts = req
        .store
        .log_stream_counts(
            &req.tenant,
            &LogStatsRequest {
                matchers,
                start_ns: r.start_ns,
                end_ns: r.end_ns.saturating_add(1),
                step_ns: None,
            },
        )
        .await
        .map_err(store_error)?;
    let mut total = LogCounts::default();
    let mut streams = 0u64;
    for s in &counts {
        let mut c = LogCounts::default();
        for (_, b) in &s.buckets {
            c.add(*b);
        }
        if c.entries > 0 {
            streams += 1;
            total.add(c);
        }
    }
    let mut j = Json::new();
    j.raw("{").key("streams").int(streams as i64);
    j.raw(",").key("chunks").int(total.chunks as i64);
    j.raw(",").key("entries").int(total.entries as i64);
    j.raw(",").key("bytes").int(total.bytes as i64).raw("}");
    Ok(respond(axum::http::StatusCode::OK, j.finish()))
}

/// How volumes are grouped: by the labels the selector (or `targetLabels`) names, or per
/// label name (`aggregateBy=labels`).
struct VolumeGrouping {
    by_labels: bool,
    /// Labels kept in a series key; `None` keeps them all (a `{}` selector).
    keep: Option<HashSet<String>>,
    targets: bool,
}

/// Loki's `PrepareLabelsAndMatchers`: target labels become `=~".+"` matchers when the
/// selector does not name them.
fn volume_grouping(
    mut matchers: Vec<Matcher>,
    targets: Vec<String>,
    by_labels: bool,
) -> Result<(Vec<Matcher>, VolumeGrouping), ApiError> {
    if targets.is_empty() {
        let keep: HashSet<String> = matchers.iter().map(|m| m.name.clone()).collect();
        let keep = (!keep.is_empty()).then_some(keep);
        return Ok((
            matchers,
            VolumeGrouping {
                by_labels,
                keep,
                targets: false,
            },
        ));
    }
    for t in &targets {
        if !matchers.iter().any(|m| &m.name == t) {
            matchers.push(Matcher::new(MatchOp::Regex, t, ".+").map_err(|e| bad(e.to_string()))?);
        }
    }
    Ok((
        matchers,
        VolumeGrouping {
            by_labels,
            keep: Some(targets.into_iter().collect()),
            targets: true,
        },
    ))
}

/// One volume group: its label set (series mode) and bytes per bucket end (ms).
#[derive(Default)]
struct Group {
    labels: Option<Labels>,
    buckets: BTreeMap<i64, u64>,
}

/// Volumes per group, keyed by the group's name (a label name, or the label set as text),
/// Loki's `GetVolume` over buckets.
fn group_volumes(
    counts: &[cairn_model::StreamCounts],
    g: &VolumeGrouping,
    bucket_end: impl Fn(i64) -> i64,
) -> HashMap<String, Group> {
    let mut out: HashMap<String, Group> = HashMap::new();
    for s in counts {
        let key_labels = (!g.by_labels).then(|| {
            s.labels
                .without(|n| g.keep.as_ref().is_some_and(|k| !k.contains(n)))
        });
        for (start, c) in &s.buckets {
            let t = bucket_end(*start);
            match &key_labels {
                None => {
                    for l in s.labels.iter() {
                        if !g.targets || g.keep.as_ref().is_some_and(|k| k.contains(l.name)) {
                            let e = out.entry(l.name.to_string()).or_default();
                            *e.buckets.entry(t).or_default() += c.bytes;
                        }
                    }
                }
                Some(k) => {
                    let e = out.entry(k.to_string()).or_insert_with(|| Group {
                        labels: Some(k.clone()),
                        buckets: BTreeMap::new(),
                    });
                    *e.buckets.entry(t).or_default() += c.bytes;
                }
            }
        }
    }
    out
}

/// Loki's volume answer: the top `limit` groups by bytes in each bucket, a vector when every
/// group has one sample, else a matrix; groups sorted by their first value, descending.
fn volume_response(volumes: HashMap<String, Group>, limit: usize) -> String {
    // The limit applies per bucket, as Loki's per-bucket requests apply it.
    let mut per_bucket: BTreeMap<i64, Vec<(&str, u64)>> = BTreeMap::new();
    for (name, group) in &volumes {
        for (t, v) in &group.buckets {
            per_bucket.entry(*t).or_default().push((name, *v));
        }
    }
    let mut kept: BTreeMap<&str, Vec<(i64, u64)>> = BTreeMap::new();
    for (t, mut groups) in per_bucket {
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (name, v) in groups.into_iter().take(limit) {
            kept.entry(name).or_default().push((t, v));
        }
    }
    let matrix = kept.values().any(|s| s.len() > 1);
    let mut series: Vec<(&str, Vec<(i64, u64)>)> = kept.into_iter().collect();
    series.sort_by(|a, b| b.1[0].1.cmp(&a.1[0].1).then(a.0.cmp(b.0)));
    let mut j = Json::new();
    j.raw("{")
        .key("resultType")
        .str(if matrix { "matrix" } else { "vector" });
    j.raw(",").key("result").raw("[");
    for (i, (name, samples)) in series.iter().enumerate() {
        j.sep(i).raw("{").key("metric");
        match volumes.get(*name).and_then(|g| g.labels.as_ref()) {
            Some(l) => {
                j.labels(l);
            }
            None => {
                j.raw("{").key(name).str("").raw("}");
            }
        }
        if matrix {
            j.raw(",").key("values").raw("[");
            for (k, (t, v)) in samples.iter().enumerate() {
                j.sep(k);
                point(&mut j, *t, *v as f64);
            }
            j.raw("]");
        } else {
            j.raw(",").key("value");
            point(&mut j, samples[0].0, samples[0].1 as f64);
        }
        j.raw("}");
    }
    j.raw("]}");
    data_response(&j.finish())
}

async fn volume_inner(req: LokiRequest, range: bool) -> Result<Response, ApiError> {
    let p = &req.params;
    let limit = params::volume_limit(p).map_err(bad)? as usize;
    let by_labels = params::volume_aggregate_by(p).map_err(bad)?;
    let targets = params::target_labels(p);
    let (r, matchers) = if range {
        range_counts_request(p)?
    } else {
        let (start_ns, end_ns) = params::bounds(p, crate::logs::now_ns()).map_err(bad)?;
        if end_ns < start_ns {
            return Err(bad(
                "end timestamp must not be before or equal to start time",
            ));
        }
        let query = p.get("query").unwrap_or("").to_string();
        let m = if query.is_empty() {
            Vec::new()
        } else {
            selector(&query)?
        };
        (
            params::RangeParams {
                query,
                start_ns,
                end_ns,
                step_ns: 0,
                interval_ns: 0,
                limit: DEFAULT_VOLUME_LIMIT,
                direction: cairn_model::Direction::Backward,
            },
            m,
        )
    };
    let (matchers, grouping) = volume_grouping(matchers, targets, by_labels)?;
    // Buckets are aligned to multiples of the step, the first one starting at `start`; each
    // sample is stamped with its bucket's end, as Loki's volume middleware stamps them.
    let step = r.step_ns;
    let aligned = if step > 0 {
        r.start_ns - r.start_ns.rem_euclid(step)
    } else {
        r.start_ns
    };
    let counts = req
        .store
        .log_stream_counts(
            &req.tenant,
            &LogStatsRequest {
                matchers,
                start_ns: aligned,
                end_ns: r.end_ns.saturating_add(1),
                step_ns: (step > 0).then_some(step),
            },
        )
        .await
        .map_err(store_error)?;
    let end_ms = r.end_ns.div_euclid(1_000_000);
    let bucket_end = |start: i64| -> i64 {
        if step <= 0 {
            return end_ms;
        }
        let next = start.saturating_add(step);
        if next >= r.end_ns {
            end_ms
        } else {
            // Loki ends a bucket one millisecond before the next one starts.
            next.div_euclid(1_000_000) - 1
        }
    };
    let volumes = group_volumes(&counts, &grouping, bucket_end);
    Ok(respond(
        axum::http::StatusCode::OK,
        volume_response(volumes, limit),
    ))
}

/// `GET/POST /loki/api/v1/index/volume`.
pub(crate) async fn volume(req: LokiRequest) -> Result<Response, ApiError> {
    volume_inner(req, false).await
}

/// `GET/POST /loki/api/v1/index/volume_range`.
pub(crate) async fn volume_range(req: LokiRequest) -> Result<Response, ApiError> {
    volume_inner(req, true).await
}

/// Loki's test for labels not worth offering: no values, or only numbers and UUIDs (ids),
/// unless a boolean-like pair of `0`/`1`.
fn reject_label(values: &[String]) -> bool {
    if values.is_empty() {
        return true;
    }
    let is_id = |v: &String| v.parse::<f64>().is_ok() || is_uuid(v);
    if values.len() <= 2 && values.iter().all(|v| v == "0" || v == "1") {
        return false;
    }
    values.iter().all(is_id)
}

fn is_uuid(s: &str) -> bool {
    let s = s
        .strip_prefix("urn:uuid:")
        .unwrap_or(s)
        .trim_start_matches('{')
        .trim_end_matches('}');
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let dashes_ok = s.len() == 32
        || (s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-'));
    hex.len() == 32 && dashes_ok && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// `GET /loki/api/v1/detected_labels`: `{"detectedLabels":[{"label","cardinality"}]}` for
/// the stream labels of the range, ids left out (Loki keeps `cluster`, `namespace`,
/// `instance` and `pod` whatever their values).
pub(crate) async fn detected_labels(req: LokiRequest) -> Result<Response, ApiError> {
    let r = series_request(&req.params, optional_selector(&req.params)?)?;
    let streams = req
        .store
        .log_series(&req.tenant, &r)
        .await
        .map_err(store_error)?;
    let mut values: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for s in &streams {
        for l in s.iter() {
            values
                .entry(l.name.to_string())
                .or_default()
                .insert(l.value.to_string());
        }
    }
    const STATIC: [&str; 4] = ["cluster", "namespace", "instance", "pod"];
    let mut j = Json::new();
    j.raw("{").key("detectedLabels").raw("[");
    let mut i = 0;
    for (name, vals) in &values {
        let list: Vec<String> = vals.iter().cloned().collect();
        if !STATIC.contains(&name.as_str()) && reject_label(&list) {
            continue;
        }
        j.sep(i).raw("{").key("label").str(name);
        j.raw(",")
            .key("cardinality")
            .int(vals.len() as i64)
            .raw("}");
        i += 1;
    }
    j.raw("]}");
    Ok(respond(axum::http::StatusCode::OK, j.finish()))
}

#[cfg(test)]
mod tests {
    use cairn_model::StreamCounts;

    use super::*;

    fn counts(labels: &[(&str, &str)], buckets: &[(i64, u64)]) -> StreamCounts {
        StreamCounts {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            buckets: buckets
                .iter()
                .map(|&(t, b)| {
                    (
                        t,
                        LogCounts {
                            entries: 1,
                            bytes: b,
                            chunks: 1,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn volumes_group_by_the_selector_labels() {
        let c = vec![
            counts(&[("app", "a"), ("pod", "p1")], &[(0, 10)]),
            counts(&[("app", "a"), ("pod", "p2")], &[(0, 5)]),
            counts(&[("app", "b"), ("pod", "p3")], &[(0, 20)]),
        ];
        let m = vec![Matcher::new(MatchOp::Regex, "app", ".+").unwrap()];
        let (_, g) = volume_grouping(m, vec![], false).unwrap();
        let v = group_volumes(&c, &g, |_| 4000);
        assert_eq!(
            volume_response(v, 100),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"b"},"value":[4,"20"]},{"metric":{"app":"a"},"value":[4,"15"]}]}}"#
        );
        let (_, g) = volume_grouping(vec![], vec![], true).unwrap();
        let v = group_volumes(&c, &g, |_| 4000);
        assert_eq!(
            volume_response(v, 1),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":""},"value":[4,"35"]}]}}"#
        );
    }

    #[test]
    fn target_labels_add_matchers_and_ranges_become_matrices() {
        let (m, g) = volume_grouping(vec![], vec!["pod".into()], false).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].to_string(), r#"pod=~".+""#);
        let c = vec![counts(&[("app", "a"), ("pod", "p1")], &[(0, 1), (60, 2)])];
        let v = group_volumes(&c, &g, |s| s * 1000);
        assert_eq!(
            volume_response(v, 100),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"p1"},"values":[[0,"1"],[60,"2"]]}]}}"#
        );
    }

    #[test]
    fn id_labels_are_not_offered() {
        assert!(reject_label(&["1".into(), "2".into(), "3".into()]));
        assert!(reject_label(&[
            "123e4567-e89b-12d3-a456-426614174000".into(),
            "42".into()
        ]));
        assert!(!reject_label(&["0".into(), "1".into()]));
        assert!(!reject_label(&["api".into(), "7".into()]));
        assert!(reject_label(&[]));
    }
}
