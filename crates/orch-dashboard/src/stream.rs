//! JSON answers written a chunk at a time, so that a big one (the task list of a plan of many
//! thousand tasks) never exists whole in memory: each chunk is read from the store, encoded,
//! redacted and sent before the next is read, and a client that reads slowly holds back the
//! reading instead of making it pile up.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use orch_store::Store;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::redact::Redactor;
use crate::server::Shared;

/// Marks a response whose body was redacted chunk by chunk: the redacting middleware, which
/// would read the whole body to redact it, lets it through as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redacted;

/// Chunks in flight between the reading task and the connection: the reader stays at most
/// this far ahead of the client.
const IN_FLIGHT: usize = 2;

/// Makes one element of a streamed array (or none) from one item, on the store's thread.
pub(crate) type Render<T> = fn(&Store, &Redactor, T) -> Result<Option<Bytes>, ApiError>;

/// A `200 application/json` answer of `head`, the elements `render` makes of `items` (each
/// read on the store's thread; `None` leaves one out) separated by commas, and `tail`.
///
/// Everything that can be refused must be checked before: once the head is sent the status
/// is too. A store failure later cuts the body short, which a client sees as a broken
/// answer, never as a complete wrong one.
pub(crate) fn json_array<T: Send + 'static>(
    shared: Arc<Shared>,
    head: String,
    items: Vec<T>,
    render: Render<T>,
    tail: &'static str,
) -> Response {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
    tokio::spawn(async move {
        if tx.send(Ok(head.into())).await.is_err() {
            return;
        }
        let mut first = true;
        for item in items {
            let reader = Arc::clone(&shared);
            let chunk = shared
                .with_store(move |s| render(s, &reader.redactor, item))
                .await;
            let chunk = match chunk {
                Ok(Some(chunk)) => chunk,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(error = ?err, "a streamed answer was cut short");
                    let _ = tx
                        .send(Err(std::io::Error::other("store read failed")))
                        .await;
                    return;
                }
            };
            if !first && tx.send(Ok(Bytes::from_static(b","))).await.is_err() {
                return;
            }
            first = false;
            if tx.send(Ok(chunk)).await.is_err() {
                return; // The client left.
            }
        }
        let _ = tx.send(Ok(Bytes::from_static(tail.as_bytes()))).await;
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(Redacted);
    response
}

/// `value` as JSON with its secrets redacted, by the same [`Redactor::redact`] as every other
/// answer.
pub(crate) fn redacted<T: Serialize>(value: &T, redactor: &Redactor) -> Result<Bytes, ApiError> {
    let json = serde_json::to_string(value)
        .map_err(|_| ApiError::internal("an answer could not be encoded"))?;
    let changed = match redactor.redact(&json) {
        Cow::Borrowed(_) => None,
        Cow::Owned(clean) => Some(clean),
    };
    Ok(changed.unwrap_or(json).into())
}

/// The elements of `items` as JSON, comma-separated, without the brackets of the array:
/// redacted as one document (a JSON array) and then opened.
pub(crate) fn redacted_elements<T: Serialize>(
    items: &[T],
    redactor: &Redactor,
) -> Result<Option<Bytes>, ApiError> {
    if items.is_empty() {
        return Ok(None);
    }
    let array = redacted(&items, redactor)?;
    // Both the encoder and the redactor write an array as `[…]`, nothing around it.
    Ok(Some(array.slice(1..array.len() - 1)))
}
