//! LogQL conformance suite: scripts in `tests/conformance/*.test` load log streams into a
//! `MemoryLogQuerier`, run queries through the `Engine` and compare the answers with results
//! derived by hand from Loki's documentation and Loki's own tests (each case names its source).
//! Every failure is reported with its file, line and a diff, and fails the test. Cases that
//! fail because the engine is known to be wrong or incomplete live in
//! `tests/conformance/pending/*.test`: they run, are reported as pending with a count, never
//! count as passing, and a pending case that starts to pass fails the test until it is moved
//! back to the main suite.
//!
//! Every script runs twice, over the store's default chunks and over chunks of two entries, so
//! that chunk boundaries cannot hide behind small data. `cargo test -p cairn-logql --test
//! conformance -- --nocapture` prints the per-file table; the table and every failure are also
//! written to `target/logql-conformance-failures.txt`.
//!
//! # Script format
//!
//! The format follows Prometheus' promqltest and Loki's own `logqltest`, with log queries
//! added. A script is a sequence of commands; a command starts in the first column and its
//! block is the indented lines that follow, up to a blank line or the next line in the first
//! column. `#` starts a comment when it begins a line or follows whitespace outside quotes.
//!
//! ## `clear`
//!
//! Forgets every loaded stream.
//!
//! ## `load`
//!
//! ```text
//! load
//!   {app="a", pod="p1"} "level=info msg=hi" @ 10s [repeat every 10s for 3] [metadata trace="t1"]
//! ```
//!
//! Each line adds entries to one stream: the stream labels, the line, `@` and the timestamp of
//! the first entry, then optionally `[repeat every <step> for <count>]` (`count` entries,
//! `step` apart) and `[metadata name="value" ...]` (structured metadata of every entry; a name
//! may be quoted). Lines are `"..."` strings with Go escapes (`\n`, `\t`, `\"`, `\x1b`,
//! `\u00e9`...) or raw `` `...` `` strings. `{{.i}}` in a line becomes the entry's 0-based
//! index among the generated ones. Loads add up until `clear`. As Loki's push path does, a
//! stream label with an empty value is dropped before the entries are stored.
//!
//! Times and durations are Go durations (`0`, `90s`, `1m30s`, `1.5h`, `250ms`, `10us`, `3ns`)
//! counted from the Unix epoch.
//!
//! ## `eval`
//!
//! ```text
//! eval instant at <time> <metric query>
//! eval range from <t0> to <t1> step <step> <metric query>
//! eval log from <t0> to <t1> [direction forward|backward] [limit <n>] [interval <d>]
//!          [step <d>] [categorized] <log query>
//! ```
//!
//! An instant query runs with `start = end = <time>` and step 0; a range query evaluates the
//! steps `t0, t0 + step, ... <= t1`. A log query selects entries in `[t0, t1)`; its defaults
//! are Loki's: direction `backward`, limit 100, no interval, and a step of
//! `max(1s, (t1 - t0) / 250)` (which log queries ignore). The block below an eval holds exactly
//! one kind of expectation:
//!
//! - Series (metric queries): `{labels} <value>` for an instant query, one value per step for a
//!   range query, `_` for a step without a point. Values are numbers, `NaN`, `Inf`, `+Inf`,
//!   `-Inf`, or promqltest's expansions `a+bxn` / `a-bxn` / `axn` (`n + 1` values from `a`,
//!   `b` apart). Series are compared as a set, unless the block holds `expect ordered`
//!   (instant queries: positions compared, as for `sort`). An instant answer must be a vector
//!   at the evaluation time, a range answer a matrix with points exactly at the steps.
//! - A scalar: a line holding only a number (instant queries of scalar expressions).
//! - Streams (log queries): a `{labels}` line per stream followed by its entries, one per line,
//!   `<time> "<line>"`, in the order the query returns them. Streams are compared as a set,
//!   entries in order. Labels are the flat form (stream labels, structured metadata, parsed
//!   labels). With `categorized`, stream labels are the categorized form and each entry may
//!   add `metadata {name="value"}` and `parsed {name="value"}` (absent means none).
//! - `expect empty`: no series, no entries.
//! - `expect fail [status <code>] [msg: <substring> | regex: <pattern>]`: the query fails (at
//!   parse or evaluation time), its message contains the substring or matches the pattern,
//!   and its error maps to the HTTP status.
//!
//! In expected label sets, `name=~"re"` matches a value by a fully anchored regular
//! expression (for texts Loki takes from third-party libraries, such as JSON decoder errors).
//! An empty value is significant, as in Loki's answers: `name=""` asserts that the label is
//! present with an empty value (a json path that matches nothing, `logfmt --keep-empty`).
//!
//! Values compare equal when both are NaN, when they are equal, or when they differ by at
//! most `1e-9 * max(1, |a|, |b|)`.

#[path = "conformance/check.rs"]
mod check;
#[path = "conformance/run.rs"]
mod run;
#[path = "conformance/script.rs"]
mod script;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cairn_logql::{Engine, EngineOptions};
use run::{CaseResult, run_file};
use script::{Command, parse_script};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scripts_dir() -> PathBuf {
    manifest_dir().join("tests/conformance")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../target"))
}

/// The `.test` files directly in `dir`, sorted.
fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "test"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A script path relative to the crate, for reports.
fn shown(p: &Path) -> String {
    p.strip_prefix(manifest_dir())
        .unwrap_or(p)
        .display()
        .to_string()
}

fn report(r: &CaseResult, why: &str) -> String {
    format!(
        "{}:{}: {}\n{}\n",
        shown(&r.file),
        r.line,
        r.query,
        why.trim_end()
    )
}

/// Every script parses and holds cases; a malformed script would silently test nothing.
#[test]
fn scripts_are_well_formed() {
    let dir = scripts_dir();
    let mut files = test_files(&dir);
    files.extend(test_files(&dir.join("pending")));
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("script is readable");
        let s = parse_script(&text);
        for e in &s.errors {
            problems.push(format!("{}:{}", shown(f), e));
        }
        if !s.commands.iter().any(|c| matches!(c, Command::Eval(_))) {
            problems.push(format!("{}: no eval", shown(f)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runs every script; fails on any failing case of the main suite and on any pending case that
/// passes (it belongs back in the main suite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logql_conformance() {
    let dir = scripts_dir();
    let engine = Engine::new(EngineOptions::default());
    let mut table = String::from("LogQL conformance\n");
    let mut failures = String::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in test_files(&dir) {
        let results = run_file(&engine, &f).await;
        let bad: Vec<&CaseResult> = results.iter().filter(|r| r.failure.is_some()).collect();
        passed += results.len() - bad.len();
        failed += bad.len();
        let _ = writeln!(
            table,
            "  {:<54} {:>4} cases {:>4} passed {:>4} failed",
            shown(&f),
            results.len(),
            results.len() - bad.len(),
            bad.len()
        );
        for r in bad {
            failures.push_str(&report(r, r.failure.as_deref().unwrap_or_default()));
            failures.push('\n');
        }
    }
    let (mut pending, mut promoted) = (0usize, String::new());
    for f in test_files(&dir.join("pending")) {
        let results = run_file(&engine, &f).await;
        let good: Vec<&CaseResult> = results.iter().filter(|r| r.failure.is_none()).collect();
        pending += results.len() - good.len();
        let _ = writeln!(
            table,
            "  {:<54} {:>4} cases {:>4} pending {:>4} now passing",
            shown(&f),
            results.len(),
            results.len() - good.len(),
            good.len()
        );
        for r in good {
            promoted.push_str(&report(
                r,
                "passes now: move it from pending/ to the main suite",
            ));
        }
    }
    let _ = writeln!(
        table,
        "  total: {} passed, {failed} failed, {pending} pending (not counted as passing)",
        passed
    );
    println!("{table}");
    let out = target_dir().join("logql-conformance-failures.txt");
    let _ = std::fs::create_dir_all(target_dir());
    let _ = std::fs::write(&out, format!("{table}\n{failures}{promoted}"));
    assert!(
        failures.is_empty() && promoted.is_empty(),
        "{failed} failing LogQL conformance cases (also in {}):\n\n{failures}{promoted}",
        out.display()
    );
}
