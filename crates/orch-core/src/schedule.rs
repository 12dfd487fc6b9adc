//! The scheduling policy: which tasks start now.
//!
//! A task may start when every dependency is `Completed` (no waiting for the rest of its
//! wave), no task it conflicts with is active, and a slot is free. Among those, the task with
//! the longest remaining critical path goes first (the classic critical-path list-scheduling
//! rule), then higher priority, then plan order. The result is a pure function of its
//! inputs: the same plan and statuses always give the same answer.

use std::cmp::Reverse;

use crate::graph::DepGraph;
use crate::status::TaskStatus;

/// Whether task `i` could start as far as its dependencies go: it is `Ready`, or `Pending`
/// with every dependency `Completed`.
pub fn dependencies_met(graph: &DepGraph, statuses: &[TaskStatus], i: usize) -> bool {
    match statuses[i] {
        TaskStatus::Ready => true,
        TaskStatus::Pending => graph
            .deps(i)
            .iter()
            .all(|&d| statuses[d] == TaskStatus::Completed),
        _ => false,
    }
}

/// Where a `Pending` task should move now, if anywhere: `Blocked` when a dependency can never
/// complete (`Skipped`, `Cancelled` or `Blocked`), `Ready` when every dependency is
/// `Completed`. The one rule behind [`newly_ready`], [`newly_blocked`] and
/// [`TaskBoard::take_readiness_moves`](crate::TaskBoard::take_readiness_moves).
pub fn readiness_move(graph: &DepGraph, statuses: &[TaskStatus], i: usize) -> Option<TaskStatus> {
    if statuses[i] != TaskStatus::Pending {
        return None;
    }
    let deps = graph.deps(i);
    if deps.iter().any(|&d| {
        matches!(
            statuses[d],
            TaskStatus::Skipped | TaskStatus::Cancelled | TaskStatus::Blocked
        )
    }) {
        Some(TaskStatus::Blocked)
    } else if deps.iter().all(|&d| statuses[d] == TaskStatus::Completed) {
        Some(TaskStatus::Ready)
    } else {
        None
    }
}

/// `Pending` tasks whose dependencies are all `Completed`: they should move to `Ready`.
pub fn newly_ready(graph: &DepGraph, statuses: &[TaskStatus]) -> Vec<usize> {
    (0..graph.len())
        .filter(|&i| readiness_move(graph, statuses, i) == Some(TaskStatus::Ready))
        .collect()
}

/// `Pending` tasks with a dependency that will never complete (`Skipped`,
/// `Cancelled` or `Blocked`): they should move to `Blocked` until someone decides.
pub fn newly_blocked(graph: &DepGraph, statuses: &[TaskStatus]) -> Vec<usize> {
    (0..graph.len())
        .filter(|&i| readiness_move(graph, statuses, i) == Some(TaskStatus::Blocked))
        .collect()
}

/// The order in which startable tasks are preferred: longest remaining critical path, then
/// priority, then plan order.
pub fn priority_key(graph: &DepGraph, i: usize) -> (Reverse<u64>, Reverse<crate::Priority>, usize) {
    (
        Reverse(graph.remaining_critical_path(i)),
        Reverse(graph.priority(i)),
        i,
    )
}

/// Picks at most `free_slots` tasks to start now, best first.
///
/// `statuses[i]` is the status of task `i` of `graph`. A picked task never conflicts with an
/// task holding unmerged work (`Running`, `Verifying`, `AwaitingReview`, `Merging`) nor with
/// another pick.
pub fn next_tasks(graph: &DepGraph, statuses: &[TaskStatus], free_slots: usize) -> Vec<usize> {
    assert_eq!(statuses.len(), graph.len(), "one status per task");
    if free_slots == 0 {
        return Vec::new();
    }
    let mut candidates: Vec<usize> = (0..graph.len())
        .filter(|&i| dependencies_met(graph, statuses, i))
        .collect();
    candidates.sort_unstable_by_key(|&i| priority_key(graph, i));

    // Checked against the few active tasks and picks, never against all conflicts.
    let mut busy: Vec<usize> = (0..graph.len())
        .filter(|&i| statuses[i].holds_work())
        .collect();
    let mut picked = Vec::with_capacity(free_slots.min(candidates.len()));
    for i in candidates {
        if !graph.clashes_with(i, &busy) {
            busy.push(i);
            picked.push(i);
            if picked.len() == free_slots {
                break;
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{EpicId, TaskId};
    use crate::plan::{Epic, Plan, Task};
    use TaskStatus::*;

    fn plan() -> Plan {
        let epic = EpicId::new("E").unwrap();
        let mk = |id: &str, est: u32, deps: &[&str]| {
            let mut t = Task::new(TaskId::new(id).unwrap(), id, epic.clone());
            t.estimate_minutes = est;
            t.depends_on = deps.iter().map(|d| TaskId::new(*d).unwrap()).collect();
            t
        };
        Plan {
            version: 1,
            name: "s".into(),
            strategy: None,
            epics: vec![Epic {
                review: None,
                id: epic.clone(),
                name: "e".into(),
                goal: String::new(),
                strategy: None,
            }],
            tasks: vec![
                mk("short", 10, &[]),
                mk("long", 30, &[]),
                mk("after-long", 50, &["long"]),
                mk("after-short", 5, &["short"]),
            ],
        }
    }

    #[test]
    fn longest_remaining_path_first() {
        let g = plan().validate().unwrap();
        let statuses = vec![Pending; 4];
        assert_eq!(next_tasks(&g, &statuses, 1), vec![1]);
        assert_eq!(next_tasks(&g, &statuses, 5), vec![1, 0]);
    }

    #[test]
    fn no_wave_barrier() {
        let g = plan().validate().unwrap();
        // `short` is done while `long` still runs: its dependent starts at once.
        let statuses = vec![Completed, Running, Pending, Pending];
        assert_eq!(next_tasks(&g, &statuses, 2), vec![3]);
        assert_eq!(newly_ready(&g, &statuses), vec![3]);
    }

    #[test]
    fn conflicts_are_respected() {
        let mut p = plan();
        p.tasks[0].conflicts_with = vec![TaskId::new("long").unwrap()];
        let g = p.validate().unwrap();
        assert_eq!(next_tasks(&g, &[Pending; 4], 2), vec![1]);
        assert_eq!(
            next_tasks(&g, &[Pending, Verifying, Pending, Pending], 2),
            Vec::<usize>::new()
        );
        assert_eq!(
            next_tasks(&g, &[Pending, Completed, Pending, Pending], 2),
            vec![2, 0]
        );
    }

    #[test]
    fn blocked_detection() {
        let g = plan().validate().unwrap();
        assert_eq!(
            newly_blocked(&g, &[Skipped, Pending, Pending, Pending]),
            vec![3]
        );
    }
}
