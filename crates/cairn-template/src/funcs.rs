//! The function table a template is parsed against.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::value::Value;

/// A function callable from templates: receives the evaluated arguments (the piped value last,
/// as Go does), returns a value or an error message. It is only called with a number of
/// arguments its [`Arity`] accepts.
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// How many arguments a function takes: what Go reads from the function's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many (a Go function without `...`).
    Exactly(usize),
    /// At least this many (a variadic Go function with this many fixed parameters).
    AtLeast(usize),
}

impl Arity {
    /// Go's check before a call (`text/template` `evalCall`): `explicit` arguments written
    /// after the name, plus the piped value when there is one. Go counts the piped value in
    /// the error of a fixed arity but not in that of a variadic one; so do we.
    pub(crate) fn check(self, name: &str, explicit: usize, piped: bool) -> Result<(), String> {
        let given = explicit + usize::from(piped);
        match self {
            Arity::Exactly(n) if given != n => Err(format!(
                "wrong number of args for {name}: want {n} got {given}"
            )),
            Arity::AtLeast(n) if given < n => Err(format!(
                "wrong number of args for {name}: want at least {n} got {explicit}"
            )),
            _ => Ok(()),
        }
    }
}

/// One function of a table.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) arity: Arity,
    pub(crate) f: Func,
}

/// A set of named functions; a template may only call the functions of the set it was parsed
/// with (an unknown function is a parse error, as in Go).
#[derive(Clone, Default)]
pub struct Funcs {
    pub(crate) map: BTreeMap<String, Entry>,
    /// Whether string maps print as Alertmanager's `KV.String()` rather than Go's `map[..]`.
    pub(crate) kv_maps: bool,
}

impl std::fmt::Debug for Funcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Funcs {
    /// Go's builtins: and or not len index slice print printf println eq ne lt le gt ge html
    /// js urlquery (`call` is not supported: values cannot hold functions).
    pub fn builtins() -> Funcs {
        let mut f = Funcs::default();
        crate::builtins::install(&mut f, false);
        f
    }

    /// The builtins plus Prometheus' template functions: humanize, humanize1024,
    /// humanizeDuration, humanizePercentage, humanizeTimestamp, toUpper, toLower, title,
    /// match, reReplaceAll, safeHtml, stripPort, stripDomain, parseDuration, toTime,
    /// toDuration, urlQueryEscape, now, first, label, value, strvalue, sortByLabel, args,
    /// tmpl, pathPrefix, externalURL, graphLink, tableLink.
    ///
    /// The caller replaces `query` (a placeholder that fails) with one returning a [`Value::List`] of samples, each a
    /// [`Value::Map`] `{Labels: Map of String, Value: Float}`, which `first`, `label`,
    /// `value`, `strvalue` and `sortByLabel` work on; and sets the evaluation context with
    /// [`Funcs::set_prometheus_context`] (until then `now` is the wall clock and
    /// `externalURL` is empty). Alert templates get the data
    /// `{Labels, ExternalLabels, ExternalURL, Value}` and, as in Prometheus, a preamble
    /// `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL :=
    /// .ExternalURL}}{{$value := .Value}}` prepended by the caller.
    pub fn prometheus() -> Funcs {
        let mut f = Funcs::builtins();
        crate::prometheus::install(&mut f);
        f
    }

    /// Sets `externalURL`, `pathPrefix` (the URL's path) and `now` (the evaluation time,
    /// in seconds) for Prometheus templates.
    pub fn set_prometheus_context(&mut self, external_url: &str, now: DateTime<Utc>) {
        crate::prometheus::install_context(self, external_url, now);
    }

    /// The builtins plus Alertmanager's template functions: toUpper, toLower, title,
    /// trimSpace, join, match, safeHtml, safeUrl, urlUnescape, reReplaceAll, stringSlice,
    /// date, tz (UTC only), since, humanizeDuration, toJson.
    ///
    /// The data is Alertmanager's `Data` as maps: `{Receiver, Status, Alerts, GroupLabels,
    /// CommonLabels, CommonAnnotations, ExternalURL}` with `Alerts` a [`Value::List`] of
    /// `{Status, Labels, Annotations, StartsAt: Time, EndsAt: Time, GeneratorURL,
    /// Fingerprint}` maps and every label or annotation set a map of strings; then
    /// `.Alerts.Firing`, `.Alerts.Resolved`, `.CommonLabels.SortedPairs`, `.Names`,
    /// `.Values` and `.Remove` work as in Alertmanager (see the crate documentation), and
    /// a map of strings prints as Alertmanager's `KV.String()` (`alertname=X, job=api`).
    pub fn alertmanager() -> Funcs {
        let mut f = Funcs {
            kv_maps: true,
            ..Funcs::default()
        };
        crate::builtins::install(&mut f, true);
        crate::alertmanager::install(&mut f);
        f
    }

    /// The builtins plus Loki's `line_format` / `label_format` functions (Loki's own string
    /// helpers such as `ToUpper`, `Replace`, `regexReplaceAll`, `alignLeft`, `unixToTime`, and
    /// the sprig functions it exposes such as `upper`, `trunc`, `add`, `addf`, `date`,
    /// `toDate`, `fromJson`, `default`). `__line__` and `__timestamp__` yield the values the
    /// caller binds with [`crate::Template::execute_scoped`] under [`crate::LINE_FUNC`] and
    /// [`crate::TIMESTAMP_FUNC`] (an empty string and Go's zero time otherwise). Without a
    /// time zone database, `toDateInZone` and `date` work in UTC.
    pub fn loki() -> Funcs {
        let mut f = Funcs::builtins();
        crate::loki::install(&mut f);
        f
    }

    /// Adds or replaces the function `name`; a call with a number of arguments `arity` does
    /// not accept fails before its arguments are evaluated, as in Go.
    pub fn insert(&mut self, name: &str, arity: Arity, f: Func) {
        self.map.insert(name.to_owned(), Entry { arity, f });
    }

    /// Whether `name` is callable.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The names of the functions, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.map.get(name)
    }
}
