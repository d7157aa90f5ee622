//! `/loki/api/v1/patterns` end to end: lines of a few known shapes pushed through the Loki
//! push API into the real binary, then the patterns Logs Drilldown asks for: each shape's
//! pattern (written by hand from Loki's Drain: logfmt pairs, a JSON message, free text), its
//! level (the `detected_level` found at ingestion), its line counts per step, merged across
//! streams, the rare shape left out as Loki leaves out patterns under 30 lines; the same
//! answer once the head is flushed to Parquet blocks; Loki's errors; and a tenant whose line
//! bound makes the answer partial.

#[allow(unused_imports)]
mod support;

use serde_json::{Value, json};
use support::TestServer;
use support::http::{self, urlencode};

const S: i64 = 1_000_000_000;

/// A push of `streams` (`(labels, [(ts_ns, line)])`) for `tenant`.
fn push(cairn: &TestServer, tenant: &str, streams: &[(Value, Vec<(i64, String)>)]) {
    let body = json!({"streams": streams.iter().map(|(labels, lines)| json!({
        "stream": labels,
        "values": lines.iter().map(|(t, l)| json!([t.to_string(), l])).collect::<Vec<_>>(),
    })).collect::<Vec<_>>()});
    let r = http::post(
        &format!("{}/loki/api/v1/push", cairn.url()),
        &[
            ("Content-Type", "application/json"),
            ("X-Scope-OrgID", tenant),
        ],
        body.to_string().as_bytes(),
    )
    .expect("push");
    assert_eq!(r.status, 204, "push answered {}: {}", r.status, r.text());
}

/// `n` lines from `line(i)`, one per second from `from_ns`.
fn lines(from_ns: i64, n: i64, line: impl Fn(i64) -> String) -> Vec<(i64, String)> {
    (0..n).map(|i| (from_ns + i * S, line(i))).collect()
}

fn patterns(cairn: &TestServer, tenant: &str, query: &str) -> http::Response {
    http::request(
        "GET",
        &format!("{}/loki/api/v1/patterns?{query}", cairn.url()),
        &[("X-Scope-OrgID", tenant)],
        &[],
        std::time::Duration::from_secs(30),
    )
    .expect("patterns request")
}

#[test]
fn patterns_of_pushed_lines() {
    let cairn = TestServer::builder()
        .config(
            "multitenancy:\n  enabled: true\noverrides:\n  small:\n    logs:\n      max_pattern_lines_per_query: 60\n",
        )
        .start();
    // Five whole minutes, ending a few minutes ago.
    let now_s = support::now_ms() / 1000;
    let base_s = (now_s / 60) * 60 - 600;
    let base = base_s * S;
    let m = |k: i64| base + k * 60 * S;

    let served = |i: i64| {
        format!(
            r#"level=info msg="request served" path=/api/users/{} duration={}ms"#,
            1000 + i * 7,
            i % 17 + 1
        )
    };
    let mut pod_a = lines(m(0), 25, served);
    pod_a.extend(lines(m(1), 10, |i| served(100 + i)));
    pod_a.extend(lines(m(2), 30, |i| {
        format!(
            r#"level=error msg="payment declined" order={} reason=insufficient_funds"#,
            5000 + i
        )
    }));
    pod_a.extend(lines(m(3), 5, |i| served(200 + i)));
    let pod_b = lines(m(0) + 30 * S, 5, |i| served(300 + i));
    let pod_c = lines(m(1) + 5 * S, 40, |i| {
        format!(
            r#"{{"level":"warn","msg":"cache miss for key user-{}","time":"x"}}"#,
            i * 13
        )
    });
    let mut pod_d = lines(m(4), 35, |i| {
        format!(
            "GET /api/orders/{} 200 {} bytes in {} ms",
            40 + i,
            512 + i * 3,
            i % 9 + 1
        )
    });
    pod_d.extend(lines(m(4) + 40 * S, 5, |i| {
        format!("worker {i} restarted after crash")
    }));
    let other = lines(m(0), 50, |i| format!("other service line number {i} here"));
    let streams = vec![
        (json!({"service_name": "shop", "pod": "a"}), pod_a),
        (json!({"service_name": "shop", "pod": "b"}), pod_b),
        (json!({"service_name": "shop", "pod": "c"}), pod_c),
        (json!({"service_name": "shop", "pod": "d"}), pod_d),
        (json!({"service_name": "other"}), other),
    ];
    push(&cairn, "shop", &streams);
    push(&cairn, "small", &streams);

    let q = format!(
        "query={}&start={}&end={}&step=60s",
        urlencode(r#"{service_name="shop"}"#),
        base_s,
        base_s + 300
    );
    let t = |k: i64| base_s + k * 60;
    let expected = json!([
        {"pattern": r#"level=info msg="request served" path=<_> duration=<_>"#, "level": "info",
         "samples": [[t(0), 30], [t(1), 10], [t(2), 0], [t(3), 5]]},
        {"pattern": "<_>cache miss for key <_>", "level": "warn", "samples": [[t(1), 40]]},
        {"pattern": "GET <_> 200 <_> bytes in <_> ms", "level": "unknown", "samples": [[t(4), 35]]},
        {"pattern": r#"level=error msg="payment declined" order=<_> reason=insufficient_funds"#,
         "level": "error", "samples": [[t(2), 30]]},
    ]);
    let check = |when: &str| {
        let r = patterns(&cairn, "shop", &q);
        assert_eq!(r.status, 200, "{when}: {}", r.text());
        let v = r.json();
        assert_eq!(v["status"], "success", "{when}: {v}");
        assert_eq!(v["data"], expected, "{when}");
        assert!(v.get("warnings").is_none(), "{when}: {v}");
    };
    check("from the head");
    // Logs Drilldown's form: RFC 3339 bounds, a small step (raised to 10 s as Loki does).
    let r = patterns(
        &cairn,
        "shop",
        &format!(
            "query={}&start={}&end={}&step=2s",
            urlencode(r#"{service_name="shop", pod=~"c|d"}"#),
            urlencode(&rfc3339(base_s)),
            urlencode(&rfc3339(base_s + 300)),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let cache = &v["data"][0];
    assert_eq!(cache["pattern"], "<_>cache miss for key <_>", "{v}");
    let samples = cache["samples"].as_array().expect("samples");
    assert_eq!(
        samples,
        &[
            json!([t(1), 5]),
            json!([t(1) + 10, 10]),
            json!([t(1) + 20, 10]),
            json!([t(1) + 30, 10]),
            json!([t(1) + 40, 5]),
        ],
        "40 lines from 5 s past the minute, in 10 s steps: {v}"
    );

    cairn.flush();
    check("from blocks");

    // Loki's errors: a bare label selector is required.
    for bad in [
        r#"{service_name="shop"} |= "GET""#,
        r#"count_over_time({service_name="shop"}[1m])"#,
    ] {
        let r = patterns(&cairn, "shop", &format!("query={}", urlencode(bad)));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.text().trim(), "only label matchers are supported");
    }
    let r = patterns(
        &cairn,
        "shop",
        &format!("query={}&step=0", urlencode(r#"{service_name="shop"}"#)),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("zero or negative query resolution step"),
        "{}",
        r.text()
    );
    // POST with a form body, as the query frontend forwards it.
    let r = http::request(
        "POST",
        &format!("{}/loki/api/v1/patterns", cairn.url()),
        &[
            ("X-Scope-OrgID", "shop"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        q.as_bytes(),
        std::time::Duration::from_secs(30),
    )
    .expect("post");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"], expected);

    // A tenant reading at most 60 lines: the newest ones, and a warning that says so.
    let r = patterns(&cairn, "small", &q);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let warnings = v["warnings"].as_array().expect("a partial answer warns");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.starts_with("partial result: the range holds about")),
        "{v}"
    );
    let counted: i64 = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .flat_map(|p| p["samples"].as_array().expect("samples").clone())
        .map(|s| s[1].as_i64().expect("count"))
        .sum();
    assert!(counted <= 60, "{v}");
    assert_eq!(
        v["data"][0]["pattern"], "GET <_> 200 <_> bytes in <_> ms",
        "the newest lines are read: {v}"
    );
}

fn rfc3339(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .expect("a time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
