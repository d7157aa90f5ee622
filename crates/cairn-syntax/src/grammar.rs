//! A language's grammar as goyacc would compile it, and goyacc's parser loop over it: errors
//! are detected in the same states and worded the same way (`syntax error: unexpected X,
//! expecting Y or Z`), and error recovery runs as goyacc's does (which only decides whether a
//! later action's failure replaces the first syntax error; a grammar without `error` rules
//! stops at the first syntax error).
//!
//! Terminals are numbered as goyacc numbers them: [`END`], [`ERROR`], [`UNK`], then the
//! language's tokens from [`FIRST_TOKEN`] in declaration order.

use crate::error::ParseError;
use crate::lalr::{self, Act, Assoc, Sym, Tables};

/// End of input (goyacc's `$end`).
pub const END: u8 = 1;
/// The error pseudo-token of yacc recovery rules (`error`).
pub const ERROR: u8 = 2;
/// A character no rule knows (`$unk`).
pub const UNK: u8 = 3;
/// The number of a language's first declared token.
pub const FIRST_TOKEN: u8 = 4;

/// Declares a language's terminals in goyacc's numbering: a `u8` constant per token from
/// [`FIRST_TOKEN`](crate::FIRST_TOKEN) in declaration order, and `NAMES` (printed names, as
/// syntax errors print them) and `IDENTS` (grammar names), both indexed by token number.
#[macro_export]
macro_rules! tokens {
    ($($name:ident = $text:literal,)*) => {
        $crate::tokens!(@num $crate::FIRST_TOKEN; $($name,)*);
        /// Printed names, indexed by token number (0 unused).
        pub(crate) const NAMES: &[&str] = &["", "$end", "error", "$unk", $($text,)*];
        /// Grammar names, indexed by token number.
        pub(crate) const IDENTS: &[&str] =
            &["", "$end", "error", "$unk", $(stringify!($name),)*];
    };
    (@num $n:expr; $first:ident, $($rest:ident,)*) => {
        // Some terminals are declared only to keep the grammar's numbering.
        #[allow(dead_code)]
        pub(crate) const $first: u8 = $n;
        $crate::tokens!(@num $n + 1; $($rest,)*);
    };
    (@num $n:expr;) => {};
}

/// A rule as a language writes it: `lhs: rhs` in grammar names (terminals as the language's
/// lookup knows them, `$end`, `error`), the terminal of its `%prec` if it has one, and the
/// action run when it is reduced.
pub struct RuleSpec<A> {
    /// The nonterminal defined.
    pub lhs: &'static str,
    /// The symbols, separated by blanks; empty for an empty rule.
    pub rhs: &'static str,
    /// The terminal named by `%prec`.
    pub prec: Option<u8>,
    /// The semantic action.
    pub action: A,
}

/// A rule of the built grammar.
struct Rule<A> {
    lhs: u16,
    len: usize,
    action: A,
}

/// The rules of a language and goyacc's tables built from them.
pub struct Grammar<A> {
    rules: Vec<Rule<A>>,
    tables: Tables,
    names: &'static [&'static str],
}

/// What the parser loop asks of a lexer.
pub trait Lexer {
    /// The tokens it hands out; the value a shifted token puts on the stack comes from it
    /// through `From`.
    type Token;
    /// The next token; [`END`] at the end of input or after a lexing error.
    fn lex(&mut self) -> Self::Token;
    /// A token's terminal number.
    fn kind(tok: &Self::Token) -> u8;
    /// Records an error at the current token position.
    fn error(&mut self, msg: String);
    /// Errors recorded so far, in order; the first is the one a parse returns.
    fn errors(&self) -> &[ParseError];
}

impl<A: Copy> Grammar<A> {
    /// Builds the grammar. The first rule must be `$accept: start $end`; `terminal` maps a
    /// grammar name to its token; `names` are the terminals' printed names by token number
    /// (their count is the number of terminals); `precedences[t]` is the level (0: none,
    /// higher binds tighter) and associativity of terminal `t`.
    ///
    /// # Panics
    /// On a name that is neither a terminal nor defined by a rule: the grammar is a constant
    /// of the program.
    pub fn new(
        specs: Vec<RuleSpec<A>>,
        terminal: impl Fn(&str) -> Option<u8>,
        names: &'static [&'static str],
        precedences: &[(u8, Assoc)],
    ) -> Self {
        let mut nonterminals: Vec<&str> = Vec::new();
        for spec in &specs {
            if !nonterminals.contains(&spec.lhs) {
                nonterminals.push(spec.lhs);
            }
        }
        let nt = |n: &str| nonterminals.iter().position(|x| *x == n);
        let terminal = |n: &str| match n {
            "$end" => Some(END),
            "error" => Some(ERROR),
            _ => terminal(n),
        };
        let mut lr_rules = Vec::with_capacity(specs.len());
        let mut precs = Vec::with_capacity(specs.len());
        let mut rules = Vec::with_capacity(specs.len());
        for spec in &specs {
            let syms: Vec<Sym> = spec
                .rhs
                .split_whitespace()
                .map(|s| match terminal(s) {
                    Some(k) => Sym::T(k),
                    None => Sym::N(nt(s).unwrap_or_else(|| panic!("no rule defines {s}")) as u16),
                })
                .collect();
            let lhs = nt(spec.lhs).expect("listed above") as u16;
            rules.push(Rule {
                lhs,
                len: syms.len(),
                action: spec.action,
            });
            lr_rules.push((lhs, syms));
            precs.push(spec.prec);
        }
        let tables = lalr::build(names.len(), &lr_rules, &precs, precedences, END, ERROR);
        Grammar {
            rules,
            tables,
            names,
        }
    }

    /// Parses what `lx` reads: goyacc's loop. `reduce` runs a rule's action on the values of
    /// its right-hand side; an error it returns ends the parse, errors it records through the
    /// lexer let the parse go on. The result is the start symbol's value, or the first error
    /// recorded.
    pub fn parse<L, V>(
        &self,
        lx: &mut L,
        mut reduce: impl FnMut(A, Vec<V>, &mut L) -> Result<V, ParseError>,
    ) -> Result<V, ParseError>
    where
        L: Lexer,
        V: Default + From<L::Token>,
    {
        let tables = &self.tables;
        let mut states: Vec<usize> = vec![0];
        let mut vals: Vec<V> = vec![V::default()];
        let mut look: Option<L::Token> = None;
        let mut errflag = 0u8;
        loop {
            let s = *states.last().expect("the stack keeps its bottom state");
            if !tables.shifts[s].is_empty() {
                let tok = L::kind(look.get_or_insert_with(|| lx.lex()));
                if let Some(next) = self.shift_target(s, tok) {
                    let v = look.take().map(V::from).unwrap_or_default();
                    states.push(next as usize);
                    vals.push(v);
                    errflag = errflag.saturating_sub(1);
                    continue;
                }
            }
            let mut act = tables.default[s];
            if !tables.exca[s].is_empty() {
                let tok = L::kind(look.get_or_insert_with(|| lx.lex()));
                if let Some(&(_, a)) = tables.exca[s].iter().find(|(k, _)| *k == tok) {
                    act = a;
                }
            }
            match act {
                Act::Accept => break,
                Act::Reduce(r) => {
                    let rule = &self.rules[r as usize];
                    let args = vals.split_off(vals.len() - rule.len);
                    states.truncate(states.len() - rule.len);
                    let v = reduce(rule.action, args, lx)?;
                    let top = *states.last().expect("the stack keeps its bottom state");
                    let Some(&next) = tables.gotos[top].get(&rule.lhs) else {
                        return Err(ParseError::unpositioned("internal error: missing goto"));
                    };
                    states.push(next as usize);
                    vals.push(v);
                }
                Act::Error | Act::Shift(_) => {
                    let tok = L::kind(look.get_or_insert_with(|| lx.lex()));
                    if errflag == 0 {
                        lx.error(self.error_message(s, tok));
                    }
                    if errflag < 3 {
                        errflag = 3;
                        loop {
                            let Some(&st) = states.last() else {
                                return Err(first_error(lx));
                            };
                            if let Some(next) = self.shift_target(st, ERROR) {
                                states.push(next as usize);
                                vals.push(V::default());
                                break;
                            }
                            states.pop();
                            vals.pop();
                        }
                    } else {
                        if tok == END {
                            return Err(first_error(lx));
                        }
                        look = None;
                    }
                }
            }
        }
        if !lx.errors().is_empty() {
            return Err(first_error(lx));
        }
        Ok(vals.pop().unwrap_or_default())
    }

    fn shift_target(&self, state: usize, tok: u8) -> Option<u32> {
        let s = &self.tables.shifts[state];
        s.binary_search_by_key(&tok, |x| x.0).ok().map(|i| s[i].1)
    }

    /// goyacc's wording of a syntax error in `state` with lookahead `tok`: the expected
    /// tokens are listed only when there are at most four and no default reduction hides
    /// others.
    fn error_message(&self, state: usize, tok: u8) -> String {
        let t = &self.tables;
        let mut res = format!("syntax error: unexpected {}", self.names[tok as usize]);
        let mut expected: Vec<u8> = Vec::with_capacity(4);
        for &(k, _) in &t.shifts[state] {
            if k < FIRST_TOKEN {
                continue;
            }
            if expected.len() == 4 {
                return res;
            }
            expected.push(k);
        }
        if !t.exca[state].is_empty() {
            for &(k, a) in &t.exca[state] {
                if k < FIRST_TOKEN || a == Act::Error {
                    continue;
                }
                if expected.len() == 4 {
                    return res;
                }
                expected.push(k);
            }
            if t.default[state] != Act::Error {
                return res;
            }
        }
        for (i, k) in expected.iter().enumerate() {
            res.push_str(if i == 0 { ", expecting " } else { " or " });
            res.push_str(self.names[*k as usize]);
        }
        res
    }
}

/// Longest query accepted, in bytes: Loki's bound; TraceQL takes it too, as a guard against
/// pathological input (Tempo bounds queries at its HTTP layer).
pub const MAX_INPUT: usize = 131_072;

/// Refuses a query of [`MAX_INPUT`] bytes or more, with Loki's message.
pub fn check_input_size(input: &str) -> Result<(), ParseError> {
    if input.len() >= MAX_INPUT {
        return Err(ParseError::unpositioned(format!(
            "input size too long ({} > {MAX_INPUT})",
            input.len()
        )));
    }
    Ok(())
}

fn first_error<L: Lexer>(lx: &L) -> ParseError {
    lx.errors()
        .first()
        .cloned()
        .unwrap_or_else(|| ParseError::unpositioned("syntax error"))
}

impl<A> std::fmt::Debug for Grammar<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grammar")
            .field("rules", &self.rules.len())
            .field("states", &self.tables.default.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;
