use orch_core::{Event, TaskId};
use orch_store::StoreError;

use crate::support::Fixture;

#[test]
fn save_list_and_compare_and_swap() {
    let mut f = Fixture::with_plan();
    let task = TaskId::new("TASK-DB-001").unwrap();
    let open = r#"{"id":"PM-0001","state":"open"}"#;
    let event = f
        .store
        .save_message("PM-0001", &task, "open", open)
        .unwrap();
    assert_eq!(
        event.event,
        Event::MessageChanged {
            message: "PM-0001".into(),
            task: task.clone(),
            state: "open".into()
        }
    );
    let stored = f.store.messages().unwrap();
    assert_eq!((stored.len(), stored[0].json.as_str()), (1, open));

    // the runner expires it while a human is answering the copy they read
    let expired = r#"{"id":"PM-0001","state":"expired"}"#;
    f.store
        .save_message("PM-0001", &task, "expired", expired)
        .unwrap();
    let seq = f.store.last_event_seq().unwrap();
    let decided = r#"{"id":"PM-0001","state":"decided"}"#;
    let err = f
        .store
        .update_message_if("PM-0001", open, &task, "decided", decided)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MessageChanged { ref state, .. } if state == "expired"),
        "{err}"
    );
    assert_eq!(f.store.messages().unwrap()[0].json, expired);
    assert_eq!(f.store.last_event_seq().unwrap(), seq, "nothing written");

    f.store
        .update_message_if("PM-0001", expired, &task, "decided", decided)
        .unwrap();
    assert_eq!(f.store.messages().unwrap()[0].state, "decided");
    let err = f
        .store
        .update_message_if("PM-0404", open, &task, "decided", decided)
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownMessage { .. }));
}
