//! A runner for Prometheus' promqltest scripts (`load`, `clear`, `eval instant`, `eval range`,
//! `expect ...`): every `eval` is one case, run through [`crate::Engine`] over a
//! [`crate::MemoryQuerier`] and compared with the expected result the way Prometheus'
//! own runner compares (values within a relative 1e-6, NaN equal to NaN).
//!
//! Cases are sorted into categories: core PromQL, native histograms (not stored yet, so
//! reported as unsupported without running), and experimental features behind Prometheus
//! feature flags (run, but reported apart from the core).

mod parser;
mod runner;

use std::fmt::Write as _;
use std::path::Path;

pub use parser::{
    Command, EvalCase, EvalKind, Expectation, Expected, SeriesSpec, parse_duration_ms, parse_script,
};
pub use runner::run_script;

/// Scripts exercising features behind Prometheus feature flags.
pub const EXPERIMENTAL_FILES: [&str; 7] = [
    "limit.test",
    "info.test",
    "duration_expression.test",
    "extended_vectors.test",
    "fill-modifier.test",
    "start_timestamps.test",
    "type_and_unit.test",
];

/// The script devoted to native histograms.
pub const NATIVE_HISTOGRAM_FILE: &str = "native_histograms.test";

/// Which bar a case is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Core PromQL: the bar is 100%.
    Core,
    /// Needs native histogram samples.
    NativeHistogram,
    /// Behind a Prometheus feature flag.
    Experimental,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// As expected.
    Passed,
    /// Not as expected: why.
    Failed(String),
    /// Not run: why.
    Unsupported(String),
}

/// One case's result.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// 1-based line in the script.
    pub line: usize,
    /// The expression (or the unparsable line).
    pub expr: String,
    /// Its category.
    pub category: Category,
    /// What happened.
    pub outcome: Outcome,
}

/// Counts of outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Not run.
    pub unsupported: usize,
}

impl Counts {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Unsupported(_) => self.unsupported += 1,
        }
    }
}

/// All case results of one script.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The script's file name.
    pub file: String,
    /// Every case in script order.
    pub cases: Vec<CaseResult>,
}

impl FileReport {
    /// Counts over all cases, or over one category.
    pub fn counts(&self, category: Option<Category>) -> Counts {
        let mut c = Counts::default();
        for case in &self.cases {
            if category.is_none_or(|k| k == case.category) {
                c.add(&case.outcome);
            }
        }
        c
    }
}

/// The category of every case of a file, before looking at its data.
pub fn file_category(file: &str) -> Category {
    if EXPERIMENTAL_FILES.contains(&file) {
        Category::Experimental
    } else if file == NATIVE_HISTOGRAM_FILE {
        Category::NativeHistogram
    } else {
        Category::Core
    }
}

/// Runs every `*.test` file of `dir`, in name order.
pub async fn run_dir(dir: &Path, engine: &crate::Engine) -> std::io::Result<Vec<FileReport>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The feature-flagged script runs with its flag on, as Prometheus runs it.
        let report = if name == "type_and_unit.test" {
            let flagged = crate::Engine::new(crate::EngineOptions {
                type_and_unit_labels: true,
                ..engine.options().clone()
            });
            run_script(&name, &text, &flagged).await
        } else {
            run_script(&name, &text, engine).await
        };
        out.push(report);
    }
    Ok(out)
}

/// The per-file and per-category table.
pub fn render_table(reports: &[FileReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:>7} {:>7} {:>12}",
        "file", "passed", "failed", "unsupported"
    );
    for r in reports {
        let c = r.counts(None);
        let _ = writeln!(
            s,
            "{:<28} {:>7} {:>7} {:>12}",
            r.file, c.passed, c.failed, c.unsupported
        );
    }
    for (name, cat) in [
        ("total core", Category::Core),
        ("total native-histogram", Category::NativeHistogram),
        ("total experimental", Category::Experimental),
    ] {
        let mut t = Counts::default();
        for r in reports {
            let c = r.counts(Some(cat));
            t.passed += c.passed;
            t.failed += c.failed;
            t.unsupported += c.unsupported;
        }
        let _ = writeln!(
            s,
            "{:<28} {:>7} {:>7} {:>12}",
            name, t.passed, t.failed, t.unsupported
        );
    }
    s
}

/// The cases of core scripts set aside as native-histogram, counted per file and reason.
pub fn render_set_aside(reports: &[FileReport]) -> String {
    let mut s = String::new();
    for r in reports {
        if file_category(&r.file) != Category::Core {
            continue;
        }
        let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
        for c in &r.cases {
            if let (Category::NativeHistogram, Outcome::Unsupported(why)) = (c.category, &c.outcome)
            {
                *by_reason.entry(why.as_str()).or_default() += 1;
            }
        }
        for (why, n) in by_reason {
            let _ = writeln!(s, "{:<28} {n:>4}  {why}", r.file);
        }
    }
    s
}

/// Every failing case with its reason, one block each.
pub fn render_failures(reports: &[FileReport]) -> String {
    let mut s = String::new();
    for r in reports {
        for c in &r.cases {
            if let Outcome::Failed(why) = &c.outcome {
                let _ = writeln!(
                    s,
                    "{}:{} [{:?}] {}\n  {}\n",
                    r.file,
                    c.line,
                    c.category,
                    c.expr,
                    why.replace('\n', "\n  ")
                );
            }
        }
    }
    s
}

/// Passed core cases over all reports: the number the ratchet holds.
pub fn core_passed(reports: &[FileReport]) -> usize {
    reports
        .iter()
        .map(|r| r.counts(Some(Category::Core)).passed)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cases_pass_fail_or_are_unsupported() {
        let script = "load 1m\n  up{job=\"a\"} 1+1x5\n  hist {{count:1}}\n\n\
            eval instant at 2m up\n  up{job=\"a\"} 3\n\n\
            eval instant at 2m up\n  up{job=\"a\"} 4\n\n\
            eval instant at 2m hist\n\n\
            eval range from 0 to 2m step 1m up * 2\n  {job=\"a\"} 2 4 6\n\n\
            eval instant at 2m rate(up[5m])\n  expect info\n  {job=\"a\"} 0.00833333333333\n\n\
            eval instant at 2m sum(\n  expect fail\n\n\
            eval instant at 2m rate(up[5m])\n  expect info msg: another info\n  {job=\"a\"} 0.00833333333333\n";
        let r = run_script("x.test", script, &crate::Engine::default()).await;
        let outcomes: Vec<&Outcome> = r.cases.iter().map(|c| &c.outcome).collect();
        assert_eq!(outcomes.len(), 7, "{outcomes:?}");
        assert_eq!(outcomes[0], &Outcome::Passed);
        assert!(
            matches!(outcomes[1], Outcome::Failed(_)),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Outcome::Unsupported(_)));
        assert_eq!(r.cases[2].category, Category::NativeHistogram);
        assert_eq!(outcomes[3], &Outcome::Passed);
        assert_eq!(
            outcomes[4],
            &Outcome::Passed,
            "rate of a non-counter name is an info"
        );
        assert_eq!(outcomes[5], &Outcome::Passed);
        assert!(
            matches!(outcomes[6], Outcome::Failed(_)),
            "an info no expect line accepts fails the case"
        );
        let c = r.counts(Some(Category::Core));
        assert_eq!((c.passed, c.failed, c.unsupported), (4, 2, 0));
        assert!(render_failures(&[r]).contains("x.test:8"));
    }

    /// A case is set aside only when it reads native histogram data.
    #[tokio::test]
    async fn only_cases_reading_native_histograms_are_set_aside() {
        let script = "load_with_nhcb 1m\n  h_bucket{le=\"1\"} 1+1x5\n  h_bucket{le=\"+Inf\"} 2+2x5\n\n\
            load 1m\n  m{kind=\"float\"} 1+1x5\n  m{kind=\"hist\"} {{count:1}}\n\n\
            eval instant at 2m histogram_quantile(0.5, h_bucket)\n  {} 1\n\n\
            eval instant at 2m histogram_count(h)\n  {} 3\n\n\
            eval instant at 2m m{kind=\"float\"}\n  m{kind=\"float\"} 3\n\n\
            eval instant at 2m {kind=~\"h.*\"}\n\n\
            clear\n\n\
            load 1m\n  h 1\n\n\
            eval instant at 1m h\n  h 1\n";
        let r = run_script("functions.test", script, &crate::Engine::default()).await;
        let got: Vec<(Category, &Outcome)> =
            r.cases.iter().map(|c| (c.category, &c.outcome)).collect();
        let nhcb =
            Outcome::Unsupported("native histogram with custom buckets (load_with_nhcb)".into());
        let loaded = Outcome::Unsupported("native histogram samples loaded with {{...}}".into());
        assert_eq!(
            got,
            vec![
                (Category::Core, &Outcome::Passed),
                (Category::NativeHistogram, &nhcb),
                (Category::Core, &Outcome::Passed),
                (Category::NativeHistogram, &loaded),
                (Category::Core, &Outcome::Passed),
            ]
        );
        assert!(render_set_aside(&[r]).contains("functions.test"));
    }
}
