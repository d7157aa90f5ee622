//! Binary operators: arithmetic, comparisons (with `bool`), set operators, and vector matching
//! with `on`/`ignoring` and `group_left`/`group_right`.

use std::collections::{HashMap, HashSet};

use cairn_model::{Labels, METRIC_NAME};
use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::{Evaluator, Grid, VSeries, Val, merge_same_labels};
use crate::error::{Error, Result};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn of(t: TokenType) -> Result<Op> {
        Ok(match t.id() {
            token::T_ADD => Op::Add,
            token::T_SUB => Op::Sub,
            token::T_MUL => Op::Mul,
            token::T_DIV => Op::Div,
            token::T_MOD => Op::Mod,
            token::T_POW => Op::Pow,
            token::T_ATAN2 => Op::Atan2,
            token::T_EQLC => Op::Eq,
            token::T_NEQ => Op::Ne,
            token::T_GTR => Op::Gt,
            token::T_LSS => Op::Lt,
            token::T_GTE => Op::Ge,
            token::T_LTE => Op::Le,
            token::T_LAND => Op::And,
            token::T_LOR => Op::Or,
            token::T_LUNLESS => Op::Unless,
            _ => return Err(Error::exec(format!("unsupported binary operator {t:?}"))),
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    /// The value, and whether a comparison holds (always true for arithmetic).
    fn apply(self, l: f64, r: f64) -> (f64, bool) {
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (l % r, true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eq => (l, l == r),
            Op::Ne => (l, l != r),
            Op::Gt => (l, l > r),
            Op::Lt => (l, l < r),
            Op::Ge => (l, l >= r),
            Op::Le => (l, l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

/// Computes a matching signature: the `on` labels, or all labels but `__name__` and the
/// `ignoring` ones.
struct Signer {
    on: bool,
    names: Vec<String>,
}

impl Signer {
    fn new(m: Option<&BinModifier>) -> Self {
        match m.and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(l)) => Signer {
                on: true,
                names: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Signer {
                on: false,
                names: l.labels.clone(),
            },
            None => Signer {
                on: false,
                names: Vec::new(),
            },
        }
    }

    fn sign(&self, l: &Labels) -> Labels {
        if self.on {
            l.without(|n| !self.names.iter().any(|x| x == n))
        } else {
            l.without(|n| n == METRIC_NAME || self.names.iter().any(|x| x == n))
        }
    }
}

impl Evaluator<'_> {
    pub(crate) fn binary(&mut self, b: &BinaryExpr, g: &Grid) -> Result<Val> {
        let op = Op::of(b.op)?;
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, g)?;
        let rhs = self.eval(&b.rhs, g)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&l, &r)| {
                        let (v, keep) = op.apply(l, r);
                        if op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(l), Val::Scalar(r)) => {
                Ok(Val::Vector(vector_scalar(op, l, &r, false, return_bool)))
            }
            (Val::Scalar(l), Val::Vector(r)) => {
                Ok(Val::Vector(vector_scalar(op, r, &l, true, return_bool)))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let m = b.modifier.as_ref();
                let out = match op {
                    Op::And | Op::Or | Op::Unless => set_op(op, l, r, m, g.len()),
                    _ => vector_vector(op, l, r, m, return_bool, g.len())?,
                };
                Ok(Val::Vector(merge_same_labels(out)?))
            }
            (l, r) => Err(Error::exec(format!(
                "binary operator not allowed between {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }
}

fn vector_scalar(
    op: Op,
    mut vec: Vec<VSeries>,
    scalar: &[f64],
    scalar_left: bool,
    return_bool: bool,
) -> Vec<VSeries> {
    for s in &mut vec {
        for (v, &x) in s.vals.iter_mut().zip(scalar) {
            let Some(e) = *v else { continue };
            let (l, r) = if scalar_left { (x, e) } else { (e, x) };
            let (mut value, keep) = op.apply(l, r);
            if op.is_comparison() {
                value = e;
            }
            *v = if return_bool {
                Some(if keep { 1.0 } else { 0.0 })
            } else if keep {
                Some(value)
            } else {
                None
            };
        }
        if return_bool || !op.is_comparison() {
            s.drop_name = true;
        }
    }
    vec.retain(|s| s.vals.iter().any(Option::is_some));
    vec
}

fn set_op(
    op: Op,
    lhs: Vec<VSeries>,
    rhs: Vec<VSeries>,
    m: Option<&BinModifier>,
    steps: usize,
) -> Vec<VSeries> {
    let signer = Signer::new(m);
    let lsig: Vec<Labels> = lhs.iter().map(|s| signer.sign(&s.labels)).collect();
    let rsig: Vec<Labels> = rhs.iter().map(|s| signer.sign(&s.labels)).collect();
    let mut out = Vec::with_capacity(lhs.len() + rhs.len());
    match op {
        Op::And | Op::Unless => {
            let want = op == Op::And;
            let mut present: Vec<HashSet<&Labels>> = vec![HashSet::new(); steps];
            for (s, sig) in rhs.iter().zip(&rsig) {
                for (i, v) in s.vals.iter().enumerate() {
                    if v.is_some() {
                        present[i].insert(sig);
                    }
                }
            }
            for (mut s, sig) in lhs.into_iter().zip(&lsig) {
                for (i, v) in s.vals.iter_mut().enumerate() {
                    if v.is_some() && present[i].contains(sig) != want {
                        *v = None;
                    }
                }
                if s.vals.iter().any(Option::is_some) {
                    out.push(s);
                }
            }
        }
        _ => {
            let mut present: Vec<HashSet<&Labels>> = vec![HashSet::new(); steps];
            for (s, sig) in lhs.iter().zip(&lsig) {
                for (i, v) in s.vals.iter().enumerate() {
                    if v.is_some() {
                        present[i].insert(sig);
                    }
                }
            }
            let mut extra = Vec::new();
            for (mut s, sig) in rhs.into_iter().zip(&rsig) {
                for (i, v) in s.vals.iter_mut().enumerate() {
                    if v.is_some() && present[i].contains(sig) {
                        *v = None;
                    }
                }
                if s.vals.iter().any(Option::is_some) {
                    extra.push(s);
                }
            }
            out.extend(lhs);
            out.extend(extra);
        }
    }
    out
}

fn labels_list(series: &[&VSeries]) -> String {
    let parts: Vec<String> = series.iter().map(|s| s.labels.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn vector_vector(
    op: Op,
    lhs: Vec<VSeries>,
    rhs: Vec<VSeries>,
    m: Option<&BinModifier>,
    return_bool: bool,
    steps: usize,
) -> Result<Vec<VSeries>> {
    let card = m
        .map(|m| m.card.clone())
        .unwrap_or(VectorMatchCardinality::OneToOne);
    let (include, swapped) = match &card {
        VectorMatchCardinality::ManyToOne(l) => (l.labels.clone(), false),
        VectorMatchCardinality::OneToMany(l) => (l.labels.clone(), true),
        _ => (Vec::new(), false),
    };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let signer = Signer::new(m);
    let many_sig: Vec<Labels> = many.iter().map(|s| signer.sign(&s.labels)).collect();
    let mut one_by_sig: HashMap<Labels, Vec<usize>> = HashMap::new();
    for (j, s) in one.iter().enumerate() {
        one_by_sig
            .entry(signer.sign(&s.labels))
            .or_default()
            .push(j);
    }

    let mut pair_index: HashMap<(usize, usize), usize> = HashMap::new();
    let mut filled_one: HashMap<usize, usize> = HashMap::new();
    // `fill_right` fills the "one" side and `fill_left` the "many" side, for `group_right`
    // too, as Prometheus does.
    let (fill_one, fill_many) = m.map_or((None, None), |m| (m.fill_values.rhs, m.fill_values.lhs));
    let mut out: Vec<VSeries> = Vec::new();
    let side = if swapped { "left" } else { "right" };
    for i in 0..steps {
        // The "one" side must be unique per signature at each step.
        let mut one_at: HashMap<&Labels, usize> = HashMap::new();
        for (sig, idx) in &one_by_sig {
            let present: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&j| one[j].vals[i].is_some())
                .collect();
            if present.len() > 1 {
                let list: Vec<&VSeries> = present.iter().map(|&j| &one[j]).collect();
                return Err(Error::exec(format!(
                    "found duplicate series for the match group {sig} on the {side} hand-side of the operation: {};many-to-many matching not allowed: matching labels must be unique on one side",
                    labels_list(&list)
                )));
            }
            if let Some(&j) = present.first() {
                one_at.insert(sig, j);
            }
        }
        let mut matched: HashSet<usize> = HashSet::new();
        let mut results: HashSet<Labels> = HashSet::new();
        for (k, s) in many.iter().enumerate() {
            let Some(lv) = s.vals[i] else { continue };
            let (j, rv) = match one_at.get(&many_sig[k]) {
                Some(&j) => match one[j].vals[i] {
                    Some(rv) => (Some(j), rv),
                    None => continue,
                },
                None => match fill_one {
                    Some(f) => (None, f),
                    None => continue,
                },
            };
            let repeated = j.is_some_and(|j| !matched.insert(j));
            if repeated && one_to_one {
                return Err(Error::exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            let (fl, fr) = if swapped { (rv, lv) } else { (lv, rv) };
            let Some(value) = combine(op, fl, fr, return_bool) else {
                continue;
            };
            let key = (k, j.unwrap_or(usize::MAX));
            let idx = match pair_index.get(&key) {
                Some(&idx) => idx,
                None => {
                    let one_labels = j.map_or_else(Labels::empty, |j| one[j].labels.clone());
                    let labels = result_labels(&s.labels, &one_labels, &signer, &include, &card);
                    pair_index.insert(key, out.len());
                    out.push(VSeries {
                        labels,
                        drop_name: s.drop_name || return_bool || !op.is_comparison(),
                        vals: vec![None; steps],
                    });
                    out.len() - 1
                }
            };
            if !one_to_one && !results.insert(out[idx].labels.clone()) {
                return Err(Error::exec(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            out[idx].vals[i] = Some(value);
        }
        // With a fill value for the "many" side, unmatched "one" series still produce output,
        // labelled by their matching signature.
        let Some(f) = fill_many else { continue };
        for &j in one_at.values() {
            let Some(rv) = one[j].vals[i] else { continue };
            if matched.contains(&j) {
                continue;
            }
            let (fl, fr) = if swapped { (rv, f) } else { (f, rv) };
            let Some(value) = combine(op, fl, fr, return_bool) else {
                continue;
            };
            let idx = *filled_one.entry(j).or_insert_with(|| {
                let synthetic = signer.sign(&one[j].labels);
                out.push(VSeries {
                    labels: result_labels(&synthetic, &one[j].labels, &signer, &include, &card),
                    drop_name: return_bool || !op.is_comparison(),
                    vals: vec![None; steps],
                });
                out.len() - 1
            });
            out[idx].vals[i] = Some(value);
        }
    }
    Ok(out)
}

/// The value of `l op r`, or None when a comparison filters it out.
fn combine(op: Op, l: f64, r: f64, return_bool: bool) -> Option<f64> {
    let (value, keep) = op.apply(l, r);
    if return_bool {
        Some(if keep { 1.0 } else { 0.0 })
    } else if keep {
        Some(value)
    } else {
        None
    }
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    signer: &Signer,
    include: &[String],
    card: &VectorMatchCardinality,
) -> Labels {
    let mut l = if matches!(card, VectorMatchCardinality::OneToOne) {
        if signer.on {
            many.without(|n| !signer.names.iter().any(|x| x == n))
        } else {
            many.without(|n| signer.names.iter().any(|x| x == n))
        }
    } else {
        many.clone()
    };
    if !include.is_empty() {
        let mut b = l.to_builder();
        for name in include {
            match one.get(name) {
                Some(v) => b.set(name, v),
                None => b.del(name),
            };
        }
        l = b.build();
    }
    l
}
