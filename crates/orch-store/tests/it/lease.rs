use std::time::Duration;

use orch_core::Event;
use orch_store::StoreError;

use crate::support::Fixture;

const STALE: Duration = Duration::from_secs(30);

#[test]
fn second_runner_refused_while_fresh_then_takes_over_when_stale() {
    let mut f = Fixture::new();
    let a = f.store.acquire_lease("runner-a", STALE).unwrap();
    f.clock.advance(time::Duration::seconds(10));
    f.store.heartbeat(&a).unwrap();
    f.clock.advance(time::Duration::seconds(20));
    let err = f.store.acquire_lease("runner-b", STALE).unwrap_err();
    match &err {
        StoreError::LeaseHeld {
            owner,
            heartbeat_age_secs,
            ..
        } => {
            assert_eq!((owner.as_str(), *heartbeat_age_secs), ("runner-a", 20));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        err.to_string()
            .contains("another runner is active: runner-a"),
        "{err}"
    );

    f.clock.advance(time::Duration::seconds(11));
    let b = f.store.acquire_lease("runner-b", STALE).unwrap();
    assert_eq!(f.store.lease().unwrap().unwrap().owner, "runner-b");
    let err = f.store.heartbeat(&a).unwrap_err();
    assert!(
        matches!(err, StoreError::LeaseLost { ref taken_by, .. } if taken_by == "runner-b"),
        "{err}"
    );
    // the old owner's release must not free the new owner's lease
    f.store.release_lease(a).unwrap();
    assert_eq!(f.store.lease().unwrap().unwrap().owner, "runner-b");

    let kinds: Vec<Event> = f
        .store
        .events_since(0, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(kinds.iter().any(|e| matches!(e, Event::LeaseAcquired { owner, took_over_from: Some(prev), .. } if owner == "runner-b" && prev == "runner-a")));

    f.store.release_lease(b).unwrap();
    assert_eq!(f.store.lease().unwrap(), None);
    f.store.acquire_lease("runner-c", STALE).unwrap();
}

#[test]
fn same_owner_reacquires() {
    let mut f = Fixture::new();
    f.store.acquire_lease("runner-a", STALE).unwrap();
    let before = f.store.lease().unwrap().unwrap();
    f.clock.advance(time::Duration::seconds(5));
    f.store.acquire_lease("runner-a", STALE).unwrap();
    let after = f.store.lease().unwrap().unwrap();
    assert_eq!(after.acquired_at, before.acquired_at);
    assert!(after.heartbeat_at > before.heartbeat_at);
    assert_eq!(
        f.store.events_since(0, 10).unwrap().len(),
        1,
        "one acquisition event"
    );
}
