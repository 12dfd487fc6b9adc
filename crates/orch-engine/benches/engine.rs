//! Engine benchmarks (issue 8). Run: `cargo bench -p orch-engine --bench engine`.
//!
//! 1. Overhead: 50 independent tasks whose agent (the fake Claude Code) writes one file,
//!    gate off, 4 sessions at once. Orchestrator time per task = the task's busy time
//!    (worktree, instructions, session start, verification, commit, merge queue, cleanup)
//!    minus its agent session time. Compared, in the same run, with a shell script doing
//!    the same git steps per task one after another (worktree add, write, commit, merge into
//!    the epic branch in an integration worktree, worktree remove, branch delete).
//! 2. Speedup: 24 tasks with dependencies whose agents sleep 300–900 ms, 4 sessions at
//!    once: makespan against the sum of the tasks' busy times (one at a time) and against
//!    the lower bound max(critical path, total work / 4) of the scheduling benchmark.
//! 3. Sandbox: the overhead run with agents in bubblewrap against the same run with
//!    `sandbox = "none"` (both with the repository guard and isolated worktrees), runs
//!    alternated and the medians compared; and the guard's check alone, per attempt.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::{Config, Epic, EpicId, Plan, Task, TaskId};
use orch_engine::{Conductor, EngineOptions, RunOutcome, RunReport};
use orch_session::ClaudeCode;
use orch_store::Store;
use orch_testutils::{FAKE_SCENARIO_MARKER, FakeScenario, TempRepo, fake_agent_path};

const PARALLEL: usize = 4;

fn plan(tasks: Vec<(String, Vec<String>, u64)>) -> Plan {
    let epic = EpicId::new("E").unwrap();
    let tasks = tasks
        .into_iter()
        .map(|(id, deps, sleep_ms)| {
            let mut t = Task::new(
                TaskId::new(&id).unwrap(),
                format!("Task {id}"),
                epic.clone(),
            );
            let file = format!("work/{id}.txt");
            let scenario = FakeScenario::new().sleep_ms(sleep_ms).write(&file, "x\n");
            t.description = format!("{FAKE_SCENARIO_MARKER} {}", scenario.to_json());
            t.files = vec![file];
            t.depends_on = deps.iter().map(|d| TaskId::new(d).unwrap()).collect();
            t.estimate_minutes = u32::try_from(sleep_ms.max(1)).unwrap();
            t
        })
        .collect();
    Plan {
        version: 1,
        name: "bench".into(),
        strategy: None,
        epics: vec![Epic {
            review: None,
            id: epic,
            name: "Epic".into(),
            goal: String::new(),
            strategy: None,
        }],
        tasks,
    }
}

fn repo_with(plan: &Plan) -> TempRepo {
    let repo = TempRepo::new();
    repo.write("README.md", "# bench\n");
    repo.commit_all("initial");
    std::fs::create_dir_all(repo.path().join(".orch")).unwrap();
    let exclude = repo.path().join(".git/info/exclude");
    let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
    text.push_str("/.orch/\n/.worktrees/\n/.shell-wt/\n");
    std::fs::write(&exclude, text).unwrap();
    let mut store = Store::open(&repo.path().join(".orch/state.db")).unwrap();
    store.import_plan(plan, false).unwrap();
    store.refresh_readiness().unwrap();
    repo
}

fn run(repo: &Path) -> RunReport {
    run_with(repo, |_| {})
}

fn run_with(repo: &Path, tweak: impl FnOnce(&mut EngineOptions)) -> RunReport {
    let mut config = Config::default();
    config.run.backend = "process".into();
    config.run.quality_gate = false;
    config.run.on_epic_complete = "leave".into();
    let mut options = EngineOptions::from_config(repo, config).unwrap();
    options.parallel = PARALLEL;
    options.agent = Arc::new(ClaudeCode::with_program(
        fake_agent_path().display().to_string(),
    ));
    options.wait_for_answers = false;
    options.without_console_notifier().unwrap();
    tweak(&mut options);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(async { Conductor::open(options).unwrap().run().await.unwrap() });
    assert_eq!(report.outcome, RunOutcome::Completed);
    report
}

/// The same git steps as orch's per-task work, by the git CLI, one task after another.
fn shell_baseline(repo: &TempRepo, n: usize) -> Duration {
    let script = format!(
        r#"set -e
git branch -q shell/epic main
git worktree add -q .shell-wt/epic shell/epic
for i in $(seq 1 {n}); do
  git worktree add -q -b shell/task-$i .shell-wt/t$i shell/epic
  mkdir -p .shell-wt/t$i/work && echo x > .shell-wt/t$i/work/s$i.txt
  git -C .shell-wt/t$i add -A
  git -C .shell-wt/t$i -c user.name=b -c user.email=b@x commit -q -m "task $i"
  git -C .shell-wt/epic -c user.name=b -c user.email=b@x merge -q --no-edit shell/task-$i
  git worktree remove .shell-wt/t$i
  git branch -q -D shell/task-$i
done
"#
    );
    let started = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn overhead() {
    const N: usize = 50;
    let tasks = (1..=N)
        .map(|i| (format!("TASK-E-{i:03}"), Vec::new(), 0))
        .collect();
    let plan = plan(tasks);
    let repo = repo_with(&plan);
    let report = run(repo.path());
    let busy: Duration = report.tasks.iter().map(|t| t.busy).sum();
    let orch_per_task = busy.saturating_sub(report.agent_time) / N as u32;
    let shell = shell_baseline(&repo, N) / N as u32;
    println!("overhead: {N} tasks, one-file edit, gate off, {PARALLEL} sessions at once");
    println!(
        "  makespan                         {:>8.0} ms",
        report.makespan.as_secs_f64() * 1e3
    );
    println!(
        "  agent time per task              {:>8.1} ms",
        report.agent_time.as_secs_f64() * 1e3 / N as f64
    );
    println!(
        "  orchestrator time per task       {:>8.1} ms",
        orch_per_task.as_secs_f64() * 1e3
    );
    println!(
        "  shell script (same git steps)    {:>8.1} ms per task",
        shell.as_secs_f64() * 1e3
    );
    println!(
        "  ratio orch / shell               {:>8.2}  (target <= 1.5)",
        orch_per_task.as_secs_f64() / shell.as_secs_f64()
    );
}

fn speedup() {
    // Four chains of six with cross links; sleeps 300-900 ms.
    let mut tasks = Vec::new();
    for i in 0..24usize {
        let mut deps = Vec::new();
        if i >= 4 {
            deps.push(format!("TASK-E-{:03}", i - 4 + 1));
        }
        if i >= 8 && i % 3 == 0 {
            deps.push(format!("TASK-E-{:03}", i - 7 + 1));
        }
        let sleep = 300 + ((i * 7919) % 7) as u64 * 100;
        tasks.push((format!("TASK-E-{:03}", i + 1), deps, sleep));
    }
    let plan = plan(tasks);
    let graph = plan.validate().unwrap();
    let work: u64 = plan
        .tasks
        .iter()
        .map(|t| u64::from(t.estimate_minutes))
        .sum();
    let critical = graph.critical_path().total_minutes;
    let bound = critical.max(work.div_ceil(PARALLEL as u64));
    let repo = repo_with(&plan);
    let report = run(repo.path());
    let makespan = report.makespan.as_secs_f64() * 1e3;
    println!(
        "speedup: 24 tasks with dependencies, sleeping agents 300-900 ms, {PARALLEL} sessions at once"
    );
    println!("  agent sleep total {work} ms; critical path {critical} ms; lower bound {bound} ms");
    println!("  makespan                         {makespan:>8.0} ms");
    println!(
        "  one task at a time (sum of busy) {:>8.0} ms  -> speedup {:.2}x",
        report.serial.as_secs_f64() * 1e3,
        report.speedup()
    );
    println!(
        "  makespan / lower bound           {:>8.2}",
        makespan / bound as f64
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn sandbox() {
    const N: usize = 50;
    const ROUNDS: usize = 3;
    let program = match orch_session::probe_bwrap() {
        orch_session::BwrapProbe::Works(program) => program,
        orch_session::BwrapProbe::Unavailable(why) => {
            println!("sandbox: skipped ({why})");
            return;
        }
    };
    let (mut bare, mut boxed) = (Vec::new(), Vec::new());
    let (mut bare_busy, mut boxed_busy) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for sandboxed in [false, true] {
            let tasks = (1..=N)
                .map(|i| (format!("TASK-E-{i:03}"), Vec::new(), 0))
                .collect();
            let repo = repo_with(&plan(tasks));
            let sandbox = sandboxed.then(|| orch_session::Sandbox::bwrap(&program));
            let report = run_with(repo.path(), |o| o.sandbox = sandbox);
            let busy: Duration = report.tasks.iter().map(|t| t.busy).sum();
            let per_task = busy.as_secs_f64() * 1e3 / N as f64;
            let makespan = report.makespan.as_secs_f64() * 1e3;
            if sandboxed {
                boxed.push(makespan);
                boxed_busy.push(per_task);
            } else {
                bare.push(makespan);
                bare_busy.push(per_task);
            }
        }
    }
    let (bare, boxed) = (median(bare), median(boxed));
    let (bare_busy, boxed_busy) = (median(bare_busy), median(boxed_busy));
    println!(
        "sandbox: {N} one-edit tasks, gate off, {PARALLEL} at once, median of {ROUNDS} alternated runs each"
    );
    println!("  makespan, sandbox = none         {bare:>8.0} ms");
    println!("  makespan, bubblewrap             {boxed:>8.0} ms");
    println!(
        "  ratio                            {:>8.2}  (target <= 1.10)",
        boxed / bare
    );
    println!(
        "  busy time per attempt            {bare_busy:>8.1} ms none, {boxed_busy:.1} ms bubblewrap: ratio {:.2}",
        boxed_busy / bare_busy
    );
    // The guard's check alone (refs, HEAD, hooks, config, orch.toml): what every attempt
    // pays twice (after the agent, before the merge).
    let repo = repo_with(&plan(vec![("TASK-E-001".into(), Vec::new(), 0)]));
    let guard = orch_worktree::RepoGuard::new(
        &repo.path().join(".git"),
        &orch_engine::worktree_naming(),
        vec![repo.path().join(".orch/orch.toml")],
        repo.path().join(".orch/quarantine"),
        false,
    )
    .unwrap();
    let started = Instant::now();
    const CHECKS: u32 = 200;
    for _ in 0..CHECKS {
        assert!(guard.check().is_empty());
    }
    let check = started.elapsed().as_secs_f64() * 1e3 / f64::from(CHECKS);
    println!(
        "  guard check                      {check:>8.2} ms ({:.1}% of an attempt's busy time, twice per attempt)",
        200.0 * check / bare_busy
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    overhead();
    speedup();
    sandbox();
}
