//! A log query's entries, and the two ways Loki groups them into streams: flat (one stream per
//! full label set) and categorized (one stream per stream label set, each entry carrying its
//! structured metadata and parsed labels).

use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::Labels;

use crate::labels;
use crate::pipeline::LabelsResult;

/// One entry of a result.
#[derive(Clone, Debug)]
struct Entry {
    ts_ns: i64,
    line: String,
    labels: Arc<LabelsResult>,
}

/// Log query results, in the order the query asked for (its direction).
#[derive(Clone, Debug, Default)]
pub struct Streams {
    entries: Vec<Entry>,
}

/// One stream of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamOut {
    /// Its labels: the full label set (flat) or the stream labels (categorized).
    pub labels: Labels,
    /// Its entries, in the query's direction.
    pub entries: Vec<EntryOut>,
}

/// One entry of a [`StreamOut`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryOut {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The line after the pipeline.
    pub line: String,
    /// Structured metadata (categorized only), sorted by name.
    pub metadata: Vec<(String, String)>,
    /// Parsed labels and pipeline errors (categorized only), sorted by name.
    pub parsed: Vec<(String, String)>,
}

impl Streams {
    /// No entries.
    pub fn new() -> Streams {
        Streams::default()
    }

    /// Appends an entry (callers append in the query's direction).
    pub fn push(&mut self, ts_ns: i64, line: String, labels: Arc<LabelsResult>) {
        self.entries.push(Entry {
            ts_ns,
            line,
            labels,
        });
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in order: time, line and labels by category.
    pub fn entries(&self) -> impl Iterator<Item = (i64, &str, &LabelsResult)> + '_ {
        self.entries
            .iter()
            .map(|e| (e.ts_ns, e.line.as_str(), &*e.labels))
    }

    /// Bytes of the lines.
    pub fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.line.len()).sum()
    }

    fn group(&self, key: impl Fn(&LabelsResult) -> &Labels, categorized: bool) -> Vec<StreamOut> {
        let mut index: HashMap<&Labels, usize> = HashMap::new();
        let mut out: Vec<StreamOut> = Vec::new();
        for e in &self.entries {
            let k = key(&e.labels);
            let i = *index.entry(k).or_insert_with(|| {
                out.push(StreamOut {
                    labels: k.clone(),
                    entries: Vec::new(),
                });
                out.len() - 1
            });
            let (metadata, parsed) = if categorized {
                (
                    labels::to_pairs(&e.labels.metadata),
                    labels::to_pairs(&e.labels.parsed),
                )
            } else {
                (Vec::new(), Vec::new())
            };
            out[i].entries.push(EntryOut {
                ts_ns: e.ts_ns,
                line: e.line.clone(),
                metadata,
                parsed,
            });
        }
        // Loki sorts streams by the text of their labels.
        let mut keyed: Vec<(String, StreamOut)> =
            out.into_iter().map(|s| (s.labels.to_string(), s)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, s)| s).collect()
    }

    /// One stream per full label set (stream labels, structured metadata and parsed labels).
    pub fn flat(&self) -> Vec<StreamOut> {
        self.group(|l| &l.all, false)
    }

    /// One stream per stream label set; entries carry their metadata and parsed labels
    /// (Grafana's `categorize-labels` encoding).
    pub fn categorized(&self) -> Vec<StreamOut> {
        self.group(|l| &l.stream, true)
    }
}
