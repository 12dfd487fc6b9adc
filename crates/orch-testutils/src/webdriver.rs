//! A W3C WebDriver client for browser tests: ChromeDriver driving a real headless
//! Chromium (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

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
pub fn browser_programs() -> Option<(PathBuf, PathBuf)> {
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
#[derive(Debug)]
pub struct Driver {
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

/// Starts ChromeDriver on a free port and waits (up to 20 s) until it answers.
pub async fn start_driver(program: &Path) -> Driver {
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
#[derive(Debug)]
pub struct Browser {
    url: String,
}

impl Browser {
    /// A new headless Chromium session with its own profile directory.
    pub async fn open(driver: &Driver, chromium: &Path, profile: &Path) -> Browser {
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

    /// Navigates to `url`.
    pub async fn go(&self, url: &str) {
        call(&format!("{}/url", self.url), Some(json!({ "url": url }))).await;
    }

    /// Runs `body` as a synchronous script and returns its value.
    pub async fn script(&self, body: &str) -> Value {
        call(
            &format!("{}/execute/sync", self.url),
            Some(json!({ "script": body, "args": [] })),
        )
        .await
    }

    /// Polls `body` until it returns `want`, for up to 15 s.
    pub async fn wait_for(&self, body: &str, want: Value) {
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

    /// Waits until the task's row in the dashboard's table shows `status`.
    pub async fn wait_for_row(&self, task: &str, status: &str) {
        let script = format!(
            r#"const r = document.querySelector('tr[data-task="{task}"]'); return r && r.dataset.status;"#
        );
        self.wait_for(&script, json!(status)).await;
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
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

    /// Types `text` into the element `css` (a text field).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        call(
            &format!("{}/element/{element}/value", self.url),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = call(
            &format!("{}/element", self.url),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = client().delete(&self.url).send().await;
    }
}

/// One WebDriver command; its `value`.
pub async fn call(url: &str, body: Option<Value>) -> Value {
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
