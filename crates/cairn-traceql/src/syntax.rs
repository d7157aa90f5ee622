//! TraceQL syntax: the lexer and LR parser reproducing Tempo's grammar and error messages, the
//! syntax tree, and its canonical printed form. The scanner, the table builder and the parser
//! loop are `cairn-syntax`'s, shared with LogQL; the tokens, rules and actions are here.

mod ast;
mod build;
mod grammar;
mod lexer;
mod parser;
mod print;
mod tokens;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use parser::parse;
