//! LogQL on the shared LR driver: goyacc's loop, so errors are detected in the same states and
//! worded the same way, including its error recovery (which only decides whether a later
//! action's failure replaces the first syntax error, as it does in Loki).

use crate::error::ParseError;

use super::ast::Expr;
use super::build::{self, PExpr};
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
            TokVal::Dur(d) => Val::Dur(d),
            TokVal::Bytes(b) => Val::Bytes(b),
            TokVal::None => Val::None,
        }
    }
}

/// Parses a LogQL query, with Loki's errors.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    cairn_syntax::check_input_size(input)?;
    let chars: Vec<char> = input.chars().collect();
    let mut lx = Lexer::new(&chars);
    let root = GRAMMAR.parse(&mut lx, |action: Action, args, _| action(args))?;
    match root {
        Val::Expr(PExpr::Log { e, .. }) => {
            build::validate_matchers(&e.matchers)?;
            Ok(Expr::Log(e))
        }
        Val::Expr(PExpr::Sample(s)) | Val::Sample(s) => s.map(Expr::Sample).map_err(|d| d.err),
        _ => Err(ParseError::unpositioned("internal error: no expression")),
    }
}
