//! Multi-tenancy as Mimir does it: `X-Scope-OrgID` names the tenant, a request without it is
//! refused, and no API shows one tenant another's data, whether it sits in the head, in the
//! WAL replayed after a `kill -9`, or in blocks (which land under the tenant's own prefix).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::http::{self, urlencode};
use support::server::{remote_read_with, write_v1_with};
use support::{LabelSet, MatchType, TestServer, TimeSeries, labels, proto};

const TENANTS: [&str; 2] = ["team-a", "team-b"];

fn series_of(tenant: &str, t0: i64, round: i64) -> Vec<TimeSeries> {
    (0..3)
        .map(|i| TimeSeries {
            labels: labels(&[
                ("__name__", "tenancy_metric"),
                ("job", "tenancy"),
                ("owner", tenant),
                ("idx", &i.to_string()),
            ]),
            samples: (0..10)
                .map(|k| (t0 + round * 100_000 + k * 1000, (k + i * 10) as f64))
                .collect(),
        })
        .collect()
}

/// The label sets of `{job="tenancy"}` that `tenant` sees through remote read and through
/// `/api/v1/series`, after checking that both agree and that each series has `samples` samples.
fn visible(cairn: &TestServer, tenant: &str, t0: i64, samples: usize) -> BTreeSet<LabelSet> {
    let org = [("X-Scope-OrgID", tenant)];
    let matchers = [(MatchType::Eq, "job", "tenancy")];
    let r = remote_read_with(cairn.url(), &org, t0 - 1, support::now_ms(), &matchers);
    assert_eq!(r.status, 200, "POST /api/v1/read as {tenant}: {}", r.text());
    let read: BTreeSet<LabelSet> = proto::decode_read_response(&r.body)
        .unwrap_or_else(|e| panic!("POST /api/v1/read as {tenant}: {e}"))
        .into_iter()
        .map(|s| {
            assert_eq!(
                s.samples.len(),
                samples,
                "POST /api/v1/read as {tenant}: samples of {:?}",
                s.labels
            );
            s.labels
        })
        .collect();
    let path = format!("/api/v1/series?match[]={}", urlencode("{job=\"tenancy\"}"));
    let r = http::request(
        "GET",
        &format!("{}{path}", cairn.url()),
        &org,
        b"",
        Duration::from_secs(10),
    )
    .expect("GET /api/v1/series");
    assert_eq!(r.status, 200, "GET {path} as {tenant}: {}", r.text());
    let listed: BTreeSet<LabelSet> = r.json()["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            m.as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .collect();
    assert_eq!(
        listed, read,
        "as {tenant}: GET {path} and remote read disagree"
    );
    read
}

/// Writes round `round` of `tenant`'s series; returns their label sets.
fn write_round(cairn: &TestServer, tenant: &str, t0: i64, round: i64) -> BTreeSet<LabelSet> {
    let series = series_of(tenant, t0, round);
    let r = write_v1_with(cairn.url(), &[("X-Scope-OrgID", tenant)], &series)
        .expect("POST /api/v1/write");
    assert_eq!(
        r.status,
        204,
        "POST /api/v1/write as {tenant}: {}",
        r.text()
    );
    series.into_iter().map(|s| s.labels).collect()
}

/// Every tenant sees exactly its `expected` series, each with `samples` samples.
fn check(cairn: &TestServer, expected: &[BTreeSet<LabelSet>], t0: i64, samples: usize, when: &str) {
    for (i, tenant) in TENANTS.iter().enumerate() {
        let seen = visible(cairn, tenant, t0, samples);
        assert!(
            owned_by(tenant, &seen),
            "{when}: {tenant} sees another tenant's series: {seen:?}"
        );
        assert_eq!(seen, expected[i], "{when}: series visible to {tenant}");
    }
}

fn owned_by(tenant: &str, sets: &BTreeSet<LabelSet>) -> bool {
    sets.iter()
        .all(|l| l.get("owner").map(String::as_str) == Some(tenant))
}

#[test]
fn tenants_see_only_their_own_data_across_restart_and_flush() {
    let mut cairn = TestServer::builder()
        .config("multitenancy:\n  enabled: true\n")
        .start();
    let t0 = support::now_ms() - 1_800_000;

    let anonymous =
        write_v1_with(cairn.url(), &[], &series_of("nobody", t0, 0)).expect("POST /api/v1/write");
    assert_eq!(
        anonymous.status,
        401,
        "POST /api/v1/write without X-Scope-OrgID under multi-tenancy: {}",
        anonymous.text()
    );
    let r = support::server::remote_read_with(
        cairn.url(),
        &[],
        t0,
        support::now_ms(),
        &[(MatchType::Eq, "job", "tenancy")],
    );
    assert_eq!(
        r.status,
        401,
        "POST /api/v1/read without X-Scope-OrgID: {}",
        r.text()
    );

    let mut expected: Vec<BTreeSet<LabelSet>> = vec![BTreeSet::new(); TENANTS.len()];
    for (i, tenant) in TENANTS.iter().enumerate() {
        expected[i] = write_round(&cairn, tenant, t0, 0);
    }
    check(&cairn, &expected, t0, 10, "in the head");

    cairn.kill9();
    cairn.restart();
    check(&cairn, &expected, t0, 10, "after kill -9 and WAL replay");

    cairn.flush();
    for tenant in TENANTS {
        let blocks = cairn
            .data_dir()
            .join("objects")
            .join(tenant)
            .join("metrics")
            .join("blocks");
        let n = std::fs::read_dir(&blocks).map(|d| d.count()).unwrap_or(0);
        assert!(
            n > 0,
            "after POST /api/v1/admin/flush no block of {tenant} under {}",
            blocks.display()
        );
    }
    check(&cairn, &expected, t0, 10, "from blocks");

    for tenant in TENANTS {
        write_round(&cairn, tenant, t0, 1);
    }
    check(&cairn, &expected, t0, 20, "from blocks and head together");
}
