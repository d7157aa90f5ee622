//! `info(v, [selector])`: enriches series with the data labels of info metrics
//! (`target_info` by default) that share their identifying labels `instance` and `job`.

use std::collections::HashMap;

use cairn_model::{Labels, METRIC_NAME, is_stale_nan};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Call, Expr};

use super::{Evaluator, Grid, VSeries, Val};
use crate::error::{Error, Result};

const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The fetch key of a call's info series: the call node's address.
pub(crate) fn info_key(c: &Call) -> usize {
    c as *const Call as usize
}

/// The `__name__` matchers choosing the info metrics (default `target_info`) and the other
/// matchers, which filter info series and choose their data labels.
pub(crate) fn info_matchers(c: &Call) -> (Vec<Matcher>, Vec<Matcher>) {
    let (mut names, mut data) = (Vec::new(), Vec::new());
    if let Some(Expr::VectorSelector(vs)) = c.args.args.get(1).map(|b| b.as_ref()) {
        if let Some(n) = &vs.name {
            names.push(Matcher::new(MatchOp::Equal, METRIC_NAME, n));
        }
        for m in &vs.matchers.matchers {
            if m.name == METRIC_NAME {
                names.push(m.clone());
            } else {
                data.push(m.clone());
            }
        }
    }
    let positive = |m: &Matcher| matches!(m.op, MatchOp::Equal | MatchOp::Re(_));
    if names.is_empty() {
        names.push(Matcher::new(MatchOp::Equal, METRIC_NAME, "target_info"));
    } else if !names.iter().any(positive) {
        // Negative matchers alone narrow the info metrics, which end in `_info`.
        if let Ok(m) = Matcher::new_matcher(
            promql_parser::parser::token::T_EQL_REGEX,
            METRIC_NAME.to_string(),
            ".+_info".to_string(),
        ) {
            names.push(m);
        }
    }
    (names, data)
}

/// The times the base series' samples are read at, per step: info series are matched as of
/// those, so `@` and `offset` on the base (or on a subquery around it) move the lookup too.
pub(crate) fn reference_times(
    e: &Expr,
    times: Vec<i64>,
    query_start: i64,
    query_end: i64,
) -> Vec<i64> {
    let shift = |times: Vec<i64>, at: &Option<promql_parser::parser::AtModifier>, off: i64| match at
    {
        Some(at) => vec![super::at_ms(at, query_start, query_end) - off; times.len()],
        None => times.into_iter().map(|t| t - off).collect(),
    };
    match e {
        Expr::VectorSelector(vs) => shift(times, &vs.at, super::offset_ms(&vs.offset)),
        Expr::MatrixSelector(ms) => shift(times, &ms.vs.at, super::offset_ms(&ms.vs.offset)),
        Expr::Subquery(sq) => {
            let t = shift(times, &sq.at, super::offset_ms(&sq.offset));
            reference_times(&sq.expr, t, query_start, query_end)
        }
        Expr::Paren(p) => reference_times(&p.expr, times, query_start, query_end),
        Expr::Unary(u) => reference_times(&u.expr, times, query_start, query_end),
        Expr::Aggregate(a) => reference_times(&a.expr, times, query_start, query_end),
        Expr::Call(c) => match c.args.args.iter().find(|a| {
            matches!(
                a.value_type(),
                promql_parser::parser::value::ValueType::Vector
                    | promql_parser::parser::value::ValueType::Matrix
            )
        }) {
            Some(a) => reference_times(a, times, query_start, query_end),
            None => times,
        },
        _ => times,
    }
}

impl Evaluator<'_> {
    pub(crate) fn info(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let base_expr = c
            .args
            .args
            .first()
            .ok_or_else(|| Error::exec("info needs at least 1 argument"))?;
        let base = self.eval_vector(base_expr, g)?;
        let refs = reference_times(
            base_expr,
            (0..g.len()).map(|i| g.time(i)).collect(),
            self.query_start,
            self.query_end,
        );
        let (names, data_matchers) = info_matchers(c);
        let empty_ok = data_matchers.iter().all(|m| m.is_match(""));
        // Info series passing the data matchers, with the time of their newest live sample
        // per step.
        let infos: Vec<(&Labels, Vec<Option<i64>>)> = self
            .data
            .get(&info_key(c))
            .map(|d| d.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|s| {
                data_matchers
                    .iter()
                    .all(|m| m.is_match(s.labels.get(&m.name).unwrap_or("")))
            })
            .map(|s| {
                let times = refs
                    .iter()
                    .map(|&t| {
                        let hi = s.samples.partition_point(|x| x.t <= t);
                        let x = s.samples.get(hi.checked_sub(1)?)?;
                        (x.t > t - self.lookback && !is_stale_nan(x.v)).then_some(x.t)
                    })
                    .collect();
                (&s.labels, times)
            })
            .collect();

        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<VSeries> = Vec::new();
        for b in &base {
            // Info series pass through unenriched; a negative matcher alone does not make one.
            let is_info = names
                .iter()
                .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Re(_)))
                && b.labels
                    .metric_name()
                    .is_some_and(|n| names.iter().all(|m| m.is_match(n)));
            for (i, v) in b.vals.iter().enumerate() {
                let Some(v) = *v else { continue };
                let labels = if is_info {
                    b.labels.clone()
                } else {
                    match self.enrich(&b.labels, &infos, i, &data_matchers)? {
                        Some(l) => l,
                        None if empty_ok => b.labels.clone(),
                        None => continue,
                    }
                };
                let idx = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(VSeries {
                        labels,
                        drop_name: b.drop_name,
                        vals: vec![None; g.len()],
                    });
                    out.len() - 1
                });
                if out[idx].vals[i].is_some() {
                    return Err(Error::exec(
                        "vector cannot contain metrics with the same labelset",
                    ));
                }
                out[idx].vals[i] = Some(v);
            }
        }
        Ok(Val::Vector(out))
    }

    /// The base labels plus the data labels of the matching info series at step `i` (per info
    /// metric, the one with the newest sample); None when no info series matches.
    fn enrich(
        &self,
        base: &Labels,
        infos: &[(&Labels, Vec<Option<i64>>)],
        i: usize,
        data_matchers: &[Matcher],
    ) -> Result<Option<Labels>> {
        let mut newest: HashMap<&str, (&Labels, i64)> = HashMap::new();
        for (l, times) in infos {
            let Some(t) = times[i] else { continue };
            if IDENTIFYING.iter().any(|n| l.get(n) != base.get(n)) {
                continue;
            }
            let name = l.metric_name().unwrap_or("");
            let e = newest.entry(name).or_insert((l, t));
            if t > e.1 {
                *e = (l, t);
            }
        }
        if newest.is_empty() {
            return Ok(None);
        }
        let mut b = base.to_builder();
        let mut added: HashMap<&str, &str> = HashMap::new();
        let mut names: Vec<&&str> = newest.keys().collect();
        names.sort();
        for name in names {
            let (l, _) = newest[*name];
            for x in l.iter() {
                let wanted =
                    data_matchers.is_empty() || data_matchers.iter().any(|m| m.name == x.name);
                if x.name == METRIC_NAME
                    || IDENTIFYING.contains(&x.name)
                    || !wanted
                    || base.get(x.name).is_some()
                {
                    continue;
                }
                if let Some(prev) = added.get(x.name).filter(|v| **v != x.value) {
                    return Err(Error::exec(format!(
                        "conflicting label {:?}: info metrics give {prev:?} and {:?}",
                        x.name, x.value
                    )));
                }
                added.insert(x.name, x.value);
                b.set(x.name, x.value);
            }
        }
        Ok(Some(b.build()))
    }
}
