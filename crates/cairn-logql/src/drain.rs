//! Drain: log pattern mining as Loki's pattern ingester does it (`pkg/pattern/drain`, a fork
//! of faceair/drain after He et al., ICWS 2017), for `/loki/api/v1/patterns`.
//!
//! A line is cut into tokens ([`LogFormat`] picks the tokenizer: free text, logfmt, JSON);
//! lines with 4 to 80 tokens are clustered. A prefix tree routes a line by its token count,
//! then by its first tokens (up to depth 28; tokens with digits and overflowing nodes go to the
//! `<_>` child) to a leaf whose clusters are compared token by token: the most similar
//! cluster, if at least 30% of its tokens equal the line's, takes the line and its differing
//! tokens become `<_>`; otherwise the line founds a new cluster. At most 300 clusters live,
//! the least recently used evicted; when more than a quarter of the lines so far evicted a
//! cluster, training pauses for 10 minutes of log time (Loki's limiter, on wall time there).
//!
//! Each cluster counts its lines per time bucket. [`PatternMiner`] runs one Drain per
//! stream and level over a query's lines and merges the clusters into Loki's answer.

mod patterns;
mod tokenize;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub use patterns::{MIN_PATTERN_STEP_NS, PatternMiner, PatternOptions, PatternSeries, StreamSlot};
pub use tokenize::LogFormat;
use tokenize::{PARAM, Tokenizer, Tokens};

/// Fewest tokens a line needs to be clustered.
const MIN_TOKENS: usize = 4;
/// Most tokens a line may have to be clustered.
const MAX_TOKENS: usize = 80;
/// How long training pauses when too many clusters were evicted.
const LIMITER_PAUSE_NS: i64 = 10 * 60 * 1_000_000_000;

/// Drain's parameters; the defaults are Loki's.
#[derive(Clone, Debug, PartialEq)]
pub struct DrainConfig {
    /// Depth of the prefix tree plus two (Loki's `LogClusterDepth`, 30): lines are routed by
    /// up to `depth - 3` leading tokens.
    pub depth: usize,
    /// Share of equal tokens a line needs to join a cluster (0.3).
    pub similarity: f64,
    /// Most children of a tree node before tokens go to its `<_>` child (15).
    pub max_children: usize,
    /// Most live clusters, the least recently used evicted past it (300; 0 for no bound).
    pub max_clusters: usize,
    /// Share of evictions among lines past which training pauses (0.25).
    pub max_eviction_ratio: f64,
    /// Longest line (or JSON message) tokenized, in bytes (3000).
    pub max_line_length: usize,
    /// The JSON fields whose string value is the message of a JSON line, the first present
    /// wins (Loki's `pattern_ingester_tokenizable_json_fields_default`).
    pub json_fields: Vec<String>,
}

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            depth: 30,
            similarity: 0.3,
            max_children: 15,
            max_clusters: 300,
            max_eviction_ratio: 0.25,
            max_line_length: 3000,
            json_fields: ["log", "message", "msg", "msg_", "_msg", "content"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// A node of the prefix tree.
#[derive(Debug, Default)]
struct Node {
    /// Children by token, in insertion order (few per node: a scan beats a map).
    children: Vec<(Box<str>, u32)>,
    /// Clusters at this leaf (ids; evicted ones are dropped lazily).
    clusters: Vec<u32>,
}

impl Node {
    fn child(&self, key: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|&(_, n)| n)
    }
}

/// A cluster of lines: its template and its line counts per time bucket.
#[derive(Clone, Debug)]
pub struct Cluster {
    tokenizer: Tokenizer,
    tokens: Vec<Box<str>>,
    spaces: Vec<i32>,
    last_used: u64,
    lines: u64,
    bytes: u64,
    /// (bucket start in ms, lines), ascending.
    samples: Vec<(i64, u64)>,
}

impl Cluster {
    /// The template as Loki writes it: the line's text with `<_>` for what varies.
    pub fn pattern(&self) -> String {
        self.tokenizer.join(&self.tokens, &self.spaces)
    }

    /// Lines counted.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes of those lines.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Lines per time bucket: (bucket start in ms since the epoch, lines), ascending.
    pub fn samples(&self) -> &[(i64, u64)] {
        &self.samples
    }

    fn count(&mut self, ts_ns: i64, bucket_ms: i64, bytes: usize) {
        self.lines += 1;
        self.bytes += bytes as u64;
        let ms = ts_ns.div_euclid(1_000_000);
        let b = ms - ms.rem_euclid(bucket_ms);
        match self.samples.last_mut() {
            Some((t, n)) if *t == b => *n += 1,
            Some((t, _)) if *t > b => {
                // Lines of one stream arrive in time order; keep counting right otherwise.
                let i = self.samples.partition_point(|&(t, _)| t < b);
                match self.samples.get_mut(i) {
                    Some((t, n)) if *t == b => *n += 1,
                    _ => self.samples.insert(i, (b, 1)),
                }
            }
            _ => self.samples.push((b, 1)),
        }
    }
}

/// Loki's limiter: pauses training when clusters churn.
#[derive(Debug, Default)]
struct Limiter {
    added: u64,
    evicted: u64,
    blocked_until: Option<i64>,
}

impl Limiter {
    fn allow(&mut self, now_ns: i64, max_ratio: f64) -> bool {
        if let Some(until) = self.blocked_until {
            if now_ns < until {
                return false;
            }
            *self = Limiter::default();
        }
        if self.added == 0 {
            self.added = 1;
            return true;
        }
        if self.evicted as f64 / self.added as f64 > max_ratio {
            self.blocked_until = Some(now_ns.saturating_add(LIMITER_PAUSE_NS));
            return false;
        }
        self.added += 1;
        true
    }
}

/// One Drain: the clusters of one stream's lines of one level.
#[derive(Debug)]
pub struct Drain {
    config: Arc<DrainConfig>,
    tokenizer: Tokenizer,
    /// Lines are routed by at most `max_node_depth - 1` tokens.
    max_node_depth: usize,
    bucket_ms: i64,
    /// First layer: one node per token count.
    by_count: HashMap<usize, u32>,
    nodes: Vec<Node>,
    /// Cluster `id` at index `id - 1`; `None` once evicted.
    clusters: Vec<Option<Box<Cluster>>>,
    /// Ids of the live clusters.
    live: Vec<u32>,
    /// Recency clock of the clusters (Loki keeps them in an LRU cache).
    tick: u64,
    limiter: Limiter,
    scratch: Tokens,
}

impl Drain {
    /// A Drain for lines of `format`, counting lines in buckets of `bucket_ns` (at least
    /// 1 ms) aligned on the epoch.
    pub fn new(config: Arc<DrainConfig>, format: LogFormat, bucket_ns: i64) -> Drain {
        let max_node_depth = config.depth.max(3) - 2;
        Drain {
            config,
            tokenizer: Tokenizer::for_format(format),
            max_node_depth,
            bucket_ms: (bucket_ns / 1_000_000).max(1),
            by_count: HashMap::new(),
            nodes: Vec::new(),
            clusters: Vec::new(),
            live: Vec::new(),
            tick: 0,
            limiter: Limiter::default(),
            scratch: Tokens::default(),
        }
    }

    /// The live clusters, in no particular order.
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.live
            .iter()
            .filter_map(|&id| self.clusters[id as usize - 1].as_deref())
    }

    /// Learns from one line; true when a cluster counted it (false: skipped by the limiter,
    /// the tokenizer or the token bounds).
    pub fn train(&mut self, ts_ns: i64, line: &str) -> bool {
        if !self.limiter.allow(ts_ns, self.config.max_eviction_ratio) {
            return false;
        }
        let mut tokens = std::mem::take(&mut self.scratch);
        let ok = self.tokenizer.tokenize(
            line,
            self.config.max_line_length,
            &self.config.json_fields,
            &mut tokens,
        ) && (MIN_TOKENS..=MAX_TOKENS).contains(&tokens.len());
        if ok {
            self.learn(&tokens, ts_ns, line.len());
        }
        self.scratch = tokens;
        ok
    }

    fn learn(&mut self, tokens: &Tokens, ts_ns: i64, bytes: usize) {
        let bucket_ms = self.bucket_ms;
        if let Some(id) = self.tree_search(tokens) {
            let tick = self.touch();
            if let Some(c) = self.cluster_mut(id) {
                for (i, t) in c.tokens.iter_mut().enumerate() {
                    if &**t != tokens.get(i) && &**t != PARAM {
                        *t = PARAM.into();
                    }
                }
                c.count(ts_ns, bucket_ms, bytes);
                c.last_used = tick;
            }
            return;
        }
        let id = self.clusters.len() as u32 + 1;
        let mut c = Cluster {
            tokenizer: self.tokenizer,
            tokens: tokens.iter().map(Box::from).collect(),
            spaces: tokens.spaces.clone(),
            last_used: self.touch(),
            lines: 0,
            bytes: 0,
            samples: Vec::new(),
        };
        c.count(ts_ns, bucket_ms, bytes);
        self.clusters.push(Some(Box::new(c)));
        self.live.push(id);
        let max = self.config.max_clusters;
        if max > 0 && self.live.len() > max {
            self.evict_oldest();
        }
        self.add_to_tree(id);
    }

    fn touch(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn cluster(&self, id: u32) -> Option<&Cluster> {
        self.clusters.get(id as usize - 1)?.as_deref()
    }

    fn cluster_mut(&mut self, id: u32) -> Option<&mut Cluster> {
        self.clusters.get_mut(id as usize - 1)?.as_deref_mut()
    }

    /// A cache read: the cluster if live, now the most recently used.
    fn get(&mut self, id: u32) -> Option<&Cluster> {
        let tick = self.touch();
        let c = self.cluster_mut(id)?;
        c.last_used = tick;
        Some(c)
    }

    fn evict_oldest(&mut self) {
        let Some((pos, _)) = self
            .live
            .iter()
            .enumerate()
            .filter_map(|(p, &id)| self.cluster(id).map(|c| (p, c.last_used)))
            .min_by_key(|&(_, t)| t)
        else {
            return;
        };
        let id = self.live.swap_remove(pos);
        self.clusters[id as usize - 1] = None;
        self.limiter.evicted += 1;
    }

    fn new_node(&mut self) -> u32 {
        self.nodes.push(Node::default());
        self.nodes.len() as u32 - 1
    }

    /// The leaf of the line's prefix and the most similar cluster there, if similar enough.
    fn tree_search(&mut self, tokens: &Tokens) -> Option<u32> {
        let count = tokens.len();
        let mut node = *self.by_count.get(&count)?;
        for (depth, t) in (1..).zip(tokens.iter()) {
            if depth >= self.max_node_depth || depth == count {
                break;
            }
            let n = &self.nodes[node as usize];
            node = n.child(t).or_else(|| n.child(PARAM))?;
        }
        self.fast_match(node, tokens)
    }

    /// Loki's `fastMatch`: the highest similarity wins, ties to the cluster with more `<_>`.
    fn fast_match(&mut self, node: u32, tokens: &Tokens) -> Option<u32> {
        let mut best: Option<u32> = None;
        let mut best_sim = -1.0f64;
        let mut best_params = -1i64;
        for k in 0..self.nodes[node as usize].clusters.len() {
            let id = self.nodes[node as usize].clusters[k];
            let Some(c) = self.get(id) else {
                continue;
            };
            let Some((sim, params)) = similarity(&c.tokens, tokens) else {
                continue;
            };
            if sim > best_sim || (sim == best_sim && params > best_params) {
                best_sim = sim;
                best_params = params;
                best = Some(id);
            }
        }
        if best_sim >= self.config.similarity {
            best
        } else {
            None
        }
    }

    /// Loki's `addSeqToPrefixTree`.
    fn add_to_tree(&mut self, id: u32) {
        let Some(c) = self.cluster(id) else {
            return;
        };
        let tokens = c.tokens.clone();
        let count = tokens.len();
        let mut node = match self.by_count.get(&count) {
            Some(&n) => n,
            None => {
                let n = self.new_node();
                self.by_count.insert(count, n);
                n
            }
        };
        if count == 0 {
            self.nodes[node as usize].clusters.push(id);
            return;
        }
        for (depth, t) in (1..).zip(tokens.iter()) {
            if depth >= self.max_node_depth || depth >= count {
                // Drop evicted clusters from the leaf (each check is a cache read in Loki).
                let ids = std::mem::take(&mut self.nodes[node as usize].clusters);
                let mut kept: Vec<u32> = ids
                    .into_iter()
                    .filter(|&cid| self.get(cid).is_some())
                    .collect();
                kept.push(id);
                self.nodes[node as usize].clusters = kept;
                break;
            }
            node = match self.nodes[node as usize].child(t) {
                Some(n) => n,
                None => self.branch(node, t),
            };
        }
    }

    /// The child of `node` a new token `t` goes to: its own child while the node has room
    /// (tokens with digits never get one), the `<_>` child otherwise.
    fn branch(&mut self, node: u32, t: &str) -> u32 {
        let max = self.config.max_children;
        let n = &self.nodes[node as usize];
        let param = n.child(PARAM);
        let children = n.children.len();
        let own = !t.chars().any(char::is_numeric)
            && match param {
                Some(_) => children < max,
                None => children + 1 < max,
            };
        if own {
            let c = self.new_node();
            self.nodes[node as usize].children.push((t.into(), c));
            return c;
        }
        match param {
            Some(p) => p,
            None => {
                let c = self.new_node();
                self.nodes[node as usize].children.push((PARAM.into(), c));
                c
            }
        }
    }
}

/// Share of a cluster's tokens equal to the line's, and its count of `<_>`; `None` when a
/// token the cluster requires verbatim (one starting with a NUL byte) differs.
fn similarity(cluster: &[Box<str>], tokens: &Tokens) -> Option<(f64, i64)> {
    let mut same = 0usize;
    let mut params = 0i64;
    for (i, c) in cluster.iter().enumerate() {
        let t = tokens.get(i);
        let c: &str = c;
        if c.as_bytes().first() == Some(&0) && c != t {
            return None;
        }
        if c == PARAM {
            params += 1;
        } else if c == t {
            same += 1;
        }
    }
    Some((same as f64 / cluster.len() as f64, params))
}
