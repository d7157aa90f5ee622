//! The live tail WebSocket (`/loki/api/v1/tail`) read with a real WebSocket client
//! (tungstenite), as Grafana's live tail reads it: the history since `start` oldest first,
//! then new pushes that pass the query, pings every second, Loki's parameter errors on the
//! handshake, and a slow reader's `dropped_entries` (`pkg/loghttp/tail.go`: timestamps as
//! nanosecond strings, `streams` and `dropped_entries` left out when empty).

mod support;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::logs::now_ns;
use support::{TestServer, http};

const S: i64 = 1_000_000_000;

/// Reads WebSocket messages until `done` says the collected tail answers suffice or the
/// deadline passes; counts pings.
fn read_tail(
    ws: &mut tungstenite::WebSocket<TcpStream>,
    deadline: Instant,
    pings: &mut usize,
    mut done: impl FnMut(&[Value], usize) -> bool,
) -> Vec<Value> {
    let mut got = Vec::new();
    while !done(&got, *pings) && Instant::now() < deadline {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                got.push(serde_json::from_str(t.as_str()).expect("tail messages are JSON"));
            }
            Ok(tungstenite::Message::Ping(_)) => *pings += 1,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("tail WebSocket: {e}"),
        }
    }
    got
}

fn tail_lines(msgs: &[Value]) -> Vec<(i64, String, Value)> {
    let mut out = Vec::new();
    for m in msgs {
        // `streams` is left out of a message that only reports drops (`omitempty`).
        for s in m["streams"].as_array().into_iter().flatten() {
            for e in s["values"].as_array().expect("values") {
                out.push((
                    e[0].as_str().expect("ts").parse().expect("ns"),
                    e[1].as_str().expect("line").to_string(),
                    s["stream"].clone(),
                ));
            }
        }
    }
    out
}

#[test]
fn live_tail_sends_history_then_new_pushes_and_pings() {
    let server = TestServer::start();
    let url = server.url().to_string();
    let push = |lines: &[(i64, &str)]| {
        let values: Vec<Value> = lines
            .iter()
            .map(|(t, l)| json!([t.to_string(), l]))
            .collect();
        let body =
            json!({"streams": [{"stream": {"app": "tail", "env": "prod"}, "values": values}]});
        let r = http::post(
            &format!("{url}/loki/api/v1/push"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .expect("push");
        assert_eq!(r.status, 204, "{}", r.text());
    };
    let t0 = now_ns() - 10 * S;
    push(&[
        (t0, "before 1"),
        (t0 + 1, "before 2 skip"),
        (t0 + 2, "before 3"),
    ]);
    let authority = url.trim_start_matches("http://");
    let query = http::urlencode(r#"{app="tail"} != "skip""#);
    let ws_url = format!(
        "ws://{authority}/loki/api/v1/tail?query={query}&start={}&limit=10",
        t0 - S
    );
    let stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let (mut ws, resp) = tungstenite::client::client(ws_url.as_str(), stream)
        .unwrap_or_else(|e| panic!("WebSocket handshake: {e}"));
    assert_eq!(resp.status().as_u16(), 101);
    let mut pings = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let history = read_tail(&mut ws, deadline, &mut pings, |m, _| {
        tail_lines(m).len() >= 2
    });
    let lines = tail_lines(&history);
    assert_eq!(
        lines
            .iter()
            .map(|(t, l, _)| (*t, l.as_str()))
            .collect::<Vec<_>>(),
        [(t0, "before 1"), (t0 + 2, "before 3")],
        "history, oldest first, filtered"
    );
    // Loki's tail encoding without the flag: labels flat, detected_level folded in.
    assert_eq!(
        lines[0].2,
        json!({"app": "tail", "env": "prod", "service_name": "tail", "detected_level": "unknown"})
    );
    for m in &history {
        assert!(
            m["dropped_entries"].is_null() || m["dropped_entries"].is_array(),
            "{m}"
        );
    }
    let t1 = now_ns();
    push(&[
        (t1, "after 1"),
        (t1 + 1, "after 2 skip"),
        (t1 + 2, "after 3"),
    ]);
    let live = read_tail(&mut ws, deadline, &mut pings, |m, _| {
        tail_lines(m).len() >= 2
    });
    let got: Vec<(i64, String)> = tail_lines(&live)
        .into_iter()
        .map(|(t, l, _)| (t, l))
        .collect();
    assert_eq!(
        got,
        [(t1, "after 1".to_string()), (t1 + 2, "after 3".to_string())]
    );
    // Loki pings every second (wsPingPeriod).
    let ping_deadline = Instant::now() + Duration::from_secs(5);
    let _ = read_tail(&mut ws, ping_deadline, &mut pings, |_, p| p >= 2);
    assert!(pings >= 2, "{pings} pings in 5 s");
    let _ = ws.close(None);
    // Parameter errors answer the handshake, before any upgrade (Loki parses the tail
    // request first: `delay_for can't be greater than 5`).
    let stream = TcpStream::connect(authority).expect("connect");
    let bad = format!("ws://{authority}/loki/api/v1/tail?query={query}&delay_for=6");
    match tungstenite::client::client(bad.as_str(), stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            assert_eq!(r.status().as_u16(), 400);
            let body = String::from_utf8_lossy(r.body().as_deref().unwrap_or_default());
            assert!(body.contains("delay_for can't be greater than 5"), "{body}");
        }
        Err(e) => panic!("delay_for=6: {e}"),
        Ok(_) => panic!("delay_for=6 was accepted"),
    }
    // So is a plain GET: Loki parses the request before it looks for a handshake.
    let r = http::get(&format!("{url}/loki/api/v1/tail?query={query}&delay_for=6"))
        .expect("GET /loki/api/v1/tail");
    assert_eq!(
        (r.status, r.text().trim()),
        (400, "delay_for can't be greater than 5")
    );
}

#[test]
fn live_tail_reports_what_a_slow_reader_lost() {
    // Big pushes, fast: the rate limit must not be what refuses them.
    let server = TestServer::builder()
        .config("limits:\n  logs:\n    ingestion_rate: 1GiB\n    ingestion_burst_size: 1GiB\n")
        .start();
    let url = server.url().to_string();
    let authority = url.trim_start_matches("http://").to_string();
    let query = http::urlencode(r#"{app="flood"}"#);
    let stream = TcpStream::connect(&authority).expect("connect");
    let (mut ws, _) = tungstenite::client::client(
        format!("ws://{authority}/loki/api/v1/tail?query={query}").as_str(),
        stream,
    )
    .unwrap_or_else(|e| panic!("WebSocket handshake: {e}"));
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // Let the tail subscribe, then stop reading while pushes pile up far beyond what the
    // socket buffers and the subscription's queue hold (32 MiB of lines; about 12 MiB got
    // through before the server started dropping on a 2-core test machine).
    let mut pings = 0;
    let _ = read_tail(
        &mut ws,
        Instant::now() + Duration::from_millis(500),
        &mut pings,
        |_, _| false,
    );
    const PUSHES: i64 = 260;
    let t0 = now_ns() - 60 * S;
    let pad = "x".repeat(128 << 10);
    for i in 0..PUSHES {
        let body = json!({"streams": [{"stream": {"app": "flood"}, "values": [[(t0 + i).to_string(), format!("{i} {pad}")]]}]});
        let r = http::post(
            &format!("{url}/loki/api/v1/push"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .expect("push");
        assert_eq!(r.status, 204, "{}", r.text());
    }
    // Now read everything: each pushed entry arrives or is reported dropped, never both.
    let mut delivered = BTreeSet::new();
    let mut dropped = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (delivered.len() + dropped.len()) < PUSHES as usize && Instant::now() < deadline {
        let msgs = read_tail(
            &mut ws,
            Instant::now() + Duration::from_millis(300),
            &mut pings,
            |m, _| !m.is_empty(),
        );
        for m in &msgs {
            for (ts, _, stream) in tail_lines(std::slice::from_ref(m)) {
                assert_eq!(stream["app"], "flood");
                assert!(delivered.insert(ts), "{ts} delivered twice");
            }
            for d in m["dropped_entries"].as_array().into_iter().flatten() {
                assert_eq!(d["labels"]["app"], "flood", "{d}");
                let ts: i64 = d["timestamp"].as_str().expect("ts").parse().expect("ns");
                assert!(dropped.insert(ts), "{ts} dropped twice");
            }
        }
    }
    assert!(
        delivered.is_disjoint(&dropped),
        "an entry both delivered and dropped"
    );
    let all: BTreeSet<i64> = (0..PUSHES).map(|i| t0 + i).collect();
    let seen: BTreeSet<i64> = delivered.union(&dropped).copied().collect();
    assert_eq!(
        seen,
        all,
        "{} delivered, {} dropped",
        delivered.len(),
        dropped.len()
    );
    assert!(
        !dropped.is_empty(),
        "the reader never fell behind: the test proves nothing"
    );
    eprintln!(
        "{} delivered, {} reported dropped",
        delivered.len(),
        dropped.len()
    );
    let _ = ws.close(None);
}
