//! Comparisons and lookups of label sets on their canonical encoding, without decoding every
//! string: sorting, merging and matching series by labels are the hot loops of wide reads,
//! and `Labels`' own `Ord` and `get` check the UTF-8 of every label they pass.
//!
//! Invariant: [`cmp_labels`] is the order of `Labels`' `Ord` (label by label, name then
//! value, a prefix first); string order is byte order, so comparing bytes gives it.

use std::cmp::Ordering;

use cairn_model::Labels;

/// Splits the next length-prefixed (LEB128) string off `rest`.
fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        if shift > 63 {
            return None;
        }
        len |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    let len = usize::try_from(len).ok()?;
    if len > rest.len() {
        return None;
    }
    let (s, tail) = rest.split_at(len);
    *rest = tail;
    Some(s)
}

/// `a.cmp(b)` for label sets, on their encodings.
pub(crate) fn cmp_labels(a: &Labels, b: &Labels) -> Ordering {
    let (ea, eb) = (a.encoded(), b.encoded());
    if ea == eb {
        return Ordering::Equal;
    }
    let (mut x, mut y) = (ea, eb);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let (Some(xn), Some(xv), Some(yn), Some(yv)) =
            (take(&mut x), take(&mut x), take(&mut y), take(&mut y))
        else {
            // Not a canonical encoding (cannot happen for a `Labels`): the slow, exact path.
            return a.cmp(b);
        };
        let o = xn.cmp(yn).then_with(|| xv.cmp(yv));
        if o != Ordering::Equal {
            return o;
        }
    }
}

/// The value of label `name` in `l`, like `l.get(name)`, checking only that value's UTF-8.
pub(crate) fn label_value<'a>(l: &'a Labels, name: &str) -> Option<&'a str> {
    let mut rest = l.encoded();
    while !rest.is_empty() {
        let n = take(&mut rest)?;
        let v = take(&mut rest)?;
        match n.cmp(name.as_bytes()) {
            Ordering::Less => {}
            Ordering::Equal => return std::str::from_utf8(v).ok(),
            // Names are sorted: `name` is absent.
            Ordering::Greater => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("valid labels")
    }

    #[test]
    fn order_and_lookup_agree_with_labels() {
        let long = "v".repeat(200);
        let sets = vec![
            l(&[("__name__", "up")]),
            l(&[("__name__", "up"), ("job", "a")]),
            l(&[("__name__", "up"), ("job", "ab")]),
            l(&[("__name__", "up"), ("job", "b")]),
            l(&[("__name__", "up"), ("jobs", "a")]),
            l(&[("__name__", "up"), ("instance", "x"), ("job", "a")]),
            l(&[("__name__", "upx")]),
            l(&[("__name__", "u")]),
            l(&[("a", "é")]),
            l(&[("a", "z")]),
            l(&[("a", long.as_str())]),
            l(&[("a", "v")]),
            Labels::empty(),
        ];
        for a in &sets {
            for b in &sets {
                assert_eq!(cmp_labels(a, b), a.cmp(b), "{a} vs {b}");
            }
            for name in ["__name__", "a", "instance", "job", "jobs", "zzz", ""] {
                assert_eq!(label_value(a, name), a.get(name), "{a} {name}");
            }
        }
    }
}
