//! Stages that rewrite the line or the labels: `line_format`, `label_format`, `decolorize`,
//! `drop` and `keep`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cairn_template::{Funcs, LINE_FUNC, TIMESTAMP_FUNC, Template, Value};
use chrono::DateTime;

use super::StageOut;
use super::state::{
    Cat, ERR_TEMPLATE, ERROR_DETAILS_LABEL, ERROR_LABEL, LabelState, PRESERVE_ERROR_LABEL,
};
use crate::goregex;
use crate::syntax::{LabelFmt, NamedMatcher};

static FUNCS: LazyLock<Funcs> = LazyLock::new(Funcs::loki);

/// The labels of the line as the template's data: a map of strings, as Loki passes it.
fn label_map(st: &LabelState) -> Value {
    let mut m = BTreeMap::new();
    st.for_each_label(|n, v, _| {
        m.insert(n.to_owned(), Value::String(v.to_owned()));
    });
    Value::Map(m)
}

fn scope(line: &str, ts_ns: i64) -> [(&'static str, Value); 2] {
    [
        (LINE_FUNC, Value::String(line.to_owned())),
        (
            TIMESTAMP_FUNC,
            Value::Time(DateTime::from_timestamp_nanos(ts_ns)),
        ),
    ]
}

/// `| line_format "..."`.
#[derive(Debug)]
pub(crate) struct LineFormat {
    tmpl: Template,
    simple: Option<String>,
    fields: Vec<String>,
}

impl LineFormat {
    pub(crate) fn new(text: &str) -> Result<LineFormat, String> {
        let tmpl = Template::parse("line", text, &FUNCS)
            .map_err(|e| format!("invalid line template: {e}"))?;
        let simple = tmpl.simple_field().map(str::to_owned);
        let fields = tmpl.field_names();
        Ok(LineFormat {
            tmpl,
            simple,
            fields,
        })
    }

    /// The labels the template reads.
    pub(crate) fn fields(&self) -> &[String] {
        &self.fields
    }

    pub(crate) fn process(&self, ts_ns: i64, line: &str, st: &mut LabelState) -> StageOut {
        if let Some(k) = &self.simple {
            return StageOut::Replace(st.get(k).unwrap_or("").to_owned());
        }
        let data = label_map(st);
        match self.tmpl.execute_scoped(&data, &scope(line, ts_ns)) {
            Ok(out) => StageOut::Replace(out),
            Err(e) => {
                st.set_err(ERR_TEMPLATE);
                st.set_err_details(&e.to_string());
                StageOut::Keep
            }
        }
    }
}

/// `| label_format dst=src, dst="template"`.
#[derive(Debug)]
pub(crate) struct LabelFormat {
    items: Vec<(String, FmtItem)>,
    fields: Vec<String>,
}

#[derive(Debug)]
enum FmtItem {
    Rename(String),
    Template(Box<Template>),
}

impl LabelFormat {
    pub(crate) fn new(fmts: &[LabelFmt]) -> Result<LabelFormat, String> {
        let mut seen: Vec<&str> = Vec::new();
        for f in fmts {
            if f.name == ERROR_LABEL {
                return Err(format!("{} cannot be formatted", f.name));
            }
            if seen.contains(&f.name.as_str()) {
                return Err(format!(
                    "multiple label name '{}' not allowed in a single format operation",
                    f.name
                ));
            }
            seen.push(&f.name);
        }
        let mut items = Vec::with_capacity(fmts.len());
        let mut fields = Vec::new();
        for f in fmts {
            let item = if f.rename {
                if !fields.contains(&f.value) {
                    fields.push(f.value.clone());
                }
                FmtItem::Rename(f.value.clone())
            } else {
                let t = Template::parse("label", &f.value, &FUNCS)
                    .map_err(|e| format!("invalid template for label '{}': {e}", f.name))?;
                for n in t.field_names() {
                    if !fields.contains(&n) {
                        fields.push(n);
                    }
                }
                FmtItem::Template(Box::new(t))
            };
            items.push((f.name.clone(), item));
        }
        Ok(LabelFormat { items, fields })
    }

    /// The labels the templates and renames read.
    pub(crate) fn fields(&self) -> &[String] {
        &self.fields
    }

    pub(crate) fn process(&self, ts_ns: i64, line: &str, st: &mut LabelState) -> StageOut {
        // Loki builds the template data once per stage, before the first template runs.
        let mut data: Option<Value> = None;
        for (name, item) in &self.items {
            match item {
                FmtItem::Rename(src) => {
                    if let Some((v, _)) = st.get_with_category(src) {
                        let v = v.to_owned();
                        st.set(Cat::Parsed, name, &v);
                        st.del(src);
                    }
                }
                FmtItem::Template(t) => {
                    let d = data.get_or_insert_with(|| label_map(st));
                    match t.execute_scoped(d, &scope(line, ts_ns)) {
                        Ok(out) => st.set(Cat::Parsed, name, &out),
                        Err(e) => {
                            st.set_err(ERR_TEMPLATE);
                            st.set_err_details(&e.to_string());
                        }
                    }
                }
            }
        }
        StageOut::Keep
    }
}

static ANSI: LazyLock<regex::Regex> = LazyLock::new(|| {
    goregex::compile(
        "[\u{1b}\u{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u{7})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))",
    )
    .expect("the ANSI escape pattern is valid")
});

/// `| decolorize`: removes ANSI escape sequences.
pub(crate) fn decolorize(line: &str) -> StageOut {
    match ANSI.replace_all(line, "") {
        std::borrow::Cow::Borrowed(_) => StageOut::Keep,
        std::borrow::Cow::Owned(s) => StageOut::Replace(s),
    }
}

/// `| drop a, b="v"`.
pub(crate) fn drop(names: &[NamedMatcher], st: &mut LabelState) {
    for n in names {
        match n {
            NamedMatcher::Name(name) => {
                if name == ERROR_LABEL {
                    st.reset_error();
                } else if name == ERROR_DETAILS_LABEL {
                    st.reset_error_details();
                } else if st.get(name).is_some() {
                    st.del(name);
                }
            }
            NamedMatcher::Matcher(m) => {
                if m.name == ERROR_LABEL {
                    if m.matches(st.err()) {
                        st.reset_error();
                    }
                } else if m.name == ERROR_DETAILS_LABEL {
                    if m.matches(st.err_details()) {
                        st.reset_error_details();
                    }
                } else if m.matches(st.get(&m.name).unwrap_or("")) {
                    st.del(&m.name);
                }
            }
        }
    }
}

/// `| keep a, b="v"`: deletes every other label (the error labels stay).
pub(crate) fn keep(names: &[NamedMatcher], st: &mut LabelState) {
    if names.is_empty() {
        return;
    }
    let mut current: Vec<(String, String)> = Vec::new();
    st.for_each_label(|n, v, _| current.push((n.to_owned(), v.to_owned())));
    for (n, v) in current {
        if n == ERROR_LABEL || n == ERROR_DETAILS_LABEL || n == PRESERVE_ERROR_LABEL {
            continue;
        }
        let kept = names.iter().any(|k| match k {
            NamedMatcher::Name(name) => *name == n,
            NamedMatcher::Matcher(m) => m.name == n && m.matches(&v),
        });
        if !kept {
            st.del(&n);
        }
    }
}
