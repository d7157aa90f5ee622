//! TraceQL syntax: the lexer and LR parser reproducing Tempo's grammar and error messages, the
//! syntax tree, and its canonical printed form.

mod ast;
mod build;
mod gofmt;
mod grammar;
mod lalr;
mod lexer;
mod parser;
mod print;
mod scanner;
mod tokens;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use parser::parse;
