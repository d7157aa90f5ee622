//! Field detection for Loki's `/detected_fields` and `/detected_field/<name>/values` (Logs
//! Drilldown's field list): each line is parsed with `| json`, or when that fails with
//! `| logfmt`, as Loki's query frontend does (`pkg/querier/queryrange/detected_fields.go`);
//! fields come from structured metadata, from those parsers and from the labels the query's
//! own parsers extracted, each with a type guessed from its values, its number of distinct
//! values, the parsers that found it and, for JSON, its original path.
//!
//! Loki estimates cardinality with a HyperLogLog sketch; here the values of the lines read
//! (at most the request's line limit) are counted exactly.

use std::collections::{BTreeMap, HashMap, HashSet};

use cairn_model::Labels;

use crate::gofmt;
use crate::pipeline::{ERROR_LABEL, Pipeline, StreamPipeline, sanitize_key};
use crate::syntax::{LogExpr, Stage};

/// `__error_details__`, never a field.
const ERROR_DETAILS_LABEL: &str = "__error_details__";
/// `__preserve_error__`, never a field.
const PRESERVE_ERROR: &str = "__preserve_error__";

/// One detected field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectedField {
    /// The label name.
    pub label: String,
    /// `string`, `int`, `float`, `boolean`, `duration` or `bytes`.
    pub kind: &'static str,
    /// Distinct values seen.
    pub cardinality: u64,
    /// Parsers that found it (`json`, `logfmt`); empty for structured metadata.
    pub parsers: Vec<&'static str>,
    /// The JSON path it came from (`["user", "id"]` for `user_id`), when found by `json`.
    pub json_path: Vec<String>,
}

#[derive(Debug, Default)]
struct Acc {
    kind: &'static str,
    values: HashSet<String>,
    parsers: Vec<&'static str>,
    json_path: Vec<String>,
}

/// Collects detected fields over the lines of a log query.
pub struct FieldDetector {
    limit: usize,
    json: Pipeline,
    logfmt: Pipeline,
    streams: HashMap<Labels, (StreamPipeline, StreamPipeline)>,
    fields: BTreeMap<String, Acc>,
}

impl std::fmt::Debug for FieldDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldDetector")
            .field("limit", &self.limit)
            .field("fields", &self.fields.len())
            .finish()
    }
}

impl FieldDetector {
    /// A detector keeping at most `limit` fields (the first found).
    pub fn new(limit: usize) -> FieldDetector {
        let with = |stage| {
            Pipeline::new(&LogExpr {
                matchers: Vec::new(),
                stages: vec![stage],
            })
            .expect("a lone parser stage always compiles")
        };
        FieldDetector {
            limit,
            json: with(Stage::Json),
            logfmt: with(Stage::Logfmt {
                strict: false,
                keep_empty: false,
            }),
            streams: HashMap::new(),
            fields: BTreeMap::new(),
        }
    }

    fn field(&mut self, name: &str, parsers: &[&'static str]) -> Option<&mut Acc> {
        if !self.fields.contains_key(name) {
            if self.fields.len() >= self.limit {
                return None;
            }
            self.fields.insert(
                name.to_string(),
                Acc {
                    kind: "string",
                    parsers: parsers.to_vec(),
                    ..Acc::default()
                },
            );
        }
        self.fields.get_mut(name)
    }

    /// Adds one entry: its stream labels, line, structured metadata and the labels the
    /// query's own parsers extracted.
    pub fn add(&mut self, stream: &Labels, line: &str, metadata: &Labels, parsed: &Labels) {
        for m in metadata.iter() {
            if let Some(f) = self.field(m.name, &[]) {
                f.kind = field_type(m.value);
                f.values.insert(m.value.to_string());
            }
        }
        let (found, parser) = self.parse_line(stream, line);
        let mut all: Vec<(String, String)> = parsed
            .iter()
            .filter(|l| !is_error_label(l.name))
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        all.extend(found);
        let parsers: Vec<&'static str> = parser.into_iter().collect();
        let paths = if parser == Some("json") {
            json_paths(line)
        } else {
            HashMap::new()
        };
        for (k, v) in all {
            let Some(f) = self.field(&k, &parsers) else {
                continue;
            };
            for p in &parsers {
                if !f.parsers.contains(p) {
                    f.parsers.push(p);
                }
            }
            if let Some(path) = paths.get(&k) {
                f.json_path = path.clone();
            }
            f.kind = field_type(&v);
            f.values.insert(v);
        }
    }

    /// The labels `json` finds in `line`, or else `logfmt`, and which parser succeeded.
    fn parse_line(
        &mut self,
        stream: &Labels,
        line: &str,
    ) -> (Vec<(String, String)>, Option<&'static str>) {
        let (json, logfmt) = self
            .streams
            .entry(stream.clone())
            .or_insert_with(|| (self.json.for_stream(stream), self.logfmt.for_stream(stream)));
        for (p, name) in [(json, "json"), (logfmt, "logfmt")] {
            if let Some(out) = p.process(0, line, &[]) {
                let labels = &out.labels.parsed;
                if labels.get(ERROR_LABEL).is_some() {
                    continue;
                }
                let found: Vec<_> = labels
                    .iter()
                    .filter(|l| !is_error_label(l.name))
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                if found.is_empty() {
                    continue;
                }
                return (found, Some(name));
            }
        }
        (Vec::new(), None)
    }

    /// The fields found, sorted by name.
    pub fn fields(&self) -> Vec<DetectedField> {
        self.fields
            .iter()
            .map(|(k, a)| DetectedField {
                label: k.clone(),
                kind: a.kind,
                cardinality: a.values.len() as u64,
                parsers: a.parsers.clone(),
                json_path: a.json_path.clone(),
            })
            .collect()
    }

    /// The distinct values of field `name`, sorted, at most `limit`; byte sizes are written
    /// the way a label filter reads them (`20MB`), as Loki does.
    pub fn values(&self, name: &str, limit: usize) -> Vec<String> {
        let Some(a) = self.fields.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<String> = a
            .values
            .iter()
            .map(|v| match gofmt::parse_bytes(v) {
                Ok(b) if has_byte_unit(v) => gofmt::format_bytes(b),
                _ => v.clone(),
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        out.sort();
        out.truncate(limit);
        out
    }
}

fn is_error_label(k: &str) -> bool {
    k == ERROR_LABEL || k == ERROR_DETAILS_LABEL || k == PRESERVE_ERROR
}

/// Whether `v` ends with one of the units Loki rewrites (`allowedBytesUnits`).
fn has_byte_unit(v: &str) -> bool {
    const UNITS: [&str; 25] = [
        "b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib", "pb", "eib", "eb", "ki",
        "k", "mi", "m", "gi", "g", "ti", "t", "pi", "p", "ei", "e",
    ];
    let l = v.to_lowercase();
    UNITS.iter().any(|u| l.ends_with(u))
}

/// Loki's `determineType`: the first of int, float, boolean, duration, bytes that parses.
pub fn field_type(v: &str) -> &'static str {
    let int = v.strip_prefix(['+', '-']).unwrap_or(v);
    if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && v.parse::<i64>().is_ok() {
        return "int";
    }
    if gofmt::parse_float(v).is_ok() {
        return "float";
    }
    if matches!(
        v,
        "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false" | "False"
    ) {
        return "boolean";
    }
    if gofmt::parse_go_duration(v).is_ok() {
        return "duration";
    }
    if gofmt::parse_bytes(v).is_ok() {
        return "bytes";
    }
    "string"
}

/// The original path of every flattened JSON field of `line` (`user_id` -> `["user", "id"]`).
fn json_paths(line: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(line) {
        let mut path = Vec::new();
        walk(&m, &mut path, &mut out);
    }
    out
}

fn walk(
    m: &serde_json::Map<String, serde_json::Value>,
    path: &mut Vec<String>,
    out: &mut HashMap<String, Vec<String>>,
) {
    for (k, v) in m {
        path.push(k.clone());
        match v {
            serde_json::Value::Object(inner) => walk(inner, path, out),
            serde_json::Value::Array(_) => {}
            _ => {
                let name = path
                    .iter()
                    .map(|p| sanitize_key(p))
                    .collect::<Vec<_>>()
                    .join("_");
                out.insert(name, path.clone());
            }
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::from_pairs([("app", "api")]).unwrap()
    }

    #[test]
    fn types_as_loki_guesses_them() {
        for (v, t) in [
            ("42", "int"),
            ("-7", "int"),
            ("4.5", "float"),
            ("1e3", "float"),
            ("true", "boolean"),
            ("F", "boolean"),
            ("1.5s", "duration"),
            ("250ms", "duration"),
            ("20MB", "bytes"),
            ("1.5 KiB", "bytes"),
            ("GET", "string"),
            ("", "string"),
        ] {
            assert_eq!(field_type(v), t, "{v:?}");
        }
    }

    #[test]
    fn json_lines_give_fields_with_paths_and_logfmt_lines_theirs() {
        let mut d = FieldDetector::new(100);
        let none = Labels::empty();
        let meta = Labels::from_pairs([("trace_id", "abc")]).unwrap();
        d.add(
            &labels(),
            r#"{"level":"info","status":200,"user":{"id":"u1"},"tags":["a"],"took":"12ms"}"#,
            &meta,
            &none,
        );
        d.add(
            &labels(),
            r#"{"level":"error","status":503,"user":{"id":"u2"}}"#,
            &none,
            &none,
        );
        d.add(&labels(), "level=warn msg=hello size=20MB", &none, &none);
        d.add(&labels(), "not a structured line at all", &none, &none);
        let f = d.fields();
        let get = |n: &str| {
            f.iter()
                .find(|x| x.label == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert_eq!(get("level").cardinality, 3);
        assert_eq!(get("level").parsers, vec!["json", "logfmt"]);
        assert_eq!(get("status").kind, "int");
        assert_eq!(get("status").parsers, vec!["json"]);
        assert_eq!(get("user_id").json_path, vec!["user", "id"]);
        assert_eq!(get("user_id").cardinality, 2);
        assert_eq!(get("took").kind, "duration");
        assert_eq!(get("trace_id").parsers, Vec::<&str>::new());
        assert_eq!(get("size").kind, "bytes");
        assert!(f.iter().all(|x| x.label != "tags"), "arrays are skipped");
        assert_eq!(d.values("level", 10), vec!["error", "info", "warn"]);
        assert_eq!(d.values("size", 10), vec!["20MB"]);
        assert_eq!(d.values("missing", 10), Vec::<String>::new());
    }

    #[test]
    fn the_limit_keeps_the_first_fields() {
        let mut d = FieldDetector::new(2);
        let none = Labels::empty();
        d.add(&labels(), "a=1 b=2 c=3", &none, &none);
        assert_eq!(d.fields().len(), 2);
    }
}
