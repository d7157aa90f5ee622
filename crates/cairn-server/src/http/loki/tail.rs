//! `GET /loki/api/v1/tail`: live tail over a WebSocket, as Loki's querier serves it. The
//! answer first carries the newest `limit` entries since `start` (oldest first), then every
//! entry pushed afterwards that passes the query's pipeline, in messages of at most 100
//! entries: `{"streams":[...],"dropped_entries":[...]}` with Loki's stream encoding (flat, or
//! categorized when `X-Loki-Response-Encoding-Flags: categorize-labels` asks for it).
//!
//! The subscription to new pushes starts before the history is read, so nothing written in
//! between is missed; an entry seen in the history is not sent again. A client that reads
//! too slowly loses pushes (publishers never wait for tails) and is told which entries it
//! lost in `dropped_entries`. A ping goes out every second; the tail ends after
//! `TAIL_MAX_DURATION` (Loki's `tail_max_duration`, 1h) or when either side closes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cairn_logql::{Expr, LogExpr, Pipeline, QueryParams, QueryValue, StreamPipeline, Streams};
use cairn_model::{Direction, Labels, LogBatch, TenantId};

use super::index::{LokiRequest, bad};
use super::params;
use super::query::{execute, wants_categories};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::logs::TailSubscription;

/// Most entries per message (Loki's `maxEntriesPerTailResponse`).
const MAX_ENTRIES_PER_MESSAGE: usize = 100;
/// Longest `delay_for`, in seconds (Loki's `maxDelayForInTailing`).
const MAX_DELAY_FOR: i64 = 5;
/// How long one tail may run (Loki's `tail_max_duration` default).
const TAIL_MAX_DURATION: Duration = Duration::from_secs(3600);
/// Ping period (Loki's `wsPingPeriod`).
const PING_PERIOD: Duration = Duration::from_secs(1);

/// A checked tail request.
struct TailRequest {
    tenant: TenantId,
    expr: LogExpr,
    start_ns: i64,
    limit: u32,
    delay: Duration,
    categorize: bool,
}

/// `GET /loki/api/v1/tail`.
pub(crate) async fn tail(
    State(state): State<Arc<AppState>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    req: LokiRequest,
) -> Result<Response, ApiError> {
    let p = &req.params;
    let query = p.get("query").unwrap_or("");
    let expr = match cairn_logql::parse(query).map_err(|e| bad(e.to_string()))? {
        Expr::Log(l) => l,
        Expr::Sample(_) => {
            return Err(bad(
                "tail requires a log query (a stream selector and a pipeline), not a metric query",
            ));
        }
    };
    Pipeline::new(&expr).map_err(super::query::logql_error)?;
    let limit = params::limit(p).map_err(bad)?;
    let now = crate::logs::now_ns();
    let (start_ns, _) = params::bounds(p, now).map_err(bad)?;
    let delay = match p.get("delay_for").filter(|s| !s.is_empty()) {
        None => 0,
        Some(d) => crate::http::params::go_atoi(d).map_err(bad)?,
    };
    if delay > MAX_DELAY_FOR {
        return Err(bad(format!(
            "delay_for can't be greater than {MAX_DELAY_FOR}"
        )));
    }
    let t = TailRequest {
        tenant: req.tenant,
        expr,
        start_ns,
        limit,
        delay: Duration::from_secs(delay.max(0) as u64),
        categorize: wants_categories(&headers),
    };
    // Loki reads the request before upgrading: bad parameters are answered 400 whether or not
    // the request is a WebSocket handshake, and only a good request needs to be one.
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let store = req.store;
    Ok(ws
        .on_upgrade(move |socket| async move {
            if let Err(e) = run(state, store, t, socket).await {
                tracing::debug!(error = %e, "tail ended");
            }
        })
        .into_response())
}

/// Why a tail ended early.
#[derive(Debug, thiserror::Error)]
enum TailEnd {
    #[error("websocket: {0}")]
    Socket(#[from] axum::Error),
}

async fn run(
    state: Arc<AppState>,
    store: Arc<dyn crate::backend::LogsStore>,
    t: TailRequest,
    mut socket: WebSocket,
) -> Result<(), TailEnd> {
    // Subscribe first: pushes written while the history is read are queued, not missed.
    let mut sub = state.tail.subscribe(&t.tenant);
    let end_ns = crate::logs::now_ns().saturating_add(1);
    let history = QueryParams {
        start_ns: t.start_ns,
        end_ns,
        // Any step: a log query over a range, not an instant query.
        step_ns: end_ns.saturating_sub(t.start_ns).max(1),
        interval_ns: 0,
        direction: Direction::Backward,
        limit: t.limit,
    };
    let mut seen = HashSet::new();
    match execute(
        &state,
        "loki_tail",
        store,
        t.tenant.clone(),
        Expr::Log(t.expr.clone()),
        history,
    )
    .await
    {
        Ok((r, _)) => {
            if let QueryValue::Streams(s) = r.value {
                let mut oldest_first = Streams::new();
                let entries: Vec<_> = s.entries().collect();
                for (ts, line, labels) in entries.into_iter().rev() {
                    seen.insert((ts, line.to_string(), labels.all.clone()));
                    oldest_first.push(ts, line.to_string(), Arc::new(labels.clone()));
                }
                send_entries(&mut socket, &oldest_first, Vec::new(), t.categorize).await?;
            }
        }
        Err(e) => {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: axum::extract::ws::close_code::ERROR,
                    reason: e.message.into(),
                })))
                .await;
            return Ok(());
        }
    }

    let pipeline = Pipeline::new(&t.expr).expect("checked before the upgrade");
    let mut per_stream: HashMap<Labels, StreamPipeline> = HashMap::new();
    let started = Instant::now();
    let mut ping = tokio::time::interval(PING_PERIOD);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut delayed: VecDeque<(Instant, Arc<LogBatch>)> = VecDeque::new();
    let mut release = tokio::time::interval(Duration::from_millis(100));
    loop {
        if started.elapsed() >= TAIL_MAX_DURATION {
            let _ = socket.send(Message::Close(None)).await;
            return Ok(());
        }
        tokio::select! {
            pushed = sub.rx.recv() => {
                let Some(batch) = pushed else { return Ok(()) };
                if t.delay.is_zero() {
                    let out = filter(&pipeline, &mut per_stream, &mut seen, &[batch]);
                    send_entries(&mut socket, &out, sub_dropped(&sub), t.categorize).await?;
                } else {
                    delayed.push_back((Instant::now(), batch));
                }
            }
            _ = release.tick(), if !delayed.is_empty() => {
                let due: Vec<_> = std::iter::from_fn(|| {
                    match delayed.front() {
                        Some((at, _)) if at.elapsed() >= t.delay => delayed.pop_front().map(|(_, b)| b),
                        _ => None,
                    }
                })
                .collect();
                if !due.is_empty() {
                    let out = filter(&pipeline, &mut per_stream, &mut seen, &due);
                    send_entries(&mut socket, &out, sub_dropped(&sub), t.categorize).await?;
                }
            }
            _ = ping.tick() => {
                socket.send(Message::Ping(Vec::new().into())).await?;
                let dropped = sub_dropped(&sub);
                if !dropped.is_empty() {
                    send_entries(&mut socket, &Streams::new(), dropped, t.categorize).await?;
                }
            }
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
        }
    }
}

fn sub_dropped(sub: &TailSubscription) -> Vec<(Labels, i64)> {
    sub.take_dropped()
}

/// The entries of `batches` that pass the pipeline, oldest first, without those already sent
/// with the history.
fn filter(
    pipeline: &Pipeline,
    per_stream: &mut HashMap<Labels, StreamPipeline>,
    seen: &mut HashSet<(i64, String, Labels)>,
    batches: &[Arc<LogBatch>],
) -> Streams {
    let mut picked = Vec::new();
    for b in batches {
        for s in &b.streams {
            let sp = per_stream
                .entry(s.labels.clone())
                .or_insert_with(|| pipeline.for_stream(&s.labels));
            for e in &s.entries {
                if let Some(p) = sp.process(e.ts_ns, &e.line, &e.metadata) {
                    let key = (e.ts_ns, p.line.to_string(), p.labels.all.clone());
                    if !seen.is_empty() && seen.remove(&key) {
                        continue;
                    }
                    picked.push((key.0, key.1, p.labels));
                }
            }
        }
    }
    picked.sort_by_key(|(ts, _, _)| *ts);
    let mut out = Streams::new();
    for (ts, line, labels) in picked {
        out.push(ts, line, labels);
    }
    out
}

/// Sends `entries` in messages of at most 100 entries; the first carries `dropped`.
async fn send_entries(
    socket: &mut WebSocket,
    entries: &Streams,
    mut dropped: Vec<(Labels, i64)>,
    categorize: bool,
) -> Result<(), TailEnd> {
    if entries.is_empty() && dropped.is_empty() {
        return Ok(());
    }
    let all: Vec<_> = entries.entries().collect();
    let mut chunks: Vec<&[_]> = all.chunks(MAX_ENTRIES_PER_MESSAGE).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    for chunk in chunks {
        let mut part = Streams::new();
        for (ts, line, labels) in chunk {
            part.push(*ts, line.to_string(), Arc::new((*labels).clone()));
        }
        let msg = message(&part, &std::mem::take(&mut dropped), categorize);
        socket.send(Message::Text(msg.into())).await?;
    }
    Ok(())
}

/// One tail message: `streams` and `dropped_entries`, each left out when empty.
fn message(entries: &Streams, dropped: &[(Labels, i64)], categorize: bool) -> String {
    let mut j = Json::new();
    j.raw("{");
    let mut more = false;
    if !entries.is_empty() {
        j.key("streams")
            .raw(&super::query::streams_json(entries, categorize));
        more = true;
    }
    if !dropped.is_empty() {
        if more {
            j.raw(",");
        }
        j.key("dropped_entries").raw("[");
        for (i, (labels, ts)) in dropped.iter().enumerate() {
            j.sep(i)
                .raw("{")
                .key("timestamp")
                .str(&ts.to_string())
                .raw(",")
                .key("labels")
                .labels(labels)
                .raw("}");
        }
        j.raw("]");
    }
    j.raw("}");
    j.finish()
}

#[cfg(test)]
mod tests {
    use cairn_model::{LogEntry, LogStream};

    use super::*;

    fn expr(q: &str) -> LogExpr {
        match cairn_logql::parse(q).unwrap() {
            Expr::Log(l) => l,
            Expr::Sample(_) => panic!("not a log query"),
        }
    }

    fn batch(app: &str, entries: &[(i64, &str)]) -> Arc<LogBatch> {
        Arc::new(LogBatch {
            streams: vec![LogStream {
                labels: Labels::from_pairs([("app", app)]).unwrap(),
                entries: entries.iter().map(|(t, l)| LogEntry::new(*t, *l)).collect(),
            }],
        })
    }

    #[test]
    fn live_entries_pass_the_pipeline_oldest_first_and_skip_the_history() {
        let p = Pipeline::new(&expr(r#"{app="a"} |= "err" | logfmt"#)).unwrap();
        let mut per_stream = HashMap::new();
        let all = Labels::from_pairs([("app", "a"), ("level", "err"), ("n", "1")]).unwrap();
        let mut seen = HashSet::from([(5, "level=err n=1".to_string(), all)]);
        let out = filter(
            &p,
            &mut per_stream,
            &mut seen,
            &[
                batch(
                    "a",
                    &[(7, "level=err n=3"), (5, "level=err n=1"), (6, "ok")],
                ),
                batch("a", &[(6, "level=err n=2")]),
            ],
        );
        let got: Vec<_> = out.entries().map(|(t, l, _)| (t, l.to_string())).collect();
        assert_eq!(
            got,
            vec![
                (6, "level=err n=2".to_string()),
                (7, "level=err n=3".to_string())
            ]
        );
        let flat = out.flat();
        assert!(flat[0].labels.get("level").is_some(), "parsed labels kept");
        assert!(seen.is_empty());
    }

    #[test]
    fn messages_leave_out_what_is_empty() {
        let labels = Labels::from_pairs([("app", "a")]).unwrap();
        assert_eq!(
            message(&Streams::new(), &[(labels, 42)], false),
            r#"{"dropped_entries":[{"timestamp":"42","labels":{"app":"a"}}]}"#
        );
        let p = Pipeline::new(&expr(r#"{app="a"}"#)).unwrap();
        let out = filter(
            &p,
            &mut HashMap::new(),
            &mut HashSet::new(),
            &[batch("a", &[(1, "x")])],
        );
        assert_eq!(
            message(&out, &[], false),
            r#"{"streams":[{"stream":{"app":"a"},"values":[["1","x"]]}]}"#
        );
    }
}
