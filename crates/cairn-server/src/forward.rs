//! The Fluentd forward protocol listener (`server.forward_listen`, default `:24224`), for
//! Fluent Bit's and Fluentd's `forward` outputs and the fluent-logger libraries.
//!
//! Per connection: the shared-key handshake first when `logs.forward.shared_key` is set
//! (HELO, PING checked, PONG; a failed check is answered and the connection closed), then a
//! stream of messages in any of the four modes. Records become streams by `logs.records` with
//! the tag as the `logs.forward.tag_label` label, and are pushed through the same path as
//! every other log front door; a message's `chunk` is acknowledged only once its records are
//! durable (or were refused as invalid, which retrying cannot fix). When the store cannot take
//! a message now (rate limit, store trouble) the push is retried with backoff while the
//! connection waits, so a sender without acknowledgements is slowed down by TCP
//! back-pressure instead of losing data; after [`RETRY_FOR`] the connection is closed without
//! the acknowledgement and an acknowledging sender sends the chunk again.
//!
//! A framing error (bytes that are not msgpack, a message over the size limit) cannot be
//! resynchronised: it is logged and the connection closed. A connection idle for
//! [`IDLE_TIMEOUT`] is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cairn_model::TenantId;
use cairn_wire::{ForwardDecoder, ForwardMessage, Handshake, LogDecodeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http::AppState;

/// Most forward connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 1024;
/// A connection with nothing received for this long is closed (Fluent Bit keeps its
/// connections alive with data or heartbeats well within it).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a message the store cannot take now is retried before the connection is closed.
const RETRY_FOR: Duration = Duration::from_secs(30);
/// Bytes read from the socket at a time.
const READ_BUF: usize = 256 << 10;
/// Messages with more records than this are mapped on the blocking pool.
const BLOCKING_RECORDS: usize = 2_000;

const FORMAT: &str = "forward";

/// Serves the forward protocol on `listener` until `stop`; connections are tracked by
/// `tracker` so that shutdown waits for the pushes they have in flight.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            p = Arc::clone(&slots).acquire_owned() => p,
        };
        let Ok(permit) = permit else { return };
        let (sock, peer) = tokio::select! {
            () = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "forward listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let state = Arc::clone(&state);
        let stop = stop.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let _ = sock.set_nodelay(true);
            if let Err(e) = connection(sock, peer, &state, &stop).await {
                tracing::info!(%peer, error = %e, "forward connection closed");
            }
        });
    }
}

/// The tenant of forward connections, or why the listener cannot run.
pub(crate) fn tenant(state: &AppState) -> Result<TenantId, String> {
    match (&state.config.logs.forward.tenant, state.config.multitenancy.enabled) {
        (Some(t), _) => Ok(t.clone()),
        (None, false) => Ok(state.config.multitenancy.default_tenant.clone()),
        (None, true) => Err(
            "multitenancy is enabled and logs.forward.tenant is not set: the forward protocol carries no tenant"
                .into(),
        ),
    }
}

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut b[..]);
    b
}

async fn connection(
    mut sock: TcpStream,
    peer: SocketAddr,
    state: &AppState,
    stop: &CancellationToken,
) -> Result<(), String> {
    let cfg = &state.config.logs.forward;
    let tenant = tenant(state)?;
    let mut decoder = ForwardDecoder::new(LogDecodeLimits {
        max_decoded_bytes: cfg.max_message_size,
        ..LogDecodeLimits::default()
    });
    let handshake = cfg
        .handshake
        .clone()
        .map(|h| Handshake::new(h, random16(), random16()));
    let mut authenticated = handshake.is_none();
    if let Some(h) = &handshake {
        sock.write_all(&h.helo())
            .await
            .map_err(|e| format!("writing HELO: {e}"))?;
    }
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            r = tokio::time::timeout(IDLE_TIMEOUT, sock.read(&mut buf)) => match r {
                Err(_) => return Err(format!("idle for {}s", IDLE_TIMEOUT.as_secs())),
                Ok(Err(e)) => return Err(format!("read failed: {e}")),
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => n,
            },
        };
        decoder.feed(&buf[..n]);
        loop {
            let msg = match decoder.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) if decoder.is_broken() => {
                    state
                        .log_metrics
                        .request(FORMAT, axum::http::StatusCode::BAD_REQUEST);
                    return Err(format!("unreadable stream from {peer}: {e}"));
                }
                Err(e) => {
                    // One bad message; the stream goes on.
                    state
                        .log_metrics
                        .request(FORMAT, axum::http::StatusCode::BAD_REQUEST);
                    tracing::warn!(%peer, error = %e, "forward message refused");
                    continue;
                }
            };
            match msg {
                ForwardMessage::Ping(ping) => {
                    let Some(h) = &handshake else {
                        return Err("PING received but no shared_key is configured".into());
                    };
                    let verdict = h.check_ping(&ping);
                    sock.write_all(&verdict.pong)
                        .await
                        .map_err(|e| format!("writing PONG: {e}"))?;
                    if !verdict.accepted {
                        return Err(format!("handshake refused: {}", verdict.reason));
                    }
                    authenticated = true;
                }
                ForwardMessage::Heartbeat => {}
                _ if !authenticated => {
                    return Err("events before the shared-key handshake".into());
                }
                ForwardMessage::Ignored { tag, reason, chunk } => {
                    tracing::debug!(%peer, %tag, %reason, "forward message not stored");
                    ack(&mut sock, chunk.as_deref()).await?;
                }
                ForwardMessage::Events { records, chunk, .. } => {
                    if !push(state, &tenant, records, peer).await {
                        return Err(format!(
                            "the store could not take a message for {}s; closing without acknowledging",
                            RETRY_FOR.as_secs()
                        ));
                    }
                    ack(&mut sock, chunk.as_deref()).await?;
                }
            }
        }
    }
}

async fn ack(sock: &mut TcpStream, chunk: Option<&str>) -> Result<(), String> {
    match chunk {
        Some(c) => sock
            .write_all(&cairn_wire::encode_ack(c))
            .await
            .map_err(|e| format!("writing ack: {e}")),
        None => Ok(()),
    }
}

/// Pushes one message's records; false when the store could not take them within
/// [`RETRY_FOR`] (the caller closes without acknowledging).
async fn push(
    state: &AppState,
    tenant: &TenantId,
    records: Vec<cairn_wire::FluentRecord>,
    peer: SocketAddr,
) -> bool {
    let mapping = state.config.logs.forward.mapping.clone();
    let now = crate::logs::now_ns();
    let batch = if records.len() > BLOCKING_RECORDS {
        match tokio::task::spawn_blocking(move || cairn_wire::map_records(records, &mapping, now))
            .await
        {
            Ok((b, _)) => b,
            Err(e) => {
                tracing::error!(error = %e, "forward record mapping failed");
                return false;
            }
        }
    } else {
        cairn_wire::map_records(records, &mapping, now).0
    };
    let deadline = tokio::time::Instant::now() + RETRY_FOR;
    let mut wait = Duration::from_millis(50);
    loop {
        let store = match state.logs.get() {
            Some(s) => Arc::clone(s),
            None => {
                // Still replaying the WAL: wait like for any transient trouble.
                if tokio::time::Instant::now() + wait > deadline {
                    return false;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let a = state
            .log_ingest(&store, tenant)
            .push(tenant, batch.clone())
            .await;
        state.log_metrics.request(FORMAT, a.status);
        if !a.retryable() {
            if !a.message.is_empty() {
                tracing::warn!(%peer, tenant = %tenant, status = a.status.as_u16(), error = %a.message, "forward records refused");
            }
            return true;
        }
        if tokio::time::Instant::now() + wait > deadline {
            tracing::warn!(%peer, tenant = %tenant, error = %a.message, "forward push still refused after retries");
            return false;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
}
