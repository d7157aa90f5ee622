//! The `cairn` binary: a thin command line over `cairn-server`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_server::Config;
use clap::{Parser, Subcommand};

mod slo;

/// Cairn: metrics backend in one binary (Prometheus remote write, Parquet on object storage).
#[derive(Parser)]
#[command(name = "cairn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// YAML config file; without it every setting has its default.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// Listen address, overriding `server.listen` (e.g. 127.0.0.1:0 for a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory, overriding `storage.data_dir`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Forward protocol listen address, overriding `server.forward_listen` ("" turns it
        /// off).
        #[arg(long)]
        forward_listen: Option<String>,
        /// OTLP/gRPC listen address, overriding `server.otlp_grpc_listen` ("" turns it off).
        #[arg(long)]
        otlp_grpc_listen: Option<String>,
        /// OTLP/HTTP listen address, overriding `server.otlp_http_listen` ("" turns it off).
        #[arg(long)]
        otlp_http_listen: Option<String>,
    },
    /// Validate files without starting anything.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// SLOs: compile Sloth and OpenSLO files into rules, validate them, show their status.
    Slo {
        #[command(subcommand)]
        what: slo::SloCommand,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Validate a config file: prints "config OK" or the error (exit code 1).
    Config {
        /// The file.
        file: PathBuf,
    },
    /// Validate Prometheus rule files as `promtool check rules` does (exit code 1 on error).
    Rules {
        /// The files are in Loki's ruler format (LogQL metric queries), not Prometheus'.
        #[arg(long)]
        logql: bool,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Slo { what } => slo::run(what),
        Command::Check {
            what: CheckCommand::Config { file },
        } => match Config::load(&file) {
            // The rule and SLO files it names are part of the config, as for `promtool check
            // config`.
            Ok(c) => match cairn_server::load_rules(&c) {
                Ok(_) => {
                    println!("config OK");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Check {
            what: CheckCommand::Rules { logql, files },
        } => check_rules(
            &files,
            if logql {
                cairn_rules::QueryLang::LogQL
            } else {
                cairn_rules::QueryLang::PromQL
            },
        ),
        Command::Serve {
            config,
            listen,
            data_dir,
            forward_listen,
            otlp_grpc_listen,
            otlp_http_listen,
        } => match serve(
            config,
            listen,
            data_dir,
            [forward_listen, otlp_grpc_listen, otlp_http_listen],
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cairn: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Prints `promtool check rules`' report for each file; fails when any file is bad.
fn check_rules(files: &[PathBuf], lang: cairn_rules::QueryLang) -> ExitCode {
    let mut failed = false;
    for f in files {
        let name = f.display().to_string();
        println!("Checking {name}");
        let result = std::fs::read_to_string(f)
            .map_err(|e| format!("{name}: {e}"))
            .and_then(|text| {
                cairn_rules::parse_rule_file_in(&name, &text, lang).map_err(|e| e.to_string())
            });
        match result {
            Ok(file) => {
                let n: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                println!("  SUCCESS: {n} rules found");
            }
            Err(e) => {
                failed = true;
                eprintln!("  FAILED:");
                eprintln!("{e}");
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// An optional listen address as given on the command line: empty turns the listener off.
fn optional_addr(flag: &str, value: &str) -> anyhow::Result<Option<SocketAddr>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    value
        .trim()
        .parse()
        .map(Some)
        .with_context(|| format!("--{flag}: invalid listen address {value:?}"))
}

fn serve(
    config_file: Option<PathBuf>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    [forward, grpc, otlp_http]: [Option<String>; 3],
) -> anyhow::Result<()> {
    let mut config = match &config_file {
        Some(f) => Config::load(f)?,
        None => Config::default(),
    };
    if let Some(v) = forward {
        config.server.forward_listen = optional_addr("forward-listen", &v)?;
    }
    if let Some(v) = grpc {
        config.server.otlp_grpc_listen = optional_addr("otlp-grpc-listen", &v)?;
    }
    if let Some(v) = otlp_http {
        config.server.otlp_http_listen = optional_addr("otlp-http-listen", &v)?;
    }
    if let Some(l) = listen {
        config.server.listen = l;
    }
    if let Some(d) = data_dir {
        config.storage.data_dir = d;
    }
    cairn_server::init_logging(&config.server)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let data = config.storage.data_dir.display().to_string();
    let objects = config.object_store_description();
    let source = config_file.map_or_else(
        || "no config file, defaults".to_string(),
        |f| format!("config {}", f.display()),
    );
    runtime.block_on(cairn_server::run(config, |l| {
        let addr = l.http;
        println!(
            "cairn listening on http://{addr} (remote write: /api/v1/write, Prometheus API: /api/v1/..., Loki API: /loki/api/v1/..., Tempo API: /api/traces, /api/search, metrics: /metrics)"
        );
        if let Some(a) = l.otlp_grpc {
            println!("cairn OTLP/gRPC on {a}");
        }
        if let Some(a) = l.otlp_http {
            println!("cairn OTLP/HTTP on http://{a} (/v1/logs, /v1/traces, /v1/metrics)");
        }
        if let Some(a) = l.forward {
            println!("cairn forward protocol on {a}");
        }
        println!("cairn data directory {data} (WAL in {data}/wal), blocks in {objects}; {source}");
    }))?;
    Ok(())
}
