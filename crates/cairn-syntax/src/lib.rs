//! The parsing machinery Cairn's query languages share. Loki's LogQL and Tempo's TraceQL are
//! both goyacc grammars over lexers built on Go's `text/scanner`, and Cairn reproduces their
//! syntax errors to the character; that takes the same scanner ([`scanner`]), the same
//! LALR(1) tables with goyacc's conflict choices and default reductions, and the same parser
//! loop and error wording ([`Grammar`]). Each language keeps its tokens, grammar rules,
//! actions, syntax tree and lexer, and plugs them in through [`tokens!`], [`Grammar::new`]
//! and the [`Lexer`] trait; everything is generic, so each language's parser is compiled for
//! its own types, with no dynamic dispatch in the lexer or the parser loop.
//!
//! [`gofmt`] holds the literal formats both languages read and print as Go does (quoted
//! strings, floats, Go and Prometheus durations), and [`ParseError`] the error both report.
//! With the `lezer` feature, the `lezer` module is the harness of the parse-acceptance tests
//! against Grafana's editor grammars.

mod error;
pub mod gofmt;
mod grammar;
mod lalr;
#[cfg(any(test, feature = "lezer"))]
pub mod lezer;
pub mod scanner;

pub use error::ParseError;
pub use grammar::{
    END, ERROR, FIRST_TOKEN, Grammar, Lexer, MAX_INPUT, RuleSpec, UNK, check_input_size,
};
pub use lalr::Assoc;
