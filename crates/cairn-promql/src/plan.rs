//! The plan: one walk over the parsed tree finds every selector and the full time span it
//! is read over (ranges, offsets, `@`, subqueries, lookback), so each is fetched once.

use std::collections::HashMap;

use cairn_model::{METRIC_NAME, MatchOp, Matcher};
use promql_parser::label::{MatchOp as ParsedOp, Matcher as ParsedMatcher};
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::error::{Error, Result};
use crate::eval::{
    Grid, align_up, at_ms, info_key, info_matchers, node_key, offset_ms, reference_times,
};

/// What to fetch for one selector node.
#[derive(Debug)]
pub(crate) struct Fetch {
    /// Alternatives: a series qualifies when it matches every matcher of one of them.
    pub(crate) matchers: Vec<Vec<Matcher>>,
    /// First millisecond needed, inclusive.
    pub(crate) start_ms: i64,
    /// Last millisecond needed, inclusive.
    pub(crate) end_ms: i64,
}

pub(crate) struct Planner {
    pub(crate) query_start: i64,
    pub(crate) query_end: i64,
    pub(crate) lookback: i64,
    pub(crate) subquery_step: i64,
    pub(crate) fetches: HashMap<usize, Fetch>,
}

fn convert(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>> {
    let groups: Vec<&Vec<ParsedMatcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![&vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers.iter().collect()
    };
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut ms = Vec::with_capacity(group.len() + 1);
        if let Some(name) = &vs.name {
            ms.push(Matcher::equal(METRIC_NAME, name));
        }
        ms.extend(convert_matchers(group)?);
        out.push(ms);
    }
    Ok(out)
}

pub(crate) fn convert_matchers(group: &[ParsedMatcher]) -> Result<Vec<Matcher>> {
    let mut ms = Vec::with_capacity(group.len());
    for m in group {
        // The parser already rewrote Go-only regex syntax (a literal `{`) for Rust's engine;
        // reuse its pattern rather than the text as written.
        let parsed = |r: &regex::Regex| {
            r.as_str()
                .strip_prefix("^(?:")
                .and_then(|p| p.strip_suffix(")$"))
                .map(str::to_string)
        };
        let (op, value) = match &m.op {
            ParsedOp::Equal => (MatchOp::Equal, None),
            ParsedOp::NotEqual => (MatchOp::NotEqual, None),
            ParsedOp::Re(r) => (MatchOp::Regex, parsed(r)),
            ParsedOp::NotRe(r) => (MatchOp::NotRegex, parsed(r)),
        };
        let value = value.unwrap_or_else(|| m.value.clone());
        ms.push(Matcher::new(op, &m.name, &value).map_err(|e| Error::Parse {
            position: None,
            message: e.to_string(),
        })?);
    }
    Ok(ms)
}

impl Planner {
    /// The first and last evaluation time of a selector or subquery on grid `g`.
    fn span(
        &self,
        g: &Grid,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> Option<(i64, i64)> {
        if g.len() == 0 {
            return None;
        }
        let off = offset_ms(offset);
        Some(match at {
            Some(at) => {
                let t = at_ms(at, self.query_start, self.query_end) - off;
                (t, t)
            }
            None => (g.start - off, g.time(g.len() - 1) - off),
        })
    }

    fn add(&mut self, vs: &VectorSelector, start: i64, end: i64) -> Result<()> {
        let matchers = convert(vs)?;
        let f = self.fetches.entry(node_key(vs)).or_insert(Fetch {
            matchers,
            start_ms: start,
            end_ms: end,
        });
        f.start_ms = f.start_ms.min(start);
        f.end_ms = f.end_ms.max(end);
        Ok(())
    }

    pub(crate) fn walk(&mut self, e: &Expr, g: &Grid) -> Result<()> {
        match e {
            Expr::VectorSelector(vs) => {
                if let Some((lo, hi)) = self.span(g, &vs.at, &vs.offset) {
                    self.add(vs, lo - self.lookback + 1, hi)?;
                }
            }
            Expr::MatrixSelector(ms) => {
                if let Some((lo, hi)) = self.span(g, &ms.vs.at, &ms.vs.offset) {
                    self.add(&ms.vs, lo - ms.range.as_millis() as i64 + 1, hi)?;
                }
            }
            Expr::Subquery(sq) => {
                if let Some((lo, hi)) = self.span(g, &sq.at, &sq.offset) {
                    let step = sq
                        .step
                        .map(|d| d.as_millis() as i64)
                        .filter(|&s| s > 0)
                        .unwrap_or(self.subquery_step);
                    let inner = Grid {
                        start: align_up(lo - sq.range.as_millis() as i64, step),
                        end: hi,
                        step,
                    };
                    self.walk(&sq.expr, &inner)?;
                }
            }
            Expr::Paren(p) => self.walk(&p.expr, g)?,
            Expr::Unary(u) => self.walk(&u.expr, g)?,
            Expr::Binary(b) => {
                self.walk(&b.lhs, g)?;
                self.walk(&b.rhs, g)?;
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.walk(p, g)?;
                }
                self.walk(&a.expr, g)?;
            }
            Expr::Call(c) if c.func.name == "info" => {
                // The second argument is not a selector of its own: it picks info series.
                if let Some(base) = c.args.args.first() {
                    self.walk(base, g)?;
                }
                if let Some(base) = c.args.args.first() {
                    let times = (0..g.len()).map(|i| g.time(i)).collect();
                    let refs = reference_times(base, times, self.query_start, self.query_end);
                    if let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) {
                        let (names, _) = info_matchers(c);
                        let matchers = convert_matchers(&names)?;
                        let f = self.fetches.entry(info_key(c)).or_insert(Fetch {
                            matchers: vec![matchers],
                            start_ms: lo - self.lookback + 1,
                            end_ms: hi,
                        });
                        f.start_ms = f.start_ms.min(lo - self.lookback + 1);
                        f.end_ms = f.end_ms.max(hi);
                    }
                }
            }
            Expr::Call(c) => {
                for a in &c.args.args {
                    self.walk(a, g)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
        Ok(())
    }
}

/// The series selectors of an expression, as Prometheus' `parser.ExtractSelectors`: the
/// matchers of every vector selector (those inside range selectors too), in walk order; a
/// selector with `or` alternatives gives one entry per alternative.
pub fn extract_selectors(expr: &Expr) -> Result<Vec<Vec<Matcher>>> {
    struct Collect(Vec<Vec<Matcher>>, Option<Error>);
    impl promql_parser::util::ExprVisitor for Collect {
        type Error = std::convert::Infallible;

        fn pre_visit(&mut self, e: &Expr) -> std::result::Result<bool, Self::Error> {
            let vs = match e {
                Expr::VectorSelector(vs) => vs,
                Expr::MatrixSelector(ms) => &ms.vs,
                _ => return Ok(true),
            };
            match convert(vs) {
                Ok(groups) => self.0.extend(groups),
                Err(err) => {
                    self.1.get_or_insert(err);
                }
            }
            Ok(true)
        }
    }
    let mut c = Collect(Vec::new(), None);
    let _ = promql_parser::util::walk_expr(&mut c, expr);
    match c.1 {
        Some(e) => Err(e),
        None => Ok(c.0),
    }
}

#[cfg(test)]
mod selector_tests {
    use super::*;

    fn names(q: &str) -> Vec<String> {
        let e = crate::parse(q).unwrap();
        extract_selectors(&e)
            .unwrap()
            .iter()
            .map(|g| {
                g.iter()
                    .map(|m| format!("{}{}{:?}", m.name, m.op.as_str(), m.value))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    /// The cases of Prometheus' `TestExtractSelectors` (`promql/parser/parse_test.go`; matcher
    /// order aside), and a few more: one entry per vector selector, ranges included.
    #[test]
    fn every_vector_selector_is_extracted() {
        assert_eq!(names("foo"), vec!["__name__=\"foo\""]);
        assert_eq!(
            names(r#"foo{bar="baz"}"#),
            vec!["__name__=\"foo\",bar=\"baz\""]
        );
        assert_eq!(
            names(r#"foo{bar="baz"} / flip{flop="flap"}"#),
            vec![
                "__name__=\"foo\",bar=\"baz\"",
                "__name__=\"flip\",flop=\"flap\""
            ]
        );
        assert_eq!(names(r#"rate(foo[5m])"#), vec!["__name__=\"foo\""]);
        assert_eq!(
            names(r#"vector_selector_with_default_value_matcher_set{label=~".*"} offset 5m"#),
            vec!["__name__=\"vector_selector_with_default_value_matcher_set\",label=~\".*\""]
        );
        assert_eq!(
            names(r#"sum by (job) (rate(x{a!="b"}[5m:1m])) > on(job) max(y)"#),
            vec!["__name__=\"x\",a!=\"b\"", "__name__=\"y\""]
        );
        assert!(names("vector(1)").is_empty());
        assert!(names("1 + 2").is_empty());
        assert!(names(r#"time()"#).is_empty());
    }
}
