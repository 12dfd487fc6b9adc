//! `orch remote serve` as a user starts it: refused without a platform or its secret,
//! then serving a signed Slack command over loopback; `orch pause` / `orch resume`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use crate::first_run::repo_with;
use crate::support::{ok, orch};

const PLAN: &str = r#"
name = "remote"
[[epic]]
id = "E"
name = "Epic"
[[task]]
id = "TASK-E-001"
title = "First"
epic = "E"
"#;

const BASE: &str = "[run]\nagent = \"custom\"\nagent_command = [\"true\"]\nbackend = \"process\"\n";

#[test]
fn remote_serve_needs_a_platform_and_its_secret_then_serves_signed_commands() {
    let repo = repo_with(BASE, PLAN);
    let dir = repo.path().to_owned();
    let none = orch(&dir, &["remote", "serve"]);
    assert_eq!(none.code, 5, "{}", none.transcript());
    assert!(
        none.stderr.contains("no platform is configured"),
        "{}",
        none.stderr
    );

    std::fs::write(
        dir.join(".orch/orch.toml"),
        format!("{BASE}\n[remote.slack]\nusers = [\"U0ME\"]\n"),
    )
    .unwrap();
    let unsigned = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args([
            "-C",
            dir.to_str().unwrap(),
            "remote",
            "serve",
            "--port",
            "0",
        ])
        .env_remove("ORCH_SLACK_SIGNING_SECRET")
        .output()
        .unwrap();
    assert_eq!(unsigned.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&unsigned.stderr).contains("ORCH_SLACK_SIGNING_SECRET"));

    let secret = "a-signing-secret-for-this-test";
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args([
            "-C",
            dir.to_str().unwrap(),
            "remote",
            "serve",
            "--port",
            "0",
        ])
        .env("ORCH_SLACK_SIGNING_SECRET", secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let base = loop {
        let line = lines.next().expect("it printed its address").unwrap();
        printed.push(line.clone());
        if let Some(url) = line.strip_prefix("orch remote on ") {
            break url.trim().to_owned();
        }
    };
    for _ in 0..3 {
        printed.push(lines.next().unwrap().unwrap());
    }
    assert!(
        printed.iter().any(|l| l.contains("POST /slack/commands")),
        "{printed:?}"
    );
    assert!(printed.iter().any(|l| l.contains("tunnel")), "{printed:?}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let send = |text: &str| {
        let body = format!(
            "user_id=U0ME&channel_id=C1&command=%2Forch&text={text}&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"
        );
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = orch_remote::slack_signature(secret.as_bytes(), &ts, body.as_bytes());
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{base}/slack/commands"))
                .header("x-slack-request-timestamp", ts)
                .header("x-slack-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    let (status, body) = send("status");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("done 0/1"), "{body}");
    let (status, body) = send("pause");
    assert_eq!(status, 200, "{body}");
    let _ = child.kill();
    let _ = child.wait();

    // The pause is in the store for any run; `orch resume` lifts it.
    let listed = ok(&dir, &["resume"]).stdout;
    assert!(listed.contains("Resumed"), "{listed}");
    ok(&dir, &["pause"]);
}
