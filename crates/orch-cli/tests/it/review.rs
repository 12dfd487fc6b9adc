//! Review before merge from a user's seat (issue #19): a run with `review = "human"` stops
//! at verified work; one task is approved with `orch review approve`, the other rejected
//! from the dashboard in a real browser; the next run merges the first and runs the second
//! again with the reviewer's note in its instructions.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orch_testutils::webdriver::{Browser, browser_programs, start_driver};
use serde_json::{Value, json};

use crate::first_run::{orch_within, repo_with};
use crate::support::{ok, orch};

const CONFIG: &str = "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"echo attempt >> work-{task}.txt\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\nreview = \"human\"\n";

const PLAN: &str = r#"
name = "reviewed"
[[epic]]
id = "E"
name = "Epic"
[[task]]
id = "TASK-E-001"
title = "First"
epic = "E"
[[task]]
id = "TASK-E-002"
title = "Second"
epic = "E"
"#;

const NOTE: &str = "Write the greeting in French, and add a test.";
const TOKEN: &str = "review-test-token-0123456789";

/// `orch dashboard` on a free port; killed on drop.
struct DashboardProcess {
    child: Child,
    url: String,
}

impl Drop for DashboardProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dashboard(dir: &std::path::Path) -> DashboardProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(dir)
        .args(["dashboard", "--port", "0", "--token", TOKEN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the dashboard printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("orch dashboard on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep reading so the pipe never fills.
    std::thread::spawn(move || for _ in lines {});
    DashboardProcess {
        child,
        url: format!("http://{addr}"),
    }
}

fn reviews(dir: &std::path::Path) -> Vec<Value> {
    let listed = ok(dir, &["review", "list", "--all", "--json"]).stdout;
    serde_json::from_str(&listed).unwrap()
}

#[test]
fn approved_from_the_cli_rejected_from_the_browser_and_the_note_reaches_the_retry() {
    let repo = repo_with(CONFIG, PLAN);
    let dir = repo.path().to_owned();

    // The run stops at verified work: nothing is merged before a review.
    let (code, _, stderr) = orch_within(&dir, &["run", "--no-wait"], Duration::from_secs(90));
    assert_eq!(code, 12, "{stderr}");
    assert!(stderr.contains("wait for your review"), "{stderr}");
    let pending = reviews(&dir);
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending.iter().all(|r| r["state"] == "pending"));

    // What a reviewer reads: the diff, file by file.
    let shown = ok(&dir, &["review", "show", "TASK-E-001"]).stdout;
    assert!(shown.contains("work-TASK-E-001.txt"), "{shown}");
    assert!(shown.contains("+attempt"), "{shown}");
    let json: Value =
        serde_json::from_str(&ok(&dir, &["review", "show", "TASK-E-001", "--json"]).stdout)
            .unwrap();
    assert_eq!(json["diff"]["files"][0]["path"], "work-TASK-E-001.txt");
    assert_eq!(json["diff"]["additions"], 1);

    // Approved from the CLI; a second decision is refused and says who was first.
    ok(&dir, &["review", "approve", "TASK-E-001"]);
    let again = orch(&dir, &["review", "reject", "TASK-E-001", "--note", "late"]);
    assert_eq!(again.code, 8, "{}", again.transcript());
    assert!(
        again.stderr.contains("already decided: approved"),
        "{}",
        again.stderr
    );
    // A rejection without a note is refused before anything is written.
    let bare = orch(&dir, &["review", "reject", "TASK-E-002", "--note", " "]);
    assert_eq!(bare.code, 2, "{}", bare.transcript());

    // Rejected from the dashboard, in a real browser.
    if let Some((driver_program, chromium)) = browser_programs() {
        let server = dashboard(&dir);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let driver = start_driver(&driver_program).await;
            let profile = tempfile::tempdir().unwrap();
            let browser = Browser::open(&driver, &chromium, profile.path()).await;
            browser.go(&format!("{}/#token={TOKEN}", server.url)).await;
            browser
                .wait_for(
                    r#"const b = document.querySelector('[data-review="TASK-E-002:reject"]'); return !!b && !b.disabled;"#,
                    json!(true),
                )
                .await;
            // The diff, per file, with its lines marked.
            browser.click(r#"[data-review-task="TASK-E-002"] button.link"#).await;
            browser
                .wait_for(
                    r#"const f = document.querySelector('[data-diff-for="TASK-E-002"] [data-file="work-TASK-E-002.txt"] .add'); return f ? f.textContent : null;"#,
                    json!("+attempt"),
                )
                .await;
            browser
                .type_into(r#"textarea[aria-label="review note for TASK-E-002"]"#, NOTE)
                .await;
            browser.click(r#"[data-review="TASK-E-002:reject"]"#).await;
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let second = reviews(&dir)
                    .into_iter()
                    .find(|r| r["task"] == "TASK-E-002")
                    .unwrap();
                if second["state"] == "rejected" {
                    assert_eq!(second["decided_by"], "dashboard");
                    assert_eq!(second["note"], NOTE);
                    break;
                }
                assert!(Instant::now() < deadline, "never rejected: {second}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // The page follows the decision through the live feed.
            browser
                .wait_for(
                    r#"const c = document.querySelector('[data-review-task="TASK-E-002"]'); return c && c.dataset.state;"#,
                    json!("rejected"),
                )
                .await;
            browser.close().await;
        });
    } else {
        ok(&dir, &["review", "reject", "TASK-E-002", "--note", NOTE]);
    }

    // The next run merges the approved work and runs the rejected task again, told why.
    let (code, _, stderr) = orch_within(&dir, &["run", "--no-wait"], Duration::from_secs(90));
    assert_eq!(code, 12, "{stderr}");
    let status: Value = serde_json::from_str(&ok(&dir, &["status", "--json"]).stdout).unwrap();
    let of = |id: &str| {
        status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["task"]["id"] == id)
            .map(|t| t["task"]["status"].as_str().unwrap_or("pending").to_owned())
            .unwrap()
    };
    assert_eq!(of("TASK-E-001"), "completed");
    assert_eq!(of("TASK-E-002"), "awaiting_review");
    let instructions =
        std::fs::read_to_string(dir.join(".orch/instructions/TASK-E-002.md")).unwrap();
    assert!(instructions.contains(NOTE), "{instructions}");
    let second = reviews(&dir)
        .into_iter()
        .find(|r| r["task"] == "TASK-E-002" && r["state"] == "pending")
        .expect("the retry waits for a review again");
    assert_eq!(second["attempt"], 2);
}

#[test]
fn a_spending_limit_must_be_an_amount() {
    let repo = repo_with(CONFIG, PLAN);
    for bad in ["0", "-1", "five", "NaN"] {
        let run = orch(repo.path(), &["run", &format!("--max-cost={bad}")]);
        assert_eq!(run.code, 2, "--max-cost {bad}: {}", run.transcript());
        assert!(run.stderr.contains("--max-cost"), "{}", run.stderr);
    }
    // A bad [budget] in orch.toml names its key.
    std::fs::write(
        repo.path().join(".orch/orch.toml"),
        format!("{CONFIG}\n[budget]\nrun_usd = 0.0\n"),
    )
    .unwrap();
    let run = orch(repo.path(), &["run", "--no-wait"]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert!(run.stderr.contains("budget.run_usd"), "{}", run.stderr);
    // So does a permission mode Claude Code does not have.
    std::fs::write(
        repo.path().join(".orch/orch.toml"),
        format!("{CONFIG}\n[agent.claude]\npermission_mode = \"yolo\"\n"),
    )
    .unwrap();
    let run = orch(repo.path(), &["run", "--no-wait"]);
    assert_eq!(run.code, 5, "{}", run.transcript());
    assert!(
        run.stderr.contains("agent.claude.permission_mode"),
        "{}",
        run.stderr
    );
}
