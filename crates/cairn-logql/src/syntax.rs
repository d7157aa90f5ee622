//! LogQL syntax: the lexer and LR parser reproducing Loki's grammar and error messages, the
//! syntax tree, and its canonical printed form.

mod ast;
mod build;
mod grammar;
mod lalr;
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
