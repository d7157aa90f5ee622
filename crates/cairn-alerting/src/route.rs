//! The routing tree: depth-first, first matching child wins unless it says `continue`, options
//! inherited from the parent when unset.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_model::{Labels, LabelsBuilder, Matcher};
use serde::Deserialize;

use crate::config::{ctx, parse_duration};
use crate::error::{Error, Result};
use crate::matchers;

/// Alertmanager's default `group_wait`.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
/// Alertmanager's default `group_interval`.
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Alertmanager's default `repeat_interval`.
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    receiver: Option<String>,
    group_by: Option<Vec<String>>,
    #[serde(rename = "continue", default)]
    continue_matching: bool,
    #[serde(default)]
    matchers: Vec<String>,
    #[serde(default, rename = "match")]
    match_eq: BTreeMap<String, String>,
    #[serde(default)]
    match_re: BTreeMap<String, String>,
    group_wait: Option<String>,
    group_interval: Option<String>,
    repeat_interval: Option<String>,
    #[serde(default)]
    mute_time_intervals: Vec<String>,
    #[serde(default)]
    active_time_intervals: Vec<String>,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

/// How alerts of a route are split into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// `group_by: ['...']`: every label, so each alert is its own group.
    All,
    /// These label names (none: one group for the route).
    Labels(Vec<String>),
}

/// The options a route applies to the alerts it handles.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Grouping labels.
    pub group_by: GroupBy,
    /// Wait before the first notification of a new group.
    pub group_wait: Duration,
    /// Wait between notifications of a group about changes.
    pub group_interval: Duration,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Duration,
    /// Names of intervals during which notifications are muted (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Names of intervals outside which notifications are muted (not inherited).
    pub active_time_intervals: Vec<String>,
}

/// A node of the routing tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Position in a depth-first walk from the root (the root is 0).
    pub id: usize,
    /// Alertmanager's route key: the parent's key, `/`, then the sorted matchers.
    pub key: String,
    /// Matchers an alert must pass to enter this route.
    pub matchers: Vec<Matcher>,
    /// Whether matching goes on with the next sibling after this route matched.
    pub continue_matching: bool,
    /// Effective options after inheritance.
    pub opts: RouteOpts,
    /// Child routes in order.
    pub routes: Vec<Route>,
}

impl Route {
    pub(crate) fn from_raw_root(raw: &RawRoute) -> Result<Route> {
        let root_err = |what: &str| Error::Config(format!("root route {what}"));
        if raw.receiver.is_none() {
            return Err(root_err("must have a receiver"));
        }
        if !raw.matchers.is_empty() || !raw.match_eq.is_empty() || !raw.match_re.is_empty() {
            return Err(root_err("must not have matchers"));
        }
        if raw.continue_matching {
            return Err(root_err("cannot have continue set"));
        }
        if !raw.mute_time_intervals.is_empty() || !raw.active_time_intervals.is_empty() {
            return Err(root_err("cannot have mute or active time intervals"));
        }
        let defaults = RouteOpts {
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        };
        let mut next_id = 0;
        Route::build(raw, &defaults, None, &mut next_id, "route")
    }

    fn build(
        raw: &RawRoute,
        parent: &RouteOpts,
        parent_key: Option<&str>,
        next_id: &mut usize,
        path: &str,
    ) -> Result<Route> {
        let id = *next_id;
        *next_id += 1;
        let dur = |v: &Option<String>, key: &str, inherited: Duration| -> Result<Duration> {
            match v {
                None => Ok(inherited),
                Some(s) => {
                    let d = parse_duration(s).map_err(|e| ctx(&format!("{path}.{key}"), e))?;
                    if d.is_zero() && key != "group_wait" {
                        return Err(Error::Config(format!("{path}.{key} must be positive")));
                    }
                    Ok(d)
                }
            }
        };
        let group_by = match &raw.group_by {
            None => parent.group_by.clone(),
            Some(list) if list.iter().any(|l| l == "...") => {
                if list.len() > 1 {
                    return Err(Error::Config(format!(
                        "{path}.group_by: '...' must be the only element"
                    )));
                }
                GroupBy::All
            }
            Some(list) => {
                let mut l = list.clone();
                l.sort();
                l.dedup();
                GroupBy::Labels(l)
            }
        };
        let opts = RouteOpts {
            receiver: raw
                .receiver
                .clone()
                .unwrap_or_else(|| parent.receiver.clone()),
            group_by,
            group_wait: dur(&raw.group_wait, "group_wait", parent.group_wait)?,
            group_interval: dur(&raw.group_interval, "group_interval", parent.group_interval)?,
            repeat_interval: dur(
                &raw.repeat_interval,
                "repeat_interval",
                parent.repeat_interval,
            )?,
            mute_time_intervals: raw.mute_time_intervals.clone(),
            active_time_intervals: raw.active_time_intervals.clone(),
        };
        let mut ms = matchers::parse_list(&raw.matchers).map_err(|e| ctx(path, e))?;
        ms.extend(matchers::from_maps(&raw.match_eq, &raw.match_re).map_err(|e| ctx(path, e))?);
        let own = matchers::matchers_key(&ms);
        let key = match parent_key {
            Some(p) => format!("{p}/{own}"),
            None => own,
        };
        let mut routes = Vec::with_capacity(raw.routes.len());
        for (i, child) in raw.routes.iter().enumerate() {
            routes.push(Route::build(
                child,
                &opts,
                Some(&key),
                next_id,
                &format!("{path}.routes[{i}]"),
            )?);
        }
        Ok(Route {
            id,
            key,
            matchers: ms,
            continue_matching: raw.continue_matching,
            opts,
            routes,
        })
    }

    /// The routes that handle an alert with `labels`, in tree order; empty when this route's
    /// own matchers fail (never for the root).
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        let mut out = Vec::new();
        self.collect(labels, &mut out);
        out
    }

    fn collect<'a>(&'a self, labels: &Labels, out: &mut Vec<&'a Route>) -> bool {
        if !matchers::matches_all(&self.matchers, labels) {
            return false;
        }
        let before = out.len();
        for child in &self.routes {
            if child.collect(labels, out) && !child.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// Calls `f` on this route and every descendant, depth-first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Route)) {
        f(self);
        for c in &self.routes {
            c.walk(f);
        }
    }

    /// The labels of `labels` that decide the alert's group on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.opts.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => {
                let mut b = LabelsBuilder::default();
                for n in names {
                    if let Some(v) = labels.get(n) {
                        b.set(n, v);
                    }
                }
                b.build()
            }
        }
    }
}
