//! Label sets as LogQL results carry them. Unlike Prometheus series, a LogQL label may have an
//! empty value (`| json age="user.age"` on a line without `user.age` yields `age=""`), so these
//! helpers write the canonical [`Labels`] encoding themselves, keeping empty values.

use cairn_model::Labels;

/// Appends one label in the canonical encoding.
fn push_label(buf: &mut Vec<u8>, name: &str, value: &str) {
    push_uvarint(buf, name.len() as u64);
    buf.extend_from_slice(name.as_bytes());
    push_uvarint(buf, value.len() as u64);
    buf.extend_from_slice(value.as_bytes());
}

fn push_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Encodes `pairs` (any order; names non-empty; for a repeated name the last one wins) into
/// `buf`, keeping empty values.
pub(crate) fn encode_into<'a>(pairs: &mut Vec<(&'a str, &'a str)>, buf: &mut Vec<u8>) {
    buf.clear();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let n = pairs.len();
    for i in 0..n {
        let (name, value) = pairs[i];
        if name.is_empty() || (i + 1 < n && pairs[i + 1].0 == name) {
            continue;
        }
        push_label(buf, name, value);
    }
}

/// A label set from `pairs` (any order), keeping empty values; empty names are left out and a
/// repeated name keeps its last value.
pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
    let mut v: Vec<(&str, &str)> = pairs.into_iter().collect();
    let mut buf = Vec::new();
    encode_into(&mut v, &mut buf);
    Labels::from_encoded_unchecked(&buf)
}

/// Wraps an encoding made by [`encode_into`].
pub(crate) fn from_encoded(buf: &[u8]) -> Labels {
    Labels::from_encoded_unchecked(buf)
}

/// The label set's pairs, owned.
pub(crate) fn to_pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.to_owned(), l.value.to_owned()))
        .collect()
}

/// `l` without the labels `drop` selects, keeping empty values.
pub(crate) fn without(l: &Labels, mut drop: impl FnMut(&str) -> bool) -> Labels {
    let mut buf = Vec::with_capacity(l.encoded().len());
    for x in l.iter() {
        if !drop(x.name) {
            push_label(&mut buf, x.name, x.value);
        }
    }
    Labels::from_encoded_unchecked(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_empty_values_and_sorts() {
        let l = from_pairs([("b", ""), ("a", "1"), ("a", "2")]);
        assert_eq!(l.to_string(), r#"{a="2", b=""}"#);
        assert_eq!(Labels::from_encoded(l.encoded()), Some(l.clone()));
        assert_eq!(without(&l, |n| n == "a").to_string(), r#"{b=""}"#);
    }
}
