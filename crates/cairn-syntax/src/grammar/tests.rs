//! The table builder and the loop on a small expression grammar, with answers worked out by
//! hand from goyacc's rules.

use super::*;

const NUM: u8 = FIRST_TOKEN;
const ADD: u8 = FIRST_TOKEN + 1;
const SUB: u8 = FIRST_TOKEN + 2;
const MUL: u8 = FIRST_TOKEN + 3;
const POW: u8 = FIRST_TOKEN + 4;
const LT: u8 = FIRST_TOKEN + 5;
const UMINUS: u8 = FIRST_TOKEN + 8;

const NAMES: &[&str] = &[
    "", "$end", "error", "$unk", "NUM", "+", "-", "*", "^", "<", "(", ")", "UMINUS",
];
const IDENTS: &[&str] = &[
    "", "$end", "error", "$unk", "NUM", "ADD", "SUB", "MUL", "POW", "LT", "OPEN", "CLOSE", "UMINUS",
];

type Action = fn(Vec<String>) -> Result<String, ParseError>;

fn first(mut a: Vec<String>) -> Result<String, ParseError> {
    Ok(a.swap_remove(0))
}

fn binary(a: Vec<String>) -> Result<String, ParseError> {
    Ok(format!("({}{}{})", a[0], a[1], a[2]))
}

fn grammar() -> Grammar<Action> {
    let r = |lhs, rhs, action: Action| RuleSpec {
        lhs,
        rhs,
        prec: None,
        action,
    };
    let specs = vec![
        r("$accept", "expr $end", first),
        r("expr", "expr ADD expr", binary),
        r("expr", "expr MUL expr", binary),
        r("expr", "expr POW expr", binary),
        r("expr", "expr LT expr", binary),
        RuleSpec {
            lhs: "expr",
            rhs: "SUB expr",
            prec: Some(UMINUS),
            action: |a| Ok(format!("(-{})", a[1])),
        },
        r("expr", "OPEN expr CLOSE", |a| Ok(a[1].clone())),
        r("expr", "OPEN error CLOSE", |_| Ok("E".into())),
        r("expr", "NUM", |a| {
            if a[0] == "13" {
                return Err(ParseError::unpositioned("unlucky 13"));
            }
            Ok(a[0].clone())
        }),
    ];
    let mut prec = vec![(0, Assoc::Left); NAMES.len()];
    prec[LT as usize] = (1, Assoc::Nonassoc);
    prec[ADD as usize] = (2, Assoc::Left);
    prec[SUB as usize] = (2, Assoc::Left);
    prec[MUL as usize] = (3, Assoc::Left);
    prec[POW as usize] = (4, Assoc::Right);
    prec[UMINUS as usize] = (5, Assoc::Left);
    let terminal = |n: &str| IDENTS.iter().position(|x| *x == n).map(|i| i as u8);
    Grammar::new(specs, terminal, NAMES, &prec)
}

/// Characters as tokens, digits as numbers; positions are columns on line 1.
struct TestLexer {
    chars: Vec<char>,
    at: usize,
    col: usize,
    errors: Vec<ParseError>,
}

impl Lexer for TestLexer {
    type Token = (u8, String);

    fn lex(&mut self) -> (u8, String) {
        while self.chars.get(self.at) == Some(&' ') {
            self.at += 1;
        }
        self.col = self.at + 1;
        let Some(&c) = self.chars.get(self.at) else {
            return (END, String::new());
        };
        self.at += 1;
        if c.is_ascii_digit() {
            let mut text = c.to_string();
            while let Some(&d) = self.chars.get(self.at).filter(|d| d.is_ascii_digit()) {
                text.push(d);
                self.at += 1;
            }
            return (NUM, text);
        }
        let kind = NAMES
            .iter()
            .position(|n| *n == c.to_string())
            .map_or(UNK, |i| i as u8);
        (kind, c.to_string())
    }

    fn kind(tok: &(u8, String)) -> u8 {
        tok.0
    }

    fn error(&mut self, msg: String) {
        self.errors.push(ParseError::new(msg, 1, self.col));
    }

    fn errors(&self) -> &[ParseError] {
        &self.errors
    }
}

/// The tree as a string; the token value is its text.
#[derive(Default)]
struct Val(String);

impl From<(u8, String)> for Val {
    fn from(t: (u8, String)) -> Self {
        Val(t.1)
    }
}

fn parse(src: &str) -> Result<String, ParseError> {
    let g = grammar();
    let mut lx = TestLexer {
        chars: src.chars().collect(),
        at: 0,
        col: 0,
        errors: Vec::new(),
    };
    g.parse(&mut lx, |action: Action, args: Vec<Val>, _| {
        action(args.into_iter().map(|v| v.0).collect()).map(Val)
    })
    .map(|v| v.0)
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(parse("1+2*3").as_deref(), Ok("(1+(2*3))"));
    assert_eq!(parse("1*2+3").as_deref(), Ok("((1*2)+3)"));
    assert_eq!(parse("1+2+3").as_deref(), Ok("((1+2)+3)"));
    assert_eq!(parse("2^3^2").as_deref(), Ok("(2^(3^2))"));
    assert_eq!(parse("(1+2)*3").as_deref(), Ok("((1+2)*3)"));
    assert_eq!(parse("1<2+3").as_deref(), Ok("(1<(2+3))"));
}

#[test]
fn prec_overrides_the_last_terminal() {
    // Without `%prec UMINUS` the rule would bind like `-`, below `*`: `(-(1*2))`.
    assert_eq!(parse("-1*2").as_deref(), Ok("((-1)*2)"));
}

#[test]
fn nonassoc_makes_chains_errors() {
    // After `1<2` the state reduces by default; `<` is an explicit error, so goyacc lists
    // nothing it expects.
    assert_eq!(
        parse("1<2<3"),
        Err(ParseError::new("syntax error: unexpected <", 1, 4))
    );
}

#[test]
fn errors_list_at_most_four_expected_tokens() {
    assert_eq!(
        parse("1+"),
        Err(ParseError::new(
            "syntax error: unexpected $end, expecting NUM or - or (",
            1,
            3
        ))
    );
    // `+ * ^ < )` are five: none is listed.
    assert_eq!(
        parse("(1 1)"),
        Err(ParseError::new("syntax error: unexpected NUM", 1, 4))
    );
}

#[test]
fn recovery_lets_a_later_action_error_win() {
    assert_eq!(
        parse("(1 1)+2").unwrap_err().msg,
        "syntax error: unexpected NUM"
    );
    assert_eq!(parse("(1 1)+13").unwrap_err().msg, "unlucky 13");
    assert_eq!(parse("(1)+13").unwrap_err().msg, "unlucky 13");
}

#[test]
fn input_size_is_bounded_as_loki_bounds_it() {
    assert_eq!(check_input_size(&"a".repeat(131_071)), Ok(()));
    assert_eq!(
        check_input_size(&"a".repeat(131_072)).map_err(|e| e.to_string()),
        Err("parse error : input size too long (131072 > 131072)".to_string())
    );
}
