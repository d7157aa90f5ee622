//! An LALR(1) table builder that makes the same choices as Go's `goyacc`, which generates
//! Loki's LogQL and Tempo's TraceQL parsers: conflicts resolved by precedence (an unresolved
//! shift/reduce shifts, `%nonassoc` makes equal precedence an error, the lower rule wins a
//! reduce/reduce), a rule's precedence taken from its `%prec` or else its last terminal, and
//! per state a default reduction (the most frequent one) that is taken without looking at the
//! next token. Those defaults decide in which state a syntax error is detected and so which
//! "unexpected X, expecting Y" message Loki and Tempo print; matching their messages needs the
//! same tables, not merely the same language.

use std::collections::HashMap;

/// A grammar symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Sym {
    /// Terminal, by token number.
    T(u8),
    /// Nonterminal, by index.
    N(u16),
}

/// Associativity of a precedence level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assoc {
    /// `%left`.
    Left,
    /// `%right`.
    Right,
    /// `%nonassoc`: equal precedence is a syntax error.
    Nonassoc,
}

/// A parser action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// Shift the token and go to the state.
    Shift(u32),
    /// Reduce by the rule.
    Reduce(u16),
    /// The input is a sentence.
    Accept,
    /// A syntax error.
    Error,
}

/// The parse tables.
pub(crate) struct Tables {
    /// Per state, the terminals it shifts (sorted by token number) and the target state.
    pub(crate) shifts: Vec<Vec<(u8, u32)>>,
    /// Per state, the gotos on nonterminals.
    pub(crate) gotos: Vec<HashMap<u16, u32>>,
    /// Per state, the actions other than shifts that depend on the next token.
    pub(crate) exca: Vec<Vec<(u8, Act)>>,
    /// Per state, the action when neither a shift nor an exception applies.
    pub(crate) default: Vec<Act>,
}

/// Bit sets of terminals; one extra bit marks "propagated" lookaheads while building.
type Set = u128;

struct Builder<'g> {
    rules: &'g [(u16, Vec<Sym>)],
    by_lhs: HashMap<u16, Vec<u16>>,
    /// FIRST set and nullability of each rule's suffix from each position.
    suffix: Vec<Vec<(Set, bool)>>,
}

fn item(rule: u16, dot: usize) -> u32 {
    (u32::from(rule) << 8) | dot as u32
}

fn rule_of(it: u32) -> u16 {
    (it >> 8) as u16
}

fn dot_of(it: u32) -> usize {
    (it & 0xff) as usize
}

impl<'g> Builder<'g> {
    fn new(rules: &'g [(u16, Vec<Sym>)]) -> Self {
        let mut by_lhs: HashMap<u16, Vec<u16>> = HashMap::new();
        for (i, (lhs, _)) in rules.iter().enumerate() {
            by_lhs.entry(*lhs).or_default().push(i as u16);
        }
        let n_nonterms = rules.iter().map(|r| r.0 as usize + 1).max().unwrap_or(0);
        let mut first = vec![0 as Set; n_nonterms];
        let mut nullable = vec![false; n_nonterms];
        loop {
            let mut changed = false;
            for (lhs, rhs) in rules {
                let (f, n) = seq_first(rhs, &first, &nullable);
                let l = *lhs as usize;
                if first[l] | f != first[l] {
                    first[l] |= f;
                    changed = true;
                }
                if n && !nullable[l] {
                    nullable[l] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let suffix = rules
            .iter()
            .map(|(_, rhs)| {
                (0..=rhs.len())
                    .map(|d| seq_first(&rhs[d..], &first, &nullable))
                    .collect()
            })
            .collect();
        Builder {
            rules,
            by_lhs,
            suffix,
        }
    }

    fn closure0(&self, kernel: &[u32]) -> Vec<u32> {
        let mut items = kernel.to_vec();
        let mut i = 0;
        while i < items.len() {
            let it = items[i];
            let rhs = &self.rules[rule_of(it) as usize].1;
            if let Some(Sym::N(b)) = rhs.get(dot_of(it)) {
                for &r in self.by_lhs.get(b).map(Vec::as_slice).unwrap_or(&[]) {
                    let ni = item(r, 0);
                    if !items.contains(&ni) {
                        items.push(ni);
                    }
                }
            }
            i += 1;
        }
        items
    }

    /// Lookaheads of every item of a state's closure, from seeds on some of its items.
    fn closure1(
        &self,
        items: &[u32],
        index: &HashMap<u32, usize>,
        seeds: &[(usize, Set)],
    ) -> Vec<Set> {
        let mut la = vec![0 as Set; items.len()];
        let mut work: Vec<usize> = Vec::new();
        for &(i, s) in seeds {
            la[i] |= s;
            work.push(i);
        }
        while let Some(i) = work.pop() {
            let it = items[i];
            let r = rule_of(it) as usize;
            let d = dot_of(it);
            let Some(Sym::N(b)) = self.rules[r].1.get(d) else {
                continue;
            };
            let (f, n) = self.suffix[r][d + 1];
            let add = f | if n { la[i] } else { 0 };
            for &rb in self.by_lhs.get(b).map(Vec::as_slice).unwrap_or(&[]) {
                let j = index[&item(rb, 0)];
                if la[j] | add != la[j] {
                    la[j] |= add;
                    work.push(j);
                }
            }
        }
        la
    }
}

fn seq_first(syms: &[Sym], first: &[Set], nullable: &[bool]) -> (Set, bool) {
    let mut f = 0;
    for s in syms {
        match *s {
            Sym::T(t) => return (f | (1 << t), false),
            Sym::N(n) => {
                f |= first[n as usize];
                if !nullable[n as usize] {
                    return (f, false);
                }
            }
        }
    }
    (f, true)
}

/// Builds the tables. Rule 0 must be `$accept: start END`; `prec[t]` is the precedence level
/// (0: none) and associativity of terminal `t`; `rule_prec_tok[r]` is the terminal of a rule's
/// `%prec`, if it has one (a missing entry is none); `error` is the recovery token's number.
pub(crate) fn build(
    n_terms: usize,
    rules: &[(u16, Vec<Sym>)],
    rule_prec_tok: &[Option<u8>],
    prec: &[(u8, Assoc)],
    end: u8,
    error: u8,
) -> Tables {
    assert!(n_terms < 127, "terminal sets are 128-bit");
    let b = Builder::new(rules);
    let hash: Set = 1 << 127;

    // LR(0) states.
    let mut kernels: Vec<Vec<u32>> = vec![vec![item(0, 0)]];
    let mut state_of: HashMap<Vec<u32>, u32> = HashMap::new();
    state_of.insert(kernels[0].clone(), 0);
    let mut closures: Vec<Vec<u32>> = Vec::new();
    let mut trans: Vec<Vec<(Sym, u32)>> = Vec::new();
    let mut s = 0;
    while s < kernels.len() {
        let items = b.closure0(&kernels[s]);
        let mut next: Vec<(Sym, Vec<u32>)> = Vec::new();
        for &it in &items {
            let r = rule_of(it);
            let d = dot_of(it);
            let Some(&x) = rules[r as usize].1.get(d) else {
                continue;
            };
            if r == 0 && x == Sym::T(end) {
                continue;
            }
            match next.iter_mut().find(|(y, _)| *y == x) {
                Some((_, k)) => k.push(item(r, d + 1)),
                None => next.push((x, vec![item(r, d + 1)])),
            }
        }
        let mut tr = Vec::new();
        for (x, mut k) in next {
            k.sort_unstable();
            let id = match state_of.get(&k) {
                Some(&id) => id,
                None => {
                    let id = kernels.len() as u32;
                    kernels.push(k.clone());
                    state_of.insert(k, id);
                    id
                }
            };
            tr.push((x, id));
        }
        closures.push(items);
        trans.push(tr);
        s += 1;
    }
    let n_states = kernels.len();
    let indexes: Vec<HashMap<u32, usize>> = closures
        .iter()
        .map(|items| items.iter().enumerate().map(|(i, &it)| (it, i)).collect())
        .collect();
    let goto = |s: usize, x: Sym| {
        trans[s]
            .iter()
            .find(|(y, _)| *y == x)
            .map(|(_, t)| *t as usize)
    };

    // Spontaneous lookaheads and propagation links between kernel items.
    let mut kla: Vec<Vec<Set>> = kernels.iter().map(|k| vec![0; k.len()]).collect();
    let mut links: Vec<((usize, usize), (usize, usize))> = Vec::new();
    for s in 0..n_states {
        for ki in 0..kernels[s].len() {
            let la = b.closure1(&closures[s], &indexes[s], &[(ki, hash)]);
            for (i, &it) in closures[s].iter().enumerate() {
                if la[i] == 0 {
                    continue;
                }
                let r = rule_of(it);
                let d = dot_of(it);
                let Some(&x) = rules[r as usize].1.get(d) else {
                    continue;
                };
                let Some(t) = goto(s, x) else { continue };
                let kj = kernels[t]
                    .iter()
                    .position(|&k| k == item(r, d + 1))
                    .expect("goto kernels hold the advanced item");
                kla[t][kj] |= la[i] & !hash;
                if la[i] & hash != 0 {
                    links.push(((s, ki), (t, kj)));
                }
            }
        }
    }
    loop {
        let mut changed = false;
        for &((s, ki), (t, kj)) in &links {
            let v = kla[s][ki];
            if kla[t][kj] | v != kla[t][kj] {
                kla[t][kj] |= v;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let rule_prec: Vec<(u8, Assoc)> = rules
        .iter()
        .enumerate()
        .map(|(r, (_, rhs))| {
            if let Some(&Some(t)) = rule_prec_tok.get(r) {
                return prec[t as usize];
            }
            let mut p = (0, Assoc::Left);
            for s in rhs {
                if let Sym::T(t) = s {
                    p = prec[*t as usize];
                }
            }
            p
        })
        .collect();

    let mut tables = Tables {
        shifts: Vec::with_capacity(n_states),
        gotos: Vec::with_capacity(n_states),
        exca: Vec::with_capacity(n_states),
        default: Vec::with_capacity(n_states),
    };
    for s in 0..n_states {
        let mut temp: Vec<Option<Act>> = vec![None; n_terms];
        let mut gotos = HashMap::new();
        for &(x, t) in &trans[s] {
            match x {
                Sym::T(tok) => temp[tok as usize] = Some(Act::Shift(t)),
                Sym::N(n) => {
                    gotos.insert(n, t);
                }
            }
        }
        if closures[s].contains(&item(0, 1)) {
            temp[end as usize] = Some(Act::Accept);
        }
        let seeds: Vec<(usize, Set)> = kla[s].iter().copied().enumerate().collect();
        let la = b.closure1(&closures[s], &indexes[s], &seeds);
        for (i, &it) in closures[s].iter().enumerate() {
            let r = rule_of(it);
            if r == 0 || dot_of(it) != rules[r as usize].1.len() {
                continue;
            }
            for (k, slot) in temp.iter_mut().enumerate() {
                if la[i] & (1 << k) == 0 {
                    continue;
                }
                *slot = Some(match *slot {
                    None => Act::Reduce(r),
                    Some(Act::Reduce(r2)) => Act::Reduce(r.min(r2)),
                    Some(Act::Shift(st)) => {
                        let (lt, assoc) = prec[k];
                        let lp = rule_prec[r as usize].0;
                        if lt == 0 || lp == 0 || lt > lp || (lt == lp && assoc == Assoc::Right) {
                            Act::Shift(st)
                        } else if lt == lp && assoc == Assoc::Nonassoc {
                            Act::Error
                        } else {
                            Act::Reduce(r)
                        }
                    }
                    Some(other) => other,
                });
            }
        }
        // The default reduction: the most frequent one, the first in token order on ties;
        // none where `error` can be shifted, so recovery sees errors.
        let mut lastred: Option<u16> = None;
        let mut best = 0;
        for a in &temp {
            if let Some(Act::Reduce(r)) = *a {
                if Some(r) == lastred {
                    continue;
                }
                let n = temp.iter().filter(|x| **x == Some(Act::Reduce(r))).count();
                if n > best {
                    best = n;
                    lastred = Some(r);
                }
            }
        }
        if matches!(temp[error as usize], Some(Act::Shift(_))) {
            lastred = None;
        }
        let mut shifts = Vec::new();
        let mut exca = Vec::new();
        for (k, a) in temp.iter().enumerate() {
            match *a {
                Some(Act::Shift(t)) => shifts.push((k as u8, t)),
                Some(Act::Reduce(r)) if Some(r) == lastred => {}
                Some(a) => exca.push((k as u8, a)),
                None => {}
            }
        }
        tables.shifts.push(shifts);
        tables.gotos.push(gotos);
        tables.exca.push(exca);
        tables
            .default
            .push(lastred.map(Act::Reduce).unwrap_or(Act::Error));
    }
    tables
}
