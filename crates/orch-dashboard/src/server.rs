//! [`Dashboard`]: binds, then serves the page, the REST API and the live feed until told to
//! stop.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use orch_session::Sessions;
use orch_store::Store;
use tokio::sync::broadcast;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};

use crate::config::{DashboardConfig, DashboardError, Token};
use crate::error::ApiError;
use crate::feed::{self, Frame};
use crate::guard::{self, Access};
use crate::redact::Redactor;
use crate::stream::Redacted;
use crate::views::QualityCache;
use crate::{api, assets, review, tasks};

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    store: Arc<Mutex<Store>>,
    pub(crate) fanout: broadcast::Sender<Frame>,
    pub(crate) sessions: Sessions,
    pub(crate) redactor: Redactor,
    /// One permit per WebSocket client.
    pub(crate) clients: Arc<tokio::sync::Semaphore>,
    /// The `.orch` directory (the repository is its parent): reviews read diffs there.
    pub(crate) orch_dir: std::path::PathBuf,
    /// The task list's quality scores, read once per change of the event log.
    pub(crate) qualities: QualityCache,
}

impl Shared {
    /// Runs `f` on the store (reads, and the answer's write) on a blocking thread: SQLite
    /// calls block.
    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| ApiError::internal("the store lock is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|_| ApiError::internal("a store read panicked"))?
    }
}

/// A dashboard bound to its address, ready to [`Dashboard::serve`].
///
/// Binding and serving are separate so that a caller learns the address (and a port in use)
/// before anything runs, and can print the URL first.
#[derive(Debug)]
pub struct Dashboard {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    config: DashboardConfig,
    store: Store,
}

impl Dashboard {
    /// Checks the setup, opens the store and binds the address.
    pub fn bind(config: DashboardConfig) -> Result<Dashboard, DashboardError> {
        config.validate()?;
        let store = Store::open_existing(&config.store_path)?;
        let wanted = config.socket_addr();
        let listener = std::net::TcpListener::bind(wanted).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                DashboardError::PortInUse { addr: wanted }
            } else {
                DashboardError::Bind {
                    addr: wanted,
                    source,
                }
            }
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| DashboardError::Bind {
                addr: wanted,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DashboardError::Bind {
                addr: wanted,
                source,
            })?;
        Ok(Dashboard {
            listener,
            addr,
            config,
            store,
        })
    }

    /// The address it listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address to open without the token: read-only on loopback.
    pub fn read_only_url(&self) -> String {
        format!("http://{}/", browsable(self.addr))
    }

    /// The address with the token in its fragment: the page reads it from there, and a
    /// fragment is never sent to a server, logged by a proxy or passed on as a referrer.
    pub fn url(&self) -> String {
        format!(
            "{}#token={}",
            self.read_only_url(),
            self.config.token.expose()
        )
    }

    /// The token (to hand to scripts that answer messages).
    pub fn token(&self) -> &Token {
        &self.config.token
    }

    /// Serves until `shutdown` completes. Needs a Tokio runtime with I/O and time enabled.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DashboardError> {
        let Dashboard {
            listener,
            addr,
            config,
            store,
        } = self;
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(DashboardError::Serve)?;
        let cursor = store.last_event_seq()?;
        let shared = Arc::new(Shared {
            store: Arc::new(Mutex::new(store)),
            fanout: feed::channel(),
            sessions: Sessions::open(&config.orch_dir),
            redactor: Redactor::from_env([config.token.expose().to_owned()]),
            clients: Arc::new(tokio::sync::Semaphore::new(config.max_clients)),
            orch_dir: config.orch_dir.clone(),
            qualities: QualityCache::default(),
        });
        let access = Arc::new(Access::new(&config, addr));
        let poller = tokio::spawn(feed::poll(
            Arc::clone(&shared),
            cursor,
            config.poll_interval,
        ));
        let app = router(shared, access);
        let listener = crate::conn::GuardedListener::new(
            listener,
            config.max_connections,
            config.head_timeout,
        );
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(DashboardError::Serve);
        poller.abort();
        served
    }
}

/// The address a browser on this machine opens: a dashboard listening on every address is
/// reached on loopback of the same family.
fn browsable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

fn router(shared: Arc<Shared>, access: Arc<Access>) -> Router {
    let api = Router::new()
        .route("/api/state", get(api::state))
        .route("/api/tasks", get(tasks::tasks))
        .route("/api/tasks/{id}", get(api::task))
        .route("/api/tasks/{id}/log", get(api::task_log))
        .route("/api/sessions", get(api::sessions))
        .route("/api/messages", get(api::messages))
        .route("/api/messages/{id}", get(api::message))
        .route("/api/messages/{id}/answer", post(api::answer))
        .route("/api/reviews", get(review::list))
        .route(
            "/api/reviews/{task}",
            get(review::show).post(review::decide),
        )
        .route("/api/events", get(api::events))
        .route("/ws", get(api::websocket))
        .route("/api/{*rest}", get(api::no_such_endpoint))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            redact_responses,
        ))
        .with_state(shared);
    Router::new()
        .route("/api/auth", get(guard::auth_probe))
        .with_state(Arc::clone(&access))
        .merge(api)
        .merge(assets::routes())
        .layer(axum::middleware::from_fn_with_state(access, guard::guard))
        .layer(compression())
}

/// gzip for every answer whose client accepts it (`Accept-Encoding`), big ones being the
/// point: the task list of a large plan shrinks about tenfold. Outermost, so that it
/// compresses what was redacted; never a protocol switch (the WebSocket upgrade has no body
/// to compress, and is left exactly as it is).
fn compression() -> CompressionLayer<impl Predicate> {
    let not_upgrade = |status: StatusCode, _: Version, _: &HeaderMap, _: &Extensions| {
        status != StatusCode::SWITCHING_PROTOCOLS
    };
    CompressionLayer::new().compress_when(DefaultPredicate::new().and(not_upgrade))
}

/// Largest API response passed through the redactor whole. The biggest, the task list, is
/// streamed instead and redacted as it is written.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Passes every JSON response through the [`Redactor`], but for those already redacted
/// chunk by chunk as they were written ([`Redacted`]).
async fn redact_responses(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<Redacted>().is_some() {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await else {
        return ApiError::internal("the response was too large to send").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    // Nothing to redact (the usual case): the bytes read go out, not a copy of them.
    let body = match shared.redactor.redact(&text) {
        Cow::Owned(clean) => Body::from(clean),
        Cow::Borrowed(_) if matches!(text, Cow::Borrowed(_)) => Body::from(bytes.clone()),
        Cow::Borrowed(lossy) => Body::from(lossy.to_owned()),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_an_address_a_browser_can_open() {
        let cases = [
            ("127.0.0.1:8765", "127.0.0.1:8765"),
            ("0.0.0.0:8765", "127.0.0.1:8765"),
            ("[::]:8765", "[::1]:8765"),
            ("[::1]:9000", "[::1]:9000"),
            ("192.168.1.5:8765", "192.168.1.5:8765"),
        ];
        for (bound, want) in cases {
            assert_eq!(
                browsable(bound.parse().unwrap()).to_string(),
                want,
                "{bound}"
            );
        }
    }
}
