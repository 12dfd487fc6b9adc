//! Binding rules: a port in use, a public address without a token, reads behind the token
//! on a public address, extra host names.

use orch_dashboard::{Dashboard, DashboardConfig, DashboardError};

use crate::support::{Repo, Server, client, user_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_a_clear_error() {
    let repo = Repo::new();
    let first = Server::start(&repo).await;
    let mut config = DashboardConfig::new(repo.orch_dir());
    config.port = first.addr.port();
    let err = Dashboard::bind(config).unwrap_err();
    assert!(matches!(err, DashboardError::PortInUse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("already in use") && text.contains("--port 0"),
        "{text}"
    );
}

#[test]
fn a_public_address_needs_a_chosen_token_and_a_repository() {
    let repo = Repo::new();
    let mut config = DashboardConfig::new(repo.orch_dir());
    config.bind = "0.0.0.0".parse().unwrap();
    config.port = 0;
    let err = Dashboard::bind(config).unwrap_err();
    assert!(
        matches!(err, DashboardError::PublicWithoutToken { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--token"));

    let empty = tempfile::tempdir().unwrap();
    let mut config = DashboardConfig::new(empty.path().join(".orch"));
    config.port = 0;
    let err = Dashboard::bind(config).unwrap_err();
    assert!(matches!(err, DashboardError::Store(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_public_address_every_read_needs_the_token() {
    let repo = Repo::new();
    let mut config = DashboardConfig::new(repo.orch_dir()).with_token(user_token());
    config.bind = "0.0.0.0".parse().unwrap();
    config.port = 0;
    let server = Server::start_with(config).await;
    let token = user_token().expose().to_owned();

    let response = client().get(server.url("/api/state")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = client()
        .get(server.url("/api/state"))
        .bearer_auth("wrong-wrong-wrong-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = client()
        .get(server.url("/api/state"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The page itself holds no data and loads; it then asks for the token.
    let response = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);

    match tokio_tungstenite::connect_async(server.ws_url("?after=0")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    let (_, response) =
        tokio_tungstenite::connect_async(server.ws_url(&format!("?after=0&token={token}")))
            .await
            .unwrap();
    assert_eq!(response.status().as_u16(), 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_host_names_are_answered_when_allowed() {
    let repo = Repo::new();
    let mut config = DashboardConfig::new(repo.orch_dir());
    config.port = 0;
    config.allowed_hosts = vec!["orch.lan".into()];
    let server = Server::start_with(config).await;
    let port = server.addr.port();
    for (host, want) in [
        (format!("orch.lan:{port}"), 200),
        (format!("localhost:{port}"), 200),
        (format!("other.lan:{port}"), 403),
        (format!("127.0.0.1:{}", port.wrapping_add(1)), 403),
    ] {
        let response = client()
            .get(server.url("/api/state"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), want, "{host}");
    }
}

/// Half-open connections (connected, sending nothing or a header that never ends) are
/// closed after the head timeout, and never more than `max_connections` are served at once:
/// a flood of them cannot keep the dashboard from answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_cannot_silence_the_dashboard() {
    use tokio::io::AsyncWriteExt;

    let repo = Repo::new();
    let mut config = DashboardConfig::new(repo.orch_dir());
    config.port = 0;
    config.max_connections = 16;
    config.head_timeout = std::time::Duration::from_secs(1);
    let server = Server::start_with(config).await;
    // Fill every place: silent connections and ones trickling a header forever.
    let mut idle = Vec::new();
    for i in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 0 {
            let _ = stream
                .write_all(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await;
        }
        idle.push(stream);
    }
    let trickler = {
        let addr = server.addr;
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            for _ in 0..100 {
                if stream.write_all(b"X-Slow: y\r\n").await.is_err() {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            false
        })
    };
    let started = std::time::Instant::now();
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        client().get(server.url("/api/state")).send(),
    )
    .await
    .expect("the dashboard answered while flooded")
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered only after {:?}",
        started.elapsed()
    );
    assert!(trickler.await.unwrap(), "a trickling header was cut off");
    drop(idle);
}
