//! Inhibition: a firing alert matching a rule's source mutes alerts matching its target that
//! agree with it on the rule's `equal` labels.

use chrono::{DateTime, Utc};

use crate::alert::{Alert, Fingerprint};
use crate::config::InhibitRule;
use crate::matchers::matches_all;

/// Applies inhibition rules over the current alerts.
#[derive(Debug, Clone, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
}

impl Inhibitor {
    /// An inhibitor for these rules.
    pub fn new(rules: Vec<InhibitRule>) -> Self {
        Inhibitor { rules }
    }

    /// The fingerprint of an alert that inhibits `target` at `now`, if any. `alerts` is every
    /// alert the dispatcher holds; only firing ones act as sources, and an alert never
    /// inhibits itself.
    pub fn inhibited_by<'a>(
        &self,
        target: &Alert,
        alerts: impl Iterator<Item = &'a Alert> + Clone,
        now: DateTime<Utc>,
    ) -> Option<Fingerprint> {
        let tfp = target.fingerprint();
        for rule in &self.rules {
            if !matches_all(&rule.target, &target.labels) {
                continue;
            }
            // Two alerts that both match both sides must not mute each other, or a pair of
            // them would silence itself.
            let target_is_source = matches_all(&rule.source, &target.labels);
            for src in alerts.clone() {
                if src.fingerprint() == tfp || src.resolved_at(now) {
                    continue;
                }
                if !matches_all(&rule.source, &src.labels) {
                    continue;
                }
                if target_is_source && matches_all(&rule.target, &src.labels) {
                    continue;
                }
                let equal = rule
                    .equal
                    .iter()
                    .all(|n| src.labels.get(n).unwrap_or("") == target.labels.get(n).unwrap_or(""));
                if equal {
                    return Some(src.fingerprint());
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cairn_model::Labels;

    use super::*;
    use crate::matchers::parse_matchers;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn alert(pairs: &[(&str, &str)], end: i64) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().copied()).unwrap(),
            annotations: BTreeMap::new(),
            starts_at: t(0),
            ends_at: t(end),
            generator_url: String::new(),
            updated_at: t(0),
            timeout: false,
        }
    }

    fn rule(src: &str, tgt: &str, equal: &[&str]) -> InhibitRule {
        InhibitRule {
            name: None,
            source: parse_matchers(src).unwrap(),
            target: parse_matchers(tgt).unwrap(),
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn equal_labels_absent_on_both_sides_are_equal() {
        let inh = Inhibitor::new(vec![rule(
            "severity=critical",
            "severity=warning",
            &["zone"],
        )]);
        let src = alert(&[("severity", "critical")], 100);
        let tgt = alert(&[("severity", "warning")], 100);
        let other_zone = alert(&[("severity", "warning"), ("zone", "a")], 100);
        let all = [src.clone(), tgt.clone(), other_zone.clone()];
        assert_eq!(
            inh.inhibited_by(&tgt, all.iter(), t(10)),
            Some(src.fingerprint())
        );
        assert_eq!(inh.inhibited_by(&other_zone, all.iter(), t(10)), None);
        assert_eq!(inh.inhibited_by(&src, all.iter(), t(10)), None);
        // A resolved source inhibits nothing.
        assert_eq!(inh.inhibited_by(&tgt, all.iter(), t(100)), None);
    }

    #[test]
    fn an_alert_does_not_inhibit_itself() {
        let inh = Inhibitor::new(vec![rule("a=x", "b=y", &[])]);
        let both = alert(&[("a", "x"), ("b", "y")], 100);
        let only_src = alert(&[("a", "x")], 100);
        assert_eq!(inh.inhibited_by(&both, [both.clone()].iter(), t(1)), None);
        let all = [both.clone(), only_src.clone()];
        assert_eq!(
            inh.inhibited_by(&both, all.iter(), t(1)),
            Some(only_src.fingerprint()),
            "a source matching only the source side still inhibits a two-sided alert"
        );
    }
}
