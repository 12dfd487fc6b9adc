use orch_core::{TaskId, TaskStatus, next_tasks, priority_key};
use proptest::prelude::*;

use crate::support::{dag, plan_from_edges, task_id};

fn status() -> impl Strategy<Value = TaskStatus> {
    prop::sample::select(TaskStatus::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_starts_open_or_conflicting_tasks(
        (deps, est) in dag(),
        statuses in proptest::collection::vec(status(), 40),
        conflict_seeds in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..10),
        slots in 0usize..6,
    ) {
        let n = deps.len();
        let mut plan = plan_from_edges(&deps, &est);
        for (a, b) in &conflict_seeds {
            let (a, b) = (a.index(n), b.index(n));
            if a != b {
                plan.tasks[a].conflicts_with.push(task_id(b));
            }
        }
        for t in &mut plan.tasks {
            t.conflicts_with.sort();
            t.conflicts_with.dedup();
        }
        let g = plan.validate().unwrap();
        let statuses = &statuses[..n];
        let picked = next_tasks(&g, statuses, slots);

        prop_assert!(picked.len() <= slots);
        for (k, &i) in picked.iter().enumerate() {
            prop_assert!(matches!(statuses[i], TaskStatus::Pending | TaskStatus::Ready));
            if statuses[i] == TaskStatus::Pending {
                for &d in g.deps(i) {
                    prop_assert_eq!(statuses[d], TaskStatus::Completed, "open dependency");
                }
            }
            for c in g.conflicts(i) {
                prop_assert!(!statuses[c].holds_work(), "conflicts with an active task");
                prop_assert!(!picked[..k].contains(&c), "two conflicting picks");
            }
        }
        // Best first, and nothing startable left behind without a reason.
        for pair in picked.windows(2) {
            prop_assert!(priority_key(&g, pair[0]) < priority_key(&g, pair[1]));
        }
        if picked.len() < slots {
            for i in 0..n {
                let startable = orch_core::dependencies_met(&g, statuses, i);
                if startable && !picked.contains(&i) {
                    let blocked = g.conflicts(i).iter().any(|&c| statuses[c].holds_work() || picked.contains(&c));
                    prop_assert!(blocked, "task {i} could have started");
                }
            }
        }
        // Deterministic.
        prop_assert_eq!(next_tasks(&g, statuses, slots), picked);
    }
}

#[test]
fn ids_are_stable() {
    assert_eq!(task_id(7), TaskId::new("TASK-P-007").unwrap());
}
