//! Fault injection (issue #23): the runner is killed at each phase boundary — while an
//! agent runs, while verifying, right after a task merge, right after the last task of an
//! epic completed, twice inside the epic merge into the checked-out base (while its many
//! files are written, and after they are but before the branch moves), and while preparing
//! a worktree — then `orch run` again. After the restart: every task completed exactly
//! once, no attempt charged for orch's own crash, `main` clean and holding every task's
//! work, nothing left behind (process, worktree, branch).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::{TaskId, TaskStatus};
use orch_store::{Store, TaskFilter};
use orch_testutils::TempRepo;

use crate::support::ok;

const TASKS: [&str; 3] = ["TASK-E-001", "TASK-E-002", "TASK-E-003"];
/// Files each task writes: the epic merge into the checked-out base writes all of them.
const FILES_PER_TASK: usize = 300;

fn project() -> TempRepo {
    let repo = TempRepo::new();
    repo.write("README.md", "# faults\n");
    repo.commit_all("initial");
    ok(repo.path(), &["init"]);
    std::fs::write(
        repo.path().join(".orch/orch.toml"),
        format!(
            "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"sleep 0.5; mkdir -p work/{{task}}; i=0; while [ $i -lt {FILES_PER_TASK} ]; do echo $i > work/{{task}}/f$i.txt; i=$((i+1)); done\"]\nbackend = \"process\"\nparallel = 2\nmax_retries = 0\nquality_gate = false\n"
        ),
    )
    .unwrap();
    let mut plan = String::from("name = \"faults\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n");
    for (i, id) in TASKS.iter().enumerate() {
        let deps = if i == 2 { "[\"TASK-E-001\"]" } else { "[]" };
        plan.push_str(&format!(
            "[[task]]\nid = \"{id}\"\ntitle = \"Task {id}\"\nepic = \"E\"\nfiles = [\"work/{id}/**\"]\ndepends_on = {deps}\n"
        ));
    }
    let file = repo.temp_dir().join("plan.toml");
    std::fs::write(&file, plan).unwrap();
    ok(repo.path(), &["plan", "import", file.to_str().unwrap()]);
    repo
}

fn orch_run(repo: &Path, fault: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orch"));
    cmd.arg("-C")
        .arg(repo)
        .args(["run", "--no-wait"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(point) = fault {
        cmd.env("ORCH_FAULT", point);
    }
    cmd.spawn().unwrap()
}

fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("orch run did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn statuses(repo: &Path) -> Vec<TaskStatus> {
    Store::open_existing(&repo.join(".orch/state.db"))
        .and_then(|s| s.tasks(&TaskFilter::default()))
        .map(|t| t.into_iter().map(|r| r.task.status).collect())
        .unwrap_or_default()
}

/// Kills the runner at `point` (or, for `agent-running`, from outside while an agent runs),
/// runs again, and checks everything.
fn kill_and_recover(point: &str) {
    let repo = project();
    let mut first = if point == "agent-running" {
        let mut child = orch_run(repo.path(), None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !statuses(repo.path()).contains(&TaskStatus::Running) {
            assert!(Instant::now() < deadline, "no task ever ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(150));
        child.kill().unwrap();
        child
    } else {
        orch_run(repo.path(), Some(point))
    };
    let status = wait_bounded(&mut first, Duration::from_secs(120));
    let mut stderr = String::new();
    if let Some(mut e) = first.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(
        !status.success(),
        "{point}: the first run was supposed to die, it ended normally: {stderr}"
    );
    if point != "agent-running" {
        assert!(
            stderr.contains(&format!("fault injected at `{point}`")),
            "{point}: the fault point was never reached: {stderr}"
        );
    }

    let mut second = orch_run(repo.path(), None);
    let status = wait_bounded(&mut second, Duration::from_secs(180));
    let mut stderr = String::new();
    if let Some(mut e) = second.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(
        status.success(),
        "{point}: the run after the crash failed: {stderr}"
    );

    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    for id in TASKS {
        let task = TaskId::new(id).unwrap();
        assert_eq!(
            store.task(&task).unwrap().task.status,
            TaskStatus::Completed,
            "{point}: {id}"
        );
        let tried = store.attempts(Some(&task)).unwrap();
        let passed = tried
            .iter()
            .filter(|a| a.result.as_deref() == Some("passed"))
            .count();
        assert_eq!(passed, 1, "{point}: {id} merged more than once: {tried:?}");
        // A merge resumed after the crash keeps what verification established.
        let merged = tried
            .iter()
            .find(|a| a.result.as_deref() == Some("passed"))
            .unwrap();
        assert_eq!(
            merged.changed_files.len(),
            FILES_PER_TASK,
            "{point}: {id}'s changed files were lost"
        );
        assert!(
            merged.result_sha.is_some(),
            "{point}: {id}: no verified commit recorded"
        );
        for a in &tried {
            assert!(
                matches!(a.result.as_deref(), Some("passed" | "interrupted")),
                "{point}: {id} was charged for orch's own crash: {:?} {:?}",
                a.result,
                a.summary
            );
        }
        let count = repo
            .git(&["ls-tree", "-r", "--name-only", &format!("main:work/{id}")])
            .lines()
            .count();
        assert_eq!(
            count, FILES_PER_TASK,
            "{point}: {id}'s work is not all on main"
        );
    }
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "{point}: the main checkout is not clean"
    );
    assert_eq!(
        repo.git(&["branch", "--list", "orch/task/*"]),
        "",
        "{point}: task branches left"
    );
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{point}: worktrees left: {worktrees}"
    );
    let root = repo.path().canonicalize().unwrap();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(&root)))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "{point}: processes left: {left:?}");
}

macro_rules! kill_points {
    ($($name:ident => $point:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                kill_and_recover($point);
            }
        )*
    };
}

kill_points! {
    killed_while_an_agent_runs => "agent-running",
    killed_while_preparing_a_worktree => "worktree-prepared",
    killed_while_verifying => "verifying",
    killed_right_after_a_task_merge => "task-merged",
    killed_after_the_last_task_of_the_epic => "task-completed",
    killed_while_the_epic_merge_writes_the_checkout => "epic-merge-checkout",
    killed_after_the_checkout_before_the_branch_moves => "epic-merge-before-ref",
}
