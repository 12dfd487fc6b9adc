use orch_core::{Event, TaskId, TaskStatus};
use orch_store::{StoreError, TaskFilter};

use crate::support::Fixture;

fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

#[test]
fn transitions_append_events_and_count_attempts() {
    let mut f = Fixture::with_plan();
    let db = id("TASK-DB-001");
    let e1 = f
        .store
        .transition(&db, TaskStatus::Ready, Some("deps"))
        .unwrap();
    let e2 = f.store.transition(&db, TaskStatus::Running, None).unwrap();
    f.store.transition(&db, TaskStatus::Failed, None).unwrap();
    f.store.transition(&db, TaskStatus::Ready, None).unwrap();
    f.store.transition(&db, TaskStatus::Running, None).unwrap();
    assert!(e2.seq > e1.seq);
    assert_eq!(f.store.task(&db).unwrap().task.attempts, 2);
    let events = f.store.events_since(1, 100).unwrap();
    assert_eq!(events.len(), 5);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        events[0].event,
        Event::TaskStatusChanged {
            task: db.clone(),
            from: TaskStatus::Pending,
            to: TaskStatus::Ready,
            reason: Some("deps".into())
        }
    );
    assert_eq!(f.store.events_since(0, 2).unwrap().len(), 2, "limit holds");
    assert_eq!(
        f.store
            .events_since(f.store.last_event_seq().unwrap(), 10)
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn illegal_transition_writes_nothing() {
    let mut f = Fixture::with_plan();
    let seq = f.store.last_event_seq().unwrap();
    let err = f
        .store
        .transition(&id("TASK-API-001"), TaskStatus::Completed, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "task TASK-API-001: illegal transition pending → completed (from pending a task may go to: ready, blocked, skipped, cancelled)"
    );
    assert_eq!(
        f.store.task(&id("TASK-API-001")).unwrap().task.status,
        TaskStatus::Pending
    );
    assert_eq!(f.store.last_event_seq().unwrap(), seq);
    let err = f
        .store
        .transition(&id("TASK-NO-001"), TaskStatus::Ready, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownTask { .. }));
}

#[test]
fn queries_and_summary() {
    let mut f = Fixture::with_plan();
    let summary = f.store.summary().unwrap();
    assert_eq!(
        (summary.total, summary.epics, summary.wave_count),
        (4, 2, 3)
    );
    assert_eq!(summary.current_wave, Some(1));
    assert_eq!(summary.by_status[&TaskStatus::Pending], 4);
    assert_eq!(summary.by_status.len(), TaskStatus::ALL.len());

    let db = id("TASK-DB-001");
    for s in [
        TaskStatus::Ready,
        TaskStatus::Running,
        TaskStatus::Verifying,
        TaskStatus::Merging,
        TaskStatus::Completed,
    ] {
        f.store.transition(&db, s, None).unwrap();
    }
    let summary = f.store.summary().unwrap();
    assert_eq!(summary.current_wave, Some(2));
    assert_eq!(summary.by_status[&TaskStatus::Completed], 1);

    let api = f
        .store
        .tasks(&TaskFilter {
            epic: Some(orch_core::EpicId::new("API").unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(api.len(), 3);
    let wave2 = f
        .store
        .tasks(&TaskFilter {
            wave: Some(2),
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<&str> = wave2.iter().map(|r| r.task.id.as_str()).collect();
    assert_eq!(ids, ["TASK-API-001", "TASK-API-002"]);
    let done = f
        .store
        .tasks(&TaskFilter {
            statuses: Some(vec![TaskStatus::Completed]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(done.len(), 1);
    assert!(
        f.store
            .tasks(&TaskFilter {
                statuses: Some(vec![]),
                ..Default::default()
            })
            .unwrap()
            .is_empty()
    );
}

#[test]
fn timestamps_come_from_the_clock() {
    let mut f = Fixture::with_plan();
    f.clock.advance(time::Duration::minutes(5));
    let event = f
        .store
        .transition(&id("TASK-DB-001"), TaskStatus::Ready, None)
        .unwrap();
    assert_eq!(event.at, orch_core::Clock::now(&*f.clock));
    assert_eq!(
        f.store.task(&id("TASK-DB-001")).unwrap().updated_at,
        event.at
    );
}

#[test]
fn the_latest_event_of_a_kind() {
    let mut f = Fixture::with_plan();
    assert_eq!(f.store.latest_event("run_started").unwrap(), None);
    let started = |run: &str| Event::RunStarted {
        run: run.into(),
        parallel: 2,
        agent: "claude".into(),
        recovered: 0,
    };
    f.store.append_event(&started("run-1")).unwrap();
    let second = f.store.append_event(&started("run-2")).unwrap();
    f.store
        .transition(&id("TASK-DB-001"), TaskStatus::Ready, None)
        .unwrap();
    let latest = f.store.latest_event("run_started").unwrap().unwrap();
    assert_eq!(latest.seq, second.seq);
    assert_eq!(latest.event, started("run-2"));
    assert_eq!(f.store.latest_event("no_such_kind").unwrap(), None);
}

#[test]
fn several_moves_go_in_together_or_not_at_all() {
    let mut f = Fixture::with_plan();
    let (db, api) = (id("TASK-DB-001"), id("TASK-API-001"));
    let seq = f.store.last_event_seq().unwrap();
    // The second move is illegal: the first is not kept either.
    let err = f
        .store
        .transition_all(&[
            (db.clone(), TaskStatus::Ready, "deps"),
            (api.clone(), TaskStatus::Completed, "no"),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    assert_eq!(f.store.task(&db).unwrap().task.status, TaskStatus::Pending);
    assert_eq!(f.store.last_event_seq().unwrap(), seq);

    let events = f
        .store
        .transition_all(&[
            (db.clone(), TaskStatus::Ready, "deps"),
            (db.clone(), TaskStatus::Running, "go"),
            (api.clone(), TaskStatus::Ready, "deps"),
        ])
        .unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(f.store.task(&db).unwrap().task.status, TaskStatus::Running);
    assert_eq!(f.store.task(&db).unwrap().task.attempts, 1);
    assert_eq!(f.store.task(&api).unwrap().task.status, TaskStatus::Ready);
    assert!(f.store.transition_all(&[]).unwrap().is_empty());
}
