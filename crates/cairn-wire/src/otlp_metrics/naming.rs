//! Metric, unit and label names as Prometheus' OTLP receiver builds them (the
//! `github.com/prometheus/otlptranslator` package: `metric_namer.go`, `unit_namer.go`,
//! `label_namer.go`, `strconv.go`), down to the corner cases its tests pin.

use std::fmt;

/// How OTLP names become Prometheus names (Prometheus' `otlp.translation_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TranslationStrategy {
    /// Invalid characters become `_`; unit and type suffixes are added (the default).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Names kept as sent (UTF-8); unit and type suffixes are added.
    NoUtf8EscapingWithSuffixes,
    /// Invalid characters become `_`; no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Names kept exactly as sent.
    NoTranslation,
}

impl TranslationStrategy {
    /// Every strategy, in the order Prometheus documents them.
    pub const ALL: [TranslationStrategy; 4] = [
        TranslationStrategy::UnderscoreEscapingWithSuffixes,
        TranslationStrategy::NoUtf8EscapingWithSuffixes,
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        TranslationStrategy::NoTranslation,
    ];

    /// The strategy named as in Prometheus' configuration.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Prometheus' name for it.
    pub fn name(self) -> &'static str {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => "UnderscoreEscapingWithSuffixes",
            TranslationStrategy::NoUtf8EscapingWithSuffixes => "NoUTF8EscapingWithSuffixes",
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                "UnderscoreEscapingWithoutSuffixes"
            }
            TranslationStrategy::NoTranslation => "NoTranslation",
        }
    }

    /// Whether names are escaped to the legacy character set.
    pub fn escapes(self) -> bool {
        matches!(
            self,
            TranslationStrategy::UnderscoreEscapingWithSuffixes
                | TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// Whether unit, `_total` and `_ratio` suffixes are added.
    pub fn adds_suffixes(self) -> bool {
        matches!(
            self,
            TranslationStrategy::UnderscoreEscapingWithSuffixes
                | TranslationStrategy::NoUtf8EscapingWithSuffixes
        )
    }
}

impl fmt::Display for TranslationStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The OTLP metric kind, as far as naming cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamingType {
    /// No data.
    Unknown,
    /// A sum that may go down.
    NonMonotonicCounter,
    /// A monotonic sum: gets `_total`.
    MonotonicCounter,
    /// A gauge: gets `_ratio` with unit `1`.
    Gauge,
    /// An explicit-bucket histogram.
    Histogram,
    /// An exponential histogram.
    ExponentialHistogram,
    /// A summary.
    Summary,
}

/// Builds metric names (`otlptranslator.MetricNamer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricNamer {
    /// Prefix joined with `_`.
    pub namespace: String,
    /// Add unit and type suffixes.
    pub with_suffixes: bool,
    /// Keep names as sent instead of escaping them.
    pub utf8_allowed: bool,
}

impl MetricNamer {
    /// The namer of a strategy.
    pub fn new(namespace: &str, strategy: TranslationStrategy) -> Self {
        MetricNamer {
            namespace: namespace.to_string(),
            with_suffixes: strategy.adds_suffixes(),
            utf8_allowed: !strategy.escapes(),
        }
    }

    /// The Prometheus name of a metric, or why it has none.
    pub fn build(&self, name: &str, unit: &str, kind: NamingType) -> Result<String, String> {
        if self.utf8_allowed {
            return Ok(self.utf8_name(name, unit, kind));
        }
        let out = if self.with_suffixes {
            normalize_name(name, unit, kind, &self.namespace)
        } else {
            let metric = join_fields(name, |c| !is_metric_char(c) && c != '_');
            if self.namespace.is_empty() {
                if metric.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("_{metric}")
                } else {
                    metric
                }
            } else {
                let ns = join_fields(&self.namespace, |c| !is_metric_char(c) && c != '_');
                format!("{ns}_{metric}")
            }
        };
        if out.is_empty() {
            return Err(format!(
                "normalization for metric {name:?} resulted in empty name"
            ));
        }
        if out != name && out.chars().all(|c| c == '_') {
            return Err(format!(
                "normalization for metric {name:?} resulted in invalid name {out:?}"
            ));
        }
        Ok(out)
    }

    fn utf8_name(&self, input: &str, unit: &str, kind: NamingType) -> String {
        let mut name = if self.namespace.is_empty() {
            input.to_string()
        } else {
            format!("{}_{input}", self.namespace)
        };
        if !self.with_suffixes {
            return name;
        }
        // Go's deferred appends run last-registered first: per-unit, then total, then ratio.
        let ratio = unit == "1" && kind == NamingType::Gauge;
        if ratio {
            name = trim_suffix_and_delimiter(&name, "ratio");
        }
        let total = kind == NamingType::MonotonicCounter;
        if total {
            name = trim_suffix_and_delimiter(&name, "total");
        }
        let (main, per) = unit_suffixes(unit);
        if !per.is_empty() {
            name = trim_suffix_and_delimiter(&name, &per);
        }
        if !main.is_empty() && !name.ends_with(&main) {
            name = format!("{name}_{main}");
        }
        if !per.is_empty() {
            name = format!("{name}_{per}");
        }
        if total {
            name.push_str("_total");
        }
        if ratio {
            name.push_str("_ratio");
        }
        name
    }
}

fn trim_suffix_and_delimiter(name: &str, suffix: &str) -> String {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        name[..name.len() - (suffix.len() + 1)].to_string()
    } else {
        name.to_string()
    }
}

/// `[a-zA-Z0-9:]`: underscores are separators for the suffix logic.
fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Go's `strings.Join(strings.FieldsFunc(s, sep), "_")`.
fn join_fields(s: &str, sep: impl Fn(char) -> bool) -> String {
    s.split(sep)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn normalize_name(name: &str, unit: &str, kind: NamingType, namespace: &str) -> String {
    let mut tokens: Vec<String> = name
        .split(|c| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (mut main, mut per) = (clean_up_unit(&main), clean_up_unit(&per));
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if let Some(p) = per.strip_suffix('_') {
            per = p.to_string();
        }
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty()
        && let Some(m) = main.strip_suffix('_')
    {
        main = m.to_string();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if kind == NamingType::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == NamingType::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    if !namespace.is_empty() {
        tokens.insert(0, namespace.to_string());
    }
    let out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// OTel (UCUM) units and their Prometheus words.
fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

/// Units after `/`, in the singular.
fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// `buildUnitSuffixes`: the main unit and `per_<unit>`; annotations in braces are dropped.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let mut main = String::new();
    let mut per = String::new();
    if let Some(m) = parts.next() {
        let m = m.trim();
        if !m.is_empty() && !m.contains(['{', '}']) {
            main = unit_word(m).map_or_else(|| m.to_string(), str::to_string);
        }
    }
    if let Some(p) = parts.next()
        && !p.is_empty()
    {
        let p = p.trim();
        if !p.is_empty() && !p.contains(['{', '}']) {
            per = per_unit_word(p).map_or_else(|| p.to_string(), str::to_string);
        }
        if !per.is_empty() {
            per = format!("per_{per}");
        }
    }
    (main, per)
}

/// Invalid characters to `_`, runs of `_` collapsed, a leading `_` dropped.
fn clean_up_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.strip_prefix('_') {
        Some(s) => s.to_string(),
        None => out,
    }
}

/// The unit of a metric's metadata (`otlptranslator.UnitNamer`).
pub fn unit_name(unit: &str, utf8_allowed: bool) -> String {
    let (mut main, mut per) = unit_suffixes(unit);
    if !utf8_allowed {
        main = clean_up_unit(&main);
        per = clean_up_unit(&per);
    }
    let u = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    let u = u.strip_prefix('_').unwrap_or(&u);
    u.strip_suffix('_').unwrap_or(u).to_string()
}

/// Builds label names (`otlptranslator.LabelNamer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelNamer {
    /// Keep names as sent.
    pub utf8_allowed: bool,
    /// `_x` (but not `__x`) becomes `key_x`.
    pub underscore_sanitization: bool,
    /// Runs of invalid characters are not collapsed to one `_`.
    pub preserve_multiple_underscores: bool,
}

impl LabelNamer {
    /// The Prometheus name of an attribute, or why it has none.
    pub fn build(&self, label: &str) -> Result<String, String> {
        if label.is_empty() {
            return Err("label name is empty".into());
        }
        if self.utf8_allowed {
            if label.chars().all(|c| c == '_') {
                return Err(format!("label name {label:?} contains only underscores"));
            }
            return Ok(label.to_string());
        }
        let mut name = self.sanitize(label);
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("key_{name}");
        } else if self.underscore_sanitization && name.starts_with('_') && !name.starts_with("__") {
            name = format!("key{name}");
        }
        if name.chars().all(|c| c == '_') {
            return Err(format!(
                "normalization for label name {label:?} resulted in invalid name {name:?}"
            ));
        }
        Ok(name)
    }

    fn sanitize(&self, name: &str) -> String {
        let valid = |c: char| c.is_ascii_alphanumeric();
        if self.preserve_multiple_underscores {
            return name
                .chars()
                .map(|c| if valid(c) { c } else { '_' })
                .collect();
        }
        let reserved = name.len() >= 4 && name.starts_with("__") && name.ends_with("__");
        let inner = if reserved {
            &name[2..name.len() - 2]
        } else {
            name
        };
        let mut out = String::with_capacity(name.len());
        if reserved {
            out.push_str("__");
        }
        let mut prev_underscore = false;
        for c in inner.chars() {
            if valid(c) {
                out.push(c);
                prev_underscore = false;
            } else if !prev_underscore {
                out.push('_');
                prev_underscore = true;
            }
        }
        if reserved {
            out.push_str("__");
        }
        out
    }
}
