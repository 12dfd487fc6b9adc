//! Conductor cost per merged task against the size of the plan (issue 22).
//! Run: `cargo bench -p orch-engine --bench scale` (`-- --tasks 100,10000 --merges 100`).
//!
//! The same plan shape at two sizes: tasks in epics of 100, each depending on the tasks 7
//! and 13 before it, one file each (no scope conflicts), the fake Claude Code writing that
//! file, gate off, 4 sessions at once. The dependencies keep the ready tasks at the front
//! of the plan, so the first hundred merges of either plan are the same tasks doing the
//! same git work in the same epic: what differs is only the size of the plan. The small
//! plan runs to its end; the large one is stopped after the same number of merges. CPU is this process's own
//! (`getrusage(RUSAGE_SELF)`: the conductor, its workers and libgit2, not the agents nor the
//! git CLI it starts), read at every merge. Per merged task = the CPU between the 10th merge
//! and the 10th before the last of the small plan, divided by the merges in between, so
//! start-up (opening the store, recovery, the first schedule) and a plan's tail are left out.
//! The sizes run alternately (`--rounds`, default 3) in this one process, each size's median
//! is shown, and the figure that matters is the ratio of the medians.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orch_core::{Config, Epic, EpicId, Plan, Task, TaskId};
use orch_engine::{Conductor, EngineOptions, Progress, RunEvent, StopHandle, StopLevel};
use orch_session::ClaudeCode;
use orch_store::Store;
use orch_testutils::{FAKE_SCENARIO_MARKER, FakeScenario, TempRepo, fake_agent_path};

const PARALLEL: usize = 4;
const EPIC_SIZE: usize = 100;
/// Merges before the steady state is measured.
const WARM_UP: usize = 10;

fn plan(n: usize) -> Plan {
    let epics: Vec<Epic> = (0..n.div_ceil(EPIC_SIZE))
        .map(|e| Epic {
            review: None,
            id: EpicId::new(format!("E{e:03}")).unwrap(),
            name: format!("Epic {e}"),
            goal: String::new(),
            strategy: None,
        })
        .collect();
    let id =
        |i: usize| TaskId::new(format!("TASK-E{:03}-{:03}", i / EPIC_SIZE, i % EPIC_SIZE)).unwrap();
    let tasks = (0..n)
        .map(|i| {
            let epic = epics[i / EPIC_SIZE].id.clone();
            let mut t = Task::new(id(i), format!("Task {i}"), epic);
            let file = format!("work/{i:05}.txt");
            let scenario = FakeScenario::new().write(&file, "x\n");
            t.description = format!("{FAKE_SCENARIO_MARKER} {}", scenario.to_json());
            t.files = vec![file];
            t.depends_on = [7, 13]
                .iter()
                .filter(|&&back| i >= back)
                .map(|&back| id(i - back))
                .collect();
            t.estimate_minutes = 30;
            t
        })
        .collect();
    Plan {
        version: 1,
        name: format!("scale-{n}"),
        strategy: None,
        epics,
        tasks,
    }
}

// The workspace denies unsafe code; this one libc call in a benchmark is the exception.
#[allow(unsafe_code)]
fn cpu() -> Duration {
    // SAFETY: `getrusage` writes into the zeroed struct it is given and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Reads the CPU clock at every merge and stops the run after `stop_after` merges.
struct MergeClock {
    stop_after: usize,
    stop: Mutex<Option<StopHandle>>,
    marks: Mutex<Vec<(Duration, Instant)>>,
}

impl Progress for MergeClock {
    fn event(&self, event: &RunEvent) {
        if let RunEvent::TaskCompleted { .. } = event {
            let mut marks = self.marks.lock().unwrap();
            marks.push((cpu(), Instant::now()));
            if marks.len() == self.stop_after
                && let Some(stop) = self.stop.lock().unwrap().as_ref()
            {
                stop.stop(StopLevel::Graceful);
            }
        }
    }
}

struct Measured {
    tasks: usize,
    merges: usize,
    open: Duration,
    start_up_cpu: Duration,
    per_merge_cpu: Duration,
    per_merge_wall: Duration,
}

fn measure(n: usize, merges: usize) -> Measured {
    let setup = Instant::now();
    let plan = plan(n);
    let repo = TempRepo::new();
    repo.write("README.md", "# scale\n");
    repo.commit_all("initial");
    std::fs::create_dir_all(repo.path().join(".orch")).unwrap();
    let mut store = Store::open(&repo.path().join(".orch/state.db")).unwrap();
    store.import_plan(&plan, false).unwrap();
    store.refresh_readiness().unwrap();
    drop(store);
    eprintln!(
        "  ({n} tasks: plan stored in {:.1} s)",
        setup.elapsed().as_secs_f64()
    );

    let mut config = Config::default();
    config.run.backend = "process".into();
    config.run.quality_gate = false;
    config.run.on_epic_complete = "leave".into();
    let mut options = EngineOptions::from_config(repo.path(), config).unwrap();
    options.parallel = PARALLEL;
    options.agent = Arc::new(ClaudeCode::with_program(
        fake_agent_path().display().to_string(),
    ));
    options.wait_for_answers = false;
    options.without_console_notifier().unwrap();
    let clock = Arc::new(MergeClock {
        stop_after: merges.min(n),
        stop: Mutex::new(None),
        marks: Mutex::new(Vec::new()),
    });
    options.progress = clock.clone();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let before_open = (cpu(), Instant::now());
    let report = runtime.block_on(async {
        let conductor = Conductor::open(options).unwrap();
        *clock.stop.lock().unwrap() = Some(conductor.stop_handle());
        conductor.run().await.unwrap()
    });
    let open = before_open.1.elapsed();
    let marks = clock.marks.lock().unwrap();
    assert!(
        marks.len() > WARM_UP + 10,
        "only {} merges ({:?})",
        marks.len(),
        report.outcome
    );
    // The window leaves out the last merges too: a plan's tail, where fewer tasks are ready,
    // is not the steady state.
    let end = (merges.min(n) - WARM_UP).min(marks.len());
    let first = marks[WARM_UP - 1];
    let last = marks[end - 1];
    let between = u32::try_from(end - WARM_UP).unwrap();
    Measured {
        tasks: n,
        merges: marks.len(),
        open,
        start_up_cpu: first.0 - before_open.0,
        per_merge_cpu: (last.0 - first.0) / between,
        per_merge_wall: (last.1 - first.1) / between,
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Temporary repositories go to memory when the machine has `/dev/shm`: on a disk that has
/// seen many files deleted, ext4's inode allocation alone can cost more than the
/// conductor, and differently from one run to the next.
#[allow(unsafe_code)]
fn prefer_memory_for_temporary_files() -> Option<std::path::PathBuf> {
    let shm = std::path::Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_some() || !shm.is_dir() {
        return None;
    }
    let dir = shm.join(format!("orch-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe { std::env::set_var("TMPDIR", &dir) };
    Some(dir)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let in_memory = prefer_memory_for_temporary_files();
    let sizes: Vec<usize> = arg("--tasks")
        .unwrap_or_else(|| "100,10000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("--tasks takes sizes like 100,10000")
        })
        .collect();
    let merges: usize = arg("--merges")
        .map(|s| s.parse().expect("--merges takes a number"))
        .unwrap_or(100);
    println!(
        "conductor cost per merged task: {PARALLEL} sessions, gate off, steady state from merge {WARM_UP}"
    );
    println!(
        "  {:>7} {:>7} {:>12} {:>14} {:>15} {:>10}",
        "tasks", "merges", "run (s)", "start-up CPU", "CPU per merge", "wall/merge"
    );
    let rounds: usize = arg("--rounds")
        .map(|s| s.parse().expect("--rounds takes a number"))
        .unwrap_or(3);
    let mut runs: Vec<Vec<Measured>> = sizes.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for (k, &n) in sizes.iter().enumerate() {
            let m = measure(n, merges);
            println!(
                "  {:>7} {:>7} {:>12.2} {:>11.0} ms {:>12.2} ms {:>7.1} ms   (round {round})",
                m.tasks,
                m.merges,
                m.open.as_secs_f64(),
                m.start_up_cpu.as_secs_f64() * 1e3,
                m.per_merge_cpu.as_secs_f64() * 1e3,
                m.per_merge_wall.as_secs_f64() * 1e3,
            );
            runs[k].push(m);
        }
    }
    let results: Vec<Measured> = runs
        .into_iter()
        .map(|mut r| {
            r.sort_by_key(|m| m.per_merge_cpu);
            r.swap_remove(r.len() / 2)
        })
        .collect();
    for m in &results {
        println!(
            "  median {:>7} tasks: {:.2} ms CPU per merged task, start-up {:.0} ms",
            m.tasks,
            m.per_merge_cpu.as_secs_f64() * 1e3,
            m.start_up_cpu.as_secs_f64() * 1e3
        );
    }
    if let (Some(small), Some(large)) = (results.first(), results.last())
        && results.len() > 1
    {
        println!(
            "  CPU per merged task, {} ÷ {} tasks: {:.2} (target ≤ 1.2)",
            large.tasks,
            small.tasks,
            large.per_merge_cpu.as_secs_f64() / small.per_merge_cpu.as_secs_f64()
        );
    }
    if let Some(dir) = in_memory {
        let _ = std::fs::remove_dir_all(dir);
    }
}
