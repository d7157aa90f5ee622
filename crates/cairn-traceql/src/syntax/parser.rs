//! The LR driver: the same loop as goyacc's, so errors are detected in the same states and
//! worded the same way. TraceQL's grammar has no error rules, so the first syntax error ends
//! the parse; errors reported by actions (an unknown identifier, duration arithmetic) are
//! recorded and parsing goes on, and the first error recorded is the one returned.

use crate::error::ParseError;

use super::ast::Query;
use super::grammar::{GRAMMAR, Val};
use super::lalr::Act;
use super::lexer::{Lexer, TokVal, Token};
use super::tokens as t;

/// Longest query accepted, in bytes (a guard against pathological input; Tempo bounds
/// queries at its HTTP layer).
const MAX_INPUT: usize = 131_072;

/// Tempo's wording of a syntax error in `state` with lookahead `tok`.
fn error_message(state: usize, tok: u8) -> String {
    let g = &*GRAMMAR;
    let mut res = format!("syntax error: unexpected {}", t::NAMES[tok as usize]);
    let mut expected: Vec<u8> = Vec::with_capacity(4);
    for &(k, _) in &g.tables.shifts[state] {
        if k < 4 {
            continue;
        }
        if expected.len() == 4 {
            return res;
        }
        expected.push(k);
    }
    if !g.tables.exca[state].is_empty() {
        for &(k, a) in &g.tables.exca[state] {
            if k < 4 || a == Act::Error {
                continue;
            }
            if expected.len() == 4 {
                return res;
            }
            expected.push(k);
        }
        if g.tables.default[state] != Act::Error {
            return res;
        }
    }
    for (i, k) in expected.iter().enumerate() {
        res.push_str(if i == 0 { ", expecting " } else { " or " });
        res.push_str(t::NAMES[*k as usize]);
    }
    res
}

fn shift_target(state: usize, tok: u8) -> Option<u32> {
    let s = &GRAMMAR.tables.shifts[state];
    s.binary_search_by_key(&tok, |x| x.0).ok().map(|i| s[i].1)
}

/// Parses a TraceQL query, with Tempo's syntax errors. The result is not type checked: see
/// [`crate::validate`].
pub fn parse(input: &str) -> Result<Query, ParseError> {
    if input.len() >= MAX_INPUT {
        return Err(ParseError::unpositioned(format!(
            "input size too long ({} > {MAX_INPUT})",
            input.len()
        )));
    }
    let chars: Vec<char> = input.chars().collect();
    let mut lx = Lexer::new(&chars);
    let g = &*GRAMMAR;
    let mut states: Vec<usize> = vec![0];
    let mut vals: Vec<Val> = vec![Val::None];
    let mut look: Option<Token> = None;
    let mut action_errors: Vec<String> = Vec::new();
    loop {
        let s = *states.last().expect("the stack keeps its bottom state");
        if !g.tables.shifts[s].is_empty() {
            let tok = look.get_or_insert_with(|| lx.lex()).kind;
            if let Some(next) = shift_target(s, tok) {
                let v = match look.take().map(|t| t.val) {
                    Some(TokVal::Str(x)) => Val::Str(x),
                    Some(TokVal::Int(i)) => Val::Int(i),
                    Some(TokVal::Float(f)) => Val::Float(f),
                    Some(TokVal::Dur(d)) => Val::Dur(d),
                    _ => Val::None,
                };
                states.push(next as usize);
                vals.push(v);
                continue;
            }
        }
        let mut act = g.tables.default[s];
        if !g.tables.exca[s].is_empty() {
            let tok = look.get_or_insert_with(|| lx.lex()).kind;
            if let Some(&(_, a)) = g.tables.exca[s].iter().find(|(k, _)| *k == tok) {
                act = a;
            }
        }
        match act {
            Act::Accept => break,
            Act::Reduce(r) => {
                let rule = &g.rules[r as usize];
                let args = vals.split_off(vals.len() - rule.len);
                states.truncate(states.len() - rule.len);
                let v = (rule.action)(args, &mut action_errors);
                for msg in action_errors.drain(..) {
                    lx.error(msg);
                }
                let top = *states.last().expect("the stack keeps its bottom state");
                let Some(&next) = g.tables.gotos[top].get(&rule.lhs) else {
                    return Err(ParseError::unpositioned("internal error: missing goto"));
                };
                states.push(next as usize);
                vals.push(v);
            }
            Act::Error | Act::Shift(_) => {
                let tok = look.get_or_insert_with(|| lx.lex()).kind;
                lx.error(error_message(s, tok));
                return Err(first_error(&lx));
            }
        }
    }
    if !lx.errors().is_empty() {
        return Err(first_error(&lx));
    }
    match vals.pop() {
        Some(Val::Query(q)) => Ok(*q),
        _ => Err(ParseError::unpositioned("internal error: no expression")),
    }
}

fn first_error(lx: &Lexer<'_>) -> ParseError {
    lx.errors()
        .first()
        .cloned()
        .unwrap_or_else(|| ParseError::unpositioned("syntax error"))
}
