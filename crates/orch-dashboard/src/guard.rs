//! Who may ask what: the `Host` check against DNS rebinding, the `Origin` check against
//! cross-site requests, the token for answering (and for everything on a public address),
//! and the headers that keep the page from being framed or sniffed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{DashboardConfig, Token};
use crate::error::ApiError;

/// The access rules of one running dashboard.
#[derive(Debug)]
pub(crate) struct Access {
    /// `host:port` values (lower case) the server answers to.
    hosts: Vec<String>,
    token: Token,
    reads_need_token: bool,
}

impl Access {
    pub(crate) fn new(config: &DashboardConfig, bound: SocketAddr) -> Access {
        let port = bound.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        // The bound address itself (127.0.0.2, a LAN address…): the URL orch prints for it
        // must be answered.
        if !bound.ip().is_unspecified() {
            let own = bound.to_string();
            if !hosts.contains(&own) {
                hosts.push(own);
            }
        }
        for host in &config.allowed_hosts {
            let host = host.to_ascii_lowercase();
            // A bare name gets the port; `name:port` and `[v6]:port` are kept.
            let has_port = host.rsplit_once(':').is_some_and(|(_, p)| {
                p.parse::<u16>().is_ok() && (!host.starts_with('[') || host.contains("]:"))
            });
            hosts.push(if has_port {
                host
            } else {
                format!("{host}:{port}")
            });
        }
        Access {
            hosts,
            token: config.token.clone(),
            reads_need_token: config.reads_need_token(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether the request carries the token: `Authorization: Bearer …`, or `?token=` on
    /// the WebSocket (browsers cannot set headers there).
    fn has_token(&self, headers: &HeaderMap, query: Option<&str>) -> TokenCheck {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let from_query = query.and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .map(str::to_owned)
        });
        match bearer.map(str::to_owned).or(from_query) {
            None => TokenCheck::Missing,
            Some(given) if self.token.matches(given.trim()) => TokenCheck::Valid,
            Some(_) => TokenCheck::Wrong,
        }
    }
}

enum TokenCheck {
    Missing,
    Wrong,
    Valid,
}

/// Applies [`Access`] to every request, then adds the security headers to every response.
pub(crate) async fn guard(
    State(access): State<Arc<Access>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refused) = check(&access, &request) {
        return with_security_headers(refused.into_response());
    }
    with_security_headers(next.run(request).await)
}

fn check(access: &Access, request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("the request has no Host header"))?;
    if !access.host_allowed(host) {
        return Err(ApiError::forbidden(
            "host_not_allowed",
            format!(
                "this dashboard does not answer to Host `{host}` (DNS rebinding protection); start it with --allow-host to add a name"
            ),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")));
        if !same {
            return Err(ApiError::forbidden(
                "cross_origin",
                "cross-origin requests are refused",
            ));
        }
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(ApiError::forbidden(
            "cross_origin",
            "cross-site requests are refused",
        ));
    }
    let path = request.uri().path();
    let is_data = path.starts_with("/api/") || path == "/ws";
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if writes || (is_data && access.reads_need_token) {
        let query = (path == "/ws").then(|| request.uri().query()).flatten();
        match access.has_token(headers, query) {
            TokenCheck::Valid => {}
            TokenCheck::Missing => {
                return Err(ApiError::unauthorized(if writes {
                    "answering needs the dashboard token: open the URL `orch dashboard` printed, or send `Authorization: Bearer <token>`"
                } else {
                    "this dashboard listens beyond loopback and needs its token for every request"
                }));
            }
            TokenCheck::Wrong => {
                return Err(ApiError::unauthorized("the token is wrong"));
            }
        }
    }
    Ok(())
}

/// `GET /api/auth`: 204 when the token is right (the page uses it to enable answering).
pub(crate) async fn auth_probe(
    State(access): State<Arc<Access>>,
    headers: HeaderMap,
) -> Result<axum::http::StatusCode, ApiError> {
    match access.has_token(&headers, None) {
        TokenCheck::Valid => Ok(axum::http::StatusCode::NO_CONTENT),
        TokenCheck::Missing => Err(ApiError::unauthorized("no token given")),
        TokenCheck::Wrong => Err(ApiError::unauthorized("the token is wrong")),
    }
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(bind: &str, extra: &[&str]) -> Access {
        let mut config = DashboardConfig::new("/tmp/.orch");
        config.allowed_hosts = extra.iter().map(|s| s.to_string()).collect();
        Access::new(&config, bind.parse().unwrap())
    }

    #[test]
    fn loopback_names_and_extra_hosts_with_the_bound_port() {
        let a = access("127.0.0.1:8765", &["Orch.Example", "other:9000"]);
        assert!(a.host_allowed("127.0.0.1:8765"));
        assert!(a.host_allowed("LOCALHOST:8765"));
        assert!(a.host_allowed("[::1]:8765"));
        assert!(a.host_allowed("orch.example:8765"));
        assert!(a.host_allowed("other:9000"));
        assert!(!a.host_allowed("127.0.0.1:8766"));
        assert!(!a.host_allowed("evil.example:8765"));
        assert!(!a.host_allowed("localhost"));
        // Another loopback address it is bound to answers under that address.
        let b = access("127.0.0.2:8765", &[]);
        assert!(b.host_allowed("127.0.0.2:8765"));
        assert!(b.host_allowed("127.0.0.1:8765"));
        assert!(!b.host_allowed("127.0.0.3:8765"));
    }

    #[test]
    fn a_specific_public_address_answers_to_itself() {
        let a = access("192.168.1.5:8765", &[]);
        assert!(a.host_allowed("192.168.1.5:8765"));
        let any = access("0.0.0.0:8765", &[]);
        assert!(!any.host_allowed("0.0.0.0:8765"));
    }
}
