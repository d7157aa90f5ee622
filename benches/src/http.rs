//! One HTTP/1.1 keep-alive connection per sender: exactly `C` connections reach the server,
//! which is what "C concurrent connections" means for the systems under test.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{Error, Result};

/// Percent-encodes a query parameter value (everything but RFC 3986's unreserved bytes).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `q` quantile (nearest rank) of some durations; zero when there are none.
pub fn quantile(runs: &[Duration], q: f64) -> Duration {
    let mut r = runs.to_vec();
    r.sort();
    if r.is_empty() {
        return Duration::ZERO;
    }
    let i = ((q * r.len() as f64).ceil() as usize).clamp(1, r.len()) - 1;
    r[i]
}

/// A duration in milliseconds with three significant digits or so.
pub fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 10.0 {
        format!("{m:.1} ms")
    } else {
        format!("{m:.2} ms")
    }
}

/// Where requests go: `http://host:port/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to and to send as `Host`.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

impl Target {
    /// Parses a plain-HTTP URL; the port defaults to 80.
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| Error::InvalidUrl(format!("{url}: only http:// is supported")))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(Error::InvalidUrl(format!("{url}: no host")));
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Target {
            authority,
            path: path.to_owned(),
        })
    }

    /// The same server with another path.
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            authority: self.authority.clone(),
            path: path.to_owned(),
        }
    }
}

/// A reusable connection, re-established transparently after the server closed it.
pub struct Connection {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// A response: its status and whole body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after: Option<Duration>,
}

impl Connection {
    /// A connection to `target`, opened on first use.
    pub fn new(target: Target) -> Self {
        Connection {
            target,
            sender: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
            self.sender = None;
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(&self.target.authority)
                .await
                .map_err(|e| Error::Connect(self.target.authority.clone(), e))?;
            stream
                .set_nodelay(true)
                .map_err(|e| Error::Connect(self.target.authority.clone(), e))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(Error::Http)?;
            // The connection task ends when the server closes or the sender is dropped.
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("set just above");
        sender.ready().await.map_err(Error::Http)?;
        Ok(sender)
    }

    /// Sends one request and reads the whole response; `path` overrides the target's path.
    pub async fn request(
        &mut self,
        method: Method,
        path: Option<&str>,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response> {
        let uri = path.unwrap_or(&self.target.path).to_owned();
        let mut builder = Request::builder()
            .method(method)
            .uri(uri.as_str())
            .header(hyper::header::HOST, self.target.authority.as_str())
            .header(hyper::header::USER_AGENT, "cairn-loadgen/0.1");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .body(Full::new(body))
            .map_err(|e| Error::InvalidUrl(format!("{uri}: {e}")))?;
        let exchange = async {
            let sender = self.sender().await?;
            let resp = sender.send_request(req).await.map_err(Error::Http)?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(Error::Http)?
                .to_bytes();
            Ok::<_, Error>(Response {
                status,
                body,
                retry_after,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(Error::Timeout(timeout))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:9009/api/v1/write").expect("valid");
        assert_eq!(t.authority, "127.0.0.1:9009");
        assert_eq!(t.path, "/api/v1/write");
        assert_eq!(
            Target::parse("http://example").expect("valid").authority,
            "example:80"
        );
        assert!(Target::parse("https://x/").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    #[tokio::test]
    async fn talks_to_a_real_http_server() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // A minimal keep-alive server answering two requests on one connection.
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            for status in ["204 No Content", "400 Bad Request"] {
                let mut seen = Vec::new();
                while !seen.windows(5).any(|w| w == b"hello") {
                    let n = sock.read(&mut buf).await.expect("read");
                    assert!(n > 0);
                    seen.extend_from_slice(&buf[..n]);
                }
                let body = if status.starts_with("400") {
                    "bad sample"
                } else {
                    ""
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.expect("write");
            }
        });
        let mut c = Connection::new(Target::parse(&format!("http://{addr}/w")).expect("url"));
        let t = Duration::from_secs(5);
        let r = c
            .request(Method::POST, None, &[], Bytes::from_static(b"hello"), t)
            .await
            .expect("first");
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = c
            .request(Method::POST, None, &[], Bytes::from_static(b"hello"), t)
            .await
            .expect("second");
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(&r.body[..], b"bad sample");
    }
}
