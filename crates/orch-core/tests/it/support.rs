use orch_core::{Epic, EpicId, Plan, Task, TaskId};
use proptest::prelude::*;

pub fn task_id(i: usize) -> TaskId {
    TaskId::new(format!("TASK-P-{i:03}")).unwrap()
}

/// A plan with `deps[i]` as the dependency indices of task `i` (any shape, cycles allowed).
pub fn plan_from_edges(deps: &[Vec<usize>], estimates: &[u32]) -> Plan {
    let epic = EpicId::new("P").unwrap();
    Plan {
        version: 1,
        name: "prop".into(),
        strategy: None,
        epics: vec![Epic {
            review: None,
            id: epic.clone(),
            name: "prop".into(),
            goal: String::new(),
            strategy: None,
        }],
        tasks: deps
            .iter()
            .enumerate()
            .map(|(i, ds)| {
                let mut t = Task::new(task_id(i), format!("task {i}"), epic.clone());
                t.depends_on = ds.iter().map(|&d| task_id(d)).collect();
                t.estimate_minutes = estimates.get(i).copied().unwrap_or(60);
                t
            })
            .collect(),
    }
}

/// Random DAGs: task `i` may only depend on tasks with a higher index in a hidden order,
/// then positions are shuffled so plan order says nothing about the graph.
pub fn dag() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<u32>)> {
    (1usize..40).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
                n,
            ),
            proptest::collection::vec(1u32..500, n),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
            .prop_map(move |(raw, estimates, perm)| {
                // hidden rank r depends only on ranks < r; perm maps rank -> plan position
                let mut deps = vec![Vec::new(); n];
                for (rank, picks) in raw.iter().enumerate() {
                    if rank == 0 {
                        continue;
                    }
                    let mut ds: Vec<usize> = picks.iter().map(|p| perm[p.index(rank)]).collect();
                    ds.sort_unstable();
                    ds.dedup();
                    deps[perm[rank]] = ds;
                }
                (deps, estimates)
            })
    })
}

/// Random directed graphs, cycles allowed.
pub fn digraph() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..12).prop_flat_map(|n| {
        proptest::collection::vec(proptest::collection::vec(0..n, 0..3), n).prop_map(|mut deps| {
            for list in &mut deps {
                list.sort_unstable();
                list.dedup();
            }
            deps
        })
    })
}
