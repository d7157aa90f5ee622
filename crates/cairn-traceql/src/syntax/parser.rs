//! TraceQL on the shared LR driver: goyacc's loop, so errors are detected in the same states
//! and worded the same way. TraceQL's grammar has no error rules, so the first syntax error
//! ends the parse; errors reported by actions (an unknown identifier, duration arithmetic) are
//! recorded and parsing goes on, and the first error recorded is the one returned.

use crate::error::ParseError;

use super::ast::Query;
use super::grammar::{Action, GRAMMAR, Val};
use super::lexer::{Lexer, TokVal, Token};

impl cairn_syntax::Lexer for Lexer<'_> {
    type Token = Token;

    fn lex(&mut self) -> Token {
        Lexer::lex(self)
    }

    fn kind(tok: &Token) -> u8 {
        tok.kind
    }

    fn error(&mut self, msg: String) {
        Lexer::error(self, msg);
    }

    fn errors(&self) -> &[ParseError] {
        Lexer::errors(self)
    }
}

impl From<Token> for Val {
    fn from(tok: Token) -> Self {
        match tok.val {
            TokVal::Str(x) => Val::Str(x),
            TokVal::Int(i) => Val::Int(i),
            TokVal::Float(f) => Val::Float(f),
            TokVal::Dur(d) => Val::Dur(d),
            TokVal::None => Val::None,
        }
    }
}

/// Parses a TraceQL query, with Tempo's syntax errors. The result is not type checked: see
/// [`crate::validate`].
pub fn parse(input: &str) -> Result<Query, ParseError> {
    cairn_syntax::check_input_size(input)?;
    let chars: Vec<char> = input.chars().collect();
    let mut lx = Lexer::new(&chars);
    let mut action_errors: Vec<String> = Vec::new();
    let root = GRAMMAR.parse(&mut lx, |action: Action, args, lx| {
        let v = action(args, &mut action_errors);
        for msg in action_errors.drain(..) {
            lx.error(msg);
        }
        Ok(v)
    })?;
    match root {
        Val::Query(q) => Ok(*q),
        _ => Err(ParseError::unpositioned("internal error: no expression")),
    }
}
