//! The corpus end to end: determinism, stream independence, every line parseable in its
//! format, the needle's frequency, volume against the target, and Kubernetes-shaped labels.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::catalog::Format;
use super::corpus::{Corpus, LineCache};
use super::expect::parse_logfmt;
use super::plan::CorpusSpec;
use super::{JSON_NAMESPACE, LOGFMT_NAMESPACE, NEEDLE, NEEDLE_ONE_IN};

/// Two hours of three clusters, 40 MB: about 150k lines, a few seconds in a debug build.
fn spec() -> CorpusSpec {
    CorpusSpec {
        seed: 42,
        start_ns: 1_764_720_000_000_000_000,
        end_ns: 1_764_720_000_000_000_000 + 2 * 3_600_000_000_000,
        target_bytes: 40_000_000,
        clusters: 3,
    }
}

struct Line {
    stream: u32,
    ts_ns: i64,
    needle: bool,
    text: String,
}

/// The corpus of `spec()` and all its lines, built once for all tests.
fn corpus() -> &'static (Corpus, Vec<Line>) {
    static C: OnceLock<(Corpus, Vec<Line>)> = OnceLock::new();
    C.get_or_init(|| {
        let corpus = Corpus::new(spec());
        let lines = all_lines(&corpus);
        (corpus, lines)
    })
}

fn all_lines(corpus: &Corpus) -> Vec<Line> {
    let mut out = Vec::new();
    let mut cache = LineCache::default();
    let mut buf = Vec::new();
    for i in 0..corpus.streams().len() {
        let mut c = corpus.cursor(i);
        while corpus.advance(&mut c) {
            buf.clear();
            corpus.write(&mut c, &mut cache, &mut buf);
            out.push(Line {
                stream: c.stream,
                ts_ns: c.ts_ns,
                needle: c.needle,
                text: String::from_utf8(buf.clone()).expect("lines are UTF-8"),
            });
        }
    }
    out
}

fn hash(lines: &[Line]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for l in lines {
        (l.stream, l.ts_ns, &l.text).hash(&mut h);
    }
    h.finish()
}

#[test]
fn same_spec_same_lines_other_seed_other_lines() {
    let (_, lines) = corpus();
    let small = CorpusSpec {
        target_bytes: 2_000_000,
        ..spec()
    };
    let a = all_lines(&Corpus::new(small));
    let b = all_lines(&Corpus::new(small));
    assert!(!a.is_empty());
    assert_eq!(hash(&a), hash(&b));
    let c = all_lines(&Corpus::new(CorpusSpec { seed: 43, ..small }));
    assert_ne!(hash(&a), hash(&c));
    assert_ne!(hash(&a), hash(lines));
}

#[test]
fn a_stream_does_not_depend_on_the_others() {
    let (corpus, lines) = corpus();
    // Stream 7 walked alone, with a fresh formatting cache, gives the lines it gave among
    // all the others.
    let alone: Vec<(i64, String)> = {
        let mut cache = LineCache::default();
        let mut c = corpus.cursor(7);
        let mut v = Vec::new();
        let mut buf = Vec::new();
        while corpus.advance(&mut c) {
            buf.clear();
            corpus.write(&mut c, &mut cache, &mut buf);
            v.push((c.ts_ns, String::from_utf8(buf.clone()).expect("utf-8")));
        }
        v
    };
    let among: Vec<(i64, String)> = lines
        .iter()
        .filter(|l| l.stream == 7)
        .map(|l| (l.ts_ns, l.text.clone()))
        .collect();
    assert!(!alone.is_empty());
    assert_eq!(alone, among);
}

#[test]
fn streams_are_in_time_order_within_their_lives() {
    let (corpus, lines) = corpus();
    let mut last: HashMap<u32, i64> = HashMap::new();
    for l in lines {
        let s = &corpus.streams()[l.stream as usize];
        assert!(l.ts_ns >= s.birth_ns && l.ts_ns < s.death_ns);
        assert!(l.ts_ns >= spec().start_ns && l.ts_ns < spec().end_ns);
        if let Some(prev) = last.insert(l.stream, l.ts_ns) {
            assert!(l.ts_ns > prev, "stream {} goes back in time", l.stream);
        }
    }
}

#[test]
fn volume_is_the_target_and_rates_differ_by_stream() {
    let (corpus, lines) = corpus();
    let bytes: usize = lines.iter().map(|l| l.text.len()).sum();
    let target = spec().target_bytes as f64;
    assert!(
        (bytes as f64 - target).abs() < 0.05 * target,
        "{bytes} bytes for a target of {target}"
    );
    // Expected and generated line counts agree (Poisson noise is small at this size).
    let expected: f64 = (0..corpus.streams().len())
        .map(|i| corpus.expected_lines(i))
        .sum();
    assert!((lines.len() as f64 - expected).abs() < 0.02 * expected);
    let mut per_stream: HashMap<u32, usize> = HashMap::new();
    for l in lines {
        *per_stream.entry(l.stream).or_default() += 1;
    }
    let min = per_stream.values().min().copied().unwrap_or(0);
    let max = per_stream.values().max().copied().unwrap_or(0);
    assert!(
        max > 50 * min.max(1),
        "stream rates from {min} to {max} lines"
    );
}

fn nginx_access() -> regex::Regex {
    regex::Regex::new(concat!(
        r#"^(?P<ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) - (?P<user>\S+) "#,
        r#"\[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "#,
        r#""(?P<method>GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (?P<path>/\S*) HTTP/(?:1\.1|2\.0)" "#,
        r#"(?P<status>[1-5]\d\d) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<ua>[^"]*)""#,
        r#"(?P<ingress> \d+ \d+\.\d{3} \[[a-z0-9-]+\] \[\] (?:- - - -|\d+\.\d+\.\d+\.\d+:\d+ \d+ \d+\.\d{3} \d{3}) [0-9a-f]{32})?$"#,
    ))
    .expect("regex")
}

fn nginx_error() -> regex::Regex {
    regex::Regex::new(concat!(
        r#"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(?:error|warn)\] \d+#\d+: \*\d+ .+, "#,
        r#"client: \d+\.\d+\.\d+\.\d+, server: [a-z.]+, request: "[A-Z]+ /\S* HTTP/1\.1"(?:, upstream: "http://\S+")?, host: "[a-z.]+"$"#,
    ))
    .expect("regex")
}

#[test]
fn every_line_parses_in_its_format() {
    let (corpus, lines) = corpus();
    let access = nginx_access();
    let error = nginx_error();
    let mut counts: HashMap<Format, usize> = HashMap::new();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut error_lines = 0;
    let mut ingress_lines = 0;
    for l in lines {
        let s = &corpus.streams()[l.stream as usize];
        let f = s.format();
        *counts.entry(f).or_default() += 1;
        match f {
            Format::Nginx => {
                if let Some(m) = access.captures(&l.text) {
                    let st: u16 = m["status"].parse().expect("status");
                    *statuses.entry(st).or_default() += 1;
                    ingress_lines += usize::from(m.name("ingress").is_some());
                    // The line's time is the entry's, to the second.
                    let c = super::text::Civil::from_unix(l.ts_ns / 1_000_000_000);
                    assert_eq!(&m["time"][..2], format!("{:02}", c.day), "{}", l.text);
                    assert!(m["time"].ends_with(&format!(
                        "{:02}:{:02}:{:02} +0000",
                        c.hour, c.minute, c.second
                    )));
                } else {
                    assert!(error.is_match(&l.text), "not nginx: {}", l.text);
                    error_lines += 1;
                }
            }
            Format::Json => {
                let v: serde_json::Value =
                    serde_json::from_str(&l.text).unwrap_or_else(|e| panic!("{e}: {}", l.text));
                let obj = v.as_object().expect("an object per line");
                assert!(
                    obj.get("level").is_some_and(|v| v.is_string()),
                    "{}",
                    l.text
                );
                if let Some(st) = obj.get("status") {
                    assert!(st.is_u64(), "{}", l.text);
                }
            }
            Format::Logfmt => {
                let pairs = parse_logfmt(l.text.as_bytes()).unwrap_or_else(|| panic!("{}", l.text));
                assert!(pairs.iter().all(|(k, _)| !k.is_empty()), "{}", l.text);
                assert!(pairs.iter().any(|(k, _)| k == "level"), "{}", l.text);
                assert!(pairs.iter().any(|(k, _)| k == "msg"), "{}", l.text);
                // A quoted value never leaks into the next key.
                assert!(pairs.iter().all(|(k, _)| !k.contains('"')), "{}", l.text);
            }
        }
    }
    assert!(counts.values().all(|&n| n > 10_000), "{counts:?}");
    assert!(ingress_lines > 1_000 && error_lines > 10);
    let total: usize = statuses.values().sum();
    let ok = statuses.get(&200).copied().unwrap_or(0) as f64 / total as f64;
    let s5 = statuses
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum::<usize>() as f64
        / total as f64;
    assert!(ok > 0.8 && ok < 0.97, "200 share {ok}");
    assert!(s5 > 0.0005 && s5 < 0.05, "5xx share {s5}");
    for s in [304, 404, 301] {
        assert!(statuses.contains_key(&s), "no {s} in {statuses:?}");
    }
}

#[test]
fn queried_namespaces_parse_and_have_a_realistic_level_mix() {
    let (corpus, lines) = corpus();
    let mut levels: HashMap<String, usize> = HashMap::new();
    let mut n = 0;
    for l in lines {
        let s = &corpus.streams()[l.stream as usize];
        let ns = s.label("namespace").unwrap_or("");
        let level = if ns == JSON_NAMESPACE {
            let v: serde_json::Value = serde_json::from_str(&l.text).expect("JSON");
            v["level"].as_str().expect("level").to_ascii_lowercase()
        } else if ns == LOGFMT_NAMESPACE {
            let pairs = parse_logfmt(l.text.as_bytes()).expect("logfmt");
            pairs
                .into_iter()
                .find(|(k, _)| k == "level")
                .map(|(_, v)| v)
                .expect("level")
        } else {
            continue;
        };
        n += 1;
        *levels.entry(level).or_default() += 1;
    }
    let share = |k: &str| levels.get(k).copied().unwrap_or(0) as f64 / n as f64;
    let warn = share("warn") + share("warning");
    assert!(share("info") > 0.7 && share("info") < 0.97, "{levels:?}");
    assert!(warn > 0.01 && warn < 0.15, "{levels:?}");
    assert!(
        share("error") > 0.001 && share("error") < 0.06,
        "{levels:?}"
    );
    assert!(share("debug") > 0.005, "{levels:?}");
}

#[test]
fn the_needle_is_where_the_cursor_says_and_as_rare_as_announced() {
    let (_, lines) = corpus();
    let mut with = 0usize;
    for l in lines {
        assert_eq!(l.text.contains(NEEDLE), l.needle, "{}", l.text);
        with += usize::from(l.needle);
    }
    let n = lines.len() as f64;
    let p = 1.0 / NEEDLE_ONE_IN as f64;
    let sd = (n * p * (1.0 - p)).sqrt();
    assert!(
        (with as f64 - n * p).abs() < 4.0 * sd,
        "{with} needles in {n} lines, expected {}",
        n * p
    );
}

#[test]
fn labels_look_like_kubernetes() {
    let (corpus, _) = corpus();
    let deploy = regex::Regex::new(
        r"^[a-z0-9-]+-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$",
    )
    .expect("regex");
    let sts = regex::Regex::new(r"^[a-z-]+-\d+$").expect("regex");
    let ds = regex::Regex::new(r"^node-exporter-[bcdfghjklmnpqrstvwxz2456789]{5}$").expect("regex");
    let node =
        regex::Regex::new(r"^ip-10-\d+-\d+-\d+\.[a-z0-9-]+\.compute\.internal$").expect("regex");
    let mut selectors = HashSet::new();
    let mut hashes: HashMap<&str, HashSet<String>> = HashMap::new();
    for s in corpus.streams() {
        let names: Vec<&str> = s.labels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["app", "cluster", "container", "namespace", "node", "pod"]
        );
        let pod = s.label("pod").expect("pod");
        assert!(
            deploy.is_match(pod) || sts.is_match(pod) || ds.is_match(pod),
            "pod {pod}"
        );
        assert!(node.is_match(s.label("node").expect("node")));
        assert!(
            selectors.insert(s.selector.clone()),
            "duplicate {}",
            s.selector
        );
        assert!(s.selector.starts_with("{app=\"") && s.selector.ends_with("\"}"));
        if deploy.is_match(pod) {
            let rs = pod[..pod.len() - 6].rsplit('-').next().expect("hash");
            hashes
                .entry(s.label("app").expect("app"))
                .or_default()
                .insert(rs.to_string());
        }
    }
    // Pods come and go: over all workloads there are many more streams than containers
    // running at once, and rollouts leave several replica sets behind.
    assert!(
        corpus.streams().len() > 150,
        "{} streams",
        corpus.streams().len()
    );
    assert!(hashes.values().any(|h| h.len() >= 4), "{hashes:?}");
}

#[test]
fn counting_information_does_not_change_the_lines() {
    let (corpus, lines) = corpus();
    let mut cache = LineCache::default();
    let mut buf = Vec::new();
    let mut k = 0;
    let (mut bits, mut bytes) = (0.0, 0usize);
    for i in 0..corpus.streams().len() {
        let mut c = corpus.tracking_cursor(i);
        while corpus.advance(&mut c) {
            buf.clear();
            corpus.write(&mut c, &mut cache, &mut buf);
            let l = &lines[k];
            assert_eq!(
                (l.stream, l.ts_ns, l.text.as_bytes()),
                (c.stream, c.ts_ns, &buf[..])
            );
            bytes += buf.len();
            k += 1;
        }
        assert!(c.time_info_bits() > 0.0 || c.line_info_bits() == 0.0);
        bits += c.info_bits();
    }
    assert_eq!(k, lines.len());
    // Every line carries its timestamp (about 30 bits at these rates) and its ids; no line
    // carries more information than bits.
    let per_line = bits / lines.len() as f64;
    assert!(
        per_line > 60.0 && per_line < 8.0 * 250.0,
        "{per_line} bits a line"
    );
    assert!(
        bits / 8.0 < bytes as f64 / 4.0,
        "{bits} bits in {bytes} bytes"
    );
}
