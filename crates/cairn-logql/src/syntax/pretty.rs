//! Loki's query formatter (`/loki/api/v1/format_query`): the canonical form, split over
//! indented lines wherever a node's canonical form is longer than 100 characters.
//!
//! One deliberate difference: when Loki splits a line filter chain over lines it drops the
//! `or` alternatives of each filter (a bug that changes the query); they are kept here.

use super::ast::*;
use crate::gofmt;

const MAX_CHARS_PER_LINE: usize = 100;

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

thread_local! {
    static WIDTH: std::cell::Cell<usize> = const { std::cell::Cell::new(MAX_CHARS_PER_LINE) };
}

fn need_split(s: &str) -> bool {
    s.len() > WIDTH.with(|w| w.get())
}

/// The formatted query.
pub fn pretty(e: &Expr) -> String {
    pretty_width(e, MAX_CHARS_PER_LINE)
}

/// [`pretty`] with another line width (tests use narrow ones).
pub(crate) fn pretty_width(e: &Expr, width: usize) -> String {
    let old = WIDTH.with(|w| w.replace(width));
    let s = match e {
        Expr::Log(l) => log(l, 0),
        Expr::Sample(s) => sample(s, 0),
    };
    WIDTH.with(|w| w.set(old));
    s
}

fn log(l: &LogExpr, level: usize) -> String {
    let full = l.to_string();
    if l.stages.is_empty() || !need_split(&full) {
        return indent(level) + &full;
    }
    let sel = LogExpr {
        matchers: l.matchers.clone(),
        stages: Vec::new(),
    };
    let mut s = format!("{}{sel}\n", indent(level));
    for (i, st) in l.stages.iter().enumerate() {
        s += &stage(st, level + 1);
        if i + 1 < l.stages.len() {
            s.push('\n');
        }
    }
    s
}

fn stage(st: &Stage, level: usize) -> String {
    match st {
        Stage::LineFilters(fs) => {
            let full = st.to_string();
            if !need_split(&full) {
                return indent(level) + &full;
            }
            fs.iter()
                .map(|f| format!("{}{f}", indent(level)))
                .collect::<Vec<_>>()
                .join("\n")
        }
        // Loki prints this one without indentation.
        Stage::Decolorize => st.to_string(),
        _ => indent(level) + &st.to_string(),
    }
}

fn unwrap(u: &Unwrap, level: usize) -> String {
    let mut s = indent(level);
    match u.conv {
        Some(c) => s += &format!("| unwrap {}({})", c.as_str(), u.label),
        None => s += &format!("| unwrap {}", u.label),
    }
    for f in &u.post_filters {
        s += &format!("\n{}| {f}", indent(level));
    }
    s
}

fn log_range(r: &LogRange, level: usize) -> String {
    let mut s = log(&r.selector, level);
    if let Some(u) = &r.unwrap {
        s.push('\n');
        s += &unwrap(u, level + 1);
    }
    s = format!("{s} [{}]", gofmt::format_prom_duration(r.range_ns));
    if r.offset_ns != 0 {
        s += &format!(" offset {}", gofmt::format_prom_duration(r.offset_ns));
    }
    s
}

fn grouping(g: &Grouping) -> String {
    let mut s = String::new();
    if g.without {
        s += " without";
    } else if !g.labels.is_empty() {
        s += " by";
    }
    if !g.labels.is_empty() {
        s += &format!(" ({})", g.labels.join(", "));
    }
    s
}

fn binary_op(b: &BinOpExpr) -> String {
    let mut op = b.op.as_str().to_string();
    if b.return_bool {
        op += " bool";
    }
    let m = &b.matching;
    let mut group = match m.card {
        Card::OneToOne => String::new(),
        Card::ManyToOne => "group_left".into(),
        Card::OneToMany => "group_right".into(),
    };
    if let Some(inc) = m.include.as_ref().filter(|i| !i.is_empty()) {
        group = format!("{group} ({})", inc.join(", "));
    }
    if let Some(ls) = m.labels.as_ref().filter(|l| !l.is_empty()) {
        op = format!(
            "{op} {} ({}) {group}",
            if m.on { "on" } else { "ignoring" },
            ls.join(", ")
        );
    }
    op
}

fn sample(e: &SampleExpr, level: usize) -> String {
    let full = e.to_string();
    if !need_split(&full) {
        return indent(level) + &full;
    }
    match e {
        SampleExpr::Range(r) => {
            let mut s = format!("{}{}(\n", indent(level), r.op.as_str());
            if let Some(p) = r.param {
                s += &format!("{}{},\n", indent(level + 1), gofmt::float_v(p));
            }
            s += &log_range(&r.range, level + 1);
            s += &format!("\n{})", indent(level));
            if let Some(g) = &r.grouping {
                s += &grouping(g);
            }
            s
        }
        SampleExpr::Vector(v) => {
            let inner = sample(&v.inner, level + 1);
            let params = if matches!(v.op, VectorOp::Topk | VectorOp::Bottomk) || v.param != 0 {
                vec![format!("{}{}", indent(level + 1), v.param), inner]
            } else {
                vec![inner]
            };
            let mut s = indent(level) + v.op.as_str();
            s += &grouping(&v.grouping);
            s += "(\n";
            s += &params.join(",\n");
            s += &format!("\n{})", indent(level));
            s
        }
        SampleExpr::BinOp(b) => format!(
            "{}\n{}{}\n{}",
            sample(&b.lhs, level + 1),
            indent(level),
            binary_op(b),
            sample(&b.rhs, level + 1)
        ),
        SampleExpr::LabelReplace(l) => {
            let i = indent(level + 1);
            let params = [
                sample(&l.inner, level + 1),
                format!("{i}{}", gofmt::quote(&l.dst)),
                format!("{i}{}", gofmt::quote(&l.replacement)),
                format!("{i}{}", gofmt::quote(&l.src)),
                format!("{i}{}", gofmt::quote(&l.regex)),
            ];
            format!(
                "{}label_replace(\n{}\n{})",
                indent(level),
                params.join(",\n"),
                indent(level)
            )
        }
        SampleExpr::Literal(_) | SampleExpr::VectorLit(_) => indent(level) + &full,
    }
}
