//! `orch run` and `orch demo`: errors, a whole demo, and recovery after `kill -9`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::{TaskId, TaskStatus};
use orch_store::{Store, TaskFilter};
use orch_testutils::{FAKE_SCENARIO_MARKER, FakeScenario, TempRepo, fake_agent_path};

use crate::support::{ok, orch};

#[test]
fn run_refuses_what_it_cannot_run() {
    let repo = TempRepo::new();
    assert_eq!(orch(repo.path(), &["run"]).code, 4, "not initialised");
    ok(repo.path(), &["init"]);
    let no_plan = orch(repo.path(), &["run"]);
    assert_eq!(no_plan.code, 4, "{}", no_plan.stderr);
    assert!(no_plan.stderr.contains("plan"), "{}", no_plan.stderr);
    assert_eq!(orch(repo.path(), &["run", "--parallel", "0"]).code, 2);
    assert_eq!(orch(repo.path(), &["run", "--backend", "docker"]).code, 2);
}

#[test]
fn demo_runs_the_whole_flow() {
    let cwd = tempfile::tempdir().unwrap();
    let run = orch(cwd.path(), &["demo", "--json", "--backend", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "completed");
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 5);
    let attempts: Vec<u64> = tasks
        .iter()
        .map(|t| t["attempts"].as_u64().unwrap())
        .collect();
    // One task fails its gate once; one claims success twice, is escalated and answered.
    assert_eq!(
        attempts.iter().filter(|a| **a == 2).count(),
        1,
        "{attempts:?}"
    );
    assert_eq!(
        attempts.iter().filter(|a| **a == 3).count(),
        1,
        "{attempts:?}"
    );
    assert!(
        tasks
            .iter()
            .all(|t| t["status"] == "completed" && t["quality"].as_f64().is_some())
    );
    assert!(
        run.stderr.contains("demo human: answered PM-0001"),
        "{}",
        run.stderr
    );
}

pub(crate) fn plan_toml(ids: &[(&str, &[&str])]) -> String {
    let mut out = String::from("name = \"crash\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n");
    for (id, deps) in ids {
        let scenario = FakeScenario::new()
            .text("thinking")
            .sleep_ms(1200)
            .write(&format!("work/{id}.txt"), &format!("{id}\n"));
        out.push_str(&format!(
            "[[task]]\nid = \"{id}\"\ntitle = \"Task {id}\"\nepic = \"E\"\nfiles = [\"work/{id}.txt\"]\ndepends_on = {deps:?}\ndescription = '''{FAKE_SCENARIO_MARKER} {}'''\n",
            scenario.to_json()
        ));
    }
    out
}

/// `PATH` with a `claude` that is the fake agent.
pub(crate) fn path_with_fake_claude(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(fake_agent_path(), bin.join("claude")).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn statuses(db: &Path) -> Vec<TaskStatus> {
    Store::open_existing(db)
        .and_then(|s| s.tasks(&TaskFilter::default()))
        .map(|t| t.into_iter().map(|r| r.task.status).collect())
        .unwrap_or_default()
}

#[test]
fn a_run_killed_mid_way_is_recovered_and_every_task_ends_exactly_once() {
    let repo = TempRepo::new();
    ok(repo.path(), &["init"]);
    std::fs::write(
        repo.path().join(".orch/orch.toml"),
        "[run]\nparallel = 3\n[escalation]\nbackoff_initial_seconds = 0\n",
    )
    .unwrap();
    let ids: &[(&str, &[&str])] = &[
        ("TASK-E-001", &[]),
        ("TASK-E-002", &[]),
        ("TASK-E-003", &[]),
        ("TASK-E-004", &["TASK-E-001"]),
        ("TASK-E-005", &["TASK-E-002"]),
        ("TASK-E-006", &["TASK-E-004", "TASK-E-005"]),
    ];
    let plan = repo.temp_dir().join("plan.toml");
    std::fs::write(&plan, plan_toml(ids)).unwrap();
    ok(repo.path(), &["plan", "import", plan.to_str().unwrap()]);
    let path = path_with_fake_claude(repo.temp_dir());
    let db = repo.path().join(".orch/state.db");
    let orch_run = || {
        Command::new(env!("CARGO_BIN_EXE_orch"))
            .arg("-C")
            .arg(repo.path())
            .args(["run", "--agent", "claude", "--no-gate"])
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    // Kill it (SIGKILL) once some tasks are done and others are running.
    let mut first = orch_run();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let s = statuses(&db);
        let done = s.iter().filter(|x| **x == TaskStatus::Completed).count();
        if done >= 2 && s.iter().any(|x| x.is_active()) {
            break;
        }
        assert!(Instant::now() < deadline, "the run made no progress: {s:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = statuses(&db);

    // The next run takes the dead runner's lease at once and finishes everything.
    let second = orch_run().wait_with_output().unwrap();
    assert!(
        second.status.success(),
        "second run failed: {:?}",
        statuses(&db)
    );
    let store = Store::open_existing(&db).unwrap();
    for (id, _) in ids {
        let task = TaskId::new(*id).unwrap();
        assert_eq!(
            store.task(&task).unwrap().task.status,
            TaskStatus::Completed,
            "{id}"
        );
        let tried = store.attempts(Some(&task)).unwrap();
        let passed = tried
            .iter()
            .filter(|a| a.result.as_deref() == Some("passed"))
            .count();
        assert_eq!(passed, 1, "{id} must be merged exactly once: {tried:?}");
        // Attempts of a task never overlap: each starts after the previous one ended.
        for pair in tried.windows(2) {
            assert!(
                pair[0]
                    .ended_at
                    .is_some_and(|end| end <= pair[1].started_at),
                "{id}: {tried:?}"
            );
        }
        assert_eq!(repo.git(&["show", &format!("main:work/{id}.txt")]), *id);
    }
    // Tasks completed before the kill did not run again.
    for (i, status) in before.iter().enumerate() {
        if *status == TaskStatus::Completed {
            let task = TaskId::new(ids[i].0).unwrap();
            assert_eq!(
                store.attempts(Some(&task)).unwrap().len(),
                1,
                "{task} ran again"
            );
        }
    }
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{worktrees}"
    );
    let fake = fake_agent_path().display().to_string();
    let running = Command::new("pgrep")
        .args(["-f", &fake])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // Other tests may run the fake agent too; none of ours may be left in this repository.
    for pid in running.split_whitespace() {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        assert!(
            !cwd.starts_with(repo.path()),
            "agent {pid} left running in {}",
            cwd.display()
        );
    }
}
