//! The live feed: one poller tails the store's event log (whoever writes it, in whatever
//! process) and fans each new event out to every WebSocket client; a client that connects
//! or reconnects with `?after=SEQ` first gets what it missed from the store, so it sees
//! every event once, in order.
//!
//! Why no gap is possible: a client subscribes to the fan-out *before* it reads its backlog
//! from the store. Whatever the poller had published before the subscription is in the
//! store the backlog read sees; whatever it publishes after reaches the subscription. The
//! client forwards only sequence numbers above the last it sent, so the overlap is dropped.
//! A client too slow for the fan-out buffer goes back to the store and catches up there.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use orch_store::StoredEvent;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::redact::Redactor;
use crate::server::Shared;

/// One event, encoded once for every client.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) seq: u64,
    pub(crate) json: Utf8Bytes,
}

/// Events fetched from the store per query.
const PAGE: usize = 500;
/// Events a client may fall behind the poller before it is sent back to the store.
pub(crate) const FANOUT_CAPACITY: usize = 4096;
/// Keep-alive ping for idle connections (proxies drop silent ones).
const PING_EVERY: Duration = Duration::from_secs(20);
/// A client that takes longer than this to accept one frame is gone (or not reading): it is
/// dropped rather than holding its task forever. It can reconnect and resume.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// The frame of one event, secrets redacted.
fn encode(event: &StoredEvent, redactor: &Redactor) -> Frame {
    // An event that cannot be encoded cannot exist: it was decoded from JSON.
    let json = serde_json::to_string(event)
        .unwrap_or_else(|_| format!(r#"{{"seq":{},"error":"unencodable"}}"#, event.seq));
    Frame {
        seq: event.seq,
        json: redactor.redact(&json).into_owned().into(),
    }
}

/// Tails the log from `cursor` until the server stops.
pub(crate) async fn poll(shared: Arc<Shared>, mut cursor: u64, interval: Duration) {
    loop {
        let batch = match shared
            .with_store(move |s| Ok(s.events_since(cursor, PAGE)?))
            .await
        {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(error = ?err, "dashboard cannot read the event log");
                tokio::time::sleep(interval * 10).await;
                continue;
            }
        };
        let full = batch.len() == PAGE;
        for event in &batch {
            cursor = event.seq;
            // No subscribers is fine: the next client reads its backlog from the store.
            let _ = shared.fanout.send(encode(event, &shared.redactor));
        }
        if !full {
            tokio::time::sleep(interval).await;
        }
    }
}

/// Serves one WebSocket client from just after `after`.
pub(crate) async fn serve_client(shared: Arc<Shared>, mut socket: WebSocket, after: u64) {
    let mut live = shared.fanout.subscribe();
    let mut sent = after;
    if catch_up(&shared, &mut socket, &mut sent).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            frame = live.recv() => match frame {
                Ok(frame) => {
                    if frame.seq <= sent {
                        continue;
                    }
                    if frame.seq > sent + 1 {
                        // Published before this client subscribed but after its backlog
                        // read cannot happen (see the module docs); still, never skip.
                        if catch_up(&shared, &mut socket, &mut sent).await.is_err() {
                            return;
                        }
                        if frame.seq <= sent {
                            continue;
                        }
                    }
                    if send(&mut socket, Message::Text(frame.json)).await.is_err() {
                        return;
                    }
                    sent = frame.seq;
                }
                Err(RecvError::Lagged(_)) => {
                    if catch_up(&shared, &mut socket, &mut sent).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                // The client says nothing we act on; a close or an error ends it.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends every stored event after `*sent`, page by page, advancing `*sent`.
async fn catch_up(shared: &Shared, socket: &mut WebSocket, sent: &mut u64) -> Result<(), ()> {
    loop {
        let from = *sent;
        let page = match shared
            .with_store(move |s| Ok(s.events_since(from, PAGE)?))
            .await
        {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(error = ?err, "dashboard cannot read the event log");
                let _ = socket.send(Message::Close(None)).await;
                return Err(());
            }
        };
        let done = page.len() < PAGE;
        for event in &page {
            let frame = encode(event, &shared.redactor);
            send(socket, Message::Text(frame.json)).await?;
            *sent = frame.seq;
        }
        if done {
            return Ok(());
        }
    }
}

pub(crate) fn channel() -> broadcast::Sender<Frame> {
    broadcast::channel(FANOUT_CAPACITY).0
}
