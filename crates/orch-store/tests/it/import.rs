use orch_core::{TaskId, TaskStatus};
use orch_store::{ImportOutcome, SCHEMA_VERSION, Store, StoreError};

use crate::support::{Fixture, plan};

#[test]
fn import_and_read_back() {
    let mut f = Fixture::new();
    assert_eq!(f.store.plan().unwrap(), None);
    let outcome = f.store.import_plan(&plan(), false).unwrap();
    assert_eq!(outcome, ImportOutcome::Imported { seq: 1 });
    assert_eq!(f.store.plan().unwrap().unwrap(), plan());
    let info = f.store.plan_info().unwrap().unwrap();
    assert_eq!(
        (info.name.as_str(), info.epics, info.tasks),
        ("store-test", 2, 4)
    );
    assert_eq!(
        f.store
            .task(&TaskId::new("TASK-API-003").unwrap())
            .unwrap()
            .wave,
        3
    );
    assert_eq!(f.store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn plan_comes_back_with_current_state() {
    let mut f = Fixture::with_plan();
    let id = TaskId::new("TASK-DB-001").unwrap();
    f.store.transition(&id, TaskStatus::Ready, None).unwrap();
    f.store.transition(&id, TaskStatus::Running, None).unwrap();
    let stored = f.store.plan().unwrap().unwrap();
    let task = stored.task(&id).unwrap();
    assert_eq!((task.status, task.attempts), (TaskStatus::Running, 1));
    // same content: the fingerprint ignores run state
    assert_eq!(stored.content_fingerprint(), plan().content_fingerprint());
}

#[test]
fn reimport_is_idempotent() {
    let mut f = Fixture::with_plan();
    let seq = f.store.last_event_seq().unwrap();
    assert_eq!(
        f.store.import_plan(&plan(), false).unwrap(),
        ImportOutcome::Unchanged
    );
    assert_eq!(
        f.store.import_plan(&plan(), true).unwrap(),
        ImportOutcome::Unchanged
    );
    assert_eq!(
        f.store.last_event_seq().unwrap(),
        seq,
        "no event for a no-op"
    );
}

#[test]
fn different_plan_refused_then_replaced_only_before_start() {
    let mut f = Fixture::with_plan();
    let mut other = plan();
    other.name = "other".into();
    let err = f.store.import_plan(&other, false).unwrap_err();
    assert!(
        matches!(err, StoreError::PlanConflict { started: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--replace"), "{err}");
    assert_eq!(f.store.plan().unwrap().unwrap().name, "store-test");

    let outcome = f.store.import_plan(&other, true).unwrap();
    assert!(
        matches!(outcome, ImportOutcome::Replaced { ref previous, .. } if previous == "store-test")
    );

    let id = TaskId::new("TASK-DB-001").unwrap();
    f.store.transition(&id, TaskStatus::Ready, None).unwrap();
    f.store.transition(&id, TaskStatus::Running, None).unwrap();
    let err = f.store.import_plan(&plan(), true).unwrap_err();
    assert!(
        matches!(err, StoreError::PlanConflict { started: 1, .. }),
        "{err}"
    );
    assert_eq!(f.store.plan().unwrap().unwrap().name, "other");
}

#[test]
fn replace_refused_while_a_runner_is_live() {
    let mut f = Fixture::with_plan();
    f.store
        .acquire_lease("runner-a", std::time::Duration::from_secs(30))
        .unwrap();
    let mut other = plan();
    other.name = "other".into();
    let err = f.store.import_plan(&other, true).unwrap_err();
    assert!(err.to_string().contains("runner holds the lease"), "{err}");
}

#[test]
fn failed_import_leaves_nothing() {
    let mut f = Fixture::new();
    let mut cyclic = plan();
    cyclic.tasks[0].depends_on = vec![TaskId::new("TASK-API-003").unwrap()];
    let err = f.store.import_plan(&cyclic, false).unwrap_err();
    assert!(matches!(err, StoreError::InvalidPlan(_)), "{err}");
    let mut unknown = plan();
    unknown.tasks[1].depends_on = vec![TaskId::new("TASK-XX-999").unwrap()];
    assert!(f.store.import_plan(&unknown, false).is_err());
    assert_eq!(f.store.plan().unwrap(), None);
    assert_eq!(f.store.last_event_seq().unwrap(), 0);

    // and over an existing plan, a failed import changes nothing either
    f.store.import_plan(&plan(), false).unwrap();
    let seq = f.store.last_event_seq().unwrap();
    assert!(f.store.import_plan(&cyclic, true).is_err());
    assert_eq!(f.store.plan().unwrap().unwrap(), plan());
    assert_eq!(f.store.last_event_seq().unwrap(), seq);
}

#[test]
fn readers_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let err = Store::open_existing(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotInitialized { .. }));
    assert!(!path.exists());
}

#[test]
fn newer_schema_is_refused() {
    let f = Fixture::new();
    let path = f.db();
    drop(f.store);
    // Tamper with the file as a newer orch would have left it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade orch"), "{err}");
}
