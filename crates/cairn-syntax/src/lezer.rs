//! The harness of the parse-acceptance tests against Grafana's editor grammars
//! (`@grafana/lezer-logql`, `@grafana/lezer-traceql`): every query of a corpus must be accepted
//! by both lezer and our parser or rejected by both. Where the two differ, the language's
//! own implementation (Loki, Tempo) decides: such queries are listed as [`Known`] with its
//! verdict and the reason, and our parser must give that verdict. Any other disagreement, a
//! listed query that no longer disagrees, or a listed query missing from the corpus fails.
//!
//! The grammar is installed from npm (version pinned by the test's `package.json` and its
//! lock file) into its `node_modules` when missing. Without `node` and `npm` the test fails:
//! it never passes by skipping.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A parser's verdict on a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The query parses.
    Accepts,
    /// The query is refused.
    Rejects,
}

/// A query where lezer is not the language's own implementation.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    /// The query, as in the corpus.
    pub query: &'static str,
    /// The language implementation's verdict, which ours must give.
    pub verdict: Verdict,
    /// Why lezer differs.
    pub why: &'static str,
}

/// One acceptance test: a corpus, a lezer grammar, and who decides where they differ.
#[derive(Clone, Debug)]
pub struct Acceptance {
    /// The directory of `corpus.txt` and of the `package.json` pinning the grammar.
    pub dir: PathBuf,
    /// The npm package of the grammar.
    pub package: &'static str,
    /// The implementation that decides disagreements (`Loki`, `Tempo`), for messages.
    pub authority: &'static str,
}

/// Parses each query read from standard input (each ended by a NUL) with the grammar of
/// `PACKAGE` and prints one line per query: `accept`, or `reject <offset>` with the offset (in
/// UTF-16 code units) of the first error node. lezer never throws on bad input: it recovers and
/// marks what it could not parse with error nodes (`⚠`), so a query is accepted exactly when
/// its tree has none. Run with `--eval` in the test's directory, whose `node_modules` the
/// import resolves against.
const PARSE_MJS: &str = r#"
import { readFileSync } from 'node:fs';
import { parser } from 'PACKAGE';

const input = readFileSync(0, 'utf8');
const queries = input.split('\0').slice(0, -1);
const lines = [];
for (const query of queries) {
  let errorAt = -1;
  parser.parse(query).iterate({
    enter(node) {
      if (errorAt >= 0) return false;
      if (node.type.isError) {
        errorAt = node.from;
        return false;
      }
      return true;
    },
  });
  lines.push(errorAt < 0 ? 'accept' : `reject ${errorAt}`);
}
process.stdout.write(lines.map((l) => l + '\n').join(''));
"#;

/// The corpus' records, in order: one query a line, or the lines between `<<<` and `>>>`
/// lines; blank lines and lines starting with `#` outside records are comments.
pub fn parse_corpus(text: &str) -> Vec<String> {
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

impl Acceptance {
    /// The queries of `corpus.txt`.
    pub fn corpus(&self) -> Vec<String> {
        let path = self.dir.join("corpus.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        parse_corpus(&text)
    }

    fn pinned_version(&self, package_json: &Path) -> Option<String> {
        let text = std::fs::read_to_string(package_json).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.get("version")
            .or_else(|| v.get("dependencies")?.get(self.package))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// Installs the pinned grammar with `npm ci` unless that very version is already there.
    fn ensure_lezer(&self) {
        let package = self.package;
        let wanted = self
            .pinned_version(&self.dir.join("package.json"))
            .unwrap_or_else(|| panic!("package.json pins {package}"));
        let installed = self
            .dir
            .join("node_modules")
            .join(package)
            .join("package.json");
        if self.pinned_version(&installed).as_deref() == Some(wanted.as_str()) {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&self.dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run npm to install {package} {wanted} (is Node.js installed?): {e}")
            });
        assert!(
            status.success(),
            "npm ci in {} failed: {status}",
            self.dir.display()
        );
        assert_eq!(
            self.pinned_version(&installed).as_deref(),
            Some(wanted.as_str()),
            "npm ci did not install {package} {wanted}"
        );
    }

    /// lezer's verdict per query: `Ok(())` or `Err(offset of the first error node)`.
    pub fn lezer_verdicts(&self, queries: &[String]) -> Vec<Result<(), usize>> {
        self.ensure_lezer();
        let mut child = Command::new("node")
            .args(["--input-type=module", "--eval"])
            .arg(PARSE_MJS.replace("PACKAGE", self.package))
            .current_dir(&self.dir)
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
            "node failed to parse the corpus: {}",
            out.status
        );
        let text = String::from_utf8(out.stdout).expect("node prints UTF-8");
        let verdicts: Vec<Result<(), usize>> = text
            .lines()
            .map(|l| match l.strip_prefix("reject ") {
                Some(at) => Err(at.parse().expect("offset")),
                None if l == "accept" => Ok(()),
                None => panic!("unexpected line from node: {l}"),
            })
            .collect();
        assert_eq!(verdicts.len(), queries.len(), "one verdict per query");
        verdicts
    }

    /// Runs the corpus through lezer and `ours` (the error's text on rejection) and fails
    /// with every problem found; the corpus must hold at least `min_queries` queries.
    pub fn check(
        &self,
        min_queries: usize,
        known: &[Known],
        ours: impl Fn(&str) -> Result<(), String>,
    ) {
        let authority = self.authority;
        let queries = self.corpus();
        assert!(
            queries.len() >= min_queries,
            "corpus has {} queries",
            queries.len()
        );
        let verdicts = self.lezer_verdicts(&queries);

        let mut problems = Vec::new();
        let mut listed = HashSet::new();
        for k in known {
            if !listed.insert(k.query) {
                problems.push(format!("listed twice in KNOWN: {:?}", k.query));
            }
        }
        let corpus_set: HashSet<&str> = queries.iter().map(String::as_str).collect();
        for k in known {
            if !corpus_set.contains(k.query) {
                problems.push(format!(
                    "listed in KNOWN but not in the corpus: {:?}",
                    k.query
                ));
            }
        }
        let known_of = |q: &str| known.iter().find(|k| k.query == q);

        let (mut accepted, mut disagreements) = (0, 0);
        for (q, lezer) in queries.iter().zip(&verdicts) {
            let ours = ours(q);
            let lezer_accepts = lezer.is_ok();
            accepted += usize::from(ours.is_ok());
            let ours_text = match &ours {
                Ok(()) => "accepts".to_string(),
                Err(e) => format!("rejects ({e})"),
            };
            let lezer_text = match lezer {
                Ok(()) => "accepts".to_string(),
                Err(at) => format!("rejects (error node at offset {at})"),
            };
            match known_of(q) {
                Some(k) => {
                    disagreements += 1;
                    let decided_accepts = k.verdict == Verdict::Accepts;
                    if lezer_accepts == decided_accepts {
                        problems.push(format!(
                            "lezer now agrees with {authority}, drop it from KNOWN: {q:?}: lezer {lezer_text}"
                        ));
                    }
                    if ours.is_ok() != decided_accepts {
                        problems.push(format!(
                            "cairn differs from {authority} ({:?}, {}): {q:?}: cairn {ours_text}",
                            k.verdict, k.why
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
            "{} queries, {accepted} accepted by cairn, {disagreements} known lezer/{authority} disagreements",
            queries.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_format() {
        let text = "# c\n\na\n<<<\n# x\nb\n>>>\n<<<\n>>>\n  c \n";
        assert_eq!(parse_corpus(text), ["a", "# x\nb", "", "  c "]);
    }
}
