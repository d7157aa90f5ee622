//! Our rules against the rules Sloth generated for the same files
//! (`../shared/conformance/sloth/`): same groups, records, labels, expressions and alerts,
//! and `promtool check rules` accepts every file we generate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_slo::{LoadOptions, compile_file};
use serde_yaml_ng::Value;

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sloth")
}

fn inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("conformance dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    assert!(v.len() >= 6, "expected the Sloth conformance files");
    v
}

/// The groups of every YAML document of a rule file (Sloth writes one document per input
/// document).
fn groups_of(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc).expect("yaml");
        if let Some(g) = v.get("groups").and_then(Value::as_sequence) {
            out.extend(g.iter().cloned());
        }
    }
    out
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn map(v: Option<&Value>, drop: &[&str]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Some(Value::Mapping(mm)) = v {
        for (k, v) in mm {
            let k = k.as_str().expect("string key").to_string();
            if drop.contains(&k.as_str()) {
                continue;
            }
            let v = match v {
                Value::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other)
                    .expect("scalar")
                    .trim()
                    .to_string(),
            };
            m.insert(k, v);
        }
    }
    m
}

/// Rules of a group as comparable tuples: (record or alert, normalised expr, labels,
/// annotations).
type RuleKey = (
    String,
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
);

fn rules_of(g: &Value) -> Vec<RuleKey> {
    g.get("rules")
        .and_then(Value::as_sequence)
        .expect("rules")
        .iter()
        .map(|r| {
            let name = r
                .get("record")
                .or_else(|| r.get("alert"))
                .and_then(Value::as_str)
                .expect("record or alert")
                .to_string();
            let expr = norm(r.get("expr").and_then(Value::as_str).expect("expr"));
            // `cmd` is an extra label of Sloth's example generator; the version differs.
            let labels = map(r.get("labels"), &["cmd", "sloth_version"]);
            (name, expr, labels, map(r.get("annotations"), &[]))
        })
        .collect()
}

#[test]
fn generated_rules_match_sloth() {
    for input in inputs() {
        let name = input
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&input).expect("read input");
        let compiled = compile_file(&name, &text, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let ours = groups_of(&compiled.to_yaml(&name));
        let ours: Vec<&Value> = ours
            .iter()
            .filter(|g| {
                !g.get("name")
                    .and_then(Value::as_str)
                    .expect("group name")
                    .starts_with("cairn-")
            })
            .collect();
        let expected_text = std::fs::read_to_string(conformance_dir().join("expected").join(&name))
            .expect("read expected");
        let theirs = groups_of(&expected_text);
        let names = |gs: &[&Value]| -> Vec<String> {
            gs.iter()
                .map(|g| {
                    g.get("name")
                        .and_then(Value::as_str)
                        .expect("name")
                        .to_string()
                })
                .collect()
        };
        let theirs_refs: Vec<&Value> = theirs.iter().collect();
        assert_eq!(names(&ours), names(&theirs_refs), "{name}: group names");
        for (o, t) in ours.iter().zip(theirs.iter()) {
            let (o, t) = (rules_of(o), rules_of(t));
            assert_eq!(o.len(), t.len(), "{name}: rule count");
            for (a, b) in o.iter().zip(t.iter()) {
                assert_eq!(a, b, "{name}: rule {}", b.0);
            }
        }
    }
}

#[test]
fn promtool_accepts_generated_and_expected_files() {
    let promtool = Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        eprintln!("promtool not installed: skipping (test.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for input in inputs() {
        let name = input
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&input).expect("read input");
        let compiled = compile_file(&name, &text, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let out = dir.path().join(&name);
        std::fs::write(&out, compiled.to_yaml(&name)).expect("write");
        files.push(out);
        // Sloth's expected output, one document per file (promtool reads the first only).
        let expected = std::fs::read_to_string(conformance_dir().join("expected").join(&name))
            .expect("read expected");
        for (i, doc) in expected.split("\n---\n").enumerate() {
            if doc.contains("groups:") {
                let p = dir.path().join(format!("sloth-{i}-{name}"));
                std::fs::write(&p, doc).expect("write");
                files.push(p);
            }
        }
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/slos");
    for e in std::fs::read_dir(&examples).expect("config/slos") {
        let input = e.expect("dir entry").path();
        let name = input
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&input).expect("read example");
        let compiled = compile_file(&name, &text, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let out = dir.path().join(format!("example-{name}"));
        std::fs::write(&out, compiled.to_yaml(&name)).expect("write");
        files.push(out);
    }
    let out = std::process::Command::new(promtool)
        .arg("check")
        .arg("rules")
        .args(&files)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool check rules failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
