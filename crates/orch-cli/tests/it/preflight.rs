//! Preflight (issue #23): what would make every task fail is found once, before any task
//! starts, with its own message and fix; SIGTERM stops a run like Ctrl-C.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::exit_code;
use orch_testutils::TempRepo;

use crate::support::{ok, orch};

const PLAN: &str = "name = \"p\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it\"\nepic = \"E\"\n";

fn ready(config: &str) -> TempRepo {
    let repo = TempRepo::new();
    repo.write("README.md", "# p\n");
    repo.commit_all("initial");
    ok(repo.path(), &["init"]);
    std::fs::write(repo.path().join(".orch/orch.toml"), config).unwrap();
    let file = repo.temp_dir().join("plan.toml");
    std::fs::write(&file, PLAN).unwrap();
    ok(repo.path(), &["plan", "import", file.to_str().unwrap()]);
    repo
}

const CUSTOM: &str = "[run]\nagent = \"custom\"\nagent_command = [\"true\"]\nbackend = \"process\"\nquality_gate = false\n";

/// `orch run` with `PATH` set to `path` (or inherited), expecting a preflight refusal that
/// mentions `needle`; no task may have started.
#[track_caller]
fn refused(repo: &Path, path: Option<&str>, needle: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orch"));
    cmd.arg("-C").arg(repo).args(["run", "--no-wait"]);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit_code::NOT_READY), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    assert!(stderr.contains("hint:"), "a fix is given:\n{stderr}");
    let store = orch_store::Store::open_existing(&repo.join(".orch/state.db")).unwrap();
    assert!(
        store.attempts(None).unwrap().is_empty(),
        "a task started: {stderr}"
    );
}

#[test]
fn a_detached_head_is_refused_before_any_task() {
    let repo = ready(CUSTOM);
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", &head]);
    refused(repo.path(), None, "HEAD is detached");
}

#[test]
fn a_repository_without_commits_is_refused_before_any_task() {
    let repo = TempRepo::empty();
    ok(repo.path(), &["init"]);
    std::fs::write(repo.path().join(".orch/orch.toml"), CUSTOM).unwrap();
    let file = repo.temp_dir().join("plan.toml");
    std::fs::write(&file, PLAN).unwrap();
    ok(repo.path(), &["plan", "import", file.to_str().unwrap()]);
    refused(repo.path(), None, "no commits");
}

#[test]
fn a_missing_base_branch_is_refused_before_any_task() {
    let repo = ready(&format!("[repo]\nbase_branch = \"release\"\n{CUSTOM}"));
    refused(repo.path(), None, "base branch `release` does not exist");
}

#[test]
fn an_unusable_worktree_root_is_refused_before_any_task() {
    let repo = ready(&format!("[repo]\nworktree_root = \".git/trees\"\n{CUSTOM}"));
    refused(repo.path(), None, "worktree_root");
}

#[test]
fn a_missing_agent_program_is_refused_before_any_task() {
    let repo = ready("[run]\nagent = \"claude\"\nbackend = \"process\"\nquality_gate = false\n");
    // A PATH with git (and sh) but no `claude`.
    let bin = repo.temp_dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["git", "sh"] {
        let real = String::from_utf8(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        std::os::unix::fs::symlink(real.trim(), bin.join(tool)).unwrap();
    }
    refused(repo.path(), Some(bin.to_str().unwrap()), "`claude`");
}

#[test]
fn git_missing_from_path_is_refused_before_any_task() {
    let repo = ready(CUSTOM);
    let bin = repo.temp_dir().join("empty-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/true", bin.join("true")).unwrap();
    refused(
        repo.path(),
        Some(bin.to_str().unwrap()),
        "git is not on PATH",
    );
}

#[test]
fn sigterm_stops_a_run_like_ctrl_c() {
    let repo = ready(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"sleep 30\"]\nbackend = \"process\"\nquality_gate = false\nstop_grace_seconds = 1\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(repo.path())
        .args(["run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let db = repo.path().join(".orch/state.db");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = orch_store::Store::open_existing(&db)
            .and_then(|s| s.attempts(None))
            .is_ok_and(|a| a.iter().any(|a| !a.session_id.is_empty()));
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "the agent never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the run");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(exit_code::INTERRUPTED), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    // The interrupted attempt is not charged: the task is ready for the next run.
    let store = orch_store::Store::open_existing(&db).unwrap();
    let task = store
        .task(&orch_core::TaskId::new("TASK-E-001").unwrap())
        .unwrap();
    assert_eq!(task.task.status, orch_core::TaskStatus::Ready);
    let status = orch(repo.path(), &["status", "--json"]);
    assert_eq!(status.code, 0);
}
