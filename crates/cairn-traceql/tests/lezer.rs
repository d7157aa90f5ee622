//! Parse acceptance against Grafana's own TraceQL grammar, `@grafana/lezer-traceql`, the
//! grammar of the query editor of Grafana's Tempo data source: every query of
//! `tests/lezer/corpus.txt` must be accepted by both or rejected by both.
//!
//! Where the two differ, Tempo decides (it is what runs the queries; lezer is an editor
//! grammar, looser in places): such queries are listed in [`KNOWN`] with Tempo's verdict and
//! the reason, and our parser must give Tempo's verdict on them. Any other disagreement, a listed query
//! that no longer disagrees, or a listed query missing from the corpus fails the test.
//!
//! The grammar is installed from npm (version pinned by `tests/lezer/package.json` and its
//! lock file) into `tests/lezer/node_modules` when missing. Without `node` and `npm` the test
//! fails: it never passes by skipping.

#[path = "lezer/known.rs"]
mod known;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use known::{KNOWN, Verdict};

fn lezer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lezer")
}

/// The corpus' records, in order (format described at the top of the file).
fn corpus() -> Vec<String> {
    let path = lezer_dir().join("corpus.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_corpus(&text)
}

fn parse_corpus(text: &str) -> Vec<String> {
    let mut records = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for (n, line) in text.lines().enumerate() {
        match block.as_mut() {
            Some(lines) if line == ">>>" => {
                records.push(lines.join("\n"));
                block = None;
            }
            Some(lines) => lines.push(line),
            None if line == "<<<" => block = Some(Vec::new()),
            None if line == ">>>" => panic!("corpus line {}: `>>>` without `<<<`", n + 1),
            None if line.starts_with('#') || line.trim().is_empty() => {}
            None => records.push(line.to_string()),
        }
    }
    assert!(block.is_none(), "corpus ends inside a `<<<` record");
    records
}

fn pinned_version(package_json: &Path) -> Option<String> {
    let text = std::fs::read_to_string(package_json).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")
        .or_else(|| v.get("dependencies")?.get("@grafana/lezer-traceql"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Installs the pinned grammar with `npm ci` unless that very version is already there.
fn ensure_lezer(dir: &Path) {
    let wanted = pinned_version(&dir.join("package.json"))
        .expect("tests/lezer/package.json pins @grafana/lezer-traceql");
    let installed = dir.join("node_modules/@grafana/lezer-traceql/package.json");
    if pinned_version(&installed).as_deref() == Some(wanted.as_str()) {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run npm to install @grafana/lezer-traceql {wanted} (is Node.js installed?): {e}")
        });
    assert!(
        status.success(),
        "npm ci in {} failed: {status}",
        dir.display()
    );
    assert_eq!(
        pinned_version(&installed).as_deref(),
        Some(wanted.as_str()),
        "npm ci did not install @grafana/lezer-traceql {wanted}"
    );
}

/// lezer's verdict per query: `Ok(())` or `Err(offset of the first error node)`.
fn lezer_verdicts(queries: &[String]) -> Vec<Result<(), usize>> {
    let dir = lezer_dir();
    ensure_lezer(&dir);
    let mut child = Command::new("node")
        .arg("parse.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (is Node.js installed?): {e}"));
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input: String = queries.iter().flat_map(|q| [q.as_str(), "\0"]).collect();
    // Written from a thread so a full stdout pipe cannot deadlock the two processes.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node runs");
    writer
        .join()
        .expect("writer thread")
        .expect("queries written to node");
    assert!(
        out.status.success(),
        "node parse.mjs failed: {}",
        out.status
    );
    let text = String::from_utf8(out.stdout).expect("node prints UTF-8");
    let verdicts: Vec<Result<(), usize>> = text
        .lines()
        .map(|l| match l.strip_prefix("reject ") {
            Some(at) => Err(at.parse().expect("offset")),
            None if l == "accept" => Ok(()),
            None => panic!("unexpected line from parse.mjs: {l}"),
        })
        .collect();
    assert_eq!(verdicts.len(), queries.len(), "one verdict per query");
    verdicts
}

#[test]
fn corpus_format() {
    let text = "# c\n\na\n<<<\n# x\nb\n>>>\n<<<\n>>>\n  c \n";
    assert_eq!(parse_corpus(text), ["a", "# x\nb", "", "  c "]);
}

#[test]
fn lezer_and_cairn_agree_on_the_corpus() {
    let queries = corpus();
    assert!(queries.len() >= 550, "corpus has {} queries", queries.len());
    let verdicts = lezer_verdicts(&queries);

    let mut problems = Vec::new();
    let mut listed = HashSet::new();
    for k in KNOWN {
        if !listed.insert(k.query) {
            problems.push(format!("listed twice in KNOWN: {:?}", k.query));
        }
    }
    let corpus_set: HashSet<&str> = queries.iter().map(String::as_str).collect();
    for k in KNOWN {
        if !corpus_set.contains(k.query) {
            problems.push(format!(
                "listed in KNOWN but not in the corpus: {:?}",
                k.query
            ));
        }
    }
    let known = |q: &str| KNOWN.iter().find(|k| k.query == q);

    let (mut accepted, mut disagreements) = (0, 0);
    for (q, lezer) in queries.iter().zip(&verdicts) {
        let ours = cairn_traceql::parse(q);
        let lezer_accepts = lezer.is_ok();
        accepted += usize::from(ours.is_ok());
        let ours_text = match &ours {
            Ok(_) => "accepts".to_string(),
            Err(e) => format!("rejects ({e})"),
        };
        let lezer_text = match lezer {
            Ok(()) => "accepts".to_string(),
            Err(at) => format!("rejects (error node at offset {at})"),
        };
        match known(q) {
            Some(k) => {
                disagreements += 1;
                let tempo_accepts = k.tempo == Verdict::Accepts;
                if lezer_accepts == tempo_accepts {
                    problems.push(format!(
                        "lezer now agrees with Tempo, drop it from KNOWN: {q:?}: lezer {lezer_text}"
                    ));
                }
                if ours.is_ok() != tempo_accepts {
                    problems.push(format!(
                        "cairn differs from Tempo ({:?}, {}): {q:?}: cairn {ours_text}",
                        k.tempo, k.why
                    ));
                }
            }
            None if ours.is_ok() != lezer_accepts => problems.push(format!(
                "disagreement: {q:?}: cairn {ours_text}, lezer {lezer_text}"
            )),
            None => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems over {} queries:\n{}",
        problems.len(),
        queries.len(),
        problems.join("\n")
    );
    eprintln!(
        "{} queries, {accepted} accepted by cairn, {disagreements} known lezer/Tempo disagreements",
        queries.len()
    );
}
