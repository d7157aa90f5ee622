//! LogQL syntax: the lexer and LR parser reproducing Loki's grammar and error messages, the
//! syntax tree, and its canonical printed form. The scanner, the table builder and the parser
//! loop are `cairn-syntax`'s, shared with TraceQL; the tokens, rules and actions are here.

mod ast;
mod build;
mod grammar;
mod lexer;
mod parser;
mod pretty;
mod print;
mod tokens;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use parser::parse;
pub use pretty::pretty;

pub(crate) use build::go_regex_error;
