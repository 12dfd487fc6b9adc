//! End to end in a real headless Chromium, driven over the W3C WebDriver protocol by
//! ChromeDriver (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them): the
//! page loads, follows a status change written to the store without a reload, and answers
//! a PM message with a click.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::TaskStatus;
use orch_escalation::{MessageState, PmMessage};
use serde_json::{Value, json};

use crate::support::{Repo, Server, client, id};

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// ChromeDriver and Chromium, or `None` with a notice (a panic when `CI` is set: CI
/// installs them and must run this test).
fn browser_programs() -> Option<(PathBuf, PathBuf)> {
    let driver = find_program(&["chromedriver"]);
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    match (driver, chromium) {
        (Some(d), Some(c)) => Some((d, c)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "chromium and chromedriver are required when CI is set (apt-get install chromium chromium-driver)"
            )
        }
        _ => {
            eprintln!(
                "notice: skipping the browser test: install chromium and chromium-driver to run it"
            );
            None
        }
    }
}

/// A ChromeDriver process, killed on drop.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver(program: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client()
            .get(format!("{}/status", driver.base))
            .send()
            .await
            .ok()
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if ready {
            return driver;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One browser session.
struct Browser {
    url: String,
}

impl Browser {
    async fn open(driver: &Driver, chromium: &Path, profile: &Path) -> Browser {
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let created = call(&format!("{}/session", driver.base), Some(caps)).await;
        let session = created["sessionId"].as_str().expect("a session id");
        Browser {
            url: format!("{}/session/{session}", driver.base),
        }
    }

    async fn go(&self, url: &str) {
        call(&format!("{}/url", self.url), Some(json!({ "url": url }))).await;
    }

    async fn script(&self, body: &str) -> Value {
        call(
            &format!("{}/execute/sync", self.url),
            Some(json!({ "script": body, "args": [] })),
        )
        .await
    }

    /// Polls `body` until it returns `want`, for up to 15 s.
    async fn wait_for(&self, body: &str, want: Value) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            last = self.script(body).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{body}` returned {last}, never {want}");
    }

    /// Waits until the task's row in the table shows `status`.
    async fn wait_for_row(&self, task: &str, status: &str) {
        let script = format!(
            r#"const r = document.querySelector('tr[data-task="{task}"]'); return r && r.dataset.status;"#
        );
        self.wait_for(&script, json!(status)).await;
    }

    async fn click(&self, css: &str) {
        let found = call(
            &format!("{}/element", self.url),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await;
        let element = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        call(
            &format!("{}/element/{element}/click", self.url),
            Some(json!({})),
        )
        .await;
    }

    async fn close(self) {
        let _ = client().delete(&self.url).send().await;
    }
}

/// One WebDriver command; its `value`.
async fn call(url: &str, body: Option<Value>) -> Value {
    let request = match body {
        Some(body) => client().post(url).json(&body),
        None => client().get(url),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status}: {value}");
    value["value"].clone()
}

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
