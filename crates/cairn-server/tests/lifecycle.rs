//! `run_until`: bind, replay, serve, and the ordered shutdown, over a real socket.

use std::net::SocketAddr;
use std::time::Duration;

use cairn_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-shot HTTP/1.1 GET; returns the status code and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[tokio::test]
async fn serves_until_shutdown_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.forward_listen = None;
    config.server.otlp_grpc_listen = None;
    config.server.otlp_http_listen = None;
    config.server.shutdown_timeout = Duration::from_secs(10);
    config.storage.data_dir = dir.path().join("data");
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cairn_server::run_until(
        config,
        move |l: &cairn_server::Listeners| {
            let _ = addr_tx.send(l.http);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr = addr_rx.await.expect("the server reports its address");
    assert_ne!(addr.port(), 0, "the actual port is reported");
    assert_eq!(get(addr, "/-/healthy").await.0, 200);
    let mut ready = false;
    for _ in 0..200 {
        if get(addr, "/-/ready").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready, "/-/ready turns 200 after replay");
    let (status, body) = get(addr, "/api/v1/labels").await;
    assert_eq!(status, 200, "{body}");
    stop_tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("shutdown finishes in time")
        .expect("the server task does not panic");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
    assert!(
        dir.path().join("data/wal").is_dir(),
        "the WAL lives under data_dir/wal"
    );
}

#[tokio::test]
async fn a_taken_port_is_an_error_naming_it() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = taken;
    config.storage.data_dir = dir.path().to_path_buf();
    let e = cairn_server::run_until(config, |_| {}, std::future::pending())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&taken.to_string()), "{e}");
}

/// A large write on the multi-threaded runtime (the decode then leaves the reactor) through a
/// real socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_write_on_a_multi_threaded_runtime() {
    use cairn_model::Sample;
    use cairn_wire::encode::{OwnedSeries, encode_v1};
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.forward_listen = None;
    config.server.otlp_grpc_listen = None;
    config.server.otlp_http_listen = None;
    config.storage.data_dir = dir.path().join("data");
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cairn_server::run_until(
        config,
        move |l: &cairn_server::Listeners| {
            let _ = addr_tx.send(l.http);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr = addr_rx.await.unwrap();
    while get(addr, "/-/ready").await.0 != 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let samples: Vec<Sample> = (0..100).map(|i| Sample::new(1000 + i, i as f64)).collect();
    let series: Vec<OwnedSeries> = (0..2000)
        .map(|i| {
            OwnedSeries::new(
                &[
                    ("__name__", "big"),
                    ("i", &i.to_string()),
                    ("pad", &"x".repeat(64)),
                ],
                &samples,
            )
        })
        .collect();
    let raw = encode_v1(&series, &[]);
    assert!(raw.len() > 2 << 20, "{} bytes", raw.len());
    let body = cairn_wire::snappy_compress(&raw);
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 204"), "{out}");
    let (status, body) = get(addr, "/api/v1/label/i/values").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"1999\""),
        "{}",
        &body[..body.len().min(200)]
    );
    stop_tx.send(()).unwrap();
    assert!(server.await.unwrap().is_ok());
}
