//! The labels of the line being processed, by category, with Loki's precedence rules: a parsed
//! label hides a structured metadata one of the same name, which hides a stream label. Buffers
//! are reused from line to line so that a pipeline allocates nothing per line in the common
//! case.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use cairn_model::Labels;

use super::LabelsResult;
use super::hints::Hints;
use crate::labels;

/// Loki's `__error__` label.
pub(crate) const ERROR_LABEL: &str = "__error__";
/// Loki's `__error_details__` label.
pub(crate) const ERROR_DETAILS_LABEL: &str = "__error_details__";
/// Set by parsers when the query groups by `__error__`, so errors survive into the result.
pub(crate) const PRESERVE_ERROR_LABEL: &str = "__preserve_error__";
/// Suffix of an extracted label whose name a stream (or metadata) label already has.
pub(crate) const DUP_SUFFIX: &str = "_extracted";

/// Error label values, as Loki sets them.
pub(crate) const ERR_JSON: &str = "JSONParserErr";
pub(crate) const ERR_LOGFMT: &str = "LogfmtParserErr";
pub(crate) const ERR_SAMPLE: &str = "SampleExtractionErr";
pub(crate) const ERR_LABEL_FILTER: &str = "LabelFilterErr";
pub(crate) const ERR_TEMPLATE: &str = "TemplateFormatErr";

/// Where a label comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cat {
    Stream = 0,
    Meta = 1,
    Parsed = 2,
}

const CATS: [Cat; 3] = [Cat::Stream, Cat::Meta, Cat::Parsed];

/// A list of name/value pairs whose strings are kept for reuse when entries are removed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slots {
    v: Vec<(String, String)>,
    n: usize,
}

impl Slots {
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.v[..self.n]
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.v[..self.n].iter().position(|(n, _)| n == name)
    }

    fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.find(name).map(|i| self.v[i].1.as_str())
    }

    fn push(&mut self, name: &str, value: &str) {
        if self.n == self.v.len() {
            self.v.push((name.to_owned(), value.to_owned()));
        } else {
            let slot = &mut self.v[self.n];
            slot.0.clear();
            slot.0.push_str(name);
            slot.1.clear();
            slot.1.push_str(value);
        }
        self.n += 1;
    }

    fn set_value(&mut self, i: usize, value: &str) {
        let s = &mut self.v[i].1;
        s.clear();
        s.push_str(value);
    }

    fn remove(&mut self, name: &str) {
        while let Some(i) = self.find(name) {
            // Order inside a category does not matter: results are sorted.
            self.v[i..self.n].rotate_left(1);
            self.n -= 1;
        }
    }

    fn clear(&mut self) {
        self.n = 0;
    }
}

/// The stream labels a pipeline works from, decoded once per stream.
#[derive(Debug)]
pub(crate) struct Base {
    pub(crate) labels: Labels,
    pub(crate) pairs: Vec<(String, String)>,
}

impl Base {
    pub(crate) fn new(labels: &Labels) -> Base {
        Base {
            labels: labels.clone(),
            pairs: labels::to_pairs(labels),
        }
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Passes an already computed 64-bit hash through (the caches key by an xxh3 of the labels).
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A cache keyed by the xxh3 of an encoding; an entry holds the encoding to rule out
/// collisions.
type Cache<V> = HashMap<u64, (Box<[u8]>, V), BuildHasherDefault<PassThrough>>;

/// Bound on the results a stream's cache keeps (lines with unique parsed values would make it
/// grow without end).
const MAX_CACHED: usize = 4096;

/// The labels of the current line.
#[derive(Debug)]
pub(crate) struct LabelState {
    pub(crate) base: Arc<Base>,
    add: [Slots; 3],
    del: Vec<String>,
    err: String,
    err_details: String,
    /// Parsed labels set on this line (Loki's parser hint `Extracted`): a later parser does not
    /// overwrite them.
    extracted: Vec<String>,
    base_result: Arc<LabelsResult>,
    cache: Cache<Arc<LabelsResult>>,
    grouped_cache: Cache<Labels>,
    scratch: Vec<u8>,
}

impl LabelState {
    pub(crate) fn new(base: Arc<Base>) -> LabelState {
        let base_result = Arc::new(LabelsResult::from_stream(base.labels.clone()));
        LabelState {
            base,
            add: Default::default(),
            del: Vec::new(),
            err: String::new(),
            err_details: String::new(),
            extracted: Vec::new(),
            base_result,
            cache: Cache::default(),
            grouped_cache: Cache::default(),
            scratch: Vec::new(),
        }
    }

    /// Clears everything the previous line set.
    pub(crate) fn reset(&mut self) {
        for s in &mut self.add {
            s.clear();
        }
        self.del.clear();
        self.err.clear();
        self.err_details.clear();
        self.extracted.clear();
    }

    pub(crate) fn has_err(&self) -> bool {
        !self.err.is_empty()
    }

    pub(crate) fn err(&self) -> &str {
        &self.err
    }

    pub(crate) fn set_err(&mut self, e: &str) {
        self.err.clear();
        self.err.push_str(e);
    }

    pub(crate) fn err_details(&self) -> &str {
        &self.err_details
    }

    pub(crate) fn set_err_details(&mut self, d: &str) {
        self.err_details.clear();
        self.err_details.push_str(d);
    }

    pub(crate) fn reset_error(&mut self) {
        self.err.clear();
    }

    pub(crate) fn reset_error_details(&mut self) {
        self.err_details.clear();
    }

    /// Sets `__error__` (and the details when given) as Loki's parsers do.
    pub(crate) fn add_error(&mut self, e: &str, details: Option<&str>, hints: &Hints) {
        self.set_err(e);
        if let Some(d) = details {
            self.set_err_details(d);
        }
        if hints.preserve_error() {
            self.set(Cat::Parsed, PRESERVE_ERROR_LABEL, "true");
        }
    }

    /// Whether the stream labels have `name` (deleted or not).
    pub(crate) fn base_has(&self, name: &str) -> bool {
        self.base.has(name)
    }

    pub(crate) fn has_in(&self, name: &str, cat: Cat) -> bool {
        self.add[cat as usize].contains(name)
    }

    /// Whether a parsed label of this name was set on this line.
    pub(crate) fn extracted(&self, name: &str) -> bool {
        self.extracted.iter().any(|n| n == name)
    }

    pub(crate) fn extracted_count(&self) -> usize {
        self.extracted.len()
    }

    /// The value of `name` and its category.
    pub(crate) fn get_with_category(&self, name: &str) -> Option<(&str, Cat)> {
        for c in CATS {
            if let Some(v) = self.add[c as usize].value(name) {
                return Some((v, c));
            }
        }
        if self.del.iter().any(|d| d == name) {
            return None;
        }
        match self.base.get(name) {
            Some(v) if !v.is_empty() => Some((v, Cat::Stream)),
            _ => None,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.get_with_category(name).map(|(v, _)| v)
    }

    /// Deletes `name` from every category.
    pub(crate) fn del(&mut self, name: &str) {
        for s in &mut self.add {
            s.remove(name);
        }
        self.del.push(name.to_owned());
    }

    /// Sets a label, following Loki's precedence: parsed over metadata over stream.
    pub(crate) fn set(&mut self, cat: Cat, name: &str, value: &str) {
        match cat {
            Cat::Parsed => {
                self.add[Cat::Meta as usize].remove(name);
                self.add[Cat::Stream as usize].remove(name);
            }
            Cat::Meta => {
                self.add[Cat::Stream as usize].remove(name);
                if self.add[Cat::Parsed as usize].contains(name) {
                    return;
                }
            }
            Cat::Stream => {
                if self.add[Cat::Meta as usize].contains(name)
                    || self.add[Cat::Parsed as usize].contains(name)
                {
                    return;
                }
            }
        }
        let slots = &mut self.add[cat as usize];
        if let Some(i) = slots.find(name) {
            slots.set_value(i, value);
            return;
        }
        slots.push(name, value);
        if cat == Cat::Parsed && !self.extracted(name) {
            self.extracted.push(name.to_owned());
        }
    }

    /// Adds the entry's structured metadata (Loki's `Add(StructuredMetadataLabel, ...)`): a name
    /// the stream already has gets the `_extracted` suffix; `__error__` and
    /// `__error_details__` set the error.
    pub(crate) fn add_metadata(&mut self, md: &[(String, String)]) {
        for (n, v) in md {
            if n == ERROR_LABEL {
                self.set_err(v);
                continue;
            }
            if n == ERROR_DETAILS_LABEL {
                self.set_err_details(v);
                continue;
            }
            if self.base_has(n) {
                let name = format!("{n}{DUP_SUFFIX}");
                self.set(Cat::Meta, &name, v);
            } else {
                self.set(Cat::Meta, n, v);
            }
        }
    }

    fn unchanged(&self) -> bool {
        self.del.is_empty() && self.add.iter().all(|s| s.len() == 0)
    }

    /// Every label of the line with its category, unsorted (Loki's `UnsortedLabels`).
    pub(crate) fn for_each_label<'s>(&'s self, mut f: impl FnMut(&'s str, &'s str, Cat)) {
        let meta = &self.add[Cat::Meta as usize];
        let parsed = &self.add[Cat::Parsed as usize];
        let stream = &self.add[Cat::Stream as usize];
        for (n, v) in &self.base.pairs {
            if self.del.iter().any(|d| d == n) || meta.contains(n) || parsed.contains(n) {
                continue;
            }
            f(n, stream.value(n).unwrap_or(v), Cat::Stream);
        }
        for (n, v) in meta.iter() {
            if !parsed.contains(n) {
                f(n, v, Cat::Meta);
            }
        }
        for (n, v) in parsed.iter() {
            f(n, v, Cat::Parsed);
        }
        if !self.err.is_empty() {
            f(ERROR_LABEL, &self.err, Cat::Parsed);
        }
        if !self.err_details.is_empty() {
            f(ERROR_DETAILS_LABEL, &self.err_details, Cat::Parsed);
        }
    }

    /// The line's labels by category, shared between lines with the same labels.
    pub(crate) fn result(&mut self) -> Arc<LabelsResult> {
        if self.unchanged() && self.err.is_empty() && self.err_details.is_empty() {
            return Arc::clone(&self.base_result);
        }
        let mut key = std::mem::take(&mut self.scratch);
        let built = {
            let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.base.pairs.len() + 8);
            let mut cats: Vec<(&str, Cat)> = Vec::with_capacity(8);
            self.for_each_label(|n, v, c| {
                pairs.push((n, v));
                if c != Cat::Stream {
                    cats.push((n, c));
                }
            });
            // The cache key is the label set plus which names are not stream labels.
            labels::encode_into(&mut pairs, &mut key);
            let all_len = key.len();
            for (n, c) in &cats {
                key.push(0xff);
                key.push(*c as u8);
                key.extend_from_slice(n.as_bytes());
            }
            let h = xxh3_64(&key);
            if let Some((k, r)) = self.cache.get(&h)
                && **k == *key
            {
                Err(Arc::clone(r))
            } else {
                let mut stream: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
                let mut meta: Vec<(&str, &str)> = Vec::new();
                let mut parsed: Vec<(&str, &str)> = Vec::with_capacity(cats.len());
                for &(n, v) in &pairs {
                    match cats.iter().find(|(m, _)| *m == n).map(|(_, c)| *c) {
                        Some(Cat::Parsed) => parsed.push((n, v)),
                        Some(Cat::Meta) => meta.push((n, v)),
                        _ => stream.push((n, v)),
                    }
                }
                let stream = if stream.len() == self.base.pairs.len()
                    && self.del.is_empty()
                    && self.add[Cat::Stream as usize].len() == 0
                {
                    self.base.labels.clone()
                } else {
                    labels::from_pairs(stream)
                };
                Ok(LabelsResult {
                    stream,
                    metadata: labels::from_pairs(meta),
                    parsed: labels::from_pairs(parsed),
                    all: labels::from_encoded(&key[..all_len]),
                })
            }
        };
        let r = match built {
            Err(cached) => cached,
            Ok(r) => {
                let r = Arc::new(r);
                if self.cache.len() >= MAX_CACHED {
                    self.cache.clear();
                }
                self.cache
                    .insert(xxh3_64(&key), (key.as_slice().into(), Arc::clone(&r)));
                r
            }
        };
        self.scratch = key;
        r
    }

    /// The labels a metric sample gets (Loki's `GroupedLabels`): with an error, every label;
    /// otherwise those the grouping keeps.
    pub(crate) fn grouped(&mut self, g: &Grouping) -> Labels {
        if self.has_err() {
            return self.result().all.clone();
        }
        if g.no_labels {
            return Labels::empty();
        }
        if g.groups.is_empty() {
            if self.unchanged() {
                return self.base.labels.clone();
            }
            return self.result().all.clone();
        }
        let mut key = std::mem::take(&mut self.scratch);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if g.without {
            for (n, v) in &self.base.pairs {
                if self.del.iter().any(|d| d == n)
                    || self.add.iter().any(|s| s.contains(n))
                    || g.groups.iter().any(|x| x == n)
                {
                    continue;
                }
                pairs.push((n, v));
            }
            for s in &self.add {
                for (n, v) in s.iter() {
                    if !g.groups.iter().any(|x| x == n) {
                        pairs.push((n, v));
                    }
                }
            }
        } else {
            'outer: for name in &g.groups {
                if self.del.iter().any(|d| d == name) {
                    continue;
                }
                for s in &self.add {
                    if let Some(v) = s.value(name) {
                        pairs.push((name, v));
                        continue 'outer;
                    }
                }
                if let Some(v) = self.base.get(name)
                    && !v.is_empty()
                {
                    pairs.push((name, v));
                }
            }
        }
        labels::encode_into(&mut pairs, &mut key);
        drop(pairs);
        let h = xxh3_64(&key);
        let out = match self.grouped_cache.get(&h) {
            Some((k, l)) if **k == *key => l.clone(),
            _ => {
                let l = labels::from_encoded(&key);
                if self.grouped_cache.len() >= MAX_CACHED {
                    self.grouped_cache.clear();
                }
                self.grouped_cache
                    .insert(h, (key.as_slice().into(), l.clone()));
                l
            }
        };
        self.scratch = key;
        out
    }
}

/// How a metric sample's labels are reduced: `by`/`without` labels pushed down from the
/// aggregation, or none at all.
#[derive(Clone, Debug, Default)]
pub(crate) struct Grouping {
    pub(crate) groups: Vec<String>,
    pub(crate) without: bool,
    pub(crate) no_labels: bool,
}
