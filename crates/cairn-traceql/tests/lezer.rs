//! Parse acceptance against Grafana's own TraceQL grammar, `@grafana/lezer-traceql`, the
//! grammar of the query editor of Grafana's Tempo data source: every query of
//! `tests/lezer/corpus.txt` must be accepted by both or rejected by both.
//!
//! Where the two differ, Tempo decides (it is what runs the queries; lezer is an editor
//! grammar, looser in places): such queries are listed in [`KNOWN`] with Tempo's verdict and
//! the reason, and our parser must give Tempo's verdict on them. Any other disagreement, a
//! listed query that no longer disagrees, or a listed query missing from the corpus fails the
//! test.
//!
//! The grammar is installed from npm (version pinned by `tests/lezer/package.json` and its
//! lock file) into `tests/lezer/node_modules` when missing. Without `node` and `npm` the test
//! fails: it never passes by skipping.

#[path = "lezer/known.rs"]
mod known;

use std::path::Path;

use cairn_syntax::lezer::Acceptance;
use known::KNOWN;

#[test]
fn lezer_and_cairn_agree_on_the_corpus() {
    let acceptance = Acceptance {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lezer"),
        package: "@grafana/lezer-traceql",
        authority: "Tempo",
    };
    acceptance.check(550, KNOWN, |q| {
        cairn_traceql::parse(q)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}
