//! `cairn slo ...`: compile SLO files into rule files, validate them, and show SLO status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_slo::{LoadOptions, compile, parse_alert_windows, parse_duration, parse_slo_file};
use clap::{Args, Subcommand};

/// SLO subcommands.
#[derive(Subcommand)]
pub(crate) enum SloCommand {
    /// Compile a Sloth or OpenSLO file into a Prometheus rule file (and, for SLIs over logs,
    /// a Loki ruler file).
    Generate {
        /// The SLO file.
        file: PathBuf,
        /// Write the rules here instead of standard output.
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        /// Write the LogQL SLI recordings (Loki's ruler format) here; required with `-o` when
        /// an SLO's SLI is LogQL. Without `-o` they follow the PromQL rules on standard
        /// output as a second YAML document.
        #[arg(long = "logql-out")]
        logql_out: Option<PathBuf>,
        #[command(flatten)]
        opts: SloOpts,
    },
    /// Validate SLO files: prints "<file>: N SLOs OK" or every error (exit code 1).
    Validate {
        /// The SLO files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        opts: SloOpts,
    },
    /// Print where every SLO of a running Cairn stands (from `GET /api/v1/slos`).
    Status {
        /// Cairn's base URL.
        #[arg(long, default_value = "http://127.0.0.1:9009")]
        url: String,
        /// Tenant (`X-Scope-OrgID`), when multi-tenancy is on.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Options shared by `generate` and `validate`.
#[derive(Args)]
pub(crate) struct SloOpts {
    /// Period of Sloth `prometheus/v1` SLOs (which cannot set one).
    #[arg(long, default_value = "30d")]
    period: String,
    /// Sloth `AlertWindows` files adding windows for other periods.
    #[arg(long = "windows")]
    windows: Vec<PathBuf>,
}

impl SloOpts {
    fn load(&self) -> anyhow::Result<LoadOptions> {
        let mut opts = LoadOptions {
            default_period: parse_duration(&self.period)
                .map_err(|e| anyhow::anyhow!("--period: {e}"))?,
            ..LoadOptions::default()
        };
        for f in &self.windows {
            let text = read(f)?;
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
                .with_context(|| format!("{}: invalid YAML", f.display()))?;
            let w = parse_alert_windows(value).with_context(|| f.display().to_string())?;
            opts.windows.insert(w);
        }
        Ok(opts)
    }
}

fn read(f: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))
}

/// Runs an SLO subcommand.
pub(crate) fn run(cmd: SloCommand) -> ExitCode {
    let result = match cmd {
        SloCommand::Generate {
            file,
            out,
            logql_out,
            opts,
        } => generate(&file, out.as_deref(), logql_out.as_deref(), &opts),
        SloCommand::Validate { files, opts } => validate(&files, &opts),
        SloCommand::Status { url, tenant } => status(&url, tenant.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cairn: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn generate(
    file: &Path,
    out: Option<&Path>,
    logql_out: Option<&Path>,
    opts: &SloOpts,
) -> anyhow::Result<ExitCode> {
    let text = read(file)?;
    let name = file.display().to_string();
    let parsed = match parse_slo_file(&name, &text, &opts.load()?) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let compiled = compile(&parsed);
    let yaml = compiled.to_yaml(&name);
    let logql = compiled.to_log_yaml(&name);
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    match (out, logql_out, &logql) {
        (Some(o), None, Some(_)) => {
            bail!(
                "{name} has SLIs over logs: name a file for their LogQL recording rules with --logql-out (the rules in {} read what they record)",
                o.display()
            );
        }
        (Some(o), _, _) => write(o, &yaml)?,
        (None, _, _) => stdout(&yaml)?,
    }
    match (logql_out, &logql) {
        (Some(l), Some(text)) => write(l, text)?,
        (None, Some(text)) if out.is_none() => stdout(&format!("---\n{text}"))?,
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

fn validate(files: &[PathBuf], opts: &SloOpts) -> anyhow::Result<ExitCode> {
    let load = opts.load()?;
    let mut ok = true;
    for f in files {
        let name = f.display().to_string();
        match parse_slo_file(&name, &read(f)?, &load) {
            Ok(p) => println!("{name}: {} SLOs OK", p.slos.len()),
            Err(errors) => {
                ok = false;
                for e in errors {
                    eprintln!("{e}");
                }
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn status(url: &str, tenant: Option<&str>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let endpoint = format!("{}/api/v1/slos", url.trim_end_matches('/'));
    let body: serde_json::Value = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let mut req = client.get(&endpoint);
        if let Some(t) = tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        let resp = req.send().await?;
        let code = resp.status();
        let text = resp.text().await?;
        if !code.is_success() {
            bail!("{endpoint}: {code}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{endpoint}: invalid JSON"))
    })?;
    let slos = body
        .pointer("/data/slos")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    print!("{}", table(&slos));
    Ok(ExitCode::SUCCESS)
}

fn pct(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{:.digits$}%", v * 100.0))
}

fn human(secs: Option<f64>) -> String {
    let Some(s) = secs else {
        return "-".to_string();
    };
    if s <= 0.0 {
        return "0".to_string();
    }
    // Two units at most, the smaller one only when it is not zero: 30d, 2d6h, 1h30m, 45s.
    let s = s as u64;
    let (big, big_unit, small, small_unit) = match s {
        0..60 => return format!("{s}s"),
        60..3600 => (s / 60, "m", s % 60, "s"),
        3600..86400 => (s / 3600, "h", s % 3600 / 60, "m"),
        _ => (s / 86400, "d", s % 86400 / 3600, "h"),
    };
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

/// The status answer as a table, one SLO per line.
fn table(slos: &[serde_json::Value]) -> String {
    let mut rows = vec![[
        "SLO".to_string(),
        "OBJECTIVE".to_string(),
        "WINDOW".to_string(),
        "SLI".to_string(),
        "BUDGET LEFT".to_string(),
        "TIME LEFT".to_string(),
        "BURN (1h)".to_string(),
        "EXHAUSTED IN".to_string(),
        "ALERTS".to_string(),
    ]];
    for s in slos {
        let f = |k: &str| s.get(k).and_then(serde_json::Value::as_f64);
        let burn = s
            .get("burn_rates")
            .and_then(|b| b.as_array())
            .and_then(|b| {
                b.iter()
                    .find(|x| x.get("window").and_then(|w| w.as_str()) == Some("1h"))
            })
            .and_then(|x| x.get("burn_rate"))
            .and_then(serde_json::Value::as_f64)
            .map_or_else(|| "-".to_string(), |b| format!("{b:.2}x"));
        let alerts: Vec<String> = s
            .get("alerts")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter(|x| x.get("state").and_then(|v| v.as_str()) != Some("inactive"))
                    .map(|x| {
                        format!(
                            "{}:{}",
                            x.get("severity").and_then(|v| v.as_str()).unwrap_or(""),
                            x.get("state").and_then(|v| v.as_str()).unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows.push([
            s.get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            format!("{}%", f("objective").unwrap_or(0.0)),
            human(f("window_seconds")),
            pct(f("current_sli"), 3),
            pct(f("error_budget_remaining"), 1),
            human(f("error_budget_remaining_seconds")),
            burn,
            human(f("exhaustion_forecast_seconds")),
            if alerts.is_empty() {
                "ok".to_string()
            } else {
                alerts.join(",")
            },
        ]);
    }
    let mut widths = [0usize; 9];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn durations_read_like_people_write_them() {
        let h = |s: f64| human(Some(s));
        assert_eq!(h(30.0 * 86400.0), "30d");
        assert_eq!(h(2.0 * 86400.0 + 6.0 * 3600.0), "2d6h");
        assert_eq!(h(5400.0), "1h30m");
        assert_eq!(h(3600.0), "1h");
        assert_eq!(h(90.0), "1m30s");
        assert_eq!(h(45.0), "45s");
        assert_eq!(h(0.0), "0");
        assert_eq!(human(None), "-");
    }
}
