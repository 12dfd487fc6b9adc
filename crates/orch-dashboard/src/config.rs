//! What a dashboard serves and to whom: the store, the address, the token and the hosts it
//! answers to; and what can go wrong before it serves anything.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The default port, as in the article.
pub const DEFAULT_PORT: u16 = 8765;

/// Shortest token accepted from a user: anything shorter is guessable over a network.
pub const MIN_TOKEN_LEN: usize = 16;

/// The per-run secret that unlocks answering (and, on a non-loopback address, reading).
///
/// `Debug` and `Display` never show it; [`Token::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh random token: 128 bits from the operating system's generator, as 32 hex
    /// digits.
    pub fn generate() -> Token {
        Token(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A token chosen by the user (`--token`, `ORCH_DASHBOARD_TOKEN`).
    pub fn new(value: impl Into<String>) -> Result<Token, DashboardError> {
        let value = value.into();
        let value = value.trim();
        if value.len() < MIN_TOKEN_LEN {
            return Err(DashboardError::WeakToken { len: value.len() });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        {
            return Err(DashboardError::TokenCharacters);
        }
        Ok(Token(value.to_owned()))
    }

    /// The secret itself, for the URL printed to the user who started the dashboard.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How a dashboard is set up. [`DashboardConfig::new`] gives the defaults: loopback, port
/// 8765, a generated token.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The store to show (`.orch/state.db`).
    pub store_path: PathBuf,
    /// The `.orch` directory: attempt logs and session records live under it.
    pub orch_dir: PathBuf,
    /// Address to bind; loopback unless the user asks otherwise.
    pub bind: IpAddr,
    /// Port; 0 lets the system pick a free one.
    pub port: u16,
    /// The per-run token.
    pub token: Token,
    /// Whether the user chose the token (required for a non-loopback address, so that the
    /// token is something they decided to share, not one that scrolled past in a terminal).
    pub token_from_user: bool,
    /// Extra `Host` header values to answer to (`dashboard.example:8765`), beyond the
    /// loopback names and the bound address.
    pub allowed_hosts: Vec<String>,
    /// How often the store's event log is polled for new events.
    pub poll_interval: Duration,
    /// WebSocket clients at once; more are refused with 503.
    pub max_clients: usize,
    /// Connections served at once; more wait to be accepted (default 1024).
    pub max_connections: usize,
    /// Time a new connection has to send its first complete request head (default 10 s):
    /// half-open connections are closed instead of piling up.
    pub head_timeout: Duration,
}

impl DashboardConfig {
    /// Defaults for the repository whose `.orch` directory is `orch_dir`.
    pub fn new(orch_dir: impl Into<PathBuf>) -> DashboardConfig {
        let orch_dir = orch_dir.into();
        DashboardConfig {
            store_path: orch_dir.join("state.db"),
            orch_dir,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            token: Token::generate(),
            token_from_user: false,
            allowed_hosts: Vec::new(),
            poll_interval: Duration::from_millis(25),
            max_clients: 512,
            max_connections: crate::conn::MAX_CONNECTIONS,
            head_timeout: crate::conn::HEAD_TIMEOUT,
        }
    }

    /// Uses this token instead of a generated one.
    pub fn with_token(mut self, token: Token) -> DashboardConfig {
        self.token = token;
        self.token_from_user = true;
        self
    }

    /// Whether reads need the token too: on any address other than loopback.
    pub fn reads_need_token(&self) -> bool {
        !self.bind.is_loopback()
    }

    /// Refuses setups that would expose the run: a non-loopback address without a token the
    /// user chose.
    pub fn validate(&self) -> Result<(), DashboardError> {
        if !self.bind.is_loopback() && !self.token_from_user {
            return Err(DashboardError::PublicWithoutToken { bind: self.bind });
        }
        if self.max_clients == 0 {
            return Err(DashboardError::Config(
                "max_clients must be at least 1".into(),
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(DashboardError::Config(
                "the poll interval must be above zero".into(),
            ));
        }
        for host in &self.allowed_hosts {
            if host.is_empty() || host.contains(['/', ' ', '@']) {
                return Err(DashboardError::Config(format!(
                    "allowed host `{host}` is not a host name"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

/// What stops a dashboard from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The port is taken.
    #[error(
        "{addr} is already in use (another dashboard or program listens there); pick another port with --port, or --port 0 for any free one"
    )]
    PortInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// Binding failed otherwise.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A non-loopback address without a chosen token.
    #[error(
        "binding {bind} exposes the dashboard beyond this machine; pass --token (or set ORCH_DASHBOARD_TOKEN) so that only people with it can read or answer"
    )]
    PublicWithoutToken {
        /// The address asked for.
        bind: IpAddr,
    },
    /// A user token that is too short.
    #[error("the token has {len} characters; use at least {MIN_TOKEN_LEN}")]
    WeakToken {
        /// Its length.
        len: usize,
    },
    /// A user token with characters that do not survive a URL.
    #[error("the token may only use letters, digits and - _ . ~")]
    TokenCharacters,
    /// Any other bad setting.
    #[error("{0}")]
    Config(String),
    /// The store could not be opened.
    #[error("cannot open the store")]
    Store(#[from] orch_store::StoreError),
    /// Serving failed.
    #[error("the dashboard server stopped: {0}")]
    Serve(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_distinct_and_hidden() {
        let (a, b) = (Token::generate(), Token::generate());
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 32);
        assert!(!format!("{a:?}").contains(a.expose()));
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(""));
    }

    #[test]
    fn user_tokens_must_be_long_and_url_safe() {
        assert!(matches!(
            Token::new("short"),
            Err(DashboardError::WeakToken { len: 5 })
        ));
        assert!(matches!(
            Token::new("has space in it and long"),
            Err(DashboardError::TokenCharacters)
        ));
        assert!(Token::new("abcdefghijklmnop").is_ok());
    }

    #[test]
    fn public_bind_needs_a_chosen_token() {
        let mut config = DashboardConfig::new("/tmp/x/.orch");
        assert!(config.validate().is_ok());
        assert!(!config.reads_need_token());
        config.bind = "0.0.0.0".parse().unwrap();
        assert!(matches!(
            config.validate(),
            Err(DashboardError::PublicWithoutToken { .. })
        ));
        let config = config.with_token(Token::new("0123456789abcdef").unwrap());
        assert!(config.validate().is_ok());
        assert!(config.reads_need_token());
    }
}
