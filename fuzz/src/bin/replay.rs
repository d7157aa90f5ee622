//! Runs a fuzz target over files on a stable toolchain: crash reproduction and corpus checks
//! without libFuzzer.
//!
//! `cargo run --bin replay -- <target> <file or directory>...`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, paths)) = args.split_first() else {
        eprintln!("usage: replay <target> <file or directory>...");
        return ExitCode::from(2);
    };
    let Some((_, target)) = cairn_wire_fuzz::TARGETS.iter().find(|(n, _)| n == name) else {
        let names: Vec<_> = cairn_wire_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("unknown target {name:?}; targets: {}", names.join(", "));
        return ExitCode::from(2);
    };
    let mut runs = 0;
    for p in paths {
        match run(Path::new(p), *target, &mut runs) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("{p}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{name}: {runs} inputs ran without a crash");
    ExitCode::SUCCESS
}

fn run(p: &Path, target: fn(&[u8]), runs: &mut usize) -> std::io::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            run(&e.path(), target, runs)?;
        }
        return Ok(());
    }
    let data = std::fs::read(p)?;
    target(&data);
    *runs += 1;
    Ok(())
}
