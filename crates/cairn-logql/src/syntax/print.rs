//! The canonical form of a query, as Loki's `String()` methods print it: `Display` on every
//! node. Parsing a printed query gives the same tree back.

use std::fmt::{self, Display, Formatter, Write};

use cairn_model::Matcher;

use crate::gofmt;

use super::ast::*;

fn is_legacy_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Prometheus' `Matcher.String()`.
pub(crate) fn matcher(f: &mut impl Write, m: &Matcher) -> fmt::Result {
    if is_legacy_name(&m.name) {
        f.write_str(&m.name)?;
    } else {
        f.write_str(&gofmt::quote(&m.name))?;
    }
    f.write_str(m.op.as_str())?;
    f.write_str(&gofmt::quote(&m.value))
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            matcher(f, m)?;
        }
        f.write_char('}')?;
        for s in &self.stages {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        for (i, a) in self.args.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { " or " })?;
            if a.ip {
                write!(f, "ip({})", gofmt::quote(&a.value))?;
            } else {
                f.write_str(&gofmt::quote(&a.value))?;
            }
        }
        Ok(())
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::Matcher(m) => matcher(f, m),
            LabelFilter::Ip {
                name,
                equal,
                pattern,
            } => write!(
                f,
                "{name}{}ip({})",
                if *equal { "=" } else { "!=" },
                gofmt::quote(pattern)
            ),
            LabelFilter::Duration { name, op, value_ns } => write!(
                f,
                "{name}{}{}",
                op.as_str(),
                gofmt::format_go_duration(*value_ns)
            ),
            LabelFilter::Bytes { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), gofmt::format_bytes(*value))
            }
            LabelFilter::Number { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), gofmt::float_f(*value))
            }
            LabelFilter::And(l, r) => write!(f, "( {l} , {r} )"),
            LabelFilter::Or(l, r) => write!(f, "( {l} or {r} )"),
        }
    }
}

fn extractions(f: &mut Formatter<'_>, ex: &[Extraction]) -> fmt::Result {
    for (i, e) in ex.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{}={}", e.name, gofmt::quote(&e.expr))?;
    }
    Ok(())
}

fn named(f: &mut Formatter<'_>, ns: &[NamedMatcher]) -> fmt::Result {
    for (i, n) in ns.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        match n {
            NamedMatcher::Name(n) => f.write_str(n)?,
            NamedMatcher::Matcher(m) => matcher(f, m)?,
        }
    }
    Ok(())
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilters(fs) => {
                for (i, l) in fs.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{l}")?;
                }
                Ok(())
            }
            Stage::Logfmt { strict, keep_empty } => {
                f.write_str("| logfmt")?;
                if *strict {
                    f.write_str(" --strict")?;
                }
                if *keep_empty {
                    f.write_str(" --keep-empty")?;
                }
                Ok(())
            }
            Stage::LogfmtExtract {
                exprs,
                strict,
                keep_empty,
            } => {
                f.write_str("| logfmt ")?;
                if *strict {
                    f.write_str("--strict ")?;
                }
                if *keep_empty {
                    f.write_str("--keep-empty ")?;
                }
                extractions(f, exprs)
            }
            Stage::Json => f.write_str("| json"),
            Stage::JsonExtract(ex) => {
                f.write_str("| json ")?;
                extractions(f, ex)
            }
            Stage::Unpack => f.write_str("| unpack"),
            Stage::Regexp(r) => write!(f, "| regexp {}", gofmt::quote(r)),
            Stage::Pattern(p) => write!(f, "| pattern {}", gofmt::quote(p)),
            Stage::LabelFilter(l) => write!(f, "| {l}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", gofmt::quote(t)),
            Stage::LabelFormat(fmts) => {
                f.write_str("| label_format ")?;
                for (i, l) in fmts.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    if l.rename {
                        write!(f, "{}={}", l.name, l.value)?;
                    } else {
                        write!(f, "{}={}", l.name, gofmt::quote(&l.value))?;
                    }
                }
                Ok(())
            }
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Drop(ns) => {
                f.write_str("| drop ")?;
                named(f, ns)
            }
            Stage::Keep(ns) => {
                f.write_str("| keep ")?;
                named(f, ns)
            }
        }
    }
}

impl Display for Unwrap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.conv {
            Some(c) => write!(f, " | unwrap {}({})", c.as_str(), self.label)?,
            None => write!(f, " | unwrap {}", self.label)?,
        }
        for p in &self.post_filters {
            write!(f, " | {p}")?;
        }
        Ok(())
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.selector)?;
        if let Some(u) = &self.unwrap {
            write!(f, "{u}")?;
        }
        write!(f, "[{}]", gofmt::format_prom_duration(self.range_ns))?;
        if self.offset_ns != 0 {
            write!(f, " offset {}", gofmt::format_go_duration(self.offset_ns))?;
        }
        Ok(())
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            " {} ({})",
            if self.without { "without" } else { "by" },
            self.labels.join(",")
        )
    }
}

impl Display for SampleExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SampleExpr::Range(r) => {
                write!(f, "{}(", r.op.as_str())?;
                if let Some(p) = r.param {
                    write!(f, "{},", gofmt::float_f(p))?;
                }
                write!(f, "{})", r.range)?;
                if let Some(g) = &r.grouping {
                    write!(f, "{g}")?;
                }
                Ok(())
            }
            SampleExpr::Vector(v) => {
                f.write_str(v.op.as_str())?;
                if !v.grouping.is_singleton() {
                    write!(f, "{}", v.grouping)?;
                }
                f.write_char('(')?;
                if matches!(
                    v.op,
                    VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk
                ) || v.param != 0
                {
                    write!(f, "{},", v.param)?;
                }
                write!(f, "{})", v.inner)
            }
            SampleExpr::BinOp(b) => {
                let mut op = b.op.as_str().to_string();
                if b.return_bool {
                    op.push_str(" bool");
                }
                let m = &b.matching;
                let mut group = match m.card {
                    Card::OneToOne => String::new(),
                    Card::ManyToOne => "group_left".into(),
                    Card::OneToMany => "group_right".into(),
                };
                if let Some(inc) = &m.include {
                    group = format!("{group} ({})", inc.join(","));
                }
                if m.on || m.labels.is_some() {
                    let labels = m.labels.as_deref().unwrap_or(&[]).join(",");
                    op = format!(
                        "{op} {} ({labels}) {group}",
                        if m.on { "on" } else { "ignoring" }
                    );
                }
                write!(f, "({} {op} {})", b.lhs, b.rhs)
            }
            SampleExpr::Literal(v) => f.write_str(&gofmt::float_v(*v)),
            SampleExpr::VectorLit(v) => write!(f, "vector({})", gofmt::float_6(*v)),
            SampleExpr::LabelReplace(l) => write!(
                f,
                "label_replace({},{},{},{},{})",
                l.inner,
                gofmt::quote(&l.dst),
                gofmt::quote(&l.replacement),
                gofmt::quote(&l.src),
                gofmt::quote(&l.regex)
            ),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => write!(f, "{l}"),
            Expr::Sample(s) => write!(f, "{s}"),
        }
    }
}
