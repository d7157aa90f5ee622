//! The parser: tokens into a tree per template, following Go's `text/template/parse`
//! (control structures, `else if`, `define`, `block`, variable scopes checked at parse time).

use std::sync::Arc;

use crate::error::Error;
use crate::funcs::Funcs;
use crate::lex::{Lexer, Tok, Token, line_col};
use crate::value::Value;

/// How deeply control structures and parentheses may nest; deeper input is refused.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

/// One parsed template body with the source it came from (for error positions).
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) name: String,
    /// The name of the text it was parsed from, which error positions refer to (Go's
    /// `ParseName`).
    pub(crate) parse_name: String,
    pub(crate) src: Arc<str>,
    pub(crate) root: Vec<Node>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Control),
    Range(Control),
    With(Control),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) decl: Vec<String>,
    pub(crate) is_assign: bool,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) struct Arg {
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) kind: ArgKind,
}

#[derive(Debug)]
pub(crate) enum ArgKind {
    Dot,
    Nil,
    Literal(Value),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Pipe(Box<Pipe>),
    Chain(Box<Arg>, Vec<String>),
}

impl ArgKind {
    /// Whether this can stand first in a command that receives arguments.
    fn is_literal(&self) -> bool {
        matches!(self, ArgKind::Nil | ArgKind::Literal(_) | ArgKind::Dot)
    }
}

/// The result of parsing one text: its top-level body and its definitions.
pub(crate) struct Parsed {
    pub(crate) main: Tree,
    pub(crate) defs: Vec<Tree>,
}

/// Parses `text` as the template `name`.
pub(crate) fn parse(name: &str, text: &str, funcs: &Funcs) -> Result<Parsed, Error> {
    let tokens = Lexer::new(name, text).run()?;
    let src: Arc<str> = Arc::from(text);
    let mut p = Parser {
        name,
        src: &src,
        tokens,
        idx: 0,
        funcs,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        depth: 0,
        defs: Vec::new(),
    };
    let root = p.top_level()?;
    let defs = std::mem::take(&mut p.defs);
    Ok(Parsed {
        main: Tree {
            name: name.to_owned(),
            parse_name: name.to_owned(),
            src: Arc::clone(&src),
            root,
        },
        defs,
    })
}

/// Whether a body is only whitespace text (Go's `IsEmptyTree`): such a redefinition does not
/// replace an existing one.
pub(crate) fn is_empty(nodes: &[Node]) -> bool {
    nodes
        .iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

struct Parser<'a> {
    name: &'a str,
    src: &'a Arc<str>,
    tokens: Vec<Token>,
    idx: usize,
    funcs: &'a Funcs,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defs: Vec<Tree>,
}

/// What ended a list.
enum Terminator {
    Eof,
    End,
    Else,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text(_) => "text".into(),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Ident(s) => format!("{s:?}"),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Field(s) => format!("\".{s}\""),
        Tok::Var(s) => format!("{s:?}"),
        Tok::Dot => "\".\"".into(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Char(c) => format!("{c:?}"),
        Tok::Number(n) => format!("{n:?}"),
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "\"nil\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LeftParen => "\"(\"".into(),
        Tok::RightParen => "\")\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Eof => "EOF".into(),
    }
}

impl Parser<'_> {
    fn error(&self, pos: usize, message: String) -> Error {
        let (line, col) = line_col(self.src, pos);
        Error::Parse {
            name: self.name.to_owned(),
            line,
            col: col + 1,
            message,
        }
    }

    fn next(&mut self) -> Token {
        // The lexer always ends with Eof; reading past it keeps returning Eof.
        let t = self.tokens[self.idx.min(self.tokens.len() - 1)].clone();
        self.idx += 1;
        t
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.idx.min(self.tokens.len() - 1)]
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let save = self.idx;
        let t = self.next_non_space();
        self.idx = save;
        t
    }

    fn expect(&mut self, want: Tok, context: &str) -> Result<Token, Error> {
        let t = self.next_non_space();
        if t.tok != want {
            return Err(self.error(
                t.pos,
                format!("unexpected {} in {context}", describe(&t.tok)),
            ));
        }
        Ok(t)
    }

    fn enter(&mut self, pos: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.error(pos, format!("nesting deeper than {MAX_PARSE_DEPTH} levels")));
        }
        Ok(())
    }

    fn top_level(&mut self) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok(nodes),
                Tok::LeftDelim if self.peek_non_space().tok == Tok::Keyword("define") => {
                    self.next_non_space();
                    self.define(t.pos)?;
                }
                _ => {
                    self.backup();
                    match self.item(&mut nodes)? {
                        None => {}
                        Some((Terminator::Eof, _)) => return Ok(nodes),
                        Some((_, pos)) => {
                            return Err(self.error(pos, "unexpected {{end}} or {{else}}".into()));
                        }
                    }
                }
            }
        }
    }

    fn define(&mut self, pos: usize) -> Result<(), Error> {
        let name_tok = self.next_non_space();
        let Tok::Str(name) = name_tok.tok else {
            return Err(self.error(
                name_tok.pos,
                format!("unexpected {} in define clause", describe(&name_tok.tok)),
            ));
        };
        self.expect(Tok::RightDelim, "define clause")?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end, end_pos) = self.list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        match end {
            Terminator::End => {}
            Terminator::Else => {
                return Err(self.error(end_pos, "unexpected {{else}} in define".into()));
            }
            Terminator::Eof => return Err(self.error(pos, "unexpected EOF".into())),
        }
        self.defs.push(Tree {
            name,
            parse_name: self.name.to_owned(),
            src: Arc::clone(self.src),
            root: list,
        });
        Ok(())
    }

    /// Parses nodes until `{{end}}`, `{{else}}` or EOF; returns the terminator and its
    /// position (the `{{` of the terminating action).
    fn list(&mut self) -> Result<(Vec<Node>, Terminator, usize), Error> {
        let mut nodes = Vec::new();
        loop {
            if let Some((end, pos)) = self.item(&mut nodes)? {
                return Ok((nodes, end, pos));
            }
        }
    }

    /// Parses one item into `nodes`, or returns the terminator it met.
    fn item(&mut self, nodes: &mut Vec<Node>) -> Result<Option<(Terminator, usize)>, Error> {
        let t = self.next();
        match t.tok {
            Tok::Eof => Ok(Some((Terminator::Eof, t.pos))),
            Tok::Text(s) => {
                nodes.push(Node::Text(s));
                Ok(None)
            }
            Tok::LeftDelim => {
                let k = self.next_non_space();
                match k.tok {
                    Tok::Keyword("end") => {
                        self.expect(Tok::RightDelim, "end")?;
                        Ok(Some((Terminator::End, t.pos)))
                    }
                    // The caller reads what follows `else` (`if`, `with` or the delimiter).
                    Tok::Keyword("else") => Ok(Some((Terminator::Else, t.pos))),
                    Tok::Keyword("define") => {
                        Err(self.error(k.pos, "unexpected <define> in command".into()))
                    }
                    _ => {
                        self.backup();
                        nodes.push(self.action(t.pos)?);
                        Ok(None)
                    }
                }
            }
            tok => Err(self.error(t.pos, format!("unexpected {}", describe(&tok)))),
        }
    }

    fn action(&mut self, pos: usize) -> Result<Node, Error> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Keyword("if") => Ok(Node::If(self.control("if", pos)?)),
            Tok::Keyword("with") => Ok(Node::With(self.control("with", pos)?)),
            Tok::Keyword("range") => {
                self.range_depth += 1;
                let c = self.control("range", pos);
                self.range_depth -= 1;
                Ok(Node::Range(c?))
            }
            Tok::Keyword("template") => self.template(pos, false),
            Tok::Keyword("block") => self.template(pos, true),
            Tok::Keyword(k @ ("break" | "continue")) => {
                if self.range_depth == 0 {
                    return Err(self.error(t.pos, format!("{{{{{k}}}}} outside {{{{range}}}}")));
                }
                self.expect(Tok::RightDelim, k)?;
                Ok(if k == "break" {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            _ => {
                self.backup();
                Ok(Node::Action(self.pipeline("command", Tok::RightDelim)?))
            }
        }
    }

    fn control(&mut self, context: &'static str, pos: usize) -> Result<Control, Error> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let result = self.control_inner(context, pos);
        self.vars.truncate(mark);
        self.depth -= 1;
        result
    }

    fn control_inner(&mut self, context: &'static str, pos: usize) -> Result<Control, Error> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let (list, end, end_pos) = self.list()?;
        let else_list = match end {
            Terminator::Eof => return Err(self.error(pos, "unexpected EOF".into())),
            Terminator::End => None,
            Terminator::Else => {
                let next = self.peek_non_space();
                let chained = match (context, &next.tok) {
                    ("if", Tok::Keyword("if")) => Some("if"),
                    ("with", Tok::Keyword("with")) => Some("with"),
                    _ => None,
                };
                if let Some(kind) = chained {
                    // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the final end.
                    self.next_non_space();
                    let inner = self.control(kind, end_pos)?;
                    Some(vec![if kind == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    }])
                } else {
                    self.expect(Tok::RightDelim, "else")?;
                    let (else_list, end2, end2_pos) = self.list()?;
                    match end2 {
                        Terminator::End => {}
                        Terminator::Else => {
                            return Err(self.error(end2_pos, "expected end; found {{else}}".into()));
                        }
                        Terminator::Eof => return Err(self.error(pos, "unexpected EOF".into())),
                    }
                    Some(else_list)
                }
            }
        };
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    fn template(&mut self, pos: usize, block: bool) -> Result<Node, Error> {
        let context = if block {
            "block clause"
        } else {
            "template clause"
        };
        let name_tok = self.next_non_space();
        let name = match name_tok.tok {
            Tok::Str(s) => s,
            tok => {
                return Err(self.error(
                    name_tok.pos,
                    format!("unexpected {} in {context}", describe(&tok)),
                ));
            }
        };
        let pipe = if self.peek_non_space().tok == Tok::RightDelim {
            self.next_non_space();
            None
        } else {
            Some(self.pipeline(context, Tok::RightDelim)?)
        };
        if block {
            self.enter(pos)?;
            let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
            let saved_range = std::mem::replace(&mut self.range_depth, 0);
            let r = self.list();
            self.vars = saved_vars;
            self.range_depth = saved_range;
            self.depth -= 1;
            let (list, end, end_pos) = r?;
            match end {
                Terminator::End => {}
                Terminator::Else => {
                    return Err(self.error(end_pos, "unexpected {{else}} in block".into()));
                }
                Terminator::Eof => return Err(self.error(pos, "unexpected EOF".into())),
            }
            self.defs.push(Tree {
                name: name.clone(),
                parse_name: self.name.to_owned(),
                src: Arc::clone(self.src),
                root: list,
            });
        }
        Ok(Node::Template {
            pos: name_tok.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> Result<Pipe, Error> {
        let mut decl = Vec::new();
        let mut is_assign = false;
        let first = self.peek_non_space();
        if let Tok::Var(v) = &first.tok {
            let save = self.idx;
            self.next_non_space();
            let next = self.next_non_space();
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    is_assign = next.tok == Tok::Assign;
                    decl.push(v.clone());
                }
                Tok::Comma if context == "range" => {
                    let second = self.next_non_space();
                    let op = self.next_non_space();
                    match (&second.tok, &op.tok) {
                        (Tok::Var(v2), Tok::Declare | Tok::Assign) => {
                            is_assign = op.tok == Tok::Assign;
                            decl.push(v.clone());
                            decl.push(v2.clone());
                        }
                        _ => {
                            return Err(self.error(
                                second.pos,
                                format!(
                                    "range can only initialize variables, found {}",
                                    describe(&second.tok)
                                ),
                            ));
                        }
                    }
                }
                Tok::Comma => {
                    return Err(self.error(next.pos, format!("too many declarations in {context}")));
                }
                _ => self.idx = save,
            }
            for v in &decl {
                if is_assign {
                    if !self.vars.contains(v) {
                        return Err(self.error(first.pos, format!("undefined variable {v:?}")));
                    }
                } else {
                    self.vars.push(v.clone());
                }
            }
        }
        let mut cmds: Vec<Command> = Vec::new();
        loop {
            let t = self.next_non_space();
            if t.tok == end {
                if cmds.is_empty() {
                    return Err(self.error(t.pos, format!("missing value for {context}")));
                }
                break;
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Nil
                | Tok::Number(_)
                | Tok::LeftParen
                | Tok::Str(_)
                | Tok::Var(_) => {
                    self.backup();
                    let cmd = self.command()?;
                    if !cmds.is_empty() && cmd.args[0].kind.is_literal() {
                        return Err(self.error(
                            cmd.pos,
                            format!(
                                "non executable command in pipeline stage {}",
                                cmds.len() + 1
                            ),
                        ));
                    }
                    cmds.push(cmd);
                }
                tok => {
                    return Err(
                        self.error(t.pos, format!("unexpected {} in {context}", describe(&tok)))
                    );
                }
            }
        }
        Ok(Pipe {
            decl,
            is_assign,
            cmds,
        })
    }

    fn command(&mut self) -> Result<Command, Error> {
        let mut args = Vec::new();
        let pos = self.peek_non_space().pos;
        loop {
            self.peek_non_space();
            if let Some(arg) = self.operand()? {
                args.push(arg);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                tok => {
                    return Err(
                        self.error(t.pos, format!("unexpected {} in operand", describe(&tok)))
                    );
                }
            }
            break;
        }
        if args.is_empty() {
            return Err(self.error(pos, "empty command".into()));
        }
        let end = args.last().map_or(pos, |a: &Arg| a.end);
        Ok(Command { pos, end, args })
    }

    fn operand(&mut self) -> Result<Option<Arg>, Error> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        let mut end = term.end;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            end = self.peek().end;
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        let pos = term.pos;
        let kind = match term.kind {
            ArgKind::Field(mut names) => {
                names.extend(fields);
                ArgKind::Field(names)
            }
            ArgKind::Var(v, mut names) => {
                names.extend(fields);
                ArgKind::Var(v, names)
            }
            ArgKind::Literal(_) | ArgKind::Nil | ArgKind::Dot => {
                return Err(self.error(pos, "unexpected . after term".into()));
            }
            kind => ArgKind::Chain(
                Box::new(Arg {
                    pos,
                    end: term.end,
                    kind,
                }),
                fields,
            ),
        };
        Ok(Some(Arg { pos, end, kind }))
    }

    fn term(&mut self) -> Result<Option<Arg>, Error> {
        let t = self.next_non_space();
        let kind = match t.tok {
            Tok::Ident(name) => {
                if !self.funcs.contains(&name) {
                    return Err(self.error(t.pos, format!("function {name:?} not defined")));
                }
                ArgKind::Ident(name)
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.error(t.pos, format!("undefined variable {v:?}")));
                }
                ArgKind::Var(v, Vec::new())
            }
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Bool(b) => ArgKind::Literal(Value::Bool(b)),
            Tok::Char(c) => ArgKind::Literal(Value::Int(i64::from(u32::from(c)))),
            Tok::Number(n) => match parse_number(&n) {
                Some(v) => ArgKind::Literal(v),
                None => return Err(self.error(t.pos, format!("bad number syntax: {n:?}"))),
            },
            Tok::Str(s) => ArgKind::Literal(Value::String(s)),
            Tok::LeftParen => {
                self.enter(t.pos)?;
                let pipe = self.pipeline("parenthesized pipeline", Tok::RightParen);
                self.depth -= 1;
                let end = self.tokens[self.idx - 1].end;
                return Ok(Some(Arg {
                    pos: t.pos,
                    end,
                    kind: ArgKind::Pipe(Box::new(pipe?)),
                }));
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Arg {
            pos: t.pos,
            end: t.end,
            kind,
        }))
    }
}

/// A number literal as Go's template parser types it: floats when written with a fraction
/// or exponent, integers otherwise (with Go's base prefixes and `_` separators).
pub(crate) fn parse_number(text: &str) -> Option<Value> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let radix_body = |prefixes: [&str; 2]| prefixes.iter().find_map(|p| body.strip_prefix(p));
    let int = |digits: &str, radix: u32| {
        let v = i128::from_str_radix(digits, radix).ok()?;
        let v = if neg { -v } else { v };
        Some(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        })
    };
    if let Some(d) = radix_body(["0x", "0X"]) {
        if d.contains(['.', 'p', 'P']) {
            return None;
        }
        return int(d, 16);
    }
    if let Some(d) = radix_body(["0o", "0O"]) {
        return int(d, 8);
    }
    if let Some(d) = radix_body(["0b", "0B"]) {
        return int(d, 2);
    }
    if body.contains(['.', 'e', 'E']) {
        let f: f64 = body.parse().ok()?;
        return Some(Value::Float(if neg { -f } else { f }));
    }
    if body.len() > 1 && body.starts_with('0') {
        return int(&body[1..], 8);
    }
    int(body, 10)
}

/// Collects the field names of `nodes` (Loki's `listNodeFields`).
pub(crate) fn field_names(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Action(p) => pipe_fields(p, out),
            Node::If(c) | Node::Range(c) | Node::With(c) => {
                pipe_fields(&c.pipe, out);
                field_names(&c.list, out);
                if let Some(e) = &c.else_list {
                    field_names(e, out);
                }
            }
            Node::Text(_) | Node::Template { .. } | Node::Break | Node::Continue => {}
        }
    }
}

fn pipe_fields(p: &Pipe, out: &mut Vec<String>) {
    for c in &p.cmds {
        for a in &c.args {
            arg_fields(a, out);
        }
    }
}

fn arg_fields(a: &Arg, out: &mut Vec<String>) {
    match &a.kind {
        ArgKind::Field(names) => {
            for n in names {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        ArgKind::Pipe(p) => pipe_fields(p, out),
        _ => {}
    }
}

/// The field of a template that is exactly `{{.name}}`.
pub(crate) fn simple_field(nodes: &[Node]) -> Option<&str> {
    let [Node::Action(p)] = nodes else {
        return None;
    };
    if !p.decl.is_empty() {
        return None;
    }
    let [c] = p.cmds.as_slice() else { return None };
    let [a] = c.args.as_slice() else { return None };
    match &a.kind {
        ArgKind::Field(names) if names.len() == 1 => Some(&names[0]),
        _ => None,
    }
}
