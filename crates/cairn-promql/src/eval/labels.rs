//! `label_replace` and `label_join`.

use cairn_model::METRIC_NAME;
use promql_parser::parser::Call;
use regex::Regex;

use super::{Evaluator, Grid, Val, merge_same_labels};
use crate::error::{Error, Result};

fn valid_label_name(name: &str) -> bool {
    !name.is_empty() && std::str::from_utf8(name.as_bytes()).is_ok()
}

impl Evaluator<'_> {
    fn string_args(&mut self, c: &Call, from: usize, g: &Grid) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in c.args.args.iter().skip(from) {
            out.push(self.eval_string(e, g)?);
        }
        Ok(out)
    }

    pub(crate) fn label_replace(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let first = c
            .args
            .args
            .first()
            .ok_or_else(|| Error::exec("label_replace needs 5 arguments"))?;
        let strings = self.string_args(c, 1, g)?;
        let [dst, repl, src, pattern] = strings.as_slice() else {
            return Err(Error::exec("label_replace needs 5 arguments"));
        };
        let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
            Error::exec(format!(
                "invalid regular expression in label_replace(): {pattern}: {e}"
            ))
        })?;
        if !valid_label_name(dst) {
            return Err(Error::exec(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        let mut v = self.eval_vector(first, g)?;
        for s in &mut v {
            let value = s.labels.get(src).unwrap_or("");
            if let Some(caps) = re.captures(value) {
                let mut res = String::new();
                caps.expand(repl, &mut res);
                let mut b = s.labels.to_builder();
                b.set(dst, &res);
                s.labels = b.build();
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
        }
        Ok(Val::Vector(merge_same_labels(v)?))
    }

    pub(crate) fn label_join(&mut self, c: &Call, g: &Grid) -> Result<Val> {
        let first = c
            .args
            .args
            .first()
            .ok_or_else(|| Error::exec("label_join needs at least 3 arguments"))?;
        let strings = self.string_args(c, 1, g)?;
        let [dst, sep, srcs @ ..] = strings.as_slice() else {
            return Err(Error::exec("label_join needs at least 3 arguments"));
        };
        if !valid_label_name(dst) {
            return Err(Error::exec(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        let mut v = self.eval_vector(first, g)?;
        for s in &mut v {
            let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
            let joined = joined.join(sep);
            let mut b = s.labels.to_builder();
            b.set(dst, &joined);
            s.labels = b.build();
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
        Ok(Val::Vector(merge_same_labels(v)?))
    }
}
