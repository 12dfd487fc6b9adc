//! The scheduling state of a run, kept up to date one status change at a time.
//!
//! [`next_tasks`](crate::next_tasks) looks at every task of the plan on every call: fine for
//! a one-off answer, too much for a run loop that asks after every merge of a 10,000-task
//! plan. A [`TaskBoard`] keeps, beside the statuses, the tasks that could start (ordered by
//! the scheduling policy) and the tasks holding unmerged work, and updates both when a
//! status changes. Picking then costs what it looks at, not the size of the plan, and gives
//! the same answer as `next_tasks` on the same statuses.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::graph::DepGraph;
use crate::plan::Priority;
use crate::schedule::{dependencies_met, priority_key, readiness_move};
use crate::status::TaskStatus;

type Key = (Reverse<u64>, Reverse<Priority>, usize);

/// Statuses of a plan's tasks with the indexes the scheduler needs.
///
/// ```
/// use orch_core::{Epic, EpicId, Plan, Task, TaskBoard, TaskId, TaskStatus};
///
/// let epic = EpicId::new("E").unwrap();
/// let mut b = Task::new(TaskId::new("b").unwrap(), "B", epic.clone());
/// b.depends_on = vec![TaskId::new("a").unwrap()];
/// let plan = Plan {
///     version: 1,
///     name: "p".into(),
///     strategy: None,
///     epics: vec![Epic { id: epic.clone(), name: "E".into(), goal: String::new(), strategy: None, review: None }],
///     tasks: vec![Task::new(TaskId::new("a").unwrap(), "A", epic), b],
/// };
/// let mut board = TaskBoard::new(plan.validate().unwrap(), vec![TaskStatus::Pending; 2]);
/// assert_eq!(board.pick(4, |_| false), vec![0]);
/// board.set(0, TaskStatus::Completed);
/// // `b` may move to Ready now that its dependency is done.
/// assert_eq!(board.take_readiness_moves(), vec![(1, TaskStatus::Ready)]);
/// ```
#[derive(Debug, Clone)]
pub struct TaskBoard {
    graph: DepGraph,
    statuses: Vec<TaskStatus>,
    /// Tasks whose dependencies are met (`Ready`, or `Pending` with every dependency
    /// completed), best first.
    startable: BTreeSet<Key>,
    /// Tasks holding unmerged work: nothing that conflicts with them may start.
    holding: BTreeSet<usize>,
    /// Tasks whose status changed since the last [`TaskBoard::take_readiness_moves`].
    changed: Vec<usize>,
}

impl TaskBoard {
    /// A board over `graph` with one status per task.
    ///
    /// # Panics
    /// When `statuses` does not have one entry per task of `graph`.
    pub fn new(graph: DepGraph, statuses: Vec<TaskStatus>) -> TaskBoard {
        assert_eq!(statuses.len(), graph.len(), "one status per task");
        let mut board = TaskBoard {
            startable: BTreeSet::new(),
            holding: BTreeSet::new(),
            changed: (0..statuses.len()).collect(),
            graph,
            statuses,
        };
        for i in 0..board.statuses.len() {
            board.reindex(i);
        }
        board
    }

    /// The dependency graph the board is kept for.
    pub fn graph(&self) -> &DepGraph {
        &self.graph
    }

    /// Every task's status, by graph index.
    pub fn statuses(&self) -> &[TaskStatus] {
        &self.statuses
    }

    /// Task `i`'s status.
    pub fn status(&self, i: usize) -> TaskStatus {
        self.statuses[i]
    }

    /// Sets task `i`'s status (no state-machine check: the caller has made the move) and
    /// updates what could start: `i` itself and, when `i` reached or left `Completed`, the
    /// tasks depending on it.
    pub fn set(&mut self, i: usize, status: TaskStatus) {
        let before = self.statuses[i];
        if before == status {
            return;
        }
        self.statuses[i] = status;
        self.changed.push(i);
        self.reindex(i);
        if (before == TaskStatus::Completed) != (status == TaskStatus::Completed) {
            for k in 0..self.graph.dependents(i).len() {
                let d = self.graph.dependents(i)[k];
                self.reindex(d);
            }
        }
    }

    fn reindex(&mut self, i: usize) {
        let key = priority_key(&self.graph, i);
        if dependencies_met(&self.graph, &self.statuses, i) {
            self.startable.insert(key);
        } else {
            self.startable.remove(&key);
        }
        if self.statuses[i].holds_work() {
            self.holding.insert(i);
        } else {
            self.holding.remove(&i);
        }
    }

    /// Tasks that could start as far as their dependencies go, best first.
    pub fn startable(&self) -> impl Iterator<Item = usize> + '_ {
        self.startable.iter().map(|k| k.2)
    }

    /// Whether some task holds unmerged work (`Running`, `Verifying`, `AwaitingReview`,
    /// `Merging`).
    pub fn holding(&self) -> impl Iterator<Item = usize> + '_ {
        self.holding.iter().copied()
    }

    /// How many tasks have status `status`.
    pub fn count(&self, status: TaskStatus) -> usize {
        self.statuses.iter().filter(|s| **s == status).count()
    }

    /// At most `free_slots` tasks to start now, best first, leaving out those `held_back`
    /// says no to (a retry's backoff, a spending limit): the answer of
    /// [`next_tasks`](crate::next_tasks) with those tasks masked, at the cost of the tasks
    /// looked at.
    pub fn pick(&self, free_slots: usize, held_back: impl Fn(usize) -> bool) -> Vec<usize> {
        if free_slots == 0 {
            return Vec::new();
        }
        let mut busy: Vec<usize> = self.holding.iter().copied().collect();
        let mut picked = Vec::with_capacity(free_slots);
        for i in self.startable() {
            if held_back(i) || self.graph.clashes_with(i, &busy) {
                continue;
            }
            busy.push(i);
            picked.push(i);
            if picked.len() == free_slots {
                break;
            }
        }
        picked
    }

    /// The moves the statuses call for since the last call, as
    /// [`newly_ready`](crate::newly_ready) and [`newly_blocked`](crate::newly_blocked) would
    /// find them, looking only at the tasks that changed and the tasks depending on them:
    /// `Pending` tasks whose dependencies are all completed go `Ready`, `Pending` tasks with
    /// a dependency that can never complete go `Blocked`. The caller makes the moves (and
    /// [`set`](TaskBoard::set)s them, which lets a block cascade on the next call).
    pub fn take_readiness_moves(&mut self) -> Vec<(usize, TaskStatus)> {
        let changed = std::mem::take(&mut self.changed);
        let mut seen = BTreeSet::new();
        let mut moves = Vec::new();
        for i in changed {
            let look_at = std::iter::once(i).chain(self.graph.dependents(i).iter().copied());
            for t in look_at {
                if !seen.insert(t) {
                    continue;
                }
                if let Some(to) = readiness_move(&self.graph, &self.statuses, t) {
                    moves.push((t, to));
                }
            }
        }
        moves.sort_unstable();
        moves
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{EpicId, TaskId};
    use crate::plan::{Epic, Plan, Task};
    use crate::schedule::{newly_blocked, newly_ready, next_tasks};
    use proptest::prelude::*;

    /// `n` tasks; task i depends on the earlier tasks in `deps[i]`, has estimate `est[i]`
    /// and writes one of four scopes, so some pairs conflict.
    fn plan(n: usize, deps: &[Vec<usize>], est: &[u32]) -> Plan {
        let epic = EpicId::new("E").unwrap();
        let id = |i: usize| TaskId::new(format!("t{i}")).unwrap();
        let tasks = (0..n)
            .map(|i| {
                let mut t = Task::new(id(i), format!("T{i}"), epic.clone());
                t.depends_on = deps[i].iter().filter(|&&d| d < i).map(|&d| id(d)).collect();
                t.depends_on.dedup();
                t.estimate_minutes = est[i];
                t.files = vec![format!("src/m{}/**", i % 4)];
                t
            })
            .collect();
        Plan {
            version: 1,
            name: "p".into(),
            strategy: None,
            epics: vec![Epic {
                id: epic,
                name: "E".into(),
                goal: String::new(),
                strategy: None,
                review: None,
            }],
            tasks,
        }
    }

    proptest! {
        /// After any sequence of status changes the board picks what `next_tasks` picks on
        /// the same statuses, and proposes the moves `newly_ready`/`newly_blocked` find.
        #[test]
        fn the_board_agrees_with_the_pure_scheduler(
            n in 1usize..24,
            deps in prop::collection::vec(prop::collection::vec(0usize..24, 0..3), 24),
            est in prop::collection::vec(1u32..50, 24),
            changes in prop::collection::vec((0usize..24, 0usize..TaskStatus::ALL.len()), 0..60),
            free in 0usize..5,
            held in prop::collection::vec(0usize..24, 0..3),
        ) {
            let graph = plan(n, &deps, &est).validate().unwrap();
            let mut board = TaskBoard::new(graph.clone(), vec![TaskStatus::Pending; n]);
            settle(&mut board);
            let mut statuses = board.statuses().to_vec();
            for (i, s) in changes {
                let i = i % n;
                board.set(i, TaskStatus::ALL[s]);
                statuses[i] = TaskStatus::ALL[s];
            }
            let mut masked = statuses.clone();
            for &h in &held {
                if h < n && masked[h] == TaskStatus::Ready {
                    masked[h] = TaskStatus::Failed;
                }
            }
            let held_back = |i: usize| held.contains(&i) && statuses[i] == TaskStatus::Ready;
            prop_assert_eq!(board.pick(free, held_back), next_tasks(&graph, &masked, free));
            // Settled before the changes, so only the changed tasks and their dependents
            // can need a move: the board finds what a scan of every task finds.
            let moves = board.take_readiness_moves();
            let mut expected: Vec<(usize, TaskStatus)> = newly_ready(&graph, &statuses)
                .into_iter()
                .map(|i| (i, TaskStatus::Ready))
                .chain(newly_blocked(&graph, &statuses).into_iter().map(|i| (i, TaskStatus::Blocked)))
                .collect();
            expected.sort_unstable();
            prop_assert_eq!(moves, expected);
        }
    }

    /// Makes the moves until none is left, as a run does.
    fn settle(board: &mut TaskBoard) {
        loop {
            let moves = board.take_readiness_moves();
            if moves.is_empty() {
                return;
            }
            for (i, s) in moves {
                board.set(i, s);
            }
        }
    }

    #[test]
    fn only_changed_tasks_and_their_dependents_are_looked_at() {
        let deps: Vec<Vec<usize>> = (0..4)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let graph = plan(4, &deps, &[1, 1, 1, 1]).validate().unwrap();
        let mut board = TaskBoard::new(graph, vec![TaskStatus::Pending; 4]);
        assert_eq!(board.take_readiness_moves(), vec![(0, TaskStatus::Ready)]);
        board.set(0, TaskStatus::Ready);
        assert!(board.take_readiness_moves().is_empty());
        board.set(0, TaskStatus::Skipped);
        assert_eq!(board.take_readiness_moves(), vec![(1, TaskStatus::Blocked)]);
        board.set(1, TaskStatus::Blocked);
        // The block cascades one call at a time.
        assert_eq!(board.take_readiness_moves(), vec![(2, TaskStatus::Blocked)]);
    }
}
