//! Random and mutated bodies through the write and read handlers: never a 5xx for bad input,
//! never a panic, and a 2.0 answer always carries the written counts.

#[path = "support/app.rs"]
mod app;

use app::{TestApp, V1, V2, series};
use axum::http::StatusCode;
use cairn_wire::encode::{encode_v1, encode_v2};
use cairn_wire::snappy_compress;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

fn valid_body(v2: bool, n: usize) -> Vec<u8> {
    let s: Vec<_> = (0..n)
        .map(|i| {
            series(
                &[("__name__", "m"), ("i", &i.to_string()), ("z", "é")],
                &[(1000 + i as i64, i as f64)],
            )
        })
        .collect();
    if v2 {
        encode_v2(&s, &[])
    } else {
        encode_v1(&s, &[])
    }
}

#[derive(Debug, Clone)]
enum Input {
    /// Bytes sent as is (usually not snappy).
    Raw(Vec<u8>),
    /// A valid request with bytes flipped, truncated or inserted, then compressed.
    Mutated {
        v2: bool,
        edits: Vec<(usize, u8)>,
        cut: usize,
    },
}

fn input() -> impl Strategy<Value = (Input, bool)> {
    let raw = proptest::collection::vec(any::<u8>(), 0..512).prop_map(Input::Raw);
    let mutated = (
        any::<bool>(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        any::<usize>(),
    )
        .prop_map(|(v2, edits, cut)| Input::Mutated { v2, edits, cut });
    (prop_oneof![raw, mutated], any::<bool>())
}

#[test]
fn bad_input_never_gets_a_5xx() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::start(""));
    let mut runner = TestRunner::new(PtConfig {
        cases: 400,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let cases = std::cell::Cell::new(0u32);
    runner
        .run(&input(), |(inp, as_v2)| {
            cases.set(cases.get() + 1);
            let (body, ct) = match inp {
                Input::Raw(b) => (b, if as_v2 { V2 } else { V1 }),
                Input::Mutated { v2, edits, cut } => {
                    let mut b = valid_body(v2, 3);
                    for (pos, byte) in edits {
                        let i = pos % (b.len() + 1);
                        if i == b.len() {
                            b.push(byte);
                        } else {
                            b[i] ^= byte | 1;
                        }
                    }
                    if cut % 4 == 0 {
                        b.truncate(cut % (b.len() + 1));
                    }
                    // Sometimes declare the other version than the body's.
                    let ct = if v2 != as_v2 && cut % 3 == 0 {
                        if v2 { V1 } else { V2 }
                    } else if v2 {
                        V2
                    } else {
                        V1
                    };
                    (snappy_compress(&b), ct)
                }
            };
            let r = rt.block_on(app.post(
                "/api/v1/write",
                &[("content-type", ct), ("content-encoding", "snappy")],
                body.clone(),
            ));
            prop_assert!(
                !r.status.is_server_error(),
                "{} for a bad body: {}",
                r.status,
                r.text()
            );
            prop_assert!(
                matches!(
                    r.status,
                    StatusCode::NO_CONTENT
                        | StatusCode::BAD_REQUEST
                        | StatusCode::PAYLOAD_TOO_LARGE
                ),
                "unexpected {}: {}",
                r.status,
                r.text()
            );
            if ct == V2 {
                prop_assert!(r.written().is_some(), "2.0 answers carry the counts");
            }
            let r = rt.block_on(app.post("/api/v1/read", &[], body));
            prop_assert!(
                !r.status.is_server_error(),
                "read: {}: {}",
                r.status,
                r.text()
            );
            Ok(())
        })
        .unwrap();
    assert!(cases.get() >= 400, "ran {} cases", cases.get());
    // The valid bodies still work after all that.
    for v2 in [false, true] {
        let r = rt.block_on(app.write_raw(if v2 { V2 } else { V1 }, &valid_body(v2, 2), &[]));
        assert!(
            r.status == StatusCode::NO_CONTENT || r.status == StatusCode::BAD_REQUEST,
            "{}",
            r.text()
        );
    }
    rt.block_on(app.shutdown());
}
