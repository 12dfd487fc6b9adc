//! Connections under bounds: at most [`MAX_CONNECTIONS`] at once (the next waits for a free
//! place instead of being accepted), and a connection must deliver its first request head
//! within [`HEAD_TIMEOUT`] or it is closed. Half-open connections (a client that connects
//! and never sends anything, or trickles a header forever) can no longer stop the
//! dashboard from answering; after the first request (or a WebSocket upgrade) the connection
//! lives as long as it is used.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// Time a new connection has to send its first complete request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener handing out [`Guarded`] connections.
pub(crate) struct GuardedListener {
    inner: TcpListener,
    places: Arc<Semaphore>,
    head_timeout: Duration,
}

impl GuardedListener {
    pub(crate) fn new(inner: TcpListener, max: usize, head_timeout: Duration) -> GuardedListener {
        GuardedListener {
            inner,
            places: Arc::new(Semaphore::new(max.max(1))),
            head_timeout,
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        loop {
            let place = Arc::clone(&self.places)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (Guarded::new(stream, place, self.head_timeout), addr);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection holding its place until dropped, closed if its first request head is not
/// complete in time.
pub(crate) struct Guarded {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
    /// Until the first head is complete.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// How much of `\r\n\r\n` was seen last.
    matched: usize,
}

impl Guarded {
    fn new(stream: TcpStream, place: OwnedSemaphorePermit, timeout: Duration) -> Guarded {
        Guarded {
            stream,
            _place: place,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            matched: 0,
        }
    }

    /// Follows the bytes read until the end of the first head (`\r\n\r\n`).
    fn scan(&mut self, bytes: &[u8]) {
        const END: &[u8] = b"\r\n\r\n";
        for &b in bytes {
            self.matched = if b == END[self.matched] {
                self.matched + 1
            } else if b == END[0] {
                1
            } else {
                0
            };
            if self.matched == END.len() {
                self.deadline = None;
                return;
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request head in time",
            )));
        }
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.deadline.is_some() && matches!(polled, Poll::Ready(Ok(()))) {
            let fresh = buf.filled()[before..].to_vec();
            this.scan(&fresh);
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
