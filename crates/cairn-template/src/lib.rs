//! Go's `text/template` for Cairn: alert labels and annotations (Prometheus' template
//! language, with `$labels`, `$value`, `humanize`, `query`) and notification templates
//! (Alertmanager's, with `.CommonLabels`, `range .Alerts.Firing`, `template "slack.default.title"`).
//!
//! A [`Template`] is parsed against a [`Funcs`] table and executed over a dynamic [`Value`].
//! Invariants: output matches Go's for the supported language (printing follows Go's `fmt`
//! `%v`, a missing map key prints like Go's `missingkey=zero`: `""` in a map of strings,
//! `<no value>` elsewhere); templates come from configuration and may be hostile, so parsing
//! is bounded in nesting depth and execution in steps, nesting, call depth and output size
//! ([`Limits`], sized so an execution fits in half of a 2 MiB thread stack), and no input
//! panics. Every function declares the [`Arity`] of its Go signature, and a call with another
//! number of arguments fails before they are evaluated, as Go's does. Deliberate differences from Go: `eq`/`lt`... compare ints with floats
//! numerically (Go refuses), missing fields are never errors, `call` is refused.
//!
//! Go methods on data are replaced by built-in methods on values: on a map `SortedPairs`,
//! `Names`, `Values`, `Remove` and `String` (Alertmanager's `KV`, `alertname` first); on a
//! list `Firing` and `Resolved` (elements whose `Status` is `firing`/`resolved`, Alertmanager's
//! `Alerts`) and `Names`/`Values` (of `Name`/`Value` pairs); on times `Format`, `Unix`,
//! `UTC`, `Add`, `Sub`...; on durations `Seconds`, `String`... A map key of the same name wins
//! over a method. See [`Funcs::prometheus`] and [`Funcs::alertmanager`] for the data shapes
//! the callers build.
//!
//! ```
//! use cairn_template::{Funcs, PROMETHEUS_ALERT_PREAMBLE, Template, Value};
//!
//! let text = format!("{PROMETHEUS_ALERT_PREAMBLE}{{{{ $labels.job }}}} at {{{{ $value | humanize }}}}");
//! let t = Template::parse("__alert_HighLoad", &text, &Funcs::prometheus())?;
//! let data: Value = [
//!     ("Labels", Value::string_map([("job", "api")])),
//!     ("ExternalLabels", Value::string_map([])),
//!     ("ExternalURL", Value::from("http://cairn")),
//!     ("Value", Value::from(1234567.0)),
//! ]
//! .into_iter()
//! .collect();
//! assert_eq!(t.execute(&data)?, "api at 1.235M");
//! # Ok::<(), cairn_template::Error>(())
//! ```

mod alertmanager;
mod builtins;
mod error;
mod exec;
mod fmt;
mod funcs;
mod lex;
mod loki;
mod methods;
mod parse;
mod prometheus;
mod template;
mod timefmt;
mod value;

pub use error::{Error, Result};
pub use exec::Limits;
pub use funcs::{Arity, Func, Funcs};
pub use loki::{LINE_FUNC, TIMESTAMP_FUNC};
pub use prometheus::ALERT_PREAMBLE as PROMETHEUS_ALERT_PREAMBLE;
pub use template::Template;
pub use value::Value;
