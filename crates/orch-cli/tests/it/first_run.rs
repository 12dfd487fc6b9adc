//! The first real run, as a new user does it (issue #16): a custom agent, `orch run`,
//! `orch msg answer` between runs, `orch task show`, JSON everywhere.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orch_testutils::TempRepo;

use crate::support::{ok, orch};

/// `orch init`, then `toml` as the whole configuration, then `plan` imported.
pub(crate) fn repo_with(config: &str, plan: &str) -> TempRepo {
    let repo = TempRepo::new();
    repo.write("README.md", "# project\n");
    repo.commit_all("initial");
    ok(repo.path(), &["init"]);
    std::fs::write(repo.path().join(".orch/orch.toml"), config).unwrap();
    let file = repo.temp_dir().join("plan.toml");
    std::fs::write(&file, plan).unwrap();
    ok(repo.path(), &["plan", "import", file.to_str().unwrap()]);
    repo
}

/// `orch args…` in `dir`, killed if it outlives `limit` (a hang fails the test, never blocks
/// the suite).
pub(crate) fn orch_within(dir: &Path, args: &[&str], limit: Duration) -> (i32, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait_within(child, args, limit)
}

const ONE_TASK: &str = "name = \"p\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it\"\nepic = \"E\"\n";

/// The letter of the option whose action is `action` in the message `id`.
fn option_letter(repo: &Path, id: &str, action: &str) -> String {
    let shown = ok(repo, &["msg", "show", id, "--json"]).stdout;
    let message: serde_json::Value = serde_json::from_str(&shown).unwrap();
    message["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["action"]["type"] == action)
        .unwrap_or_else(|| panic!("no {action} option in {shown}"))["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Issue #16, "done when": an agent that claims success and changes nothing, no retries;
/// the question is answered "accept" from the CLI between runs; the next run (even with
/// `--no-wait`) applies it, completes the task and finishes the epic.
#[test]
fn an_accepted_answer_between_runs_is_applied_and_the_epic_is_finished() {
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"true\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\n",
        ONE_TASK,
    );
    let (code, _, stderr) =
        orch_within(repo.path(), &["run", "--no-wait"], Duration::from_secs(120));
    assert_eq!(code, 12, "{stderr}");
    let letter = option_letter(repo.path(), "PM-0001", "accept");
    ok(
        repo.path(),
        &["msg", "answer", "PM-0001", &letter, "--note", "fine as is"],
    );

    let (code, stdout, stderr) = orch_within(
        repo.path(),
        &["run", "--no-wait", "--json"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "completed", "{stdout}");
    let events = ok(repo.path(), &["status", "--json"]).stdout;
    assert!(events.contains("completed"), "{events}");
    let store = orch_store::Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    let merged: Vec<_> = store
        .events_since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::to_string(&e.event).unwrap())
        .filter(|json| json.contains("merged") && json.contains("orch/epic/E"))
        .collect();
    assert!(
        merged
            .iter()
            .any(|json| json.contains("\"source\":\"orch/epic/E\",\"target\":\"main\"")),
        "the epic was never merged into the base branch: {merged:?}"
    );
    // A third run has nothing to do and says so at once.
    let (code, _, stderr) = orch_within(repo.path(), &["run"], Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
}

/// Accepting the last task of an epic while the run waits must not hang: the merge-queue
/// turn is released before the epic is finished.
#[test]
fn accepting_the_last_task_of_an_epic_during_a_run_does_not_hang() {
    // The agent writes outside the task's scope, so the attempt fails and (no retries) a
    // question is asked; the answer "accept" then merges the task, the last of its epic.
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"echo work > work-{task}.txt\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\nout_of_scope = \"fail\"\n",
        &format!("{ONE_TASK}files = [\"elsewhere/**\"]\n"),
    );
    let dir = repo.path().to_owned();
    let answerer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let listed = orch(&dir, &["msg", "list", "--json"]).stdout;
            if listed.contains("PM-0001") {
                let letter = option_letter(&dir, "PM-0001", "accept");
                ok(&dir, &["msg", "answer", "PM-0001", &letter]);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no question was asked");
    });
    let (code, stdout, stderr) =
        orch_within(repo.path(), &["run", "--json"], Duration::from_secs(90));
    answerer.join().unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(repo.git(&["show", "main:work-TASK-E-001.txt"]), "work");
}

#[test]
fn json_is_answered_in_json_even_on_errors() {
    let repo = TempRepo::new();
    ok(repo.path(), &["init"]);
    let run = orch(repo.path(), &["status", "--json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.transcript()));
    assert_eq!(doc["error"]["code"], 4);
    assert_eq!(doc["error"]["kind"], "NOT_INITIALIZED");
    assert!(doc["error"]["message"].as_str().unwrap().contains("plan"));

    let bad = orch(repo.path(), &["status", "--json", "--no-such-flag"]);
    assert_eq!(bad.code, 2, "{}", bad.transcript());
    let doc: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(doc["error"]["code"], 2);

    let missing = orch(repo.path(), &["task", "show", "TASK-X-001", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&missing.stdout).unwrap();
    assert_eq!(doc["error"]["code"], missing.code);
    // Without --json errors stay text on stderr.
    let text = orch(repo.path(), &["status"]);
    assert!(
        text.stdout.is_empty() && text.stderr.starts_with("error:"),
        "{}",
        text.transcript()
    );
}

#[test]
fn documented_placeholders_and_literal_braces_work_in_agent_command() {
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"f() {{ printf '%s %s' \\\"$1\\\" {{json}} > out.txt; }}; f {task}\", \"{session_id}\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\n",
        ONE_TASK,
    );
    let doctor = orch(repo.path(), &["doctor", "--json"]).stdout;
    assert!(!doctor.contains("unknown placeholder"), "{doctor}");
    let (code, stdout, stderr) = orch_within(repo.path(), &["run"], Duration::from_secs(60));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(repo.git(&["show", "main:out.txt"]), "TASK-E-001 {json}");
}

/// Whether `python3 -c "import m"` works for every module; in CI they must.
fn python_tools(modules: &[&str]) -> bool {
    let found = modules.iter().all(|m| {
        Command::new("python3")
            .args(["-c", &format!("import {m}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found && std::env::var_os("CI").is_some() {
        panic!("CI is set but the Python tools are missing: {modules:?}");
    }
    if !found {
        eprintln!("notice: skipping: Python tools missing ({modules:?})");
    }
    found
}

#[test]
fn task_show_says_why_the_gate_failed() {
    if !python_tools(&["ruff"]) {
        return;
    }
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"printf 'import os\\\\n\\\\n\\\\ndef f() -> int:\\\\n    \\\"\\\"\\\"One.\\\"\\\"\\\"\\\\n    return 1\\\\n' > calc.py\"]\nmax_retries = 0\nbackend = \"process\"\n",
        ONE_TASK,
    );
    let (code, stdout, stderr) =
        orch_within(repo.path(), &["run", "--no-wait"], Duration::from_secs(120));
    assert_eq!(code, 12, "{stdout}\n{stderr}");
    let text = ok(repo.path(), &["task", "show", "TASK-E-001"]).stdout;
    assert!(text.contains("Last quality gate (attempt 1)"), "{text}");
    assert!(
        text.contains("lint") && text.contains("calc.py:1"),
        "{text}"
    );
    let json = ok(repo.path(), &["task", "show", "TASK-E-001", "--json"]).stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["task"]["id"], "TASK-E-001");
    assert_eq!(doc["last_gate"]["passed"], false, "{json}");
    let failed = doc["last_gate"]["failed"].as_array().unwrap();
    let lint = failed
        .iter()
        .find(|d| d["dimension"] == "lint")
        .unwrap_or_else(|| panic!("{json}"));
    assert!(
        lint["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "F401"),
        "{json}"
    );
    assert_ne!(doc["attempts"][0]["result"], "passed", "{json}");
}
