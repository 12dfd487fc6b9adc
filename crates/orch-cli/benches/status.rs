//! `orch status --json` on a large store (issue 2): 10,000 tasks and 100,000 events, timed
//! end to end as a user runs it (process start, open, query, JSON out).
//!
//! Run: `cargo bench -p orch-agents --bench status`

use std::process::Command;
use std::time::{Duration, Instant};

use orch_core::{Event, TaskId, TaskStatus};
use orch_store::Store;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo)
        .status()
        .unwrap();
    assert!(git.success());
    std::fs::create_dir_all(repo.join(".orch")).unwrap();
    let plan = orch_testutils::large_plan(10_000, 1);
    let mut store = Store::open(&repo.join(".orch/state.db")).unwrap();
    store.import_plan(&plan, false).unwrap();
    let event_count = 100_000 - store.last_event_seq().unwrap() as usize;
    let events: Vec<Event> = (0..event_count)
        .map(|i| Event::LeaseReleased {
            owner: format!("filler-{i}"),
        })
        .collect();
    for chunk in events.chunks(10_000) {
        store.append_events(chunk).unwrap();
    }
    // Some real progress so the summary is not trivial.
    for i in 0..200 {
        let id = TaskId::new(format!("TASK-S-{i:05}")).unwrap();
        if store.task(&id).unwrap().task.status == TaskStatus::Pending {
            continue;
        }
        store.transition(&id, TaskStatus::Running, None).unwrap();
    }
    drop(store);

    let bin = env!("CARGO_BIN_EXE_orch");
    let mut times: Vec<Duration> = Vec::new();
    let mut bytes = 0;
    for _ in 0..11 {
        let start = Instant::now();
        let out = Command::new(bin)
            .arg("-C")
            .arg(repo)
            .args(["status", "--json"])
            .output()
            .unwrap();
        times.push(start.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bytes = out.stdout.len();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("orch status --json, 10,000 tasks + 100,000 events ({bytes} bytes of JSON):");
    println!(
        "  median {:.1} ms, min {:.1} ms, max {:.1} ms (target < 100 ms)",
        ms(times[5]),
        ms(times[0]),
        ms(times[10])
    );
}
