//! A real `App` (real storage engine on a temporary directory) driven through its router.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use cairn_model::Sample;
use cairn_server::{App, Config};
use cairn_wire::encode::{OwnedSeries, encode_v1, encode_v2};
use cairn_wire::snappy_compress;
use futures::StreamExt;
use tower::ServiceExt;

/// Content types of the two remote write versions.
pub(crate) const V1: &str = "application/x-protobuf;proto=prometheus.WriteRequest";
pub(crate) const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

/// An answer, body read whole.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The three remote write 2.0 written counts, if all present.
    pub(crate) fn written(&self) -> Option<(u64, u64, u64)> {
        let get = |n: &str| {
            self.header(&format!("x-prometheus-remote-write-{n}-written"))
                .map(|v| v.parse::<u64>().expect("a decimal count"))
        };
        Some((get("samples")?, get("histograms")?, get("exemplars")?))
    }
}

/// The app, its router and its directory.
pub(crate) struct TestApp {
    pub(crate) app: App,
    pub(crate) router: Router,
    pub(crate) dir: tempfile::TempDir,
}

impl TestApp {
    /// An app on a fresh data directory with this YAML (data_dir is set here).
    pub(crate) async fn start(yaml: &str) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::start_in(yaml, dir).await
    }

    /// An app on `dir`.
    pub(crate) async fn start_in(yaml: &str, dir: tempfile::TempDir) -> TestApp {
        let mut config =
            Config::from_yaml(yaml, "test.yaml", &|_| None).expect("test config is valid");
        config.storage.data_dir = dir.path().join("data");
        let app = App::open(config).await.expect("app opens");
        let router = app.router();
        TestApp { app, router, dir }
    }

    pub(crate) async fn shutdown(self) -> tempfile::TempDir {
        self.app.shutdown().await.expect("clean shutdown");
        self.dir
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let mut stream = resp.into_body().into_data_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.expect("response body reads"));
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    /// POSTs a raw body to `path` with these headers.
    pub(crate) async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        let mut req = Request::post(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).expect("valid request"))
            .await
    }

    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).expect("valid request"))
            .await
    }

    /// POSTs a snappy-compressed remote write body of this content type.
    pub(crate) async fn write_raw(
        &self,
        content_type: &str,
        uncompressed: &[u8],
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut h = vec![
            ("content-type", content_type),
            ("content-encoding", "snappy"),
        ];
        h.extend_from_slice(extra);
        self.post("/api/v1/write", &h, snappy_compress(uncompressed))
            .await
    }

    pub(crate) async fn write_v1(&self, series: &[OwnedSeries]) -> Resp {
        self.write_raw(V1, &encode_v1(series, &[]), &[]).await
    }

    pub(crate) async fn write_v2(&self, series: &[OwnedSeries]) -> Resp {
        self.write_raw(V2, &encode_v2(series, &[]), &[]).await
    }

    /// `data` of a successful Prometheus API answer to GET `path`.
    pub(crate) async fn api(&self, path: &str, headers: &[(&str, &str)]) -> serde_json::Value {
        let r = self.get(path, headers).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text());
        let mut v = r.json();
        assert_eq!(v["status"], "success", "GET {path}: {v}");
        v["data"].take()
    }
}

/// A series with these labels and samples `(t, v)`.
pub(crate) fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> OwnedSeries {
    let s: Vec<Sample> = samples.iter().map(|&(t, v)| Sample::new(t, v)).collect();
    OwnedSeries::new(labels, &s)
}

/// Percent-encodes a query parameter value.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
