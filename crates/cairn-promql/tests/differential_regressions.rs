//! Cases where the differential test against a real Prometheus (`tests/e2e_promql_diff.rs`)
//! caught the engine answering differently, written in the promqltest language so that they
//! run in milliseconds. Prometheus' own scripts have these cases only next to native histogram
//! series, which sets them aside.

use cairn_promql::promqltest::{Outcome, run_script};
use cairn_promql::{Engine, EngineOptions};

const SCRIPT: &str = r#"
load 1m
  m{k="a"} 1
  m{k="b"} NaN
  m{k="c"} 3
  m{k="d"} -Inf

# NaN sorts last in both directions.
eval_ordered instant at 0m sort_desc(m)
  m{k="c"} 3
  m{k="a"} 1
  m{k="d"} -Inf
  m{k="b"} NaN

eval_ordered instant at 0m sort(m)
  m{k="d"} -Inf
  m{k="a"} 1
  m{k="c"} 3
  m{k="b"} NaN

# clamp, clamp_min and clamp_max keep NaN (Go's math.Max and math.Min return NaN).
eval instant at 0m clamp(m, 0, 2)
  {k="a"} 1
  {k="b"} NaN
  {k="c"} 2
  {k="d"} 0

eval instant at 0m clamp_min(m, 2)
  {k="a"} 2
  {k="b"} NaN
  {k="c"} 3
  {k="d"} 2

eval instant at 0m clamp_max(m, 2)
  {k="a"} 1
  {k="b"} NaN
  {k="c"} 2
  {k="d"} -Inf

# Date functions read time.Unix(int64(v), 0): truncation towards zero, and NaN or an
# infinity becomes the smallest int64, whose date Go's calendar arithmetic wraps around.
eval instant at 0m year(m)
  {k="a"} 1970
  {k="b"} 292277026596
  {k="c"} 1970
  {k="d"} 292277026596

eval instant at 0m minute(vector(-0.5))
  {} 0
"#;

#[tokio::test]
async fn answers_found_wrong_by_the_differential_test() {
    let engine = Engine::new(EngineOptions::default());
    let report = run_script("differential_regressions.test", SCRIPT, &engine).await;
    assert_eq!(report.cases.len(), 7, "every eval is a case");
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Passed)
        .map(|c| format!("line {} {}: {:?}", c.line, c.expr, c.outcome))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
