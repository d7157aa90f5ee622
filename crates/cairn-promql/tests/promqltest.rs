//! Runs Prometheus' promqltest scripts through the engine, prints the per-file table, writes
//! every failure to `target/promqltest-failures.txt`, and holds the ratchet: the number of
//! passing core cases never drops below `tests/promqltest_baseline.txt`.

use std::path::{Path, PathBuf};

use cairn_promql::promqltest::{
    core_passed, render_failures, render_set_aside, render_table, run_dir,
};
use cairn_promql::{Engine, EngineOptions};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scripts_dir() -> PathBuf {
    // The conformance data lives beside the repository checkout.
    let candidates = [
        manifest_dir().join("../../../shared/conformance/promqltest"),
        manifest_dir().join("../../shared/conformance/promqltest"),
    ];
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../target"))
}

#[tokio::test]
async fn promqltest_conformance() {
    let dir = scripts_dir();
    assert!(
        Path::new(&dir).is_dir(),
        "promqltest scripts not found at {}",
        dir.display()
    );
    let engine = Engine::new(EngineOptions::default());
    let reports = run_dir(&dir, &engine).await.expect("scripts are readable");
    assert!(!reports.is_empty(), "no scripts in {}", dir.display());
    println!("{}", render_table(&reports));
    println!(
        "core-script cases set aside as native-histogram:\n{}",
        render_set_aside(&reports)
    );

    let failures = render_failures(&reports);
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("target dir is writable");
    let out = target.join("promqltest-failures.txt");
    std::fs::write(&out, &failures).expect("failures file is writable");
    println!("failures written to {}", out.display());

    let baseline: usize =
        std::fs::read_to_string(manifest_dir().join("tests/promqltest_baseline.txt"))
            .expect("baseline file exists")
            .trim()
            .parse()
            .expect("baseline is a number");
    let passed = core_passed(&reports);
    assert!(
        passed >= baseline,
        "core promqltest cases passing dropped to {passed}, baseline is {baseline}"
    );
}
