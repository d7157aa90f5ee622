//! Which dedicated keys of a block also sit in its generic attribute lists: a second
//! attribute of the key, or a first one of another type than its column's. A test on a
//! dedicated column answers for the key only where this never happens.

use cairn_model::{AttrValue, Resource, Span};

use super::schema::{DEDICATED, SERVICE_NAME};

/// The dedicated keys seen outside their columns so far.
#[derive(Default)]
pub(crate) struct Overflow {
    service_name: bool,
    span: [bool; DEDICATED.len()],
}

impl Overflow {
    /// Notes the attributes of one span and its resource.
    pub(crate) fn note(&mut self, r: &Resource, s: &Span) {
        if !self.service_name {
            let mut first = true;
            for a in r.attributes.iter().filter(|a| a.key == SERVICE_NAME) {
                if !first || !matches!(a.value, AttrValue::String(_)) {
                    self.service_name = true;
                }
                first = false;
            }
        }
        let mut seen = [false; DEDICATED.len()];
        for a in &s.attributes {
            let Some(k) = DEDICATED.iter().position(|(key, _, _)| *key == a.key) else {
                continue;
            };
            let typed = matches!(
                (&a.value, DEDICATED[k].2),
                (AttrValue::Int(_), true) | (AttrValue::String(_), false)
            );
            if seen[k] || !typed {
                self.span[k] = true;
            }
            seen[k] = true;
        }
    }

    /// The keys seen outside their columns, `service.name` first.
    pub(crate) fn keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.service_name {
            out.push(SERVICE_NAME.to_string());
        }
        for (k, (key, _, _)) in DEDICATED.iter().enumerate() {
            if self.span[k] {
                out.push(key.to_string());
            }
        }
        out
    }
}
