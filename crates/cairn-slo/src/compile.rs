//! Compilation of SLOs into Prometheus rule groups named and shaped as Sloth names and shapes
//! them, plus Cairn's additive groups (`cairn-slo-budget-<id>`, `cairn-slo-alerts-<id>`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::duration::format_duration;
use crate::load::{SloFile, render_window};
use crate::spec::{AlertMeta, Sli, SliLanguage, SloSpec};
use crate::windows::{AlertWindows, Window};

/// Record name of the SLI error ratio over window `w` (`slo:sli_error:ratio_rate5m`).
pub fn sli_record(w: Duration) -> String {
    format!("slo:sli_error:ratio_rate{}", format_duration(w))
}

/// Record name of the error events per bucket (Cairn).
pub const ERROR_BUCKET_RECORD: &str = "cairn:slo_error_events:bucket1h";
/// Record name of the total events per bucket (Cairn).
pub const TOTAL_BUCKET_RECORD: &str = "cairn:slo_total_events:bucket1h";
/// Record name of the error ratio over the whole period from event counts (Cairn).
pub const PERIOD_RATIO_RECORD: &str = "cairn:slo_sli_error:ratio_period";
/// Record name of the error budget remaining from event counts (Cairn).
pub const BUDGET_REMAINING_RECORD: &str = "cairn:slo_error_budget_remaining:ratio";
/// Sloth's record of the budget remaining (from the mean of 5m ratios).
pub const SLOTH_BUDGET_REMAINING_RECORD: &str = "slo:period_error_budget_remaining:ratio";
/// Bucket length of the event-count records.
pub const BUCKET: Duration = Duration::from_secs(3600);
/// Record name prefix of a LogQL events SLI's error query over one step, recorded every step
/// so that every window's ratio is a PromQL sum over the steps (`cairn:slo_error_events:rate1m`).
pub const LOG_ERROR_STEP_RECORD: &str = "cairn:slo_error_events:rate";
/// Record name prefix of a LogQL events SLI's total query over one step (Cairn).
pub const LOG_TOTAL_STEP_RECORD: &str = "cairn:slo_total_events:rate";
/// The step of those records: a minute, or the SLO's shortest alert window when shorter (the
/// minute-scale demo windows).
pub const LOG_STEP: Duration = Duration::from_secs(60);
/// Evaluation interval of the `cairn-slo-budget-<id>` group, which the bucket selection
/// (`time() % 3600 < 60`) relies on.
pub const BUDGET_GROUP_INTERVAL: Duration = Duration::from_secs(60);

/// A rule file: what `cairn slo generate` prints.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleFileOut {
    /// The rule groups.
    pub groups: Vec<RuleGroupOut>,
}

/// One rule group of the output.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleGroupOut {
    /// Group name.
    pub name: String,
    /// Evaluation interval, when the group needs a fixed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The rules, in evaluation order.
    pub rules: Vec<RuleOut>,
    /// Its expressions are LogQL (a Loki ruler group over the log store), not PromQL.
    #[serde(skip)]
    pub logql: bool,
}

/// One recording or alerting rule of the output.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RuleOut {
    /// Recorded series name (recording rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Alert name (alerting rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// PromQL.
    pub expr: String,
    /// `for` of alerting rules.
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of alerting rules.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One recorded SLI window of a compiled SLO.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SliWindow {
    /// The window, Prometheus-formatted (`5m`, `30d`, `4w`).
    pub window: String,
    /// The record holding the error ratio over it.
    pub record: String,
}

/// One multiwindow burn-rate condition of an alert.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BurnCondition {
    /// Short window.
    pub short_window: String,
    /// Long window.
    pub long_window: String,
    /// Burn rate factor that both windows must exceed.
    pub factor: f64,
}

/// A generated alert.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CompiledAlert {
    /// Alert name.
    pub name: String,
    /// Its `sloth_severity` label: `page`, `ticket` or `data-missing`.
    pub severity: String,
    /// The window pairs, either of which fires it (none for `data-missing`).
    pub conditions: Vec<BurnCondition>,
}

/// What the status API needs to know about one compiled SLO.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CompiledSlo {
    /// `<service>-<name>`, the `sloth_id` label of its series.
    pub id: String,
    /// Service.
    pub service: String,
    /// SLO name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Objective in percent.
    pub objective: f64,
    /// SLO period in seconds.
    #[serde(rename = "window_seconds", serialize_with = "ser_secs")]
    pub window: Duration,
    /// `events` or `raw`.
    pub sli_kind: String,
    /// Recorded SLI windows, shortest first.
    pub sli_windows: Vec<SliWindow>,
    /// Records of the budget remaining: Cairn's (event counts, events SLIs only) first.
    pub budget_records: Vec<String>,
    /// The generated alerts.
    pub alerts: Vec<CompiledAlert>,
    /// Labels on every recorded series.
    pub labels: BTreeMap<String, String>,
    /// The file it was read from.
    pub source_file: String,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl CompiledSlo {
    /// The error budget as a ratio (`1 - objective/100`).
    pub fn error_budget(&self) -> f64 {
        (100.0 - self.objective) / 100.0
    }
}

/// Rules and metadata of every SLO of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// The rule file.
    pub rules: RuleFileOut,
    /// Per SLO metadata, in file order.
    pub slos: Vec<CompiledSlo>,
}

impl Compiled {
    /// The PromQL rule groups as a Prometheus rule file, with a header naming its source.
    pub fn to_yaml(&self, source: &str) -> String {
        let groups: Vec<_> = self
            .rules
            .groups
            .iter()
            .filter(|g| !g.logql)
            .cloned()
            .collect();
        let body = serde_yaml_ng::to_string(&RuleFileOut { groups })
            .expect("rule groups are plain strings and maps");
        format!(
            "# Generated by `cairn slo generate` from {source}. Do not edit: change the SLO file.\n{body}"
        )
    }

    /// The LogQL rule groups (SLIs over logs) as a rule file in Loki's ruler format, when
    /// there are any: they run beside the PromQL groups, which read what they record.
    pub fn to_log_yaml(&self, source: &str) -> Option<String> {
        let groups: Vec<_> = self
            .rules
            .groups
            .iter()
            .filter(|g| g.logql)
            .cloned()
            .collect();
        if groups.is_empty() {
            return None;
        }
        let body = serde_yaml_ng::to_string(&RuleFileOut { groups })
            .expect("rule groups are plain strings and maps");
        Some(format!(
            "# Generated by `cairn slo generate` from {source}: LogQL SLI recordings in Loki's ruler format.\n# Do not edit: change the SLO file.\n{body}"
        ))
    }
}

/// Compiles every SLO of a validated file.
pub fn compile(file: &SloFile) -> Compiled {
    let mut groups = Vec::new();
    let mut slos = Vec::new();
    for slo in &file.slos {
        let windows = file
            .windows
            .get(slo.period)
            .expect("validation checked that the period has windows");
        let (g, c) = compile_slo(slo, windows);
        groups.extend(g);
        slos.push(c);
    }
    Compiled {
        rules: RuleFileOut { groups },
        slos,
    }
}

/// Go's shortest float formatting, which Rust's `Display` matches for the values SLOs use.
fn num(v: f64) -> String {
    format!("{v}")
}

struct Ctx<'a> {
    slo: &'a SloSpec,
    id: String,
    /// `{sloth_id="..", sloth_service="..", sloth_slo=".."}`
    sel: String,
    base_labels: BTreeMap<String, String>,
    /// The total query is an event count over its window (a LogQL SLI's sum of minutes), not
    /// a per-second rate.
    counts: bool,
}

impl Ctx<'_> {
    fn labels_with_window(&self, w: &str) -> BTreeMap<String, String> {
        let mut l = self.base_labels.clone();
        l.insert("sloth_window".to_string(), w.to_string());
        l
    }
}

fn record(name: &str, expr: String, labels: BTreeMap<String, String>) -> RuleOut {
    RuleOut {
        record: Some(name.to_string()),
        alert: None,
        expr,
        for_: None,
        labels,
        annotations: BTreeMap::new(),
    }
}

fn sli_expr(sli: &Sli, w: &str, lang: SliLanguage) -> String {
    // Validation rendered every query already; a failure here would be a bug.
    let r = |q: &str| render_window(q, w).expect("queries were validated");
    match (sli, lang) {
        (
            Sli::Events {
                error_query,
                total_query,
            },
            SliLanguage::PromQL,
        ) => format!("({})\n/\n({})\n", r(error_query), r(total_query)),
        // A LogQL count over no matching lines is no series at all, not 0: without the
        // `or vector(0)` a window without errors would have no ratio.
        (
            Sli::Events {
                error_query,
                total_query,
            },
            SliLanguage::LogQL,
        ) => format!(
            "(({}) or vector(0))\n/\n({})\n",
            r(error_query).trim(),
            r(total_query).trim()
        ),
        (Sli::Raw { error_ratio_query }, _) => format!("({})", r(error_ratio_query)),
    }
}

/// A LogQL events SLO as Cairn runs it: a LogQL group records the error and total queries
/// over each minute, and the SLO becomes a PromQL one over the sums of those minutes. Every
/// window, from 5m to 3d, then costs one minute of log scanning per evaluation instead of a
/// scan of the whole window, and the rest (budget, alerts, status) is the PromQL path.
fn over_log_minutes(
    slo: &SloSpec,
    windows: &AlertWindows,
    cx_sel: &str,
    labels: &BTreeMap<String, String>,
) -> Option<(SloSpec, RuleGroupOut)> {
    let Sli::Events {
        error_query,
        total_query,
    } = &slo.sli
    else {
        return None;
    };
    if slo.extensions.query_language != SliLanguage::LogQL {
        return None;
    }
    let shortest = windows
        .all()
        .iter()
        .map(|w| w.short.min(w.long))
        .min()
        .unwrap_or(LOG_STEP);
    let step = LOG_STEP.min(shortest);
    let m = format_duration(step);
    let error_record = format!("{LOG_ERROR_STEP_RECORD}{m}");
    let total_record = format!("{LOG_TOTAL_STEP_RECORD}{m}");
    let r = |q: &str| render_window(q, &m).expect("queries were validated");
    let mut l = labels.clone();
    l.insert("sloth_window".to_string(), m.clone());
    let group = RuleGroupOut {
        name: format!("cairn-slo-sli-logs-{}", slo.id()),
        interval: Some(m.clone()),
        rules: vec![
            // A LogQL count over no matching lines is no series, not 0.
            record(
                &error_record,
                format!("({}) or vector(0)", r(error_query).trim()),
                l.clone(),
            ),
            record(&total_record, r(total_query).trim().to_string(), l),
        ],
        logql: true,
    };
    let sum = |rec: &str| format!("sum_over_time({rec}{cx_sel}[{{{{.window}}}}])");
    let mut derived = slo.clone();
    derived.extensions.query_language = SliLanguage::PromQL;
    derived.sli = Sli::Events {
        error_query: sum(&error_record),
        total_query: sum(&total_record),
    };
    Some((derived, group))
}

fn compile_slo(slo: &SloSpec, windows: &AlertWindows) -> (Vec<RuleGroupOut>, CompiledSlo) {
    let id = slo.id();
    let sel = format!(
        "{{sloth_id=\"{id}\", sloth_service=\"{}\", sloth_slo=\"{}\"}}",
        slo.service, slo.name
    );
    let mut base_labels = slo.labels.clone();
    base_labels.insert("sloth_id".to_string(), id.clone());
    base_labels.insert("sloth_service".to_string(), slo.service.clone());
    base_labels.insert("sloth_slo".to_string(), slo.name.clone());
    let (derived, log_group) = match over_log_minutes(slo, windows, &sel, &base_labels) {
        Some((d, g)) => (Some(d), Some(g)),
        None => (None, None),
    };
    let counts = derived.is_some();
    let slo = derived.as_ref().unwrap_or(slo);
    let cx = Ctx {
        slo,
        id,
        sel,
        base_labels,
        counts,
    };
    let period = format_duration(slo.period);
    let mut ws: Vec<Duration> = vec![Duration::from_secs(300)];
    for w in windows.all() {
        ws.push(w.short);
        ws.push(w.long);
    }
    ws.sort();
    ws.dedup();
    ws.retain(|w| *w != slo.period);

    // SLI recordings, as Sloth: one per window, then the period as a mean of 5m ratios.
    let lang = slo.extensions.query_language;
    let logql = lang == SliLanguage::LogQL;
    let mut sli_rules = Vec::new();
    let mut sli_windows = Vec::new();
    for w in &ws {
        let wf = format_duration(*w);
        sli_rules.push(record(
            &sli_record(*w),
            sli_expr(&slo.sli, &wf, lang),
            cx.labels_with_window(&wf),
        ));
        sli_windows.push(SliWindow {
            window: wf,
            record: sli_record(*w),
        });
    }
    let r5m = sli_record(Duration::from_secs(300));
    let period_rule = record(
        &sli_record(slo.period),
        format!(
            "sum_over_time({r5m}{sel}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({r5m}{sel}[{period}])\n",
            sel = cx.sel
        ),
        cx.labels_with_window(&period),
    );
    // A raw SLI over logs cannot be summed from minutes: its window ratios are LogQL, and the
    // period ratio PromQL over what they recorded, in a group of its own.
    let mut period_group = None;
    if logql {
        period_group = Some(RuleGroupOut {
            name: format!("cairn-slo-sli-period-{}", cx.id),
            interval: None,
            rules: vec![period_rule],
            logql: false,
        });
    } else {
        sli_rules.push(period_rule);
    }
    sli_windows.push(SliWindow {
        window: period.clone(),
        record: sli_record(slo.period),
    });

    let objective = slo.objective / 100.0;
    let eb = (100.0 - slo.objective) / 100.0;
    let meta_rules = meta_rules(&cx, objective, &period);

    let mut groups: Vec<RuleGroupOut> = log_group.into_iter().collect();
    groups.push(RuleGroupOut {
        name: format!("sloth-slo-sli-recordings-{}", cx.id),
        interval: None,
        rules: sli_rules,
        logql,
    });
    groups.extend(period_group);
    groups.push(RuleGroupOut {
        name: format!("sloth-slo-meta-recordings-{}", cx.id),
        interval: None,
        rules: meta_rules,
        logql: false,
    });

    let mut alerts = Vec::new();
    let mut alert_rules = Vec::new();
    let name = slo.alerting.name.clone().unwrap_or_default();
    for (sev, meta, quick, slow) in [
        (
            "page",
            &slo.alerting.page,
            windows.page_quick,
            windows.page_slow,
        ),
        (
            "ticket",
            &slo.alerting.ticket,
            windows.ticket_quick,
            windows.ticket_slow,
        ),
    ] {
        if meta.disable {
            continue;
        }
        let (rule, conditions) = burn_alert(&cx, &name, sev, meta, windows, [quick, slow], eb);
        alert_rules.push(rule);
        alerts.push(CompiledAlert {
            name: name.clone(),
            severity: sev.to_string(),
            conditions,
        });
    }
    if !alert_rules.is_empty() {
        groups.push(RuleGroupOut {
            name: format!("sloth-slo-alerts-{}", cx.id),
            interval: None,
            rules: alert_rules,
            logql: false,
        });
    }

    // Cairn's additions.
    let mut budget_records = Vec::new();
    if let Sli::Events {
        error_query,
        total_query,
    } = &slo.sli
    {
        groups.push(budget_group(&cx, error_query, total_query, &period, eb));
        budget_records.push(BUDGET_REMAINING_RECORD.to_string());
    }
    budget_records.push(SLOTH_BUDGET_REMAINING_RECORD.to_string());
    if !alerts.is_empty() && slo.extensions.data_missing_alert {
        let (rule, alert) = data_missing_alert(&cx, &name);
        groups.push(RuleGroupOut {
            name: format!("cairn-slo-alerts-{}", cx.id),
            interval: None,
            rules: vec![rule],
            logql: false,
        });
        alerts.push(alert);
    }

    let compiled = CompiledSlo {
        id: cx.id.clone(),
        service: slo.service.clone(),
        name: slo.name.clone(),
        description: slo.description.clone(),
        objective: slo.objective,
        window: slo.period,
        sli_kind: slo.sli.kind().to_string(),
        sli_windows,
        budget_records,
        alerts,
        labels: slo.labels.clone(),
        source_file: slo.file.clone(),
    };
    (groups, compiled)
}

fn meta_rules(cx: &Ctx<'_>, objective: f64, period: &str) -> Vec<RuleOut> {
    let slo = cx.slo;
    let sel = &cx.sel;
    let l = cx.base_labels.clone();
    let days = slo.period.as_secs() / 86400;
    let rperiod = format!("slo:sli_error:ratio_rate{period}");
    let mut info = l.clone();
    info.insert(
        "sloth_mode".to_string(),
        if slo.spec_version.starts_with("openslo") {
            "cli-gen-openslo"
        } else {
            "cli-gen-prom"
        }
        .to_string(),
    );
    info.insert("sloth_objective".to_string(), num(slo.objective));
    info.insert("sloth_spec".to_string(), slo.spec_version.clone());
    info.insert(
        "sloth_version".to_string(),
        format!("cairn-{}", env!("CARGO_PKG_VERSION")),
    );
    vec![
        record(
            "slo:objective:ratio",
            format!("vector({})", num(objective)),
            l.clone(),
        ),
        record(
            "slo:error_budget:ratio",
            format!("vector(1-{})", num(objective)),
            l.clone(),
        ),
        record("slo:time_period:days", format!("vector({days})"), l.clone()),
        record(
            "slo:current_burn_rate:ratio",
            format!(
                "slo:sli_error:ratio_rate5m{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}\n"
            ),
            l.clone(),
        ),
        record(
            "slo:period_burn_rate:ratio",
            format!(
                "{rperiod}{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}\n"
            ),
            l.clone(),
        ),
        record(
            SLOTH_BUDGET_REMAINING_RECORD,
            format!("1 - slo:period_burn_rate:ratio{sel}"),
            l.clone(),
        ),
        record("sloth_slo_info", "vector(1)".to_string(), info),
    ]
}

fn burn_alert(
    cx: &Ctx<'_>,
    name: &str,
    sev: &str,
    meta: &AlertMeta,
    windows: &AlertWindows,
    pair: [Window; 2],
    eb: f64,
) -> (RuleOut, Vec<BurnCondition>) {
    let sel = &cx.sel;
    let mut parts = Vec::new();
    let mut conditions = Vec::new();
    for w in pair {
        let f = windows.factor(&w);
        let cond = |d: Duration| {
            format!(
                "max({}{sel} > ({} * {})) without (sloth_window)",
                sli_record(d),
                num(f),
                num(eb)
            )
        };
        let mut part = format!("(\n    {}\n    and\n    {}\n)", cond(w.short), cond(w.long));
        if let (Some(n), Sli::Events { total_query, .. }) =
            (cx.slo.extensions.min_events, &cx.slo.sli)
        {
            let total = render_window(total_query, &format_duration(w.long))
                .expect("queries were validated");
            // A per-second rate times the window is an event count; a count already is one.
            let secs = if cx.counts {
                String::new()
            } else {
                format!(" * {}", w.long.as_secs())
            };
            let inner: Vec<String> = part.lines().map(|l| format!("    {l}")).collect();
            part = format!(
                "(\n{}\n    and on()\n    (({}){secs} >= {n})\n)",
                inner.join("\n"),
                total.trim(),
            );
        }
        parts.push(part);
        conditions.push(BurnCondition {
            short_window: format_duration(w.short),
            long_window: format_duration(w.long),
            factor: f,
        });
    }
    let expr = format!("{}\nor\n{}\n", parts[0], parts[1]);
    let mut labels = cx.slo.alerting.labels.clone();
    labels.extend(meta.labels.clone());
    labels.insert("sloth_severity".to_string(), sev.to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "title".to_string(),
        format!(
            "({sev}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."
        ),
    );
    annotations.insert(
        "summary".to_string(),
        "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."
            .to_string(),
    );
    annotations.extend(cx.slo.alerting.annotations.clone());
    annotations.extend(meta.annotations.clone());
    (
        RuleOut {
            record: None,
            alert: Some(name.to_string()),
            expr,
            for_: None,
            labels,
            annotations,
        },
        conditions,
    )
}

/// Error budget from event counts: hourly buckets of error and total events, recorded once
/// an hour (the one evaluation per hour with `time() % 3600 < 60`), summed over the period.
/// Each evaluation of the period ratio reads period/1h points per series (720 for 30d)
/// instead of every raw sample of the source series.
fn budget_group(
    cx: &Ctx<'_>,
    error_query: &str,
    total_query: &str,
    period: &str,
    eb: f64,
) -> RuleGroupOut {
    let sel = &cx.sel;
    let w = format_duration(BUCKET);
    let r = |q: &str| render_window(q, &w).expect("queries were validated");
    let gate = format!(
        "and on() (vector(time() % {}) < {})",
        BUCKET.as_secs(),
        BUDGET_GROUP_INTERVAL.as_secs()
    );
    let l = cx.base_labels.clone();
    RuleGroupOut {
        name: format!("cairn-slo-budget-{}", cx.id),
        logql: false,
        interval: Some(format_duration(BUDGET_GROUP_INTERVAL)),
        rules: vec![
            record(
                ERROR_BUCKET_RECORD,
                format!(
                    "(\n  ({})\n  or on() vector(0)\n)\n{gate}\n",
                    r(error_query).trim()
                ),
                l.clone(),
            ),
            record(
                TOTAL_BUCKET_RECORD,
                format!("({})\n{gate}\n", r(total_query).trim()),
                l.clone(),
            ),
            record(
                PERIOD_RATIO_RECORD,
                format!(
                    "sum_over_time({ERROR_BUCKET_RECORD}{sel}[{period}])\n/\nsum_over_time({TOTAL_BUCKET_RECORD}{sel}[{period}])\n"
                ),
                cx.labels_with_window(period),
            ),
            record(
                BUDGET_REMAINING_RECORD,
                format!(
                    "1 - max({PERIOD_RATIO_RECORD}{sel}) without (sloth_window) / {}",
                    num(eb)
                ),
                l,
            ),
        ],
    }
}

/// Fires when the SLI's source series are missing: a ratio over no data is empty and no burn
/// alert could ever fire.
fn data_missing_alert(cx: &Ctx<'_>, name: &str) -> (RuleOut, CompiledAlert) {
    let slo = cx.slo;
    let q = match &slo.sli {
        Sli::Events { total_query, .. } => total_query,
        Sli::Raw { error_ratio_query } => error_ratio_query,
    };
    let q = match slo.extensions.query_language {
        SliLanguage::PromQL => render_window(q, "5m").expect("queries were validated"),
        // PromQL cannot read logs: the recorded 5m ratio is missing exactly when the SLI's
        // source (its total) is.
        SliLanguage::LogQL => format!("{}{}", sli_record(Duration::from_secs(300)), cx.sel),
    };
    let alert = format!("{name}SLIDataMissing");
    let mut labels = slo.alerting.labels.clone();
    labels.extend(slo.alerting.ticket.labels.clone());
    for k in ["sloth_id", "sloth_service", "sloth_slo"] {
        labels.insert(k.to_string(), cx.base_labels[k].clone());
    }
    labels.insert("sloth_severity".to_string(), "data-missing".to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "title".to_string(),
        format!(
            "{} {} SLO has no SLI data: its burn rate alerts cannot fire.",
            slo.service, slo.name
        ),
    );
    annotations.insert(
        "summary".to_string(),
        format!(
            "The SLI query of {} returned nothing for {}.",
            cx.id,
            format_duration(slo.extensions.data_missing_for)
        ),
    );
    (
        RuleOut {
            record: None,
            alert: Some(alert.clone()),
            expr: format!("absent(\n  {}\n)\n", q.trim()),
            for_: Some(format_duration(slo.extensions.data_missing_for)),
            labels,
            annotations,
        },
        CompiledAlert {
            name: alert,
            severity: "data-missing".to_string(),
            conditions: Vec::new(),
        },
    )
}
