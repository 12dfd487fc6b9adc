//! `orch dashboard`: it serves the repository's store, and refuses bad setups with a
//! specific message and exit code before listening.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use orch_core::exit_code;

use crate::support::{orch, with_example_plan};

#[test]
fn bad_setups_are_refused_before_listening() {
    let repo = with_example_plan();
    let dir = repo.path();

    let public = orch(dir, &["dashboard", "--bind", "0.0.0.0", "--port", "0"]);
    assert_eq!(public.code, exit_code::USAGE, "{}", public.transcript());
    assert!(public.stderr.contains("--token"), "{}", public.transcript());

    let weak = orch(dir, &["dashboard", "--port", "0", "--token", "hunter2"]);
    assert_eq!(weak.code, exit_code::USAGE, "{}", weak.transcript());
    assert!(weak.stderr.contains("at least 16"), "{}", weak.transcript());
    assert!(
        !weak.stderr.contains("hunter2"),
        "the token is never echoed"
    );

    let bad_addr = orch(dir, &["dashboard", "--bind", "localhost:80"]);
    assert_eq!(bad_addr.code, exit_code::USAGE, "{}", bad_addr.transcript());

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let in_use = orch(dir, &["dashboard", "--port", &port]);
    assert_eq!(in_use.code, exit_code::CONFLICT, "{}", in_use.transcript());
    assert!(
        in_use.stderr.contains("already in use"),
        "{}",
        in_use.transcript()
    );

    let orphan = orch(dir, &["run", "--dashboard-port", "9000"]);
    assert_eq!(orphan.code, exit_code::USAGE, "{}", orphan.transcript());

    let bare = orch_testutils::TempRepo::new();
    let uninitialised = orch(bare.path(), &["dashboard", "--port", "0"]);
    assert_eq!(
        uninitialised.code,
        exit_code::NOT_INITIALIZED,
        "{}",
        uninitialised.transcript()
    );
}

/// The base address and the token of the first URL with a token that `lines` show.
fn dashboard_url(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> (String, String) {
    let url = lines
        .map_while(Result::ok)
        .find_map(|line| {
            line.split_whitespace()
                .find(|w| w.contains("#token="))
                .map(str::to_owned)
        })
        .expect("a URL with the token");
    let (base, token) = url.split_once("/#token=").unwrap();
    (base.to_owned(), token.to_owned())
}

async fn get_state(client: &reqwest::Client, base: &str) -> serde_json::Value {
    let response = client.get(format!("{base}/api/state")).send().await;
    response.unwrap().json().await.unwrap()
}

#[test]
fn serves_the_store_and_prints_the_url_with_its_token() {
    let repo = with_example_plan();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(repo.path())
        .args(["dashboard", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (base, token) = dashboard_url(&mut lines);
    assert_eq!(token.len(), 32);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (state, auth) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let state = get_state(&client, &base).await;
        let auth = client
            .get(format!("{base}/api/auth"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (state, auth)
    });
    assert_eq!(state["plan"]["name"], "notes-webapp", "{state}");
    assert_eq!(auth, 204);
    // Ctrl-C stops it cleanly.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_serves_the_dashboard_beside_the_run() {
    let repo = orch_testutils::TempRepo::new();
    crate::support::ok(repo.path(), &["init"]);
    let plan = repo.temp_dir().join("plan.toml");
    std::fs::write(&plan, crate::run::plan_toml(&[("TASK-E-001", &[])])).unwrap();
    crate::support::ok(repo.path(), &["plan", "import", plan.to_str().unwrap()]);
    let path = crate::run::path_with_fake_claude(repo.temp_dir());
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(repo.path())
        .args(["run", "--agent", "claude", "--no-gate", "--dashboard"])
        .args(["--dashboard-port", "0"])
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (base, _) = dashboard_url(&mut lines);
    // Keep draining stderr so the run never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).count());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let state = get_state(&client, &base).await;
            if !state["run"].is_null() {
                return state["run"].clone();
            }
            assert!(std::time::Instant::now() < deadline, "no run: {state}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    assert_eq!(run["agent"], "claude", "{run}");
    let status = child.wait().unwrap();
    drain.join().unwrap();
    assert!(status.success(), "{status:?}");
    // The dashboard ends with the run.
    assert!(
        std::net::TcpStream::connect(base.trim_start_matches("http://").trim_end_matches('/'))
            .is_err()
    );
}
