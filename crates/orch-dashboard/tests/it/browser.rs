//! End to end in a real headless Chromium, driven over the W3C WebDriver protocol by
//! ChromeDriver (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them): the
//! page loads, follows a status change written to the store without a reload, and answers
//! a PM message with a click.

use std::time::{Duration, Instant};

use orch_core::TaskStatus;
use orch_escalation::{MessageState, PmMessage};
use serde_json::json;

use orch_testutils::webdriver::{Browser, browser_programs, start_driver};

use crate::support::{Repo, Server, id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_the_store_and_answers_by_click() {
    let Some((driver_program, chromium)) = browser_programs() else {
        return;
    };
    let repo = Repo::new().with_message();
    let server = Server::start(&repo).await;
    let driver = start_driver(&driver_program).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = Browser::open(&driver, &chromium, profile.path()).await;

    browser
        .go(&server.url(&format!("/#token={}", server.token)))
        .await;
    browser.wait_for_row("TASK-API-001", "ready").await;
    browser
        .wait_for(
            r#"return document.getElementById("conn").dataset.state;"#,
            json!("live"),
        )
        .await;
    // The token left the address bar once read.
    assert_eq!(browser.script("return location.hash;").await, json!(""));
    assert_eq!(
        browser
            .script(r#"return document.getElementById("plan-name").textContent;"#)
            .await,
        json!("shop")
    );

    // A status change written by another connection shows without a reload.
    browser.script("window.notReloaded = true; return 1;").await;
    repo.store()
        .transition(
            &id("TASK-API-001"),
            TaskStatus::Running,
            Some("agent started"),
        )
        .unwrap();
    browser.wait_for_row("TASK-API-001", "running").await;
    browser
        .wait_for(
            r#"return document.querySelector('.graph [data-node="TASK-API-001"]').dataset.status;"#,
            json!("running"),
        )
        .await;
    // The header follows from its own read, a moment later.
    browser
        .wait_for(
            r#"return document.getElementById("fig-active").textContent;"#,
            json!("1"),
        )
        .await;
    assert_eq!(
        browser.script("return window.notReloaded === true;").await,
        json!(true)
    );
    // The rest of the row (the attempt the move to running counts) came with a delta: the
    // whole list was read once, at the start.
    browser
        .wait_for(
            r#"return document.querySelector('tr[data-task="TASK-API-001"]').children[4].textContent;"#,
            json!("1"),
        )
        .await;
    let reads = browser
        .script(
            r#"return performance.getEntriesByType("resource").map((e) => new URL(e.name))
                 .filter((u) => u.pathname === "/api/tasks").map((u) => u.search);"#,
        )
        .await;
    let reads: Vec<&str> = reads
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        reads.iter().filter(|s| s.is_empty()).count(),
        1,
        "{reads:?}"
    );
    assert!(reads.iter().any(|s| s.starts_with("?since=")), "{reads:?}");

    // The PM message, answered by a click on option B.
    browser
        .wait_for(
            r#"const b = document.querySelector('[data-answer="PM-0001:B"]'); return !!b && !b.disabled;"#,
            json!(true),
        )
        .await;
    browser.click(r#"[data-answer="PM-0001:B"]"#).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let decided = loop {
        let stored: PmMessage = serde_json::from_str(&repo.message_json("PM-0001")).unwrap();
        if let MessageState::Decided { option, .. } = &stored.state {
            break option.letter();
        }
        assert!(
            Instant::now() < deadline,
            "never decided: {:?}",
            stored.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(decided, 'B');
    // The page shows the decision (through the feed: the message changed).
    browser
        .wait_for(
            r#"const m = document.querySelector('[data-message="PM-0001"]'); return m && m.dataset.state;"#,
            json!("decided"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_the_page_is_read_only() {
    let Some((driver_program, chromium)) = browser_programs() else {
        return;
    };
    let repo = Repo::new().with_message();
    let before = repo.message_json("PM-0001");
    let server = Server::start(&repo).await;
    let driver = start_driver(&driver_program).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = Browser::open(&driver, &chromium, profile.path()).await;
    browser.go(&server.url("/")).await;
    browser
        .wait_for(
            r#"const b = document.querySelector('[data-answer="PM-0001:A"]'); return !!b && b.disabled;"#,
            json!(true),
        )
        .await;
    let note = browser
        .script(r#"return document.getElementById("auth-note").textContent;"#)
        .await;
    assert!(note.as_str().unwrap().contains("read-only"), "{note}");
    browser.close().await;
    assert_eq!(repo.message_json("PM-0001"), before);
}
