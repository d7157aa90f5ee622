//! Label sets in their canonical, compact encoding.
//!
//! A label set is stored as one byte buffer: for each label, sorted by name,
//! `uvarint(len(name)) name uvarint(len(value)) value`. The same bytes are the input of the
//! series id hash, the key of the head's series map and what the WAL logs, so a series costs
//! one allocation however many labels it has.

use std::cmp::Ordering;
use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

/// The label that names the metric.
pub const METRIC_NAME: &str = "__name__";

/// Stable 64-bit id of a series: xxh3-64 of its canonical label encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u64);

impl SeriesId {
    /// The id of the series whose canonical encoding is `encoded`.
    pub fn of_encoded(encoded: &[u8]) -> Self {
        SeriesId(xxh3_64(encoded))
    }
}

/// Why a label set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// A label with an empty name.
    #[error("label with empty name (value {value:?})")]
    EmptyName {
        /// The value that came with the empty name.
        value: String,
    },
    /// The same label name twice.
    #[error("duplicate label name {name:?}")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// No labels at all (after dropping empty values).
    #[error("empty label set")]
    Empty,
}

/// A borrowed label, as decoders produce it without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelRef<'a> {
    /// Label name.
    pub name: &'a str,
    /// Label value.
    pub value: &'a str,
}

impl<'a> LabelRef<'a> {
    /// A label from its name and value.
    pub fn new(name: &'a str, value: &'a str) -> Self {
        LabelRef { name, value }
    }
}

/// A sorted set of labels with unique names, in canonical encoding.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels {
    data: Box<[u8]>,
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels::default()
    }

    /// Builds a label set from pairs in any order; empty values are dropped (Prometheus treats
    /// an empty-valued label as absent), duplicate or empty names are refused.
    pub fn from_pairs<'a, I>(pairs: I) -> Result<Self, LabelError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut refs: Vec<LabelRef<'a>> = pairs
            .into_iter()
            .map(|(n, v)| LabelRef::new(n, v))
            .collect();
        let mut buf = Vec::new();
        encode_refs_into(&mut refs, &mut buf)?;
        Ok(Labels::from_encoded_unchecked(&buf))
    }

    /// Wraps bytes produced by [`encode_refs_into`] or [`Labels::encoded`].
    ///
    /// The caller vouches that the bytes are a valid canonical encoding; use
    /// [`Labels::from_encoded`] for bytes that came from outside the process.
    pub fn from_encoded_unchecked(encoded: &[u8]) -> Self {
        Labels {
            data: encoded.into(),
        }
    }

    /// Parses and checks a canonical encoding read from disk or the network.
    pub fn from_encoded(encoded: &[u8]) -> Option<Self> {
        let mut prev: Option<&str> = None;
        let mut it = LabelsIter { rest: encoded };
        loop {
            match it.next_checked() {
                Ok(Some(l)) => {
                    if l.name.is_empty() || prev.is_some_and(|p| p >= l.name) {
                        return None;
                    }
                    prev = Some(l.name);
                }
                Ok(None) => return Some(Labels::from_encoded_unchecked(encoded)),
                Err(()) => return None,
            }
        }
    }

    /// The canonical encoding (the input of [`SeriesId`]).
    pub fn encoded(&self) -> &[u8] {
        &self.data
    }

    /// The series id of this label set.
    pub fn id(&self) -> SeriesId {
        SeriesId::of_encoded(&self.data)
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = LabelRef<'_>> + '_ {
        LabelsIter { rest: &self.data }
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|l| l.name == name).map(|l| l.value)
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True for the empty label set.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes held on the heap by this label set.
    pub fn heap_bytes(&self) -> usize {
        self.data.len()
    }

    /// A copy without the labels whose names `drop` returns true for.
    pub fn without(&self, mut drop: impl FnMut(&str) -> bool) -> Labels {
        let mut buf = Vec::with_capacity(self.data.len());
        for l in self.iter() {
            if !drop(l.name) {
                push_label(&mut buf, l.name, l.value);
            }
        }
        Labels::from_encoded_unchecked(&buf)
    }

    /// A builder starting from these labels.
    pub fn to_builder(&self) -> LabelsBuilder {
        let mut b = LabelsBuilder::default();
        for l in self.iter() {
            b.set(l.name, l.value);
        }
        b
    }
}

/// Sorts `refs` by name, drops empty values, checks names, and writes the canonical encoding of
/// the result into `buf` (cleared first). Allocates nothing once `buf` has grown.
pub fn encode_refs_into(refs: &mut [LabelRef<'_>], buf: &mut Vec<u8>) -> Result<(), LabelError> {
    buf.clear();
    refs.sort_unstable_by(|a, b| a.name.cmp(b.name));
    let mut prev: Option<&str> = None;
    let mut any = false;
    for l in refs.iter() {
        if l.name.is_empty() {
            return Err(LabelError::EmptyName {
                value: l.value.to_string(),
            });
        }
        if prev == Some(l.name) {
            return Err(LabelError::DuplicateName {
                name: l.name.to_string(),
            });
        }
        prev = Some(l.name);
        if l.value.is_empty() {
            continue;
        }
        any = true;
        push_label(buf, l.name, l.value);
    }
    if !any {
        return Err(LabelError::Empty);
    }
    Ok(())
}

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

struct LabelsIter<'a> {
    rest: &'a [u8],
}

impl<'a> LabelsIter<'a> {
    fn take_str(&mut self) -> Result<&'a str, ()> {
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let (&b, tail) = self.rest.split_first().ok_or(())?;
            self.rest = tail;
            if shift > 63 {
                return Err(());
            }
            len |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        let len = usize::try_from(len).map_err(|_| ())?;
        if len > self.rest.len() {
            return Err(());
        }
        let (s, tail) = self.rest.split_at(len);
        self.rest = tail;
        std::str::from_utf8(s).map_err(|_| ())
    }

    fn next_checked(&mut self) -> Result<Option<LabelRef<'a>>, ()> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let name = self.take_str()?;
        let value = self.take_str()?;
        Ok(Some(LabelRef { name, value }))
    }
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = LabelRef<'a>;

    fn next(&mut self) -> Option<LabelRef<'a>> {
        self.next_checked()
            .expect("labels are only built from valid canonical encodings")
    }
}

impl Ord for Labels {
    /// Prometheus' order: label by label, name then value; a prefix sorts first.
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = self.iter();
        let mut b = other.iter();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let o = x.name.cmp(y.name).then_with(|| x.value.cmp(y.value));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
        }
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// Prometheus' form: `{__name__="up", job="node"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"", l.name)?;
            for c in l.value.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Builds a label set by setting and deleting labels.
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    pairs: Vec<(String, String)>,
}

impl LabelsBuilder {
    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.del(name);
        if !value.is_empty() {
            self.pairs.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Deletes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.pairs.retain(|(n, _)| n != name);
        self
    }

    /// The label set; an empty builder gives the empty set.
    pub fn build(&self) -> Labels {
        let mut pairs: Vec<&(String, String)> = self.pairs.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut buf = Vec::new();
        for (n, v) in pairs {
            push_label(&mut buf, n, v);
        }
        Labels::from_encoded_unchecked(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_and_drops_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "")]).unwrap();
        let got: Vec<_> = l.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(got, vec![("a", "1"), ("b", "2")]);
        assert_eq!(l.to_string(), r#"{a="1", b="2"}"#);
    }

    #[test]
    fn refuses_duplicates_and_empty_names() {
        assert_eq!(
            Labels::from_pairs([("a", "1"), ("a", "2")]),
            Err(LabelError::DuplicateName { name: "a".into() })
        );
        assert!(matches!(
            Labels::from_pairs([("", "1")]),
            Err(LabelError::EmptyName { .. })
        ));
        assert_eq!(Labels::from_pairs([("a", "")]), Err(LabelError::Empty));
    }

    #[test]
    fn id_is_order_independent_and_stable() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "x")]).unwrap();
        let b = Labels::from_pairs([("job", "x"), ("__name__", "up")]).unwrap();
        assert_eq!(a.id(), b.id());
        // Pinned: the id is part of the on-disk format.
        assert_eq!(a.id(), SeriesId(xxh3_64(b"\x08__name__\x02up\x03job\x01x")));
    }

    #[test]
    fn prometheus_order() {
        let a = Labels::from_pairs([("a", "1")]).unwrap();
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]).unwrap();
        let a2 = Labels::from_pairs([("a", "2")]).unwrap();
        assert!(a < ab && ab < a2);
    }

    proptest! {
        #[test]
        fn encoding_round_trips(pairs in proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{1,12}", 1..12)) {
            let l = Labels::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            let back = Labels::from_encoded(l.encoded()).unwrap();
            prop_assert_eq!(&back, &l);
            let got: Vec<(String, String)> = back.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect();
            let want: Vec<(String, String)> = pairs.into_iter().collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn from_encoded_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(l) = Labels::from_encoded(&bytes) {
                prop_assert_eq!(l.iter().count(), l.len());
            }
        }
    }
}
