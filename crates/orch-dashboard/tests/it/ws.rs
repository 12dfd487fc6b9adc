//! The live feed: events appended by another task or another process reach WebSocket
//! clients in order, and a client that reconnects with the last `seq` it saw gets the rest
//! with no gap and no duplicate.

use std::time::Duration;

use futures_util::StreamExt;
use orch_core::Event;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Repo, Server};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &Server, query: &str) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(server.ws_url(query))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// The next event frame, skipping pings; panics after 20 s of silence.
async fn next_event(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("an event within 20 s")
            .expect("the socket is open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

fn marker(n: u64) -> Event {
    Event::LeaseReleased {
        owner: format!("writer-{n}"),
    }
}

/// Appends `count` marker events from a blocking thread, `pause` apart.
fn spawn_writer(repo: &Repo, count: u64, pause: Duration) -> tokio::task::JoinHandle<()> {
    let db = repo.db();
    tokio::task::spawn_blocking(move || {
        let mut store = orch_store::Store::open(&db).unwrap();
        for n in 0..count {
            store.append_event(&marker(n)).unwrap();
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
    })
}

fn owner(event: &Value) -> &str {
    event["event"]["owner"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_by_another_task_arrive_live_and_in_order() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    // Without `after`, only what happens from now on.
    let mut socket = connect(&server, "").await;
    let base = repo.store().last_event_seq().unwrap();
    let writer = spawn_writer(&repo, 200, Duration::from_millis(1));
    for n in 0..200 {
        let event = next_event(&mut socket).await;
        assert_eq!(event["seq"], base + 1 + n, "{event}");
        assert_eq!(owner(&event), format!("writer-{n}"));
        assert!(event["at"].is_string());
    }
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resumes_from_any_seq_including_history() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let total = repo.store().last_event_seq().unwrap();
    assert!(total >= 2);
    let mut socket = connect(&server, "?after=0").await;
    for seq in 1..=total {
        assert_eq!(next_event(&mut socket).await["seq"], seq);
    }
    let mut socket = connect(&server, &format!("?after={}", total - 1)).await;
    assert_eq!(next_event(&mut socket).await["seq"], total);

    // A bad `after` is refused before the upgrade.
    let err = tokio_tungstenite::connect_async(server.ws_url("?after=yesterday"))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status().as_u16(), 400)
        }
        other => panic!("expected a 400, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_while_events_stream_loses_and_repeats_nothing() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let base = repo.store().last_event_seq().unwrap();
    const TOTAL: u64 = 1500;
    let writer = spawn_writer(&repo, TOTAL, Duration::from_micros(300));
    let mut seen: Vec<u64> = Vec::new();
    let mut last = base;
    // Read a varying number of events, hang up, come back with the last seq seen.
    for chunk in [1u64, 37, 250, 3, 400].into_iter().cycle() {
        let mut socket = connect(&server, &format!("?after={last}")).await;
        for _ in 0..chunk {
            if last == base + TOTAL {
                break;
            }
            let event = next_event(&mut socket).await;
            last = event["seq"].as_u64().unwrap();
            seen.push(last);
        }
        drop(socket);
        if last == base + TOTAL {
            break;
        }
    }
    writer.await.unwrap();
    let want: Vec<u64> = (base + 1..=base + TOTAL).collect();
    assert_eq!(seen.len(), want.len(), "duplicates or gaps");
    assert_eq!(seen, want);
}

/// Run by [`events_from_another_process_reach_the_page`] in a child process: appends
/// events to the store named by `ORCH_DASHBOARD_WRITER_DB`.
#[test]
#[ignore = "helper: run as a separate writer process by the cross-process test"]
fn writer_process() {
    let db = std::env::var("ORCH_DASHBOARD_WRITER_DB").expect("the store to write");
    let mut store = orch_store::Store::open_existing(std::path::Path::new(&db)).unwrap();
    for n in 0..100 {
        store.append_event(&marker(n)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_another_process_reach_the_page() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let base = repo.store().last_event_seq().unwrap();
    let mut socket = connect(&server, &format!("?after={base}")).await;
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ws::writer_process", "--ignored", "--quiet"])
        .env("ORCH_DASHBOARD_WRITER_DB", repo.db())
        .kill_on_drop(true)
        .status();
    let reader = async {
        let mut got = Vec::new();
        for _ in 0..100 {
            got.push(next_event(&mut socket).await);
        }
        got
    };
    let (status, got) = tokio::join!(status, reader);
    assert!(status.unwrap().success());
    for (n, event) in got.iter().enumerate() {
        assert_eq!(event["seq"], base + 1 + n as u64);
        assert_eq!(owner(event), format!("writer-{n}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_cannot_open_the_feed() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws_url("?after=0"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403)
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_clients_are_bounded_and_a_closed_one_frees_its_place() {
    let repo = Repo::new();
    let mut config = orch_dashboard::DashboardConfig::new(repo.orch_dir());
    config.port = 0;
    config.max_clients = 2;
    let server = Server::start_with(config).await;
    let first = connect(&server, "").await;
    let _second = connect(&server, "").await;
    match tokio_tungstenite::connect_async(server.ws_url("")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected a 503, got {:?}", other.map(|_| ())),
    }
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio_tungstenite::connect_async(server.ws_url("")).await {
            Ok(_) => break,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("the closed client's place was never freed: {e}"),
        }
    }
}
