//! Cairn next to a real Prometheus: as its remote-write receiver (the data must match
//! Prometheus' own TSDB sample for sample), as a remote write 2.0 receiver (payloads built by
//! `cairn_wire`, since Prometheus 2.42 only sends 1.0), and as the remote-read backend of a
//! Prometheus that holds no data itself.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::{Duration, Instant};

use cairn_model::{MetricType, Sample};
use cairn_wire::encode::{OwnedMetadata, OwnedSeries, encode_v2};
use support::http::{self, urlencode};
use support::peers::{Prometheus, ScrapeTarget};
use support::{LabelSet, MatchType, STALE_NAN_BITS, TestServer, bits};

/// `ms` as the decimal seconds the Prometheus API takes.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// A label map of the Prometheus JSON API.
fn label_set(v: &serde_json::Value) -> LabelSet {
    v.as_object()
        .unwrap_or_else(|| panic!("expected a label object, got {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// A value as the Prometheus API prints it (Go's shortest round-trip form, NaN, +Inf, -Inf).
fn parse_value(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s
            .parse()
            .unwrap_or_else(|e| panic!("value {s:?} is not a float: {e}")),
    }
}

/// The answer of `/api/v1/series`, as a set.
fn series_set(data: &serde_json::Value) -> BTreeSet<LabelSet> {
    data.as_array()
        .unwrap_or_else(|| panic!("series data is not an array: {data}"))
        .iter()
        .map(label_set)
        .collect()
}

/// The series of a matrix answer with their raw samples.
fn matrix(data: &serde_json::Value) -> BTreeMap<LabelSet, Vec<(i64, f64)>> {
    assert_eq!(data["resultType"], "matrix", "expected a matrix: {data}");
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().into_iter().flatten() {
        let samples = s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let t = p[0]
                    .as_f64()
                    .unwrap_or_else(|| panic!("bad timestamp in {p}"));
                let v = p[1].as_str().unwrap_or_else(|| panic!("bad value in {p}"));
                ((t * 1000.0).round() as i64, parse_value(v))
            })
            .collect();
        out.insert(label_set(&s["metric"]), samples);
    }
    out
}

/// Polls `f` every 200 ms until it returns `Some`, failing with `what` after `timeout`.
fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn prometheus_remote_write_matches_prometheus_tsdb() {
    let cairn = TestServer::start();
    let target = ScrapeTarget::start();
    let job = "e2e_node";
    let prom = Prometheus::start(&format!(
        r#"
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ["{target}"]
remote_write:
  - url: {cairn}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 200
      min_backoff: 50ms
      max_backoff: 1s
    metadata_config:
      send_interval: 5s
"#,
        target = target.addr(),
        cairn = cairn.url(),
    ));
    let started_ms = support::now_ms();
    poll("12 scrapes of the target", Duration::from_secs(40), || {
        (target.scrapes() >= 12).then_some(())
    });
    // Scrapes keep coming every second, so Prometheus will send samples past `t`.
    let t = support::now_ms() - 1500;
    let selector = format!("{{job=\"{job}\"}}");
    let prom_series = series_set(&support::server::api_data(
        prom.url(),
        &format!("/api/v1/series?match[]={}", urlencode(&selector)),
    ));
    assert!(
        prom_series.len() >= 15,
        "prometheus knows only {} series: {prom_series:?}",
        prom_series.len()
    );

    // Cairn has received everything up to `t` once every series has a sample after it:
    // Prometheus sends each series' samples in order.
    let job_matcher = [(MatchType::Eq, "job", job)];
    poll(
        "cairn to receive a sample after t for every series",
        Duration::from_secs(30),
        || {
            let after: BTreeSet<LabelSet> = cairn
                .read(t + 1, support::now_ms() + 60_000, &job_matcher)
                .into_iter()
                .filter(|s| !s.samples.is_empty())
                .map(|s| s.labels)
                .collect();
            prom_series.is_subset(&after).then_some(())
        },
    );

    let cairn_series =
        series_set(&cairn.api_data(&format!("/api/v1/series?match[]={}", urlencode(&selector))));
    assert_eq!(
        cairn_series, prom_series,
        "GET /api/v1/series?match[]={selector}: cairn's series differ from prometheus'"
    );

    // Prometheus 2.42 range selectors are closed on both ends: [t - window, t].
    let window_s = (t - started_ms) / 1000 + 120;
    let prom_samples = matrix(&support::server::api_data(
        prom.url(),
        &format!(
            "/api/v1/query?query={}&time={}",
            urlencode(&format!("{selector}[{window_s}s]")),
            secs(t)
        ),
    ));
    let cairn_samples: BTreeMap<LabelSet, Vec<(i64, f64)>> = cairn
        .read(t - window_s * 1000, t, &job_matcher)
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect();
    assert_eq!(
        cairn_samples.keys().collect::<Vec<_>>(),
        prom_samples.keys().collect::<Vec<_>>(),
        "remote read of {selector} up to t={t}: series differ from prometheus' range query"
    );
    let mut total = 0;
    for (labels, want) in &prom_samples {
        let got = &cairn_samples[labels];
        assert_eq!(
            bits(got),
            bits(want),
            "remote read of {labels:?} up to t={t}: samples differ from prometheus'"
        );
        total += want.len();
    }
    assert!(
        total >= 6 * prom_samples.len(),
        "only {total} samples over {} series: too few for a meaningful comparison",
        prom_samples.len()
    );
}

#[test]
fn remote_write_v2_reports_written_counts_and_reads_back() {
    let cairn = TestServer::start();
    let now = support::now_ms();
    let t0 = now - 60_000;
    let sample = |i: i64, v: f64| Sample::new(t0 + i * 1000, v);
    let series = vec![
        OwnedSeries::new(
            &[
                ("__name__", "v2_requests_total"),
                ("code", "200"),
                ("job", "v2"),
            ],
            &[sample(0, 1.0), sample(1, 3.0), sample(2, 7.5)],
        ),
        // Labels out of order: 2.0 senders need not sort them.
        OwnedSeries::new(
            &[
                ("job", "v2"),
                ("code", "500"),
                ("__name__", "v2_requests_total"),
            ],
            &[sample(0, 0.0), sample(1, -0.0), sample(2, f64::INFINITY)],
        ),
        OwnedSeries::new(
            &[
                ("__name__", "v2_temperature_celsius"),
                ("job", "v2"),
                ("room", "a b\nc"),
            ],
            &[
                sample(0, 21.25),
                sample(1, f64::NAN),
                sample(2, f64::from_bits(STALE_NAN_BITS)),
            ],
        ),
        OwnedSeries::new(
            &[("__name__", "v2.utf8 name"), ("job", "v2"), ("ünï", "çødé")],
            &[sample(3, 1e-300), sample(4, -1.7976931348623157e308)],
        ),
    ];
    let metadata = vec![
        Some(OwnedMetadata {
            metric_family_name: String::new(),
            metric_type: MetricType::Counter,
            help: "Requests served.".into(),
            unit: String::new(),
        }),
        None,
        Some(OwnedMetadata {
            metric_family_name: String::new(),
            metric_type: MetricType::Gauge,
            help: "Room temperature.".into(),
            unit: "celsius".into(),
        }),
        None,
    ];
    let body = cairn_wire::snappy_compress(&encode_v2(&series, &metadata));
    let r = http::post(
        &format!("{}/api/v1/write", cairn.url()),
        &[
            (
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            ),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "2.0.0"),
        ],
        &body,
    )
    .expect("POST /api/v1/write");
    assert_eq!(r.status, 204, "POST /api/v1/write (2.0): {}", r.text());
    let sent: usize = series.iter().map(|s| s.samples.len()).sum();
    for (header, want) in [
        ("X-Prometheus-Remote-Write-Samples-Written", sent),
        ("X-Prometheus-Remote-Write-Histograms-Written", 0),
        ("X-Prometheus-Remote-Write-Exemplars-Written", 0),
    ] {
        assert_eq!(
            r.header(header),
            Some(want.to_string().as_str()),
            "POST /api/v1/write (2.0): header {header}; headers were {:?}",
            r.headers
        );
    }

    let got: BTreeMap<LabelSet, Vec<(i64, f64)>> = cairn
        .read(t0 - 1, now, &[(MatchType::Eq, "job", "v2")])
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect();
    let want: BTreeMap<LabelSet, Vec<(i64, f64)>> = series
        .iter()
        .map(|s| {
            let labels = s.labels.iter().cloned().collect();
            (labels, s.samples.iter().map(|x| (x.t, x.v)).collect())
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "remote read {{job=\"v2\"}}: series"
    );
    for (labels, w) in &want {
        assert_eq!(bits(&got[labels]), bits(w), "remote read of {labels:?}");
    }

    let names = cairn.api_data(&format!(
        "/api/v1/label/__name__/values?match[]={}",
        urlencode("{job=\"v2\"}")
    ));
    assert_eq!(
        names,
        serde_json::json!([
            "v2.utf8 name",
            "v2_requests_total",
            "v2_temperature_celsius"
        ]),
        "GET /api/v1/label/__name__/values"
    );
}

#[test]
fn prometheus_remote_read_answers_from_cairn_only_data() {
    let cairn = TestServer::start();
    // Whole seconds, so that the query below can be evaluated exactly on a sample.
    let end = support::now_ms() / 1000 * 1000 - 10_000;
    let start = end - 300_000;
    let series: Vec<support::TimeSeries> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(k, inst)| support::TimeSeries {
            labels: support::labels(&[
                ("__name__", "cairn_only_metric"),
                ("instance", inst),
                ("job", "remote"),
            ]),
            samples: (0..=20)
                .map(|i| {
                    (
                        start + i * 15_000,
                        (i * i) as f64 * 0.25 + k as f64 * 1000.0,
                    )
                })
                .collect(),
        })
        .collect();
    let r = cairn.write_v1(&series).expect("POST /api/v1/write");
    assert_eq!(r.status, 204, "POST /api/v1/write (1.0): {}", r.text());

    let prom = Prometheus::start(&format!(
        r#"
global:
  scrape_interval: 15s
remote_read:
  - url: {}/api/v1/read
    read_recent: true
"#,
        cairn.url()
    ));
    let got = matrix(&support::server::api_data(
        prom.url(),
        &format!(
            "/api/v1/query?query={}&time={}",
            urlencode("cairn_only_metric[10m]"),
            secs(end)
        ),
    ));
    let want: BTreeMap<LabelSet, Vec<(i64, f64)>> = series
        .iter()
        .map(|s| (s.labels.clone(), s.samples.clone()))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "prometheus (remote read from cairn): series of cairn_only_metric[10m]"
    );
    for (labels, w) in &want {
        assert_eq!(
            bits(&got[labels]),
            bits(w),
            "prometheus (remote read from cairn): samples of {labels:?}"
        );
    }

    // PromQL over the remote data, evaluated exactly on a sample of both series.
    let at = start + 10 * 15_000;
    let v = support::server::api_data(
        prom.url(),
        &format!(
            "/api/v1/query?query={}&time={}",
            urlencode("sum by (job) (cairn_only_metric)"),
            secs(at)
        ),
    );
    let want_sum = series[0].samples[10].1 + series[1].samples[10].1;
    assert_eq!(
        v["result"][0]["value"][1].as_str().map(parse_value),
        Some(want_sum),
        "prometheus (remote read from cairn): sum by (job) (cairn_only_metric) at {at}: {v}"
    );
}
