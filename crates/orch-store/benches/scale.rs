//! Scale benchmark of the store (issue 2): a 10,000-task plan.
//!
//! 1. validate + waves + import into a fresh database + one full scheduling pass;
//! 2. with 100,000 events in the log: `summary()` + `tasks()` + JSON, the work behind
//!    `orch status --json` (the CLI bench `cargo bench -p orch-agents --bench status` times the
//!    whole command).
//!
//! Run: `cargo bench -p orch-store --bench scale`

use std::time::{Duration, Instant};

use orch_core::{Event, TaskStatus, next_tasks};
use orch_store::{Store, TaskFilter};

fn median(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[times.len() / 2]), ms(times[0]))
}

fn main() {
    let plan = orch_testutils::large_plan(10_000, 1);
    let dir = tempfile::tempdir().unwrap();

    let mut import_times = Vec::new();
    for run in 0..7 {
        let path = dir.path().join(format!("import-{run}.db"));
        let mut store = Store::open(&path).unwrap();
        let start = Instant::now();
        let graph = plan.validate().unwrap();
        let waves = graph.waves();
        store.import_validated(&plan, &graph, false).unwrap();
        let statuses = vec![TaskStatus::Pending; graph.len()];
        let picks = next_tasks(&graph, &statuses, 3);
        import_times.push(start.elapsed());
        std::hint::black_box((waves, picks));
    }
    let t = Instant::now();
    let fp = plan.content_fingerprint();
    println!(
        "  (fingerprint alone: {:.1} ms, {fp})",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let _ = plan.validate().unwrap();
    println!(
        "  (validate alone: {:.1} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let (med, min) = median(import_times);
    println!(
        "10,000 tasks: validate + waves + import + scheduling pass: median {med:.1} ms, min {min:.1} ms (target < 100 ms)"
    );

    let path = dir.path().join("status.db");
    let mut store = Store::open(&path).unwrap();
    store.import_plan(&plan, false).unwrap();
    let filler: Vec<Event> = (0..10_000)
        .map(|i| Event::LeaseReleased {
            owner: format!("filler-{i}"),
        })
        .collect();
    while store.last_event_seq().unwrap() < 100_000 {
        let missing = (100_000 - store.last_event_seq().unwrap()) as usize;
        store
            .append_events(&filler[..missing.min(filler.len())])
            .unwrap();
    }
    let mut status_times = Vec::new();
    let mut bytes = 0;
    for _ in 0..11 {
        let start = Instant::now();
        let reader = Store::open_existing(&path).unwrap();
        let summary = reader.summary().unwrap();
        let tasks = reader.tasks(&TaskFilter::default()).unwrap();
        let json = serde_json::to_string(&(summary, tasks)).unwrap();
        status_times.push(start.elapsed());
        bytes = json.len();
    }
    let (med, min) = median(status_times);
    println!(
        "10,000 tasks + 100,000 events: open + summary + tasks + JSON ({bytes} bytes): median {med:.1} ms, min {min:.1} ms (target < 100 ms)"
    );
}
