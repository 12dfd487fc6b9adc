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
