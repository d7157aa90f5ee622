//! One conformance suite for every object store backend: a local directory and a real
//! S3-compatible server (`moto_server`, started here as a child process).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_model::{Labels, MatchOp, Matcher, Sample, SelectRequest, Series, TenantId};
use cairn_store::{BlockCache, ObjectStoreConfig, TenantBlocks, build_object_store, write_block};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

fn series(job: &str, n: usize, start: i64, end: i64) -> Vec<Series> {
    (0..n)
        .map(|i| Series {
            labels: Labels::from_pairs([
                ("__name__", "up"),
                ("job", job),
                ("instance", format!("host-{i}").as_str()),
            ])
            .expect("valid labels"),
            samples: (start..=end)
                .step_by(15_000)
                .map(|t| Sample::new(t, (t / 1000 + i as i64) as f64))
                .collect(),
        })
        .collect()
}

async fn list(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    let p = Path::from(prefix);
    let mut v: Vec<String> = store
        .list(Some(&p))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    v.sort();
    v
}

/// The suite every backend must pass.
async fn conformance_suite(store: Arc<dyn ObjectStore>) {
    // put / get / get_range
    let a = Path::from("conf/dir/a.bin");
    let data = Bytes::from((0u8..=255).collect::<Vec<u8>>());
    store
        .put(&a, PutPayload::from(data.clone()))
        .await
        .expect("put");
    let got = store
        .get(&a)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(got, data);
    assert_eq!(
        store.get_range(&a, 10..20).await.expect("get_range"),
        data.slice(10..20)
    );

    // list with prefix
    store
        .put(&Path::from("conf/dir/b.bin"), PutPayload::from_static(b"b"))
        .await
        .expect("put");
    store
        .put(
            &Path::from("conf/other/c.bin"),
            PutPayload::from_static(b"c"),
        )
        .await
        .expect("put");
    assert_eq!(
        list(&store, "conf/dir").await,
        vec!["conf/dir/a.bin", "conf/dir/b.bin"]
    );

    // delete
    store.delete(&a).await.expect("delete");
    assert!(matches!(
        store.get(&a).await,
        Err(object_store::Error::NotFound { .. })
    ));
    assert_eq!(list(&store, "conf/dir").await, vec!["conf/dir/b.bin"]);

    // create-if-absent: the second create loses
    let c = Path::from("conf/create/once.json");
    let create = || PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    store
        .put_opts(&c, PutPayload::from_static(b"first"), create())
        .await
        .expect("first create");
    let second = store
        .put_opts(&c, PutPayload::from_static(b"second"), create())
        .await;
    assert!(
        matches!(second, Err(object_store::Error::AlreadyExists { .. })),
        "second create must fail with AlreadyExists, got {second:?}"
    );
    let kept = store
        .get(&c)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&kept[..], b"first");

    // the catalog under concurrent adds from two instances
    let tenant = TenantId::new("conformance").expect("tenant");
    let cache = Arc::new(BlockCache::new(32 << 20));
    let one = Arc::new(
        TenantBlocks::open(Arc::clone(&store), tenant.clone(), Arc::clone(&cache))
            .await
            .expect("open"),
    );
    let two = Arc::new(
        TenantBlocks::open(Arc::clone(&store), tenant.clone(), Arc::clone(&cache))
            .await
            .expect("open"),
    );
    let mut metas = Vec::new();
    for i in 0..4i64 {
        let s = series(
            &format!("job{i}"),
            3,
            i * 7_200_000,
            i * 7_200_000 + 600_000,
        );
        metas.push(
            write_block(&store, &tenant, s, 0, vec![])
                .await
                .expect("write_block"),
        );
    }
    let adds: Vec<_> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let tb = Arc::clone(if i % 2 == 0 { &one } else { &two });
            let m = m.clone();
            tokio::spawn(async move { tb.add_block(m).await })
        })
        .collect();
    for a in adds {
        a.await.expect("join").expect("add_block");
    }
    let fresh = TenantBlocks::open(Arc::clone(&store), tenant.clone(), Arc::clone(&cache))
        .await
        .expect("open");
    let mut got: Vec<_> = fresh.blocks().iter().map(|m| m.ulid).collect();
    let mut want: Vec<_> = metas.iter().map(|m| m.ulid).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "no catalog addition lost");

    // write_block / select round trip through a cold cache
    let cold = TenantBlocks::open(
        Arc::clone(&store),
        tenant.clone(),
        Arc::new(BlockCache::new(32 << 20)),
    )
    .await
    .expect("open");
    let req = SelectRequest {
        matchers: vec![
            Matcher::new(MatchOp::Regex, "job", "job[02]").expect("matcher"),
            Matcher::equal("instance", "host-1"),
        ],
        start_ms: 0,
        end_ms: i64::MAX,
        max_series: 0,
        max_samples: 0,
    };
    let got = cold.select(&req).await.expect("select");
    assert_eq!(got.len(), 2);
    for s in &got {
        let want = metas_series(s.labels.get("job").expect("job label"));
        let want = want
            .iter()
            .find(|w| w.labels == s.labels)
            .expect("expected series");
        assert_eq!(s.samples, want.samples, "{}", s.labels);
    }
    let all = cold
        .select(&SelectRequest {
            matchers: vec![],
            ..req
        })
        .await
        .expect("select all");
    assert_eq!(all.len(), 12);
}

fn metas_series(job: &str) -> Vec<Series> {
    let i: i64 = job.trim_start_matches("job").parse().expect("job number");
    series(job, 3, i * 7_200_000, i * 7_200_000 + 600_000)
}

#[tokio::test]
async fn local_file_system() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = build_object_store(&ObjectStoreConfig::Local {
        path: dir.path().join("data"),
    })
    .expect("local store");
    conformance_suite(store).await;
}

/// A `moto_server` child process, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_moto() -> Moto {
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot start moto_server ({e}); the S3 conformance test needs it: run `pip install 'moto[server]'`"
        ),
    };
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// Creates a bucket with a plain HTTP request (moto does not check signatures).
fn create_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "bucket creation failed: {resp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server() {
    let moto = start_moto();
    create_bucket(moto.port, "cairn-test");
    let store = build_object_store(&ObjectStoreConfig::S3 {
        bucket: "cairn-test".into(),
        region: "us-east-1".into(),
        endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
        prefix: "cairn".into(),
        path_style: true,
        allow_http: true,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        session_token: None,
    })
    .expect("s3 store");
    conformance_suite(store).await;
    drop(moto);
}
