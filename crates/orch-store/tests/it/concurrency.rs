//! Two real processes on one database: a writer (this test binary re-executed) and a reader.

use std::process::{Command, Stdio};

use orch_core::{Event, TaskId, TaskStatus};
use orch_store::Store;

const CHILD_ENV: &str = "ORCH_STORE_TEST_WRITER_DB";
const WRITES: usize = 400;

/// Acts as the writer when started by `writer_and_reader_in_two_processes`; otherwise a no-op.
#[test]
fn writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open_existing(std::path::Path::new(&path)).unwrap();
    let id = TaskId::new("TASK-DB-001").unwrap();
    store.transition(&id, TaskStatus::Ready, None).unwrap();
    for i in 0..WRITES {
        if i % 2 == 0 {
            store.transition(&id, TaskStatus::Running, None).unwrap();
        } else {
            store.transition(&id, TaskStatus::Failed, None).unwrap();
            store.transition(&id, TaskStatus::Ready, None).unwrap();
        }
        store
            .append_event(&Event::LeaseReleased {
                owner: format!("w{i}"),
            })
            .unwrap();
    }
}

#[test]
fn writer_and_reader_in_two_processes() {
    let f = crate::support::Fixture::with_plan();
    let path = f.db();
    drop(f.store);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "concurrency::writer_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let reader = Store::open_existing(&path).unwrap();
    let mut last_seq = 0;
    let mut reads = 0;
    loop {
        let finished = child.try_wait().unwrap().is_some();
        // Every read sees a consistent state: the log only grows, in order.
        let summary = reader.summary().unwrap();
        assert_eq!(summary.total, 4);
        let events = reader.events_since(last_seq, 10_000).unwrap();
        for e in &events {
            assert!(e.seq > last_seq);
            last_seq = e.seq;
        }
        reads += 1;
        if finished {
            break;
        }
    }
    assert!(child.wait().unwrap().success(), "writer failed");
    // import + Ready + per pair: Running, Failed, Ready, and one filler event per write
    let expected = 1 + 1 + (WRITES / 2) * 3 + WRITES;
    assert_eq!(reader.last_event_seq().unwrap() as usize, expected);
    assert_eq!(last_seq as usize, expected);
    let task = reader
        .task(&TaskId::new("TASK-DB-001").unwrap())
        .unwrap()
        .task;
    assert_eq!(task.attempts as usize, WRITES / 2);
    assert!(reads > 1);
}
