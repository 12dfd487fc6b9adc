use TaskStatus::*;
use orch_core::{TaskStatus, transition};
use proptest::prelude::*;

/// The table of DESIGN §6, written out independently of the implementation.
fn spec_allows(from: TaskStatus, to: TaskStatus) -> bool {
    let allowed: &[TaskStatus] = match from {
        Pending => &[Ready, Blocked, Skipped, Cancelled],
        Ready => &[Running, Skipped, Cancelled],
        Running => &[Verifying, Failed, Escalated],
        Verifying => &[Merging, AwaitingReview, Failed, Escalated],
        AwaitingReview => &[Merging, Failed, Skipped, Cancelled],
        Merging => &[Completed, Failed, Escalated],
        Failed => &[Ready, Escalated, Skipped, Cancelled],
        Escalated => &[Ready, Completed, Skipped, Cancelled],
        Blocked => &[Pending, Ready, Skipped, Cancelled],
        Completed | Skipped | Cancelled => &[],
    };
    allowed.contains(&to)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_accepts_an_illegal_move(targets in proptest::collection::vec(prop::sample::select(TaskStatus::ALL.to_vec()), 0..64)) {
        let mut current = Pending;
        let mut reached_terminal = false;
        for to in targets {
            match transition(current, to) {
                Ok(next) => {
                    prop_assert!(spec_allows(current, to), "accepted {current} → {to}");
                    prop_assert!(!reached_terminal);
                    prop_assert_eq!(next, to);
                    current = next;
                    reached_terminal = current.is_terminal();
                }
                Err(err) => {
                    prop_assert!(!spec_allows(current, to), "refused legal {current} → {to}");
                    prop_assert_eq!(err.from, current);
                    prop_assert_eq!(err.to, to);
                }
            }
        }
    }
}

#[test]
fn running_is_reachable_only_through_ready() {
    for from in TaskStatus::ALL {
        assert_eq!(transition(from, Running).is_ok(), from == Ready, "{from}");
    }
}
