use std::sync::{Arc, Barrier};

use orch_core::{Event, TaskId, TaskStatus};
use orch_store::{ReviewVerdict, Store, StoreError};

use crate::support::Fixture;

fn awaiting_review(f: &mut Fixture, task: &TaskId) {
    for to in [
        TaskStatus::Ready,
        TaskStatus::Running,
        TaskStatus::Verifying,
        TaskStatus::AwaitingReview,
    ] {
        f.store.transition(task, to, None).unwrap();
    }
    f.store.request_review(task, 1, "abc123", "base00").unwrap();
}

#[test]
fn a_review_is_decided_once_and_the_second_reviewer_is_told_who_was_first() {
    let mut f = Fixture::with_plan();
    let task = TaskId::new("TASK-DB-001").unwrap();
    // Not waiting: nothing to decide.
    let err = f
        .store
        .decide_review(&task, ReviewVerdict::Approved, "cli", None)
        .unwrap_err();
    assert!(matches!(err, StoreError::NoReview { .. }), "{err}");
    awaiting_review(&mut f, &task);
    assert_eq!(f.store.reviews(true).unwrap().len(), 1);

    // Two clients on their own connections press at the same moment.
    let db = f.db();
    let barrier = Arc::new(Barrier::new(2));
    let presses: Vec<_> = [
        (ReviewVerdict::Approved, "dashboard"),
        (ReviewVerdict::Rejected, "slack"),
    ]
    .into_iter()
    .map(|(verdict, by)| {
        let (db, barrier, task) = (db.clone(), Arc::clone(&barrier), task.clone());
        std::thread::spawn(move || {
            let mut store = Store::open_existing(&db).unwrap();
            barrier.wait();
            store.decide_review(&task, verdict, by, Some("needs tests"))
        })
    })
    .collect();
    let results: Vec<_> = presses.into_iter().map(|p| p.join().unwrap()).collect();
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "exactly one decision: {results:?}");
    let winner = won[0].decided_by.clone().unwrap();
    let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    match lost {
        StoreError::ReviewDecided { by, .. } => assert_eq!(*by, winner),
        other => panic!("unexpected {other}"),
    }
    let decided = f.store.decided_reviews().unwrap();
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].sha, "abc123");
    let events = f.store.events_since(0, 1000).unwrap();
    let decisions = events
        .iter()
        .filter(|e| matches!(e.event, Event::ReviewDecided { .. }))
        .count();
    assert_eq!(decisions, 1);

    f.store.mark_review_applied(&task, 1).unwrap();
    assert!(f.store.decided_reviews().unwrap().is_empty());
    assert!(f.store.review(&task).unwrap().unwrap().applied);
}
